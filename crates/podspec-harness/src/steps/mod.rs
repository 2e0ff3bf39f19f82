//! Layer 1: the step vocabulary. Every phrase is a reusable sentence about pods, containers,
//! commands and volumes, so that a new scenario is written in Gherkin alone. Steps see only the
//! Target trait; they wait for conditions with a timeout (`wait`), never with bare sleeps, and
//! never block the async runtime.
//!
//! The phrases are listed in the book's step vocabulary (docs/src/reference/steps.md), which
//! `podspec docs` generates from these definitions.

mod api;
mod config_objects;
mod ephemeral;
mod exec;
mod failure;
pub mod fields;
mod logs;
mod pods;
mod runtime_classes;
mod static_pods;
mod stays;
mod substitute;
mod volumes;
pub mod wait;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::targets::{ExecOutput, PodRef, Target, TargetCapabilities as _};

pub use failure::{Mismatch, StepFailure};
pub use pods::{docstring_source, fixture_path, manifest_of, ManifestRef};

/// What every scenario of a run shares: the target, where fixtures are, how long to wait.
pub struct StepContext {
    pub target: Arc<dyn Target>,
    pub fixtures_dir: PathBuf,
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For a pod to run, be deleted, or a container to restart.
    pub pod: Duration,
    /// For one command in a container.
    pub exec: Duration,
    /// For a command's result to become what is expected ("eventually").
    pub eventually: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { pod: Duration::from_secs(60), exec: Duration::from_secs(30), eventually: Duration::from_secs(30) }
    }
}

static CONTEXT: RwLock<Option<Arc<StepContext>>> = RwLock::new(None);
static NEXT_NAMESPACE: AtomicU64 = AtomicU64::new(1);

/// Installs the context the next scenarios run with.
pub fn install(context: StepContext) {
    *CONTEXT.write().unwrap() = Some(Arc::new(context));
}

/// Removes the context (after a run).
pub fn uninstall() {
    *CONTEXT.write().unwrap() = None;
}

fn context() -> Arc<StepContext> {
    CONTEXT.read().unwrap().clone().expect("podspec: steps run without a context; the runner installs one")
}

/// The state of one scenario.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct PodWorld {
    ctx: Arc<StepContext>,
    /// Each scenario works in a namespace of its own, so scenarios never see each other's pods.
    pub namespace: String,
    /// Pods this scenario created and has not deleted: removed after the scenario.
    pub pods: Vec<PodRef>,
    /// The last command run with "I run ...".
    pub last: Option<(String, ExecOutput)>,
    /// Node paths remembered by steps, by name.
    pub remembered: HashMap<String, PathBuf>,
    /// When a step failed on a value: what was expected and what was seen (for the reports).
    pub mismatch: Option<Mismatch>,
    /// How the API answered the last request ("I patch pod ...").
    pub last_request: Option<api::RequestOutcome>,
    /// Pods as they were when remembered ("I remember pod ...").
    pub snapshots: HashMap<String, k8s_openapi::api::core::v1::Pod>,
    /// Static pod manifests this scenario wrote and has not removed: removed after it.
    pub static_manifests: Vec<String>,
    /// RuntimeClasses this scenario made and has not deleted: deleted after it.
    pub runtime_classes: Vec<String>,
    /// What the target changed in the manifests this scenario sent, once each (for the reports).
    pub manifest_changes: Vec<String>,
    /// Watches of pods this scenario started, by label selector ("I watch the pods labelled ...").
    pub watches: HashMap<String, api::PodWatchLog>,
    /// Namespaces beyond its own that the scenario opened ("... in a second namespace"):
    /// closed after it.
    pub other_namespaces: Vec<String>,
}

impl std::fmt::Debug for PodWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodWorld")
            .field("target", &self.ctx.target.name())
            .field("namespace", &self.namespace)
            .field("pods", &self.pods)
            .finish()
    }
}

impl PodWorld {
    fn new() -> Self {
        let n = NEXT_NAMESPACE.fetch_add(1, Ordering::Relaxed);
        Self {
            ctx: context(),
            namespace: format!("podspec-{}-{n}", std::process::id()),
            pods: Vec::new(),
            last: None,
            remembered: HashMap::new(),
            mismatch: None,
            last_request: None,
            snapshots: HashMap::new(),
            static_manifests: Vec::new(),
            runtime_classes: Vec::new(),
            manifest_changes: Vec::new(),
            watches: HashMap::new(),
            other_namespaces: Vec::new(),
        }
    }

