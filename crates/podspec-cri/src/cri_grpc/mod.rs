//! A second implementation of the runtime interface: any CRI runtime (containerd, CRI-O, ...)
//! reached over the CRI's gRPC API v1, as a real kubelet reaches it. Beside `linux`, and
//! independent of it: the kubelet above sees the same `RuntimeService` and `ImageService`.
//!
//! - `endpoint`: the runtime's socket (`unix:///run/containerd/containerd.sock`) and the channel.
//! - `sandbox`, `container`, `exec`, `image`: one file per concern, each mapping the interface's
//!   calls onto CRI requests as the kubelet fills them in (labels, log paths, namespaces).
//! - `stream`, `stream_spdy`: the streaming Exec (stdin, tty, resize) at the URL `Exec`
//!   answers, over WebSocket, or over SPDY/3.1 where stdin must be closable.
//! - `events`: container events by relisting, as the kubelet's generic PLEG does, plus
//!   `GetContainerEvents` where the runtime has it.
//! - `error`: gRPC statuses as `RuntimeError`s, the runtime's message kept whole.

mod busy;
mod container;
mod endpoint;
mod error;
mod events;
mod exec;
mod image;
/// The CRI's messages and its RuntimeService and ImageService clients (`runtime.v1`), generated
/// from its api.proto (`crates/podspec-cri/proto/`) by `tools/cri-client` and checked in, so that
/// the build needs no `protoc`.
#[allow(clippy::all, clippy::pedantic, missing_docs, rustdoc::all)]
#[rustfmt::skip]
pub mod runtime_v1;
mod sandbox;
mod stream;
mod stream_session;
mod stream_spdy;
mod stream_websocket;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use self::runtime_v1 as cri;
use self::runtime_v1::image_service_client::ImageServiceClient;
use self::runtime_v1::runtime_service_client::RuntimeServiceClient;
use tokio::sync::broadcast;
use tonic::transport::Channel;

use self::busy::BusyClock;
pub use self::endpoint::{Endpoint, DEFAULT_ENDPOINT};
use self::error::{call, CallError};
use crate::cri::*;

/// The label on every sandbox and container of one podspec run: what `shutdown` removes and
/// what the relist watches.
pub const RUN_LABEL: &str = "io.podspec.run";
/// The label naming the podspec process that owns the run (`<pid> <start time>`): a sandbox
/// whose owner is gone was left by a killed run.
pub const OWNER_LABEL: &str = "io.podspec.owner";
/// How long one CRI call may take before podspec gives up on it.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// What the runtime says of itself (CRI `Version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeVersion {
    pub runtime_name: String,
    pub runtime_version: String,
    pub runtime_api_version: String,
}

pub struct CriRuntime {
    endpoint: Endpoint,
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
    version: RuntimeVersion,
    run_id: String,
    owner: String,
    /// The pods' IP when they share the node's network (the runtime gives them none).
    node_ip: std::net::Ipv4Addr,
    /// Where the pods' log directories go (the kubelet's `/var/log/pods`).
    log_root: PathBuf,
    /// The sandbox configurations sent, which `CreateContainer` sends again.
    sandboxes: Mutex<HashMap<SandboxId, cri::PodSandboxConfig>>,
    events: broadcast::Sender<ContainerEvent>,
    watchers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The time spent waiting on the runtime's answers.
    busy: BusyClock,
    /// The runtime handler sent in every `RunPodSandbox` (empty: the runtime's default), as the
    /// kubelet sends the handler of a pod's RuntimeClass.
    runtime_handler: String,
}

impl CriRuntime {
    /// Connects to the runtime at `endpoint`, asks its version, and starts watching this run's
    /// containers. `owner` identifies the podspec process (see `OWNER_LABEL`); `log_root` is
    /// where the pods' CRI log files go.
    pub async fn connect(endpoint: Endpoint, run_id: &str, owner: &str, log_root: &Path) -> RuntimeResult<Self> {
        let channel = endpoint.connect().await?;
        let mut runtime = RuntimeServiceClient::new(channel.clone());
        let images = ImageServiceClient::new(channel);
        let version = call("CRI Version", runtime.version(cri::VersionRequest { version: "v1".into() }))
            .await
            .map_err(|e| RuntimeError::failed(format!("reach the CRI runtime at {endpoint}"), e))?;
        let version = RuntimeVersion {
            runtime_name: version.runtime_name,
            runtime_version: version.runtime_version,
            runtime_api_version: version.runtime_api_version,
        };
        std::fs::create_dir_all(log_root).map_err(|e| RuntimeError::io(format!("create {}", log_root.display()), e))?;
        let (events, _) = broadcast::channel(1024);
        let rt = Self {
            endpoint,
            runtime,
            images,
            version,
            run_id: run_id.to_string(),
            owner: owner.to_string(),
            node_ip: std::net::Ipv4Addr::UNSPECIFIED,
            log_root: log_root.to_path_buf(),
            sandboxes: Mutex::default(),
            events,
            watchers: Mutex::default(),
            busy: BusyClock::default(),
            runtime_handler: String::new(),
        };
        let watchers = events::watch(rt.runtime.clone(), rt.run_id.clone(), rt.events.clone());
        *rt.watchers.lock().unwrap() = watchers;
        Ok(rt)
    }

    /// The node's IP, which pods in the node's network have (`hostNetwork`).
    pub fn set_node_ip(&mut self, ip: std::net::Ipv4Addr) {
        self.node_ip = ip;
    }

    /// Sends `handler` in every `RunPodSandbox` (None: the runtime's default handler).
    pub fn with_runtime_handler(mut self, handler: Option<String>) -> Self {
        self.runtime_handler = handler.unwrap_or_default();
        self
    }

