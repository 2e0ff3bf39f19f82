//! What `podman pod inspect` and `podman container inspect` print (the fields podspec reads), and
//! the Kubernetes `PodStatus` made from it: phase, conditions, container statuses (state,
//! restart count), pod IP.
//!
//! Only what podman tells is reported. In particular podman keeps one container across its
//! restarts and forgets the exit code of the run before the current one, so `lastState` is
//! never filled in.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, HostIP,
    PodCondition, PodIP, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Deserialize;

/// `podman pod inspect NAME` (an object in podman 4, a one-element array in podman 5).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PodInspect {
    pub id: String,
    pub name: String,
    pub created: String,
    pub state: String,
    #[serde(rename = "InfraContainerID")]
    pub infra_container_id: String,
    pub containers: Vec<PodContainer>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PodContainer {
    pub id: String,
    pub name: String,
    pub state: String,
}

impl PodInspect {
    /// Reads podman 4's object or podman 5's array.
    pub fn parse(json: &[u8]) -> Result<Self, serde_json::Error> {
        let v: serde_json::Value = serde_json::from_slice(json)?;
        match v {
            serde_json::Value::Array(mut items) if !items.is_empty() => serde_json::from_value(items.swap_remove(0)),
            other => serde_json::from_value(other),
        }
    }
}

/// One element of `podman ps --all --format json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerListed {
    pub id: String,
    pub names: Vec<String>,
    pub pod: String,
    pub is_infra: bool,
}

/// One element of `podman container inspect ...`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspect {
    pub id: String,
    pub name: String,
    pub created: String,
    pub image: String,
    pub image_name: String,
    pub state: State,
    pub restart_count: i32,
    pub is_infra: bool,
    pub config: Config,
    pub host_config: HostConfig,
    pub network_settings: NetworkSettings,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct State {
    pub status: String,
    pub running: bool,
    pub pid: i32,
    pub exit_code: i32,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Config {
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub restart_policy: RestartPolicy,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: i32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkSettings {
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    pub gateway: String,
    pub networks: BTreeMap<String, Network>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Network {
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    pub gateway: String,
}

impl ContainerInspect {
    /// The pod's IP and the host's address on the pod's network, as the (infra) container's
    /// network settings give them.
    pub fn addresses(&self) -> (Option<String>, Option<String>) {
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        if let Some(ip) = nonempty(&self.network_settings.ip_address) {
            return (Some(ip), nonempty(&self.network_settings.gateway));
        }
        self.network_settings
            .networks
            .values()
            .find(|n| !n.ip_address.is_empty())
            .map(|n| (nonempty(&n.ip_address), nonempty(&n.gateway)))
            .unwrap_or((None, None))
    }

    /// Whether podman's own restart policy will start this stopped container again.
    fn will_restart(&self) -> bool {
        match self.host_config.restart_policy.name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => {
                self.state.exit_code != 0
                    && (self.host_config.restart_policy.maximum_retry_count == 0
                        || self.restart_count < self.host_config.restart_policy.maximum_retry_count)
            }
            _ => false,
        }
    }
}

/// A podman timestamp (RFC 3339); podman's zero time means "never".
pub fn time(text: &str) -> Option<Time> {
    if text.is_empty() || text.starts_with("0001-01-01") {
        return None;
    }
    text.parse::<jiff::Timestamp>().ok().map(Time)
}

/// The status of one container of the pod, from podman's view of it.
pub fn container_status(spec: &Container, c: &ContainerInspect) -> ContainerStatus {
    let s = &c.state;
    let container_id = format!("podman://{}", c.id);
    let state = match s.status.as_str() {
        "running" | "paused" | "stopping" => {
            ContainerState { running: Some(ContainerStateRunning { started_at: time(&s.started_at) }), ..Default::default() }
        }
        "created" | "configured" | "initialized" => ContainerState {
            waiting: Some(ContainerStateWaiting { reason: Some("ContainerCreating".into()), message: None }),
            ..Default::default()
        },
        "exited" | "stopped" => ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: s.exit_code,
                reason: Some(
                    if s.oom_killed {
                        "OOMKilled"
                    } else if s.exit_code == 0 {
                        "Completed"
                    } else {
                        "Error"
                    }
                    .into(),
                ),
                message: (!s.error.is_empty()).then(|| s.error.clone()),
                started_at: time(&s.started_at),
                finished_at: time(&s.finished_at),
                container_id: Some(container_id.clone()),
                signal: None,
            }),
            ..Default::default()
        },
        other => ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("Unknown".into()),
                message: Some(format!("podman reports the container as {other:?}")),
            }),
            ..Default::default()
        },
    };
    let running = state.running.is_some();
    ContainerStatus {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        image_id: c.image.clone(),
        container_id: Some(container_id),
        ready: running,
        started: Some(running),
        restart_count: c.restart_count,
        state: Some(state),
        ..Default::default()
    }
}

