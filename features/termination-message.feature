@termination-message
Feature: A container's termination message reaches its status
  # "Termination messages provide a way for containers to write information about fatal events
  # to a location where it can be easily retrieved ... The termination message is set to the
  # contents of the file /dev/termination-log by default ... you can set the
  # terminationMessagePolicy field of a Container ... to FallbackToLogsOnError, [then] you can
  # tell Kubernetes to use the last chunk of container log output if the termination message
  # file is empty and the container exited with an error."
  #   kubernetes.io/docs/tasks/debug/debug-application/determine-reason-pod-failure/

  # e2e: test/e2e/common/node/runtime.go, "Container Runtime blackbox test on terminated
  # container should report termination message if TerminationMessagePath is set".
  Scenario: What a container writes to /dev/termination-log is its terminated state's message
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: says-why
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "echo -n DONE > /dev/termination-log"]
      """
    Then pod "says-why" is in phase "Succeeded"
    And field "status.containerStatuses[name=app].state.terminated.message" of pod "says-why" is "DONE"

  # e2e: runtime.go, the same with a terminationMessagePath of the container's own choosing.
  Scenario: A termination message path of the container's choosing is read the same way
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: own-path
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "echo -n OWN > /tmp/why; exit 2"]
          terminationMessagePath: /tmp/why
      """
    Then pod "own-path" is in phase "Failed"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "own-path" is "2"
    And field "status.containerStatuses[name=app].state.terminated.message" of pod "own-path" is "OWN"

  # e2e: runtime.go, "should report termination message from log output if
  # TerminationMessagePolicy FallbackToLogsOnError is set".
  # conformance: [sig-node] Container Runtime blackbox test on terminated container should report termination message from log output if TerminationMessagePolicy FallbackToLogsOnError is set [NodeConformance] [Conformance]
  @conformance
  Scenario: With FallbackToLogsOnError a failed container's message is the end of its log
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: from-log
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "echo -n DONE; exit 1"]
          terminationMessagePolicy: FallbackToLogsOnError
      """
    Then pod "from-log" is in phase "Failed"
    And field "status.containerStatuses[name=app].state.terminated.message" of pod "from-log" is "DONE"

  # e2e: runtime.go, "should report termination message as empty when pod succeeds and
  # TerminationMessagePolicy FallbackToLogsOnError is set".
  # conformance: [sig-node] Container Runtime blackbox test on terminated container should report termination message as empty when pod succeeds and TerminationMessagePolicy FallbackToLogsOnError is set [NodeConformance] [Conformance]
  @conformance
  Scenario: With FallbackToLogsOnError a container that succeeds has no message
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: quiet
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "echo -n DONE"]
          terminationMessagePolicy: FallbackToLogsOnError
      """
    Then pod "quiet" is in phase "Succeeded"
    And field "status.containerStatuses[name=app].state.terminated.reason" of pod "quiet" is "Completed"
    And field "status.containerStatuses[name=app].state.terminated.message" of pod "quiet" is absent
