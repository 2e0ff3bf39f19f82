//! The order in which a pod's containers are stopped when the whole pod stops (deleted, done,
//! past its deadline), as the kubelet's terminationOrdering gives it (pkg/kubelet/kuberuntime):
//! every container is stopped at once and runs its preStop hook at once, but a sidecar gets its
//! SIGTERM only once every app container being stopped, and the sidecar declared after it, have
//! stopped. The sidecars so stop after the app containers, the last started first. A sidecar
//! waits for its turn no longer than what is left of its grace period.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::{ContainerRecord, Kind};

pub(super) struct TerminationOrder {
    /// Per container being stopped: set once it has stopped.
    stopped: HashMap<String, watch::Sender<bool>>,
    /// Per sidecar: the containers it waits for, those of them that are being stopped.
    waits_for: HashMap<String, Vec<String>>,
}

impl TerminationOrder {
    /// The order among `stopping`, the names of the containers being stopped, given the pod's
    /// containers in their order (init containers as declared, then the app containers).
    pub(super) fn new(containers: &[ContainerRecord], stopping: &[String]) -> Self {
        let is_stopping = |name: &str| stopping.iter().any(|s| s == name);
        let apps: Vec<String> = containers.iter().filter(|c| c.kind == Kind::App && is_stopping(&c.name)).map(|c| c.name.clone()).collect();
        let mut waits_for = HashMap::new();
        // From the last sidecar declared to the first: each waits for the one declared after
        // it. One that is not being stopped (not running) is no wait, and the sidecars before it
        // then do not wait for those after it, as the kubelet's ordering has it.
        let mut next: Option<&str> = None;
        for sidecar in containers.iter().rev().filter(|c| c.kind == Kind::Sidecar) {
            let mut waits = apps.clone();
            waits.extend(next.filter(|n| is_stopping(n)).map(str::to_string));
            waits_for.insert(sidecar.name.clone(), waits);
            next = Some(&sidecar.name);
        }
        let stopped = stopping.iter().map(|n| (n.clone(), watch::Sender::new(false))).collect();
        Self { stopped, waits_for }
    }

    /// Waits, for at most `limit`, until it is `name`'s turn to be sent SIGTERM; returns how
    /// long it waited, or `None` if it waits for nothing.
    pub(super) async fn wait_for_turn(&self, name: &str, limit: Duration) -> Option<Duration> {
        let waits = self.waits_for.get(name).filter(|w| !w.is_empty())?;
        let start = Instant::now();
        let deadline = start + limit;
        for other in waits {
            let Some(stopped) = self.stopped.get(other) else { continue };
            let mut stopped = stopped.subscribe();
            if tokio::time::timeout_at(deadline, stopped.wait_for(|s| *s)).await.is_err() {
                break;
            }
        }
        Some(start.elapsed())
    }

    /// Container `name` has stopped: whoever waits for it may go on.
    pub(super) fn has_stopped(&self, name: &str) {
        if let Some(stopped) = self.stopped.get(name) {
            stopped.send_replace(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, kind: Kind) -> ContainerRecord {
        ContainerRecord { name: name.into(), kind, ..Default::default() }
    }

    #[test]
    fn sidecars_wait_for_the_app_containers_and_the_sidecar_declared_after_them() {
        let pod = [
            record("s1", Kind::Sidecar),
            record("init", Kind::Init),
            record("s2", Kind::Sidecar),
            record("s3", Kind::Sidecar),
            record("a", Kind::App),
            record("b", Kind::App),
        ];
        let all: Vec<String> = ["s1", "s2", "s3", "a", "b"].map(String::from).to_vec();
        let order = TerminationOrder::new(&pod, &all);
        assert_eq!(order.waits_for["s3"], ["a", "b"]);
        assert_eq!(order.waits_for["s2"], ["a", "b", "s3"]);
        assert_eq!(order.waits_for["s1"], ["a", "b", "s2"]);
        assert!(!order.waits_for.contains_key("a") && !order.waits_for.contains_key("init"));
        // The app containers have ended and s2 does not run: s1 waits for nothing.
        let order = TerminationOrder::new(&pod, &["s1".to_string(), "s3".to_string()]);
        assert_eq!(order.waits_for["s3"], Vec::<String>::new());
        assert_eq!(order.waits_for["s1"], Vec::<String>::new());
    }
}
