@storage
Feature: A file made in an emptyDir has the mode it was made with, on either medium, as root or not
  # "An emptyDir volume is first created when a Pod is assigned to a node ... All containers in
  # the Pod can read and write the same files in the emptyDir volume ... If you set the
  # emptyDir.medium field to "Memory", Kubernetes mounts a tmpfs (RAM-backed filesystem) for you
  # instead."  kubernetes.io/docs/concepts/storage/volumes/#emptydir
  #
  # The e2e tests mirrored: test/e2e/common/storage/empty_dir.go, the twelve "should support
  # (root|non-root,0644|0666|0777,default|tmpfs)" tests and the two "volume on default medium /
  # on tmpfs should have the correct mode" tests. Each runs agnhost's mounttest in a pod with
  # restartPolicy Never (as uid 1001 for non-root, else as the image's root), with an emptyDir at
  # /test-volume, and checks (TestContainerOutput) that the pod succeeds and that its log holds
  # `content of file "/test-volume/test-file": mount-tester new file`, `perms of file
  # "/test-volume/test-file": <the mode>`, the volume's `perms of file "/test-volume": -rwxrwxrwx`,
  # and for medium Memory `mount type of "/test-volume": tmpfs`. podspec-agent's `mounttest`
  # prints the same lines (umask 0, as mounttest clears it); each pod here runs it twice, once for
  # the new file and once for the volume's root, so that one scenario checks what both tests do.

  # conformance: [sig-storage] EmptyDir volumes should support (root,0644,default) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (root,0666,default) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (root,0777,default) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (non-root,0644,default) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (non-root,0666,default) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (non-root,0777,default) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (root,0644,tmpfs) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (root,0666,tmpfs) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (root,0777,tmpfs) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (non-root,0644,tmpfs) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (non-root,0666,tmpfs) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes should support (non-root,0777,tmpfs) [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes volume on default medium should have the correct mode [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] EmptyDir volumes volume on tmpfs should have the correct mode [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: A file of mode <mode> made as <user> in an emptyDir on the <medium> medium has that mode and its content, in a volume of mode 0777
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: emptydir-mode
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        securityContext: <securityContext>
        containers:
        - name: test-container
          image: busybox:1.36
          command:
          - sh
          - -c
          - podspec-agent mounttest --fs_type=/test-volume --new_file_<mode>=/test-volume/test-file --file_perm=/test-volume/test-file && podspec-agent mounttest --file_perm=/test-volume
          volumeMounts:
          - name: test-volume
            mountPath: /test-volume
        volumes:
        - name: test-volume
          emptyDir: <emptyDir>
      """
    Then pod "emptydir-mode" is in phase "Succeeded"
    And the log of container "test-container" of pod "emptydir-mode" has the lines:
      """
      content of file "/test-volume/test-file": mount-tester new file
      perms of file "/test-volume/test-file": <perms>
      perms of file "/test-volume": -rwxrwxrwx
      <mount type>
      """

    # The e2e tests check the mount type only for medium Memory; the empty cell checks nothing.
    Examples:
      | user     | securityContext   | mode | perms      | medium  | emptyDir         | mount type                          |
      | root     | {}                | 0644 | -rw-r--r-- | default | {}               |                                     |
      | root     | {}                | 0666 | -rw-rw-rw- | default | {}               |                                     |
      | root     | {}                | 0777 | -rwxrwxrwx | default | {}               |                                     |
      | non-root | {runAsUser: 1001} | 0644 | -rw-r--r-- | default | {}               |                                     |
      | non-root | {runAsUser: 1001} | 0666 | -rw-rw-rw- | default | {}               |                                     |
      | non-root | {runAsUser: 1001} | 0777 | -rwxrwxrwx | default | {}               |                                     |
      | root     | {}                | 0644 | -rw-r--r-- | tmpfs   | {medium: Memory} | mount type of "/test-volume": tmpfs |
      | root     | {}                | 0666 | -rw-rw-rw- | tmpfs   | {medium: Memory} | mount type of "/test-volume": tmpfs |
      | root     | {}                | 0777 | -rwxrwxrwx | tmpfs   | {medium: Memory} | mount type of "/test-volume": tmpfs |
      | non-root | {runAsUser: 1001} | 0644 | -rw-r--r-- | tmpfs   | {medium: Memory} | mount type of "/test-volume": tmpfs |
      | non-root | {runAsUser: 1001} | 0666 | -rw-rw-rw- | tmpfs   | {medium: Memory} | mount type of "/test-volume": tmpfs |
      | non-root | {runAsUser: 1001} | 0777 | -rwxrwxrwx | tmpfs   | {medium: Memory} | mount type of "/test-volume": tmpfs |
