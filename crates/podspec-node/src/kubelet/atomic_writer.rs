//! The kubelet's writer of API-data volumes (downward API, projected; ConfigMap, Secret and
//! ServiceAccount token sources plug in as more payloads), as Kubernetes' AtomicWriter
//! (pkg/volume/util/atomic_writer.go) lays them out:
//!
//! ```text
//! <volume>/..2026_12_06_20_41_07.3841093   the payload, one directory per version
//! <volume>/..data -> ..2026_12_06_20_41_07.3841093
//! <volume>/podname -> ..data/podname       one link per top-level name of the payload
//! ```
//!
//! A new version is written whole into a new timestamped directory, then `..data` is swapped to
//! it by renaming a new link (`..data_tmp`) over it: a reader opening `podname` resolves
//! `..data` once, so it sees the old payload or the new one, never half of either. Then the
//! top-level links the new payload no longer has and the old directory are removed.
//!
//! The input is source-agnostic: relative paths with their bytes and modes. Every path in a
//! payload comes from a manifest (an item's `path`) and is checked as the AtomicWriter checks
//! it (relative, no `..` part, not starting with `..`, names of at most 255 bytes). Everything
//! is made relative to a descriptor of the volume's directory, never following a link in it
//! (`openat` with `O_NOFOLLOW`, directories through `safe_path` beneath the volume): the
//! directory is mounted read-only in containers, and even so nothing found in it is trusted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use podspec_fs::safe_path::{self, Scope};

/// The link to the current version.
pub const DATA_DIR: &str = "..data";
/// The new link, renamed over [`DATA_DIR`].
const NEW_DATA_DIR: &str = "..data_tmp";
const MAX_FILE_NAME: usize = 255;
const MAX_PATH: usize = 4096;

/// One file of a payload: its bytes and its mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProjection {
    pub data: Vec<u8>,
    pub mode: u32,
    /// The file's owner, when not the kubelet's (a ServiceAccount token for pods that run as
    /// one user: the kubelet's FsUser).
    pub fs_user: Option<u32>,
}

/// What a volume holds: each file by its path relative to the volume.
pub type Payload = BTreeMap<String, FileProjection>;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("invalid path: {0}")]
    InvalidPath(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> WriteError {
    let what = what.into();
    move |source| WriteError::Io { what, source }
}

fn errno(what: impl Into<String>) -> impl FnOnce(Errno) -> WriteError {
    let what = what.into();
    move |e| WriteError::Io { what, source: e.into() }
}

/// The AtomicWriter's `validatePath`: not empty, relative, at most 4096 bytes, no `..` part,
/// names of at most 255 bytes, not starting with `..`.
pub fn validate_path(path: &str) -> Result<(), WriteError> {
    if path.is_empty() {
        return Err(WriteError::InvalidPath(format!("must not be empty: {path:?}")));
    }
    if path.starts_with('/') {
        return Err(WriteError::InvalidPath(format!("must be relative path: {path}")));
    }
    if path.len() > MAX_PATH {
        return Err(WriteError::InvalidPath(format!("must be less than or equal to {MAX_PATH} characters")));
    }
    let items: Vec<&str> = path.split('/').collect();
    for item in &items {
        if *item == ".." {
            return Err(WriteError::InvalidPath(format!("must not contain '..': {path}")));
        }
        if item.len() > MAX_FILE_NAME {
            return Err(WriteError::InvalidPath(format!("filenames must be less than or equal to {MAX_FILE_NAME} characters")));
        }
    }
    if items[0].starts_with("..") && items[0].len() > 2 {
        return Err(WriteError::InvalidPath(format!("must not start with '..': {path}")));
    }
    Ok(())
}

/// A payload path made clean (`filepath.Clean`: no empty or `.` parts); validated first.
fn clean(path: &str) -> Result<String, WriteError> {
    validate_path(path)?;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() {
        return Err(WriteError::InvalidPath(format!("names no file: {path:?}")));
    }
    Ok(parts.join("/"))
}

/// Who the files belong to and how they may be read: with `fs_group`, every file and directory
/// of the payload (and the volume's directory) gets that group and the group may read them
/// (files at least `0440`, directories set-group-ID and `0550` more), as the kubelet's
/// `SetVolumeOwnership` does for a read-only volume.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ownership {
    pub fs_group: Option<u32>,
}

