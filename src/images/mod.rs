//! Images, layer 4: fixture images built locally from recipes, and the mapping from the
//! references fixtures use (`busybox:1.36`) to local images. Nothing is ever pulled.

pub mod archive;
pub mod recipe;
mod store;

pub use recipe::{ImageConfig, Recipe};
pub use store::{ImageStore, LocalImage, SweepReport};

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
}
