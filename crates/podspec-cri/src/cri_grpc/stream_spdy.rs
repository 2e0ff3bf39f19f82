//! The streaming Exec over SPDY/3.1, as a kubelet's clients reach a CRI runtime's streaming
//! server: an HTTP/1.1 upgrade (`Upgrade: SPDY/3.1`, `X-Stream-Protocol-Version:
//! v4.channel.k8s.io`), then one SPDY stream per channel, opened by the client with its
//! `streamtype`: `error` (the outcome as a `Status`), `stdin`, `stdout`, `stderr` (none with a
//! tty) and `resize` (a tty's size as JSON `{"Width","Height"}`). A data frame with FIN on the
//! stdin stream closes the command's stdin, which WebSocket `v4.channel.k8s.io` cannot say.

use std::path::Path;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader, DuplexStream};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};

use super::stream_session::{connect_tcp, exec_session, pipe, Tasks, PIPE};
use crate::remotecommand::spdy::{self, Frame, FrameWriter};
use crate::remotecommand::{self, stream_type, V4};
use crate::cri::{ExecOptions, ExecSession, RuntimeError, RuntimeResult};

const ERROR: u32 = 1;
const STDIN: u32 = 3;
const STDOUT: u32 = 5;
const STDERR: u32 = 7;
const RESIZE: u32 = 9;

/// Connects to the streaming server at `url`, upgrades to SPDY/3.1 with `v4.channel.k8s.io`,
/// and starts the session.
pub(super) async fn exec(socket: &Path, url: &str, options: ExecOptions, operation: String) -> RuntimeResult<ExecSession> {
    let failed = |m: String| RuntimeError::failed(&operation, m);
    let (tcp, host, path) = connect_tcp(socket, url, &operation).await?;
    let (read, mut write) = tcp.into_split();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: {V4}\r\nContent-Length: 0\r\n\r\n"
    );
    write.write_all(request.as_bytes()).await.map_err(|e| failed(format!("send the upgrade to {url}: {e}")))?;
    let mut read = BufReader::new(read);
    let mut status = String::new();
    read.read_line(&mut status).await.map_err(|e| failed(format!("read the answer of {url}: {e}")))?;
    let mut agreed = None;
    let mut body_len = 0usize;
    loop {
        let mut line = String::new();
        read.read_line(&mut line).await.map_err(|e| failed(format!("read the answer of {url}: {e}")))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "x-stream-protocol-version" => agreed = Some(value.trim().to_string()),
                "content-length" => body_len = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    if status.split_whitespace().nth(1) != Some("101") {
        let mut body = vec![0u8; body_len.min(4096)];
        let _ = read.read_exact(&mut body).await;
        return Err(failed(format!(
            "the streaming server at {url} refused the SPDY upgrade: {} {}",
            status.trim(),
            String::from_utf8_lossy(&body).trim()
        )));
    }
    if agreed.as_deref() != Some(V4) {
        return Err(failed(format!("the streaming server at {url} agreed on {agreed:?}, not {V4}, over SPDY")));
    }
    Ok(session(read, write, options, operation))
}

/// The session: a task writes the client's frames (the streams' openings first, then stdin,
/// its close and resizes, and answers to PINGs); a task reads the server's frames into the
/// stdout and stderr pipes and keeps the outcome.
fn session(read: BufReader<OwnedReadHalf>, write: OwnedWriteHalf, options: ExecOptions, operation: String) -> ExecSession {
    let mut frames = FrameWriter::new();
    let mut opening = Vec::new();
    let mut streams = vec![(ERROR, stream_type::ERROR)];
    if options.stdin {
        streams.push((STDIN, stream_type::STDIN));
    }
    streams.push((STDOUT, stream_type::STDOUT));
    if !options.tty {
        streams.push((STDERR, stream_type::STDERR));
    } else {
        streams.push((RESIZE, stream_type::RESIZE));
    }
    for (id, kind) in &streams {
        opening.extend(frames.syn_stream(*id, &[("streamtype", kind)]));
    }
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let _ = out_tx.send(opening);
    let writer = tokio::spawn(write_frames(write, out_rx));
    let (stdout_w, stdout_r) = tokio::io::duplex(PIPE);
    let (stderr_w, stderr_r) = pipe(!options.tty);
    let (stdin_w, stdin_r) = pipe(options.stdin);
    let (resize_tx, resize_rx) = mpsc::unbounded_channel::<(u16, u16)>();
    let sender = tokio::spawn(send(stdin_r, resize_rx, out_tx.clone()));
    let (outcome_tx, outcome_rx) = oneshot::channel();
    let reader = tokio::spawn(receive(read, stdout_w, stderr_w, out_tx, outcome_tx));
    let tasks = Tasks(vec![writer.abort_handle(), sender.abort_handle(), reader.abort_handle()]);
    let stdin = stdin_w.map(|w| Box::pin(w) as _);
    exec_session(stdin, stdout_r, stderr_r, options.tty.then_some(resize_tx), tasks, outcome_rx, operation)
}

