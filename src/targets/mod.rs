//! Implementations of the Target trait.

pub mod cri;
pub mod podman;
pub mod reference;

pub use podman::PodmanTarget;
pub use reference::{ReferenceOptions, ReferenceTarget};
