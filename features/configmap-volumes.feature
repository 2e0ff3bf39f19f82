@storage @config-objects
Feature: A configMap volume holds a ConfigMap's keys as files, and follows its changes
  # "A ConfigMap provides a way to inject configuration data into pods. The data stored in a
  # ConfigMap can be referenced in a volume of type configMap and then consumed by containerized
  # applications running in a pod." "When a ConfigMap currently consumed in a volume is updated,
  # projected keys are eventually updated as well." "A container using a ConfigMap as a subPath
  # volume mount will not receive ConfigMap updates."
  #   kubernetes.io/docs/concepts/storage/volumes/#configmap,
  #   kubernetes.io/docs/concepts/configuration/configmap/
  #
  # The e2e tests mirrored: test/e2e/common/storage/configmap_volume.go. Each makes a ConfigMap
  # with data-1..data-3 (value-1..value-3) and a restartPolicy Never pod whose volume
  # "configmap-volume" at /etc/configmap-volume names it, runs agnhost's mounttest (here
  # podspec-agent's, which prints the same lines) and checks its output (TestContainerOutput:
  # each expected line is in the log). Modes are octal, as Kubernetes writes them (0400 is 256).

  Background:
    Given I create configmap "configmap-test-volume" with:
      """
      data:
        data-1: value-1
        data-2: value-2
        data-3: value-3
      """

  # "should be consumable from pods in volume" (the file and its default mode 0644),
  # "... with defaultMode set" (0400: -r--------), "... as non-root" (runAsUser 1000: 0644).
  # conformance: [sig-storage] ConfigMap should be consumable from pods in volume [NodeConformance] [Conformance]
  # conformance: [sig-storage] ConfigMap should be consumable from pods in volume with defaultMode set [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] ConfigMap should be consumable from pods in volume as non-root [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: Every key is a file of the volume, <case>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-configmaps
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        securityContext: <security>
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/configmap-volume/data-1", "--file_mode=/etc/configmap-volume/data-1"]
          volumeMounts:
          - name: configmap-volume
            mountPath: /etc/configmap-volume
        volumes:
        - name: configmap-volume
          configMap: <source>
      """
    Then pod "pod-configmaps" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "pod-configmaps" has the lines:
      """
      content of file "/etc/configmap-volume/data-1": value-1
      mode of file "/etc/configmap-volume/data-1": <mode>
      """

    Examples:
      | case                   | security          | source                                         | mode       |
      | with the default mode  | {}                | {name: configmap-test-volume}                  | -rw-r--r-- |
      | with defaultMode 0400  | {}                | {name: configmap-test-volume, defaultMode: 256} | -r-------- |
      | read as a non-root user | {runAsUser: 1000} | {name: configmap-test-volume}                  | -rw-r--r-- |

  # "... with mappings" (data-2 at path/to/data-2, mode 0644), "... with mappings and Item mode
  # set" (0400), "... with mappings as non-root".
  # conformance: [sig-storage] ConfigMap should be consumable from pods in volume with mappings [NodeConformance] [Conformance]
  # conformance: [sig-storage] ConfigMap should be consumable from pods in volume with mappings and Item mode set [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] ConfigMap should be consumable from pods in volume with mappings as non-root [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: An item puts one key at its path, <case>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-configmaps-mapped
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        securityContext: <security>
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/configmap-volume/path/to/data-2", "--file_mode=/etc/configmap-volume/path/to/data-2"]
          volumeMounts:
          - name: configmap-volume
            mountPath: /etc/configmap-volume
        volumes:
        - name: configmap-volume
          configMap:
            name: configmap-test-volume
            items:
            - <item>
      """
    Then pod "pod-configmaps-mapped" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "pod-configmaps-mapped" has the lines:
      """
      content of file "/etc/configmap-volume/path/to/data-2": value-2
      mode of file "/etc/configmap-volume/path/to/data-2": <mode>
      """

    Examples:
      | case                    | security          | item                                          | mode       |
      | with the default mode   | {}                | {key: data-2, path: path/to/data-2}           | -rw-r--r-- |
      | with the item's mode    | {}                | {key: data-2, path: path/to/data-2, mode: 256} | -r-------- |
      | read as a non-root user | {runAsUser: 1000} | {key: data-2, path: path/to/data-2}           | -rw-r--r-- |

  # "updates should be reflected in volume": the container reads data-1 in a loop; the
  # ConfigMap's data-1 becomes value-2, and the file follows (e2e waits up to 240 s; the
  # reference's watch takes well under the step's bound).
  # conformance: [sig-storage] ConfigMap updates should be reflected in volume [NodeConformance] [Conformance]
  @conformance
  Scenario: A change of the ConfigMap reaches the file
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-configmaps-update
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: configmap-volume
            mountPath: /etc/configmap-volume
        volumes:
        - name: configmap-volume
          configMap:
            name: configmap-test-volume
      """
    Then pod "pod-configmaps-update" is in phase "Running"
    And running "cat /etc/configmap-volume/data-1" in container "agnhost-container" of pod "pod-configmaps-update" prints:
      """
      value-1
      """
    When I replace configmap "configmap-test-volume" with:
      """
      data:
        data-1: value-2
      """
    Then running "cat /etc/configmap-volume/data-1" in container "agnhost-container" of pod "pod-configmaps-update" eventually prints:
      """
      value-2
      """

  # "binary data should be reflected in volume": data-1 as text, and dump.bin (de ca fe ba d0 fe
  # ff) byte for byte, read by a second container with hexdump -C.
  # conformance: [sig-storage] ConfigMap binary data should be reflected in volume [NodeConformance] [Conformance]
  @conformance
  Scenario: binaryData is written byte for byte
    Given I create configmap "configmap-test-binary" with:
      """
      data:
        data-1: value-1
      binaryData:
        dump.bin: 3sr+utD+/w==
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-configmaps-binary
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/configmap-volume/data-1"]
          volumeMounts:
          - {name: configmap-volume, mountPath: /etc/configmap-volume, readOnly: true}
        - name: configmap-volume-binary-test
          image: busybox:1.36
          command: ["hexdump", "-C", "/etc/configmap-volume/dump.bin"]
          volumeMounts:
          - {name: configmap-volume, mountPath: /etc/configmap-volume, readOnly: true}
        volumes:
        - name: configmap-volume
          configMap:
            name: configmap-test-binary
      """
    Then pod "pod-configmaps-binary" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "pod-configmaps-binary" has the lines:
      """
      content of file "/etc/configmap-volume/data-1": value-1
      """
    And the log of container "configmap-volume-binary-test" of pod "pod-configmaps-binary" has the lines:
      """
      00000000  de ca fe ba d0 fe ff                              |.......|
      """

  # "should be consumable in multiple volumes in the same pod": two volumes of one ConfigMap, at
  # /etc/configmap-volume and /etc/configmap-volume-2, both read.
  # conformance: [sig-storage] ConfigMap should be consumable in multiple volumes in the same pod [NodeConformance] [Conformance]
  @conformance
  Scenario: One ConfigMap in two volumes of a pod
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-configmaps-twice
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["sh", "-c", "cat /etc/configmap-volume/data-1 /etc/configmap-volume-2/data-1"]
          volumeMounts:
          - {name: configmap-volume, mountPath: /etc/configmap-volume, readOnly: true}
          - {name: configmap-volume-2, mountPath: /etc/configmap-volume-2, readOnly: true}
        volumes:
        - name: configmap-volume
          configMap: {name: configmap-test-volume}
        - name: configmap-volume-2
          configMap: {name: configmap-test-volume}
      """
    Then pod "pod-configmaps-twice" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "pod-configmaps-twice" is:
      """
      value-1value-1
      """

  # "optional updates should be reflected in volume": three optional volumes; one ConfigMap is
  # deleted (its file goes), one updated (a new key appears), one created after the pod started
  # (its file appears).
  # conformance: [sig-storage] ConfigMap optional updates should be reflected in volume [NodeConformance] [Conformance]
  @conformance
  Scenario: Optional ConfigMaps deleted, updated and created while the pod runs
    Given I create configmap "cm-test-opt-del" with:
      """
      data: {data-1: value-1}
      """
    And I create configmap "cm-test-opt-upd" with:
      """
      data: {data-1: value-1}
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-configmaps-optional
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: deletecm-volume, mountPath: /etc/configmap-volumes/delete, readOnly: true}
          - {name: updatecm-volume, mountPath: /etc/configmap-volumes/update, readOnly: true}
          - {name: createcm-volume, mountPath: /etc/configmap-volumes/create, readOnly: true}
        volumes:
        - {name: deletecm-volume, configMap: {name: cm-test-opt-del, optional: true}}
        - {name: updatecm-volume, configMap: {name: cm-test-opt-upd, optional: true}}
        - {name: createcm-volume, configMap: {name: cm-test-opt-create, optional: true}}
      """
    Then pod "pod-configmaps-optional" is in phase "Running"
    And running "ls /etc/configmap-volumes/delete /etc/configmap-volumes/update /etc/configmap-volumes/create" in container "main" of pod "pod-configmaps-optional" prints:
      """
      /etc/configmap-volumes/create:

      /etc/configmap-volumes/delete:
      data-1

      /etc/configmap-volumes/update:
      data-1
      """
    When I delete configmap "cm-test-opt-del"
    And I replace configmap "cm-test-opt-upd" with:
      """
      data: {data-3: value-3}
      """
    And I create configmap "cm-test-opt-create" with:
      """
      data: {data-1: value-1}
      """
    Then running "sh -c 'cat /etc/configmap-volumes/create/data-1 /etc/configmap-volumes/update/data-3; ls /etc/configmap-volumes/delete'" in container "main" of pod "pod-configmaps-optional" eventually prints:
      """
      value-1value-3
      """

  # test/e2e/storage/subpath.go, "Subpath Atomic writer volumes should support subpaths with
  # configmap pod" (subPath configmap-key of a volume of the ConfigMap my-configmap, mounted at
  # /test-volume) and "... with mountPath of existing file" (mounted over /etc/resolv.conf): the
  # container's mounttest reads the mounted file, whose content must be configmap-value
  # (TestBasicSubpath).
  # conformance: [sig-storage] Subpath Atomic writer volumes should support subpaths with configmap pod [Conformance]
  # conformance: [sig-storage] Subpath Atomic writer volumes should support subpaths with configmap pod with mountPath of existing file [Conformance]
  @conformance
  Scenario Outline: A subPath naming a key of the volume mounts that file at <mount path>
    Given I create configmap "my-configmap" with:
      """
      data: {configmap-key: configmap-value}
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-subpath-test-configmap
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-container-subpath-configmap
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=<mount path>"]
          volumeMounts:
          - {name: test-volume, mountPath: <mount path>, subPath: configmap-key}
        volumes:
        - {name: test-volume, configMap: {name: my-configmap}}
      """
    Then pod "pod-subpath-test-configmap" is in phase "Succeeded"
    And the log of container "test-container-subpath-configmap" of pod "pod-subpath-test-configmap" is:
      """
      content of file "<mount path>": configmap-value
      """

    Examples:
      | mount path       |
      | /test-volume     |
      | /etc/resolv.conf |

  # "A container using a ConfigMap as a subPath volume mount will not receive ConfigMap
  # updates": the file mounted whole follows the change, the one mounted by subPath keeps the
  # version it was mounted with.
  Scenario: A subPath mount of a key keeps its content when the ConfigMap changes
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-configmaps-subpath-update
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: configmap-volume, mountPath: /etc/whole}
          - {name: configmap-volume, mountPath: /etc/sub/data-1, subPath: data-1}
        volumes:
        - {name: configmap-volume, configMap: {name: configmap-test-volume}}
      """
    Then pod "pod-configmaps-subpath-update" is in phase "Running"
    When I replace configmap "configmap-test-volume" with:
      """
      data: {data-1: value-2}
      """
    Then running "cat /etc/whole/data-1" in container "main" of pod "pod-configmaps-subpath-update" eventually prints:
      """
      value-2
      """
    And running "cat /etc/sub/data-1" in container "main" of pod "pod-configmaps-subpath-update" prints:
      """
      value-1
      """
