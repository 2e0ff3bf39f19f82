//! The reference container runtime: a CRI-shaped runtime made of Linux namespaces.
//!
//! - A pod sandbox is a holder process (`podspec-shim sandbox`) in new network, IPC and UTS
//!   namespaces, with the pod's hostname, loopback up, and an `eth0` on the node bridge.
//! - The node network is a bridge in a network namespace of podspec's own, held by another
//!   holder process; the machine's own network is never touched.
//! - A container is a process started by `podspec-shim run` in the sandbox's namespaces plus
//!   its own mount and PID namespaces, on an overlay of its image with a fresh writable layer.
//! - Exec joins all of a container's namespaces and its root (`podspec-shim exec`).
//! - Each pod and container has a cgroup in podspec's own subtree (the `podspec-cgroup` crate); containers
//!   get Kubernetes' default confinement (capabilities, masked `/proc`, read-only `/sys`, a
//!   small `/dev`, the devices allow-list) unless privileged.

mod attach;
pub use podspec_cgroup as cgroup;
mod exec;
mod log_copy;
mod netns;
pub mod network;
mod phases;
pub mod process;
pub use podspec_fs::safe_path;
pub mod seccomp;
pub mod security;
pub mod shim;
pub mod spec;
pub mod state;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use nix::sys::signal::Signal;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::broadcast;

use self::cgroup::{Cgroup, Limits};
use self::network::NodeNetwork;
use self::process::ProcessId;
use self::spec::{BindMount, ContainerProcessSpec, ExitRecord, StartReport};
use self::state::RunDir;
use podspec_cri::cri::*;
use podspec_fs::paths::Paths;
use podspec_images::ImageStore;

/// The node bridge and its subnet, inside the node network namespace.
const BRIDGE: &str = "podspec0";
const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 1);
const PREFIX_LEN: u8 = 16;
/// How long a shim may take to report that it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct LinuxRuntime {
    paths: Paths,
    run: RunDir,
    images: Arc<ImageStore>,
    node: NodeHolder,
    next_ip: AtomicU32,
    next_id: AtomicU32,
    /// The root of this run's cgroups, if the machine has a hierarchy podspec can use.
    cgroups: Option<Cgroup>,
    sandboxes: Mutex<HashMap<SandboxId, Arc<Sandbox>>>,
    containers: Mutex<HashMap<ContainerId, Arc<Container>>>,
    events: broadcast::Sender<ContainerEvent>,
    /// Where the time of its pod starts goes (`RuntimeService::phase_times`).
    phases: phases::PhaseClock,
}

struct NodeHolder {
    _child: Child,
    process: ProcessId,
    network: NodeNetwork,
}

struct Sandbox {
    id: SandboxId,
    config: PodSandboxConfig,
    dir: PathBuf,
    holder: Mutex<Option<Child>>,
    process: ProcessId,
    ip: Ipv4Addr,
    ready: Mutex<bool>,
    cgroup: Option<Cgroup>,
}

struct Container {
    id: ContainerId,
    sandbox: SandboxId,
    name: String,
    attempt: u32,
    image: String,
    spec: ContainerProcessSpec,
    spec_path: PathBuf,
    dir: PathBuf,
    created_at: Timestamp,
    cgroup: Option<Cgroup>,
    live: Mutex<ContainerLive>,
    /// `stdin_once` (CRI): the first attach's end of stdin closes the container's.
    stdin_once: bool,
    /// The container's stdin while it runs, where it has one (`spec.stdin`).
    stdin: Mutex<Option<Arc<attach::ContainerStdin>>>,
    /// The master side of the container's terminal while it runs, where it has one (`tty`).
    terminal: Mutex<Option<Arc<OwnedFd>>>,
}

#[derive(Default)]
struct ContainerLive {
    state: Option<ContainerState>,
    process: Option<ProcessId>,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
    exit_code: Option<i32>,
    reason: Option<String>,
    message: Option<String>,
    exited: Option<tokio::sync::watch::Receiver<bool>>,
}

