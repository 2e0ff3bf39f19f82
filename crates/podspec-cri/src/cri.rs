//! The container runtime interface, shaped like Kubernetes' CRI (`RuntimeService` and
//! `ImageService` of `k8s.io/cri-api`): the pod-level part (the kubelet) talks to a runtime only
//! through these traits, so another runtime can sit under the same kubelet.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use podspec_images::ImageConfig;

/// CRI `Mount`: a path of the node mounted into a container.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Mount {
    /// Path on the node.
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub destination: String,
    pub readonly: bool,
    /// The source is a file (the destination is created as an empty file), not a directory.
    pub file: bool,
    /// A volume's `subPath`: the mount is of this path under `source` (the volume's
    /// directory), resolved where it is mounted without ever leaving the volume. A runtime that
    /// is given only host paths gets the two joined (the kubelet checked the path first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

/// Identifies a pod sandbox within one runtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SandboxId(pub String);

/// Identifies a container within one runtime.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerId(pub String);

impl std::fmt::Display for SandboxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::fmt::Display for ContainerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// CRI `PodSandboxConfig`, reduced to what the kubelet sets.
#[derive(Debug, Clone)]
pub struct PodSandboxConfig {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    /// The hostname set in the sandbox's UTS namespace (unused when it shares the node's).
    pub hostname: String,
    /// Memory-backed volumes (emptyDir with `medium: Memory`), for a runtime that
    /// `holds_memory_volumes`: a tmpfs the sandbox holds at each node directory, seen by the
    /// pod's containers only, and gone with the sandbox. Empty for any other runtime (the
    /// kubelet mounted them).
    pub tmpfs: Vec<TmpfsVolume>,
    /// CRI `LinuxPodSandboxConfig.security_context.namespace_options`.
    pub namespaces: NamespaceOptions,
    /// CRI `LinuxPodSandboxConfig.sysctls`: namespaced sysctls the kubelet allowed.
    pub sysctls: Vec<(String, String)>,
    /// CRI `LinuxSandboxSecurityContext.privileged`: some container of the pod is privileged
    /// (CRI runtimes allow privileged containers only in a privileged sandbox).
    pub privileged: bool,
    /// CRI `LinuxPodSandboxConfig.cgroup_parent`: the pod's cgroup, one path in every hierarchy
    /// (the cgroupfs driver's form), in which the runtime puts the sandbox's and the
    /// containers' cgroups. `None`: the runtime's own layout (the Linux runtime's).
    pub cgroup_parent: Option<String>,
    /// The kubelet's `podPidsLimit`, for the pod's cgroup (`pids.max`); none: no limit. For the
    /// runtime that lays out the pods' cgroups itself (the Linux runtime's); with a
    /// `cgroup_parent`, the kubelet has set it on that cgroup already (the CRI has no field).
    pub pids_limit: Option<i64>,
    /// CRI `RunPodSandboxRequest.runtime_handler`: the pod's RuntimeClass's handler, "" for the
    /// runtime's default. A runtime without that handler refuses the sandbox.
    pub runtime_handler: String,
}

/// CRI `NamespaceMode`: whose namespace a pod or container uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NamespaceMode {
    /// The pod's own, shared by its containers.
    #[default]
    Pod,
    /// The container's own.
    Container,
    /// The node's.
    Node,
    /// Another container's (`target_id`): an ephemeral container's PID namespace is its
    /// `targetContainerName`'s.
    Target,
}

/// CRI `NamespaceOption`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceOptions {
    pub network: NamespaceMode,
    pub pid: NamespaceMode,
    pub ipc: NamespaceMode,
    /// The container whose namespace a `Target` mode means.
    pub target_id: Option<ContainerId>,
}

impl Default for NamespaceOptions {
    /// What the kubelet asks for a pod that sets none of hostNetwork, hostPID, hostIPC and
    /// shareProcessNamespace.
    fn default() -> Self {
        Self { network: NamespaceMode::Pod, pid: NamespaceMode::Container, ipc: NamespaceMode::Pod, target_id: None }
    }
}

/// CRI `LinuxContainerSecurityContext`, reduced to what the reference runtime uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinuxContainerSecurity {
    pub privileged: bool,
    /// Capability names as Kubernetes writes them (`NET_ADMIN`, `ALL`).
    pub add_capabilities: Vec<String>,
    pub drop_capabilities: Vec<String>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub supplemental_groups: Vec<i64>,
    pub readonly_rootfs: bool,
    pub no_new_privs: bool,
    pub seccomp: SeccompProfile,
    pub namespaces: NamespaceOptions,
}

