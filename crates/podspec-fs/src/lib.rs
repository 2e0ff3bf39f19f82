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

use std::ffi::OsString;
use std::io::Read as _;
use std::os::unix::ffi::OsStringExt as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

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

/// One mount of this process's mount table, `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    /// Where it is mounted: the fifth field, its octal escapes decoded.
    point: PathBuf,
    /// Shared with a peer group (`shared:N` among the optional fields, from the seventh field
    /// to the lone `-`).
    shared: bool,
}

/// This process's mount table, in its order (a mount over another comes after it); None where
/// it cannot be read. Read as bytes: a mount point need not be UTF-8.
fn mount_table() -> Option<Vec<Mount>> {
    std::fs::read("/proc/self/mountinfo").ok().map(|text| parse_mountinfo(&text))
}

fn parse_mountinfo(text: &[u8]) -> Vec<Mount> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let fields: Vec<&[u8]> = line.split(|b| *b == b' ').filter(|f| !f.is_empty()).collect();
            let point = PathBuf::from(OsString::from_vec(unescape(fields.get(4)?)));
            let shared = fields.iter().skip(6).take_while(|f| **f != b"-").any(|f| f.starts_with(b"shared:"));
            Some(Mount { point, shared })
        })
        .collect()
}

/// Decodes the kernel's escapes of a mountinfo field: a backslash and three octal digits stand
/// for that byte (`\040` a space, `\011` a tab, `\012` a newline, `\134` a backslash); any other
/// byte is itself.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field.get(i + 1..i + 4).filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal.map(|d| d.iter().fold(0u16, |n, c| n * 8 + u16::from(c - b'0'))) {
            Some(byte) if byte <= 0xff => {
                out.push(byte as u8);
                i += 4;
            }
            _ => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// Mount points under `dir` in the node's mount table (a run's own tmpfs, or what another party
/// mounted): a directory is only removed after checking, so removal never reaches into a
/// mounted tree.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    points_under(mount_table().unwrap_or_default(), dir)
}

/// The mount points of `table` under `dir`, deepest first.
fn points_under(table: Vec<Mount>, dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = table.into_iter().map(|m| m.point).filter(|m| m.starts_with(dir)).collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found
}

/// Whether a mount made at `dir` would propagate to other mount namespaces: the mount `dir` is
/// on is shared (`shared:N` in `/proc/self/mountinfo`, as `/` is where systemd runs). A copy
/// propagated to a peer or a slave namespace is not unmounted with the original once that is
/// made private, so podspec mounts nothing where this holds. Unknown (no mount table): true.
pub fn mount_propagates(dir: &Path) -> bool {
    match mount_table() {
        Some(table) => mount_propagates_in(&table, dir),
        None => true,
    }
}

fn mount_propagates_in(table: &[Mount], dir: &Path) -> bool {
    // The mount `dir` is on: the deepest mount point above it (the last of equals, mounted over
    // the others).
    let mut on: Option<(usize, bool)> = None;
    for mount in table.iter().filter(|m| dir.starts_with(&m.point)) {
        let depth = mount.point.components().count();
        if on.is_none_or(|(d, _)| depth >= d) {
            on = Some((depth, mount.shared));
        }
    }
    on.is_none_or(|(_, shared)| shared)
}

/// Reads a whole file podspec was given, once it is known to be a regular file: opened without
/// blocking (`O_NONBLOCK`, so a FIFO with no writer does not hold the open), then checked by
/// `fstat` on what was opened, so nothing can be swapped in between. A FIFO, a device, a socket
/// or a directory is refused; the error names the path.
pub fn read_regular_file(path: &Path) -> Result<String, ReadError> {
    read_regular(path).map_err(|error| ReadError { path: path.to_owned(), error })
}

/// A file podspec was given that it could not read, or refused to read: the path, and why in
/// words ([`describe`]).
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", path.display(), describe(error))]
pub struct ReadError {
    pub path: std::path::PathBuf,
    pub error: std::io::Error,
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
        let e = read_regular_file(&fifo).unwrap_err().to_string();
        assert!(e.ends_with("pod.yaml: not a regular file (a FIFO); refused"), "{e}");
        assert!(read_regular_file(Path::new("/dev/zero")).unwrap_err().to_string().contains("(a device)"));
        assert!(read_regular_file(dir.path()).unwrap_err().to_string().contains("(a directory)"));
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
        let table = parse_mountinfo(table.as_bytes());
        assert!(mount_propagates_in(&table, Path::new("/var/lib/podspec/runs")));
        assert!(!mount_propagates_in(&table, Path::new("/run/podspec/runs")));
        assert!(!mount_propagates_in(&table, Path::new("/srv/podspec")), "a slave's own mounts go nowhere");
        assert!(mount_propagates_in(&table, Path::new("/mnt/a b/state")));
        assert!(mount_propagates_in(&[], Path::new("/run/podspec")), "an unknown table is taken as shared");
        // Mounted over: the last mount at a point is the one seen there.
        let over = parse_mountinfo(b"22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw\n30 22 0:30 / / rw - tmpfs tmpfs rw\n");
        assert!(!mount_propagates_in(&over, Path::new("/var/podspec")));
    }

    #[test]
    fn the_mounts_under_a_directory_are_found_deepest_first_with_escapes_decoded() {
        let table = parse_mountinfo(
            br"22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw
50 22 0:50 / /run/x/a\040b rw - tmpfs tmpfs rw
51 50 0:51 / /run/x/a\040b/c\011d rw - tmpfs tmpfs rw
52 22 0:52 / /run/xy rw - tmpfs tmpfs rw
",
        );
        assert_eq!(points_under(table.clone(), Path::new("/run/x")), vec![PathBuf::from("/run/x/a b/c\td"), PathBuf::from("/run/x/a b")]);
        assert_eq!(points_under(table, Path::new("/run/x/a b/c\td")), vec![PathBuf::from("/run/x/a b/c\td")]);
    }

    #[test]
    fn mount_points_have_their_octal_escapes_decoded() {
        assert_eq!(unescape(br"/mnt/a\040b"), b"/mnt/a b");
        assert_eq!(unescape(br"/x\011y\012z\134w"), b"/x\ty\nz\\w");
        // Not an escape: kept as it is (a backslash alone, too few digits, a digit past 7, a
        // value past a byte).
        assert_eq!(unescape(br"/a\b\04"), br"/a\b\04");
        assert_eq!(unescape(br"/a\089"), br"/a\089");
        assert_eq!(unescape(br"/a\777"), br"/a\777");
        // A point that is not UTF-8 is read as its bytes.
        let table =
            parse_mountinfo(b"40 22 0:40 / /mnt/caf\xe9\\040x rw shared:3 - tmpfs tmpfs rw\n41 22 0:41 / /tmp\\134d rw - tmpfs tmpfs rw\n");
        assert_eq!(table[0], Mount { point: PathBuf::from(OsString::from_vec(b"/mnt/caf\xe9 x".to_vec())), shared: true });
        assert_eq!(table[1], Mount { point: PathBuf::from("/tmp\\d"), shared: false });
    }
}