impl LinuxRuntime {
    /// Starts the node: cleans what killed runs left, creates this run's state directory, and
    /// the node network namespace with its bridge.
    pub async fn start(paths: Paths, run_id: &str) -> RuntimeResult<Self> {
        let cleaned =
            state::clean_stale(&paths.state_dir).map_err(|e| RuntimeError::io("clean runs left by killed podspec processes", e))?;
        if !cleaned.is_empty() {
            tracing::info!(runs = cleaned.runs.len(), processes = cleaned.processes, "removed what killed runs left behind");
        }
        let run = RunDir::create(&paths.state_dir, run_id)
            .map_err(|e| RuntimeError::io(format!("create state directory under {}", paths.state_dir.display()), e))?;
        let cgroups = match Cgroup::for_run(run_id) {
            Some(c) => {
                run.record_cgroups(&c).map_err(|e| RuntimeError::io("record the run's cgroups", e))?;
                match c.create() {
                    Ok(()) => {
                        if !c.has("pids") {
                            tracing::warn!(
                                "the machine gives podspec no pids cgroup controller: the kubelet's podPidsLimit is not applied"
                            );
                        }
                        Some(c)
                    }
                    Err(e) => {
                        // Without root (in a user namespace) the hierarchy is not podspec's to write.
                        tracing::warn!(error = %e, "cannot create the run's cgroup: containers get no cgroup, resource limits are refused");
                        let _ = c.remove();
                        None
                    }
                }
            }
            None => {
                tracing::warn!("no cgroup hierarchy podspec can use: containers get no cgroup, resource limits are refused");
                None
            }
        };
        let (child, process) = spawn_holder(&paths.shim, &["sandbox", "--node"], &run.procs()).await?;
        // Checked to be a new namespace before the bridge is made in it.
        let netns = netns::open_new_netns_of(process.pid).map_err(|e| RuntimeError::failed("set up the node network", e))?;
        let network = NodeNetwork::setup(netns.as_fd(), BRIDGE, GATEWAY, PREFIX_LEN)
            .await
            .map_err(|e| RuntimeError::failed("set up the node network", e))?;
        let images = Arc::new(ImageStore::new(&paths.data_dir, &paths.agent));
        let (events, _) = broadcast::channel(1024);
        Ok(Self {
            paths,
            run,
            images,
            node: NodeHolder { _child: child, process, network },
            next_ip: AtomicU32::new(2),
            next_id: AtomicU32::new(1),
            cgroups,
            sandboxes: Mutex::default(),
            containers: Mutex::default(),
            events,
            phases: Default::default(),
        })
    }

    pub fn images(&self) -> &Arc<ImageStore> {
        &self.images
    }

    pub fn run_dir(&self) -> &Path {
        &self.run.path
    }

    /// The node's IP on its bridge (the pods' gateway).
    pub fn node_ip(&self) -> Ipv4Addr {
        GATEWAY
    }

    /// Kills a container's main process, as a crash would: what happens next is the kubelet's
    /// business (its restart policy). Not part of the CRI: the node's side of a crash.
    pub fn kill_main_process(&self, id: &ContainerId) -> RuntimeResult<()> {
        let c = self.container(id)?;
        let live = c.live.lock().unwrap();
        match live.process {
            Some(p) if live.state == Some(ContainerState::Running) && p.signal(Signal::SIGKILL) => Ok(()),
            _ => Err(RuntimeError::ContainerNotRunning(id.clone())),
        }
    }

    /// Stops everything and removes the run's state directory.
    pub async fn shutdown(&self) -> RuntimeResult<()> {
        let sandboxes: Vec<SandboxId> = self.sandboxes.lock().unwrap().keys().cloned().collect();
        for id in sandboxes {
            let _ = self.stop_pod_sandbox(&id).await;
            let _ = self.remove_pod_sandbox(&id).await;
        }
        self.node.process.signal(Signal::SIGKILL);
        let run_path = self.run.path.clone();
        let report = tokio::task::spawn_blocking(move || state::RunDir { path: run_path }.remove())
            .await
            .map_err(|e| RuntimeError::failed("remove the run's state", e))?;
        report.map_err(|e| RuntimeError::io("remove the run's state", e))?;
        Ok(())
    }

    fn sandbox(&self, id: &SandboxId) -> RuntimeResult<Arc<Sandbox>> {
        self.sandboxes.lock().unwrap().get(id).cloned().ok_or_else(|| RuntimeError::SandboxNotFound(id.clone()))
    }

    fn container(&self, id: &ContainerId) -> RuntimeResult<Arc<Container>> {
        self.containers.lock().unwrap().get(id).cloned().ok_or_else(|| RuntimeError::ContainerNotFound(id.clone()))
    }

    /// Creates a container's cgroup in its pod's, with its limits and, unless privileged, the
    /// default device allow-list. A limit asked for where the machine has no cgroups is refused.
    async fn container_cgroup(&self, sandbox: &Sandbox, config: &ContainerConfig) -> RuntimeResult<Option<Cgroup>> {
        let what = format!("create the cgroup of container {}", config.name);
        let limits = limits(&config.resources);
        let Some(pod) = &sandbox.cgroup else {
            if limits.memory_bytes.is_some() || limits.cpu_quota_us.is_some() {
                return Err(RuntimeError::failed(what, "the machine has no cgroup hierarchy for resource limits"));
            }
            return Ok(None);
        };
        let cgroup = pod.child(&config.name);
        let privileged = config.security.privileged;
        let c = cgroup.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            // A cgroup left by an instance that could not be removed is replaced.
            c.remove()?;
            c.create()?;
            c.set_limits(&limits)?;
            if !privileged {
                c.restrict_devices()?;
            }
            Ok(())
        })
        .await
        .map_err(|e| RuntimeError::failed(&what, e))?
        .map_err(|e| RuntimeError::io(what, e))?;
        Ok(Some(cgroup))
    }

    fn allocate_ip(&self) -> Ipv4Addr {
        let n = self.next_ip.fetch_add(1, Ordering::Relaxed);
        let base = u32::from(Ipv4Addr::new(10, 88, 0, 0));
        Ipv4Addr::from(base + n)
    }

    fn status_of(c: &Container) -> ContainerStatus {
        let live = c.live.lock().unwrap();
        ContainerStatus {
            id: c.id.clone(),
            name: c.name.clone(),
            attempt: c.attempt,
            image: c.image.clone(),
            state: live.state.unwrap_or(ContainerState::Created),
            pid: live.process.map(|p| p.pid),
            created_at: c.created_at,
            started_at: live.started_at,
            finished_at: live.finished_at,
            exit_code: live.exit_code,
            reason: live.reason.clone(),
            message: live.message.clone(),
            log_path: c.spec.log_path.clone(),
        }
    }
}

