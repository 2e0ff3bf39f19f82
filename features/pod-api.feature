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

  # conformance: [sig-node] Pods should run through the lifecycle of Pods and PodStatus [Conformance]
  #   (test/e2e/common/node/pods.go) A watch of the label test-pod-static=true is started; pod
  #   "pod-test" with that label and terminationGracePeriodSeconds 1 is created and read back
  #   Running. A strategic merge patch (the e2e's marshalled v1.Pod, byte for byte) adds the label
  #   test-pod=patched and changes the container's image; the pod read back has that label and
  #   image. The pod is read through its status subresource, its Ready and ContainersReady
  #   conditions (both must be True) are set to False and the pod is written back by a PUT of
  #   the status subresource: the API's answer has both False. The pods of the label are deleted
  #   by one deletecollection with gracePeriodSeconds 1; the watch sees the pod DELETED, with its
  #   label; a read of the pod is then NotFound. Differences: the e2e images agnhost and httpd
  #   are busybox:1.36 and busybox:1.35 here (the fixture image under two references, as the
  #   image-change scenario of lifecycle.feature uses them), running a shell that ends on
  #   SIGTERM; and before it writes the status, the scenario waits for the container restarted
  #   from the new image to be Ready again (the e2e reads the conditions right after the patch
  #   and fails when the kubelet's restart has made them False already).
  @api-server
  Scenario: A pod is created, patched, given a status, and deleted by its label, as a watch sees
    Given I watch the pods labelled "test-pod-static=true"
    When a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-test
        labels:
          test-pod-static: "true"
      spec:
        terminationGracePeriodSeconds: 1
        containers:
        - name: pod-test
          image: busybox:1.36
          command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
      """
    Then field "status.phase" of pod "pod-test" is "Running"
    And the watch of the pods labelled "test-pod-static=true" began with "ADDED, MODIFIED"
    When I patch pod "pod-test" with the strategic merge patch:
      """
      {"metadata":{"labels":{"test-pod":"patched"},"creationTimestamp":null},"spec":{"containers":[{"name":"pod-test","image":"busybox:1.35","resources":{}}],"terminationGracePeriodSeconds":1},"status":{}}
      """
    Then the request succeeds
    And field "metadata.labels.test-pod" of pod "pod-test" is "patched"
    And field "metadata.labels.test-pod-static" of pod "pod-test" is "true"
    And field "spec.containers[0].image" of pod "pod-test" is "busybox:1.35"
    And container "pod-test" of pod "pod-test" is running with restart count 1
    And field "status.conditions[type=Ready].status" of pod "pod-test" is "True"
    And field "status.conditions[type=ContainersReady].status" of pod "pod-test" is "True"
    When I update the status of pod "pod-test" setting its conditions "Ready, ContainersReady" from "True" to "False"
    Then the request succeeds
    And field "status.conditions[type=Ready].status" of the answer is "False"
    And field "status.conditions[type=ContainersReady].status" of the answer is "False"
    When I delete the pods labelled "test-pod-static=true" with a grace period of 1 second
    Then the watch of the pods labelled "test-pod-static=true" began with "ADDED, MODIFIED, DELETED"
    And the pod of the last "DELETED" event of the watch of the pods labelled "test-pod-static=true" has field "metadata.labels.test-pod-static" "true"
    And pod "pod-test" is gone
