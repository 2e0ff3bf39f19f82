//! The kubeconfig serve writes (it holds the token), written so that no local user can read it
//! or make serve write it elsewhere: a new file in the target directory (`O_CREAT|O_EXCL|
//! O_NOFOLLOW|O_CLOEXEC`, mode 0600 set with fchmod whatever the umask), renamed into place.
//! A path that already names something is replaced only when it is a regular file of this user
//! that podspec wrote (a kubeconfig with podspec's context); a symbolic link, another user's
//! file, a directory or any other file is refused, and never followed or written through. On
//! stop, the file is removed only while the path still names the file serve wrote.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rand::Rng as _;

#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("{0} is a symbolic link; podspec does not write the kubeconfig through a link (remove it or choose another path)")]
    Link(PathBuf),
    #[error("{0} exists and is not a regular file")]
    NotAFile(PathBuf),
    #[error("{path} belongs to uid {owner}, not to this user ({me}); podspec does not replace another user's file")]
    NotOurs { path: PathBuf, owner: u32, me: u32 },
    #[error("{0} exists and is not a kubeconfig podspec wrote; podspec does not replace it (remove it or choose another path)")]
    Foreign(PathBuf),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// On stop: the path names another file than the one serve wrote, which stays.
    #[error("{0} is no longer the kubeconfig serve wrote; left as it is")]
    Replaced(PathBuf),
    /// On stop: the written file could not be looked at or removed.
    #[error(transparent)]
    Remove(std::io::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KubeconfigError + '_ {
    move |source| KubeconfigError::Io { path: path.to_path_buf(), source }
}

/// A kubeconfig written by [`write`]: its path and the file it is.
#[derive(Debug)]
pub struct Written {
    pub path: PathBuf,
    dev: u64,
    ino: u64,
}

/// The largest file checked for being podspec's own kubeconfig.
const MAX_OWN: u64 = 64 * 1024;

/// Whether `path` may be written: it names nothing, or a kubeconfig podspec wrote, as a regular
/// file of this user.
pub fn check(path: &Path) -> Result<(), KubeconfigError> {
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other.map_err(io(path))?,
    };
    if meta.file_type().is_symlink() {
        return Err(KubeconfigError::Link(path.to_path_buf()));
    }
    if !meta.file_type().is_file() {
        return Err(KubeconfigError::NotAFile(path.to_path_buf()));
    }
    let me = nix::unistd::Uid::effective().as_raw();
    if meta.uid() != me {
        return Err(KubeconfigError::NotOurs { path: path.to_path_buf(), owner: meta.uid(), me });
    }
    if meta.len() > MAX_OWN {
        return Err(KubeconfigError::Foreign(path.to_path_buf()));
    }
    // Read without following a link or blocking, in case the path changed since the look above.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(io(path))?;
    let mut text = String::new();
    (&mut file).take(MAX_OWN).read_to_string(&mut text).map_err(|_| KubeconfigError::Foreign(path.to_path_buf()))?;
    if !is_podspecs(&text) {
        return Err(KubeconfigError::Foreign(path.to_path_buf()));
    }
    Ok(())
}

/// Whether a kubeconfig is one `tls::kubeconfig` wrote: a Config whose cluster, user and
/// current context are all `podspec`.
fn is_podspecs(text: &str) -> bool {
    let Ok(doc) = serde_yaml::from_str::<serde_json::Value>(text) else { return false };
    let named = |list: &str| doc[list].as_array().is_some_and(|l| l.len() == 1 && l[0]["name"] == "podspec");
    doc["kind"] == "Config" && doc["current-context"] == "podspec" && named("clusters") && named("users") && named("contexts")
}

/// Writes `text` at `path` as described above.
pub fn write(path: &Path, text: &str) -> Result<Written, KubeconfigError> {
    check(path)?;
    let name = path.file_name().ok_or_else(|| KubeconfigError::NotAFile(path.to_path_buf()))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let suffix: u64 = rand::rng().random();
    let temp = dir.join(format!(".{}.podspec-{suffix:016x}", name.to_string_lossy()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&temp)
        .map_err(io(&temp))?;
    let written = (|| {
        // The umask may have narrowed the mode; 0600 exactly.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        let meta = file.metadata()?;
        // rename replaces a link at `path` itself, never its target.
        std::fs::rename(&temp, path)?;
        Ok(Written { path: path.to_path_buf(), dev: meta.dev(), ino: meta.ino() })
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io(path)(e)
    })
}

impl Written {
    /// Removes the file if the path still names the file written; says why not otherwise.
    pub fn remove(&self) -> Result<(), KubeconfigError> {
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => std::fs::remove_file(&self.path).map_err(KubeconfigError::Remove),
            Ok(_) => Err(KubeconfigError::Replaced(self.path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(KubeconfigError::Remove(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On stop, a path that by then names another file is left as it is, and the error says
    /// so; a file already gone is no error.
    #[test]
    fn removing_leaves_a_replaced_file_and_says_so() {
        let dir = std::env::temp_dir().join(format!("podspec-kubeconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config");
        let written = write(&path, "kind: Config\n").unwrap();
        // Made while the written file still is, so that it is another file (not its inode again).
        std::fs::write(dir.join("other"), "someone else's\n").unwrap();
        std::fs::rename(dir.join("other"), &path).unwrap();
        let e = written.remove().unwrap_err();
        assert!(matches!(&e, KubeconfigError::Replaced(p) if *p == path), "{e:?}");
        assert_eq!(e.to_string(), format!("{} is no longer the kubeconfig serve wrote; left as it is", path.display()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's\n");
        std::fs::remove_file(&path).unwrap();
        assert!(written.remove().is_ok());
        std::fs::remove_dir(&dir).unwrap();
    }
}
