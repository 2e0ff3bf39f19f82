//! Ephemeral containers in the `ephemeralcontainers` subresource's strategy
//! (pkg/registry/core/pod/strategy.go: podEphemeralContainersStrategy,
//! dropNonEphemeralContainerUpdates): `prepare_for_update` (a write through the subresource
//! changes `spec.ephemeralContainers` only) and `as_container` (the container an ephemeral
//! container runs as). What the API allows of them is `validation::ephemeral`.

use k8s_openapi::api::core::v1::{Container, EphemeralContainer, Pod};

/// An ephemeral container as the container it runs as (`EphemeralContainerCommon` is a
/// `Container`'s fields; the target is the pod's business).
pub fn as_container(ec: &EphemeralContainer) -> Container {
    let mut v = serde_json::to_value(ec).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("targetContainerName");
    }
    serde_json::from_value(v).unwrap_or_default()
}

/// podEphemeralContainersStrategy.PrepareForUpdate: everything but `spec.ephemeralContainers`
/// is taken from the stored pod (the spec, the status, and the metadata a status write keeps:
/// ResetObjectMetaForStatus); the new ephemeral containers are defaulted as the API server
/// decodes them, and the generation grows when the spec changed.
pub fn prepare_for_update(new: &mut Pod, old: &Pod) {
    let ephemeral = new.spec.as_mut().and_then(|s| s.ephemeral_containers.take());
    let mut spec = old.spec.clone().unwrap_or_default();
    spec.ephemeral_containers = ephemeral;
    for ec in spec.ephemeral_containers.iter_mut().flatten() {
        super::defaults::ephemeral_container(ec);
    }
    new.spec = Some(spec);
    new.status = old.status.clone();
    let (m, o) = (&mut new.metadata, &old.metadata);
    m.deletion_timestamp = o.deletion_timestamp.clone();
    m.generation = o.generation;
    m.labels = o.labels.clone();
    m.annotations = o.annotations.clone();
    m.finalizers = o.finalizers.clone();
    m.owner_references = o.owner_references.clone();
    m.managed_fields = o.managed_fields.clone();
    if serde_json::to_value(&new.spec).ok() != serde_json::to_value(&old.spec).ok() {
        new.metadata.generation = Some(old.metadata.generation.unwrap_or(1) + 1);
    }
}
