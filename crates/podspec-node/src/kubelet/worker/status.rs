//! Builds a pod's `status` from what the worker recorded and what the runtime reports, the way
//! the kubelet's status manager does (phase, conditions, container statuses).

use k8s_openapi::api::core::v1::{
    ContainerState as K8sState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus as K8sStatus,
    HostIP, PodCondition, PodIP, PodStatus,
};

use super::{ContainerRecord, Kind, PodWorker, Terminal, Termination};
use podspec_api::time;
use podspec_cri::cri::{ContainerState, ContainerStatus};

pub(super) async fn pod_status(w: &PodWorker) -> PodStatus {
    let (records, pod_ip, start_time, sandbox_error, initialized, terminal) = {
        let st = w.state.lock().unwrap();
        (st.containers.clone(), st.pod_ip, st.start_time, st.sandbox_error.clone(), st.initialized, st.terminal.clone())
    };
    let pod = w.pod();
    let mut init_statuses = Vec::new();
    let mut statuses = Vec::new();
    let mut ephemeral_statuses = Vec::new();
    // The runtime's statuses of the current instances, asked for all at once.
    let runtime = &w.node.runtime;
    let currents = futures::future::join_all(records.iter().map(|rec| async move {
        match &rec.current {
            Some(id) => runtime.container_status(id).await.ok(),
            None => None,
        }
    }))
    .await;
    for (rec, current) in records.iter().zip(currents) {
        let message = current
            .as_ref()
            .filter(|c| c.state == ContainerState::Exited)
            .and_then(|c| w.termination_message(&rec.name, rec.restart_count, c.exit_code.unwrap_or(0), &c.log_path));
        let status = container_status(rec, current.as_ref(), message);
        match rec.kind {
            Kind::App => statuses.push(status),
            Kind::Ephemeral => ephemeral_statuses.push(status),
            Kind::Init | Kind::Sidecar => init_statuses.push((rec.kind, status)),
        }
    }
    let policy = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always");
    let phase = match &terminal {
        Some(t) => t.phase,
        None => phase(&init_statuses, &statuses, policy, sandbox_error.is_some()),
    };
    // Pods do not leave a terminal phase: once reached, the worker keeps it.
    let terminal = terminal.or_else(|| matches!(phase, "Succeeded" | "Failed").then_some(Terminal { phase, reason: None, message: None }));
    if let Some(t) = &terminal {
        w.state.lock().unwrap().terminal.get_or_insert_with(|| t.clone());
    }
    let now = time::now();
    // The generation of the pod this status was worked out from (Kubernetes 1.34's kubelet,
    // PodObservedGenerationTracking): in the status and in each of the kubelet's conditions. A
    // static pod's is 1, as its mirror pod's.
    let observed_generation = pod.metadata.generation.or(w.is_static.then_some(1));
    let condition = |type_: &str, ok: bool, reason: Option<&str>, message: Option<String>| PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        last_transition_time: Some(now.clone()),
        reason: reason.map(str::to_string),
        message,
        observed_generation,
        ..Default::default()
    };
    // ContainersReady and Ready count the sidecars (restartable init containers) first, then
    // the app containers (pkg/kubelet/status GenerateContainersReadyCondition).
    let counted: Vec<&K8sStatus> =
        init_statuses.iter().filter(|(kind, _)| *kind == Kind::Sidecar).map(|(_, s)| s).chain(statuses.iter()).collect();
    let all_ready = !statuses.is_empty() && counted.iter().all(|s| s.ready);
    let not_ready: Vec<&str> = counted.iter().filter(|s| !s.ready).map(|s| s.name.as_str()).collect();
    let (ready_reason, ready_message) = match (phase, all_ready) {
        ("Succeeded", _) => (Some("PodCompleted"), None),
        ("Failed", _) => (Some("PodFailed"), None),
        (_, true) => (None, None),
        (_, false) => (Some("ContainersNotReady"), Some(format!("containers with unready status: [{}]", not_ready.join(" ")))),
    };
    let ready = all_ready && terminal.is_none();
    let incomplete: Vec<&str> = records
        .iter()
        .filter(|r| match r.kind {
            Kind::Init => r.done != Some(0),
            Kind::Sidecar => !r.attempted || (r.current.is_none() && r.restart_count == 0),
            Kind::App | Kind::Ephemeral => false,
        })
        .map(|r| r.name.as_str())
        .collect();
    let init_condition = if initialized || incomplete.is_empty() {
        condition("Initialized", true, (phase == "Succeeded").then_some("PodCompleted"), None)
    } else {
        condition(
            "Initialized",
            false,
            Some("ContainersNotInitialized"),
            Some(format!("containers with incomplete status: [{}]", incomplete.join(" "))),
        )
    };
    let conditions = vec![
        condition("PodReadyToStartContainers", pod_ip.is_some() && terminal.is_none(), None, None),
        init_condition,
        condition("Ready", ready, ready_reason, ready_message.clone()),
        condition("ContainersReady", ready, ready_reason, ready_message),
        condition("PodScheduled", true, None, None),
    ];
    let node_ip = w.node.config.node_ip.to_string();
    let init_statuses: Vec<K8sStatus> = init_statuses.into_iter().map(|(_, s)| s).collect();
    PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(conditions),
        reason: terminal.as_ref().and_then(|t| t.reason.clone()),
        message: terminal.as_ref().and_then(|t| t.message.clone()).or(sandbox_error),
        pod_ip: pod_ip.map(|ip| ip.to_string()),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip: ip.to_string() }]),
        host_ip: Some(node_ip.clone()),
        host_ips: Some(vec![HostIP { ip: node_ip }]),
        start_time: start_time.map(time::at),
        container_statuses: Some(statuses),
        init_container_statuses: (!init_statuses.is_empty()).then_some(init_statuses),
        ephemeral_container_statuses: (!ephemeral_statuses.is_empty()).then_some(ephemeral_statuses),
        qos_class: Some(podspec_api::qos::qos_class(&w.pod()).into()),
        observed_generation,
        ..Default::default()
    }
}

