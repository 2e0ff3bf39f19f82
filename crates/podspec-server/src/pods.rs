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
use podspec_api::generic::Scope;
use podspec_api::selector::PodSelector;
use podspec_api::{DeleteOptions, Requester};

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
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub field_manager: Option<String>,
    pub force: Option<String>,
}

/// The manager of a write: its `fieldManager`, else the User-Agent up to its first `/`, as
/// kube-apiserver derives it (prefixFromUserAgent).
pub(super) fn field_manager(q: &WriteQuery, headers: &HeaderMap) -> String {
    match q.field_manager.as_deref() {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => {
            let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
            ua.split('/').next().unwrap_or("").to_string()
        }
    }
}

/// Records an Update of `new` (from `old`, None on create) in its managedFields.
pub(super) fn record_update(old: Option<&Pod>, new: &mut Pod, q: &WriteQuery, headers: &HeaderMap) {
    let now = podspec_api::managed_fields::now();
    // Decoding defaults come first, as the API server's decoder sets them before the field
    // manager sees the object: the writer owns them.
    podspec_api::defaults::apply(new);
    podspec_api::managed_fields::record_update(old, new, &field_manager(q, headers), now);
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

pub(super) fn json_response(code: StatusCode, value: &impl serde::Serialize) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], serde_json::to_string(value).unwrap_or_default()).into_response()
}

/// An options object's 422, as the API server answers a request whose options do not validate
/// (`CreateOptions.meta.k8s.io "" is invalid: ...`): `errors` are (field, text after it).
pub fn options_invalid(kind: &str, errors: &[(&str, String)]) -> Failure {
    let causes: Vec<(&str, &str, String)> = errors.iter().map(|(f, t)| (*f, "FieldValueNotSupported", t.clone())).collect();
    options_invalid_causes(kind, &causes)
}

/// The same with each cause's reason: (field, reason, text after the field).
pub fn options_invalid_causes(kind: &str, errors: &[(&str, &str, String)]) -> Failure {
    let texts: Vec<String> = errors.iter().map(|(f, _, t)| format!("{f}: {t}")).collect();
    let listed = if texts.len() == 1 { texts[0].clone() } else { format!("[{}]", texts.join(", ")) };
    let causes: Vec<Value> = errors.iter().map(|(f, r, t)| json!({"reason": r, "message": t, "field": f})).collect();
    Failure::new(422, "Invalid", format!("{kind}.meta.k8s.io \"\" is invalid: {listed}"))
        .with_details(json!({"group": "meta.k8s.io", "kind": kind, "causes": causes}))
}

/// How a write treats unknown fields (`fieldValidation`; the API server's default is Warn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// A write's `dryRun` and `fieldValidation`, checked as ValidateCreateOptions (and its Update and
/// Patch twins) checks them: `dryRun` may only be `All`.
pub(super) fn write_options(q: &WriteQuery, kind: &str) -> Result<(bool, FieldValidation), Failure> {
    let mut errors = Vec::new();
    let dry_run = match q.dry_run.as_deref() {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            errors.push(("dryRun", format!("Unsupported value: []string{{{other:?}}}: supported values: \"All\"")));
            false
        }
    };
    let validation = match q.field_validation.as_deref() {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Ignore") => FieldValidation::Ignore,
        Some("Strict") => FieldValidation::Strict,
        Some(other) => {
            errors.push((
                "fieldValidation",
                format!("Unsupported value: {other:?}: supported values: \"\", \"Ignore\", \"Strict\", \"Warn\""),
            ));
            FieldValidation::Warn
        }
    };
    if !errors.is_empty() {
        return Err(options_invalid(kind, &errors));
    }
    Ok((dry_run, validation))
}

/// Decodes a pod body, with fieldValidation's handling of unknown fields (Strict: 400; Warn:
/// a Warning header; Ignore: dropped).
pub(super) fn decode_pod(headers: &HeaderMap, body: &[u8], validation: FieldValidation) -> Result<(Pod, Vec<String>), Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let value: Value = if content_type.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| Failure::bad_request(format!("Pod in version \"v1\" cannot be handled as a Pod: {e}")))?
    } else if content_type.starts_with("application/yaml") {
        podspec_api::manifest::input::yaml_from_slice(body)
            .map_err(|e| Failure::bad_request(format!("Pod in version \"v1\" cannot be handled as a Pod: {e}")))?
    } else {
        return Err(Failure::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})")));
    };
    let pod: Pod = serde_json::from_value(value.clone())
        .map_err(|e| Failure::bad_request(format!("Pod in version \"v1\" cannot be handled as a Pod: {e}")))?;
    let typed = serde_json::to_value(&pod).unwrap_or_default();
    let unknown = podspec_api::manifest::unknown_fields_of(&value, &typed);
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        match validation {
            FieldValidation::Strict => {
                let list: Vec<String> = unknown.iter().map(|f| format!("unknown field {f:?}")).collect();
                return Err(Failure::bad_request(format!(
                    "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: {}",
                    list.join(", ")
                )));
            }
            FieldValidation::Ignore => {}
            FieldValidation::Warn => warnings = unknown.iter().map(|f| format!("unknown field {f:?}")).collect(),
        }
    }
    Ok((pod, warnings))
}

