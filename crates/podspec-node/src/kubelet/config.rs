//! The kubelet's configuration (its KubeletConfiguration and flags, the parts the reference
//! node has), and the cgroup its pods' cgroups go under.

use std::path::PathBuf;

use super::backoff::BackoffPolicy;

#[derive(Debug, Clone)]
pub struct KubeletConfig {
    pub node_name: String,
    /// The kubelet's own directory: pods' volumes and hosts files live under `pods/<uid>/`.
    pub root_dir: PathBuf,
    pub backoff: BackoffPolicy,
    /// The node's IP (the pods' `status.hostIP`).
    pub node_ip: std::net::Ipv4Addr,
    /// The Node object's uid (mirror pods' owner reference).
    pub node_uid: String,
    /// The static pod manifest directory, if the kubelet watches one.
    pub static_pod_dir: Option<PathBuf>,
    /// Where the kubelet puts the pods' cgroups (its `--cgroup-root`), for a runtime that takes
    /// a cgroup parent; `None`: the runtime lays out the pods' cgroups itself.
    pub pod_cgroups: Option<PodCgroupRoot>,
    /// `podPidsLimit`: the most processes a pod's cgroup may hold (none: no limit, the
    /// KubeletConfiguration's -1).
    pub pod_pids_limit: Option<i64>,
}

/// The cgroup under which each pod gets `pod<uid>` (cgroupfs driver), which the kubelet makes
/// (with the pod's `pids.max`) before the sandbox and removes after it, as a kubelet's pod
/// container manager does.
#[derive(Debug, Clone)]
pub struct PodCgroupRoot {
    /// The path the runtime is given, the same in every hierarchy (`/.../podspec/<run>`).
    pub parent: String,
    /// Its directories on the node, one per hierarchy.
    pub cgroup: podspec_cgroup::Cgroup,
}

impl KubeletConfig {
    /// The node's own directories a hostPath volume may reach (`manifest::host_path`): the
    /// static pod directory, so that a pod on the node can write its manifests, as a cluster's
    /// privileged pods do. Nothing else of the machine.
    pub fn host_dirs(&self) -> Vec<PathBuf> {
        self.static_pod_dir.iter().cloned().collect()
    }
}
