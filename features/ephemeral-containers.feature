@api-server @ephemeral-containers
Feature: Ephemeral containers are added to a running pod, run once, and never change
  # "Ephemeral containers differ from other containers in that they lack guarantees for
  # resources or execution, and they will never be automatically restarted ... Ephemeral
  # containers are created using a special ephemeralcontainers handler in the API rather than by
  # adding them directly to pod.spec ... Like regular containers, you may not change or remove an
  # ephemeral container after you have added it to a Pod. ... Ephemeral containers may not have
  # ports, so fields such as ports, livenessProbe, readinessProbe are disallowed."
  #   kubernetes.io/docs/concepts/workloads/pods/ephemeral-containers/
  # "you can use `kubectl debug` ... the --target parameter targets the process namespace of
  # another container."
  #   kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/#ephemeral-container
  # The rules and their texts: pkg/apis/core/validation/validation.go
  # validateEphemeralContainers, ValidatePodEphemeralContainersUpdate, ValidatePodUpdate;
  # pkg/registry/core/pod/strategy.go podEphemeralContainersStrategy. The kubelet: pkg/kubelet/
  # kuberuntime/kuberuntime_manager.go computePodActions (started once, never restarted).
  # "I add the ephemeral container" and "... through its ephemeral containers" read the pod and
  # write it back whole to its ephemeralcontainers subresource, as the e2e tests'
  # UpdateEphemeralContainers does.

  Background:
    Given a running pod "ephemeral-containers-target-pod":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: ephemeral-containers-target-pod
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-container-1
          image: busybox:1.36
          command: ["/bin/sleep"]
          args: ["10000"]
      """

  # e2e: test/e2e/common/node/ephemeral_containers.go, "will start an ephemeral container in an
  # existing pod": the generation goes from 1 to 2, exec into the ephemeral container works, its
  # log has what it wrote. The e2e container also sets stdin and tty, which only an attach
  # uses; they are left out here (attach with a tty: tests/it/serve_attach.rs).
  # conformance: [sig-node] Ephemeral Containers [NodeConformance] will start an ephemeral container in an existing pod [Conformance]
  @conformance
  Scenario: An ephemeral container added to a running pod runs, takes exec and has a log
    Given field "metadata.generation" of pod "ephemeral-containers-target-pod" is "1"
    When I add the ephemeral container to pod "ephemeral-containers-target-pod":
      """
      name: debugger
      image: busybox:1.36
      command: ["sh", "-c", "echo polo; sleep 10000"]
      """
    Then the request succeeds
    And field "metadata.generation" of pod "ephemeral-containers-target-pod" is "2"
    And field "status.ephemeralContainerStatuses[name=debugger].state.running" of pod "ephemeral-containers-target-pod" is set
    And running "echo marco" in container "debugger" of pod "ephemeral-containers-target-pod" prints "marco"
    And the log of container "debugger" of pod "ephemeral-containers-target-pod" is:
      """
      polo
      """
    And field "status.phase" of pod "ephemeral-containers-target-pod" is "Running"

  # e2e: ephemeral_containers.go, "should update the ephemeral containers in an existing pod":
  # one ephemeral container, then a second added by an update of the subresource; the
  # subresource's read shows both. (The e2e's second image is agnhost; here busybox.)
  # conformance: [sig-node] Ephemeral Containers [NodeConformance] should update the ephemeral containers in an existing pod [Conformance]
  @conformance
  Scenario: A second ephemeral container is added by an update of the subresource
    Given I add the ephemeral container to pod "ephemeral-containers-target-pod":
      """
      name: debugger
      image: busybox:1.36
      command: ["sleep", "10000"]
      """
    And field "spec.ephemeralContainers" of pod "ephemeral-containers-target-pod" has 1 items
    When I add the ephemeral container to pod "ephemeral-containers-target-pod":
      """
      name: debugger2
      image: busybox:1.36
      imagePullPolicy: IfNotPresent
      terminationMessagePolicy: File
      command: ["sleep", "10000"]
      """
    Then the request succeeds
    And field "spec.ephemeralContainers" of pod "ephemeral-containers-target-pod" has 2 items
    And field "status.ephemeralContainerStatuses[name=debugger2].state.running" of pod "ephemeral-containers-target-pod" is set
    And field "status.ephemeralContainerStatuses[name=debugger].state.running" of pod "ephemeral-containers-target-pod" is set

  # ValidatePodEphemeralContainersUpdate: "existing ephemeral containers %q may not be
  # changed\n%v" (with a diff), "existing ephemeral containers %q may not be removed\n".
  Scenario: An existing ephemeral container may be neither changed nor removed
    Given I add the ephemeral container to pod "ephemeral-containers-target-pod":
      """
      name: debugger
      image: busybox:1.36
      command: ["sleep", "10000"]
      """
    When I set field "spec.ephemeralContainers[name=debugger].image" of pod "ephemeral-containers-target-pod" through its ephemeral containers to "busybox:1.35"
    Then the request is refused with code 422 and reason "Invalid"
    And the error message starts with:
      """
      Pod "ephemeral-containers-target-pod" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be changed
      """
    When I remove field "spec.ephemeralContainers" of pod "ephemeral-containers-target-pod" through its ephemeral containers
    Then the request is refused with code 422 and reason "Invalid"
    And the error message starts with:
      """
      Pod "ephemeral-containers-target-pod" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed
      """
    And field "spec.ephemeralContainers[name=debugger].image" of pod "ephemeral-containers-target-pod" is "busybox:1.36"

  # ValidatePodUpdate: the pod's own update compares the whole spec, ephemeral containers
  # included ("pod updates may not change fields other than ..."); ValidatePodCreate: "cannot
  # be set on create".
  Scenario: Ephemeral containers come through their subresource only, never through the pod
    When I add to field "spec.ephemeralContainers" of pod "ephemeral-containers-target-pod":
      """
      name: debugger
      image: busybox:1.36
      """
    Then the request is refused with code 422 and reason "Invalid"
    And the error message starts with:
      """
      Pod "ephemeral-containers-target-pod" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)
      """
    And field "spec.ephemeralContainers" of pod "ephemeral-containers-target-pod" is absent
    And creating pod "with-ephemeral" is refused with code 422 and reason "Invalid"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: with-ephemeral
      spec:
        containers:
        - name: app
          image: busybox:1.36
        ephemeralContainers:
        - name: debugger
          image: busybox:1.36
      """
    And the error message is:
      """
      Pod "with-ephemeral" is invalid: spec.ephemeralContainers: Forbidden: cannot be set on create
      """

  # validateEphemeralContainers: the fields outside allowedEphemeralContainerFields are
  # Forbidden, "cannot be set for an Ephemeral Container"; a name must be unique among the
  # pod's containers; the target must be one of them.
  Scenario: Ports, probes, resources and a taken name are refused for an ephemeral container
    When adding the ephemeral container to pod "ephemeral-containers-target-pod" is refused with code 422 and reason "Invalid":
      """
      name: debugger
      image: busybox:1.36
      ports:
      - containerPort: 8080
      readinessProbe:
        exec:
          command: ["true"]
      """
    Then the error message is:
      """
      Pod "ephemeral-containers-target-pod" is invalid: [spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container, spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container]
      """
    When adding the ephemeral container to pod "ephemeral-containers-target-pod" is refused with code 422 and reason "Invalid":
      """
      name: test-container-1
      image: busybox:1.36
      targetContainerName: nowhere
      """
    Then the error message is:
      """
      Pod "ephemeral-containers-target-pod" is invalid: [spec.ephemeralContainers[0].name: Duplicate value: "test-container-1", spec.ephemeralContainers[0].targetContainerName: Not found: "nowhere"]
      """
    And field "spec.ephemeralContainers" of pod "ephemeral-containers-target-pod" is absent

  # debug-running-pod/#ephemeral-container: with targetContainerName the ephemeral container
  # joins that container's PID namespace (CRI NamespaceMode TARGET), so it sees the target's
  # processes: its PID 1 is the target's main process. Without one it has a PID namespace of
  # its own, as every container of a pod that does not share one.
  Scenario: With targetContainerName the ephemeral container sees the target's processes
    When I add the ephemeral container to pod "ephemeral-containers-target-pod":
      """
      name: debugger
      image: busybox:1.36
      command: ["sleep", "10001"]
      targetContainerName: test-container-1
      """
    And I add the ephemeral container to pod "ephemeral-containers-target-pod":
      """
      name: loner
      image: busybox:1.36
      command: ["sleep", "10002"]
      """
    Then field "status.ephemeralContainerStatuses[name=debugger].state.running" of pod "ephemeral-containers-target-pod" is set
    And field "status.ephemeralContainerStatuses[name=loner].state.running" of pod "ephemeral-containers-target-pod" is set
    And running "tr '\0' ' ' < /proc/1/cmdline" in container "debugger" of pod "ephemeral-containers-target-pod" prints "/bin/sleep 10000 "
    And running "pidof sleep | wc -w" in container "debugger" of pod "ephemeral-containers-target-pod" prints "2"
    And running "tr '\0' ' ' < /proc/1/cmdline" in container "loner" of pod "ephemeral-containers-target-pod" prints "sleep 10002 "

  # computePodActions: "Ephemeral Containers are never restarted", whatever the pod's
  # restartPolicy (Always here); its status keeps how it ended. (The kubelet restarts an app
  # container at once after its first exit, so a restart would never show it terminated.)
  Scenario: An ephemeral container that exits is not restarted
    When I add the ephemeral container to pod "ephemeral-containers-target-pod":
      """
      name: quitter
      image: busybox:1.36
      command: ["sh", "-c", "echo ran; exit 3"]
      """
    Then field "status.ephemeralContainerStatuses[name=quitter].state.terminated.exitCode" of pod "ephemeral-containers-target-pod" is "3"
    And field "status.ephemeralContainerStatuses[name=quitter].restartCount" of pod "ephemeral-containers-target-pod" is "0"
    And field "status.ephemeralContainerStatuses[name=quitter].lastState.terminated" of pod "ephemeral-containers-target-pod" is absent
    And the log of container "quitter" of pod "ephemeral-containers-target-pod" is:
      """
      ran
      """
    And field "status.phase" of pod "ephemeral-containers-target-pod" is "Running"
    And field "status.containerStatuses[name=test-container-1].state.running" of pod "ephemeral-containers-target-pod" is set
