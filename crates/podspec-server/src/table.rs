//! The Table form of pods and events (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`),
//! with the columns and STATUS rules of kube-apiserver's printers (pkg/printers/internalversion/
//! printers.go: podColumnDefinitions, printPod; eventColumnDefinitions, printEvent) and its
//! ages (apimachinery pkg/util/duration HumanDuration).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

/// Whether the client asked for a Table.
pub fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.split(',').next().is_some_and(|first| first.contains("as=Table")))
}

pub fn column_definitions() -> Value {
    let col = |name: &str, type_: &str, format: &str, description: &str, priority: i32| json!({"name": name, "type": type_, "format": format, "description": description, "priority": priority});
    json!([
        col("Name", "string", "name", "Name must be unique within a namespace.", 0),
        col("Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0),
        col("Status", "string", "", "The aggregate status of the containers in this pod.", 0),
        col(
            "Restarts",
            "string",
            "",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            0
        ),
        col("Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0),
        col("IP", "string", "", "IP address allocated to the pod. Routable at least within the cluster.", 1),
        col("Node", "string", "", "NodeName is a request to schedule this pod onto a specific node.", 1),
        col("Nominated Node", "string", "", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
        col("Readiness Gates", "string", "", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
    ])
}

/// A Table of pods; `with_columns` is false for the watch events after the first.
pub fn table(pods: &[Pod], resource_version: &str, with_columns: bool, include_object: &str) -> Value {
    let now = Timestamp::now();
    let rows: Vec<Value> = pods
        .iter()
        .map(|p| {
            let object = row_object(include_object, || serde_json::to_value(p).unwrap_or_default(), || json!(p.metadata));
            json!({"cells": cells(p, now), "object": object})
        })
        .collect();
    table_of(rows, column_definitions, resource_version, with_columns)
}

/// What a row carries of its object (`includeObject`): nothing, the whole object, or (the
/// default) its metadata as a PartialObjectMetadata.
fn row_object(include_object: &str, whole: impl FnOnce() -> Value, metadata: impl FnOnce() -> Value) -> Value {
    match include_object {
        "None" => Value::Null,
        "Object" => whole(),
        _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata()}),
    }
}

/// The Table: its rows, and its column definitions unless it is a watch event after the first.
fn table_of(rows: Vec<Value>, columns: impl FnOnce() -> Value, resource_version: &str, with_columns: bool) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": if with_columns { columns() } else { json!([]) },
        "rows": rows,
    })
}