async fn write_frames(mut write: OwnedWriteHalf, mut frames: mpsc::UnboundedReceiver<Vec<u8>>) {
    while let Some(f) = frames.recv().await {
        if write.write_all(&f).await.is_err() {
            return;
        }
    }
}

/// Stdin, then its close (FIN), and resizes, as data frames on their streams.
async fn send(mut stdin: Option<DuplexStream>, mut resizes: mpsc::UnboundedReceiver<(u16, u16)>, out: mpsc::UnboundedSender<Vec<u8>>) {
    let mut buf = vec![0u8; 32 * 1024];
    let mut resizing = true;
    while stdin.is_some() || resizing {
        let read = async {
            match stdin.as_mut() {
                Some(s) => s.read(&mut buf).await,
                None => std::future::pending().await,
            }
        };
        let frame = tokio::select! {
            n = read => match n {
                Ok(n @ 1..) => spdy::data(STDIN, &buf[..n], false),
                _ => {
                    stdin = None;
                    spdy::data(STDIN, &[], true)
                }
            },
            size = resizes.recv(), if resizing => match size {
                Some((cols, rows)) => spdy::data(RESIZE, remotecommand::terminal_size(cols, rows).as_bytes(), false),
                None => {
                    resizing = false;
                    continue;
                }
            },
        };
        if out.send(frame).is_err() {
            return;
        }
    }
}

/// The server's frames: stdout and stderr into their pipes (a reader that went away gets no
/// more), the outcome kept, PINGs answered; once the outcome and the output streams have ended
/// (or the connection has), the pipes close and the outcome is handed over.
async fn receive(
    mut read: BufReader<OwnedReadHalf>,
    stdout: DuplexStream,
    stderr: Option<DuplexStream>,
    out: mpsc::UnboundedSender<Vec<u8>>,
    outcome: oneshot::Sender<Result<Vec<u8>, String>>,
) {
    let (mut stdout, mut stderr) = (Some(stdout), stderr);
    let mut open = vec![ERROR, STDOUT];
    if stderr.is_some() {
        open.push(STDERR);
    }
    let mut status = Vec::new();
    let result = loop {
        if open.is_empty() {
            break Ok(status);
        }
        let frame = match spdy::read_frame(&mut read).await {
            Ok(Some(f)) => f,
            Ok(None) => break Ok(status),
            Err(e) => break Err(format!("read from the streaming server: {e}")),
        };
        match frame {
            Frame::Data { stream, fin, data } => {
                let pipe = match stream {
                    STDOUT => &mut stdout,
                    STDERR => &mut stderr,
                    ERROR => {
                        status.extend_from_slice(&data);
                        &mut None
                    }
                    _ => &mut None,
                };
                if let Some(w) = pipe.as_mut() {
                    if w.write_all(&data).await.is_err() {
                        *pipe = None;
                    }
                }
                if fin {
                    open.retain(|s| *s != stream);
                }
            }
            Frame::SynReply { stream, fin: true } | Frame::RstStream { stream, .. } => open.retain(|s| *s != stream),
            Frame::Ping(id) => {
                let _ = out.send(spdy::ping(id));
            }
            Frame::SynReply { .. } | Frame::SynStream { .. } | Frame::GoAway | Frame::Other(_) => {}
        }
    };
    drop((stdout, stderr));
    let _ = outcome.send(result);
}
