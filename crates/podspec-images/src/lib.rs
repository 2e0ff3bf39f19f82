//! Images: fixture images built locally from recipes, and the mapping from the
//! references fixtures use (`busybox:1.36`) to local images; and images pulled from a registry
//! (`pull`), unpacked safely (`unpack`) into the same store.

#![forbid(unsafe_code)]

pub mod archive;
pub mod keyring;
pub mod pull;
pub mod recipe;
mod store;
pub mod unpack;

pub use recipe::{ImageConfig, Recipe};
pub use store::{tree_size, ImageStore, LocalImage, SweepReport};

/// This machine's architecture as Go and OCI name it (`amd64`, `arm64`): what an image config
/// and an index's platform say, a Node's `kubernetes.io/arch` label and its nodeInfo.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// The one name podspec's own image goes by: what `podspec images export` (every format, and
/// `--cri`) tags it, and what the Sonobuoy plugin runs. `localhost/` keeps a runtime from
/// pulling it.
pub fn own_image_reference() -> String {
    format!("localhost/podspec/podspec:{}", env!("CARGO_PKG_VERSION"))
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("image {reference:?} is not available locally: no local image is known by that name (known: {known})")]
    Unknown { reference: String, known: String },
    #[error("image recipe {file}: {message}")]
    Recipe { file: String, message: String },
    #[error("building image {image}: {path} is missing{hint}")]
    MissingInput { image: String, path: String, hint: String },
    #[error("building image {image}: {message}")]
    Build { image: String, message: String },
    #[error("{message}")]
    Pull { reference: String, message: String },
}