/// NAME, READY, STATUS, RESTARTS, AGE, IP, NODE, NOMINATED NODE, READINESS GATES.
pub fn cells(pod: &Pod, now: Timestamp) -> Vec<Value> {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let total = spec.containers.len();
    let mut restarts = 0;
    let mut ready = 0;
    let mut last_restart: Option<Timestamp> = None;
    let mut reason = status.reason.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| status.phase.clone().unwrap_or_default());

    let mut initializing = false;
    let inits = status.init_container_statuses.clone().unwrap_or_default();
    let sidecars: Vec<String> =
        spec.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always")).map(|c| c.name.clone()).collect();
    for (i, c) in inits.iter().enumerate() {
        restarts += c.restart_count;
        if let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.finished_at.as_ref()) {
            last_restart = Some(last_restart.map_or(t.0, |l: Timestamp| l.max(t.0)));
        }
        let state = c.state.clone().unwrap_or_default();
        if state.terminated.as_ref().is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if sidecars.contains(&c.name) && c.started == Some(true) {
            continue;
        }
        if let Some(t) = &state.terminated {
            reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None if t.signal.unwrap_or(0) != 0 => format!("Init:Signal:{}", t.signal.unwrap_or(0)),
                None => format!("Init:ExitCode:{}", t.exit_code),
            };
        } else if let Some(r) = state.waiting.as_ref().and_then(|w| w.reason.clone()).filter(|r| !r.is_empty() && r != "PodInitializing") {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{}", spec.init_containers.as_ref().map_or(0, Vec::len));
        }
        initializing = true;
        break;
    }
    if !initializing {
        restarts = 0;
        let mut has_running = false;
        for c in status.container_statuses.clone().unwrap_or_default().iter().rev() {
            restarts += c.restart_count;
            if let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()).and_then(|t| t.finished_at.as_ref()) {
                last_restart = Some(last_restart.map_or(t.0, |l: Timestamp| l.max(t.0)));
            }
            let state = c.state.clone().unwrap_or_default();
            if let Some(r) = state.waiting.as_ref().and_then(|w| w.reason.clone()).filter(|r| !r.is_empty()) {
                reason = r;
            } else if let Some(t) = &state.terminated {
                reason = match t.reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => r.to_string(),
                    None if t.signal.unwrap_or(0) != 0 => format!("Signal:{}", t.signal.unwrap_or(0)),
                    None => format!("ExitCode:{}", t.exit_code),
                };
            } else if c.ready && state.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True");
            reason = if pod_ready { "Running".into() } else { "NotReady".into() };
        }
    }
    if pod.metadata.deletion_timestamp.is_some() {
        reason = if status.reason.as_deref() == Some("NodeLost") { "Unknown".into() } else { "Terminating".into() };
    }
    let restarts_cell = match last_restart {
        Some(t) if restarts > 0 => format!("{restarts} ({} ago)", human_duration(since(t, now))),
        _ => restarts.to_string(),
    };
    let age = pod.metadata.creation_timestamp.as_ref().map_or("<unknown>".to_string(), |t| human_duration(since(t.0, now)));
    let ip = status.pod_ip.clone().unwrap_or_else(|| "<none>".into());
    let node = spec.node_name.clone().unwrap_or_else(|| "<none>".into());
    let nominated = status.nominated_node_name.clone().unwrap_or_else(|| "<none>".into());
    let gates = match spec.readiness_gates.as_ref().filter(|g| !g.is_empty()) {
        None => "<none>".to_string(),
        Some(g) => {
            let met = g
                .iter()
                .filter(|gate| status.conditions.iter().flatten().any(|c| c.type_ == gate.condition_type && c.status == "True"))
                .count();
            format!("{met}/{}", g.len())
        }
    };
    vec![
        json!(pod.metadata.name.clone().unwrap_or_default()),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
        json!(age),
        json!(ip),
        json!(node),
        json!(nominated),
        json!(gates),
    ]
}

/// A Table of events, with every column (the server prints wide; kubectl shows the columns
/// of priority 0 unless `-o wide`).
pub fn event_table(
    events: &[k8s_openapi::api::core::v1::Event],
    resource_version: &str,
    with_columns: bool,
    include_object: &str,
) -> Value {
    let col = |name: &str, type_: &str, description: &str, priority: i32| json!({"name": name, "type": type_, "format": "", "description": description, "priority": priority});
    let now = Timestamp::now();
    let age = |t: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
        t.as_ref().map_or_else(|| "<unknown>".to_string(), |t| human_duration(since(t.0, now)))
    };
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            let o = &e.involved_object;
            let kind = o.kind.clone().unwrap_or_default().to_lowercase();
            let target = match o.name.as_deref() {
                Some(n) if !n.is_empty() => format!("{kind}/{n}"),
                _ => kind,
            };
            let source = e.source.as_ref().map_or(String::new(), |s| match (&s.component, &s.host) {
                (Some(c), Some(h)) => format!("{c}, {h}"),
                (Some(c), None) => c.clone(),
                _ => String::new(),
            });
            let first = age(&e.first_timestamp);
            let last = if e.last_timestamp.is_some() { age(&e.last_timestamp) } else { first.clone() };
            let object = row_object(include_object, || serde_json::to_value(e).unwrap_or_default(), || json!(e.metadata));
            let cells = json!([
                last,
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                target,
                o.field_path.clone().unwrap_or_default(),
                source,
                e.message.clone().unwrap_or_default().trim(),
                first,
                e.count.unwrap_or(1),
                e.metadata.name.clone().unwrap_or_default(),
            ]);
            json!({"cells": cells, "object": object})
        })
        .collect();
    let columns = || {
        json!([
            col("Last Seen", "string", "The time the event was last seen", 0),
            col("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future.", 0),
            col("Reason", "string", "The reason for the transition into the object's current status.", 0),
            col("Object", "string", "The object the event is about.", 0),
            col("Subobject", "string", "The subobject the event is about.", 1),
            col("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
            col("Message", "string", "A human-readable description of the status of this operation.", 0),
            col("First Seen", "string", "The time the event was first seen", 1),
            col("Count", "integer", "The number of times this event has occurred.", 1),
            col("Name", "string", "Name must be unique within a namespace.", 1),
        ])
    };
    table_of(rows, columns, resource_version, with_columns)
}

