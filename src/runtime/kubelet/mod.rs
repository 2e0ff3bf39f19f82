//! The pod-level part of the reference runtime: a small kubelet. It turns a Pod into CRI calls
//! (one sandbox, its containers), restarts containers according to `restartPolicy` with the
//! kubelet's back-off, makes the pod's volumes and /etc/hosts, and reports `PodStatus`.
//! It sees the runtime only through the CRI traits.

mod backoff;
pub mod hosts;
mod status;
pub use status::k8s_time;
mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};

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
    pods: Mutex<HashMap<String, Arc<PodWorker>>>,
}

impl Kubelet {
    pub fn new(config: KubeletConfig, runtime: Arc<dyn RuntimeService>, images: Arc<dyn ImageService>) -> Arc<Self> {
        Arc::new(Self { config, runtime, images, pods: Mutex::default() })
    }

    pub fn config(&self) -> &KubeletConfig {
        &self.config
    }

    /// Admits a pod and starts its worker; the pod then goes from Pending to Running on its own.
    pub fn run_pod(self: &Arc<Self>, pod: Pod) -> Result<(), KubeletError> {
        let uid = pod.metadata.uid.clone().ok_or(KubeletError::NoUid)?;
        admit(&pod)?;
        let mut pods = self.pods.lock().unwrap();
        if pods.contains_key(&uid) {
            return Err(KubeletError::AlreadyRunning(worker::pod_key(&pod)));
        }
        let w = PodWorker::start(self.clone(), pod);
        pods.insert(uid, w);
        Ok(())
    }

    pub async fn pod_status(&self, uid: &str) -> Option<PodStatus> {
        let w = self.worker(uid).ok()?;
        Some(w.status().await)
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

    /// Stops every pod.
    pub async fn shutdown(&self) {
        let all: Vec<String> = self.pods.lock().unwrap().keys().cloned().collect();
        for uid in all {
            let _ = self.kill_pod(&uid).await;
        }
    }

    fn worker(&self, uid: &str) -> Result<Arc<PodWorker>, KubeletError> {
        self.pods.lock().unwrap().get(uid).cloned().ok_or_else(|| KubeletError::NotRunning(uid.to_string()))
    }
}

/// What the reference node refuses to run, said plainly rather than half-done.
fn admit(pod: &Pod) -> Result<(), KubeletError> {
    let key = worker::pod_key(pod);
    let unsupported = |what: String| Err(KubeletError::Unsupported { pod: key.clone(), what });
    let Some(spec) = &pod.spec else { return unsupported("a pod without spec".into()) };
    if spec.host_network == Some(true) {
        return unsupported("hostNetwork".into());
    }
    if spec.init_containers.as_ref().is_some_and(|c| !c.is_empty()) {
        return unsupported("initContainers (not yet)".into());
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