pub(super) fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
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
    let (dry_run, validation) = write_options(&q, "CreateOptions")?;
    let (mut pod, warnings) = decode_pod(&headers, &body, validation)?;
    match pod.metadata.namespace.as_deref() {
        Some(ns) if ns != namespace => {
            return Err(Failure::bad_request("the namespace of the provided object does not match the namespace sent on the request"))
        }
        _ => pod.metadata.namespace = Some(namespace),
    }
    if pod.metadata.name.as_deref().unwrap_or("").is_empty() {
        if let Some(prefix) = pod.metadata.generate_name.clone() {
            pod.metadata.name = Some(format!("{prefix}{}", podspec_api::random::name_suffix()));
        }
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    record_update(None, &mut pod, &q, &headers);
    // The scheduler's part is the node's (its only node).
    let created = state.node.create_pod(&pod, Requester::User, dry_run).await.map_err(|e| Failure::from_api(e, &name))?;
    Ok(with_warnings(json_response(StatusCode::CREATED, &created), &warnings))
}

pub async fn get(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let pod = state.node.pods().get(&namespace, &name).map_err(|e| Failure::from_api(e, &name))?;
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
    let selector =
        PodSelector::parse(q.label_selector.as_deref(), q.field_selector.as_deref()).map_err(|e| Failure::bad_request(e.to_string()))?;
    // The namespace and a node asked for by `spec.nodeName=` are answered from the store's
    // indexes; the rest of the selector is checked on what they give.
    let scope = Scope { namespace: namespace.clone(), node: selector.node_name().map(str::to_string) };
    let ns = namespace.clone();
    let selects = move |p: &Pod| ns.as_ref().is_none_or(|n| p.metadata.namespace.as_ref() == Some(n)) && selector.matches(p);
    let as_table = table::wants_table(accept(&headers));
    let include = q.include_object.clone().unwrap_or_else(|| "Metadata".into());
    if is_true(&q.watch) {
        return watch(state, q, scope, Box::new(selects), as_table, include);
    }
    let (all, rv) = state.node.pods().list_scoped(&scope);
    let items: Vec<Pod> = all.into_iter().filter(|p| selects(p)).collect();
    if as_table {
        return Ok(json_response(StatusCode::OK, &table::table(&items, &rv.to_string(), true, &include)));
    }
    let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}, "items": items});
    Ok(json_response(StatusCode::OK, &list))
}

/// A watch of pods (as a Table when asked for).
fn watch(
    state: AppState,
    q: ListQuery,
    scope: Scope,
    filter: podspec_api::watch::Filter,
    as_table: bool,
    include: String,
) -> Result<Response, Failure> {
    let from = super::watch::start_from(&q)?;
    let watch = state.node.pods().watch_scoped(from, scope, filter).map_err(Failure::from)?;
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
    let (dry_run, validation) = write_options(&q, "UpdateOptions")?;
    let (mut pod, warnings) = decode_pod(&headers, &body, validation)?;
    if pod.metadata.name.as_deref() != Some(name.as_str()) {
        return Err(Failure::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            pod.metadata.name.unwrap_or_default()
        )));
    }
    pod.metadata.namespace = Some(namespace.clone());
    // The managedFields are worked out against the stored pod in the write itself: a PUT
    // without a resourceVersion never drops what a write just before it (the kubelet's status)
    // recorded.
    let record = |live: &Pod, new: &mut Pod| record_update(Some(live), new, &q, &headers);
    let updated = state.node.pods().update_recorded(&namespace, &name, &pod, dry_run, &record).map_err(|e| Failure::from_api(e, &name))?;
    Ok(with_warnings(json_response(StatusCode::OK, &updated), &warnings))
}

pub async fn patch(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let (dry_run, validation) = write_options(&q, "PatchOptions")?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if super::apply::is_apply(content_type) {
        return super::apply::apply(state, namespace, name, q, headers, body).await;
    }
    if q.force.is_some() {
        let text = "Forbidden: may not be specified for non-apply patch".to_string();
        return Err(options_invalid_causes("PatchOptions", &[("force", "FieldValueForbidden", text)]));
    }
    let kind = PatchType::from_content_type(content_type)?;
    patch_and_write(&state, &namespace, &name, kind, &body, validation, |current, patched| {
        record_update(Some(current), patched, &q, &headers);
        state.node.pods().update_as(&namespace, &name, patched, dry_run)
    })
}

