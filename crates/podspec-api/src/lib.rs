//! The API layer of the reference node: a generic object store with list and watch, one per
//! kind, each with its strategy (`registry.rs` holds them, `generic.rs` is the store);
//! Kubernetes' admission, the pod strategy (defaulting, validation, update and delete rules)
//! and its error texts. No I/O to processes: the kubelet watches the pods bound to its node and writes their
//! status back.
//!
//! Beside it, `manifest`: reading pod YAML with file and line, and the pod validation the
//! strategy calls. `time`: the API's timestamps. This crate sees none of podspec above it (the
//! kubelet, the runtime, the server, the targets); they see it.

#![forbid(unsafe_code)]

pub mod admission;
pub mod configmaps;
pub mod defaults;
pub mod ephemeral;
pub mod error;
pub mod events;
pub mod generic;
pub mod managed_fields;
pub mod manifest;
pub mod namespaces;
pub mod nodes;
pub mod pod_admission;
pub mod qos;
pub mod random;
pub mod quantity;
pub mod rbac;
pub mod registry;
pub mod runtime_classes;
pub mod secrets;
pub mod selector;
pub mod service_accounts;
pub mod store;
pub mod strategic_merge;
pub mod strategy;
pub mod time;
pub mod tokens;
pub mod validation;
pub mod watch;

pub use admission::{is_mirror_pod, Requester};
pub use error::Error;
pub use events::EventStore;
pub use generic::{Sequence, Store};
pub use namespaces::NamespaceStore;
pub use registry::Api;
pub use store::{ApiError, DeleteOptions, PodStore};
pub use strategy::{PodStrategy, Strategy};
pub use validation::validate_pod_update;
pub use watch::{PodWatch, Watch, WatchEvent};