/// A Table of objects given as JSON (with their metadata), one row of `cells` each.
fn object_table(
    objects: &[Value],
    columns: Value,
    cells: impl Fn(&Value) -> Value,
    resource_version: &str,
    with_columns: bool,
    include_object: &str,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let object = row_object(include_object, || o.clone(), || o["metadata"].clone());
            json!({"cells": cells(o), "object": object})
        })
        .collect();
    table_of(rows, || columns, resource_version, with_columns)
}

fn age_of(o: &Value, now: Timestamp) -> String {
    o["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| podspec_api::time::parse_rfc3339(t).ok())
        .map_or_else(|| "<unknown>".to_string(), |t| human_duration(Duration::try_from(now.duration_since(t)).unwrap_or_default()))
}

fn column(name: &str, type_: &str, description: &str, priority: i32) -> Value {
    json!({"name": name, "type": type_, "format": if name == "Name" { "name" } else { "" }, "description": description, "priority": priority})
}

/// ConfigMaps (NAME, DATA, AGE) and Secrets (NAME, TYPE, DATA, AGE, `with_type`) as
/// kube-apiserver's printer shows them; `count` gives an object's DATA.
pub fn data_table(
    objects: &[Value],
    with_type: bool,
    count: impl Fn(&Value) -> Value,
    resource_version: &str,
    with_columns: bool,
    include_object: &str,
) -> Value {
    let now = Timestamp::now();
    let mut columns = vec![column("Name", "string", "Name must be unique within a namespace.", 0)];
    if with_type {
        columns.push(column("Type", "string", "The type of the secret", 0));
    }
    columns.push(column("Data", "string", "The number of keys in the data", 0));
    columns.push(column("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0));
    let cells = |o: &Value| {
        let mut row = vec![o["metadata"]["name"].clone()];
        if with_type {
            row.push(o["type"].clone());
        }
        row.push(count(o));
        row.push(json!(age_of(o, now)));
        Value::Array(row)
    };
    object_table(objects, Value::Array(columns), cells, resource_version, with_columns, include_object)
}

/// Namespaces as kube-apiserver's printer shows them: NAME, STATUS, AGE.
pub fn namespace_table(namespaces: &[Value], resource_version: &str, with_columns: bool, include_object: &str) -> Value {
    let now = Timestamp::now();
    let columns = json!([
        column("Name", "string", "Name must be unique within a namespace.", 0),
        column("Status", "string", "The status of the namespace", 0),
        column("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0),
    ]);
    let cells = |o: &Value| json!([o["metadata"]["name"], o["status"]["phase"], age_of(o, now)]);
    object_table(namespaces, columns, cells, resource_version, with_columns, include_object)
}

/// Nodes as kube-apiserver's printer shows them: NAME, STATUS, ROLES, AGE, VERSION, and with
/// `-o wide` INTERNAL-IP, EXTERNAL-IP, OS-IMAGE, KERNEL-VERSION, CONTAINER-RUNTIME.
pub fn node_table(nodes: &[Value], resource_version: &str, with_columns: bool, include_object: &str) -> Value {
    let now = Timestamp::now();
    let columns = json!([
        column("Name", "string", "Name must be unique within a namespace.", 0),
        column("Status", "string", "The status of the node", 0),
        column("Roles", "string", "The roles of the node", 0),
        column("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0),
        column("Version", "string", "Kubelet Version reported by the node.", 0),
        column("Internal-IP", "string", "List of internal IPs in the node.", 1),
        column("External-IP", "string", "List of external IPs in the node.", 1),
        column("OS-Image", "string", "OS image reported by the node.", 1),
        column("Kernel-Version", "string", "Kernel version reported by the node.", 1),
        column("Container-Runtime", "string", "Container runtime reported by the node.", 1),
    ]);
    let cells = |o: &Value| {
        let status = &o["status"];
        let ready = status["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Ready");
        let state = match ready.map(|c| c["status"].as_str().unwrap_or("")) {
            Some("True") => "Ready",
            _ => "NotReady",
        };
        let address = |kind: &str| {
            let found: Vec<&str> = status["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["type"] == kind)
                .filter_map(|a| a["address"].as_str())
                .collect();
            if found.is_empty() {
                "<none>".to_string()
            } else {
                found.join(",")
            }
        };
        let roles: Vec<&str> = o["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
            .collect();
        let info = &status["nodeInfo"];
        json!([
            o["metadata"]["name"],
            state,
            if roles.is_empty() { "<none>".to_string() } else { roles.join(",") },
            age_of(o, now),
            info["kubeletVersion"],
            address("InternalIP"),
            address("ExternalIP"),
            info["osImage"],
            info["kernelVersion"],
            info["containerRuntimeVersion"],
        ])
    };
    object_table(nodes, columns, cells, resource_version, with_columns, include_object)
}

fn since(t: Timestamp, now: Timestamp) -> Duration {
    let ms = now.as_millisecond() - t.as_millisecond();
    Duration::from_millis(ms.max(0) as u64)
}

/// HumanDuration: `5s`, `3m2s`, `45m`, `5h3m`, `3d4h`, `40d`, `2y10d`, `5y`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 * 2 {
        return format!("{s}s");
    }
    let m = s / 60;
    if m < 10 {
        let rest = s % 60;
        return if rest == 0 { format!("{m}m") } else { format!("{m}m{rest}s") };
    }
    if m < 60 * 3 {
        return format!("{m}m");
    }
    let h = m / 60;
    if h < 8 {
        let rest = m % 60;
        return if rest == 0 { format!("{h}h") } else { format!("{h}h{rest}m") };
    }
    if h < 48 {
        return format!("{h}h");
    }
    if h < 24 * 8 {
        let rest = h % 24;
        return if rest == 0 { format!("{}d", h / 24) } else { format!("{}d{rest}h", h / 24) };
    }
    if h < 24 * 365 * 2 {
        return format!("{}d", h / 24);
    }
    if h < 24 * 365 * 8 {
        let days = (h / 24) % 365;
        return if days == 0 { format!("{}y", h / 24 / 365) } else { format!("{}y{days}d", h / 24 / 365) };
    }
    format!("{}y", h / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(status: &str) -> Pod {
        serde_yaml::from_str(&format!(
            "metadata: {{name: web, creationTimestamp: '2026-01-01T00:00:00Z'}}\nspec: {{nodeName: n, containers: [{{name: a}}, {{name: b}}]}}\nstatus: {status}"
        ))
        .unwrap()
    }

    fn status_cell(p: &Pod) -> String {
        cells(p, Timestamp::now())[2].as_str().unwrap().to_string()
    }

    #[test]
    fn status_follows_kubectls_rules() {
        let running = pod("{phase: Running, podIP: 10.0.0.2, containerStatuses: [{name: a, ready: true, restartCount: 0, image: x, imageID: x, state: {running: {}}}, {name: b, ready: true, restartCount: 2, image: x, imageID: x, state: {running: {}}}]}");
        let c = cells(&running, Timestamp::now());
        assert_eq!((c[0].as_str(), c[1].as_str(), c[2].as_str(), c[3].as_str()), (Some("web"), Some("2/2"), Some("Running"), Some("2")));
        assert_eq!(c[5], "10.0.0.2");
        let crash = pod("{phase: Running, containerStatuses: [{name: a, ready: false, restartCount: 3, image: x, imageID: x, state: {waiting: {reason: CrashLoopBackOff}}}]}");
        assert_eq!(status_cell(&crash), "CrashLoopBackOff");
        let done = pod("{phase: Succeeded, containerStatuses: [{name: a, ready: false, restartCount: 0, image: x, imageID: x, state: {terminated: {exitCode: 0, reason: Completed}}}]}");
        assert_eq!(status_cell(&done), "Completed");
        let mut init = pod("{phase: Pending, initContainerStatuses: [{name: i, ready: false, restartCount: 0, image: x, imageID: x, state: {running: {}}}]}");
        init.spec.as_mut().unwrap().init_containers = Some(vec![Default::default()]);
        assert_eq!(status_cell(&init), "Init:0/1");
        let mut deleting = done.clone();
        deleting.metadata.deletion_timestamp = deleting.metadata.creation_timestamp.clone();
        assert_eq!(status_cell(&deleting), "Terminating");
    }

    #[test]
    fn ages_read_as_kubectl_prints_them() {
        assert_eq!(human_duration(Duration::from_secs(5)), "5s");
        assert_eq!(human_duration(Duration::from_secs(182)), "3m2s");
        assert_eq!(human_duration(Duration::from_secs(45 * 60)), "45m");
        assert_eq!(human_duration(Duration::from_secs(5 * 3600 + 180)), "5h3m");
    }
}
