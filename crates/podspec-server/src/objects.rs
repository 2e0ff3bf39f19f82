//! The handlers of a kind whose rules are all its strategy's (ConfigMaps, Secrets): create, get,
//! list, watch, update (PUT), patch (JSON merge, JSON and strategic merge), delete and
//! deletecollection, with the same options, errors and Table form as the pods' handlers. Each
//! kind's own file (`configmaps.rs`, `secrets.rs`) says its names, its protobuf decoding and its
//! Table columns; the routes take these handlers for that kind.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use k8s_openapi::Metadata as _;
use serde_json::{json, Value};

use super::patch::{self, PatchType};
use super::pods::{
    field_manager, is_true, json_response, options_invalid_causes, with_warnings, write_options, FieldValidation, ListQuery, WriteQuery,
};
use super::{AppState, Failure};
use podspec_api::generic::{Object, Store};
use podspec_api::managed_fields as mf;
use podspec_api::selector::PodSelector;
use podspec_api::{ApiError, Strategy};

/// A kind served by these handlers.
pub trait Served: Strategy<Object: Object> + Sized {
    /// Decodes a protobuf body (`application/vnd.kubernetes.protobuf`).
    fn from_protobuf(body: &[u8]) -> Result<Self::Object, super::protobuf::ProtobufError>;
    /// The Table of `objects` (as JSON), as kube-apiserver's printer shows the kind.
    fn table(objects: &[Value], resource_version: &str, with_columns: bool, include_object: &str) -> Value;
    /// What decoding a written object into the API's internal version does before an update's
    /// managed fields are worked out (kube-apiserver's fieldmanager compares the internal
    /// objects converted back: a Secret's `stringData` is then already in `data`). An apply is
    /// not decoded so: its fields are the applied configuration's.
    fn decoded(object: &mut Self::Object) {
        let _ = object;
    }
}

fn store<S: Served>(state: &AppState) -> Arc<Store<S>> {
    state.node.api().store::<S>()
}

fn kind<S: Served>() -> &'static str {
    <S::Object as k8s_openapi::Resource>::KIND
}

/// The store's error with the details kube-apiserver gives it (the kind for Invalid, else the
/// resource).
fn failure<S: Served>(e: ApiError, name: &str) -> Failure {
    let kind = if e.reason == "Invalid" { kind::<S>() } else { <S::Object as k8s_openapi::Resource>::URL_PATH_SEGMENT };
    let mut details = json!({"name": name, "kind": kind});
    if !e.causes.is_empty() {
        details["causes"] = e.causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect();
    }
    Failure { code: e.code, reason: e.reason, message: e.message, details: Some(details) }
}

fn wants_table(headers: &HeaderMap) -> bool {
    super::table::wants_table(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

/// A body of the kind: JSON, YAML or protobuf, with fieldValidation's handling of unknown
/// fields (Strict: 400; Warn: warnings; Ignore: dropped).
fn decode<S: Served>(headers: &HeaderMap, body: &[u8], validation: FieldValidation) -> Result<(S::Object, Vec<String>), Failure> {
    let kind = kind::<S>();
    let bad = |e: String| Failure::bad_request(format!("{kind} in version \"v1\" cannot be handled as a {kind}: {e}"));
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let value: Value = if content_type.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?
    } else if content_type.starts_with("application/yaml") {
        podspec_api::manifest::input::yaml_from_slice(body).map_err(|e| bad(e.to_string()))?
    } else if content_type.starts_with(super::protobuf::CONTENT_TYPE) {
        return Ok((S::from_protobuf(body).map_err(|e| bad(e.to_string()))?, Vec::new()));
    } else {
        return Err(Failure::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"),
        ));
    };
    let object: S::Object = serde_json::from_value(value.clone()).map_err(|e| bad(e.to_string()))?;
    let unknown = podspec_api::manifest::unknown_fields_of(&value, &serde_json::to_value(&object).unwrap_or_default());
    let listed: Vec<String> = unknown.iter().map(|f| format!("unknown field {f:?}")).collect();
    match validation {
        _ if listed.is_empty() => Ok((object, Vec::new())),
        FieldValidation::Strict => Err(bad(format!("strict decoding error: {}", listed.join(", ")))),
        FieldValidation::Ignore => Ok((object, Vec::new())),
        FieldValidation::Warn => Ok((object, listed)),
    }
}

