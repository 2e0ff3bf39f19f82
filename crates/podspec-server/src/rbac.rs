//! `/api/v1/.../serviceaccounts` (with the `token` subresource: TokenRequest, what `kubectl
//! create token` asks) and `rbac.authorization.k8s.io/v1`'s roles, cluster roles and their
//! bindings: create, get, list, watch, replace, patch (JSON merge patch; a strategic merge
//! patch is applied as one, which is what it is for these kinds, whose lists have no merge
//! keys) and delete, one set of handlers for the five kinds of the generic store
//! (`api::rbac`). Who may use them is the authorizer's (`authz`), as for every request.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestStatus};
use k8s_openapi::Metadata as _;
use serde_json::{json, Value};

use super::authz::User;
use super::pods::{is_true, ListQuery};
use super::{AppState, Failure};
use podspec_api::generic::Object;
use podspec_api::rbac::{
    ClusterRoleBindingStrategy, ClusterRoleStrategy, RoleBindingStrategy, RoleStrategy, ServiceAccountStrategy, GROUP,
};
use podspec_api::{ApiError, DeleteOptions, Strategy};

pub const VERSION: &str = "v1";

/// The group as `/apis` lists it (APIGroup).
pub fn group() -> Value {
    let gv = json!({"groupVersion": format!("{GROUP}/{VERSION}"), "version": VERSION});
    json!({"name": GROUP, "versions": [gv], "preferredVersion": gv})
}

fn resource_list() -> Value {
    let crud = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    let r = |name: &str, singular: &str, namespaced: bool, kind: &str| json!({"name": name, "singularName": singular, "namespaced": namespaced, "kind": kind, "verbs": crud});
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{GROUP}/{VERSION}"),
        "resources": [
            r("clusterrolebindings", "clusterrolebinding", false, "ClusterRoleBinding"),
            r("clusterroles", "clusterrole", false, "ClusterRole"),
            r("rolebindings", "rolebinding", true, "RoleBinding"),
            r("roles", "role", true, "Role"),
        ],
    })
}

/// The routes of the five kinds.
pub fn routes(router: Router<AppState>) -> Router<AppState> {
    let rbac = format!("/apis/{GROUP}/{VERSION}");
    let sa = "/api/v1/namespaces/{namespace}/serviceaccounts";
    router
        .route(&format!("/apis/{GROUP}"), get(|| async { Json(with_kind(group(), "APIGroup")) }))
        .route(&rbac, get(|| async { Json(resource_list()) }))
        .route("/api/v1/serviceaccounts", get(list::<ServiceAccountStrategy>))
        .route(
            sa,
            get(list::<ServiceAccountStrategy>).post(create::<ServiceAccountStrategy>).delete(delete_collection::<ServiceAccountStrategy>),
        )
        .route(
            &format!("{sa}/{{name}}"),
            get(read::<ServiceAccountStrategy>)
                .put(replace::<ServiceAccountStrategy>)
                .patch(patch::<ServiceAccountStrategy>)
                .delete(delete::<ServiceAccountStrategy>),
        )
        .route(&format!("{sa}/{{name}}/token"), post(token))
        .merge(kind_routes::<ClusterRoleStrategy>(&rbac, false))
        .merge(kind_routes::<ClusterRoleBindingStrategy>(&rbac, false))
        .merge(kind_routes::<RoleStrategy>(&rbac, true))
        .merge(kind_routes::<RoleBindingStrategy>(&rbac, true))
}

fn kind_routes<S: Strategy>(prefix: &str, namespaced: bool) -> Router<AppState>
where
    S::Object: Object,
{
    let resource = <S::Object as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    let collection = if namespaced { format!("{prefix}/namespaces/{{namespace}}/{resource}") } else { format!("{prefix}/{resource}") };
    let mut r = Router::new()
        .route(&collection, get(list::<S>).post(create::<S>).delete(delete_collection::<S>))
        .route(&format!("{collection}/{{name}}"), get(read::<S>).put(replace::<S>).patch(patch::<S>).delete(delete::<S>));
    if namespaced {
        r = r.route(&format!("{prefix}/{resource}"), get(list::<S>));
    }
    r
}

fn with_kind(mut v: Value, kind: &str) -> Value {
    v["kind"] = kind.into();
    v["apiVersion"] = "v1".into();
    v
}

fn group_of<S: Strategy>() -> &'static str
where
    S::Object: Object,
{
    <S::Object as k8s_openapi::Resource>::GROUP
}

