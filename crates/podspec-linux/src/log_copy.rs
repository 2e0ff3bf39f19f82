//! The shim's copy of a container's stdout and stderr into its log file, in the CRI log format
//! (`cri_log::LineFramer`), as containerd's shim with its CRI logger and CRI-O's conmon write
//! them: each stream is a pipe, each line is stamped with the time it was read.
//!
//! The copy runs in the shim's single thread while the shim waits for the container: `poll`
//! over the two pipes and a pidfd of the container's first process. The pipes may outlive
//! that process (a descendant in a PID namespace shared with the pod keeps them open), so its
//! exit, not the pipes' end, ends the copy: what is in the pipes then is still read, and a line
//! left without a newline is written as a partial one.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use jiff::Timestamp;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use podspec_cri::cri::LogStream;
use podspec_cri::cri_log::{LineFramer, MAX_LINE};

/// How much one read takes from a pipe.
const READ_SIZE: usize = 32 * 1024;

/// Why the container's output pipes, or the watch on its exit, could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LogCopyError {
    #[error("pipe2 for the container's output: {0}")]
    Pipe(#[source] nix::Error),
    #[error("make a log pipe non-blocking: {0}")]
    NonBlocking(#[source] nix::Error),
    #[error("pidfd_open({pid}): {source}")]
    Pidfd {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
}

/// The pipes of a container's stdout and stderr, made before the fork: every end is
/// close-on-exec, the read ends are non-blocking (the write ends, which the container gets as
/// its fds 1 and 2, stay blocking).
pub struct StdioPipes {
    pub stdout: (OwnedFd, OwnedFd),
    pub stderr: (OwnedFd, OwnedFd),
}

impl StdioPipes {
    pub fn new() -> Result<Self, LogCopyError> {
        let pipe = || -> Result<(OwnedFd, OwnedFd), LogCopyError> {
            let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(LogCopyError::Pipe)?;
            let flags = nix::fcntl::OFlag::O_NONBLOCK;
            nix::fcntl::fcntl(&r, nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(LogCopyError::NonBlocking)?;
            Ok((r, w))
        };
        Ok(Self { stdout: pipe()?, stderr: pipe()? })
    }
}

/// `pidfd_open(2)`: a descriptor that becomes readable when the process `pid` exits.
pub fn pidfd_open(pid: i32) -> Result<OwnedFd, LogCopyError> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(LogCopyError::Pidfd { pid, source: std::io::Error::last_os_error() });
    }
    // SAFETY: the descriptor was just made and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// One stream's pipe and framing, until the pipe ends.
struct Source {
    pipe: Option<OwnedFd>,
    framer: LineFramer,
}

impl Source {
    /// Reads once; `false` when nothing was there. The pipe's end closes it and ends its line.
    fn read_once(&mut self, buf: &mut [u8], out: &mut Vec<u8>) -> bool {
        let Some(fd) = &self.pipe else { return false };
        match nix::unistd::read(fd, buf) {
            Ok(0) => {
                self.close(out);
                false
            }
            Ok(n) => {
                self.framer.push(&buf[..n], Timestamp::now(), out);
                true
            }
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => false,
            // A terminal's master side once no slave side is open any more.
            Err(nix::errno::Errno::EIO) => {
                self.close(out);
                false
            }
            Err(e) => {
                eprintln!("podspec-shim run: read the container's output: {e}");
                self.close(out);
                false
            }
        }
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        self.pipe = None;
        self.framer.finish(Timestamp::now(), out);
    }
}

/// Copies the container's output from the read ends of its pipes (`stdout`, `stderr`) into
/// `log` until the process behind `exit` has exited, then what the pipes still hold.
pub fn copy_until_exit(stdout: OwnedFd, stderr: OwnedFd, exit: &OwnedFd, log: &mut File) {
    let mut log = Log { file: log, failed: false };
    let mut sources = [
        Source { pipe: Some(stdout), framer: LineFramer::new(LogStream::Stdout, MAX_LINE) },
        Source { pipe: Some(stderr), framer: LineFramer::new(LogStream::Stderr, MAX_LINE) },
    ];
    let mut buf = vec![0u8; READ_SIZE];
    let mut out = Vec::new();
    loop {
        let (readable, exited) = {
            let open: Vec<BorrowedFd<'_>> = sources.iter().filter_map(|s| s.pipe.as_ref().map(|p| p.as_fd())).collect();
            let mut fds: Vec<PollFd<'_>> = open.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)).collect();
            fds.push(PollFd::new(exit.as_fd(), PollFlags::POLLIN));
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    eprintln!("podspec-shim run: poll the container's output: {e}");
                    break;
                }
            }
            let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            let readable: Vec<i32> = fds[..open.len()].iter().zip(&open).filter(|(p, _)| ready(p)).map(|(_, fd)| fd.as_raw_fd()).collect();
            (readable, ready(&fds[open.len()]))
        };
        for s in sources.iter_mut().filter(|s| s.pipe.as_ref().is_some_and(|p| readable.contains(&p.as_raw_fd()))) {
            s.read_once(&mut buf, &mut out);
        }
        log.write(&mut out);
        if exited {
            break;
        }
    }
    // What the container wrote before it exited is in the pipes, at most their capacity each;
    // a descendant that writes on is not waited for.
    for s in &mut sources {
        let mut left = s.pipe.as_ref().map_or(0, pipe_capacity);
        while left > 0 && s.read_once(&mut buf[..READ_SIZE.min(left)], &mut out) {
            left = left.saturating_sub(READ_SIZE);
        }
        if s.pipe.is_some() {
            s.close(&mut out);
        }
        log.write(&mut out);
    }
}