/// generateName's suffix: 5 characters of Kubernetes' alphabet.
fn random_suffix() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

pub async fn create<S: Served>(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let (dry_run, validation) = write_options(&q, "CreateOptions")?;
    let (mut object, warnings) = decode::<S>(&headers, &body, validation)?;
    let m = object.metadata_mut();
    match m.namespace.as_deref().filter(|ns| !ns.is_empty()) {
        Some(ns) if ns != namespace => {
            return Err(Failure::bad_request("the namespace of the provided object does not match the namespace sent on the request"))
        }
        _ => m.namespace = Some(namespace),
    }
    if m.name.as_deref().unwrap_or("").is_empty() {
        if let Some(prefix) = m.generate_name.clone() {
            m.name = Some(format!("{prefix}{}", random_suffix()));
        }
    }
    let name = m.name.clone().unwrap_or_default();
    S::decoded(&mut object);
    mf::record_update(None, &mut object, &field_manager(&q, &headers), mf::now());
    let created = store::<S>(&state).create_object(&object, dry_run).map_err(|e| failure::<S>(e, &name))?;
    Ok(with_warnings(json_response(StatusCode::CREATED, &created), &warnings))
}

pub async fn read<S: Served>(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let object = store::<S>(&state).get(&namespace, &name).map_err(|e| failure::<S>(e, &name))?;
    if wants_table(&headers) {
        let rv = object.metadata().resource_version.clone().unwrap_or_default();
        let include = q.include_object.as_deref().unwrap_or("Metadata");
        return Ok(json_response(StatusCode::OK, &S::table(&[serde_json::to_value(&object).unwrap_or_default()], &rv, true, include)));
    }
    Ok(json_response(StatusCode::OK, &object))
}

/// The selector of a list, a watch or a deletecollection: labels, and the fields
/// `metadata.name` and `metadata.namespace` (the fields every kind can be selected by).
fn selector<S: Served>(
    namespace: Option<String>,
    labels: Option<&str>,
    fields: Option<&str>,
) -> Result<impl Fn(&S::Object) -> bool + Send + Sync + 'static, Failure> {
    let labels = PodSelector::parse(labels.filter(|s| !s.trim().is_empty()), None).map_err(|e| Failure::bad_request(e.to_string()))?;
    let mut wanted: Vec<(bool, &'static str, String)> = Vec::new();
    for term in fields.unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
            (f, false, v)
        } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            (f, true, v)
        } else {
            return Err(Failure::bad_request(format!("invalid selector: '{term}'; can't understand '{term}'")));
        };
        let field = match field.trim() {
            "metadata.name" => "metadata.name",
            "metadata.namespace" => "metadata.namespace",
            other => return Err(Failure::bad_request(format!("field label not supported: {other}"))),
        };
        wanted.push((equal, field, value.trim().to_string()));
    }
    Ok(move |o: &S::Object| {
        let m = o.metadata();
        namespace.as_ref().is_none_or(|n| m.namespace.as_ref() == Some(n))
            && labels.matches_labels(m.labels.as_ref())
            && wanted.iter().all(|(equal, field, value)| {
                let have = if *field == "metadata.name" { m.name.as_deref() } else { m.namespace.as_deref() };
                (have.unwrap_or("") == value) == *equal
            })
    })
}

pub async fn list<S: Served>(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    list_in::<S>(state, Some(namespace), q, headers)
}

pub async fn list_all<S: Served>(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    list_in::<S>(state, None, q, headers)
}

