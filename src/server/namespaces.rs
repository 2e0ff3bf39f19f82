//! `/api/v1/namespaces`: the built-in namespaces every cluster has, and the ones clients create.
//! Pods may name any namespace, as the reference API keeps them; a namespace object exists for
//! clients that create, read, wait on and delete one (the kube target makes one per scenario).
//! Deleting a namespace marks it Terminating, deletes its pods gracefully (each with its own
//! grace period, as the namespace controller does), and removes it once its last pod is gone.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::pods::{is_true, ListQuery};
use super::{AppState, Failure};
use crate::api::store::DeleteOptions;

pub const BUILT_IN: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// How long a deleted namespace waits for its pods before it goes anyway (its pods are then
/// deleted at once).
const TERMINATION_BOUND: Duration = Duration::from_secs(120);

/// The namespaces clients created, by name, and their changes for watchers.
pub struct Namespaces {
    created: Mutex<BTreeMap<String, Namespace>>,
    /// The resourceVersion of the last change (the built-in namespaces are at 1).
    next: Mutex<u64>,
    changes: tokio::sync::broadcast::Sender<(&'static str, serde_json::Value)>,
}

impl Default for Namespaces {
    fn default() -> Self {
        Self { created: Default::default(), next: Mutex::new(1), changes: tokio::sync::broadcast::Sender::new(256) }
    }
}

impl Namespaces {
    /// The next resourceVersion.
    fn bump(&self) -> u64 {
        let mut next = self.next.lock().unwrap();
        *next += 1;
        *next
    }

    fn tell(&self, kind: &'static str, ns: &Namespace) {
        let _ = self.changes.send((kind, with_kind(ns)));
    }
}

fn with_kind(ns: &Namespace) -> serde_json::Value {
    let mut v = serde_json::to_value(ns).unwrap_or_default();
    v["kind"] = "Namespace".into();
    v["apiVersion"] = "v1".into();
    v
}

fn built_in(state: &AppState, name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            uid: Some(crate::api::store::uid(name, 0)),
            resource_version: Some("1".into()),
            creation_timestamp: Some(crate::runtime::kubelet::k8s_time(state.started)),
            labels: Some([("kubernetes.io/metadata.name".to_string(), name.to_string())].into()),
            ..Default::default()
        },
        spec: Some(NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) }),
        status: Some(NamespaceStatus { phase: Some("Active".into()), ..Default::default() }),
    }
}

fn not_found(name: &str) -> Failure {
    Failure::new(404, "NotFound", format!("namespaces {name:?} not found"))
        .with_details(serde_json::json!({"name": name, "kind": "namespaces"}))
}

fn find(state: &AppState, name: &str) -> Option<Namespace> {
    if BUILT_IN.contains(&name) {
        return Some(built_in(state, name));
    }
    state.namespaces.created.lock().unwrap().get(name).cloned()
}

/// List, or with `watch=true` watch: the namespaces there now (unless the watch starts from a
/// resourceVersion), then each one created (ADDED), marked for deletion (MODIFIED) and removed
/// (DELETED).
pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>, headers: axum::http::HeaderMap) -> Result<Response, Failure> {
    let as_table = super::table::wants_table(headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()));
    let include = q.include_object.clone().unwrap_or_else(|| "Metadata".into());
    let (mut items, rv, changes) = {
        let created = state.namespaces.created.lock().unwrap();
        let rv = *state.namespaces.next.lock().unwrap();
        let mut items: Vec<Namespace> = BUILT_IN.iter().map(|n| built_in(&state, n)).collect();
        items.extend(created.values().cloned());
        (items, rv, state.namespaces.changes.subscribe())
    };
    if let Some(selector) = q.label_selector.as_deref().filter(|s| !s.trim().is_empty()) {
        let selector = crate::api::selector::PodSelector::parse(Some(selector), None).map_err(Failure::bad_request)?;
        items.retain(|ns| selector.matches_labels(ns.metadata.labels.as_ref()));
    }
    if is_true(&q.watch) {
        let initial = match super::watch::start_from(&q)? {
            None | Some(0) => items.iter().map(with_kind).collect(),
            Some(from) if from >= rv => Vec::new(),
            Some(from) => return Err(Failure::new(410, "Expired", format!("too old resource version: {from} ({rv})"))),
        };
        return Ok(super::watch::stream_changes(initial, Some(changes), &q, move |o, first| {
            if as_table {
                let rv = o["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
                super::table::namespace_table(&[o], &rv, first, &include)
            } else {
                o
            }
        }));
    }
    let items: Vec<serde_json::Value> = items.iter().map(with_kind).collect();
    if as_table {
        return Ok(Json(super::table::namespace_table(&items, &rv.to_string(), true, &include)).into_response());
    }
    Ok(Json(
        serde_json::json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
    )
    .into_response())
}

