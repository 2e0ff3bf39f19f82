//! `/api/v1/namespaces/{namespace}/pods` and `/api/v1/pods`: create, get, list, watch,
//! replace, patch, delete and deletecollection, as kube-apiserver serves them. Handlers turn
//! HTTP into calls on the node's API store and back; the pod rules are the store's (its
//! strategy).


use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Pod;
use serde::Deserialize;
use serde_json::{json, Value};

use super::patch::{self, PatchType};
use super::{table, AppState, Failure};
use crate::api::selector::PodSelector;
use crate::api::{DeleteOptions, Requester};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub watch: Option<String>,
    pub resource_version: Option<String>,
    pub allow_watch_bookmarks: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub include_object: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteQuery {
    pub dry_run: Option<String>,
    pub field_validation: Option<String>,
    pub grace_period_seconds: Option<i64>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

fn json_response(code: StatusCode, value: &impl serde::Serialize) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], serde_json::to_string(value).unwrap_or_default()).into_response()
}

/// Refuses a dry run: the store has no dry-run path yet, and pretending would write.
fn refuse_dry_run(q: &WriteQuery) -> Result<(), Failure> {
    match q.dry_run.as_deref() {
        None | Some("") => Ok(()),
        Some("All") => Err(Failure::bad_request("dryRun=All is not supported by podspec serve yet")),
        Some(other) => Err(Failure::bad_request(format!("unsupported dry run value {other:?}: only \"All\" exists"))),
    }
}

/// Decodes a pod body, with fieldValidation's handling of unknown fields (Strict: 400; Warn:
/// a Warning header; Ignore: dropped).
fn decode_pod(headers: &HeaderMap, body: &[u8], q: &WriteQuery) -> Result<(Pod, Vec<String>), Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let value: Value = if content_type.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| Failure::bad_request(format!("Pod in version \"v1\" cannot be handled as a Pod: {e}")))?
    } else if content_type.starts_with("application/yaml") {
        serde_yaml::from_slice(body).map_err(|e| Failure::bad_request(format!("Pod in version \"v1\" cannot be handled as a Pod: {e}")))?
    } else {
        return Err(Failure::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})")));
    };
    let pod: Pod = serde_json::from_value(value.clone())
        .map_err(|e| Failure::bad_request(format!("Pod in version \"v1\" cannot be handled as a Pod: {e}")))?;
    let typed = serde_json::to_value(&pod).unwrap_or_default();
    let unknown = crate::manifest::unknown_fields_of(&value, &typed);
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        match q.field_validation.as_deref() {
            Some("Strict") => {
                let list: Vec<String> = unknown.iter().map(|f| format!("unknown field {f:?}")).collect();
                return Err(Failure::bad_request(format!(
                    "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: {}",
                    list.join(", ")
                )));
            }
            Some("Ignore") => {}
            _ => warnings = unknown.iter().map(|f| format!("unknown field {f:?}")).collect(),
        }
    }
    Ok((pod, warnings))
}

fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
    for w in warnings {
        if let Ok(v) = format!("299 - {:?}", w).parse() {
            r.headers_mut().append("Warning", v);
        }
    }
    r
}

pub async fn create(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    refuse_dry_run(&q)?;
    let (mut pod, warnings) = decode_pod(&headers, &body, &q)?;
    match pod.metadata.namespace.as_deref() {
        Some(ns) if ns != namespace => {
            return Err(Failure::bad_request("the namespace of the provided object does not match the namespace sent on the request"))
        }
        _ => pod.metadata.namespace = Some(namespace),
    }
    if pod.metadata.name.as_deref().unwrap_or("").is_empty() {
        if let Some(prefix) = pod.metadata.generate_name.clone() {
            pod.metadata.name = Some(format!("{prefix}{}", random_suffix()));
        }
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    // The scheduler's part is the node's (its only node).
    let created = state.node.create_in_api(&pod, Requester::User).map_err(|e| Failure::from_api(e, &name))?;
    Ok(with_warnings(json_response(StatusCode::CREATED, &created), &warnings))
}

/// generateName's suffix: 5 characters of Kubernetes' alphabet (no vowels, no 0/1/3).
fn random_suffix() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

pub async fn get(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let pod = state.node.api().get(&namespace, &name).map_err(|e| Failure::from_api(e, &name))?;
    if table::wants_table(accept(&headers)) {
        let rv = pod.metadata.resource_version.clone().unwrap_or_default();
        return Ok(json_response(StatusCode::OK, &table::table(&[pod], &rv, true, q.include_object.as_deref().unwrap_or("Metadata"))));
    }
    Ok(json_response(StatusCode::OK, &pod))
}

pub async fn list(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    list_in(state, Some(namespace), q, headers).await
}

pub async fn list_all(State(state): State<AppState>, Query(q): Query<ListQuery>, headers: HeaderMap) -> Result<Response, Failure> {
    list_in(state, None, q, headers).await
}

/// A boolean query parameter, read as Go's strconv.ParseBool reads it (clients send `true`,
/// `True`, `1`).
pub fn is_true(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "t" | "T" | "true" | "TRUE" | "True"))
}