/// The status manager's `updateLastTransitionTime` (pkg/kubelet/status/status_manager.go): a
/// condition whose status is the one already stored keeps that one's `lastTransitionTime`.
pub(super) fn keep_transition_times(previous: Option<&PodStatus>, status: &mut PodStatus) {
    let Some(old) = previous.and_then(|p| p.conditions.as_ref()) else { return };
    for c in status.conditions.iter_mut().flatten() {
        if let Some(o) = old.iter().find(|o| o.type_ == c.type_ && o.status == c.status) {
            c.last_transition_time = o.last_transition_time.clone();
        }
    }
}

fn terminated(t: &Termination) -> ContainerStateTerminated {
    ContainerStateTerminated {
        exit_code: t.exit_code,
        reason: Some(t.reason.clone()),
        message: t.message.clone(),
        started_at: t.started_at.map(time::at),
        finished_at: t.finished_at.map(time::at),
        container_id: Some(container_uri(&t.container_id.0)),
        ..Default::default()
    }
}

fn container_uri(id: &str) -> String {
    format!("podspec://{id}")
}

/// `message`: the ended container's termination message, if the kubelet read one.
fn container_status(rec: &ContainerRecord, current: Option<&ContainerStatus>, message: Option<String>) -> K8sStatus {
    let waiting = |reason: &str, message: Option<String>| K8sState {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.to_string()), message }),
        ..Default::default()
    };
    let state = match (&rec.waiting, current) {
        (Some((reason, message)), _) => waiting(reason, message.clone()),
        (None, Some(c)) if c.state == ContainerState::Running => {
            K8sState { running: Some(ContainerStateRunning { started_at: c.started_at.map(time::at) }), ..Default::default() }
        }
        (None, Some(c)) if c.state == ContainerState::Exited && (rec.done.is_some() || rec.restart_due.is_none()) => {
            let t = Termination {
                exit_code: c.exit_code.unwrap_or(0),
                reason: c.reason.clone().unwrap_or_else(|| "Error".into()),
                message: message.or(c.message.clone()),
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
    // A completed init container is ready; others are ready while they run.
    // An ephemeral container is never ready, and has no `started` (the prober sets both for
    // containers and init containers only).
    // Probes: a startup probe holds `started` (and readiness) until it succeeds; a readiness
    // probe holds `ready` until it does.
    let ready = match rec.kind {
        Kind::Init => state.terminated.as_ref().is_some_and(|t| t.exit_code == 0),
        Kind::Ephemeral => false,
        _ => running && rec.probe.ready(),
    };
    let started = (rec.kind != Kind::Ephemeral).then_some(running && rec.probe.started());
    K8sStatus {
        name: rec.name.clone(),
        image: rec.image.clone(),
        image_id: rec.image.clone(),
        container_id: current.map(|c| container_uri(&c.id.0)),
        ready,
        started,
        restart_count: rec.restart_count as i32,
        state: Some(state),
        last_state: rec.last_termination.as_ref().map(|t| K8sState { terminated: Some(terminated(t)), ..Default::default() }),
        ..Default::default()
    }
}

/// The pod phase, from the container statuses (pkg/kubelet/kubelet_pods.go getPhase).
fn phase(init: &[(Kind, K8sStatus)], statuses: &[K8sStatus], policy: &str, sandbox_failed: bool) -> &'static str {
    if sandbox_failed || statuses.is_empty() {
        return "Pending";
    }
    let (mut pending_init, mut failed_init) = (0, 0);
    let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for (kind, s) in init {
        let st = s.state.as_ref();
        let terminated = st.and_then(|x| x.terminated.as_ref());
        match kind {
            Kind::Sidecar => {
                // Pending until it has started once; a stopped sidecar does not count, but one
                // that runs keeps the pod Running (the app containers may all have ended: the
                // pod is done once its sidecars have stopped too).
                let ran = s.started == Some(true) || terminated.is_some() || s.last_state.as_ref().is_some_and(|l| l.terminated.is_some());
                if !ran {
                    pending_init += 1;
                }
                if st.is_some_and(|x| x.running.is_some()) {
                    running += 1;
                }
            }
            _ => {
                if terminated.is_some_and(|t| t.exit_code == 0) {
                    continue;
                }
                let last_failed = s.last_state.as_ref().and_then(|l| l.terminated.as_ref()).is_some_and(|t| t.exit_code != 0);
                if terminated.is_some_and(|t| t.exit_code != 0) || (st.is_some_and(|x| x.waiting.is_some()) && last_failed) {
                    failed_init += 1;
                } else {
                    pending_init += 1;
                }
            }
        }
    }
    if failed_init > 0 && policy == "Never" {
        return "Failed";
    }
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
    if pending_init > 0 || failed_init > 0 || waiting > 0 {
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

/// The condition types the kubelet owns (pkg/kubelet/types PodConditionsByKubelet, with
/// PodReadyToStartContainers): every other condition in the stored status was written by
/// someone else (a controller, a readiness gate's owner, `kubectl patch --subresource=status`)
/// and the status manager keeps it when it writes its own (mergePodStatus).
const KUBELET_CONDITIONS: &[&str] = &["PodScheduled", "Ready", "Initialized", "ContainersReady", "PodReadyToStartContainers"];

/// `mine` with the conditions of `stored` that are not the kubelet's appended, as the status
/// manager merges them.
pub(super) fn keep_others_conditions(mine: &mut PodStatus, stored: Option<&PodStatus>) {
    let others = stored
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| !KUBELET_CONDITIONS.contains(&c.type_.as_str()))
        .cloned();
    mine.conditions.get_or_insert_with(Vec::new).extend(others);
}

/// The readiness gates' part of `Ready` (pkg/kubelet/status GeneratePodReadyCondition): a pod
/// whose containers are all ready is Ready only when the condition of each of its readiness
/// gates is True in its status (`conditions` already holds the ones others wrote). Otherwise
/// Ready is False with reason ReadinessGatesNotReady and the kubelet's message.
pub(super) fn apply_readiness_gates(status: &mut PodStatus, gates: &[String]) {
    let Some(conditions) = status.conditions.as_mut() else { return };
    let unready: Vec<String> = gates
        .iter()
        .filter_map(|gate| match conditions.iter().find(|c| &c.type_ == gate) {
            None => Some(format!("corresponding condition of pod readiness gate {gate:?} does not exist.")),
            Some(c) if c.status != "True" => Some(format!("the status of pod readiness gate {gate:?} is not \"True\", but {}", c.status)),
            Some(_) => None,
        })
        .collect();
    let Some(ready) = conditions.iter_mut().find(|c| c.type_ == "Ready") else { return };
    if ready.status == "True" && !unready.is_empty() {
        ready.status = "False".into();
        ready.reason = Some(READINESS_GATES_NOT_READY.into());
        ready.message = Some(unready.join(", "));
    }
}

/// The reason of a Ready condition held False by a readiness gate.
const READINESS_GATES_NOT_READY: &str = "ReadinessGatesNotReady";

#[cfg(test)]
mod merge_tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodCondition;

    fn cond(t: &str) -> PodCondition {
        PodCondition { type_: t.into(), status: "True".into(), ..Default::default() }
    }

    #[test]
    fn conditions_someone_else_wrote_are_kept_and_the_kubelets_own_are_its_own() {
        let mut mine = PodStatus { conditions: Some(vec![cond("Ready")]), ..Default::default() };
        let stored =
            PodStatus { conditions: Some(vec![cond("Ready"), cond("example.com/Checked"), cond("PodScheduled")]), ..Default::default() };
        keep_others_conditions(&mut mine, Some(&stored));
        let types: Vec<&str> = mine.conditions.iter().flatten().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "example.com/Checked"]);
    }

    #[test]
    fn ready_waits_for_every_readiness_gate_to_be_true() {
        let gates = ["k8s.io/one".to_string(), "k8s.io/two".to_string()];
        let with = |extra: Vec<PodCondition>| {
            let mut conditions = vec![cond("Ready"), cond("ContainersReady")];
            conditions.extend(extra);
            let mut status = PodStatus { conditions: Some(conditions), ..Default::default() };
            apply_readiness_gates(&mut status, &gates);
            let ready = status.conditions.unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap();
            (ready.status, ready.reason, ready.message)
        };
        let (status, reason, message) = with(vec![cond("k8s.io/one")]);
        assert_eq!((status.as_str(), reason.as_deref()), ("False", Some("ReadinessGatesNotReady")));
        assert_eq!(message.as_deref(), Some("corresponding condition of pod readiness gate \"k8s.io/two\" does not exist."));
        let mut two_false = cond("k8s.io/two");
        two_false.status = "False".into();
        let (_, _, message) = with(vec![cond("k8s.io/one"), two_false]);
        assert_eq!(message.as_deref(), Some("the status of pod readiness gate \"k8s.io/two\" is not \"True\", but False"));
        assert_eq!(with(vec![cond("k8s.io/one"), cond("k8s.io/two")]).0, "True");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(type_: &str, status: &str, ms: i64) -> PodCondition {
        PodCondition {
            type_: type_.into(),
            status: status.into(),
            last_transition_time: Some(time::at(jiff::Timestamp::from_millisecond(ms).unwrap())),
            ..Default::default()
        }
    }

    #[test]
    fn a_condition_keeps_its_transition_time_until_its_status_changes() {
        let old = PodStatus {
            conditions: Some(vec![condition("Ready", "False", 1000), condition("PodScheduled", "True", 1000)]),
            ..Default::default()
        };
        let mut new = PodStatus {
            conditions: Some(vec![condition("Ready", "True", 5000), condition("PodScheduled", "True", 5000)]),
            ..Default::default()
        };
        keep_transition_times(Some(&old), &mut new);
        let times: Vec<_> = new.conditions.unwrap().into_iter().map(|c| c.last_transition_time.unwrap().0.as_millisecond()).collect();
        assert_eq!(times, vec![5000, 1000]);
    }
}

