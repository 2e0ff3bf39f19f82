@storage @config-objects
Feature: A secret volume holds a Secret's keys as files
  # "A secret volume is used to pass sensitive information, such as passwords, to Pods." "A
  # Secret is always mounted as readOnly." kubernetes.io/docs/concepts/storage/volumes/#secret,
  # kubernetes.io/docs/concepts/configuration/secret/
  #
  # The e2e tests mirrored: test/e2e/common/storage/secrets_volume.go. Each makes a Secret with
  # data-1..data-3 (value-1..value-3) and a restartPolicy Never pod whose volume "secret-volume"
  # at /etc/secret-volume names it, runs agnhost's mounttest (podspec-agent's here) and checks
  # its output (each expected line is in the log). Modes are octal (0400 is 256, 0440 is 288).

  Background:
    Given I create secret "secret-test" with:
      """
      stringData:
        data-1: value-1
        data-2: value-2
        data-3: value-3
      """

  # "should be consumable from pods in volume" (mode 0644), "... with defaultMode set" (0400),
  # "... as non-root with defaultMode and fsGroup set" (runAsUser 1000, fsGroup 1001, 0440: the
  # group reads it: -r--r-----).
  # conformance: [sig-storage] Secrets should be consumable from pods in volume [NodeConformance] [Conformance]
  # conformance: [sig-storage] Secrets should be consumable from pods in volume with defaultMode set [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] Secrets should be consumable from pods in volume as non-root with defaultMode and fsGroup set [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: Every key is a file of the volume, <case>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-secrets
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        securityContext: <security>
        containers:
        - name: secret-volume-test
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/secret-volume/data-1", "--file_mode=/etc/secret-volume/data-1"]
          volumeMounts:
          - {name: secret-volume, mountPath: /etc/secret-volume, readOnly: true}
        volumes:
        - name: secret-volume
          secret: <source>
      """
    Then pod "pod-secrets" is in phase "Succeeded"
    And the log of container "secret-volume-test" of pod "pod-secrets" has the lines:
      """
      content of file "/etc/secret-volume/data-1": value-1
      mode of file "/etc/secret-volume/data-1": <mode>
      """

    Examples:
      | case                                 | security                         | source                                     | mode       |
      | with the default mode                | {}                               | {secretName: secret-test}                  | -rw-r--r-- |
      | with defaultMode 0400                | {}                               | {secretName: secret-test, defaultMode: 256} | -r-------- |
      | read by a non-root user of the group | {runAsUser: 1000, fsGroup: 1001} | {secretName: secret-test, defaultMode: 288} | -r--r----- |

  # "... with mappings" (data-1 at new-path-data-1) and "... with mappings and Item Mode set"
  # (0400).
  # conformance: [sig-storage] Secrets should be consumable from pods in volume with mappings [NodeConformance] [Conformance]
  # conformance: [sig-storage] Secrets should be consumable from pods in volume with mappings and Item Mode set [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: An item puts one key at its path, <case>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-secrets-mapped
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: secret-volume-test
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/secret-volume/new-path-data-1", "--file_mode=/etc/secret-volume/new-path-data-1"]
          volumeMounts:
          - {name: secret-volume, mountPath: /etc/secret-volume, readOnly: true}
        volumes:
        - name: secret-volume
          secret:
            secretName: secret-test
            items:
            - <item>
      """
    Then pod "pod-secrets-mapped" is in phase "Succeeded"
    And the log of container "secret-volume-test" of pod "pod-secrets-mapped" has the lines:
      """
      content of file "/etc/secret-volume/new-path-data-1": value-1
      mode of file "/etc/secret-volume/new-path-data-1": <mode>
      """

    Examples:
      | case                  | item                                           | mode       |
      | with the default mode | {key: data-1, path: new-path-data-1}           | -rw-r--r-- |
      | with the item's mode  | {key: data-1, path: new-path-data-1, mode: 256} | -r-------- |

  # "should be able to mount in a volume regardless of a different secret existing with same
  # name in different namespace": a second namespace holds a Secret of the same name with
  # another key; the pod reads its own namespace's Secret (data-1 is value-1, -rw-r--r--).
  # e2e makes the other Secret first; here it is made last, so that a lookup by name alone
  # would find it.
  # conformance: [sig-storage] Secrets should be able to mount in a volume regardless of a different secret existing with same name in different namespace [NodeConformance] [Conformance]
  @conformance
  Scenario: A Secret of the same name in another namespace does not reach the pod
    Given I create secret "secret-test" in a second namespace with:
      """
      stringData:
        this_should_not_match_content_of_other_secret: "similarly_this_should_not_match_content_of_other_secret\n"
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-secrets-namespaced
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: secret-volume-test
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/secret-volume/data-1", "--file_mode=/etc/secret-volume/data-1"]
          volumeMounts:
          - {name: secret-volume, mountPath: /etc/secret-volume, readOnly: true}
        volumes:
        - name: secret-volume
          secret: {secretName: secret-test}
      """
    Then pod "pod-secrets-namespaced" is in phase "Succeeded"
    And the log of container "secret-volume-test" of pod "pod-secrets-namespaced" has the lines:
      """
      content of file "/etc/secret-volume/data-1": value-1
      mode of file "/etc/secret-volume/data-1": -rw-r--r--
      """

  # "should be consumable in multiple volumes in a pod": the Secret in two volumes, at
  # /etc/secret-volume and /etc/secret-volume-2.
  # conformance: [sig-storage] Secrets should be consumable in multiple volumes in a pod [NodeConformance] [Conformance]
  @conformance
  Scenario: One Secret in two volumes of a pod
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-secrets-twice
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: secret-volume-test
          image: busybox:1.36
          command: ["sh", "-c", "cat /etc/secret-volume/data-1 /etc/secret-volume-2/data-1"]
          volumeMounts:
          - {name: secret-volume, mountPath: /etc/secret-volume, readOnly: true}
          - {name: secret-volume-2, mountPath: /etc/secret-volume-2, readOnly: true}
        volumes:
        - {name: secret-volume, secret: {secretName: secret-test}}
        - {name: secret-volume-2, secret: {secretName: secret-test}}
      """
    Then pod "pod-secrets-twice" is in phase "Succeeded"
    And the log of container "secret-volume-test" of pod "pod-secrets-twice" is:
      """
      value-1value-1
      """

  # "optional updates should be reflected in volume": three optional volumes; one Secret is
  # deleted, one updated (data-3 appears), one created after the pod started.
  # conformance: [sig-storage] Secrets optional updates should be reflected in volume [NodeConformance] [Conformance]
  @conformance
  Scenario: Optional Secrets deleted, updated and created while the pod runs
    Given I create secret "s-test-opt-del" with:
      """
      stringData: {data-1: value-1}
      """
    And I create secret "s-test-opt-upd" with:
      """
      stringData: {data-1: value-1}
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-secrets-optional
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: deletes-volume, mountPath: /etc/secret-volumes/delete, readOnly: true}
          - {name: updates-volume, mountPath: /etc/secret-volumes/update, readOnly: true}
          - {name: creates-volume, mountPath: /etc/secret-volumes/create, readOnly: true}
        volumes:
        - {name: deletes-volume, secret: {secretName: s-test-opt-del, optional: true}}
        - {name: updates-volume, secret: {secretName: s-test-opt-upd, optional: true}}
        - {name: creates-volume, secret: {secretName: s-test-opt-create, optional: true}}
      """
    Then pod "pod-secrets-optional" is in phase "Running"
    And running "cat /etc/secret-volumes/delete/data-1" in container "main" of pod "pod-secrets-optional" prints:
      """
      value-1
      """
    When I delete secret "s-test-opt-del"
    And I replace secret "s-test-opt-upd" with:
      """
      stringData: {data-3: value-3}
      """
    And I create secret "s-test-opt-create" with:
      """
      stringData: {data-1: value-1}
      """
    Then running "sh -c 'cat /etc/secret-volumes/create/data-1 /etc/secret-volumes/update/data-3; ls /etc/secret-volumes/delete'" in container "main" of pod "pod-secrets-optional" eventually prints:
      """
      value-1value-3
      """

  # test/e2e/storage/subpath.go, "Subpath Atomic writer volumes should support subpaths with
  # secret pod": subPath secret-key of a volume of the Secret my-secret, mounted at /test-volume;
  # the container's mounttest reads it (TestBasicSubpath).
  # conformance: [sig-storage] Subpath Atomic writer volumes should support subpaths with secret pod [Conformance]
  @conformance
  Scenario: A subPath naming a key of the volume mounts that file
    Given I create secret "my-secret" with:
      """
      stringData: {secret-key: secret-value}
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-subpath-test-secret
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-container-subpath-secret
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/test-volume"]
          volumeMounts:
          - {name: test-volume, mountPath: /test-volume, subPath: secret-key}
        volumes:
        - {name: test-volume, secret: {secretName: my-secret}}
      """
    Then pod "pod-subpath-test-secret" is in phase "Succeeded"
    And the log of container "test-container-subpath-secret" of pod "pod-subpath-test-secret" is:
      """
      content of file "/test-volume": secret-value
      """
