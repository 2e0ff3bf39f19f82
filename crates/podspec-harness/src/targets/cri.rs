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
use crate::node::ImageUnavailable;
use crate::paths::Paths;
use crate::runtime::cri::{ContainerId, RuntimeError, SandboxId};
use crate::runtime::cri_grpc::{CriRuntime, Endpoint};
use crate::runtime::kubelet::PodCgroupRoot;
use crate::runtime::linux::cgroup::Cgroup;
use crate::runtime::linux::process::ProcessId;
use crate::runtime::linux::state::{self, RunDir};
use crate::targets::{TargetError, TargetResult};

/// What the cri target can do, known without starting it (for `podspec list`): the reference
/// target's, but for `host-access` (the node's namespaces are the machine's).
pub fn declared_capabilities() -> BTreeSet<crate::targets::Capability> {
    let mut c = ReferenceTarget::declared_capabilities();
    c.remove(&crate::targets::Capability::HostAccess);
    c
}

/// The node IP the pods see with ci/containerd's configuration: the gateway of its CNI bridge
/// (ci/containerd/10-podspec.conflist, 10.89.0.0/16).
pub const DEFAULT_NODE_IP: Ipv4Addr = Ipv4Addr::new(10, 89, 0, 1);

#[derive(Debug, Clone)]
pub struct CriOptions {
    pub endpoint: Endpoint,
    /// The node's IP (pods' `status.hostIP`).
    pub node_ip: Ipv4Addr,
    /// The runtime handler sent in every `RunPodSandbox`, as the kubelet sends a pod's
    /// RuntimeClass handler (None: the runtime's default handler).
    pub runtime_handler: Option<String>,
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
    /// The handler and OCI runtime the pods run with, as far as the runtime tells.
    handler: Handler,
}

/// The runtime handler a run uses and the OCI runtime behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handler {
    /// The handler's name: the one asked for, else the runtime's default where it says which.
    pub name: Option<String>,
    /// The OCI runtime binary's name and version (`crun 1.8.1`), where the runtime's
    /// configuration names the binary and it answers `--version`.
    pub oci_runtime: Option<String>,
}

/// The handlers a runtime's verbose `Status` configuration lists (containerd 1.6:
/// `containerd.runtimes`), with its default; None where the configuration does not say.
pub fn configured_handlers(config: &serde_json::Value) -> Option<(Vec<String>, Option<String>)> {
    let containerd = config.get("containerd")?;
    let names = containerd.get("runtimes")?.as_object()?.keys().cloned().collect();
    let default = containerd.get("defaultRuntimeName").and_then(|d| d.as_str()).map(str::to_string);
    Some((names, default))
}

/// The OCI runtime binary a containerd handler runs: its runc shim's `BinaryName`, or runc
/// (the shim's default) where none is set; None for another kind of shim.
pub fn handler_binary(config: &serde_json::Value, handler: &str) -> Option<String> {
    let runtime = config.get("containerd")?.get("runtimes")?.get(handler)?;
    let kind = runtime.get("runtimeType").and_then(|t| t.as_str()).unwrap_or_default();
    if kind != "io.containerd.runc.v2" {
        return None;
    }
    let binary = runtime.get("options").and_then(|o| o.get("BinaryName")).and_then(|b| b.as_str()).filter(|b| !b.is_empty());
    Some(binary.unwrap_or("runc").to_string())
}

/// `crun 1.8.1` from `crun version 1.8.1` (the first line of `--version`, as runc, crun and
/// runsc print it).
pub fn oci_runtime_version(first_line: &str) -> Option<String> {
    let mut words = first_line.split_whitespace();
    let (name, version_word, version) = (words.next()?, words.next()?, words.next()?);
    (version_word == "version").then(|| format!("{name} {version}"))
}

