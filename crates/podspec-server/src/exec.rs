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
//! Both carry one session the same way (`exec_session`); each transport is a file of its own
//! (`exec_websocket`, `exec_spdy`), and the protocol's constants are `podspec_cri::remotecommand`'s.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts as _, Path, RawQuery, Request, State};
use axum::http::header;
use axum::response::Response;

use super::exec_session::carry;
use super::exec_websocket::WebSocketClient;
use super::pod_subresources::{container_of, flag, node_uid, param, query_pairs, stored};
use super::{AppState, Failure};
use podspec_cri::cri::ExecOptions;
use podspec_cri::remotecommand;

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
    let ws = ws.protocols(remotecommand::WEBSOCKET_PROTOCOLS);
    Ok(ws.on_upgrade(move |socket| async move {
        carry(WebSocketClient::new(socket), &state, &uid, &container, &command, options).await;
    }))
}
