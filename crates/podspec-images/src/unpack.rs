//! Unpacking an image layer (a tar stream) into a root filesystem being built, never leaving it.
//!
//! A layer comes from a registry: every name and link in it is hostile. Each entry's parent
//! directory is resolved (and made) from a descriptor of the root with `RESOLVE_BENEATH`
//! (`safe_path`): a `..`, an absolute link, or a link that a previous entry planted and that
//! climbs out is an error naming the entry, never a write elsewhere. The entry itself is made
//! with the `*at` calls relative to that directory, `O_NOFOLLOW` and `O_EXCL`, so a link of the
//! same name is replaced, never written through. A hard link's source is resolved the same way.
//! Whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove what lower layers put there, as the OCI image
//! layer specification says.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use podspec_fs::safe_path::{self, Scope};

/// The opaque-directory whiteout: the directory's lower content is gone.
const OPAQUE: &str = ".wh..wh..opq";
const WHITEOUT: &str = ".wh.";

/// Unpacks one uncompressed layer into `root`. Ownership is kept (podspec runs as root), so is
/// each entry's mode, setuid bits included.
pub fn unpack_layer(root: &Path, layer: impl Read) -> io::Result<()> {
    let root_fd = safe_path::open_dir(root)?;
    let mut archive = tar::Archive::new(layer);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        unpack_entry(&root_fd, &path, &mut entry).map_err(|e| io::Error::new(e.kind(), format!("layer entry {}: {e}", path.display())))?;
    }
    Ok(())
}

/// The entry's path as normal components; `..` is refused, `/` and `.` are dropped.
fn path_parts(path: &Path) -> io::Result<Vec<OsString>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_owned()),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "a layer's path may not contain '..'"));
            }
        }
    }
    Ok(out)
}

fn split(parts: &[OsString]) -> Option<(PathBuf, &OsStr)> {
    let (name, parent) = parts.split_last()?;
    Some((parent.iter().collect(), name.as_os_str()))
}

fn unpack_entry<R: Read>(root: &OwnedFd, path: &Path, entry: &mut tar::Entry<'_, R>) -> io::Result<()> {
    let header = entry.header().clone();
    let kind = header.entry_type();
    if matches!(kind, tar::EntryType::XGlobalHeader | tar::EntryType::XHeader) {
        return Ok(());
    }
    let parts = path_parts(path)?;
    let Some((parent_path, name)) = split(&parts) else {
        // The root itself ("./"): it is podspec's own directory.
        return Ok(());
    };
    let parent = safe_path::mkdir_all_in(root, &parent_path, Scope::Beneath, 0o755)?;
    let name_bytes = name.as_bytes();
    if name_bytes == OPAQUE.as_bytes() {
        return clear_dir(&parent);
    }
    if let Some(hidden) = name_bytes.strip_prefix(WHITEOUT.as_bytes()) {
        return remove(&parent, OsStr::from_bytes(hidden));
    }
    let mode = Mode::from_raw_mode(header.mode()? & 0o7777);
    let (uid, gid) = (header.uid()? as u32, header.gid()? as u32);
    let existing = rustix::fs::statat(&parent, name, AtFlags::SYMLINK_NOFOLLOW).ok();
    let existing_is_dir = existing.as_ref().is_some_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Directory);
    // What lower layers (or earlier entries) put at this name goes, except a directory that
    // stays a directory.
    if existing.is_some() && !(kind == tar::EntryType::Directory && existing_is_dir) {
        remove(&parent, name)?;
    }
    match kind {
        tar::EntryType::Regular | tar::EntryType::Continuous => {
            let fd = rustix::fs::openat(
                &parent,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )?;
            let mut file = std::fs::File::from(fd);
            io::copy(entry, &mut file)?;
            rustix::fs::fchown(&file, Some(uid_of(uid)), Some(gid_of(gid)))?;
            // After the owner: chown clears setuid bits.
            rustix::fs::fchmod(&file, mode)?;
        }
        tar::EntryType::Directory => {
            match rustix::fs::mkdirat(&parent, name, Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
            let dir =
                rustix::fs::openat(&parent, name, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
            rustix::fs::fchown(&dir, Some(uid_of(uid)), Some(gid_of(gid)))?;
            rustix::fs::fchmod(&dir, mode)?;
        }
        tar::EntryType::Symlink => {
            // A link is only text here; nothing below ever follows one out of the root.
            let target = entry.link_name()?.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a link without a target"))?;
            rustix::fs::symlinkat(target.as_os_str(), &parent, name)?;
            rustix::fs::chownat(&parent, name, Some(uid_of(uid)), Some(gid_of(gid)), AtFlags::SYMLINK_NOFOLLOW)?;
        }
        tar::EntryType::Link => {
            let target = entry.link_name()?.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a hard link without a target"))?;
            let target_parts = path_parts(&target)?;
            let (from_parent, from_name) =
                split(&target_parts).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a hard link to the root"))?;
            let from_dir = safe_path::open_in(root, &from_parent, Scope::Beneath)?;
            // Without AT_SYMLINK_FOLLOW: a link to a symbolic link links the link itself.
            rustix::fs::linkat(&from_dir, from_name, &parent, name, AtFlags::empty())?;
        }
        tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
            let file_type = match kind {
                tar::EntryType::Char => FileType::CharacterDevice,
                tar::EntryType::Block => FileType::BlockDevice,
                _ => FileType::Fifo,
            };
            let dev = rustix::fs::makedev(header.device_major()?.unwrap_or(0), header.device_minor()?.unwrap_or(0));
            rustix::fs::mknodat(&parent, name, file_type, mode, dev)?;
            rustix::fs::chownat(&parent, name, Some(uid_of(uid)), Some(gid_of(gid)), AtFlags::SYMLINK_NOFOLLOW)?;
        }
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("an entry of tar type {:?} is not unpacked", other.as_byte() as char),
            ))
        }
    }
    Ok(())
}

