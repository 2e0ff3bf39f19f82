//! What the pod worker knows of the pod and of each container across its restarts, from which
//! its status is written (`status`).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use jiff::Timestamp;
use tokio::time::Instant;

use super::PodWorker;
use super::prober;
use podspec_cri::cri::{ContainerId, SandboxId};

/// Which list of the spec a container comes from, and how it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(in crate::kubelet) enum Kind {
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
pub(in crate::kubelet) struct ContainerRecord {
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
    /// Failed pulls of its image in a row, until when the next one waits (the kubelet's image
    /// back-off), and the last one's error.
    pub pull_backoff: Option<PullBackoff>,
    /// Its spec changed (a new image): the current instance is being replaced.
    pub spec_changed: bool,
    /// The kubelet stopped it on purpose (deadline, sidecars after the app containers ended).
    pub stopping: bool,
    /// What the current instance's probes found.
    pub probe: prober::ProbeResults,
}

/// The image back-off of a container whose pulls failed.
#[derive(Debug, Clone)]
pub struct PullBackoff {
    /// Failed pulls in a row.
    pub failures: u32,
    /// Until when the next pull waits.
    pub until: Instant,
    /// The last pull's error, as its `ErrImagePull` message said it.
    pub error: String,
}

impl ContainerRecord {
    pub(super) fn is_init(&self) -> bool {
        matches!(self.kind, Kind::Init | Kind::Sidecar)
    }
}

#[derive(Debug, Clone)]
pub(in crate::kubelet) struct Termination {
    pub exit_code: i32,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub container_id: ContainerId,
}

/// The record of an ephemeral container the worker has not started yet.
pub(super) fn ephemeral_record(c: &k8s_openapi::api::core::v1::EphemeralContainer) -> ContainerRecord {
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
pub(in crate::kubelet) struct Terminal {
    pub phase: &'static str,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Default)]
pub(in crate::kubelet) struct WorkerState {
    pub sandbox: Option<SandboxId>,
    pub pod_ip: Option<Ipv4Addr>,
    pub start_time: Option<Timestamp>,
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

impl PodWorker {
    pub(in crate::kubelet) fn current_container(&self, name: &str) -> Option<ContainerId> {
        self.state.lock().unwrap().containers.iter().find(|c| c.name == name).and_then(|c| c.current.clone())
    }

    pub(in crate::kubelet) fn previous_container(&self, name: &str) -> Option<ContainerId> {
        self.state.lock().unwrap().containers.iter().find(|c| c.name == name).and_then(|c| c.previous.clone())
    }

    /// The probe results of a container's instance `id`, while it is the current one.
    pub(in crate::kubelet) fn probe_results(&self, name: &str, id: &ContainerId) -> Option<prober::ProbeResults> {
        let st = self.state.lock().unwrap();
        let rec = st.containers.iter().find(|c| c.name == name)?;
        (rec.current.as_ref() == Some(id) && rec.done.is_none() && rec.restart_due.is_none() && !rec.stopping).then_some(rec.probe)
    }

    /// Records a probe's finding for instance `id`; a change writes the status again.
    pub(in crate::kubelet) fn set_probe_result(&self, name: &str, id: &ContainerId, set: impl FnOnce(&mut prober::ProbeResults)) {
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
}
