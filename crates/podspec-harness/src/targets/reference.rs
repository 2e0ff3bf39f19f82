//! The reference target: podspec's own node (a kubelet over the Linux runtime) behind podspec's
//! own API (an object store with watch, Kubernetes' admission and the pod strategy). The target
//! is a plain client of the API; the kubelet watches the API and runs what it finds there.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;

use crate::api::generic::Scope;
use crate::api::store::Refusal;
use crate::api::{ApiError, DeleteOptions, EventStore, PodStore, Requester, WatchEvent};
use crate::node::Node;
use crate::paths::Paths;
use crate::runtime::cri::RuntimeError;
use crate::runtime::kubelet::{Kubelet, KubeletError};
use crate::targets::{
    ApiServerTarget, Capability, ConfigObjectsTarget, EphemeralContainersTarget, ExecOutput, NodeAccessTarget, PodRef, StaticPodsTarget,
    Target, TargetError, TargetResult,
};

pub use crate::node::{NodeHost, NodeRuntime, ReferenceOptions, NODE_NAME, POD_PIDS_LIMIT};

/// The reference target: a client of a node (`node::Node`). Pods are created, read, watched,
/// updated and deleted through the node's API; the kubelet watches the API and runs them. The
/// target reaches the kubelet only for what the API server proxies to a node (exec, logs, a
/// crash, the node's files).
pub struct ReferenceTarget {
    name: String,
    /// Whether the node's namespaces are podspec's own (capability `host-access`).
    host_access: bool,
    node: Arc<Node>,
    /// The resourceVersion of each pod as last read, from which `pod_changed` watches.
    seen: std::sync::Mutex<std::collections::HashMap<PodRef, u64>>,
}

impl ReferenceTarget {
    /// What the reference target can do, known without starting it (for `podspec list`).
    pub fn declared_capabilities() -> BTreeSet<Capability> {
        // Every one: the reference node has the code of each interface.
        Capability::ALL.iter().copied().collect()
    }

    /// Starts a node of its own for this run.
    pub async fn start(paths: Paths) -> TargetResult<Self> {
        Self::start_with(paths, ReferenceOptions::default()).await
    }

    pub async fn start_with(paths: Paths, options: ReferenceOptions) -> TargetResult<Self> {
        let node = Node::start_linux(paths, options).await.map_err(TargetError::NodeStart)?;
        Ok(Self::of_node("reference", Arc::new(node)))
    }

    /// A node on any runtime, named `name` in reports: the API, and a kubelet over the
    /// runtime's CRI services.
    pub fn on_runtime(name: &str, run_id: &str, node: NodeRuntime, options: ReferenceOptions) -> TargetResult<Self> {
        let node = Node::start(run_id, node, options).map_err(TargetError::NodeStart)?;
        Ok(Self::of_node(name, Arc::new(node)))
    }

    /// The target over a node, named `name` in reports.
    pub fn of_node(name: &str, node: Arc<Node>) -> Self {
        let host_access = node.runtime().host.namespaces_are_its_own();
        Self { name: name.to_string(), host_access, node, seen: Default::default() }
    }

    /// The node this target is a client of.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The node alone, for a front end that is its own client (`podspec serve`).
    pub fn into_node(self) -> Arc<Node> {
        self.node
    }

    /// The run's state directory on the node.
    pub fn run_dir(&self) -> PathBuf {
        self.node.run_dir()
    }

    /// The node's pods.
    pub fn api(&self) -> Arc<PodStore> {
        self.node.pods()
    }

    /// The node's events (what the kubelet and the scheduler's part did).
    pub fn events(&self) -> Arc<EventStore> {
        self.node.events()
    }

    /// The node's kubelet (for what an API server proxies to a node).
    pub fn kubelet(&self) -> &Arc<Kubelet> {
        self.node.kubelet()
    }

    pub fn static_pod_dir(&self) -> &std::path::Path {
        self.node.static_pod_dir()
    }

