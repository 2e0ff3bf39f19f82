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
    nix::unistd::geteuid().is_root()
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
        None => std::env::temp_dir().join(format!("podspec-{}", nix::unistd::getuid())),
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
        None => std::env::temp_dir().join(format!("podspec-data-{}", nix::unistd::getuid())),
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

/// Makes `dir` (and any missing parent) and closes it to every user but podspec's own: made
/// here, it is created 0700; an existing one wider than that is narrowed to 0700; one that is
/// a symbolic link, or is owned by another user, is refused. For the roots of the state and
/// data trees: what lies under them keeps the modes Kubernetes gives it (a container sees its
/// emptyDir as 0777), but no other local user can reach any of it.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    // The directory itself, never a link's target: the checks and the chmod apply to what
    // was opened.
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => {
                std::io::Error::other(format!("{} is not a directory of podspec's own (a symbolic link or a file); refused", dir.display()))
            }
            _ => e,
        })?;
    let meta = opened.metadata()?;
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(std::io::Error::other(format!(
            "{} is owned by uid {}, not by podspec's user (uid {me}); refused (remove it, or choose another directory)",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        opened.set_permissions(std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

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
        if !nix::unistd::geteuid().is_root() {
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