/// The store's error about `name` in kube-apiserver's words: the resource qualified by its
/// group (`clusterroles.rbac.authorization.k8s.io "x" not found`), the kind by its group in an
/// Invalid error.
fn failure<S: Strategy>(e: ApiError, name: &str) -> Failure
where
    S::Object: Object,
{
    let (group, resource, kind) =
        (group_of::<S>(), <S::Object as k8s_openapi::Resource>::URL_PATH_SEGMENT, <S::Object as k8s_openapi::Resource>::KIND);
    let mut f = Failure::from(e.clone());
    if !group.is_empty() {
        if let Some(rest) = f.message.strip_prefix(&format!("{resource} ")) {
            f.message = format!("{resource}.{group} {rest}");
        } else if let Some(rest) = f.message.strip_prefix(&format!("{kind} ")) {
            f.message = format!("{kind}.{group} {rest}");
        }
    }
    let mut details = json!({"name": name, "kind": if e.reason == "Invalid" { kind } else { resource }});
    if !group.is_empty() {
        details["group"] = group.into();
    }
    if !e.causes.is_empty() {
        details["causes"] = e.causes.iter().map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field})).collect();
    }
    f.with_details(details)
}

fn namespace_of(params: &HashMap<String, String>) -> String {
    params.get("namespace").cloned().unwrap_or_default()
}

fn decode<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8], kind: &str, version: &str) -> Result<T, Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let bad = |e: String| Failure::bad_request(format!("{kind} in version {version:?} cannot be handled as a {kind}: {e}"));
    if content_type.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| bad(e.to_string()))
    } else if content_type.starts_with("application/yaml") {
        podspec_api::manifest::input::yaml_from_slice(body).map_err(|e| bad(e.to_string()))
    } else {
        Err(Failure::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"),
        ))
    }
}

