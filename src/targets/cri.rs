//! The cri target: the reference target's API, validation, kubelet and static pods, over any CRI
//! runtime (containerd, CRI-O) reached over its gRPC API v1 instead of the Linux runtime. Only
//! the node differs (`node::CriNode`); nothing above the runtime interface is copied.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::node::CriNode;
use super::reference::{ReferenceOptions, ReferenceTarget};
use crate::paths::Paths;
use crate::runtime::cri_grpc::{CriRuntime, Endpoint};
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
    let runtime = match CriRuntime::connect(options.endpoint.clone(), &run_id, &log_root).await {
        Ok(r) => Arc::new(r),
        Err(e) => {
            let _ = run.remove();
            return Err(TargetError::Other(format!("start the cri target: {e}")));
        }
    };
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
