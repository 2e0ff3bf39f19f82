@storage @api-server
Feature: A projected volume holds the pod's ServiceAccount token
  # "serviceAccountToken: ... the kubelet requests and stores the token on behalf of the
  # Pod ... at the configured path", for the audience given (the API server's by default),
  # with expirationSeconds (default 3600, at least 600), and refreshes it before it expires.
  #   kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken
  # The mode is the volume's defaultMode (0440 is 288) when the pod sets no fsGroup and its
  # containers do not all run as one user (pkg/volume/projected: the token's mode).
  # A token needs an API server to ask it of (TokenRequest): targets without one skip this.

  Scenario: A projected serviceAccountToken source is a JWT-shaped token file with the volume's mode
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-sa-token
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: test
          image: busybox:1.36
          command:
          - sh
          - -c
          - >-
            podspec-agent mounttest --file_mode=/var/run/secrets/tokens/sa-token &&
            if grep -Eq '^[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$' /var/run/secrets/tokens/sa-token;
            then echo "the token is JWT-shaped"; else echo "the token is not JWT-shaped"; fi
          volumeMounts:
          - {name: token, mountPath: /var/run/secrets/tokens, readOnly: true}
        volumes:
        - name: token
          projected:
            defaultMode: 288
            sources:
            - serviceAccountToken: {path: sa-token, expirationSeconds: 600}
      """
    Then pod "pod-sa-token" is in phase "Succeeded"
    And the log of container "test" of pod "pod-sa-token" has the lines:
      """
      mode of file "/var/run/secrets/tokens/sa-token": -r--r-----
      the token is JWT-shaped
      """

  # The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount/admission.go): a
  # pod's ServiceAccount must exist; a pod that names none runs as its namespace's `default`.
  Scenario: A pod naming a ServiceAccount that does not exist is refused, and one naming none runs as default
    When creating pod "no-such-account" is refused with code 403 and reason "Forbidden"
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: no-such-account
      spec:
        serviceAccountName: no-such-account
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then the error message is:
      """
      pods "no-such-account" is forbidden: error looking up service account {{namespace}}/no-such-account: serviceaccount "no-such-account" not found
      """
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: plain
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "spec.serviceAccountName" of pod "plain" is "default"

  # What ServiceAccount admission adds to a pod (plugin/pkg/admission/serviceaccount/admission.go,
  # mountServiceAccountToken): a projected volume `kube-api-access-<5 characters>` with the
  # account's token (expirationSeconds 3607), the namespace's `kube-root-ca.crt` and the
  # namespace, mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every
  # container. As e2e's "ServiceAccounts should mount an API token into pods"
  # (test/e2e/auth/service_accounts.go): the token, the CA (the same as the namespace's
  # kube-root-ca.crt) and the namespace are read in the container. (The e2e test also sends the
  # token to TokenReview, which serve does not serve; the token's shape is checked instead.)
  @config-objects
  Scenario: A pod's ServiceAccount token, the cluster's CA and its namespace are mounted in its containers
    Given I create serviceaccount "mount-test" with:
      """
      {}
      """
    And a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pod-service-account
      spec:
        serviceAccountName: mount-test
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: test
          image: busybox:1.36
          command: ["sleep", "100000"]
      """
    Then field "spec.volumes[0].name" of pod "pod-service-account" contains "kube-api-access-"
    And field "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds" of pod "pod-service-account" is "3607"
    And field "spec.containers[0].volumeMounts[0].mountPath" of pod "pod-service-account" is "/var/run/secrets/kubernetes.io/serviceaccount"
    And field "spec.containers[0].volumeMounts[0].readOnly" of pod "pod-service-account" is "true"
    And running "cat /var/run/secrets/kubernetes.io/serviceaccount/namespace" in container "test" of pod "pod-service-account" prints "{{namespace}}"
    And file "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" in container "test" of pod "pod-service-account" holds key "ca.crt" of configmap "kube-root-ca.crt"
    And running "grep -Eq '^[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$' /var/run/secrets/kubernetes.io/serviceaccount/token && echo JWT-shaped" in container "test" of pod "pod-service-account" prints "JWT-shaped"

  # e2e's "ServiceAccounts should allow opting out of API token automount": the pod's
  # automountServiceAccountToken wins, then its ServiceAccount's; the token is mounted unless
  # the one that decides says false. (`~` is YAML's null: the pod says nothing.)
  @config-objects
  Scenario Outline: A pod mounts the token when neither it nor, if it says nothing, its ServiceAccount opts out
    Given I create serviceaccount "mount" with:
      """
      automountServiceAccountToken: true
      """
    And I create serviceaccount "nomount" with:
      """
      automountServiceAccountToken: false
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: token-test
      spec:
        serviceAccountName: <account>
        automountServiceAccountToken: <pod says>
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: token-test
          image: busybox:1.36
          command: ["sleep", "100000"]
      """
    Then field "spec.containers[0].volumeMounts" of pod "token-test" contains "/var/run/secrets/kubernetes.io/serviceaccount"

    Examples:
      | account | pod says |
      | default | ~        |
      | mount   | ~        |
      | default | true     |
      | mount   | true     |
      | nomount | true     |

  @config-objects
  Scenario Outline: A pod does not mount the token when it, or if it says nothing its ServiceAccount, opts out
    Given I create serviceaccount "mount" with:
      """
      automountServiceAccountToken: true
      """
    And I create serviceaccount "nomount" with:
      """
      automountServiceAccountToken: false
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: token-test
      spec:
        serviceAccountName: <account>
        automountServiceAccountToken: <pod says>
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: token-test
          image: busybox:1.36
          command: ["sleep", "100000"]
      """
    Then field "spec.containers[0].volumeMounts" of pod "token-test" is absent

    Examples:
      | account | pod says |
      | nomount | ~        |
      | default | false    |
      | mount   | false    |
      | nomount | false    |

  # admission.go: "If the pod does not contain any ImagePullSecrets, the ImagePullSecrets of the
  # service account are added." A pod that names its own keeps them. (A pull secret that does
  # not exist is a warning event of the kubelet, not a failure: busybox is not pulled here.)
  @config-objects
  Scenario: A pod without imagePullSecrets gets its ServiceAccount's
    Given I create serviceaccount "puller" with:
      """
      imagePullSecrets:
      - name: regcred
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: inherits
      spec:
        serviceAccountName: puller
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: own
      spec:
        serviceAccountName: puller
        imagePullSecrets:
        - name: mine
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then field "spec.imagePullSecrets[0].name" of pod "inherits" is "regcred"
    And field "spec.imagePullSecrets" of pod "own" has 1 item
    And field "spec.imagePullSecrets[0].name" of pod "own" is "mine"

  # e2e's "ServiceAccounts should guarantee kube-root-ca.crt exist in any namespace"
  # (pkg/controller/certificates/rootcacertpublisher): the ConfigMap is made in every
  # namespace, made again when deleted, and set back when changed.
  @config-objects
  Scenario: Every namespace has kube-root-ca.crt, made again when deleted and set back when changed
    Then configmap "kube-root-ca.crt" eventually has key "ca.crt" holding a PEM certificate
    When I delete configmap "kube-root-ca.crt"
    Then configmap "kube-root-ca.crt" eventually has key "ca.crt" holding a PEM certificate
    When I replace configmap "kube-root-ca.crt" with:
      """
      data:
        ca.crt: ""
      """
    Then configmap "kube-root-ca.crt" eventually has key "ca.crt" holding a PEM certificate
