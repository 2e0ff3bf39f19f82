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

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use k8s_cri::v1 as cri;
use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use super::CriRuntime;
use crate::runtime::cri::{ContainerId, ExecOptions, ExecSession, RuntimeError, RuntimeResult};

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;
const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";
/// How much of each stream is held before the server's messages wait for the reader.
pub(super) const PIPE: usize = 64 * 1024;
/// How long the connection to the streaming server and its handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

type WebSocket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

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
    let (ws, protocol) = match tokio::time::timeout(CONNECT_TIMEOUT, connect(&rt.endpoint.socket, &url, &operation)).await {
        Ok(r) => r?,
        Err(_) => return Err(RuntimeError::Timeout { operation: format!("{operation}: connect to {url}"), after: CONNECT_TIMEOUT }),
    };
    Ok(session(ws, protocol == V5, options, operation))
}

/// A TCP connection to the streaming server of `url` (in the runtime's network namespace), the
/// host to name in a request, and the URL's path and query.
pub(super) async fn connect_tcp(socket: &Path, url: &str, operation: &str) -> RuntimeResult<(tokio::net::TcpStream, String, String)> {
    let failed = |m: String| RuntimeError::failed(operation, m);
    let uri: tonic::transport::Uri = url.parse().map_err(|e| failed(format!("the streaming URL {url:?}: {e}")))?;
    let authority = uri.authority().ok_or_else(|| failed(format!("the streaming URL {url:?} names no host")))?;
    let port = authority.port_u16().unwrap_or(80);
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .or_else(|_| host.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, port)))
        .map_err(|_| failed(format!("the streaming URL {url:?}: the host is not an IP address")))?;
    let path = uri.path_and_query().map_or("/".to_string(), |p| p.to_string());
    let socket = socket.to_path_buf();
    let tcp = tokio::task::spawn_blocking(move || connect_in_runtime_network(&socket, addr))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(format!("connect to the streaming server at {addr}: {e}")))?;
    tcp.set_nonblocking(true).map_err(|e| RuntimeError::io(operation, e))?;
    tcp.set_nodelay(true).map_err(|e| RuntimeError::io(operation, e))?;
    let tcp = tokio::net::TcpStream::from_std(tcp).map_err(|e| RuntimeError::io(operation, e))?;
    Ok((tcp, authority.to_string(), path))
}

/// Connects to the streaming server at `url` and agrees on v5 or v4; returns the one chosen.
async fn connect(socket: &Path, url: &str, operation: &str) -> RuntimeResult<(WebSocket, String)> {
    let failed = |m: String| RuntimeError::failed(operation, m);
    let ws_url = url.replacen("http://", "ws://", 1);
    let (tcp, _, _) = connect_tcp(socket, url, operation).await?;
    let mut request = ws_url.as_str().into_client_request().map_err(|e| failed(e.to_string()))?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", format!("{V5}, {V4}").parse().expect("a valid header"));
    let (ws, response) =
        tokio_tungstenite::client_async(request, tcp).await.map_err(|e| failed(format!("WebSocket handshake with {url}: {e}")))?;
    let protocol = response.headers().get("Sec-WebSocket-Protocol").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if protocol != V5 && protocol != V4 {
        return Err(failed(format!("the streaming server at {url} chose the subprotocol {protocol:?}, not {V5} or {V4}")));
    }
    Ok((ws, protocol))
}

/// The session over an open connection: a task reads the server's messages into the stdout and
/// stderr pipes and keeps the outcome; another sends what is written to stdin, stdin's close
/// (v5 only) and resizes. Dropping the exit future ends both, and with them the connection.
fn session(ws: WebSocket, v5: bool, options: ExecOptions, operation: String) -> ExecSession {
    let (sink, stream) = ws.split();
    let (stdout_w, stdout_r) = tokio::io::duplex(PIPE);
    let (stderr_w, stderr_r) = pipe(!options.tty);
    let (stdin_w, stdin_r) = pipe(options.stdin);
    let (resize_tx, resize_rx) = mpsc::unbounded_channel::<(u16, u16)>();
    let sender = tokio::spawn(send(sink, stdin_r, resize_rx, v5));
    let (outcome_tx, outcome_rx) = oneshot::channel();
    let reader = tokio::spawn(receive(stream, stdout_w, stderr_w, sender.abort_handle(), outcome_tx));
    let tasks = Tasks(vec![sender.abort_handle(), reader.abort_handle()]);
    let stdin = stdin_w.map(|inner| Box::pin(Stdin { inner, closable: v5 }) as _);
    exec_session(stdin, stdout_r, stderr_r, options.tty.then_some(resize_tx), tasks, outcome_rx, operation)
}

