//! The pod-level part of the reference runtime: a small kubelet between the API and the
//! runtime interface. It lists and watches the pods bound to its node in the API (`sync`), as a
//! real kubelet watches its API server, and acts on what it sees: it admits new pods, turns each into CRI calls (one sandbox, its init, sidecar
//! and app containers) through a pod worker, restarts containers according to `restartPolicy`
//! with the kubelet's back-off, applies spec updates, enforces `activeDeadlineSeconds`, makes
//! the pod's volumes and /etc/hosts, carries out graceful deletes (the pod is stopped with its grace period, then deleted
//! with grace 0) and writes `PodStatus` back through the API. It also runs
//! static pods from a manifest directory and keeps their mirror pods in the API. It sees the
//! runtime only through the CRI traits.

mod api_data;
pub use api_data::ApiObjects;
mod atomic_writer;
mod backoff;
pub mod downward;
mod config;
pub use config::{KubeletConfig, PodCgroupRoot};
mod container_events;
mod expansion;
pub mod hosts;
#[cfg(test)]
mod lifecycle_tests;
pub mod logs;
pub mod node_status;
pub mod security;
pub mod static_pods;
mod subpath;
mod sync;
mod teardowns;
mod volumes;
mod worker;
pub use worker::event_routes::event_lags;
pub use worker::services::NodeServices;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodStatus};

use podspec_api::events::{self, EventStore, Reporter};
use podspec_api::PodStore;

pub use self::backoff::BackoffPolicy;
use self::worker::PodWorker;
use podspec_cri::cri::{ContainerId, ExecOptions, ExecResult, ExecSession, ImageService, LogEntry, RuntimeError, RuntimeService};

/// The kubelet's errors: the node's error type, by the name the kubelet's callers know.
pub use crate::Error as KubeletError;

/// The kubelet: the pods it runs (one worker each) and the tasks that feed them (the API's
/// watch, the static pod directory, the API's objects, the runtime's events). What its pod
/// workers share with it (configuration, runtime, API, event recorder...) is `NodeServices`,
/// which it derefs to.
pub struct Kubelet {
    services: Arc<NodeServices>,
    pods: Mutex<HashMap<String, Arc<PodWorker>>>,
    /// Pods (by uid) being stopped for a deletion, until their final delete is written.
    terminating: Mutex<HashSet<String>>,
    /// Pods (by uid) the node refused; they get no worker.
    rejected: Mutex<HashSet<String>>,
    /// Who waits for a pod's teardown: woken when the kubelet has acted on the API's changes
    /// up to a resourceVersion, and when that pod's teardown ends.
    teardowns: teardowns::TeardownWaiters,
    static_pods: Mutex<Option<tokio::task::JoinHandle<()>>>,
    api_watch: Mutex<Option<tokio::task::JoinHandle<()>>>,
    objects_watch: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The task that hands each runtime event to its worker.
    events_routed: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::ops::Deref for Kubelet {
    type Target = NodeServices;
    fn deref(&self) -> &NodeServices {
        &self.services
    }
}

impl Kubelet {
    /// Starts the kubelet: it watches the API for the pods bound to its node, and its static
    /// pod directory if it has one.
    pub fn new(
        config: KubeletConfig,
        runtime: Arc<dyn RuntimeService>,
        images: Arc<dyn ImageService>,
        api: Arc<PodStore>,
        events: Arc<EventStore>,
        objects: ApiObjects,
    ) -> Arc<Self> {
        let allocatable = downward::Allocatable::of_node(&config.root_dir);
        let reporter = Reporter::kubelet(&config.node_name);
        let services = Arc::new(NodeServices {
            config,
            runtime,
            images,
            api,
            events,
            reporter,
            log: Mutex::default(),
            objects,
            event_routes: Default::default(),
            allocatable,
            at_once: Default::default(),
            runtime_classes: Default::default(),
        });
        let kubelet = Arc::new(Self {
            services,
            pods: Mutex::default(),
            terminating: Mutex::default(),
            rejected: Mutex::default(),
            teardowns: Default::default(),
            static_pods: Mutex::default(),
            api_watch: Mutex::default(),
            objects_watch: Mutex::default(),
            events_routed: Mutex::default(),
        });
        // Subscribed before any pod starts, so that none of their events goes unseen.
        let events = kubelet.runtime.container_events();
        *kubelet.events_routed.lock().unwrap() = Some(tokio::spawn(container_events::run(Arc::downgrade(&kubelet), events)));
        *kubelet.api_watch.lock().unwrap() = Some(tokio::spawn(sync::run(kubelet.clone())));
        *kubelet.objects_watch.lock().unwrap() = Some(tokio::spawn(Self::watch_objects(Arc::downgrade(&kubelet))));
        if let Some(dir) = kubelet.config.static_pod_dir.clone() {
            let handle = tokio::spawn(static_pods::watch(kubelet.clone(), dir));
            *kubelet.static_pods.lock().unwrap() = Some(handle);
        }
        kubelet
    }