/// Writes `payload` into the volume directory `dir` (which must exist), as a new version if it
/// differs from the current one. Returns whether anything was written.
pub fn write(dir: &Path, payload: &Payload, owner: Ownership) -> Result<bool, WriteError> {
    let mut clean_payload = Payload::new();
    for (path, file) in payload {
        clean_payload.insert(clean(path)?, file.clone());
    }
    let payload = clean_payload;
    let root = safe_path::open_dir(dir).map_err(io_err(format!("open volume directory {}", dir.display())))?;
    let root = root.as_fd();

    // The current version, if any.
    let old = match rustix::fs::readlinkat(root, DATA_DIR, Vec::new()) {
        Ok(target) => {
            let name = target.to_string_lossy().into_owned();
            // Only a name of the writer's own: a timestamped directory beside the link.
            if !name.starts_with("..") || name.contains('/') || name == DATA_DIR || name == ".." {
                return Err(WriteError::Io {
                    what: format!("{DATA_DIR} in {}", dir.display()),
                    source: io::Error::other(format!("leads to {name:?}, not a version of the writer's")),
                });
            }
            Some(name)
        }
        Err(Errno::NOENT) => None,
        Err(e) => return Err(errno(format!("read link {DATA_DIR} in {}", dir.display()))(e)),
    };

    let mut to_remove = BTreeSet::new();
    if let Some(old) = &old {
        let old_dir = safe_path::open_in(root, Path::new(old), Scope::Beneath).map_err(io_err(format!("open {old}")))?;
        let mut existing = BTreeSet::new();
        walk(old_dir.as_fd(), "", &mut existing).map_err(io_err(format!("list {old}")))?;
        let mut wanted = BTreeSet::new();
        for path in payload.keys() {
            let mut p = path.as_str();
            loop {
                wanted.insert(p.to_string());
                match p.rfind('/') {
                    Some(i) => p = &p[..i],
                    None => break,
                }
            }
        }
        to_remove = existing.difference(&wanted).cloned().collect();
        let mut changed = false;
        for (path, file) in &payload {
            if read_file(old_dir.as_fd(), path).map_err(io_err(format!("read {old}/{path}")))?.as_deref() != Some(&file.data[..]) {
                changed = true;
                break;
            }
        }
        if !changed && to_remove.is_empty() {
            return Ok(false);
        }
    }

    // A new timestamped directory, with the payload.
    let (ts_name, ts_dir) = new_timestamp_dir(root).map_err(io_err(format!("make a version directory in {}", dir.display())))?;
    let written = write_payload(ts_dir.as_fd(), &payload).and_then(|()| match owner.fs_group {
        Some(gid) => {
            set_group(root, gid)?;
            set_group_tree(ts_dir.as_fd(), gid)
        }
        None => Ok(()),
    });
    if let Err(e) = written {
        let _ = remove_all_at(root, &ts_name);
        return Err(WriteError::Io { what: format!("write the payload into {ts_name}"), source: e });
    }

    // The top-level links, through ..data.
    let mut top: BTreeSet<&str> = BTreeSet::new();
    for path in payload.keys() {
        top.insert(path.split('/').next().expect("a clean path has a first part"));
    }
    for name in top {
        match rustix::fs::readlinkat(root, name, Vec::new()) {
            Ok(_) => {}
            Err(Errno::NOENT) => {
                rustix::fs::symlinkat(format!("{DATA_DIR}/{name}"), root, name).map_err(errno(format!("link {name}")))?;
                if let Some(gid) = owner.fs_group {
                    let _ = rustix::fs::chownat(root, name, None, Some(rustix::fs::Gid::from_raw(gid)), AtFlags::SYMLINK_NOFOLLOW);
                }
            }
            // A name the writer did not make (not a link): never replaced.
            Err(e) => return Err(errno(format!("{name} in {}", dir.display()))(e)),
        }
    }

    // The swap: a new link renamed over ..data, at once.
    match rustix::fs::unlinkat(root, NEW_DATA_DIR, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(errno(format!("remove a stale {NEW_DATA_DIR}"))(e)),
    }
    if let Err(e) = rustix::fs::symlinkat(ts_name.as_str(), root, NEW_DATA_DIR) {
        let _ = remove_all_at(root, &ts_name);
        return Err(errno(format!("link {NEW_DATA_DIR}"))(e));
    }
    if let Err(e) = rustix::fs::renameat(root, NEW_DATA_DIR, root, DATA_DIR) {
        let _ = rustix::fs::unlinkat(root, NEW_DATA_DIR, AtFlags::empty());
        let _ = remove_all_at(root, &ts_name);
        return Err(errno(format!("rename {NEW_DATA_DIR} to {DATA_DIR}"))(e));
    }

    // What the old version had and this one has not: its top-level links, then the old
    // directory itself.
    for p in to_remove.iter().filter(|p| !p.contains('/')) {
        match rustix::fs::unlinkat(root, p.as_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(errno(format!("remove the old link {p}"))(e)),
        }
    }
    if let Some(old) = old {
        remove_all_at(root, &old).map_err(io_err(format!("remove the old version {old}")))?;
    }
    Ok(true)
}

