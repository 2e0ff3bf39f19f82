//! The Target trait that steps drive (`target.rs`) with its optional interfaces and the
//! capabilities read from them (`capability.rs`), beside its implementations: the reference
//! node, the cri target (the same node over a CRI runtime), podman and any Kubernetes cluster.

mod capability;
pub mod cri;
pub mod kube;
pub mod podman;
pub mod reference;
mod target;

pub use capability::{Capability, TargetCapabilities};
pub use kube::KubeTarget;
pub use podman::PodmanTarget;
pub use reference::{ReferenceOptions, ReferenceTarget};
pub use target::{
    ApiServerTarget, ConfigObjectsTarget, ConfigWrite, EphemeralContainersTarget, ExecOutput, NodeAccessTarget, PodEvents, PodRef,
    StaticPodsTarget, Target, TargetError, TargetResult, CRASH_COMMAND,
};
