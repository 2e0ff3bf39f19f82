//! podspec's own `containers.conf`, handed to every podman command as `CONTAINERS_CONF` (the
//! machine's `/etc/containers/containers.conf` is never edited):
//! - `runtime = "runc"`: crun fails on hybrid cgroup hierarchies such as this project's machines';
//! - `default_ulimits` the machine allows: podman's defaults ask for more open files than the
//!   hard limit, which even root cannot raise, so `nofile` is set at the hard limit and `nproc` at
//!   32768 (or the hard limit, if lower).
//!
//! `ci/podman/containers-conf.sh` writes the same file for using podman by hand.

use std::path::{Path, PathBuf};

/// The `nproc` podspec asks for at most.
pub const NPROC: u64 = 32768;
/// The `nofile` used when the hard limit is unlimited.
pub const NOFILE_UNLIMITED: u64 = 1_048_576;

pub fn text(nofile: u64, nproc: u64) -> String {
    format!(
        "# Written by podspec for its podman target (CONTAINERS_CONF); see ci/podman/README.md.\n\
         [containers]\n\
         default_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n\
         \n\
         [engine]\n\
         runtime = \"runc\"\n"
    )
}

/// A hard limit from `/proc/self/limits` (`None`: unlimited or unreadable).
fn hard_limit(limits: &str, label: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with(label))?;
    line[label.len()..].split_whitespace().nth(1)?.parse().ok()
}

/// The values this machine allows: (nofile, nproc).
pub fn machine_limits() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let nofile = hard_limit(&limits, "Max open files").unwrap_or(NOFILE_UNLIMITED);
    let nproc = hard_limit(&limits, "Max processes").map_or(NPROC, |n| n.min(NPROC));
    (nofile, nproc)
}

/// Writes the file under `dir` (replacing it whole) and returns its path.
pub fn write(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("containers.conf");
    let (nofile, nproc) = machine_limits();
    let tmp = dir.join(format!(".containers.conf.{}", std::process::id()));
    std::fs::write(&tmp, text(nofile, nproc))?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units     \n\
        Max processes             96365                96365                processes \n\
        Max open files            1024                 20000                files     \n";

    #[test]
    fn hard_limits_are_read_and_nproc_is_capped() {
        assert_eq!(hard_limit(LIMITS, "Max open files"), Some(20000));
        assert_eq!(hard_limit(LIMITS, "Max processes"), Some(96365));
        assert_eq!(hard_limit("Max open files  unlimited  unlimited  files", "Max open files"), None);
        let (nofile, nproc) = machine_limits();
        assert!(nofile > 0 && nproc <= NPROC);
    }

    #[test]
    fn the_file_sets_runc_and_the_limits() {
        let t = text(20000, 32768);
        assert!(t.contains("runtime = \"runc\""), "{t}");
        assert!(t.contains("\"nofile=20000:20000\", \"nproc=32768:32768\""), "{t}");
    }
}
