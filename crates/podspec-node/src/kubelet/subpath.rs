//! A volume mount's `subPath`, as the kubelet prepares it since CVE-2017-1002101
//! (pkg/kubelet/kubelet_pods.go makeMounts, pkg/volume/util/subpath/subpath_linux.go): the
//! path is resolved inside its volume without ever following a link out of it, made there
//! when missing, and refused otherwise. A container can put any link in a volume it shares
//! with the pod's others; followed on the machine, a subPath naming it would hand the next
//! container the machine's files.
//!
//! The check here gives the kubelet's refusals (CreateContainerConfigError with its message).
//! A `subPathExpr` is expanded first ([`super::expansion::expand_sub_path_expr`]) and what it
//! expands to is checked and resolved here as a `subPath` is.
//! The reference runtime's shim resolves the subPath again where it mounts it, from a
//! descriptor of the volume and never leaving it, and mounts what it found through that
//! descriptor: a link swapped in between fails the start, it does not escape.
//!
//! A runtime that is given host paths only (a CRI runtime) would follow a link swapped in
//! after the check. For it the kubelet binds what it checked, through the descriptor it holds
//! (`/proc/self/fd/N`), onto a path of its own under the pod's directory,
//! `volume-subpaths/<volume>/<container>/<index>` (`doBindSubPath` in
//! pkg/volume/util/subpath/subpath_linux.go), and gives the runtime that path. The binds are
//! unmounted when the pod is torn down ([`unmount_all`]), and by `podspec clean` for a run that
//! was killed (it unmounts whatever is mounted under a stale run's directory).

use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use podspec_fs::safe_path::{self, Scope};

/// Why a container's subPath cannot be used, in the kubelet's words. The cause of a failed
/// preparation is kept as the source (for the node's log), never in the text the pod shows.
#[derive(Debug, thiserror::Error)]
pub enum SubPathError {
    #[error("error SubPath `{0}` must not be an absolute path")]
    Absolute(String),
    #[error("unable to provision SubPath `{0}`: must not contain '..'")]
    ParentDir(String),
    #[error("failed to create subPath directory for volumeMount {mount:?} of container {container:?}")]
    Create {
        mount: String,
        container: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to prepare subPath for volumeMount {mount:?} of container {container:?}")]
    Prepare {
        mount: String,
        container: String,
        #[source]
        source: std::io::Error,
    },
}

/// The error of a subPath whose preparation failed with `source`.
fn prepare_error(mount: &str, container: &str, source: std::io::Error) -> SubPathError {
    SubPathError::Prepare { mount: mount.into(), container: container.into(), source }
}

/// A subPath that is absolute or climbs out with `..`.
fn refusal(sub_path: &str) -> Option<SubPathError> {
    let sub = Path::new(sub_path);
    if sub.is_absolute() {
        return Some(SubPathError::Absolute(sub_path.into()));
    }
    sub.components().any(|c| c == Component::ParentDir).then(|| SubPathError::ParentDir(sub_path.into()))
}

/// Checks a volume mount's `subPath` under the volume's directory `volume`, making it where
/// missing (with the volume's own mode, as the kubelet does), or says why the container cannot
/// be created, in the kubelet's words. The kubelet keeps the details from the pod (they could
/// tell about the machine's files); they go to the node's log. What was found is held: an
/// `O_PATH` descriptor of the subPath.
#[cfg(test)]
pub(super) fn prepare(volume: &Path, sub_path: &str, mount: &str, container: &str) -> Result<OwnedFd, SubPathError> {
    if let Some(refused) = refusal(sub_path) {
        return Err(refused);
    }
    let dir = safe_path::open_dir(volume).map_err(|e| {
        tracing::warn!(volume = %volume.display(), error = %e, "open the volume of a subPath");
        prepare_error(mount, container, e)
    })?;
    prepare_in(&dir, sub_path, mount, container)
}

/// [`prepare`] beneath the volume's directory held as `dir`.
pub(super) fn prepare_in(dir: &OwnedFd, sub_path: &str, mount: &str, container: &str) -> Result<OwnedFd, SubPathError> {
    if let Some(refused) = refusal(sub_path) {
        return Err(refused);
    }
    let sub = Path::new(sub_path);
    match safe_path::open_in(dir, sub, Scope::Beneath) {
        Ok(found) => Ok(found),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mode = rustix::fs::fstat(dir).map(|st| st.st_mode & 0o7777).unwrap_or(0o755);
            safe_path::mkdir_all_in(dir, sub, Scope::Beneath, mode).map_err(|e| {
                tracing::warn!(container, mount, sub_path, error = %e, "failed to create subPath directory for volumeMount of the container");
                SubPathError::Create { mount: mount.into(), container: container.into(), source: e }
            })
        }
        Err(e) => {
            tracing::warn!(container, mount, sub_path, error = %e, "failed to prepare subPath for volumeMount of the container");
            Err(prepare_error(mount, container, e))
        }
    }
}

