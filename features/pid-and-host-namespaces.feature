@security
Feature: Containers have PID namespaces of their own unless the pod shares one or uses the node's
  # "When process namespace sharing is enabled, processes in a container are visible to all
  # other containers in the same pod. ... The container process no longer has PID 1 ... the
  # pause process becomes PID 1."
  #   kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/
  # hostPID, hostIPC and hostNetwork put the pod in the node's namespaces. The reference node's
  # namespaces are its own (made by podspec): the machine's processes, IPC and network are never
  # reached.
  # The e2e tests mirrored: test/e2e_node/security_context_test.go.

  # security_context_test.go, "Container PID namespace sharing": "containers in pods using
  # isolated PID namespaces should all receive PID 1".
  Scenario: Each container's main process is PID 1 of its own PID namespace
    Given a running pod "isolated":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: isolated
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: test-container-1
          image: busybox:1.36
          command: ["sleep", "3601"]
        - name: test-container-2
          image: busybox:1.36
          command: ["sleep", "3602"]
      """
    Then running "pidof sleep" in container "test-container-1" of pod "isolated" prints "1"
    And running "pidof sleep" in container "test-container-2" of pod "isolated" prints "1"

  # security_context_test.go: "processes in containers sharing a pod namespace should be able to
  # see each other"; the sandbox's holder is PID 1, as the pause process is.
  Scenario: With shareProcessNamespace the containers see each other's processes
    Given a running pod "shared":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: shared
      spec:
        terminationGracePeriodSeconds: 0
        shareProcessNamespace: true
        containers:
        - name: test-container-1
          image: busybox:1.36
          command: ["top"]
        - name: test-container-2
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "pidof top | wc -w" in container "test-container-2" of pod "shared" prints "1"
    And running "pidof sleep | wc -w" in container "test-container-1" of pod "shared" prints "1"
    And running "[ $(pidof top) != 1 ] && [ $(pidof sleep) != 1 ] && test -d /proc/1 && echo ok" in container "test-container-2" of pod "shared" prints "ok"
    And running "pidof top" prints the same in every container of pod "shared"

  # security_context_test.go, "when creating a pod in the host PID namespace": "should show its
  # pid in the host PID namespace [NodeFeature:HostAccess]" and "should show its pid in the
  # non-hostpid containers"; the node's PID 1 is podspec's node holder, not the machine's init.
  # As on a node, every container's own PID namespace is a child of the node's: a hostPID pod
  # sees every process on the node, another pod's containers included (what `kubectl debug
  # node/...` relies on), while that pod sees only its own.
  @host-access
  Scenario: With hostPID a pod sees every process on the node, other pods' containers included
    Given a running pod "hostpid-a":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: hostpid-a
      spec:
        terminationGracePeriodSeconds: 0
        hostPID: true
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3603"]
      """
    And a running pod "hostpid-b":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: hostpid-b
      spec:
        terminationGracePeriodSeconds: 0
        hostPID: true
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3604"]
      """
    And a running pod "isolated":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: isolated
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3605"]
      """
    Then running "[ $(pidof sleep | wc -w) -ge 2 ] && [ $(cat /proc/1/comm) != sleep ] && echo ok" in container "app" of pod "hostpid-a" prints "ok"
    And running "ps -o args | grep -c '^sleep 360[34]$'" in container "app" of pod "hostpid-a" prints "2"
    And running "ps -o args | grep -c '^sleep 360[34]$' || true" in container "app" of pod "isolated" prints "0"
    And running "ps -o args | grep -c '^sleep 3605$'" in container "app" of pod "hostpid-b" prints "1"
    And running "ps -o args | grep -c '^sleep 3605$'" in container "app" of pod "hostpid-a" prints "1"

  # security_context_test.go, "when creating a pod in the host IPC namespace": "should show the
  # shared memory ID in the host IPC containers" and "should not show the shared memory ID in
  # the non-hostIPC containers".
  @host-access
  Scenario: With hostIPC pods share the node's IPC namespace, and other pods do not see it
    Given a running pod "hostipc-a":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: hostipc-a
      spec:
        terminationGracePeriodSeconds: 0
        hostIPC: true
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And a running pod "hostipc-b":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: hostipc-b
      spec:
        terminationGracePeriodSeconds: 0
        hostIPC: true
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And a running pod "isolated":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: isolated
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    When I run "podspec-agent shm-create 4545 node" in container "app" of pod "hostipc-a"
    Then it succeeds
    And running "podspec-agent shm-read 4545" in container "app" of pod "hostipc-b" prints "node"
    And running "podspec-agent shm-read 4545" in container "app" of pod "isolated" fails with "No such file or directory"
    And running "podspec-agent ns ipc" in pods "hostipc-a" and "isolated" prints different values

  # security_context_test.go, "when creating a pod in the host network namespace": "should listen
  # on same port in the host network containers" and "shouldn't show the same port in the
  # non-hostnetwork containers"; the pod IP is the node's IP.
  @host-access
  Scenario: With hostNetwork a pod uses the node's network, and its IP is the node's
    Given a running pod "hostnet":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: hostnet
      spec:
        terminationGracePeriodSeconds: 0
        hostNetwork: true
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-agent", "listen", "8081"]
      """
    And a running pod "hostnet-client":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: hostnet-client
      spec:
        terminationGracePeriodSeconds: 0
        hostNetwork: true
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And a running pod "isolated":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: isolated
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "status.podIP" of pod "hostnet" equals its field "status.hostIP"
    And running "podspec-agent ip" in container "server" of pod "hostnet" prints "{{hostip:hostnet}}"
    And running "podspec-agent connect 127.0.0.1 8081" in container "app" of pod "hostnet-client" eventually succeeds
    And running "podspec-agent connect 127.0.0.1 8081 500" in container "app" of pod "isolated" fails with "refused"
    And running "podspec-agent connect {{hostip:hostnet}} 8081" in container "app" of pod "isolated" succeeds
