@security
Feature: A pod's and a container's securityContext are applied, the container's winning
  # "A security context defines privilege and access control settings for a Pod or Container.
  # ... The security settings that you specify for a Container apply only to the individual
  # Container, and they override settings made at the Pod level when there is overlap."
  #   kubernetes.io/docs/tasks/configure-pod-container/security-context/
  # The e2e tests mirrored: test/e2e/common/node/security_context.go,
  # test/e2e/node/security_context.go, test/e2e/common/node/sysctl.go,
  # test/e2e/common/storage/empty_dir.go.

  # test/e2e/node/security_context.go: "should support pod.Spec.SecurityContext.RunAsUser And
  # pod.Spec.SecurityContext.RunAsGroup [LinuxOnly]"
  # conformance: [sig-node] Security Context should support pod.Spec.SecurityContext.RunAsUser And pod.Spec.SecurityContext.RunAsGroup [LinuxOnly] [Conformance]
  @conformance
  Scenario: runAsUser and runAsGroup set the container's uid and gid
    Given a running pod "ids":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: ids
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          runAsUser: 1001
          runAsGroup: 2002
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "id -u && id -g" in container "app" of pod "ids" prints:
      """
      1001
      2002
      """
    And running "awk '/^Uid|^Gid/ {print $2}' /proc/1/status" in container "app" of pod "ids" prints:
      """
      1001
      2002
      """

  # test/e2e/node/security_context.go: "should support container.SecurityContext.RunAsUser And
  # container.SecurityContext.RunAsGroup [LinuxOnly]": the container's values win over the pod's.
  # conformance: [sig-node] Security Context should support container.SecurityContext.RunAsUser And container.SecurityContext.RunAsGroup [LinuxOnly] [Conformance]
  @conformance
  Scenario: A container's runAsUser and runAsGroup win over the pod's
    Given a running pod "own-ids":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: own-ids
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          runAsUser: 1001
          runAsGroup: 2002
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            runAsUser: 1003
            runAsGroup: 2004
        - name: pod-level
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "id -u && id -g" in container "app" of pod "own-ids" prints:
      """
      1003
      2004
      """
    And running "id -u && id -g" in container "pod-level" of pod "own-ids" prints:
      """
      1001
      2002
      """

  # test/e2e/node/security_context.go: "should support pod.Spec.SecurityContext.RunAsUser
  # [LinuxOnly]" (the gid is 0) and "should support container.SecurityContext.RunAsUser
  # [LinuxOnly]" (the container's value wins).
  Scenario: runAsUser alone runs with gid 0, and the container's runAsUser wins over the pod's
    Given a running pod "uid":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: uid
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          runAsUser: 1001
        containers:
        - name: pod-level
          image: busybox:1.36
          command: ["sleep", "3600"]
        - name: own
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            runAsUser: 1002
      """
    Then running "id -u && id -g" in container "pod-level" of pod "uid" prints:
      """
      1001
      0
      """
    And running "id -u" in container "own" of pod "uid" prints "1002"

  # test/e2e/node/security_context.go: "should support pod.Spec.SecurityContext.SupplementalGroups
  # [LinuxOnly]"
  Scenario: supplementalGroups are among the container's groups
    Given a running pod "groups":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: groups
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          runAsUser: 1001
          supplementalGroups: [1234, 5678]
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "id -G" in container "app" of pod "groups" prints "0 1234 5678"

  # test/e2e/common/storage/empty_dir.go: "new files should be created with FSGroup ownership
  # when container is non-root"
  Scenario: With fsGroup, files made in an emptyDir carry that group
    Given a running pod "fsgroup":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: fsgroup
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          runAsUser: 1001
          fsGroup: 123
        volumes:
        - name: data
          emptyDir: {}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: data
            mountPath: /data
      """
    Then running "touch /data/f && stat -c %g /data/f && id -G" in container "app" of pod "fsgroup" prints:
      """
      123
      0 123
      """

  # test/e2e/common/node/security_context.go, "When creating a container with runAsNonRoot":
  # "should not run without a specified user ID" (the image runs as root).
  Scenario: runAsNonRoot with an image that runs as root does not start the container
    Given a pod "nonroot":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: nonroot
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            runAsNonRoot: true
      """
    Then field "status.containerStatuses[name=app].state.waiting.reason" of pod "nonroot" is "CreateContainerConfigError"
    And field "status.containerStatuses[name=app].state.waiting.message" of pod "nonroot" contains "container has runAsNonRoot and image will run as root (pod: "nonroot_{{namespace}}("
    And field "status.containerStatuses[name=app].state.waiting.message" of pod "nonroot" contains ")", container: app)"

  # The same Describe: "should not run with an explicit root user ID [LinuxOnly]", and "should run
  # with an explicit non-root user ID [LinuxOnly]".
  Scenario: runAsNonRoot refuses runAsUser 0 and runs a non-root user
    Given a pod "rootuid":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: rootuid
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          runAsNonRoot: true
        containers:
        - name: root
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            runAsUser: 0
        - name: user
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            runAsUser: 1234
      """
    Then field "status.containerStatuses[name=root].state.waiting.reason" of pod "rootuid" is "CreateContainerConfigError"
    And field "status.containerStatuses[name=root].state.waiting.message" of pod "rootuid" contains "container's runAsUser breaks non-root policy (pod: "rootuid_{{namespace}}("
    And running "id -u" in container "user" of pod "rootuid" eventually prints "1234"

  # e2e: test/e2e/common/node/kubelet.go, "when scheduling a read only busybox container should
  # not write to root filesystem": the container's first write to / fails, and its log is
  # exactly busybox sh's error.
  # conformance: [sig-node] Kubelet when scheduling a read only busybox container should not write to root filesystem [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario: A read-only root filesystem refuses the container's write, as its shell says
    Given a running pod "busybox-readonly-fs":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: busybox-readonly-fs
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox-readonly-fs
          image: busybox:1.36
          command: ["/bin/sh", "-c", "echo test > /file; sleep 240"]
          securityContext:
            readOnlyRootFilesystem: true
      """
    Then the log of container "busybox-readonly-fs" of pod "busybox-readonly-fs" is:
      """
      /bin/sh: can't create /file: Read-only file system
      """

  # test/e2e/common/node/security_context.go: "should run the container with readonly rootfs when
  # readOnlyRootFilesystem=true [LinuxOnly] [NodeConformance]"; a volume stays writable.
  Scenario: readOnlyRootFilesystem makes / read-only but not the volumes
    Given a running pod "rofs":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: rofs
      spec:
        terminationGracePeriodSeconds: 0
        volumes:
        - name: scratch
          emptyDir: {}
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            readOnlyRootFilesystem: true
          volumeMounts:
          - name: scratch
            mountPath: /scratch
      """
    Then running "touch /file" in container "app" of pod "rofs" fails with "Read-only file system"
    And running "touch /scratch/file && echo ok" in container "app" of pod "rofs" prints "ok"

  # test/e2e/common/node/security_context.go: "should run the container as unprivileged when
  # false [LinuxOnly] [NodeConformance] [Conformance]" and "should run the container as
  # privileged when true [LinuxOnly] [NodeFeature:HostAccess]"; the link is made in the pod's
  # own network namespace. The privileged container adds a veth link, not a dummy one: kernels
  # built without the dummy driver (as this project's CI machine) answer "Operation not
  # supported" to any dummy link.
  @host-access
  Scenario: Only a privileged container may add a network link
    Given a running pod "links":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: links
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: unprivileged
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            privileged: false
        - name: privileged
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            privileged: true
      """
    Then running "ip link add dummy0 type dummy" in container "unprivileged" of pod "links" fails with "Operation not permitted"
    And running "ip link add v0 type veth && ip link show v0 | grep -c v0" in container "privileged" of pod "links" prints "1"
    And running "ip link show v0 | grep -c v0" in container "unprivileged" of pod "links" prints "1"
    And running "ip link add v1 type veth" in container "unprivileged" of pod "links" fails with "Operation not permitted"

  # test/e2e/common/node/security_context.go, "when creating containers with
  # AllowPrivilegeEscalation": "should not allow privilege escalation when false [LinuxOnly]
  # [NodeConformance] [Conformance]" and "should allow privilege escalation when not explicitly
  # set and uid != 0 [LinuxOnly] [NodeConformance]".
  Scenario: allowPrivilegeEscalation false sets no_new_privs; by default it is not set
    Given a running pod "nnp":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: nnp
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          runAsUser: 1000
        containers:
        - name: denied
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            allowPrivilegeEscalation: false
        - name: default
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "grep NoNewPrivs /proc/1/status | cut -f2" in container "denied" of pod "nnp" prints "1"
    And running "grep NoNewPrivs /proc/self/status | cut -f2" in container "denied" of pod "nnp" prints "1"
    And running "grep NoNewPrivs /proc/1/status | cut -f2" in container "default" of pod "nnp" prints "0"

  # security-context/ "Set capabilities for a Container": added capabilities join the default
  # set, dropped ones leave it; ALL drops every one.
  Scenario: capabilities add and drop, with ALL
    Given a running pod "capset":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: capset
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: added
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            capabilities:
              add: ["NET_ADMIN", "SYS_TIME"]
              drop: ["MKNOD"]
        - name: none
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            capabilities:
              drop: ["ALL"]
        - name: only
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            capabilities:
              drop: ["ALL"]
              add: ["NET_BIND_SERVICE"]
      """
    # 00000000a80425fb + NET_ADMIN (bit 12) + SYS_TIME (bit 25) - MKNOD (bit 27)
    Then running "grep CapEff /proc/1/status | cut -f2" in container "added" of pod "capset" prints "00000000a20435fb"
    And running "grep -E '^Cap(Bnd|Prm|Eff)' /proc/1/status | cut -f2 | sort -u" in container "none" of pod "capset" prints "0000000000000000"
    And running "grep CapEff /proc/1/status | cut -f2" in container "only" of pod "capset" prints "0000000000000400"
    And running "chown 1 /tmp" in container "none" of pod "capset" fails with "Operation not permitted"

  # test/e2e/common/node/sysctl.go: "should support sysctls [MinimumKubeletVersion:1.21]
  # [Environment:NotInUserNS] [Conformance]"; a net.* sysctl applies in the pod's network
  # namespace only.
  Scenario: Safe sysctls are applied in the pod's namespaces
    Given a running pod "sysctls":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sysctls
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          sysctls:
          - name: kernel.shm_rmid_forced
            value: "1"
          - name: net.ipv4.ip_unprivileged_port_start
            value: "1000"
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And a running pod "plain":
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
    Then running "sysctl kernel.shm_rmid_forced net.ipv4.ip_unprivileged_port_start" in container "app" of pod "sysctls" prints:
      """
      kernel.shm_rmid_forced = 1
      net.ipv4.ip_unprivileged_port_start = 1000
      """
    And running "cat /proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ip_unprivileged_port_start" in container "app" of pod "plain" prints:
      """
      0
      1024
      """

  # test/e2e/common/node/sysctl.go: "should not launch unsafe, but not explicitly enabled sysctls
  # on the node [MinimumKubeletVersion:1.21]": the kubelet rejects the pod.
  Scenario: An unsafe sysctl fails the pod with reason SysctlForbidden
    Given a pod "unsafe":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: unsafe
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          sysctls:
          - name: kernel.msgmax
            value: "10000000000"
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then pod "unsafe" is in phase "Failed"
    And field "status.reason" of pod "unsafe" is "SysctlForbidden"
    And field "status.message" of pod "unsafe" is "Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted"

  # security-context/: "procMount ... Default uses the container runtime defaults for readonly
  # paths and masked paths for /proc."
  Scenario: procMount Default gives the masked /proc
    Given a running pod "procmount":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: procmount
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            procMount: Default
      """
    Then running "cat /proc/keys /proc/timer_list | wc -c" in container "app" of pod "procmount" prints "0"
    And running "echo 1 > /proc/sys/kernel/shm_rmid_forced" in container "app" of pod "procmount" fails with "Read-only file system"

  # test/e2e/node/security_context.go: "should support seccomp unconfined on the container
  # [LinuxOnly]" (Seccomp: 0).
  Scenario: seccompProfile Unconfined runs without a seccomp filter
    Given a running pod "seccomp":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: seccomp
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            seccompProfile:
              type: Unconfined
      """
    Then running "grep '^Seccomp:' /proc/1/status | cut -f2" in container "app" of pod "seccomp" prints "0"

  # test/e2e/node/security_context.go: "should support seccomp runtime/default [LinuxOnly]"
  # (Seccomp: 2), and "should support seccomp unconfined on the pod [LinuxOnly]": the pod's
  # profile holds for each container that sets none, and a container's own wins. What the
  # profile allows is the runtime's own (tutorials/security/seccomp/: "the default profile
  # provided by the container runtime"), so only its presence is checked here; the reference's
  # profile is checked by the unit tests of src/runtime/linux/seccomp.rs.
  Scenario: seccompProfile RuntimeDefault loads the runtime's filter; the container's profile wins
    Given a running pod "seccomp-default":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: seccomp-default
      spec:
        terminationGracePeriodSeconds: 0
        securityContext:
          seccompProfile:
            type: RuntimeDefault
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
        - name: unconfined
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            seccompProfile:
              type: Unconfined
      """
    Then running "grep '^Seccomp:' /proc/1/status | cut -f2" in container "app" of pod "seccomp-default" prints "2"
    And running "grep '^Seccomp:' /proc/self/status | cut -f2" in container "app" of pod "seccomp-default" prints "2"
    And running "grep '^Seccomp:' /proc/1/status | cut -f2" in container "unconfined" of pod "seccomp-default" prints "0"

  # e2e: test/e2e/common/node/security_context.go, "When creating a container with runAsUser
  # should run the container with uid 65534": the container checks its own uid and the pod
  # Succeeds. ($(id -u) is no variable of the container, so the kubelet leaves it to the shell.)
  # conformance: [sig-node] Security Context When creating a container with runAsUser should run the container with uid 65534 [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario: A container with runAsUser 65534 runs as uid 65534
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: busybox-user-65534
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox-user-65534
          image: busybox:1.36
          command: ["sh", "-c", "test $(id -u) -eq 65534"]
          securityContext:
            runAsUser: 65534
      """
    Then pod "busybox-user-65534" is in phase "Succeeded"

  # e2e: test/e2e/common/node/security_context.go, "when creating containers with
  # AllowPrivilegeEscalation should not allow privilege escalation when false": the nonewprivs
  # image's entrypoint is setuid root and prints its effective uid; run as uid 1000 with
  # allowPrivilegeEscalation false (no_new_privs), the setuid bit gives nothing: the pod
  # Succeeds and its output is "Effective uid: 1000".
  # conformance: [sig-node] Security Context when creating containers with AllowPrivilegeEscalation should not allow privilege escalation when false [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario: With allowPrivilegeEscalation false a setuid-root program keeps the user's uid
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: alpine-nnp-false
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: alpine-nnp-false
          image: registry.k8s.io/e2e-test-images/nonewprivs:1.3
          securityContext:
            allowPrivilegeEscalation: false
            runAsUser: 1000
      """
    Then pod "alpine-nnp-false" is in phase "Succeeded"
    And the log of container "alpine-nnp-false" of pod "alpine-nnp-false" is:
      """
      Effective uid: 1000
      """

  # The same e2e file, "should allow privilege escalation when not explicitly set and uid !=
  # 0": without allowPrivilegeEscalation the same program runs with effective uid 0. It also
  # shows that the fixture's setuid bit takes effect, which the scenario above relies on.
  Scenario: Without allowPrivilegeEscalation a setuid-root program run as uid 1000 gets effective uid 0
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: alpine-nnp-nil
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: alpine-nnp-nil
          image: registry.k8s.io/e2e-test-images/nonewprivs:1.3
          securityContext:
            runAsUser: 1000
      """
    Then pod "alpine-nnp-nil" is in phase "Succeeded"
    And the log of container "alpine-nnp-nil" of pod "alpine-nnp-nil" is:
      """
      Effective uid: 0
      """

  # e2e: test/e2e/common/node/security_context.go, "When creating a pod with
  # readOnlyRootFilesystem should run the container with writable rootfs when
  # readOnlyRootFilesystem=false": the container's write to its root filesystem succeeds, and so
  # does the pod.
  # conformance: [sig-node] Security Context When creating a pod with readOnlyRootFilesystem should run the container with writable rootfs when readOnlyRootFilesystem=false [NodeConformance] [Conformance]
  @conformance
  Scenario: With readOnlyRootFilesystem false the container writes to its root filesystem
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: busybox-readonly-false
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox-readonly-false
          image: busybox:1.36
          command: ["sh", "-c", "touch checkfile"]
          securityContext:
            readOnlyRootFilesystem: false
      """
    Then pod "busybox-readonly-false" is in phase "Succeeded"

  # e2e: test/e2e/common/node/security_context.go, "When creating a pod with privileged should run
  # the container as unprivileged when false": adding a link fails with "Operation not
  # permitted" (the command then ends well: `|| true`), and the pod Succeeds. An unprivileged
  # container lacks CAP_NET_ADMIN, which the kernel checks before it looks for the link type.
  # conformance: [sig-node] Security Context When creating a pod with privileged should run the container as unprivileged when false [LinuxOnly] [NodeConformance] [Conformance]
  @conformance
  Scenario: An unprivileged container may not add a network link
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: busybox-privileged-false
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: busybox-privileged-false
          image: busybox:1.36
          command: ["sh", "-c", "ip link add dummy0 type dummy || true"]
          securityContext:
            privileged: false
      """
    Then pod "busybox-privileged-false" is in phase "Succeeded"
    And the log of container "busybox-privileged-false" of pod "busybox-privileged-false" is:
      """
      ip: RTNETLINK answers: Operation not permitted
      """

  # e2e: test/e2e/common/node/sysctl.go, "should support sysctls": a pod with the safe sysctl
  # kernel.shm_rmid_forced=1 runs /bin/sysctl kernel.shm_rmid_forced; the pod Succeeds and its log
  # holds "kernel.shm_rmid_forced = 1". (The command is sysctl found on PATH: the fixture busybox
  # links its sbin applets into /sbin, where the e2e busybox image has every applet in /bin.)
  # conformance: [sig-node] Sysctls [LinuxOnly] [NodeConformance] should support sysctls [MinimumKubeletVersion:1.21] [Environment:NotInUserNS] [Conformance]
  # conformance: [sig-node] Sysctls [LinuxOnly] [NodeConformance] should support sysctls [Environment:NotInUserNS] [Conformance]
  @conformance
  Scenario: A pod's safe sysctl is set in its namespace, as its container reads it
    Given a pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sysctl-shm-rmid-forced
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        securityContext:
          sysctls:
          - name: kernel.shm_rmid_forced
            value: "1"
        containers:
        - name: test-container
          image: busybox:1.36
          command: ["sysctl", "kernel.shm_rmid_forced"]
      """
    Then pod "sysctl-shm-rmid-forced" is in phase "Succeeded"
    And the log of container "test-container" of pod "sysctl-shm-rmid-forced" has the lines:
      """
      kernel.shm_rmid_forced = 1
      """
