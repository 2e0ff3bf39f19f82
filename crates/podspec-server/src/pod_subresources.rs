//! Pod subresources: `status` (GET, PUT, PATCH) and `log`, the last proxied to the node's kubelet
//! as kube-apiserver proxies it (`exec` has a file of its own).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::{AppState, Failure};
use podspec_node::kubelet::logs::LogOptions;
use podspec_node::kubelet::KubeletError;

/// `key=value` pairs of a query string, decoded, repeated keys kept.
pub(super) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

pub(super) fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(super) fn flag(pairs: &[(String, String)], key: &str) -> bool {
    super::pods::is_true(&param(pairs, key).map(str::to_string))
}

pub(super) fn stored(state: &AppState, namespace: &str, name: &str) -> Result<Pod, Failure> {
    state.node.pods().get(namespace, name).map_err(|e| Failure::from_api(e, name))
}

/// The uid the kubelet knows a pod by: a mirror pod stands for its static pod.
pub(super) fn node_uid(pod: &Pod) -> String {
    podspec_api::admission::mirror_hash(pod).map(str::to_string).unwrap_or_else(|| pod.metadata.uid.clone().unwrap_or_default())
}

/// The container a request names, or the pod's only one.
pub(super) fn container_of(pod: &Pod, asked: Option<&str>) -> Result<String, Failure> {
    let spec = pod.spec.clone().unwrap_or_default();
    let ephemeral = spec.ephemeral_containers.iter().flatten().map(|c| c.name.clone());
    let names: Vec<String> =
        spec.init_containers.iter().flatten().chain(spec.containers.iter()).map(|c| c.name.clone()).chain(ephemeral).collect();
    let name = pod.metadata.name.clone().unwrap_or_default();
    match asked.filter(|a| !a.is_empty()) {
        Some(c) if names.iter().any(|n| n == c) => Ok(c.to_string()),
        Some(c) => Err(Failure::bad_request(format!("container {c} is not valid for pod {name}"))),
        None if spec.containers.len() == 1 => Ok(spec.containers[0].name.clone()),
        None => Err(Failure::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            spec.containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(" ")
        ))),
    }
}

fn json_response(code: StatusCode, value: &impl serde::Serialize) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], serde_json::to_string(value).unwrap_or_default()).into_response()
}

pub async fn get_status(State(state): State<AppState>, Path((namespace, name)): Path<(String, String)>) -> Result<Response, Failure> {
    Ok(json_response(StatusCode::OK, &stored(&state, &namespace, &name)?))
}

/// A status write (PUT): only the status changes, for the pod with that uid.
pub async fn put_status(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<super::pods::WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let pod: Pod = serde_json::from_slice(&body)
        .map_err(|e| Failure::bad_request(format!("Pod in version \"v1\" cannot be handled as a Pod: {e}")))?;
    // The resourceVersion is checked in the same write as the status is made (a kubelet write
    // in between is a Conflict, never lost).
    let manager = super::pods::field_manager(&q, &headers);
    let written = state.node.pods().replace_status(&namespace, &name, &manager, &pod);
    Ok(json_response(StatusCode::OK, &written.map_err(|e| Failure::from_api(e, &name))?))
}

/// A status patch (merge, JSON or strategic merge, as for the pod itself), applied to the
/// stored pod; then written as a status PUT is.
pub async fn patch_status(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<super::pods::WriteQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let kind = super::patch::PatchType::from_content_type(content_type)?;
    let current = stored(&state, &namespace, &name)?;
    let mut value = serde_json::to_value(&current).unwrap_or_default();
    super::patch::apply(kind, &mut value, &body)?;
    let patched: Pod =
        serde_json::from_value(value).map_err(|e| Failure::new(422, "Invalid", format!("the patch does not make a Pod: {e}")))?;
    write_status(&state, &current, patched, &super::pods::field_manager(&q, &headers))
}

/// The status strategy's write, recorded under `manager` with subresource `status`: the spec stays as stored (PodStatusStrategy.PrepareForUpdate);
/// a resourceVersion given must be the stored one. Labels and annotations are written with
/// the status, as the API server takes them from a status write too.
fn write_status(state: &AppState, current: &Pod, new: Pod, manager: &str) -> Result<Response, Failure> {
    let name = current.metadata.name.clone().unwrap_or_default();
    let namespace = current.metadata.namespace.clone().unwrap_or_default();
    if let Some(rv) = &new.metadata.resource_version {
        if current.metadata.resource_version.as_ref() != Some(rv) {
            return Err(Failure::from_api(podspec_api::ApiError::conflict(&name), &name));
        }
    }
    let uid = current.metadata.uid.clone().unwrap_or_default();
    // The answer is the pod as written, as the API server's is (the kubelet may write after it).
    let written = state.node.pods().write_status_subresource(&namespace, &name, &uid, manager, current, &new);
    Ok(json_response(StatusCode::OK, &written.map_err(|e| Failure::from_api(e, &name))?))
}

