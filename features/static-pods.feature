@static-pods @api-server
Feature: Static pods run from the kubelet's manifest directory and show in the API as mirror pods
  # "Static Pods are managed directly by the kubelet daemon on a specific node, without the API
  # server observing them. ... The kubelet automatically tries to create a mirror Pod on the
  # Kubernetes API server for each static Pod. This means that the Pods running on a node are
  # visible on the API server, but cannot be controlled from there. The Pod names will be
  # suffixed with the node hostname with a leading hyphen."
  # "The spec of a static Pod cannot refer to other API objects (e.g., ServiceAccount,
  # ConfigMap, Secret, etc)."
  #   kubernetes.io/docs/tasks/configure-pod-container/static-pod/
  #   kubernetes.io/docs/concepts/workloads/pods/#static-pods
  # e2e: test/e2e_node/mirror_pod_test.go (SIGDescribe "MirrorPod"): validateMirrorPod checks the
  # config.hash, config.mirror (equal to the hash) and config.source (not "api") annotations and
  # a single controller owner reference to the Node.
  # Each scenario names its manifest after its namespace, as the e2e test does.

  Scenario: A manifest in the directory runs as a pod, and its mirror pod appears in the API
    When I write the static pod manifest "{{namespace}}-web.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        namespace: {{namespace}}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then pod "web-{{node}}" is running
    And running "hostname" in container "app" of pod "web-{{node}}" prints "web-{{node}}"
    And field "spec.nodeName" of pod "web-{{node}}" is "{{node}}"
    And field "metadata.annotations[kubernetes.io/config.hash]" of pod "web-{{node}}" is set
    And field "metadata.annotations[kubernetes.io/config.mirror]" of pod "web-{{node}}" equals its field "metadata.annotations[kubernetes.io/config.hash]"
    And field "metadata.annotations[kubernetes.io/config.source]" of pod "web-{{node}}" is "file"
    And field "metadata.ownerReferences" of pod "web-{{node}}" has 1 item
    And field "metadata.ownerReferences[0].kind" of pod "web-{{node}}" is "Node"
    And field "metadata.ownerReferences[0].name" of pod "web-{{node}}" is "{{node}}"
    And field "metadata.ownerReferences[0].controller" of pod "web-{{node}}" is "true"

  # mirror_pod_test.go "should be recreated when mirror pod forcibly deleted": the mirror pod
  # comes back with a new uid; the static pod itself was not stopped (the file it made is still
  # there and its container did not restart).
  Scenario: Deleting the mirror pod does not stop the static pod, and the mirror pod comes back
    Given I write the static pod manifest "{{namespace}}-web.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        namespace: {{namespace}}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And pod "web-{{node}}" is running
    And running "touch /tmp/alive" in container "app" of pod "web-{{node}}" succeeds
    And I remember pod "web-{{node}}"
    When I delete pod "web-{{node}}"
    Then field "metadata.uid" of pod "web-{{node}}" has changed
    And pod "web-{{node}}" is running
    And running "test -e /tmp/alive && echo same-instance" in container "app" of pod "web-{{node}}" prints "same-instance"
    And container "app" of pod "web-{{node}}" is running with restart count 0

  # mirror_pod_test.go "should be updated when static pod updated": "Update the static pod by
  # changing the container image, the mirror pod MUST be re-created and updated with the new
  # image" (a new uid).
  Scenario: Changing the manifest replaces the pod, and the mirror pod gets a new uid
    Given I write the static pod manifest "{{namespace}}-web.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        namespace: {{namespace}}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And pod "web-{{node}}" is running
    And I remember pod "web-{{node}}"
    When I write the static pod manifest "{{namespace}}-web.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        namespace: {{namespace}}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.35
          command: ["sleep", "3600"]
      """
    Then field "metadata.uid" of pod "web-{{node}}" has changed
    And field "spec.containers[name=app].image" of pod "web-{{node}}" is "busybox:1.35"
    And pod "web-{{node}}" is running

  # mirror_pod_test.go AfterEach: deleting the manifest makes the mirror pod disappear; the pod
  # itself stops: a server it ran no longer answers.
  Scenario: Removing the manifest stops the pod and removes its mirror pod
    Given a running pod "client":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: client
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: client
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And I write the static pod manifest "{{namespace}}-server.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: server
        namespace: {{namespace}}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: server
          image: busybox:1.36
          command: ["podspec-agent", "listen", "8080"]
      """
    And pod "server-{{node}}" is running
    And I remember pod "server-{{node}}"
    And running "podspec-agent connect {{ip:server-{{node}}}} 8080" in container "client" of pod "client" eventually prints "hello from server-{{node}}"
    When I remove the static pod manifest "{{namespace}}-server.yaml"
    Then pod "server-{{node}}" is gone
    And running "podspec-agent connect {{ip:server-{{node}}}} 8080" in container "client" of pod "client" fails with "connect"

  # plugin/pkg/admission/serviceaccount/admission.go: "a mirror pod may not reference service
  # accounts"; the kubelet logs that it failed to create the mirror pod, and there is none.
  Scenario: A static pod that refers to a ServiceAccount gets no mirror pod
    When I write the static pod manifest "{{namespace}}-web.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        namespace: {{namespace}}
      spec:
        serviceAccountName: default
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then the kubelet log mentions "web-{{node}}" and "a mirror pod may not reference service accounts"
    And pod "web-{{node}}" is gone

  # serviceaccount/admission.go: "a mirror pod may not reference secrets" (a secretKeyRef in the
  # environment is a reference, as podutil.VisitPodSecretNames counts them).
  Scenario: A static pod that refers to a Secret gets no mirror pod
    When I write the static pod manifest "{{namespace}}-web.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        namespace: {{namespace}}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          env:
          - name: TOKEN
            valueFrom:
              secretKeyRef: {name: token, key: token, optional: true}
      """
    Then the kubelet log mentions "web-{{node}}" and "a mirror pod may not reference secrets"
    And pod "web-{{node}}" is gone

  # The ServiceAccount admission has no rule for ConfigMaps; the NodeRestriction admission, which
  # checks what a kubelet creates, refuses them: plugin/pkg/admission/noderestriction/
  # admission.go "node %q can not create pods that reference configmaps".
  Scenario: A static pod that refers to a ConfigMap gets no mirror pod
    When I write the static pod manifest "{{namespace}}-web.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: web
        namespace: {{namespace}}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          env:
          - name: MODE
            valueFrom:
              configMapKeyRef: {name: settings, key: mode, optional: true}
      """
    Then the kubelet log mentions "web-{{node}}" and "can not create pods that reference configmaps"
    And pod "web-{{node}}" is gone

  # pkg/kubelet/config/file.go: a manifest that cannot be read as a pod is logged ("Could not
  # process manifest file") and skipped; the kubelet validates static pods as the API would
  # ("invalid pod: ..."). Neither stops the node nor the valid static pods.
  Scenario: Bad manifests are logged with their file name and skipped, and the valid ones keep running
    Given I write the static pod manifest "{{namespace}}-good.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: good
        namespace: {{namespace}}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And pod "good-{{node}}" is running
    When I write the static pod manifest "{{namespace}}-broken.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata: [this is not
      """
    And I write the static pod manifest "{{namespace}}-invalid.yaml":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: invalid
        namespace: {{namespace}}
      spec:
        containers: []
      """
    Then the kubelet log mentions "{{namespace}}-broken.yaml"
    And the kubelet log mentions "{{namespace}}-invalid.yaml" and "spec.containers: Required value"
    And pod "invalid-{{node}}" is gone
    And container "app" of pod "good-{{node}}" is running with restart count 0
