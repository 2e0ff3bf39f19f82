//! `/apis/node.k8s.io/v1/runtimeclasses`: create, get, list, watch, replace, patch, delete and
//! deletecollection of RuntimeClasses, and the group's discovery (`/apis/node.k8s.io`,
//! `/apis/node.k8s.io/v1`). Handlers turn HTTP into calls on the node's RuntimeClass store
//! (`api::runtime_classes`, whose strategy holds the rules) and back.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use k8s_openapi::api::node::v1::RuntimeClass;
use serde_json::{json, Value};

use super::patch::{self, PatchType};
use super::pods::{delete_options, is_true, json_response, write_options, ListQuery, WriteQuery};
use super::{AppState, Failure};
use podspec_api::selector::PodSelector;
use podspec_api::ApiError;

pub const GROUP: &str = "node.k8s.io";
pub const VERSION: &str = "v1";

/// The group as `/apis` lists it.
pub fn group() -> Value {
    let gv = json!({"groupVersion": format!("{GROUP}/{VERSION}"), "version": VERSION});
    json!({"name": GROUP, "versions": [gv], "preferredVersion": gv})
}

/// `GET /apis/node.k8s.io`.
pub async fn api_group() -> Json<Value> {
    let mut g = group();
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Json(g)
}

/// `GET /apis/node.k8s.io/v1`.
pub async fn resources() -> Json<Value> {
    Json(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{GROUP}/{VERSION}"),
        "resources": [{
            "name": "runtimeclasses",
            "singularName": "runtimeclass",
            "namespaced": false,
            "kind": "RuntimeClass",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        }],
    }))
}

fn with_kind(rc: &RuntimeClass) -> Value {
    let mut v = serde_json::to_value(rc).unwrap_or_default();
    v["kind"] = "RuntimeClass".into();
    v["apiVersion"] = format!("{GROUP}/{VERSION}").into();
    v
}

/// The store's error with the details kube-apiserver gives it (the group and the resource).
fn failure(e: ApiError, name: &str) -> Failure {
    let kind = if e.reason == "Invalid" { "RuntimeClass" } else { "runtimeclasses" };
    let mut details = json!({"name": name, "group": GROUP, "kind": kind});
    if !e.causes.is_empty() {
        details["causes"] = e.causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect();
    }
    Failure { code: e.code, reason: e.reason, message: e.message, details: Some(details) }
}

/// The label and field selectors of a list, watch or deletecollection: a RuntimeClass is
/// selected by its labels and by `metadata.name` only.
fn selector(labels: Option<&str>, fields: Option<&str>) -> Result<impl Fn(&RuntimeClass) -> bool + Send + Sync + 'static, Failure> {
    let labels = PodSelector::parse(labels.filter(|s| !s.trim().is_empty()), None).map_err(|e| Failure::bad_request(e.to_string()))?;
    let mut names = Vec::new();
    for term in fields.unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (key, wanted, equal) = match term.split_once("!=") {
            Some((k, v)) => (k, v, false),
            None => match term.split_once("==").or_else(|| term.split_once('=')) {
                Some((k, v)) => (k, v, true),
                None => return Err(Failure::bad_request(format!("invalid selector: {term:?}"))),
            },
        };
        if key.trim() != "metadata.name" {
            return Err(Failure::bad_request(format!("field label not supported: {}", key.trim())));
        }
        names.push((wanted.trim().to_string(), equal));
    }
    Ok(move |rc: &RuntimeClass| {
        let name = rc.metadata.name.as_deref().unwrap_or("");
        labels.matches_labels(rc.metadata.labels.as_ref()) && names.iter().all(|(n, equal)| (n == name) == *equal)
    })
}

/// List, or with `watch=true` watch, the RuntimeClasses the selectors pick.
pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Result<Response, Failure> {
    let selects = selector(q.label_selector.as_deref(), q.field_selector.as_deref())?;
    let classes = state.node.api().runtime_classes();
    if is_true(&q.watch) {
        let from = super::watch::start_from(&q)?;
        let watch = classes.watch(from, Box::new(selects)).map_err(Failure::from)?;
        return Ok(super::watch::stream(watch, &q, "RuntimeClass", |rc: &RuntimeClass, _| with_kind(rc)));
    }
    let (all, rv) = classes.list_at();
    let items: Vec<Value> = all.iter().filter(|rc| selects(rc)).map(with_kind).collect();
    let list = json!({"kind": "RuntimeClassList", "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": {"resourceVersion": rv.to_string()}, "items": items});
    Ok(json_response(StatusCode::OK, &list))
}

