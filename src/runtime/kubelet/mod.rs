//! The pod-level part of the reference runtime: a small kubelet between the API and the
//! runtime interface. It admits pods, turns each into CRI calls (one sandbox, its init, sidecar
//! and app containers) through a pod worker, restarts containers according to `restartPolicy`
//! with the kubelet's back-off, applies spec updates, enforces `activeDeadlineSeconds`, makes
//! the pod's volumes and /etc/hosts, and writes `PodStatus` back through the API. It also runs
//! static pods from a manifest directory and keeps their mirror pods in the API. It sees the
//! runtime only through the CRI traits.

mod backoff;
pub mod downward;
mod expansion;
pub mod hosts;
pub mod static_pods;
mod status;
pub use status::k8s_time;
mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};

use crate::api::PodStore;

pub use self::backoff::BackoffPolicy;
use self::worker::PodWorker;
use super::cri::{ContainerId, ExecResult, ImageService, RuntimeError, RuntimeService};

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
}

#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    #[error("pod has no metadata.uid")]
    NoUid,
    #[error("pod {0} is already running on this node")]
    AlreadyRunning(String),
    #[error("pod {0} is not running on this node")]
    NotRunning(String),
    #[error("pod {pod} has no container {container:?}")]
    NoSuchContainer { pod: String, container: String },
    #[error("the reference runtime does not support {what} (pod {pod})")]
    Unsupported { pod: String, what: String },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

pub struct Kubelet {
    config: KubeletConfig,
    runtime: Arc<dyn RuntimeService>,
    images: Arc<dyn ImageService>,
    api: Arc<PodStore>,
    pods: Mutex<HashMap<String, Arc<PodWorker>>>,
    /// What the kubelet logged of note (warnings and events), oldest first.
    log: Mutex<Vec<String>>,
    static_pods: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// What the node has for pods (the downward API's default limits).
    allocatable: downward::Allocatable,
}

impl Kubelet {
    pub fn new(config: KubeletConfig, runtime: Arc<dyn RuntimeService>, images: Arc<dyn ImageService>, api: Arc<PodStore>) -> Arc<Self> {
        let allocatable = downward::Allocatable::of_node(&config.root_dir);
        let kubelet = Arc::new(Self {
            config,
            runtime,
            images,
            api,
            pods: Mutex::default(),
            log: Mutex::default(),
            static_pods: Mutex::default(),
            allocatable,
        });
        if let Some(dir) = kubelet.config.static_pod_dir.clone() {
            let handle = tokio::spawn(static_pods::watch(kubelet.clone(), dir));
            *kubelet.static_pods.lock().unwrap() = Some(handle);
        }
        kubelet
    }

    pub fn config(&self) -> &KubeletConfig {
        &self.config
    }

