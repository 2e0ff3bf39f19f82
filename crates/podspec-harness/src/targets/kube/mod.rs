//! The kube target: any Kubernetes cluster, reached through its API with kube-rs.
//!
//! - `connect`: the kubeconfig (`--kubeconfig`, `KUBECONFIG`, `--context`) or the in-cluster
//!   config; the server's version and nodes, read before anything runs.
//! - `access`: the rights the run needs, checked with SelfSubjectAccessReview.
//! - `namespaces`: a namespace per scenario, labelled with the run and its owner, deleted after
//!   the scenario (and at the run's end, whatever ended it); `podspec clean --target kube`.
//! - `images`: the one change made to a manifest besides its namespace, `--image-map` or
//!   `--image-registry`; every change is recorded for the report.
//! - `exec`: exec over WebSocket; `error`: the API's Status kept whole.
//! - `node`: the kubelet's `staticPodPath` from configz through the node proxy.
//!
//! Pods are sent as written otherwise. Updates are the calls kubectl makes: a PUT of the whole
//! object, a JSON merge patch, a JSON patch. Waits are watches with a timeout. A crash is the
//! same on every target (`podspec-agent crash`, see the trait), so the restart that follows is
//! the cluster's own restart policy at work.

pub mod access;
pub mod connect;
pub mod error;
pub mod exec;
pub mod images;
pub mod namespaces;
pub mod node;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::Client;

use crate::targets::{
    ApiServerTarget, Capability, ConfigObjectsTarget, EphemeralContainersTarget, ExecOutput, PodRef, StaticPodsTarget, Target,
    TargetCapabilities as _, TargetError, TargetResult,
};

use self::connect::{ConnectError, ConnectOptions, ServerInfo};
use self::error::{api_error, pod_error};
pub use self::error::KubeError;
use self::images::ImageMapping;
use self::namespaces::Owner;

/// How long a namespace may take to go after its deletion before it is reported as held.
pub const NAMESPACE_DELETE_BOUND: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    pub connect: ConnectOptions,
    pub images: ImageMapping,
    /// What the run's scenarios need beyond every run's rights (`@api-server`,
    /// `@config-objects`, `@runtime-class`): those rights are checked too.
    pub needs: access::Needs,
}

