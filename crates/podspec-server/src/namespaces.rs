//! `/api/v1/namespaces`: the built-in namespaces every cluster has, and the ones clients create.
//! Pods may name any namespace, as the reference API keeps them; a namespace object exists for
//! clients that create, read, wait on and delete one (the kube target makes one per scenario).
//! The namespaces are kept in the node's API (`api::namespaces`): deleting one marks it
//! Terminating, and the node's namespace controller deletes its pods gracefully (each with its
//! own grace period) and removes it once its last pod is gone.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use k8s_openapi::api::core::v1::Namespace;

use super::pods::{is_true, ListQuery};
use super::{AppState, Failure};
use podspec_api::ApiError;

pub use podspec_api::namespaces::BUILT_IN;

fn with_kind(ns: &Namespace) -> serde_json::Value {
    let mut v = serde_json::to_value(ns).unwrap_or_default();
    v["kind"] = "Namespace".into();
    v["apiVersion"] = "v1".into();
    v
}

fn not_found(name: &str) -> Failure {
    Failure::new(404, "NotFound", format!("namespaces {name:?} not found"))
        .with_details(serde_json::json!({"name": name, "kind": "namespaces"}))
}

/// The store's error as serve words it for namespaces.
fn failure(e: ApiError, name: &str) -> Failure {
    match e.reason.as_str() {
        "NotFound" => not_found(name),
        "AlreadyExists" => Failure::from(e).with_details(serde_json::json!({"name": name, "kind": "namespaces"})),
        _ => Failure::from(e),
    }
}

/// List, or with `watch=true` watch: the namespaces there now (unless the watch starts from a
/// resourceVersion), then each one created (ADDED), marked for deletion (MODIFIED) and removed
/// (DELETED).
pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>, headers: axum::http::HeaderMap) -> Result<Response, Failure> {
    let as_table = super::table::wants_table(headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()));
    let include = q.include_object.clone().unwrap_or_else(|| "Metadata".into());
    let selector = match q.label_selector.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(selector) => {
            Some(podspec_api::selector::PodSelector::parse(Some(selector), None).map_err(|e| Failure::bad_request(e.to_string()))?)
        }
        None => None,
    };
    let selects = move |ns: &Namespace| selector.as_ref().is_none_or(|s| s.matches_labels(ns.metadata.labels.as_ref()));
    let namespaces = state.node.namespaces();
    if is_true(&q.watch) {
        let from = super::watch::start_from(&q)?;
        let watch = namespaces.watch(from, Box::new(selects)).map_err(Failure::from)?;
        return Ok(super::watch::stream(watch, &q, "Namespace", move |ns: &Namespace, first| {
            let o = with_kind(ns);
            if as_table {
                let rv = ns.metadata.resource_version.clone().unwrap_or_default();
                super::table::namespace_table(&[o], &rv, first, &include)
            } else {
                o
            }
        }));
    }
    let (all, rv) = namespaces.list_at();
    let items: Vec<serde_json::Value> = all.iter().filter(|ns| selects(ns)).map(with_kind).collect();
    if as_table {
        return Ok(Json(super::table::namespace_table(&items, &rv.to_string(), true, &include)).into_response());
    }
    Ok(Json(
        serde_json::json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
    )
    .into_response())
}

pub async fn get(State(state): State<AppState>, Path(name): Path<String>, headers: axum::http::HeaderMap) -> Result<Response, Failure> {
    let ns = state.node.namespaces().get("", &name).map_err(|e| failure(e, &name))?;
    if super::table::wants_table(headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok())) {
        let rv = ns.metadata.resource_version.clone().unwrap_or_default();
        return Ok(Json(super::table::namespace_table(&[with_kind(&ns)], &rv, true, "Metadata")).into_response());
    }
    Ok(Json(ns).into_response())
}

pub async fn create(State(state): State<AppState>, headers: axum::http::HeaderMap, body: Bytes) -> Result<Response, Failure> {
    // JSON, YAML, or protobuf (kubectl 1.33's `create namespace` sends it); anything else is 415.
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let bad = |e: String| Failure::bad_request(format!("Namespace in version \"v1\" cannot be handled as a Namespace: {e}"));
    let ns: Namespace = if content_type.starts_with("application/json") {
        serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?
    } else if content_type.starts_with("application/yaml") {
        podspec_api::manifest::input::yaml_from_slice(&body).map_err(|e| bad(e.to_string()))?
    } else if content_type.starts_with(super::protobuf::CONTENT_TYPE) {
        super::protobuf::namespace(&body).map_err(|e| bad(e.to_string()))?
    } else {
        return Err(Failure::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type:?})"),
        ));
    };
    let name = ns.metadata.name.clone().unwrap_or_default();
    let created = state.node.namespaces().create_object(&ns, false).map_err(|e| failure(e, &name))?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Marks the namespace Terminating; the node's namespace controller deletes its pods and
/// then the namespace.
pub async fn delete(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, Failure> {
    let marked = state.node.namespaces().delete_namespace(&name).map_err(|e| failure(e, &name))?;
    Ok((StatusCode::OK, Json(marked)).into_response())
}