/// CRI `SecurityProfile` of seccomp, as far as the reference runtime loads one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SeccompProfile {
    /// No filter: Kubernetes' default where the kubelet's SeccompDefault is off.
    #[default]
    Unconfined,
    /// The runtime's default profile.
    RuntimeDefault,
}

/// CRI `LinuxContainerResources`, reduced to what the reference runtime uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinuxContainerResources {
    pub memory_limit_bytes: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: i64,
    pub cpu_shares: Option<u64>,
}

/// A tmpfs of at most `size_bytes` at a node directory, for the pod's containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsVolume {
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// CRI `PodSandboxStatus`.
#[derive(Debug, Clone)]
pub struct PodSandboxStatus {
    pub id: SandboxId,
    pub ready: bool,
    pub ip: Ipv4Addr,
}

/// CRI `ContainerConfig`, reduced to what the kubelet sets.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    pub name: String,
    /// CRI's `Attempt`: how many times this container was restarted before.
    pub attempt: u32,
    /// A reference the runtime's image service resolves locally.
    pub image: String,
    /// Overrides the image's entrypoint when not empty.
    pub command: Vec<String>,
    /// Overrides the image's cmd when not empty.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub mounts: Vec<Mount>,
    pub security: LinuxContainerSecurity,
    pub resources: LinuxContainerResources,
    /// CRI's `stdin`: the runtime keeps the container's stdin open for attach.
    pub stdin: bool,
    /// CRI's `stdin_once`: the container's stdin closes when the first attach's stdin ends.
    pub stdin_once: bool,
    /// CRI's `tty`: the container's stdin, stdout and stderr are a terminal, whose output is
    /// logged as one stream (stdout).
    pub tty: bool,
}

/// CRI `ContainerState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Exited,
}

/// CRI `ContainerStatus`.
#[derive(Debug, Clone)]
pub struct ContainerStatus {
    pub id: ContainerId,
    pub name: String,
    pub attempt: u32,
    pub image: String,
    pub state: ContainerState,
    /// PID of the main process in the node's PID namespace, while it runs.
    pub pid: Option<i32>,
    pub created_at: jiff::Timestamp,
    pub started_at: Option<jiff::Timestamp>,
    pub finished_at: Option<jiff::Timestamp>,
    pub exit_code: Option<i32>,
    /// Why it ended or could not start, e.g. `Error`, `Completed`, `OOMKilled`, `StartError`.
    pub reason: Option<String>,
    pub message: Option<String>,
    pub log_path: PathBuf,
}

/// CRI `ExecSyncResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecResult {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i32,
}

/// Sets a tty's size (columns, rows).
pub type Resize = Box<dyn Fn(u16, u16) -> RuntimeResult<()> + Send + Sync>;

/// A streaming exec (CRI `Exec`): the command's stdin, stdout and stderr as streams, a tty's
/// resize, and its exit code once it ends. With a tty, stdout carries all output and there is
/// no stderr.
pub struct ExecSession {
    /// None unless stdin was asked for; dropping it closes the command's stdin.
    pub stdin: Option<std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>>,
    pub stdout: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
    pub stderr: Option<std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>>,
    pub resize: Option<Resize>,
    /// The command's exit code (ends the session when dropped: the command is killed).
    pub exit: std::pin::Pin<Box<dyn std::future::Future<Output = RuntimeResult<i32>> + Send>>,
}

/// What a streaming exec asks for (CRI `ExecRequest`'s stdin and tty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecOptions {
    pub stdin: bool,
    pub tty: bool,
}

