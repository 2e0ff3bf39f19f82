//! The reference target: podspec's own node (a kubelet over the Linux runtime) behind podspec's
//! own API (an object store with Kubernetes' admission, validation and update rules).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;

use crate::api::{ApiError, PodStore, Requester};
use crate::paths::Paths;
use crate::runtime::cri::{ImageService, RuntimeError, RuntimeService};
use crate::runtime::kubelet::{BackoffPolicy, Kubelet, KubeletConfig, KubeletError};
use crate::runtime::linux::LinuxRuntime;
use crate::target::{Capability, ExecOutput, PodRef, Target, TargetError, TargetResult};

pub const NODE_NAME: &str = "podspec-node";

/// How the reference node is set up.
#[derive(Debug, Clone, Default)]
pub struct ReferenceOptions {
    /// The kubelet's static pod manifest directory; by default one in the run's state directory.
    pub static_pod_dir: Option<PathBuf>,
    /// The kubelet's crash back-off; Kubernetes' values (10 s doubling to 5 min) by default.
    pub backoff: BackoffPolicy,
}

pub struct ReferenceTarget {
    capabilities: BTreeSet<Capability>,
    runtime: Arc<LinuxRuntime>,
    kubelet: Arc<Kubelet>,
    api: Arc<PodStore>,
    static_pod_dir: PathBuf,
}

impl ReferenceTarget {
    /// Starts a node of its own for this run.
    pub async fn start(paths: Paths) -> TargetResult<Self> {
        Self::start_with(paths, ReferenceOptions::default()).await
    }

    pub async fn start_with(paths: Paths, options: ReferenceOptions) -> TargetResult<Self> {
        let run_id = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_millis());
        let runtime =
            Arc::new(LinuxRuntime::start(paths, &run_id).await.map_err(|e| TargetError::Other(format!("start the reference node: {e}")))?);
        let static_pod_dir = options.static_pod_dir.unwrap_or_else(|| runtime.run_dir().join("manifests"));
        std::fs::create_dir_all(&static_pod_dir)
            .map_err(|e| TargetError::Other(format!("create the static pod directory {}: {e}", static_pod_dir.display())))?;
        let api = Arc::new(PodStore::new(&run_id));
        let config = KubeletConfig {
            node_name: NODE_NAME.into(),
            root_dir: runtime.run_dir().join("kubelet"),
            backoff: options.backoff,
            node_ip: runtime.node_ip(),
            node_uid: crate::api::store::uid(&run_id, u64::MAX),
            static_pod_dir: Some(static_pod_dir.clone()),
        };
        let kubelet =
            Kubelet::new(config, runtime.clone() as Arc<dyn RuntimeService>, runtime.clone() as Arc<dyn ImageService>, api.clone());
        Ok(Self {
            capabilities: [Capability::NodeAccess, Capability::ApiServer].into_iter().collect(),
            runtime,
            kubelet,
            api,
            static_pod_dir,
        })
    }

    /// The run's state directory on the node.
    pub fn run_dir(&self) -> PathBuf {
        self.runtime.run_dir().to_path_buf()
    }

    fn stored(&self, pod: &PodRef) -> TargetResult<Pod> {
        self.api.get(&pod.namespace, &pod.name).map_err(|e| api_error(pod, e))
    }

    /// The uid the kubelet knows a pod by: a mirror pod stands for its static pod.
    fn node_uid(&self, pod: &PodRef) -> TargetResult<String> {
        let stored = self.stored(pod)?;
        let mirror = crate::api::admission::mirror_hash(&stored).map(str::to_string);
        Ok(mirror.unwrap_or_else(|| stored.metadata.uid.unwrap_or_default()))
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

    fn static_manifest_path(&self, file_name: &str) -> TargetResult<PathBuf> {
        let plain = !file_name.is_empty() && !file_name.contains('/') && file_name != "." && file_name != "..";
        if !plain {
            return Err(TargetError::Other(format!("static pod manifest name {file_name:?} must be a plain file name")));
        }
        Ok(self.static_pod_dir.join(file_name))
    }
}

