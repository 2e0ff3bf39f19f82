//! The fixture images in podman's store: each is built by the image store, exported as a
//! docker-archive and loaded with `podman load` under `localhost/<image>:<id>` (for example
//! `localhost/podspec/busybox:3f1c0e9a2b7d`). Nothing is pulled. An image already loaded with
//! the same ID is not loaded again; older podspec tags of it are removed when nothing uses them.
//!
//! Loaded images stay between runs, as built images stay in podspec's data directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

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
}

/// The podman repository of a local image: `localhost/podspec/busybox`.
pub fn repository(image: &LocalImage) -> String {
    format!("localhost/{}", image.name)
}

/// Makes every fixture image available to podman; returns each fixture reference with the podman
/// image it maps to.
pub async fn ensure_loaded(podman: &Podman, store: Arc<ImageStore>, work_dir: &Path) -> Result<BTreeMap<String, String>, LoadError> {
    let built = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.build_all()).await.map_err(|e| LoadError::Join(e.to_string()))??
    };
    let mut by_image: BTreeMap<String, String> = BTreeMap::new();
    for image in built {
        let repo = repository(&image);
        let (reference, _id) = {
            let (image, repo) = (image.clone(), repo.clone());
            tokio::task::spawn_blocking(move || identify(&image, &repo)).await.map_err(|e| LoadError::Join(e.to_string()))??
        };
        let exists = podman.output(&["image", "exists", &reference], None, podman.timeout).await?.code == 0;
        if !exists {
            load(podman, &image, &repo, work_dir).await?;
            remove_stale_tags(podman, &repo, &reference).await;
        }
        by_image.insert(image.name.clone(), reference);
    }
    let mut mapping = BTreeMap::new();
    for r in store.references() {
        if let Some(podman_ref) = store.recipe_for(r).ok().and_then(|recipe| by_image.get(&recipe.name)) {
            mapping.insert(r.to_string(), podman_ref.clone());
        }
    }
    Ok(mapping)
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