/// A command run over the streaming exec with `input` as its stdin, which is then closed
/// (where the runtime's protocol can say so), and its output collected whole (`kubectl exec
/// -i` with a pipe): the kubelet's "run with this input", for every runtime alike.
pub async fn exec_with_input(
    runtime: &dyn RuntimeService,
    id: &ContainerId,
    cmd: &[String],
    input: &[u8],
    timeout: Duration,
) -> RuntimeResult<ExecResult> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let operation = format!("exec {cmd:?} in container {id} with stdin");
    // Why stdin stayed open, if it did: said with a timeout it leads to.
    let not_closed = std::sync::Mutex::new(None::<String>);
    let run = async {
        let session = runtime.exec(id, cmd, ExecOptions { stdin: true, tty: false }).await?;
        let mut stdin = session.stdin.ok_or_else(|| RuntimeError::failed(&operation, "the runtime gave the exec no stdin"))?;
        let write = async {
            // Dropping it after the shutdown closes it (a pipe closes only when dropped).
            let r = async {
                stdin.write_all(input).await?;
                stdin.shutdown().await
            }
            .await;
            drop(stdin);
            if let Err(e) = r {
                *not_closed.lock().unwrap() = Some(e.to_string());
            }
        };
        let read = |stream: Option<std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>>| async move {
            let mut buf = Vec::new();
            match stream {
                Some(mut s) => s.read_to_end(&mut buf).await.map(|_| buf),
                None => Ok(buf),
            }
        };
        let ((), stdout, stderr, exit) = tokio::join!(write, read(Some(session.stdout)), read(session.stderr), session.exit);
        let io = |e| RuntimeError::io(operation.clone(), e);
        Ok(ExecResult { stdout: stdout.map_err(io)?, stderr: stderr.map_err(io)?, exit_code: exit? })
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => {
            let why = not_closed.lock().unwrap().take();
            let operation = match why {
                Some(why) => format!("{operation}; its stdin stayed open: {why}"),
                None => operation.clone(),
            };
            Err(RuntimeError::Timeout { operation, after: timeout })
        }
    }
}

/// Which of a container's streams a log entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One entry of a container's log, as the kubelet reads it from the log file (`cri_log`): what
/// the container wrote, a full line (ending with a newline) or the part of one (`partial`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When the runtime wrote it.
    pub time: jiff::Timestamp,
    pub stream: LogStream,
    pub content: Vec<u8>,
    /// The next entry of the same stream continues this line.
    pub partial: bool,
}

/// What a container wrote, entry after entry, as `kubectl logs` prints it.
pub fn log_text(entries: &[LogEntry]) -> Vec<u8> {
    entries.iter().flat_map(|e| e.content.iter().copied()).collect()
}

/// CRI `ContainerEventResponse`, for the events the kubelet acts on.
#[derive(Debug, Clone)]
pub enum ContainerEvent {
    Started { sandbox: SandboxId, container: ContainerId },
    Stopped { sandbox: SandboxId, container: ContainerId },
}

/// What an image service knows of a local image (CRI `ImageStatus`).
#[derive(Debug, Clone)]
pub struct ImageInfo {
    /// The reference it was asked for, e.g. `busybox:1.36`.
    pub reference: String,
    /// The local image it maps to.
    pub id: String,
    pub config: ImageConfig,
}

/// Errors of a runtime, with the object and the operation they concern.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("pod sandbox {0} not found")]
    SandboxNotFound(SandboxId),
    #[error("container {0} not found")]
    ContainerNotFound(ContainerId),
    #[error("container {0} is not running")]
    ContainerNotRunning(ContainerId),
    #[error("image {reference:?} is not available locally: {reason}")]
    ImageNotFound { reference: String, reason: String },
    #[error("{operation}: {message}")]
    Failed { operation: String, message: String },
    #[error("{operation}: timed out after {after:?}")]
    Timeout { operation: String, after: Duration },
    #[error("{operation}: {source}")]
    Io {
        operation: String,
        #[source]
        source: std::io::Error,
    },
}

impl RuntimeError {
    pub fn failed(operation: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Failed { operation: operation.into(), message: message.to_string() }
    }
    pub fn io(operation: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { operation: operation.into(), source }
    }
}

pub type RuntimeResult<T> = Result<T, RuntimeError>;

/// CRI `RuntimeService`.
#[async_trait]
pub trait RuntimeService: Send + Sync {
    /// The runtime's name and version (CRI `Version`).
    fn version(&self) -> String;

    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> RuntimeResult<SandboxId>;
    async fn stop_pod_sandbox(&self, id: &SandboxId) -> RuntimeResult<()>;
    async fn remove_pod_sandbox(&self, id: &SandboxId) -> RuntimeResult<()>;
    async fn pod_sandbox_status(&self, id: &SandboxId) -> RuntimeResult<PodSandboxStatus>;

    async fn create_container(&self, sandbox: &SandboxId, config: &ContainerConfig) -> RuntimeResult<ContainerId>;
    async fn start_container(&self, id: &ContainerId) -> RuntimeResult<()>;
    /// Stops a running container: SIGTERM, then SIGKILL after `timeout`.
    async fn stop_container(&self, id: &ContainerId, timeout: Duration) -> RuntimeResult<()>;
    async fn remove_container(&self, id: &ContainerId) -> RuntimeResult<()>;
    async fn container_status(&self, id: &ContainerId) -> RuntimeResult<ContainerStatus>;
    async fn list_containers(&self, sandbox: &SandboxId) -> RuntimeResult<Vec<ContainerStatus>>;
    async fn exec_sync(&self, id: &ContainerId, cmd: &[String], timeout: Duration) -> RuntimeResult<ExecResult>;
    /// CRI `Exec`: a command with streams (stdin, a tty). A runtime without it says so.
    async fn exec(&self, id: &ContainerId, cmd: &[String], options: ExecOptions) -> RuntimeResult<ExecSession> {
        let _ = (cmd, options);
        Err(RuntimeError::failed(format!("exec in container {id}"), format!("the runtime {} has no streaming exec", self.version())))
    }