#[cfg(test)]
mod phase_tests {
    use super::*;

    fn running() -> K8sStatus {
        K8sStatus {
            started: Some(true),
            state: Some(K8sState { running: Some(ContainerStateRunning::default()), ..Default::default() }),
            ..Default::default()
        }
    }

    fn exited(code: i32) -> K8sStatus {
        let terminated = ContainerStateTerminated { exit_code: code, ..Default::default() };
        K8sStatus { state: Some(K8sState { terminated: Some(terminated), ..Default::default() }), ..Default::default() }
    }

    /// getPhase counts a running sidecar among the running containers: a pod whose app
    /// containers have all ended stays Running until its sidecars have stopped too ("All regular
    /// containers are terminated in success and all restartable init containers are stopped").
    #[test]
    fn a_pod_is_done_only_once_its_sidecars_have_stopped() {
        for policy in ["Never", "OnFailure"] {
            assert_eq!(phase(&[(Kind::Sidecar, running())], &[exited(0)], policy, false), "Running", "{policy}");
            assert_eq!(phase(&[(Kind::Sidecar, exited(143))], &[exited(0)], policy, false), "Succeeded", "{policy}");
        }
        assert_eq!(phase(&[(Kind::Sidecar, running())], &[exited(1)], "Never", false), "Running");
        assert_eq!(phase(&[(Kind::Sidecar, exited(0))], &[exited(1)], "Never", false), "Failed");
    }
}