/// The payload the volume holds now (through `..data`), for checks.
#[cfg(test)]
pub fn read(dir: &Path) -> io::Result<Payload> {
    let root = safe_path::open_dir(dir)?;
    let data = safe_path::open_in(&root, Path::new(DATA_DIR), Scope::Beneath)?;
    let mut paths = BTreeSet::new();
    walk(data.as_fd(), "", &mut paths)?;
    let mut out = Payload::new();
    for p in paths {
        let fd = safe_path::open_in(&data, Path::new(&p), Scope::Beneath)?;
        if safe_path::is_dir(&fd)? {
            continue;
        }
        let mode = rustix::fs::fstat(&fd)?.st_mode & 0o7777;
        let data = read_file(data.as_fd(), &p)?.unwrap_or_default();
        out.insert(p, FileProjection { data, mode, fs_user: None });
    }
    Ok(out)
}

/// A directory's entries, recursively, as paths relative to it (`a`, `a/b`); links are listed,
/// never followed.
fn walk(dir: BorrowedFd<'_>, prefix: &str, out: &mut BTreeSet<String>) -> io::Result<()> {
    let fd = rustix::fs::openat(dir, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    for entry in rustix::fs::Dir::read_from(&fd)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        out.insert(path.clone());
        if entry.file_type() == rustix::fs::FileType::Directory {
            let sub = rustix::fs::openat(
                &fd,
                name.as_str(),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            walk(sub.as_fd(), &path, out)?;
        }
    }
    Ok(())
}

/// A regular file's bytes under `dir` (never through a link); `None` when it is missing.
fn read_file(dir: BorrowedFd<'_>, path: &str) -> io::Result<Option<Vec<u8>>> {
    let (parent, name) = match path.rsplit_once('/') {
        Some((parent, name)) => (Some(parent), name),
        None => (None, path),
    };
    let parent_fd = match parent {
        Some(p) => match safe_path::open_in(dir, Path::new(p), Scope::Beneath) {
            Ok(fd) => Some(fd),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        },
        None => None,
    };
    let parent = parent_fd.as_ref().map(|f| f.as_fd()).unwrap_or(dir);
    match rustix::fs::openat(parent, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => {
            let mut buf = Vec::new();
            std::fs::File::from(fd).read_to_end(&mut buf)?;
            Ok(Some(buf))
        }
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `..YYYY_MM_DD_HH_MM_SS.<digits>` (UTC), made with mode 0755 whatever the umask.
fn new_timestamp_dir(root: BorrowedFd<'_>) -> io::Result<(String, OwnedFd)> {
    let stamp = jiff::Timestamp::now().strftime("..%Y_%m_%d_%H_%M_%S.").to_string();
    for _ in 0..100 {
        let name = format!("{stamp}{}", podspec_api::random::u64() % 1_000_000_000);
        match rustix::fs::mkdirat(root, name.as_str(), Mode::from_raw_mode(0o700)) {
            Ok(()) => {
                let fd = rustix::fs::openat(
                    root,
                    name.as_str(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o755))?;
                return Ok((name, fd));
            }
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::other("no free name for a new version directory"))
}

/// Each file made new (`O_EXCL|O_NOFOLLOW`) with its mode exactly, its directories 0755.
fn write_payload(ts_dir: BorrowedFd<'_>, payload: &Payload) -> io::Result<()> {
    for (path, file) in payload {
        let (parent, name) = match path.rsplit_once('/') {
            Some((parent, name)) => (Some(safe_path::mkdir_all_in(ts_dir, Path::new(parent), Scope::Beneath, 0o755)?), name),
            None => (None, path.as_str()),
        };
        let parent_fd = parent.as_ref().map(|f| f.as_fd()).unwrap_or(ts_dir);
        let flags = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(parent_fd, name, flags, Mode::from_raw_mode(file.mode & 0o7777))?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(file.mode & 0o7777))?;
        if let Some(uid) = file.fs_user {
            rustix::fs::fchown(&fd, Some(rustix::fs::Uid::from_raw(uid)), None)?;
        }
        let mut f = std::fs::File::from(fd);
        f.write_all(&file.data)?;
    }
    Ok(())
}

/// The group and its read bits on one file or directory (held by `fd`).
fn set_group_fd(fd: BorrowedFd<'_>, gid: u32) -> io::Result<()> {
    rustix::fs::fchown(fd, None, Some(rustix::fs::Gid::from_raw(gid)))?;
    let mode = rustix::fs::fstat(fd)?.st_mode;
    let is_dir = mode & libc::S_IFMT == libc::S_IFDIR;
    let mut mask = 0o440;
    if is_dir {
        mask |= 0o2000 | 0o110;
    }
    rustix::fs::fchmod(fd, Mode::from_raw_mode((mode & 0o7777) | mask))?;
    Ok(())
}

/// [`set_group_fd`] on the directory `dir` itself.
fn set_group(dir: BorrowedFd<'_>, gid: u32) -> io::Result<()> {
    let fd = rustix::fs::openat(dir, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    set_group_fd(fd.as_fd(), gid)
}

/// [`set_group_fd`] on a directory and everything under it; a link gets the group only (it is
/// never followed).
fn set_group_tree(dir: BorrowedFd<'_>, gid: u32) -> io::Result<()> {
    set_group(dir, gid)?;
    let mut paths = BTreeSet::new();
    walk(dir, "", &mut paths)?;
    for p in paths {
        let (parent, name) = match p.rsplit_once('/') {
            Some((parent, name)) => (Some(safe_path::open_in(dir, Path::new(parent), Scope::Beneath)?), name),
            None => (None, p.as_str()),
        };
        let parent = parent.as_ref().map(|f| f.as_fd()).unwrap_or(dir);
        let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            rustix::fs::chownat(parent, name, None, Some(rustix::fs::Gid::from_raw(gid)), AtFlags::SYMLINK_NOFOLLOW)?;
            continue;
        }
        let fd = rustix::fs::openat(parent, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC, Mode::empty())?;
        set_group_fd(fd.as_fd(), gid)?;
    }
    Ok(())
}

/// Removes `name` under `dir` and everything in it, never following a link.
fn remove_all_at(dir: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        Err(e) => return Err(e.into()),
    }
    let sub = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    let names: Vec<String> = rustix::fs::Dir::read_from(&sub)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    for n in names {
        remove_all_at(sub.as_fd(), &n)?;
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;

    fn file(data: &str, mode: u32) -> FileProjection {
        FileProjection { data: data.as_bytes().to_vec(), mode, fs_user: None }
    }

    fn payload(items: &[(&str, &str, u32)]) -> Payload {
        items.iter().map(|(p, d, m)| (p.to_string(), file(d, *m))).collect()
    }

    #[test]
    fn paths_are_checked_as_the_atomic_writer_checks_them() {
        for good in ["podname", "a/b/c", "x..y", ".hidden", "a/..b", "./a"] {
            assert!(validate_path(good).is_ok(), "{good}");
        }
        for (bad, says) in [
            ("", "must not be empty"),
            ("/etc/passwd", "must be relative path"),
            ("../x", "must not contain '..'"),
            ("a/../../x", "must not contain '..'"),
            ("..data", "must not start with '..'"),
            ("..2026_01_01/x", "must not start with '..'"),
        ] {
            let e = validate_path(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(validate_path(&"a".repeat(256)).is_err());
        assert!(validate_path(&format!("{}/b", "a".repeat(255))).is_ok());
    }

    #[test]
    fn a_payload_is_a_timestamped_directory_behind_data_with_a_link_per_top_level_name() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path();
        let p = payload(&[("podname", "web", 0o644), ("sub/labels", "a=\"b\"", 0o400)]);
        assert!(write(dir, &p, Ownership::default()).unwrap());
        let data = std::fs::read_link(dir.join("..data")).unwrap();
        let name = data.to_str().unwrap();
        assert!(name.starts_with(".."), "{name}");
        let stamp = &name[2..21];
        assert!(jiff::civil::DateTime::strptime("%Y_%m_%d_%H_%M_%S", stamp).is_ok(), "{name}");
        assert_eq!(std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o7777, 0o755);
        assert_eq!(std::fs::read_link(dir.join("podname")).unwrap(), Path::new("..data/podname"));
        assert_eq!(std::fs::read_link(dir.join("sub")).unwrap(), Path::new("..data/sub"));
        assert_eq!(std::fs::read_to_string(dir.join("podname")).unwrap(), "web");
        assert_eq!(std::fs::read_to_string(dir.join("sub/labels")).unwrap(), "a=\"b\"");
        assert_eq!(std::fs::metadata(dir.join("sub/labels")).unwrap().permissions().mode() & 0o7777, 0o400);
        assert_eq!(std::fs::metadata(dir.join("podname")).unwrap().permissions().mode() & 0o7777, 0o644);
        assert_eq!(read(dir).unwrap(), p);
        // The same payload again: nothing written.
        assert!(!write(dir, &p, Ownership::default()).unwrap());
        assert_eq!(std::fs::read_link(dir.join("..data")).unwrap(), data);
    }

    #[test]
    fn a_new_version_replaces_the_old_and_drops_what_it_no_longer_has() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path();
        write(dir, &payload(&[("labels", "a=\"1\"", 0o644), ("gone", "x", 0o644)]), Ownership::default()).unwrap();
        let old = std::fs::read_link(dir.join("..data")).unwrap();
        // A reader holding the old file keeps reading it whole.
        let mut held = std::fs::File::open(dir.join("labels")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(write(dir, &payload(&[("labels", "a=\"1\"\nb=\"2\"", 0o644)]), Ownership::default()).unwrap());
        let new = std::fs::read_link(dir.join("..data")).unwrap();
        assert_ne!(old, new);
        assert!(!dir.join(&old).exists(), "the old version is removed");
        assert!(std::fs::symlink_metadata(dir.join("gone")).is_err(), "its link is removed");
        assert_eq!(std::fs::read_to_string(dir.join("labels")).unwrap(), "a=\"1\"\nb=\"2\"");
        let mut s = String::new();
        held.read_to_string(&mut s).unwrap();
        assert_eq!(s, "a=\"1\"");
        let names: BTreeSet<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names, [new.to_str().unwrap().to_string(), "..data".into(), "labels".into()].into_iter().collect());
    }

    #[test]
    fn a_reader_never_sees_half_a_payload() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().to_path_buf();
        let version = |n: usize| payload(&[("a", &format!("{n}"), 0o644), ("b/c", &format!("{n}"), 0o644)]);
        write(&dir, &version(0), Ownership::default()).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (dir, stop) = (dir.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    // Both files through one resolution of ..data, as a reader of the volume
                    // that opens the directory once.
                    let Ok(data) = std::fs::canonicalize(dir.join("..data")) else { continue };
                    let (a, c) = (std::fs::read_to_string(data.join("a")), std::fs::read_to_string(data.join("b/c")));
                    if let (Ok(a), Ok(c)) = (a, c) {
                        assert_eq!(a, c, "one version's files");
                        reads += 1;
                    }
                    // Through the top-level link, each file is always whole.
                    // (An open may still find the old version gone under it: missing, never
                    // partial.)
                    if let Ok(a) = std::fs::read_to_string(dir.join("a")) {
                        assert!(a.parse::<usize>().is_ok(), "{a:?}");
                    }
                }
                reads
            })
        };
        for n in 1..200 {
            write(&dir, &version(n), Ownership::default()).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0);
    }

    #[test]
    fn with_an_fs_group_the_group_owns_and_reads_everything() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("not root: changing a file's group is not tried");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let dir = t.path();
        write(dir, &payload(&[("podname", "web", 0o400), ("d/x", "y", 0o600)]), Ownership { fs_group: Some(1234) }).unwrap();
        let meta = std::fs::metadata(dir.join("podname")).unwrap();
        assert_eq!((meta.gid(), meta.mode() & 0o7777), (1234, 0o440));
        let meta = std::fs::metadata(dir.join("d/x")).unwrap();
        assert_eq!((meta.gid(), meta.mode() & 0o7777), (1234, 0o640));
        let meta = std::fs::metadata(dir.join("d")).unwrap();
        assert_eq!((meta.gid(), meta.mode() & 0o7777), (1234, 0o2755));
        assert_eq!(std::fs::symlink_metadata(dir.join("podname")).unwrap().gid(), 1234);
    }

    #[test]
    fn a_planted_link_is_never_followed() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("vol");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        // ..data leading out of the volume: refused, nothing read or written there.
        std::os::unix::fs::symlink(&outside, dir.join("..data")).unwrap();
        assert!(write(&dir, &payload(&[("a", "x", 0o644)]), Ownership::default()).is_err());
        std::fs::remove_file(dir.join("..data")).unwrap();
        // A top-level name someone else made a link out: the payload is never written through it.
        std::os::unix::fs::symlink(outside.join("a"), dir.join("a")).unwrap();
        write(&dir, &payload(&[("a", "x", 0o644)]), Ownership::default()).unwrap();
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing made outside");
        assert!(write(&dir, &payload(&[("../x", "x", 0o644)]), Ownership::default()).is_err());
    }
}