/// Copies what a container with a terminal writes, read from its master side, into `log` as
/// stdout (a terminal is one stream) until the process behind `exit` has exited, then what the
/// terminal still holds. What each read gives is logged at once, a line not yet ended as a
/// partial one (`P`): a shell's prompt has no newline and must reach an attach as it is shown.
/// The master is read only when poll says it is readable, so that it can stay blocking for
/// podspec, which writes the container's stdin into it.
pub fn copy_terminal_until_exit(master: OwnedFd, exit: &OwnedFd, log: &mut File) {
    let mut log = Log { file: log, failed: false };
    let mut source = Source { pipe: Some(master), framer: LineFramer::new(LogStream::Stdout, MAX_LINE) };
    let mut buf = vec![0u8; READ_SIZE];
    let mut out = Vec::new();
    // Whether the master has something to read (or has ended), waiting at most `timeout`.
    let readable = |source: &Source, timeout: PollTimeout| -> bool {
        let Some(fd) = &source.pipe else { return false };
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        matches!(poll(&mut fds, timeout), Ok(n) if n > 0)
    };
    loop {
        let (data, exited) = {
            let mut fds = vec![PollFd::new(exit.as_fd(), PollFlags::POLLIN)];
            if let Some(fd) = &source.pipe {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    eprintln!("podspec-shim run: poll the container's terminal: {e}");
                    break;
                }
            }
            let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            (fds.get(1).is_some_and(ready), ready(&fds[0]))
        };
        if data && source.read_once(&mut buf, &mut out) {
            source.framer.finish(Timestamp::now(), &mut out);
        }
        log.write(&mut out);
        if exited {
            break;
        }
    }
    // What the container wrote before it exited; a descendant that writes on is not waited for.
    while readable(&source, PollTimeout::ZERO) && source.read_once(&mut buf, &mut out) {
        log.write(&mut out);
    }
    if source.pipe.is_some() {
        source.close(&mut out);
    }
    log.write(&mut out);
}

/// The capacity of a pipe (`F_GETPIPE_SZ`); the default 64 KiB where it cannot be read.
fn pipe_capacity(fd: &OwnedFd) -> usize {
    // SAFETY: F_GETPIPE_SZ takes no argument and only reads the descriptor's state.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETPIPE_SZ) };
    if n > 0 {
        n as usize
    } else {
        64 * 1024
    }
}

/// The log file being written.
struct Log<'a> {
    file: &'a mut File,
    /// A write has failed (and that was said).
    failed: bool,
}

