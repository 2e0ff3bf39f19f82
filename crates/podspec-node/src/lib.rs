//! The node: what `podspec serve` and the reference target both are clients of. It owns the
//! API (a generic store per kind, `api::registry`), the cluster's CA (`cluster_ca`), the
//! controllers (namespace deletion, each namespace's `default` ServiceAccount and its
//! `kube-root-ca.crt` ConfigMap), the
//! scheduler's bind, and the kubelet, which watches the API for its pods and writes its own
//! Node object (`kubelet::node_status`). The node also registers its admission with
//! the API (`Store::admit_on_node`): what it cannot run is refused when a pod is created with
//! the node's verdict asked for.
//!
//! The crate lies over the API (`podspec-api`), the runtime interface (`podspec-cri`), the
//! images and the files podspec reads; it sees none of podspec above it (the server, the
//! targets, the harness). The kubelet reaches a runtime only through the runtime interface;
//! the node itself starts podspec's own (`podspec-linux`) for `Node::start_linux`.

#![forbid(unsafe_code)]

pub mod cluster_ca;
pub mod error;
pub mod kubelet;
pub mod namespace_controller;
pub mod root_ca_publisher;
pub mod service_account_controller;

pub use error::{Error, ImageUnavailable};

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;

use podspec_api::events::{self, EventStore, Reporter};
use podspec_api::store::Refusal;
use podspec_api::{Api, ApiError, NamespaceStore, PodStore, Requester};
use podspec_cri::cri::{ContainerId, ImageService, RuntimeError, RuntimeService};
use podspec_fs::paths::Paths;
use podspec_linux::LinuxRuntime;

use crate::kubelet::{BackoffPolicy, Kubelet, KubeletConfig, KubeletError};

/// The node's name (the only node).
pub const NODE_NAME: &str = "podspec-node";

/// The reference kubelet's `podPidsLimit`: a pod's cgroup holds at most this many processes,
/// so that a scenario's runaway fork cannot exhaust the machine.
pub const POD_PIDS_LIMIT: i64 = 1024;

/// How the node is set up.
#[derive(Debug, Clone, Default)]
pub struct ReferenceOptions {
    /// The kubelet's static pod manifest directory; by default one in the run's state directory.
    pub static_pod_dir: Option<PathBuf>,
    /// The kubelet's crash back-off; Kubernetes' values (10 s doubling to 5 min) by default.
    pub backoff: BackoffPolicy,
}

/// The machine side of a node, beyond the CRI services the kubelet uses: where its state is,
/// its address, which images it can run, a container's crash, and its shutdown. The Linux
/// runtime has one; a node over another CRI runtime brings its own.
#[async_trait]
pub trait NodeHost: Send + Sync {
    /// The run's state directory on the node (the kubelet's directory and static pods go there).
    fn run_dir(&self) -> PathBuf;
    /// The node's IP (pods' `status.hostIP`).
    fn node_ip(&self) -> Ipv4Addr;
    /// Why an image cannot be run without a registry, if it cannot.
    fn check_image(&self, reference: &str) -> Result<(), ImageUnavailable>;
    /// Kills a container's main process, as a crash would.
    async fn kill_main_process(&self, id: &ContainerId) -> Result<(), RuntimeError>;
    /// What identifies the node's runtime in reports (a CRI runtime's name, version, endpoint).
    fn identity(&self) -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::new()
    }
    /// Whether the node's namespaces are podspec's own, not the machine's (see
    /// `Capability::HostAccess`).
    fn namespaces_are_its_own(&self) -> bool {
        false
    }
    /// Where the kubelet puts the pods' cgroups, when the runtime takes a cgroup parent.
    fn pod_cgroups(&self) -> Option<crate::kubelet::PodCgroupRoot> {
        None
    }
    /// Removes everything the runtime still holds for this run.
    async fn shutdown(&self) -> Result<(), RuntimeError>;
}

