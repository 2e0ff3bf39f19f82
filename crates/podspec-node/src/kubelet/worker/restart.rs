//! What follows a container's exit: the restart policy and the crash-loop back-off.

use tokio::time::Instant;

use super::{format_pod, go_duration, ContainerRecord, Kind, PodWorker, Termination};
use podspec_api::events::WARNING;
use podspec_cri::cri::{ContainerId, ContainerState};

impl PodWorker {
    pub(super) fn restart_policy(&self) -> String {
        self.pod.lock().unwrap().spec.as_ref().and_then(|s| s.restart_policy.clone()).unwrap_or_else(|| "Always".into())
    }

    /// A container instance ended: record it and decide whether it comes back.
    pub(super) async fn on_container_exit(&self, id: &ContainerId) {
        let Ok(status) = self.node.runtime.container_status(id).await else { return };
        if status.state != ContainerState::Exited {
            return;
        }
        let policy = self.restart_policy();
        let backoff = self.node.config.backoff;
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

    pub(super) async fn restart_due_containers(&self) {
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
                    let _ = self.node.runtime.remove_container(&older).await;
                }
            }
            self.start_container(&name).await;
        }
    }

    /// Clears the timers that are due, applies `on_due` to those containers, and returns their
    /// names with what `on_due` gave.
    pub(super) fn take_due<T>(
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
}
