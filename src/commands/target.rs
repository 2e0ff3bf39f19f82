//! Starting the target a command drives.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use podspec::paths::Paths;
use podspec::targets::Target;
use podspec::targets::{PodmanTarget, ReferenceOptions, ReferenceTarget};

use crate::cli::{ClusterArgs, CriArgs, PodmanArgs, TargetKind};

pub(crate) async fn start_target(
    kind: TargetKind,
    static_pod_dir: Option<PathBuf>,
    cri: &CriArgs,
    podman: &PodmanArgs,
    cluster: &ClusterArgs,
) -> anyhow::Result<Arc<dyn Target>> {
    match kind {
        TargetKind::Cri => Ok(Arc::new(start_cri(static_pod_dir, cri, "target cri").await?)),
        TargetKind::Reference => Ok(Arc::new(start_reference(static_pod_dir, "the reference target").await?)),
        TargetKind::Podman => {
            let paths = Paths::from_env()?;
            let target = PodmanTarget::start(paths, &podman.podman_runtime).await.context("starting the podman target")?;
            eprintln!("podspec: target podman {}", target.version());
            Ok(Arc::new(target))
        }
        TargetKind::Kube => Ok(Arc::new(start_kube(cluster).await?)),
    }
}

/// Connects to the cluster and says what it found before anything runs.
pub(crate) async fn start_kube(cluster: &ClusterArgs) -> anyhow::Result<podspec::targets::KubeTarget> {
    let target = podspec::targets::KubeTarget::start(cluster.options()?).await?;
    eprint!("podspec: {}", target.server_info());
    eprintln!("podspec: rights: {}", target.rights_note());
    eprintln!("podspec: run {} (node access: {})", target.run_id(), target.node_access_note());
    Ok(target)
}

/// The reference node: podspec's API and kubelet over the Linux-namespace runtime.
pub(crate) async fn start_reference(static_pod_dir: Option<PathBuf>, what: &str) -> anyhow::Result<ReferenceTarget> {
    let options = ReferenceOptions { static_pod_dir, ..Default::default() };
    ReferenceTarget::start_with(Paths::from_env()?, options).await.with_context(|| format!("starting {what}"))
}

/// podspec's API and kubelet over the CRI runtime at `--cri-endpoint`; says which runtime it
/// found (as `what`) before anything runs.
pub(crate) async fn start_cri(static_pod_dir: Option<PathBuf>, cri: &CriArgs, what: &str) -> anyhow::Result<ReferenceTarget> {
    let options = podspec::targets::cri::CriOptions {
        endpoint: cri.cri_endpoint.clone(),
        node_ip: cri.cri_node_ip,
        runtime_handler: cri.runtime_handler.clone(),
        reference: ReferenceOptions { static_pod_dir, ..Default::default() },
    };
    let node = podspec::targets::cri::start(Paths::from_env()?, options).await.with_context(|| format!("starting the {what}"))?;
    let identity = node.identity();
    let get = |k: &str| identity.get(k).map(String::as_str).unwrap_or("?");
    eprintln!("podspec: {what}: {} {} at {}", get("runtime_name"), get("runtime_version"), get("endpoint"));
    Ok(node)
}

/// The reference node alone, with no target around it: what `podspec serve` and bench's serve
/// column put behind the API.
pub(crate) async fn start_linux_node(static_pod_dir: Option<PathBuf>, what: &str) -> anyhow::Result<Arc<podspec::node::Node>> {
    let options = ReferenceOptions { static_pod_dir, ..Default::default() };
    let node = podspec::node::Node::start_linux(Paths::from_env()?, options).await.map_err(anyhow::Error::msg);
    Ok(Arc::new(node.with_context(|| format!("starting {what}"))?))
}