    /// The kubelet's `podPidsLimit`; none: no limit.
    pub fn pod_pids_limit(&self) -> Option<i64> {
        self.node.pod_pids_limit()
    }

    fn stored(&self, pod: &PodRef) -> TargetResult<Pod> {
        self.node.pods().get(&pod.namespace, &pod.name).map_err(|e| api_error(pod, e))
    }

    /// A watch of one pod in the API, from `from` (None: its current state first).
    fn watch_pod(&self, pod: &PodRef, from: Option<u64>) -> Result<crate::api::PodWatch, ApiError> {
        let (namespace, name) = (pod.namespace.clone(), pod.name.clone());
        self.node.pods().watch_scoped(
            from,
            Scope::namespace(&pod.namespace),
            Box::new(move |p: &Pod| {
                p.metadata.name.as_deref() == Some(name.as_str()) && p.metadata.namespace.as_deref() == Some(namespace.as_str())
            }),
        )
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
            KubeletError::Runtime(source @ RuntimeError::ContainerNotRunning(_)) => {
                TargetError::ContainerOfPodNotRunning { pod: pod.clone(), source }
            }
            other => TargetError::Kubelet(other),
        }
    }

    fn map_exec(&self, pod: &PodRef, container: &str, e: KubeletError) -> TargetError {
        match e {
            KubeletError::Runtime(RuntimeError::ContainerNotRunning(_)) => {
                TargetError::NotRunning { pod: pod.clone(), container: container.into() }
            }
            KubeletError::Runtime(RuntimeError::Timeout { operation, after }) => TargetError::Timeout { operation, after },
            other => self.map_kubelet(pod, other),
        }
    }

    fn static_manifest_path(&self, file_name: &str) -> TargetResult<PathBuf> {
        let plain = !file_name.is_empty() && !file_name.contains('/') && file_name != "." && file_name != "..";
        if !plain {
            return Err(TargetError::StaticPodManifestName(file_name.to_string()));
        }
        Ok(self.node.static_pod_dir().join(file_name))
    }
}

/// A write of a ConfigMap or a Secret to the node's API store of its kind.
fn write_object<S: crate::api::Strategy>(
    store: &crate::api::Store<S>,
    write: crate::targets::ConfigWrite,
    object: &serde_json::Value,
) -> TargetResult<Option<serde_json::Value>>
where
    S::Object: crate::api::generic::Object,
{
    use k8s_openapi::Metadata as _;
    let typed: S::Object = serde_json::from_value(object.clone())
        .map_err(|source| TargetError::NotAnObjectOfKind { kind: <S::Object as k8s_openapi::Resource>::KIND.to_string(), source })?;
    let m = typed.metadata();
    let (namespace, name) = (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default());
    let api = refused;
    let stored = match write {
        crate::targets::ConfigWrite::Create => Some(store.create_object(&typed, false).map_err(api)?),
        crate::targets::ConfigWrite::Replace => Some(store.update(&namespace, &name, &typed).map_err(api)?),
        crate::targets::ConfigWrite::Delete => store.delete(&namespace, &name, &Default::default()).map_err(api)?,
crate::targets::ConfigWrite::Get => match store.get(&namespace, &name) {
            Ok(o) => Some(o),
            Err(e) if e.code == 404 => None,
            Err(e) => return Err(api(e)),
        },
    };
    Ok(stored.map(|o| serde_json::to_value(o).unwrap_or_default()))
}

/// An API error: a missing pod keeps its own variant, every other error its Status.
fn api_error(pod: &PodRef, e: ApiError) -> TargetError {
    if e.code == 404 {
        return TargetError::NotFound(pod.clone());
    }
    refused(e)
}

/// The API's refusal as a `Status`, kept whole (its causes among its details).
fn refused(e: ApiError) -> TargetError {
    TargetError::Api(Box::new(status(e)))
}

