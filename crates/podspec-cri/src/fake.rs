//! A runtime in memory, for the kubelet's unit tests: it implements the runtime interface
//! (`cri::RuntimeService` and `cri::ImageService`) without processes, namespaces or root. Its
//! containers run until the test says they exit (with an exit code), a stop ends them at once
//! (or, for one set to ignore SIGTERM, once the grace period has passed or the test ended it), the next create or
//! start of a container can be made to fail with a given error, and every call is recorded
//! with the (tokio) time it was made, so that a test on a paused clock reads the kubelet's
//! timing off the record.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::cri::{
    ContainerConfig, ContainerEvent, ContainerId, ContainerState, ContainerStatus, ExecResult, ImageInfo, ImageService, PodSandboxConfig,
    PodSandboxStatus, RuntimeError, RuntimeResult, RuntimeService, SandboxId,
};

/// One call the kubelet made, with the container's name and attempt where it concerns one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// When it was made (the paused clock's time in a test).
    pub at: Instant,
    /// `run_pod_sandbox`, `create_container`, `start_container`, `stop_container`, ...
    pub op: &'static str,
    /// The container's name ("" for a sandbox call).
    pub name: String,
    pub attempt: u32,
    /// A stop's timeout (the grace period left).
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
struct Container {
    sandbox: SandboxId,
    name: String,
    attempt: u32,
    image: String,
    state: ContainerState,
    created_at: jiff::Timestamp,
    started_at: Option<jiff::Timestamp>,
    finished_at: Option<jiff::Timestamp>,
    exit_code: Option<i32>,
    reason: Option<String>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    sandboxes: HashMap<SandboxId, (String, bool)>,
    containers: HashMap<ContainerId, Container>,
    calls: Vec<Call>,
    /// Errors the next create or start of a container (by name) returns, one per call.
    fail_create: HashMap<String, Vec<RuntimeError>>,
    fail_start: HashMap<String, Vec<RuntimeError>>,
    /// Containers (by name) whose every instance lets SIGTERM pass: a stop kills them only
    /// once its timeout has passed.
    ignore_term: Vec<String>,
}

/// The in-memory runtime. Cheap to clone: clones share their containers.
#[derive(Clone)]
pub struct FakeRuntime {
    inner: Arc<Mutex<Inner>>,
    events: broadcast::Sender<ContainerEvent>,
    log_dir: PathBuf,
}

/// A file descriptor could not be had (EMFILE), as a runtime says it under a low open-file
/// limit.
pub fn too_many_open_files(operation: &str) -> RuntimeError {
    RuntimeError::io(operation, std::io::Error::from_raw_os_error(libc::EMFILE))
}

impl FakeRuntime {
    /// A runtime whose containers' (empty) logs would be under `log_dir`.
    pub fn new(log_dir: PathBuf) -> Self {
        Self { inner: Arc::default(), events: broadcast::channel(1024).0, log_dir }
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    /// The calls of one operation for one container.
    pub fn calls_of(&self, op: &str, name: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.op == op && c.name == name).collect()
    }

    /// Whether the current instance of `name` runs.
    pub fn is_running(&self, name: &str) -> bool {
        self.latest(name).is_some_and(|(_, c)| c.state == ContainerState::Running)
    }

    /// The next create of container `name` fails with `error`.
    pub fn fail_next_create(&self, name: &str, error: RuntimeError) {
        self.inner.lock().unwrap().fail_create.entry(name.into()).or_default().push(error);
    }

    /// The next start of container `name` fails with `error`, before anything runs (no exit).
    pub fn fail_next_start(&self, name: &str, error: RuntimeError) {
        self.inner.lock().unwrap().fail_start.entry(name.into()).or_default().push(error);
    }

    /// Container `name` lets SIGTERM pass: a stop ends it only once its timeout passed (or once
    /// the test made it exit).
    pub fn ignore_sigterm(&self, name: &str) {
        self.inner.lock().unwrap().ignore_term.push(name.into());
    }

    /// The running instance of container `name` exits with `code`. False if none runs.
    pub fn exit(&self, name: &str, code: i32) -> bool {
        let Some((id, _)) = self.latest(name).filter(|(_, c)| c.state == ContainerState::Running) else { return false };
        self.end(&id, code, if code == 0 { "Completed" } else { "Error" });
        true
    }