/// The directory of the pod's subPath binds.
fn binds_dir(pod_dir: &Path) -> PathBuf {
    pod_dir.join("volume-subpaths")
}

/// Binds the subPath `found` (held by [`prepare`]) onto the kubelet's own path for the
/// `index`th volume mount of `container`, `<pod_dir>/volume-subpaths/<volume>/<container>/<index>`,
/// and returns that path for the runtime. The mount is made from `/proc/self/fd/N` of the held
/// descriptor, so the runtime gets what was checked whatever the volume holds by then. A bind
/// left there by an earlier attempt of the container is replaced.
pub(super) fn bind(found: &OwnedFd, pod_dir: &Path, volume: &str, container: &str, index: usize, mount: &str) -> Result<PathBuf, SubPathError> {
    use nix::mount::{mount as mount2, umount2, MntFlags, MsFlags};
    let error = |what: &str, e: std::io::Error| {
        tracing::warn!(container, mount, error = %e, "{what}");
        prepare_error(mount, container, e)
    };
    let rel = Path::new(volume).join(container).join(index.to_string());
    let target = binds_dir(pod_dir).join(&rel);
    // A bind of an earlier attempt: unmounted (never following a link at the path; the
    // directory is the kubelet's own, which no container can name).
    while umount2(&target, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW).is_ok() {}
    std::fs::create_dir_all(binds_dir(pod_dir)).map_err(|e| error("make the pod's volume-subpaths directory", e))?;
    let base = safe_path::open_dir(&binds_dir(pod_dir)).map_err(|e| error("open the pod's volume-subpaths directory", e))?;
    let is_dir = safe_path::is_dir(found).map_err(|e| error("stat the subPath", e))?;
    let held = if is_dir {
        safe_path::mkdir_all_in(&base, &rel, Scope::Beneath, 0o750)
    } else {
        safe_path::ensure_file_in(&base, &rel, Scope::Beneath, 0o640)
    }
    .map_err(|e| error("make the subPath's bind target", e))?;
    let none: Option<&str> = None;
    mount2(Some(&safe_path::fd_path(found)), &safe_path::fd_path(&held), none, MsFlags::MS_BIND, none)
        .map_err(|e| error("bind the subPath", e.into()))?;
    Ok(target)
}

/// Unmounts the pod's subPath binds and removes their directory. Only once nothing is mounted
/// under it any more: a bind still there would have the removal reach into the volume.
pub(super) fn unmount_all(pod_dir: &Path) {
    let dir = binds_dir(pod_dir);
    for m in podspec_fs::mounts_under(&dir) {
        if let Err(e) = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH) {
            tracing::warn!(path = %m.display(), error = %e, "unmount a subPath bind");
        }
    }
    let left = podspec_fs::mounts_under(&dir);
    if !left.is_empty() {
        tracing::warn!(dir = %dir.display(), ?left, "subPath binds still mounted; their directory is kept");
        return;
    }
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(dir = %dir.display(), error = %e, "remove the pod's subPath binds");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn a_subpath_leaving_its_volume_is_refused_in_the_kubelets_words() {
        let t = tempfile::tempdir().unwrap();
        let (vol, outside) = (t.path().join("vol"), t.path().join("outside"));
        std::fs::create_dir_all(&vol).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        symlink("/", vol.join("escape")).unwrap();
        symlink("../outside", vol.join("up")).unwrap();
        symlink(&outside, vol.join("abs")).unwrap();
        for sub in ["escape", "escape/etc", "up", "up/made", "abs/made"] {
            let e = prepare(&vol, sub, "vol", "app").unwrap_err();
            assert!(matches!(e, SubPathError::Prepare { .. }), "{e:?}");
            assert_eq!(e.to_string(), r#"failed to prepare subPath for volumeMount "vol" of container "app""#);
        }
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        symlink("missing", vol.join("dangling")).unwrap();
        let e = prepare(&vol, "dangling", "vol", "app").unwrap_err().to_string();
        assert_eq!(e, r#"failed to create subPath directory for volumeMount "vol" of container "app""#);
        assert_eq!(prepare(&vol, "/etc", "vol", "app").unwrap_err().to_string(), "error SubPath `/etc` must not be an absolute path");
        assert!(prepare(&vol, "a/../../b", "vol", "app").unwrap_err().to_string().starts_with("unable to provision SubPath"));
    }

    #[test]
    fn a_missing_subpath_is_made_with_the_volumes_mode_and_links_within_are_followed() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let vol = t.path().join("vol");
        std::fs::create_dir_all(vol.join("real")).unwrap();
        std::fs::set_permissions(&vol, std::fs::Permissions::from_mode(0o777)).unwrap();
        symlink("real", vol.join("within")).unwrap();
        prepare(&vol, "a/b", "vol", "app").unwrap();
        assert_eq!(std::fs::metadata(vol.join("a/b")).unwrap().permissions().mode() & 0o7777, 0o777);
        prepare(&vol, "within/c", "vol", "app").unwrap();
        assert!(vol.join("real/c").is_dir());
    }
}