fn waiting(spec: &Container, reason: &str, message: String) -> ContainerStatus {
    ContainerStatus {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        state: Some(ContainerState {
            waiting: Some(ContainerStateWaiting { reason: Some(reason.into()), message: Some(message) }),
            ..Default::default()
        }),
        started: Some(false),
        ..Default::default()
    }
}

/// The phase, as the kubelet derives it from container states: Pending until every container
/// has started; Running while one runs or podman will restart it; then Succeeded or Failed.
fn phase(statuses: &[(ContainerStatus, Option<&ContainerInspect>)]) -> &'static str {
    if statuses.is_empty() {
        return "Pending";
    }
    let mut all_zero = true;
    let mut any_live = false;
    for (st, inspect) in statuses {
        let state = st.state.clone().unwrap_or_default();
        if state.waiting.is_some() {
            return "Pending";
        }
        if state.running.is_some() {
            any_live = true;
        }
        if let Some(t) = state.terminated {
            all_zero &= t.exit_code == 0;
            if inspect.is_some_and(|c| c.will_restart()) {
                any_live = true;
            }
        }
    }
    match (any_live, all_zero) {
        (true, _) => "Running",
        (false, true) => "Succeeded",
        (false, false) => "Failed",
    }
}

/// Where the pod's init containers are, as podman shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Init {
    /// Every init container completed, or podman removed it (kube play removes an init
    /// container once it has run).
    Done,
    /// One has not completed yet.
    Pending,
    /// One failed and podman will not run it again.
    Failed,
}

/// `sidecars`: the names of init containers with `restartPolicy: Always`, which count as done
/// once they run.
fn init_progress(init: &[(ContainerStatus, Option<&ContainerInspect>)], sidecars: &[&str]) -> Init {
    for (st, inspect) in init {
        let Some(c) = inspect else { continue };
        let state = st.state.clone().unwrap_or_default();
        if state.running.is_some() && sidecars.contains(&st.name.as_str()) {
            continue;
        }
        match state.terminated {
            Some(t) if t.exit_code == 0 => {}
            Some(_) if !c.will_restart() => return Init::Failed,
            _ => return Init::Pending,
        }
    }
    Init::Done
}

