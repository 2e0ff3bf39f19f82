//! A volume mount's `subPath`, as the kubelet prepares it since CVE-2017-1002101
//! (pkg/kubelet/kubelet_pods.go makeMounts, pkg/volume/util/subpath/subpath_linux.go): the
//! path is resolved inside its volume without ever following a link out of it, made there
//! when missing, and refused otherwise. A container can put any link in a volume it shares
//! with the pod's others; followed on the machine, a subPath naming it would hand the next
//! container the machine's files.
//!
//! The check here gives the kubelet's refusals (CreateContainerConfigError with its message).
//! The reference runtime's shim resolves the subPath again where it mounts it, from a
//! descriptor of the volume and never leaving it, and mounts what it found through that
//! descriptor: a link swapped in between fails the start, it does not escape.

use std::path::{Component, Path};

use crate::runtime::linux::safe_path::{self, Scope};

/// Checks a volume mount's `subPath` under the volume's directory `volume`, making it where
/// missing (with the volume's own mode, as the kubelet does), or says why the container cannot
/// be created, in the kubelet's words. The kubelet keeps the details from the pod (they could
/// tell about the machine's files); they go to the node's log.
pub(super) fn prepare(volume: &Path, sub_path: &str, mount: &str, container: &str) -> Result<(), String> {
    let sub = Path::new(sub_path);
    if sub.is_absolute() {
        return Err(format!("error SubPath `{sub_path}` must not be an absolute path"));
    }
    if sub.components().any(|c| c == Component::ParentDir) {
        return Err(format!("unable to provision SubPath `{sub_path}`: must not contain '..'"));
    }
    let create_error = || format!("failed to create subPath directory for volumeMount {mount:?} of container {container:?}");
    let prepare_error = || format!("failed to prepare subPath for volumeMount {mount:?} of container {container:?}");
    let dir = safe_path::open_dir(volume).map_err(|e| {
        tracing::warn!(volume = %volume.display(), error = %e, "open the volume of a subPath");
        prepare_error()
    })?;
    match safe_path::open_in(&dir, sub, Scope::Beneath) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mode = rustix::fs::fstat(&dir).map(|st| st.st_mode & 0o7777).unwrap_or(0o755);
            safe_path::mkdir_all_in(&dir, sub, Scope::Beneath, mode).map(drop).map_err(|e| {
                tracing::warn!(container, mount, sub_path, error = %e, "failed to create subPath directory for volumeMount of the container");
                create_error()
            })
        }
        Err(e) => {
            tracing::warn!(container, mount, sub_path, error = %e, "failed to prepare subPath for volumeMount of the container");
            Err(prepare_error())
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
            assert_eq!(
                prepare(&vol, sub, "vol", "app").unwrap_err(),
                r#"failed to prepare subPath for volumeMount "vol" of container "app""#
            );
        }
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        symlink("missing", vol.join("dangling")).unwrap();
        let e = prepare(&vol, "dangling", "vol", "app").unwrap_err();
        assert_eq!(e, r#"failed to create subPath directory for volumeMount "vol" of container "app""#);
        assert_eq!(prepare(&vol, "/etc", "vol", "app").unwrap_err(), "error SubPath `/etc` must not be an absolute path");
        assert!(prepare(&vol, "a/../../b", "vol", "app").unwrap_err().starts_with("unable to provision SubPath"));
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
