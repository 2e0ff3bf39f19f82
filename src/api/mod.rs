//! The API layer of the reference target (issue 3, in progress): Kubernetes' rules for pod
//! objects, with no I/O to processes. So far: the object store and update validation; the reference target does not use them yet.

pub mod store;
pub mod update;

pub use store::{ApiError, PodStore};
pub use update::validate_pod_update;
