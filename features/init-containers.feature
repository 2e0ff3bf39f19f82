@init-containers @conformance
Feature: Init containers run one at a time, in order, before the app containers; sidecars keep running
  # "Init containers are exactly like regular containers, except: Init containers always run to
  # completion. Each init container must complete successfully before the next one starts. If a
  # Pod's init container fails, the kubelet repeatedly restarts that init container until it
  # succeeds. However, if the Pod has a restartPolicy of Never, and an init container fails
  # during startup of that Pod, Kubernetes treats the overall Pod as failed."
  #   kubernetes.io/docs/concepts/workloads/pods/init-containers/
  # "Kubernetes implements sidecar containers as a special case of init containers; sidecar
  # containers remain running after Pod startup." A sidecar is an init container with
  # restartPolicy: Always.
  #   kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
  # e2e: test/e2e/common/node/init_container.go ("should invoke init containers on a
  # RestartNever pod", "should not start app containers and fail the pod if init containers fail
  # on a RestartNever pod", "should not start app containers if init containers fail on a
  # RestartAlways pod").

  # Each init container logs its start and end to a shared volume; the second checks that the
  # first has ended before it runs, and the app container comes last.
  # conformance: [sig-node] InitContainer [NodeConformance] should invoke init containers on a RestartAlways pod [Conformance]
  Scenario: Init containers run in order, each to completion, before the app container
    Given a running pod "ordered":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: ordered
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: first
          image: busybox:1.36
          command: ["sh", "-c", "echo first-start >> /data/log; sleep 1; echo first-end >> /data/log"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: second
          image: busybox:1.36
          command: ["sh", "-c", "grep -q first-end /data/log && echo second >> /data/log"]
          volumeMounts:
          - {name: data, mountPath: /data}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "echo app >> /data/log; sleep 3600"]
          volumeMounts:
          - {name: data, mountPath: /data}
        volumes:
        - name: data
          emptyDir: {}
      """
    Then running "cat /data/log" in container "app" of pod "ordered" eventually prints:
      """
      first-start
      first-end
      second
      app
      """
    And field "status.initContainerStatuses[name=first].state.terminated.reason" of pod "ordered" is "Completed"
    And field "status.initContainerStatuses[name=second].state.terminated.exitCode" of pod "ordered" is "0"
    And field "status.conditions[type=Initialized].status" of pod "ordered" is "True"

  # pkg/kubelet/kubelet_pods.go: app containers wait with reason PodInitializing; the Initialized
  # condition is False with reason ContainersNotInitialized.
  Scenario: While an init container runs, the pod is Pending and its app container waits
    Given a pod "waiting":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: waiting
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: slow
          image: busybox:1.36
          command: ["sleep", "3600"]
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "status.initContainerStatuses[name=slow].state.running" of pod "waiting" is set
    And pod "waiting" is in phase "Pending"
    And field "status.containerStatuses[name=app].state.waiting.reason" of pod "waiting" is "PodInitializing"
    And field "status.conditions[type=Initialized].status" of pod "waiting" is "False"
    And field "status.conditions[type=Initialized].reason" of pod "waiting" is "ContainersNotInitialized"

  # init-containers: "if the Pod has a restartPolicy of Never, and an init container fails during
  # startup of that Pod, Kubernetes treats the overall Pod as failed."
  # conformance: [sig-node] InitContainer [NodeConformance] should not start app containers and fail the pod if init containers fail on a RestartNever pod [Conformance]
  Scenario: With restartPolicy Never, a failing init container fails the pod and the app never starts
    Given a pod "doomed":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: doomed
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: setup
          image: busybox:1.36
          command: ["sh", "-c", "exit 1"]
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then pod "doomed" is in phase "Failed"
    And field "status.initContainerStatuses[name=setup].state.terminated.exitCode" of pod "doomed" is "1"
    And field "status.initContainerStatuses[name=setup].restartCount" of pod "doomed" is "0"
    And field "status.containerStatuses[name=app].state.waiting.reason" of pod "doomed" is "PodInitializing"
    And field "status.containerStatuses[name=app].state.running" of pod "doomed" is absent

  # The e2e test's pod: two init containers and an app container that all exit 0, restartPolicy
  # Never. The pod succeeds; Initialized is True; both init containers are ready and terminated
  # with exit code 0.
  # conformance: [sig-node] InitContainer [NodeConformance] should invoke init containers on a RestartNever pod [Conformance]
  Scenario: With restartPolicy Never, the init containers and then the app container run to completion and the pod succeeds
    Given a pod "once":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: once
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: init1
          image: busybox:1.36
          command: ["/bin/true"]
        - name: init2
          image: busybox:1.36
          command: ["/bin/true"]
        containers:
        - name: run1
          image: busybox:1.36
          command: ["/bin/true"]
      """
    Then pod "once" is in phase "Succeeded"
    And field "status.conditions[type=Initialized].status" of pod "once" is "True"
    And field "status.initContainerStatuses" of pod "once" has 2 items
    And field "status.initContainerStatuses[name=init1].ready" of pod "once" is "true"
    And field "status.initContainerStatuses[name=init1].state.terminated.exitCode" of pod "once" is "0"
    And field "status.initContainerStatuses[name=init2].ready" of pod "once" is "true"
    And field "status.initContainerStatuses[name=init2].state.terminated.exitCode" of pod "once" is "0"

  # The e2e test's pod: the first init container exits 1, restartPolicy Always. The kubelet
  # restarts it; the second init container and the app container stay waiting with reason
  # PodInitializing; the pod stays Pending with Initialized False. The e2e test waits for three
  # restarts; the kubelet's back-off puts 10 s and 20 s before the second and third, as long as
  # a step waits, so this scenario waits for the first restart, which already shows the rule: a
  # failed init container is restarted and nothing after it starts.
  # conformance: [sig-node] InitContainer [NodeConformance] should not start app containers if init containers fail on a RestartAlways pod [Conformance]
  Scenario: With restartPolicy Always, a failing init container is restarted and neither the next init container nor the app container starts
    Given a pod "stuck":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: stuck
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: init1
          image: busybox:1.36
          command: ["/bin/false"]
        - name: init2
          image: busybox:1.36
          command: ["/bin/true"]
        containers:
        - name: run1
          image: busybox:1.36
          command: ["sleep", "3600"]
          resources:
            limits:
              cpu: 100m
      """
    Then field "status.initContainerStatuses[name=init1].restartCount" of pod "stuck" is at least 1
    And field "status.initContainerStatuses[name=init1].lastState.terminated.exitCode" of pod "stuck" is "1"
    And field "status.initContainerStatuses[name=init2].state.waiting.reason" of pod "stuck" is "PodInitializing"
    And field "status.containerStatuses[name=run1].state.waiting.reason" of pod "stuck" is "PodInitializing"
    And field "status.initContainerStatuses" of pod "stuck" has 2 items
    And pod "stuck" is in phase "Pending"
    And field "status.conditions[type=Initialized].status" of pod "stuck" is "False"
    And field "status.conditions[type=Initialized].reason" of pod "stuck" is "ContainersNotInitialized"
    And field "status.conditions[type=Initialized].message" of pod "stuck" is "containers with incomplete status: [init1 init2]"

  # init-containers: "If a Pod's init container fails, the kubelet repeatedly restarts that init
  # container until it succeeds."
  Scenario: With restartPolicy Always, a failing init container is restarted until it succeeds
    Given a pod "persistent":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: persistent
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: setup
          image: busybox:1.36
          command: ["sh", "-c", "if [ -e /data/tried ]; then exit 0; fi; touch /data/tried; exit 1"]
          volumeMounts:
          - {name: data, mountPath: /data}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
        volumes:
        - name: data
          emptyDir: {}
      """
    Then pod "persistent" is running
    And field "status.initContainerStatuses[name=setup].restartCount" of pod "persistent" is "1"
    And field "status.initContainerStatuses[name=setup].lastState.terminated.exitCode" of pod "persistent" is "1"
    And field "status.initContainerStatuses[name=setup].state.terminated.exitCode" of pod "persistent" is "0"

  # sidecar-containers: a sidecar starts before the init containers that follow it and before
  # the app containers, and keeps running beside them.
  Scenario: A sidecar starts before the next init container and keeps running beside the app
    Given a running pod "sidecar":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sidecar
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: logger
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "echo logger >> /data/log; sleep 3600"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: setup
          image: busybox:1.36
          command: ["sh", "-c", "until grep -q logger /data/log; do sleep 0.1; done; echo setup >> /data/log"]
          volumeMounts:
          - {name: data, mountPath: /data}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "echo app >> /data/log; sleep 3600"]
          volumeMounts:
          - {name: data, mountPath: /data}
        volumes:
        - name: data
          emptyDir: {}
      """
    Then running "cat /data/log" in container "app" of pod "sidecar" eventually prints:
      """
      logger
      setup
      app
      """
    And field "status.initContainerStatuses[name=logger].state.running" of pod "sidecar" is set
    And field "status.initContainerStatuses[name=setup].state.terminated.exitCode" of pod "sidecar" is "0"
    And running "cat /data/log" in container "logger" of pod "sidecar" prints:
      """
      logger
      setup
      app
      """

  # sidecar-containers: a sidecar "is restarted when it exits", whatever the pod's restartPolicy.
  Scenario: A sidecar whose main process dies is restarted
    Given a running pod "sidecar":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sidecar
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: helper
          image: busybox:1.36
          restartPolicy: Always
          command: ["podspec-agent", "main"]
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    When the main process of container "helper" of pod "sidecar" dies
    Then container "helper" of pod "sidecar" is running with restart count 1
    And container "app" of pod "sidecar" is running with restart count 0

  # sidecar-containers: once the app containers have ended, the kubelet stops the sidecars and
  # the pod completes; terminated sidecars do not decide the phase.
  Scenario: A pod whose app container completes succeeds although its sidecar was still running
    Given a pod "job":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: job
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: helper
          image: busybox:1.36
          restartPolicy: Always
          command: ["sleep", "3600"]
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "sleep 1"]
      """
    Then pod "job" is in phase "Succeeded"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "job" is "0"
    And field "status.initContainerStatuses[name=helper].state.running" of pod "job" is absent

  # Sidecars stop after the app containers, the last started first. The kubelet stops a pod's
  # containers all at once, except that a sidecar gets its SIGTERM only once every app container
  # and the sidecar declared after it have stopped (pkg/kubelet/kuberuntime
  # killContainersWithSyncResult and its terminationOrdering); sidecar-containers: "the kubelet
  # postpones terminating sidecar containers until the main application container has fully
  # stopped. The sidecar containers are then shut down in the opposite order of their
  # appearance in the Pod specification."
  # e2e: test/e2e_node/container_lifecycle_test.go ([NodeFeature:SidecarContainers], not
  # [Conformance]) "should terminate sidecars in reverse order after all main containers have
  # exited": under restartPolicy Never the app container exits on its own, the pod is done, and
  # its sidecars exit after it, restartable-init-3 before 2 before 1, each with exit code 0.
  # Here each container writes to a shared log when it gets SIGTERM and when it exits (1 s
  # later), and s1, the last to stop, keeps the whole log as its termination message.
  Scenario: Once the app container has exited, the sidecars stop one by one, the last started first
    Given a pod "serialize-termination":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: serialize-termination
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 30
        initContainers:
        - name: s1
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'echo s1-term >> /data/log; sleep 1; echo s1-exit >> /data/log; echo -n $(cat /data/log) > /dev/termination-log; exit 0' TERM; sleep 3600 & wait"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: s2
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'echo s2-term >> /data/log; sleep 1; echo s2-exit >> /data/log; exit 0' TERM; sleep 3600 & wait"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: s3
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'echo s3-term >> /data/log; sleep 1; echo s3-exit >> /data/log; exit 0' TERM; sleep 3600 & wait"]
          volumeMounts:
          - {name: data, mountPath: /data}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "sleep 2; echo app-exit >> /data/log"]
          volumeMounts:
          - {name: data, mountPath: /data}
        volumes:
        - name: data
          emptyDir: {}
      """
    Then pod "serialize-termination" is in phase "Succeeded"
    And field "status.initContainerStatuses[name=s1].state.terminated.message" of pod "serialize-termination" is "app-exit s3-term s3-exit s2-term s2-exit s1-term s1-exit"
    And field "status.initContainerStatuses[name=s1].state.terminated.exitCode" of pod "serialize-termination" is "0"
    And field "status.initContainerStatuses[name=s2].state.terminated.exitCode" of pod "serialize-termination" is "0"
    And field "status.initContainerStatuses[name=s3].state.terminated.exitCode" of pod "serialize-termination" is "0"
    And field "status.initContainerStatuses[name=s3].state.terminated.reason" of pod "serialize-termination" is "Completed"

  # A deleted pod: the app container is stopped first, then the sidecars in reverse order,
  # while every preStop hook runs at once, as soon as the pod stops (the kubelet runs a
  # container's preStop hook first and only then waits for its turn). e2e:
  # test/e2e_node/container_lifecycle_test.go "should call sidecar container PreStop hook
  # simultaneously" (the hooks start together; the sidecars still exit in reverse order after
  # the main container). Each sidecar's hook notes whether the app container had exited when it
  # ran ("early": it had not, as it takes 3 s after its SIGTERM); the shared log is as above. A
  # finalizer keeps the pod to be read once its containers have stopped, as the e2e tests of
  # terminating sidecars do.
  @api-server
  Scenario: A deleted pod's sidecars stop after its app container in reverse order, their preStop hooks run at once
    Given a running pod "sidecar-delete":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sidecar-delete
        finalizers:
        - example.com/hold
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 30
        initContainers:
        - name: s1
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'echo s1-term-$(cat /data/s1-hook) >> /data/log; sleep 1; echo s1-exit >> /data/log; echo -n $(cat /data/log) > /dev/termination-log; exit 0' TERM; touch /data/s1-ready; sleep 3600 & wait"]
          lifecycle:
            preStop:
              exec:
                command: ["sh", "-c", "if test -e /data/app-exited; then echo late; else echo early; fi > /data/s1-hook"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: s2
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'echo s2-term-$(cat /data/s2-hook) >> /data/log; sleep 1; echo s2-exit >> /data/log; exit 0' TERM; touch /data/s2-ready; sleep 3600 & wait"]
          lifecycle:
            preStop:
              exec:
                command: ["sh", "-c", "if test -e /data/app-exited; then echo late; else echo early; fi > /data/s2-hook"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: s3
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'echo s3-term-$(cat /data/s3-hook) >> /data/log; sleep 1; echo s3-exit >> /data/log; exit 0' TERM; touch /data/s3-ready; sleep 3600 & wait"]
          lifecycle:
            preStop:
              exec:
                command: ["sh", "-c", "if test -e /data/app-exited; then echo late; else echo early; fi > /data/s3-hook"]
          volumeMounts:
          - {name: data, mountPath: /data}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "trap 'echo app-term >> /data/log; sleep 3; echo app-exit >> /data/log; touch /data/app-exited; exit 0' TERM; touch /data/app-ready; sleep 3600 & wait"]
          volumeMounts:
          - {name: data, mountPath: /data}
        volumes:
        - name: data
          emptyDir: {}
      """
    And running "ls /data" in container "app" of pod "sidecar-delete" eventually prints:
      """
      app-ready
      s1-ready
      s2-ready
      s3-ready
      """
    When I start deleting pod "sidecar-delete" with a grace period of 30 seconds
    Then the request succeeds
    And field "status.initContainerStatuses[name=s1].state.terminated.message" of pod "sidecar-delete" is "app-term app-exit s3-term-early s3-exit s2-term-early s2-exit s1-term-early s1-exit"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "sidecar-delete" is "0"
    And field "status.initContainerStatuses[name=s1].state.terminated.exitCode" of pod "sidecar-delete" is "0"

  # A deleted pod whose app container's preStop hook outlasts the grace period: the app
  # container is killed (137) when the grace period ends; then each sidecar, in reverse order,
  # still gets the 2 s the kubelet always gives after a wait (minimumGracePeriodInSeconds): s3
  # and s1 end within it (0, Completed), s2 takes 20 s after SIGTERM and is killed (137, Error);
  # the pod is Failed. e2e: test/e2e_node/container_lifecycle_test.go "should mark pod as failed
  # if any of the prestop hook in regular container has exceeded its termination grace period
  # seconds" (the same containers: restartable-init-1 to 3 as s1 to s3, regular-1 as app; the
  # same 5 s grace period, 20 s hook and 1 s or 20 s after SIGTERM; the same exit codes and
  # reasons). A finalizer keeps the pod to be read once its containers have stopped.
  @api-server
  Scenario: A deleted pod whose preStop hook outlasts the grace period is Failed; its sidecars still get 2 s each
    Given a running pod "prestop-exceeds-grace":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: prestop-exceeds-grace
        finalizers:
        - example.com/hold
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 5
        initContainers:
        - name: s1
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'sleep 1; exit 0' TERM; touch /data/s1-ready; sleep 600 & wait"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: s2
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'sleep 20; exit 0' TERM; touch /data/s2-ready; sleep 600 & wait"]
          volumeMounts:
          - {name: data, mountPath: /data}
        - name: s3
          image: busybox:1.36
          restartPolicy: Always
          command: ["sh", "-c", "trap 'sleep 1; exit 0' TERM; touch /data/s3-ready; sleep 600 & wait"]
          volumeMounts:
          - {name: data, mountPath: /data}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "trap 'sleep 20; exit 0' TERM; touch /data/app-ready; sleep 600 & wait"]
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "20"]
          volumeMounts:
          - {name: data, mountPath: /data}
        volumes:
        - name: data
          emptyDir: {}
      """
    And running "ls /data" in container "app" of pod "prestop-exceeds-grace" eventually prints:
      """
      app-ready
      s1-ready
      s2-ready
      s3-ready
      """
    When I start deleting pod "prestop-exceeds-grace" with a grace period of 5 seconds
    Then the request succeeds
    And pod "prestop-exceeds-grace" is in phase "Failed"
    And field "status.containerStatuses[name=app].state.terminated.exitCode" of pod "prestop-exceeds-grace" is "137"
    And field "status.containerStatuses[name=app].state.terminated.reason" of pod "prestop-exceeds-grace" is "Error"
    And field "status.initContainerStatuses[name=s1].state.terminated.exitCode" of pod "prestop-exceeds-grace" is "0"
    And field "status.initContainerStatuses[name=s1].state.terminated.reason" of pod "prestop-exceeds-grace" is "Completed"
    And field "status.initContainerStatuses[name=s2].state.terminated.exitCode" of pod "prestop-exceeds-grace" is "137"
    And field "status.initContainerStatuses[name=s2].state.terminated.reason" of pod "prestop-exceeds-grace" is "Error"
    And field "status.initContainerStatuses[name=s3].state.terminated.exitCode" of pod "prestop-exceeds-grace" is "0"
    And field "status.initContainerStatuses[name=s3].state.terminated.reason" of pod "prestop-exceeds-grace" is "Completed"
