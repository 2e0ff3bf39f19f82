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
