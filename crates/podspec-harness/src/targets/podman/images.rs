//! The fixture images in podman's store: each is built by the image store, exported as a
//! docker-archive and loaded with `podman load` under `localhost/<image>:<id>` (for example
//! `localhost/podspec/busybox:3f1c0e9a2b7d`). Nothing is pulled. An image already loaded with
//! the same ID is not loaded again; older podspec tags of it are removed when nothing uses them
//! and no other run is going on.
//!
//! Loaded images stay between runs, as built images stay in podspec's data directory.
//!
//! Every run on the machine shares podman's image store, and two runs may be two builds of
//! podspec (two checkouts) with images of different IDs: a run holds [`IMAGES_LOCK`] shared for
//! its whole life, and removes older tags only while it holds it alone, so that it never removes
//! the image another run is about to start a pod from.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use nix::fcntl::{Flock, FlockArg};

use super::cli::{Podman, PodmanError};
use crate::images::archive::{export_docker_archive, identify};
use crate::images::{ImageError, ImageStore, LocalImage};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Podman(#[from] PodmanError),
    #[error("building the images: {0}")]
    Join(String),
    #[error("the lock of podman's podspec images, {}: {source}", path.display())]
    Lock { path: std::path::PathBuf, source: std::io::Error },
}

/// Held shared by every podman run for its life (in /run: it goes with the machine's boot, as
/// the runs it guards do).
pub const IMAGES_LOCK: &str = "/run/podspec-podman-images.lock";
/// Held exclusively while a run takes [`IMAGES_LOCK`], so that a run that finds itself alone
/// can load, remove older tags and go back to a shared hold with no other run coming between.
const IMAGES_GATE: &str = "/run/podspec-podman-images.gate";

/// A run's shared hold on podman's podspec images: while it lives, no other run removes a tag.
#[derive(Debug)]
pub struct ImagesInUse {
    _lock: Flock<File>,
}

/// The podman repository of a local image: `localhost/podspec/busybox`.
pub fn repository(image: &LocalImage) -> String {
    format!("localhost/{}", image.name)
}

fn lock_error(path: &Path, errno: nix::errno::Errno) -> LoadError {
    LoadError::Lock { path: path.to_path_buf(), source: errno.into() }
}

fn open_lock(path: &Path) -> Result<File, LoadError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let error = |source| LoadError::Lock { path: path.to_path_buf(), source };
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(path).map_err(error)
}

/// Takes `lock` through `gate`: exclusively when no other run holds it (then `true`: this run
/// is alone and may remove older tags before [`Flock::relock`] makes its hold shared), else
/// shared. Blocks only while another run passes the gate.
fn hold(gate: &Path, lock: &Path) -> Result<(Flock<File>, Flock<File>, bool), LoadError> {
    let gate_held = Flock::lock(open_lock(gate)?, FlockArg::LockExclusive).map_err(|(_, e)| lock_error(gate, e))?;
    match Flock::lock(open_lock(lock)?, FlockArg::LockExclusiveNonblock) {
        Ok(held) => Ok((gate_held, held, true)),
        // Nobody holds it exclusively while this run holds the gate: shared is granted at once.
        Err((file, _)) => {
            let held = Flock::lock(file, FlockArg::LockSharedNonblock).map_err(|(_, e)| lock_error(lock, e))?;
            Ok((gate_held, held, false))
        }
    }
}