    /// The newest instance of container `name`.
    fn latest(&self, name: &str) -> Option<(ContainerId, Container)> {
        let inner = self.inner.lock().unwrap();
        inner.containers.iter().filter(|(_, c)| c.name == name).max_by_key(|(id, _)| id.0.clone()).map(|(id, c)| (id.clone(), c.clone()))
    }

    fn end(&self, id: &ContainerId, code: i32, reason: &str) {
        let sandbox = {
            let mut inner = self.inner.lock().unwrap();
            let Some(c) = inner.containers.get_mut(id).filter(|c| c.state == ContainerState::Running) else { return };
            c.state = ContainerState::Exited;
            c.exit_code = Some(code);
            c.reason = Some(reason.into());
            c.finished_at = Some(jiff::Timestamp::now());
            c.sandbox.clone()
        };
        let _ = self.events.send(ContainerEvent::Stopped { sandbox, container: id.clone() });
    }

    fn record(&self, op: &'static str, id: Option<&ContainerId>, timeout: Option<Duration>) {
        let mut inner = self.inner.lock().unwrap();
        let (name, attempt) = id.and_then(|id| inner.containers.get(id)).map(|c| (c.name.clone(), c.attempt)).unwrap_or_default();
        inner.calls.push(Call { at: Instant::now(), op, name, attempt, timeout });
    }

    fn status_of(&self, id: &ContainerId) -> RuntimeResult<ContainerStatus> {
        let inner = self.inner.lock().unwrap();
        let c = inner.containers.get(id).ok_or_else(|| RuntimeError::ContainerNotFound(id.clone()))?;
        Ok(ContainerStatus {
            id: id.clone(),
            name: c.name.clone(),
            attempt: c.attempt,
            image: c.image.clone(),
            state: c.state,
            pid: None,
            created_at: c.created_at,
            started_at: c.started_at,
            finished_at: c.finished_at,
            exit_code: c.exit_code,
            reason: c.reason.clone(),
            message: None,
            log_path: self.log_dir.join(format!("{id}.log")),
        })
    }
}

#[async_trait]
impl RuntimeService for FakeRuntime {
    fn version(&self) -> String {
        "fake 0".into()
    }

    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> RuntimeResult<SandboxId> {
        let id = {
            let mut inner = self.inner.lock().unwrap();
            inner.next += 1;
            let id = SandboxId(format!("sandbox-{:06}", inner.next));
            inner.sandboxes.insert(id.clone(), (config.name.clone(), true));
            id
        };
        self.record("run_pod_sandbox", None, None);
        Ok(id)
    }

    async fn stop_pod_sandbox(&self, id: &SandboxId) -> RuntimeResult<()> {
        self.record("stop_pod_sandbox", None, None);
        let running: Vec<ContainerId> = {
            let mut inner = self.inner.lock().unwrap();
            if let Some(s) = inner.sandboxes.get_mut(id) {
                s.1 = false;
            }
            inner
                .containers
                .iter()
                .filter(|(_, c)| &c.sandbox == id && c.state == ContainerState::Running)
                .map(|(i, _)| i.clone())
                .collect()
        };
        for c in running {
            self.end(&c, 137, "Error");
        }
        Ok(())
    }

    async fn remove_pod_sandbox(&self, id: &SandboxId) -> RuntimeResult<()> {
        self.record("remove_pod_sandbox", None, None);
        let mut inner = self.inner.lock().unwrap();
        inner.sandboxes.remove(id);
        inner.containers.retain(|_, c| &c.sandbox != id);
        Ok(())
    }

    async fn pod_sandbox_status(&self, id: &SandboxId) -> RuntimeResult<PodSandboxStatus> {
        let inner = self.inner.lock().unwrap();
        let (_, ready) = inner.sandboxes.get(id).ok_or_else(|| RuntimeError::SandboxNotFound(id.clone()))?;
        Ok(PodSandboxStatus { id: id.clone(), ready: *ready, ip: Ipv4Addr::new(10, 88, 0, 2) })
    }