/// PodLogOptions from a log request, checked as the API server checks them before it asks
/// the kubelet (pkg/registry/core/pod/rest/log.go: ValidatePodLogOptions, then a 422
/// `PodLogOptions "<pod>" is invalid: ...` with one cause per field error).
fn log_options(pod: &str, q: &[(String, String)]) -> Result<LogOptions, Failure> {
    let number = |key: &str| -> Result<Option<i64>, Failure> {
        param(q, key)
            .map(|v| v.parse::<i64>().map_err(|_| Failure::bad_request(format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))))
            .transpose()
    };
    // (field, cause reason, text after the field)
    let mut errors: Vec<(&str, &str, String)> = Vec::new();
    let tail = number("tailLines")?;
    if let Some(n) = tail.filter(|n| *n < 0) {
        errors.push(("tailLines", "FieldValueInvalid", format!("Invalid value: {n}: must be greater than or equal to 0")));
    }
    let limit = number("limitBytes")?;
    if let Some(n) = limit.filter(|n| *n < 1) {
        errors.push(("limitBytes", "FieldValueInvalid", format!("Invalid value: {n}: must be greater than 0")));
    }
    let since_seconds = number("sinceSeconds")?;
    let since_time = param(q, "sinceTime");
    match (since_seconds, since_time) {
        (Some(_), Some(_)) => {
            errors.push(("", "FieldValueForbidden", "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified".to_string()))
        }
        (Some(n), None) if n < 1 => {
            errors.push(("sinceSeconds", "FieldValueInvalid", format!("Invalid value: {n}: must be greater than 0")))
        }
        _ => {}
    }
    if !errors.is_empty() {
        let texts: Vec<String> = errors.iter().map(|(f, _, t)| format!("{f}: {t}")).collect();
        let listed = if texts.len() == 1 { texts[0].clone() } else { format!("[{}]", texts.join(", ")) };
        let causes: Vec<serde_json::Value> = errors.iter().map(|(f, r, t)| json!({"reason": r, "message": t, "field": f})).collect();
        return Err(Failure::new(422, "Invalid", format!("PodLogOptions {pod:?} is invalid: {listed}"))
            .with_details(json!({"name": pod, "kind": "PodLogOptions", "causes": causes})));
    }
    let since = match (since_seconds, since_time) {
        // Further back than the earliest time jiff holds (the year -9999): from that one, so every entry.
        (Some(secs), _) => Some(jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(secs)).unwrap_or(jiff::Timestamp::MIN)),
        (None, Some(t)) => {
            Some(podspec_api::time::parse_rfc3339(t).map_err(|e| Failure::bad_request(format!("invalid sinceTime {t:?}: {e}")))?)
        }
        (None, None) => None,
    };
    Ok(LogOptions {
        previous: flag(q, "previous"),
        follow: flag(q, "follow"),
        tail_lines: tail.map(|n| n as usize),
        timestamps: flag(q, "timestamps"),
        since,
        limit_bytes: limit.map(|n| n as usize),
    })
}

/// A container's log, from the node's kubelet: `container`, `previous`, `follow`,
/// `tailLines`, `timestamps`, `sinceSeconds`/`sinceTime` and `limitBytes`.
pub async fn log(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let q = query_pairs(raw.as_deref());
    let options = log_options(&name, &q)?;
    let pod = stored(&state, &namespace, &name)?;
    let container = container_of(&pod, param(&q, "container"))?;
    let chunks =
        state.node.kubelet().logs(&node_uid(&pod), &container, options).await.map_err(|e| kubelet_failure(e, &name, &container))?;
    let body = axum::body::Body::from_stream(futures::StreamExt::map(chunks, |c| Ok::<_, std::convert::Infallible>(Bytes::from(c))));
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], body).into_response())
}

fn kubelet_failure(e: KubeletError, pod: &str, container: &str) -> Failure {
    match e {
        KubeletError::NotRunning(_) | KubeletError::NoSuchContainer { .. } => {
            Failure::bad_request(format!("container {container:?} in pod {pod:?} is waiting to start: ContainerCreating"))
        }
        KubeletError::BadLogRequest(message) => Failure::bad_request(message),
        other => Failure::new(500, "InternalError", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(raw: &str) -> Vec<(String, String)> {
        query_pairs(Some(raw))
    }

    #[test]
    fn log_options_read_what_kubectl_sends() {
        let o = log_options("web", &q("container=main&previous=true&follow=true&tailLines=5&timestamps=true&limitBytes=100")).unwrap();
        assert!(o.previous && o.follow && o.timestamps);
        assert_eq!((o.tail_lines, o.limit_bytes, o.since), (Some(5), Some(100), None));
        let o = log_options("web", &q("sinceSeconds=60")).unwrap();
        let ago = jiff::Timestamp::now().duration_since(o.since.unwrap());
        assert!(ago >= jiff::SignedDuration::from_secs(60) && ago < jiff::SignedDuration::from_secs(62), "{ago:?}");
        let o = log_options("web", &q("sinceTime=2026-01-02T03%3A04%3A05Z")).unwrap();
        assert_eq!(o.since.unwrap().to_string(), "2026-01-02T03:04:05Z");
        assert_eq!(log_options("web", &q("")).unwrap(), LogOptions::default());
    }

    #[test]
    fn log_options_are_refused_with_the_api_servers_texts() {
        let e = log_options("web", &q("tailLines=-1")).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
        assert_eq!(e.message, "PodLogOptions \"web\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0");
        assert_eq!(e.details.unwrap()["causes"][0]["field"], "tailLines");
        let e = log_options("web", &q("limitBytes=0&sinceSeconds=0")).unwrap_err();
        assert_eq!(
            e.message,
            "PodLogOptions \"web\" is invalid: [limitBytes: Invalid value: 0: must be greater than 0, sinceSeconds: Invalid value: 0: must be greater than 0]"
        );
        let e = log_options("web", &q("sinceSeconds=5&sinceTime=2026-01-02T03:04:05Z")).unwrap_err();
        assert_eq!(
            e.message,
            "PodLogOptions \"web\" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
        );
        let e = log_options("web", &q("tailLines=x")).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));
    }
}
