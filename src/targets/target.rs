//! Layer 2: the Target trait. Steps drive a target only through this trait: the built-in
//! reference runtime, a real cluster, or a third-party runtime that takes pod YAML.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;

/// What a target can do beyond the basics (create, get, delete, exec, crash a container, read
/// status). A scenario tagged with a capability the target lacks is skipped with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// The node's filesystem can be read by podspec itself: where a pod's volumes live on the
    /// node.
    NodeAccess,
    /// The kubelet's static pod manifest directory can be written and its log read: by the
    /// reference target directly, by the kube target through a privileged pod on the node.
    StaticPods,
    /// Pods are objects of an API server: they can be updated (whole or by merge patch), the
    /// API's rules and error texts apply, and static pods appear there as mirror pods.
    ApiServer,
    /// Pods may be given the node's own namespaces and devices (hostPID, hostIPC, hostNetwork,
    /// privileged), because the node's namespaces are not this machine's: the reference node's
    /// are podspec's own, a cluster's are its nodes'. A target that would hand a pod the
    /// machine's own processes, IPC or network does not offer it.
    HostAccess,
    /// Ephemeral containers can be added to a running pod through its `ephemeralcontainers`
    /// subresource, and the node starts them.
    EphemeralContainers,
    /// ConfigMaps and Secrets are objects of the API: they can be created, replaced and deleted
    /// while pods use them, and the node reads them from there.
    ConfigObjects,
}

/// The events of a watch of pods ([`Target::watch_pods_labelled`]): the type as the API names
/// it (`ADDED`, `MODIFIED`, `DELETED`) and the pod.
pub type PodEvents = futures::stream::BoxStream<'static, TargetResult<(String, Pod)>>;

/// A write of a ConfigMap or a Secret ([`Target::write_config_object`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigWrite {
    Create,
    /// A PUT of the whole object (these kinds allow one without a resourceVersion).
    Replace,
    Delete,
    /// A read (GET) of the object, through the same path: the object, or none when it is missing.
    Get,
}

impl Capability {
    pub const ALL: &'static [Capability] = &[
        Capability::NodeAccess,
        Capability::StaticPods,
        Capability::ApiServer,
        Capability::HostAccess,
        Capability::EphemeralContainers,
        Capability::ConfigObjects,
    ];

    /// The scenario tag that asks for it (without `@`).
    pub fn tag(self) -> &'static str {
        match self {
            Capability::NodeAccess => "node-access",
            Capability::StaticPods => "static-pods",
            Capability::ApiServer => "api-server",
            Capability::HostAccess => "host-access",
            Capability::EphemeralContainers => "ephemeral-containers",
            Capability::ConfigObjects => "config-objects",
        }
    }

    /// What a target without it lacks, for skip reasons.
    pub fn meaning(self) -> &'static str {
        match self {
            Capability::NodeAccess => "no access to the node's filesystem (volume directories)",
            Capability::StaticPods => "no access to the kubelet's static pod manifest directory and its log",
            Capability::ApiServer => "no API server (pod updates and their validation, mirror pods, RuntimeClasses)",
            Capability::HostAccess => {
                "no node namespaces of its own: its node's PID, IPC and network namespaces and devices are this machine's (hostPID, hostIPC, hostNetwork and privileged pods would reach the machine)"
            }
            Capability::EphemeralContainers => "no ephemeral containers (the pod's ephemeralcontainers subresource, and a node that starts them)",
            Capability::ConfigObjects => "no ConfigMaps or Secrets as API objects that pods reference and that change while pods run",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.tag() == tag)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
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
    #[error("pod {pod} is invalid: {message}")]
    Invalid { pod: PodRef, message: String },
    #[error("image {reference:?} is not available locally on target {target}: {message}")]
    ImageUnavailable { target: String, reference: String, message: String },
    #[error("target {target} does not support {what}")]
    Unsupported { target: String, what: String },
    #[error("{operation}: timed out after {after:?}")]
    Timeout { operation: String, after: Duration },
    /// The API server refused the request: Kubernetes' `Status`, kept whole.
    #[error("{message}")]
    Api { code: u16, reason: String, message: String },
    #[error("{0}")]
    Other(String),
}