/// A patch of `kind` applied to the stored pod, then written by `write` (given the pod the
/// patch was applied to, and the patched pod, which it may change first). As the API server's
/// update loop: a patch without a resourceVersion of its own is applied again to the newer
/// object when a concurrent write (the kubelet's status) got in first.
pub(super) fn patch_and_write(
    state: &AppState,
    namespace: &str,
    name: &str,
    kind: PatchType,
    body: &[u8],
    validation: FieldValidation,
    write: impl Fn(&Pod, &mut Pod) -> Result<Pod, podspec_api::ApiError>,
) -> Result<Response, Failure> {
    let api = state.node.pods();
    for _ in 0..10 {
        let current = api.get(namespace, name).map_err(|e| Failure::from_api(e, name))?;
        let mut value = serde_json::to_value(&current).unwrap_or_default();
        patch::apply(kind, &mut value, body)?;
        let mut patched: Pod = serde_json::from_value(value.clone())
            .map_err(|e| Failure::new(422, "Invalid", format!("the patch does not make a Pod: {e}")))?;
        let warnings = patched_unknown_fields(&value, &patched, validation)?;
        let pinned = patched.metadata.resource_version != current.metadata.resource_version;
        match write(&current, &mut patched) {
            Ok(p) => return Ok(with_warnings(json_response(StatusCode::OK, &p), &warnings)),
            Err(e) if e.reason == "Conflict" && !pinned && !e.message.contains("Precondition") => continue,
            Err(e) => return Err(Failure::from_api(e, name)),
        }
    }
    Err(Failure::from_api(podspec_api::ApiError::conflict(name), name))
}

