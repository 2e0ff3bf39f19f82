//! Processes podspec started, known by PID *and* start time, so that a PID the kernel has
//! reused for somebody else's process is never signalled.

use std::fs;
use std::path::Path;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A process podspec started: its PID and its start time (field 22 of /proc/PID/stat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessId {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessId {
    /// Reads the start time of a live process.
    pub fn of(pid: i32) -> Option<Self> {
        start_time(pid).map(|start_time| Self { pid, start_time })
    }

    /// Whether this very process is still alive (not merely its PID).
    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start_time)
    }

    /// Sends a signal, only if the PID still names this process.
    pub fn signal(&self, sig: Signal) -> bool {
        self.is_alive() && kill(Pid::from_raw(self.pid), sig).is_ok()
    }

    /// Whether the process has a handler for `sig` (its `SigCgt` mask); `None` if it is gone
    /// or the mask cannot be read.
    pub fn catches(&self, sig: Signal) -> Option<bool> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let mask = status.lines().find_map(|l| l.strip_prefix("SigCgt:"))?;
        let mask = u64::from_str_radix(mask.trim(), 16).ok()?;
        Some(self.is_alive() && mask & (1 << (sig as i32 - 1)) != 0)
    }

    pub fn encode(&self) -> String {
        format!("{} {}", self.pid, self.start_time)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut it = text.split_whitespace();
        Some(Self { pid: it.next()?.parse().ok()?, start_time: it.next()?.parse().ok()? })
    }

    /// Records this process in `dir` (one file per process), so a later run can end it.
    pub fn record(&self, dir: &Path) -> std::io::Result<()> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join(self.pid.to_string()), self.encode())
    }

    pub fn forget(&self, dir: &Path) {
        let _ = fs::remove_file(dir.join(self.pid.to_string()));
    }
}

/// Every process recorded in `dir`.
pub fn recorded(dir: &Path) -> Vec<ProcessId> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    entries.filter_map(Result::ok).filter_map(|e| fs::read_to_string(e.path()).ok()).filter_map(|t| ProcessId::decode(&t)).collect()
}

fn start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    // rest starts at field 3 (state); start time is field 22.
    let stime = rest.split_whitespace().nth(22 - 3)?.parse().ok()?;
    // A zombie still has its PID: treat it as gone.
    if rest.starts_with('Z') {
        return None;
    }
    Some(stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_a_changed_start_time_is_not() {
        let me = ProcessId::of(std::process::id() as i32).expect("own stat");
        assert!(me.is_alive());
        let other = ProcessId { start_time: me.start_time + 1, ..me };
        assert!(!other.is_alive());
        assert!(!other.signal(Signal::SIGCONT), "must not signal a PID whose start time differs");
    }

    /// A process with a handler for SIGTERM is seen to catch it, one without is not (PID 1 of a
    /// container drops a SIGTERM it has no handler for).
    #[test]
    fn a_handler_for_sigterm_is_seen() {
        let mut trapping = std::process::Command::new("sh").args(["-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]).spawn().unwrap();
        let mut plain = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let (t, p) = (ProcessId::of(trapping.id() as i32).unwrap(), ProcessId::of(plain.id() as i32).unwrap());
        // The shell installs its trap a moment after it starts.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while t.catches(Signal::SIGTERM) != Some(true) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let seen = (t.catches(Signal::SIGTERM), p.catches(Signal::SIGTERM), t.catches(Signal::SIGUSR2));
        for c in [&mut trapping, &mut plain] {
            let _ = c.kill();
            let _ = c.wait();
        }
        assert_eq!(seen, (Some(true), Some(false), Some(false)));
        assert_eq!(t.catches(Signal::SIGTERM), None, "a process that is gone");
    }

    #[test]
    fn encode_and_decode_round_trip() {
        let p = ProcessId { pid: 42, start_time: 1234 };
        assert_eq!(ProcessId::decode(&p.encode()), Some(p));
        assert_eq!(ProcessId::decode("garbage"), None);
    }
}
