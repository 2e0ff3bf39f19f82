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

  # e2e: test/e2e/common/node/runtime.go, "on terminated container should report termination
  # message if TerminationMessagePath is set as non-root user and at a non-default path": uid
  # 10000 writes DONE to /dev/termination-custom-log; the pod Succeeds, the container is
  # terminated and its message is DONE.
  # conformance: [sig-node] Container Runtime blackbox test on terminated container should report termination message if TerminationMessagePath is set as non-root user and at a non-default path [NodeConformance] [Conformance]
  @conformance
  Scenario: A non-root container's message at a path of its choosing under /dev is read
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: custom-path
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: termination-message-container
          image: busybox:1.36
          command: ["/bin/sh", "-c"]
          args: ["/bin/echo -n DONE > /dev/termination-custom-log"]
          terminationMessagePath: /dev/termination-custom-log
          securityContext:
            runAsUser: 10000
      """
    Then pod "custom-path" is in phase "Succeeded"
    And field "status.containerStatuses[name=termination-message-container].state.terminated.exitCode" of pod "custom-path" is "0"
    And field "status.containerStatuses[name=termination-message-container].state.terminated.message" of pod "custom-path" is "DONE"

  # e2e: runtime.go, "should report termination message from file when pod succeeds and
  # TerminationMessagePolicy FallbackToLogsOnError is set": the file wins over the log (DONE)
  # when there is a file; the pod Succeeds and the message is OK.
  # conformance: [sig-node] Container Runtime blackbox test on terminated container should report termination message from file when pod succeeds and TerminationMessagePolicy FallbackToLogsOnError is set [NodeConformance] [Conformance]
  @conformance
  Scenario: With FallbackToLogsOnError a container that succeeds and wrote the file has the file's message
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: from-file
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: termination-message-container
          image: busybox:1.36
          command: ["/bin/sh", "-c"]
          args: ["/bin/echo -n OK > /dev/termination-log; /bin/echo DONE; /bin/true"]
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: FallbackToLogsOnError
      """
    Then pod "from-file" is in phase "Succeeded"
    And field "status.containerStatuses[name=termination-message-container].state.terminated.exitCode" of pod "from-file" is "0"
    And field "status.containerStatuses[name=termination-message-container].state.terminated.message" of pod "from-file" is "OK"
