//! The cri target: the reference target's API, validation, kubelet and static pods, over any CRI
//! runtime (containerd, CRI-O) reached over its gRPC API v1 instead of the Linux runtime. Only
//! the node differs (`CriHost`, the machine side beside the CRI services); nothing above the
//! runtime interface is copied.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::reference::{NodeHost, NodeRuntime, ReferenceOptions, ReferenceTarget};
use crate::paths::Paths;
use crate::runtime::cri::{ContainerId, RuntimeError, SandboxId};
use crate::runtime::cri_grpc::{CriRuntime, Endpoint};
use crate::runtime::kubelet::PodCgroupRoot;
use crate::runtime::linux::cgroup::Cgroup;
use crate::runtime::linux::process::ProcessId;
use crate::runtime::linux::state::{self, RunDir};
use crate::targets::{TargetError, TargetResult};

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

/// The machine side of a node over a CRI runtime: podspec's own state directory for the run
/// (`<state>/runs/<run>/`: the kubelet's directory, static pods, pod logs; removed by `podspec
/// clean` after a kill, like the reference's), the node IP, the images the runtime has, and a
/// crash by the PID the runtime reports.
pub struct CriHost {
    runtime: Arc<CriRuntime>,
    run: RunDir,
    node_ip: Ipv4Addr,
    /// The references of the images the runtime had when the run started.
    images: BTreeSet<String>,
    /// The run's cgroup subtree, in which the kubelet puts the pods' cgroups.
    cgroups: Option<RunCgroups>,
}

/// The run's cgroup subtree for the runtime's pods, and the directories above it that the run
/// made (removed at the end when empty: another run may share them).
pub struct RunCgroups {
    root: PodCgroupRoot,
    made: Vec<PathBuf>,
}

impl RunCgroups {
    /// `<own cgroup>/podspec/<run>` in every hierarchy, made now and recorded in the run's
    /// directory, so that `podspec clean` removes it after a kill. None (with a warning) where
    /// no one path lies inside podspec's own cgroup in every hierarchy: the runtime's own layout.
    pub fn create(run: &RunDir, run_id: &str) -> Option<Self> {
        let Some((parent, cgroup)) = Cgroup::for_cri_run(run_id) else {
            tracing::warn!(
                "no cgroup path lies inside podspec's own cgroup in every hierarchy: the runtime places the pods' cgroups itself, and the kubelet's podPidsLimit is not applied"
            );
            return None;
        };
        let mut made = Vec::new();
        for (_, dir) in &cgroup.dirs {
            let mut missing: Vec<PathBuf> = dir.ancestors().take_while(|d| !d.exists()).map(Path::to_path_buf).collect();
            missing.reverse();
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot make the run's cgroup: the runtime places the pods' cgroups itself, and the kubelet's podPidsLimit is not applied");
                return None;
            }
            made.extend(missing);
        }
        if let Err(e) = run.record_cgroups(&cgroup) {
            tracing::warn!(error = %e, "cannot record the run's cgroups");
        }
        Some(Self { root: PodCgroupRoot { parent, cgroup }, made })
    }

    /// The cgroup parent path under which each pod gets `pod<uid>`.
    pub fn parent(&self) -> &str {
        &self.root.parent
    }

    /// After the run's directory (and with it the subtree recorded there) is removed: what the
    /// run made above the subtree.
    pub fn remove_made(&self) {
        remove_made(self.made.clone());
    }
}

/// Removes the directories a run made above its cgroup subtree, deepest first, where nothing
/// is left in them (another run may share them).
fn remove_made(mut made: Vec<PathBuf>) {
    made.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    made.dedup();
    for d in made {
        let _ = std::fs::remove_dir(d);
    }
}

#[async_trait]
impl NodeHost for CriHost {
    fn run_dir(&self) -> PathBuf {
        self.run.path.clone()
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
    async fn kill_main_process(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.runtime.kill_main_process(id).await
    }
    fn pod_cgroups(&self) -> Option<PodCgroupRoot> {
        self.cgroups.as_ref().map(|c| c.root.clone())
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
    async fn shutdown(&self) -> Result<(), String> {
        let result = self.runtime.shutdown().await.map_err(|e| e.to_string());
        let path = self.run.path.clone();
        let cgroups = self.cgroups.as_ref().map(|c| c.made.clone());
        let removed = tokio::task::spawn_blocking(move || {
            // The run's cgroups go with its directory (recorded there); then what it made above.
            let r = RunDir { path }.remove();
            if let Some(made) = cgroups {
                remove_made(made);
            }
            r
        })
        .await;
        result?;
        match removed {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("remove the run's state: {e}")),
            Err(e) => Err(format!("remove the run's state: {e}")),
        }
    }
}

/// Connects to the CRI runtime and starts podspec's API and kubelet over it.
pub async fn start(paths: Paths, options: CriOptions) -> TargetResult<ReferenceTarget> {
    let run_id = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_millis());
    let run = RunDir::create(&paths.state_dir, &run_id)
        .map_err(|e| TargetError::Other(format!("create the run's state directory under {}: {e}", paths.state_dir.display())))?;
    let log_root = run.path.join("logs");
    let runtime = match CriRuntime::connect(options.endpoint.clone(), &run_id, &owner(), &log_root).await {
        Ok(mut r) => {
            r.set_node_ip(options.node_ip);
            Arc::new(r)
        }
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
    // Runs killed earlier left their kubelet directories and cgroup subtrees: removed once the
    // runtime has let go of their sandboxes (whose cgroups lie in those subtrees).
    let _ = state::clean_stale(&paths.state_dir);
    let images = match runtime.image_references().await {
        Ok(i) => i,
        Err(e) => {
            let _ = runtime.shutdown().await;
            let _ = run.remove();
            return Err(TargetError::Other(format!("start the cri target: {e}")));
        }
    };
    let cgroups = RunCgroups::create(&run, &run_id);
    let host = Arc::new(CriHost { runtime: runtime.clone(), run, node_ip: options.node_ip, images, cgroups });
    let node = NodeRuntime { runtime: runtime.clone(), images: runtime, host };
    ReferenceTarget::on_runtime("cri", &run_id, node, options.reference)
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
