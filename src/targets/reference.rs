//! The reference target: podspec's own node (a kubelet over the Linux runtime), with a small
//! in-memory pod store in front of it.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;

use crate::paths::Paths;
use crate::runtime::cri::{ImageService, RuntimeError, RuntimeService};
use crate::runtime::kubelet::{BackoffPolicy, Kubelet, KubeletConfig, KubeletError};
use crate::runtime::linux::LinuxRuntime;
use crate::target::{Capability, ExecOutput, PodRef, Target, TargetError, TargetResult};

pub const NODE_NAME: &str = "podspec-node";

pub struct ReferenceTarget {
    capabilities: BTreeSet<Capability>,
    runtime: Arc<LinuxRuntime>,
    kubelet: Arc<Kubelet>,
    pods: Mutex<HashMap<PodRef, Pod>>,
    run_id: String,
    next_uid: AtomicU64,
}

impl ReferenceTarget {
    /// Starts a node of its own for this run.
    pub async fn start(paths: Paths) -> TargetResult<Self> {
        let run_id = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_millis());
        let runtime =
            Arc::new(LinuxRuntime::start(paths, &run_id).await.map_err(|e| TargetError::Other(format!("start the reference node: {e}")))?);
        let config = KubeletConfig {
            node_name: NODE_NAME.into(),
            root_dir: runtime.run_dir().join("kubelet"),
            backoff: BackoffPolicy::default(),
            node_ip: runtime.node_ip(),
        };
        let kubelet = Kubelet::new(config, runtime.clone() as Arc<dyn RuntimeService>, runtime.clone() as Arc<dyn ImageService>);
        Ok(Self {
            capabilities: [Capability::NodeAccess].into_iter().collect(),
            runtime,
            kubelet,
            pods: Mutex::default(),
            run_id,
            next_uid: AtomicU64::new(1),
        })
    }

    /// The run's state directory on the node.
    pub fn run_dir(&self) -> PathBuf {
        self.runtime.run_dir().to_path_buf()
    }

    fn new_uid(&self) -> String {
        crate::api::store::uid(&self.run_id, self.next_uid.fetch_add(1, Ordering::Relaxed))
    }

    fn stored(&self, pod: &PodRef) -> TargetResult<Pod> {
        self.pods.lock().unwrap().get(pod).cloned().ok_or_else(|| TargetError::NotFound(pod.clone()))
    }

    fn uid(&self, pod: &PodRef) -> TargetResult<String> {
        Ok(self.stored(pod)?.metadata.uid.unwrap_or_default())
    }

    fn map_kubelet(&self, pod: &PodRef, e: KubeletError) -> TargetError {
        match e {
            KubeletError::NoSuchContainer { container, .. } => TargetError::NoSuchContainer { pod: pod.clone(), container },
            KubeletError::NotRunning(_) => TargetError::NotFound(pod.clone()),
            KubeletError::Runtime(RuntimeError::ContainerNotRunning(_)) => {
                TargetError::Other(format!("a container of pod {pod} is not running"))
            }
            KubeletError::Unsupported { what, .. } => TargetError::Unsupported { target: self.name().into(), what },
            other => TargetError::Other(other.to_string()),
        }
    }
}

fn pod_ref(pod: &Pod) -> PodRef {
    PodRef {
        namespace: pod.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
        name: pod.metadata.name.clone().unwrap_or_default(),
    }
}

#[async_trait]
impl Target for ReferenceTarget {
    fn name(&self) -> &str {
        "reference"
    }

    fn capabilities(&self) -> &BTreeSet<Capability> {
        &self.capabilities
    }

    fn check_image(&self, reference: &str) -> TargetResult<()> {
        self.runtime.images().recipe_for(reference).map(|_| ()).map_err(|e| TargetError::ImageUnavailable {
            target: self.name().into(),
            reference: reference.into(),
            message: e.to_string(),
        })
    }

    async fn create_pod(&self, pod: &Pod) -> TargetResult<Pod> {
        let key = pod_ref(pod);
        let errors = crate::manifest::validate_pod_create(pod);
        if !errors.is_empty() {
            return Err(TargetError::Invalid { pod: key, message: crate::manifest::aggregate(&errors) });
        }
        let mut stored = pod.clone();
        stored.metadata.namespace = Some(key.namespace.clone());
        stored.metadata.uid = Some(self.new_uid());
        stored.metadata.creation_timestamp = Some(crate::runtime::kubelet::k8s_time(chrono::Utc::now()));
        stored.metadata.generation = Some(1);
        {
            let mut pods = self.pods.lock().unwrap();
            if pods.contains_key(&key) {
                return Err(TargetError::AlreadyExists(key));
            }
            pods.insert(key.clone(), stored.clone());
        }
        if let Err(e) = self.kubelet.run_pod(stored.clone()) {
            self.pods.lock().unwrap().remove(&key);
            return Err(self.map_kubelet(&key, e));
        }
        Ok(stored)
    }

    async fn get_pod(&self, pod: &PodRef) -> TargetResult<Pod> {
        let mut stored = self.stored(pod)?;
        let uid = stored.metadata.uid.clone().unwrap_or_default();
        stored.status = self.kubelet.pod_status(&uid).await;
        Ok(stored)
    }

    async fn delete_pod(&self, pod: &PodRef) -> TargetResult<()> {
        let uid = self.uid(pod)?;
        self.kubelet.kill_pod(&uid).await.map_err(|e| self.map_kubelet(pod, e))?;
        self.pods.lock().unwrap().remove(pod);
        Ok(())
    }

    async fn exec(&self, pod: &PodRef, container: &str, command: &[String], timeout: Duration) -> TargetResult<ExecOutput> {
        let uid = self.uid(pod)?;
        let r = self.kubelet.exec(&uid, container, command, timeout).await.map_err(|e| match e {
            KubeletError::Runtime(RuntimeError::ContainerNotRunning(_)) => {
                TargetError::NotRunning { pod: pod.clone(), container: container.into() }
            }
            KubeletError::Runtime(RuntimeError::Timeout { operation, after }) => TargetError::Timeout { operation, after },
            other => self.map_kubelet(pod, other),
        })?;
        Ok(ExecOutput {
            stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
            exit_code: r.exit_code,
        })
    }

    async fn kill_container(&self, pod: &PodRef, container: &str) -> TargetResult<()> {
        let uid = self.uid(pod)?;
        let id = self.kubelet.container_id(&uid, container).map_err(|e| self.map_kubelet(pod, e))?;
        self.runtime.kill_main_process(&id).map_err(|_| TargetError::NotRunning { pod: pod.clone(), container: container.into() })
    }

    async fn node_volume_path(&self, pod: &PodRef, volume: &str) -> TargetResult<PathBuf> {
        let uid = self.uid(pod)?;
        Ok(self.kubelet.volume_dir(&uid, volume))
    }

    async fn shutdown(&self) -> TargetResult<()> {
        self.kubelet.shutdown().await;
        self.pods.lock().unwrap().clear();
        self.runtime.shutdown().await.map_err(|e| TargetError::Other(format!("shut the reference node down: {e}")))
    }
}