/// The pod's status: `containers` are what `podman container inspect` printed for the pod's
/// containers (the infra container among them); a container is found by its podman name,
/// `<podman pod name>-<container name>`. The pod started when its infra container was created.
///
/// An init container podman no longer has gets no status (podman does not say how it ended);
/// an app container podman has not started while an init container has not completed waits
/// with reason `PodInitializing`, as the kubelet says it.
pub fn pod_status(spec: &PodSpec, podman_pod: &str, containers: &[ContainerInspect]) -> PodStatus {
    let find = |name: &str| {
        let full = format!("{podman_pod}-{name}");
        containers.iter().find(|c| !c.is_infra && c.name == full)
    };
    let init: Vec<(ContainerStatus, Option<&ContainerInspect>)> =
        spec.init_containers.iter().flatten().filter_map(|s| find(&s.name).map(|c| (container_status(s, c), Some(c)))).collect();
    let sidecars: Vec<&str> =
        spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always")).map(|c| c.name.as_str()).collect();
    let progress = init_progress(&init, &sidecars);
    let mut main: Vec<(ContainerStatus, Option<&ContainerInspect>)> = spec
        .containers
        .iter()
        .map(|s| match find(&s.name) {
            Some(c) => (container_status(s, c), Some(c)),
            None => (waiting(s, "ContainerCreating", format!("podman has no container {podman_pod}-{}", s.name)), None),
        })
        .collect();
    if progress != Init::Done {
        for (st, _) in main.iter_mut() {
            if let Some(w) = st.state.as_mut().and_then(|s| s.waiting.as_mut()) {
                w.reason = Some("PodInitializing".into());
                w.message = None;
            }
        }
    }
    let phase = match progress {
        Init::Failed => "Failed",
        Init::Pending => "Pending",
        Init::Done => phase(&main),
    };
    let infra = containers.iter().find(|c| c.is_infra);
    let (pod_ip, host_ip) = infra.map(ContainerInspect::addresses).unwrap_or((None, None));
    let all_ready = !main.is_empty() && main.iter().all(|(s, _)| s.ready);
    let not_ready: Vec<&str> = main.iter().filter(|(s, _)| !s.ready).map(|(s, _)| s.name.as_str()).collect();
    let completed = phase == "Succeeded" || phase == "Failed";
    let condition = |type_: &str, ok: bool| PodCondition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        reason: (!ok).then(|| if completed { "PodCompleted" } else { "ContainersNotReady" }.to_string()),
        message: (!ok && !completed).then(|| format!("containers with unready status: [{}]", not_ready.join(" "))),
        ..Default::default()
    };
    let initialized = progress == Init::Done;
    let not_initialized: Vec<&str> = init
        .iter()
        .filter(|(s, _)| s.state.as_ref().is_none_or(|st| st.terminated.as_ref().is_none_or(|t| t.exit_code != 0)))
        .map(|(s, _)| s.name.as_str())
        .collect();
    PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(vec![
            PodCondition { type_: "PodScheduled".into(), status: "True".into(), ..Default::default() },
            PodCondition {
                type_: "Initialized".into(),
                status: if initialized { "True" } else { "False" }.into(),
                reason: (!initialized).then(|| if completed { "PodCompleted" } else { "ContainersNotInitialized" }.to_string()),
                message: (!initialized && !completed)
                    .then(|| format!("containers with incomplete status: [{}]", not_initialized.join(" "))),
                ..Default::default()
            },
            condition("ContainersReady", all_ready),
            condition("Ready", all_ready),
        ]),
        pod_ip: pod_ip.clone(),
        pod_ips: pod_ip.map(|ip| vec![PodIP { ip }]),
        host_ip: host_ip.clone(),
        host_ips: host_ip.map(|ip| vec![HostIP { ip }]),
        start_time: infra.and_then(|c| time(&c.created)),
        container_statuses: Some(main.into_iter().map(|(s, _)| s).collect()),
        init_container_statuses: (!init.is_empty()).then(|| init.into_iter().map(|(s, _)| s).collect()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shapes as podman 4.3 prints them (trimmed to the fields read).
    const POD: &str = r#"{
        "Id": "ec805c57", "Name": "podspec-1-1.two", "Created": "2026-11-21T10:18:44.322897632Z",
        "State": "Running", "InfraContainerID": "57b245e7",
        "Containers": [{"Id": "57b245e7", "Name": "ec805c57085c-infra", "State": "running"},
                       {"Id": "b00d681e", "Name": "podspec-1-1.two-a", "State": "running"}]
    }"#;

    fn container(name: &str, status: &str, exit: i32, restarts: i32, policy: &str) -> ContainerInspect {
        let json = format!(
            r#"{{"Id": "id-{name}", "Name": "{name}", "Image": "f463bee7", "RestartCount": {restarts}, "IsInfra": false,
                "State": {{"Status": "{status}", "Running": {running}, "Pid": 5244, "ExitCode": {exit}, "OOMKilled": false,
                          "Error": "", "StartedAt": "2026-11-21T10:18:44.514511696Z", "FinishedAt": "0001-01-01T00:00:00Z"}},
                "Config": {{"Annotations": {{"io.podspec.run": "1-2"}}}},
                "HostConfig": {{"RestartPolicy": {{"Name": "{policy}", "MaximumRetryCount": 0}}}},
                "NetworkSettings": {{"IPAddress": "", "Networks": {{}}}}}}"#,
            running = status == "running"
        );
        serde_json::from_str(&json).unwrap()
    }

    fn infra() -> ContainerInspect {
        serde_json::from_str(
            r#"{"Id": "57b245e7", "Name": "ec805c57085c-infra", "IsInfra": true, "State": {"Status": "running"},
                "Created": "2026-11-21T10:18:44.322897632Z",
                "NetworkSettings": {"IPAddress": "", "Gateway": "",
                  "Networks": {"podman-default-kube-network": {"IPAddress": "10.89.0.2", "Gateway": "10.89.0.1"}}}}"#,
        )
        .unwrap()
    }

    fn spec(names: &[&str], policy: &str) -> PodSpec {
        PodSpec {
            containers: names
                .iter()
                .map(|n| Container { name: n.to_string(), image: Some("busybox:1.36".into()), ..Default::default() })
                .collect(),
            restart_policy: Some(policy.into()),
            ..Default::default()
        }
    }

    #[test]
    fn podman_4_objects_and_podman_5_arrays_are_both_read() {
        let a = PodInspect::parse(POD.as_bytes()).unwrap();
        let b = PodInspect::parse(format!("[{POD}]").as_bytes()).unwrap();
        assert_eq!(a.infra_container_id, "57b245e7");
        assert_eq!(b.name, "podspec-1-1.two");
    }

    #[test]
    fn running_containers_make_a_running_pod_with_the_infra_ip() {
        let cs = vec![infra(), container("podspec-1-1.two-a", "running", 0, 2, "always")];
        let st = pod_status(&spec(&["a"], "Always"), "podspec-1-1.two", &cs);
        assert_eq!(st.phase.as_deref(), Some("Running"));
        assert_eq!(st.pod_ip.as_deref(), Some("10.89.0.2"));
        assert_eq!(st.host_ip.as_deref(), Some("10.89.0.1"));
        assert!(st.start_time.is_some());
        let c = &st.container_statuses.unwrap()[0];
        assert_eq!((c.name.as_str(), c.restart_count, c.ready), ("a", 2, true));
        assert!(c.state.as_ref().unwrap().running.as_ref().unwrap().started_at.is_some());
        assert!(c.last_state.is_none(), "podman does not tell the previous run's exit code");
    }

    #[test]
    fn exited_containers_give_succeeded_failed_or_running_by_podmans_restart_policy() {
        let phase_of = |exit: i32, policy: &str| {
            let cs = vec![infra(), container("p-a", "exited", exit, 0, policy)];
            pod_status(&spec(&["a"], "Never"), "p", &cs).phase.unwrap()
        };
        assert_eq!(phase_of(0, "no"), "Succeeded");
        assert_eq!(phase_of(1, "no"), "Failed");
        assert_eq!(phase_of(1, "on-failure"), "Running");
        assert_eq!(phase_of(0, "on-failure"), "Succeeded");
        assert_eq!(phase_of(0, "always"), "Running");
        let cs = vec![container("p-a", "exited", 137, 0, "no")];
        let t = pod_status(&spec(&["a"], "Never"), "p", &cs).container_statuses.unwrap()[0].state.clone().unwrap().terminated.unwrap();
        assert_eq!((t.exit_code, t.reason.as_deref()), (137, Some("Error")));
        assert!(t.finished_at.is_none(), "podman's zero time is no time");
    }

    #[test]
    fn a_completed_pod_is_not_ready_with_reason_pod_completed() {
        let cs = vec![infra(), container("p-a", "exited", 0, 0, "no")];
        let st = pod_status(&spec(&["a"], "Never"), "p", &cs);
        let ready = st.conditions.unwrap().into_iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("False", Some("PodCompleted")));
    }

    #[test]
    fn init_containers_keep_the_app_initializing_or_fail_the_pod() {
        let mut sp = spec(&["app"], "Never");
        sp.init_containers = Some(vec![Container { name: "setup".into(), ..Default::default() }]);
        let running = vec![infra(), container("p-setup", "running", 0, 0, "no"), container("p-app", "created", 0, 0, "no")];
        let st = pod_status(&sp, "p", &running);
        assert_eq!(st.phase.as_deref(), Some("Pending"));
        let app = &st.container_statuses.clone().unwrap()[0];
        assert_eq!(app.state.as_ref().unwrap().waiting.as_ref().unwrap().reason.as_deref(), Some("PodInitializing"));
        let init = st.conditions.unwrap().into_iter().find(|c| c.type_ == "Initialized").unwrap();
        assert_eq!((init.status.as_str(), init.reason.as_deref()), ("False", Some("ContainersNotInitialized")));
        let failed = vec![infra(), container("p-setup", "exited", 1, 0, "no"), container("p-app", "created", 0, 0, "no")];
        assert_eq!(pod_status(&sp, "p", &failed).phase.as_deref(), Some("Failed"));
        // kube play removes an init container once it has run: no status for it, and the pod goes on.
        // A running sidecar (an init container with restartPolicy Always) does not hold the pod.
        let mut with_sidecar = sp.clone();
        with_sidecar.init_containers.as_mut().unwrap()[0].restart_policy = Some("Always".into());
        let st = pod_status(&with_sidecar, "p", &running);
        assert_eq!(st.phase.as_deref(), Some("Pending"), "the app is not running yet");
        assert_eq!(
            st.container_statuses.unwrap()[0].state.as_ref().unwrap().waiting.as_ref().unwrap().reason.as_deref(),
            Some("ContainerCreating")
        );
        let removed = vec![infra(), container("p-app", "running", 0, 0, "no")];
        let st = pod_status(&sp, "p", &removed);
        assert_eq!(st.phase.as_deref(), Some("Running"));
        assert!(st.init_container_statuses.is_none());
    }

    #[test]
    fn a_container_podman_does_not_have_yet_keeps_the_pod_pending() {
        let cs = vec![infra(), container("p-a", "running", 0, 0, "always")];
        let st = pod_status(&spec(&["a", "b"], "Always"), "p", &cs);
        assert_eq!(st.phase.as_deref(), Some("Pending"));
        let b = &st.container_statuses.unwrap()[1];
        assert_eq!(b.state.as_ref().unwrap().waiting.as_ref().unwrap().reason.as_deref(), Some("ContainerCreating"));
    }
}
