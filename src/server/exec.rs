//! `pods/exec`, proxied to the node's kubelet as kube-apiserver proxies it, over either of the
//! remote command protocol's transports (staging/src/k8s.io/apimachinery/pkg/util/remotecommand;
//! the kubelet's streaming server):
//! - WebSocket, subprotocols `v5.channel.k8s.io` and `v4.channel.k8s.io`: each binary message
//!   starts with its channel: stdin 0 (v5 closes it with a 255 frame), stdout 1, stderr 2, the
//!   outcome 3 as a Status (`NonZeroExitCode` with the exit code as an `ExitCode` cause), a tty's
//!   size 4 (`{"Width":..,"Height":..}`);
//! - SPDY/3.1 with `v4.channel.k8s.io` (kubectl before 1.30; `exec_spdy`): one SPDY stream per
//!   channel, the same outcome and sizes.
//!
//! Both carry one session the same way (`relay`).

use std::future::Future;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts as _, Path, RawQuery, Request, State};
use axum::http::header;
use axum::response::Response;
use futures::StreamExt as _;
use serde_json::json;

use super::pod_subresources::{container_of, flag, node_uid, param, query_pairs, stored};
use super::{AppState, Failure};
use crate::runtime::cri::ExecOptions;

pub(super) const STDIN: u8 = 0;
pub(super) const STDOUT: u8 = 1;
pub(super) const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
/// v5's close signal: the client closes the channel in the next byte (stdin).
const CLOSE: u8 = 255;

pub async fn exec(
    State(state): State<AppState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> Result<Response, Failure> {
    let q = query_pairs(raw.as_deref());
    let command: Vec<String> = q.iter().filter(|(k, _)| k == "command").map(|(_, v)| v.clone()).collect();
    if command.is_empty() {
        return Err(Failure::bad_request("you must specify at least 1 command"));
    }
    let pod = stored(&state, &namespace, &name)?;
    let container = container_of(&pod, param(&q, "container"))?;
    let options = ExecOptions { stdin: flag(&q, "stdin"), tty: flag(&q, "tty") };
    let uid = node_uid(&pod);
    let upgrade = request.headers().get(header::UPGRADE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if upgrade.starts_with("spdy/") {
        let streams = super::exec_spdy::Streams {
            stdin: options.stdin,
            stdout: flag(&q, "stdout"),
            stderr: flag(&q, "stderr") && !options.tty,
            tty: options.tty,
        };
        return super::exec_spdy::upgrade(request, streams, move |client| async move {
            carry(client, &state, &uid, &container, &command, options).await;
        });
    }
    let (mut parts, _) = request.into_parts();
    let Ok(ws) = WebSocketUpgrade::from_request_parts(&mut parts, &()).await else {
        return Err(Failure::bad_request(
            "Upgrade request required: podspec serve speaks exec over WebSocket (v5.channel.k8s.io, v4.channel.k8s.io) or SPDY/3.1 (v4.channel.k8s.io)",
        ));
    };
    let ws = ws.protocols(["v5.channel.k8s.io", "v4.channel.k8s.io"]);
    Ok(ws.on_upgrade(move |socket| async move {
        carry(WebSocketClient(socket), &state, &uid, &container, &command, options).await;
    }))
}

/// What the client sent, on either transport.
pub(super) enum ClientEvent {
    Stdin(Vec<u8>),
    StdinEnd,
    Resize(u16, u16),
    /// Nothing for the session (a ping, a frame of no channel it has).
    Nothing,
    /// The client went away: the command is killed with the session.
    Gone,
}

/// One exec client, over WebSocket or SPDY.
pub(super) trait ExecClient: Send {
    /// Sends output on its channel (`STDOUT`, `STDERR`); false once the client has gone.
    fn send(&mut self, channel: u8, data: &[u8]) -> impl Future<Output = bool> + Send;
    fn next(&mut self) -> impl Future<Output = ClientEvent> + Send;
    /// Sends the outcome and ends the connection, once the client has read it (or after a while).
    fn finish(self, outcome: &[u8]) -> impl Future<Output = ()> + Send;
}

/// Runs the command for `client` and sends its outcome, unless the client went away.
async fn carry(mut client: impl ExecClient, state: &AppState, uid: &str, container: &str, command: &[String], options: ExecOptions) {
    if let Some(exit) = relay(&mut client, state, uid, container, command, options).await {
        client.finish(outcome(command, exit).to_string().as_bytes()).await;
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

/// Carries one exec session for the client: its stdin, stdin's end and resizes in, stdout and
/// stderr out, until the command has ended and its output is sent. None when the client went
/// away first (the command is killed with the session).
async fn relay(
    client: &mut impl ExecClient,
    state: &AppState,
    uid: &str,
    container: &str,
    command: &[String],
    options: ExecOptions,
) -> Option<Result<i32, String>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let session = match state.node.kubelet().exec_stream(uid, container, command, options).await {
        Err(e) => return Some(Err(e.to_string())),
        Ok(session) => session,
    };
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
                    if !client.send(channel, &data).await {
                        return None;
                    }
                }
                None => outputs_done = true,
            },
            event = client.next() => match event {
                ClientEvent::Stdin(data) => {
                    if let Some(w) = stdin.as_mut() {
                        if w.write_all(&data).await.is_err() || w.flush().await.is_err() {
                            stdin = None;
                        }
                    }
                }
                ClientEvent::StdinEnd => {
                    if let Some(mut w) = stdin.take() {
                        let _ = w.shutdown().await;
                    }
                }
                ClientEvent::Resize(w, h) => {
                    if let Some(resize) = &resize {
                        if let Err(e) = resize(w, h) {
                            tracing::debug!(error = %e, "exec resize");
                        }
                    }
                }
                ClientEvent::Nothing => {}
                ClientEvent::Gone => return None,
            },
            r = &mut exit, if code.is_none() => {
                code = Some(r.map_err(|e| e.to_string()));
                drain_until = Some(tokio::time::Instant::now() + Duration::from_secs(2));
            },
            _ = drained => outputs_done = true,
        }
    }
    Some(code.unwrap_or(Err("the exec ended without an exit code".into())))
}