/// The `Status` the API answers an error with.
fn status(e: ApiError) -> kube::core::Status {
    let status = kube::core::Status::failure(&e.message, &e.reason).with_code(e.code);
    if e.causes.is_empty() {
        return status;
    }
    let causes =
        e.causes.into_iter().map(|c| kube::core::response::StatusCause { reason: c.reason, message: c.message, field: c.field }).collect();
    status.with_details(kube::core::response::StatusDetails {
        name: String::new(),
        group: String::new(),
        kind: String::new(),
        uid: String::new(),
        causes,
        retry_after_seconds: 0,
    })
}

/// The scheduler's part, said as a change to the manifest when it is one: this node is the only
/// one, so a pod that names no node is bound to it (`Node::create_pod` does the binding).
fn scheduling_change(pod: &Pod) -> Option<String> {
    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("");
    if !node.is_empty() {
        return None;
    }
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    Some(format!("pod {name}: spec.nodeName set to {NODE_NAME:?} (the scheduler's part: the target's node is the only one)"))
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
        &self.name
    }

    fn identity(&self) -> std::collections::BTreeMap<String, String> {
        self.node.identity()
    }

    fn api_server(&self) -> Option<&dyn ApiServerTarget> {
        Some(self)
    }

    fn config_objects(&self) -> Option<&dyn ConfigObjectsTarget> {
        Some(self)
    }

    fn static_pods(&self) -> Option<&dyn StaticPodsTarget> {
        Some(self)
    }

    fn node_access(&self) -> Option<&dyn NodeAccessTarget> {
        Some(self)
    }

    fn ephemeral_containers(&self) -> Option<&dyn EphemeralContainersTarget> {
        Some(self)
    }

    /// The node's namespaces are podspec's own on the Linux runtime; over a CRI runtime they
    /// are the machine's.
    fn host_access(&self) -> bool {
        self.host_access
    }

    fn node_name(&self) -> Option<&str> {
        Some(NODE_NAME)
    }

    fn refused_fields(&self, pod: &Pod) -> Vec<crate::manifest::fields::RefusedField> {
        crate::manifest::fields::refused_on(pod, &self.node.kubelet().config().host_dirs())
    }

    fn manifest_changes(&self, pod: &Pod) -> Vec<String> {
        scheduling_change(pod).into_iter().collect()
    }

    fn check_image(&self, reference: &str) -> TargetResult<()> {
        self.node.runtime().host.check_image(reference).map_err(|e| TargetError::ImageUnavailable {
            target: self.name().into(),
            reference: reference.into(),
            message: e.to_string(),
        })
    }

    async fn create_pod(&self, pod: &Pod) -> TargetResult<Pod> {
        let key = pod_ref(pod);
        // Down to the API only: its admission (with the node's, which refuses what the node
        // cannot run, up front), the strategy and the store. The kubelet sees the new pod
        // through its watch and runs it.
        self.node.create_pod_admitted(pod, Requester::User).await.map_err(|e| match e {
            Refusal::Node(what) => TargetError::Unsupported { target: self.name().into(), what },
            Refusal::Api(e) => api_error(&key, e),
        })
    }

    /// The scenario's namespace as an object of the API, as a cluster has it (its controllers
    /// give it its `default` ServiceAccount); one that exists is kept.
    async fn open_namespace(&self, namespace: &str) -> TargetResult<()> {
        let mut ns = k8s_openapi::api::core::v1::Namespace::default();
        ns.metadata.name = Some(namespace.to_string());
        match self.node.namespaces().create_object(&ns, false) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 409 => Ok(()),
            Err(e) => Err(TargetError::NamespaceRefused { namespace: namespace.to_string(), status: Box::new(status(e)) }),
        }
    }

    /// The scenario's pods are gone: what was last read of them is forgotten too, so that a
    /// long run holds no entry per pod it ever ran.
    async fn close_namespace(&self, namespace: &str) -> TargetResult<()> {
        self.seen.lock().unwrap().retain(|p, _| p.namespace != namespace);
        Ok(())
    }

    async fn get_pod(&self, pod: &PodRef) -> TargetResult<Pod> {
        let stored = self.stored(pod)?;
        if let Some(rv) = stored.metadata.resource_version.as_deref().and_then(|v| v.parse().ok()) {
            self.seen.lock().unwrap().insert(pod.clone(), rv);
        }
        Ok(stored)
    }

    /// A watch of the pod in the API from the resourceVersion last read, ended by its first
    /// event or by `max`. A pod never read, or one whose last read the history no longer reaches,
    /// returns at once (the wait reads it again).
    fn runtime_busy_time(&self) -> Option<Duration> {
        self.node.runtime().runtime.busy_time()
    }

    fn runtime_phase_times(&self) -> Vec<(&'static str, Duration)> {
        self.node.runtime().runtime.phase_times()
    }

    async fn pod_changed(&self, pod: &PodRef, max: Duration) {
        let from = self.seen.lock().unwrap().get(pod).copied();
        let Some(Ok(mut watch)) = from.map(|rv| self.watch_pod(pod, Some(rv))) else { return };
        let _ = tokio::time::timeout(max, watch.next()).await;
    }

    /// A watch of the pod in the API: each change is looked at as it is made (no reads in a loop).
    async fn wait_pod(&self, pod: &PodRef, what: &str, bound: Duration, done: for<'p> fn(&'p Pod) -> bool) -> TargetResult<()> {
        let timeout = || TargetError::Timeout { operation: format!("{what} (pod {pod})"), after: bound };
        let wait = async {
            loop {
                // A missing pod fails as a read of it does.
                self.stored(pod)?;
                let Ok(mut watch) = self.watch_pod(pod, None) else { continue };
                loop {
                    match watch.next().await {
                        Ok(WatchEvent::Added(p) | WatchEvent::Modified(p)) if done(&p) => return Ok(()),
                        Ok(WatchEvent::Added(_) | WatchEvent::Modified(_) | WatchEvent::Bookmark(_)) => {}
                        // Deleted (it may be back already: a mirror pod), or fell behind the
                        // history: read it again and watch from the present.
                        Ok(WatchEvent::Deleted(_)) | Err(_) => break,
                    }
                }
            }
        };
        tokio::time::timeout(bound, wait).await.unwrap_or_else(|_| Err(timeout()))
    }

    async fn delete_pod(&self, pod: &PodRef) -> TargetResult<()> {
        let stored = self.stored(pod)?;
        if crate::api::is_mirror_pod(&stored) {
            // The API object goes; the static pod runs on and the kubelet makes a new mirror.
            self.node.pods().delete(&pod.namespace, &pod.name, &DeleteOptions::grace(0)).map_err(|e| api_error(pod, e))?;
            return Ok(());
        }
        let uid = stored.metadata.uid.clone().unwrap_or_default();
        let from = resource_version(&stored);
        if held_by_finalizers(&stored) {
            // Stopped already and held by finalizers only: a delete changes nothing, so no
            // change would come to wait for (a run hung here, in a scenario's clean-up).
            self.node.kubelet().wait_torn_down(&uid, from).await;
            return Ok(());
        }
        let watched = uid.clone();
        let pods = self.node.pods();
        let mut watch = pods
            .watch_scoped(
                Some(from),
                Scope::namespace(&pod.namespace),
                Box::new(move |p| p.metadata.uid.as_deref() == Some(watched.as_str())),
            )
            .map_err(|e| api_error(pod, e))?;
        // A graceful delete with the pod's own grace period: the kubelet stops the pod, then
        // deletes it for good (finalizers may still hold the object).
        let options = DeleteOptions { uid: Some(uid.clone()), ..Default::default() };
        match pods.delete(&pod.namespace, &pod.name, &options) {
            Ok(_) => {}
            Err(e) if e.code == 404 || e.code == 409 => return Ok(()), // gone, or another pod now
            Err(e) => return Err(api_error(pod, e)),
        }
        // Gone from the API, or held there by finalizers only once the kubelet is done.
        let done = loop {
            match watch.next().await.map_err(|e| api_error(pod, e))? {
                WatchEvent::Deleted(p) => break resource_version(&p),
                WatchEvent::Modified(p) | WatchEvent::Added(p) if held_by_finalizers(&p) => break resource_version(&p),
                _ => {}
            }
        };
        self.node.kubelet().wait_torn_down(&uid, done).await;
        Ok(())
    }

    async fn exec(&self, pod: &PodRef, container: &str, command: &[String], timeout: Duration) -> TargetResult<ExecOutput> {
        let uid = self.node_uid(pod)?;
        let r = self.node.kubelet().exec(&uid, container, command, timeout).await.map_err(|e| self.map_exec(pod, container, e))?;
        Ok(ExecOutput {
            stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
            exit_code: r.exit_code,
        })
    }

    async fn exec_with_stdin(
        &self,
        pod: &PodRef,
        container: &str,
        command: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> TargetResult<ExecOutput> {
        let uid = self.node_uid(pod)?;
        let r = self
            .node
            .kubelet()
            .exec_with_input(&uid, container, command, stdin, timeout)
            .await
            .map_err(|e| self.map_exec(pod, container, e))?;
        Ok(ExecOutput {
            stdout: String::from_utf8_lossy(&r.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&r.stderr).into_owned(),
            exit_code: r.exit_code,
        })
    }

    async fn logs(&self, pod: &PodRef, container: &str, previous: bool) -> TargetResult<String> {
        if previous {
            return Err(TargetError::Unsupported {
                target: self.name.clone(),
                what: "the log of a container's previous instance (the kubelet removes it when the container restarts)".into(),
            });
        }
        let uid = self.node_uid(pod)?;
        let entries = self.node.kubelet().container_log(&uid, container).await.map_err(|e| self.map_kubelet(pod, e))?;
        Ok(String::from_utf8_lossy(&crate::runtime::cri::log_text(&entries)).into_owned())
    }

    fn stop_at_once(&self) -> bool {
        self.node.stop_at_once();
        true
    }

    async fn shutdown(&self) -> TargetResult<()> {
        self.node.shutdown().await.map_err(|source| TargetError::NodeShutdown { node: self.name.clone(), source })
    }
}

