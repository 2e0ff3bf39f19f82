//! The node under the kubelet of the reference and cri targets: a runtime behind the CRI
//! traits, plus the little a node offers beyond the CRI (its state directory, its IP, a crash
//! of a container's main process, the images it has). The reference node is the Linux runtime;
//! the cri node is any CRI runtime reached over gRPC. Everything above (API, kubelet, static
//! pods) is the same code for both.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use crate::runtime::cri::{ContainerId, ImageService, RuntimeResult, RuntimeService};
use crate::runtime::cri_grpc::CriRuntime;
use crate::runtime::linux::state::RunDir;
use crate::runtime::linux::LinuxRuntime;

#[async_trait]
pub trait Node: Send + Sync {
    /// The target's name in reports: `reference`, `cri`.
    fn target_name(&self) -> &'static str;
    fn runtime_service(self: Arc<Self>) -> Arc<dyn RuntimeService>;
    fn image_service(self: Arc<Self>) -> Arc<dyn ImageService>;
    /// This run's state directory on the node (the kubelet's root and static pods are in it).
    fn run_dir(&self) -> &Path;
    /// The node's IP (the pods' `status.hostIP`).
    fn node_ip(&self) -> Ipv4Addr;
    /// Whether an image can be run without pulling; the error says why not.
    fn check_image(&self, reference: &str) -> Result<(), String>;
    /// The node's side of a crash: the container's main process is killed.
    async fn kill_main_process(&self, id: &ContainerId) -> RuntimeResult<()>;
    /// What identifies the node's runtime in reports (`runtime_name`, `runtime_version`, ...).
    fn identity(&self) -> BTreeMap<String, String>;
    /// Removes everything of this run from the node.
    async fn shutdown(&self) -> RuntimeResult<()>;
}

#[async_trait]
impl Node for LinuxRuntime {
    fn target_name(&self) -> &'static str {
        "reference"
    }
    fn runtime_service(self: Arc<Self>) -> Arc<dyn RuntimeService> {
        self
    }
    fn image_service(self: Arc<Self>) -> Arc<dyn ImageService> {
        self
    }
    fn run_dir(&self) -> &Path {
        LinuxRuntime::run_dir(self)
    }
    fn node_ip(&self) -> Ipv4Addr {
        LinuxRuntime::node_ip(self)
    }
    fn check_image(&self, reference: &str) -> Result<(), String> {
        self.images().recipe_for(reference).map(|_| ()).map_err(|e| e.to_string())
    }
    async fn kill_main_process(&self, id: &ContainerId) -> RuntimeResult<()> {
        LinuxRuntime::kill_main_process(self, id)
    }
    fn identity(&self) -> BTreeMap<String, String> {
        [("runtime_version".to_string(), RuntimeService::version(self))].into_iter().collect()
    }
    async fn shutdown(&self) -> RuntimeResult<()> {
        LinuxRuntime::shutdown(self).await
    }
}

/// A CRI runtime as the node: its state directory (kubelet root, pod logs) is podspec's own,
/// `<state>/runs/<run>/`, removed by `podspec clean` after a kill like the reference's.
pub struct CriNode {
    pub runtime: Arc<CriRuntime>,
    pub run: RunDir,
    pub node_ip: Ipv4Addr,
    /// The references of the images the runtime had when the run started, fully qualified.
    pub images: BTreeSet<String>,
}

impl CriNode {
    pub fn kubelet_dir(run: &RunDir) -> PathBuf {
        run.path.join("kubelet")
    }
}

#[async_trait]
impl Node for CriNode {
    fn target_name(&self) -> &'static str {
        "cri"
    }
    fn runtime_service(self: Arc<Self>) -> Arc<dyn RuntimeService> {
        self.runtime.clone()
    }
    fn image_service(self: Arc<Self>) -> Arc<dyn ImageService> {
        self.runtime.clone()
    }
    fn run_dir(&self) -> &Path {
        &self.run.path
    }
    fn node_ip(&self) -> Ipv4Addr {
        self.node_ip
    }
    fn check_image(&self, reference: &str) -> Result<(), String> {
        let qualified = crate::images::archive::qualified_reference(reference);
        if self.images.contains(&qualified) || self.images.contains(reference) {
            return Ok(());
        }
        Err(format!(
            "the runtime at {} has no image {qualified} and podspec never pulls (import podspec's images: ci/containerd/start.sh; the runtime has: {})",
            self.runtime.endpoint(),
            self.images.iter().cloned().collect::<Vec<_>>().join(", ")
        ))
    }
    async fn kill_main_process(&self, id: &ContainerId) -> RuntimeResult<()> {
        self.runtime.kill_main_process(id).await
    }
    fn identity(&self) -> BTreeMap<String, String> {
        let v = self.runtime.runtime_version();
        [
            ("runtime_name", v.runtime_name.clone()),
            ("runtime_version", v.runtime_version.clone()),
            ("runtime_api_version", v.runtime_api_version.clone()),
            ("endpoint", self.runtime.endpoint().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
    async fn shutdown(&self) -> RuntimeResult<()> {
        let result = self.runtime.shutdown().await;
        let path = self.run.path.clone();
        let removed = tokio::task::spawn_blocking(move || RunDir { path }.remove()).await;
        result?;
        match removed {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(crate::runtime::cri::RuntimeError::io("remove the run's state", e)),
            Err(e) => Err(crate::runtime::cri::RuntimeError::failed("remove the run's state", e)),
        }
    }
}
