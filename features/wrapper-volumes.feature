@storage @config-objects
Feature: Secret and configMap volumes side by side, and many of them in one pod
  # Secret, configMap (and once gitRepo) volumes were "wrapped" emptyDirs in the kubelet; the
  # e2e tests of test/e2e/storage/empty_dir_wrapper.go keep two regressions of that away: a
  # Secret and a ConfigMap of one name mounted in one pod must not conflict, and a pod mounting
  # many configMap volumes at once must start (kubernetes#29641: some such pods never ran).

  # "should not conflict": a Secret and a ConfigMap (binaryData) both named
  # emptydir-wrapper-test, each with a key data-1, in two volumes of one pod; e2e asserts that the
  # pod runs (CreateSync). The scenario reads both files too, and so gives the ConfigMap
  # "value-2\n" where e2e gives both "value-1\n": each volume must hold its own object's payload.
  # conformance: [sig-storage] EmptyDir wrapper volumes should not conflict [Conformance]
  @conformance
  Scenario: A Secret and a ConfigMap of one name mount side by side
    Given I create secret "emptydir-wrapper-test" with:
      """
      stringData: {data-1: "value-1\n"}
      """
    And I create configmap "emptydir-wrapper-test" with:
      """
      binaryData: {data-1: dmFsdWUtMgo=}
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-secrets-wrapper
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: secret-test
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: secret-volume, mountPath: /etc/secret-volume, readOnly: true}
          - {name: configmap-volume, mountPath: /etc/configmap-volume}
        volumes:
        - name: secret-volume
          secret: {secretName: emptydir-wrapper-test}
        - name: configmap-volume
          configMap: {name: emptydir-wrapper-test}
      """
    Then pod "pod-secrets-wrapper" is running
    And running "cat /etc/secret-volume/data-1 /etc/configmap-volume/data-1" in container "secret-test" of pod "pod-secrets-wrapper" prints:
      """
      value-1
      value-2
      """

  # "should not cause race condition when used for configmaps": 50 ConfigMaps (data-1 = value-1)
  # and pods that each mount all 50 (as items data-1 at /etc/config-<i>), made at once on one
  # node; every pod must reach Running. e2e makes them through a ReplicationController of 5
  # replicas, 3 times over (15 pods); the reference has no ReplicationController, so the scenario
  # makes the 5 pods of one round itself, from one manifest (fixtures/pods/wrapped-volume-race.yaml),
  # and runs one round, not 3: the shape (many configMap volumes in each of several pods started
  # together) is kept.
  # conformance: [sig-storage] EmptyDir wrapper volumes should not cause race condition when used for configmaps [Serial] [Conformance]
  @conformance
  Scenario: Five pods made at once, each mounting the same 50 configMap volumes, all run
    Given I create 50 configmaps "racey-configmap-{i}" with:
      """
      data: {data-1: value-1}
      """
    And a pod "wrapped-volume-race-0" from fixture "wrapped-volume-race.yaml"
    And a pod "wrapped-volume-race-1" from fixture "wrapped-volume-race.yaml"
    And a pod "wrapped-volume-race-2" from fixture "wrapped-volume-race.yaml"
    And a pod "wrapped-volume-race-3" from fixture "wrapped-volume-race.yaml"
    And a pod "wrapped-volume-race-4" from fixture "wrapped-volume-race.yaml"
    Then pod "wrapped-volume-race-0" is running
    And pod "wrapped-volume-race-1" is running
    And pod "wrapped-volume-race-2" is running
    And pod "wrapped-volume-race-3" is running
    And pod "wrapped-volume-race-4" is running
    And running "cat /etc/config-0/data-1 /etc/config-49/data-1" in container "test-container" of pod "wrapped-volume-race-4" prints "value-1value-1"
