//! Builds a pod's `status` from what the worker recorded and what the runtime reports, the way
//! the kubelet's status manager does (phase, conditions, container statuses).

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{
    ContainerState as K8sState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus as K8sStatus,
    HostIP, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::worker::{ContainerRecord, PodWorker, Termination};
use crate::runtime::cri::{ContainerState, ContainerStatus};

pub fn k8s_time(t: DateTime<Utc>) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_millisecond(t.timestamp_millis()).unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH))
}

pub(super) async fn pod_status(w: &PodWorker) -> PodStatus {
    let (records, pod_ip, start_time, sandbox_error) = {
        let st = w.state.lock().unwrap();
        (st.containers.clone(), st.pod_ip, st.start_time, st.sandbox_error.clone())
    };
    let mut statuses = Vec::new();
    for rec in &records {
        let current = match &rec.current {
            Some(id) => w.kubelet.runtime.container_status(id).await.ok(),
            None => None,
        };
        statuses.push(container_status(rec, current.as_ref()));
    }
    let phase = phase(&statuses, &w.pod, sandbox_error.is_some());
    let all_ready = !statuses.is_empty() && statuses.iter().all(|s| s.ready);
    let now = k8s_time(Utc::now());
    let condition = |type_: &str, ok: bool, reason: Option<&str>| PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        last_transition_time: Some(now.clone()),
        reason: reason.map(str::to_string),
        ..Default::default()
    };
    let not_ready: Vec<&str> = statuses.iter().filter(|s| !s.ready).map(|s| s.name.as_str()).collect();
    let ready_reason = if all_ready { None } else { Some("ContainersNotReady") };
    let message = (!not_ready.is_empty()).then(|| format!("containers with unready status: [{}]", not_ready.join(" ")));
    let mut conditions = vec![
        condition("PodScheduled", true, None),
        condition("Initialized", true, None),
        condition("ContainersReady", all_ready, ready_reason),
        condition("Ready", all_ready, ready_reason),
    ];
    for c in conditions.iter_mut().skip(2) {
        c.message = message.clone();
    }
    let node_ip = w.kubelet.config.node_ip.to_string();
    PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(conditions),
        pod_ip: pod_ip.map(|ip| ip.to_string()),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip: ip.to_string() }]),
        host_ip: Some(node_ip.clone()),
        host_ips: Some(vec![HostIP { ip: node_ip }]),
        start_time: start_time.map(k8s_time),
        container_statuses: Some(statuses),
        message: sandbox_error,
        qos_class: Some("BestEffort".into()),
        ..Default::default()
    }
}

fn terminated(t: &Termination) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: t.exit_code,
        reason: Some(t.reason.clone()),
        message: t.message.clone(),
        started_at: t.started_at.map(k8s_time),
        finished_at: t.finished_at.map(k8s_time),
        container_id: Some(container_uri(&t.container_id.0)),
        ..Default::default()
    }
}

fn container_uri(id: &str) -> String {
    format!("podspec://{id}")
}

fn container_status(rec: &ContainerRecord, current: Option<&ContainerStatus>) -> K8sStatus {
    let waiting = |reason: &str, message: Option<String>| K8sState {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.to_string()), message }),
        ..Default::default()
    };
    let state = match (&rec.waiting, current) {
        (Some((reason, message)), _) => waiting(reason, message.clone()),
        (None, Some(c)) if c.state == ContainerState::Running => {
            K8sState { running: Some(ContainerStateRunning { started_at: c.started_at.map(k8s_time) }), ..Default::default() }
        }
        (None, Some(c)) if c.state == ContainerState::Exited && (rec.done || rec.restart_due.is_none()) => {
            let t = Termination {
                exit_code: c.exit_code.unwrap_or(0),
                reason: c.reason.clone().unwrap_or_else(|| "Error".into()),
                message: c.message.clone(),
                started_at: c.started_at,
                finished_at: c.finished_at,
                container_id: c.id.clone(),
            };
            K8sState { terminated: Some(terminated(&t)), ..Default::default() }
        }
        // Exited and about to restart without back-off.
        (None, Some(_)) => waiting("ContainerCreating", None),
        (None, None) => waiting("ContainerCreating", None),
    };
    let running = state.running.is_some();
    K8sStatus {
        name: rec.name.clone(),
        image: rec.image.clone(),
        image_id: rec.image.clone(),
        container_id: current.map(|c| container_uri(&c.id.0)),
        ready: running,
        started: Some(running),
        restart_count: rec.restart_count as i32,
        state: Some(state),
        last_state: rec.last_termination.as_ref().map(|t| K8sState { terminated: Some(terminated(t)), ..Default::default() }),
        ..Default::default()
    }
}

/// The pod phase, from the container statuses (pkg/kubelet/kubelet_pods.go getPhase, for pods
/// without init containers).
fn phase(statuses: &[K8sStatus], pod: &k8s_openapi::api::core::v1::Pod, sandbox_failed: bool) -> &'static str {
    if sandbox_failed || statuses.is_empty() {
        return "Pending";
    }
    let policy = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always");
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for s in statuses {
        let st = s.state.as_ref();
        if st.is_some_and(|x| x.running.is_some()) {
            running += 1;
        } else if let Some(t) = st.and_then(|x| x.terminated.as_ref()) {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if s.last_state.as_ref().is_some_and(|l| l.terminated.is_some()) {
            // Waiting to restart after having run: it counts as stopped.
            stopped += 1;
        } else {
            waiting += 1;
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped == statuses.len() {
        if policy == "Always" {
            return "Running";
        }
        if succeeded == stopped {
            return "Succeeded";
        }
        if policy == "Never" {
            return "Failed";
        }
        // OnFailure: the failed ones will restart.
        return "Running";
    }
    "Pending"
}
