//! One pod worker per pod, as the kubelet's pod workers do: it starts the sandbox, runs the
//! init containers one at a time (sidecars stay running), then the app containers; it watches
//! the runtime's container events, restarts containers according to `restartPolicy` with
//! back-off, applies spec updates (a changed image restarts that container), enforces
//! `activeDeadlineSeconds`, writes the pod's status through the API after every change, and on
//! stop tears the pod down.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod};
use tokio::sync::{broadcast, watch, Notify};
use tokio::time::Instant;

use podspec_api::events::{NORMAL, WARNING};
use podspec_cri::cri::{ContainerEvent, ContainerId};

mod api_volumes;
mod container;
mod errors;
pub(super) mod event_routes;
mod hooks;
mod image;
mod prober;
mod restart;
mod sandbox;
pub(super) mod services;
mod state;
mod status;
mod termination;
use services::NodeServices;
use state::ephemeral_record;
pub(super) use state::{ContainerRecord, Kind, Terminal, Termination, WorkerState};

/// `namespace/name` of a pod, for messages.
pub fn pod_key(pod: &Pod) -> String {
    format!("{}/{}", pod.metadata.namespace.as_deref().unwrap_or("default"), pod.metadata.name.as_deref().unwrap_or(""))
}

/// The kubelet's `format.Pod`: `<name>_<namespace>(<uid>)`.
pub(super) fn format_pod(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or(""),
        pod.metadata.namespace.as_deref().unwrap_or("default"),
        pod.metadata.uid.as_deref().unwrap_or("")
    )
}

/// A duration as Go prints it: `10s`, `1m20s`, `5m0s`.
pub(super) fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{}h{}m{}s", s / 3600, (s % 3600) / 60, s % 60)
    }
}

/// A duration as Go prints one truncated to milliseconds (`1.234s`, `512ms`).
fn go_duration_ms(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let text = format!("{}.{:03}", ms / 1000, ms % 1000);
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    } else {
        go_duration(d)
    }
}

pub fn volume_dir(root: &Path, uid: &str, volume: &str) -> PathBuf {
    root.join("pods").join(uid).join("volumes/kubernetes.io~empty-dir").join(volume)
}

pub struct PodWorker {
    pub(super) key: String,
    pub(super) uid: String,
    /// What it shares with the kubelet (never the kubelet itself).
    pub(super) node: Arc<NodeServices>,
    /// The pod as last given to the kubelet (its spec may change by updates): the version the
    /// API's store holds, shared, not copied.
    pub(super) pod: Mutex<Arc<Pod>>,
    pub(super) state: Mutex<WorkerState>,
    /// A static pod: its status goes to its mirror pod.
    pub(super) is_static: bool,
    updated: Notify,
    /// The status the worker last wrote: the same status coming back from the API is its own.
    published: Mutex<Option<k8s_openapi::api::core::v1::PodStatus>>,
    stop_tx: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Set once the pod is torn down.
    finished: watch::Sender<bool>,
    /// The worker itself, for the tasks it starts (probes).
    me: Weak<PodWorker>,
    /// The probes of its running containers.
    pub(super) probes: prober::ProbeTasks,
    /// A probe's result changed, or the status is wanted again: the status is written again.
    probed: Notify,
    /// The pod is being stopped for good: its containers' readiness probes run on while they
    /// stop (their liveness and startup probes do not).
    pub(super) tearing_down: std::sync::atomic::AtomicBool,
    /// A ConfigMap or a Secret of the API changed.
    objects: Notify,
    /// The runtime's events of this pod's sandbox and containers, as the kubelet routes them.
    pub(super) events: broadcast::Sender<ContainerEvent>,
}

