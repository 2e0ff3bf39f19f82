@probes @conformance
Feature: Probes tell the kubelet whether a container is alive, ready and started
  # "livenessProbe: Indicates whether the container is running. If the liveness probe fails, the
  # kubelet kills the container, and the container is subjected to its restart policy.
  # readinessProbe: Indicates whether the container is ready to respond to requests. [...]
  # startupProbe: Indicates whether the application within the container is started. All other
  # probes are disabled if a startup probe is provided, until it succeeds."
  #   kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-probes
  # The kubelet's code: pkg/kubelet/prober (worker.go: initialDelaySeconds, periodSeconds,
  # successThreshold, failureThreshold); pkg/probe/{exec,http,tcp,grpc}.
  #
  # Shortened: the e2e tests wait 15 s of initialDelaySeconds and watch for 4 minutes
  # (defaultObservationTimeout) with the default periodSeconds of 10 s. These scenarios use
  # periods of 1 s, delays of 1 to 5 s and watch for 8 s at most: the same rules, in seconds.
  # What must still wait long (the kubelet's own restart back-off) is tagged @slow.
  # The server is podspec-agent's http-serve: it answers 200, but 500 on /healthz once the file
  # it is given exists (as agnhost's liveness server turns to errors after 10 s).

  # e2e: test/e2e/common/node/container_probe.go, "with readiness probe should not be ready before
  # initial delay and never restart": ready, the Ready condition's transition at least
  # initialDelaySeconds after the container started, restart count 0.
  # conformance: [sig-node] Probing container with readiness probe should not be ready before initial delay and never restart [NodeConformance] [Conformance]
  Scenario: A readiness probe with an initial delay makes the pod ready only after it, and never restarts it
    Given a running pod "ready-late":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: ready-late
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-webserver
          image: busybox:1.36
          command: ["podspec-agent", "http-serve", "80", "/tmp/unhealthy"]
          readinessProbe:
            httpGet: {path: /, port: 80}
            initialDelaySeconds: 5
            periodSeconds: 1
      """
    Then field "status.conditions[type=Ready].status" of pod "ready-late" stays "False" for 2 seconds
    And field "status.conditions[type=Ready].status" of pod "ready-late" is "True"
    And field "status.containerStatuses[name=test-webserver].ready" of pod "ready-late" is "true"
    And field "status.conditions[type=Ready].lastTransitionTime" of pod "ready-late" is at least 5 seconds after its field "status.containerStatuses[name=test-webserver].state.running.startedAt"
    And field "status.containerStatuses[name=test-webserver].restartCount" of pod "ready-late" is "0"

  # e2e: "with readiness probe that fails should never be ready and never restart": not ready for
  # a whole minute (here 8 s), then not running-and-ready, restart count 0.
  # conformance: [sig-node] Probing container with readiness probe that fails should never be ready and never restart [NodeConformance] [Conformance]
  Scenario: A pod whose readiness probe fails is never ready and is never restarted
    Given a running pod "never-ready":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: never-ready
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-webserver
          image: busybox:1.36
          command: ["sleep", "600"]
          readinessProbe:
            exec:
              command: ["/bin/false"]
            periodSeconds: 1
      """
    Then field "status.conditions[type=Ready].status" of pod "never-ready" stays "False" for 8 seconds
    And field "status.containerStatuses[name=test-webserver].ready" of pod "never-ready" is "false"
    And container "test-webserver" of pod "never-ready" is running with restart count 0

  # e2e: "should be restarted with a exec "cat /tmp/health" liveness probe": the container
  # removes /tmp/health after 10 s (here 3 s); the restart count reaches 1.
  # conformance: [sig-node] Probing container should be restarted with a exec "cat /tmp/health" liveness probe [NodeConformance] [Conformance]
  Scenario: A failing exec liveness probe restarts the container
    Given a running pod "liveness-exec":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: liveness-exec
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox
          image: busybox:1.36
          command: ["/bin/sh", "-c", "echo ok >/tmp/health; sleep 3; rm -rf /tmp/health; sleep 600"]
          livenessProbe:
            exec:
              command: ["cat", "/tmp/health"]
            initialDelaySeconds: 1
            periodSeconds: 1
            timeoutSeconds: 5
            failureThreshold: 1
      """
    Then container "busybox" of pod "liveness-exec" is running with restart count 1

  # e2e: "should *not* be restarted with a exec "cat /tmp/health" liveness probe": the file stays;
  # the restart count stays 0 for 4 minutes (here 8 s).
  # conformance: [sig-node] Probing container should *not* be restarted with a exec "cat /tmp/health" liveness probe [NodeConformance] [Conformance]
  Scenario: A passing exec liveness probe leaves the container running
    Given a running pod "alive-exec":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: alive-exec
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox
          image: busybox:1.36
          command: ["/bin/sh", "-c", "echo ok >/tmp/health; sleep 600"]
          livenessProbe:
            exec:
              command: ["cat", "/tmp/health"]
            initialDelaySeconds: 1
            periodSeconds: 1
            timeoutSeconds: 5
            failureThreshold: 1
      """
    Then container "busybox" of pod "alive-exec" keeps restart count 0 for 8 seconds

  # e2e: "should be restarted with a /healthz http liveness probe": /healthz turns to errors after
  # 10 s (here 3 s); the restart count reaches 1.
  # conformance: [sig-node] Probing container should be restarted with a /healthz http liveness probe [NodeConformance] [Conformance]
  Scenario: A failing httpGet liveness probe restarts the container
    Given a running pod "liveness-http":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: liveness-http
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["/bin/sh", "-c", "podspec-agent http-serve 8080 /tmp/unhealthy & sleep 3; touch /tmp/unhealthy; wait"]
          livenessProbe:
            httpGet: {path: /healthz, port: 8080}
            initialDelaySeconds: 1
            periodSeconds: 1
            failureThreshold: 1
      """
    Then container "agnhost-container" of pod "liveness-http" is running with restart count 1

  # e2e: "should *not* be restarted with a /healthz http liveness probe": a web server answering
  # "/" on port 80; failureThreshold 5; the restart count stays 0 (4 minutes, here 8 s).
  # conformance: [sig-node] Probing container should *not* be restarted with a /healthz http liveness probe [NodeConformance] [Conformance]
  Scenario: A passing httpGet liveness probe leaves the container running
    Given a running pod "alive-http":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: alive-http
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-webserver
          image: busybox:1.36
          command: ["podspec-agent", "http-serve", "80", "/tmp/unhealthy"]
          livenessProbe:
            httpGet: {path: /, port: 80}
            initialDelaySeconds: 1
            periodSeconds: 1
            timeoutSeconds: 5
            failureThreshold: 5
      """
    Then container "test-webserver" of pod "alive-http" keeps restart count 0 for 8 seconds
    And the log of container "test-webserver" of pod "alive-http" has the lines:
      """
      GET / HTTP/1.1
      User-Agent: kube-probe/1.32
      """

  # e2e: "should *not* be restarted with a tcp:8080 liveness probe": the server's HTTP answers turn
  # to errors after 10 s (here 3 s) but its socket stays open: a tcpSocket probe only connects.
  # conformance: [sig-node] Probing container should *not* be restarted with a tcp:8080 liveness probe [NodeConformance] [Conformance]
  Scenario: A tcpSocket liveness probe passes while the port accepts connections
    Given a running pod "alive-tcp":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: alive-tcp
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["/bin/sh", "-c", "podspec-agent http-serve 8080 /tmp/unhealthy & sleep 3; touch /tmp/unhealthy; wait"]
          livenessProbe:
            tcpSocket: {port: 8080}
            initialDelaySeconds: 1
            periodSeconds: 1
            failureThreshold: 1
      """
    Then container "agnhost-container" of pod "alive-tcp" keeps restart count 0 for 8 seconds

  # e2e: "should have monotonically increasing restart count": restarts counted up to 5, each
  # higher than the last. Here up to 3: the kubelet's back-off (10 s, then 20 s, ...) is kept,
  # so 5 restarts would take over two minutes.
  # conformance: [sig-node] Probing container should have monotonically increasing restart count [NodeConformance] [Conformance]
  @slow
  Scenario: A container that keeps failing its liveness probe is restarted again and again
    Given a running pod "liveness-again":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: liveness-again
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["/bin/sh", "-c", "podspec-agent http-serve 8080 /tmp/unhealthy & sleep 2; touch /tmp/unhealthy; wait"]
          livenessProbe:
            httpGet: {path: /healthz, port: 8080}
            initialDelaySeconds: 1
            periodSeconds: 1
            failureThreshold: 1
      """
    Then container "agnhost-container" of pod "liveness-again" is running with restart count 1
    And container "agnhost-container" of pod "liveness-again" is running with restart count 2
    And container "agnhost-container" of pod "liveness-again" is running with restart count 3

  # e2e: "should *not* be restarted with a GRPC liveness probe": a gRPC health server on port 5000
  # (agnhost grpc-health-checking; here podspec-grpc-health, the standard grpc.health.v1 service),
  # a probe on that port with no service name, timeoutSeconds 5, failureThreshold 1: the restart
  # count stays 0 (4 minutes, here 8 s; initialDelaySeconds 15, here 1).
  # conformance: [sig-node] Probing container should *not* be restarted with a GRPC liveness probe [NodeConformance] [Conformance]
  Scenario: A passing gRPC liveness probe leaves the container running
    Given a running pod "alive-grpc":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: alive-grpc
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: etcd
          image: busybox:1.36
          command: ["podspec-grpc-health", "5000"]
          livenessProbe:
            grpc: {port: 5000}
            initialDelaySeconds: 1
            periodSeconds: 1
            timeoutSeconds: 5
            failureThreshold: 1
      """
    Then container "etcd" of pod "alive-grpc" keeps restart count 0 for 8 seconds
    And the log of container "etcd" of pod "alive-grpc" has the lines:
      """
      check service=""
      """

  # e2e: "should be restarted with a GRPC liveness probe": the same server, but the probe asks port
  # 2333, where nothing listens: the probe fails and the restart count reaches 1 (initialDelaySeconds
  # 60, here 1).
  # conformance: [sig-node] Probing container should be restarted with a GRPC liveness probe [NodeConformance] [Conformance]
  Scenario: A gRPC liveness probe on a port nothing listens on restarts the container
    Given a running pod "liveness-grpc":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: liveness-grpc
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: etcd
          image: busybox:1.36
          command: ["podspec-grpc-health", "5000"]
          livenessProbe:
            grpc: {port: 2333}
            initialDelaySeconds: 1
            periodSeconds: 1
            timeoutSeconds: 5
            failureThreshold: 1
      """
    Then container "etcd" of pod "liveness-grpc" is running with restart count 1

  # pkg/probe/grpc: only SERVING passes; "service unhealthy (responded with "NOT_SERVING")" fails.
  Scenario: A gRPC liveness probe fails once the service answers NOT_SERVING
    Given a running pod "grpc-not-serving":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: grpc-not-serving
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-grpc-health", "5000", "--not-serving-file", "/tmp/not-serving"]
          livenessProbe:
            grpc: {port: 5000}
            periodSeconds: 1
            failureThreshold: 2
      """
    Then container "server" of pod "grpc-not-serving" keeps restart count 0 for 3 seconds
    When I run "touch /tmp/not-serving" in container "server" of pod "grpc-not-serving"
    Then container "server" of pod "grpc-not-serving" is running with restart count 1

  # The probe's service is sent in the request; a name the server does not know is NOT_FOUND, and
  # a readiness probe only makes the pod unready.
  Scenario: A gRPC readiness probe asks for its service: ready for a known one, never for an unknown one
    Given a running pod "grpc-services":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: grpc-services
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: known
          image: busybox:1.36
          command: ["podspec-grpc-health", "5000", "--service", "podspec.Known"]
          readinessProbe:
            grpc: {port: 5000, service: podspec.Known}
            periodSeconds: 1
        - name: unknown
          image: busybox:1.36
          command: ["podspec-grpc-health", "5001"]
          readinessProbe:
            grpc: {port: 5001, service: podspec.Unknown}
            periodSeconds: 1
      """
    Then field "status.containerStatuses[name=known].ready" of pod "grpc-services" is "true"
    And field "status.containerStatuses[name=unknown].ready" of pod "grpc-services" stays "false" for 3 seconds
    And field "status.conditions[type=Ready].status" of pod "grpc-services" is "False"
    And the log of container "known" of pod "grpc-services" has the lines:
      """
      check service="podspec.Known"
      """
    And container "unknown" of pod "grpc-services" is running with restart count 0

  # timeoutSeconds bounds the health RPC: a server that never answers fails the probe ("timeout:
  # health rpc did not complete within 1s").
  Scenario: A gRPC readiness probe whose server does not answer in time fails
    Given a running pod "grpc-hang":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: grpc-hang
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-grpc-health", "5000", "--hang-file", "/tmp/hang"]
          readinessProbe:
            grpc: {port: 5000}
            periodSeconds: 1
            timeoutSeconds: 1
            failureThreshold: 1
      """
    Then field "status.conditions[type=Ready].status" of pod "grpc-hang" is "True"
    When I run "touch /tmp/hang" in container "server" of pod "grpc-hang"
    Then field "status.conditions[type=Ready].status" of pod "grpc-hang" is "False"
    And container "server" of pod "grpc-hang" is running with restart count 0

  # e2e: "should be restarted with an exec liveness probe with timeout": an exec probe that
  # outlives timeoutSeconds fails.
  Scenario: An exec liveness probe that outlives its timeout fails and restarts the container
    Given a running pod "liveness-timeout":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: liveness-timeout
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox
          image: busybox:1.36
          command: ["/bin/sh", "-c", "sleep 600"]
          livenessProbe:
            exec:
              command: ["/bin/sh", "-c", "sleep 10"]
            initialDelaySeconds: 1
            periodSeconds: 1
            timeoutSeconds: 1
            failureThreshold: 1
      """
    Then container "busybox" of pod "liveness-timeout" is running with restart count 1

  # e2e: "should not be ready with an exec readiness probe timeout".
  Scenario: An exec readiness probe that outlives its timeout keeps the pod unready
    Given a running pod "readiness-timeout":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: readiness-timeout
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox
          image: busybox:1.36
          command: ["/bin/sh", "-c", "sleep 600"]
          readinessProbe:
            exec:
              command: ["/bin/sh", "-c", "sleep 10"]
            periodSeconds: 1
            timeoutSeconds: 1
            failureThreshold: 1
      """
    Then field "status.conditions[type=Ready].status" of pod "readiness-timeout" stays "False" for 5 seconds
    And container "busybox" of pod "readiness-timeout" is running with restart count 0

  # e2e: "should be restarted startup probe fails": a startup probe that keeps failing restarts
  # the container, whatever the liveness probe says; until it succeeds the container is not
  # started.
  Scenario: A failing startup probe restarts the container
    Given a running pod "startup-fails":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: startup-fails
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox
          image: busybox:1.36
          command: ["/bin/sh", "-c", "sleep 600"]
          livenessProbe:
            exec:
              command: ["/bin/true"]
            periodSeconds: 1
            failureThreshold: 1
          startupProbe:
            exec:
              command: ["/bin/false"]
            periodSeconds: 1
            failureThreshold: 3
      """
    Then field "status.containerStatuses[name=busybox].started" of pod "startup-fails" is "false"
    And container "busybox" of pod "startup-fails" is running with restart count 1

  # e2e: "should *not* be restarted by liveness probe because startup probe delays it": a failing
  # liveness probe does not run while the startup probe has not succeeded.
  Scenario: A startup probe holds the liveness probe off until it succeeds
    Given a running pod "startup-holds":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: startup-holds
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox
          image: busybox:1.36
          command: ["/bin/sh", "-c", "sleep 600"]
          livenessProbe:
            exec:
              command: ["/bin/false"]
            periodSeconds: 1
            failureThreshold: 1
          startupProbe:
            exec:
              command: ["cat", "/tmp/started"]
            periodSeconds: 1
            failureThreshold: 60
      """
    Then container "busybox" of pod "startup-holds" keeps restart count 0 for 5 seconds
    And field "status.containerStatuses[name=busybox].started" of pod "startup-holds" is "false"
    When I run "touch /tmp/started" in container "busybox" of pod "startup-holds"
    Then field "status.containerStatuses[name=busybox].restartCount" of pod "startup-holds" is at least 1

  # httpGet by a named port, with headers: the request the kubelet sends from the node. A
  # readiness probe that starts failing makes the pod unready and never restarts it.
  Scenario: A readiness probe follows the server: ready while it answers, unready once it fails
    Given a running pod "readiness-http":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: readiness-http
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: web
          image: busybox:1.36
          command: ["podspec-agent", "http-serve", "8080", "/tmp/unhealthy"]
          ports:
          - {name: http, containerPort: 8080}
          readinessProbe:
            httpGet:
              path: /healthz/ready
              port: http
              httpHeaders:
              - {name: X-Probe, value: readiness}
            periodSeconds: 1
            failureThreshold: 2
      """
    Then field "status.conditions[type=Ready].status" of pod "readiness-http" is "True"
    And the log of container "web" of pod "readiness-http" has the lines:
      """
      GET /healthz/ready HTTP/1.1
      X-Probe: readiness
      User-Agent: kube-probe/1.32
      """
    When I run "touch /tmp/unhealthy" in container "web" of pod "readiness-http"
    Then field "status.conditions[type=Ready].status" of pod "readiness-http" is "False"
    And field "status.conditions[type=ContainersReady].status" of pod "readiness-http" is "False"
    And container "web" of pod "readiness-http" keeps restart count 0 for 3 seconds

  # tcpSocket: a port that no longer accepts connections fails the probe.
  Scenario: A tcpSocket liveness probe fails once the listener closes, and the container restarts
    Given a running pod "liveness-tcp":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: liveness-tcp
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-agent", "listen", "8080", "/tmp/close"]
          livenessProbe:
            tcpSocket: {port: 8080}
            periodSeconds: 1
            failureThreshold: 2
      """
    Then container "server" of pod "liveness-tcp" keeps restart count 0 for 3 seconds
    When I run "touch /tmp/close" in container "server" of pod "liveness-tcp"
    Then container "server" of pod "liveness-tcp" is running with restart count 1

  # "the container is subjected to its restart policy": with Never, a container the liveness
  # probe killed stays terminated and the pod fails.
  Scenario: A container killed for its liveness probe under restartPolicy Never is not restarted
    Given a pod "liveness-never":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: liveness-never
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox
          image: busybox:1.36
          command: ["sleep", "600"]
          livenessProbe:
            exec:
              command: ["/bin/false"]
            periodSeconds: 1
            failureThreshold: 1
      """
    Then pod "liveness-never" is in phase "Failed"
    And field "status.containerStatuses[name=busybox].state.terminated.exitCode" of pod "liveness-never" is "137"
    And field "status.containerStatuses[name=busybox].restartCount" of pod "liveness-never" is "0"

  # The probe's terminationGracePeriodSeconds replaces the pod's when the probe kills the
  # container: one that ignores SIGTERM is killed (137) a second later, not after the pod's 10 s
  # (which the scenario's cleanup then waits).
  Scenario: A liveness probe's own grace period applies when it kills the container
    Given a running pod "probe-grace":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: probe-grace
      spec:
        terminationGracePeriodSeconds: 10
        containers:
        - name: stubborn
          image: busybox:1.36
          command: ["podspec-agent", "ignore-term"]
          livenessProbe:
            exec:
              command: ["/bin/false"]
            initialDelaySeconds: 1
            periodSeconds: 1
            failureThreshold: 1
            terminationGracePeriodSeconds: 1
      """
    Then field "status.containerStatuses[name=stubborn].restartCount" of pod "probe-grace" is at least 1
    And field "status.containerStatuses[name=stubborn].lastState.terminated.exitCode" of pod "probe-grace" is "137"
    And field "status.containerStatuses[name=stubborn].lastState.terminated.finishedAt" of pod "probe-grace" is at most 5 seconds after its field "status.containerStatuses[name=stubborn].lastState.terminated.startedAt"

  # "Readiness gates: your application can inject extra feedback or signals into PodStatus [...]
  # the kubelet evaluates [...] a Pod is ready only when all of its containers are ready and all
  # conditions specified in readinessGates are True."
  #   kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-readiness-gate
  # e2e: test/e2e/common/node/pods.go, "should support pod readiness gates" [NodeConformance]: two
  # gates; not ready at first; still not ready (after 10 s, here 3 s) with only the first condition
  # True; ready once both are; unready again once the first is False. The conditions are written
  # with strategic merge patches of the status subresource, merged by type.
  @api-server
  Scenario: A pod with readiness gates is ready only while every gate's condition is True
    Given a running pod "pod-ready":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-ready
        labels: {test: pod-readiness-gate}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: pod-readiness-gate
          image: busybox:1.36
          command: ["/bin/sh", "-c", "echo container is alive; sleep 10000"]
        readinessGates:
        - conditionType: k8s.io/test-condition1
        - conditionType: k8s.io/test-condition2
      """
    Then field "status.conditions[type=ContainersReady].status" of pod "pod-ready" is "True"
    And field "status.conditions[type=Ready].status" of pod "pod-ready" is "False"
    And field "status.conditions[type=Ready].reason" of pod "pod-ready" is "ReadinessGatesNotReady"
    When I set condition "k8s.io/test-condition1" of pod "pod-ready" to "True" through its status
    Then field "status.conditions[type=Ready].status" of pod "pod-ready" stays "False" for 3 seconds
    And field "status.conditions[type=Ready].message" of pod "pod-ready" contains "corresponding condition of pod readiness gate"
    And field "status.conditions[type=Ready].message" of pod "pod-ready" contains "k8s.io/test-condition2"
    When I set condition "k8s.io/test-condition2" of pod "pod-ready" to "True" through its status
    Then field "status.conditions[type=Ready].status" of pod "pod-ready" is "True"
    And field "status.conditions[type=k8s.io/test-condition1].status" of pod "pod-ready" is "True"
    When I set condition "k8s.io/test-condition1" of pod "pod-ready" to "False" through its status
    Then field "status.conditions[type=Ready].status" of pod "pod-ready" is "False"
    And field "status.conditions[type=Ready].message" of pod "pod-ready" contains "k8s.io/test-condition1"
    And field "status.conditions[type=Ready].message" of pod "pod-ready" contains "is not"
    And field "status.conditions[type=Ready].message" of pod "pod-ready" contains "but False"

  # validation.go: "must be 1" for liveness and startup successThreshold; "must not be set for
  # readinessProbes" for a readiness probe's terminationGracePeriodSeconds; a gRPC probe's port
  # in 1 to 65535 (validateGRPCAction).
  @api-server
  Scenario: The API refuses probe fields Kubernetes refuses, with its texts
    When creating pod "bad-probes" is refused with code 422 and reason "Invalid":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: bad-probes
      spec:
        containers:
        - name: app
          image: busybox:1.36
          livenessProbe:
            exec: {command: ["true"]}
            successThreshold: 2
          readinessProbe:
            exec: {command: ["true"]}
            terminationGracePeriodSeconds: 5
          startupProbe:
            grpc: {port: 0}
      """
    Then the error message contains "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"
    And the error message contains "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes"
    And the error message contains "spec.containers[0].startupProbe.grpc.port: Invalid value: 0: must be between 1 and 65535, inclusive"

  # e2e: container_probe.go, "should mark readiness on pods to false and disable liveness probes
  # while pod is in progress of terminating" (not [Conformance]): once the pod is deleted, the
  # container's SIGTERM handler removes the files both probes read and runs on for 20 s (here
  # 15 s, long enough for the checks below on a loaded machine) of its 30 s grace period; the pod turns unready while it terminates, and no liveness
  # failure is seen. The kubelet keeps probing readiness during termination but stops liveness
  # and startup probes (pkg/kubelet/prober/worker.go doProbe: "Pod deletion requested").
  # Here the liveness probe has a grace period of its own, 1 s: had it failed, the container
  # would have been killed (137) at once instead of ending on its own after 15 s. Both probes
  # wait 5 s, as the e2e test's do, so that the first look comes after the script made the
  # files (without the wait, a liveness probe run before `touch` restarted the container).
  @api-server
  Scenario: While a pod terminates its readiness probe goes on and its liveness probe stops
    Given a running pod "probe-terminating":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: probe-terminating
      spec:
        terminationGracePeriodSeconds: 30
        containers:
        - name: app
          image: busybox:1.36
          command: ["/bin/sh", "-c", "trap 'rm -f /tmp/ready /tmp/liveness; sleep 15; exit 0' TERM; touch /tmp/ready /tmp/liveness; while true; do sleep 1; done"]
          readinessProbe:
            exec:
              command: ["cat", "/tmp/ready"]
            initialDelaySeconds: 5
            periodSeconds: 2
            failureThreshold: 1
          livenessProbe:
            exec:
              command: ["cat", "/tmp/liveness"]
            initialDelaySeconds: 5
            periodSeconds: 1
            failureThreshold: 1
            terminationGracePeriodSeconds: 1
      """
    Then field "status.conditions[type=Ready].status" of pod "probe-terminating" is "True"
    When I start deleting pod "probe-terminating" with a grace period of 30 seconds
    Then field "status.conditions[type=Ready].status" of pod "probe-terminating" is "False"
    And field "metadata.deletionGracePeriodSeconds" of pod "probe-terminating" is "30"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "probe-terminating" stays "(absent)" for 4 seconds
    And field "status.containerStatuses[name=app].restartCount" of pod "probe-terminating" is "0"
    And pod "probe-terminating" is gone within 30 seconds

  # Sidecars: "Probing restartable init container" in container_probe.go
  # ([NodeFeature:SidecarContainers], not [Conformance]): a sidecar's readiness probe that fails
  # keeps the pod unready and never restarts it ("with readiness probe that fails should never be
  # ready and never restart"); a sidecar counts in ContainersReady and Ready as the app containers
  # do (pkg/kubelet/status GenerateContainersReadyCondition).
  Scenario: A sidecar's readiness probe drives its ready and the pod's
    Given a running pod "sidecar-ready":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sidecar-ready
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: sidecar
          image: busybox:1.36
          restartPolicy: Always
          command: ["sleep", "600"]
          readinessProbe:
            exec:
              command: ["cat", "/tmp/ready"]
            periodSeconds: 1
            failureThreshold: 1
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "600"]
      """
    Then field "status.containerStatuses[name=main].ready" of pod "sidecar-ready" is "true"
    And field "status.conditions[type=Ready].status" of pod "sidecar-ready" stays "False" for 3 seconds
    And field "status.initContainerStatuses[name=sidecar].ready" of pod "sidecar-ready" is "false"
    And field "status.conditions[type=ContainersReady].status" of pod "sidecar-ready" is "False"
    And field "status.conditions[type=Ready].message" of pod "sidecar-ready" contains "sidecar"
    When I run "touch /tmp/ready" in container "sidecar" of pod "sidecar-ready"
    Then field "status.initContainerStatuses[name=sidecar].ready" of pod "sidecar-ready" is "true"
    And field "status.conditions[type=Ready].status" of pod "sidecar-ready" is "True"
    And container "sidecar" of pod "sidecar-ready" is running with restart count 0

  # "should be restarted with a exec "cat /tmp/health" liveness probe" on a sidecar: the sidecar
  # removes /tmp/health after 10 s (here 3 s) and its restart count reaches 1
  # (RunSidecarLivenessTest counts the sidecar's restarts); the app container runs on.
  Scenario: A sidecar's failing liveness probe restarts the sidecar, and the app runs on
    Given a running pod "sidecar-liveness":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sidecar-liveness
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: sidecar
          image: busybox:1.36
          restartPolicy: Always
          command: ["/bin/sh", "-c", "echo ok >/tmp/health; sleep 3; rm -f /tmp/health; sleep 600"]
          livenessProbe:
            exec:
              command: ["cat", "/tmp/health"]
            initialDelaySeconds: 1
            periodSeconds: 1
            failureThreshold: 1
        containers:
        - name: main
          image: busybox:1.36
          command: ["sleep", "600"]
      """
    Then container "sidecar" of pod "sidecar-liveness" is running with restart count 1
    And container "main" of pod "sidecar-liveness" is running with restart count 0
    And pod "sidecar-liveness" is in phase "Running"
