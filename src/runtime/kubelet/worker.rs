//! One pod worker per pod, as the kubelet's pod workers do: it starts the sandbox, runs the
//! init containers one at a time (sidecars stay running), then the app containers; it watches
//! the runtime's container events, restarts containers according to `restartPolicy` with
//! back-off, applies spec updates (a changed image restarts that container), enforces
//! `activeDeadlineSeconds`, writes the pod's status through the API after every change, and on
//! stop tears the pod down.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod};
use tokio::sync::{broadcast, watch, Notify};
use tokio::time::Instant;

use super::hosts;
use super::Kubelet;
use crate::api::events::{NORMAL, WARNING};
use crate::runtime::cri::{ContainerConfig, ContainerEvent, ContainerId, ContainerState, Mount, PodSandboxConfig, SandboxId};
use crate::runtime::linux::cgroup::Limits;
use crate::runtime::linux::safe_path;

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

/// Which list of the spec a container comes from, and how it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Kind {
    /// An init container: runs to completion before the next one starts.
    Init,
    /// An init container with `restartPolicy: Always`: starts before the containers that
    /// follow it, keeps running, and is restarted whenever it exits.
    Sidecar,
    #[default]
    App,
    /// An ephemeral container, added to the running pod through the API: started once, never
    /// restarted, and no part of the pod's phase or readiness.
    Ephemeral,
}

/// What the worker knows of one container of the pod across its restarts.
#[derive(Debug, Clone, Default)]
pub(super) struct ContainerRecord {
    pub name: String,
    pub kind: Kind,
    pub image: String,
    /// An instance was created (or tried to be) at least once.
    pub attempted: bool,
    /// The runtime's current instance, if one was created.
    pub current: Option<ContainerId>,
    /// The instance before it, kept (ended) until the next one ends: its log is the
    /// `previous` log.
    pub previous: Option<ContainerId>,
    pub restart_count: u32,
    /// How the previous instance ended (status `lastState.terminated`).
    pub last_termination: Option<Termination>,
    /// Why it is not running, while it is waiting (`ContainerCreating`, `CrashLoopBackOff`, ...).
    pub waiting: Option<(String, Option<String>)>,
    /// It ended and nothing brings it back; its exit code.
    pub done: Option<i32>,
    /// When the pending restart is due.
    pub restart_due: Option<Instant>,
    /// When to try again to create a container that could not be created (image, config).
    pub retry_due: Option<Instant>,
    /// Failed pulls of its image in a row, and until when the next one waits (the kubelet's
    /// image back-off).
    pub pull_backoff: Option<(u32, Instant)>,
    /// Its spec changed (a new image): the current instance is being replaced.
    pub spec_changed: bool,
    /// The kubelet stopped it on purpose (deadline, sidecars after the app containers ended).
    pub stopping: bool,
    /// What the current instance's probes found.
    pub probe: super::prober::ProbeResults,
}

impl ContainerRecord {
    fn is_init(&self) -> bool {
        matches!(self.kind, Kind::Init | Kind::Sidecar)
    }
}

#[derive(Debug, Clone)]
pub(super) struct Termination {
    pub exit_code: i32,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub container_id: ContainerId,
}

/// The record of an ephemeral container the worker has not started yet.
fn ephemeral_record(c: &k8s_openapi::api::core::v1::EphemeralContainer) -> ContainerRecord {
    ContainerRecord {
        name: c.name.clone(),
        kind: Kind::Ephemeral,
        image: c.image.clone().unwrap_or_default(),
        waiting: Some(("ContainerCreating".into(), None)),
        ..Default::default()
    }
}

/// A phase the pod reached and keeps: pods do not leave a terminal phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Terminal {
    pub phase: &'static str,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct WorkerState {
    pub sandbox: Option<SandboxId>,
    pub pod_ip: Option<Ipv4Addr>,
    pub start_time: Option<DateTime<Utc>>,
    pub started_at: Option<Instant>,
    pub sandbox_error: Option<String>,
    /// Init containers (in order), then app containers.
    pub containers: Vec<ContainerRecord>,
    /// Every init container completed and every sidecar started.
    pub initialized: bool,
    pub terminal: Option<Terminal>,
    /// The memory-backed volumes' tmpfs mounts the kubelet made (not the runtime).
    pub tmpfs_mounts: Vec<PathBuf>,
}

pub struct PodWorker {
    pub(super) key: String,
    pub(super) uid: String,
    pub(super) kubelet: Arc<Kubelet>,
    /// The pod as last given to the kubelet (its spec may change by updates).
    pub(super) pod: Mutex<Pod>,
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
    pub(super) probes: super::prober::ProbeTasks,
    /// A probe's result changed: the status is written again.
    probed: Notify,
    /// The pod is being stopped for good: its containers' readiness probes run on while they
    /// stop (their liveness and startup probes do not).
    tearing_down: std::sync::atomic::AtomicBool,
    /// A ConfigMap or a Secret of the API changed.
    objects: Notify,
}

