@hostname @conformance
Feature: The hostname inside a pod is the pod's name, or its spec.hostname and subdomain
  # "Containers within the Pod see the system hostname as being the same as the configured name
  # for the Pod."  kubernetes.io/docs/concepts/workloads/pods/ ("Pod networking")
  # "Currently when a Pod is created, its hostname is the Pod's metadata.name value. [...] The Pod
  # spec has an optional hostname field [...] When specified, it takes precedence over the Pod's
  # name to be the hostname of the Pod. [...] a Pod with hostname set to "foo", and subdomain set
  # to "bar", in namespace "my-namespace", will have the fully qualified domain name (FQDN)
  # "foo.bar.my-namespace.svc.cluster-domain.example"."
  #   kubernetes.io/docs/concepts/services-networking/dns-pod-service/ ("Pod's hostname and subdomain fields")

  Scenario: Every container of a pod sees the pod name as its hostname
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in every container of pod "two-containers" prints "two-containers"

  Scenario: spec.hostname overrides the pod name
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: named-by-spec
      spec:
        hostname: front
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "hostname" in container "app" of pod "named-by-spec" prints "front"

  # e2e: test/e2e/network/dns.go, "should provide DNS for pods for Hostname"; the kubelet-managed
  # /etc/hosts (test/e2e/common/node/kubelet_etc_hosts.go) carries the FQDN.
  Scenario: With spec.subdomain the fully qualified name is hostname.subdomain.namespace.svc.cluster.local
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: with-subdomain
      spec:
        hostname: foo
        subdomain: bar
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "hostname" in container "app" of pod "with-subdomain" prints "foo"
    And running "hostname -f" in container "app" of pod "with-subdomain" prints "foo.bar.{{namespace}}.svc.cluster.local"

  # Pod networking: "Each Pod is assigned a unique IP address".
  Scenario: Two pods have different hostnames and different IPs
    Given a running pod "one" from fixture "two-containers.yaml"
    And a running pod "two" from fixture "two-containers.yaml"
    Then running "hostname" in pods "one" and "two" prints different values
    And pods "one" and "two" have different IPs

  # "When a Pod is configured to have fully qualified domain name (FQDN), its hostname is the
  # short hostname. ... If you set setHostnameAsFQDN: true in the Pod spec, the kubelet writes
  # the Pod's FQDN into the hostname for that Pod's namespace. In this case, both hostname and
  # hostname --fqdn return the Pod's FQDN."
  #   kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-sethostnameasfqdn-field
  Scenario: With setHostnameAsFQDN the hostname is the fully qualified name
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: fqdn
      spec:
        hostname: foo
        subdomain: bar
        setHostnameAsFQDN: true
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "hostname" in container "app" of pod "fqdn" prints "foo.bar.{{namespace}}.svc.cluster.local"
    And running "echo $HOSTNAME" in container "app" of pod "fqdn" prints "foo.bar.{{namespace}}.svc.cluster.local"

  # A pod name is any DNS subdomain of up to 253 characters (ValidatePodName, NameIsDNSSubdomain);
  # the hostname is a label of at most 63: the kubelet cuts the name to 63 characters and drops
  # trailing '-' and '.' (pkg/kubelet/kubelet_pods.go truncatePodHostnameIfNeeded).
  Scenario: A pod name longer than 63 characters is cut to 63 for the hostname
    Given a running pod "a-pod-name-that-is-longer-than-sixty-three-characters-abcdefghijklm":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: long
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "hostname" in container "app" of pod "a-pod-name-that-is-longer-than-sixty-three-characters-abcdefghijklm" prints "a-pod-name-that-is-longer-than-sixty-three-characters-abcdefghi"

  # "Adding entries to a Pod's /etc/hosts file provides Pod-level override of hostname resolution
  # ... you can add these custom entries with the HostAliases field in PodSpec."
  #   kubernetes.io/docs/tasks/network/customize-hosts-file-for-pods/
  # e2e: test/e2e/common/node/kubelet.go, "when scheduling an agnhost Pod with hostAliases should
  # write entries to /etc/hosts": a pod with restartPolicy Never prints its /etc/hosts, and its
  # log holds the line 123.45.67.89<TAB>foo<TAB>bar (the tabs are literal in the docstring below).
  # conformance: [sig-node] Kubelet when scheduling an agnhost Pod with hostAliases should write entries to /etc/hosts [NodeConformance] [Conformance]
  Scenario: hostAliases are written into the kubelet-managed /etc/hosts, an IP and its names on a line
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: agnhost-host-aliases
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        hostAliases:
        - ip: 123.45.67.89
          hostnames: ["foo", "bar"]
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["cat", "/etc/hosts"]
      """
    Then pod "agnhost-host-aliases" is in phase "Succeeded"
    And the log of container "agnhost-container" of pod "agnhost-host-aliases" has the lines:
      """
      123.45.67.89	foo	bar
      """

  # The kubelet manages /etc/hosts in a pod's containers (pkg/kubelet/kubelet_pods.go): makeMounts
  # mounts the kubelet's hosts file into each container unless the container mounts something at
  # /etc/hosts itself; ensureHostsFile writes it from the pod's IP and hostname, "# Kubernetes-managed
  # hosts file." first, for a pod of its own network, and copies the node's /etc/hosts for a
  # hostNetwork pod (the reference node's own file: crates/podspec-node/src/kubelet/hosts.rs node_hosts_file).
  # conformance: [sig-node] KubeletManagedEtcHosts should test kubelet managed /etc/hosts file [NodeConformance] [Conformance]
  #   (test/e2e/common/node/kubelet_etc_hosts.go) Pod test-pod (not hostNetwork): in busybox-1
  #   and busybox-2 /etc/hosts is kubelet-managed; in busybox-3, which mounts a file of its own at
  #   /etc/hosts, it is not. Pod test-host-network-pod (hostNetwork): in busybox-1 and busybox-2 it
  #   is not. The e2e calls a file managed when it begins with "# Kubernetes-managed hosts file."
  #   and differs from the node's /etc/hosts, which each container mounts at /etc/hosts-original
  #   by a hostPath volume (busybox-3 at /etc/hosts too). A hostPath of the machine's /etc/hosts
  #   is never handed to a pod on the reference node, so here: the file of busybox-3 is one an init
  #   container wrote into an emptyDir, mounted by subPath at /etc/hosts and /etc/hosts-original,
  #   and /etc/hosts shows exactly that file; managed is shown by the header and by the line of the
  #   pod's IP and hostname (the file is made from the pod, not the node); not managed on the host
  #   network by the header's absence (the e2e's comparison with the node's file adds nothing on
  #   a node whose own /etc/hosts has no such header, and no node's has).
  @host-access
  Scenario: The kubelet manages /etc/hosts unless the container mounts its own or the pod uses the host network
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: test-pod
      spec:
        terminationGracePeriodSeconds: 0
        initContainers:
        - name: own-hosts-file
          image: busybox:1.36
          command: ["sh", "-c", "echo '10.9.8.7 own-hosts-file' > /hosts-volume/hosts"]
          volumeMounts:
          - {name: own-etc-hosts, mountPath: /hosts-volume}
        containers:
        - name: busybox-1
          image: busybox:1.36
          command: ["sleep", "3600"]
        - name: busybox-2
          image: busybox:1.36
          command: ["sleep", "3600"]
        - name: busybox-3
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: own-etc-hosts, mountPath: /etc/hosts-original, subPath: hosts}
          - {name: own-etc-hosts, mountPath: /etc/hosts, subPath: hosts}
        volumes:
        - name: own-etc-hosts
          emptyDir: {}
      """
    And a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: test-host-network-pod
      spec:
        terminationGracePeriodSeconds: 0
        hostNetwork: true
        securityContext: {}
        containers:
        - name: busybox-1
          image: busybox:1.36
          command: ["sleep", "3600"]
        - name: busybox-2
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "head -n 1 /etc/hosts" in container "busybox-1" of pod "test-pod" prints "# Kubernetes-managed hosts file."
    And running "grep -w test-pod /etc/hosts | tr '\t' ' '" in container "busybox-1" of pod "test-pod" prints "{{ip:test-pod}} test-pod"
    And running "head -n 1 /etc/hosts" in container "busybox-2" of pod "test-pod" prints "# Kubernetes-managed hosts file."
    And running "grep -w test-pod /etc/hosts | tr '\t' ' '" in container "busybox-2" of pod "test-pod" prints "{{ip:test-pod}} test-pod"
    And running "cat /etc/hosts" in container "busybox-3" of pod "test-pod" prints "10.9.8.7 own-hosts-file"
    And running "cmp /etc/hosts /etc/hosts-original && echo same" in container "busybox-3" of pod "test-pod" prints "same"
    And running "test -s /etc/hosts && grep -c '^# Kubernetes-managed hosts file' /etc/hosts || true" in container "busybox-1" of pod "test-host-network-pod" prints "0"
    And running "test -s /etc/hosts && grep -c '^# Kubernetes-managed hosts file' /etc/hosts || true" in container "busybox-2" of pod "test-host-network-pod" prints "0"

  # "None: It allows a Pod to ignore DNS settings from the Kubernetes environment. All DNS
  # settings are supposed to be provided using the dnsConfig field in the Pod Spec."
  #   kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-dns-policy
  # e2e: test/e2e/network/dns.go, "should support configurable pod DNS nameservers": a running
  # pod with dnsPolicy None and a dnsConfig of nameserver 1.1.1.1 and search path
  # resolv.conf.local has exactly that search path and that nameserver in its resolv.conf (agnhost
  # dns-suffix and dns-server-list there; the lines of /etc/resolv.conf here). The test is
  # "[sig-network] DNS should support configurable pod DNS nameservers [Conformance]", which the
  # Pod-related list (fixtures/conformance/pod-tests-v1.32.txt) leaves out with the other network
  # DNS tests, so this scenario names no codename.
  Scenario: With dnsPolicy None the pod's resolv.conf holds its dnsConfig's search path and nameservers alone
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: test-dns-nameservers
      spec:
        terminationGracePeriodSeconds: 0
        dnsPolicy: None
        dnsConfig:
          nameservers: ["1.1.1.1"]
          searches: ["resolv.conf.local"]
        containers:
        - name: agnhost-container
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "grep ^search /etc/resolv.conf" in container "agnhost-container" of pod "test-dns-nameservers" prints "search resolv.conf.local"
    And running "grep ^nameserver /etc/resolv.conf" in container "agnhost-container" of pod "test-dns-nameservers" prints "nameserver 1.1.1.1"
