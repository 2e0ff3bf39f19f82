//! The streaming Exec, for a command that needs stdin: CRI `Exec` answers with a URL of the
//! runtime's streaming server, which speaks Kubernetes' remote command protocol. podspec
//! speaks it over WebSocket, with the channel subprotocols `v5.channel.k8s.io` (which can
//! close stdin) and `v4.channel.k8s.io` (which cannot): each binary message starts with its
//! channel (0 stdin, 1 stdout, 2 stderr, 3 the outcome as a `Status`, 255 close a channel).
//! The connection is made in the runtime's own network namespace (the process at the other end
//! of the CRI socket), where its streaming server listens.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use k8s_cri::v1 as cri;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use super::error::call;
use super::CriRuntime;
use crate::runtime::cri::{ContainerId, ExecResult, RuntimeError, RuntimeResult, StdinExecResult};

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const CLOSE: u8 = 255;
const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

pub(super) async fn exec_with_stdin(
    rt: &CriRuntime,
    id: &ContainerId,
    cmd: &[String],
    stdin: &[u8],
    timeout: Duration,
) -> RuntimeResult<StdinExecResult> {
    let operation = format!("Exec {cmd:?} in {id} (with stdin)");
    let request = cri::ExecRequest { container_id: id.0.clone(), cmd: cmd.to_vec(), tty: false, stdin: true, stdout: true, stderr: true };
    let url = match call(&operation, rt.client().exec(request)).await {
        Ok(r) => r.url,
        Err(e) if e.is_not_found() => return Err(RuntimeError::ContainerNotFound(id.clone())),
        Err(e) => return Err(e.into_runtime(&operation)),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let session = stream(&rt.endpoint.socket, &url, stdin, &operation, deadline, timeout);
    match tokio::time::timeout_at(deadline, session).await {
        Ok(r) => r,
        Err(_) => Err(RuntimeError::Timeout { operation, after: timeout }),
    }
}

async fn stream(
    socket: &Path,
    url: &str,
    stdin: &[u8],
    operation: &str,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> RuntimeResult<StdinExecResult> {
    let failed = |m: String| RuntimeError::failed(operation, m);
    let ws_url = url.replacen("http://", "ws://", 1);
    let uri: tonic::transport::Uri = ws_url.parse().map_err(|e| failed(format!("the streaming URL {url:?}: {e}")))?;
    let authority = uri.authority().ok_or_else(|| failed(format!("the streaming URL {url:?} names no host")))?;
    let port = authority.port_u16().unwrap_or(80);
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .or_else(|_| host.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, port)))
        .map_err(|_| failed(format!("the streaming URL {url:?}: the host is not an IP address")))?;
    let socket = socket.to_path_buf();
    let tcp = tokio::task::spawn_blocking(move || connect_in_runtime_network(&socket, addr))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(format!("connect to the streaming server at {addr}: {e}")))?;
    tcp.set_nonblocking(true).map_err(|e| RuntimeError::io(operation, e))?;
    let tcp = tokio::net::TcpStream::from_std(tcp).map_err(|e| RuntimeError::io(operation, e))?;

    let mut request = ws_url.as_str().into_client_request().map_err(|e| failed(e.to_string()))?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", format!("{V5}, {V4}").parse().expect("a valid header"));
    let (mut ws, response) =
        tokio_tungstenite::client_async(request, tcp).await.map_err(|e| failed(format!("WebSocket handshake with {url}: {e}")))?;
    let protocol = response.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if protocol != V5 && protocol != V4 {
        return Err(failed(format!("the streaming server at {url} chose the subprotocol {protocol:?}, not {V5} or {V4}")));
    }
    let send_failed = |e: tokio_tungstenite::tungstenite::Error| failed(format!("send stdin: {e}"));
    if !stdin.is_empty() {
        ws.send(Message::Binary([&[STDIN], stdin].concat().into())).await.map_err(send_failed)?;
    }
    let stdin_closed = protocol == V5;
    if stdin_closed {
        ws.send(Message::Binary(vec![CLOSE, STDIN].into())).await.map_err(send_failed)?;
    }
    let (mut stdout, mut stderr, mut outcome) = (Vec::new(), Vec::new(), Vec::new());
    loop {
        let message = match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(_) if !stdin_closed => {
                let operation = format!(
                    "{operation}; its stdin stayed open: the runtime's streaming server speaks {V4}, which cannot close it ({V5} can)"
                );
                return Err(RuntimeError::Timeout { operation, after: timeout });
            }
            Err(_) => return Err(RuntimeError::Timeout { operation: operation.to_string(), after: timeout }),
        };
        let data = match message {
            Ok(Message::Binary(d)) => d,
            Ok(Message::Close(_)) => break,
            Ok(_) => continue,
            Err(e) => return Err(failed(format!("read from the streaming server: {e}"))),
        };
        let Some((&channel, rest)) = data.split_first() else { continue };
        match channel {
            STDOUT => stdout.extend_from_slice(rest),
            STDERR => stderr.extend_from_slice(rest),
            ERROR => outcome.extend_from_slice(rest),
            _ => {}
        }
    }
    let exit_code = exit_code(&outcome).map_err(failed)?;
    Ok(StdinExecResult { result: ExecResult { stdout, stderr, exit_code }, stdin_closed })
}

