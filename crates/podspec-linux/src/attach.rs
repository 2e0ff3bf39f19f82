//! CRI `Attach` on the reference runtime. A container with `stdin` gets the shim's stdin, a
//! pipe whose write end the runtime keeps (`ContainerStdin`): an attach's stdin is copied into
//! it, and with `stdin_once` the first attach's end of stdin closes it, so the container reads
//! its end of file. The output comes from the container's log, which the shim writes as the
//! container writes: the attach follows it from where it stands when the attach begins, each
//! chunk to stdout or stderr as the log line says, until the container has ended.
//!
//! A container with `tty` has a terminal instead, whose master side the runtime keeps: an
//! attach's stdin is written into it (and with `stdin_once`, its end is the terminal's
//! end-of-file character), its resizes set the terminal's size, and its output, one stream,
//! comes from the log, where the shim writes what the terminal gives as stdout.

use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, DuplexStream};
use tokio::process::ChildStdin;
use tokio::sync::watch;

use podspec_cri::cri::RuntimeError;

use podspec_cri::cri::{ContainerId, ExecSession, LogStream, RuntimeResult};
use podspec_cri::cri_log::parse_line;

/// How often the log is read for what the container wrote since.
const FOLLOW_EVERY: Duration = Duration::from_millis(50);
/// What the session's streams buffer.
const BUFFER: usize = 64 * 1024;

/// The end-of-file character of a terminal in canonical mode (`VEOF`, ^D, as `stty` sets it).
const TERMINAL_EOF: u8 = 0x04;

/// The write end of a container's stdin, kept open by the runtime between attaches.
pub(super) struct ContainerStdin {
    pipe: tokio::sync::Mutex<Option<Pin<Box<dyn AsyncWrite + Send + Sync>>>>,
    /// `stdin_once`: the first attach's end of stdin closes the container's.
    once: bool,
    /// The stdin is a terminal's master side: its end is a character written, not a close.
    terminal: bool,
}

impl ContainerStdin {
    /// A pipe: its close is the end of the container's stdin.
    pub(super) fn pipe(pipe: ChildStdin, once: bool) -> Self {
        Self { pipe: tokio::sync::Mutex::new(Some(Box::pin(pipe))), once, terminal: false }
    }

    /// A terminal's master side (a descriptor of its own): the container reads what is
    /// written, and its end of file when the terminal's end-of-file character comes.
    pub(super) fn terminal(master: OwnedFd, once: bool) -> Self {
        let file = tokio::fs::File::from_std(std::fs::File::from(master));
        Self { pipe: tokio::sync::Mutex::new(Some(Box::pin(file))), once, terminal: true }
    }

    /// Copies what an attach sends to the container until the attach's stdin ends.
    async fn feed(self: Arc<Self>, mut from: DuplexStream) {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut pipe = self.pipe.lock().await;
            let Some(w) = pipe.as_mut() else { return };
            if w.write_all(&buf[..n]).await.is_err() || w.flush().await.is_err() {
                // The container closed its stdin: nobody reads it any more.
                *pipe = None;
                return;
            }
        }
        if self.once {
            let mut pipe = self.pipe.lock().await;
            if let (true, Some(w)) = (self.terminal, pipe.as_mut()) {
                // A terminal's reader sees its end of file at this character (after a line's end).
                let _ = w.write_all(&[TERMINAL_EOF]).await;
                let _ = w.flush().await;
            }
            // Dropped, a pipe's reader reaches its end of file.
            pipe.take();
        }
    }
}

/// The session of one attach to a running container: its output from `log` from now on, its
/// stdin (`stdin`, where the container has one and the attach asks for it), its terminal's
/// size (`terminal`, the master side of the container's, where it has one) and its end.
pub(super) fn start(
    id: &ContainerId,
    log: PathBuf,
    stdin: Option<Arc<ContainerStdin>>,
    terminal: Option<Arc<OwnedFd>>,
    exited: watch::Receiver<bool>,
) -> ExecSession {
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let (stdout_w, stdout_r) = tokio::io::duplex(BUFFER);
    // A terminal is one stream: no stderr.
    let (stderr_w, stderr_r) = match terminal {
        Some(_) => (None, None),
        None => {
            let (w, r) = tokio::io::duplex(BUFFER);
            (Some(w), Some(r))
        }
    };
    tokio::spawn(follow(log, from, stdout_w, stderr_w, exited.clone()));
    let what = format!("attach to container {id}");
    let stdin = stdin.map(|pipe| {
        let (client, feed) = tokio::io::duplex(BUFFER);
        tokio::spawn(pipe.feed(feed));
        Box::pin(client) as _
    });
    let id = id.clone();
    let mut exited = exited;
    ExecSession {
        stdin,
        stdout: Box::pin(stdout_r),
        stderr: stderr_r.map(|r| Box::pin(r) as _),
        resize: terminal.map(|master| -> podspec_cri::cri::Resize {
            Box::new(move |cols, rows| super::exec::set_size(&master, cols, rows).map_err(|e| RuntimeError::io(what.clone(), e)))
        }),
        exit: Box::pin(async move {
            // The container's end ends the attach (its exit code is the pod status's to say).
            let _ = exited.wait_for(|e| *e).await;
            tracing::debug!(container = %id, "attach: the container ended");
            RuntimeResult::Ok(0)
        }),
    }
}

