@security
Feature: A container is confined as Kubernetes confines it by default
  # Under Kubernetes a container gets what containerd and runc give it: the default capability
  # set, a masked and partly read-only /proc, a read-only /sys, a /dev with the standard devices
  # only, and a cgroup of its own inside its pod's, with the devices allow-list and its
  # resources.limits. "privileged: true" lifts all of it.
  #   kubernetes.io/docs/tasks/configure-pod-container/security-context/
  #   kubernetes.io/docs/concepts/security/linux-kernel-security-constraints/
  #   containerd oci/spec.go (defaultUnixCaps, defaultMaskedPaths, defaultReadonlyPaths)
  #   kubernetes.io/docs/concepts/configuration/manage-resources-containers/

  # security-context/ "Set capabilities for a Container": the default set, 00000000a80425fb,
  # is the same in the bounding, permitted and effective sets, for the main process and an exec.
  Scenario: A container has only the default capabilities
    Given a running pod "caps":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: caps
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "grep -E '^Cap(Bnd|Prm|Eff)' /proc/1/status /proc/self/status | cut -f2 | sort -u" in container "app" of pod "caps" prints "00000000a80425fb"

  # linux-kernel-security-constraints/: host-wide sysctls and kernel files are out of reach;
  # containerd's default spec makes /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus and
  # /proc/fs read-only, and masks /proc/kcore, /proc/keys, /proc/timer_list, /sys/firmware, ...
  Scenario: /proc/sys is read-only and the masked paths read empty
    Given a running pod "proc":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: proc
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "echo 10 > /proc/sys/vm/swappiness" in container "app" of pod "proc" fails with "Read-only file system"
    And running "echo core > /proc/sys/kernel/core_pattern" in container "app" of pod "proc" fails with "Read-only file system"
    And running "cat /proc/keys /proc/timer_list | wc -c" in container "app" of pod "proc" prints "0"
    And running "for d in /proc/acpi /proc/scsi /sys/firmware; do [ ! -d $d ] || ls -A $d; done | wc -l" in container "app" of pod "proc" prints "0"

  Scenario: /sys is mounted read-only and cannot be made writable
    Given a running pod "sys":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: sys
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1" in container "app" of pod "sys" prints "ro"
    And running "touch /sys/kernel/podspec" in container "app" of pod "sys" fails with "Read-only file system"
    And running "mount -o remount,rw /sys" in container "app" of pod "sys" fails with "ermission denied"

  # The standard devices only (null, zero, full, random, urandom, tty, ptmx with pts, shm),
  # on a tmpfs mounted nosuid.
  Scenario: /dev holds only the standard devices
    Given a running pod "dev":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: dev
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "find /dev -maxdepth 1 -type c | sort" in container "app" of pod "dev" prints:
      """
      /dev/full
      /dev/null
      /dev/random
      /dev/tty
      /dev/urandom
      /dev/zero
      """
    And running "find /dev -type b | wc -l" in container "app" of pod "dev" prints "0"
    And running "readlink /dev/ptmx && test -c /dev/pts/ptmx && test -d /dev/shm && echo ok" in container "app" of pod "dev" prints:
      """
      pts/ptmx
      ok
      """
    And running "grep ' /dev ' /proc/mounts | cut -d' ' -f4 | tr , '\n' | grep -c '^nosuid$'" in container "app" of pod "dev" prints "1"

  # The escape that a container without confinement has: make the node's disk as a device node,
  # mount it and write into an image's layer. The node's disk may be made (runc allows mknod of
  # any device), but it can be neither mounted (no CAP_SYS_ADMIN) nor opened (devices cgroup).
  Scenario: The node's disk can be neither mounted nor read from a container
    Given a running pod "disk":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: disk
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    When I run "set -- $(awk 'NR==3 {print $1, $2}' /proc/partitions) && mknod /tmp/disk b $1 $2 && mkdir -p /tmp/mnt && podspec-agent mount /tmp/disk /tmp/mnt ext4" in container "app" of pod "disk"
    Then it fails with "Operation not permitted"
    And running "head -c 1 /tmp/disk" in container "app" of pod "disk" fails with "Operation not permitted"

  # The pod's hostname is set by the runtime; without CAP_SYS_ADMIN no container changes it.
  Scenario: A container cannot change its pod's hostname
    Given a running pod "host":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: host
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "hostname other" in container "app" of pod "host" fails with "Operation not permitted"
    And running "hostname" in container "app" of pod "host" prints "host"

  # manage-resources-containers/: "The memory limit defines a memory limit for that cgroup";
  # the CPU limit is a CFS quota per 100 ms period. Each container has a cgroup of its own (the
  # container without limits reads none), inside a cgroup of its pod's that another pod does
  # not share. The cgroup lines read the memory controller's (v1) or the unified one (v2).
  Scenario: A container is in a cgroup of its own in its pod's, with its limits
    Given a running pod "limits":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: limits
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          resources:
            limits:
              memory: 64Mi
              cpu: 500m
        - name: other
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    And a running pod "another":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: another
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max" in container "app" of pod "limits" prints "67108864"
    And running "(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max) | grep -c '^67108864$' || true" in container "other" of pod "limits" prints "0"
    And running "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max" in container "app" of pod "limits" prints "50000"
    And running "f=/sys/fs/cgroup/memory/memory.limit_in_bytes; [ -e $f ] || f=/sys/fs/cgroup/memory.max; echo 1 > $f" in container "app" of pod "limits" fails with "Read-only file system"
    And running "dirname $(awk -F: '$2 ~ /^memory$/ {m = $3} $1 == 0 {u = $3} END {print (m ? m : u)}' /proc/self/cgroup)" prints the same in every container of pod "limits"
    And running "dirname $(awk -F: '$2 ~ /^memory$/ {m = $3} $1 == 0 {u = $3} END {print (m ? m : u)}' /proc/self/cgroup)" in pods "limits" and "another" prints different values

  # test/e2e_node/oomkiller_linux_test.go: "The containers terminated by OOM killer should have
  # the reason set to OOMKilled" (exit code 137).
  Scenario: A container over its memory limit is OOMKilled with exit code 137
    Given a pod "oomkill":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: oomkill
      spec:
        restartPolicy: Never
        terminationGracePeriodSeconds: 0
        containers:
        - name: oomkill-target-container
          image: busybox:1.36
          command: ["sh", "-c", "sleep 1 && dd if=/dev/zero of=/dev/null bs=20M"]
          resources:
            limits:
              memory: 15Mi
      """
    Then field "status.containerStatuses[name=oomkill-target-container].state.terminated.reason" of pod "oomkill" is "OOMKilled"
    And field "status.containerStatuses[name=oomkill-target-container].state.terminated.exitCode" of pod "oomkill" is "137"

  # security-context/: "privileged: true" — every capability, /proc unmasked, /sys writable, the
  # node's devices (pkg/securitycontext; containerd WithPrivileged). Nothing here writes to the
  # node: the writable file is a sysctl of the pod's own IPC namespace.
  @host-access
  Scenario: A privileged container has every capability, an unmasked /proc, a writable /sys and the node's devices
    Given a running pod "priv":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: priv
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          securityContext:
            privileged: true
      """
    # Every capability the node has: more than the default set, among them CAP_SYS_ADMIN (a
    # mount, in the container's own mount namespace).
    Then running "grep -E '^Cap(Bnd|Prm|Eff)' /proc/self/status | cut -f2 | sort -u | grep -cv '^00000000a80425fb$'" in container "app" of pod "priv" prints "1"
    And running "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted" in container "app" of pod "priv" prints "mounted"
    And running "grep -c ' /proc/timer_list ' /proc/mounts || true" in container "app" of pod "priv" prints "0"
    And running "echo 1 > /proc/sys/kernel/shm_rmid_forced && cat /proc/sys/kernel/shm_rmid_forced" in container "app" of pod "priv" prints "1"
    And running "grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1" in container "app" of pod "priv" prints "rw"
    And running "test -b /dev/$(awk 'NR==3 {print $4}' /proc/partitions) && echo yes" in container "app" of pod "priv" prints "yes"

  # CVE-2017-1002101: a container plants a link in a volume it shares; a subPath naming the link
  # would give the next container whatever the link points to on the machine. The kubelet
  # resolves a subPath inside its volume, never following a link out of it, and refuses the
  # container otherwise (pkg/kubelet/kubelet_pods.go makeMounts,
  # pkg/volume/util/subpath/subpath_linux.go; e2e: test/e2e/storage/testsuites/subpath.go,
  # "should fail if subpath with backstepping is outside the volume"). Nothing here can reach
  # the node where the kubelet is right: the app container only sleeps.
  Scenario: A subPath that is a link out of its volume is refused
    Given a pod "subpath-escape":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: subpath-escape
      spec:
        terminationGracePeriodSeconds: 0
        restartPolicy: Never
        initContainers:
        - name: plant
          image: busybox:1.36
          command: ["ln", "-s", "/", "/vol/escape"]
          volumeMounts:
          - name: vol
            mountPath: /vol
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - name: vol
            mountPath: /host
            subPath: escape
        volumes:
        - name: vol
          emptyDir: {}
      """
    Then field "status.containerStatuses[name=app].state.waiting.reason" of pod "subpath-escape" is "CreateContainerConfigError"
    And field "status.containerStatuses[name=app].state.waiting.message" of pod "subpath-escape" is "failed to prepare subPath for volumeMount "vol" of container "app""
    And field "status.containerStatuses[name=app].state.running" of pod "subpath-escape" is absent
