//! What podspec hands the shim: the process-level description of one container.
//! Serialized as JSON into the container's state directory; no I/O here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A bind mount into the container's root filesystem: the runtime interface's `Mount`.
pub use podspec_cri::cri::Mount as BindMount;
pub use podspec_cri::cri::SeccompProfile;

/// Everything the shim needs to start one container process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerProcessSpec {
    /// PID of the pod sandbox process whose network, IPC and UTS namespaces the container joins.
    pub sandbox_pid: i32,
    /// The sandbox holds a mount namespace of its own (its memory-backed volumes): the
    /// container's mount namespace starts as a copy of it.
    #[serde(default)]
    pub sandbox_mounts: bool,
    /// The image's root filesystem: the read-only lower layer.
    pub image_rootfs: PathBuf,
    /// The writable layer of this container attempt, thrown away on restart.
    pub upper_dir: PathBuf,
    pub work_dir: PathBuf,
    /// Where the overlay is mounted (inside the container's own mount namespace only).
    pub rootfs: PathBuf,
    pub mounts: Vec<BindMount>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    /// stdout and stderr of the container go here.
    pub log_path: PathBuf,
    /// The shim records how the container ended here.
    pub exit_path: PathBuf,
    /// The PID namespace to join (a `/proc/PID/ns/...` file of the pod's or the node's holder);
    /// none: the container gets a PID namespace of its own.
    #[serde(default)]
    pub pid_namespace: Option<PathBuf>,
    /// The node's PID namespace (its holder's `pid_for_children`): a PID namespace of the
    /// container's own is made a child of it, as on a node every container's is.
    #[serde(default)]
    pub node_pid_namespace: Option<PathBuf>,
    /// The files the container's first process (and each exec's) writes `0` into, while it has
    /// one thread, to join the container's cgroup (`Cgroup::join_files`: v1's `tasks`, v2's
    /// `cgroup.procs`).
    #[serde(default)]
    pub cgroup_join: Vec<PathBuf>,
    /// The container's own cgroup directories, shown read-only under `/sys/fs/cgroup`:
    /// `(controller, dir)` on cgroup v1 (`/sys/fs/cgroup/<controller>`), `("", dir)` on v2.
    #[serde(default)]
    pub cgroup_dirs: Vec<(String, PathBuf)>,
    #[serde(default)]
    pub security: ProcessSecurity,
    /// The container's stdin is the shim's own (a pipe podspec holds open for attach), not
    /// `/dev/null`.
    #[serde(default)]
    pub stdin: bool,
    /// The shim's stdin is the master side of a terminal podspec holds: the container's stdin,
    /// stdout and stderr are its slave side (its controlling terminal), and what it writes is
    /// logged as stdout.
    #[serde(default)]
    pub tty: bool,
}

/// Who the container's processes are and what they may do.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessSecurity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (`setgroups`).
    pub groups: Vec<u32>,
    /// The capabilities (`CAP_...`), the same in the bounding, permitted and effective sets.
    pub capabilities: Vec<String>,
    /// `PR_SET_NO_NEW_PRIVS` (allowPrivilegeEscalation: false).
    pub no_new_privs: bool,
    /// `/proc` unmasked, `/sys` writable, the node's devices.
    pub privileged: bool,
    pub readonly_rootfs: bool,
    #[serde(default)]
    pub seccomp: SeccompProfile,
}

/// How a container process ended, as the shim records it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitRecord {
    /// Exit code; a death by signal N is recorded as 128 + N, as container runtimes report it.
    pub exit_code: i32,
    /// The signal that ended the process, if any.
    pub signal: Option<i32>,
    /// Milliseconds since the Unix epoch.
    pub finished_at_ms: i64,
}

/// The first line the shim prints on stdout after `run`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StartReport {
    /// The container's main process runs with this PID (in the node's PID namespace).
    Started { pid: i32 },
    /// The container could not start; the text says why.
    Failed { error: String },
}