/// The session as the kubelet holds it: the streams' ends, resizes handed to the sender, and
/// the exit code from the outcome the reader hands over; dropping the exit ends the tasks.
pub(super) fn exec_session(
    stdin: Option<std::pin::Pin<Box<dyn AsyncWrite + Send>>>,
    stdout: DuplexStream,
    stderr: Option<DuplexStream>,
    resize: Option<mpsc::UnboundedSender<(u16, u16)>>,
    tasks: Tasks,
    outcome: oneshot::Receiver<Result<Vec<u8>, String>>,
    operation: String,
) -> ExecSession {
    let resize_what = operation.clone();
    ExecSession {
        stdin,
        stdout: Box::pin(stdout),
        stderr: stderr.map(|r| Box::pin(r) as _),
        resize: resize.map(|tx| {
            Box::new(move |cols, rows| tx.send((cols, rows)).map_err(|_| RuntimeError::failed(&resize_what, "the session has ended"))) as _
        }),
        exit: Box::pin(async move {
            let _tasks = tasks;
            let outcome = outcome.await.map_err(|_| RuntimeError::failed(&operation, "the session ended without an outcome"))?;
            outcome.and_then(|o| exit_code(&o)).map_err(|m| RuntimeError::failed(&operation, m))
        }),
    }
}

/// Both ends of a pipe, if it is wanted.
pub(super) fn pipe(wanted: bool) -> (Option<DuplexStream>, Option<DuplexStream>) {
    if !wanted {
        return (None, None);
    }
    let (a, b) = tokio::io::duplex(PIPE);
    (Some(a), Some(b))
}

/// Aborts the session's tasks when dropped.
pub(super) struct Tasks(pub(super) Vec<tokio::task::AbortHandle>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Stdin, channel 0, and resizes, channel 4, to the server; at stdin's end, its close (v5).
async fn send(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut stdin: Option<DuplexStream>,
    mut resizes: mpsc::UnboundedReceiver<(u16, u16)>,
    v5: bool,
) {
    let mut buf = vec![0u8; 32 * 1024];
    let mut resizing = true;
    while stdin.is_some() || resizing {
        let read = async {
            match stdin.as_mut() {
                Some(s) => s.read(&mut buf[1..]).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            n = read => {
                let message = match n {
                    Ok(n @ 1..) => {
                        buf[0] = STDIN;
                        Message::Binary(buf[..=n].to_vec().into())
                    }
                    _ => {
                        stdin = None;
                        if !v5 {
                            continue;
                        }
                        Message::Binary(vec![CLOSE, STDIN].into())
                    }
                };
                if sink.send(message).await.is_err() {
                    return;
                }
            }
            size = resizes.recv(), if resizing => match size {
                Some((cols, rows)) => {
                    let body = serde_json::json!({"Width": cols, "Height": rows}).to_string();
                    if sink.send(Message::Binary([&[RESIZE], body.as_bytes()].concat().into())).await.is_err() {
                        return;
                    }
                }
                None => resizing = false,
            },
        }
    }
    // Nothing more to send: the connection stays open for the reader until the server closes it.
    std::future::pending::<()>().await;
}

/// The server's messages: stdout and stderr into their pipes (a reader that went away gets no
/// more), the outcome kept; at the end the pipes close and the outcome is handed over.
async fn receive(
    mut stream: futures::stream::SplitStream<WebSocket>,
    stdout: DuplexStream,
    stderr: Option<DuplexStream>,
    sender: tokio::task::AbortHandle,
    outcome: oneshot::Sender<Result<Vec<u8>, String>>,
) {
    let (mut stdout, mut stderr) = (Some(stdout), stderr);
    let mut status = Vec::new();
    let result = loop {
        let data = match stream.next().await {
            None | Some(Ok(Message::Close(_))) => break Ok(status),
            Some(Ok(Message::Binary(d))) => d,
            Some(Ok(_)) => continue,
            Some(Err(e)) => break Err(format!("read from the streaming server: {e}")),
        };
        let Some((&channel, rest)) = data.split_first() else { continue };
        let pipe = match channel {
            STDOUT => &mut stdout,
            STDERR => &mut stderr,
            ERROR => {
                status.extend_from_slice(rest);
                continue;
            }
            _ => continue,
        };
        if let Some(w) = pipe.as_mut() {
            if w.write_all(rest).await.is_err() {
                *pipe = None;
            }
        }
    };
    drop((stdout, stderr));
    sender.abort();
    let _ = outcome.send(result);
}

/// The session's stdin. Its shutdown closes the command's stdin where the protocol can say so
/// (v5); over v4 it fails, saying why, and the command's stdin stays open.
struct Stdin {
    inner: DuplexStream,
    closable: bool,
}

impl AsyncWrite for Stdin {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.closable {
            return Pin::new(&mut self.inner).poll_shutdown(cx);
        }
        Poll::Ready(Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("the runtime's streaming server speaks {V4}, which cannot close stdin ({V5} can)"),
        )))
    }
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