    /// The kubelet's log of warnings and events, one line each.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn warn(&self, line: String) {
        tracing::warn!(target: "kubelet", "{line}");
        self.log.lock().unwrap().push(line);
    }

    /// Records an event about a pod, as the kubelet's event recorder does.
    fn event(&self, pod: &str, type_: &str, reason: &str, message: &str) {
        tracing::info!(target: "kubelet", pod, reason, "{message}");
        self.log.lock().unwrap().push(format!("event {type_} {reason} pod={pod}: {message}"));
    }

    /// Admits a pod from the API and starts its worker; the pod then goes from Pending to
    /// Running on its own. A pod the node's admission rejects gets a Failed status saying why.
    pub fn run_pod(self: &Arc<Self>, pod: Pod) -> Result<(), KubeletError> {
        self.start_worker(pod, false)
    }

    fn start_worker(self: &Arc<Self>, pod: Pod, is_static: bool) -> Result<(), KubeletError> {
        let uid = pod.metadata.uid.clone().ok_or(KubeletError::NoUid)?;
        unsupported(&pod)?;
        if let Some((reason, message)) = reject(&pod) {
            self.reject(&pod, reason, message);
            return Ok(());
        }
        let mut pods = self.pods.lock().unwrap();
        if pods.contains_key(&uid) {
            return Err(KubeletError::AlreadyRunning(worker::pod_key(&pod)));
        }
        let w = PodWorker::start(self.clone(), pod, is_static);
        pods.insert(uid, w);
        Ok(())
    }

    /// pkg/kubelet/kubelet.go rejectPod: a Warning event and a Failed status.
    fn reject(&self, pod: &Pod, reason: &str, message: &str) {
        let key = worker::pod_key(pod);
        self.event(&key, "Warning", reason, message);
        let status = PodStatus {
            phase: Some("Failed".into()),
            reason: Some(reason.into()),
            message: Some(format!("Pod was rejected: {message}")),
            qos_class: Some(crate::api::qos::qos_class(pod).into()),
            ..Default::default()
        };
        let m = &pod.metadata;
        let (ns, name, uid) =
            (m.namespace.as_deref().unwrap_or("default"), m.name.as_deref().unwrap_or(""), m.uid.as_deref().unwrap_or(""));
        let _ = self.api.set_status(ns, name, uid, status);
    }

    /// A new version of a pod from the API (its spec may have changed).
    pub fn update_pod(&self, pod: Pod) {
        let Some(uid) = pod.metadata.uid.clone() else { return };
        if let Ok(w) = self.worker(&uid) {
            w.update(pod);
        }
    }

    /// Stops the pod's containers (with its grace period), removes its sandbox, volumes and
    /// directories, and forgets it.
    pub async fn kill_pod(&self, uid: &str) -> Result<(), KubeletError> {
        let w = self.worker(uid)?;
        w.stop().await;
        self.pods.lock().unwrap().remove(uid);
        Ok(())
    }

    pub async fn exec(&self, uid: &str, container: &str, cmd: &[String], timeout: Duration) -> Result<ExecResult, KubeletError> {
        let id = self.container_id(uid, container)?;
        Ok(self.runtime.exec_sync(&id, cmd, timeout).await?)
    }

    /// The runtime's id of the current instance of a container.
    pub fn container_id(&self, uid: &str, container: &str) -> Result<ContainerId, KubeletError> {
        let w = self.worker(uid)?;
        w.current_container(container).ok_or_else(|| KubeletError::NoSuchContainer { pod: w.key.clone(), container: container.to_string() })
    }

    /// The node directory behind a pod's emptyDir volume.
    pub fn volume_dir(&self, uid: &str, volume: &str) -> PathBuf {
        worker::volume_dir(&self.config.root_dir, uid, volume)
    }

    /// Stops every pod (and stops watching the static pod directory).
    pub async fn shutdown(&self) {
        let watcher = self.static_pods.lock().unwrap().take();
        if let Some(h) = watcher {
            h.abort();
            let _ = h.await;
        }
        let all: Vec<String> = self.pods.lock().unwrap().keys().cloned().collect();
        for uid in all {
            let _ = self.kill_pod(&uid).await;
        }
    }

    fn worker(&self, uid: &str) -> Result<Arc<PodWorker>, KubeletError> {
        self.pods.lock().unwrap().get(uid).cloned().ok_or_else(|| KubeletError::NotRunning(uid.to_string()))
    }
}

/// The node's own admission (pkg/kubelet/lifecycle/predicate.go): the reason and message of a
/// rejection.
fn reject(pod: &Pod) -> Option<(&'static str, &'static str)> {
    let os = pod.spec.as_ref().and_then(|s| s.os.as_ref()).map(|o| o.name.as_str());
    match os {
        Some(name) if name != std::env::consts::OS => {
            Some(("PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node OS"))
        }
        _ => None,
    }
}

/// What the reference node refuses to run, said plainly rather than half-done.
fn unsupported(pod: &Pod) -> Result<(), KubeletError> {
    let key = worker::pod_key(pod);
    let unsupported = |what: String| Err(KubeletError::Unsupported { pod: key.clone(), what });
    let Some(spec) = &pod.spec else { return unsupported("a pod without spec".into()) };
    if spec.host_network == Some(true) {
        return unsupported("hostNetwork".into());
    }
    if spec.host_ipc == Some(true) || spec.host_pid == Some(true) || spec.share_process_namespace == Some(true) {
        return unsupported("hostIPC, hostPID or shareProcessNamespace (not yet)".into());
    }
    for v in spec.volumes.iter().flatten() {
        if v.empty_dir.is_none() {
            return unsupported(format!("volume {:?}: only emptyDir volumes are supported", v.name));
        }
    }
    Ok(())
}