/// Makes every fixture image available to podman; returns each fixture reference with the podman
/// image it maps to, and the run's hold on them (keep it for the run's life).
pub async fn ensure_loaded(
    podman: &Podman,
    store: Arc<ImageStore>,
    work_dir: &Path,
) -> Result<(BTreeMap<String, String>, ImagesInUse), LoadError> {
    let built = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.build_all()).await.map_err(|e| LoadError::Join(e.to_string()))??
    };
    let (gate, held, alone) = tokio::task::spawn_blocking(|| hold(Path::new(IMAGES_GATE), Path::new(IMAGES_LOCK)))
        .await
        .map_err(|e| LoadError::Join(e.to_string()))??;
    let mut by_image: BTreeMap<String, String> = BTreeMap::new();
    let mut loaded = Vec::new();
    for image in built {
        let repo = repository(&image);
        let (reference, _id) = {
            let (image, repo) = (image.clone(), repo.clone());
            tokio::task::spawn_blocking(move || identify(&image, &repo)).await.map_err(|e| LoadError::Join(e.to_string()))??
        };
        let exists = podman.output(&["image", "exists", &reference], None, podman.timeout).await?.code == 0;
        if !exists {
            load(podman, &image, &repo, work_dir).await?;
            loaded.push((repo, reference.clone()));
        }
        by_image.insert(image.name.clone(), reference);
    }
    if alone {
        for (repo, reference) in &loaded {
            remove_stale_tags(podman, repo, reference).await;
        }
        held.relock(FlockArg::LockShared).map_err(|e| lock_error(Path::new(IMAGES_LOCK), e))?;
    } else if !loaded.is_empty() {
        tracing::debug!("another podspec run uses podman's images: older podspec tags stay");
    }
    drop(gate);
    let mut mapping = BTreeMap::new();
    for r in store.references() {
        if let Some(podman_ref) = store.recipe_for(r).ok().and_then(|recipe| by_image.get(&recipe.name)) {
            mapping.insert(r.to_string(), podman_ref.clone());
        }
    }
    Ok((mapping, ImagesInUse { _lock: held }))
}

async fn load(podman: &Podman, image: &LocalImage, repo: &str, work_dir: &Path) -> Result<(), LoadError> {
    std::fs::create_dir_all(work_dir)
        .map_err(|e| ImageError::Build { image: image.name.clone(), message: format!("create {}: {e}", work_dir.display()) })?;
    let archive = work_dir.join(format!("{}-{}.tar", image.name.replace('/', "_"), std::process::id()));
    let exported = {
        let (image, repo, archive) = (image.clone(), repo.to_string(), archive.clone());
        tokio::task::spawn_blocking(move || export_docker_archive(&image, &repo, &archive))
            .await
            .map_err(|e| LoadError::Join(e.to_string()))?
    };
    let result = match exported {
        Ok(_) => podman.run(&["load", "--quiet", "--input", &archive.display().to_string()]).await.map(|_| ()).map_err(LoadError::from),
        Err(e) => Err(e.into()),
    };
    let _ = std::fs::remove_file(&archive);
    if result.is_ok() {
        tracing::info!(image = %image.name, "loaded into podman");
    }
    result
}

/// Removes podspec's older tags of an image; one that a container still uses stays.
async fn remove_stale_tags(podman: &Podman, repo: &str, current: &str) {
    let filter = format!("reference={repo}");
    let Ok(out) = podman.run(&["images", "--filter", &filter, "--format", "{{.Repository}}:{{.Tag}}"]).await else { return };
    for tag in String::from_utf8_lossy(&out).lines().map(str::trim).filter(|t| t.starts_with(repo) && *t != current) {
        if let Err(e) = podman.run(&["rmi", tag]).await {
            tracing::debug!(%tag, error = %e, "an older podspec image stays");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first run is alone; once it holds the lock shared, a second run is not, and neither
    /// is a third while the second holds it; once both have ended, a run is alone again.
    #[test]
    fn a_run_is_alone_only_while_no_other_run_holds_the_images() {
        let dir = tempfile::tempdir().unwrap();
        let (gate, lock) = (dir.path().join("gate"), dir.path().join("lock"));
        let (gate_held, first, alone) = hold(&gate, &lock).unwrap();
        assert!(alone);
        first.relock(FlockArg::LockShared).unwrap();
        drop(gate_held);
        let (g, second, alone) = hold(&gate, &lock).unwrap();
        assert!(!alone, "the first run still holds the images");
        drop(g);
        drop(first);
        let (g, third, alone) = hold(&gate, &lock).unwrap();
        assert!(!alone, "the second run still holds the images");
        drop((g, third, second));
        let (_g, _fourth, alone) = hold(&gate, &lock).unwrap();
        assert!(alone, "every other run has ended");
    }
}
