//! `/api/v1/nodes`: the one node, with its nodeInfo, Ready condition, addresses and capacity,
//! `/proxy/configz`, the kubelet's configuration with `staticPodPath`, and `/proxy/logs/`, the
//! kubelet's node log query.

use axum::extract::{Path, State};
use axum::Json;
use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeCondition, NodeStatus, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

use super::{AppState, Failure};
use crate::targets::Target as _;

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default()
}

fn os_image() -> String {
    let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    release.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_string()).unwrap_or_else(|| "Linux".into())
}

pub fn node(state: &AppState) -> Node {
    let name = state.node.node_name().unwrap_or("podspec-node").to_string();
    let config = state.node.kubelet().config().clone();
    let now = crate::runtime::kubelet::k8s_time(chrono::Utc::now());
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let capacity: std::collections::BTreeMap<String, Quantity> =
        [("cpu".to_string(), Quantity(cpus.to_string())), ("pods".to_string(), Quantity("110".into()))].into();
    Node {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            uid: Some(config.node_uid.clone()),
            resource_version: Some("1".into()),
            creation_timestamp: Some(crate::runtime::kubelet::k8s_time(state.started)),
            labels: Some(
                [
                    ("kubernetes.io/hostname".to_string(), name.clone()),
                    ("kubernetes.io/os".to_string(), std::env::consts::OS.to_string()),
                    ("kubernetes.io/arch".to_string(), super::discovery::go_arch().to_string()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(Default::default()),
        status: Some(NodeStatus {
            node_info: Some(NodeSystemInfo {
                kubelet_version: format!("v{}", env!("CARGO_PKG_VERSION")),
                kube_proxy_version: String::new(),
                container_runtime_version: state.node.kubelet().runtime().version(),
                os_image: os_image(),
                kernel_version: kernel_version(),
                architecture: super::discovery::go_arch().to_string(),
                operating_system: std::env::consts::OS.to_string(),
                machine_id: String::new(),
                system_uuid: String::new(),
                boot_id: String::new(),
                ..Default::default()
            }),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: Some("KubeletReady".into()),
                message: Some("kubelet is posting ready status".into()),
                last_heartbeat_time: Some(now.clone()),
                last_transition_time: Some(crate::runtime::kubelet::k8s_time(state.started)),
            }]),
            addresses: Some(vec![
                NodeAddress { type_: "InternalIP".into(), address: config.node_ip.to_string() },
                NodeAddress { type_: "Hostname".into(), address: name },
            ]),
            capacity: Some(capacity.clone()),
            allocatable: Some(capacity),
            ..Default::default()
        }),
    }
}

/// List, or with `watch=true` watch, the one node. Its object stays at resourceVersion 1 while
/// serve runs, so a watch gets it (ADDED, unless the watch starts from a resourceVersion) and
/// then no change until it ends.
pub async fn list(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<super::pods::ListQuery>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, Failure> {
    use axum::response::IntoResponse as _;
    let as_table = super::table::wants_table(headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()));
    let include = q.include_object.clone().unwrap_or_else(|| "Metadata".into());
    let mut n = serde_json::to_value(node(&state)).unwrap_or_default();
    n["kind"] = "Node".into();
    n["apiVersion"] = "v1".into();
    if super::pods::is_true(&q.watch) {
        let initial = match super::watch::start_from(&q)? {
            None | Some(0) => vec![n],
            Some(_) => Vec::new(),
        };
        return Ok(super::watch::stream_changes(initial, None, &q, move |o, first| {
            if as_table {
                super::table::node_table(&[o], "1", first, &include)
            } else {
                o
            }
        }));
    }
    if as_table {
        return Ok(Json(super::table::node_table(&[n], "1", true, &include)).into_response());
    }
    Ok(Json(json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": [n]})).into_response())
}

pub async fn get(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Node>, Failure> {
    let n = node(&state);
    if n.metadata.name.as_deref() != Some(name.as_str()) {
        return Err(Failure::new(404, "NotFound", format!("nodes {name:?} not found")).with_details(json!({"name": name, "kind": "nodes"})));
    }
    Ok(Json(n))
}

/// GET of the node, as JSON or as a Table.
pub async fn read(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, Failure> {
    use axum::response::IntoResponse as _;
    let Json(n) = get(State(state), Path(name)).await?;
    if super::table::wants_table(headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok())) {
        let mut v = serde_json::to_value(&n).unwrap_or_default();
        v["kind"] = "Node".into();
        v["apiVersion"] = "v1".into();
        return Ok(Json(super::table::node_table(&[v], "1", true, "Metadata")).into_response());
    }
    Ok(Json(n).into_response())
}

/// The kubelet's configuration, as a kubelet's `/configz` shows it.
pub async fn configz(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<serde_json::Value>, Failure> {
    let _ = get(State(state.clone()), Path(name)).await?;
    Ok(Json(json!({
        "kubeletconfig": {
            "staticPodPath": state.node.static_pod_dir().display().to_string(),
            "podPidsLimit": state.node.pod_pids_limit().unwrap_or(-1),
            "kind": "KubeletConfiguration",
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
        }
    })))
}

/// The node log query's parameters (`/logs/?query=...`, the kubelet's NodeLogQuery).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    query: Option<String>,
    pattern: Option<String>,
}

/// The kubelet's node log query, for the one service this node has: `query=kubelet` returns
/// the kubelet's log (warnings and events, one line each), `pattern` keeps the lines that match
/// that regular expression. The other parameters (`sinceTime`, `untilTime`, `tailLines`,
/// `boot`) are refused, not ignored: the node's log lines carry no times or boots.
pub async fn log_query(
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<axum::extract::Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<String, Failure> {
    let _ = get(State(state.clone()), Path(name)).await?;
    let axum::extract::Query(q) = query
        .map_err(|e| Failure::bad_request(format!("{}: this node's log query takes only query=kubelet and pattern", e.body_text())))?;
    match q.query.as_deref() {
        Some("kubelet") => {}
        None | Some("") => return Err(Failure::bad_request("query: Required value: the service or file to return logs of")),
        Some(other) => return Err(Failure::bad_request(format!("query {other:?}: this node has one service, kubelet, and no log files"))),
    }
    let pattern = match q.pattern.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(regex::Regex::new(p).map_err(|e| Failure::bad_request(format!("pattern {p:?}: {e}")))?),
        None => None,
    };
    let lines = state.node.kubelet().log_lines();
    let kept = lines.iter().filter(|l| pattern.as_ref().is_none_or(|re| re.is_match(l)));
    Ok(kept.map(|l| format!("{l}\n")).collect())
}