    /// CRI `Attach`: the running container's stdout and stderr from now on (stdout alone
    /// carries a tty's output), its stdin where it has one and `stdin` asks for it; the
    /// session's `exit` is the container's end. A runtime without it says so.
    async fn attach(&self, id: &ContainerId, stdin: bool) -> RuntimeResult<ExecSession> {
        let _ = stdin;
        Err(RuntimeError::failed(format!("attach to container {id}"), format!("the runtime {} has no attach", self.version())))
    }

    /// CRI `GetContainerEvents`.
    fn container_events(&self) -> broadcast::Receiver<ContainerEvent>;

    /// Whether the runtime itself holds the memory-backed volumes `PodSandboxConfig.tmpfs`
    /// names. The CRI has no such field: a CRI runtime bind-mounts the volume's directory, on
    /// which the kubelet mounted the tmpfs.
    fn holds_memory_volumes(&self) -> bool {
        false
    }

    /// How long the kubelet has waited on the runtime's answers so far, all calls together
    /// (overlapping calls counted once), where the runtime is reached over calls that take
    /// time of their own (a CRI runtime over gRPC); None where it is not measured.
    fn busy_time(&self) -> Option<std::time::Duration> {
        None
    }

    /// The time spent so far in each phase of the runtime's pod starts (its sandboxes'
    /// directories, cgroups, namespaces and network; its containers' image, directories,
    /// cgroups, specs and shims), as running totals; empty where it does not split them.
    fn phase_times(&self) -> Vec<(&'static str, std::time::Duration)> {
        Vec::new()
    }

    /// Whether the runtime takes a mount's `sub_path` and resolves it beneath the mount's
    /// source itself, where it mounts it. A runtime that does not (one given host paths only)
    /// gets no `sub_path`: the kubelet binds the subPath it checked onto a path of its own and
    /// gives that as the source.
    fn resolves_sub_paths(&self) -> bool {
        false
    }

    /// A TCP connection from the node to a pod's address, as the kubelet's httpGet and
    /// tcpSocket probes and hooks make them. Not part of the CRI: a runtime whose pods are on
    /// the machine's own network (a CRI runtime with its CNI bridge) is reached from here; one
    /// whose node network is elsewhere connects from there.
    async fn connect_from_node(&self, addr: std::net::SocketAddr, timeout: Duration) -> std::io::Result<std::net::TcpStream> {
        tokio::task::spawn_blocking(move || std::net::TcpStream::connect_timeout(&addr, timeout))
            .await
            .map_err(|e| std::io::Error::other(format!("the connecting task failed: {e}")))?
    }
}

/// CRI `ImageService`: what is on the node (`ImageStatus`), and, where the service pulls,
/// `PullImage`.
#[async_trait]
pub trait ImageService: Send + Sync {
    /// The image a reference names on the node; an error when the node does not have it.
    async fn image_status(&self, reference: &str) -> RuntimeResult<ImageInfo>;
    /// Whether `pull_image` fetches images: then the kubelet applies `imagePullPolicy` as a
    /// node does. A service that does not pull runs only what it has (`ErrImageNeverPull`
    /// for any other image, whatever the policy).
    fn pulls(&self) -> bool {
        false
    }
    /// CRI `PullImage`: fetches the image, with `auth` for a registry that asks for
    /// credentials; gives it and its size in bytes.
    async fn pull_image(&self, reference: &str, auth: Option<&podspec_images::keyring::Credentials>) -> RuntimeResult<(ImageInfo, u64)> {
        let _ = auth;
        Err(RuntimeError::failed("pull image", format!("this image service does not pull ({reference:?})")))
    }
}

/// Paths of `/proc` and `/sys` a container that is not privileged cannot read: files are
/// covered with `/dev/null`, directories with an empty read-only tmpfs. containerd's default
/// OCI spec (`oci/spec.go`, `defaultMaskedPaths`) lists these.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths of `/proc` a container that is not privileged sees read-only (containerd's
/// `defaultReadonlyPaths`).
pub const READONLY_PATHS: &[&str] = &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