/// Why the cri target did not start: its runtime's answer, or a handler it does not have.
#[derive(Debug, thiserror::Error)]
pub enum CriStartError {
    #[error("start the cri target: {0}")]
    Runtime(#[source] RuntimeError),
    #[error("start the cri target: the runtime at {endpoint} has no runtime handler {handler:?} (its handlers: {})", .handlers.join(", "))]
    NoSuchHandler { endpoint: String, handler: String, handlers: Vec<String> },
}

impl From<CriStartError> for TargetError {
    fn from(e: CriStartError) -> Self {
        TargetError::Own(Box::new(e))
    }
}

/// The handler to use: checked against the handlers the runtime's configuration lists, where
/// it lists them, and its OCI runtime asked for its version.
async fn handler(runtime: &CriRuntime) -> Result<Handler, CriStartError> {
    let asked = runtime.runtime_handler().map(str::to_string);
    let Some(config) = runtime.status_config().await else {
        return Ok(Handler { name: asked, oci_runtime: None });
    };
    let Some((names, default)) = configured_handlers(&config) else {
        return Ok(Handler { name: asked, oci_runtime: None });
    };
    if let Some(h) = &asked {
        if !names.contains(h) {
            return Err(CriStartError::NoSuchHandler { endpoint: runtime.endpoint().to_string(), handler: h.clone(), handlers: names });
        }
    }
    let name = asked.or(default);
    let mut oci_runtime = None;
    if let Some(binary) = name.as_deref().and_then(|h| handler_binary(&config, h)) {
        let version = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tokio::process::Command::new(&binary).arg("--version").stdin(std::process::Stdio::null()).kill_on_drop(true).output(),
        )
        .await;
        match version {
            Ok(Ok(o)) if o.status.success() => {
                oci_runtime = String::from_utf8_lossy(&o.stdout).lines().next().and_then(oci_runtime_version);
            }
            other => {
                tracing::warn!(%binary, outcome = ?other.map(|o| o.map(|o| o.status)), "the handler's OCI runtime did not tell its version")
            }
        }
    }
    Ok(Handler { name, oci_runtime })
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
    fn check_image(&self, reference: &str) -> Result<(), ImageUnavailable> {
        let qualified = crate::images::archive::qualified_reference(reference);
        if self.images.contains(&qualified) || self.images.contains(reference) {
            return Ok(());
        }
        Err(ImageUnavailable::NotInRuntime {
            endpoint: self.runtime.endpoint().to_string(),
            image: qualified,
            has: self.images.iter().cloned().collect(),
        })
    }
    async fn kill_main_process(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        self.runtime.kill_main_process(id).await
    }
    fn pod_cgroups(&self) -> Option<PodCgroupRoot> {
        self.cgroups.as_ref().map(|c| c.root.clone())
    }
    fn identity(&self) -> BTreeMap<String, String> {
        let v = self.runtime.runtime_version();
        let handler = [("runtime_handler", &self.handler.name), ("oci_runtime", &self.handler.oci_runtime)];
        [
            ("runtime_name", v.runtime_name.clone()),
            ("runtime_version", v.runtime_version.clone()),
            ("runtime_api_version", v.runtime_api_version.clone()),
            ("endpoint", self.runtime.endpoint().to_string()),
        ]
        .into_iter()
        .chain(handler.into_iter().filter_map(|(k, v)| Some((k, v.clone()?))))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
    async fn shutdown(&self) -> Result<(), RuntimeError> {
        let result = self.runtime.shutdown().await;
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
            Ok(Err(e)) => Err(RuntimeError::io("remove the run's state", e)),
            Err(e) => Err(RuntimeError::failed("remove the run's state", e)),
        }
    }
}

/// Connects to the CRI runtime and starts podspec's API and kubelet over it.
pub async fn start(paths: Paths, options: CriOptions) -> TargetResult<ReferenceTarget> {
    let run_id = crate::node::new_run_id();
    let run = RunDir::create(&paths.state_dir, &run_id).map_err(|source| TargetError::Io {
        action: "create the run's state directory under",
        path: paths.state_dir.clone(),
        source,
    })?;
    let log_root = run.path.join("logs");
    let runtime = match CriRuntime::connect(options.endpoint.clone(), &run_id, &owner(), &log_root).await {
        Ok(r) => {
            let mut r = r.with_runtime_handler(options.runtime_handler.clone());
            r.set_node_ip(options.node_ip);
            Arc::new(r)
        }
        Err(e) => {
            let _ = run.remove();
            return Err(CriStartError::Runtime(e).into());
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
            return Err(CriStartError::Runtime(e).into());
        }
    };
    let handler = match handler(&runtime).await {
        Ok(h) => h,
        Err(e) => {
            let _ = runtime.shutdown().await;
            let _ = run.remove();
            return Err(e.into());
        }
    };
    let cgroups = RunCgroups::create(&run, &run_id);
    let host = Arc::new(CriHost { runtime: runtime.clone(), run, node_ip: options.node_ip, images, cgroups, handler });
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
    let run_id = format!("{}-clean", crate::node::new_run_id());
    let log_root = paths.state_dir.join("cri-clean").join(&run_id);
    let runtime = CriRuntime::connect(endpoint, &run_id, &owner(), &log_root).await?;
    let removed = runtime.remove_orphans(owner_is_gone).await.map_err(TargetError::from);
    let _ = runtime.shutdown().await;
    let _ = std::fs::remove_dir_all(paths.state_dir.join("cri-clean"));
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// containerd 1.6's verbose `Status` configuration, cut to what is read.
    fn config() -> serde_json::Value {
        serde_json::json!({"containerd": {"defaultRuntimeName": "runc", "runtimes": {
            "runc": {"runtimeType": "io.containerd.runc.v2", "options": {"Root": "/run/x/runc"}},
            "crun": {"runtimeType": "io.containerd.runc.v2", "options": {"BinaryName": "/run/x/bin/crun"}},
            "kata": {"runtimeType": "io.containerd.kata.v2"}
        }}})
    }

    #[test]
    fn handlers_and_their_binaries_are_read_from_containerds_configuration() {
        let (mut names, default) = configured_handlers(&config()).unwrap();
        names.sort();
        assert_eq!(names, ["crun", "kata", "runc"]);
        assert_eq!(default.as_deref(), Some("runc"));
        assert_eq!(handler_binary(&config(), "crun").as_deref(), Some("/run/x/bin/crun"));
        assert_eq!(handler_binary(&config(), "runc").as_deref(), Some("runc"));
        assert_eq!(handler_binary(&config(), "kata"), None);
        assert_eq!(handler_binary(&config(), "nope"), None);
        assert_eq!(configured_handlers(&serde_json::json!({"other": 1})), None);
    }

    #[test]
    fn the_oci_runtime_is_named_with_its_version() {
        assert_eq!(oci_runtime_version("crun version 1.8.1").as_deref(), Some("crun 1.8.1"));
        assert_eq!(oci_runtime_version("runsc version 0.0~20221219.0").as_deref(), Some("runsc 0.0~20221219.0"));
        assert_eq!(oci_runtime_version("runc version 1.1.5+ds1").as_deref(), Some("runc 1.1.5+ds1"));
        assert_eq!(oci_runtime_version("something else"), None);
    }
}
