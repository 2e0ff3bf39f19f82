//! The pod strategy: the one place for what the API does to a pod on create, update and delete,
//! as kube-apiserver's pod strategy does it (pkg/registry/core/pod/strategy.go). The store, the
//! HTTP server and the up-front manifest checks all go through it.
//!
//! - `prepare_for_create`: defaulting, and the status cleared to `Pending` with the QoS class;
//! - `validate`: the create rules (ValidatePodCreate);
//! - `prepare_for_update`: defaulting; the status is kept (it changes through the status subresource only),
//!   the generation grows when the spec changes;
//! - `validate_update`: the update rules (ValidatePodUpdate);
//! - `prepare_for_status_update`: a status write keeps the spec and metadata;
//! - `prepare_for_ephemeral_update`, `validate_ephemeral_update`: a write through the
//!   `ephemeralcontainers` subresource (`ephemeral.rs`, `validation/ephemeral.rs`);
//! - `check_graceful_delete`: the grace period a delete gets.

use k8s_openapi::api::core::v1::{Pod, PodStatus};

use crate::validation::{validate_pod_create, FieldError};

/// What a resource's strategy decides, as kube-apiserver's RESTCreateStrategy,
/// RESTUpdateStrategy and RESTGracefulDeleteStrategy do. The generic store
/// (`generic.rs`) calls it for every kind; a new kind is a strategy registered with the API.
pub trait Strategy: Send + Sync + 'static {
    type Object;

    /// Whether objects of the kind live in a namespace (NamespaceScoped).
    const NAMESPACED: bool = true;

    /// The node an object is bound to, for the store's node index (a pod's `spec.nodeName`);
    /// none for a kind that is not bound to nodes.
    fn node_of(_object: &Self::Object) -> Option<&str> {
        None
    }

    /// A key the store also finds objects of the kind by, through an index (an event's
    /// aggregation key: its repeat is found without looking at other events); none for a kind
    /// without one.
    fn lookup_key(_object: &Self::Object) -> Option<String> {
        None
    }

    /// Defaulting and clearing what clients cannot set, before validation.
    fn prepare_for_create(&self, object: &mut Self::Object);
    fn validate(&self, object: &Self::Object) -> Vec<FieldError>;
    /// Repairs of an update from the stored object, before validation.
    fn prepare_for_update(&self, new: &mut Self::Object, old: &Self::Object);
    fn validate_update(&self, new: &Self::Object, old: &Self::Object) -> Vec<FieldError>;
    /// Warnings a create returns beside the object (WarningsOnCreate).
    fn warnings_on_create(&self, _object: &Self::Object) -> Vec<String> {
        Vec::new()
    }
    /// The grace period of a delete (CheckGracefulDelete): 0, the object goes at once (unless
    /// finalizers hold it), for a kind without graceful deletion.
    fn check_graceful_delete(&self, _object: &Self::Object, _requested: Option<i64>) -> i64 {
        0
    }
}

/// The strategy for pods.
#[derive(Debug, Clone, Copy, Default)]
pub struct PodStrategy;

/// The grace period of a pod whose spec has none (the API's default for
/// `terminationGracePeriodSeconds`).
pub const DEFAULT_GRACE_SECONDS: i64 = 30;

impl Strategy for PodStrategy {
    type Object = Pod;

    fn node_of(pod: &Pod) -> Option<&str> {
        pod.spec.as_ref()?.node_name.as_deref().filter(|n| !n.is_empty())
    }

    /// Decoding defaults (`defaults.rs`), generation 1, and the status a new pod starts with:
    /// Pending, with its QoS class (`qos.rs`).
    fn prepare_for_create(&self, pod: &mut Pod) {
        super::defaults::apply(pod);
        pod.metadata.generation = Some(1);
        let qos_class = Some(super::qos::qos_class(pod).to_string());
        pod.status = Some(PodStatus { phase: Some("Pending".into()), qos_class, ..Default::default() });
    }

    fn validate(&self, pod: &Pod) -> Vec<FieldError> {
        validate_pod_create(pod)
    }

    /// Decoding defaults first (a PUT that leaves out a defaulted field gets the default back),
    /// then the stored status and the generation.
    fn prepare_for_update(&self, new: &mut Pod, old: &Pod) {
        super::defaults::apply(new);
        // The mutating admission plugins an update of a pod meets (as kube-apiserver runs them
        // before the strategy).
        super::pod_admission::admit_update(new, old);
        new.status = old.status.clone();
        new.metadata.generation = old.metadata.generation;
        if serde_json::to_value(&new.spec).ok() != serde_json::to_value(&old.spec).ok() {
            new.metadata.generation = Some(old.metadata.generation.unwrap_or(1) + 1);
        }
    }