impl Log<'_> {
    /// Appends the framed lines to the log and empties `out`. A failed write loses those lines
    /// and the copy goes on, so the container is never blocked on a full pipe; the first
    /// failure is said on the shim's stderr (only once: nobody reads it before the shim ends,
    /// and a full stderr pipe would stop the shim).
    fn write(&mut self, out: &mut Vec<u8>) {
        if out.is_empty() {
            return;
        }
        if let Err(e) = self.file.write_all(out) {
            if !self.failed {
                eprintln!("podspec-shim run: write the container's log (later lines may be lost too): {e}");
                self.failed = true;
            }
        }
        out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// Runs `script` with its stdout and stderr on log pipes and copies them as the shim does;
    /// with `after_exit`, only once the script has exited.
    fn copy_of(script: &str, after_exit: bool) -> (Vec<podspec_cri::cri::LogEntry>, Duration) {
        let pipes = StdioPipes::new().unwrap();
        let StdioPipes { stdout: (stdout, stdout_write), stderr: (stderr, stderr_write) } = pipes;
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout_write))
            .stderr(Stdio::from(stderr_write))
            .spawn()
            .unwrap();
        let exit = pidfd_open(child.id() as i32).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut log = File::create(&path).unwrap();
        if after_exit {
            child.wait().unwrap();
        }
        let started = Instant::now();
        copy_until_exit(stdout, stderr, &exit, &mut log);
        let took = started.elapsed();
        child.wait().unwrap();
        (podspec_cri::cri_log::read_file(&path, None).unwrap(), took)
    }

    #[test]
    fn a_pidfd_error_names_the_pid() {
        assert_eq!(pidfd_open(-1).unwrap_err().to_string(), "pidfd_open(-1): Invalid argument (os error 22)");
    }

    #[test]
    fn both_streams_are_copied_line_by_line_with_their_tags() {
        let (e, _) = copy_of("echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three; printf end", false);
        let seen: Vec<(LogStream, &[u8], bool)> = e.iter().map(|e| (e.stream, e.content.as_slice(), e.partial)).collect();
        assert_eq!(
            seen,
            [
                (LogStream::Stdout, &b"one\n"[..], false),
                (LogStream::Stderr, b"two\n", false),
                (LogStream::Stdout, b"three\n", false),
                (LogStream::Stdout, b"end", true)
            ]
        );
        assert!(e.windows(2).all(|w| w[0].time <= w[1].time), "{e:?}");
    }

    #[test]
    fn the_exit_ends_the_copy_though_a_descendant_holds_the_pipes() {
        // The background sleep keeps both pipes open for 5 s after the shell has exited.
        let (e, took) = copy_of("sleep 5 & echo bye; printf 'no newline' >&2; exit 0", false);
        assert!(took < Duration::from_secs(3), "the copy waited {took:?} for the pipes' end");
        let seen: Vec<(LogStream, &[u8], bool)> = e.iter().map(|e| (e.stream, e.content.as_slice(), e.partial)).collect();
        assert_eq!(seen, [(LogStream::Stdout, &b"bye\n"[..], false), (LogStream::Stderr, b"no newline", true)]);
    }

    #[test]
    fn what_the_pipes_hold_at_the_exit_is_all_written() {
        // 50 000 bytes fit in a pipe; the copy starts after the exit, so one read cannot take them.
        let (e, _) = copy_of("sleep 5 & head -c 50000 /dev/zero | tr '\\0' x; echo; exit 0", true);
        let text = podspec_cri::cri::log_text(&e);
        assert_eq!((text.len(), text.iter().filter(|b| **b == b'x').count()), (50001, 50000), "{} bytes", text.len());
        assert_eq!(e.len(), 4, "16 KiB chunks: {:?}", e.iter().map(|e| (e.content.len(), e.partial)).collect::<Vec<_>>());
    }

    #[test]
    fn a_terminals_line_not_yet_ended_is_logged_as_it_comes() {
        let master = crate::exec::open_master(std::path::Path::new("/dev/ptmx")).unwrap();
        let slave = crate::exec::slave_of(&master).unwrap();
        let mut child = Command::new("sh")
            .args(["-c", "printf 'prompt> '; sleep 1; echo done"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let exit = pidfd_open(child.id() as i32).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut file = File::create(&path).unwrap();
        let copy = std::thread::spawn(move || copy_terminal_until_exit(master, &exit, &mut file));
        std::thread::sleep(Duration::from_millis(500));
        let early = std::fs::read(&path).unwrap();
        let entries = podspec_cri::cri_log::entries(&early).unwrap();
        assert_eq!(podspec_cri::cri::log_text(&entries), b"prompt> ", "the prompt is in the log before its line ends");
        child.wait().unwrap();
        copy.join().unwrap();
        let entries = podspec_cri::cri_log::entries(&std::fs::read(&path).unwrap()).unwrap();
        assert!(entries.iter().all(|e| e.stream == podspec_cri::cri::LogStream::Stdout), "one stream: {entries:?}");
        assert_eq!(podspec_cri::cri::log_text(&entries), b"prompt> done\r\n");
    }
}