/// Starts a `podspec-shim` holder and waits for its "ready" line.
async fn spawn_holder(shim: &Path, args: &[&str], procs: &Path) -> RuntimeResult<(Child, ProcessId)> {
    let what = format!("start {} {}", shim.display(), args.join(" "));
    let mut child = spawn_shim(shim, args.iter().map(OsStr::new), &what, Stdio::null())?;
    let pid = child.id().ok_or_else(|| RuntimeError::failed(&what, "exited at once"))? as i32;
    let process = ProcessId::of(pid).ok_or_else(|| RuntimeError::failed(&what, "exited at once"))?;
    process.record(procs).map_err(|e| RuntimeError::io("record process", e))?;
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    let read = tokio::time::timeout(READY_TIMEOUT, stdout.read_line(&mut line)).await;
    if line.trim() != "ready" {
        let err = read_stderr(&mut child).await;
        let _ = child.start_kill();
        process.forget(procs);
        let why = match read {
            Err(_) => format!("no answer within {READY_TIMEOUT:?}"),
            Ok(_) if err.is_empty() => "exited without a word".to_string(),
            Ok(_) => err.trim().to_string(),
        };
        return Err(RuntimeError::failed(what, privilege_hint(&why)));
    }
    Ok((child, process))
}

/// Starts `podspec-shim` with its output piped to podspec and `stdin` (which a container's shim
/// passes on to the container: a pipe, or a terminal's master side); it is killed if dropped.
fn spawn_shim<'a>(shim: &Path, args: impl IntoIterator<Item = &'a OsStr>, what: &str, stdin: Stdio) -> RuntimeResult<Child> {
    Command::new(shim)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| RuntimeError::io(what.to_string(), e))
}

/// What a shim that failed said, waiting at most a second for it.
async fn read_stderr(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = tokio::time::timeout(Duration::from_secs(1), e.read_to_string(&mut err)).await;
    }
    err
}

/// Adds what the runtime needs to a permission error.
fn privilege_hint(why: &str) -> String {
    if why.contains("EPERM") || why.contains("Operation not permitted") {
        format!("{why} (the reference runtime needs root, or user namespaces: run as root or allow unprivileged user namespaces)")
    } else {
        why.to_string()
    }
}

fn millis_to_time(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or_else(|_| Timestamp::now())
}

/// The runtime handlers the reference runtime has: its default ("") and itself by name, for a
/// RuntimeClass that names it.
pub const HANDLERS: &[&str] = &["", "podspec"];

#[async_trait]
impl RuntimeService for LinuxRuntime {
    fn resolves_sub_paths(&self) -> bool {
        // The shim resolves it beneath the volume's descriptor and mounts through it.
        true
    }

