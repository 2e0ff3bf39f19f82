@lifecycle @conformance
Feature: A pod goes through its phases, and its containers restart as its restart policy says
  # "Pending: The Pod has been accepted by the Kubernetes cluster, but one or more of the
  # containers has not been set up and made ready to run. ... Running: The Pod has been bound
  # to a node, and all of the containers have been created. At least one container is still
  # running ... Succeeded: All containers in the Pod have terminated in success, and will not be
  # restarted. Failed: All containers in the Pod have terminated, and at least one container has
  # terminated in failure."
  # "The spec of a Pod has a restartPolicy field with possible values Always, OnFailure, and
  # Never. The default value is Always. ... After containers in a Pod exit, the kubelet restarts
  # them with an exponential backoff delay (10s, 20s, 40s, ...), that is capped at 300 seconds."
  #   kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/
  # The kubelet's code: pkg/kubelet/kubelet_pods.go getPhase; pkg/kubelet/status/generate.go
  # (conditions); pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff (CrashLoopBackOff).

  # pod-lifecycle/#pod-conditions: PodScheduled, Initialized, ContainersReady, Ready.
  # e2e: test/e2e/common/node/pods.go, "should get a host IP" (testHostIP: the pod runs, and its
  # status.hostIP is not empty).
  # conformance: [sig-node] Pods should get a host IP [NodeConformance] [Conformance]
  Scenario: A pod whose container runs is Running, with its conditions true
    Given a running pod "web":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then pod "web" is in phase "Running"
    And field "status.conditions[type=PodScheduled].status" of pod "web" is "True"
    And field "status.conditions[type=Initialized].status" of pod "web" is "True"
    And field "status.conditions[type=ContainersReady].status" of pod "web" is "True"
    And field "status.conditions[type=Ready].status" of pod "web" is "True"
    And field "status.containerStatuses[name=app].ready" of pod "web" is "true"
    And field "status.startTime" of pod "web" is set
    And field "status.hostIP" of pod "web" is set

  # pod-lifecycle/#pod-phase "Succeeded"; container state Terminated with reason Completed.
  # conformance: [sig-node] Container Runtime blackbox test when starting a container that exits should run with the expected status [NodeConformance] [Conformance]
  Scenario: With restartPolicy Never, a container that exits 0 makes the pod Succeeded
    Given a pod "done":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: done
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "exit 0"]
      """
    Then pod "done" is in phase "Succeeded"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "done" is "0"
    And field "status.containerStatuses[name=app].state.terminated.reason" of pod "done" is "Completed"
    And field "status.containerStatuses[name=app].restartCount" of pod "done" is "0"
    And field "status.conditions[type=Ready].reason" of pod "done" is "PodCompleted"

  # pod-lifecycle/#pod-phase "Failed"; container state Terminated with reason Error.
  # e2e: test/e2e/common/node/kubelet.go, "when scheduling a busybox command that always fails in
  # a pod": "should have an terminated reason" (one container status, terminated, a non-zero exit
  # code and a reason) and "should be possible to delete" (the failed pod's delete succeeds).
  # conformance: [sig-node] Container Runtime blackbox test when starting a container that exits should run with the expected status [NodeConformance] [Conformance]
  # conformance: [sig-node] Kubelet when scheduling a busybox command that always fails in a pod should have an terminated reason [NodeConformance] [Conformance]
  # conformance: [sig-node] Kubelet when scheduling a busybox command that always fails in a pod should be possible to delete [NodeConformance] [Conformance]
  Scenario: With restartPolicy Never, a container that exits 3 makes the pod Failed
    Given a pod "broken":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: broken
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "exit 3"]
      """
    Then pod "broken" is in phase "Failed"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "broken" is "3"
    And field "status.containerStatuses[name=app].state.terminated.reason" of pod "broken" is "Error"
    And field "status.containerStatuses[name=app].restartCount" of pod "broken" is "0"
    And field "status.containerStatuses" of pod "broken" has 1 item
    When I delete pod "broken"
    Then pod "broken" is gone

  # pod-lifecycle/#restart-policy: OnFailure restarts a failed container only; its earlier end
  # is kept as lastState.
  # conformance: [sig-node] Container Runtime blackbox test when starting a container that exits should run with the expected status [NodeConformance] [Conformance]
  Scenario: With restartPolicy OnFailure, a failed container is restarted and then succeeds
    Given a pod "retry":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: retry
      spec:
        restartPolicy: OnFailure
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "if [ -e /data/ran ]; then exit 0; fi; touch /data/ran; exit 3"]
          volumeMounts:
          - {name: data, mountPath: /data}
        volumes:
        - name: data
          emptyDir: {}
      """
    Then pod "retry" is in phase "Succeeded"
    And field "status.containerStatuses[name=app].restartCount" of pod "retry" is "1"
    And field "status.containerStatuses[name=app].lastState.terminated.exitCode" of pod "retry" is "3"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "retry" is "0"

  # pod-lifecycle/#restart-policy: Always restarts a container even when it exits 0.
  # conformance: [sig-node] Container Runtime blackbox test when starting a container that exits should run with the expected status [NodeConformance] [Conformance]
  Scenario: With restartPolicy Always, a container that exits 0 is restarted
    Given a pod "loop":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: loop
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "sleep 1; exit 0"]
      """
    Then field "status.containerStatuses[name=app].restartCount" of pod "loop" is at least 1
    And field "status.containerStatuses[name=app].lastState.terminated.reason" of pod "loop" is "Completed"
    And pod "loop" is in phase "Running"

  # pod-lifecycle/#container-restarts: the first restart is at once, the next after 10 s, then
  # 20 s ...; meanwhile the container waits in CrashLoopBackOff with the kubelet's message
  # "back-off 10s restarting failed container=<name> pod=<name>_<namespace>(<uid>)".
  # Each start of the crashing container appends the time to a shared file, which a second
  # container reads; the second restart comes at least 10 s after the first.
  Scenario: A crashing container is restarted with back-off, waiting in CrashLoopBackOff
    Given a pod "crash":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: crash
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "date +%s >> /data/starts; exit 1"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: watch
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: data, mountPath: /data}
        volumes:
        - name: data
          emptyDir: {}
      """
    Then field "status.containerStatuses[name=app].state.waiting.reason" of pod "crash" is "CrashLoopBackOff"
    And field "status.containerStatuses[name=app].state.waiting.message" of pod "crash" contains "restarting failed container=app pod=crash_{{namespace}}("
    And field "status.containerStatuses[name=app].lastState.terminated.exitCode" of pod "crash" is "1"
    And running "awk 'NR==2{a=$1} NR==3{print ($1-a>=10) ? "late enough" : "too early"}' /data/starts" in container "watch" of pod "crash" eventually prints "late enough"
    And field "status.containerStatuses[name=app].restartCount" of pod "crash" is at least 2

  # pod-lifecycle: "activeDeadlineSeconds ... the kubelet ... marks the Pod as Failed";
  # pkg/kubelet/active_deadline.go: reason DeadlineExceeded, message "Pod was active on the node
  # longer than the specified deadline".
  Scenario: A pod that outlives activeDeadlineSeconds fails with DeadlineExceeded
    Given a pod "short":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: short
      spec:
        activeDeadlineSeconds: 2
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then pod "short" is in phase "Failed"
    And field "status.reason" of pod "short" is "DeadlineExceeded"
    And field "status.message" of pod "short" is "Pod was active on the node longer than the specified deadline"
    And field "status.containerStatuses[name=app].state.terminated" of pod "short" is set

  # The deadline may be set on a running pod (pods/#pod-update-and-replacement); the kubelet
  # enforces the new value.
  # conformance: [sig-node] Pods should allow activeDeadlineSeconds to be updated [NodeConformance] [Conformance]
  @api-server
  Scenario: Setting activeDeadlineSeconds on a running pod makes it fail once the deadline passes
    Given a running pod "late":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: late
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    When I set field "spec.activeDeadlineSeconds" of pod "late" to 1
    Then the request succeeds
    And pod "late" is in phase "Failed"
    And field "status.reason" of pod "late" is "DeadlineExceeded"

  # pkg/kubelet/lifecycle/predicate.go: "Failed to admit pod as the OS field doesn't match node
  # OS", reason PodOSNotSupported; pkg/kubelet/kubelet.go rejectPod prefixes "Pod was rejected: ".
  # e2e: test/e2e/common/node/pod_admission.go, "should reject pod when the node OS doesn't match
  # pod's OS".
  Scenario: A pod for another operating system is rejected by the node
    Given a pod "windows":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: windows
      spec:
        os:
          name: windows
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then pod "windows" is in phase "Failed"
    And field "status.reason" of pod "windows" is "PodOSNotSupported"
    And field "status.message" of pod "windows" is "Pod was rejected: Failed to admit pod as the OS field doesn't match node OS"

  # pods/#pod-update-and-replacement: the image may be changed; pkg/kubelet/kuberuntime
  # computePodActions: "Restart regardless of the restart policy because the container spec
  # changed". The new instance starts from the new image, without the old one's files.
  @api-server
  Scenario: Changing the image of a running container restarts it with the new image
    Given a running pod "web":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And running "touch /tmp/old-instance" in container "app" of pod "web" succeeds
    When I set field "spec.containers[name=app].image" of pod "web" to "busybox:1.35"
    Then the request succeeds
    And container "app" of pod "web" is running with restart count 1
    And field "status.containerStatuses[name=app].image" of pod "web" contains "busybox:1.35"
    And running "test -e /tmp/old-instance && echo old || echo new" in container "app" of pod "web" prints "new"