#[async_trait]
impl NodeHost for LinuxRuntime {
    fn run_dir(&self) -> PathBuf {
        LinuxRuntime::run_dir(self).to_path_buf()
    }
    fn node_ip(&self) -> Ipv4Addr {
        LinuxRuntime::node_ip(self)
    }
    fn namespaces_are_its_own(&self) -> bool {
        true
    }
    /// A reference a recipe builds, one pulled before, or one that names a registry host
    /// of its own (`127.0.0.1:5000/app:1`, `quay.io/x/y`), which the node pulls when the pod
    /// runs. A short name (`nginx:1.25`) is none of these: the run says so before anything
    /// starts rather than reach for Docker Hub.
    fn check_image(&self, reference: &str) -> Result<(), ImageUnavailable> {
        let unknown = match self.images().recipe_for(reference) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if self.images().pulled(reference).is_some() {
            return Ok(());
        }
        match podspec_images::pull::Reference::parse(reference) {
            Ok(r) if r.registry != "docker.io" && r.registry != "localhost" => Ok(()),
            _ => Err(unknown.into()),
        }
    }
    async fn kill_main_process(&self, id: &ContainerId) -> Result<(), RuntimeError> {
        LinuxRuntime::kill_main_process(self, id)
    }
    async fn shutdown(&self) -> Result<(), RuntimeError> {
        LinuxRuntime::shutdown(self).await
    }
}

/// A node built on some runtime: the CRI services and the machine side.
#[derive(Clone)]
pub struct NodeRuntime {
    pub runtime: Arc<dyn RuntimeService>,
    pub images: Arc<dyn ImageService>,
    pub host: Arc<dyn NodeHost>,
}

impl NodeRuntime {
    /// podspec's own Linux runtime.
    pub fn linux(runtime: Arc<LinuxRuntime>) -> Self {
        Self { runtime: runtime.clone(), images: runtime.clone(), host: runtime }
    }
}

/// The scheduler's bind: this node is the only one, so a pod that names no node is bound to it.
/// Returns the pod, and whether it was bound here.
fn bind(pod: &Pod) -> (Pod, bool) {
    let mut pod = pod.clone();
    let spec = pod.spec.get_or_insert_with(Default::default);
    let scheduled = spec.node_name.as_deref().unwrap_or("").is_empty();
    if scheduled {
        spec.node_name = Some(NODE_NAME.into());
    }
    (pod, scheduled)
}

/// The node: its API, its controllers, the scheduler's bind, and its kubelet over a runtime.
pub struct Node {
    runtime: NodeRuntime,
    api: Arc<Api>,
    kubelet: Arc<Kubelet>,
    controllers: Vec<tokio::task::JoinHandle<()>>,
    static_pod_dir: PathBuf,
    cluster_ca: cluster_ca::ClusterCa,
}

/// A name for one run of a node, unique on the machine: this process's ID, the time in
/// milliseconds and a count of the runs this process began (two nodes started by one process in
/// the same millisecond, as two tests may, would otherwise share a state directory and a cgroup).
pub fn new_run_id() -> String {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{}-{n}", std::process::id(), jiff::Timestamp::now().as_millisecond())
}

impl Node {
    /// A node on podspec's own Linux runtime, with a run of its own.
    pub async fn start_linux(paths: Paths, options: ReferenceOptions) -> Result<Self, Error> {
        let run_id = new_run_id();
        let runtime = Arc::new(LinuxRuntime::start(paths, &run_id).await.map_err(Error::StartRuntime)?);
        Self::start(&run_id, NodeRuntime::linux(runtime), options)
    }