#[derive(Debug, thiserror::Error)]
pub enum KubeStartError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("the identity lacks rights this run needs: {}", .0.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "))]
    MissingRights(Vec<access::Right>),
    #[error("cannot check the identity's rights (SelfSubjectAccessReview) at {url}: {}", connect::cause_chain(.source))]
    Review {
        url: String,
        #[source]
        source: kube::Error,
    },
    #[error(transparent)]
    Target(#[from] TargetError),
}

pub struct KubeTarget {
    client: Client,
    info: ServerInfo,
    images: ImageMapping,
    run_id: String,
    owner: Owner,
    node: Option<String>,
    /// Namespaces this run made and has not deleted yet.
    namespaces: Mutex<BTreeSet<String>>,
    /// Every change the target made to what the scenarios wrote, once each.
    changes: Mutex<BTreeSet<String>>,
    /// The resourceVersion of each pod as last read, from which `pod_changed` watches.
    seen: Mutex<std::collections::HashMap<PodRef, String>>,
    /// What node access the target found, for the record (printed at the start).
    node_access_note: String,
    /// The node's static pod directory through privileged pods, when the cluster allows them.
    writer: Option<node::ManifestWriter>,
    /// What the rights check found (printed at the start).
    rights_note: String,
    /// The run was interrupted: its pods are deleted with grace period 0 before its namespaces.
    at_once: std::sync::atomic::AtomicBool,
}

impl KubeTarget {
    /// What the kube target can do, known without connecting (for `podspec list`).
    pub fn declared_capabilities() -> BTreeSet<Capability> {
        [Capability::ApiServer, Capability::HostAccess, Capability::EphemeralContainers, Capability::ConfigObjects].into_iter().collect()
    }

    /// Connects, reads the server's version and nodes, and checks the identity's rights.
    pub async fn start(options: KubeOptions) -> Result<Self, KubeStartError> {
        let (client, info) = connect::connect(&options.connect).await?;
        let needed = access::pre_check(options.needs);
        let rights_note = match access::missing(&client, &needed).await {
            Ok(missing) if !missing.is_empty() => return Err(KubeStartError::MissingRights(missing)),
            Ok(_) => format!("the identity may do all {} things this run needs (asked with SelfSubjectAccessReview)", needed.len()),
            // A server without the authorization API cannot be asked; say so.
            Err(kube::Error::Api(s)) if s.code == 404 => {
                eprintln!(
                    "podspec: warning: {} offers no SelfSubjectAccessReview (authorization.k8s.io/v1); the identity's rights were not checked",
                    info.url
                );
                "not checked (the server offers no SelfSubjectAccessReview)".to_string()
            }
            Err(source) => return Err(KubeStartError::Review { url: info.url.clone(), source }),
        };
        let mut target = Self::with_client(client, info, options.images, String::new())?;
        target.rights_note = rights_note;
        target.open_static_pods().await;
        Ok(target)
    }

    /// Whether the node's static pod directory can be reached: its kubelet names one in
    /// configz, and the cluster admits a privileged pod on that node that mounts it (asked
    /// with a server-side dry run; where the server cannot dry-run, a writer pod is run once).
    /// Otherwise the `@static-pods` scenarios are skipped with the reason found here.
    async fn open_static_pods(&mut self) {
        let not_reached = "volume directories are not reached (the kube target reads no node's filesystem)";
        let Some(n) = self.node.clone() else {
            self.node_access_note = format!("the cluster has no nodes; {not_reached}");
            return;
        };
        // A denied node proxy is said as such; a server that cannot be asked (serve) is tried.
        if let Ok(false) = access::allowed(&self.client, &access::NODE_PROXY, None).await {
            self.node_access_note =
                format!("the identity may not `{}` (the kubelet's configz of node {n}); {not_reached}", access::NODE_PROXY);
            return;
        }
        if let Ok(false) = access::allowed(&self.client, &access::EVENTS, None).await {
            self.node_access_note =
                format!("the identity may not `{}` (what the kubelet of node {n} reports); {not_reached}", access::EVENTS);
            return;
        }
        let path = match node::static_pod_path(&self.client, &n).await {
            Ok(Some(path)) => path,
            Ok(None) => {
                self.node_access_note = format!("the kubelet of node {n} has no staticPodPath (its configz names none); {not_reached}");
                return;
            }
            Err(e) => {
                self.node_access_note =
                    format!("the kubelet configz of node {n} cannot be read through the node proxy: {}; {not_reached}", connect::cause_chain(&e));
                return;
            }
        };
        let namespace = format!("podspec-{}-node", self.owner.process.pid);
        if let Err(e) = self.open_namespace(&namespace).await {
            self.node_access_note =
                format!("node {n} has staticPodPath {path}, but the namespace for its writer pods cannot be made: {e}; {not_reached}");
            return;
        }
        let image = self.images.map(node::WRITER_IMAGE).unwrap_or_else(|| node::WRITER_IMAGE.to_string());
        let writer = node::ManifestWriter {
            client: self.client.clone(),
            node: n.clone(),
            static_pod_path: path.clone(),
            namespace: namespace.clone(),
            image,
        };
        let refusal = match writer.dry_run().await {
            Ok(()) => None,
            // A server that cannot dry-run: the real writer is tried once.
            Err(kube::Error::Api(s)) if s.code == 400 && s.message.contains("dryRun") => {
                writer.probe().await.err().map(|e| format!("a privileged pod there that mounts it did not get through: {e}"))
            }
            Err(e) => Some(format!(
                "the identity may not run a privileged pod there that mounts it: {}",
                match api_error(e) {
                    TargetError::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
                    other => other.to_string(),
                }
            )),
        };
        match refusal {
            None => {
                self.node_access_note = format!(
                    "static pods through privileged pods on node {n} that mount its staticPodPath {path} (namespace {namespace}); {not_reached}"
                );
                self.writer = Some(writer);
            }
            Some(why) => {
                self.node_access_note = format!("node {n} has staticPodPath {path}, but {why}; {not_reached}");
                let _ = self.close_namespace(&namespace).await;
            }
        }
    }

    /// A target over a connected client (the start's checks done).
    pub fn with_client(client: Client, info: ServerInfo, images: ImageMapping, node_access_note: String) -> Result<Self, KubeStartError> {
        let owner = Owner::current()?;
        let run_id = format!("{}-{}", owner.process.pid, jiff::Timestamp::now().as_millisecond());
        let node = info.nodes.iter().find(|n| n.ready).or(info.nodes.first()).map(|n| n.name.clone());
        Ok(Self {
            client,
            info,
            images,
            run_id,
            owner,
            node,
            namespaces: Mutex::default(),
            changes: Mutex::default(),
            seen: Mutex::default(),
            node_access_note,
            writer: None,
            rights_note: "not checked".into(),
            at_once: Default::default(),
        })
    }

    /// The cluster as found at start (printed before the run, written to environment.json).
    pub fn server_info(&self) -> &ServerInfo {
        &self.info
    }

    pub fn node_access_note(&self) -> &str {
        &self.node_access_note
    }

    /// Deletes every pod of namespace `ns` with grace period 0.
    async fn delete_pods_at_once(&self, ns: &str) -> TargetResult<()> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let pods = api.list(&ListParams::default()).await.map_err(api_error)?;
        let now = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() };
        let deletions = pods.items.iter().filter_map(|p| p.metadata.name.clone()).map(|name| {
            let (api, now) = (api.clone(), now.clone());
            async move {
                match api.delete(&name, &now).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                    Err(e) => Err(api_error(e)),
                }
            }
        });
        futures::future::join_all(deletions).await.into_iter().collect::<TargetResult<Vec<()>>>().map(|_| ())
    }

    pub fn rights_note(&self) -> &str {
        &self.rights_note
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    fn pods(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// A create, replace or delete of a namespaced object of kind `K` through the API server.
    async fn write_object<K>(
        &self,
        write: crate::targets::ConfigWrite,
        object: &serde_json::Value,
    ) -> TargetResult<Option<serde_json::Value>>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let typed: K = serde_json::from_value(object.clone()).map_err(|source| TargetError::NotAnObjectOfKind { kind: K::kind(&()).to_string(), source })?;
        let namespace = typed.meta().namespace.clone().unwrap_or_default();
        let name = typed.meta().name.clone().unwrap_or_default();
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let stored = match write {
            crate::targets::ConfigWrite::Create => Some(api.create(&PostParams::default(), &typed).await.map_err(api_error)?),
            crate::targets::ConfigWrite::Replace => Some(api.replace(&name, &PostParams::default(), &typed).await.map_err(api_error)?),
            crate::targets::ConfigWrite::Delete => api.delete(&name, &DeleteParams::default()).await.map_err(api_error)?.left(),
crate::targets::ConfigWrite::Get => api.get_opt(&name).await.map_err(api_error)?,
        };
        Ok(stored.map(|o| serde_json::to_value(o).unwrap_or_default()))
    }

    /// The manifest as sent: its images mapped (each change recorded), nothing else touched.
    fn as_sent(&self, pod: &Pod) -> Pod {
        let (sent, changes) = self.mapped(pod);
        self.changes.lock().unwrap().extend(changes);
        sent
    }

    /// The manifest with its images mapped, and each mapping made (`image A sent as B`).
    fn mapped(&self, pod: &Pod) -> (Pod, Vec<String>) {
        let mut pod = pod.clone();
        let mut changes = Vec::new();
        if self.images.is_empty() {
            return (pod, changes);
        }
        if let Some(spec) = pod.spec.as_mut() {
            let containers = spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten());
            for c in containers {
                let Some(image) = c.image.as_mut() else { continue };
                if let Some(to) = self.images.map(image) {
                    let change = format!("image {image} sent as {to}");
                    if !changes.contains(&change) {
                        changes.push(change);
                    }
                    *image = to;
                }
            }
        }
        (pod, changes)
    }

    /// Waits until the pod is gone, or, while finalizers hold its object, until the node has
    /// stopped every container (what remains is the API object, as the finalizers ask).
    async fn wait_deleted(&self, pod: &PodRef, uid: &str, bound: Duration) -> TargetResult<()> {
        let uid = uid.to_string();
        let gone_or_held = move |obj: Option<&Pod>| match obj {
            None => true,
            Some(p) if p.metadata.uid.as_deref() != Some(uid.as_str()) => true,
            Some(p) => held_and_stopped(p),
        };
        let wait = await_condition(self.pods(&pod.namespace), &pod.name, gone_or_held);
        match tokio::time::timeout(bound, wait).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(source)) => Err(KubeError::Watch { what: format!("watching pod {pod} until it is gone"), source }.into()),
            Err(_) => Err(TargetError::Timeout { operation: format!("deleting pod {pod}"), after: bound }),
        }
    }

    /// The static pod writer (handed out as `static_pods()` only when there is one).
    fn writer(&self) -> TargetResult<&node::ManifestWriter> {
        self.writer.as_ref().ok_or_else(|| self.lacks(Capability::StaticPods))
    }

    /// A JSON patch (RFC 6902), as `kubectl patch --type json` sends it.
    pub async fn json_patch_pod(&self, pod: &PodRef, patch: json_patch::Patch) -> TargetResult<Pod> {
        self.pods(&pod.namespace).patch(&pod.name, &PatchParams::default(), &Patch::<()>::Json(patch)).await.map_err(|e| pod_error(pod, e))
    }
}

