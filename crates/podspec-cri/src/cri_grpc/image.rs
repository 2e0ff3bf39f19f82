//! ImageStatus: whether the runtime has an image locally. Nothing is ever pulled: an image the
//! runtime lacks is an error naming it (the images are imported beforehand, see
//! ci/containerd/README.md).

use std::collections::BTreeSet;

use super::runtime_v1 as cri;

use super::CriRuntime;
use podspec_images::ImageConfig;
use crate::cri::{ImageInfo, RuntimeError, RuntimeResult};

pub(super) async fn status(rt: &CriRuntime, reference: &str) -> RuntimeResult<ImageInfo> {
    let operation = format!("ImageStatus {reference}");
    let request =
        cri::ImageStatusRequest { image: Some(cri::ImageSpec { image: reference.to_string(), ..Default::default() }), verbose: true };
    let r = rt.call(&operation, rt.images.clone().image_status(request)).await.map_err(|e| e.into_runtime(&operation))?;
    let Some(image) = r.image else {
        return Err(RuntimeError::ImageNotFound {
            reference: reference.to_string(),
            reason: format!(
                "the runtime at {} has no such image and podspec never pulls; import it (ci/containerd/start.sh does)",
                rt.endpoint
            ),
        });
    };
    Ok(ImageInfo { reference: reference.to_string(), id: image.id, config: image_config(r.info.get("info").map(String::as_str)) })
}

/// Every reference the runtime has an image for (CRI `ListImages`: each image's repo tags).
pub(super) async fn references(rt: &CriRuntime) -> RuntimeResult<BTreeSet<String>> {
    let operation = "ListImages";
    let r = rt
        .call(operation, rt.images.clone().list_images(cri::ListImagesRequest { filter: None }))
        .await
        .map_err(|e| e.into_runtime(operation))?;
    Ok(r.images.into_iter().flat_map(|i| i.repo_tags).collect())
}

/// The image's runtime configuration from a verbose ImageStatus (`info.imageSpec.config`, as
/// containerd gives it); empty when the runtime gives none.
fn image_config(info: Option<&str>) -> ImageConfig {
    let value: serde_json::Value = info.and_then(|i| serde_json::from_str(i).ok()).unwrap_or_default();
    let config = &value["imageSpec"]["config"];
    let strings = |key: &str| -> Vec<String> {
        config[key].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    ImageConfig {
        env: strings("Env"),
        entrypoint: strings("Entrypoint"),
        cmd: strings("Cmd"),
        working_dir: config["WorkingDir"].as_str().filter(|s| !s.is_empty()).map(str::to_string),
        user: config["User"].as_str().filter(|s| !s.is_empty()).map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_comes_from_the_verbose_image_spec() {
        let info = r#"{"imageSpec":{"config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/"}}}"#;
        let c = image_config(Some(info));
        assert_eq!(c.env, vec!["PATH=/bin"]);
        assert_eq!(c.cmd, vec!["sh"]);
        assert!(c.entrypoint.is_empty());
        assert_eq!(c.working_dir.as_deref(), Some("/"));
        assert_eq!(image_config(None), ImageConfig::default());
    }
}
