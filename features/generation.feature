@api-server @conformance
Feature: A pod's generation counts the changes of its spec, and its status says which it reflects
  # "metadata.generation: A sequence number representing a specific generation of the desired
  # state. Populated by the system. Read-only." (ObjectMeta). From Kubernetes 1.34 a pod's
  # generation starts at 1 and grows with each change of its spec and with a graceful deletion,
  # and the kubelet writes the generation it has acted on to status.observedGeneration
  # (KEP-5067, pod generation; feature PodObservedGenerationTracking, GA in 1.35).
  # The rules: apiserver pkg/registry/rest/create.go and update.go (a client's generation is not
  # kept), pkg/registry/core/pod/strategy.go (the spec's changes), rest/delete.go BeforeDelete
  # (a graceful deletion); the kubelet's generateAPIPodStatus (observedGeneration).
  # e2e: test/e2e/node/pods.go, "Pods Extended (pod generation)".

  # e2e: "pod generation should start at 1 and increment per update": an agnhost pod with an
  # init container; an empty update, tolerations, activeDeadlineSeconds, the container's image
  # and the init container's image, an annotation, and a generation the client sets, each
  # followed by the generation it must have and observedGeneration catching up with it (the
  # e2e test waits 20 s for that; the eventually of these steps is longer).
  # conformance: [sig-node] Pods Extended (pod generation) Pod Generation pod generation should start at 1 and increment per update [MinimumKubeletVersion:1.34] [Conformance]
  Scenario: Generation starts at 1, grows with each spec change only, and the node observes each
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-generation
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: init-container
          image: busybox:1.36
          command: ["true"]
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "metadata.generation" of pod "pod-generation" is "1"
    And field "status.observedGeneration" of pod "pod-generation" is "1"
    # empty update
    When I set field "spec.restartPolicy" of pod "pod-generation" to "Always"
    Then the request succeeds
    And field "metadata.generation" of pod "pod-generation" is "1"
    # updating Tolerations to trigger generation bump
    When I add to field "spec.tolerations" of pod "pod-generation":
      """
      key: foo-podspec
      operator: Equal
      value: bar
      effect: NoSchedule
      """
    Then the request succeeds
    And field "metadata.generation" of pod "pod-generation" is "2"
    And field "status.observedGeneration" of pod "pod-generation" is "2"
    # updating ActiveDeadlineSeconds to trigger generation bump
    When I set field "spec.activeDeadlineSeconds" of pod "pod-generation" to 5000
    Then the request succeeds
    And field "metadata.generation" of pod "pod-generation" is "3"
    And field "status.observedGeneration" of pod "pod-generation" is "3"
    # updating container image to trigger generation bump
    When I set field "spec.containers[name=app].image" of pod "pod-generation" to "busybox:1.35"
    Then the request succeeds
    And field "metadata.generation" of pod "pod-generation" is "4"
    And field "status.observedGeneration" of pod "pod-generation" is "4"
    # updating initContainer image to trigger generation bump
    When I set field "spec.initContainers[name=init-container].image" of pod "pod-generation" to "busybox:1.35"
    Then the request succeeds
    And field "metadata.generation" of pod "pod-generation" is "5"
    And field "status.observedGeneration" of pod "pod-generation" is "5"
    # updates to pod metadata should not trigger generation bump
    When I set field "metadata.annotations" of pod "pod-generation" to {"key": "value"}
    Then the request succeeds
    And field "metadata.generation" of pod "pod-generation" is "5"
    # pod generation updated by client should be ignored
    When I set field "metadata.generation" of pod "pod-generation" to 1
    Then the request succeeds
    And field "metadata.generation" of pod "pod-generation" is "5"
    And field "status.observedGeneration" of pod "pod-generation" is "5"

  # e2e: "custom-set generation on new pods and graceful delete": a pod created with generation
  # 100 has generation 1; once it runs, a delete with gracePeriodSeconds 60 answers 200 and the
  # pod, still there while it stops, has generation 2. (Its container, PID 1 with no handler for
  # SIGTERM, runs until the grace period ends; the spec's terminationGracePeriodSeconds 0, which
  # the delete's 60 s overrides, lets the scenario's clean-up remove it at once.)
  # conformance: [sig-node] Pods Extended (pod generation) Pod Generation custom-set generation on new pods and graceful delete [Conformance]
  Scenario: A generation the client sets is not kept, and a graceful delete bumps it
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-generation
        generation: 100
        labels:
          time: "12345"
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "metadata.generation" of pod "pod-generation" is "1"
    When I start deleting pod "pod-generation" with a grace period of 60 seconds
    Then the request succeeds
    And field "metadata.deletionGracePeriodSeconds" of pod "pod-generation" is "60"
    And field "metadata.generation" of pod "pod-generation" is "2"

  # e2e: "issue 500 podspec updates and verify generation and observedGeneration eventually
  # converge": a pod with activeDeadlineSeconds 5000, lowered by one in 499 updates; its
  # observedGeneration reaches 500 and its generation is 500.
  # conformance: [sig-node] Pods Extended (pod generation) Pod Generation issue 500 podspec updates and verify generation and observedGeneration eventually converge [MinimumKubeletVersion:1.34] [Conformance]
  Scenario: After 499 spec updates generation and observedGeneration are both 500
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-generation
        labels:
          time: "12345"
      spec:
        terminationGracePeriodSeconds: 0
        activeDeadlineSeconds: 5000
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    When I lower field "spec.activeDeadlineSeconds" of pod "pod-generation" by one 499 times
    Then field "status.observedGeneration" of pod "pod-generation" is "500"
    And field "metadata.generation" of pod "pod-generation" is "500"
    And field "spec.activeDeadlineSeconds" of pod "pod-generation" is "4501"
