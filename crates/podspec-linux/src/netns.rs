//! The network namespace a holder process was started to make, checked before anything is
//! configured in it: the holder's PID must name a process in a namespace other than podspec's
//! own. A holder started through a wrapper (say `strace`, whose PID podspec would see) is in
//! podspec's namespace, the machine's; configuring a bridge or an address there would change
//! the machine's own network, which podspec never touches.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;

/// Why a holder's network namespace is not used.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("open {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("stat the network namespace {what}: {source}")]
    Stat { what: String, source: io::Error },
    #[error(
        "process {pid}, the holder of a new network namespace, is in podspec's own network namespace (is the shim started through a wrapper such as strace? podspec must see the holder's own PID): nothing is configured in it"
    )]
    NotNew { pid: i32 },
}

/// Opens the network namespace of the holder process `pid`, refusing it when it is podspec's
/// own.
pub fn open_new_netns_of(pid: i32) -> Result<OwnedFd, NetnsError> {
    let open = |path: String| File::open(&path).map_err(|source| NetnsError::Open { path, source });
    let holder = open(format!("/proc/{pid}/ns/net"))?;
    let own = open("/proc/self/ns/net".to_string())?;
    refuse_same(pid, &holder, &own)?;
    Ok(OwnedFd::from(holder))
}

/// A namespace is its (device, inode) pair: two opened namespace files name the same
/// namespace when both are equal.
fn refuse_same(pid: i32, holder: &File, own: &File) -> Result<(), NetnsError> {
    let id = |f: &File, what: &str| {
        f.metadata().map(|m| (m.dev(), m.ino())).map_err(|source| NetnsError::Stat { what: what.to_string(), source })
    };
    if id(holder, &format!("of process {pid}"))? == id(own, "of podspec")? {
        return Err(NetnsError::NotNew { pid });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    /// A child process: `new` in a network namespace of its own (needs root), else in the
    /// test's, as a holder wrapped in strace would be. Killed when dropped.
    struct Child(std::process::Child);

    impl Child {
        fn start(new: bool) -> Self {
            let mut cmd = if new { Command::new("unshare") } else { Command::new("sh") };
            if new {
                cmd.args(["--net", "sh"]);
            }
            let mut child = cmd.args(["-c", "echo ready; exec sleep 60"]).stdout(Stdio::piped()).spawn().unwrap();
            let mut line = String::new();
            io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
            assert_eq!(line.trim(), "ready");
            Self(child)
        }
    }

    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn a_holder_in_podspecs_own_network_namespace_is_refused() {
        let child = Child::start(false);
        let pid = child.0.id() as i32;
        let err = open_new_netns_of(pid).unwrap_err();
        assert!(matches!(err, NetnsError::NotNew { pid: p } if p == pid), "{err}");
        assert!(err.to_string().contains(&format!("process {pid}")) && err.to_string().contains("strace"), "{err}");
    }

    #[test]
    fn a_holder_in_a_new_network_namespace_is_opened() {
        let child = Child::start(true);
        let fd = open_new_netns_of(child.0.id() as i32).expect("a new network namespace (as root)");
        let opened = File::from(fd).metadata().unwrap();
        let own = std::fs::metadata("/proc/self/ns/net").unwrap();
        assert_ne!((opened.dev(), opened.ino()), (own.dev(), own.ino()));
    }

    #[test]
    fn a_holder_that_is_gone_is_an_error_naming_its_file() {
        let mut child = Child::start(false);
        let pid = child.0.id() as i32;
        let _ = child.0.kill();
        let _ = child.0.wait();
        let err = open_new_netns_of(pid).unwrap_err();
        assert!(err.to_string().contains(&format!("/proc/{pid}/ns/net")), "{err}");
    }
}
