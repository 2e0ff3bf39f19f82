@storage
Feature: An emptyDir volume is shared by the pod's containers and outlives their restarts
  # "All containers in the Pod can read and write the same files in the emptyDir volume, though
  # that volume can be mounted at the same or different paths in each container. When a Pod is
  # removed from a node for any reason, the data in the emptyDir is deleted permanently."
  # "A container crashing does not remove a Pod from a node. The data in an emptyDir volume is
  # safe across container crashes."
  #   kubernetes.io/docs/concepts/storage/volumes/#emptydir

  # e2e: test/e2e/common/storage/empty_dir.go, "pod should support shared volumes between containers".
  # conformance: [sig-storage] EmptyDir volumes pod should support shared volumes between containers [Conformance]
  @conformance
  Scenario: Each container sees the other's writes to an emptyDir mounted at different paths
    Given a running pod from fixture "shared-emptydir.yaml"
    Then running "echo from-writer > /data/note" in container "writer" of pod "shared-emptydir" succeeds
    And running "cat /shared/note" in container "reader" of pod "shared-emptydir" prints "from-writer"
    And running "echo from-reader > /shared/reply" in container "reader" of pod "shared-emptydir" succeeds
    And running "cat /data/reply" in container "writer" of pod "shared-emptydir" prints "from-reader"

  # volumes/#emptydir: "The data in an emptyDir volume is safe across container crashes."
  # Pod lifecycle: with restartPolicy Always, the kubelet restarts a container that exits.
  @conformance
  Scenario: A file in the emptyDir survives a restart of the container that wrote it
    Given a running pod from fixture "shared-emptydir.yaml"
    And running "echo kept > /data/kept" in container "writer" of pod "shared-emptydir" succeeds
    When the main process of container "writer" of pod "shared-emptydir" dies
    Then container "writer" of pod "shared-emptydir" is running with restart count 1
    And running "cat /data/kept" in container "writer" of pod "shared-emptydir" prints "kept"

  # The container's own filesystem is a writable layer of that container instance: a restarted
  # container starts again from its image (kubernetes.io/docs/concepts/storage/volumes/:
  # "On-disk files in a container are ephemeral ... the kubelet restarts it with a clean state").
  @conformance
  Scenario: A file outside any volume is gone after the container restarts
    Given a running pod from fixture "shared-emptydir.yaml"
    And running "echo lost > /tmp/lost" in container "writer" of pod "shared-emptydir" succeeds
    When the main process of container "writer" of pod "shared-emptydir" dies
    Then container "writer" of pod "shared-emptydir" is running with restart count 1
    And running "cat /tmp/lost" in container "writer" of pod "shared-emptydir" fails with "No such file or directory"

  # "For a Pod that defines an emptyDir volume, the volume is created when the Pod is assigned
  # to a node. As the name says, the emptyDir volume is initially empty. All containers in the
  # Pod can read and write the same files in the emptyDir volume": the volume is the pod's own,
  # so two pods whose emptyDir volumes have the same name share nothing.
  #   kubernetes.io/docs/concepts/storage/volumes/#emptydir
  Scenario: An emptyDir is private to its pod
    Given a running pod "first" from fixture "shared-emptydir.yaml"
    And a running pod "second" from fixture "shared-emptydir.yaml"
    When running "echo from-first > /data/note" in container "writer" of pod "first" succeeds
    Then running "cat /data/note" in container "writer" of pod "second" fails with "No such file or directory"
    And running "echo from-second > /data/other" in container "writer" of pod "second" succeeds
    And running "ls /shared" in container "reader" of pod "first" prints "note"

  # volumes/#emptydir: "When a Pod is removed from a node for any reason, the data in the
  # emptyDir is deleted permanently."
  @node-access
  Scenario: The emptyDir's directory is gone from the node once the pod is deleted
    Given a running pod from fixture "shared-emptydir.yaml"
    And running "echo bye > /data/bye" in container "writer" of pod "shared-emptydir" succeeds
    And volume "data" of pod "shared-emptydir" exists on the node
    When I delete pod "shared-emptydir"
    Then pod "shared-emptydir" is gone
    And volume "data" of pod "shared-emptydir" no longer exists on the node

  # "If you set the emptyDir.medium field to "Memory", Kubernetes mounts a tmpfs (RAM-backed
  # filesystem) for you instead. ... the size of the volume is limited by sizeLimit."
  #   kubernetes.io/docs/concepts/storage/volumes/#emptydir
  # e2e: test/e2e/common/storage/empty_dir.go, "volume on tmpfs should have the correct mode" and
  # "pod should support memory backed volumes of specified size".
  Scenario: An emptyDir with medium Memory is a tmpfs of its sizeLimit, shared by the pod's containers
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: in-memory
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: writer
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: cache
            mountPath: /cache
        - name: reader
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: cache
            mountPath: /shared
        volumes:
        - name: cache
          emptyDir:
            medium: Memory
            sizeLimit: 1Mi
      """
    Then running "grep ' /cache ' /proc/mounts | cut -d ' ' -f 3" in container "writer" of pod "in-memory" prints "tmpfs"
    And running "df -k /cache | awk 'NR == 2 {print $2}'" in container "writer" of pod "in-memory" prints "1024"
    And running "stat -c %a /cache" in container "writer" of pod "in-memory" prints "777"
    And running "echo in-ram > /cache/note" in container "writer" of pod "in-memory" succeeds
    And running "cat /shared/note" in container "reader" of pod "in-memory" prints "in-ram"
    And running "dd if=/dev/zero of=/cache/big bs=1024 count=2048" in container "writer" of pod "in-memory" fails with "No space left on device"

  # "subPath: Path within the volume from which the container's volume should be mounted";
  # the kubelet creates a subPath that does not exist yet.
  # e2e: test/e2e/storage/testsuites/subpath.go, "should support non-existent path".
  Scenario: A subPath that does not exist yet is created in the volume
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sub-path
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: data
            mountPath: /data
        - name: part
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: data
            mountPath: /part
            subPath: a/b
        volumes:
        - name: data
          emptyDir: {}
      """
    Then running "echo in-sub-path > /part/note" in container "part" of pod "sub-path" succeeds
    And running "cat /data/a/b/note" in container "app" of pod "sub-path" prints "in-sub-path"

  # "readOnly: Mounted read-only if true, read-write otherwise"
  # (kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#volumes).
  # e2e: test/e2e/storage/testsuites/subpath.go, "should support readOnly directory specified in
  # the volumeMount".
  Scenario: A volume mounted readOnly cannot be written through that mount
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: read-only
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: writer
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: data
            mountPath: /data
        - name: reader
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: data
            mountPath: /data
            readOnly: true
        volumes:
        - name: data
          emptyDir: {}
      """
    Then running "echo written > /data/note" in container "writer" of pod "read-only" succeeds
    And running "cat /data/note" in container "reader" of pod "read-only" prints "written"
    And running "echo again > /data/note" in container "reader" of pod "read-only" fails with "Read-only file system"
