//! The API layer of the reference target (issue 3, in progress): Kubernetes' rules for pod
//! objects, with no I/O to processes. So far: update validation.

pub mod update;

pub use update::validate_pod_update;
