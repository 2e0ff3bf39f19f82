//! Pod subresources: `status` (GET, PUT), `log` and `exec`, the last two proxied to the node's
//! kubelet as kube-apiserver proxies them. exec speaks the WebSocket channel protocols
//! `v5.channel.k8s.io` and `v4.channel.k8s.io` (staging/src/k8s.io/apimachinery/pkg/util/
//! remotecommand; kubelet's cri streaming server): stdin on channel 0 (v5 closes it with a
//! 255 frame), stdout on 1, stderr on 2, the outcome on 3 as a Status (`NonZeroExitCode` with
//! the exit code as an `ExitCode` cause), and a tty's size on 4 (`{"Width":..,"Height":..}`).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::{AppState, Failure};
use crate::runtime::cri::ExecOptions;
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
    let options = ExecOptions { stdin: flag(&q, "stdin"), tty: flag(&q, "tty") };
    let uid = node_uid(&pod);
    let ws = ws.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]);
    Ok(ws.on_upgrade(move |socket| run_exec(socket, state, uid, container, command, options)))
}

const STDIN: u8 = 0;
const RESIZE: u8 = 4;
/// v5's close signal: the client closes the channel in the next byte (stdin).
const CLOSE: u8 = 255;

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut frame = Vec::with_capacity(data.len() + 1);
    frame.push(channel);
    frame.extend_from_slice(data);
    Message::Binary(frame.into())
}

/// A data frame's bytes; None for a close (pings and pongs are data of no channel).
fn frame_bytes(m: Message) -> Option<Vec<u8>> {
    match m {
        Message::Binary(b) => Some(b.to_vec()),
        Message::Text(t) => Some(t.as_bytes().to_vec()),
        Message::Ping(_) | Message::Pong(_) => Some(Vec::new()),
        Message::Close(_) => None,
    }
}

/// The outcome on the error channel: Success, or NonZeroExitCode with the code as a cause.
fn outcome(command: &[String], exit: Result<i32, String>) -> serde_json::Value {
    match exit {
        Ok(0) => json!({"metadata": {}, "status": "Success"}),
        Ok(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: error executing command [{}], exit code {code}", command.join(" ")),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        Err(e) => json!({"metadata": {}, "status": "Failure", "reason": "InternalError", "message": e}),
    }
}

/// Carries one exec session over the socket: stdin (channel 0) and resizes (4) in, stdout (1)
/// and stderr (2) out, and at the end the outcome (3). A client that goes away ends the
/// command.
async fn run_exec(socket: WebSocket, state: AppState, uid: String, container: String, command: Vec<String>, options: ExecOptions) {
    use futures::{SinkExt as _, StreamExt as _};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let (mut tx, mut rx) = socket.split();
    let session = state.node.kubelet().exec_stream(&uid, &container, &command, options).await;
    let exit = match session {
        Err(e) => Err(e.to_string()),
        Ok(session) => {
            let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<(u8, Vec<u8>)>(16);
            let pump = |mut r: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>, channel: u8| {
                let out = out_tx.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 32 * 1024];
                    while let Ok(n @ 1..) = r.read(&mut buf).await {
                        if out.send((channel, buf[..n].to_vec())).await.is_err() {
                            break;
                        }
                    }
                })
            };
            let _stdout = pump(session.stdout, STDOUT);
            let _stderr = session.stderr.map(|r| pump(r, STDERR));
            drop(out_tx);
            let mut stdin = session.stdin;
            let resize = session.resize;
            let mut exit = session.exit;
            let mut code = None;
            let mut outputs_done = false;
            // Output still held open by what the command left running is not waited for long.
            let mut drain_until = None;
            loop {
                if code.is_some() && outputs_done {
                    break;
                }
                let drained = async {
                    match drain_until {
                        Some(t) => tokio::time::sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    out = out_rx.recv(), if !outputs_done => match out {
                        Some((channel, data)) => {
                            if tx.send(frame(channel, &data)).await.is_err() {
                                return;
                            }
                        }
                        None => outputs_done = true,
                    },
                    msg = rx.next() => match msg.map(|m| m.map(frame_bytes)) {
                        // A frame's first byte is its channel; clients send text frames too
                        // (the Python client does, for text it writes).
                        Some(Ok(Some(b))) => match b.first().copied() {
                            Some(STDIN) => {
                                if let Some(w) = stdin.as_mut() {
                                    if w.write_all(&b[1..]).await.is_err() || w.flush().await.is_err() {
                                        stdin = None;
                                    }
                                }
                            }
                            Some(RESIZE) => {
                                let size: serde_json::Value = serde_json::from_slice(&b[1..]).unwrap_or_default();
                                let (w, h) = (size["Width"].as_u64(), size["Height"].as_u64());
                                if let (Some(resize), Some(w), Some(h)) = (&resize, w, h) {
                                    if let Err(e) = resize(w.min(u16::MAX as u64) as u16, h.min(u16::MAX as u64) as u16) {
                                        tracing::debug!(error = %e, "exec resize");
                                    }
                                }
                            }
                            Some(CLOSE) if b.get(1) == Some(&STDIN) => {
                                if let Some(mut w) = stdin.take() {
                                    let _ = w.shutdown().await;
                                }
                            }
                            _ => {}
                        },
                        Some(Ok(None)) | Some(Err(_)) | None => return, // the command is killed with the session
                    },
                    r = &mut exit, if code.is_none() => {
                        code = Some(r.map_err(|e| e.to_string()));
                        drain_until = Some(tokio::time::Instant::now() + Duration::from_secs(2));
                    },
                    _ = drained => outputs_done = true,
                }
            }
            code.unwrap_or(Err("the exec ended without an exit code".into()))
        }
    };
    let _ = tx.send(frame(ERROR, outcome(&command, exit).to_string().as_bytes())).await;
    let close = axum::extract::ws::CloseFrame { code: axum::extract::ws::close_code::NORMAL, reason: "".into() };
    let _ = tx.send(Message::Close(Some(close))).await;
    // Wait (a while) for the client's close, so the outcome is read before the connection goes.
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = rx.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