    fn version(&self) -> String {
        format!("podspec-reference/{}", env!("CARGO_PKG_VERSION"))
    }

    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> RuntimeResult<SandboxId> {
        if !HANDLERS.contains(&config.runtime_handler.as_str()) {
            // As containerd answers a handler it has no runtime for.
            return Err(RuntimeError::failed(
                format!("run the sandbox of {}/{}", config.namespace, config.name),
                format!("failed to get sandbox runtime: no runtime for {:?} is configured", config.runtime_handler),
            ));
        }
        if let Some(parent) = &config.cgroup_parent {
            return Err(RuntimeError::failed(
                format!("run the sandbox of {}/{}", config.namespace, config.name),
                format!("the reference runtime lays out the pods' cgroups itself and takes no cgroup parent ({parent:?})"),
            ));
        }
        let mut lap = self.phases.lap();
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = SandboxId(format!("{}-{n}", config.uid));
        let dir = self.run.path.join("sandboxes").join(&id.0);
        fs::create_dir_all(dir.join("shm")).map_err(|e| RuntimeError::io(format!("create {}", dir.display()), e))?;
        lap.mark("sandbox: directories");
        let cgroup = self.cgroups.as_ref().map(|c| c.child(&format!("pod{}", config.uid)));
        if let Some(c) = &cgroup {
            let what = format!("create the cgroup of pod {}/{}", config.namespace, config.name);
            c.create().map_err(|e| RuntimeError::io(&what, e))?;
            // The node's podPidsLimit, where the machine has the pids controller (the node
            // warns at its start where it has not).
            let pids_max = config.pids_limit.filter(|_| c.has("pids"));
            c.set_limits(&Limits { pids_max, ..Default::default() }).map_err(|e| RuntimeError::io(&what, e))?;
        }
        lap.mark("sandbox: cgroup");
        let node = self.node.process.pid.to_string();
        let ns = &config.namespaces;
        let mut args: Vec<String> = vec!["sandbox".into()];
        let host_network = ns.network == NamespaceMode::Node;
        if host_network {
            // The node's network and, as the kubelet asks for a hostNetwork pod, its UTS namespace.
            args.extend(["--join-net".into(), node.clone(), "--join-uts".into(), node.clone()]);
        } else {
            args.extend(["--hostname".into(), config.hostname.clone()]);
        }
        if ns.ipc == NamespaceMode::Node {
            args.extend(["--join-ipc".into(), node.clone()]);
        }
        if ns.pid == NamespaceMode::Pod {
            // The pod's PID namespace, a child of the node's.
            args.extend(["--share-pid".into(), "--node-pid".into(), node.clone()]);
        }
        for f in cgroup.iter().flat_map(Cgroup::join_files) {
            args.extend(["--cgroup".into(), f.display().to_string()]);
        }
        for (k, v) in &config.sysctls {
            args.extend(["--sysctl".into(), format!("{k}={v}")]);
        }
        for t in &config.tmpfs {
            args.extend(["--tmpfs".into(), format!("{}={}", t.path.display(), t.size_bytes)]);
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (child, process) = match spawn_holder(&self.paths.shim, &argv, &self.run.procs()).await {
            Ok(held) => held,
            Err(e) => {
                remove_cgroup(cgroup).await;
                return Err(e);
            }
        };
        lap.mark("sandbox: namespaces (holder process)");
        let ip = if host_network {
            GATEWAY
        } else {
            let ip = self.allocate_ip();
            let host_if = format!("psv{n}");
            let what = format!("attach pod {}/{} to the node network", config.namespace, config.name);
            // Checked to be a new namespace before the pod's end of the veth goes into it.
            let attached = match netns::open_new_netns_of(process.pid) {
                Ok(netns) => self.node.network.attach_pod(netns.as_fd(), &host_if, ip).await.map_err(|e| RuntimeError::failed(&what, e)),
                Err(e) => Err(RuntimeError::failed(&what, e)),
            };
            if let Err(e) = attached {
                process.signal(Signal::SIGKILL);
                process.forget(&self.run.procs());
                remove_cgroup(cgroup).await;
                return Err(e);
            }
            ip
        };
        lap.mark("sandbox: network (veth, address)");
        let sandbox = Sandbox {
            id: id.clone(),
            config: config.clone(),
            dir,
            holder: Mutex::new(Some(child)),
            process,
            ip,
            ready: Mutex::new(true),
            cgroup,
        };
        self.sandboxes.lock().unwrap().insert(id.clone(), Arc::new(sandbox));
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &SandboxId) -> RuntimeResult<()> {
        let sandbox = self.sandbox(id)?;
        let containers: Vec<ContainerId> =
            self.containers.lock().unwrap().values().filter(|c| &c.sandbox == id).map(|c| c.id.clone()).collect();
        for c in containers {
            self.stop_container(&c, Duration::ZERO).await?;
        }
        // The pod end of the veth pair goes with the pod network namespace when its holder dies,
        // and the node end with it; deleting it here would only add the kernel's wait.
        let holder = sandbox.holder.lock().unwrap().take();
        if let Some(mut child) = holder {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        sandbox.process.forget(&self.run.procs());
        *sandbox.ready.lock().unwrap() = false;
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &SandboxId) -> RuntimeResult<()> {
        let sandbox = self.sandbox(id)?;
        if *sandbox.ready.lock().unwrap() {
            self.stop_pod_sandbox(id).await?;
        }
        let containers: Vec<ContainerId> =
            self.containers.lock().unwrap().values().filter(|c| &c.sandbox == id).map(|c| c.id.clone()).collect();
        for c in containers {
            self.remove_container(&c).await?;
        }
        remove_cgroup(sandbox.cgroup.clone()).await;
        remove_tree(&sandbox.dir).await?;
        self.sandboxes.lock().unwrap().remove(id);
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &SandboxId) -> RuntimeResult<PodSandboxStatus> {
        let s = self.sandbox(id)?;
        let ready = *s.ready.lock().unwrap() && s.process.is_alive();
        Ok(PodSandboxStatus { id: s.id.clone(), ready, ip: s.ip })
    }

    async fn create_container(&self, sandbox_id: &SandboxId, config: &ContainerConfig) -> RuntimeResult<ContainerId> {
        let sandbox = self.sandbox(sandbox_id)?;
        let mut lap = self.phases.lap();
        let images = self.images.clone();
        let reference = config.image.clone();
        let image = tokio::task::spawn_blocking(move || images.resolve(&reference))
            .await
            .map_err(|e| RuntimeError::failed("resolve image", e))?
            .map_err(|e| RuntimeError::ImageNotFound { reference: config.image.clone(), reason: e.to_string() })?;
        lap.mark("container: image");
        let id = ContainerId(format!("{}-{}-{}", sandbox_id.0, config.name, config.attempt));
        let dir = sandbox.dir.join("containers").join(format!("{}-{}", config.name, config.attempt));
        for d in ["upper", "work", "rootfs"] {
            fs::create_dir_all(dir.join(d)).map_err(|e| RuntimeError::io(format!("create {}", dir.join(d).display()), e))?;
        }
        lap.mark("container: directories");
        let args: Vec<String> = match (config.command.is_empty(), config.args.is_empty()) {
            (false, _) => config.command.iter().chain(&config.args).cloned().collect(),
            (true, false) => image.config.entrypoint.iter().chain(&config.args).cloned().collect(),
            (true, true) => image.config.entrypoint.iter().chain(&image.config.cmd).cloned().collect(),
        };
        let env = merge_env(&image.config.env, &sandbox.config.hostname, &config.env);
        let mut mounts = vec![BindMount {
            source: sandbox.dir.join("shm"),
            destination: "/dev/shm".into(),
            readonly: false,
            file: false,
            sub_path: None,
        }];
        mounts.extend(config.mounts.iter().cloned());
        let security = security::process_security(&config.security, image.config.uid())
            .map_err(|e| RuntimeError::failed(format!("create container {}", config.name), e))?;
        let pid_namespace = match config.security.namespaces.pid {
            NamespaceMode::Container => None,
            NamespaceMode::Pod => Some(PathBuf::from(format!("/proc/{}/ns/pid_for_children", sandbox.process.pid))),
            NamespaceMode::Node => Some(PathBuf::from(format!("/proc/{}/ns/pid_for_children", self.node.process.pid))),
            // Another container's of the same sandbox, while its main process runs.
            NamespaceMode::Target => {
                let what = format!("create container {}: join the PID namespace of its target", config.name);
                let target_id = config.security.namespaces.target_id.clone().ok_or_else(|| RuntimeError::failed(&what, "no target_id"))?;
                let target = self.container(&target_id)?;
                if &target.sandbox != sandbox_id {
                    return Err(RuntimeError::failed(&what, format!("container {target_id} is in another pod sandbox")));
                }
                let pid = target.live.lock().unwrap().process.map(|p| p.pid);
                let pid = pid.ok_or_else(|| RuntimeError::failed(&what, format!("container {target_id} is not running")))?;
                Some(PathBuf::from(format!("/proc/{pid}/ns/pid")))
            }
        };
        lap.mark("container: spec");
        let cgroup = self.container_cgroup(&sandbox, config).await?;
        lap.mark("container: cgroup");
        let spec = ContainerProcessSpec {
            sandbox_pid: sandbox.process.pid,
            sandbox_mounts: !sandbox.config.tmpfs.is_empty(),
            image_rootfs: image.rootfs.clone(),
            upper_dir: dir.join("upper"),
            work_dir: dir.join("work"),
            rootfs: dir.join("rootfs"),
            mounts,
            args,
            env,
            cwd: config.working_dir.clone().or(image.config.working_dir.clone()).unwrap_or_else(|| "/".into()),
            log_path: dir.join("log"),
            exit_path: dir.join("exit.json"),
            pid_namespace,
            node_pid_namespace: Some(PathBuf::from(format!("/proc/{}/ns/pid_for_children", self.node.process.pid))),
            cgroup_join: cgroup.as_ref().map(Cgroup::join_files).unwrap_or_default(),
            cgroup_dirs: cgroup.as_ref().map(|c| c.dirs.clone()).unwrap_or_default(),
            security,
            stdin: config.stdin,
            tty: config.tty,
        };
        let spec_path = dir.join("spec.json");
        fs::write(&spec_path, serde_json::to_vec_pretty(&spec).expect("spec serializes"))
            .map_err(|e| RuntimeError::io(format!("write {}", spec_path.display()), e))?;
        lap.mark("container: spec");
        let container = Container {
            id: id.clone(),
            sandbox: sandbox_id.clone(),
            name: config.name.clone(),
            attempt: config.attempt,
            image: config.image.clone(),
            spec,
            spec_path,
            dir,
            created_at: Timestamp::now(),
            cgroup,
            live: Mutex::new(ContainerLive { state: Some(ContainerState::Created), ..Default::default() }),
            stdin_once: config.stdin_once,
            stdin: Mutex::new(None),
            terminal: Mutex::new(None),
        };
        self.containers.lock().unwrap().insert(id.clone(), Arc::new(container));
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> RuntimeResult<()> {
        let c = self.container(id)?;
        let mut lap = self.phases.lap();
        let what = format!("start container {id}");
        // With `tty`, the terminal's master side is the shim's stdin and stays podspec's too: the
        // container's stdin is written into it and its size set on it.
        let master = match c.spec.tty {
            true => Some(
                exec::open_master(Path::new("/dev/ptmx")).map_err(|e| RuntimeError::failed(what.clone(), format!("open a tty: {e}")))?,
            ),
            false => None,
        };
        let shim_stdin = match (&master, c.spec.stdin) {
            (Some(master), _) => Stdio::from(master.try_clone().map_err(|e| RuntimeError::io(what.clone(), e))?),
            (None, true) => Stdio::piped(),
            (None, false) => Stdio::null(),
        };
        let mut child = spawn_shim(&self.paths.shim, [OsStr::new("run"), c.spec_path.as_os_str()], &what, shim_stdin)?;
        if let Some(pipe) = child.stdin.take() {
            *c.stdin.lock().unwrap() = Some(Arc::new(attach::ContainerStdin::pipe(pipe, c.stdin_once)));
        }
        if let Some(master) = master {
            let master = Arc::new(master);
            if c.spec.stdin {
                let writer = master.try_clone().map_err(|e| RuntimeError::io(what.clone(), e))?;
                *c.stdin.lock().unwrap() = Some(Arc::new(attach::ContainerStdin::terminal(writer, c.stdin_once)));
            }
            *c.terminal.lock().unwrap() = Some(master);
        }
        let shim = child.id().and_then(|pid| ProcessId::of(pid as i32));
        if let Some(p) = shim {
            let _ = p.record(&self.run.procs());
        }
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        let _ = tokio::time::timeout(READY_TIMEOUT, stdout.read_line(&mut line)).await;
        lap.mark("container: shim (namespaces, mounts, seccomp, exec)");
        let report: Option<StartReport> = serde_json::from_str(line.trim()).ok();
        let (tx, rx) = tokio::sync::watch::channel(false);
        {
            let mut live = c.live.lock().unwrap();
            live.exited = Some(rx);
            match &report {
                Some(StartReport::Started { pid }) => {
                    let process = ProcessId::of(*pid);
                    if let Some(p) = process {
                        let _ = p.record(&self.run.procs());
                    }
                    live.process = process;
                    live.state = Some(ContainerState::Running);
                    live.started_at = Some(Timestamp::now());
                }
                Some(StartReport::Failed { error }) => {
                    live.state = Some(ContainerState::Exited);
                    live.exit_code = Some(128);
                    live.reason = Some("StartError".into());
                    live.message = Some(error.clone());
                    live.finished_at = Some(Timestamp::now());
                }
                None => {}
            }
        }
        let failure = match &report {
            Some(StartReport::Started { .. }) => None,
            Some(StartReport::Failed { error }) => Some(error.clone()),
            None => {
                let err = read_stderr(&mut child).await;
                let _ = child.start_kill();
                let why = privilege_hint(err.trim());
                let mut live = c.live.lock().unwrap();
                live.state = Some(ContainerState::Exited);
                live.exit_code = Some(128);
                live.reason = Some("StartError".into());
                live.message = Some(why.clone());
                live.finished_at = Some(Timestamp::now());
                Some(why)
            }
        };

        // Watch the shim: when it exits, the container has ended; its record says how.
        let events = self.events.clone();
        let procs = self.run.procs();
        let watched = c.clone();
        tokio::spawn(async move {
            let shim_status = child.wait().await;
            let record: Option<ExitRecord> = fs::read(&watched.spec.exit_path).ok().and_then(|b| serde_json::from_slice(&b).ok());
            if let Some(r) = &record {
                // How long the shim's record of the end took to reach the runtime (a stop waits
                // for this, not for the process' end itself).
                tracing::debug!(container = %watched.id, after_ms = Timestamp::now().as_millisecond() - r.finished_at_ms, "container end seen");
            }
            if record.is_none() {
                let said = read_stderr(&mut child).await;
                tracing::warn!(container = %watched.id, shim = ?shim_status, stderr = %said.trim(), "the shim left no exit record");
            }
            {
                let mut live = watched.live.lock().unwrap();
                if let Some(p) = live.process {
                    p.forget(&procs);
                }
                if let Some(p) = shim {
                    p.forget(&procs);
                }
                if live.state == Some(ContainerState::Running) {
                    live.state = Some(ContainerState::Exited);
                    let code = record.map(|r| r.exit_code).unwrap_or(137);
                    live.exit_code = Some(code);
                    live.finished_at = Some(record.map(|r| millis_to_time(r.finished_at_ms)).unwrap_or_else(Timestamp::now));
                    let oom = watched.cgroup.as_ref().is_some_and(|c| c.oom_kills() > 0);
                    live.reason = Some(
                        match (code, oom) {
                            (_, true) => "OOMKilled",
                            (0, false) => "Completed",
                            _ => "Error",
                        }
                        .into(),
                    );
                }
            }
            // Nobody reads the container's stdin any more.
            watched.stdin.lock().unwrap().take();
            watched.terminal.lock().unwrap().take();
            let _ = tx.send(true);
            let _ = events.send(ContainerEvent::Stopped { sandbox: watched.sandbox.clone(), container: watched.id.clone() });
        });

        match failure {
            None => {
                let _ = self.events.send(ContainerEvent::Started { sandbox: c.sandbox.clone(), container: id.clone() });
                Ok(())
            }
            Some(why) => Err(RuntimeError::failed(what, why)),
        }
    }

    async fn stop_container(&self, id: &ContainerId, timeout: Duration) -> RuntimeResult<()> {
        let c = self.container(id)?;
        let (process, exited) = {
            let live = c.live.lock().unwrap();
            (live.process, live.exited.clone())
        };
        let Some(mut exited) = exited else { return Ok(()) };
        if *exited.borrow() {
            return Ok(());
        }
        if let Some(p) = process {
            if !timeout.is_zero() {
                // What the wait below depends on, for a stop that outlasts its grace period: a
                // PID 1 drops a SIGTERM it has no handler for, and a signal is not sent when
                // the process' identity cannot be read from /proc.
                let caught = p.catches(Signal::SIGTERM);
                let sent = p.signal(Signal::SIGTERM);
                let start = std::time::Instant::now();
                tracing::debug!(container = %id, pid = p.pid, sent, ?caught, "SIGTERM");
                if tokio::time::timeout(timeout, exited.wait_for(|e| *e)).await.is_ok() {
                    tracing::debug!(container = %id, after = ?start.elapsed(), "ended after SIGTERM");
                    return Ok(());
                }
                let alive = p.is_alive();
                if sent && alive {
                    tracing::info!(container = %id, pid = p.pid, ?caught, ?timeout, "still running after SIGTERM and its grace period: SIGKILL");
                } else {
                    // Neither is a container's doing: SIGTERM was never sent to a live process,
                    // or it ended and its end was not seen within the grace period.
                    tracing::warn!(container = %id, pid = p.pid, sent, alive, ?caught, ?timeout, "a stop waited for the whole grace period");
                }
            }
            p.signal(Signal::SIGKILL);
        }
        let limit = Duration::from_secs(10);
        tokio::time::timeout(limit, exited.wait_for(|e| *e))
            .await
            .map_err(|_| RuntimeError::Timeout { operation: format!("stop container {id}"), after: limit })?
            .map_err(|e| RuntimeError::failed(format!("stop container {id}"), e))?;
        Ok(())
    }

    async fn remove_container(&self, id: &ContainerId) -> RuntimeResult<()> {
        let c = self.container(id)?;
        self.stop_container(id, Duration::ZERO).await?;
        remove_cgroup(c.cgroup.clone()).await;
        remove_tree(&c.dir).await?;
        self.containers.lock().unwrap().remove(id);
        Ok(())
    }

    async fn container_status(&self, id: &ContainerId) -> RuntimeResult<ContainerStatus> {
        Ok(Self::status_of(&*self.container(id)?))
    }

    async fn list_containers(&self, sandbox: &SandboxId) -> RuntimeResult<Vec<ContainerStatus>> {
        let all: Vec<Arc<Container>> = self.containers.lock().unwrap().values().filter(|c| &c.sandbox == sandbox).cloned().collect();
        Ok(all.iter().map(|c| Self::status_of(c)).collect())
    }

    async fn exec_sync(&self, id: &ContainerId, cmd: &[String], timeout: Duration) -> RuntimeResult<ExecResult> {
        let (mut command, _) = self.exec_command(id, cmd, false)?;
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let what = format!("exec in container {id}");
        let child = command.spawn().map_err(|e| RuntimeError::io(what.clone(), e))?;
        let out = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .map_err(|_| RuntimeError::Timeout { operation: what.clone(), after: timeout })?
            .map_err(|e| RuntimeError::io(what, e))?;
        Ok(ExecResult { stdout: out.stdout, stderr: out.stderr, exit_code: out.status.code().unwrap_or(137) })
    }

    async fn exec(&self, id: &ContainerId, cmd: &[String], options: ExecOptions) -> RuntimeResult<ExecSession> {
        let (command, pid) = self.exec_command(id, cmd, options.tty)?;
        exec::start(command, id, pid, options)
    }

    async fn attach(&self, id: &ContainerId, stdin: bool) -> RuntimeResult<ExecSession> {
        let c = self.container(id)?;
        let exited = {
            let live = c.live.lock().unwrap();
            match (live.state, &live.exited) {
                (Some(ContainerState::Running), Some(exited)) => exited.clone(),
                _ => return Err(RuntimeError::failed(format!("attach to container {id}"), "the container is not running")),
            }
        };
        let pipe = if stdin { c.stdin.lock().unwrap().clone() } else { None };
        let terminal = c.terminal.lock().unwrap().clone();
        Ok(attach::start(id, c.spec.log_path.clone(), pipe, terminal, exited))
    }

    fn phase_times(&self) -> Vec<(&'static str, Duration)> {
        self.phases.totals()
    }

    fn container_events(&self) -> broadcast::Receiver<ContainerEvent> {
        self.events.subscribe()
    }

    /// The sandbox mounts them in a mount namespace of its own.
    fn holds_memory_volumes(&self) -> bool {
        true
    }

    /// From the node network namespace, where the pods' bridge is: a short-lived thread joins
    /// it and connects (the socket stays in that namespace).
    async fn connect_from_node(&self, addr: std::net::SocketAddr, timeout: Duration) -> std::io::Result<std::net::TcpStream> {
        let netns = fs::File::open(format!("/proc/{}/ns/net", self.node.process.pid))?;
        // A thread of its own, never a pooled one: it ends in the node's namespace.
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let connected = nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)
                .and_then(|()| std::net::TcpStream::connect_timeout(&addr, timeout));
            let _ = tx.send(connected);
        });
        rx.await.map_err(|_| std::io::Error::other("the thread connecting in the node network ended without an answer"))?
    }
}

