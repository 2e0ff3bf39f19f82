//! The streaming Exec over WebSocket, with the channel subprotocols `v5.channel.k8s.io` and
//! `v4.channel.k8s.io`: each binary message starts with its channel; v5 can close stdin.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use crate::cri::{ExecOptions, ExecSession, RuntimeError, RuntimeResult};

use super::stream_session::{connect_tcp, exec_session, pipe, Tasks, PIPE};
use crate::remotecommand::channel::{CLOSE, ERROR, RESIZE, STDERR, STDIN, STDOUT};
use crate::remotecommand::{self, V4, V5};

pub(super) type WebSocket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connects to the streaming server at `url` and agrees on v5 or v4; returns the one chosen.
pub(super) async fn connect(socket: &Path, url: &str, operation: &str) -> RuntimeResult<(WebSocket, String)> {
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
pub(super) fn session(ws: WebSocket, v5: bool, options: ExecOptions, operation: String) -> ExecSession {
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
                    let body = remotecommand::terminal_size(cols, rows);
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
