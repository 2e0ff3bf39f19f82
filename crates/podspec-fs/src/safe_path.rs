//! Paths a container controls, resolved without ever leaving the directory they belong to.
//!
//! A container's root filesystem and its volumes hold whatever links the image or a container
//! put there. Every path podspec resolves under them (a `subPath`, a mount target, the files
//! it binds into a container) goes through `openat2(2)` from a descriptor of that directory:
//!
//! - [`Scope::Beneath`] (`RESOLVE_BENEATH`): a path that would leave the directory, by `..` or
//!   by a link (absolute, or relative and climbing out), is an error (`EXDEV`). A volume's
//!   `subPath` is resolved so: the kubelet refuses one that leaves its volume.
//! - [`Scope::InRoot`] (`RESOLVE_IN_ROOT`): the directory is the root, as it is for the
//!   container: `/` and `..` at the top stay at it, so an absolute link resolves as it would
//!   inside the container. Mount targets in a root filesystem are resolved so, which keeps
//!   images whose paths are links working.
//!
//! Magic links (`/proc/PID/root` and the like) are never followed. What is found is held as an
//! `O_PATH` descriptor, and the mount is made onto `/proc/self/fd/N` of that descriptor, so
//! nothing can be swapped between the check and the use. Missing directories are made one at
//! a time relative to their parent's descriptor (`mkdirat`), files with `O_EXCL|O_NOFOLLOW`.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// How links under the directory resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Never leaving the directory: a path or link that would is an error.
    Beneath,
    /// The directory is the root: a link resolves as it would inside the container.
    InRoot,
}

impl Scope {
    fn flags(self) -> ResolveFlags {
        let scope = match self {
            Scope::Beneath => ResolveFlags::BENEATH,
            Scope::InRoot => ResolveFlags::IN_ROOT,
        };
        scope | ResolveFlags::NO_MAGICLINKS
    }
}

/// The path of a descriptor for the calls that take paths (`mount(2)`): the kernel follows it
/// to the very object the descriptor holds.
pub fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// An `O_PATH` descriptor of a directory of podspec's own (a pod's volume directory, a
/// container's root), the start of every resolution under it.
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(path, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?)
}

/// The normal components of a path under a directory; `..` is refused (no path podspec is
/// given climbs), `.` and a leading `/` are dropped.
fn components(path: &Path) -> io::Result<Vec<&OsStr>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} may not contain '..'", path.display())));
            }
        }
    }
    Ok(out)
}

fn joined<S: AsRef<OsStr>>(components: &[S]) -> PathBuf {
    if components.is_empty() {
        PathBuf::from(".")
    } else {
        components.iter().map(|c| c.as_ref()).collect()
    }
}

fn open_at(dir: BorrowedFd<'_>, path: &Path, flags: OFlags, scope: Scope) -> io::Result<OwnedFd> {
    loop {
        match rustix::fs::openat2(dir, path, flags | OFlags::CLOEXEC, Mode::empty(), scope.flags()) {
            // openat2 asks the caller to try again when a rename elsewhere raced the lookup.
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            r => return Ok(r?),
        }
    }
}

/// An `O_PATH` descriptor of whatever `path` names under `dir` (a link followed in `scope`).
pub fn open_in(dir: impl AsFd, path: &Path, scope: Scope) -> io::Result<OwnedFd> {
    open_at(dir.as_fd(), &joined(&components(path)?), OFlags::PATH, scope)
}

fn open_dir_in<S: AsRef<OsStr>>(dir: BorrowedFd<'_>, components: &[S], scope: Scope) -> io::Result<OwnedFd> {
    open_at(dir, &joined(components), OFlags::PATH | OFlags::DIRECTORY, scope)
}

/// The most links followed while making one path, as the kernel's own limit.
const MAX_LINKS: usize = 40;

