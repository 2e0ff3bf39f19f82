//! Implementations of the Target trait.

pub mod cri;
pub mod kube;
pub mod podman;
pub mod reference;

pub use kube::KubeTarget;
pub use podman::PodmanTarget;
pub use reference::{ReferenceOptions, ReferenceTarget};
