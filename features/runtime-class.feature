@api-server @runtime-class
Feature: A pod's RuntimeClass is admitted as kube-apiserver's RuntimeClass admission does, and the node runs the pod with its handler
  # kubernetes.io/docs/concepts/containers/runtime-class/: "the RuntimeClass admission controller
  # ... updates the PodSpec to include the overhead"; "the RuntimeClass nodeSelector is merged
  # with the pod's nodeSelector ... tolerations ... are merged"; "If the RuntimeClass does not
  # exist ... the Pod is rejected". plugin/pkg/admission/runtimeclass/admission.go gives the
  # texts; test/e2e/common/node/runtimeclass.go the conformance tests these mirror (its pod:
  # busybox running `true`, restartPolicy Never). A RuntimeClass is cluster-scoped: each one
  # here is named after the scenario's namespace, as the e2e test names them.

  # e2e expectPodRejection: the create of a pod naming the class is Forbidden.
  @conformance
  # conformance: [sig-node] RuntimeClass should reject a Pod requesting a non-existent RuntimeClass [NodeConformance] [Conformance]
  Scenario: A pod requesting a RuntimeClass that does not exist is Forbidden
    When creating pod "nonexistent" is refused with code 403 and reason "Forbidden":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: nonexistent
      spec:
        runtimeClassName: "{{namespace}}-nonexistent"
        restartPolicy: Never
        containers:
        - name: test
          image: busybox:1.36
          command: ["true"]
      """
    Then the error message is:
      """
      pods "nonexistent" is forbidden: pod rejected: RuntimeClass "{{namespace}}-nonexistent" not found
      """

  # The class names the e2e's preconfigured handler; the test checks scheduling only ("doesn't
  # validate that the Pod will actually start"): the pod is scheduled, with no overhead.
  @conformance
  # conformance: [sig-node] RuntimeClass should schedule a Pod requesting a RuntimeClass without PodOverhead [NodeConformance] [Conformance]
  Scenario: A pod requesting a RuntimeClass without overhead is scheduled, with no overhead
    Given a RuntimeClass "{{namespace}}-preconfigured-handler":
      """
      handler: test-handler
      """
    When a pod "plain":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: plain
      spec:
        runtimeClassName: "{{namespace}}-preconfigured-handler"
        restartPolicy: Never
        containers:
        - name: test
          image: busybox:1.36
          command: ["true"]
      """
    Then field "status.conditions[type=PodScheduled].status" of pod "plain" is "True"
    And field "spec.runtimeClassName" of pod "plain" is "{{namespace}}-preconfigured-handler"
    And field "spec.overhead" of pod "plain" is absent

  # "RuntimeClass Overhead field must be respected": the class's podFixed is the pod's overhead.
  @conformance
  # conformance: [sig-node] RuntimeClass should schedule a Pod requesting a RuntimeClass and initialize its Overhead [NodeConformance] [Conformance]
  Scenario: A pod requesting a RuntimeClass with overhead is scheduled, with the class's overhead
    Given a RuntimeClass "{{namespace}}-preconfigured-handler":
      """
      handler: test-handler
      overhead:
        podFixed:
          cpu: 10m
          memory: 1Mi
      """
    When a pod "fat":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: fat
      spec:
        runtimeClassName: "{{namespace}}-preconfigured-handler"
        restartPolicy: Never
        containers:
        - name: test
          image: busybox:1.36
          command: ["true"]
      """
    Then field "status.conditions[type=PodScheduled].status" of pod "fat" is "True"
    And field "spec.overhead.cpu" of pod "fat" is "10m"
    And field "spec.overhead.memory" of pod "fat" is "1Mi"

  # The class is deleted (and gone from the API) before the pod is created.
  @conformance
  # conformance: [sig-node] RuntimeClass should reject a Pod requesting a deleted RuntimeClass [NodeConformance] [Conformance]
  Scenario: A pod requesting a RuntimeClass that was deleted is Forbidden
    Given a RuntimeClass "{{namespace}}-delete-me":
      """
      handler: runc
      """
    When I delete RuntimeClass "{{namespace}}-delete-me"
    Then creating pod "deleted" is refused with code 403 and reason "Forbidden":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: deleted
      spec:
        runtimeClassName: "{{namespace}}-delete-me"
        restartPolicy: Never
        containers:
        - name: test
          image: busybox:1.36
          command: ["true"]
      """
    And the error message is:
      """
      pods "deleted" is forbidden: pod rejected: RuntimeClass "{{namespace}}-delete-me" not found
      """

  # admission.go setOverhead: "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined
  # Overhead".
  Scenario: A pod that sets an overhead other than its RuntimeClass's is Forbidden
    Given a RuntimeClass "{{namespace}}-sized":
      """
      handler: test-handler
      overhead:
        podFixed:
          cpu: 10m
      """
    When creating pod "other-overhead" is refused with code 403 and reason "Forbidden":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: other-overhead
      spec:
        runtimeClassName: "{{namespace}}-sized"
        overhead:
          cpu: 20m
        containers:
        - name: test
          image: busybox:1.36
          command: ["true"]
      """
    Then the error message is:
      """
      pods "other-overhead" is forbidden: pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead
      """

  # admission.go setScheduling: the class's nodeSelector joins the pod's, its tolerations are
  # merged with the pod's; a key the pod selects another value of is a conflict.
  Scenario: A RuntimeClass's scheduling is merged into the pod, and a conflicting nodeSelector is Forbidden
    Given a RuntimeClass "{{namespace}}-linux":
      """
      handler: test-handler
      scheduling:
        nodeSelector:
          kubernetes.io/os: linux
        tolerations:
        - key: example.com/sandboxed
          operator: Exists
          effect: NoSchedule
      """
    When a pod "merged":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: merged
      spec:
        runtimeClassName: "{{namespace}}-linux"
        restartPolicy: Never
        nodeSelector:
          example.com/any: "yes"
        containers:
        - name: test
          image: busybox:1.36
          command: ["true"]
      """
    Then field "spec.nodeSelector[kubernetes.io/os]" of pod "merged" is "linux"
    And field "spec.nodeSelector[example.com/any]" of pod "merged" is "yes"
    And field "spec.tolerations[key=example.com/sandboxed].operator" of pod "merged" is "Exists"
    When creating pod "conflict" is refused with code 403 and reason "Forbidden":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: conflict
      spec:
        runtimeClassName: "{{namespace}}-linux"
        nodeSelector:
          kubernetes.io/os: windows
        containers:
        - name: test
          image: busybox:1.36
          command: ["true"]
      """
    Then the error message is:
      """
      pods "conflict" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[kubernetes.io/os] = linux; pod.spec.nodeSelector[kubernetes.io/os] = windows
      """

  # e2e "should reject a Pod requesting a RuntimeClass with an unconfigured handler" (outside
  # the conformance suite, as it needs a runtime without that handler): the kubelet asks the
  # runtime for the class's handler, the runtime has none of that name, a FailedCreatePodSandBox event names it,
  # and the pod stays Pending. The event is read from the kubelet's log (capability static-pods).
  @static-pods
  Scenario: A pod whose RuntimeClass names a handler the runtime does not have stays Pending
    Given a RuntimeClass "{{namespace}}-unconfigured-handler":
      """
      handler: "{{namespace}}-handler"
      """
    When a pod "unconfigured":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: unconfigured
      spec:
        runtimeClassName: "{{namespace}}-unconfigured-handler"
        restartPolicy: Never
        containers:
        - name: test
          image: busybox:1.36
          command: ["true"]
      """
    Then the kubelet log mentions "FailedCreatePodSandBox" and "{{namespace}}-handler"
    And pod "unconfigured" stays in phase "Pending" for 3 seconds