/// A pod being deleted that finalizers hold, all of whose containers have stopped.
fn held_and_stopped(pod: &Pod) -> bool {
    let held = pod.metadata.deletion_timestamp.is_some() && pod.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty());
    let status = pod.status.clone().unwrap_or_default();
    let running = status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten())
        .any(|c| c.state.as_ref().is_none_or(|s| s.terminated.is_none()));
    held && !running
}

#[async_trait]
impl Target for KubeTarget {
    fn name(&self) -> &str {
        "kube"
    }

    fn api_server(&self) -> Option<&dyn ApiServerTarget> {
        Some(self)
    }

    fn config_objects(&self) -> Option<&dyn ConfigObjectsTarget> {
        Some(self)
    }

    /// Where the start found the node's static pod directory and may write to it.
    fn static_pods(&self) -> Option<&dyn StaticPodsTarget> {
        self.writer.as_ref().map(|_| self as &dyn StaticPodsTarget)
    }

    fn ephemeral_containers(&self) -> Option<&dyn EphemeralContainersTarget> {
        Some(self)
    }

    /// A cluster's node namespaces are its nodes', never this machine's.
    fn host_access(&self) -> bool {
        true
    }

    fn node_name(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// A watch of the pod (no reads in a loop against the API server).
    async fn wait_pod(&self, pod: &PodRef, what: &str, bound: Duration, done: for<'p> fn(&'p Pod) -> bool) -> TargetResult<()> {
        let wait = await_condition(self.pods(&pod.namespace), &pod.name, move |p: Option<&Pod>| p.is_some_and(done));
        match tokio::time::timeout(bound, wait).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(source)) => Err(KubeError::Watch { what: format!("{what}: watching pod {pod}"), source }.into()),
            Err(_) => Err(TargetError::Timeout { operation: format!("{what} (pod {pod})"), after: bound }),
        }
    }

    fn capability_note(&self, capability: Capability) -> Option<String> {
        (capability == Capability::StaticPods && self.writer.is_none()).then(|| self.node_access_note.clone())
    }

    /// A cluster pulls what it has not got: no image can be checked up front.
    fn check_image(&self, _reference: &str) -> TargetResult<()> {
        Ok(())
    }

    async fn open_namespace(&self, namespace: &str) -> TargetResult<()> {
        if self.namespaces.lock().unwrap().contains(namespace) {
            return Ok(());
        }
        namespaces::create(&self.client, namespace, self.owner.labels(&self.run_id)).await?;
        self.namespaces.lock().unwrap().insert(namespace.to_string());
        Ok(())
    }

    async fn close_namespace(&self, namespace: &str) -> TargetResult<()> {
        if !self.namespaces.lock().unwrap().contains(namespace) {
            return Ok(());
        }
        let r = namespaces::delete(&self.client, namespace, NAMESPACE_DELETE_BOUND).await;
        self.namespaces.lock().unwrap().remove(namespace);
        self.seen.lock().unwrap().retain(|p, _| p.namespace != namespace);
        r
    }

    fn changes(&self) -> Vec<String> {
        self.changes.lock().unwrap().iter().cloned().collect()
    }

    fn manifest_changes(&self, pod: &Pod) -> Vec<String> {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        self.mapped(pod).1.into_iter().map(|c| format!("pod {name}: {c}")).collect()
    }

    async fn create_pod(&self, pod: &Pod) -> TargetResult<Pod> {
        let key = PodRef {
            namespace: pod.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
            name: pod.metadata.name.clone().unwrap_or_default(),
        };
        self.open_namespace(&key.namespace).await?;
        let sent = self.as_sent(pod);
        self.pods(&key.namespace).create(&PostParams::default(), &sent).await.map_err(|e| match e {
            kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists" => TargetError::AlreadyExists(key.clone()),
            other => api_error(other),
        })
    }

    async fn get_pod(&self, pod: &PodRef) -> TargetResult<Pod> {
        let got = self.pods(&pod.namespace).get(&pod.name).await.map_err(|e| pod_error(pod, e))?;
        if let Some(rv) = &got.metadata.resource_version {
            self.seen.lock().unwrap().insert(pod.clone(), rv.clone());
        }
        Ok(got)
    }

    /// A watch of the pod from the resourceVersion last read, ended by its first event or by
    /// `max`. A pod never read returns at once (nothing to watch from: the wait polls); a watch the server
    /// refuses (an expired resourceVersion, say) returns at once, and the wait polls.
    async fn pod_changed(&self, pod: &PodRef, max: Duration) {
        use futures::TryStreamExt as _;
        let from = self.seen.lock().unwrap().get(pod).cloned();
        let Some(from) = from else { return };
        let params = kube::api::WatchParams::default()
            .fields(&format!("metadata.name={}", pod.name))
            .timeout(max.as_secs().max(1) as u32)
            .disable_bookmarks();
        let api = self.pods(&pod.namespace);
        let first_event = async {
            let stream = api.watch(&params, &from).await?;
            let mut stream = Box::pin(stream);
            stream.try_next().await
        };
        let _ = tokio::time::timeout(max, first_event).await;
    }

    async fn delete_pod(&self, pod: &PodRef) -> TargetResult<()> {
        let api = self.pods(&pod.namespace);
        let stored = api.get(&pod.name).await.map_err(|e| pod_error(pod, e))?;
        let uid = stored.metadata.uid.clone().unwrap_or_default();
        let grace = stored.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
        match api.delete(&pod.name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(api_error(e)),
        }
        self.wait_deleted(pod, &uid, Duration::from_secs(grace.max(0) as u64 + 60)).await
    }

    async fn exec(&self, pod: &PodRef, container: &str, command: &[String], timeout: Duration) -> TargetResult<ExecOutput> {
        exec::exec(&self.pods(&pod.namespace), pod, container, command, None, timeout).await
    }

    async fn exec_with_stdin(
        &self,
        pod: &PodRef,
        container: &str,
        command: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> TargetResult<ExecOutput> {
        exec::exec(&self.pods(&pod.namespace), pod, container, command, Some(stdin), timeout).await
    }

    async fn logs(&self, pod: &PodRef, container: &str, previous: bool) -> TargetResult<String> {
        let params = LogParams { container: Some(container.into()), previous, ..Default::default() };
        self.pods(&pod.namespace).logs(&pod.name, &params).await.map_err(|e| pod_error(pod, e))
    }

    fn stop_at_once(&self) -> bool {
        self.at_once.store(true, std::sync::atomic::Ordering::SeqCst);
        true
    }

    async fn shutdown(&self) -> TargetResult<()> {
        let left: Vec<String> = self.namespaces.lock().unwrap().iter().cloned().collect();
        if self.at_once.load(std::sync::atomic::Ordering::SeqCst) {
            // As `kubectl delete --grace-period=0`: each pod goes at once, so the namespace's
            // deletion does not wait out their grace periods. A pod already gone is no error;
            // whatever else fails here, the namespace's deletion below still removes the pods.
            let stops = left.iter().map(|ns| self.delete_pods_at_once(ns));
            for e in futures::future::join_all(stops).await.into_iter().filter_map(Result::err) {
                tracing::warn!("stopping the run's pods at once: {e}");
            }
        }
        let deletions = left.iter().map(|ns| namespaces::delete(&self.client, ns, NAMESPACE_DELETE_BOUND));
        let errors: Vec<TargetError> = futures::future::join_all(deletions).await.into_iter().filter_map(|r| r.err()).collect();
        self.namespaces.lock().unwrap().clear();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(KubeError::NamespacesLeft(errors).into())
        }
    }
}

