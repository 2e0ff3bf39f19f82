//! Validation, as kube-apiserver's strategies call it, with Kubernetes' field paths and texts
//! (pkg/apis/core/validation; apimachinery's `field.ErrorList`): a field error and its list
//! (`field_error`), object metadata (`metadata`), a pod on create and on every write (`pod`,
//! with its containers, volumes and scheduling in `pod_rules` and its security context in
//! `security`), a pod's update (`update`), ephemeral containers (`ephemeral`) and a service
//! account token's lifetime (`tokens`). The strategies (`crate::strategy`, and one per kind) call
//! it; nothing here calls back up into them or into the store.

pub mod ephemeral;
pub mod field_error;
pub mod metadata;
pub mod pod;
pub mod pod_rules;
pub mod security;
pub mod tokens;
pub mod update;

pub use field_error::{aggregate, FieldError, FieldErrorKind};
pub use pod::{validate_pod, validate_pod_create};
pub use update::validate_pod_update;
