@networking @conformance
Feature: Containers of a pod share one network namespace
  # "Every container in a Pod shares the network namespace, including the IP address and network
  # ports. Inside a Pod (and only then), the containers that belong to the Pod can communicate with
  # one another using localhost. [...] Within a Pod, containers share an IP address and port space,
  # and can find each other via localhost."
  #   kubernetes.io/docs/concepts/workloads/pods/ ("Pod networking")

  # Pod networking: "can communicate with one another using localhost".
  Scenario: A container reaches a server of another container of its pod on localhost
    Given a running pod from fixture "server-and-client.yaml"
    Then running "podspec-agent connect localhost 8080" in container "client" of pod "server-and-client" eventually prints "hello from server-and-client"

  # Pod networking: "Every container in a Pod shares the network namespace, including the IP address".
  Scenario: Every container of a pod sees the same IP address and the same network namespace
    Given a running pod from fixture "server-and-client.yaml"
    Then running "podspec-agent ip" in every container of pod "server-and-client" prints "{{ip:server-and-client}}"
    And running "podspec-agent ns net" prints the same in every container of pod "server-and-client"

  # Pod networking: "containers share an IP address and port space"; "they must coordinate how they
  # use the shared network resources (such as ports)".
  Scenario: A second container cannot bind a port the first one holds
    Given a running pod from fixture "server-and-client.yaml"
    Then running "podspec-agent connect localhost 8080" in container "client" of pod "server-and-client" eventually prints "hello from server-and-client"
    And running "podspec-agent listen 8080" in container "client" of pod "server-and-client" fails with "in use"

  # Pod networking: "Inside a Pod (and only then) ... localhost"; "Containers that want to interact
  # with a container running in a different Pod can use IP networking to communicate."
  Scenario: A server on localhost in one pod is reached from another pod on its pod IP, not on localhost
    Given a running pod "x" from fixture "server-and-client.yaml"
    And a running pod "y" from fixture "client-only.yaml"
    Then running "podspec-agent connect localhost 8080" in container "client" of pod "x" eventually prints "hello from x"
    And running "podspec-agent connect localhost 8080 500" in container "client" of pod "y" fails with "Connection refused"
    And running "podspec-agent connect {{ip:x}} 8080" in container "client" of pod "y" prints "hello from x"

  # The pod network is "a single range of TCP and UDP ports": a UDP server in one container
  # answers a client in another over localhost.
  Scenario: A container reaches a UDP server of another container of its pod on localhost
    Given a running pod "udp":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: udp
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-agent", "udp-echo", "8081"]
        - name: client
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "podspec-agent udp-send localhost 8081 ping" in container "client" of pod "udp" eventually prints "echo from udp: ping"

  # "containers share an IP address and port space", UDP's as TCP's: the port one container holds
  # cannot be bound by another.
  Scenario: A second container cannot bind a UDP port the first one holds
    Given a running pod "udp":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: udp
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-agent", "udp-echo", "8081"]
        - name: client
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "podspec-agent udp-send localhost 8081 ping" in container "client" of pod "udp" eventually prints "echo from udp: ping"
    And running "podspec-agent udp-echo 8081" in container "client" of pod "udp" fails with "in use"

  # "Containers that want to interact with a container running in a different Pod can use IP
  # networking to communicate": over UDP on the pod's IP; the other pod's localhost has no server.
  Scenario: A UDP server in one pod is reached from another pod on its pod IP, not on localhost
    Given a running pod "x":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: x
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-agent", "udp-echo", "8081"]
      """
    And a running pod "y" from fixture "client-only.yaml"
    Then running "podspec-agent udp-send {{ip:x}} 8081 ping" in container "client" of pod "y" eventually prints "echo from x: ping"
    And running "podspec-agent udp-send localhost 8081 ping 500" in container "client" of pod "y" fails with "Connection refused"
