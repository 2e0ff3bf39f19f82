//! `pods/exec` over SPDY/3.1, as kubectl before 1.30 (and client-go's SPDY executor) speaks it
//! to an API server: an HTTP upgrade (`Upgrade: SPDY/3.1`) agreeing on `v4.channel.k8s.io`
//! from the client's `X-Stream-Protocol-Version`s, then one SPDY stream per channel, opened by
//! the client with its `streamtype` (`error`, `stdin`, `stdout`, `stderr`, `resize`) and
//! accepted here; once every stream the request asks for is open, the command runs. stdin's
//! data frames go to the command (FIN closes its stdin), output goes out on `stdout` and
//! `stderr`, a tty's sizes come as JSON on `resize`, and the outcome, a Status as over
//! WebSocket v4, goes on `error`, which is then closed with the others and the session.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::sync::mpsc;

use super::exec_session::{ClientEvent, ExecClient};
use super::Failure;
use podspec_cri::remotecommand::channel::{STDERR, STDOUT};
use podspec_cri::remotecommand::spdy::{self, Frame, FrameWriter, HeaderReader};
use podspec_cri::remotecommand::{stream_type, V4};

/// How long the client has to open the streams its request asks for (the kubelet's
/// streamCreationTimeout).
const STREAMS_TIMEOUT: Duration = Duration::from_secs(30);

type Io = TokioIo<hyper::upgrade::Upgraded>;

/// The streams a request asks for, besides `error`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Streams {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl Streams {
    fn kinds(self) -> Vec<&'static str> {
        let mut kinds = vec![stream_type::ERROR];
        for (wanted, kind) in [
            (self.stdin, stream_type::STDIN),
            (self.stdout, stream_type::STDOUT),
            (self.stderr, stream_type::STDERR),
            (self.tty, stream_type::RESIZE),
        ] {
            if wanted {
                kinds.push(kind);
            }
        }
        kinds
    }
}

/// Agrees on the protocol and answers 101; once upgraded, the session's streams are awaited
/// and `run` carries it.
pub(super) fn upgrade<F, Fut>(mut request: Request, streams: Streams, run: F) -> Result<Response, Failure>
where
    F: FnOnce(SpdyClient) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let offered: Vec<String> = request
        .headers()
        .get_all("x-stream-protocol-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .filter(|p| !p.is_empty())
        .collect();
    if !offered.iter().any(|p| p == V4) {
        return Err(Failure::new(
            403,
            "Forbidden",
            format!("unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server supports [\"{V4}\"]"),
        ));
    }
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let io = match on_upgrade.await {
            Ok(upgraded) => TokioIo::new(upgraded),
            Err(e) => return tracing::debug!(error = %e, "exec: SPDY upgrade failed"),
        };
        match tokio::time::timeout(STREAMS_TIMEOUT, SpdyClient::accept(io, streams)).await {
            Ok(Ok(client)) => run(client).await,
            Ok(Err(e)) => tracing::debug!(error = %e, "exec: the SPDY client's streams"),
            Err(_) => tracing::debug!("exec: the SPDY client did not open its streams in time"),
        }
    });
    Ok(Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "SPDY/3.1")
        .header("X-Stream-Protocol-Version", V4)
        .body(Body::empty())
        .expect("response"))
}

/// The client's streams by kind.
#[derive(Debug, Default, Clone, Copy)]
struct Ids {
    error: u32,
    stdin: Option<u32>,
    stdout: Option<u32>,
    stderr: Option<u32>,
    resize: Option<u32>,
    last: u32,
}

/// One exec client over SPDY: a task writes the frames sent (in order, so that the header
/// compression stays in step), a task reads the client's frames into events.
pub(super) struct SpdyClient {
    ids: Ids,
    out: mpsc::UnboundedSender<Vec<u8>>,
    events: mpsc::UnboundedReceiver<ClientEvent>,
    writer: tokio::task::JoinHandle<()>,
    reader: tokio::task::AbortHandle,
}