/// A list, or with `watch=true` a watch (the objects there now unless it starts from a
/// resourceVersion, then each change), of the objects the selectors pick.
fn list_in<S: Served>(state: AppState, namespace: Option<String>, q: ListQuery, headers: HeaderMap) -> Result<Response, Failure> {
    let selects = selector::<S>(namespace, q.label_selector.as_deref(), q.field_selector.as_deref())?;
    let as_table = wants_table(&headers);
    let include = q.include_object.clone().unwrap_or_else(|| "Metadata".into());
    let objects = store::<S>(&state);
    if is_true(&q.watch) {
        let from = super::watch::start_from(&q)?;
        let watch = objects.watch(from, Box::new(selects)).map_err(Failure::from)?;
        return Ok(super::watch::stream(watch, &q, kind::<S>(), move |o: &S::Object, first| {
            let v = serde_json::to_value(o).unwrap_or_default();
            if as_table {
                let rv = o.metadata().resource_version.clone().unwrap_or_default();
                S::table(&[v], &rv, first, &include)
            } else {
                v
            }
        }));
    }
    let (all, rv) = objects.list_at();
    let items: Vec<Value> = all.iter().filter(|o| selects(o)).map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
    if as_table {
        return Ok(json_response(StatusCode::OK, &S::table(&items, &rv.to_string(), true, &include)));
    }
    let list = json!({"kind": format!("{}List", kind::<S>()), "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}, "items": items});
    Ok(json_response(StatusCode::OK, &list))
}

pub async fn replace<S: Served>(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let (dry_run, validation) = write_options(&q, "UpdateOptions")?;
    let (mut object, warnings) = decode::<S>(&headers, &body, validation)?;
    let objects = store::<S>(&state);
    let live = objects.get(&namespace, &name).ok();
    S::decoded(&mut object);
    mf::record_update(live.as_ref(), &mut object, &field_manager(&q, &headers), mf::now());
    let updated = objects.update_as(&namespace, &name, &object, dry_run).map_err(|e| failure::<S>(e, &name))?;
    Ok(with_warnings(json_response(StatusCode::OK, &updated), &warnings))
}

/// A JSON merge, JSON or strategic merge patch of the stored object, applied again to a newer
/// object when a concurrent write got in first (unless the patch pins a resourceVersion).
/// An apply patch (`application/apply-patch+yaml`) is server-side apply, the pods' machinery
/// with this kind's store ([`Objects`]).
pub async fn patch<S: Served>(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if super::apply::is_apply(content_type) {
        return super::apply::apply_to::<S::Object>(&Objects::<S>(store::<S>(&state)), &namespace, &name, &q, &body);
    }
    let (dry_run, validation) = write_options(&q, "PatchOptions")?;
    if q.force.is_some() {
        let text = "Forbidden: may not be specified for non-apply patch".to_string();
        return Err(options_invalid_causes("PatchOptions", &[("force", "FieldValueForbidden", text)]));
    }
    let patch_type = PatchType::from_content_type(content_type)?;
    let objects = store::<S>(&state);
    for _ in 0..10 {
        let current = objects.get(&namespace, &name).map_err(|e| failure::<S>(e, &name))?;
        let mut value = serde_json::to_value(&current).unwrap_or_default();
        patch::apply(patch_type, &mut value, &body)?;
        let mut patched: S::Object = serde_json::from_value(value.clone())
            .map_err(|e| Failure::new(422, "Invalid", format!("the patch does not make a {}: {e}", kind::<S>())))?;
        let unknown: Vec<String> = podspec_api::manifest::unknown_fields_of(&value, &serde_json::to_value(&patched).unwrap_or_default())
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect();
        let warnings = match validation {
            FieldValidation::Strict if !unknown.is_empty() => {
                let text = format!("Invalid value: {:?}: strict decoding error: {}", value.to_string(), unknown.join(", "));
                return Err(Failure::new(422, "Invalid", format!(" \"\" is invalid: patch: {text}"))
                    .with_details(json!({"causes": [{"reason": "FieldValueInvalid", "message": text, "field": "patch"}]})));
            }
            FieldValidation::Warn => unknown,
            _ => Vec::new(),
        };
        S::decoded(&mut patched);
        mf::record_update(Some(&current), &mut patched, &field_manager(&q, &headers), mf::now());
        let pinned = patched.metadata().resource_version != current.metadata().resource_version;
        match objects.update_as(&namespace, &name, &patched, dry_run) {
            Ok(o) => return Ok(with_warnings(json_response(StatusCode::OK, &o), &warnings)),
            Err(e) if e.reason == "Conflict" && !pinned => continue,
            Err(e) => return Err(failure::<S>(e, &name)),
        }
    }
    Err(failure::<S>(ApiError::conflict_of(<S::Object as k8s_openapi::Resource>::URL_PATH_SEGMENT, &name), &name))
}

/// A kind's store as server-side apply's target: the same create and update as a POST and a
/// PUT, and the same errors.
struct Objects<S: Served>(Arc<Store<S>>);

impl<S: Served> super::apply::ApplyTarget<S::Object> for Objects<S> {
    fn get(&self, namespace: &str, name: &str) -> Result<S::Object, ApiError> {
        self.0.get(namespace, name)
    }
    fn create(&self, object: &S::Object, dry_run: bool) -> Result<S::Object, ApiError> {
        self.0.create_object(object, dry_run)
    }
    fn update(&self, namespace: &str, name: &str, object: &S::Object, dry_run: bool) -> Result<S::Object, ApiError> {
        self.0.update_as(namespace, name, object, dry_run)
    }
    fn failure(&self, e: ApiError, name: &str) -> Failure {
        failure::<S>(e, name)
    }
}

/// A delete: the object as it was (these kinds have no graceful deletion; finalizers keep
/// it, marked, until they are removed).
pub async fn delete<S: Served>(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, Failure> {
    let (options, dry_run) = super::pods::delete_options(&q, &body)?;
    let objects = store::<S>(&state);
    let before = objects.get(&namespace, &name).map_err(|e| failure::<S>(e, &name))?;
    let after = objects.delete_as(&namespace, &name, &options, dry_run).map_err(|e| failure::<S>(e, &name))?;
    Ok(json_response(StatusCode::OK, &after.unwrap_or(before)))
}

/// DELETE on the collection: every object of the namespace the selectors pick.
pub async fn delete_collection<S: Served>(
    State(state): State<AppState>,
    Path(namespace): Path<String>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> Result<Response, Failure> {
    let (options, dry_run) = super::pods::delete_options(&q, &body)?;
    let selects = selector::<S>(Some(namespace.clone()), q.label_selector.as_deref(), q.field_selector.as_deref())?;
    let objects = store::<S>(&state);
    let mut deleted = Vec::new();
    for object in objects.list().into_iter().filter(|o| selects(o)) {
        let name = object.metadata().name.clone().unwrap_or_default();
        match objects.delete_as(&namespace, &name, &options, dry_run) {
            Ok(after) => deleted.push(after.unwrap_or(object)),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(failure::<S>(e, &name)),
        }
    }
    let list = json!({"kind": format!("{}List", kind::<S>()), "apiVersion": "v1", "metadata": {"resourceVersion": objects.resource_version().to_string()}, "items": deleted});
    Ok(json_response(StatusCode::OK, &list))
}

/// The routes of a kind: its collection in a namespace and across namespaces, and an object.
pub fn routes<S: Served>(router: axum::Router<AppState>) -> axum::Router<AppState> {
    use axum::routing::get;
    let resource = <S::Object as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    let collection = format!("/api/v1/namespaces/{{namespace}}/{resource}");
    router
        .route(&format!("/api/v1/{resource}"), get(list_all::<S>))
        .route(&collection, get(list::<S>).post(create::<S>).delete(delete_collection::<S>))
        .route(&format!("{collection}/{{name}}"), get(read::<S>).put(replace::<S>).patch(patch::<S>).delete(delete::<S>))
}