#[async_trait]
impl ApiServerTarget for ReferenceTarget {
    async fn list_pods(&self, namespace: &str) -> TargetResult<Vec<Pod>> {
        Ok(self.node.pods().list_scoped(&Scope::namespace(namespace)).0)
    }

    async fn create_runtime_class(
        &self,
        class: &k8s_openapi::api::node::v1::RuntimeClass,
    ) -> TargetResult<k8s_openapi::api::node::v1::RuntimeClass> {
        let created = self.node.api().runtime_classes().create_object(class, false);
        created.map_err(refused)
    }

    async fn get_runtime_class(&self, name: &str) -> TargetResult<Option<k8s_openapi::api::node::v1::RuntimeClass>> {
        Ok(self.node.api().runtime_classes().get("", name).ok())
    }

    async fn delete_runtime_class(&self, name: &str) -> TargetResult<()> {
        match self.node.api().runtime_classes().delete("", name, &DeleteOptions::grace(0)) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(e) => Err(refused(e)),
        }
    }

    async fn update_pod(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod> {
        self.node.pods().update(&pod.namespace, &pod.name, object).map_err(|e| api_error(pod, e))
    }

    async fn patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        self.node.pods().merge_patch(&pod.namespace, &pod.name, patch).map_err(|e| api_error(pod, e))
    }

    async fn strategic_patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        // As the API server's update loop: a patch without a resourceVersion of its own is
        // applied again to the newer pod when a write (the kubelet's status) got in first.
        let mut attempts = 0;
        loop {
            let current = self.stored(pod)?;
            let mut value = serde_json::to_value(&current).map_err(|source| TargetError::Json { what: format!("pod {pod} as JSON"), source })?;
            podspec_api::strategic_merge::apply(&mut value, patch);
            let mut patched: Pod = serde_json::from_value(value)
                .map_err(|e| TargetError::api(422, "Invalid", format!("the patch does not make a Pod: {e}")))?;
            let pinned = patch.pointer("/metadata/resourceVersion").is_some();
            if !pinned {
                patched.metadata.resource_version = current.metadata.resource_version.clone();
            }
            attempts += 1;
            match self.node.pods().update(&pod.namespace, &pod.name, &patched) {
                Err(e) if e.code == 409 && !pinned && attempts < 10 => continue,
                other => return other.map_err(|e| api_error(pod, e)),
            }
        }
    }

    async fn get_pod_status(&self, pod: &PodRef) -> TargetResult<Pod> {
        self.stored(pod)
    }

    async fn update_pod_status(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod> {
        self.node.pods().replace_status(&pod.namespace, &pod.name, "podspec", object).map_err(|e| api_error(pod, e))
    }

    async fn watch_pods_labelled(&self, namespace: &str, labels: &str) -> TargetResult<crate::targets::PodEvents> {
        let selector = crate::api::selector::PodSelector::parse(Some(labels), None).map_err(TargetError::Selector)?;
        // The namespace through the store's index; the watch's filter takes the labels.
        let scope = Scope::namespace(namespace);
        let filter = move |p: &Pod| selector.matches(p);
        let watch = self.node.pods().watch_scoped(None, scope, Box::new(filter)).map_err(refused)?;
        let events = futures::stream::unfold(watch, |mut watch| async move {
            loop {
                let event = match watch.next().await {
                    Ok(WatchEvent::Added(p)) => Ok(("ADDED".to_string(), p)),
                    Ok(WatchEvent::Modified(p)) => Ok(("MODIFIED".to_string(), p)),
                    Ok(WatchEvent::Deleted(p)) => Ok(("DELETED".to_string(), p)),
                    Ok(WatchEvent::Bookmark(_)) => continue,
                    Err(e) => Err(TargetError::WatchEnded { what: "the watch ended".into(), status: Box::new(status(e)) }),
                };
                return Some((event, watch));
            }
        });
        Ok(Box::pin(events))
    }

    async fn patch_pod_status(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        self.node.pods().merge_patch_status(&pod.namespace, &pod.name, "podspec", patch).map_err(|e| api_error(pod, e))
    }

    async fn delete_pod_collection(&self, namespace: &str, labels: &str, grace_seconds: i64) -> TargetResult<Vec<String>> {
        let selector = crate::api::selector::PodSelector::parse(Some(labels), None).map_err(TargetError::Selector)?;
        let api = self.node.pods();
        let mut deleted = Vec::new();
        for pod in api.list_scoped(&Scope::namespace(namespace)).0.into_iter().filter(|p| selector.matches(p)) {
            let r = PodRef { namespace: namespace.to_string(), name: pod.metadata.name.clone().unwrap_or_default() };
            match api.delete(namespace, &r.name, &DeleteOptions::grace(grace_seconds)) {
                Ok(_) => deleted.push(r.name),
                // Gone between the list and the delete, as the API's deletecollection allows.
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(api_error(&r, e)),
            }
        }
        Ok(deleted)
    }

    async fn begin_delete_pod(&self, pod: &PodRef, grace_seconds: i64) -> TargetResult<Option<Pod>> {
        self.node.pods().delete(&pod.namespace, &pod.name, &DeleteOptions::grace(grace_seconds)).map_err(|e| api_error(pod, e))
    }

    async fn set_pod_condition(&self, pod: &PodRef, type_: &str, status: &str) -> TargetResult<Pod> {
        let uid = self.stored(pod)?.metadata.uid.unwrap_or_default();
        let condition = k8s_openapi::api::core::v1::PodCondition { type_: type_.into(), status: status.into(), ..Default::default() };
        self.node
            .pods()
            .set_status_with(&pod.namespace, &pod.name, &uid, "podspec", |stored| {
                let mut new = stored.cloned().unwrap_or_default();
                let conditions = new.conditions.get_or_insert_with(Vec::new);
                // The strategic merge patch's merge by type: fields the patch gives replace those
                // of the stored condition of that type; a new type is appended.
                match conditions.iter_mut().find(|c| c.type_ == type_) {
                    Some(c) => c.status = condition.status.clone(),
                    None => conditions.push(condition),
                }
                new
            })
            .map_err(|e| api_error(pod, e))?;
        self.stored(pod)
    }
}