fn uid_of(uid: u32) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(uid)
}

fn gid_of(gid: u32) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(gid)
}

/// Removes `name` in `dir` (a file, a link, or a whole tree), if it is there. Through the
/// directory's descriptor: the tree's own links are removed, never followed.
fn remove(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.as_bytes().contains(&b'/') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "a whiteout of no single name"));
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) => Ok(()),
        Err(Errno::NOENT) => Ok(()),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {
            let sub = reopen(dir)?;
            std::fs::remove_dir_all(safe_path::fd_path(&sub).join(name))
        }
        Err(e) => Err(e.into()),
    }
}

/// A readable descriptor of a directory held as `O_PATH`.
fn reopen(dir: &OwnedFd) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(dir.as_fd(), ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?)
}

/// Empties a directory (an opaque whiteout): what lower layers put in it goes.
fn clear_dir(dir: &OwnedFd) -> io::Result<()> {
    let readable = reopen(dir)?;
    let names: Vec<OsString> =
        std::fs::read_dir(safe_path::fd_path(&readable))?.map(|e| e.map(|e| e.file_name())).collect::<Result<_, _>>()?;
    for name in names {
        remove(&readable, &name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut h = header(tar::EntryType::Regular, data.len() as u64);
        // Raw names: the builder's own path checks would refuse some hostile ones.
        h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, path: &str, target: &str) {
        let mut h = header(kind, 0);
        h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
        h.as_gnu_mut().unwrap().linkname[..target.len()].copy_from_slice(target.as_bytes());
        h.set_cksum();
        b.append(&h, &[][..]).unwrap();
    }

    struct Dirs {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
    }

    fn dirs() -> Dirs {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("rootfs");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        Dirs { root, outside, _tmp: tmp }
    }

    #[test]
    fn files_links_and_whiteouts_unpack_in_the_root() {
        let d = dirs();
        let lower = layer(|b| {
            file(b, "etc/motd", b"hello");
            file(b, "etc/gone", b"x");
            file(b, "var/cache/a", b"a");
            link(b, tar::EntryType::Symlink, "bin/sh", "/bin/busybox");
            link(b, tar::EntryType::Link, "etc/motd2", "etc/motd");
        });
        unpack_layer(&d.root, &lower[..]).unwrap();
        let upper = layer(|b| {
            file(b, "etc/.wh.gone", b"");
            file(b, "var/cache/.wh..wh..opq", b"");
            file(b, "var/cache/b", b"b");
        });
        unpack_layer(&d.root, &upper[..]).unwrap();
        assert_eq!(std::fs::read_to_string(d.root.join("etc/motd")).unwrap(), "hello");
        assert_eq!(std::fs::read_to_string(d.root.join("etc/motd2")).unwrap(), "hello");
        assert_eq!(std::fs::read_link(d.root.join("bin/sh")).unwrap(), Path::new("/bin/busybox"));
        assert!(!d.root.join("etc/gone").exists());
        assert!(!d.root.join("var/cache/a").exists());
        assert!(d.root.join("var/cache/b").exists());
    }

    #[test]
    fn a_layer_that_climbs_out_is_refused_and_writes_nothing_outside() {
        let d = dirs();
        let outside = d.outside.display().to_string();
        // `..` in a name.
        let dotdot = layer(|b| file(b, "../outside/escaped", b"x"));
        let err = unpack_layer(&d.root, &dotdot[..]).unwrap_err().to_string();
        assert!(err.contains("'..'"), "{err}");
        // An absolute link, then a file through it.
        let absolute = layer(|b| {
            link(b, tar::EntryType::Symlink, "evil", &outside);
            file(b, "evil/escaped", b"x");
        });
        let err = unpack_layer(&d.root, &absolute[..]).unwrap_err().to_string();
        assert!(err.contains("evil/escaped"), "{err}");
        // A relative link that climbs out, then a file through it.
        let relative = layer(|b| {
            link(b, tar::EntryType::Symlink, "up", "../outside");
            file(b, "up/escaped", b"x");
        });
        assert!(unpack_layer(&d.root, &relative[..]).is_err());
        // A hard link to a file outside.
        std::fs::write(d.outside.join("secret"), "s").unwrap();
        let hard = layer(|b| link(b, tar::EntryType::Link, "stolen", "../outside/secret"));
        assert!(unpack_layer(&d.root, &hard[..]).is_err());
        let hard_via_link = layer(|b| {
            link(b, tar::EntryType::Symlink, "out", &outside);
            link(b, tar::EntryType::Link, "stolen", "out/secret");
        });
        assert!(unpack_layer(&d.root, &hard_via_link[..]).is_err());
        assert!(!d.root.join("stolen").exists());
        // A whiteout through a link.
        let whiteout = layer(|b| {
            link(b, tar::EntryType::Symlink, "o2", &outside);
            file(b, "o2/.wh.secret", b"");
        });
        assert!(unpack_layer(&d.root, &whiteout[..]).is_err());
        let left: Vec<_> = std::fs::read_dir(&d.outside).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, [OsString::from("secret")], "nothing written or removed outside the root");
    }

    #[test]
    fn a_file_replaces_a_link_of_its_name_instead_of_writing_through_it() {
        let d = dirs();
        let target = d.outside.join("target");
        std::fs::write(&target, "outside").unwrap();
        let l = layer(|b| {
            link(b, tar::EntryType::Symlink, "f", &target.display().to_string());
            file(b, "f", b"inside");
        });
        unpack_layer(&d.root, &l[..]).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "outside");
        assert_eq!(std::fs::read_to_string(d.root.join("f")).unwrap(), "inside");
    }
}