pub async fn get(State(state): State<AppState>, Path(name): Path<String>, headers: axum::http::HeaderMap) -> Result<Response, Failure> {
    let ns = find(&state, &name).ok_or_else(|| not_found(&name))?;
    if super::table::wants_table(headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok())) {
        let rv = ns.metadata.resource_version.clone().unwrap_or_default();
        return Ok(Json(super::table::namespace_table(&[with_kind(&ns)], &rv, true, "Metadata")).into_response());
    }
    Ok(Json(ns).into_response())
}

/// A namespace's name is a DNS label (validation.ValidateNamespaceName).
fn invalid_name(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    (!ok).then(|| {
        format!(
            "Namespace {name:?} is invalid: metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        )
    })
}

pub async fn create(State(state): State<AppState>, headers: axum::http::HeaderMap, body: Bytes) -> Result<Response, Failure> {
    // JSON, YAML, or protobuf (kubectl 1.33's `create namespace` sends it); anything else is 415.
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let bad = |e: String| Failure::bad_request(format!("Namespace in version \"v1\" cannot be handled as a Namespace: {e}"));
    let mut ns: Namespace = if content_type.starts_with("application/json") {
        serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?
    } else if content_type.starts_with("application/yaml") {
        crate::manifest::input::yaml_from_slice(&body).map_err(|e| bad(e.to_string()))?
    } else if content_type.starts_with(super::protobuf::CONTENT_TYPE) {
        super::protobuf::namespace(&body).map_err(bad)?
    } else {
        return Err(Failure::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"),
        ));
    };
    let name = ns.metadata.name.clone().unwrap_or_default();
    if let Some(message) = invalid_name(&name) {
        return Err(Failure::new(422, "Invalid", message));
    }
    let mut created = state.namespaces.created.lock().unwrap();
    if BUILT_IN.contains(&name.as_str()) || created.contains_key(&name) {
        return Err(Failure::new(409, "AlreadyExists", format!("namespaces {name:?} already exists"))
            .with_details(serde_json::json!({"name": name, "kind": "namespaces"})));
    }
    let n = state.namespaces.bump();
    let m = &mut ns.metadata;
    m.uid = Some(crate::api::store::uid(&format!("namespace/{name}/{}", state.token.len()), n));
    m.resource_version = Some(n.to_string());
    m.creation_timestamp = Some(crate::runtime::kubelet::k8s_time(chrono::Utc::now()));
    m.labels.get_or_insert_with(Default::default).insert("kubernetes.io/metadata.name".into(), name.clone());
    ns.spec = Some(NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) });
    ns.status = Some(NamespaceStatus { phase: Some("Active".into()), ..Default::default() });
    created.insert(name, ns.clone());
    state.namespaces.tell("ADDED", &ns);
    Ok((StatusCode::CREATED, Json(ns)).into_response())
}

pub async fn delete(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, Failure> {
    if BUILT_IN.contains(&name.as_str()) {
        return Err(Failure::new(403, "Forbidden", format!("namespaces {name:?} is forbidden: this namespace may not be deleted")));
    }
    let marked = {
        let mut created = state.namespaces.created.lock().unwrap();
        let ns = created.get_mut(&name).ok_or_else(|| not_found(&name))?;
        let first = ns.metadata.deletion_timestamp.is_none();
        if first {
            ns.metadata.deletion_timestamp = Some(crate::runtime::kubelet::k8s_time(chrono::Utc::now()));
            ns.status = Some(NamespaceStatus { phase: Some("Terminating".into()), ..Default::default() });
            ns.metadata.resource_version = Some(state.namespaces.bump().to_string());
            state.namespaces.tell("MODIFIED", ns);
        }
        (ns.clone(), first)
    };
    if marked.1 {
        tokio::spawn(terminate(state.clone(), name));
    }
    Ok((StatusCode::OK, Json(marked.0)).into_response())
}

/// The namespace controller's part: delete every pod of the namespace, wait until they are gone,
/// then remove the namespace.
async fn terminate(state: AppState, name: String) {
    let api = state.node.api();
    let deadline = tokio::time::Instant::now() + TERMINATION_BOUND;
    let mut asked = false;
    loop {
        let pods: Vec<_> = api.list().into_iter().filter(|p| p.metadata.namespace.as_deref() == Some(name.as_str())).collect();
        if pods.is_empty() {
            break;
        }
        let late = tokio::time::Instant::now() > deadline;
        if !asked || late {
            for p in &pods {
                let options = if late { DeleteOptions::grace(0) } else { DeleteOptions::default() };
                let _ = api.delete(&name, p.metadata.name.as_deref().unwrap_or_default(), &options);
            }
            asked = true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut created = state.namespaces.created.lock().unwrap();
    if let Some(mut ns) = created.remove(&name) {
        ns.metadata.resource_version = Some(state.namespaces.bump().to_string());
        state.namespaces.tell("DELETED", &ns);
    }
}