    /// Resolves pods' RuntimeClasses in `classes` (the node's API), as the kubelet's
    /// runtimeclass manager watches them.
    pub fn resolve_runtime_classes_in(&self, classes: Arc<podspec_api::runtime_classes::RuntimeClassStore>) {
        let _ = self.runtime_classes.set(classes);
    }







    /// Whether this node can run the pod at all: what it cannot is refused up front, naming
    /// the field, rather than half-done.
    pub fn check_supported(&self, pod: &Pod) -> Result<(), KubeletError> {
        unsupported(pod, &self.config.host_dirs())
    }

    /// Admits a pod and starts its worker; the pod then goes from Pending to Running on its
    /// own. A pod the node's admission rejects gets a Failed status saying why.
    fn start_worker(self: &Arc<Self>, pod: impl Into<Arc<Pod>>, is_static: bool) -> Result<(), KubeletError> {
        let pod: Arc<Pod> = pod.into();
        let uid = pod.metadata.uid.clone().ok_or(KubeletError::NoUid)?;
        unsupported(&pod, &self.config.host_dirs())?;
        if let Some((reason, message)) = reject(&pod) {
            self.rejected.lock().unwrap().insert(uid);
            self.reject(&pod, reason, &message);
            return Ok(());
        }
        let mut pods = self.pods.lock().unwrap();
        if pods.contains_key(&uid) {
            return Err(KubeletError::AlreadyRunning(worker::pod_key(&pod)));
        }
        let w = PodWorker::start(self.services.clone(), pod, is_static);
        pods.insert(uid, w);
        Ok(())
    }

    /// pkg/kubelet/kubelet.go rejectPod: a Warning event and a Failed status.
    fn reject(&self, pod: &Pod, reason: &str, message: &str) {
        self.event(pod, None, events::WARNING, reason, message);
        let status = PodStatus {
            phase: Some("Failed".into()),
            reason: Some(reason.into()),
            message: Some(format!("Pod was rejected: {message}")),
            qos_class: Some(podspec_api::qos::qos_class(pod).into()),
            ..Default::default()
        };
        let m = &pod.metadata;
        let (ns, name, uid) =
            (m.namespace.as_deref().unwrap_or("default"), m.name.as_deref().unwrap_or(""), m.uid.as_deref().unwrap_or(""));
        let _ = self.api.set_status(ns, name, uid, status);
    }

    /// The pod's status is to be written again, though nothing of the pod changed (a static
    /// pod's mirror pod was made anew).
    fn republish(&self, uid: &str) {
        if let Ok(w) = self.worker(uid) {
            w.status_wanted();
        }
    }

    /// Stops the pod's containers (with its grace period), removes its sandbox, volumes and
    /// directories, and forgets it.
    async fn stop_pod(&self, uid: &str) -> Result<(), KubeletError> {
        let w = self.worker(uid)?;
        w.stop().await;
        self.pods.lock().unwrap().remove(uid);
        self.teardowns.torn_down(uid);
        Ok(())
    }

