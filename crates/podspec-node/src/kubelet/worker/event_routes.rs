//! The runtime's container events, each handed to the pod worker of its sandbox alone
//! (`crate::kubelet::container_events` reads the node's channel and hands them on here). The
//! runtime has one channel of events for the whole node; were every worker to read it, each
//! event would wake every worker (N pods, N wakes per event), and a worker busy starting its
//! pod while the others' events pass would fall more than the channel's capacity behind and
//! look at all its containers again. One task reads the node's channel instead, and gives each
//! event to its pod's worker through the worker's own small channel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};


use super::PodWorker;
use podspec_cri::cri::{ContainerEvent, SandboxId};

/// How many of its own events a pod worker's channel holds before the worker, falling behind,
/// looks at all its containers again: a pod's events come from its own few containers.
pub(in crate::kubelet) const POD_EVENTS: usize = 64;

/// How often, in this process, a reader of container events fell behind and lost events
/// (each time, a pod worker or the router made the pods look at their containers again), and
/// how many events it lost.
static LAGS: AtomicU64 = AtomicU64::new(0);
static LOST: AtomicU64 = AtomicU64::new(0);

/// A reader of container events fell `lost` events behind.
pub(in crate::kubelet) fn lagged(lost: u64) {
    LAGS.fetch_add(1, Ordering::Relaxed);
    LOST.fetch_add(lost, Ordering::Relaxed);
    tracing::debug!(target: "kubelet", lost, "a reader of the runtime's container events fell behind");
}

/// How many times, in this process, a reader of the runtime's container events fell behind, and
/// how many events those readers lost (the bench reports them).
pub fn event_lags() -> (u64, u64) {
    (LAGS.load(Ordering::Relaxed), LOST.load(Ordering::Relaxed))
}

/// The pod workers by their sandbox.
#[derive(Default)]
pub(in crate::kubelet) struct EventRoutes {
    by_sandbox: Mutex<HashMap<SandboxId, Weak<PodWorker>>>,
}

impl EventRoutes {
    /// The events of this sandbox go to this worker from now on.
    pub(in crate::kubelet) fn add(&self, sandbox: SandboxId, worker: Weak<PodWorker>) {
        self.by_sandbox.lock().unwrap().insert(sandbox, worker);
    }

    pub(in crate::kubelet) fn remove(&self, sandbox: &SandboxId) {
        self.by_sandbox.lock().unwrap().remove(sandbox);
    }

    /// The worker of this sandbox, if it still runs.
    pub(in crate::kubelet) fn worker_of(&self, sandbox: &SandboxId) -> Option<Arc<PodWorker>> {
        self.by_sandbox.lock().unwrap().get(sandbox).and_then(Weak::upgrade)
    }
}

impl PodWorker {
    /// A runtime event of this pod, for its worker to act on.
    pub(in crate::kubelet) fn container_event_seen(&self, event: ContainerEvent) {
        let _ = self.events.send(event);
    }

    /// Events of this pod may have been lost: the worker looks at each of its containers again
    /// (as if each had stopped; one that runs is left as it is).
    pub(in crate::kubelet) fn look_at_containers_again(&self) {
        let (sandbox, current): (Option<SandboxId>, Vec<_>) = {
            let st = self.state.lock().unwrap();
            (st.sandbox.clone(), st.containers.iter().filter_map(|c| c.current.clone()).collect())
        };
        let Some(sandbox) = sandbox else { return };
        for container in current {
            let _ = self.events.send(ContainerEvent::Stopped { sandbox: sandbox.clone(), container });
        }
    }
}