#[async_trait]
impl ApiServerTarget for KubeTarget {
    async fn list_pods(&self, namespace: &str) -> TargetResult<Vec<Pod>> {
        Ok(self.pods(namespace).list(&ListParams::default()).await.map_err(api_error)?.items)
    }

    async fn create_runtime_class(
        &self,
        class: &k8s_openapi::api::node::v1::RuntimeClass,
    ) -> TargetResult<k8s_openapi::api::node::v1::RuntimeClass> {
        Api::all(self.client.clone()).create(&PostParams::default(), class).await.map_err(api_error)
    }

    async fn get_runtime_class(&self, name: &str) -> TargetResult<Option<k8s_openapi::api::node::v1::RuntimeClass>> {
        Api::all(self.client.clone()).get_opt(name).await.map_err(api_error)
    }

    async fn delete_runtime_class(&self, name: &str) -> TargetResult<()> {
        let api: Api<k8s_openapi::api::node::v1::RuntimeClass> = Api::all(self.client.clone());
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_error(e)),
        }
    }

    async fn update_pod(&self, key: &PodRef, pod: &Pod) -> TargetResult<Pod> {
        self.pods(&key.namespace).replace(&key.name, &PostParams::default(), pod).await.map_err(|e| pod_error(key, e))
    }

    async fn patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        self.pods(&pod.namespace).patch(&pod.name, &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| pod_error(pod, e))
    }

    async fn strategic_patch_pod(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        let api = self.pods(&pod.namespace);
        api.patch(&pod.name, &PatchParams::default(), &Patch::Strategic(patch)).await.map_err(|e| pod_error(pod, e))
    }

    async fn get_pod_status(&self, pod: &PodRef) -> TargetResult<Pod> {
        self.pods(&pod.namespace).get_status(&pod.name).await.map_err(|e| pod_error(pod, e))
    }

    async fn update_pod_status(&self, pod: &PodRef, object: &Pod) -> TargetResult<Pod> {
        self.pods(&pod.namespace).replace_status(&pod.name, &PostParams::default(), object).await.map_err(|e| pod_error(pod, e))
    }

    async fn watch_pods_labelled(&self, namespace: &str, labels: &str) -> TargetResult<crate::targets::PodEvents> {
        use futures::StreamExt as _;
        let api = self.pods(namespace);
        let list = api.list(&ListParams::default().labels(labels)).await.map_err(api_error)?;
        let from = list.metadata.resource_version.clone().unwrap_or_default();
        let changes = api.watch(&kube::api::WatchParams::default().labels(labels), &from).await.map_err(api_error)?;
        let changes = changes.filter_map(|event| async move {
            match event {
                Ok(kube::api::WatchEvent::Added(p)) => Some(Ok(("ADDED".to_string(), p))),
                Ok(kube::api::WatchEvent::Modified(p)) => Some(Ok(("MODIFIED".to_string(), p))),
                Ok(kube::api::WatchEvent::Deleted(p)) => Some(Ok(("DELETED".to_string(), p))),
                Ok(kube::api::WatchEvent::Bookmark(_)) => None,
                Ok(kube::api::WatchEvent::Error(status)) => Some(Err(TargetError::WatchEnded { what: "the watch ended".into(), status })),
                Err(e) => Some(Err(api_error(e))),
            }
        });
        let present = futures::stream::iter(list.items.into_iter().map(|p| Ok(("ADDED".to_string(), p))));
        Ok(Box::pin(present.chain(changes)))
    }

    async fn patch_pod_status(&self, pod: &PodRef, patch: &serde_json::Value) -> TargetResult<Pod> {
        let api = self.pods(&pod.namespace);
        api.patch_status(&pod.name, &PatchParams::default(), &Patch::Merge(patch)).await.map_err(|e| pod_error(pod, e))
    }

    async fn delete_pod_collection(&self, namespace: &str, labels: &str, grace_seconds: i64) -> TargetResult<Vec<String>> {
        let params = DeleteParams { grace_period_seconds: Some(grace_seconds.max(0) as u32), ..DeleteParams::default() };
        let list = ListParams::default().labels(labels);
        let deleted = self.pods(namespace).delete_collection(&params, &list).await.map_err(api_error)?;
        // The list of the pods deleted or marked, or (nothing left to answer with) a Status.
        Ok(deleted.left().map(|l| l.items.into_iter().filter_map(|p| p.metadata.name).collect()).unwrap_or_default())
    }

    async fn list_pods_labelled(&self, namespace: &str, labels: &str) -> TargetResult<Vec<Pod>> {
        Ok(self.pods(namespace).list(&ListParams::default().labels(labels)).await.map_err(api_error)?.items)
    }

    async fn begin_delete_pod(&self, pod: &PodRef, grace_seconds: i64) -> TargetResult<Option<Pod>> {
        if grace_seconds < 0 {
            // DeleteParams holds no negative grace period: the DeleteOptions go as they are.
            let body = serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": grace_seconds});
            let request = http::Request::delete(format!("/api/v1/namespaces/{}/pods/{}", pod.namespace, pod.name))
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string().into_bytes())
                .map_err(KubeError::from)?;
            let text = self.client.request_text(request).await.map_err(|e| pod_error(pod, e))?;
            let answer: serde_json::Value =
                serde_json::from_str(&text).map_err(|source| TargetError::Json { what: "the delete's answer".into(), source })?;
            if answer["kind"] == "Pod" {
                return serde_json::from_value(answer).map(Some).map_err(|source| TargetError::Json { what: "the delete's answer".into(), source });
            }
            return Ok(None);
        }
        let params = DeleteParams { grace_period_seconds: Some(grace_seconds as u32), ..DeleteParams::default() };
        // The pod marked for deletion, or (removed at once) a Status.
        Ok(self.pods(&pod.namespace).delete(&pod.name, &params).await.map_err(|e| pod_error(pod, e))?.left())
    }

    async fn set_pod_condition(&self, pod: &PodRef, type_: &str, status: &str) -> TargetResult<Pod> {
        let patch = serde_json::json!({"status": {"conditions": [{"type": type_, "status": status}]}});
        self.pods(&pod.namespace)
            .patch_status(&pod.name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .map_err(|e| pod_error(pod, e))
    }
}

