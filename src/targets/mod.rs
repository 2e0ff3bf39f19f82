//! The Target trait that steps drive (`target.rs`), beside its implementations: the reference
//! node, the cri target (the same node over a CRI runtime), podman and any Kubernetes cluster.

pub mod cri;
pub mod kube;
pub mod podman;
pub mod reference;
mod target;

pub use kube::KubeTarget;
pub use podman::PodmanTarget;
pub use reference::{ReferenceOptions, ReferenceTarget};
pub use target::{Capability, ConfigWrite, ExecOutput, PodEvents, PodRef, Target, TargetError, TargetResult, CRASH_COMMAND};
