@conformance
Feature: The pod API serves exec, logs and deletes by label as Kubernetes' does
  # e2e: test/e2e/common/node/pods.go. The e2e tests open the exec and log subresources as
  # WebSockets themselves; here the target reads them as it reads every exec and log.

  # conformance: [sig-node] Pods should support remote command execution over websockets [NodeConformance] [Conformance]
  #   (test/e2e/common/node/pods.go) The pod runs "echo container is alive; sleep 600"; the exec
  #   of `echo "remote execution test"` in container "main" prints it on stdout (channel 1).
  #   On the kube target the exec is a WebSocket (v5/v4.channel.k8s.io) to the pod's `exec`
  #   subresource, as the e2e test's; on reference it is the kubelet's exec of the same command.
  Scenario: A command run through the exec subresource prints on stdout
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-exec-websocket
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: main
          image: busybox:1.36
          command: ["/bin/sh", "-c", "echo container is alive; sleep 600"]
      """
    Then running "echo remote execution test" in container "main" of pod "pod-exec-websocket" prints "remote execution test"

  # conformance: [sig-node] Pods should support retrieving logs from the container over websockets [NodeConformance] [Conformance]
  #   (test/e2e/common/node/pods.go) The pod runs "echo container is alive; sleep 10000"; the
  #   log of container "main" is exactly "container is alive\n". The kube target reads the
  #   `log` subresource by a plain GET (the same stream the e2e test's binary.k8s.io WebSocket
  #   carries); reference reads it from its kubelet.
  Scenario: A container's log read through the log subresource is what it wrote
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-logs-websocket
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: main
          image: busybox:1.36
          command: ["/bin/sh", "-c", "echo container is alive; sleep 10000"]
      """
    Then the log of container "main" of pod "pod-logs-websocket" is:
      """
      container is alive
      """

  # conformance: [sig-node] Pods should delete a collection of pods [Conformance]
  #   (test/e2e/common/node/pods.go) Three pods labelled type=Testing with
  #   terminationGracePeriodSeconds 1 and restartPolicy Never run; one deletecollection with
  #   labelSelector "type=Testing" and gracePeriodSeconds 1; then the list by that selector is
  #   empty. (The e2e pods run agnhost's default command, a server that ends on SIGTERM;
  #   here a shell that does.) A pod of another label stays.
  @api-server
  Scenario: Deleting the pods of a label deletes them all, and only them
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: test-pod-1
        labels:
          type: Testing
      spec:
        terminationGracePeriodSeconds: 1
        restartPolicy: Never
        containers:
        - name: token-test
          image: busybox:1.36
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: test-pod-2
        labels:
          type: Testing
      spec:
        terminationGracePeriodSeconds: 1
        restartPolicy: Never
        containers:
        - name: token-test
          image: busybox:1.36
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: test-pod-3
        labels:
          type: Testing
      spec:
        terminationGracePeriodSeconds: 1
        restartPolicy: Never
        containers:
        - name: token-test
          image: busybox:1.36
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
      """
    And a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: bystander
        labels:
          type: Other
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And pod "test-pod-1" is running
    And pod "test-pod-2" is running
    And pod "test-pod-3" is running
    And 3 pods labelled "type=Testing" are listed
    When I delete the pods labelled "type=Testing" with a grace period of 1 second
    Then 0 pods labelled "type=Testing" are eventually listed
    And 1 pod labelled "type=Other" is listed
    And pod "bystander" is running

  # conformance: [sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]
  #   (test/e2e/common/node/pods.go) An informer's watch of the pods labelled time=<value> is
  #   started before the pod (labels name=foo and time=<value>) is created; the list by that
  #   selector then has 1 pod and the watch's first event is ADDED. Once the pod runs it is
  #   deleted with a grace period of 30 s; the watch sees it DELETED, and that last object
  #   has a deletionTimestamp and a non-zero terminationGracePeriodSeconds; the list by the
  #   selector is then empty. Between them the deletion shows as MODIFIED (the pod marked).
  #   The e2e pod is nginx (which stops on SIGTERM); here a shell that does.
  @api-server
  Scenario: A pod is seen added, marked for deletion and deleted by a watch of its label
    Given I watch the pods labelled "time=423112"
    When a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-submit-remove
        labels:
          name: foo
          time: "423112"
      spec:
        containers:
        - name: nginx
          image: busybox:1.36
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
      """
    Then 1 pod labelled "time=423112" is listed
    And the watch of the pods labelled "time=423112" began with "ADDED"
    And pod "pod-submit-remove" is running
    When I start deleting pod "pod-submit-remove" with a grace period of 30 seconds
    Then the watch of the pods labelled "time=423112" began with "ADDED, MODIFIED, DELETED"
    And the pod of the last "DELETED" event of the watch of the pods labelled "time=423112" has field "metadata.deletionTimestamp" set
    And the pod of the last "DELETED" event of the watch of the pods labelled "time=423112" has field "spec.terminationGracePeriodSeconds" "30"
    And 0 pods labelled "time=423112" are listed

  # conformance: [sig-node] Pods should patch a pod status [Conformance]
  #   (test/e2e/common/node/pods.go) A running pod (terminationGracePeriodSeconds 1) has its
  #   status subresource patched with the merge patch
  #   {"metadata":{"annotations":{"patchedstatus":"true"}},"status":{"message":"Patched by e2e test","reason":"E2E"}};
  #   the pod the API answers with has that message and reason. (A status write takes labels
  #   and annotations too, podStatusStrategy.PrepareForUpdate: the annotation is kept.)
  @api-server
  Scenario: A merge patch of the status subresource sets the status's message and reason
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-patch-status
        labels:
          e2e: pod-patch-status
      spec:
        terminationGracePeriodSeconds: 1
        containers:
        - name: agnhost
          image: busybox:1.36
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
      """
    When I patch pod "pod-patch-status" through its status with:
      """
      {"metadata":{"annotations":{"patchedstatus":"true"}},"status":{"message":"Patched by e2e test","reason":"E2E"}}
      """
    Then the request succeeds
    And field "status.message" of the answer is "Patched by e2e test"
    And field "status.reason" of the answer is "E2E"
    And field "metadata.annotations.patchedstatus" of the answer is "true"