pub async fn get(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, Failure> {
    let rc = state.node.api().runtime_classes().get("", &name).map_err(|e| failure(e, &name))?;
    Ok(json_response(StatusCode::OK, &with_kind(&rc)))
}

/// A RuntimeClass body, JSON or YAML.
fn decode(headers: &HeaderMap, body: &[u8]) -> Result<RuntimeClass, Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let bad = |e: String| Failure::bad_request(format!("RuntimeClass in version \"v1\" cannot be handled as a RuntimeClass: {e}"));
    if content_type.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| bad(e.to_string()))
    } else if content_type.starts_with("application/yaml") {
        podspec_api::manifest::input::yaml_from_slice(body).map_err(|e| bad(e.to_string()))
    } else {
        Err(Failure::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})")))
    }
}

pub async fn create(
    State(state): State<AppState>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let (dry_run, _) = write_options(&q, "CreateOptions")?;
    let mut rc = decode(&headers, &body)?;
    if rc.metadata.name.as_deref().unwrap_or("").is_empty() {
        if let Some(prefix) = rc.metadata.generate_name.clone() {
            rc.metadata.name = Some(format!("{prefix}{}", podspec_api::random::name_suffix()));
        }
    }
    let name = rc.metadata.name.clone().unwrap_or_default();
    let created = state.node.api().runtime_classes().create_object(&rc, dry_run).map_err(|e| failure(e, &name))?;
    Ok(json_response(StatusCode::CREATED, &with_kind(&created)))
}

pub async fn replace(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let (dry_run, _) = write_options(&q, "UpdateOptions")?;
    let rc = decode(&headers, &body)?;
    let updated = state.node.api().runtime_classes().update_as("", &name, &rc, dry_run).map_err(|e| failure(e, &name))?;
    Ok(json_response(StatusCode::OK, &with_kind(&updated)))
}

/// A JSON merge patch, JSON patch or strategic merge patch (a RuntimeClass has no list merged
/// by key: its tolerations are replaced whole), applied to the stored object and written as
/// an update; applied again to a newer object when a write got in between.
pub async fn patch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let (dry_run, _) = write_options(&q, "PatchOptions")?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let kind = PatchType::from_content_type(content_type)?;
    let classes = state.node.api().runtime_classes();
    for _ in 0..10 {
        let current = classes.get("", &name).map_err(|e| failure(e, &name))?;
        let mut value = serde_json::to_value(&current).unwrap_or_default();
        patch::apply(kind, &mut value, &body)?;
        let patched: RuntimeClass = serde_json::from_value(value)
            .map_err(|e| Failure::new(422, "Invalid", format!("the patch does not make a RuntimeClass: {e}")))?;
        let pinned = patched.metadata.resource_version != current.metadata.resource_version;
        match classes.update_as("", &name, &patched, dry_run) {
            Ok(rc) => return Ok(json_response(StatusCode::OK, &with_kind(&rc))),
            Err(e) if e.reason == "Conflict" && !pinned => continue,
            Err(e) => return Err(failure(e, &name)),
        }
    }
    Err(failure(ApiError::conflict_of("runtimeclasses.node.k8s.io", &name), &name))
}

/// The Status of a delete that removed the object (this kind returns no deleted object).
fn deleted(rc: &RuntimeClass) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": rc.metadata.name, "group": GROUP, "kind": "runtimeclasses", "uid": rc.metadata.uid},
    })
}

pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, Failure> {
    let (options, dry_run) = delete_options(&q, &body)?;
    let classes = state.node.api().runtime_classes();
    let before = classes.get("", &name).map_err(|e| failure(e, &name))?;
    classes.delete_as("", &name, &options, dry_run).map_err(|e| failure(e, &name))?;
    Ok(json_response(StatusCode::OK, &deleted(&before)))
}

/// DELETE on the collection: every RuntimeClass the selectors pick; the list of them back.
pub async fn delete_collection(State(state): State<AppState>, Query(q): Query<WriteQuery>, body: Bytes) -> Result<Response, Failure> {
    let (options, dry_run) = delete_options(&q, &body)?;
    let selects = selector(q.label_selector.as_deref(), q.field_selector.as_deref())?;
    let classes = state.node.api().runtime_classes();
    let mut gone = Vec::new();
    for rc in classes.list().into_iter().filter(|rc| selects(rc)) {
        let name = rc.metadata.name.clone().unwrap_or_default();
        match classes.delete_as("", &name, &options, dry_run) {
            Ok(_) => gone.push(with_kind(&rc)),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(failure(e, &name)),
        }
    }
    let rv = classes.resource_version().to_string();
    let list =
        json!({"kind": "RuntimeClassList", "apiVersion": format!("{GROUP}/{VERSION}"), "metadata": {"resourceVersion": rv}, "items": gone});
    Ok(json_response(StatusCode::OK, &list))
}