async fn list_in(state: AppState, namespace: Option<String>, q: ListQuery, headers: HeaderMap) -> Result<Response, Failure> {
    let selector = PodSelector::parse(q.label_selector.as_deref(), q.field_selector.as_deref()).map_err(Failure::bad_request)?;
    let ns = namespace.clone();
    let selects = move |p: &Pod| ns.as_ref().is_none_or(|n| p.metadata.namespace.as_ref() == Some(n)) && selector.matches(p);
    let as_table = table::wants_table(accept(&headers));
    let include = q.include_object.clone().unwrap_or_else(|| "Metadata".into());
    if is_true(&q.watch) {
        return watch(state, q, Box::new(selects), as_table, include);
    }
    let (all, rv) = state.node.api().list_at();
    let items: Vec<Pod> = all.into_iter().filter(|p| selects(p)).collect();
    if as_table {
        return Ok(json_response(StatusCode::OK, &table::table(&items, &rv.to_string(), true, &include)));
    }
    let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}, "items": items});
    Ok(json_response(StatusCode::OK, &list))
}

/// A watch of pods (as a Table when asked for).
fn watch(state: AppState, q: ListQuery, filter: crate::api::watch::Filter, as_table: bool, include: String) -> Result<Response, Failure> {
    let from = super::watch::start_from(&q)?;
    let watch = state.node.api().watch(from, filter).map_err(Failure::from)?;
    Ok(super::watch::stream(watch, &q, "Pod", move |pod: &Pod, first| {
        if as_table {
            let rv = pod.metadata.resource_version.clone().unwrap_or_default();
            table::table(std::slice::from_ref(pod), &rv, first, &include)
        } else {
            serde_json::to_value(pod).unwrap_or_default()
        }
    }))
}

pub async fn replace(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    refuse_dry_run(&q)?;
    let (mut pod, warnings) = decode_pod(&headers, &body, &q)?;
    if pod.metadata.name.as_deref() != Some(name.as_str()) {
        return Err(Failure::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            pod.metadata.name.unwrap_or_default()
        )));
    }
    pod.metadata.namespace = Some(namespace.clone());
    let updated = state.node.api().update(&namespace, &name, &pod).map_err(|e| Failure::from_api(e, &name))?;
    Ok(with_warnings(json_response(StatusCode::OK, &updated), &warnings))
}

pub async fn patch(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    refuse_dry_run(&q)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let kind = PatchType::from_content_type(content_type)?;
    let api = state.node.api();
    // As the API server's update loop: a patch without a resourceVersion of its own is applied
    // again to the newer object when a concurrent write (the kubelet's status) got in first.
    for _ in 0..10 {
        let current = api.get(&namespace, &name).map_err(|e| Failure::from_api(e, &name))?;
        let mut value = serde_json::to_value(&current).unwrap_or_default();
        patch::apply(kind, &mut value, &body)?;
        let patched: Pod =
            serde_json::from_value(value).map_err(|e| Failure::new(422, "Invalid", format!("the patch does not make a Pod: {e}")))?;
        let pinned = patched.metadata.resource_version != current.metadata.resource_version;
        match api.update(&namespace, &name, &patched) {
            Ok(p) => return Ok(json_response(StatusCode::OK, &p)),
            Err(e) if e.reason == "Conflict" && !pinned && !e.message.contains("Precondition") => continue,
            Err(e) => return Err(Failure::from_api(e, &name)),
        }
    }
    Err(Failure::from_api(crate::api::ApiError::conflict(&name), &name))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    grace_period_seconds: Option<i64>,
    preconditions: Option<Preconditions>,
    dry_run: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Preconditions {
    uid: Option<String>,
    resource_version: Option<String>,
}

fn delete_options(q: &WriteQuery, body: &[u8]) -> Result<DeleteOptions, Failure> {
    let b: DeleteBody = if body.is_empty() {
        DeleteBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| Failure::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    if b.dry_run.is_some_and(|d| !d.is_empty()) {
        return Err(Failure::bad_request("dryRun=All is not supported by podspec serve yet"));
    }
    let pre = b.preconditions.unwrap_or_default();
    Ok(DeleteOptions {
        grace_period_seconds: q.grace_period_seconds.or(b.grace_period_seconds),
        uid: pre.uid,
        resource_version: pre.resource_version,
    })
}

pub async fn delete(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, Failure> {
    refuse_dry_run(&q)?;
    let options = delete_options(&q, &body)?;
    let api = state.node.api();
    let before = api.get(&namespace, &name).map_err(|e| Failure::from_api(e, &name))?;
    let after = api.delete(&namespace, &name, &options).map_err(|e| Failure::from_api(e, &name))?;
    Ok(json_response(StatusCode::OK, &after.unwrap_or(before)))
}

pub async fn delete_collection(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, Failure> {
    refuse_dry_run(&q)?;
    let options = delete_options(&q, &body)?;
    let selector = PodSelector::parse(q.label_selector.as_deref(), q.field_selector.as_deref()).map_err(Failure::bad_request)?;
    let api = state.node.api();
    let mut deleted = Vec::new();
    for pod in api.list().into_iter().filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()) && selector.matches(p)) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        match api.delete(&namespace, &name, &options) {
            Ok(after) => deleted.push(after.unwrap_or(pod)),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(Failure::from_api(e, &name)),
        }
    }
    let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": api.resource_version().to_string()}, "items": deleted});
    Ok(json_response(StatusCode::OK, &list))
}
