@exec @conformance
Feature: A command run in a container with stdin reads what it is sent, up to the end
  # "kubectl exec -i ... Pass stdin to the container"; the kubelet serves exec with stdin through
  # the runtime's streaming server (CRI Exec), commands without stdin through ExecSync.
  #   kubernetes.io/docs/reference/kubectl/generated/kubectl_exec/
  # e2e: test/e2e/kubectl/kubectl.go, "Simple pod should support exec": `kubectl exec -i` of
  # "cat && echo 'stdin closed'" with the input "abcd1234" prints "abcd1234stdin closed".

  Scenario: A command run with stdin reads the line it is sent
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: reader
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "read -r line; echo got: $line" in container "app" of pod "reader" with the input line "hello there" prints "got: hello there"

  Scenario: A command run with stdin sees its end once everything was sent
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: to-the-end
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "cat && echo 'stdin closed'" in container "app" of pod "to-the-end" with the input line "abcd1234" prints:
      """
      abcd1234
      stdin closed
      """
