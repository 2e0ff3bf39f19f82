//! A streaming exec in a running container (CRI `Exec`): `podspec-shim exec` with its stdin,
//! stdout and stderr as pipes, or all three on the slave side of a new pseudo-terminal whose
//! master side the session reads, writes and resizes. The terminal is made in the container's
//! own devpts (as a runtime's console is), so the command finds it under its /dev/pts.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use tokio::process::Command;

use podspec_cri::cri::{ContainerId, ExecOptions, ExecSession, RuntimeError, RuntimeResult};

/// A pseudo-terminal: its master and slave sides, both close-on-exec.
struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

/// Opens a terminal in the devpts of the container whose process is `pid`.
fn container_pty(pid: i32) -> std::io::Result<Pty> {
    let master = open_master(Path::new(&format!("/proc/{pid}/root/dev/pts/ptmx")))?;
    let slave = slave_of(&master)?;
    Ok(Pty { master, slave })
}

/// Opens a new terminal's master side at `ptmx` (close-on-exec, not a controlling terminal),
/// unlocked so that its slave side can be opened.
pub(super) fn open_master(ptmx: &Path) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let master: OwnedFd = std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOCTTY).open(ptmx)?.into();
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the pointer, which outlives the call.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK as _, &unlock) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(master)
}

/// Opens the slave side of the terminal whose master is `master` (close-on-exec).
pub(super) fn slave_of(master: &OwnedFd) -> std::io::Result<OwnedFd> {
    // SAFETY: TIOCGPTPEER takes open flags and returns a new fd, which we own from here on.
    let slave = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER as _, libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if slave < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `slave` is a fresh fd that nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(slave) })
}

pub(super) fn start(mut command: Command, id: &ContainerId, pid: i32, options: ExecOptions) -> RuntimeResult<ExecSession> {
    let what = format!("exec in container {id}");
    command.kill_on_drop(true);
    if options.tty {
        let pty = container_pty(pid).map_err(|e| RuntimeError::failed(what.clone(), format!("open a tty in the container: {e}")))?;
        let slave =
            |pty: &Pty| -> RuntimeResult<Stdio> { Ok(Stdio::from(pty.slave.try_clone().map_err(|e| RuntimeError::io(what.clone(), e))?)) };
        command.stdin(slave(&pty)?).stdout(slave(&pty)?).stderr(slave(&pty)?);
        let mut child = command.spawn().map_err(|e| RuntimeError::io(what.clone(), e))?;
        // Only the command holds the slave side now: its end is the master's end of file.
        drop(command);
        drop(pty.slave);
        let master = Arc::new(pty.master);
        let reader = tokio::fs::File::from_std(std::fs::File::from(clone(&master, &what)?));
        let writer = tokio::fs::File::from_std(std::fs::File::from(clone(&master, &what)?));
        let resizer = master.clone();
        let resize_what = what.clone();
        let exit_what = what.clone();
        return Ok(ExecSession {
            stdin: options.stdin.then(|| Box::pin(writer) as _),
            stdout: Box::pin(EndOfTerminal(reader)),
            stderr: None,
            resize: Some(Box::new(move |cols, rows| set_size(&resizer, cols, rows).map_err(|e| RuntimeError::io(resize_what.clone(), e)))),
            exit: Box::pin(async move {
                let status = child.wait().await.map_err(|e| RuntimeError::io(exit_what, e))?;
                Ok(status.code().unwrap_or(137))
            }),
        });
    }
    command.stdin(if options.stdin { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| RuntimeError::io(what.clone(), e))?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    Ok(ExecSession {
        stdin: stdin.map(|s| Box::pin(s) as _),
        stdout: Box::pin(stdout),
        stderr: Some(Box::pin(stderr)),
        resize: None,
        exit: Box::pin(async move {
            let status = child.wait().await.map_err(|e| RuntimeError::io(what, e))?;
            Ok(status.code().unwrap_or(137))
        }),
    })
}

fn clone(fd: &OwnedFd, what: &str) -> RuntimeResult<OwnedFd> {
    fd.try_clone().map_err(|e| RuntimeError::io(what.to_string(), e))
}

/// TIOCSWINSZ on the terminal's master side.
pub(super) fn set_size(master: &OwnedFd, cols: u16, rows: u16) -> std::io::Result<()> {
    let size = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which outlives the call; the fd is
    // open while `master` lives.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ as _, &size) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A pty master's reads: EIO once every slave side is closed is the end of the output.
struct EndOfTerminal(tokio::fs::File);

impl tokio::io::AsyncRead for EndOfTerminal {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match std::pin::Pin::new(&mut self.0).poll_read(cx, buf) {
            std::task::Poll::Ready(Err(e)) if e.raw_os_error() == Some(libc::EIO) => std::task::Poll::Ready(Ok(())),
            other => other,
        }
    }
}