    /// A node on any runtime: the API with its controllers, and a kubelet over the runtime's
    /// CRI services that registers its Node object and admission with the API.
    pub fn start(run_id: &str, runtime: NodeRuntime, options: ReferenceOptions) -> Result<Self, Error> {
        let run_dir = runtime.host.run_dir();
        let static_pod_dir = options.static_pod_dir.unwrap_or_else(|| run_dir.join("manifests"));
        std::fs::create_dir_all(&static_pod_dir).map_err(|source| Error::StaticPodDir { path: static_pod_dir.clone(), source })?;
        let api = Arc::new(Api::new(run_id, jiff::Timestamp::now()));
        let cluster_ca = cluster_ca::ClusterCa::new().map_err(Error::ClusterCa)?;
        let config = KubeletConfig {
            node_name: NODE_NAME.into(),
            root_dir: run_dir.join("kubelet"),
            backoff: options.backoff,
            node_ip: runtime.host.node_ip(),
            node_uid: podspec_api::store::uid(run_id, u64::MAX),
            static_pod_dir: Some(static_pod_dir.clone()),
            pod_cgroups: runtime.host.pod_cgroups(),
            pod_pids_limit: Some(POD_PIDS_LIMIT),
        };
        use podspec_api::rbac::{RoleBindingStrategy, RoleStrategy, ServiceAccountStrategy};
        // What a namespace holds besides its pods, deleted with it.
        let contents: Vec<Arc<dyn namespace_controller::Contents>> = vec![
            api.config_maps(),
            api.secrets(),
            api.store::<ServiceAccountStrategy>(),
            api.store::<RoleStrategy>(),
            api.store::<RoleBindingStrategy>(),
        ];
        let controllers = vec![
            tokio::spawn(namespace_controller::run(api.namespaces(), api.pods(), contents)),
            tokio::spawn(service_account_controller::run(api.clone())),
            tokio::spawn(root_ca_publisher::run(api.clone(), cluster_ca.pem())),
        ];
        let objects = crate::kubelet::ApiObjects::of(&api);
        let kubelet = Kubelet::new(config, runtime.runtime.clone(), runtime.images.clone(), api.pods(), api.events(), objects);
        kubelet.resolve_runtime_classes_in(api.runtime_classes());
        crate::kubelet::node_status::register(&kubelet, &api.nodes()).map_err(|e| Error::Register(Box::new(e)))?;
        // The node's admission: what this node cannot run (the kubelet's check).
        let admitting = Arc::downgrade(&kubelet);
        api.pods().admit_on_node(Box::new(move |pod: &Pod| {
            let Some(kubelet) = admitting.upgrade() else { return Ok(()) };
            kubelet.check_supported(pod).map_err(|e| match e {
                KubeletError::Unsupported { what, .. } => what,
                other => other.to_string(),
            })
        }));
        Ok(Self { runtime, api, kubelet, controllers, static_pod_dir, cluster_ca })
    }

    /// The node's API: every kind it keeps.
    pub fn api(&self) -> &Arc<Api> {
        &self.api
    }

    pub fn pods(&self) -> Arc<PodStore> {
        self.api.pods()
    }

    pub fn events(&self) -> Arc<EventStore> {
        self.api.events()
    }

    pub fn namespaces(&self) -> Arc<NamespaceStore> {
        self.api.namespaces()
    }

    /// The cluster's CA (what serve's serving certificate is signed with, and what each
    /// namespace's `kube-root-ca.crt` holds).
    pub fn cluster_ca(&self) -> &cluster_ca::ClusterCa {
        &self.cluster_ca
    }

    /// The node's kubelet (for what an API server proxies to a node: exec, logs, a crash).
    pub fn kubelet(&self) -> &Arc<Kubelet> {
        &self.kubelet
    }

    /// The node's runtime and machine side.
    pub fn runtime(&self) -> &NodeRuntime {
        &self.runtime
    }

    pub fn node_name(&self) -> &str {
        NODE_NAME
    }

    /// The run's state directory on the node.
    pub fn run_dir(&self) -> PathBuf {
        self.runtime.host.run_dir()
    }

    pub fn static_pod_dir(&self) -> &Path {
        &self.static_pod_dir
    }

    /// The kubelet's `podPidsLimit`; none: no limit.
    pub fn pod_pids_limit(&self) -> Option<i64> {
        self.kubelet.config().pod_pids_limit
    }

    /// What identifies the node's runtime in reports.
    pub fn identity(&self) -> std::collections::BTreeMap<String, String> {
        self.runtime.host.identity()
    }

    /// Creates a pod in the API, doing the scheduler's part first: a pod bound to no node is
    /// bound to this one (the only one), and a `Scheduled` event says so, as kube-scheduler's
    /// ("Successfully assigned <namespace>/<name> to <node>"). With `dry_run` (`dryRun=All`)
    /// the pod as the create would store it, bound, with nothing written and no event. An
    /// API server's create: what the node cannot run, the kubelet refuses in the pod's status.
    pub async fn create_pod(&self, pod: &Pod, requester: Requester<'_>, dry_run: bool) -> Result<Pod, ApiError> {
        self.await_default_account(pod).await;
        self.create_pod_now(pod, requester, dry_run)
    }

