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