impl LinuxRuntime {
    /// `podspec-shim exec` for a command in a running container (its streams still to set),
    /// and the container's main process.
    fn exec_command(&self, id: &ContainerId, cmd: &[String], tty: bool) -> RuntimeResult<(Command, i32)> {
        let c = self.container(id)?;
        let pid = {
            let live = c.live.lock().unwrap();
            match (live.state, live.process) {
                (Some(ContainerState::Running), Some(p)) => p.pid,
                _ => return Err(RuntimeError::ContainerNotRunning(id.clone())),
            }
        };
        let mut command = Command::new(&self.paths.shim);
        command.args(["exec", "--pid", &pid.to_string(), "--cwd", &c.spec.cwd]).arg("--spec").arg(&c.spec_path);
        if tty {
            command.arg("--tty");
        }
        for e in &c.spec.env {
            command.args(["--env", e]);
        }
        command.arg("--").args(cmd);
        Ok((command, pid))
    }
}

#[async_trait]
impl ImageService for LinuxRuntime {
    async fn image_status(&self, reference: &str) -> RuntimeResult<ImageInfo> {
        let images = self.images.clone();
        let r = reference.to_string();
        let image = tokio::task::spawn_blocking(move || images.resolve(&r))
            .await
            .map_err(|e| RuntimeError::failed("resolve image", e))?
            .map_err(|e| RuntimeError::ImageNotFound { reference: reference.to_string(), reason: e.to_string() })?;
        Ok(ImageInfo { reference: reference.to_string(), id: image.name, config: image.config })
    }