async fn list<S: Strategy>(
    State(state): State<AppState>,
    params: Option<Path<HashMap<String, String>>>,
    Query(q): Query<ListQuery>,
) -> Result<Response, Failure>
where
    S::Object: Object,
{
    let namespace = params.map(|p| namespace_of(&p.0)).unwrap_or_default();
    let selector = match q.label_selector.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => Some(podspec_api::selector::PodSelector::parse(Some(s), None).map_err(|e| Failure::bad_request(e.to_string()))?),
        None => None,
    };
    let selects = move |o: &S::Object| {
        let m = o.metadata();
        (namespace.is_empty() || m.namespace.as_deref() == Some(namespace.as_str()))
            && selector.as_ref().is_none_or(|s| s.matches_labels(m.labels.as_ref()))
    };
    let store = state.node.api().store::<S>();
    let kind = <S::Object as k8s_openapi::Resource>::KIND;
    if is_true(&q.watch) {
        let from = super::watch::start_from(&q)?;
        let watch = store.watch(from, Box::new(selects)).map_err(Failure::from)?;
        return Ok(super::watch::stream(watch, &q, kind, |o: &S::Object, _| serde_json::to_value(o).unwrap_or_default()));
    }
    let (all, rv) = store.list_at();
    let items: Vec<Value> = all.iter().filter(|o| selects(o)).map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
    let api_version = <S::Object as k8s_openapi::Resource>::API_VERSION;
    Ok(Json(
        json!({"kind": format!("{kind}List"), "apiVersion": api_version, "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
    )
    .into_response())
}

async fn read<S: Strategy>(State(state): State<AppState>, Path(p): Path<HashMap<String, String>>) -> Result<Response, Failure>
where
    S::Object: Object,
{
    let name = p.get("name").cloned().unwrap_or_default();
    let o = state.node.api().store::<S>().get(&namespace_of(&p), &name).map_err(|e| failure::<S>(e, &name))?;
    Ok(Json(o).into_response())
}

async fn create<S: Strategy>(
    State(state): State<AppState>,
    Extension(user): Extension<User>,
    Path(p): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure>
where
    S::Object: Object,
{
    let kind = <S::Object as k8s_openapi::Resource>::KIND;
    let mut o: S::Object = decode(&headers, &body, kind, <S::Object as k8s_openapi::Resource>::VERSION)?;
    let namespace = namespace_of(&p);
    let name = o.metadata().name.clone().unwrap_or_default();
    if S::NAMESPACED {
        match o.metadata().namespace.as_deref() {
            Some(ns) if !ns.is_empty() && ns != namespace => {
                return Err(Failure::bad_request("the namespace of the provided object does not match the namespace sent on the request"))
            }
            _ => o.metadata_mut().namespace = Some(namespace.clone()),
        }
    }
    escalation_check::<S>(&state, &user, &namespace, &o)?;
    let created = state.node.api().store::<S>().create_object(&o, false).map_err(|e| failure::<S>(e, &name))?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn replace<S: Strategy>(
    State(state): State<AppState>,
    Extension(user): Extension<User>,
    Path(p): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure>
where
    S::Object: Object,
{
    let kind = <S::Object as k8s_openapi::Resource>::KIND;
    let o: S::Object = decode(&headers, &body, kind, <S::Object as k8s_openapi::Resource>::VERSION)?;
    let name = p.get("name").cloned().unwrap_or_default();
    escalation_check::<S>(&state, &user, &namespace_of(&p), &o)?;
    let updated = state.node.api().store::<S>().update(&namespace_of(&p), &name, &o).map_err(|e| failure::<S>(e, &name))?;
    Ok(Json(updated).into_response())
}

async fn patch<S: Strategy>(
    State(state): State<AppState>,
    Extension(user): Extension<User>,
    Path(p): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure>
where
    S::Object: Object,
{
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !matches!(content_type.split(';').next(), Some("application/merge-patch+json" | "application/strategic-merge-patch+json")) {
        return Err(Failure::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got {content_type:?})"),
        ));
    }
    let patch: Value = serde_json::from_slice(&body).map_err(|e| Failure::bad_request(e.to_string()))?;
    if patch.as_object().is_some_and(|o| o.keys().any(|k| k.starts_with('$'))) {
        return Err(Failure::bad_request("strategic merge patch directives ($patch, $retainKeys, ...) are not supported for this kind"));
    }
    let name = p.get("name").cloned().unwrap_or_default();
    let store = state.node.api().store::<S>();
    let current = store.get(&namespace_of(&p), &name).map_err(|e| failure::<S>(e, &name))?;
    let mut would_be = serde_json::to_value(&current).unwrap_or_default();
    json_patch::merge(&mut would_be, &patch);
    escalation_check_value::<S>(&state, &user, &namespace_of(&p), &would_be)?;
    let patched = store.merge_patch(&namespace_of(&p), &name, &patch).map_err(|e| failure::<S>(e, &name))?;
    Ok(Json(patched).into_response())
}

fn escalation_check<S: Strategy>(state: &AppState, user: &User, namespace: &str, o: &S::Object) -> Result<(), Failure>
where
    S::Object: Object,
{
    escalation_check_value::<S>(state, user, namespace, &serde_json::to_value(o).unwrap_or_default())
}

fn escalation_check_value<S: Strategy>(state: &AppState, user: &User, namespace: &str, o: &Value) -> Result<(), Failure>
where
    S::Object: Object,
{
    super::authz::confirm_no_escalation(state.node.api(), user, <S::Object as k8s_openapi::Resource>::URL_PATH_SEGMENT, namespace, o)
}

async fn delete<S: Strategy>(State(state): State<AppState>, Path(p): Path<HashMap<String, String>>) -> Result<Response, Failure>
where
    S::Object: Object,
{
    let name = p.get("name").cloned().unwrap_or_default();
    let store = state.node.api().store::<S>();
    let namespace = namespace_of(&p);
    let before = store.get(&namespace, &name).map_err(|e| failure::<S>(e, &name))?;
    store.delete(&namespace, &name, &DeleteOptions::default()).map_err(|e| failure::<S>(e, &name))?;
    Ok(Json(before).into_response())
}

async fn delete_collection<S: Strategy>(
    State(state): State<AppState>,
    params: Option<Path<HashMap<String, String>>>,
) -> Result<Response, Failure>
where
    S::Object: Object,
{
    let namespace = params.map(|p| namespace_of(&p.0)).unwrap_or_default();
    let store = state.node.api().store::<S>();
    let mut items = Vec::new();
    for o in store.list() {
        if S::NAMESPACED && o.metadata().namespace.as_deref() != Some(namespace.as_str()) {
            continue;
        }
        let name = o.metadata().name.clone().unwrap_or_default();
        if store.delete(&namespace, &name, &DeleteOptions::default()).is_ok() {
            items.push(serde_json::to_value(&o).unwrap_or_default());
        }
    }
    let kind = <S::Object as k8s_openapi::Resource>::KIND;
    Ok(Json(json!({"kind": format!("{kind}List"), "apiVersion": <S::Object as k8s_openapi::Resource>::API_VERSION, "metadata": {}, "items": items}))
        .into_response())
}

use podspec_api::tokens::DEFAULT_SECONDS;

/// `POST .../serviceaccounts/{name}/token`: a token for the ServiceAccount (201, the
/// TokenRequest back with its status), accepted by serve until it expires or the
/// ServiceAccount goes.
async fn token(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let mut request: TokenRequest = if content_type.starts_with(super::protobuf::CONTENT_TYPE) {
        token_request_protobuf::decode(&body)
            .map_err(|e| Failure::bad_request(format!("TokenRequest in version \"v1\" cannot be handled as a TokenRequest: {e}")))?
    } else {
        decode(&headers, &body, "TokenRequest", "v1")?
    };
    // The account first: a missing one is a 404 before the request is validated.
    state.node.api().store::<ServiceAccountStrategy>().get(&namespace, &name).map_err(|e| failure::<ServiceAccountStrategy>(e, &name))?;
    let seconds = request.spec.expiration_seconds.unwrap_or(DEFAULT_SECONDS);
    if let Err(text) = podspec_api::tokens::check_seconds(seconds) {
        let message = format!("spec.expirationSeconds: {text}");
        return Err(Failure::new(422, "Invalid", format!("TokenRequest.authentication.k8s.io {name:?} is invalid: {message}"))
            .with_details(json!({
                "name": name, "group": "authentication.k8s.io", "kind": "TokenRequest",
                "causes": [{"reason": "FieldValueInvalid", "message": message, "field": "spec.expirationSeconds"}],
            })));
    }
    if request.spec.audiences.is_empty() {
        request.spec.audiences = vec![super::authz::AUDIENCE.to_string()];
    }
    let api = state.node.api();
    let issued = api
        .tokens()
        .request(api, &namespace, &name, &request.spec.audiences, seconds, request.spec.bound_object_ref.as_ref())
        .map_err(|e| {
            // A missing bound object is its own kind's 404; the rest are the account's.
            let bound = request.spec.bound_object_ref.as_ref().and_then(|r| r.name.clone()).unwrap_or_default();
            if e.code == 404 && !e.message.starts_with("serviceaccounts ") {
                Failure::from(e)
            } else if e.code == 409 {
                Failure::from(e.clone())
                    .with_details(json!({"name": bound, "kind": request.spec.bound_object_ref.as_ref().and_then(|r| r.kind.clone())}))
            } else {
                failure::<ServiceAccountStrategy>(e, &name)
            }
        })?;
    let (token, expires) = (issued.token, issued.expires);
    request.spec.expiration_seconds = Some(seconds);
    request.metadata.name = Some(name.clone());
    request.metadata.namespace = Some(namespace.clone());
    request.metadata.creation_timestamp = Some(podspec_api::time::now());
    request.status = Some(TokenRequestStatus { token, expiration_timestamp: podspec_api::time::at(expires) });
    Ok((StatusCode::CREATED, Json(request)).into_response())
}

/// The protobuf form of a TokenRequest (`kubectl create token` sends it): Kubernetes' envelope,
/// then k8s.io/api/authentication/v1's TokenRequest, of which the spec is read (audiences,
/// expirationSeconds, and boundObjectRef).
mod token_request_protobuf {
    use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
    use prost::Message;

    #[derive(Clone, PartialEq, Message)]
    struct Unknown {
        #[prost(bytes = "vec", optional, tag = "2")]
        raw: Option<Vec<u8>>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Request {
        #[prost(message, optional, tag = "2")]
        spec: Option<Spec>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Spec {
        #[prost(string, repeated, tag = "1")]
        audiences: Vec<String>,
        #[prost(message, optional, tag = "3")]
        bound_object_ref: Option<Bound>,
        #[prost(int64, optional, tag = "4")]
        expiration_seconds: Option<i64>,
    }

    #[derive(Clone, PartialEq, Message)]
    struct Bound {
        #[prost(string, optional, tag = "1")]
        kind: Option<String>,
        #[prost(string, optional, tag = "2")]
        api_version: Option<String>,
        #[prost(string, optional, tag = "3")]
        name: Option<String>,
        #[prost(string, optional, tag = "4")]
        uid: Option<String>,
    }

    /// What is wrong with a TokenRequest's protobuf body.
    #[derive(Debug, thiserror::Error)]
    pub enum DecodeError {
        #[error("no protobuf envelope (the magic k8s\\0 is missing)")]
        NoEnvelope,
        #[error(transparent)]
        Protobuf(#[from] prost::DecodeError),
    }

    pub fn decode(body: &[u8]) -> Result<TokenRequest, DecodeError> {
        let envelope = body.strip_prefix(b"k8s\0").ok_or(DecodeError::NoEnvelope)?;
        let unknown = Unknown::decode(envelope)?;
        let request = Request::decode(unknown.raw.unwrap_or_default().as_slice())?;
        let spec = request.spec.unwrap_or_default();
        Ok(TokenRequest {
            spec: TokenRequestSpec {
                audiences: spec.audiences,
                bound_object_ref: spec.bound_object_ref.map(|b| BoundObjectReference {
                    kind: b.kind,
                    api_version: b.api_version,
                    name: b.name,
                    uid: b.uid,
                }),
                expiration_seconds: spec.expiration_seconds,
            },
            ..Default::default()
        })
    }
}