    /// Waits until the kubelet has acted on the API's changes up to `rv` and nothing of the
    /// pod with this uid is left on the node.
    /// Woken once when the kubelet reaches `rv`, then only by this pod's teardown, not by
    /// other pods' changes.
    pub async fn wait_torn_down(&self, uid: &str, rv: u64) {
        self.teardowns.caught_up(rv).await;
        loop {
            let next = self.teardowns.next_teardown(uid);
            let gone = !self.pods.lock().unwrap().contains_key(uid) && !self.terminating.lock().unwrap().contains(uid);
            if gone {
                return;
            }
            next.wait().await;
        }
    }

    pub async fn exec(&self, uid: &str, container: &str, cmd: &[String], timeout: Duration) -> Result<ExecResult, KubeletError> {
        let id = self.container_id(uid, container)?;
        Ok(self.runtime.exec_sync(&id, cmd, timeout).await?)
    }

    /// A command with `stdin` as its input, which is then closed where the runtime's protocol
    /// can (over the streaming exec); its output collected whole.
    pub async fn exec_with_input(
        &self,
        uid: &str,
        container: &str,
        cmd: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<ExecResult, KubeletError> {
        let id = self.container_id(uid, container)?;
        Ok(podspec_cri::cri::exec_with_input(&*self.runtime, &id, cmd, stdin, timeout).await?)
    }

    /// A streaming exec (stdin, a tty) in a running container, as the kubelet serves exec.
    pub async fn exec_stream(&self, uid: &str, container: &str, cmd: &[String], options: ExecOptions) -> Result<ExecSession, KubeletError> {
        let id = self.container_id(uid, container)?;
        Ok(self.runtime.exec(&id, cmd, options).await?)
    }

    /// An attach to the current instance of a running container (the kubelet's `GetAttach`,
    /// then the runtime's `Attach`): its output from now on, its stdin with `stdin`.
    pub async fn attach_stream(&self, uid: &str, container: &str, stdin: bool) -> Result<ExecSession, KubeletError> {
        let id = self.container_id(uid, container)?;
        Ok(self.runtime.attach(&id, stdin).await?)
    }

    /// The log of a container's current instance (the kubelet's `GetContainerLogs`): the
    /// runtime's status names the file, which the runtime writes in the CRI log format.
    pub async fn container_log(&self, uid: &str, container: &str) -> Result<Vec<LogEntry>, KubeletError> {
        let id = self.container_id(uid, container)?;
        let status = self.runtime.container_status(&id).await?;
        tokio::task::spawn_blocking(move || podspec_cri::cri_log::read_file(&status.log_path, None))
            .await
            .map_err(|e| RuntimeError::failed(format!("read the log of container {container:?}"), e))?
            .map_err(KubeletError::from)
    }

    /// The runtime's id of the current instance of a container.
    pub fn container_id(&self, uid: &str, container: &str) -> Result<ContainerId, KubeletError> {
        let w = self.worker(uid)?;
        w.current_container(container).ok_or_else(|| KubeletError::NoSuchContainer { pod: w.key.clone(), container: container.to_string() })
    }

    /// The node directory behind a pod's emptyDir volume.
    pub fn volume_dir(&self, uid: &str, volume: &str) -> PathBuf {
        worker::volume_dir(&self.config.root_dir, uid, volume)
    }

    /// From now on every pod stops at once, as with a delete with grace period 0: its
    /// containers are killed, not asked to stop and then waited for.
    pub fn stop_at_once(&self) {
        self.at_once.store(true, std::sync::atomic::Ordering::SeqCst);
    }


    /// Brings each change of a ConfigMap or a Secret to the volumes of the pods that name
    /// such objects (as the kubelet's watch-based object managers do): each volume whose
    /// payload changed gets a new version, swapped in atomically. A pod still waiting for an
    /// object to mount is woken too.
    async fn watch_objects(kubelet: std::sync::Weak<Self>) {
        let (mut config_maps, mut secrets) = match kubelet.upgrade() {
            Some(k) => k.objects.subscribe(),
            None => return,
        };
        loop {
            tokio::select! {
                r = config_maps.changed() => if r.is_err() { return },
                r = secrets.changed() => if r.is_err() { return },
            }
            let Some(k) = kubelet.upgrade() else { return };
            let workers: Vec<Arc<PodWorker>> = k.pods.lock().unwrap().values().cloned().collect();
            drop(k);
            for w in workers {
                w.objects_changed();
            }
        }
    }

    /// Stops every pod (and stops watching the API and the static pod directory).
    pub async fn shutdown(&self) {
        let watchers =
            [self.api_watch.lock().unwrap().take(), self.static_pods.lock().unwrap().take(), self.objects_watch.lock().unwrap().take()];
        for h in watchers.into_iter().flatten() {
            h.abort();
            let _ = h.await;
        }
        let all: Vec<String> = self.pods.lock().unwrap().keys().cloned().collect();
        futures::future::join_all(all.iter().map(|uid| self.stop_pod(uid))).await;
        if let Some(h) = self.events_routed.lock().unwrap().take() {
            h.abort();
        }
    }

    fn worker(&self, uid: &str) -> Result<Arc<PodWorker>, KubeletError> {
        self.pods.lock().unwrap().get(uid).cloned().ok_or_else(|| KubeletError::NotRunning(uid.to_string()))
    }
}

/// The node's own admission (pkg/kubelet/lifecycle/predicate.go): the reason and message of a
/// rejection.
fn reject(pod: &Pod) -> Option<(&'static str, String)> {
    let os = pod.spec.as_ref().and_then(|s| s.os.as_ref()).map(|o| o.name.as_str());
    if let Some(name) = os.filter(|name| *name != std::env::consts::OS) {
        let _ = name;
        return Some(("PodOSNotSupported", "Failed to admit pod as the OS field doesn't match node OS".into()));
    }
    // The sysctl allow-list (pkg/kubelet/sysctl/allowlist.go).
    if let Err(message) = pod.spec.as_ref().map_or(Ok(Vec::new()), security::sysctls) {
        return Some((security::SYSCTL_FORBIDDEN, message.to_string()));
    }
    None
}

/// What the reference node refuses to run, said plainly rather than half-done.
fn unsupported(pod: &Pod, host_dirs: &[PathBuf]) -> Result<(), KubeletError> {
    let key = worker::pod_key(pod);
    let unsupported = |what: String| Err(KubeletError::Unsupported { pod: key.clone(), what });
    let Some(spec) = &pod.spec else { return unsupported("a pod without spec".into()) };
    let ephemeral: Vec<k8s_openapi::api::core::v1::Container> =
        spec.ephemeral_containers.iter().flatten().map(podspec_api::ephemeral::as_container).collect();
    let containers = spec.init_containers.iter().flatten().chain(spec.containers.iter()).chain(ephemeral.iter());
    let pod_seccomp = spec.security_context.as_ref().and_then(|sc| sc.seccomp_profile.as_ref()).map(|p| ("spec.securityContext", p));
    let seccomp = containers.clone().filter_map(|c| {
        c.security_context.as_ref().and_then(|sc| sc.seccomp_profile.as_ref()).map(|p| (format!("container {:?}", c.name), p))
    });
    for (owner, profile) in pod_seccomp.map(|(o, p)| (o.to_string(), p)).into_iter().chain(seccomp) {
        if let Err(why) = podspec_api::manifest::fields::seccomp_supported(&profile.type_) {
            return unsupported(format!("{why} ({owner})"));
        }
    }
    for c in containers {
        let proc_mount = c.security_context.as_ref().and_then(|sc| sc.proc_mount.as_deref());
        if proc_mount.is_some_and(|m| m != "Default") {
            return unsupported(format!("procMount {} (container {:?}): only Default is supported", proc_mount.unwrap_or(""), c.name));
        }
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        if let Some(source) = &v.host_path {
            if let Err(why) = podspec_api::manifest::host_path::resolve(source, host_dirs) {
                return unsupported(format!("spec.volumes[{i}].hostPath (volume {:?}): {why}", v.name));
            }
        } else if let Some(why) = api_data::refusal(v, i) {
            return unsupported(why);
        } else if v.empty_dir.is_none() && !api_data::is_api_data(v) {
            return unsupported(format!(
                "volume {:?}: only emptyDir, downwardAPI and projected volumes, and hostPath inside the node's own directories, are supported",
                v.name
            ));
        }
    }
    Ok(())
}
