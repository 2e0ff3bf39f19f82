//! Where podspec keeps things on the machine, and where its helper programs are.
//!
//! - state (per run, removed at its end): `/run/podspec` as root, `$XDG_RUNTIME_DIR/podspec`
//!   (or the temp dir) otherwise; `PODSPEC_STATE_DIR` overrides.
//! - data (built images, kept between runs): `/var/lib/podspec` as root,
//!   `$XDG_DATA_HOME/podspec` or `~/.local/share/podspec` otherwise; `PODSPEC_DATA_DIR` overrides.
//! - helper programs `podspec-shim` and `podspec-agent`: `PODSPEC_SHIM`/`PODSPEC_AGENT`, else
//!   beside the running executable (or one folder up, where cargo puts test binaries).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Paths {
    pub state_dir: PathBuf,
    pub data_dir: PathBuf,
    pub shim: PathBuf,
    pub agent: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot find {program}: looked at {looked}; build it with `cargo build` or set {var}")]
pub struct MissingProgram {
    pub program: &'static str,
    pub looked: String,
    pub var: &'static str,
}

impl Paths {
    pub fn from_env() -> Result<Self, MissingProgram> {
        Ok(Self {
            state_dir: default_state_dir(),
            data_dir: default_data_dir(),
            shim: locate("podspec-shim", "PODSPEC_SHIM")?,
            agent: locate("podspec-agent", "PODSPEC_AGENT")?,
        })
    }
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

pub fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PODSPEC_STATE_DIR") {
        return PathBuf::from(d);
    }
    if is_root() {
        return PathBuf::from("/run/podspec");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) => PathBuf::from(d).join("podspec"),
        None => std::env::temp_dir().join(format!("podspec-{}", rustix::process::getuid().as_raw())),
    }
}

pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PODSPEC_DATA_DIR") {
        return PathBuf::from(d);
    }
    if is_root() {
        return PathBuf::from("/var/lib/podspec");
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(d).join("podspec");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/podspec"),
        None => std::env::temp_dir().join(format!("podspec-data-{}", rustix::process::getuid().as_raw())),
    }
}

fn locate(program: &'static str, var: &'static str) -> Result<PathBuf, MissingProgram> {
    if let Some(p) = std::env::var_os(var) {
        return Ok(PathBuf::from(p));
    }
    let mut looked = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let mut dir: Option<&Path> = exe.parent();
        for _ in 0..2 {
            let Some(d) = dir else { break };
            let candidate = d.join(program);
            if candidate.is_file() {
                return Ok(candidate);
            }
            looked.push(candidate.display().to_string());
            dir = d.parent();
        }
    }
    Err(MissingProgram { program, looked: looked.join(", "), var })
}

pub use crate::private_dir;

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    #[test]
    fn a_private_dir_is_made_0700_and_a_wider_one_is_narrowed() {
        let base = tempfile::tempdir().unwrap();
        let made = base.path().join("a/state");
        private_dir(&made).unwrap();
        assert_eq!(std::fs::metadata(&made).unwrap().mode() & 0o777, 0o700);
        let wide = base.path().join("wide");
        std::fs::create_dir(&wide).unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o777)).unwrap();
        private_dir(&wide).unwrap();
        assert_eq!(std::fs::metadata(&wide).unwrap().mode() & 0o777, 0o700);
        // A link is refused, and its target left as it is.
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&wide, &link).unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = private_dir(&link).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::metadata(&wide).unwrap().mode() & 0o777, 0o755);
    }

    #[test]
    fn a_private_dir_owned_by_another_user_is_refused() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: needs root to make a directory another user owns");
            return;
        }
        let base = tempfile::tempdir().unwrap();
        let theirs = base.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let e = private_dir(&theirs).unwrap_err();
        assert!(e.to_string().contains("owned by uid 65534"), "{e}");
    }
}
