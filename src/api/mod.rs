//! The API layer of the reference target: a pod object store with Kubernetes' admission,
//! validation and update rules and its error texts. No I/O to processes: the kubelet reads pods
//! from it and writes their status back.

pub mod admission;
pub mod defaults;
pub mod labels;
pub mod pod_rules;
pub mod qos;
pub mod quantity;
pub mod store;
pub mod update;

pub use admission::{is_mirror_pod, Requester};
pub use store::{ApiError, PodStore};
pub use update::validate_pod_update;
