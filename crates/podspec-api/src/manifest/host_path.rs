//! hostPath volumes on the reference node: only directories of the node's own (podspec's state,
//! such as its static pod directory) may be handed to a pod. The machine's own files never
//! are: any other path is refused before the pod runs, naming the field and the reason.
//!
//! The reference target's up-front check and its kubelet's admission both ask here.

use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::HostPathVolumeSource;

use crate::Error;

/// The hostPath types the reference node does: an existing directory ("" and `Directory`), or
/// one it makes (`DirectoryOrCreate`), inside one of the node's own directories.
const DIRECTORY_TYPES: &[&str] = &["", "Directory", "DirectoryOrCreate"];

/// The directory a hostPath volume stands for on the node, or why the node refuses it.
/// `node_dirs`: the node's own directories that may be handed to a pod.
pub fn resolve(source: &HostPathVolumeSource, node_dirs: &[PathBuf]) -> Result<PathBuf, Error> {
    let kind = source.type_.as_deref().unwrap_or("");
    if !DIRECTORY_TYPES.contains(&kind) {
        return Err(Error::HostPathType { kind: kind.into() });
    }
    let path = Path::new(&source.path);
    let plain = path.is_absolute() && path.components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    if !plain {
        return Err(Error::HostPathNotPlain { path: source.path.clone() });
    }
    let outside = || {
        let dirs = node_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
        let dirs = if dirs.is_empty() { "none on this node".to_string() } else { dirs };
        Error::HostPathOutside { path: source.path.clone(), dirs }
    };
    // Within a node directory by its words, and still so once symbolic links are followed.
    let Some(dir) = node_dirs.iter().find(|d| path.starts_with(d)) else { return Err(outside()) };
    let canonical = |p: &Path| p.canonicalize().map_err(|source| Error::HostPathUnreadable { path: p.to_path_buf(), source });
    let base = canonical(dir)?;
    let resolved = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && kind == "DirectoryOrCreate" => {
            // Made below the node directory only: its existing ancestors must lie inside.
            let existing = path.ancestors().find(|a| a.exists()).map(canonical).transpose()?.unwrap_or_default();
            if !existing.starts_with(&base) {
                return Err(outside());
            }
            return Ok(path.to_path_buf());
        }
        Err(e) => return Err(Error::HostPathUnreadable { path: PathBuf::from(&source.path), source: e }),
    };
    if !resolved.starts_with(&base) {
        return Err(outside());
    }
    if !resolved.is_dir() {
        return Err(Error::HostPathNotDirectory { path: source.path.clone() });
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(path: &str, kind: Option<&str>) -> HostPathVolumeSource {
        HostPathVolumeSource { path: path.into(), type_: kind.map(Into::into) }
    }

    #[test]
    fn only_the_node_s_own_directories_are_handed_out() {
        let node = tempfile::tempdir().unwrap();
        let manifests = node.path().join("manifests");
        std::fs::create_dir(&manifests).unwrap();
        std::fs::create_dir(manifests.join("sub")).unwrap();
        let dirs = [manifests.clone()];
        let m = manifests.display().to_string();

        assert_eq!(resolve(&source(&m, Some("Directory")), &dirs).unwrap(), manifests.canonicalize().unwrap());
        assert!(resolve(&source(&format!("{m}/sub"), None), &dirs).is_ok());
        assert!(resolve(&source(&format!("{m}/new"), Some("DirectoryOrCreate")), &dirs).is_ok());

        let refused = |p: &str, kind: Option<&str>| resolve(&source(p, kind), &dirs).unwrap_err().to_string();
        assert!(refused("/etc", None).contains("is not inside the node's own directories"), "{}", refused("/etc", None));
        assert!(refused("/", None).contains("the machine's own files are never handed to a pod"));
        assert!(refused(&format!("{m}/../.."), None).contains("without `.` or `..`"));
        assert!(refused("relative", None).contains("must be absolute"));
        assert!(refused(&m, Some("File")).contains("only directories"));
        assert!(refused(&format!("{m}/missing"), Some("Directory")).contains("No such file"));
        // A link inside the node's directory that leads out of it is out.
        std::os::unix::fs::symlink("/etc", manifests.join("out")).unwrap();
        assert!(refused(&format!("{m}/out"), None).contains("is not inside"));
        // With no node directories, every path is refused.
        assert!(resolve(&source(&m, None), &[]).unwrap_err().to_string().contains("none on this node"));
    }
}
