//! podspec's own `containers.conf`, handed to every podman command as `CONTAINERS_CONF` (the
//! machine's `/etc/containers/containers.conf` is never edited):
//! - `runtime`: the OCI runtime podman runs the pods with (`--podman-runtime`), runc unless
//!   another is asked for: a name podman knows (runc, crun, runsc), or a runtime binary's path,
//!   which the file lists under `[engine.runtimes]` by its file name (ci/runtimes/crun: crun
//!   1.8.1 refuses hybrid cgroup hierarchies such as this project's machines', and the wrapper
//!   hides the cgroup v2 mount from it). One file per runtime, so runs with different runtimes
//!   side by side do not rewrite each other's;
//! - `default_ulimits` the machine allows: podman's defaults ask for more open files than the
//!   hard limit, which even root cannot raise, so `nofile` is set at the hard limit and `nproc` at
//!   32768 (or the hard limit, if lower).
//!
//! `ci/podman/containers-conf.sh` writes the same file for using podman by hand.

use std::path::{Path, PathBuf};

/// The OCI runtime podman runs the pods with: a name podman knows, or a binary's path (then
/// named by its file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub name: String,
    pub path: Option<PathBuf>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self { name: "runc".into(), path: None }
    }
}

/// Why `--podman-runtime` names no OCI runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeArgError {
    #[error("{0:?} is not a runtime name or path")]
    NotANameOrPath(String),
    #[error("{given}: {source}")]
    Path {
        given: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: no file name")]
    NoFileName(String),
}

impl std::str::FromStr for Runtime {
    type Err = RuntimeArgError;

    /// `crun` (a name), or `ci/runtimes/crun` (a path: anything with a `/`, made absolute).
    fn from_str(s: &str) -> Result<Self, RuntimeArgError> {
        if !s.contains('/') {
            let ok = !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            return if ok { Ok(Self { name: s.into(), path: None }) } else { Err(RuntimeArgError::NotANameOrPath(s.into())) };
        }
        let path = std::path::absolute(s).map_err(|source| RuntimeArgError::Path { given: s.into(), source })?;
        let name =
            path.file_name().and_then(|n| n.to_str()).filter(|n| !n.is_empty()).ok_or_else(|| RuntimeArgError::NoFileName(s.into()))?;
        let name = Self::from_str(name)?.name;
        Ok(Self { name, path: Some(path) })
    }
}

/// The `nproc` podspec asks for at most.
pub const NPROC: u64 = 32768;
/// The `nofile` used when the hard limit is unlimited.
pub const NOFILE_UNLIMITED: u64 = 1_048_576;

pub fn text(nofile: u64, nproc: u64, runtime: &Runtime) -> String {
    let name = &runtime.name;
    let mut text = format!(
        "# Written by podspec for its podman target (CONTAINERS_CONF); see ci/podman/README.md.\n\
         [containers]\n\
         default_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n\
         \n\
         [engine]\n\
         runtime = \"{name}\"\n"
    );
    if let Some(path) = &runtime.path {
        // A TOML basic string: the path with its backslashes and quotes escaped.
        let path = path.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
        text.push_str(&format!("\n[engine.runtimes]\n{name} = [\"{path}\"]\n"));
    }
    text
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

/// Writes the file for `runtime` under `dir` (replacing it whole) and returns its path:
/// `containers.conf` for runc by its name, `containers-<name>.conf` for any other.
pub fn write(dir: &Path, runtime: &Runtime) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let file = if *runtime == Runtime::default() { "containers.conf".to_string() } else { format!("containers-{}.conf", runtime.name) };
    let path = dir.join(&file);
    let (nofile, nproc) = machine_limits();
    let tmp = dir.join(format!(".{file}.{}", std::process::id()));
    std::fs::write(&tmp, text(nofile, nproc, runtime))?;
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
        let t = text(20000, 32768, &Runtime::default());
        assert!(t.contains("runtime = \"runc\""), "{t}");
        assert!(!t.contains("[engine.runtimes]"), "{t}");
        assert!(t.contains("\"nofile=20000:20000\", \"nproc=32768:32768\""), "{t}");
    }

    #[test]
    fn a_runtime_is_a_name_or_a_path_listed_by_its_file_name() {
        let crun: Runtime = "crun".parse().unwrap();
        assert_eq!(crun, Runtime { name: "crun".into(), path: None });
        assert!(text(1, 1, &crun).contains("runtime = \"crun\"\n"));
        let wrapped: Runtime = "/opt/x/crun".parse().unwrap();
        assert_eq!(wrapped, Runtime { name: "crun".into(), path: Some("/opt/x/crun".into()) });
        let t = text(1, 1, &wrapped);
        assert!(t.contains("runtime = \"crun\"\n\n[engine.runtimes]\ncrun = [\"/opt/x/crun\"]\n"), "{t}");
        let relative: Runtime = "ci/runtimes/runsc".parse().unwrap();
        assert!(relative.path.as_ref().is_some_and(|p| p.is_absolute() && p.ends_with("ci/runtimes/runsc")), "{relative:?}");
        assert_eq!(relative.name, "runsc");
        assert!("".parse::<Runtime>().is_err());
        assert!("run c".parse::<Runtime>().is_err());
        assert!("/opt/x/".parse::<Runtime>().is_err() || "/opt/x/".parse::<Runtime>().unwrap().name == "x");
        let quoted = Runtime { name: "q".into(), path: Some("/a\"b".into()) };
        assert!(text(1, 1, &quoted).contains("q = [\"/a\\\"b\"]"), "{}", text(1, 1, &quoted));
    }
}
