//! One exec or attach session, whatever its transport: the client's stdin, stdin's end and
//! resizes go to the command (or the attached container) through the node's kubelet; its
//! stdout and stderr come back, then its outcome.

use std::future::Future;
use std::time::Duration;

use super::AppState;
use podspec_cri::cri::{ExecOptions, ExecSession, RuntimeError};
use podspec_node::kubelet::KubeletError;
use podspec_cri::remotecommand::{
    self,
    channel::{STDERR, STDOUT},
};

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

/// Why a session has no exit code to send: the kubelet could not start it, or the runtime lost
/// its command. The client reads the text as the outcome's message.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error(transparent)]
    Start(#[from] KubeletError),
    #[error(transparent)]
    Exit(#[from] RuntimeError),
    #[error("the exec ended without an exit code")]
    NoExitCode,
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
pub(super) async fn carry(
    mut client: impl ExecClient,
    state: &AppState,
    uid: &str,
    container: &str,
    command: &[String],
    options: ExecOptions,
) {
    let session = state.node.kubelet().exec_stream(uid, container, command, options).await;
    if let Some(exit) = relay(&mut client, session).await {
        client.finish(remotecommand::outcome(command, exit.map_err(|e| e.to_string())).to_string().as_bytes()).await;
    }
}

/// Attaches `client` to the running container and sends the outcome once the container has
/// ended, unless the client went away first (which leaves the container running).
pub(super) async fn carry_attach(mut client: impl ExecClient, state: &AppState, uid: &str, container: &str, stdin: bool) {
    let session = state.node.kubelet().attach_stream(uid, container, stdin).await;
    if let Some(exit) = relay(&mut client, session).await {
        client.finish(remotecommand::outcome(&[], exit.map_err(|e| e.to_string())).to_string().as_bytes()).await;
    }
}

/// Carries one exec session for the client: its stdin, stdin's end and resizes in, stdout and
/// stderr out, until the command has ended and its output is sent. None when the client went
/// away first (the command is killed with the session).
async fn relay(client: &mut impl ExecClient, session: Result<ExecSession, KubeletError>) -> Option<Result<i32, SessionError>> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let session = match session {
        Err(e) => return Some(Err(e.into())),
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
                code = Some(r.map_err(SessionError::from));
                drain_until = Some(tokio::time::Instant::now() + Duration::from_secs(2));
            },
            _ = drained => outputs_done = true,
        }
    }
    Some(code.unwrap_or(Err(SessionError::NoExitCode)))
}
