//! Layer 2: the Target trait. Steps drive a target only through this trait: the built-in
//! reference runtime, a real cluster, or a third-party runtime that takes pod YAML.
//!
//! `Target` holds what every target does (create, read, delete, exec, crash, logs). What only
//! some targets do is an optional interface of its own (`ApiServerTarget`,
//! `ConfigObjectsTarget`, `StaticPodsTarget`, `NodeAccessTarget`,
//! `EphemeralContainersTarget`), which a target hands out from the matching `Target` method
//! (`api_server()` and so on) or does not. The capabilities a target reports are read from
//! those answers (`capability.rs`), so a target cannot claim one without its code.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::node::v1::RuntimeClass;
use kube::core::Status;

use crate::runtime::cri::RuntimeError;
use crate::runtime::kubelet::KubeletError;

use super::capability::Capability;

/// The events of a watch of pods ([`ApiServerTarget::watch_pods_labelled`]): the type as the API names
/// it (`ADDED`, `MODIFIED`, `DELETED`) and the pod.
pub type PodEvents = futures::stream::BoxStream<'static, TargetResult<(String, Pod)>>;

/// A write of a ConfigMap or a Secret ([`ConfigObjectsTarget::write_config_object`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigWrite {
    Create,
    /// A PUT of the whole object (these kinds allow one without a resourceVersion).
    Replace,
    Delete,
    /// A read (GET) of the object, through the same path: the object, or none when it is missing.
    Get,
}

/// The result of running a command in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

