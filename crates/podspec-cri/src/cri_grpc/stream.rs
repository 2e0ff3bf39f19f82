//! The streaming Exec (CRI `Exec`): it answers with a URL of the runtime's streaming server,
//! which speaks Kubernetes' remote command protocol. A session with stdin goes over SPDY/3.1
//! (`stream_spdy`), as a kubelet's clients reach the runtime, since only SPDY and WebSocket
//! `v5.channel.k8s.io` can close stdin, and a runtime's streaming server may offer WebSocket up
//! to `v4.channel.k8s.io` alone (containerd 1.6). A session without stdin goes over WebSocket,
//! with the channel subprotocols `v5.channel.k8s.io` and `v4.channel.k8s.io`: each binary
//! message starts with its channel (0 stdin, 1 stdout, 2 stderr, 3 the outcome as a `Status`,
//! 4 a tty's size as `{"Width","Height"}`, 255 close a channel).
//! The connection is made in the runtime's own network namespace (the process at the other end
//! of the CRI socket), where its streaming server listens. The session's streams are pipes that
//! two tasks fill and drain: one reads the server's messages, one sends stdin and resizes.
//!
//! One file per part: this one chooses the transport; `stream_websocket` and `stream_spdy` are
//! the transports, `stream_session` what both share; the protocol's constants are
//! `crate::remotecommand`'s.

use std::time::Duration;

use super::runtime_v1 as cri;

use super::stream_websocket;
use super::CriRuntime;
use crate::remotecommand::V5;
use crate::cri::{ContainerId, ExecOptions, ExecSession, RuntimeError, RuntimeResult};

/// How long the connection to the streaming server and its handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn exec(rt: &CriRuntime, id: &ContainerId, cmd: &[String], options: ExecOptions) -> RuntimeResult<ExecSession> {
    let operation = format!("Exec {cmd:?} in {id}");
    // The kubelet's streaming server refuses a tty with a separate stderr: a tty carries both.
    let request = cri::ExecRequest {
        container_id: id.0.clone(),
        cmd: cmd.to_vec(),
        tty: options.tty,
        stdin: options.stdin,
        stdout: true,
        stderr: !options.tty,
    };
    let url = match rt.call(&operation, rt.client().exec(request)).await {
        Ok(r) => r.url,
        Err(e) if e.is_not_found() => return Err(RuntimeError::ContainerNotFound(id.clone())),
        Err(e) => return Err(e.into_runtime(&operation)),
    };
    if options.stdin {
        let spdy = super::stream_spdy::exec(&rt.endpoint.socket, &url, options, operation.clone());
        return match tokio::time::timeout(CONNECT_TIMEOUT, spdy).await {
            Ok(r) => r,
            Err(_) => Err(RuntimeError::Timeout { operation: format!("{operation}: connect to {url}"), after: CONNECT_TIMEOUT }),
        };
    }
    let (ws, protocol) = match tokio::time::timeout(CONNECT_TIMEOUT, stream_websocket::connect(&rt.endpoint.socket, &url, &operation)).await
    {
        Ok(r) => r?,
        Err(_) => return Err(RuntimeError::Timeout { operation: format!("{operation}: connect to {url}"), after: CONNECT_TIMEOUT }),
    };
    Ok(stream_websocket::session(ws, protocol == V5, options, operation))
}