#[async_trait]
impl EphemeralContainersTarget for ReferenceTarget {
    async fn update_ephemeral_containers(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod> {
        self.node.pods().update_ephemeral_containers(&pod.namespace, &pod.name, object, false, None).map_err(|e| api_error(pod, e))
    }
}

#[async_trait]
impl ConfigObjectsTarget for ReferenceTarget {
    async fn write_config_object(
        &self,
        write: crate::targets::ConfigWrite,
        object: &serde_json::Value,
    ) -> TargetResult<Option<serde_json::Value>> {
        match object["kind"].as_str() {
            Some("ConfigMap") => write_object(&self.node.api().config_maps(), write, object),
            Some("Secret") => write_object(&self.node.api().secrets(), write, object),
            Some("ServiceAccount") => write_object(&self.node.api().store::<crate::api::rbac::ServiceAccountStrategy>(), write, object),
            other => Err(TargetError::NotAConfigObject(other.map(str::to_string))),
        }
    }
}

#[async_trait]
impl NodeAccessTarget for ReferenceTarget {
    async fn node_volume_path(&self, pod: &PodRef, volume: &str) -> TargetResult<PathBuf> {
        let uid = self.node_uid(pod)?;
        Ok(self.node.kubelet().volume_dir(&uid, volume))
    }
}

#[async_trait]
impl StaticPodsTarget for ReferenceTarget {
    async fn write_static_pod_manifest(&self, file_name: &str, contents: &str) -> TargetResult<()> {
        let path = self.static_manifest_path(file_name)?;
        // Written aside and renamed, so the kubelet never reads half a file.
        let tmp = self.node.static_pod_dir().join(format!(".{file_name}.tmp"));
        let write = async {
            tokio::fs::write(&tmp, contents).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        write.await.map_err(|source| TargetError::Io { action: "write static pod manifest", path, source })
    }

    async fn remove_static_pod_manifest(&self, file_name: &str) -> TargetResult<()> {
        let path = self.static_manifest_path(file_name)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(TargetError::Io { action: "remove static pod manifest", path, source }),
        }
    }