impl PodWorker {
    pub(super) fn start(kubelet: Arc<Kubelet>, pod: Pod, is_static: bool) -> Arc<Self> {
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
            kubelet,
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
        });
        // Subscribe before anything starts, so no exit goes unseen.
        let events = w.kubelet.runtime.container_events();
        let handle = tokio::spawn(w.clone().run(events, stop_rx));
        *w.task.lock().unwrap() = Some(handle);
        w
    }

    pub(super) fn pod(&self) -> Pod {
        self.pod.lock().unwrap().clone()
    }

    /// An event about the pod.
    fn pod_event(&self, type_: &str, reason: &str, message: &str) {
        self.kubelet.event(&self.pod(), None, type_, reason, message);
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
        self.kubelet.event(&pod, Some(format!("{list}{{{name}}}")), type_, reason, message);
    }

    pub(super) fn current_container(&self, name: &str) -> Option<ContainerId> {
        self.state.lock().unwrap().containers.iter().find(|c| c.name == name).and_then(|c| c.current.clone())
    }

    pub(super) fn previous_container(&self, name: &str) -> Option<ContainerId> {
        self.state.lock().unwrap().containers.iter().find(|c| c.name == name).and_then(|c| c.previous.clone())
    }

    /// A new version of the pod from the API: the worker applies what the kubelet applies. A
    /// version that differs only in what the kubelet does not act on (its own status write
    /// coming back, the resourceVersion) is kept without waking the worker, as the kubelet's
    /// pod config reconciles such a change without a sync (pkg/kubelet/config/config.go,
    /// podsDifferSemantically); a status someone else wrote wakes it, to be written again (the
    /// status manager's needsReconcile).
    pub(super) fn update(&self, pod: Pod) {
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

    fn pod_dir(&self) -> PathBuf {
        self.kubelet.config.root_dir.join("pods").join(&self.uid)
    }

    fn restart_policy(&self) -> String {
        self.pod.lock().unwrap().spec.as_ref().and_then(|s| s.restart_policy.clone()).unwrap_or_else(|| "Always".into())
    }

    /// A deleted pod's grace period is the deletion's; otherwise the spec's; none once the
    /// kubelet stops every pod at once.
    pub(super) fn grace_period(&self) -> Duration {
        if self.kubelet.stops_at_once() {
            return Duration::ZERO;
        }
        let pod = self.pod.lock().unwrap();
        let spec = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds);
        let secs = pod.metadata.deletion_grace_period_seconds.or(spec).unwrap_or(crate::api::strategy::DEFAULT_GRACE_SECONDS);
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
            self.state.lock().unwrap().sandbox_error = Some(e);
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
                    Ok(ContainerEvent::Stopped { container, .. }) => self.on_container_exit(&container).await,
                    Ok(ContainerEvent::Started { .. }) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => self.resync().await,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
            self.sync().await;
            self.publish_status().await;
        }
        self.teardown().await;
    }

    /// A ConfigMap or a Secret changed: the pod's volumes that name one get its new data (once
    /// the pod is set up), and a pod waiting for one to mount looks again.
    pub(super) fn objects_changed(&self) {
        if !super::api_data::uses_objects(&self.pod()) {
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
        if !super::api_data::uses_objects(&self.pod()) {
            return true;
        }
        let mut said = None;
        loop {
            let Err(e) = self.mount_secret_volumes().and_then(|()| self.write_api_volumes()) else { return true };
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
        let mut status = super::status::pod_status(self).await;
        let pod = self.pod();
        let (ns, name) = (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default());
        let gates: Vec<String> =
            pod.spec.iter().flat_map(|s| s.readiness_gates.iter().flatten()).map(|g| g.condition_type.clone()).collect();
        let api = &self.kubelet.api;
        let stored = api.get(&ns, &name).ok();
        let uid = if self.is_static {
            match &stored {
                Some(m) if super::static_pods::is_mirror_of(m, &self.uid) => m.metadata.uid.clone().unwrap_or_default(),
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
            super::status::keep_others_conditions(&mut status, stored);
            super::status::apply_readiness_gates(&mut status, &gates);
            super::status::keep_transition_times(stored, &mut status);
            // Recorded before the write: it comes back through the watch, maybe before
            // set_status_with returns.
            *self.published.lock().unwrap() = Some(status.clone());
            status
        });
        if let Err(e) = written {
            tracing::debug!(pod = %self.key, error = %e, "status not written");
        }
    }

    async fn start_sandbox(&self) -> Result<(), String> {
        let pod = self.pod();
        let meta = &pod.metadata;
        let spec = pod.spec.as_ref().ok_or("pod has no spec")?;
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
        let name = meta.name.clone().unwrap_or_default();
        let (hostname, domain) = hosts::hostname_and_domain(&name, &namespace, spec.hostname.as_deref(), spec.subdomain.as_deref());
        let uts_hostname =
            if spec.set_hostname_as_fqdn == Some(true) { hosts::fqdn_hostname(&hostname, domain.as_deref())? } else { hostname.clone() };
        // The pod's directory and its volumes' directories come first: memory-backed volumes
        // are mounted on theirs when the sandbox starts.
        let dir = self.pod_dir();
        let make_dirs = || -> std::io::Result<()> {
            fs::create_dir_all(&dir)?;
            let fs_group = spec.security_context.as_ref().and_then(|sc| sc.fs_group);
            for v in spec.volumes.iter().flatten() {
                if let Some(source) = &v.host_path {
                    // A node directory, checked at admission; DirectoryOrCreate makes it,
                    // beneath the node directory it is in, never through a link out of it
                    // (a pod given that node directory can plant one).
                    if source.type_.as_deref() == Some("DirectoryOrCreate") {
                        let path = Path::new(&source.path);
                        let node_dirs = self.kubelet.config.host_dirs();
                        if let Some(node_dir) = node_dirs.iter().find(|d| path.starts_with(d)) {
                            let base = safe_path::open_dir(node_dir)?;
                            let rel = path.strip_prefix(node_dir).unwrap_or(path);
                            safe_path::mkdir_all_in(&base, rel, safe_path::Scope::Beneath, 0o755)?;
                        }
                    }
                    continue;
                }
                if super::api_data::is_api_data(v) {
                    continue;
                }
                let dir = volume_dir(&self.kubelet.config.root_dir, &self.uid, &v.name);
                fs::create_dir_all(&dir)?;
                // emptyDir is world-writable (0777); with fsGroup it belongs to that group and
                // what is made in it inherits the group (the set-group-ID bit), as the kubelet
                // sets a volume's ownership.
                let mode = if let Some(gid) = fs_group {
                    std::os::unix::fs::chown(&dir, None, Some(gid as u32))?;
                    0o2777
                } else {
                    0o777
                };
                fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
            }
            Ok(())
        };
        make_dirs().map_err(|e| format!("prepare pod directory {}: {e}", dir.display()))?;
        self.write_api_volumes()?;
        let mut tmpfs = Vec::new();
        for v in spec.volumes.iter().flatten() {
            let Some(e) = v.empty_dir.as_ref().filter(|e| e.medium.as_deref() == Some("Memory")) else { continue };
            // At most sizeLimit, and never more than the node has for pods.
            let node = self.kubelet.allocatable.memory;
            let limit = match &e.size_limit {
                Some(q) => crate::api::quantity::parse(&q.0).map_err(|err| format!("volume {:?}: sizeLimit: {err}", v.name))?.min(node),
                None => node,
            };
            let size_bytes = crate::api::quantity::divide_ceil(limit, crate::api::quantity::Milli(1000)).max(1) as u64;
            tmpfs
                .push(crate::runtime::cri::TmpfsVolume { path: volume_dir(&self.kubelet.config.root_dir, &self.uid, &v.name), size_bytes });
        }
        let sysctls = super::security::sysctls(spec)?;
        let namespaces = super::security::namespaces(spec);
        // The kubelet's HasPrivilegedContainer.
        let privileged = spec
            .init_containers
            .iter()
            .flatten()
            .chain(spec.containers.iter())
            .any(|c| c.security_context.as_ref().and_then(|s| s.privileged) == Some(true));
        // A runtime that does not hold memory-backed volumes itself (a CRI runtime) gets their
        // directories with the kubelet's tmpfs on them.
        let tmpfs = if self.kubelet.runtime.holds_memory_volumes() {
            tmpfs
        } else {
            let mounted = super::volumes::mount_all(&tmpfs)?;
            self.state.lock().unwrap().tmpfs_mounts.extend(mounted);
            Vec::new()
        };
        // The kubelet's pod cgroup, `<cgroup root>/pod<uid>` (pkg/kubelet/cm: the cgroupfs
        // driver's name of a pod's cgroup), made with the node's podPidsLimit as its pids.max
        // (pod_container_manager_linux.go EnsureExists) before the runtime puts the pod in it.
        let cgroup_parent = match &self.kubelet.config.pod_cgroups {
            None => None,
            Some(root) => {
                let cgroup = root.cgroup.child(&format!("pod{}", self.uid));
                let pids_max = self.kubelet.config.pod_pids_limit.filter(|_| cgroup.has("pids"));
                let made = cgroup.create().and_then(|()| cgroup.set_limits(&Limits { pids_max, ..Default::default() }));
                made.map_err(|e| format!("make the pod's cgroup: {e}"))?;
                Some(format!("{}/pod{}", root.parent, self.uid))
            }
        };
        // The pod's RuntimeClass's handler, resolved now, as the kubelet's runtimeclass manager
        // does (a class deleted since the pod was admitted fails the sandbox).
        let runtime_handler = self.kubelet.runtime_handler(&pod)?;
        let config = PodSandboxConfig {
            runtime_handler,
            name,
            namespace,
            uid: self.uid.clone(),
            hostname: uts_hostname,
            tmpfs,
            namespaces,
            sysctls,
            privileged,
            cgroup_parent,
            pids_limit: self.kubelet.config.pod_pids_limit,
        };
        let runtime = &self.kubelet.runtime;
        let sandbox = runtime.run_pod_sandbox(&config).await.map_err(|e| e.to_string())?;
        let status = runtime.pod_sandbox_status(&sandbox).await.map_err(|e| e.to_string())?;
        {
            let mut st = self.state.lock().unwrap();
            st.sandbox = Some(sandbox);
            st.pod_ip = Some(status.ip);
            st.start_time = Some(Utc::now());
            st.started_at = Some(Instant::now());
        }
        // The kubelet's ensureHostsFile: on the host network the node's own hosts file, else one
        // made from the pod's IP and hostname; hostAliases appended to either.
        let mut hosts_file = if spec.host_network == Some(true) {
            hosts::node_hosts_file(self.kubelet.config.node_ip, &self.kubelet.config.node_name)
        } else {
            hosts::managed_hosts_file(&[status.ip], &hostname, domain.as_deref())
        };
        hosts_file.push_str(&hosts::host_aliases_entries(spec.host_aliases.as_deref().unwrap_or_default()));
        fs::write(dir.join("etc-hosts"), hosts_file).map_err(|e| format!("prepare pod directory {}: {e}", dir.display()))?;
        // dnsPolicy None: the pod's resolv.conf is its dnsConfig alone (other policies with a
        // dnsConfig are refused before the pod runs: src/manifest/fields.rs).
        if let (Some("None"), Some(dns)) = (spec.dns_policy.as_deref(), &spec.dns_config) {
            fs::write(dir.join("resolv.conf"), hosts::resolv_conf(dns))
                .map_err(|e| format!("prepare pod directory {}: {e}", dir.display()))?;
        }
        Ok(())
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

    /// Sidecars run as long as the app containers: once those have ended for good, the
    /// kubelet stops them.
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
        self.stop_all(&to_stop).await;
    }

    async fn stop_all(&self, ids: &[ContainerId]) {
        let grace = self.grace_period();
        let runtime = &self.kubelet.runtime;
        let names: Vec<(String, ContainerId)> = {
            let st = self.state.lock().unwrap();
            // Only what still runs is stopped (an ended instance stays current until replaced).
            st.containers
                .iter()
                .filter(|c| c.current.as_ref().is_some_and(|id| ids.contains(id)) && c.done.is_none() && c.restart_due.is_none())
                .filter_map(|c| Some((c.name.clone(), c.current.clone()?)))
                .collect()
        };
        for (name, _) in &names {
            self.container_event(name, NORMAL, "Killing", &format!("Stopping container {name}"));
        }
        // What no longer runs (or is not the pod's) is only made sure of.
        let running: Vec<&ContainerId> = names.iter().map(|(_, id)| id).collect();
        let rest: Vec<&ContainerId> = ids.iter().filter(|id| !running.contains(id)).collect();
        let (_, stopped) = futures::future::join(
            self.stop_with_hooks(&names, grace),
            futures::future::join_all(rest.iter().map(|id| runtime.stop_container(id, grace))),
        )
        .await;
        for r in stopped {
            if let Err(e) = r {
                tracing::warn!(pod = %self.key, error = %e, "stop container");
            }
        }
    }

    /// Stops running containers as the kubelet's killContainer does: each one's preStop hook
    /// first, which counts against the grace period; then SIGTERM, and SIGKILL once what is
    /// left of the grace period has passed.
    async fn stop_with_hooks(&self, containers: &[(String, ContainerId)], grace: Duration) {
        let runtime = &self.kubelet.runtime;
        let tearing_down = self.tearing_down.load(std::sync::atomic::Ordering::SeqCst);
        let stops = containers.iter().map(|(name, id)| async move {
            if !tearing_down {
                self.probes.stop(name);
            }
            let left = match self.container_spec(name) {
                Some(spec) if !grace.is_zero() => super::hooks::pre_stop(self, &spec, id, grace).await,
                _ => grace,
            };
            if let Err(e) = runtime.stop_container(id, left).await {
                tracing::warn!(pod = %self.key, container = %name, error = %e, "stop container");
            }
        });
        futures::future::join_all(stops).await;
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
        self.stop_all(&running).await;
    }

    /// The spec changed: a container whose image changed is restarted with the new image,
    /// whatever the restart policy ("the container spec changed"); a new deadline applies at
    /// the next wake-up.
    async fn apply_update(&self) {
        self.refresh_api_volumes();
        let pod = self.pod();
        let spec = pod.spec.unwrap_or_default();
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

    pub(super) fn container_spec(&self, name: &str) -> Option<Container> {
        let pod = self.pod.lock().unwrap();
        let spec = pod.spec.as_ref()?;
        let found = spec.init_containers.iter().flatten().chain(spec.containers.iter()).find(|c| c.name == name).cloned();
        found.or_else(|| spec.ephemeral_containers.iter().flatten().find(|c| c.name == name).map(crate::api::ephemeral::as_container))
    }

    /// The first field of an ephemeral container the node does not run (the field table's
    /// refusals, as the up-front check reads them), named by its path in the pod.
    fn ephemeral_refusal(&self, name: &str) -> Option<String> {
        let pod = self.pod();
        let spec = pod.spec.as_ref()?;
        let (i, ec) = spec.ephemeral_containers.iter().flatten().enumerate().find(|(_, c)| c.name == name)?;
        let r = crate::manifest::fields::refused_ephemeral(ec, i, &self.kubelet.config.host_dirs()).into_iter().next()?;
        Some(format!("{}: the node does not run this field: {}", r.path, r.why))
    }

    /// The `targetContainerName` of an ephemeral container, if it has one.
    fn target_of(&self, name: &str) -> Option<String> {
        let pod = self.pod.lock().unwrap();
        let spec = pod.spec.as_ref()?;
        let ec = spec.ephemeral_containers.iter().flatten().find(|c| c.name == name)?;
        ec.target_container_name.clone().filter(|t| !t.is_empty())
    }

    /// Where the kubelet keeps a container attempt's termination message file (bind-mounted at
    /// the container's `terminationMessagePath`).
    fn termination_log(&self, container: &str, attempt: u32) -> PathBuf {
        self.pod_dir().join("containers").join(container).join(format!("termination-log-{attempt}"))
    }

    /// The message of an ended container attempt, as the kubelet reads it: the termination
    /// message file (at most 4096 bytes); when that is empty, the policy is
    /// `FallbackToLogsOnError` and the container failed, the end of its log (at most 80 lines
    /// and 2048 bytes).
    pub(super) fn termination_message(&self, name: &str, attempt: u32, exit_code: i32, log_path: &Path) -> Option<String> {
        let policy = self.container_spec(name).and_then(|c| c.termination_message_policy).unwrap_or_else(|| "File".into());
        let read_limited = |path: &Path, limit: u64| -> Option<Vec<u8>> {
            use std::io::Read as _;
            let mut buf = Vec::new();
            fs::File::open(path).ok()?.take(limit).read_to_end(&mut buf).ok()?;
            Some(buf)
        };
        let message = read_limited(&self.termination_log(name, attempt), 4096).unwrap_or_default();
        if !message.is_empty() {
            return Some(String::from_utf8_lossy(&message).into_owned());
        }
        if policy != "FallbackToLogsOnError" || exit_code == 0 {
            return None;
        }
        // The last 64 KiB hold the last 80 lines of any log this is read for. Every runtime
        // writes the CRI log format.
        let log = match crate::runtime::cri_log::read_file(log_path, Some(64 * 1024)) {
            Ok(entries) => crate::runtime::cri::log_text(&entries),
            Err(e) => return Some(format!("Error on reading termination message from logs: {e}")),
        };
        let text = String::from_utf8_lossy(&log);
        let lines: Vec<&str> = text.lines().collect();
        let mut tail = lines[lines.len().saturating_sub(80)..].join("\n");
        if text.ends_with('\n') && !tail.is_empty() {
            tail.push('\n');
        }
        if tail.len() > 2048 {
            let mut cut = tail.len() - 2048;
            while !tail.is_char_boundary(cut) {
                cut += 1;
            }
            tail = tail[cut..].to_string();
        }
        (!tail.is_empty()).then_some(tail)
    }

    /// The node directory a volume mount binds: the volume's own directory under the pod's,
    /// or, for a hostPath, the node directory it names (admission checked it is the node's own).
    ///
    /// A hostPath is given as the node directory it is in and its path under it, which is
    /// resolved beneath that directory (never by its path on the machine): a pod given the node
    /// directory can swap a component of a later pod's hostPath for a link out of it.
    fn volume_source(&self, volume: &str) -> Result<(PathBuf, Option<PathBuf>), String> {
        let pod = self.pod();
        let host_path =
            pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).find(|v| v.name == volume).and_then(|v| v.host_path.clone());
        match host_path {
            Some(source) => {
                let node_dirs = self.kubelet.config.host_dirs();
                crate::manifest::host_path::resolve(&source, &node_dirs).map_err(|why| format!("volume {volume:?}: hostPath {why}"))?;
                let path = Path::new(&source.path);
                let node_dir = node_dirs.iter().find(|d| path.starts_with(d)).expect("admitted inside a node directory");
                let rel = path.strip_prefix(node_dir).expect("under its node directory");
                Ok((node_dir.clone(), (!rel.as_os_str().is_empty()).then(|| rel.to_path_buf())))
            }
            None => Ok((self.api_data_dir(volume).unwrap_or_else(|| volume_dir(&self.kubelet.config.root_dir, &self.uid, volume)), None)),
        }
    }

    fn container_config(&self, c: &Container, attempt: u32) -> Result<ContainerConfig, String> {
        // The environment first: a subPathExpr is expanded with it (the kubelet makes the
        // environment, then the mounts).
        let pod = self.pod();
        let runtime_env = super::downward::PodRuntime {
            pod: &pod,
            pod_ip: self.state.lock().unwrap().pod_ip,
            host_ip: self.kubelet.config.node_ip,
            node_name: &self.kubelet.config.node_name,
            allocatable: self.kubelet.allocatable,
            objects: Some(&self.kubelet.objects),
        };
        let from = super::downward::env_from(c, &runtime_env)?;
        let mut env = Vec::new();
        for e in c.env.iter().flatten() {
            if let Some(value) = super::downward::env_value(e, c, &runtime_env)? {
                env.push((e.name.clone(), value));
            }
        }
        // `$(VAR)` in env values (the variables before them), then in subPathExprs, command and
        // args (all).
        let env = super::expansion::expand_env_after(from, env);
        let mut mounts: Vec<Mount> = Vec::new();
        let mounts_hosts = c.volume_mounts.iter().flatten().any(|m| m.mount_path == "/etc/hosts");
        if !mounts_hosts {
            let source = self.pod_dir().join("etc-hosts");
            mounts.push(Mount { source, destination: "/etc/hosts".into(), readonly: false, file: true, sub_path: None });
        }
        let resolv_conf = self.pod_dir().join("resolv.conf");
        if resolv_conf.is_file() && !c.volume_mounts.iter().flatten().any(|m| m.mount_path == "/etc/resolv.conf") {
            mounts.push(Mount { source: resolv_conf, destination: "/etc/resolv.conf".into(), readonly: false, file: true, sub_path: None });
        }
        for (index, m) in c.volume_mounts.iter().flatten().enumerate() {
            let (mut source, host_rel) = self.volume_source(&m.name)?;
            let expanded = match m.sub_path_expr.as_deref().filter(|e| !e.is_empty()) {
                Some(expr) => Some(super::expansion::expand_sub_path_expr(expr, &env)?),
                None => None,
            };
            let sub = expanded.as_deref().or(m.sub_path.as_deref()).filter(|s| !s.is_empty());
            let sub_path = if sub.is_none() && host_rel.is_none() {
                None
            } else {
                // The volume's directory, held: a hostPath's beneath its node directory.
                let base = safe_path::open_dir(&source).map_err(|e| format!("volume {:?}: open {}: {e}", m.name, source.display()))?;
                let volume = match &host_rel {
                    Some(rel) => safe_path::open_in(&base, rel, safe_path::Scope::Beneath)
                        .map_err(|e| format!("volume {:?}: hostPath {}: {e}", m.name, source.join(rel).display()))?,
                    None => base,
                };
                let found = match sub {
                    Some(sub) => super::subpath::prepare_in(&volume, sub, &m.name, &c.name)?,
                    None => volume,
                };
                let whole = match (&host_rel, sub) {
                    (Some(rel), Some(sub)) => rel.join(sub),
                    (Some(rel), None) => rel.clone(),
                    (None, sub) => PathBuf::from(sub.unwrap_or_default()),
                };
                if self.kubelet.runtime.resolves_sub_paths() {
                    // Resolved again by the runtime beneath `source`, where it mounts it.
                    Some(whole.to_string_lossy().into_owned())
                } else {
                    source = super::subpath::bind(&found, &self.pod_dir(), &m.name, &c.name, index, &m.name)?;
                    None
                }
            };
            let readonly = m.read_only.unwrap_or(false) || self.is_api_data_volume(&m.name);
            mounts.push(Mount { source, destination: m.mount_path.clone(), readonly, file: false, sub_path });
        }
        // A fresh, empty termination message file for this attempt.
        let log = self.termination_log(&c.name, attempt);
        let make_log = || -> std::io::Result<()> {
            use std::os::unix::fs::PermissionsExt as _;
            fs::create_dir_all(log.parent().expect("a parent"))?;
            fs::write(&log, b"")?;
            fs::set_permissions(&log, fs::Permissions::from_mode(0o666))
        };
        make_log().map_err(|e| format!("create the termination message file {}: {e}", log.display()))?;
        let path = c.termination_message_path.clone().filter(|p| !p.is_empty());
        let path = path.unwrap_or_else(|| crate::api::defaults::TERMINATION_MESSAGE_PATH.into());
        mounts.push(Mount { source: log, destination: path, readonly: false, file: true, sub_path: None });

        let lookup = |n: &str| env.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let expand_all =
            |list: &Option<Vec<String>>| -> Vec<String> { list.iter().flatten().map(|a| super::expansion::expand(a, lookup)).collect() };
        let (command, args) = (expand_all(&c.command), expand_all(&c.args));
        Ok(ContainerConfig {
            name: c.name.clone(),
            attempt,
            image: c.image.clone().unwrap_or_default(),
            command,
            args,
            env,
            working_dir: c.working_dir.clone(),
            mounts,
            security: super::security::container_security(&pod, c),
            resources: super::security::container_resources(c)?,
            stdin: c.stdin.unwrap_or(false),
            stdin_once: c.stdin_once.unwrap_or(false),
            tty: c.tty.unwrap_or(false),
        })
    }

    /// Creates and starts the next instance of a container.
    async fn start_container(&self, name: &str) {
        let Some(spec) = self.container_spec(name) else { return };
        // An ephemeral container reaches the node through the API, past any up-front check: one
        // with a field the node does not run waits for good, saying which, rather than running
        // without it (it cannot change, so it is not tried again).
        if let Some(why) = self.ephemeral_refusal(name) {
            self.container_event(name, WARNING, "Failed", &format!("Error: {why}"));
            let mut st = self.state.lock().unwrap();
            if let Some(rec) = st.containers.iter_mut().find(|c| c.name == name) {
                rec.attempted = true;
                rec.waiting = Some(("CreateContainerConfigError".into(), Some(why)));
            }
            return;
        }
        let (sandbox, attempt) = {
            let mut st = self.state.lock().unwrap();
            let Some(sandbox) = st.sandbox.clone() else { return };
            let rec = st.containers.iter_mut().find(|c| c.name == name).expect("record per container");
            rec.attempted = true;
            (sandbox, rec.restart_count)
        };
        let has_volume = |m: &str| {
            self.pod.lock().unwrap().spec.as_ref().and_then(|s| s.volumes.clone()).is_some_and(|vs| vs.iter().any(|v| v.name == m))
        };
        for m in spec.volume_mounts.iter().flatten() {
            if !has_volume(&m.name) {
                self.set_waiting(name, "CreateContainerConfigError", Some(format!("volume {:?} not found in the pod's volumes", m.name)));
                return;
            }
        }
        let mut config = match self.container_config(&spec, attempt) {
            Ok(config) => config,
            Err(e) => {
                self.set_waiting(name, "CreateContainerConfigError", Some(e));
                return;
            }
        };
        // An ephemeral container with a target shares that container's PID namespace (the
        // kubelet's NamespaceMode TARGET with the target's id).
        if let Some(target) = self.target_of(name) {
            match self.current_container(&target) {
                Some(id) if config.security.namespaces.pid == crate::runtime::cri::NamespaceMode::Container => {
                    config.security.namespaces.pid = crate::runtime::cri::NamespaceMode::Target;
                    config.security.namespaces.target_id = Some(id);
                }
                // A pod sharing one namespace already (shareProcessNamespace, hostPID) keeps it.
                Some(_) => {}
                None => {
                    self.set_waiting(name, "CreateContainerConfigError", Some(format!("target container {target:?} is not running")));
                    return;
                }
            }
        }
        let runtime = &self.kubelet.runtime;
        let Some(image) = self.ensure_image(name, &spec, &config.image).await else { return };
        if let Err(e) = super::security::verify_run_as_non_root(&self.pod(), &spec, image.config.uid()) {
            self.set_waiting(name, "CreateContainerConfigError", Some(e));
            return;
        }
        let id = match runtime.create_container(&sandbox, &config).await {
            Ok(id) => id,
            Err(e) => {
                self.set_waiting(name, "CreateContainerError", Some(e.to_string()));
                return;
            }
        };
        {
            let mut st = self.state.lock().unwrap();
            let rec = st.containers.iter_mut().find(|c| c.name == name).expect("record");
            rec.current = Some(id.clone());
            rec.waiting = None;
            rec.probe = super::prober::ProbeResults::for_container(&spec);
        }
        self.container_event(name, NORMAL, "Created", &format!("Created container: {name}"));
        if let Err(e) = runtime.start_container(&id).await {
            // The runtime records the failure as an exit (reason StartError); its stop event
            // brings the restart policy in, as for any other exit.
            tracing::info!(pod = %self.key, container = name, error = %e, "container failed to start");
            self.container_event(name, WARNING, "Failed", &format!("Error: {e}"));
        } else {
            self.container_event(name, NORMAL, "Started", &format!("Started container {name}"));
            // postStart runs before the next container starts; one that fails kills this one.
            if !super::hooks::post_start(self, &spec, &id).await {
                return;
            }
            if let Some(me) = self.me.upgrade() {
                super::prober::start(&me, &spec, &id);
            }
        }
    }

    /// The image of a container, present or pulled as its `imagePullPolicy` says (the
    /// kubelet's `EnsureImageExists`), with the kubelet's events; None when the container
    /// waits (`ErrImageNeverPull`, `ErrImagePull`, `ImagePullBackOff`) and is tried again.
    async fn ensure_image(&self, name: &str, spec: &Container, reference: &str) -> Option<crate::runtime::cri::ImageInfo> {
        let images = &self.kubelet.images;
        let present = images.image_status(reference).await;
        if !images.pulls() {
            // A node whose image service does not pull runs what it has.
            return match present {
                Ok(image) => {
                    self.container_event(name, NORMAL, "Pulled", &format!("Container image {reference:?} already present on machine"));
                    Some(image)
                }
                Err(e) => {
                    self.set_waiting(name, "ErrImageNeverPull", Some(e.to_string()));
                    None
                }
            };
        }
        let policy = spec.image_pull_policy.clone().unwrap_or_else(|| crate::api::defaults::pull_policy(reference).to_string());
        match (policy.as_str(), present) {
            ("Never" | "IfNotPresent", Ok(image)) => {
                self.container_event(name, NORMAL, "Pulled", &format!("Container image {reference:?} already present on machine"));
                return Some(image);
            }
            ("Never", Err(_)) => {
                let message = format!("Container image {reference:?} is not present with pull policy of Never");
                self.container_event(name, WARNING, "ErrImageNeverPull", &message);
                let retry = Instant::now() + self.kubelet.config.backoff.initial.min(Duration::from_secs(5));
                self.image_waiting(name, "ErrImageNeverPull", message, retry);
                return None;
            }
            _ => {}
        }
        let backoff_until = {
            let st = self.state.lock().unwrap();
            st.containers.iter().find(|c| c.name == name).and_then(|c| c.pull_backoff.map(|(_, until)| until))
        };
        if let Some(until) = backoff_until.filter(|u| *u > Instant::now()) {
            let message = format!("Back-off pulling image {reference:?}");
            self.container_event(name, NORMAL, "BackOff", &message);
            self.image_waiting(name, "ImagePullBackOff", message, until);
            return None;
        }
        self.container_event(name, NORMAL, "Pulling", &format!("Pulling image {reference:?}"));
        let started = Instant::now();
        match self.pull_with_secrets(reference).await {
            Ok((image, size)) => {
                let took = go_duration_ms(started.elapsed());
                let message =
                    format!("Successfully pulled image {reference:?} in {took} ({took} including waiting). Image size: {size} bytes.");
                self.container_event(name, NORMAL, "Pulled", &message);
                if let Some(rec) = self.state.lock().unwrap().containers.iter_mut().find(|c| c.name == name) {
                    rec.pull_backoff = None;
                }
                Some(image)
            }
            Err(e) => {
                tracing::info!(pod = %self.key, container = name, error = %e, "image pull failed");
                self.container_event(name, WARNING, "Failed", &format!("Failed to pull image {reference:?}: {e}"));
                let delay = {
                    let mut st = self.state.lock().unwrap();
                    let rec = st.containers.iter_mut().find(|c| c.name == name)?;
                    let failures = rec.pull_backoff.map(|(n, _)| n).unwrap_or(0) + 1;
                    let delay = self.kubelet.config.backoff.delay(failures);
                    rec.pull_backoff = Some((failures, Instant::now() + delay));
                    delay
                };
                // The next sync comes within the back-off: the container then waits in
                // ImagePullBackOff until it is over.
                self.image_waiting(name, "ErrImagePull", e.to_string(), Instant::now() + (delay / 2).min(Duration::from_secs(5)));
                None
            }
        }
    }

    /// Pulls `reference` with the credentials the pod's `imagePullSecrets` have for its
    /// registry (the kubelet's `getPullSecretsForPod`, then `MakeDockerKeyring` and its
    /// `Lookup`): each matching credential in turn until one pulls, anonymously when none
    /// matches. A Secret the API does not have is named in a `FailedToRetrieveImagePullSecret`
    /// event and the pull goes on without it.
    async fn pull_with_secrets(&self, reference: &str) -> crate::runtime::cri::RuntimeResult<(crate::runtime::cri::ImageInfo, u64)> {
        use crate::runtime::cri::RuntimeError;
        let pod = self.pod();
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let (mut secrets, mut missing) = (Vec::new(), Vec::new());
        for r in pod.spec.iter().flat_map(|s| s.image_pull_secrets.iter().flatten()).filter(|r| !r.name.is_empty()) {
            match self.kubelet.objects.secret(namespace, &r.name) {
                Ok(s) => secrets.push(s),
                Err(_) => missing.push(r.name.clone()),
            }
        }
        if !missing.is_empty() {
            let message = format!(
                "Unable to retrieve some image pull secrets ({}); attempting to pull the image may not succeed.",
                missing.join(", ")
            );
            self.pod_event(WARNING, "FailedToRetrieveImagePullSecret", &message);
        }
        let not_pulled = |e: String| RuntimeError::failed(format!("failed to pull image {reference:?}"), e);
        let keyring = crate::images::keyring::Keyring::from_secrets(&secrets).map_err(not_pulled)?;
        let repository = match crate::images::pull::Reference::parse(reference) {
            Ok(r) => format!("{}/{}", r.registry, r.repository),
            Err(_) => reference.to_string(),
        };
        let credentials = keyring.lookup(&repository);
        let images = &self.kubelet.images;
        if credentials.is_empty() {
            return images.pull_image(reference, None).await;
        }
        let mut errors = Vec::new();
        for c in &credentials {
            match images.pull_image(reference, Some(c)).await {
                Ok(pulled) => return Ok(pulled),
                Err(e) => errors.push(e),
            }
        }
        // One error as it is, several as a list (the kubelet's aggregate error).
        if errors.len() == 1 {
            return Err(errors.remove(0));
        }
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        Err(RuntimeError::failed(
            format!("failed to pull image {reference:?} with each of {} credentials", list.len()),
            format!("[{}]", list.join(", ")),
        ))
    }

    /// The container waits for its image (`reason`), tried again at `retry`: the kubelet's
    /// "Error: REASON" event.
    fn image_waiting(&self, name: &str, reason: &str, message: String, retry: Instant) {
        self.container_event(name, WARNING, "Failed", &format!("Error: {reason}"));
        let mut st = self.state.lock().unwrap();
        if let Some(rec) = st.containers.iter_mut().find(|c| c.name == name) {
            rec.waiting = Some((reason.to_string(), Some(message)));
            rec.retry_due = Some(retry);
        }
    }

    /// The probe results of a container's instance `id`, while it is the current one.
    pub(super) fn probe_results(&self, name: &str, id: &ContainerId) -> Option<super::prober::ProbeResults> {
        let st = self.state.lock().unwrap();
        let rec = st.containers.iter().find(|c| c.name == name)?;
        (rec.current.as_ref() == Some(id) && rec.done.is_none() && rec.restart_due.is_none() && !rec.stopping).then_some(rec.probe)
    }

    /// Records a probe's finding for instance `id`; a change writes the status again.
    pub(super) fn set_probe_result(&self, name: &str, id: &ContainerId, set: impl FnOnce(&mut super::prober::ProbeResults)) {
        let changed = {
            let mut st = self.state.lock().unwrap();
            let Some(rec) = st.containers.iter_mut().find(|c| c.name == name && c.current.as_ref() == Some(id)) else { return };
            let before = (rec.probe.started(), rec.probe.ready());
            set(&mut rec.probe);
            before != (rec.probe.started(), rec.probe.ready())
        };
        if changed {
            self.probed.notify_one();
        }
    }

    /// A liveness or startup probe failed for good: the container is killed (its preStop
    /// first), with the probe's grace period if it has one; the restart policy decides what
    /// follows, as for any exit.
    pub(super) async fn kill_for_probe(&self, name: &str, id: &ContainerId, grace: Option<Duration>) {
        if self.probe_results(name, id).is_none() {
            return;
        }
        let grace = if self.kubelet.stops_at_once() { Duration::ZERO } else { grace.unwrap_or_else(|| self.grace_period()) };
        // On a task of its own: stopping ends the container's probes, the caller among them.
        let Some(me) = self.me.upgrade() else { return };
        let target = [(name.to_string(), id.clone())];
        tokio::spawn(async move { me.stop_with_hooks(&target, grace).await });
    }

    /// The container could not be created: say why (an event `Failed`, "Error: ..."), and try
    /// again later, as the kubelet does.
    fn set_waiting(&self, name: &str, reason: &str, message: Option<String>) {
        self.container_event(name, WARNING, "Failed", &format!("Error: {}", message.as_deref().unwrap_or(reason)));
        let retry = self.kubelet.config.backoff.initial.min(Duration::from_secs(5));
        let mut st = self.state.lock().unwrap();
        if let Some(rec) = st.containers.iter_mut().find(|c| c.name == name) {
            rec.waiting = Some((reason.to_string(), message));
            rec.retry_due = Some(Instant::now() + retry);
        }
    }

    /// A container instance ended: record it and decide whether it comes back.
    async fn on_container_exit(&self, id: &ContainerId) {
        let Ok(status) = self.kubelet.runtime.container_status(id).await else { return };
        if status.state != ContainerState::Exited {
            return;
        }
        let policy = self.restart_policy();
        let backoff = self.kubelet.config.backoff;
        let pod_name = format_pod(&self.pod());
        let exit_code = status.exit_code.unwrap_or(0);
        let attempt = {
            let st = self.state.lock().unwrap();
            st.containers.iter().find(|c| c.current.as_ref() == Some(id)).map(|c| (c.name.clone(), c.restart_count))
        };
        let message =
            attempt.and_then(|(name, n)| self.termination_message(&name, n, exit_code, &status.log_path)).or(status.message.clone());
        let mut st = self.state.lock().unwrap();
        let terminal = st.terminal.is_some();
        let Some(rec) = st.containers.iter_mut().find(|c| c.current.as_ref() == Some(id)) else { return };
        if rec.done.is_some() || rec.restart_due.is_some() {
            return; // seen already
        }
        let termination = Termination {
            exit_code,
            reason: status.reason.clone().unwrap_or_else(|| if exit_code == 0 { "Completed".into() } else { "Error".into() }),
            message,
            started_at: status.started_at,
            finished_at: status.finished_at,
            container_id: id.clone(),
        };
        if rec.spec_changed {
            // Replaced for a new spec: it comes back at once, whatever the policy.
            rec.spec_changed = false;
            rec.last_termination = Some(termination);
            rec.restart_due = Some(Instant::now());
            return;
        }
        if rec.stopping || terminal {
            rec.done = Some(exit_code);
            return;
        }
        let restart = match rec.kind {
            Kind::Sidecar => true,
            Kind::Init => exit_code != 0 && policy != "Never",
            // The kubelet never restarts an ephemeral container, whatever the pod's policy.
            Kind::Ephemeral => false,
            Kind::App => match policy.as_str() {
                "Always" => true,
                "OnFailure" => exit_code != 0,
                _ => false,
            },
        };
        if restart {
            let delay = backoff.delay(rec.restart_count);
            rec.last_termination = Some(termination);
            rec.restart_due = Some(Instant::now() + delay);
            if !delay.is_zero() {
                let message = format!("back-off {} restarting failed container={} pod={pod_name}", go_duration(delay), rec.name);
                rec.waiting = Some(("CrashLoopBackOff".into(), Some(message)));
                let name = rec.name.clone();
                drop(st);
                let message = format!("Back-off restarting failed container {name} in pod {pod_name}");
                self.container_event(&name, WARNING, "BackOff", &message);
            }
        } else {
            rec.done = Some(exit_code);
        }
    }

    async fn restart_due_containers(&self) {
        let now = Instant::now();
        // Containers that could not be created are tried again as they were.
        for (name, ()) in self.take_due(now, |c| &mut c.retry_due, |_| ()) {
            self.start_container(&name).await;
        }
        // Containers that ended start a new instance with a fresh writable layer: the old
        // instance, and its layer, go.
        let restarts = self.take_due(
            now,
            |c| &mut c.restart_due,
            |c| {
                c.restart_count += 1;
                c.current.take()
            },
        );
        for (name, old) in restarts {
            if let Some(old) = old {
                // The ended instance stays (its log is the previous one) until this one ends;
                // the one before it goes now.
                let older = {
                    let mut st = self.state.lock().unwrap();
                    st.containers.iter_mut().find(|c| c.name == name).and_then(|c| c.previous.replace(old))
                };
                if let Some(older) = older {
                    let _ = self.kubelet.runtime.remove_container(&older).await;
                }
            }
            self.start_container(&name).await;
        }
    }

    /// Clears the timers that are due, applies `on_due` to those containers, and returns their
    /// names with what `on_due` gave.
    fn take_due<T>(
        &self,
        now: Instant,
        timer: fn(&mut ContainerRecord) -> &mut Option<Instant>,
        on_due: fn(&mut ContainerRecord) -> T,
    ) -> Vec<(String, T)> {
        let mut st = self.state.lock().unwrap();
        let mut due = Vec::new();
        for c in st.containers.iter_mut() {
            if timer(c).is_some_and(|t| t <= now) {
                *timer(c) = None;
                due.push((c.name.clone(), on_due(c)));
            }
        }
        due
    }

    /// After missed events: look at every current container.
    async fn resync(&self) {
        let current: Vec<ContainerId> = self.state.lock().unwrap().containers.iter().filter_map(|c| c.current.clone()).collect();
        for id in current {
            self.on_container_exit(&id).await;
        }
    }

    async fn teardown(&self) {
        // As the kubelet's SyncTerminatingPod: liveness and startup probes stop before the
        // containers are stopped; readiness probes go on while they stop (a container that
        // turns unready during its grace period is reported so), and end once they have.
        self.tearing_down.store(true, std::sync::atomic::Ordering::SeqCst);
        self.probes.stop_liveness_and_startup();
        self.kubelet.objects.forget_tokens(&self.uid);
        let runtime = &self.kubelet.runtime;
        let (sandbox, current): (Option<SandboxId>, Vec<ContainerId>) = {
            let st = self.state.lock().unwrap();
            (st.sandbox.clone(), st.containers.iter().filter_map(|c| c.current.clone()).collect())
        };
        {
            let stopping = self.stop_all(&current);
            tokio::pin!(stopping);
            loop {
                tokio::select! {
                    _ = &mut stopping => break,
                    _ = self.probed.notified() => self.publish_status().await,
                }
            }
        }
        self.probes.stop_all();
        // As the kubelet's status manager: the stopped containers' final states reach the API
        // before anything is removed (a pod that finalizers hold shows them so).
        self.publish_status().await;
        if let Some(sandbox) = sandbox {
            if let Err(e) = runtime.stop_pod_sandbox(&sandbox).await {
                tracing::warn!(pod = %self.key, error = %e, "stop pod sandbox");
            }
            if let Err(e) = runtime.remove_pod_sandbox(&sandbox).await {
                tracing::warn!(pod = %self.key, error = %e, "remove pod sandbox");
            }
        }
        let mounts = std::mem::take(&mut self.state.lock().unwrap().tmpfs_mounts);
        let dir = self.pod_dir();
        // The pod's cgroup, which the runtime leaves once it removed the sandbox's and the
        // containers' cgroups in it.
        let mut cgroups: Vec<PathBuf> = match &self.kubelet.config.pod_cgroups {
            Some(r) => r.cgroup.child(&format!("pod{}", self.uid)).dirs.into_iter().map(|(_, d)| d).collect(),
            None => Vec::new(),
        };
        cgroups.dedup();
        let _ = tokio::task::spawn_blocking(move || {
            super::volumes::unmount_all(&mounts);
            super::subpath::unmount_all(&dir);
            for c in &cgroups {
                if let Err(e) = fs::remove_dir(c) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        tracing::warn!(cgroup = %c.display(), error = %e, "remove the pod's cgroup");
                    }
                }
            }
            // Never into a tree still mounted somewhere below (a volume reached through it).
            let left = crate::runtime::linux::state::mounts_under(&dir);
            if !left.is_empty() {
                tracing::warn!(dir = %dir.display(), ?left, "mounts left under the pod's directory; it is kept");
                return Ok(());
            }
            fs::remove_dir_all(dir)
        })
        .await;
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
