//! The file system as podspec meets it, where another party may have put something in the way.
//!
//! - Reading the files podspec is given (a fixture, a manifest, a baseline, a report): a file is
//!   read only once it is known to be a regular file, so that a FIFO or a device named as one is
//!   refused at once, never opened for a read that could block.
//! - [`safe_path`]: paths a container controls, resolved inside their directory.
//! - [`private_dir`]: the roots of podspec's own trees, which no other local user may reach.
//! - [`paths`]: where those trees are, and where podspec's helper programs are.
//! - [`mounts_under`]: what is mounted in a tree, checked before it is removed.

#![forbid(unsafe_code)]

pub mod paths;
pub mod safe_path;

use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

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
    let me = rustix::process::geteuid().as_raw();
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

/// Mount points under `dir` in the node's mount table (a run's own tmpfs, or what another party
/// mounted): a directory is only removed after checking, so removal never reaches into a
/// mounted tree.
pub fn mounts_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else { return Vec::new() };
    let mut found: Vec<std::path::PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(|m| std::path::PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect();
    // Deepest first.
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found
}

/// Whether a mount made at `dir` would propagate to other mount namespaces: the mount `dir` is
/// on is shared (`shared:N` in `/proc/self/mountinfo`, as `/` is where systemd runs). A copy
/// propagated to a peer or a slave namespace is not unmounted with the original once that is
/// made private, so podspec mounts nothing where this holds. Unknown (no mount table): true.
pub fn mount_propagates(dir: &Path) -> bool {
    match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(text) => mount_propagates_in(&text, dir),
        Err(_) => true,
    }
}

fn mount_propagates_in(mountinfo: &str, dir: &Path) -> bool {
    // The mount `dir` is on: the deepest mount point above it (the last of equals, mounted over
    // the others).
    let mut on: Option<(usize, bool)> = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(point) = fields.get(4) else { continue };
        let point = std::path::PathBuf::from(point.replace("\\040", " "));
        if !dir.starts_with(&point) {
            continue;
        }
        let depth = point.components().count();
        // Optional fields run from the seventh to the lone "-".
        let shared = fields.iter().skip(6).take_while(|f| **f != "-").any(|f| f.starts_with("shared:"));
        if on.is_none_or(|(d, _)| depth >= d) {
            on = Some((depth, shared));
        }
    }
    on.is_none_or(|(_, shared)| shared)
}

/// Reads a whole file podspec was given, once it is known to be a regular file: opened without
/// blocking (`O_NONBLOCK`, so a FIFO with no writer does not hold the open), then checked by
/// `fstat` on what was opened, so nothing can be swapped in between. A FIFO, a device, a socket
/// or a directory is refused; the error names the path.
pub fn read_regular_file(path: &Path) -> Result<String, String> {
    read_regular(path).map_err(|e| format!("{}: {}", path.display(), describe(&e)))
}

/// As [`read_regular_file`], with the error as an I/O error that does not name the path
/// (for callers whose errors name it).
pub fn read_regular(path: &Path) -> std::io::Result<String> {
    let mut file = open_regular(path)?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// Fails, without blocking, unless `path` is a regular file (links followed).
pub fn check_regular(path: &Path) -> std::io::Result<()> {
    open_regular(path).map(drop)
}

fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({}); refused", kind_of(&meta.file_type())),
        ));
    }
    Ok(file)
}

/// An I/O error in words: a refusal as it is, anything else as "cannot read: ...".
pub fn describe(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::InvalidInput {
        e.to_string()
    } else {
        format!("cannot read: {e}")
    }
}

/// What a file that is not a regular one is, in words.
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pod.yaml");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let e = read_regular_file(&fifo).unwrap_err();
        assert!(e.ends_with("pod.yaml: not a regular file (a FIFO); refused"), "{e}");
        assert!(read_regular_file(Path::new("/dev/zero")).unwrap_err().contains("(a device)"));
        assert!(read_regular_file(dir.path()).unwrap_err().contains("(a directory)"));
        std::fs::write(dir.path().join("ok.yaml"), "a: 1\n").unwrap();
        assert_eq!(read_regular_file(&dir.path().join("ok.yaml")).unwrap(), "a: 1\n");
    }

    #[test]
    fn a_mount_propagates_where_the_mount_below_it_is_shared() {
        // `/` shared (as systemd makes it), `/run` a private tmpfs, `/srv` a slave.
        let table = "\
22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda rw
23 22 0:22 / /run rw,nosuid - tmpfs tmpfs rw
24 22 0:23 / /srv rw master:1 - ext4 /dev/vdb rw
25 22 0:24 / /mnt/a\\040b rw shared:7 - ext4 /dev/vdc rw
";
        assert!(mount_propagates_in(table, Path::new("/var/lib/podspec/runs")));
        assert!(!mount_propagates_in(table, Path::new("/run/podspec/runs")));
        assert!(!mount_propagates_in(table, Path::new("/srv/podspec")), "a slave's own mounts go nowhere");
        assert!(mount_propagates_in(table, Path::new("/mnt/a b/state")));
        assert!(mount_propagates_in("", Path::new("/run/podspec")), "an unknown table is taken as shared");
        // Mounted over: the last mount at a point is the one seen there.
        let over = "22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw\n30 22 0:30 / / rw - tmpfs tmpfs rw\n";
        assert!(!mount_propagates_in(over, Path::new("/var/podspec")));
    }
}