    async fn create_container(&self, sandbox: &SandboxId, config: &ContainerConfig) -> RuntimeResult<ContainerId> {
        let mut inner = self.inner.lock().unwrap();
        let failure = inner.fail_create.get_mut(&config.name).and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
        inner.calls.push(Call {
            at: Instant::now(),
            op: "create_container",
            name: config.name.clone(),
            attempt: config.attempt,
            timeout: None,
        });
        if let Some(e) = failure {
            return Err(e);
        }
        if !inner.sandboxes.contains_key(sandbox) {
            return Err(RuntimeError::SandboxNotFound(sandbox.clone()));
        }
        inner.next += 1;
        let id = ContainerId(format!("container-{:06}", inner.next));
        let c = Container {
            sandbox: sandbox.clone(),
            name: config.name.clone(),
            attempt: config.attempt,
            image: config.image.clone(),
            state: ContainerState::Created,
            created_at: jiff::Timestamp::now(),
            started_at: None,
            finished_at: None,
            exit_code: None,
            reason: None,
        };
        inner.containers.insert(id.clone(), c);
        Ok(id)
    }

    async fn start_container(&self, id: &ContainerId) -> RuntimeResult<()> {
        self.record("start_container", Some(id), None);
        let sandbox = {
            let mut inner = self.inner.lock().unwrap();
            let name = inner.containers.get(id).map(|c| c.name.clone()).ok_or_else(|| RuntimeError::ContainerNotFound(id.clone()))?;
            if let Some(e) = inner.fail_start.get_mut(&name).and_then(|v| (!v.is_empty()).then(|| v.remove(0))) {
                return Err(e);
            }
            let c = inner.containers.get_mut(id).expect("looked up");
            c.state = ContainerState::Running;
            c.started_at = Some(jiff::Timestamp::now());
            c.sandbox.clone()
        };
        let _ = self.events.send(ContainerEvent::Started { sandbox, container: id.clone() });
        Ok(())
    }

    async fn stop_container(&self, id: &ContainerId, timeout: Duration) -> RuntimeResult<()> {
        self.record("stop_container", Some(id), Some(timeout));
        let (running, ignores) = {
            let inner = self.inner.lock().unwrap();
            let c = inner.containers.get(id).ok_or_else(|| RuntimeError::ContainerNotFound(id.clone()))?;
            (c.state == ContainerState::Running, inner.ignore_term.contains(&c.name))
        };
        if !running {
            return Ok(());
        }
        if ignores {
            // SIGTERM passes unheeded; SIGKILL once the timeout is over, unless the container
            // exits before (the test ends it): a stop returns once the container has exited, as
            // a runtime's StopContainer does.
            let mut events = self.events.subscribe();
            let exited = async {
                loop {
                    match events.recv().await {
                        Ok(ContainerEvent::Stopped { container, .. }) if &container == id => return,
                        Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                        _ => {}
                    }
                }
            };
            let still_running = || self.inner.lock().unwrap().containers.get(id).is_some_and(|c| c.state == ContainerState::Running);
            if still_running() && tokio::time::timeout(timeout, exited).await.is_err() {
                self.end(id, 137, "Error");
            }
        } else {
            self.end(id, 143, "Error");
        }
        Ok(())
    }

    async fn remove_container(&self, id: &ContainerId) -> RuntimeResult<()> {
        self.record("remove_container", Some(id), None);
        self.inner.lock().unwrap().containers.remove(id);
        Ok(())
    }

    async fn container_status(&self, id: &ContainerId) -> RuntimeResult<ContainerStatus> {
        self.record("container_status", Some(id), None);
        self.status_of(id)
    }

    async fn list_containers(&self, sandbox: &SandboxId) -> RuntimeResult<Vec<ContainerStatus>> {
        let ids: Vec<ContainerId> =
            self.inner.lock().unwrap().containers.iter().filter(|(_, c)| &c.sandbox == sandbox).map(|(id, _)| id.clone()).collect();
        ids.iter().map(|id| self.status_of(id)).collect()
    }

    async fn exec_sync(&self, id: &ContainerId, cmd: &[String], _timeout: Duration) -> RuntimeResult<ExecResult> {
        Err(RuntimeError::failed(format!("exec {cmd:?} in container {id}"), "the fake runtime runs no commands"))
    }

    fn container_events(&self) -> broadcast::Receiver<ContainerEvent> {
        self.events.subscribe()
    }

    async fn connect_from_node(&self, addr: SocketAddr, _timeout: Duration) -> std::io::Result<std::net::TcpStream> {
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, format!("the fake runtime has no network ({addr})")))
    }
}

#[async_trait]
impl ImageService for FakeRuntime {
    /// Every image is on the node.
    async fn image_status(&self, reference: &str) -> RuntimeResult<ImageInfo> {
        Ok(ImageInfo { reference: reference.into(), id: format!("sha256:{reference}"), config: Default::default() })
    }
}
