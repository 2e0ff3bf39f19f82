//! The task that reads the runtime's one channel of container events for the whole node and
//! hands each event to its pod's worker alone (`worker::event_routes` says why).

use std::sync::{Arc, Weak};

use tokio::sync::broadcast;

use super::worker::event_routes::lagged;
use super::worker::PodWorker;
use super::Kubelet;
use podspec_cri::cri::ContainerEvent;

/// The workers an event is for: its sandbox's; an event that names no sandbox goes to every
/// worker (each then looks whether it is about one of its containers).
fn workers_of(event: &ContainerEvent, kubelet: &Kubelet) -> Vec<Arc<PodWorker>> {
    let (ContainerEvent::Started { sandbox, .. } | ContainerEvent::Stopped { sandbox, .. }) = event;
    if sandbox.0.is_empty() {
        return kubelet.pods.lock().unwrap().values().cloned().collect();
    }
    kubelet.event_routes.worker_of(sandbox).into_iter().collect()
}

/// Reads the node's container events until the runtime closes its channel, and hands each to
/// its worker. Having fallen behind itself, it has every worker look at its containers again.
pub(super) async fn run(kubelet: Weak<Kubelet>, mut events: broadcast::Receiver<ContainerEvent>) {
    loop {
        let event = events.recv().await;
        let Some(kubelet) = kubelet.upgrade() else { return };
        match event {
            Ok(event) => {
                for worker in workers_of(&event, &kubelet) {
                    worker.container_event_seen(event.clone());
                }
            }
            Err(broadcast::error::RecvError::Lagged(lost)) => {
                lagged(lost);
                let workers: Vec<Arc<PodWorker>> = kubelet.pods.lock().unwrap().values().cloned().collect();
                for worker in workers {
                    worker.look_at_containers_again();
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

