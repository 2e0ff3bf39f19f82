@storage
Feature: A downwardAPI volume holds the pod's fields and its containers' resources as files
  # "Volume files: a downwardAPI volume ... Each file holds one field: a pod field (fieldRef:
  # metadata.name, metadata.namespace, metadata.uid, metadata.labels, metadata.annotations) or a
  # container's resource (resourceFieldRef: limits and requests of cpu, memory, ephemeral-storage)."
  # "If you do not specify a CPU limit for a container, then the downward API defaults to the node
  # allocatable value for CPU and memory."
  # "A container using the downward API as a subPath volume mount will not receive updates when
  # field values change."   kubernetes.io/docs/concepts/workloads/pods/downward-api/ and
  #   kubernetes.io/docs/tasks/inject-data-application/downward-api-volume-expose-pod-information/
  #
  # The e2e tests mirrored: test/e2e/common/storage/downwardapi_volume.go. Each runs agnhost's
  # mounttest (here podspec-agent's, which prints the same lines: `content of file "P": ...`,
  # `mode of file "P": -r--------`) in a restartPolicy Never pod whose volume "podinfo" at
  # /etc/podinfo has the items podname, cpu_limit, cpu_request, memory_limit and memory_request
  # (containerName client-container), and checks the container's output (TestContainerOutput).
  # Modes are written in octal, as Kubernetes' docs write them (0400 is 256, as YAML 1.1 reads it).

  # conformance: [sig-storage] Downward API volume should provide podname only [NodeConformance] [Conformance]
  @conformance
  Scenario: The pod's name is a file of the volume
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downwardapi-volume-podname
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/podinfo/podname"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
            readOnly: false
        volumes:
        - name: podinfo
          downwardAPI:
            items:
            - path: podname
              fieldRef:
                apiVersion: v1
                fieldPath: metadata.name
      """
    Then pod "downwardapi-volume-podname" is in phase "Succeeded"
    And the log of container "client-container" of pod "downwardapi-volume-podname" is:
      """
      content of file "/etc/podinfo/podname": downwardapi-volume-podname
      """

  # "should set DefaultMode on files" (defaultMode 0400) and "should set mode on item file" (the
  # item's mode 0400): either way the file reads -r--------.
  # conformance: [sig-storage] Downward API volume should set DefaultMode on files [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] Downward API volume should set mode on item file [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: A file's mode is <set by> 0400
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downwardapi-volume-mode
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_mode=/etc/podinfo/podname"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          downwardAPI: <volume>
      """
    Then pod "downwardapi-volume-mode" is in phase "Succeeded"
    And the log of container "client-container" of pod "downwardapi-volume-mode" is:
      """
      mode of file "/etc/podinfo/podname": -r--------
      """

    Examples:
      | set by            | volume                                                                                 |
      | the defaultMode   | {defaultMode: 0400, items: [{path: podname, fieldRef: {fieldPath: metadata.name}}]}     |
      | the item's mode   | {items: [{path: podname, mode: 0400, fieldRef: {fieldPath: metadata.name}}]}            |

  # "should provide container's cpu limit" (2: 1250m rounded up to whole cores), "memory limit"
  # (67108864: 64Mi), "cpu request" (1: 250m rounded up) and "memory request" (33554432: 32Mi).
  # conformance: [sig-storage] Downward API volume should provide container's cpu limit [NodeConformance] [Conformance]
  # conformance: [sig-storage] Downward API volume should provide container's memory limit [NodeConformance] [Conformance]
  # conformance: [sig-storage] Downward API volume should provide container's cpu request [NodeConformance] [Conformance]
  # conformance: [sig-storage] Downward API volume should provide container's memory request [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: The container's <resource> is the file <file>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downwardapi-volume-resources
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/podinfo/<file>"]
          resources:
            requests: {cpu: 250m, memory: 32Mi}
            limits: {cpu: 1250m, memory: 64Mi}
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          downwardAPI:
            items:
            - {path: podname, fieldRef: {fieldPath: metadata.name}}
            - {path: cpu_limit, resourceFieldRef: {containerName: client-container, resource: limits.cpu}}
            - {path: cpu_request, resourceFieldRef: {containerName: client-container, resource: requests.cpu}}
            - {path: memory_limit, resourceFieldRef: {containerName: client-container, resource: limits.memory}}
            - {path: memory_request, resourceFieldRef: {containerName: client-container, resource: requests.memory}}
      """
    Then pod "downwardapi-volume-resources" is in phase "Succeeded"
    And the log of container "client-container" of pod "downwardapi-volume-resources" is:
      """
      content of file "/etc/podinfo/<file>": <value>
      """

    Examples:
      | resource       | file           | value    |
      | cpu limit      | cpu_limit      | 2        |
      | memory limit   | memory_limit   | 67108864 |
      | cpu request    | cpu_request    | 1        |
      | memory request | memory_request | 33554432 |

  # "should provide node allocatable (cpu|memory) as default (cpu|memory) limit if the limit is
  # not set": a container without resources; the file matches [1-9] (TestContainerOutputRegexp).
  # Here the container's shell checks that the file is a whole positive number and says so.
  # conformance: [sig-storage] Downward API volume should provide node allocatable (cpu) as default cpu limit if the limit is not set [NodeConformance] [Conformance]
  # conformance: [sig-storage] Downward API volume should provide node allocatable (memory) as default memory limit if the limit is not set [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: Without a <resource> limit the file holds the node's allocatable <resource>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downwardapi-volume-allocatable
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["sh", "-c", "grep -Eqx '[1-9][0-9]*' /etc/podinfo/<file> && echo <file> is a positive number"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          downwardAPI:
            items:
            - {path: cpu_limit, resourceFieldRef: {containerName: client-container, resource: limits.cpu}}
            - {path: memory_limit, resourceFieldRef: {containerName: client-container, resource: limits.memory}}
      """
    Then pod "downwardapi-volume-allocatable" is in phase "Succeeded"
    And the log of container "client-container" of pod "downwardapi-volume-allocatable" is:
      """
      <file> is a positive number
      """

    Examples:
      | resource | file         |
      | cpu      | cpu_limit    |
      | memory   | memory_limit |

  # "should update labels on modification": the pod has labels key1 and key2 and a "labels" item
  # (metadata.labels); once key1="value1" is seen, key3=value3 is added to the pod, and the file
  # must show key3="value3". The kubelet writes the labels as sorted key="value" lines.
  # conformance: [sig-storage] Downward API volume should update labels on modification [NodeConformance] [Conformance]
  @conformance @api-server
  Scenario: A label added to the running pod reaches the labels file
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: labelsupdate
        labels: {key1: value1, key2: value2}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          downwardAPI:
            items:
            - {path: podname, fieldRef: {fieldPath: metadata.name}}
            - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      """
    Then running "cat /etc/podinfo/labels" in container "client-container" of pod "labelsupdate" prints:
      """
      key1="value1"
      key2="value2"
      """
    When I patch pod "labelsupdate" with:
      """
      metadata:
        labels: {key3: value3}
      """
    Then the request succeeds
    And running "cat /etc/podinfo/labels" in container "client-container" of pod "labelsupdate" eventually prints:
      """
      key1="value1"
      key2="value2"
      key3="value3"
      """

  # "should update annotations on modification": annotation builder=bar, then builder=foo.
  # conformance: [sig-storage] Downward API volume should update annotations on modification [NodeConformance] [Conformance]
  @conformance @api-server
  Scenario: A changed annotation of the running pod reaches the annotations file
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: annotationupdate
        annotations: {builder: bar}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          downwardAPI:
            items:
            - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      """
    Then running "cat /etc/podinfo/annotations" in container "client-container" of pod "annotationupdate" prints:
      """
      builder="bar"
      """
    When I patch pod "annotationupdate" with:
      """
      metadata:
        annotations: {builder: foo}
      """
    Then the request succeeds
    And running "cat /etc/podinfo/annotations" in container "client-container" of pod "annotationupdate" eventually prints:
      """
      builder="foo"
      """

  # test/e2e/storage/subpath.go, "Subpath Atomic writer volumes should support subpaths with
  # downward pod": a downwardAPI volume with the item downward/podname, mounted at /test-volume
  # with subPath downward/podname (through the writer's links: downward -> ..data/downward); the
  # container's mounttest reads /test-volume, whose content must be the pod's name
  # (TestBasicSubpath, on the pod's first container alone).
  # conformance: [sig-storage] Subpath Atomic writer volumes should support subpaths with downward pod [Conformance]
  @conformance
  Scenario: A subPath naming a file of the volume mounts that file, through the writer's links
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-subpath-test-downwardapi
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-container-subpath-downwardapi
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/test-volume"]
          securityContext: {privileged: false}
          volumeMounts:
          - name: test-volume
            mountPath: /test-volume
            subPath: downward/podname
        volumes:
        - name: test-volume
          downwardAPI:
            items:
            - {path: downward/podname, fieldRef: {apiVersion: v1, fieldPath: metadata.name}}
      """
    Then pod "pod-subpath-test-downwardapi" is in phase "Succeeded"
    And the log of container "test-container-subpath-downwardapi" of pod "pod-subpath-test-downwardapi" is:
      """
      content of file "/test-volume": pod-subpath-test-downwardapi
      """

  # How the kubelet lays out an API-data volume (pkg/volume/util/atomic_writer.go), as a container
  # sees it: each file at the top is a link through ..data, and ..data is a link to the current
  # version's directory, ..<UTC time as 2006_01_02_15_04_05>.<digits>. A new version is swapped in
  # by replacing ..data alone, which is what makes an update atomic for a reader.
  Scenario: Each file is a link through ..data, which leads to a timestamped directory
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downwardapi-volume-layout
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command:
          - sh
          - -c
          - readlink /etc/podinfo/podname; readlink /etc/podinfo/meta; readlink /etc/podinfo/..data | grep -Eq '^[.][.][0-9]{4}(_[0-9]{2}){5}[.][0-9]+$' && echo ..data is a timestamped directory; cat /etc/podinfo/meta/uid | grep -Eq '^[0-9a-f-]{36}$' && echo meta/uid is a uid
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          downwardAPI:
            items:
            - {path: podname, fieldRef: {fieldPath: metadata.name}}
            - {path: meta/uid, fieldRef: {fieldPath: metadata.uid}}
      """
    Then pod "downwardapi-volume-layout" is in phase "Succeeded"
    And the log of container "client-container" of pod "downwardapi-volume-layout" is:
      """
      ..data/podname
      ..data/meta
      ..data is a timestamped directory
      meta/uid is a uid
      """

  # "A container using the downward API as a subPath volume mount will not receive updates":
  # the same file through the whole volume follows the label, through a subPath it does not.
  @api-server
  Scenario: A subPath mount of the volume keeps the labels it started with
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: subpath-labels
        labels: {key1: value1}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
          - name: podinfo
            mountPath: /etc/labels
            subPath: labels
        volumes:
        - name: podinfo
          downwardAPI:
            items:
            - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      """
    When I patch pod "subpath-labels" with:
      """
      metadata:
        labels: {key1: changed}
      """
    Then the request succeeds
    And running "cat /etc/podinfo/labels" in container "client-container" of pod "subpath-labels" eventually prints:
      """
      key1="changed"
      """
    And running "cat /etc/labels" in container "client-container" of pod "subpath-labels" prints:
      """
      key1="value1"
      """

  # The e2e tests "should provide podname as non-root with fsgroup [and defaultMode]" (not
  # conformance tests): with fsGroup the kubelet gives the volume's files that group and lets it
  # read them (SetVolumeOwnership for a read-only volume: at least 0440), so a non-root user
  # reads a file of mode 0400; and the volume is mounted read-only whatever the mount says.
  Scenario: With fsGroup a non-root container reads a 0400 file, which the group owns and may read
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: metadata-volume-fsgroup
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        securityContext: {runAsUser: 1001, fsGroup: 1234}
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["sh", "-c", "podspec-agent mounttest --file_mode=/etc/podinfo/podname --file_content=/etc/podinfo/podname; echo group $(stat -Lc %g /etc/podinfo/podname); touch /etc/podinfo/new 2>&1 || true"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
            readOnly: false
        volumes:
        - name: podinfo
          downwardAPI:
            defaultMode: 0400
            items:
            - {path: podname, fieldRef: {fieldPath: metadata.name}}
      """
    Then pod "metadata-volume-fsgroup" is in phase "Succeeded"
    And the log of container "client-container" of pod "metadata-volume-fsgroup" is:
      """
      mode of file "/etc/podinfo/podname": -r--r-----
      content of file "/etc/podinfo/podname": metadata-volume-fsgroup
      group 1234
      touch: /etc/podinfo/new: Read-only file system
      """