/// Sends what the log gains from offset `from` to `stdout` and `stderr`, until the container
/// has ended (then what it wrote last) or the session has gone.
async fn follow(log: PathBuf, mut from: u64, mut stdout: DuplexStream, mut stderr: Option<DuplexStream>, exited: watch::Receiver<bool>) {
    use tokio::io::AsyncSeekExt as _;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let ended = *exited.borrow();
        if let Ok(mut file) = tokio::fs::File::open(&log).await {
            if file.seek(std::io::SeekFrom::Start(from)).await.is_ok() {
                let mut fresh = Vec::new();
                if let Ok(n) = file.read_to_end(&mut fresh).await {
                    from += n as u64;
                    pending.extend_from_slice(&fresh);
                }
            }
        }
        // Whole lines only: a line still being written waits for its end.
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let Ok(chunk) = parse_line(&line[..line.len() - 1], 0) else { continue };
            let mut content = chunk.content.to_vec();
            if !chunk.partial {
                content.push(b'\n');
            }
            let out = match (chunk.stream, stderr.as_mut()) {
                (LogStream::Stderr, Some(stderr)) => stderr,
                _ => &mut stdout,
            };
            if out.write_all(&content).await.is_err() {
                return;
            }
        }
        if ended {
            return;
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_attach_follows_the_log_from_where_it_stands() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        std::fs::write(&log, "2026-01-01T00:00:00Z stdout F before\n").unwrap();
        let (tx, rx) = watch::channel(false);
        let session = start(&ContainerId("c".into()), log.clone(), None, None, rx);
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(b"2026-01-01T00:00:01Z stdout P par\n2026-01-01T00:00:01Z stdout F tial\n").unwrap();
        f.write_all(b"2026-01-01T00:00:02Z stderr F oops\n2026-01-01T00:00:03Z stdout F half").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(true).unwrap();
        assert_eq!(session.exit.await.unwrap(), 0);
        let (mut out, mut err) = (String::new(), String::new());
        let (mut so, mut se) = (session.stdout, session.stderr.unwrap());
        so.read_to_string(&mut out).await.unwrap();
        se.read_to_string(&mut err).await.unwrap();
        assert_eq!(out, "partial\n", "what was there before the attach is not sent; a line not yet ended waits");
        assert_eq!(err, "oops\n");
    }

    #[tokio::test]
    async fn an_attach_to_a_terminal_resizes_it_and_has_one_stream() {
        use std::os::fd::AsRawFd as _;
        let master = crate::exec::open_master(std::path::Path::new("/dev/ptmx")).unwrap();
        let slave = crate::exec::slave_of(&master).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = watch::channel(false);
        let session = start(&ContainerId("c".into()), dir.path().join("log"), None, Some(Arc::new(master)), rx);
        assert!(session.stderr.is_none(), "a terminal's output is one stream");
        (session.resize.as_ref().expect("a terminal is resized"))(132, 43).unwrap();
        let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCGWINSZ writes one winsize through the pointer, which outlives the call.
        assert_eq!(unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCGWINSZ as _, &mut size) }, 0);
        assert_eq!((size.ws_col, size.ws_row), (132, 43), "the container sees the columns and rows the client sent");
        tx.send(true).unwrap();
    }

    #[tokio::test]
    async fn with_stdin_once_the_end_of_an_attachs_stdin_is_a_terminals_end_of_file() {
        let master = crate::exec::open_master(std::path::Path::new("/dev/ptmx")).unwrap();
        let slave = crate::exec::slave_of(&master).unwrap();
        let stdin = Arc::new(ContainerStdin::terminal(master.try_clone().unwrap(), true));
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = watch::channel(false);
        let session = start(&ContainerId("c".into()), dir.path().join("log"), Some(stdin), Some(Arc::new(master)), rx);
        let mut client = session.stdin.unwrap();
        client.write_all(b"abc\n").await.unwrap();
        drop(client);
        // The container's side, a terminal in canonical mode: the line, then its end of file.
        let reads = tokio::task::spawn_blocking(move || {
            let mut slave = std::fs::File::from(slave);
            let mut reads = Vec::new();
            let mut buf = [0u8; 64];
            for _ in 0..2 {
                let n = std::io::Read::read(&mut slave, &mut buf).unwrap();
                reads.push(buf[..n].to_vec());
            }
            reads
        });
        let reads = tokio::time::timeout(Duration::from_secs(5), reads).await.expect("the reads end").unwrap();
        assert_eq!(reads, [b"abc\n".to_vec(), Vec::new()], "a line, then the end of file (a read of 0 bytes)");
        tx.send(true).unwrap();
    }
}
