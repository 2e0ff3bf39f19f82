@conformance
Feature: A container's command replaces the image's ENTRYPOINT and its args replace the image's CMD
  # "The command and arguments that you define in the configuration file override the default
  # command and arguments provided by the container image. If you define args, but do not define
  # a command, the default command is used with your new arguments. ... If you supply a command
  # but no args for a Container, only the supplied command is used. The default EntryPoint and
  # the default Cmd defined in the Docker image are ignored."
  #   kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/
  #
  # The e2e tests mirrored: test/e2e/common/node/containers.go. Their agnhost image has
  # ENTRYPOINT /agnhost and CMD pause (which prints "Paused" and runs on); its entrypoint-tester
  # prints its argv, and a second name of the binary, /agnhost-2, shows that a command replaced
  # the ENTRYPOINT. The image here (fixtures/images/entrypoint.yaml) has ENTRYPOINT
  # /podspec-agent and CMD paused (prints "Paused" and runs on); `podspec-agent argv` prints its
  # argv one a line. A command here is the same binary with a marker argument, `from-command`,
  # which the output shows exactly where the e2e output shows /agnhost-2; and the log is checked
  # whole, so neither the image's ENTRYPOINT nor its CMD can be in it where it should not.

  # conformance: [sig-node] Containers should use the image defaults if command and args are blank [NodeConformance] [Conformance]
  Scenario: Without command and args the image's ENTRYPOINT runs with its CMD
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: client-containers
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 1
        containers:
        - name: agnhost-container
          image: localhost/podspec/entrypoint:1
      """
    Then pod "client-containers" is running
    And the log of container "agnhost-container" of pod "client-containers" is:
      """
      Paused
      """

  # conformance: [sig-node] Containers should be able to override the image's default arguments (container cmd) [NodeConformance] [Conformance]
  Scenario: args replace the image's CMD and keep its ENTRYPOINT
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: client-containers
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 1
        containers:
        - name: agnhost-container
          image: localhost/podspec/entrypoint:1
          args: ["argv", "override", "arguments"]
      """
    Then pod "client-containers" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "client-containers" is:
      """
      argv[0]=/podspec-agent
      argv[1]=argv
      argv[2]=override
      argv[3]=arguments
      """

  # conformance: [sig-node] Containers should be able to override the image's default command (container entrypoint) [NodeConformance] [Conformance]
  Scenario: A command replaces the image's ENTRYPOINT, and the image's CMD is not used
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: client-containers
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 1
        containers:
        - name: agnhost-container
          image: localhost/podspec/entrypoint:1
          command: ["/podspec-agent", "argv", "from-command"]
      """
    Then pod "client-containers" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "client-containers" is:
      """
      argv[0]=/podspec-agent
      argv[1]=argv
      argv[2]=from-command
      """

  # conformance: [sig-node] Containers should be able to override the image's default command and arguments [NodeConformance] [Conformance]
  Scenario: A command and args replace the image's ENTRYPOINT and CMD
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: client-containers
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 1
        containers:
        - name: agnhost-container
          image: localhost/podspec/entrypoint:1
          command: ["/podspec-agent", "argv", "from-command"]
          args: ["override", "arguments"]
      """
    Then pod "client-containers" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "client-containers" is:
      """
      argv[0]=/podspec-agent
      argv[1]=argv
      argv[2]=from-command
      argv[3]=override
      argv[4]=arguments
      """