/// A tty's size as the client sends it (`{"Width":..,"Height":..}`).
pub(super) fn terminal_size(json: &[u8]) -> Option<(u16, u16)> {
    let size: serde_json::Value = serde_json::from_slice(json).ok()?;
    let clamp = |v: u64| v.min(u16::MAX as u64) as u16;
    Some((clamp(size["Width"].as_u64()?), clamp(size["Height"].as_u64()?)))
}

struct WebSocketClient(WebSocket);

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut frame = Vec::with_capacity(data.len() + 1);
    frame.push(channel);
    frame.extend_from_slice(data);
    Message::Binary(frame.into())
}

impl ExecClient for WebSocketClient {
    async fn send(&mut self, channel: u8, data: &[u8]) -> bool {
        self.0.send(frame(channel, data)).await.is_ok()
    }

    async fn next(&mut self) -> ClientEvent {
        // A frame's first byte is its channel; clients send text frames too (the Python
        // client does, for text it writes).
        let bytes = match self.0.next().await {
            Some(Ok(Message::Binary(b))) => b.to_vec(),
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return ClientEvent::Nothing,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return ClientEvent::Gone,
        };
        match bytes.split_first() {
            Some((&STDIN, data)) => ClientEvent::Stdin(data.to_vec()),
            Some((&RESIZE, json)) => terminal_size(json).map_or(ClientEvent::Nothing, |(w, h)| ClientEvent::Resize(w, h)),
            Some((&CLOSE, [STDIN, ..])) => ClientEvent::StdinEnd,
            _ => ClientEvent::Nothing,
        }
    }

    async fn finish(mut self, outcome: &[u8]) {
        let _ = self.0.send(frame(ERROR, outcome)).await;
        let close = axum::extract::ws::CloseFrame { code: axum::extract::ws::close_code::NORMAL, reason: "".into() };
        let _ = self.0.send(Message::Close(Some(close))).await;
        // Wait (a while) for the client's close, so the outcome is read before the connection goes.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(m)) = self.0.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}