    /// The runtime handler sent in `RunPodSandbox` (None: the runtime's default).
    pub fn runtime_handler(&self) -> Option<&str> {
        Some(self.runtime_handler.as_str()).filter(|h| !h.is_empty())
    }

    /// The runtime's own configuration as its verbose CRI `Status` reports it (containerd: the
    /// `config` entry, JSON), or None where it reports none.
    pub async fn status_config(&self) -> Option<serde_json::Value> {
        let request = cri::StatusRequest { verbose: true };
        let status = self.call("CRI Status", self.client().status(request)).await.ok()?;
        serde_json::from_str(status.info.get("config")?).ok()
    }

    /// Makes one CRI call (see `error::call`), its wait counted on the busy clock.
    async fn call<T>(
        &self,
        operation: &str,
        fut: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, CallError> {
        let _in_flight = self.busy.enter();
        call(operation, fut).await
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn runtime_version(&self) -> &RuntimeVersion {
        &self.version
    }

    /// Every image reference the runtime has locally (CRI `ListImages`).
    pub async fn image_references(&self) -> RuntimeResult<std::collections::BTreeSet<String>> {
        image::references(self).await
    }

    fn client(&self) -> RuntimeServiceClient<Channel> {
        self.runtime.clone()
    }

    fn run_labels(&self) -> HashMap<String, String> {
        [(RUN_LABEL.to_string(), self.run_id.clone()), (OWNER_LABEL.to_string(), self.owner.clone())].into_iter().collect()
    }

    /// Kills a container's main process from the node, as a crash would (not part of the CRI:
    /// the runtime reports the process's PID in its verbose status).
    pub async fn kill_main_process(&self, id: &ContainerId) -> RuntimeResult<()> {
        container::kill_main_process(self, id).await
    }

    /// Stops and removes the sandboxes of earlier podspec runs whose owner `is_gone` says is
    /// gone; returns their ids. Sandboxes without podspec's labels are never touched.
    pub async fn remove_orphans(&self, is_gone: impl Fn(&str) -> bool) -> RuntimeResult<Vec<SandboxId>> {
        sandbox::remove_orphans(self, is_gone).await
    }

    /// Stops and removes every sandbox of this run, and stops watching.
    pub async fn shutdown(&self) -> RuntimeResult<()> {
        for w in self.watchers.lock().unwrap().drain(..) {
            w.abort();
        }
        sandbox::remove_run(self).await
    }
}

#[async_trait]
impl RuntimeService for CriRuntime {
    fn busy_time(&self) -> Option<Duration> {
        Some(self.busy.total())
    }

    /// From the network namespace of the runtime (the process serving the CRI socket), where its
    /// CNI network is: a kubelet beside the runtime reaches its pods from there.
    async fn connect_from_node(&self, addr: std::net::SocketAddr, timeout: Duration) -> std::io::Result<std::net::TcpStream> {
        let socket = self.endpoint.socket.clone();
        tokio::task::spawn_blocking(move || stream_session::connect_in_runtime_network(&socket, addr, timeout))
            .await
            .map_err(|e| std::io::Error::other(format!("the connecting task failed: {e}")))?
    }

    fn version(&self) -> String {
        format!(
            "{}/{} (CRI {}, {})",
            self.version.runtime_name, self.version.runtime_version, self.version.runtime_api_version, self.endpoint
        )
    }

    async fn run_pod_sandbox(&self, config: &PodSandboxConfig) -> RuntimeResult<SandboxId> {
        sandbox::run(self, config).await
    }
    async fn stop_pod_sandbox(&self, id: &SandboxId) -> RuntimeResult<()> {
        sandbox::stop(self, id).await
    }
    async fn remove_pod_sandbox(&self, id: &SandboxId) -> RuntimeResult<()> {
        sandbox::remove(self, id).await
    }
    async fn pod_sandbox_status(&self, id: &SandboxId) -> RuntimeResult<PodSandboxStatus> {
        sandbox::status(self, id).await
    }

    async fn create_container(&self, sandbox: &SandboxId, config: &ContainerConfig) -> RuntimeResult<ContainerId> {
        container::create(self, sandbox, config).await
    }
    async fn start_container(&self, id: &ContainerId) -> RuntimeResult<()> {
        container::start(self, id).await
    }
    async fn stop_container(&self, id: &ContainerId, timeout: Duration) -> RuntimeResult<()> {
        container::stop(self, id, timeout).await
    }
    async fn remove_container(&self, id: &ContainerId) -> RuntimeResult<()> {
        container::remove(self, id).await
    }
    async fn container_status(&self, id: &ContainerId) -> RuntimeResult<ContainerStatus> {
        container::status(self, id).await
    }
    async fn list_containers(&self, sandbox: &SandboxId) -> RuntimeResult<Vec<ContainerStatus>> {
        container::list(self, sandbox).await
    }
    async fn exec_sync(&self, id: &ContainerId, cmd: &[String], timeout: Duration) -> RuntimeResult<ExecResult> {
        exec::exec_sync(self, id, cmd, timeout).await
    }
    async fn exec(&self, id: &ContainerId, cmd: &[String], options: ExecOptions) -> RuntimeResult<ExecSession> {
        stream::exec(self, id, cmd, options).await
    }

    fn container_events(&self) -> broadcast::Receiver<ContainerEvent> {
        self.events.subscribe()
    }
}

#[async_trait]
impl ImageService for CriRuntime {
    async fn image_status(&self, reference: &str) -> RuntimeResult<ImageInfo> {
        image::status(self, reference).await
    }
}