/// The path a link leads to, as components under the root: an absolute target starts at the
/// root, a relative one at the link's directory (`prefix`); `..` goes up, never above the
/// root. Only [`Scope::InRoot`] follows links this way, and whatever the result it names a
/// path under the root, which the kernel resolves again.
fn follow(prefix: &[OsString], target: &Path, rest: &[OsString]) -> Vec<OsString> {
    let mut out: Vec<OsString> = if target.is_absolute() { Vec::new() } else { prefix.to_vec() };
    for c in target.components() {
        match c {
            Component::Normal(n) => out.push(n.to_owned()),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out.extend_from_slice(rest);
    out
}

/// What to do with a name that exists but resolves to nothing (a link to a missing path):
/// beneath a directory it is an error, as the kubelet's `SafeMakeDir` has it; in a root, the
/// link is followed and its target made, as a container runtime makes a mount target whose
/// path is a link to a missing file (`/etc/resolv.conf` of many images).
fn dangling(dir: BorrowedFd<'_>, parts: &[OsString], n: usize, scope: Scope, links: &mut usize) -> io::Result<Vec<OsString>> {
    let at = joined(&parts[..=n]);
    let nothing =
        || io::Error::new(io::ErrorKind::NotFound, format!("{} exists but leads to nothing (a link to a missing path)", at.display()));
    if scope == Scope::Beneath {
        return Err(nothing());
    }
    let parent = open_dir_in(dir, &parts[..n], scope)?;
    let target = match rustix::fs::readlinkat(&parent, parts[n].as_os_str(), Vec::new()) {
        Ok(t) => PathBuf::from(OsString::from_vec(t.into_bytes())),
        Err(Errno::INVAL) => return Err(nothing()),
        Err(e) => return Err(e.into()),
    };
    *links += 1;
    if *links > MAX_LINKS {
        return Err(io::Error::other(format!("{}: too many levels of links", at.display())));
    }
    Ok(follow(&parts[..n], &target, &parts[n + 1..]))
}

/// The directory `path` under `dir`, made with `mode` where missing (and its missing parents,
/// with the same mode), as an `O_PATH` descriptor. Each directory is made by `mkdirat` in the
/// descriptor of its parent, which was itself resolved in `scope`: a link planted on the way
/// can only lead elsewhere under `dir`, or (`Beneath`) fail.
pub fn mkdir_all_in(dir: impl AsFd, path: &Path, scope: Scope, mode: u32) -> io::Result<OwnedFd> {
    let dir = dir.as_fd();
    let mut parts: Vec<OsString> = components(path)?.into_iter().map(OsStr::to_owned).collect();
    let mut links = 0;
    // Each round makes one missing directory or follows one link; a few more for directories
    // others make or remove meanwhile.
    for _ in 0..(parts.len() * 2 + 2 * MAX_LINKS + 8) {
        match open_dir_in(dir, &parts, scope) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            r => return r,
        }
        // The longest prefix that exists (the whole path does not, so there is a last part).
        let mut n = parts.len();
        let parent = loop {
            n -= 1;
            match open_dir_in(dir, &parts[..n], scope) {
                Err(e) if e.kind() == io::ErrorKind::NotFound && n > 0 => continue,
                r => break r?,
            }
        };
        match rustix::fs::mkdirat(&parent, parts[n].as_os_str(), Mode::from_raw_mode(mode)) {
            Ok(()) => {
                // The mode as asked, whatever the umask: through a descriptor of the new
                // directory itself, never a link put in its place since.
                let made = rustix::fs::openat(
                    &parent,
                    parts[n].as_os_str(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                rustix::fs::fchmod(&made, Mode::from_raw_mode(mode))?;
            }
            Err(Errno::EXIST) => {
                // Made by another meanwhile, or a name that resolves to nothing.
                match open_dir_in(dir, &parts[..=n], scope) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => parts = dangling(dir, &parts, n, scope, &mut links)?,
                    Err(e) => return Err(e),
                    Ok(_) => {}
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::other(format!("{} keeps changing while it is made", path.display())))
}

/// The file `path` under `dir`, made empty with `mode` where missing (its missing parent
/// directories with mode 0755), as an `O_PATH` descriptor. The file is made with `O_CREAT |
/// O_EXCL | O_NOFOLLOW` in its parent's descriptor: never through a link on the machine.
pub fn ensure_file_in(dir: impl AsFd, path: &Path, scope: Scope, mode: u32) -> io::Result<OwnedFd> {
    let dir = dir.as_fd();
    let mut parts: Vec<OsString> = components(path)?.into_iter().map(OsStr::to_owned).collect();
    let mut links = 0;
    for _ in 0..(2 * MAX_LINKS + 8) {
        let Some((name, parents)) = parts.split_last() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} names no file", path.display())));
        };
        let parent = mkdir_all_in(dir, &joined(parents), scope, 0o755)?;
        match open_at(dir, &joined(&parts), OFlags::PATH, scope) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            r => return r,
        }
        let flags = OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::WRONLY | OFlags::CLOEXEC;
        match rustix::fs::openat(&parent, name.as_os_str(), flags, Mode::from_raw_mode(mode)) {
            Ok(_) => {}
            Err(Errno::EXIST) => {
                if let Err(e) = open_at(dir, &joined(&parts), OFlags::PATH, scope) {
                    if e.kind() != io::ErrorKind::NotFound {
                        return Err(e);
                    }
                    let n = parts.len() - 1;
                    parts = dangling(dir, &parts, n, scope, &mut links)?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::other(format!("{} keeps changing while it is made", path.display())))
}

/// Whether two descriptors hold the same file (device and inode).
pub fn same_file(a: impl AsFd, b: impl AsFd) -> io::Result<bool> {
    let (a, b) = (rustix::fs::fstat(a)?, rustix::fs::fstat(b)?);
    Ok(a.st_dev == b.st_dev && a.st_ino == b.st_ino)
}

/// Whether a descriptor holds a directory.
pub fn is_dir(fd: impl AsFd) -> io::Result<bool> {
    let st = rustix::fs::fstat(fd)?;
    Ok(rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        (t, root, outside)
    }

    #[test]
    fn beneath_refuses_links_out_and_follows_links_within() {
        let (_t, root, outside) = setup();
        symlink("/", root.join("to-slash")).unwrap();
        symlink("../outside", root.join("up")).unwrap();
        symlink(&outside, root.join("abs")).unwrap();
        std::fs::create_dir(root.join("real")).unwrap();
        symlink("real", root.join("within")).unwrap();
        let dir = open_dir(&root).unwrap();
        for bad in ["to-slash", "up", "abs", "to-slash/etc", "up/new/deeper"] {
            let e = open_in(&dir, Path::new(bad), Scope::Beneath).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EXDEV), "{bad}: {e}");
            let e = mkdir_all_in(&dir, Path::new(bad), Scope::Beneath, 0o755).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EXDEV), "{bad}: {e}");
        }
        let fd = mkdir_all_in(&dir, Path::new("within/a/b"), Scope::Beneath, 0o750).unwrap();
        assert!(root.join("real/a/b").is_dir());
        let real = open_dir(&root.join("real/a/b")).unwrap();
        assert!(same_file(&fd, &real).unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(root.join("real/a")).unwrap().permissions().mode() & 0o7777, 0o750);
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing made outside");
    }

    #[test]
    fn in_root_resolves_absolute_links_inside_the_root() {
        let (_t, root, outside) = setup();
        // An image whose /etc/hosts is an absolute link, and a planted link to the machine's /.
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("run")).unwrap();
        symlink("/run/hosts", root.join("etc/hosts")).unwrap();
        std::fs::write(root.join("run/hosts"), "x").unwrap();
        symlink(&outside, root.join("data")).unwrap();
        let dir = open_dir(&root).unwrap();
        let f = ensure_file_in(&dir, Path::new("/etc/hosts"), Scope::InRoot, 0o644).unwrap();
        assert!(same_file(&f, rustix::fs::open(root.join("run/hosts"), OFlags::PATH, Mode::empty()).unwrap()).unwrap());
        // The link's target is taken inside the root: made there, never at the machine's path.
        let inside = root.join(outside.strip_prefix("/").unwrap());
        mkdir_all_in(&dir, Path::new("/data/sub/dir"), Scope::InRoot, 0o755).unwrap();
        ensure_file_in(&dir, Path::new("/data/log"), Scope::InRoot, 0o644).unwrap();
        assert!(inside.join("sub/dir").is_dir() && inside.join("log").is_file());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing made outside");
    }

    #[test]
    fn a_link_to_nothing_is_an_error_and_dot_dot_is_refused() {
        let (_t, root, _outside) = setup();
        symlink("missing", root.join("dangling")).unwrap();
        let dir = open_dir(&root).unwrap();
        let e = mkdir_all_in(&dir, Path::new("dangling"), Scope::Beneath, 0o755).unwrap_err();
        assert!(e.to_string().contains("leads to nothing"), "{e}");
        assert!(!root.join("missing").exists());
        // In a root, the link's target is made, inside the root.
        ensure_file_in(&dir, Path::new("dangling"), Scope::InRoot, 0o644).unwrap();
        assert!(root.join("missing").is_file());
        symlink("/a/../b/c", root.join("dir-link")).unwrap();
        mkdir_all_in(&dir, Path::new("dir-link/d"), Scope::InRoot, 0o755).unwrap();
        assert!(root.join("b/c/d").is_dir());
        symlink("loop", root.join("loop")).unwrap();
        assert!(mkdir_all_in(&dir, Path::new("loop/x"), Scope::InRoot, 0o755).is_err());
        assert_eq!(open_in(&dir, Path::new("a/../b"), Scope::InRoot).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
