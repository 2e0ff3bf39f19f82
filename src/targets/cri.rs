//! The cri target: the reference target's API, validation, kubelet and static pods, over any CRI
//! runtime (containerd, CRI-O) reached over its gRPC API v1 instead of the Linux runtime. Only
//! the node differs (`node::CriNode`); nothing above the runtime interface is copied.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::node::CriNode;
use super::reference::{ReferenceOptions, ReferenceTarget};
use crate::paths::Paths;
use crate::runtime::cri::SandboxId;
use crate::runtime::cri_grpc::{CriRuntime, Endpoint};
use crate::runtime::linux::process::ProcessId;
use crate::runtime::linux::state::{self, RunDir};
use crate::target::{TargetError, TargetResult};

/// The node IP the pods see with ci/containerd's configuration: the gateway of its CNI bridge
/// (ci/containerd/10-podspec.conflist, 10.89.0.0/16).
pub const DEFAULT_NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 89, 0, 1);

#[derive(Debug, Clone)]
pub struct CriOptions {
    pub endpoint: Endpoint,
    /// The node's IP (pods' `status.hostIP`).
    pub node_ip: Ipv4Addr,
    pub reference: ReferenceOptions,
}

/// Connects to the CRI runtime and starts podspec's API and kubelet over it.
pub async fn start(paths: Paths, options: CriOptions) -> TargetResult<ReferenceTarget> {
    let run_id = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_millis());
    // Runs killed earlier left their kubelet directories; their sandboxes are the runtime's.
    let _ = state::clean_stale(&paths.state_dir);
    let run = RunDir::create(&paths.state_dir, &run_id)
        .map_err(|e| TargetError::Other(format!("create the run's state directory under {}: {e}", paths.state_dir.display())))?;
    let log_root = run.path.join("logs");
    let runtime = match CriRuntime::connect(options.endpoint.clone(), &run_id, &owner(), &log_root).await {
        Ok(r) => Arc::new(r),
        Err(e) => {
            let _ = run.remove();
            return Err(TargetError::Other(format!("start the cri target: {e}")));
        }
    };
    match runtime.remove_orphans(owner_is_gone).await {
        Ok(removed) if !removed.is_empty() => tracing::info!(sandboxes = removed.len(), "removed what killed runs left in the CRI runtime"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not remove what killed runs left in the CRI runtime"),
    }
    let images = match runtime.image_references().await {
        Ok(i) => i,
        Err(e) => {
            let _ = run.remove();
            return Err(TargetError::Other(format!("start the cri target: {e}")));
        }
    };
    let node = Arc::new(CriNode { runtime, run, node_ip: options.node_ip, images });
    ReferenceTarget::with_node(node, &run_id, options.reference)
}

/// This podspec process, as the sandboxes' owner label names it.
pub fn owner() -> String {
    ProcessId::of(std::process::id() as i32).map(|p| p.encode()).unwrap_or_default()
}

/// Whether the podspec process an owner label names is gone.
pub fn owner_is_gone(owner: &str) -> bool {
    ProcessId::decode(owner).is_none_or(|p| !p.is_alive())
}

/// `podspec clean --target cri`: removes the sandboxes (and their containers) that killed runs
/// left in the CRI runtime. The kubelet directories of those runs are the reference's kind of
/// run directory, which `podspec clean` removes.
pub async fn clean(paths: &Paths, endpoint: Endpoint) -> TargetResult<Vec<SandboxId>> {
    let run_id = format!("{}-{}-clean", std::process::id(), chrono::Utc::now().timestamp_millis());
    let log_root = paths.state_dir.join("cri-clean").join(&run_id);
    let runtime = CriRuntime::connect(endpoint, &run_id, &owner(), &log_root).await.map_err(|e| TargetError::Other(e.to_string()))?;
    let removed = runtime.remove_orphans(owner_is_gone).await.map_err(|e| TargetError::Other(e.to_string()));
    let _ = runtime.shutdown().await;
    let _ = std::fs::remove_dir_all(paths.state_dir.join("cri-clean"));
    removed
}
