@storage @config-objects
Feature: A projected volume holds ConfigMap and Secret keys beside the pod's fields
  # "A projected volume maps several existing volume sources into the same directory":
  # secret, downwardAPI, configMap and serviceAccountToken sources, with the volume's
  # defaultMode and each item's mode.   kubernetes.io/docs/concepts/storage/projected-volumes/
  #
  # The e2e tests mirrored: test/e2e/common/storage/projected_configmap.go,
  # projected_secret.go and projected_combined.go: the same ConfigMap and Secret (data-1..data-3,
  # value-1..value-3) as the configMap and secret volume tests, as projected sources, read with
  # agnhost's mounttest (podspec-agent's here). Modes are octal (0400 is 256, 0440 is 288).

  Background:
    Given I create configmap "projected-configmap-test-volume" with:
      """
      data: {data-1: value-1, data-2: value-2, data-3: value-3}
      """
    And I create secret "projected-secret-test" with:
      """
      stringData: {data-1: value-1, data-2: value-2, data-3: value-3}
      """

  # conformance: [sig-storage] Projected configMap should be consumable from pods in volume [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected configMap should be consumable from pods in volume with defaultMode set [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected configMap should be consumable from pods in volume as non-root [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected secret should be consumable from pods in volume [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected secret should be consumable from pods in volume with defaultMode set [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected secret should be consumable from pods in volume as non-root with defaultMode and fsGroup set [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: Every key of a projected <kind> is a file, <case>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-projected
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        securityContext: <security>
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/projected-volume/data-1", "--file_mode=/etc/projected-volume/data-1"]
          volumeMounts:
          - {name: projected-volume, mountPath: /etc/projected-volume, readOnly: true}
        volumes:
        - name: projected-volume
          projected:
            defaultMode: <default mode>
            sources:
            - <source>
      """
    Then pod "pod-projected" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "pod-projected" has the lines:
      """
      content of file "/etc/projected-volume/data-1": value-1
      mode of file "/etc/projected-volume/data-1": <mode>
      """

    Examples:
      | kind      | case                                 | security                         | default mode | source                                               | mode       |
      | ConfigMap | with the default mode                | {}                               | 420          | {configMap: {name: projected-configmap-test-volume}} | -rw-r--r-- |
      | ConfigMap | with defaultMode 0400                | {}                               | 256          | {configMap: {name: projected-configmap-test-volume}} | -r-------- |
      | ConfigMap | read as a non-root user              | {runAsUser: 1000}                | 420          | {configMap: {name: projected-configmap-test-volume}} | -rw-r--r-- |
      | Secret    | with the default mode                | {}                               | 420          | {secret: {name: projected-secret-test}}              | -rw-r--r-- |
      | Secret    | with defaultMode 0400                | {}                               | 256          | {secret: {name: projected-secret-test}}              | -r-------- |
      | Secret    | read by a non-root user of the group | {runAsUser: 1000, fsGroup: 1001} | 288          | {secret: {name: projected-secret-test}}              | -r--r----- |

  # conformance: [sig-storage] Projected configMap should be consumable from pods in volume with mappings [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected configMap should be consumable from pods in volume with mappings and Item mode set [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected configMap should be consumable from pods in volume with mappings as non-root [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected secret should be consumable from pods in volume with mappings [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected secret should be consumable from pods in volume with mappings and Item Mode set [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: An item of a projected <kind> puts one key at its path, <case>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-projected-mapped
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        securityContext: <security>
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/projected-volume/<path>", "--file_mode=/etc/projected-volume/<path>"]
          volumeMounts:
          - {name: projected-volume, mountPath: /etc/projected-volume, readOnly: true}
        volumes:
        - name: projected-volume
          projected:
            sources:
            - <source>
      """
    Then pod "pod-projected-mapped" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "pod-projected-mapped" has the lines:
      """
      content of file "/etc/projected-volume/<path>": <value>
      mode of file "/etc/projected-volume/<path>": <mode>
      """

    Examples:
      | kind      | case                    | security          | path            | value   | source                                                                                             | mode       |
      | ConfigMap | with the default mode   | {}                | path/to/data-2  | value-2 | {configMap: {name: projected-configmap-test-volume, items: [{key: data-2, path: path/to/data-2}]}}          | -rw-r--r-- |
      | ConfigMap | with the item's mode    | {}                | path/to/data-2  | value-2 | {configMap: {name: projected-configmap-test-volume, items: [{key: data-2, path: path/to/data-2, mode: 256}]}} | -r-------- |
      | ConfigMap | read as a non-root user | {runAsUser: 1000} | path/to/data-2  | value-2 | {configMap: {name: projected-configmap-test-volume, items: [{key: data-2, path: path/to/data-2}]}}          | -rw-r--r-- |
      | Secret    | with the default mode   | {}                | new-path-data-1 | value-1 | {secret: {name: projected-secret-test, items: [{key: data-1, path: new-path-data-1}]}}                      | -rw-r--r-- |
      | Secret    | with the item's mode    | {}                | new-path-data-1 | value-1 | {secret: {name: projected-secret-test, items: [{key: data-1, path: new-path-data-1, mode: 256}]}}           | -r-------- |

  # conformance: [sig-storage] Projected configMap should be consumable in multiple volumes in the same pod [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected secret should be consumable in multiple volumes in a pod [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: One projected <kind> in two volumes of a pod
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-projected-twice
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["sh", "-c", "cat /etc/projected-volume/data-1 /etc/projected-volume-2/data-1"]
          volumeMounts:
          - {name: projected-volume, mountPath: /etc/projected-volume, readOnly: true}
          - {name: projected-volume-2, mountPath: /etc/projected-volume-2, readOnly: true}
        volumes:
        - {name: projected-volume, projected: {sources: [<source>]}}
        - {name: projected-volume-2, projected: {sources: [<source>]}}
      """
    Then pod "pod-projected-twice" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "pod-projected-twice" is:
      """
      value-1value-1
      """

    Examples:
      | kind      | source                                               |
      | ConfigMap | {configMap: {name: projected-configmap-test-volume}} |
      | Secret    | {secret: {name: projected-secret-test}}              |

  # conformance: [sig-storage] Projected configMap updates should be reflected in volume [NodeConformance] [Conformance]
  @conformance
  Scenario: A change of a projected ConfigMap reaches the file
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-projected-update
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: projected-volume, mountPath: /etc/projected-volume, readOnly: true}
        volumes:
        - {name: projected-volume, projected: {sources: [{configMap: {name: projected-configmap-test-volume}}]}}
      """
    Then pod "pod-projected-update" is in phase "Running"
    And running "cat /etc/projected-volume/data-1" in container "agnhost-container" of pod "pod-projected-update" prints:
      """
      value-1
      """
    When I replace configmap "projected-configmap-test-volume" with:
      """
      data: {data-1: value-2}
      """
    Then running "cat /etc/projected-volume/data-1" in container "agnhost-container" of pod "pod-projected-update" eventually prints:
      """
      value-2
      """

  # "optional updates should be reflected in volume", for projected ConfigMaps and Secrets: one
  # object deleted, one updated (data-3 appears), one created after the pod started.
  # conformance: [sig-storage] Projected configMap optional updates should be reflected in volume [NodeConformance] [Conformance]
  @conformance
  Scenario: Optional projected ConfigMaps deleted, updated and created while the pod runs
    Given I create configmap "opt-del" with:
      """
      data: {data-1: value-1}
      """
    And I create configmap "opt-upd" with:
      """
      data: {data-1: value-1}
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-projected-optional
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: delete-volume, mountPath: /etc/projected-volumes/delete, readOnly: true}
          - {name: update-volume, mountPath: /etc/projected-volumes/update, readOnly: true}
          - {name: create-volume, mountPath: /etc/projected-volumes/create, readOnly: true}
        volumes:
        - {name: delete-volume, projected: {sources: [{configMap: {name: opt-del, optional: true}}]}}
        - {name: update-volume, projected: {sources: [{configMap: {name: opt-upd, optional: true}}]}}
        - {name: create-volume, projected: {sources: [{configMap: {name: opt-create, optional: true}}]}}
      """
    Then pod "pod-projected-optional" is in phase "Running"
    And running "cat /etc/projected-volumes/delete/data-1" in container "main" of pod "pod-projected-optional" prints:
      """
      value-1
      """
    When I delete configmap "opt-del"
    And I replace configmap "opt-upd" with:
      """
      data: {data-3: value-3}
      """
    And I create configmap "opt-create" with:
      """
      data: {data-1: value-1}
      """
    Then running "sh -c 'cat /etc/projected-volumes/create/data-1 /etc/projected-volumes/update/data-3; ls /etc/projected-volumes/delete'" in container "main" of pod "pod-projected-optional" eventually prints:
      """
      value-1value-3
      """

  # conformance: [sig-storage] Projected secret optional updates should be reflected in volume [NodeConformance] [Conformance]
  @conformance
  Scenario: Optional projected Secrets deleted, updated and created while the pod runs
    Given I create secret "opt-del" with:
      """
      stringData: {data-1: value-1}
      """
    And I create secret "opt-upd" with:
      """
      stringData: {data-1: value-1}
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-projected-optional
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: delete-volume, mountPath: /etc/projected-volumes/delete, readOnly: true}
          - {name: update-volume, mountPath: /etc/projected-volumes/update, readOnly: true}
          - {name: create-volume, mountPath: /etc/projected-volumes/create, readOnly: true}
        volumes:
        - {name: delete-volume, projected: {sources: [{secret: {name: opt-del, optional: true}}]}}
        - {name: update-volume, projected: {sources: [{secret: {name: opt-upd, optional: true}}]}}
        - {name: create-volume, projected: {sources: [{secret: {name: opt-create, optional: true}}]}}
      """
    Then pod "pod-projected-optional" is in phase "Running"
    And running "cat /etc/projected-volumes/delete/data-1" in container "main" of pod "pod-projected-optional" prints:
      """
      value-1
      """
    When I delete secret "opt-del"
    And I replace secret "opt-upd" with:
      """
      stringData: {data-3: value-3}
      """
    And I create secret "opt-create" with:
      """
      stringData: {data-1: value-1}
      """
    Then running "sh -c 'cat /etc/projected-volumes/create/data-1 /etc/projected-volumes/update/data-3; ls /etc/projected-volumes/delete'" in container "main" of pod "pod-projected-optional" eventually prints:
      """
      value-1value-3
      """

  # "should project all components that make up the projection API": a ConfigMap key, a Secret
  # key and the pod's name in one volume.
  # conformance: [sig-storage] Projected combined should project all components that make up the projection API [Projection] [NodeConformance] [Conformance]
  @conformance
  Scenario: A ConfigMap, a Secret and the downward API in one projected volume
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: projected-volume-all
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: projected-all-volume-test
          image: busybox:1.36
          command: ["sh", "-c", "cat /all/podname && cat /all/secret-data && cat /all/configmap-data"]
          volumeMounts:
          - {name: podinfo, mountPath: /all, readOnly: false}
        volumes:
        - name: podinfo
          projected:
            sources:
            - downwardAPI: {items: [{path: podname, fieldRef: {apiVersion: v1, fieldPath: metadata.name}}]}
            - secret: {name: projected-secret-test, items: [{key: data-1, path: secret-data}]}
            - configMap: {name: projected-configmap-test-volume, items: [{key: data-1, path: configmap-data}]}
      """
    Then pod "projected-volume-all" is in phase "Succeeded"
    And the log of container "projected-all-volume-test" of pod "projected-volume-all" is:
      """
      projected-volume-allvalue-1value-1
      """

  # test/e2e/storage/subpath.go, "Subpath Atomic writer volumes should support subpaths with
  # projected pod": a projected ConfigMap item at projected/configmap-key, mounted at
  # /test-volume by that subPath; the container's mounttest reads it (TestBasicSubpath).
  # conformance: [sig-storage] Subpath Atomic writer volumes should support subpaths with projected pod [Conformance]
  @conformance
  Scenario: A subPath naming a projected item mounts that file
    Given I create configmap "my-configmap" with:
      """
      data: {configmap-key: configmap-value}
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-subpath-test-projected
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-container-subpath-projected
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/test-volume"]
          volumeMounts:
          - {name: test-volume, mountPath: /test-volume, subPath: projected/configmap-key}
        volumes:
        - name: test-volume
          projected:
            sources:
            - configMap: {name: my-configmap, items: [{key: configmap-key, path: projected/configmap-key}]}
      """
    Then pod "pod-subpath-test-projected" is in phase "Succeeded"
    And the log of container "test-container-subpath-projected" of pod "pod-subpath-test-projected" is:
      """
      content of file "/test-volume": configmap-value
      """