pub type TargetResult<T> = Result<T, TargetError>;

/// What `kill_container` runs in the container: the agent's request to its main process.
pub const CRASH_COMMAND: [&str; 2] = ["podspec-agent", "crash"];

#[async_trait]
pub trait Target: Send + Sync {
    /// The target's name, as reports show it (`reference`, `podman`, a cluster's context).
    fn name(&self) -> &str;

    fn capabilities(&self) -> &BTreeSet<Capability>;

    /// What identifies the system under test beyond its name, for reports (a CRI runtime's
    /// `runtime_name`, `runtime_version` and `endpoint`, for example).
    fn identity(&self) -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::new()
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
            return Err(TargetError::Other(format!(
                "`podspec-agent crash` in container {container:?} of pod {pod} failed (exit code {}): {}{}",
                out.exit_code,
                out.stdout.trim(),
                out.stderr.trim()
            )));
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

    /// Where an emptyDir volume of a pod lives on the node (capability `node-access`).
    async fn node_volume_path(&self, pod: &PodRef, volume: &str) -> TargetResult<PathBuf> {
        let _ = (pod, volume);
        Err(self.unsupported(Capability::NodeAccess))
    }

    /// Replaces a pod with a whole object (an API server's PUT to the pod `pod` names, which
    /// the object's own name may contradict); returns the stored pod.
    async fn update_pod(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod> {
        let _ = (pod, object);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Writes a pod's `ephemeralcontainers` subresource: a PUT of the whole pod, of which the API
    /// takes `spec.ephemeralContainers` only (capability `ephemeral-containers`); returns the
    /// stored pod.
    async fn update_ephemeral_containers(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod> {
        let _ = (pod, object);
        Err(self.unsupported(Capability::EphemeralContainers))
    }

    /// Asks the API to delete a pod with this grace period and returns at once, with the pod as
    /// the API answered (marked for deletion), or none if it was removed at once.
    async fn begin_delete_pod(&self, pod: &PodRef, grace_seconds: i64) -> TargetResult<Option<Pod>> {
        let _ = (pod, grace_seconds);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Deletes every pod of `namespace` that the label selector `labels` selects with this
    /// grace period, as one `deletecollection` request (`DELETE .../pods?labelSelector=`), and
    /// returns at once with the names of the pods the API deleted or marked for deletion.
    async fn delete_pod_collection(&self, namespace: &str, labels: &str, grace_seconds: i64) -> TargetResult<Vec<String>> {
        let _ = (namespace, labels, grace_seconds);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// The pods of a namespace that the label selector `labels` selects, as the API lists them
    /// (`GET .../pods?labelSelector=`). By default the target's list, filtered here.
    async fn list_pods_labelled(&self, namespace: &str, labels: &str) -> TargetResult<Vec<Pod>> {
        let selector = crate::api::selector::PodSelector::parse(Some(labels), None).map_err(TargetError::Other)?;
        Ok(self.list_pods(namespace).await?.into_iter().filter(|p| selector.matches(p)).collect())
    }

    /// A watch of the pods of `namespace` that the label selector `labels` selects, as an
    /// informer makes one (a list, then a watch from its resourceVersion): the pods there now
    /// as `ADDED`, then each change as `ADDED`, `MODIFIED` or `DELETED` with the pod, in order.
    async fn watch_pods_labelled(&self, namespace: &str, labels: &str) -> TargetResult<PodEvents> {
        let _ = (namespace, labels);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Applies a JSON merge patch (RFC 7386) to a pod's `status` subresource (the status, labels
    /// and annotations are taken; the spec is not); returns the pod as the API answered.
    async fn patch_pod_status(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        let _ = (pod, patch);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Applies a JSON merge patch (RFC 7386) to a pod; returns the stored pod.
    async fn patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        let _ = (pod, patch);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Applies a strategic merge patch to a pod (`kubectl patch --type=strategic`: lists with a
    /// merge key, such as the containers by name, are merged item by item); returns the stored
    /// pod.
    async fn strategic_patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        let _ = (pod, patch);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Reads a pod through its `status` subresource (`GET .../pods/NAME/status`: the whole pod).
    async fn get_pod_status(&self, pod: &PodRef) -> TargetResult<Pod> {
        let _ = pod;
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Replaces a pod's status through its `status` subresource (a PUT of the whole pod, of
    /// which the API takes the status, labels and annotations; the object's resourceVersion must
    /// be the stored one, else a 409 Conflict); returns the pod as written.
    async fn update_pod_status(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod> {
        let _ = (pod, object);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Creates a RuntimeClass (`node.k8s.io/v1`, cluster-scoped; capability `api-server`);
    /// returns it as stored.
    async fn create_runtime_class(
        &self,
        class: &k8s_openapi::api::node::v1::RuntimeClass,
    ) -> TargetResult<k8s_openapi::api::node::v1::RuntimeClass> {
        let _ = class;
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Reads a RuntimeClass; `None` when there is none of that name.
    async fn get_runtime_class(&self, name: &str) -> TargetResult<Option<k8s_openapi::api::node::v1::RuntimeClass>> {
        let _ = name;
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Deletes a RuntimeClass (gone already is no error).
    async fn delete_runtime_class(&self, name: &str) -> TargetResult<()> {
        let _ = name;
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Sets the condition `type_` of a pod's status to `status` through the `status`
    /// subresource, as a strategic merge patch `{"status":{"conditions":[{"type":..,"status":..}]}}`
    /// does (the conditions merge by type): how a readiness gate's owner writes its condition.
    async fn set_pod_condition(&self, pod: &PodRef, type_: &str, status: &str) -> TargetResult<Pod> {
        let _ = (pod, type_, status);
        Err(self.unsupported(Capability::ApiServer))
    }

    /// Creates, replaces or deletes the ConfigMap or Secret `object` (JSON, with its `kind`,
    /// name and namespace) in the API (capability `config-objects`); returns the object as
    /// stored, none after a delete.
    async fn write_config_object(&self, write: ConfigWrite, object: &serde_json::Value) -> TargetResult<Option<serde_json::Value>> {
        let _ = (write, object);
        Err(self.unsupported(Capability::ConfigObjects))
    }

    /// The pods of a namespace, as the API lists them (mirror pods among them).
    async fn list_pods(&self, namespace: &str) -> TargetResult<Vec<Pod>> {
        let _ = namespace;
        Err(self.unsupported(Capability::ApiServer))
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
    /// (what it found when it looked): added to the skip reason.
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

    /// The node's name (mirror pods are named `<pod>-<node>`).
    fn node_name(&self) -> Option<&str> {
        None
    }

    /// Writes a file into the kubelet's static pod manifest directory (capability `static-pods`).
    async fn write_static_pod_manifest(&self, file_name: &str, contents: &str) -> TargetResult<()> {
        let _ = (file_name, contents);
        Err(self.unsupported(Capability::StaticPods))
    }

    /// Removes a file from the kubelet's static pod manifest directory (capability `static-pods`).
    async fn remove_static_pod_manifest(&self, file_name: &str) -> TargetResult<()> {
        let _ = file_name;
        Err(self.unsupported(Capability::StaticPods))
    }

    /// What the node's kubelet logged of note (warnings, events), one line each (capability
    /// `static-pods`): at least the lines that mention `mentioning` (a target may return more;
    /// a cluster's kubelet is asked for those alone).
    async fn kubelet_log(&self, mentioning: &str) -> TargetResult<Vec<String>> {
        let _ = mentioning;
        Err(self.unsupported(Capability::StaticPods))
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

/// The error of a trait method a target does not implement.
trait UnsupportedExt {
    fn unsupported(&self, capability: Capability) -> TargetError;
}

impl<T: Target + ?Sized> UnsupportedExt for T {
    fn unsupported(&self, capability: Capability) -> TargetError {
        TargetError::Unsupported { target: self.name().to_string(), what: format!("{capability} ({})", capability.meaning()) }
    }
}