impl SpdyClient {
    async fn accept(io: Io, streams: Streams) -> std::io::Result<Self> {
        let (read, mut write) = tokio::io::split(io);
        let mut read = BufReader::new(read);
        let (mut frames, mut headers) = (FrameWriter::new(), HeaderReader::new());
        let wanted = streams.kinds();
        let mut ids = Ids::default();
        let mut open = Vec::new();
        while !wanted.iter().all(|k| open.contains(k)) {
            let Some(frame) = spdy::read_frame(&mut read).await? else {
                return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the client left before opening its streams"));
            };
            match frame {
                Frame::SynStream { stream, headers: block, .. } => {
                    let pairs = headers.read(&block)?;
                    write.write_all(&frames.syn_reply(stream)).await?;
                    ids.last = ids.last.max(stream);
                    let kind = pairs.iter().find(|(n, _)| n.eq_ignore_ascii_case("streamtype")).map(|(_, v)| v.as_str());
                    let Some(&kind) = wanted.iter().find(|k| Some(**k) == kind) else { continue };
                    match kind {
                        stream_type::ERROR => ids.error = stream,
                        stream_type::STDIN => ids.stdin = Some(stream),
                        stream_type::STDOUT => ids.stdout = Some(stream),
                        stream_type::STDERR => ids.stderr = Some(stream),
                        _ => ids.resize = Some(stream),
                    }
                    open.push(kind);
                }
                Frame::Ping(id) => write.write_all(&spdy::ping(id)).await?,
                _ => {}
            }
        }
        let (out, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
        let writer = tokio::spawn(async move {
            while let Some(f) = outgoing.recv().await {
                if write.write_all(&f).await.is_err() {
                    return;
                }
            }
            let _ = write.shutdown().await;
        });
        let (events_tx, events) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_events(read, frames, headers, ids, out.clone(), events_tx)).abort_handle();
        Ok(Self { ids, out, events, writer, reader })
    }
}

/// The client's frames as events: stdin's data and end, resizes; PINGs answered, streams
/// opened late accepted (and left alone); the connection's end is `Gone`.
async fn read_events(
    mut read: BufReader<tokio::io::ReadHalf<Io>>,
    mut frames: FrameWriter,
    mut headers: HeaderReader,
    ids: Ids,
    out: mpsc::UnboundedSender<Vec<u8>>,
    events: mpsc::UnboundedSender<ClientEvent>,
) {
    let mut sizes = Vec::new();
    loop {
        let event = match spdy::read_frame(&mut read).await {
            Ok(Some(Frame::Data { stream, fin, data })) if Some(stream) == ids.stdin => {
                if !data.is_empty() && events.send(ClientEvent::Stdin(data)).is_err() {
                    return;
                }
                if !fin {
                    continue;
                }
                ClientEvent::StdinEnd
            }
            Ok(Some(Frame::Data { stream, data, .. })) if Some(stream) == ids.resize => {
                // A stream of JSON sizes: the last whole one counts.
                sizes.extend_from_slice(&data);
                let mut values = serde_json::Deserializer::from_slice(&sizes).into_iter::<serde_json::Value>();
                let mut last = None;
                while let Some(Ok(v)) = values.next() {
                    last = Some(v);
                }
                let used = values.byte_offset();
                sizes.drain(..used);
                match last.and_then(|v| podspec_cri::remotecommand::parse_terminal_size(v.to_string().as_bytes())) {
                    Some((w, h)) => ClientEvent::Resize(w, h),
                    None => continue,
                }
            }
            Ok(Some(Frame::SynStream { stream, headers: block, .. })) => {
                if headers.read(&block).is_err() || out.send(frames.syn_reply(stream)).is_err() {
                    ClientEvent::Gone
                } else {
                    continue;
                }
            }
            Ok(Some(Frame::Ping(id))) => {
                let _ = out.send(spdy::ping(id));
                continue;
            }
            Ok(Some(Frame::GoAway) | None) | Err(_) => ClientEvent::Gone,
            Ok(Some(_)) => continue,
        };
        let gone = matches!(event, ClientEvent::Gone);
        if events.send(event).is_err() || gone {
            return;
        }
    }
}

impl ExecClient for SpdyClient {
    async fn send(&mut self, channel: u8, data: &[u8]) -> bool {
        let stream = match channel {
            STDOUT => self.ids.stdout,
            STDERR => self.ids.stderr,
            _ => None,
        };
        // Output of a stream the client did not ask for is dropped, as the kubelet drops it.
        stream.is_none_or(|id| self.out.send(spdy::data(id, data, false)).is_ok())
    }

    async fn next(&mut self) -> ClientEvent {
        self.events.recv().await.unwrap_or(ClientEvent::Gone)
    }

    async fn finish(mut self, outcome: &[u8]) {
        let _ = self.out.send(spdy::data(self.ids.error, outcome, true));
        for id in [self.ids.stdout, self.ids.stderr].into_iter().flatten() {
            let _ = self.out.send(spdy::data(id, &[], true));
        }
        let _ = self.out.send(spdy::goaway(self.ids.last));
        drop(self.out);
        // Everything written, then the client's own close (a while at most).
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            let _ = (&mut self.writer).await;
            while !matches!(self.events.recv().await, Some(ClientEvent::Gone) | None) {}
        })
        .await;
        self.reader.abort();
    }
}