/// An API error: a missing pod keeps its own variant, every other error its Status.
fn api_error(pod: &PodRef, e: ApiError) -> TargetError {
    if e.code == 404 {
        return TargetError::NotFound(pod.clone());
    }
    TargetError::Api { code: e.code, reason: e.reason, message: e.message }
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

    fn node_name(&self) -> Option<&str> {
        Some(NODE_NAME)
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
        let mut pod = pod.clone();
        // The scheduler's part: this node is the only one.
        pod.spec.get_or_insert_with(Default::default).node_name.get_or_insert_with(|| NODE_NAME.into());
        let stored = self.api.create(&pod, Requester::User).map_err(|e| api_error(&key, e))?;
        if crate::api::is_mirror_pod(&stored) {
            return Ok(stored); // the kubelet does not run mirror pods
        }
        if let Err(e) = self.kubelet.run_pod(stored.clone()) {
            let _ = self.api.delete(&key.namespace, &key.name, 0);
            return Err(self.map_kubelet(&key, e));
        }
        Ok(stored)
    }

    async fn get_pod(&self, pod: &PodRef) -> TargetResult<Pod> {
        self.stored(pod)
    }

    async fn list_pods(&self, namespace: &str) -> TargetResult<Vec<Pod>> {
        Ok(self.api.list().into_iter().filter(|p| p.metadata.namespace.as_deref() == Some(namespace)).collect())
    }

    async fn update_pod(&self, pod: &Pod) -> TargetResult<Pod> {
        let key = pod_ref(pod);
        let updated = self.api.update(pod).map_err(|e| api_error(&key, e))?;
        self.after_update(&key, updated)
    }

    async fn patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        let updated = self.api.merge_patch(&pod.namespace, &pod.name, patch).map_err(|e| api_error(pod, e))?;
        self.after_update(pod, updated)
    }

    async fn delete_pod(&self, pod: &PodRef) -> TargetResult<()> {
        let stored = self.stored(pod)?;
        if crate::api::is_mirror_pod(&stored) {
            // The API object goes; the static pod runs on and the kubelet makes a new mirror.
            self.api.delete(&pod.namespace, &pod.name, 0).map_err(|e| api_error(pod, e))?;
            return Ok(());
        }
        let grace = stored.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
        // A graceful delete marks the pod; the kubelet stops it, then deletes it for good
        // (finalizers may still hold the object).
        if grace > 0 {
            self.api.delete(&pod.namespace, &pod.name, grace).map_err(|e| api_error(pod, e))?;
        }
        match self.kubelet.kill_pod(stored.metadata.uid.as_deref().unwrap_or_default()).await {
            Ok(()) | Err(KubeletError::NotRunning(_)) => {}
            Err(e) => return Err(self.map_kubelet(pod, e)),
        }
        match self.api.delete(&pod.namespace, &pod.name, 0) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(api_error(pod, e)),
        }
    }

    async fn exec(&self, pod: &PodRef, container: &str, command: &[String], timeout: Duration) -> TargetResult<ExecOutput> {
        let uid = self.node_uid(pod)?;
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

    async fn node_volume_path(&self, pod: &PodRef, volume: &str) -> TargetResult<PathBuf> {
        let uid = self.node_uid(pod)?;
        Ok(self.kubelet.volume_dir(&uid, volume))
    }

    async fn write_static_pod_manifest(&self, file_name: &str, contents: &str) -> TargetResult<()> {
        let path = self.static_manifest_path(file_name)?;
        // Written aside and renamed, so the kubelet never reads half a file.
        let tmp = self.static_pod_dir.join(format!(".{file_name}.tmp"));
        let write = async {
            tokio::fs::write(&tmp, contents).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        write.await.map_err(|e| TargetError::Other(format!("write static pod manifest {}: {e}", path.display())))
    }

    async fn remove_static_pod_manifest(&self, file_name: &str) -> TargetResult<()> {
        let path = self.static_manifest_path(file_name)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(TargetError::Other(format!("remove static pod manifest {}: {e}", path.display()))),
        }
    }

    async fn kubelet_log(&self) -> TargetResult<Vec<String>> {
        Ok(self.kubelet.log_lines())
    }

    async fn shutdown(&self) -> TargetResult<()> {
        self.kubelet.shutdown().await;
        self.runtime.shutdown().await.map_err(|e| TargetError::Other(format!("shut the reference node down: {e}")))
    }
}

impl ReferenceTarget {
    /// The kubelet sees the new version of the pod, as its watch would.
    fn after_update(&self, key: &PodRef, updated: Pod) -> TargetResult<Pod> {
        if updated.metadata.deletion_timestamp.is_none() || self.api.get(&key.namespace, &key.name).is_ok() {
            self.kubelet.update_pod(updated.clone());
        }
        Ok(updated)
    }
}
