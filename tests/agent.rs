//! The built podspec-agent binary, as scenarios use it inside containers; run here on the host.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const AGENT: &str = env!("CARGO_BIN_EXE_podspec-agent");

fn agent(args: &[&str]) -> Output {
    Command::new(AGENT).args(args).output().expect("run podspec-agent")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A random SysV key for this test, removed again when dropped.
struct ShmKey(libc::key_t);

impl ShmKey {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        Self(((nanos ^ (std::process::id() << 8)) & 0x3fff_ffff) as libc::key_t + 1)
    }
}

impl Drop for ShmKey {
    fn drop(&mut self) {
        // SAFETY: plain syscalls on a key this test made up; a missing segment is fine.
        unsafe {
            let id = libc::shmget(self.0, 0, 0);
            if id >= 0 {
                libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
            }
        }
    }
}

/// A child process, killed by its PID and reaped when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_listener(port: u16) -> (Killed, u16) {
    let mut child =
        Killed(Command::new(AGENT).args(["listen", &port.to_string()]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("listening on 0.0.0.0:").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{line:?}"));
    (child, port)
}

#[test]
fn shm_create_then_read_round_trips() {
    let key = ShmKey::new();
    let k = key.0.to_string();
    let created = agent(&["shm-create", &k, "hello from a pod"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let read = agent(&["shm-read", &k]);
    assert_eq!(text(&read.stdout), "hello from a pod\n");
}

#[test]
fn a_missing_segment_and_bad_usage_fail_with_their_codes() {
    let key = ShmKey::new();
    let missing = agent(&["shm-read", &key.0.to_string()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("No such file or directory"), "{}", text(&missing.stderr));
    assert_eq!(agent(&[]).status.code(), Some(2));
    assert_eq!(agent(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn listen_then_connect_gets_the_greeting_and_a_second_listener_finds_the_port_in_use() {
    let (_listener, port) = start_listener(0);
    let out = agent(&["connect", "127.0.0.1", &port.to_string()]);
    assert!(text(&out.stdout).starts_with("hello from "), "{}", text(&out.stderr));

    let mut second =
        Killed(Command::new(AGENT).args(["listen", &port.to_string()]).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = second.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "second listener did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1));
    let mut err = String::new();
    second.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains("in use (os error 98)"), "{err}");
}