    fn pulls(&self) -> bool {
        true
    }

    /// A reference one of podspec's recipes names is pulled from that recipe (built, or the
    /// build reused): the recipe is its registry. Any other is pulled from its registry.
    async fn pull_image(&self, reference: &str, auth: Option<&podspec_images::keyring::Credentials>) -> RuntimeResult<(ImageInfo, u64)> {
        let not_pulled = |e: podspec_images::ImageError| RuntimeError::failed(format!("failed to pull image {reference:?}"), e);
        let image = if self.images.recipe_for(reference).is_ok() {
            let images = self.images.clone();
            let r = reference.to_string();
            let image = tokio::task::spawn_blocking(move || images.resolve(&r))
                .await
                .map_err(|e| RuntimeError::failed("resolve image", e))?
                .map_err(not_pulled)?;
            let size = tokio::task::spawn_blocking({
                let rootfs = image.rootfs.clone();
                move || podspec_images::tree_size(&rootfs)
            })
            .await
            .unwrap_or(0);
            (image, size)
        } else {
            self.images.pull(reference, auth).await.map_err(not_pulled)?
        };
        let (image, size) = image;
        Ok((ImageInfo { reference: reference.to_string(), id: image.name, config: image.config }, size))
    }
}

/// The container's environment: the image's, then HOSTNAME (as container runtimes set it),
/// then the container's own, later entries replacing earlier ones of the same name.
fn merge_env(image: &[String], hostname: &str, container: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| match out.iter_mut().find(|(name, _)| name == k) {
        Some(entry) => entry.1 = v.to_string(),
        None => out.push((k.to_string(), v.to_string())),
    };
    for e in image {
        let (k, v) = e.split_once('=').unwrap_or((e, ""));
        set(k, v);
    }
    set("HOSTNAME", hostname);
    for (k, v) in container {
        set(k, v);
    }
    out.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// Removes a cgroup, ending what is still in it; a failure is logged (the run's end and
/// `podspec clean` try again).
async fn remove_cgroup(cgroup: Option<Cgroup>) {
    let Some(c) = cgroup else { return };
    match tokio::task::spawn_blocking(move || c.remove()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cgroup not removed"),
        Err(e) => tracing::warn!(error = %e, "cgroup not removed"),
    }
}

/// The limits of a container from its CRI resources.
fn limits(r: &LinuxContainerResources) -> Limits {
    Limits {
        memory_bytes: r.memory_limit_bytes,
        cpu_quota_us: r.cpu_quota,
        cpu_period_us: if r.cpu_period > 0 { r.cpu_period } else { 100_000 },
        cpu_shares: r.cpu_shares,
        pids_max: None,
    }
}

/// Removes a directory tree after checking nothing is mounted inside it.
async fn remove_tree(dir: &Path) -> RuntimeResult<()> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mounted = podspec_fs::mounts_under(&dir);
        if !mounted.is_empty() {
            return Err(RuntimeError::failed(
                format!("remove {}", dir.display()),
                format!("still mounted: {}", mounted.iter().map(|m| m.display().to_string()).collect::<Vec<_>>().join(", ")),
            ));
        }
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(RuntimeError::io(format!("remove {}", dir.display()), e)),
        }
    })
    .await
    .map_err(|e| RuntimeError::failed("remove directory", e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_env_overrides_the_image_and_hostname_is_set() {
        let env = merge_env(&["PATH=/bin".into(), "A=1".into()], "web", &[("A".into(), "2".into()), ("B".into(), "3".into())]);
        assert_eq!(env, vec!["PATH=/bin", "A=2", "HOSTNAME=web", "B=3"]);
    }
}
