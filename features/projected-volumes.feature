@storage
Feature: A projected volume with downwardAPI sources holds the pod's fields and its containers' resources as files
  # "A projected volume maps several existing volume sources into the same directory ...
  # downwardAPI, secret, configMap, serviceAccountToken, clusterTrustBundle."
  # "Each projected volume source is listed in the spec under sources ... the defaultMode can only
  # be specified at the projected level and not for each volume source. However, you can specify
  # the mode explicitly for each individual projection."
  #   kubernetes.io/docs/concepts/storage/projected-volumes/
  #
  # The e2e tests mirrored: test/e2e/common/storage/projected_downwardapi.go, the same tests as
  # downwardapi_volume.go with the items in one downwardAPI source of a projected volume and the
  # defaultMode on the projected volume (see features/downward-api-volumes.feature). Sources of
  # ConfigMaps, Secrets and ServiceAccount tokens are refused up front, naming the field, until
  # the API holds those objects. Modes are written in octal (0400 is 256).

  # conformance: [sig-storage] Projected downwardAPI should provide podname only [NodeConformance] [Conformance]
  @conformance
  Scenario: The pod's name is a file of the volume, in a projected volume
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: projected-volume-podname
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/podinfo/podname"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
            readOnly: false
        volumes:
        - name: podinfo
          projected:
            sources:
            - downwardAPI:
                items:
                - path: podname
                  fieldRef:
                    apiVersion: v1
                    fieldPath: metadata.name
      """
    Then pod "projected-volume-podname" is in phase "Succeeded"
    And the log of container "client-container" of pod "projected-volume-podname" is:
      """
      content of file "/etc/podinfo/podname": projected-volume-podname
      """

  # "should set DefaultMode on files" (defaultMode 0400) and "should set mode on item file" (the
  # item's mode 0400): either way the file reads -r--------.
  # conformance: [sig-storage] Projected downwardAPI should set DefaultMode on files [LinuxOnly] [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected downwardAPI should set mode on item file [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: A file's mode is <set by> 0400, in a projected volume
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: projected-volume-mode
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_mode=/etc/podinfo/podname"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          projected: <volume>
      """
    Then pod "projected-volume-mode" is in phase "Succeeded"
    And the log of container "client-container" of pod "projected-volume-mode" is:
      """
      mode of file "/etc/podinfo/podname": -r--------
      """

    Examples:
      | set by          | volume                                                                                                  |
      | the defaultMode | {defaultMode: 0400, sources: [{downwardAPI: {items: [{path: podname, fieldRef: {fieldPath: metadata.name}}]}}]} |
      | the item's mode | {sources: [{downwardAPI: {items: [{path: podname, mode: 0400, fieldRef: {fieldPath: metadata.name}}]}}]}       |

  # "should provide container's cpu limit" (2: 1250m rounded up to whole cores), "memory limit"
  # (67108864: 64Mi), "cpu request" (1: 250m rounded up) and "memory request" (33554432: 32Mi).
  # conformance: [sig-storage] Projected downwardAPI should provide container's cpu limit [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected downwardAPI should provide container's memory limit [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected downwardAPI should provide container's cpu request [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected downwardAPI should provide container's memory request [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: The container's <resource> is the file <file>, in a projected volume
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: projected-volume-resources
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_content=/etc/podinfo/<file>"]
          resources:
            requests: {cpu: 250m, memory: 32Mi}
            limits: {cpu: 1250m, memory: 64Mi}
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          projected:
            sources:
            - downwardAPI:
                items:
                - {path: podname, fieldRef: {fieldPath: metadata.name}}
                - {path: cpu_limit, resourceFieldRef: {containerName: client-container, resource: limits.cpu}}
                - {path: cpu_request, resourceFieldRef: {containerName: client-container, resource: requests.cpu}}
                - {path: memory_limit, resourceFieldRef: {containerName: client-container, resource: limits.memory}}
                - {path: memory_request, resourceFieldRef: {containerName: client-container, resource: requests.memory}}
      """
    Then pod "projected-volume-resources" is in phase "Succeeded"
    And the log of container "client-container" of pod "projected-volume-resources" is:
      """
      content of file "/etc/podinfo/<file>": <value>
      """

    Examples:
      | resource       | file           | value    |
      | cpu limit      | cpu_limit      | 2        |
      | memory limit   | memory_limit   | 67108864 |
      | cpu request    | cpu_request    | 1        |
      | memory request | memory_request | 33554432 |

  # "should provide node allocatable (cpu|memory) as default (cpu|memory) limit if the limit is
  # not set": a container without resources; the file matches [1-9] (TestContainerOutputRegexp).
  # Here the container's shell checks that the file is a whole positive number and says so.
  # conformance: [sig-storage] Projected downwardAPI should provide node allocatable (cpu) as default cpu limit if the limit is not set [NodeConformance] [Conformance]
  # conformance: [sig-storage] Projected downwardAPI should provide node allocatable (memory) as default memory limit if the limit is not set [NodeConformance] [Conformance]
  @conformance
  Scenario Outline: Without a <resource> limit the file holds the node's allocatable <resource>, in a projected volume
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: projected-volume-allocatable
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["sh", "-c", "grep -Eqx '[1-9][0-9]*' /etc/podinfo/<file> && echo <file> is a positive number"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          projected:
            sources:
            - downwardAPI:
                items:
                - {path: cpu_limit, resourceFieldRef: {containerName: client-container, resource: limits.cpu}}
                - {path: memory_limit, resourceFieldRef: {containerName: client-container, resource: limits.memory}}
      """
    Then pod "projected-volume-allocatable" is in phase "Succeeded"
    And the log of container "client-container" of pod "projected-volume-allocatable" is:
      """
      <file> is a positive number
      """

    Examples:
      | resource | file         |
      | cpu      | cpu_limit    |
      | memory   | memory_limit |

  # "should update labels on modification": the pod has labels key1 and key2 and a "labels" item
  # (metadata.labels); once key1="value1" is seen, key3=value3 is added to the pod, and the file
  # must show key3="value3". The kubelet writes the labels as sorted key="value" lines.
  # conformance: [sig-storage] Projected downwardAPI should update labels on modification [NodeConformance] [Conformance]
  @conformance @api-server
  Scenario: A label added to the running pod reaches the labels file, in a projected volume
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: projected-labelsupdate
        labels: {key1: value1, key2: value2}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          projected:
            sources:
            - downwardAPI:
                items:
                - {path: podname, fieldRef: {fieldPath: metadata.name}}
                - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      """
    Then running "cat /etc/podinfo/labels" in container "client-container" of pod "projected-labelsupdate" prints:
      """
      key1="value1"
      key2="value2"
      """
    When I patch pod "projected-labelsupdate" with:
      """
      metadata:
        labels: {key3: value3}
      """
    Then the request succeeds
    And running "cat /etc/podinfo/labels" in container "client-container" of pod "projected-labelsupdate" eventually prints:
      """
      key1="value1"
      key2="value2"
      key3="value3"
      """

  # "should update annotations on modification": annotation builder=bar, then builder=foo.
  # conformance: [sig-storage] Projected downwardAPI should update annotations on modification [NodeConformance] [Conformance]
  @conformance @api-server
  Scenario: A changed annotation of the running pod reaches the annotations file, in a projected volume
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: projected-annotationupdate
        annotations: {builder: bar}
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          projected:
            sources:
            - downwardAPI:
                items:
                - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      """
    Then running "cat /etc/podinfo/annotations" in container "client-container" of pod "projected-annotationupdate" prints:
      """
      builder="bar"
      """
    When I patch pod "projected-annotationupdate" with:
      """
      metadata:
        annotations: {builder: foo}
      """
    Then the request succeeds
    And running "cat /etc/podinfo/annotations" in container "client-container" of pod "projected-annotationupdate" eventually prints:
      """
      builder="foo"
      """

  # "the defaultMode can only be specified at the projected level": several sources are
  # joined in one directory, each file with its item's mode or the volume's.
  Scenario: Two downwardAPI sources are joined in one directory with the projected defaultMode
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: projected-joined
        labels: {app: web}
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: client-container
          image: busybox:1.36
          command: ["podspec-agent", "mounttest", "--file_mode=/etc/podinfo/podname", "--file_content=/etc/podinfo/meta/app"]
          volumeMounts:
          - name: podinfo
            mountPath: /etc/podinfo
        volumes:
        - name: podinfo
          projected:
            defaultMode: 0440
            sources:
            - downwardAPI:
                items:
                - {path: podname, fieldRef: {fieldPath: metadata.name}}
            - downwardAPI:
                items:
                - {path: meta/app, mode: 0400, fieldRef: {fieldPath: "metadata.labels['app']"}}
      """
    Then pod "projected-joined" is in phase "Succeeded"
    And the log of container "client-container" of pod "projected-joined" is:
      """
      mode of file "/etc/podinfo/podname": -r--r-----
      content of file "/etc/podinfo/meta/app": web
      """
