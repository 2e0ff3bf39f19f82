@ipc @conformance
Feature: Containers of a pod share IPC; different pods do not
  # "The containers in a Pod can also communicate with each other using standard inter-process
  # communications like SystemV semaphores or POSIX shared memory. Containers in different Pods
  # have distinct IP addresses and can not communicate by OS-level IPC without special
  # configuration."
  #   kubernetes.io/docs/concepts/workloads/pods/ ("Pod networking")
  # The kubelet asks the runtime for a pod-level IPC namespace (NamespaceMode_POD) unless
  # hostIPC is set; cri-tools validates it in "runtime should support HostIpc is false".

  Scenario: A SysV shared memory segment made in one container is read and written from another
    Given a running pod from fixture "two-containers.yaml"
    When I run "podspec-agent shm-create 4242 hello" in container "a" of pod "two-containers"
    Then it succeeds
    And running "podspec-agent shm-read 4242" in container "b" of pod "two-containers" prints "hello"
    And running "podspec-agent shm-write 4242 goodbye" in container "b" of pod "two-containers" succeeds
    And running "podspec-agent shm-read 4242" in container "a" of pod "two-containers" prints "goodbye"

  Scenario: A SysV semaphore made in one container is used from another
    Given a running pod from fixture "two-containers.yaml"
    When I run "podspec-agent sem-create 4343 1" in container "a" of pod "two-containers"
    Then it succeeds
    And running "podspec-agent sem-op 4343 2" in container "b" of pod "two-containers" prints "3"
    And running "podspec-agent sem-get 4343" in container "a" of pod "two-containers" prints "3"

  Scenario: A POSIX shared memory object made in one container is read from another
    Given a running pod from fixture "two-containers.yaml"
    When I run "podspec-agent posix-shm-create podspec-ipc hello" in container "a" of pod "two-containers"
    Then it succeeds
    And running "podspec-agent posix-shm-read podspec-ipc" in container "b" of pod "two-containers" prints "hello"

  # The seed names "POSIX message queues" among what the pod's shared IPC namespace holds: a
  # queue (mq_open, mq_send, mq_receive) lives in the IPC namespace, not in a filesystem.
  Scenario: A POSIX message queue made in one container carries messages to another
    Given a running pod from fixture "two-containers.yaml"
    When I run "podspec-agent mq-create podspec-mq" in container "a" of pod "two-containers"
    Then it succeeds
    And running "podspec-agent mq-send podspec-mq hello" in container "b" of pod "two-containers" prints "sent"
    And running "podspec-agent mq-receive podspec-mq" in container "a" of pod "two-containers" prints "hello"
    And running "podspec-agent mq-send podspec-mq goodbye" in container "a" of pod "two-containers" prints "sent"
    And running "podspec-agent mq-receive podspec-mq" in container "b" of pod "two-containers" prints "goodbye"

  Scenario: No IPC object of one pod is visible from another pod
    Given a running pod "x" from fixture "two-containers.yaml"
    And a running pod "y" from fixture "two-containers.yaml"
    When I run "podspec-agent shm-create 4444 x && podspec-agent sem-create 4444 1 && podspec-agent posix-shm-create podspec-ipc x && podspec-agent mq-create podspec-mq && podspec-agent mq-send podspec-mq x" in container "a" of pod "x"
    Then it succeeds
    And running "podspec-agent shm-read 4444" in container "a" of pod "y" fails with "No such file or directory"
    And running "podspec-agent sem-get 4444" in container "a" of pod "y" fails with "No such file or directory"
    And running "podspec-agent posix-shm-read podspec-ipc" in container "a" of pod "y" fails with "No such file or directory"
    And running "podspec-agent mq-receive podspec-mq" in container "a" of pod "y" fails with "No such file or directory"
    And running "podspec-agent mq-receive podspec-mq" in container "a" of pod "x" prints "x"
