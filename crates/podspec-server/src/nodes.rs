//! `/api/v1/nodes`: the one node, as its kubelet registered it in the API (nodeInfo, Ready
//! condition, addresses and capacity),
//! `/proxy/configz`, the kubelet's configuration with `staticPodPath`, and `/proxy/logs/`, the
//! kubelet's node log query.

use axum::extract::{Path, State};
use axum::Json;
use k8s_openapi::api::core::v1::Node;
use serde_json::json;

use super::{AppState, Failure};

fn with_kind(n: &Node) -> serde_json::Value {
    let mut v = serde_json::to_value(n).unwrap_or_default();
    v["kind"] = "Node".into();
    v["apiVersion"] = "v1".into();
    v
}

/// List, or with `watch=true` watch, the nodes: the one node, which its kubelet registered.
/// A watch gets it (ADDED, unless the watch starts from a resourceVersion) and then each
/// change until it ends.
pub async fn list(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<super::pods::ListQuery>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, Failure> {
    use axum::response::IntoResponse as _;
    let as_table = super::table::wants_table(headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()));
    let include = q.include_object.clone().unwrap_or_else(|| "Metadata".into());
    let nodes = state.node.api().nodes();
    if super::pods::is_true(&q.watch) {
        let from = super::watch::start_from(&q)?;
        let watch = nodes.watch(from, Box::new(|_| true)).map_err(Failure::from)?;
        return Ok(super::watch::stream(watch, &q, "Node", move |n: &Node, first| {
            let o = with_kind(n);
            if as_table {
                let rv = n.metadata.resource_version.clone().unwrap_or_default();
                super::table::node_table(&[o], &rv, first, &include)
            } else {
                o
            }
        }));
    }
    let (all, rv) = nodes.list_at();
    let items: Vec<serde_json::Value> = all.iter().map(with_kind).collect();
    if as_table {
        return Ok(Json(super::table::node_table(&items, &rv.to_string(), true, &include)).into_response());
    }
    Ok(Json(json!({"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}, "items": items}))
        .into_response())
}

pub async fn get(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<Node>, Failure> {
    let n = state.node.api().nodes().get("", &name).map_err(|_| {
        Failure::new(404, "NotFound", format!("nodes {name:?} not found")).with_details(json!({"name": name, "kind": "nodes"}))
    })?;
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
        let rv = n.metadata.resource_version.clone().unwrap_or_default();
        return Ok(Json(super::table::node_table(&[with_kind(&n)], &rv, true, "Metadata")).into_response());
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
