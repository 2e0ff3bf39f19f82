//! `pods/{name}/ephemeralcontainers`: GET, PUT and PATCH (merge, JSON and strategic merge
//! patch, as for the pod), as kube-apiserver serves the subresource (`kubectl debug` patches
//! it). The object is the whole pod; the store's subresource strategy takes its
//! `spec.ephemeralContainers` only and applies Kubernetes' rules (`api/ephemeral.rs`). The
//! write's manager gets an entry with subresource `ephemeralcontainers` in managedFields.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;

use super::patch::PatchType;
use super::pods::{decode_pod, field_manager, json_response, patch_and_write, with_warnings, write_options, WriteQuery};
use super::{AppState, Failure};

pub async fn get(State(state): State<AppState>, Path((namespace, name)): Path<(String, String)>) -> Result<Response, Failure> {
    let pod = state.node.pods().get(&namespace, &name).map_err(|e| Failure::from_api(e, &name))?;
    Ok(json_response(StatusCode::OK, &pod))
}

/// A PUT of the pod, of which the ephemeral containers are written.
pub async fn replace(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let (dry_run, validation) = write_options(&q, "UpdateOptions")?;
    let (mut pod, warnings) = decode_pod(&headers, &body, validation)?;
    pod.metadata.namespace.get_or_insert_with(|| namespace.clone());
    let updated = state
        .node
        .pods()
        .update_ephemeral_containers(&namespace, &name, &pod, dry_run, Some(&field_manager(&q, &headers)))
        .map_err(|e| Failure::from_api(e, &name))?;
    Ok(with_warnings(json_response(StatusCode::OK, &updated), &warnings))
}

/// A patch applied to the stored pod, then written as a PUT of the subresource is; applied
/// again to a newer pod when a write got in between (the kubelet's status), as the API
/// server's update loop does for a patch without a resourceVersion of its own.
pub async fn patch(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    Query(q): Query<WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let (dry_run, validation) = write_options(&q, "PatchOptions")?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let kind = PatchType::from_content_type(content_type)?;
    let manager = field_manager(&q, &headers);
    patch_and_write(&state, &namespace, &name, kind, &body, validation, |_, patched| {
        state.node.pods().update_ephemeral_containers(&namespace, &name, patched, dry_run, Some(&manager))
    })
}