impl PodWorker {
    pub(super) fn start(node: Arc<NodeServices>, pod: Arc<Pod>, is_static: bool) -> Arc<Self> {
        let spec = pod.spec.clone().unwrap_or_default();
        let initial_wait =
            if spec.init_containers.as_ref().is_some_and(|c| !c.is_empty()) { "PodInitializing" } else { "ContainerCreating" };
        let record = |c: &Container, kind: Kind| ContainerRecord {
            name: c.name.clone(),
            kind,
            image: c.image.clone().unwrap_or_default(),
            waiting: Some((initial_wait.into(), None)),
            ..Default::default()
        };
        let containers = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| record(c, if c.restart_policy.as_deref() == Some("Always") { Kind::Sidecar } else { Kind::Init }))
            .chain(spec.containers.iter().map(|c| record(c, Kind::App)))
            .chain(spec.ephemeral_containers.iter().flatten().map(ephemeral_record))
            .collect();
        let (stop_tx, stop_rx) = watch::channel(false);
        let w = Arc::new_cyclic(|me| Self {
            key: pod_key(&pod),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            pod: Mutex::new(pod),
            node,
            state: Mutex::new(WorkerState { containers, ..Default::default() }),
            is_static,
            updated: Notify::new(),
            published: Mutex::new(None),
            stop_tx,
            task: Mutex::new(None),
            finished: watch::Sender::new(false),
            me: me.clone(),
            probes: Default::default(),
            probed: Notify::new(),
            tearing_down: Default::default(),
            objects: Notify::new(),
            events: broadcast::Sender::new(event_routes::POD_EVENTS),
        });
        // Subscribe before anything starts, so no exit goes unseen.
        let events = w.events.subscribe();
        let handle = tokio::spawn(w.clone().run(events, stop_rx));
        *w.task.lock().unwrap() = Some(handle);
        w
    }

    /// The pod as last given, shared.
    pub(super) fn pod(&self) -> Arc<Pod> {
        self.pod.lock().unwrap().clone()
    }

    /// An event about the pod.
    fn pod_event(&self, type_: &str, reason: &str, message: &str) {
        self.node.event(&self.pod(), None, type_, reason, message);
    }

    /// An event about one of its containers (`fieldPath` `spec.containers{name}`, or
    /// `spec.initContainers{name}`, as the kubelet's container references have).
    pub(super) fn container_event(&self, name: &str, type_: &str, reason: &str, message: &str) {
        let pod = self.pod();
        let spec = pod.spec.as_ref();
        let is_init = spec.and_then(|s| s.init_containers.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.name == name));
        let is_ephemeral = spec.and_then(|s| s.ephemeral_containers.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.name == name));
        let list = if is_init {
            "spec.initContainers"
        } else if is_ephemeral {
            "spec.ephemeralContainers"
        } else {
            "spec.containers"
        };
        self.node.event(&pod, Some(format!("{list}{{{name}}}")), type_, reason, message);
    }

    /// A new version of the pod from the API: the worker applies what the kubelet applies. A
    /// version that differs only in what the kubelet does not act on (its own status write
    /// coming back, the resourceVersion) is kept without waking the worker, as the kubelet's
    /// pod config reconciles such a change without a sync (pkg/kubelet/config/config.go,
    /// podsDifferSemantically); a status someone else wrote wakes it, to be written again (the
    /// status manager's needsReconcile).
    pub(super) fn update(&self, pod: Arc<Pod>) {
        let someone_elses_status = !self.is_static && pod.status.is_some() && pod.status != *self.published.lock().unwrap();
        let wake = {
            let mut current = self.pod.lock().unwrap();
            let wake = someone_elses_status || differs_semantically(&current, &pod);
            *current = pod;
            wake
        };
        if wake {
            self.updated.notify_one();
        }
    }

    /// Wakes the worker to sync and write its status again, as a probe's result does.
    pub(super) fn status_wanted(&self) {
        self.probed.notify_one();
    }

    /// Stops the pod and waits until it is torn down (whoever else asked for it too).
    pub(super) async fn stop(&self) {
        let _ = self.stop_tx.send(true);
        let handle = self.task.lock().unwrap().take();
        match handle {
            Some(h) => {
                let _ = h.await;
                self.finished.send_replace(true);
            }
            None => {
                let _ = self.finished.subscribe().wait_for(|done| *done).await;
            }
        }
    }

    /// A deleted pod's grace period is the deletion's; otherwise the spec's; none once the
    /// kubelet stops every pod at once.
    pub(super) fn grace_period(&self) -> Duration {
        if self.node.stops_at_once() {
            return Duration::ZERO;
        }
        let pod = self.pod.lock().unwrap();
        let spec = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds);
        let secs = pod.metadata.deletion_grace_period_seconds.or(spec).unwrap_or(podspec_api::strategy::DEFAULT_GRACE_SECONDS);
        Duration::from_secs(secs.max(0) as u64)
    }

    /// When `activeDeadlineSeconds` runs out, counted from the pod's start.
    fn deadline(&self) -> Option<Instant> {
        let secs = self.pod.lock().unwrap().spec.as_ref().and_then(|s| s.active_deadline_seconds)?;
        let started = self.state.lock().unwrap().started_at?;
        Some(started + Duration::from_secs(secs.max(0) as u64))
    }

    async fn run(self: Arc<Self>, mut events: broadcast::Receiver<ContainerEvent>, mut stop: watch::Receiver<bool>) {
        if !self.wait_for_volume_objects(&mut stop).await {
            self.teardown().await;
            return;
        }
        if let Err(e) = self.start_sandbox().await {
            tracing::warn!(pod = %self.key, error = %e, "pod sandbox failed");
            self.pod_event(WARNING, "FailedCreatePodSandBox", &format!("Failed to create pod sandbox: {e}"));
            self.state.lock().unwrap().sandbox_error = Some(e.to_string());
        } else {
            self.sync().await;
        }
        self.publish_status().await;
        loop {
            let due = {
                let st = self.state.lock().unwrap();
                st.containers.iter().flat_map(|c| [c.restart_due, c.retry_due]).flatten().min()
            };
            let deadline = self.deadline().filter(|_| self.state.lock().unwrap().terminal.is_none());
            // A projected token due for a refresh is written again then (the volume manager's
            // remount of the pod's volumes).
            let tokens = self.token_refresh_due();
            let wake = [due, deadline, tokens].into_iter().flatten().min().unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep_until(wake) => {
                    if deadline.is_some_and(|d| d <= Instant::now()) {
                        self.deadline_exceeded().await;
                    }
                    if tokens.is_some_and(|t| t <= Instant::now()) {
                        self.refresh_api_volumes();
                    }
                    self.restart_due_containers().await;
                }
                _ = self.updated.notified() => self.apply_update().await,
                _ = self.probed.notified() => {}
                ev = events.recv() => match ev {
                    // Another pod's container: nothing of this pod changed.
                    Ok(ev) if !self.concerns(&ev) => continue,
                    Ok(ContainerEvent::Stopped { container, .. }) => self.on_container_exit(&container).await,
                    Ok(ContainerEvent::Started { .. }) => {}
                    Err(broadcast::error::RecvError::Lagged(lost)) => {
                        event_routes::lagged(lost);
                        self.resync().await
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
            self.sync().await;
            self.publish_status().await;
        }
        self.teardown().await;
    }

    /// Whether a runtime event is about this pod: of its sandbox or one of its containers (an
    /// event that names no sandbox is looked at).
    fn concerns(&self, event: &ContainerEvent) -> bool {
        let (ContainerEvent::Started { sandbox, container } | ContainerEvent::Stopped { sandbox, container }) = event;
        let st = self.state.lock().unwrap();
        sandbox.0.is_empty() || st.sandbox.as_ref() == Some(sandbox) || st.containers.iter().any(|c| c.current.as_ref() == Some(container))
    }

    /// A ConfigMap or a Secret changed: the pod's volumes that name one get its new data (once
    /// the pod is set up), and a pod waiting for one to mount looks again.
    pub(super) fn objects_changed(&self) {
        if !crate::kubelet::api_data::uses_objects(&self.pod()) {
            return;
        }
        self.objects.notify_one();
        if self.state.lock().unwrap().sandbox.is_some() {
            self.refresh_api_volumes();
        }
    }

    /// Before the sandbox: while a volume names a ConfigMap or a Secret that is not there (or
    /// a key it lacks), the pod waits, with a FailedMount event, as the kubelet's volume
    /// manager does, and tries again when the objects change (and every few seconds); the pod
    /// starts once they are there. A stop ends the wait (false: the pod is to stop).
    async fn wait_for_volume_objects(&self, stop: &mut watch::Receiver<bool>) -> bool {
        if !crate::kubelet::api_data::uses_objects(&self.pod()) {
            return true;
        }
        let mut said = None;
        loop {
            let Err(e) = self.mount_secret_volumes().and_then(|()| self.write_api_volumes()) else { return true };
            // The same failure is said once (compared by its text, what the event shows).
            let e = e.to_string();
            if said.as_ref() != Some(&e) {
                self.pod_event(WARNING, "FailedMount", &format!("MountVolume.SetUp failed for {e}"));
                said = Some(e);
            }
            tokio::select! {
                _ = stop.changed() => return false,
                _ = self.objects.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    }

    /// Writes the pod's status through the API (a static pod's goes to its mirror pod).
    async fn publish_status(&self) {
        let mut status = status::pod_status(self).await;
        let pod = self.pod();
        let (ns, name) = (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
        let gates: Vec<String> =
            pod.spec.iter().flat_map(|s| s.readiness_gates.iter().flatten()).map(|g| g.condition_type.clone()).collect();
        let api = &self.node.api;
        let stored = api.get(&ns, &name).ok();
        let uid = if self.is_static {
            match &stored {
                Some(m) if podspec_api::admission::mirror_hash(m) == Some(self.uid.as_str()) => m.metadata.uid.clone().unwrap_or_default(),
                _ => return,
            }
        } else {
            self.uid.clone()
        };
        // Worked out from the stored status in the write itself, as the status manager patches
        // the latest pod: others' conditions are kept (even one written a moment ago), and a
        // condition whose status stays keeps the time of its last transition (otherwise every
        // write would differ from the last, and each would wake the worker again).
        let written = api.set_status_with(&ns, &name, &uid, "kubelet", |stored| {
            status::keep_others_conditions(&mut status, stored);
            status::apply_readiness_gates(&mut status, &gates);
            status::keep_transition_times(stored, &mut status);
            // Recorded before the write: it comes back through the watch, maybe before
            // set_status_with returns.
            *self.published.lock().unwrap() = Some(status.clone());
            status
        });
        if let Err(e) = written {
            tracing::debug!(pod = %self.key, error = %e, "status not written");
        }
    }

    /// Starts what should run now, in the order the kubelet does: init containers one at a
    /// time (a sidecar only needs to have started), then every app container; once every app
    /// container has ended for good, the sidecars are stopped.
    async fn sync(&self) {
        enum Next {
            Start(String),
            Wait,
            Initialized,
        }
        // A pod whose status reached a terminal phase (the runtime reported the last app
        // container's exit before its event came) still gets its sidecars stopped.
        let terminal = self.state.lock().unwrap().terminal.is_some();
        if terminal {
            self.stop_sidecars_when_apps_ended().await;
            return;
        }
        self.start_ephemeral_containers().await;
        loop {
            let next = {
                let st = self.state.lock().unwrap();
                if st.terminal.is_some() || st.sandbox.is_none() {
                    return;
                }
                if st.initialized {
                    Next::Initialized
                } else {
                    let mut next = Next::Initialized;
                    for c in st.containers.iter().filter(|c| c.is_init()) {
                        if !c.attempted {
                            next = Next::Start(c.name.clone());
                            break;
                        }
                        match c.kind {
                            // A sidecar with a startup probe counts once that probe succeeded.
                            Kind::Sidecar if (c.current.is_some() && c.probe.started()) || c.restart_count > 0 => continue,
                            Kind::Init if c.done == Some(0) => continue,
                            _ => {
                                next = Next::Wait;
                                break;
                            }
                        }
                    }
                    next
                }
            };
            match next {
                Next::Start(name) => self.start_container(&name).await,
                Next::Wait => return,
                Next::Initialized => break,
            }
        }
        let app: Vec<String> = {
            let mut st = self.state.lock().unwrap();
            st.initialized = true;
            st.containers.iter().filter(|c| c.kind == Kind::App && !c.attempted).map(|c| c.name.clone()).collect()
        };
        for name in app {
            self.start_container(&name).await;
        }
        self.stop_sidecars_when_apps_ended().await;
    }

    /// Ephemeral containers added to the pod start as soon as the sandbox runs, before its
    /// initialization is complete too (computePodActions: "Ephemeral containers may be started
    /// even if initialization is not yet complete"), and only once: an attempt is never
    /// repeated.
    async fn start_ephemeral_containers(&self) {
        let new: Vec<String> = {
            let st = self.state.lock().unwrap();
            if st.terminal.is_some() || st.sandbox.is_none() {
                return;
            }
            st.containers.iter().filter(|c| c.kind == Kind::Ephemeral && !c.attempted).map(|c| c.name.clone()).collect()
        };
        for name in new {
            self.start_container(&name).await;
        }
    }

    /// Sidecars run as long as the app containers: once those have ended for good, the pod is
    /// done and the kubelet stops them as it stops a pod, the last started first.
    async fn stop_sidecars_when_apps_ended(&self) {
        let to_stop: Vec<ContainerId> = {
            let mut st = self.state.lock().unwrap();
            let apps_ended = st.containers.iter().filter(|c| c.kind == Kind::App).all(|c| c.done.is_some());
            if !apps_ended {
                return;
            }
            st.containers
                .iter_mut()
                // Running ephemeral containers end with the pod too, as the kubelet kills every
                // container of a pod that reached a terminal phase.
                .filter(|c| c.kind == Kind::Sidecar || (c.kind == Kind::Ephemeral && c.current.is_some()))
                .filter(|c| c.done.is_none() && !c.stopping)
                .filter_map(|c| {
                    c.stopping = true;
                    c.restart_due = None;
                    c.retry_due = None;
                    if c.current.is_none() {
                        c.done = Some(0);
                    }
                    c.current.clone()
                })
                .collect()
        };
        self.stop_pod(&to_stop).await;
    }

    /// `activeDeadlineSeconds` passed: the pod fails with DeadlineExceeded and its containers
    /// are stopped (pkg/kubelet/active_deadline.go).
    async fn deadline_exceeded(&self) {
        let running: Vec<ContainerId> = {
            let mut st = self.state.lock().unwrap();
            if st.terminal.is_some() {
                return;
            }
            st.terminal = Some(Terminal {
                phase: "Failed",
                reason: Some("DeadlineExceeded".into()),
                message: Some("Pod was active on the node longer than the specified deadline".into()),
            });
            for c in st.containers.iter_mut() {
                c.stopping = true;
                c.restart_due = None;
                c.retry_due = None;
            }
            st.containers.iter().filter_map(|c| c.current.clone()).collect()
        };
        let msg = "Pod was active on the node longer than the specified deadline";
        self.pod_event(NORMAL, "DeadlineExceeded", msg);
        self.stop_pod(&running).await;
    }

    /// The spec changed: a container whose image changed is restarted with the new image,
    /// whatever the restart policy ("the container spec changed"); a new deadline applies at
    /// the next wake-up.
    async fn apply_update(&self) {
        self.refresh_api_volumes();
        let pod = self.pod();
        let spec = pod.spec.clone().unwrap_or_default();
        // Ephemeral containers the API added since: recorded, to be started by the sync that
        // follows (a pod that ended runs none).
        {
            let mut st = self.state.lock().unwrap();
            for ec in spec.ephemeral_containers.iter().flatten() {
                if !st.containers.iter().any(|c| c.name == ec.name) {
                    st.containers.push(ephemeral_record(ec));
                }
            }
        }
        let images: Vec<(String, String)> = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
            .collect();
        let to_replace: Vec<(String, ContainerId)> = {
            let mut st = self.state.lock().unwrap();
            let mut ids = Vec::new();
            for (name, image) in images {
                let Some(rec) = st.containers.iter_mut().find(|c| c.name == name) else { continue };
                if rec.image == image {
                    continue;
                }
                rec.image = image;
                // Only a container that still runs is replaced; one that ended stays ended.
                if rec.done.is_none() && !rec.stopping {
                    if let Some(id) = &rec.current {
                        rec.spec_changed = true;
                        ids.push((name.clone(), id.clone()));
                    }
                }
            }
            ids
        };
        for (name, _) in &to_replace {
            self.container_event(name, NORMAL, "Killing", &format!("Container {name} definition changed, will be restarted"));
        }
        let ids: Vec<ContainerId> = to_replace.into_iter().map(|(_, id)| id).collect();
        self.stop_all(&ids).await;
    }

    /// After missed events: look at every current container.
    async fn resync(&self) {
        let current: Vec<ContainerId> = self.state.lock().unwrap().containers.iter().filter_map(|c| c.current.clone()).collect();
        for id in current {
            self.on_container_exit(&id).await;
        }
    }
}

/// Whether two versions of a pod differ in what the kubelet acts on: its spec, labels,
/// annotations, owners or deletion.
fn differs_semantically(a: &Pod, b: &Pod) -> bool {
    let (m, n) = (&a.metadata, &b.metadata);
    a.spec != b.spec
        || m.labels != n.labels
        || m.annotations != n.annotations
        || m.owner_references != n.owner_references
        || m.deletion_timestamp != n.deletion_timestamp
        || m.deletion_grace_period_seconds != n.deletion_grace_period_seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_change_the_kubelet_acts_on_wakes_the_worker() {
        let pod: Pod =
            serde_yaml::from_str("metadata: {name: p, resourceVersion: '1'}\nspec: {containers: [{name: a, image: busybox:1.36}]}\n")
                .unwrap();
        let mut status_only = pod.clone();
        status_only.metadata.resource_version = Some("2".into());
        status_only.status = Some(Default::default());
        assert!(!differs_semantically(&pod, &status_only));
        let mut new_image = pod.clone();
        new_image.spec.as_mut().unwrap().containers[0].image = Some("busybox:1.37".into());
        assert!(differs_semantically(&pod, &new_image));
        let mut deleted = pod.clone();
        deleted.metadata.deletion_grace_period_seconds = Some(0);
        assert!(differs_semantically(&pod, &deleted));
    }
}