#[async_trait]
impl EphemeralContainersTarget for KubeTarget {
    async fn update_ephemeral_containers(&self, key: &PodRef, pod: &Pod) -> TargetResult<Pod> {
        self.pods(&key.namespace).replace_ephemeral_containers(&key.name, &PostParams::default(), pod).await.map_err(|e| pod_error(key, e))
    }
}

#[async_trait]
impl ConfigObjectsTarget for KubeTarget {
    async fn write_config_object(
        &self,
        write: crate::targets::ConfigWrite,
        object: &serde_json::Value,
    ) -> TargetResult<Option<serde_json::Value>> {
        match object["kind"].as_str() {
            Some("ConfigMap") => self.write_object::<k8s_openapi::api::core::v1::ConfigMap>(write, object).await,
            Some("Secret") => self.write_object::<k8s_openapi::api::core::v1::Secret>(write, object).await,
            Some("ServiceAccount") => self.write_object::<k8s_openapi::api::core::v1::ServiceAccount>(write, object).await,
            other => Err(TargetError::NotAConfigObject(other.map(str::to_string))),
        }
    }
}

#[async_trait]
impl StaticPodsTarget for KubeTarget {
    async fn write_static_pod_manifest(&self, file_name: &str, contents: &str) -> TargetResult<()> {
        self.writer()?.write(file_name, contents).await
    }

