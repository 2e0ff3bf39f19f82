//! The pod rules the API applies, in the four steps of a Kubernetes resource strategy
//! (pkg/registry/core/pod/strategy.go): PrepareForCreate, Validate, PrepareForUpdate,
//! ValidateUpdate. The store calls these and nothing else of pod logic.

use k8s_openapi::api::core::v1::{Pod, PodStatus};

use super::{defaults, qos};
use crate::manifest::validation::{validate_pod_create, FieldError};

/// Decoding defaults, and the status a new pod starts with: Pending, with its QoS class.
pub fn prepare_for_create(pod: &mut Pod) {
    defaults::apply(pod);
    pod.status = Some(PodStatus { phase: Some("Pending".into()), qos_class: Some(qos::qos_class(pod).into()), ..Default::default() });
}

pub fn validate_create(pod: &Pod) -> Vec<FieldError> {
    validate_pod_create(pod)
}

/// Decoding defaults (a PUT that leaves out a defaulted field gets the default back); the
/// status is the stored one (the status subresource writes it).
pub fn prepare_for_update(new: &mut Pod, old: &Pod) {
    defaults::apply(new);
    new.status = old.status.clone();
}

pub fn validate_update(new: &Pod, old: &Pod) -> Vec<FieldError> {
    super::validate_pod_update(new, old)
}