/// The exit code a remote command's outcome (`Status`) gives; a failure that is not an exit
/// code is the runtime's error, its message kept whole.
fn exit_code(outcome: &[u8]) -> Result<i32, String> {
    if outcome.is_empty() {
        return Err("the streaming server closed the session without an outcome".into());
    }
    let status: serde_json::Value =
        serde_json::from_slice(outcome).map_err(|e| format!("the outcome {:?} is not a Status: {e}", String::from_utf8_lossy(outcome)))?;
    if status["status"] == "Success" {
        return Ok(0);
    }
    let causes = status["details"]["causes"].as_array().cloned().unwrap_or_default();
    let code = causes.iter().find(|c| c["reason"] == "ExitCode").and_then(|c| c["message"].as_str()?.parse().ok());
    match (status["reason"].as_str(), code) {
        (Some("NonZeroExitCode"), Some(code)) => Ok(code),
        _ => Err(status["message"].as_str().unwrap_or("the command failed").to_string()),
    }
}

/// A TCP connection made in the network namespace of the process serving the CRI socket (its
/// streaming server listens there): a short-lived thread joins that namespace and connects.
fn connect_in_runtime_network(socket: &Path, addr: SocketAddr) -> std::io::Result<std::net::TcpStream> {
    let peer = std::os::unix::net::UnixStream::connect(socket)?;
    let pid = nix::sys::socket::getsockopt(&peer, nix::sys::socket::sockopt::PeerCredentials).map_err(std::io::Error::from)?.pid();
    let theirs = format!("/proc/{pid}/ns/net");
    if std::fs::read_link(&theirs)? == std::fs::read_link("/proc/self/ns/net")? {
        return std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10));
    }
    let namespace = std::fs::File::open(&theirs)?;
    std::thread::spawn(move || {
        nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))
    })
    .join()
    .map_err(|_| std::io::Error::other("the thread connecting in the runtime's network namespace panicked"))?
}

#[cfg(test)]
mod tests {
    use super::exit_code;

    #[test]
    fn the_outcome_gives_the_exit_code_or_the_runtimes_error() {
        assert_eq!(exit_code(br#"{"metadata":{},"status":"Success"}"#), Ok(0));
        let failure = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert_eq!(exit_code(failure), Ok(3));
        let other = br#"{"metadata":{},"status":"Failure","message":"exec failed: no such file"}"#;
        assert_eq!(exit_code(other), Err("exec failed: no such file".into()));
        assert!(exit_code(b"").is_err());
    }
}
