//! Memory-backed emptyDir volumes on a node whose runtime does not hold them itself (any CRI
//! runtime), and secret volumes on every node: the kubelet mounts a tmpfs of the volume's size
//! on the volume's directory in its own state directory, before the sandbox (a secret volume's
//! before its files are written), and unmounts it when the pod is torn down, as Kubernetes'
//! emptyDir plugin does (`setupTmpfs`). The runtime then bind-mounts the directory
//! into the containers like any other. A killed run's mounts go with its state directory
//! (`podspec clean` unmounts what is mounted under it).

#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use podspec_cri::cri::TmpfsVolume;

/// A memory-backed volume's tmpfs that could not be mounted.
#[derive(Debug, thiserror::Error)]
#[error("mount a tmpfs of {size_bytes} bytes on {}: {source}", .path.display())]
pub struct TmpfsMountError {
    pub size_bytes: u64,
    pub path: PathBuf,
    pub source: nix::Error,
}

/// Mounts each volume's tmpfs on its directory; on an error, unmounts those already mounted.
pub(super) fn mount_all(volumes: &[TmpfsVolume]) -> Result<Vec<PathBuf>, TmpfsMountError> {
    let mut mounted = Vec::new();
    for v in volumes {
        // World-writable, as the disk emptyDir's directory, with the volume's size.
        let options = format!("mode=777,size={}", v.size_bytes);
        if let Err(source) = mount(Some("tmpfs"), &v.path, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(options.as_str())) {
            unmount_all(&mounted);
            return Err(TmpfsMountError { size_bytes: v.size_bytes, path: v.path.clone(), source });
        }
        mounted.push(v.path.clone());
    }
    Ok(mounted)
}

/// Unmounts what `mount_all` mounted (detached: a process still in the directory does not
/// keep the pod's directory from being removed).
pub(super) fn unmount_all(paths: &[PathBuf]) {
    for p in paths.iter().rev() {
        if let Err(e) = umount2(p.as_path(), MntFlags::MNT_DETACH) {
            tracing::warn!(path = %p.display(), error = %e, "unmount a memory-backed volume");
        }
    }
}

/// Whether `path` is a mount point of a tmpfs (for tests).
#[cfg(test)]
fn is_tmpfs(path: &Path) -> bool {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines().any(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        fields.get(4) == Some(&path.to_str().unwrap_or("")) && l.split(" - ").nth(1).is_some_and(|r| r.starts_with("tmpfs "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_volume_is_a_tmpfs_of_its_size_until_unmounted() {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("not root: mounting a tmpfs is not tried");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        std::fs::create_dir(&path).unwrap();
        let mounted = mount_all(&[TmpfsVolume { path: path.clone(), size_bytes: 1024 * 1024 }]).unwrap();
        assert!(is_tmpfs(&path));
        let st = nix::sys::statvfs::statvfs(&path).unwrap();
        assert_eq!(st.blocks() * st.fragment_size(), 1024 * 1024);
        unmount_all(&mounted);
        assert!(!is_tmpfs(&path));
    }
}
