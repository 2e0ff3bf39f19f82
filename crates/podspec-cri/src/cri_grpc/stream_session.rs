//! What both transports of the streaming Exec share: the connection, made in the runtime's own
//! network namespace, and the session as the kubelet holds it (pipes that two tasks fill and
//! drain, an exit future, the tasks ended with it).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncWrite, DuplexStream};
use tokio::sync::{mpsc, oneshot};

use crate::remotecommand::exit_code;
use crate::cri::{ExecSession, RuntimeError, RuntimeResult};

/// How much of each stream is held before the server's messages wait for the reader.
pub(super) const PIPE: usize = 64 * 1024;

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
    let tcp = tokio::task::spawn_blocking(move || connect_in_runtime_network(&socket, addr, Duration::from_secs(10)))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(format!("connect to the streaming server at {addr}: {e}")))?;
    tcp.set_nonblocking(true).map_err(|e| RuntimeError::io(operation, e))?;
    tcp.set_nodelay(true).map_err(|e| RuntimeError::io(operation, e))?;
    let tcp = tokio::net::TcpStream::from_std(tcp).map_err(|e| RuntimeError::io(operation, e))?;
    Ok((tcp, authority.to_string(), path))
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

/// A TCP connection made in the network namespace of the process serving the CRI socket (its
/// streaming server listens there): a short-lived thread joins that namespace and connects.
pub(super) fn connect_in_runtime_network(socket: &Path, addr: SocketAddr, timeout: Duration) -> std::io::Result<std::net::TcpStream> {
    let peer = std::os::unix::net::UnixStream::connect(socket)?;
    let pid = nix::sys::socket::getsockopt(&peer, nix::sys::socket::sockopt::PeerCredentials).map_err(std::io::Error::from)?.pid();
    let theirs = format!("/proc/{pid}/ns/net");
    if std::fs::read_link(&theirs)? == std::fs::read_link("/proc/self/ns/net")? {
        return std::net::TcpStream::connect_timeout(&addr, timeout);
    }
    let namespace = std::fs::File::open(&theirs)?;
    std::thread::spawn(move || {
        nix::sched::setns(namespace, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)?;
        std::net::TcpStream::connect_timeout(&addr, timeout)
    })
    .join()
    .map_err(|_| std::io::Error::other("the thread connecting in the runtime's network namespace panicked"))?
}
