@config-objects
Feature: Environment variables from ConfigMaps and Secrets
  # "Define container environment variables using ConfigMap data" (configMapKeyRef), "Configure
  # all key-value pairs in a ConfigMap as container environment variables" (envFrom, with an
  # optional prefix); the same for Secrets (secretKeyRef, envFrom secretRef).
  #   kubernetes.io/docs/tasks/configure-pod-container/configure-pod-configmap/,
  #   kubernetes.io/docs/concepts/configuration/secret/
  # A reference to a missing object or key that is not optional keeps the container from being
  # made: it waits with CreateContainerConfigError and the kubelet's text, and starts once the
  # object is there.
  #
  # The e2e tests mirrored: test/e2e/common/node/configmap.go and secrets.go (an env-test
  # container running `env`; each expected line is in its log).

  # The objects as e2e makes them (newConfigMap, newEnvFromConfigMap, secretForTest,
  # newEnvFromSecret): the Secrets' values end with a newline.
  Background:
    Given I create configmap "configmap-test" with:
      """
      data: {data-1: value-1, data-2: value-2, data-3: value-3}
      """
    And I create configmap "configmap-env-test" with:
      """
      data: {data_1: value-1, data_2: value-2, data_3: value-3}
      """
    And I create secret "secret-test" with:
      """
      stringData: {data-1: "value-1\n", data-2: "value-2\n", data-3: "value-3\n"}
      """
    And I create secret "secret-env-test" with:
      """
      stringData: {data_1: "value-1\n", data_2: "value-2\n", data_3: "value-3\n"}
      """

  # conformance: [sig-node] ConfigMap should be consumable via environment variable [NodeConformance] [Conformance]
  # conformance: [sig-node] Secrets should be consumable from pods in env vars [NodeConformance] [Conformance]
  @conformance
  Scenario: A variable takes one key of a ConfigMap, another one key of a Secret
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-env-keys
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: env-test
          image: busybox:1.36
          command: ["sh", "-c", "env"]
          env:
          - name: CONFIG_DATA_1
            valueFrom: {configMapKeyRef: {name: configmap-test, key: data-1}}
          - name: SECRET_DATA
            valueFrom: {secretKeyRef: {name: secret-test, key: data-1}}
      """
    Then pod "pod-env-keys" is in phase "Succeeded"
    And the log of container "env-test" of pod "pod-env-keys" has the lines:
      """
      CONFIG_DATA_1=value-1
      SECRET_DATA=value-1
      """

  # conformance: [sig-node] ConfigMap should be consumable via the environment [NodeConformance] [Conformance]
  # conformance: [sig-node] Secrets should be consumable via the environment [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: envFrom takes every key of a <kind>, with and without the prefix p_
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-env-from
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: env-test
          image: busybox:1.36
          command: ["sh", "-c", "env"]
          envFrom:
          - <source>
          - {prefix: p_, <inline>}
      """
    Then pod "pod-env-from" is in phase "Succeeded"
    And the log of container "env-test" of pod "pod-env-from" has the lines:
      """
      data_1=value-1
      data_2=value-2
      data_3=value-3
      p_data_1=value-1
      p_data_2=value-2
      p_data_3=value-3
      """

    Examples:
      | kind      | source                                     | inline                                   |
      | ConfigMap | {configMapRef: {name: configmap-env-test}} | configMapRef: {name: configmap-env-test} |
      | Secret    | {secretRef: {name: secret-env-test}}       | secretRef: {name: secret-env-test}       |

  # v1.34's "should be consumable as environment variable names with various prefixes": since
  # RelaxedEnvironmentVariableValidation, an envFrom prefix (and so a variable's name) may be any
  # printable ASCII but '=' (validation.go's IsRelaxedEnvVarName). Five envFrom sources of one
  # object: no prefix, a leading digit ("1-"), "$_-", "ABC_" and symbols ("#@!"); every
  # prefixed key is in `env`'s output. The Secret test's It body is read from secrets.go; the
  # ConfigMap test is taken to be its twin over newConfigMap (its body was not at hand). e2e runs
  # `sh -c env`; podspec's busybox image (Debian's busybox 1.35) has an ash that leaves names
  # that are not shell identifiers (data-1, 1-data-1) out of what it runs, so the container runs
  # `env` itself: what is asserted, the variables in the container's environment, is the same.
  # conformance: [sig-node] ConfigMap should be consumable as environment variable names with various prefixes [Conformance]
  # conformance: [sig-node] Secrets should be consumable as environment variable names variable names with various prefixes [Conformance]
  @conformance
  Scenario Outline: envFrom prefixes of any printable ASCII but '=' name the variables, from a <kind>
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-env-prefixes
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: env-test
          image: busybox:1.36
          command: ["env"]
          envFrom:
          - {<ref>: {name: <name>}}
          - {prefix: "1-", <ref>: {name: <name>}}
          - {prefix: "$_-", <ref>: {name: <name>}}
          - {prefix: "ABC_", <ref>: {name: <name>}}
          - {prefix: "#@!", <ref>: {name: <name>}}
      """
    Then pod "pod-env-prefixes" is in phase "Succeeded"
    And the log of container "env-test" of pod "pod-env-prefixes" has the lines:
      """
      data-1=value-1
      data-2=value-2
      data-3=value-3
      1-data-1=value-1
      1-data-2=value-2
      1-data-3=value-3
      $_-data-1=value-1
      $_-data-2=value-2
      $_-data-3=value-3
      ABC_data-1=value-1
      ABC_data-2=value-2
      ABC_data-3=value-3
      #@!data-1=value-1
      #@!data-2=value-2
      #@!data-3=value-3
      """

    Examples:
      | kind      | ref          | name           |
      | ConfigMap | configMapRef | configmap-test |
      | Secret    | secretRef    | secret-test    |

  Scenario: An optional reference to what is missing leaves the variable unset
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-env-optional
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: env-test
          image: busybox:1.36
          command: ["sh", "-c", "echo \"[${MISSING_KEY-unset}] [${MISSING_OBJECT-unset}] [${DATA-unset}]\""]
          env:
          - name: MISSING_KEY
            valueFrom: {configMapKeyRef: {name: configmap-test, key: nope, optional: true}}
          - name: MISSING_OBJECT
            valueFrom: {secretKeyRef: {name: no-such-secret, key: data-1, optional: true}}
          - name: DATA
            valueFrom: {configMapKeyRef: {name: configmap-test, key: data-2, optional: true}}
          envFrom:
          - {configMapRef: {name: no-such-configmap, optional: true}}
      """
    Then pod "pod-env-optional" is in phase "Succeeded"
    And the log of container "env-test" of pod "pod-env-optional" is:
      """
      [unset] [unset] [value-2]
      """

  Scenario: A missing ConfigMap is CreateContainerConfigError until it is created
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-env-waits
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: env-test
          image: busybox:1.36
          command: ["sh", "-c", "echo $LATE; sleep 3600"]
          env:
          - name: LATE
            valueFrom: {configMapKeyRef: {name: configmap-late, key: greeting}}
      """
    Then field "status.containerStatuses[name=env-test].state.waiting.reason" of pod "pod-env-waits" is "CreateContainerConfigError"
    And field "status.containerStatuses[name=env-test].state.waiting.message" of pod "pod-env-waits" is "configmap "configmap-late" not found"
    When I create configmap "configmap-late" with:
      """
      data: {other: x}
      """
    Then field "status.containerStatuses[name=env-test].state.waiting.message" of pod "pod-env-waits" is "couldn't find key greeting in ConfigMap {{namespace}}/configmap-late"
    When I replace configmap "configmap-late" with:
      """
      data: {greeting: hello}
      """
    Then pod "pod-env-waits" is running
    And the log of container "env-test" of pod "pod-env-waits" is:
      """
      hello
      """