    pub fn target(&self) -> &dyn Target {
        self.ctx.target.as_ref()
    }

    /// Sends a pod to the target, recording what the target changes in its manifest.
    pub async fn create_pod(
        &mut self,
        pod: &k8s_openapi::api::core::v1::Pod,
    ) -> crate::targets::TargetResult<k8s_openapi::api::core::v1::Pod> {
        for change in self.ctx.target.manifest_changes(pod) {
            if !self.manifest_changes.contains(&change) {
                self.manifest_changes.push(change);
            }
        }
        self.ctx.target.create_pod(pod).await
    }

    pub fn timeouts(&self) -> Timeouts {
        self.ctx.timeouts
    }

    /// A pod of this scenario by name; `{{node}}` in the name is the target's node name (mirror
    /// pods are named `<pod>-<node>`).
    pub fn pod_ref(&self, name: &str) -> PodRef {
        let name = match self.ctx.target.node_name() {
            Some(node) => name.replace("{{node}}", node),
            None => name.to_string(),
        };
        PodRef { namespace: self.namespace.clone(), name }
    }

    /// Deletes what the scenario left: called after every scenario, passed or failed. Pods held
    /// by finalizers get them removed; static pod manifests are removed. Returns what could not
    /// be removed, each with why (the run's report lists them; they are warned of at once too).
    pub async fn cleanup(&mut self) -> Vec<String> {
        let pods = std::mem::take(&mut self.pods);
        let manifests = std::mem::take(&mut self.static_manifests);
        let target = self.ctx.target.clone();
        let mut left = Vec::new();
        for name in std::mem::take(&mut self.runtime_classes) {
            if let Err(e) = async { target.require_api_server()?.delete_runtime_class(&name).await }.await {
                left.push(format!("RuntimeClass {name}: {e}"));
            }
        }
        for file in manifests {
            if let Err(e) = async { target.require_static_pods()?.remove_static_pod_manifest(&file).await }.await {
                left.push(format!("static pod manifest {file}: {e}"));
            }
        }
        let deletions = pods.iter().map(|p| {
            let target = target.clone();
            async move {
                let mut left = Vec::new();
                // Finalizers first: a delete waits for the pod to go, which a finalizer would
                // hold off for good (a run hung on a scenario that left one).
                let held = target.get_pod(p).await.is_ok_and(|pod| pod.metadata.finalizers.is_some_and(|f| !f.is_empty()));
                if held {
                    let release = serde_json::json!({"metadata": {"finalizers": null}});
                    if let Err(e) = async { target.require_api_server()?.patch_pod(p, &release).await }.await {
                        left.push(format!("pod {p}: removing its finalizers: {e}"));
                    }
                }
                match target.delete_pod(p).await {
                    // Gone already (its last finalizer was removed).
                    Ok(()) | Err(crate::targets::TargetError::NotFound(_)) => {}
                    Err(e) => left.push(format!("pod {p}: {e}")),
                }
                left
            }
        });
        left.extend(futures::future::join_all(deletions).await.into_iter().flatten());
        // A namespace that will not go is reported, never hidden.
        for namespace in std::mem::take(&mut self.other_namespaces).iter().chain([&self.namespace]) {
            if let Err(e) = target.close_namespace(namespace).await {
                left.push(format!("namespace {namespace}: {e}"));
            }
        }
        for what in &left {
            eprintln!("podspec: warning: after the scenario, not removed: {what}");
        }
        left
    }

    /// Makes the scenario's namespace on the target (before the scenario's first step).
    pub async fn open(&mut self) -> Result<(), crate::targets::TargetError> {
        self.ctx.target.open_namespace(&self.namespace).await
    }
}

/// Every step definition (for checking feature files before a run), built once: building it
/// compiles every step's regular expression.
pub fn collection() -> &'static cucumber::step::Collection<PodWorld> {
    use cucumber::World as _;
    static COLLECTION: std::sync::OnceLock<cucumber::step::Collection<PodWorld>> = std::sync::OnceLock::new();
    COLLECTION.get_or_init(PodWorld::collection)
}
