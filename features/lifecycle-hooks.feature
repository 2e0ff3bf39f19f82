@lifecycle-hooks @conformance
Feature: Lifecycle hooks run at a container's start and before its stop, within its grace period
  # "PostStart: This hook is executed immediately after a container is created. [...] PreStop:
  # This hook is called immediately before a container is terminated due to an API request or
  # management event such as a liveness/startup probe failure [...]. If a PostStart hook fails,
  # it kills the Container." "the PreStop hook [...] must complete its execution before the TERM
  # signal to stop the container can be sent. The Pod's termination grace period countdown begins
  # before the PreStop hook is executed".
  #   kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/
  # "the kubelet [...] sends a TERM signal to process 1 inside each container [...] Once the grace
  # period has expired, the KILL signal is sent to any remaining processes".
  #   kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination
  # The kubelet's code: pkg/kubelet/lifecycle/handlers.go; kuberuntime_container.go (startContainer
  # runs postStart, killContainer runs preStop with the grace period, at least 2 s left after it).
  #
  # The handler is podspec-agent's http-serve: it prints every request it gets (its request line,
  # headers, and body) on its log, as agnhost netexec does. The e2e tests' handler is reached
  # through a `dial` proxy in the hook pod's sidecar; here the hook names the handler pod's IP.

  # e2e: test/e2e/common/node/lifecycle_hook.go, "should execute poststart exec hook properly":
  # the handler pod logs "GET /echo?msg=poststart"; the hooked pod is then deleted.
  # conformance: [sig-node] Container Lifecycle Hook when create a pod with lifecycle hook should execute poststart exec hook properly [NodeConformance] [Conformance]
  Scenario: A postStart exec hook runs when the container starts
    Given a running pod "pod-handle-http-request":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-handle-http-request
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: container-handle-http-request
          image: busybox:1.36
          command: ["podspec-agent", "http-serve", "8080", "/tmp/unhealthy"]
      """
    And a running pod "pod-with-poststart-exec-hook":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-with-poststart-exec-hook
      spec:
        terminationGracePeriodSeconds: 15
        containers:
        - name: pod-with-poststart-exec-hook
          image: busybox:1.36
          command: ["podspec-agent", "main"]
          lifecycle:
            postStart:
              exec:
                command: ["sh", "-c", "wget -q -O- 'http://{{ip:pod-handle-http-request}}:8080/echo?msg=poststart'"]
      """
    Then the log of container "container-handle-http-request" of pod "pod-handle-http-request" has the lines:
      """
      GET /echo?msg=poststart HTTP/1.1
      """
    And deleting pod "pod-with-poststart-exec-hook" takes between 0 and 15 seconds

  # e2e: "should execute prestop exec hook properly": once the hooked pod is deleted, the handler
  # pod logs "GET /echo?msg=prestop".
  # conformance: [sig-node] Container Lifecycle Hook when create a pod with lifecycle hook should execute prestop exec hook properly [NodeConformance] [Conformance]
  Scenario: A preStop exec hook runs when the pod is deleted
    Given a running pod "pod-handle-http-request":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-handle-http-request
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: container-handle-http-request
          image: busybox:1.36
          command: ["podspec-agent", "http-serve", "8080", "/tmp/unhealthy"]
      """
    And a running pod "pod-with-prestop-exec-hook":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-with-prestop-exec-hook
      spec:
        terminationGracePeriodSeconds: 15
        containers:
        - name: pod-with-prestop-exec-hook
          image: busybox:1.36
          command: ["podspec-agent", "main"]
          lifecycle:
            preStop:
              exec:
                command: ["sh", "-c", "wget -q -O- 'http://{{ip:pod-handle-http-request}}:8080/echo?msg=prestop'"]
      """
    When deleting pod "pod-with-prestop-exec-hook" takes between 0 and 15 seconds
    Then the log of container "container-handle-http-request" of pod "pod-handle-http-request" has the lines:
      """
      GET /echo?msg=prestop HTTP/1.1
      """

  # e2e: "should execute poststart http hook properly": the hooked pod has a sidecar server with a
  # startup probe; the hook's httpGet goes to the pod's own IP, port 8080, and the server logs it.
  # conformance: [sig-node] Container Lifecycle Hook when create a pod with lifecycle hook should execute poststart http hook properly [NodeConformance] [Conformance]
  Scenario: A postStart httpGet hook reaches the pod's own IP when the container starts
    Given a running pod "pod-with-poststart-http-hook":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-with-poststart-http-hook
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: container-redirect
          image: busybox:1.36
          restartPolicy: Always
          command: ["podspec-agent", "http-serve", "8080", "/tmp/unhealthy"]
          startupProbe:
            httpGet: {path: "/echo?msg=startup", port: 8080}
            periodSeconds: 1
        containers:
        - name: pod-with-poststart-http-hook
          image: busybox:1.36
          command: ["podspec-agent", "main"]
          lifecycle:
            postStart:
              httpGet: {path: "/echo?msg=poststart", port: 8080}
      """
    Then the log of container "container-redirect" of pod "pod-with-poststart-http-hook" has the lines:
      """
      GET /echo?msg=startup HTTP/1.1
      GET /echo?msg=poststart HTTP/1.1
      """

  # e2e: "should execute prestop http hook properly": once the hooked pod is deleted, the handler
  # pod logs "GET /echo?msg=prestop".
  # conformance: [sig-node] Container Lifecycle Hook when create a pod with lifecycle hook should execute prestop http hook properly [NodeConformance] [Conformance]
  Scenario: A preStop httpGet hook runs when the pod is deleted
    Given a running pod "pod-handle-http-request":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-handle-http-request
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: container-handle-http-request
          image: busybox:1.36
          command: ["podspec-agent", "http-serve", "8080", "/tmp/unhealthy"]
      """
    And a running pod "pod-with-prestop-http-hook":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-with-prestop-http-hook
      spec:
        terminationGracePeriodSeconds: 15
        containers:
        - name: pod-with-prestop-http-hook
          image: busybox:1.36
          command: ["podspec-agent", "main"]
          lifecycle:
            preStop:
              httpGet: {host: "{{ip:pod-handle-http-request}}", path: "/echo?msg=prestop", port: 8080}
      """
    # The e2e test deletes with a grace period of 15 s and waits for the pod to go; the kubelet
    # gives SIGTERM at least 2 s after a preStop hook, so 17 s bound a delete (20 s here).
    When deleting pod "pod-with-prestop-http-hook" takes between 0 and 20 seconds
    Then the log of container "container-handle-http-request" of pod "pod-handle-http-request" has the lines:
      """
      GET /echo?msg=prestop HTTP/1.1
      """

  # e2e: test/e2e/node/pre_stop.go, "should call prestop when killing a pod": a tester pod's
  # preStop posts {"Source": "prestop"} to the server pod's /write; after the tester's delete the
  # server has received it. The tester's `sleep` ignores SIGTERM: its grace period is 5 s here
  # instead of the default 30 s, which the delete would wait.
  # conformance: [sig-node] PreStop should call prestop when killing a pod [Conformance]
  Scenario: A deleted pod's preStop hook reaches another pod before the pod is gone
    Given a running pod "server":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: server
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-agent", "http-serve", "8080", "/tmp/unhealthy"]
          ports:
          - containerPort: 8080
      """
    And a running pod "tester":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: tester
      spec:
        terminationGracePeriodSeconds: 5
        containers:
        - name: tester
          image: busybox:1.36
          command: ["sleep", "600"]
          lifecycle:
            preStop:
              exec:
                command: ["wget", "-O-", "--post-data={\"Source\": \"prestop\"}", "http://{{ip:server}}:8080/write"]
      """
    When I delete pod "tester"
    Then pod "tester" is gone
    And the log of container "server" of pod "server" has the lines:
      """
      POST /write HTTP/1.1
      body: {"Source": "prestop"}
      """

  # "If a PostStart hook fails, it kills the Container": under restartPolicy Never it stays
  # terminated (killed: 137) and the pod fails.
  Scenario: A failing postStart hook kills the container
    Given a pod "poststart-fails":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: poststart-fails
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "600"]
          lifecycle:
            postStart:
              exec:
                command: ["sh", "-c", "exit 1"]
      """
    Then pod "poststart-fails" is in phase "Failed"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "poststart-fails" is "137"
    And field "status.containerStatuses[name=app].restartCount" of pod "poststart-fails" is "0"

  # Graceful termination: SIGTERM first (a process that stops on it ends at once, well within
  # its 30 s); one that ignores it is killed once the grace period (3 s) has passed.
  Scenario: A deleted pod's containers get SIGTERM, and SIGKILL once the grace period has passed
    Given a running pod "stops-on-term":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: stops-on-term
      spec:
        terminationGracePeriodSeconds: 30
        containers:
        - name: app
          image: busybox:1.36
          command: ["podspec-agent", "main"]
      """
    And a running pod "ignores-term":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: ignores-term
      spec:
        terminationGracePeriodSeconds: 3
        containers:
        - name: app
          image: busybox:1.36
          command: ["podspec-agent", "ignore-term"]
      """
    Then deleting pod "stops-on-term" takes between 0 and 5 seconds
    And deleting pod "ignores-term" takes between 3 and 10 seconds

  # A container that ignores SIGTERM ends with 137 (SIGKILL) after the grace period: the kubelet
  # stops the pod's containers so when activeDeadlineSeconds passes, and the ended pod shows it.
  Scenario: A container that ignores SIGTERM ends with exit code 137 after the grace period
    Given a running pod "deadline-kill":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: deadline-kill
      spec:
        activeDeadlineSeconds: 2
        terminationGracePeriodSeconds: 1
        containers:
        - name: app
          image: busybox:1.36
          command: ["podspec-agent", "ignore-term"]
      """
    Then pod "deadline-kill" is in phase "Failed"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "deadline-kill" is "137"
    And field "status.containerStatuses[name=app].state.terminated.finishedAt" of pod "deadline-kill" is at most 5 seconds after its field "status.containerStatuses[name=app].state.terminated.startedAt"

  # "The Pod's termination grace period countdown begins before the PreStop hook is executed": a
  # hook that would take 30 s has the 4 s of the grace period, then the container gets the 2 s the
  # kubelet leaves at least, and is killed.
  Scenario: A preStop hook counts against the grace period
    Given a running pod "slow-prestop":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: slow-prestop
      spec:
        terminationGracePeriodSeconds: 4
        containers:
        - name: app
          image: busybox:1.36
          command: ["podspec-agent", "ignore-term"]
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "30"]
      """
    Then deleting pod "slow-prestop" takes between 4 and 10 seconds

  # A sleep handler: the container stops on SIGTERM at once, but only after the hook's 3 s; while
  # the hook runs the pod is still Running.
  Scenario: A preStop sleep hook holds the container's SIGTERM back for its seconds
    Given a running pod "sleep-prestop":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sleep-prestop
      spec:
        terminationGracePeriodSeconds: 10
        containers:
        - name: app
          image: busybox:1.36
          command: ["podspec-agent", "main"]
          lifecycle:
            preStop:
              sleep: {seconds: 3}
      """
    Then pod "sleep-prestop" stays in phase "Running" for 1 second
    And deleting pod "sleep-prestop" takes between 3 and 8 seconds

  # Delete options. "gracePeriodSeconds: The duration in seconds before the object should be
  # deleted. [...] The value zero indicates delete immediately. If this value is nil, the default
  # grace period for the specified type will be used." (metav1.DeleteOptions). kube-apiserver:
  # the delete's grace period if it gives one, else the pod's (pkg/registry/core/pod/strategy.go
  # CheckGracefulDelete); the pod is marked with deletionGracePeriodSeconds, and with a
  # deletionTimestamp that is now plus the grace period (staging/src/k8s.io/apiserver/pkg/
  # registry/rest/delete.go BeforeDelete). The kubelet gives the containers that grace period:
  # one that ignores SIGTERM is killed after the delete's 2 s, not the pod's 30 s.
  @api-server
  Scenario: A delete's grace period overrides the pod's, and the pod shows it while it terminates
    Given a running pod "delete-grace":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: delete-grace
      spec:
        terminationGracePeriodSeconds: 30
        containers:
        - name: app
          image: busybox:1.36
          command: ["podspec-agent", "ignore-term"]
      """
    When I start deleting pod "delete-grace" with a grace period of 2 seconds
    Then the request succeeds
    And field "metadata.deletionGracePeriodSeconds" of pod "delete-grace" is "2"
    And field "metadata.deletionTimestamp" of pod "delete-grace" is at least 2 seconds after its field "metadata.creationTimestamp"
    And pod "delete-grace" is gone within 15 seconds

  # deletionTimestamp is when the grace period ends, not when the delete came: with 120 s it is
  # at least 120 s after the pod was made. The container stops on SIGTERM (once its handler is
  # set, which its readiness says), and the pod goes then.
  @api-server
  Scenario: A graceful delete's deletionTimestamp is the end of its grace period
    Given a running pod "delete-timestamp":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: delete-timestamp
      spec:
        terminationGracePeriodSeconds: 30
        containers:
        - name: app
          image: busybox:1.36
          command: ["/bin/sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; while true; do sleep 1; done"]
          readinessProbe:
            exec:
              command: ["cat", "/tmp/ready"]
            periodSeconds: 1
      """
    And field "status.conditions[type=Ready].status" of pod "delete-timestamp" is "True"
    When I start deleting pod "delete-timestamp" with a grace period of 120 seconds
    Then the request succeeds
    And field "metadata.deletionGracePeriodSeconds" of pod "delete-timestamp" is "120"
    And field "metadata.deletionTimestamp" of pod "delete-timestamp" is at least 120 seconds after its field "metadata.creationTimestamp"
    And pod "delete-timestamp" is gone within 15 seconds

  # A negative grace period is not refused: "Negative values will be treated as the value `1s`
  # on the delete path" (rest.BeforeDelete; CheckGracefulDelete likewise). The pod is kept,
  # marked with 1 s, and its container that ignores SIGTERM is killed a second later.
  @api-server
  Scenario: A delete with a negative grace period is taken as 1 second
    Given a running pod "delete-negative":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: delete-negative
      spec:
        terminationGracePeriodSeconds: 30
        containers:
        - name: app
          image: busybox:1.36
          command: ["podspec-agent", "ignore-term"]
      """
    When I start deleting pod "delete-negative" with a grace period of -5 seconds
    Then the request succeeds
    And field "metadata.deletionGracePeriodSeconds" of pod "delete-negative" is "1"
    And pod "delete-negative" is gone within 15 seconds

  # `kubectl delete --force --grace-period=0` sends gracePeriodSeconds 0: the API removes the pod
  # at once, without waiting for the node to stop it ("The value zero indicates delete
  # immediately"; rest.BeforeDelete: not graceful). Its container ignores SIGTERM and has 30 s.
  @api-server
  Scenario: A forced delete with grace period 0 removes the pod from the API at once
    Given a running pod "delete-force":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: delete-force
      spec:
        terminationGracePeriodSeconds: 30
        containers:
        - name: app
          image: busybox:1.36
          command: ["podspec-agent", "ignore-term"]
      """
    When I force delete pod "delete-force"
    Then pod "delete-force" is gone within 1 seconds
