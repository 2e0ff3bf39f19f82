@api-server @api-create
Feature: The API defaults and validates a pod on create as Kubernetes' API server does
  # Defaulting: pkg/apis/core/v1/defaults.go (SetDefaults_PodSpec, SetDefaults_Container,
  # SetDefaults_Pod); the QoS class: pkg/apis/core/helper/qos GetPodQOS and
  # kubernetes.io/docs/concepts/workloads/pods/pod-qos/. Labels, annotations and names:
  # apimachinery pkg/api/validation/objectmeta.go, pkg/util/validation (IsQualifiedName,
  # IsValidLabelValue, IsDNS1123Subdomain), kubernetes.io/docs/concepts/overview/working-with-objects/labels/
  # and .../names/.

  # defaults.go: restartPolicy Always, dnsPolicy ClusterFirst, terminationGracePeriodSeconds 30,
  # schedulerName default-scheduler, enableServiceLinks true, securityContext {};
  # per container terminationMessagePath /dev/termination-log, terminationMessagePolicy File,
  # imagePullPolicy IfNotPresent for a tag other than latest; pod-qos: "BestEffort".
  Scenario: A pod that leaves fields unset gets Kubernetes' defaults
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: plain
      spec:
        containers:
        - name: app
          image: busybox:1.36
          # Ends at once on SIGTERM: the default grace period is 30 s.
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
      """
    Then field "spec.restartPolicy" of pod "plain" is "Always"
    And field "spec.dnsPolicy" of pod "plain" is "ClusterFirst"
    And field "spec.terminationGracePeriodSeconds" of pod "plain" is "30"
    And field "spec.schedulerName" of pod "plain" is "default-scheduler"
    And field "spec.enableServiceLinks" of pod "plain" is "true"
    And field "spec.securityContext" of pod "plain" is set
    And field "spec.containers[name=app].terminationMessagePath" of pod "plain" is "/dev/termination-log"
    And field "spec.containers[name=app].terminationMessagePolicy" of pod "plain" is "File"
    And field "spec.containers[name=app].imagePullPolicy" of pod "plain" is "IfNotPresent"
    And field "status.qosClass" of pod "plain" is "BestEffort"

  # defaults.go SetDefaults_Container: "Always" when the tag is latest or there is none.
  Scenario: An image without a tag, or tagged latest, is pulled Always
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: untagged
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: bare
          image: busybox
          command: ["sleep", "3600"]
        - name: latest
          image: busybox:latest
          command: ["sleep", "3600"]
      """
    Then field "spec.containers[name=bare].imagePullPolicy" of pod "untagged" is "Always"
    And field "spec.containers[name=latest].imagePullPolicy" of pod "untagged" is "Always"

  # pod-qos: "A Pod is given a QoS class of Burstable if the Pod does not meet the criteria for
  # QoS class Guaranteed and at least one Container in the Pod has a memory or CPU request or limit."
  Scenario: A pod with a CPU request and no limits is Burstable
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: burstable
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          resources:
            requests:
              cpu: 100m
      """
    Then field "status.qosClass" of pod "burstable" is "Burstable"

  # pod-qos: "For a Pod to be given a QoS class of Guaranteed: Every Container in the Pod must have
  # a memory limit and a memory request ... a CPU limit and a CPU request", equal.
  # e2e: test/e2e/node/pods.go, "Pods Set QOS Class should be set on Pods with matching resource
  # requests and limits for memory and cpu": the pod, once created, has qosClass Guaranteed.
  # conformance: [sig-node] Pods Extended Pods Set QOS Class should be set on Pods with matching resource requests and limits for memory and cpu [Conformance]
  @conformance
  Scenario: A pod whose requests equal its limits for CPU and memory is Guaranteed
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-qos-class
        labels:
          name: pod-qos-class
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost
          image: busybox:1.36
          command: ["sleep", "3600"]
          resources:
            limits:
              cpu: 100m
              memory: 100Mi
            requests:
              cpu: 100m
              memory: 100Mi
      """
    Then field "status.qosClass" of pod "pod-qos-class" is "Guaranteed"

  # IsValidLabelValue; the message as `kubectl create` shows it.
  Scenario: A label value with spaces and '!' is refused
    When creating pod "bad-label" is refused with code 422 and reason "Invalid"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: bad-label
        labels:
          app: not a valid value!
      spec:
        containers:
        - name: app
          image: busybox:1.36
      """
    Then the error message is:
      """
      Pod "bad-label" is invalid: metadata.labels: Invalid value: "not a valid value!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')
      """

  # IsQualifiedName on a label key: the prefix must be a DNS subdomain.
  Scenario: A label key whose prefix is not a DNS subdomain is refused
    When creating pod "bad-key" is refused with code 422 and reason "Invalid"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: bad-key
        labels:
          Example.com/app: web
      spec:
        containers:
        - name: app
          image: busybox:1.36
      """
    Then the error message starts with:
      """
      Pod "bad-key" is invalid: metadata.labels: Invalid value: "Example.com/app": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'
      """

  # ValidateAnnotations: every key is a qualified name.
  Scenario: An annotation key with a space is refused
    When creating pod "bad-annotation" is refused with code 422 and reason "Invalid"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: bad-annotation
        annotations:
          "not valid": x
      spec:
        containers:
        - name: app
          image: busybox:1.36
      """
    Then the error message starts with:
      """
      Pod "bad-annotation" is invalid: metadata.annotations: Invalid value: "not valid": name part must consist of alphanumeric characters
      """

  # names/#dns-subdomain-names: "contain no more than 253 characters".
  Scenario: A pod name longer than 253 characters is refused
    When creating pod "a23456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a123456789a1234" is refused with code 422 and reason "Invalid"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: long
      spec:
        containers:
        - name: app
          image: busybox:1.36
      """
    Then the error message contains "metadata.name: Invalid value: "
    And the error message contains ": must be no more than 253 characters"

  # names/#dns-subdomain-names: a DNS subdomain has no limit per dot-separated part; a
  # 64-character name without dots is a valid pod name.
  Scenario: A pod name of 64 characters without dots is accepted
    Given a running pod "a234567890123456789012345678901234567890123456789012345678901234":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: long
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "metadata.name" of pod "a234567890123456789012345678901234567890123456789012345678901234" is "a234567890123456789012345678901234567890123456789012345678901234"

  # The name step states what the API refuses; the manifest is otherwise valid.
  Scenario: A pod without containers is refused with Kubernetes' text
    When creating pod "empty" is refused with code 422 and reason "Invalid"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: empty
      spec:
        containers: []
      """
    Then the error message is:
      """
      Pod "empty" is invalid: spec.containers: Required value
      """

  # Admission (kube-apiserver's default plugins, docs/src/developer/api-rules.md): Priority gives a
  # pod without priorityClassName priority 0 and preemptionPolicy PreemptLowerPriority (no class is
  # the global default); DefaultTolerationSeconds gives it the not-ready and unreachable
  # tolerations, NoExecute, for 300 s.
  Scenario: Admission gives a pod its priority and tolerations of a failing node for 300 s
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: admitted
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "spec.priority" of pod "admitted" is "0"
    And field "spec.preemptionPolicy" of pod "admitted" is "PreemptLowerPriority"
    And field "spec.tolerations" of pod "admitted" has 2 items
    And field "spec.tolerations[key=node.kubernetes.io/not-ready].operator" of pod "admitted" is "Exists"
    And field "spec.tolerations[key=node.kubernetes.io/not-ready].effect" of pod "admitted" is "NoExecute"
    And field "spec.tolerations[key=node.kubernetes.io/not-ready].tolerationSeconds" of pod "admitted" is "300"
    And field "spec.tolerations[key=node.kubernetes.io/unreachable].effect" of pod "admitted" is "NoExecute"
    And field "spec.tolerations[key=node.kubernetes.io/unreachable].tolerationSeconds" of pod "admitted" is "300"

  # Priority: the system classes every API server has give their values.
  Scenario: Priority class system-node-critical gives priority 2000001000
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: critical
      spec:
        terminationGracePeriodSeconds: 0
        priorityClassName: system-node-critical
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "spec.priority" of pod "critical" is "2000001000"
    And field "spec.priorityClassName" of pod "critical" is "system-node-critical"

  # Priority: a class the API server has not is refused with its text (403 Forbidden).
  Scenario: A priority class that does not exist is refused
    When creating pod "high" is refused with code 403 and reason "Forbidden"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: high
      spec:
        priorityClassName: high
        containers:
        - name: app
          image: busybox:1.36
      """
    Then the error message is:
      """
      pods "high" is forbidden: no PriorityClass with name high was found
      """

  # test/e2e/common/node/sysctl.go "should reject invalid sysctls": of four sysctls, the two
  # whose names are not sysctl names ("foo-", "bar..") are refused with Kubernetes' text; the
  # valid names (kernel.shmmax, unsafe, and safe-and-unsafe, a well-formed name) are not named
  # in the refusal (validation.go validateSysctls).
  # conformance: [sig-node] Sysctls [LinuxOnly] [NodeConformance] should reject invalid sysctls [MinimumKubeletVersion:1.21] [Conformance]
  # conformance: [sig-node] Sysctls [LinuxOnly] [NodeConformance] should reject invalid sysctls [Conformance]
  @conformance
  Scenario: Sysctl names that are not sysctl names are refused, and only they are named
    When creating pod "sysctl-invalid" is refused with code 422 and reason "Invalid"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sysctl-invalid
      spec:
        securityContext:
          sysctls:
          - {name: foo-, value: bar}
          - {name: kernel.shmmax, value: "100000000"}
          - {name: safe-and-unsafe, value: "100000000"}
          - {name: bar.., value: "42"}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then the error message is:
      """
      Pod "sysctl-invalid" is invalid: [spec.securityContext.sysctls[0].name: Invalid value: "foo-": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$, spec.securityContext.sysctls[3].name: Invalid value: "bar..": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$]
      """