/// Identifies a pod on a target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for PodRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What failed on a target. A cause that is an error of its own is kept as the error's source;
/// an API server's answer is its `Status`, kept whole.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("pod {0} not found")]
    NotFound(PodRef),
    #[error("pod {0} already exists")]
    AlreadyExists(PodRef),
    #[error("pod {pod} has no container {container:?}")]
    NoSuchContainer { pod: PodRef, container: String },
    #[error("container {container:?} of pod {pod} is not running")]
    NotRunning { pod: PodRef, container: String },
    /// The runtime said a container of the pod is not running, where the target did not name
    /// the container.
    #[error("a container of pod {pod} is not running")]
    ContainerOfPodNotRunning {
        pod: PodRef,
        #[source]
        source: RuntimeError,
    },
    #[error("pod {pod} is invalid: {message}")]
    Invalid { pod: PodRef, message: String },
    #[error("image {reference:?} is not available locally on target {target}: {message}")]
    ImageUnavailable { target: String, reference: String, message: String },
    #[error("target {target} does not support {what}")]
    Unsupported { target: String, what: String },
    #[error("{operation}: timed out after {after:?}")]
    Timeout { operation: String, after: Duration },
    /// The API server refused the request: Kubernetes' `Status`, kept whole.
    #[error("{}", .0.message)]
    Api(Box<Status>),
    /// The API refused a scenario's namespace: its `Status`, kept whole.
    #[error("create namespace {namespace:?}: {}", .status.message)]
    NamespaceRefused { namespace: String, status: Box<Status> },
    /// A watch ended with an error event: the API's `Status`, kept whole.
    #[error("{what}: {}", .status.message)]
    WatchEnded { what: String, status: Box<Status> },
    /// A watch stopped without an error (`what`: what it watched), with what was seen by then.
    #[error("the watch of {what} ended{}", .by_then.as_ref().map(|b| format!(" ({b})")).unwrap_or_default())]
    WatchClosed { what: String, by_then: Option<String> },
    /// A command the target itself ran in a container (not a scenario's) exited non-zero.
    #[error("`{command}` in container {container:?} of pod {pod} failed (exit code {exit_code}): {}{}", .stdout.trim(), .stderr.trim())]
    CommandFailed { pod: PodRef, container: String, command: String, exit_code: i32, stdout: String, stderr: String },
    #[error("static pod manifest name {0:?} must be a plain file name")]
    StaticPodManifestName(String),
    /// An object given to be written that is not of the kind it says.
    #[error("not a {kind}: {source}")]
    NotAnObjectOfKind {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
    /// An object to write whose `kind` the target does not write this way.
    #[error("kind {0:?}: only ConfigMaps, Secrets and ServiceAccounts are written this way")]
    NotAConfigObject(Option<String>),
    /// A label selector that does not parse.
    #[error(transparent)]
    Selector(crate::api::Error),
    /// A file or directory of the target's own that could not be made, written or removed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An object that does not convert to or from JSON (`what`: which one).
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read own /proc entry")]
    OwnProcess,
    /// The node could not start (its runtime, its directories, its CA, its Node object).
    #[error(transparent)]
    NodeStart(KubeletError),
    /// The node's shutdown left something its host could not remove.
    #[error("shut the {node} node down: {source}")]
    NodeShutdown {
        node: String,
        #[source]
        source: KubeletError,
    },
    /// The node's kubelet refused or failed.
    #[error(transparent)]
    Kubelet(#[from] KubeletError),
    /// A container runtime's call failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A target's own failure (a cluster's client, podman, a CRI runtime's start), kept whole:
    /// each target's error converts into it in the target's own folder, so that the trait names
    /// none of its implementations.
    #[error(transparent)]
    Own(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl TargetError {
    /// An API server's refusal, from its `Status` fields.
    pub fn api(code: u16, reason: impl Into<String>, message: impl Into<String>) -> Self {
        TargetError::Api(Box::new(Status::failure(&message.into(), &reason.into()).with_code(code)))
    }
}

pub type TargetResult<T> = Result<T, TargetError>;

/// What `kill_container` runs in the container: the agent's request to its main process.
pub const CRASH_COMMAND: [&str; 2] = ["podspec-agent", "crash"];

#[async_trait]
pub trait Target: Send + Sync {
    /// The target's name, as reports show it (`reference`, `podman`, a cluster's context).
    fn name(&self) -> &str;

    /// What identifies the system under test beyond its name, for reports (a CRI runtime's
    /// `runtime_name`, `runtime_version` and `endpoint`, for example).
    fn identity(&self) -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::new()
    }

    /// Pods are objects of an API server (capability `api-server`): updates, patches, the
    /// `status` subresource, watches, collection deletes, RuntimeClasses. None: the target has
    /// no API server.
    fn api_server(&self) -> Option<&dyn ApiServerTarget> {
        None
    }

    /// ConfigMaps and Secrets are objects of the API (capability `config-objects`).
    fn config_objects(&self) -> Option<&dyn ConfigObjectsTarget> {
        None
    }

    /// The kubelet's static pod manifest directory and its log (capability `static-pods`).
    fn static_pods(&self) -> Option<&dyn StaticPodsTarget> {
        None
    }

    /// The node's filesystem, as podspec itself reads it (capability `node-access`).
    fn node_access(&self) -> Option<&dyn NodeAccessTarget> {
        None
    }

    /// A running pod's `ephemeralcontainers` subresource (capability `ephemeral-containers`).
    fn ephemeral_containers(&self) -> Option<&dyn EphemeralContainersTarget> {
        None
    }

    /// Whether pods may be given the node's own namespaces and devices (capability
    /// `host-access`): a property of the node, not an interface. No code of the target serves
    /// it (the pod's own fields ask for the node's namespaces); what it says is whose they are:
    /// true where they are not this machine's (the reference node's are podspec's own, a
    /// cluster's are its nodes'), false where a pod given them would reach the machine's own
    /// processes, IPC or network.
    fn host_access(&self) -> bool {
        false
    }

    /// Checks up front that an image reference can be run without contacting a registry.
    fn check_image(&self, reference: &str) -> TargetResult<()>;

    /// The fields of a pod this target does not run, each with its path and why: checked up
    /// front, so a feature that uses one stops the run before anything runs (exit 2).
    fn refused_fields(&self, pod: &Pod) -> Vec<crate::manifest::fields::RefusedField> {
        let _ = pod;
        Vec::new()
    }

    /// Creates a pod from a manifest (its namespace set); returns the stored pod.
    async fn create_pod(&self, pod: &Pod) -> TargetResult<Pod>;

    /// The pod with its current status.
    async fn get_pod(&self, pod: &PodRef) -> TargetResult<Pod>;

    /// Deletes a pod and waits until it and everything it had on the node are gone.
    async fn delete_pod(&self, pod: &PodRef) -> TargetResult<()>;

    /// Runs a command in a named container of a pod.
    async fn exec(&self, pod: &PodRef, container: &str, command: &[String], timeout: Duration) -> TargetResult<ExecOutput>;

    /// Runs a command with `stdin` written to it (then closed where the target's protocol can;
    /// `kubectl exec -i`).
    async fn exec_with_stdin(
        &self,
        pod: &PodRef,
        container: &str,
        command: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> TargetResult<ExecOutput> {
        let _ = (pod, container, command, stdin, timeout);
        Err(TargetError::Unsupported { target: self.name().to_string(), what: "exec with stdin".into() })
    }

    /// Makes a container's main process die, as a crash would, the same way on every target:
    /// the main process must be `podspec-agent main`, and `podspec-agent crash` run in the
    /// container asks it to exit with code 1. (PID 1 of a container ignores every signal it has
    /// no handler for, so a signal from inside cannot kill `sleep`; a target without node
    /// access cannot signal it from outside.) The restart that follows is the target's own
    /// restart policy at work; the target never restarts the container itself.
    async fn kill_container(&self, pod: &PodRef, container: &str) -> TargetResult<()> {
        let command = [CRASH_COMMAND[0].to_string(), CRASH_COMMAND[1].to_string()];
        let out = self.exec(pod, container, &command, Duration::from_secs(30)).await?;
        if out.exit_code != 0 {
            return Err(TargetError::CommandFailed {
                pod: pod.clone(),
                container: container.into(),
                command: command.join(" "),
                exit_code: out.exit_code,
                stdout: out.stdout,
                stderr: out.stderr,
            });
        }
        Ok(())
    }

    /// Makes sure a scenario's namespace exists before its first pod (a cluster target makes
    /// one per scenario); called before each scenario.
    async fn open_namespace(&self, namespace: &str) -> TargetResult<()> {
        let _ = namespace;
        Ok(())
    }

    /// Removes a scenario's namespace once the scenario has ended, waiting until it is gone;
    /// an error says what holds it.
    async fn close_namespace(&self, namespace: &str) -> TargetResult<()> {
        let _ = namespace;
        Ok(())
    }

    /// Every change the target made to what the scenarios wrote, beyond their manifests (for
    /// the reports).
    fn changes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Each change the target makes to a pod's manifest when it sends it (`create_pod`), with
    /// why, in words for the reports: a name, an image reference, a field the system needs
    /// set. The steps record them per scenario; a target that sends manifests as written
    /// returns none. Computed by the same code that makes what is sent, so that the record
    /// is what was done.
    fn manifest_changes(&self, pod: &Pod) -> Vec<String> {
        let _ = pod;
        Vec::new()
    }

    /// A container's log (the pod's `log` subresource); `previous`: its last terminated run.
    async fn logs(&self, pod: &PodRef, container: &str, previous: bool) -> TargetResult<String> {
        let _ = (pod, container, previous);
        Err(TargetError::Unsupported { target: self.name().to_string(), what: "container logs".into() })
    }

    /// Returns once `pod` may have changed since the target last read it, or after `max` at the
    /// latest: a wait on a pod looks again then. By default at once (a target whose reads are
    /// local calls is polled); a target behind an API server watches the pod.
    async fn pod_changed(&self, pod: &PodRef, max: Duration) {
        let _ = (pod, max);
    }

    /// Waits until the pod satisfies `done`, up to `bound`. By default the pod is read again and
    /// again (a target whose reads are local calls); a target behind an API server watches it.
    async fn wait_pod(&self, pod: &PodRef, what: &str, bound: Duration, done: for<'p> fn(&'p Pod) -> bool) -> TargetResult<()> {
        let deadline = std::time::Instant::now() + bound;
        loop {
            let now = self.get_pod(pod).await?;
            if done(&now) {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(TargetError::Timeout { operation: format!("{what} (pod {pod})"), after: bound });
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// Why the target lacks a capability, where it knows more than the capability's meaning
    /// (what it found when it looked): added to the skip reason, and said in place of the
    /// meaning when a step asks for the capability's interface.
    fn capability_note(&self, capability: Capability) -> Option<String> {
        let _ = capability;
        None
    }

    /// How long the target's node has waited on its container runtime's answers so far (see
    /// `RuntimeService::busy_time`): what a measured span took beyond it is the target's own
    /// time. None where the target does not measure it.
    fn runtime_busy_time(&self) -> Option<Duration> {
        None
    }

    /// The node's runtime's running totals per phase of its pod starts (see
    /// `RuntimeService::phase_times`); empty where the target does not split them.
    fn runtime_phase_times(&self) -> Vec<(&'static str, Duration)> {
        Vec::new()
    }

    /// The node's name (mirror pods are named `<pod>-<node>`).
    fn node_name(&self) -> Option<&str> {
        None
    }

    /// The run was interrupted: what the target still runs is to stop at once when it is shut
    /// down, as after a delete with grace period 0, not after each pod's grace period. Returns
    /// whether the target does so (one that cannot gives its pods their grace period).
    fn stop_at_once(&self) -> bool {
        false
    }

    /// Removes everything the target still holds for this run.
    async fn shutdown(&self) -> TargetResult<()>;
}

/// Capability `api-server`: pods are objects of an API server. They can be updated (whole or by
/// merge patch), the API's rules and error texts apply, and static pods appear there as mirror
/// pods; RuntimeClasses are objects of it too.
#[async_trait]
pub trait ApiServerTarget: Send + Sync {
    /// Replaces a pod with a whole object (an API server's PUT to the pod `pod` names, which
    /// the object's own name may contradict); returns the stored pod.
    async fn update_pod(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod>;

    /// Asks the API to delete a pod with this grace period and returns at once, with the pod as
    /// the API answered (marked for deletion), or none if it was removed at once.
    async fn begin_delete_pod(&self, pod: &PodRef, grace_seconds: i64) -> TargetResult<Option<Pod>>;

    /// Deletes every pod of `namespace` that the label selector `labels` selects with this
    /// grace period, as one `deletecollection` request (`DELETE .../pods?labelSelector=`), and
    /// returns at once with the names of the pods the API deleted or marked for deletion.
    async fn delete_pod_collection(&self, namespace: &str, labels: &str, grace_seconds: i64) -> TargetResult<Vec<String>>;

    /// The pods of a namespace, as the API lists them (mirror pods among them).
    async fn list_pods(&self, namespace: &str) -> TargetResult<Vec<Pod>>;

    /// The pods of a namespace that the label selector `labels` selects, as the API lists them
    /// (`GET .../pods?labelSelector=`). By default the target's list, filtered here.
    async fn list_pods_labelled(&self, namespace: &str, labels: &str) -> TargetResult<Vec<Pod>> {
        let selector = crate::api::selector::PodSelector::parse(Some(labels), None).map_err(TargetError::Selector)?;
        Ok(self.list_pods(namespace).await?.into_iter().filter(|p| selector.matches(p)).collect())
    }

    /// A watch of the pods of `namespace` that the label selector `labels` selects, as an
    /// informer makes one (a list, then a watch from its resourceVersion): the pods there now
    /// as `ADDED`, then each change as `ADDED`, `MODIFIED` or `DELETED` with the pod, in order.
    async fn watch_pods_labelled(&self, namespace: &str, labels: &str) -> TargetResult<PodEvents>;

    /// Applies a JSON merge patch (RFC 7386) to a pod's `status` subresource (the status, labels
    /// and annotations are taken; the spec is not); returns the pod as the API answered.
    async fn patch_pod_status(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod>;

    /// Applies a JSON merge patch (RFC 7386) to a pod; returns the stored pod.
    async fn patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod>;

    /// Applies a strategic merge patch to a pod (`kubectl patch --type=strategic`: lists with a
    /// merge key, such as the containers by name, are merged item by item); returns the stored
    /// pod.
    async fn strategic_patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod>;

    /// Reads a pod through its `status` subresource (`GET .../pods/NAME/status`: the whole pod).
    async fn get_pod_status(&self, pod: &PodRef) -> TargetResult<Pod>;

    /// Replaces a pod's status through its `status` subresource (a PUT of the whole pod, of
    /// which the API takes the status, labels and annotations; the object's resourceVersion must
    /// be the stored one, else a 409 Conflict); returns the pod as written.
    async fn update_pod_status(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod>;

    /// Sets the condition `type_` of a pod's status to `status` through the `status`
    /// subresource, as a strategic merge patch `{"status":{"conditions":[{"type":..,"status":..}]}}`
    /// does (the conditions merge by type): how a readiness gate's owner writes its condition.
    async fn set_pod_condition(&self, pod: &PodRef, type_: &str, status: &str) -> TargetResult<Pod>;

    /// Creates a RuntimeClass (`node.k8s.io/v1`, cluster-scoped); returns it as stored.
    async fn create_runtime_class(&self, class: &RuntimeClass) -> TargetResult<RuntimeClass>;

    /// Reads a RuntimeClass; `None` when there is none of that name.
    async fn get_runtime_class(&self, name: &str) -> TargetResult<Option<RuntimeClass>>;

    /// Deletes a RuntimeClass (gone already is no error).
    async fn delete_runtime_class(&self, name: &str) -> TargetResult<()>;
}

/// Capability `config-objects`: ConfigMaps and Secrets are objects of the API. They can be
/// created, replaced and deleted while pods use them, and the node reads them from there.
#[async_trait]
pub trait ConfigObjectsTarget: Send + Sync {
    /// Creates, replaces or deletes the ConfigMap or Secret `object` (JSON, with its `kind`,
    /// name and namespace) in the API; returns the object as stored, none after a delete.
    async fn write_config_object(&self, write: ConfigWrite, object: &serde_json::Value) -> TargetResult<Option<serde_json::Value>>;
}

/// Capability `static-pods`: the kubelet's static pod manifest directory can be written and its
/// log read (by the reference target directly, by the kube target through a privileged pod on
/// the node).
#[async_trait]
pub trait StaticPodsTarget: Send + Sync {
    /// Writes a file into the kubelet's static pod manifest directory.
    async fn write_static_pod_manifest(&self, file_name: &str, contents: &str) -> TargetResult<()>;

    /// Removes a file from the kubelet's static pod manifest directory.
    async fn remove_static_pod_manifest(&self, file_name: &str) -> TargetResult<()>;

    /// What the node's kubelet logged of note (warnings, events), one line each: at least the
    /// lines that mention `mentioning` (a target may return more; a cluster's kubelet is asked
    /// for those alone).
    async fn kubelet_log(&self, mentioning: &str) -> TargetResult<Vec<String>>;
}

/// Capability `node-access`: the node's filesystem can be read by podspec itself.
#[async_trait]
pub trait NodeAccessTarget: Send + Sync {
    /// Where an emptyDir volume of a pod lives on the node.
    async fn node_volume_path(&self, pod: &PodRef, volume: &str) -> TargetResult<PathBuf>;
}

/// Capability `ephemeral-containers`: ephemeral containers can be added to a running pod through
/// its `ephemeralcontainers` subresource, and the node starts them.
#[async_trait]
pub trait EphemeralContainersTarget: Send + Sync {
    /// Writes a pod's `ephemeralcontainers` subresource: a PUT of the whole pod, of which the API
    /// takes `spec.ephemeralContainers` only; returns the stored pod.
    async fn update_ephemeral_containers(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod>;
}
