@logs @conformance
Feature: A container's log is what it wrote to stdout and stderr
  # "kubectl logs ... Print the logs for a container in a pod"; "The easiest and most adopted
  # logging method for containerized applications is writing to standard output and standard
  # error streams." ... "By default, if a container restarts, the kubelet keeps one terminated
  # container with its logs."  kubernetes.io/docs/concepts/cluster-administration/logging/
  # On a CRI node the runtime writes the streams to the log file the kubelet names
  # (<pod log dir>/<container>/<attempt>.log) in the CRI log format, and the kubelet reads it.

  # conformance: [sig-node] Kubelet when scheduling a busybox command in a pod should print the output to logs [NodeConformance] [Conformance]
  #   (test/e2e/common/node/kubelet.go)
  Scenario: A container's log holds what it wrote to stdout and stderr, line by line
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: talker
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "echo 'Hello World'; sleep 0.2; echo 'to stderr' >&2; sleep 0.2; echo; echo done; sleep 3600"]
      """
    Then the log of container "app" of pod "talker" is:
      """
      Hello World
      to stderr

      done
      """

  Scenario: Each container of a pod has a log of its own
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: two-talkers
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: first
          image: busybox:1.36
          command: ["sh", "-c", "echo from first; sleep 3600"]
        - name: second
          image: busybox:1.36
          command: ["sh", "-c", "echo from second; sleep 3600"]
      """
    Then the log of container "first" of pod "two-talkers" is:
      """
      from first
      """
    And the log of container "second" of pod "two-talkers" is:
      """
      from second
      """

  # The log a container's name gives is that of its current instance: a restarted container
  # writes a new log (kubectl logs --previous shows the one before).
  Scenario: After a restart the log is the new instance's
    Given a pod "again":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: again
      spec:
        restartPolicy: OnFailure
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sh", "-c", "if [ -e /data/ran ]; then echo second run; exit 0; fi; touch /data/ran; echo first run; exit 3"]
          volumeMounts:
          - {name: data, mountPath: /data}
        volumes:
        - name: data
          emptyDir: {}
      """
    Then pod "again" is in phase "Succeeded"
    And field "status.containerStatuses[name=app].restartCount" of pod "again" is "1"
    And the log of container "app" of pod "again" is:
      """
      second run
      """
