//! Container events. containerd 1.6 has no `GetContainerEvents`; so, as the kubelet's generic
//! PLEG does, the runtime's containers are relisted about every second and each change of state
//! becomes an event. Where the runtime streams events, they are used as well (the relist stays,
//! as the evented PLEG keeps one): an event seen twice is harmless, the kubelet looks at the
//! container's status either way.

use std::collections::HashMap;
use std::time::Duration;

use super::runtime_v1 as cri;
use super::runtime_v1::runtime_service_client::RuntimeServiceClient;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use super::container::state_of;
use super::RUN_LABEL;
use crate::cri::{ContainerEvent, ContainerId, ContainerState, SandboxId};

/// The generic PLEG's relist period (pkg/kubelet/kubelet.go: genericPlegRelistPeriod).
pub const RELIST_PERIOD: Duration = Duration::from_secs(1);

/// Starts the relist, and the event stream where the runtime has one.
pub(super) fn watch(
    client: RuntimeServiceClient<Channel>,
    run_id: String,
    events: broadcast::Sender<ContainerEvent>,
) -> Vec<JoinHandle<()>> {
    vec![tokio::spawn(relist(client.clone(), run_id, events.clone())), tokio::spawn(stream(client, events))]
}

/// What one relist saw: each container's sandbox and state.
type Seen = HashMap<String, (String, ContainerState)>;

async fn relist(mut client: RuntimeServiceClient<Channel>, run_id: String, events: broadcast::Sender<ContainerEvent>) {
    let selector: HashMap<String, String> = [(RUN_LABEL.to_string(), run_id)].into_iter().collect();
    let mut seen: Seen = HashMap::new();
    let mut tick = tokio::time::interval(RELIST_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let request =
            cri::ListContainersRequest { filter: Some(cri::ContainerFilter { label_selector: selector.clone(), ..Default::default() }) };
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(RELIST_PERIOD * 10, client.list_containers(request)).await;
        tracing::debug!(target: "cri", operation = "relist: ListContainers", ms = started.elapsed().as_secs_f64() * 1000.0, "CRI call");
        let list = match answer {
            Ok(Ok(r)) => r.into_inner().containers,
            Ok(Err(e)) => {
                tracing::warn!(target: "cri", error = %e.message(), "relist: ListContainers failed");
                continue;
            }
            Err(_) => continue,
        };
        let now: Seen = list.into_iter().map(|c| (c.id, (c.pod_sandbox_id, state_of(c.state)))).collect();
        for event in changes(&seen, &now) {
            let _ = events.send(event);
        }
        seen = now;
    }
}

/// The events between two relists (pkg/kubelet/pleg/generic.go: generateEvents): a container
/// that is now running started; one that is now exited, or is gone while it ran, stopped.
fn changes(before: &Seen, now: &Seen) -> Vec<ContainerEvent> {
    let mut out = Vec::new();
    for (id, (sandbox, state)) in now {
        let was = before.get(id).map(|(_, s)| *s);
        if was == Some(*state) {
            continue;
        }
        let (sandbox, container) = (SandboxId(sandbox.clone()), ContainerId(id.clone()));
        match state {
            ContainerState::Running => out.push(ContainerEvent::Started { sandbox, container }),
            ContainerState::Exited => out.push(ContainerEvent::Stopped { sandbox, container }),
            ContainerState::Created => {}
        }
    }
    for (id, (sandbox, state)) in before {
        if *state == ContainerState::Running && !now.contains_key(id) {
            out.push(ContainerEvent::Stopped { sandbox: SandboxId(sandbox.clone()), container: ContainerId(id.clone()) });
        }
    }
    out
}

/// CRI `GetContainerEvents`, where the runtime has it (containerd 1.7 and later, CRI-O); a
/// runtime without it answers Unimplemented, and the relist alone serves.
async fn stream(mut client: RuntimeServiceClient<Channel>, events: broadcast::Sender<ContainerEvent>) {
    let mut stream = match client.get_container_events(cri::GetEventsRequest {}).await {
        Ok(s) => s.into_inner(),
        Err(e) => {
            tracing::debug!(target: "cri", code = ?e.code(), "no GetContainerEvents: relisting only");
            return;
        }
    };
    while let Ok(Some(e)) = stream.message().await {
        let sandbox = SandboxId(e.pod_sandbox_status.map(|s| s.id).unwrap_or_default());
        let container = ContainerId(e.container_id);
        let event = match cri::ContainerEventType::try_from(e.container_event_type) {
            Ok(cri::ContainerEventType::ContainerStartedEvent) => ContainerEvent::Started { sandbox, container },
            Ok(cri::ContainerEventType::ContainerStoppedEvent) => ContainerEvent::Stopped { sandbox, container },
            _ => continue,
        };
        let _ = events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(items: &[(&str, ContainerState)]) -> Seen {
        items.iter().map(|(id, s)| (id.to_string(), ("sb".to_string(), *s))).collect()
    }

    #[test]
    fn a_relist_turns_changes_of_state_into_events() {
        let before = seen(&[("a", ContainerState::Created), ("b", ContainerState::Running), ("c", ContainerState::Running)]);
        let now = seen(&[
            ("a", ContainerState::Running),
            ("b", ContainerState::Exited),
            ("c", ContainerState::Running),
            ("d", ContainerState::Exited),
        ]);
        let mut events: Vec<String> = changes(&before, &now)
            .into_iter()
            .map(|e| match e {
                ContainerEvent::Started { container, .. } => format!("started {container}"),
                ContainerEvent::Stopped { container, .. } => format!("stopped {container}"),
            })
            .collect();
        events.sort();
        // d was created and ended between two relists: it is seen as stopped, as the PLEG does.
        assert_eq!(events, vec!["started a", "stopped b", "stopped d"]);
    }

    #[test]
    fn a_running_container_that_vanished_stopped() {
        let events = changes(&seen(&[("a", ContainerState::Running), ("b", ContainerState::Exited)]), &seen(&[]));
        assert_eq!(events.len(), 1);
        assert!(matches!(&events[0], ContainerEvent::Stopped { container, .. } if container.0 == "a"));
    }
}
