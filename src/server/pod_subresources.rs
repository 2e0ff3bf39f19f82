//! Pod subresources: `status` (GET, PUT), `log` and `exec`, the last two proxied to the node's
//! kubelet as kube-apiserver proxies them. exec speaks the WebSocket channel protocols
//! `v5.channel.k8s.io` and `v4.channel.k8s.io` (staging/src/k8s.io/apimachinery/pkg/util/
//! remotecommand; kubelet's cri streaming server): stdout on channel 1, stderr on 2, and the
//! outcome on 3 as a Status (`NonZeroExitCode` with the exit code as an `ExitCode` cause).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::{AppState, Failure};
use crate::runtime::kubelet::KubeletError;

/// `key=value` pairs of a query string, decoded, repeated keys kept.
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
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

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn flag(pairs: &[(String, String)], key: &str) -> bool {
    super::pods::is_true(&param(pairs, key).map(str::to_string))
}

fn stored(state: &AppState, namespace: &str, name: &str) -> Result<Pod, Failure> {
    state.node.api().get(namespace, name).map_err(|e| Failure::from_api(e, name))
}

/// The uid the kubelet knows a pod by: a mirror pod stands for its static pod.
fn node_uid(pod: &Pod) -> String {
    crate::api::admission::mirror_hash(pod).map(str::to_string).unwrap_or_else(|| pod.metadata.uid.clone().unwrap_or_default())
}

/// The container a request names, or the pod's only one.
fn container_of(pod: &Pod, asked: Option<&str>) -> Result<String, Failure> {
    let spec = pod.spec.clone().unwrap_or_default();
    let names: Vec<String> = spec.init_containers.iter().flatten().chain(spec.containers.iter()).map(|c| c.name.clone()).collect();
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
    body: Bytes,
) -> Result<Response, Failure> {
    let pod: Pod = serde_json::from_slice(&body)
        .map_err(|e| Failure::bad_request(format!("Pod in version \"v1\" cannot be handled as a Pod: {e}")))?;
    let current = stored(&state, &namespace, &name)?;
    if let Some(rv) = &pod.metadata.resource_version {
        if current.metadata.resource_version.as_ref() != Some(rv) {
            return Err(Failure::from_api(crate::api::ApiError::conflict(&name), &name));
        }
    }
    let uid = current.metadata.uid.clone().unwrap_or_default();
    state.node.api().set_status(&namespace, &name, &uid, pod.status.unwrap_or_default()).map_err(|e| Failure::from_api(e, &name))?;
    Ok(json_response(StatusCode::OK, &stored(&state, &namespace, &name)?))
}

/// A container's log: `container`, `tailLines`, `limitBytes`. `previous`, `follow`,
/// `timestamps` and `sinceSeconds` are refused, not ignored: the node keeps no log of an
/// ended instance and no timestamps.
pub async fn log(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Failure> {
    let q = query_pairs(raw.as_deref());
    for unsupported in ["previous", "follow", "timestamps"] {
        if flag(&q, unsupported) {
            return Err(Failure::bad_request(format!("podspec serve does not support the log option {unsupported} yet")));
        }
    }
    if param(&q, "sinceSeconds").is_some() || param(&q, "sinceTime").is_some() {
        return Err(Failure::bad_request("podspec serve does not support the log options sinceSeconds and sinceTime yet"));
    }
    let pod = stored(&state, &namespace, &name)?;
    let container = container_of(&pod, param(&q, "container"))?;
    let kubelet = state.node.kubelet();
    let entries = kubelet.container_log(&node_uid(&pod), &container).await.map_err(|e| kubelet_failure(e, &name, &container))?;
    let mut text = crate::runtime::cri::log_text(&entries);
    if let Some(n) = param(&q, "tailLines").and_then(|v| v.parse::<usize>().ok()) {
        let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
        text = lines[lines.len().saturating_sub(n)..].concat();
    }
    if let Some(n) = param(&q, "limitBytes").and_then(|v| v.parse::<usize>().ok()) {
        text.truncate(n);
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
}

fn kubelet_failure(e: KubeletError, pod: &str, container: &str) -> Failure {
    match e {
        KubeletError::NotRunning(_) | KubeletError::NoSuchContainer { .. } => {
            Failure::bad_request(format!("container {container:?} in pod {pod:?} is waiting to start: ContainerCreating"))
        }
        other => Failure::new(500, "InternalError", other.to_string()),
    }
}

const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;

pub async fn exec(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, Failure> {
    let q = query_pairs(raw.as_deref());
    let command: Vec<String> = q.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect();
    if command.is_empty() {
        return Err(Failure::bad_request("you must specify at least 1 command"));
    }
    let pod = stored(&state, &namespace, &name)?;
    let container = container_of(&pod, param(&q, "container"))?;
    let Ok(ws) = ws else {
        let _ = headers;
        return Err(Failure::bad_request(
            "Upgrade request required: podspec serve speaks exec over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io), not SPDY",
        ));
    };
    let stdin = flag(&q, "stdin");
    let tty = flag(&q, "tty");
    let uid = node_uid(&pod);
    let ws = ws.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]);
    Ok(ws.on_upgrade(move |socket| run_exec(socket, state, uid, container, command, stdin || tty)))
}

async fn send(socket: &mut WebSocket, channel: u8, data: &[u8]) -> bool {
    let mut frame = Vec::with_capacity(data.len() + 1);
    frame.push(channel);
    frame.extend_from_slice(data);
    socket.send(Message::Binary(frame.into())).await.is_ok()
}

async fn run_exec(mut socket: WebSocket, state: AppState, uid: String, container: String, command: Vec<String>, interactive: bool) {
    let outcome = if interactive {
        json!({"metadata": {}, "status": "Failure", "reason": "BadRequest",
               "message": "podspec serve does not support exec with stdin or a tty yet"})
    } else {
        match state.node.kubelet().exec(&uid, &container, &command, Duration::from_secs(3600)).await {
            Ok(r) => {
                if !r.stdout.is_empty() && !send(&mut socket, STDOUT, &r.stdout).await {
                    return;
                }
                if !r.stderr.is_empty() && !send(&mut socket, STDERR, &r.stderr).await {
                    return;
                }
                if r.exit_code == 0 {
                    json!({"metadata": {}, "status": "Success"})
                } else {
                    let code = r.exit_code;
                    json!({
                        "metadata": {},
                        "status": "Failure",
                        "message": format!("command terminated with non-zero exit code: error executing command {command:?}, exit code {code}"),
                        "reason": "NonZeroExitCode",
                        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
                    })
                }
            }
            Err(e) => json!({"metadata": {}, "status": "Failure", "reason": "InternalError", "message": e.to_string()}),
        }
    };
    let _ = send(&mut socket, ERROR, outcome.to_string().as_bytes()).await;
    let close = axum::extract::ws::CloseFrame { code: axum::extract::ws::close_code::NORMAL, reason: "".into() };
    let _ = socket.send(Message::Close(Some(close))).await;
    // Wait for the client's close, so the outcome is read before the connection goes.
    while let Some(Ok(m)) = socket.recv().await {
        if matches!(m, Message::Close(_)) {
            break;
        }
    }
}
