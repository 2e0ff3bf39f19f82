@environment
Feature: A container's environment and working directory are what its spec says
  # "There are two ways to expose Pod and container fields to a running container: environment
  # variables, and as files ... together, these two ways are called the downward API."
  #   kubernetes.io/docs/concepts/workloads/pods/downward-api/
  # "If you do not specify a CPU limit for a container, then the downward API defaults to the
  # node allocatable value for CPU and memory" (downward-api/#fallback-information-for-resource-limits).

  # e2e: test/e2e/common/node/downwardapi.go, "should provide pod name, namespace and IP address
  # as env vars" and "should provide host IP as an env var".
  # conformance: [sig-node] Downward API should provide pod name, namespace and IP address as env vars [NodeConformance] [Conformance]
  # conformance: [sig-node] Downward API should provide host IP as an env var [NodeConformance] [Conformance]
  @conformance
  Scenario: Pod fields reach the container as environment variables
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downward
        labels:
          tier: front
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          env:
          - name: POD_NAME
            valueFrom:
              fieldRef:
                fieldPath: metadata.name
          - name: POD_NAMESPACE
            valueFrom:
              fieldRef:
                fieldPath: metadata.namespace
          - name: POD_IP
            valueFrom:
              fieldRef:
                fieldPath: status.podIP
          - name: HOST_IP
            valueFrom:
              fieldRef:
                fieldPath: status.hostIP
          - name: TIER
            valueFrom:
              fieldRef:
                fieldPath: metadata.labels['tier']
          - name: PLAIN
            value: as-written
      """
    Then running "echo $POD_NAME" in container "app" of pod "downward" prints "downward"
    And running "echo $POD_NAMESPACE" in container "app" of pod "downward" prints "{{namespace}}"
    And running "echo $POD_IP" in container "app" of pod "downward" prints "{{ip:downward}}"
    And running "echo $HOST_IP" in container "app" of pod "downward" prints "{{hostip:downward}}"
    And running "echo $TIER" in container "app" of pod "downward" prints "front"
    And running "echo $PLAIN" in container "app" of pod "downward" prints "as-written"

  # e2e: test/e2e/common/node/downwardapi.go, "should provide container's limits.cpu/memory and
  # requests.cpu/memory as env vars" (requests, with divisors) and "should provide default
  # limits.cpu/memory from node allocatable" (no limits: the node's allocatable, which the
  # reference node does not reduce: all its CPUs and MemTotal).
  Scenario: Container resources reach the container, and missing limits are the node's allocatable
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: resources
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          resources:
            requests:
              cpu: 250m
              memory: 32Mi
          env:
          - name: CPU_REQUEST
            valueFrom:
              resourceFieldRef:
                resource: requests.cpu
                divisor: 1m
          - name: CPU_REQUEST_CORES
            valueFrom:
              resourceFieldRef:
                resource: requests.cpu
          - name: MEMORY_REQUEST
            valueFrom:
              resourceFieldRef:
                resource: requests.memory
                divisor: 1Mi
          - name: CPU_LIMIT
            valueFrom:
              resourceFieldRef:
                resource: limits.cpu
          - name: MEMORY_LIMIT
            valueFrom:
              resourceFieldRef:
                resource: limits.memory
      """
    Then running "echo $CPU_REQUEST" in container "app" of pod "resources" prints "250"
    And running "echo $CPU_REQUEST_CORES" in container "app" of pod "resources" prints "1"
    And running "echo $MEMORY_REQUEST" in container "app" of pod "resources" prints "32"
    And running "[ $CPU_LIMIT -eq $(grep -c ^processor /proc/cpuinfo) ] && echo node-cpus" in container "app" of pod "resources" prints "node-cpus"
    And running "[ $MEMORY_LIMIT -eq $(( $(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d ' ' -f 2) * 1024 )) ] && echo node-memory" in container "app" of pod "resources" prints "node-memory"

  # "workingDir: Container's working directory. If not specified, the container runtime's
  # default will be used" (kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/);
  # the runtime under Kubernetes (runc) creates a working directory the image lacks.
  Scenario: A working directory the image lacks is created
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: workdir
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          workingDir: /work/here
      """
    Then running "pwd" in container "app" of pod "workdir" prints "/work/here"

  # "Environment variables may reference variables defined earlier ... $(VAR_NAME)"; "You can
  # use $$ to escape"; references to undefined names are left as written.
  #   kubernetes.io/docs/tasks/inject-data-application/define-interdependent-environment-variables/
  # e2e: test/e2e/common/node/downwardapi.go, "should provide container's limits.cpu/memory and
  # requests.cpu/memory as env vars": the testDownwardAPI pod (requests 250m/32Mi, limits
  # 1250m/64Mi) runs env; CPU values are rounded up to whole cores, memory is in bytes.
  # conformance: [sig-node] Downward API should provide container's limits.cpu/memory and requests.cpu/memory as env vars [NodeConformance] [Conformance]
  @conformance
  Scenario: Limits and requests reach the container as environment variables, CPU rounded up to cores
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downward-api
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: dapi-container
          image: busybox:1.36
          command: ["sh", "-c", "env"]
          resources:
            requests:
              cpu: 250m
              memory: 32Mi
            limits:
              cpu: 1250m
              memory: 64Mi
          env:
          - name: CPU_LIMIT
            valueFrom:
              resourceFieldRef:
                resource: limits.cpu
          - name: MEMORY_LIMIT
            valueFrom:
              resourceFieldRef:
                resource: limits.memory
          - name: CPU_REQUEST
            valueFrom:
              resourceFieldRef:
                resource: requests.cpu
          - name: MEMORY_REQUEST
            valueFrom:
              resourceFieldRef:
                resource: requests.memory
      """
    Then pod "downward-api" is in phase "Succeeded"
    And the log of container "dapi-container" of pod "downward-api" has the lines:
      """
      CPU_LIMIT=2
      MEMORY_LIMIT=67108864
      CPU_REQUEST=1
      MEMORY_REQUEST=33554432
      """

  # e2e: test/e2e/common/node/downwardapi.go, "should provide hostIPs as an env var" (conformance
  # from Kubernetes 1.35's list): testDownwardAPI's pod (busybox, `sh -c env`, restartPolicy Never)
  # and its expectation, a line `HOST_IP=<an IPv4 or IPv6 address>`. Its It body, as released, sets
  # HOST_IP from status.hostIP (its name says hostIPs); this scenario checks that line, with the
  # node's address, and HOST_IPS from status.hostIPs, which the downward API gives as the pod's
  # host IPs joined by commas (one address on a single-stack node).
  # conformance: [sig-node] Downward API should provide hostIPs as an env var [NodeConformance] [Conformance]
  @conformance
  Scenario: The host's IPs reach the container as environment variables
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downward-api
        labels:
          name: downward-api
      spec:
        restartPolicy: Never
        containers:
        - name: dapi-container
          image: busybox:1.36
          command: ["sh", "-c", "env"]
          resources:
            requests:
              cpu: 250m
              memory: 32Mi
            limits:
              cpu: 1250m
              memory: 64Mi
          env:
          - name: HOST_IP
            valueFrom:
              fieldRef:
                apiVersion: v1
                fieldPath: status.hostIP
          - name: HOST_IPS
            valueFrom:
              fieldRef:
                apiVersion: v1
                fieldPath: status.hostIPs
      """
    Then pod "downward-api" is in phase "Succeeded"
    And the log of container "dapi-container" of pod "downward-api" has the lines:
      """
      HOST_IP={{hostip:downward-api}}
      HOST_IPS={{hostip:downward-api}}
      """
    And field "status.hostIPs[0].ip" of pod "downward-api" equals its field "status.hostIP"

  # e2e: downwardapi.go, "should provide default limits.cpu/memory from node allocatable": a pod
  # without resources; its env has CPU_LIMIT and MEMORY_LIMIT matching =[1-9] (the node's
  # allocatable, whatever it is). The e2e test matches those patterns in the output of env; here
  # the container's shell matches the same patterns in the same env and says so.
  # conformance: [sig-node] Downward API should provide default limits.cpu/memory from node allocatable [NodeConformance] [Conformance]
  @conformance
  Scenario: Without limits the container's limits are the node's allocatable
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downward-api-default
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: dapi-container
          image: busybox:1.36
          command: ["sh", "-c", "env | grep -E '^CPU_LIMIT=[1-9]' >/dev/null && echo cpu-limit-set; env | grep -E '^MEMORY_LIMIT=[1-9]' >/dev/null && echo memory-limit-set"]
          env:
          - name: CPU_LIMIT
            valueFrom:
              resourceFieldRef:
                resource: limits.cpu
          - name: MEMORY_LIMIT
            valueFrom:
              resourceFieldRef:
                resource: limits.memory
      """
    Then pod "downward-api-default" is in phase "Succeeded"
    And the log of container "dapi-container" of pod "downward-api-default" is:
      """
      cpu-limit-set
      memory-limit-set
      """

  # e2e: test/e2e/common/node/downwardapi.go, "should provide pod UID as env vars" (testDownwardAPI:
  # a restartPolicy Never pod with these resources runs env; its output has POD_UID= and a UID,
  # which here must be the pod's own metadata.uid).
  # conformance: [sig-node] Downward API should provide pod UID as env vars [NodeConformance] [Conformance]
  @conformance
  Scenario: The pod's UID reaches the container as an environment variable
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: downward-api
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: dapi-container
          image: busybox:1.36
          command: ["sh", "-c", "env"]
          resources:
            requests:
              cpu: 250m
              memory: 32Mi
            limits:
              cpu: 1250m
              memory: 64Mi
          env:
          - name: POD_UID
            valueFrom:
              fieldRef:
                apiVersion: v1
                fieldPath: metadata.uid
      """
    Then pod "downward-api" is in phase "Succeeded"
    And the log of container "dapi-container" of pod "downward-api" has the lines:
      """
      POD_UID={{uid:downward-api}}
      """

  # e2e: test/e2e/common/node/expansion.go, "should allow substituting values in a container's
  # command": the kubelet expands $(TEST_VAR) in the command before the shell sees it (the shell
  # would run $(...) as a command), so the shell's own TEST_VAR=wrong does not matter and the
  # container prints test-value.
  # conformance: [sig-node] Variable Expansion should allow substituting values in a container's command [NodeConformance] [Conformance]
  @conformance
  Scenario: $(VAR) references are expanded in the command
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: var-expansion
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: dapi-container
          image: busybox:1.36
          command: ["sh", "-c", "TEST_VAR=wrong echo \"$(TEST_VAR)\""]
          env:
          - name: TEST_VAR
            value: test-value
      """
    Then pod "var-expansion" is in phase "Succeeded"
    And the log of container "dapi-container" of pod "var-expansion" is:
      """
      test-value
      """

  # e2e: test/e2e/common/node/expansion.go, "should allow composing env vars into new env vars"
  # and "should allow substituting values in a container's args".
  # conformance: [sig-node] Variable Expansion should allow composing env vars into new env vars [NodeConformance] [Conformance]
  # conformance: [sig-node] Variable Expansion should allow substituting values in a container's args [NodeConformance] [Conformance]
  @conformance
  Scenario: $(VAR) references are expanded in env values and args
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: expansion
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c"]
          args: ["echo $(GREETING) > /tmp/said; sleep 3600"]
          env:
          - name: WHO
            value: world
          - name: GREETING
            value: hello-$(WHO)
          - name: ESCAPED
            value: $$(WHO)
          - name: UNDEFINED
            value: $(NOBODY)-x
      """
    Then running "echo $GREETING" in container "app" of pod "expansion" prints "hello-world"
    And running "cat /tmp/said" in container "app" of pod "expansion" eventually prints "hello-world"
    And running "env | grep ^ESCAPED=" in container "app" of pod "expansion" prints "ESCAPED=$(WHO)"
    And running "env | grep ^UNDEFINED=" in container "app" of pod "expansion" prints "UNDEFINED=$(NOBODY)-x"

  # "subPathExpr: Expanded path within the volume from which the container's volume should be
  # mounted. Behaves similarly to SubPath but environment variable references $(VAR_NAME) are
  # expanded using the container's environment" (kubernetes.io/docs/reference/kubernetes-api/
  # workload-resources/pod-v1/#volumes). The kubelet expands it when it makes the container
  # (pkg/kubelet/kubelet_pods.go makeMounts): each $(VAR) must name a variable with a value, and
  # the result is then checked as a subPath is (no absolute path, no '..'); else the container
  # waits with CreateContainerConfigError and the kubelet's text.
  #
  # e2e: test/e2e/common/node/expansion.go, "should allow substituting values in a volume
  # subpath": the mount at /logscontainer is the volume's directory named by $(POD_NAME), made
  # by the kubelet, so the whole volume at /testcontainer holds it and the container prints 0.
  # conformance: [sig-node] Variable Expansion should allow substituting values in a volume subpath [Conformance]
  @conformance
  Scenario: $(VAR) references are expanded in a volume mount's subPathExpr
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: var-expansion-subpath
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: dapi-container
          image: busybox:1.36
          command: ["sh", "-c", "test -d /testcontainer/var-expansion-subpath;echo $?"]
          env:
          - name: POD_NAME
            value: var-expansion-subpath
          volumeMounts:
          - name: workdir1
            mountPath: /logscontainer
            subPathExpr: $(POD_NAME)
          - name: workdir1
            mountPath: /testcontainer
        volumes:
        - name: workdir1
          emptyDir: {}
      """
    Then pod "var-expansion-subpath" is in phase "Succeeded"
    And the log of container "dapi-container" of pod "var-expansion-subpath" is:
      """
      0
      """

  # e2e: test/e2e/common/node/expansion.go, "should fail substituting values in a volume subpath
  # with absolute path": $(POD_NAME) is /tmp, an absolute path, and the container fails with
  # CreateContainerConfigError (the e2e test checks the reason; the message is the kubelet's).
  # conformance: [sig-node] Variable Expansion should fail substituting values in a volume subpath with absolute path [Conformance]
  @conformance
  Scenario: A subPathExpr that expands to an absolute path is CreateContainerConfigError
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: var-expansion-absolute
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: dapi-container
          image: busybox:1.36
          env:
          - name: POD_NAME
            value: /tmp
          volumeMounts:
          - name: workdir1
            mountPath: /logscontainer
            subPathExpr: $(POD_NAME)
        volumes:
        - name: workdir1
          emptyDir: {}
      """
    Then field "status.containerStatuses[name=dapi-container].state.waiting.reason" of pod "var-expansion-absolute" is "CreateContainerConfigError"
    And field "status.containerStatuses[name=dapi-container].state.waiting.message" of pod "var-expansion-absolute" is "error SubPath `/tmp` must not be an absolute path"
    And field "status.containerStatuses[name=dapi-container].state.running" of pod "var-expansion-absolute" is absent

  # e2e: test/e2e/common/node/expansion.go, "should fail substituting values in a volume subpath
  # with backticks": despite its name the test's $(POD_NAME) is "..", which would leave the
  # volume, and the container fails with CreateContainerConfigError. (Backticks would not be run
  # either: no shell sees the path.)
  # conformance: [sig-node] Variable Expansion should fail substituting values in a volume subpath with backticks [Conformance]
  @conformance
  Scenario: A subPathExpr that expands to '..' is CreateContainerConfigError
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: var-expansion-backsteps
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: dapi-container
          image: busybox:1.36
          env:
          - name: POD_NAME
            value: ..
          volumeMounts:
          - name: workdir1
            mountPath: /logscontainer
            subPathExpr: $(POD_NAME)
        volumes:
        - name: workdir1
          emptyDir: {}
      """
    Then field "status.containerStatuses[name=dapi-container].state.waiting.reason" of pod "var-expansion-backsteps" is "CreateContainerConfigError"
    And field "status.containerStatuses[name=dapi-container].state.waiting.message" of pod "var-expansion-backsteps" is "unable to provision SubPath `..`: must not contain '..'"
    And field "status.containerStatuses[name=dapi-container].state.running" of pod "var-expansion-backsteps" is absent

  # e2e: test/e2e/common/node/expansion.go, "should succeed in writing subpaths in container":
  # the subPathExpr $(ANNOTATION)/$(POD_NAME) takes ANNOTATION from the pod's annotation through
  # the downward API; a file written at mypath/foo in the whole volume is in the subPath mount;
  # a new value of the annotation leaves the running container as it is, and the pod is deleted
  # gracefully. The e2e pod keeps the default 30 s grace period, which `tail` as the container's
  # first process (it ignores SIGTERM) would use in full; 1 s is as graceful and shorter.
  # conformance: [sig-node] Variable Expansion should succeed in writing subpaths in container [Conformance]
  @conformance
  Scenario: A subPathExpr from the downward API is written through, and a new annotation leaves the container running
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: var-expansion-writes
        annotations:
          mysubpath: mypath
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 1
        containers:
        - name: dapi-container
          image: busybox:1.36
          command: ["sh", "-c", "tail -f /dev/null"]
          env:
          - name: POD_NAME
            value: foo
          - name: ANNOTATION
            valueFrom:
              fieldRef:
                apiVersion: v1
                fieldPath: metadata.annotations['mysubpath']
          volumeMounts:
          - name: workdir1
            mountPath: /subpath_mount
            subPathExpr: $(ANNOTATION)/$(POD_NAME)
          - name: workdir1
            mountPath: /volume_mount
        volumes:
        - name: workdir1
          emptyDir: {}
      """
    Then running "touch /volume_mount/mypath/foo/test.log" in container "dapi-container" of pod "var-expansion-writes" succeeds
    And running "test -f /subpath_mount/test.log" in container "dapi-container" of pod "var-expansion-writes" succeeds
    When I patch pod "var-expansion-writes" with:
      """
      metadata:
        annotations: {mysubpath: mynewpath}
      """
    Then the request succeeds
    And container "dapi-container" of pod "var-expansion-writes" is running with restart count 0
    And running "test -f /subpath_mount/test.log" in container "dapi-container" of pod "var-expansion-writes" succeeds
    When I delete pod "var-expansion-writes"
    Then pod "var-expansion-writes" is gone

  # e2e: test/e2e/common/node/expansion.go, "should verify that a failing subpath expansion can
  # be modified during the lifecycle of a container": the pod lacks the annotation the
  # subPathExpr needs, so the container cannot be made and the pod stays Pending (the e2e test
  # waits PodStartShortTimeout, 2 min; 5 s here, past the kubelet's retry); once the annotation
  # is added, the kubelet's next try expands it and the pod runs, with the subPath the new value
  # names. Deleted gracefully, as above.
  # conformance: [sig-node] Variable Expansion should verify that a failing subpath expansion can be modified during the lifecycle of a container [Slow] [Conformance]
  @conformance
  Scenario: A subPathExpr missing a value waits until the pod's annotation gives it
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: var-expansion-later
        annotations:
          notmysubpath: mypath
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 1
        containers:
        - name: dapi-container
          image: busybox:1.36
          command: ["sh", "-c", "tail -f /dev/null"]
          env:
          - name: POD_NAME
            value: foo
          - name: ANNOTATION
            valueFrom:
              fieldRef:
                apiVersion: v1
                fieldPath: metadata.annotations['mysubpath']
          volumeMounts:
          - name: workdir1
            mountPath: /subpath_mount
            subPathExpr: $(ANNOTATION)/$(POD_NAME)
          - name: workdir1
            mountPath: /volume_mount
        volumes:
        - name: workdir1
          emptyDir: {}
      """
    Then field "status.containerStatuses[name=dapi-container].state.waiting.reason" of pod "var-expansion-later" is "CreateContainerConfigError"
    And field "status.containerStatuses[name=dapi-container].state.waiting.message" of pod "var-expansion-later" is "missing value for ANNOTATION"
    And pod "var-expansion-later" stays in phase "Pending" for 5 seconds
    When I patch pod "var-expansion-later" with:
      """
      metadata:
        annotations: {mysubpath: mypath}
      """
    Then the request succeeds
    And pod "var-expansion-later" is running
    And running "touch /subpath_mount/test.log && test -f /volume_mount/mypath/foo/test.log" in container "dapi-container" of pod "var-expansion-later" succeeds
    When I delete pod "var-expansion-later"
    Then pod "var-expansion-later" is gone

  # A container's process starts with every signal's default action, as a runtime gives it
  # (runc's own process handles SIGPIPE, so exec leaves it at its default): a writer whose reader
  # has gone is ended by SIGPIPE (status 141 in the shell), in the container's command and in an
  # exec alike.
  Scenario: A process that writes to a closed pipe is ended by SIGPIPE
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: pipes
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "(yes; echo $? > /tmp/status) | head -n 1; exec sleep 3600"]
      """
    Then running "until [ -s /tmp/status ]; do sleep 0.1; done; cat /tmp/status" in container "app" of pod "pipes" prints "141"
    And running "(yes; echo $? > /tmp/exec-status) | head -n 1 >/dev/null; cat /tmp/exec-status" in container "app" of pod "pipes" prints "141"