    /// `create_pod` without the wait for the namespace's `default` account: a pod that would run
    /// as it is refused at once when it is missing (for a caller that waited itself).
    pub fn create_pod_now(&self, pod: &Pod, requester: Requester<'_>, dry_run: bool) -> Result<Pod, ApiError> {
        let (mut pod, scheduled) = bind(pod);
        self.admit_runtime_class(&mut pod)?;
        let created = self.api.pods().create_as(&pod, requester, dry_run)?;
        if scheduled && !dry_run {
            self.scheduled(&created);
        }
        Ok(created)
    }

    /// `create_pod` with the node's admission asked first: what the node cannot run is refused,
    /// naming it, before anything is written (the reference target's create).
    pub async fn create_pod_admitted(&self, pod: &Pod, requester: Requester<'_>) -> Result<Pod, Refusal> {
        self.await_default_account(pod).await;
        let (mut pod, scheduled) = bind(pod);
        self.admit_runtime_class(&mut pod).map_err(Refusal::Api)?;
        let created = self.api.pods().create_admitted(&pod, requester)?;
        if scheduled {
            self.scheduled(&created);
        }
        Ok(created)
    }

    /// ServiceAccount admission's wait for the namespace's `default` account, which the
    /// ServiceAccounts controller makes just after the namespace (asynchronous: no thread waits).
    pub async fn await_default_account(&self, pod: &Pod) {
        let accounts = self.api.store::<podspec_api::rbac::ServiceAccountStrategy>();
        podspec_api::service_accounts::await_default_account(&accounts, pod).await;
    }

    /// kube-apiserver's RuntimeClass admission of a pod create (`api::runtime_classes`): its
    /// mutating part before the pod is validated, its validating part after (a pod the
    /// strategy refuses gets the strategy's 422 first). Refusals are 403 Forbidden.
    fn admit_runtime_class(&self, pod: &mut Pod) -> Result<(), ApiError> {
        let classes = self.api.runtime_classes();
        let name = pod.metadata.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "Unknown".into());
        let forbidden = |why: String| ApiError::forbidden_of("pods", &name, &why);
        // The ServiceAccount plugin comes first among the mutating ones (kube-apiserver's
        // plugin order).
        pod.metadata.namespace.get_or_insert_with(|| "default".into());
        let accounts = self.api.store::<podspec_api::rbac::ServiceAccountStrategy>();
        podspec_api::service_accounts::admit_create(pod, &accounts).map_err(|e| forbidden(e.to_string()))?;
        podspec_api::runtime_classes::admit(&classes, pod).map_err(forbidden)?;
        if self.api.pods().strategy().create_errors(pod).is_empty() {
            podspec_api::runtime_classes::validate(&classes, pod).map_err(forbidden)?;
        }
        Ok(())
    }

    /// The scheduler's event for a pod it bound.
    fn scheduled(&self, pod: &Pod) {
        let m = &pod.metadata;
        let message = format!(
            "Successfully assigned {}/{} to {NODE_NAME}",
            m.namespace.as_deref().unwrap_or("default"),
            m.name.as_deref().unwrap_or("")
        );
        self.api.events().record(events::pod_reference(pod, None), &Reporter::scheduler(), events::NORMAL, "Scheduled", &message);
    }

    /// Every pod is to stop at once, without its grace period (the run was interrupted).
    pub fn stop_at_once(&self) {
        self.kubelet.stop_at_once();
    }

    /// Stops the controllers and the kubelet, and removes what the runtime holds.
    pub async fn shutdown(&self) -> Result<(), Error> {
        for controller in &self.controllers {
            controller.abort();
        }
        self.kubelet.shutdown().await;
        self.runtime.host.shutdown().await.map_err(Error::Host)
    }
}

#[cfg(test)]
mod tests {
    /// Runs begun by one process in the same millisecond have names of their own.
    #[test]
    fn run_ids_begun_together_differ() {
        let ids: std::collections::BTreeSet<String> = (0..1000).map(|_| super::new_run_id()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