    async fn remove_static_pod_manifest(&self, file_name: &str) -> TargetResult<()> {
        self.writer()?.remove(file_name).await
    }

    async fn kubelet_log(&self, mentioning: &str) -> TargetResult<Vec<String>> {
        let node = self.writer()?.node.clone();
        let namespaces: Vec<String> = self.namespaces.lock().unwrap().iter().cloned().collect();
        node::kubelet_log(&self.client, &node, &namespaces, mentioning).await
    }
}

/// Why `podspec clean --target kube` did not delete every namespace it chose.
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The namespaces could not be listed.
    #[error(transparent)]
    List(#[from] TargetError),
    /// Namespaces that would not go (each deletion's error, in the order they were chosen).
    #[error("cleaning {url}: {}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Delete { url: String, errors: Vec<TargetError> },
}

/// `podspec clean --target kube`: the podspec namespaces `select` chooses, deleted; returns
/// their names. Each deletion is waited for (a namespace that will not go says what holds it).
pub async fn clean(
    options: &ConnectOptions,
    select: namespaces::Select,
    confirm: impl FnOnce(&[String]) -> bool,
) -> Result<Vec<String>, CleanError> {
    let (client, info) = connect::connect(options).await?;
    let chosen = namespaces::list(&client, select).await?;
    if chosen.is_empty() || !confirm(&chosen) {
        return Ok(Vec::new());
    }
    let deletions = chosen.iter().map(|ns| namespaces::delete(&client, ns, NAMESPACE_DELETE_BOUND));
    let results = futures::future::join_all(deletions).await;
    let errors: Vec<TargetError> = results.into_iter().filter_map(Result::err).collect();
    if !errors.is_empty() {
        return Err(CleanError::Delete { url: info.url, errors });
    }
    Ok(chosen)
}