/// The fields a patch added that a Pod does not have, as the API server's patcher treats them
/// (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go): Strict refuses the patch
/// (422, `patch: Invalid value: "<the patched object>": strict decoding error: unknown field
/// "spec.x"`; for a strategic merge patch the API server shows the patch as a Go map there,
/// serve shows the patched object for every patch type), Warn returns them as warnings, Ignore
/// drops them.
pub(super) fn patched_unknown_fields(
    value: &Value,
    patched: &impl serde::Serialize,
    validation: FieldValidation,
) -> Result<Vec<String>, Failure> {
    if validation == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let typed = serde_json::to_value(patched).unwrap_or_default();
    let unknown: Vec<String> =
        podspec_api::manifest::unknown_fields_of(value, &typed).iter().map(|f| format!("unknown field {f:?}")).collect();
    if unknown.is_empty() || validation == FieldValidation::Warn {
        return Ok(unknown);
    }
    let text = format!("Invalid value: {:?}: strict decoding error: {}", value.to_string(), unknown.join(", "));
    Err(Failure::new(422, "Invalid", format!(" \"\" is invalid: patch: {text}"))
        .with_details(json!({"causes": [{"reason": "FieldValueInvalid", "message": text, "field": "patch"}]})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteBody {
    grace_period_seconds: Option<i64>,
    preconditions: Option<Preconditions>,
    dry_run: Option<Vec<String>>,
    propagation_policy: Option<String>,
    orphan_dependents: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Preconditions {
    uid: Option<String>,
    resource_version: Option<String>,
}

/// DeleteOptions from the query and the body, checked as ValidateDeleteOptions checks them.
/// `propagationPolicy` (and the older `orphanDependents`) decide what becomes of the objects a
/// pod owns: in serve's API no object is owned by a pod, so every valid policy deletes the pod
/// alike (a Foreground delete would wait for dependents there are none of).
pub(super) fn delete_options(q: &WriteQuery, body: &[u8]) -> Result<(DeleteOptions, bool), Failure> {
    let b: DeleteBody = if body.is_empty() {
        DeleteBody::default()
    } else {
        serde_json::from_slice(body).map_err(|e| Failure::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let mut dry = b.dry_run.unwrap_or_default();
    dry.extend(q.dry_run.iter().filter(|d| !d.is_empty()).cloned());
    let mut errors = Vec::new();
    if dry.iter().any(|d| d != "All") {
        let list: Vec<String> = dry.iter().map(|d| format!("{d:?}")).collect();
        errors.push(("dryRun", format!("Unsupported value: []string{{{}}}: supported values: \"All\"", list.join(", "))));
    }
    let policy = q.propagation_policy.clone().or(b.propagation_policy);
    let orphan = q.orphan_dependents.or(b.orphan_dependents);
    if let Some(p) = &policy {
        if !["Foreground", "Background", "Orphan"].contains(&p.as_str()) {
            errors.push((
                "propagationPolicy",
                format!("Unsupported value: {p:?}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""),
            ));
        }
        if orphan.is_some() {
            errors
                .push(("propagationPolicy", format!("Invalid value: {p:?}: orphanDependents and deletionPropagation cannot be both set")));
        }
    }
    let grace = q.grace_period_seconds.or(b.grace_period_seconds);
    if !errors.is_empty() {
        return Err(options_invalid("DeleteOptions", &errors));
    }
    let pre = b.preconditions.unwrap_or_default();
    let options = DeleteOptions { grace_period_seconds: grace, uid: pre.uid, resource_version: pre.resource_version };
    Ok((options, !dry.is_empty()))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, Failure> {
    let (options, dry_run) = delete_options(&q, &body)?;
    let api = state.node.pods();
    let before = api.get(&namespace, &name).map_err(|e| Failure::from_api(e, &name))?;
    let after = api.delete_as(&namespace, &name, &options, dry_run).map_err(|e| Failure::from_api(e, &name))?;
    Ok(json_response(StatusCode::OK, &after.unwrap_or(before)))
}

/// DELETE on the collection: every pod of the namespace the selectors pick, deleted with the
/// request's options (preconditions included, as the API server passes them to each).
pub async fn delete_collection(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, Failure> {
    let (options, dry_run) = delete_options(&q, &body)?;
    let selector =
        PodSelector::parse(q.label_selector.as_deref(), q.field_selector.as_deref()).map_err(|e| Failure::bad_request(e.to_string()))?;
    let api = state.node.pods();
    let mut deleted = Vec::new();
    let scope = Scope { namespace: Some(namespace.clone()), node: selector.node_name().map(str::to_string) };
    for pod in api.list_scoped(&scope).0.into_iter().filter(|p| selector.matches(p)) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        match api.delete_as(&namespace, &name, &options, dry_run) {
            Ok(after) => deleted.push(after.unwrap_or(pod)),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(Failure::from_api(e, &name)),
        }
    }
    let list = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": api.resource_version().to_string()}, "items": deleted});
    Ok(json_response(StatusCode::OK, &list))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dry: Option<&str>, validation: Option<&str>) -> WriteQuery {
        WriteQuery { dry_run: dry.map(Into::into), field_validation: validation.map(Into::into), ..Default::default() }
    }

    #[test]
    fn dry_run_and_field_validation_are_read_and_checked_as_the_api_server_does() {
        assert_eq!(write_options(&write(None, None), "CreateOptions").unwrap(), (false, FieldValidation::Warn));
        assert_eq!(write_options(&write(Some("All"), Some("Strict")), "CreateOptions").unwrap(), (true, FieldValidation::Strict));
        assert_eq!(write_options(&write(None, Some("Ignore")), "PatchOptions").unwrap(), (false, FieldValidation::Ignore));
        let e = write_options(&write(Some("Some"), Some("Loud")), "UpdateOptions").unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
        assert_eq!(
            e.message,
            "UpdateOptions.meta.k8s.io \"\" is invalid: [dryRun: Unsupported value: []string{\"Some\"}: supported values: \"All\", fieldValidation: Unsupported value: \"Loud\": supported values: \"\", \"Ignore\", \"Strict\", \"Warn\"]"
        );
    }

    #[test]
    fn delete_options_take_the_query_and_the_body() {
        let q = WriteQuery { grace_period_seconds: Some(0), ..Default::default() };
        let body =
            br#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground","dryRun":["All"],"preconditions":{"uid":"u1"}}"#;
        let (o, dry) = delete_options(&q, body).unwrap();
        assert!(dry);
        assert_eq!((o.grace_period_seconds, o.uid.as_deref()), (Some(0), Some("u1")));
        let e = delete_options(&WriteQuery { propagation_policy: Some("Sideways".into()), ..Default::default() }, b"").unwrap_err();
        assert_eq!(
            e.message,
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
        );
        let e = delete_options(&WriteQuery::default(), br#"{"propagationPolicy":"Orphan","orphanDependents":true}"#).unwrap_err();
        assert!(
            e.message
                .ends_with("propagationPolicy: Invalid value: \"Orphan\": orphanDependents and deletionPropagation cannot be both set"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_patch_that_adds_an_unknown_field_is_refused_warned_or_dropped() {
        let value = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [], "bogus": 1}});
        let pod: Pod = serde_json::from_value(value.clone()).unwrap();
        assert!(patched_unknown_fields(&value, &pod, FieldValidation::Ignore).unwrap().is_empty());
        assert_eq!(patched_unknown_fields(&value, &pod, FieldValidation::Warn).unwrap(), vec!["unknown field \"spec.bogus\"".to_string()]);
        let e = patched_unknown_fields(&value, &pod, FieldValidation::Strict).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.starts_with(" \"\" is invalid: patch: Invalid value: \"{"), "{}", e.message);
        assert!(e.message.ends_with(": strict decoding error: unknown field \"spec.bogus\""), "{}", e.message);
    }
}