    async fn kubelet_log(&self, _mentioning: &str) -> TargetResult<Vec<String>> {
        Ok(self.node.kubelet().log_lines())
    }
}

fn resource_version(pod: &Pod) -> u64 {
    pod.metadata.resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Deleted for good but for its finalizers: the kubelet's final delete was written.
fn held_by_finalizers(pod: &Pod) -> bool {
    pod.metadata.deletion_grace_period_seconds == Some(0) && pod.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::cri::ContainerId;
    use crate::runtime::fake::FakeRuntime;
    use crate::targets::TargetCapabilities as _;

    /// The machine side of a node whose runtime is in memory.
    struct FakeHost {
        dir: PathBuf,
        own_namespaces: bool,
    }

    #[async_trait]
    impl NodeHost for FakeHost {
        fn run_dir(&self) -> PathBuf {
            self.dir.clone()
        }
        fn node_ip(&self) -> std::net::Ipv4Addr {
            std::net::Ipv4Addr::new(192, 0, 2, 1)
        }
        fn check_image(&self, _reference: &str) -> Result<(), crate::node::ImageUnavailable> {
            Ok(())
        }
        async fn kill_main_process(&self, _id: &ContainerId) -> Result<(), RuntimeError> {
            Ok(())
        }
        fn namespaces_are_its_own(&self) -> bool {
            self.own_namespaces
        }
        async fn shutdown(&self) -> Result<(), RuntimeError> {
            Ok(())
        }
    }

    fn target_over(own_namespaces: bool) -> (ReferenceTarget, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let fake = FakeRuntime::new(dir.path().join("logs"));
        let host = Arc::new(FakeHost { dir: dir.path().to_path_buf(), own_namespaces });
        let runtime = NodeRuntime { runtime: Arc::new(fake.clone()), images: Arc::new(fake), host };
        (ReferenceTarget::on_runtime("reference", "test", runtime, ReferenceOptions::default()).unwrap(), dir)
    }

    /// The reference target hands out every interface; `host-access` follows whose namespaces
    /// the node's are (the cri target's node, over the machine's, has not got it).
    #[tokio::test]
    async fn the_reference_target_has_every_capability_and_host_access_where_its_namespaces_are_its_own() {
        let (own, _dir) = target_over(true);
        assert_eq!(own.capabilities(), Capability::ALL.iter().copied().collect());
        let (machines, _dir2) = target_over(false);
        let mut expected: BTreeSet<Capability> = Capability::ALL.iter().copied().collect();
        expected.remove(&Capability::HostAccess);
        assert_eq!(machines.capabilities(), expected);
        // What `podspec list` says of the reference and cri kinds before they start.
        assert_eq!(own.capabilities(), ReferenceTarget::declared_capabilities());
        assert_eq!(machines.capabilities(), crate::targets::cri::declared_capabilities());
        own.shutdown().await.unwrap();
        machines.shutdown().await.unwrap();
    }

    /// A delete of a pod that its finalizers alone hold (stopped, deleted with grace 0, the
    /// kubelet done with it) returns: no change of the pod is coming to wait for.
    #[tokio::test]
    async fn deleting_a_pod_its_finalizers_hold_returns() {
        let (target, _dir) = target_over(true);
        target.open_namespace("t").await.unwrap();
        let pod: Pod = serde_yaml::from_str(
            "metadata: {name: held, namespace: t, finalizers: [example.com/hold]}\nspec:\n  containers:\n  - {name: a, image: busybox:1.36}\n",
        )
        .unwrap();
        target.create_pod(&pod).await.unwrap();
        let p = PodRef { namespace: "t".into(), name: "held".into() };
        target.require_api_server().unwrap().begin_delete_pod(&p, 0).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let held = loop {
            let pod = target.get_pod(&p).await.unwrap();
            if held_by_finalizers(&pod) {
                break pod;
            }
            assert!(std::time::Instant::now() < deadline, "never held: {:?}", pod.metadata);
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let uid = held.metadata.uid.clone().unwrap();
        target.node.kubelet().wait_torn_down(&uid, resource_version(&held)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        tokio::time::timeout(Duration::from_secs(10), target.delete_pod(&p)).await.expect("the delete returns").unwrap();
        target.shutdown().await.unwrap();
    }

    /// The API's refusal reaches the steps as its Status whole: the message they compare, and
    /// one cause per field error among its details.
    #[tokio::test]
    async fn a_refused_update_keeps_the_api_status_whole() {
        let (target, _dir) = target_over(true);
        target.open_namespace("t").await.unwrap();
        let pod: Pod =
            serde_yaml::from_str("metadata: {name: p, namespace: t}\nspec:\n  containers:\n  - {name: a, image: busybox:1.36}\n").unwrap();
        target.create_pod(&pod).await.unwrap();
        let p = PodRef { namespace: "t".into(), name: "p".into() };
        let patch = serde_json::json!({"metadata": {"labels": {"app": "not a valid value!"}}});
        let refused = target.require_api_server().unwrap().patch_pod(&p, &patch).await.unwrap_err();
        let TargetError::Api(status) = &refused else { panic!("not the API's Status: {refused:?}") };
        assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
        assert_eq!(refused.to_string(), status.message);
        assert!(status.message.starts_with("Pod \"p\" is invalid: metadata.labels: Invalid value"), "{}", status.message);
        let causes = &status.details.as_ref().expect("the Status has its details").causes;
        assert_eq!(causes.iter().map(|c| (c.reason.as_str(), c.field.as_str())).collect::<Vec<_>>(), [("FieldValueInvalid", "metadata.labels")]);
        target.delete_pod(&p).await.unwrap();
        target.shutdown().await.unwrap();
    }
}