    fn validate_update(&self, new: &Pod, old: &Pod) -> Vec<FieldError> {
        super::validate_pod_update(new, old)
    }

    /// The grace period of a delete (podStrategy.CheckGracefulDelete): the one asked for, or
    /// the pod's own; 0 for a pod not bound to a node or already terminated; 1 for a negative
    /// one.
    fn check_graceful_delete(&self, pod: &Pod, requested: Option<i64>) -> i64 {
        let spec = pod.spec.as_ref();
        let mut period =
            requested.unwrap_or_else(|| spec.and_then(|s| s.termination_grace_period_seconds).unwrap_or(DEFAULT_GRACE_SECONDS));
        if spec.and_then(|s| s.node_name.as_deref()).unwrap_or("").is_empty() {
            period = 0;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Failed" | "Succeeded")) {
            period = 0;
        }
        // A negative grace period is taken as 1 s.
        if period < 0 {
            1
        } else {
            period
        }
    }
}

impl PodStrategy {
    /// A status write changes the status only (podStatusStrategy.PrepareForUpdate).
    pub fn prepare_for_status_update(&self, new: &mut Pod, old: &Pod) {
        new.spec = old.spec.clone();
        new.metadata.labels = old.metadata.labels.clone();
        new.metadata.annotations = old.metadata.annotations.clone();
        new.metadata.finalizers = old.metadata.finalizers.clone();
        new.metadata.owner_references = old.metadata.owner_references.clone();
        new.metadata.generation = old.metadata.generation;
    }

    /// A write through the `ephemeralcontainers` subresource changes the ephemeral containers
    /// only (podEphemeralContainersStrategy.PrepareForUpdate).
    pub fn prepare_for_ephemeral_update(&self, new: &mut Pod, old: &Pod) {
        super::ephemeral::prepare_for_update(new, old);
    }

    /// Its rules (ValidatePodEphemeralContainersUpdate).
    pub fn validate_ephemeral_update(&self, new: &Pod, old: &Pod) -> Vec<FieldError> {
        crate::validation::ephemeral::validate_update(new, old)
    }

    /// The errors a manifest would get from the API on create: prepared, then validated.
    pub fn create_errors(&self, pod: &Pod) -> Vec<FieldError> {
        let mut pod = pod.clone();
        self.prepare_for_create(&mut pod);
        self.validate(&pod)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(extra_spec: &str) -> Pod {
        serde_yaml::from_str(&format!(
            "metadata: {{name: web}}\nspec:\n  nodeName: n\n  containers:\n  - {{name: a, image: busybox}}\n{extra_spec}"
        ))
        .unwrap()
    }

    #[test]
    fn a_delete_gets_the_pods_grace_period_unless_it_is_unbound_or_terminated() {
        let s = PodStrategy;
        assert_eq!(s.check_graceful_delete(&pod(""), None), 30);
        assert_eq!(s.check_graceful_delete(&pod("  terminationGracePeriodSeconds: 5\n"), None), 5);
        assert_eq!(s.check_graceful_delete(&pod("  terminationGracePeriodSeconds: 5\n"), Some(2)), 2);
        let mut unbound = pod("");
        unbound.spec.as_mut().unwrap().node_name = None;
        assert_eq!(s.check_graceful_delete(&unbound, None), 0);
        let mut done = pod("");
        done.status = Some(PodStatus { phase: Some("Succeeded".into()), ..Default::default() });
        assert_eq!(s.check_graceful_delete(&done, Some(10)), 0);
        assert_eq!(s.check_graceful_delete(&pod(""), Some(-5)), 1, "a negative grace period is 1 s");
    }

    #[test]
    fn create_clears_the_status_and_an_update_keeps_the_stored_one() {
        let s = PodStrategy;
        let mut p = pod("");
        p.status = Some(PodStatus { phase: Some("Running".into()), ..Default::default() });
        // As the store creates it: admitted (Priority, DefaultTolerationSeconds), then prepared.
        crate::pod_admission::admit_create(&mut p).unwrap();
        s.prepare_for_create(&mut p);
        assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Pending"));
        let mut new = pod("");
        new.metadata.generation = Some(7);
        let mut old = p.clone();
        old.metadata.generation = Some(1);
        s.prepare_for_update(&mut new, &old);
        assert_eq!(new.status, old.status);
        assert_eq!(new.metadata.generation, Some(1));
    }
}
