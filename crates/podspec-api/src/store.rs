//! The pods of the reference API, in the generic store (`generic.rs`) with the pod strategy,
//! and the API's errors with Kubernetes' texts. No I/O: the kubelet reads from it and writes
//! status back.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use sha2::{Digest, Sha256};

use super::admission::{admit_create, Requester};
use super::generic::{Sequence, Store};
use super::strategy::{PodStrategy, Strategy};
use super::watch::ChangeKind;
use crate::validation::aggregate;

/// A Kubernetes `Status` error: HTTP code, reason, and the message as the API server words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    /// For 422 Invalid: one cause per field error (Status `details.causes`).
    pub causes: Vec<Cause>,
}

/// A Status cause: `FieldValueInvalid` and the like, the error's text, and its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

impl ApiError {
    /// A pod that is invalid (422).
    pub fn invalid(name: &str, errors: &[crate::validation::FieldError]) -> Self {
        Self::invalid_kind("Pod", name, errors)
    }
    /// An object of `kind` (`Pod`) that is invalid (422), one cause per field error.
    pub fn invalid_kind(kind: &str, name: &str, errors: &[crate::validation::FieldError]) -> Self {
        let causes =
            errors.iter().map(|e| Cause { reason: e.kind.cause_reason().into(), message: e.body(), field: e.field.clone() }).collect();
        Self { code: 422, reason: "Invalid".into(), message: format!("{kind} {name:?} is invalid: {}", aggregate(errors)), causes }
    }
    pub fn not_found(name: &str) -> Self {
        Self::not_found_of("pods", name)
    }
    /// No object `name` of `resource` (`pods`).
    pub fn not_found_of(resource: &str, name: &str) -> Self {
        Self { code: 404, reason: "NotFound".into(), message: format!("{resource} {name:?} not found"), causes: Vec::new() }
    }
    pub fn already_exists(name: &str) -> Self {
        Self::already_exists_of("pods", name)
    }
    pub fn already_exists_of(resource: &str, name: &str) -> Self {
        Self { code: 409, reason: "AlreadyExists".into(), message: format!("{resource} {name:?} already exists"), causes: Vec::new() }
    }
    pub fn conflict(name: &str) -> Self {
        Self::conflict_of("pods", name)
    }
    pub fn conflict_of(resource: &str, name: &str) -> Self {
        Self {
            code: 409,
            reason: "Conflict".into(),
            causes: Vec::new(),
            message: format!(
                "Operation cannot be fulfilled on {resource} {name:?}: the object has been modified; please apply your changes to the latest version and try again"
            ),
        }
    }
    fn forbidden(name: &str, why: &str) -> Self {
        Self::forbidden_of("pods", name, why)
    }
    pub fn forbidden_of(resource: &str, name: &str, why: &str) -> Self {
        Self { code: 403, reason: "Forbidden".into(), message: format!("{resource} {name:?} is forbidden: {why}"), causes: Vec::new() }
    }
    pub fn bad_request(message: String) -> Self {
        Self { code: 400, reason: "BadRequest".into(), message, causes: Vec::new() }
    }
    /// A watch from a resourceVersion the history no longer holds (410 Gone).
    pub fn expired(rv: u64, oldest: u64) -> Self {
        Self { code: 410, reason: "Expired".into(), message: format!("too old resource version: {rv} ({oldest})"), causes: Vec::new() }
    }
    /// A delete whose precondition failed (the generic store's text).
    pub fn precondition_of(resource: &str, name: &str, what: &str, wanted: &str, stored: &str) -> Self {
        Self {
            code: 409,
            reason: "Conflict".into(),
            causes: Vec::new(),
            message: format!(
                "Operation cannot be fulfilled on {resource} {name:?}: Precondition failed: {what} in precondition: {wanted}, {what} in object meta: {stored}"
            ),
        }
    }
}

/// What records an update in managedFields, given the stored pod it replaces.
pub type Record<'a> = &'a dyn Fn(&Pod, &mut Pod);

/// A delete's options (metav1.DeleteOptions): the grace period, and preconditions on the uid
/// and resourceVersion of the object deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// None: the object's own (the strategy decides).
    pub grace_period_seconds: Option<i64>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

impl DeleteOptions {
    pub fn grace(seconds: i64) -> Self {
        Self { grace_period_seconds: Some(seconds), ..Default::default() }
    }
    /// Grace 0 for the pod with this uid only (the kubelet's final delete).
    pub fn now_for(uid: &str) -> Self {
        Self { grace_period_seconds: Some(0), uid: Some(uid.to_string()), ..Default::default() }
    }
}

/// Why a create with the node's admission did not happen: the node cannot run the pod (what
/// it cannot run), or the API refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Node(String),
    Api(ApiError),
}

/// The pods: the generic store with the pod strategy, and what pods have beyond it
/// (admission on create, the status and ephemeralcontainers subresources).
pub type PodStore = Store<PodStrategy>;

impl Store<PodStrategy> {
    /// A store of pods of its own (its own resourceVersions), its uids made from `seed`.
    pub fn new(seed: &str) -> Self {
        Self::with_strategy(PodStrategy, Arc::new(Sequence::default()), seed)
    }

    /// Creates a pod as the API server does: admits it, prepares and validates it through the
    /// strategy, and sets uid, resourceVersion, generation 1 and creationTimestamp.
    pub fn create(&self, pod: &Pod, requester: Requester<'_>) -> Result<Pod, ApiError> {
        self.create_as(pod, requester, false)
    }

    /// A create, or with `dry_run` (`dryRun=All`) everything a create does but the write: the
    /// pod is admitted, prepared and validated, and returned as it would be stored, without a
    /// resourceVersion; the store and its watchers see nothing.
    pub fn create_as(&self, pod: &Pod, requester: Requester<'_>, dry_run: bool) -> Result<Pod, ApiError> {
        let mut pod = pod.clone();
        pod.metadata.namespace.get_or_insert_with(|| "default".into());
        let name = pod.metadata.name.clone().unwrap_or_default();
        // The mutating plugins (Priority, DefaultTolerationSeconds), then the validating ones.
        if let Err(why) = super::pod_admission::admit_create(&mut pod) {
            return Err(ApiError::forbidden(&name, &why.to_string()));
        }
        if let Some(why) = admit_create(&pod, requester) {
            return Err(ApiError::forbidden(&name, &why));
        }
        self.create_object(&pod, dry_run)
    }

    /// A create that asks the node's admission (registered with [`Store::admit_on_node`]) first:
    /// a valid pod that is not a mirror pod and that the node cannot run is refused, naming
    /// what, before anything is written (the reference target's create; an API server's
    /// clients instead see the kubelet's refusal in the pod's status).
    pub fn create_admitted(&self, pod: &Pod, requester: Requester<'_>) -> Result<Pod, Refusal> {
        if !super::is_mirror_pod(pod) && self.strategy.create_errors(pod).is_empty() {
            self.admit(pod).map_err(Refusal::Node)?;
        }
        self.create(pod, requester).map_err(Refusal::Api)
    }

    /// An update whose managedFields `record` works out from the stored pod it replaces, in
    /// the same write: a write in between (the kubelet's status) cannot be lost from them.
    pub fn update_recorded(&self, namespace: &str, name: &str, pod: &Pod, dry_run: bool, record: Record<'_>) -> Result<Pod, ApiError> {
        self.update_with(namespace, name, pod, dry_run, |strategy, new, old| {
            record(old, new);
            strategy.prepare_for_update(new, old);
            strategy.validate_update(new, old)
        })
    }

    /// A write of the pod's `ephemeralcontainers` subresource (a PUT of the whole pod, of which
    /// only `spec.ephemeralContainers` is taken), with the same checks of name, namespace and
    /// resourceVersion as a pod update, then the subresource's strategy.
    /// `manager`, when given, is recorded in managedFields with subresource
    /// `ephemeralcontainers` (the API server records every write; the reference target's own
    /// writes record none, as its pod writes do not).
    pub fn update_ephemeral_containers(
        &self,
        namespace: &str,
        name: &str,
        pod: &Pod,
        dry_run: bool,
        manager: Option<&str>,
    ) -> Result<Pod, ApiError> {
        self.update_with(namespace, name, pod, dry_run, |strategy, new, old| {
            strategy.prepare_for_ephemeral_update(new, old);
            if let Some(m) = manager {
                super::managed_fields::record_ephemeral_containers_update(old, new, m, super::managed_fields::now());
            }
            strategy.validate_ephemeral_update(new, old)
        })
    }

    /// The kubelet's status write (the status subresource), for the pod with this uid only.
    pub fn set_status(&self, namespace: &str, name: &str, uid: &str, status: PodStatus) -> Result<(), ApiError> {
        self.set_status_as(namespace, name, uid, status, "kubelet")
    }

    /// A status write by `manager`, recorded in managedFields with subresource `status`.
    pub fn set_status_as(&self, namespace: &str, name: &str, uid: &str, status: PodStatus, manager: &str) -> Result<(), ApiError> {
        self.set_status_with(namespace, name, uid, manager, |_| status)
    }

    /// A write through the status subresource by a client (a PUT or a patch of `pods/status`),
    /// for the pod with this uid: as podStatusStrategy.PrepareForUpdate, the spec, the
    /// deletionTimestamp and the ownerReferences stay as stored, while the status, the labels
    /// and the annotations are written (validated as a pod update validates them); an empty
    /// qosClass keeps the stored one. `base` is the pod `new` was made from: labels or
    /// annotations it did not change keep what is stored now (a write in between is not undone).
    /// Returns the pod as written.
    pub fn write_status_subresource(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
        manager: &str,
        base: &Pod,
        new: &Pod,
    ) -> Result<Pod, ApiError> {
        self.write_status_checked(namespace, name, uid, manager, base, new, None)
    }

    /// A PUT of the status subresource: the whole pod `new`, written as
    /// [`Self::write_status_subresource`] writes, for the pod stored now. A resourceVersion in `new` must be the stored one, checked in the same write as
    /// the API server's update does: a write in between (the kubelet's status) makes it a
    /// Conflict, never lost. Returns the pod as written.
    pub fn replace_status(&self, namespace: &str, name: &str, manager: &str, new: &Pod) -> Result<Pod, ApiError> {
        let current = self.get(namespace, name)?;
        let uid = current.metadata.uid.clone().unwrap_or_default();
        let rv = new.metadata.resource_version.as_deref().filter(|rv| !rv.is_empty());
        self.write_status_checked(namespace, name, &uid, manager, &current, new, rv)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_status_checked(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
        manager: &str,
        base: &Pod,
        new: &Pod,
        resource_version: Option<&str>,
    ) -> Result<Pod, ApiError> {
        let mut errors = Vec::new();
        crate::validation::metadata::validate_labels(new.metadata.labels.as_ref(), "metadata.labels", &mut errors);
        crate::validation::metadata::validate_annotations(new.metadata.annotations.as_ref(), "metadata.annotations", &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::invalid(name, &errors));
        }
        self.write(|pods| {
            let old = pods
                .get_shared(&self.key(namespace, name))
                .filter(|p| p.metadata.uid.as_deref() == Some(uid))
                .ok_or_else(|| ApiError::not_found(name))?;
            if resource_version.is_some_and(|rv| old.metadata.resource_version.as_deref() != Some(rv)) {
                return Err(ApiError::conflict(name));
            }
            let mut next = Pod::clone(&old);
            let mut status = new.status.clone().unwrap_or_default();
            if status.qos_class.as_deref().unwrap_or("").is_empty() {
                status.qos_class = old.status.as_ref().and_then(|s| s.qos_class.clone());
            }
            next.status = Some(status);
            if new.metadata.labels != base.metadata.labels {
                next.metadata.labels = new.metadata.labels.clone();
            }
            if new.metadata.annotations != base.metadata.annotations {
                next.metadata.annotations = new.metadata.annotations.clone();
            }
            if next == *old {
                return Ok(Pod::clone(&old));
            }
            super::managed_fields::record_status_update(&old, &mut next, manager, super::managed_fields::now());
            Ok(Pod::clone(&pods.commit_shared(ChangeKind::Modified, next, Some(old))))
        })
    }

    /// A JSON merge patch (RFC 7386) of the pod's status subresource, written as
    /// [`Self::write_status_subresource`] writes; returns the pod as written.
    pub fn merge_patch_status(&self, namespace: &str, name: &str, manager: &str, patch: &serde_json::Value) -> Result<Pod, ApiError> {
        let current = self.get(namespace, name)?;
        let mut value = serde_json::to_value(&current).map_err(|e| ApiError::bad_request(e.to_string()))?;
        super::generic::merge(&mut value, patch);
        let patched: Pod =
            serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("the patch does not make a Pod: {e}")))?;
        let uid = current.metadata.uid.clone().unwrap_or_default();
        // The pod as written (the kubelet may write its own status right after).
        self.write_status_subresource(namespace, name, &uid, manager, &current, &patched)
    }

    /// A status write by `manager` of the status `make` works out from the stored one, in the
    /// same write: as the kubelet's status manager patches the latest pod, nothing written in
    /// between (a condition of someone else's) is lost.
    pub fn set_status_with(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
        manager: &str,
        make: impl FnOnce(Option<&PodStatus>) -> PodStatus,
    ) -> Result<(), ApiError> {
        self.write(|pods| {
            // The stored pod is shared, not copied: the history keeps it as the change's
            // previous version, and only the new version is made.
            let old = pods
                .get_shared(&self.key(namespace, name))
                .filter(|p| p.metadata.uid.as_deref() == Some(uid))
                .ok_or_else(|| ApiError::not_found(name))?;
            let status = make(old.status.as_ref());
            if old.status.as_ref() != Some(&status) {
                let mut new = Pod::clone(&old);
                new.status = Some(status);
                super::managed_fields::record_status_update(&old, &mut new, manager, super::managed_fields::now());
                pods.commit_shared(ChangeKind::Modified, new, Some(old));
            }
            Ok(())
        })
    }
}

/// A uid in Kubernetes' UUID form, unique per seed (a run) and counter.
pub fn uid(seed: &str, n: u64) -> String {
    let x = format!("{:x}", Sha256::digest(format!("{seed}-{n}")));
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WatchEvent;
    use serde_json::json;

    impl PodStore {
        fn create_as_user(&self, pod: &Pod) -> Result<Pod, ApiError> {
            self.create(pod, Requester::User)
        }
    }

    fn pod(name: &str) -> Pod {
        serde_yaml::from_str(&format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  nodeName: node\n  containers:\n  - {{name: a, image: busybox:1.36}}\n")).unwrap()
    }

    /// podStatusStrategy.PrepareForUpdate: a status patch writes the status, labels and
    /// annotations (the e2e test "should patch a pod status" sends an annotation with it), not
    /// the spec; labels are validated as on update.
    #[test]
    fn a_status_patch_writes_status_labels_and_annotations_but_not_the_spec() {
        let s = PodStore::new("t");
        s.create_as_user(&pod("web")).unwrap();
        let patch = json!({
            "metadata": {"annotations": {"patchedstatus": "true"}, "labels": {"a": "b"}},
            "spec": {"containers": [{"name": "a", "image": "busybox:1.35"}]},
            "status": {"message": "Patched by e2e test", "reason": "E2E"}
        });
        let p = s.merge_patch_status("ns", "web", "test", &patch).unwrap();
        let status = p.status.clone().unwrap_or_default();
        assert_eq!((status.message.as_deref(), status.reason.as_deref()), (Some("Patched by e2e test"), Some("E2E")));
        assert_eq!(p.metadata.annotations.unwrap_or_default().get("patchedstatus").map(String::as_str), Some("true"));
        assert_eq!(p.metadata.labels.unwrap_or_default().get("a").map(String::as_str), Some("b"));
        assert_eq!(p.spec.unwrap().containers[0].image.as_deref(), Some("busybox:1.36"));
        let e = s.merge_patch_status("ns", "web", "test", &json!({"metadata": {"labels": {"a": "not valid!"}}})).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
        assert!(e.message.contains("metadata.labels: Invalid value: \"not valid!\""), "{}", e.message);
    }

    #[test]
    fn create_sets_server_metadata_and_refuses_duplicates_and_invalid_pods() {
        let s = PodStore::new("t");
        let p = s.create_as_user(&pod("web")).unwrap();
        assert!(p.metadata.uid.is_some() && p.metadata.resource_version.is_some());
        assert_eq!(p.metadata.generation, Some(1));
        assert_eq!(s.create_as_user(&pod("web")).unwrap_err().message, "pods \"web\" already exists");
        let e = s.create_as_user(&pod("Bad_Name")).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
        assert!(e.message.starts_with("Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""), "{}", e.message);
    }

    #[test]
    fn an_image_patch_bumps_generation_and_a_forbidden_one_changes_nothing() {
        let s = PodStore::new("t");
        let created = s.create_as_user(&pod("web")).unwrap();
        let p = s.merge_patch("ns", "web", &json!({"spec": {"containers": [{"name": "a", "image": "busybox:1.35"}]}})).unwrap();
        assert_eq!(p.metadata.generation, Some(2));
        assert_eq!(p.metadata.uid, created.metadata.uid);
        let e = s.merge_patch("ns", "web", &json!({"spec": {"restartPolicy": "Never"}})).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.contains("pod updates may not change fields other than"), "{}", e.message);
        let stored = s.get("ns", "web").unwrap();
        assert_eq!(stored.spec.unwrap().restart_policy.as_deref(), Some("Always"));
        assert_eq!(stored.metadata.generation, Some(2));
    }

    #[test]
    fn a_dry_run_checks_everything_and_writes_nothing() {
        let s = PodStore::new("t");
        let p = s.create_as(&pod("web"), Requester::User, true).unwrap();
        assert!(p.metadata.uid.is_some() && p.metadata.resource_version.is_none());
        assert_eq!((s.resource_version(), s.list().len()), (0, 0));
        assert_eq!(s.create_as(&pod("Bad_Name"), Requester::User, true).unwrap_err().code, 422);
        let created = s.create_as_user(&pod("web")).unwrap();
        assert_eq!(s.create_as(&pod("web"), Requester::User, true).unwrap_err().reason, "AlreadyExists");
        let mut changed = created.clone();
        changed.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
        let would = s.update_as("ns", "web", &changed, true).unwrap();
        assert_eq!(would.metadata.labels, changed.metadata.labels);
        let mut forbidden = created.clone();
        forbidden.spec.as_mut().unwrap().restart_policy = Some("Never".into());
        assert_eq!(s.update_as("ns", "web", &forbidden, true).unwrap_err().code, 422);
        let marked = s.delete_as("ns", "web", &DeleteOptions::grace(30), true).unwrap().unwrap();
        assert!(marked.metadata.deletion_timestamp.is_some());
        assert_eq!(s.delete_as("ns", "web", &DeleteOptions::grace(0), true).unwrap(), None);
        assert_eq!(s.get("ns", "web").unwrap(), created);
        assert_eq!(s.resource_version(), 1);
    }

    #[test]
    fn ephemeral_containers_come_through_their_subresource_only() {
        let s = PodStore::new("t");
        let created = s.create_as_user(&pod("web")).unwrap();
        let debugger: k8s_openapi::api::core::v1::EphemeralContainer =
            serde_json::from_value(json!({"name": "debugger", "image": "busybox:1.36"})).unwrap();
        let mut with = created.clone();
        with.spec.as_mut().unwrap().ephemeral_containers = Some(vec![debugger]);
        // A pod update may not add them: the munged spec differs.
        let e = s.update("ns", "web", &with).unwrap_err();
        assert!(
            e.message.starts_with("Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than"),
            "{}",
            e.message
        );
        assert!(e.message.contains("+ephemeralContainers:"), "{}", e.message);
        // The subresource takes them, and nothing else of the object.
        with.spec.as_mut().unwrap().restart_policy = Some("Never".into());
        let stored = s.update_ephemeral_containers("ns", "web", &with, false, None).unwrap();
        let spec = stored.spec.as_ref().unwrap();
        assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
        assert_eq!(spec.ephemeral_containers.as_ref().unwrap()[0].termination_message_policy.as_deref(), Some("File"));
        assert_eq!(stored.metadata.generation, Some(2));
        // ... with the same resourceVersion check as any update.
        let e = s.update_ephemeral_containers("ns", "web", &with, false, None).unwrap_err();
        assert_eq!(e.reason, "Conflict");
        // Removing one is refused, and changes nothing.
        let mut removed = stored.clone();
        removed.spec.as_mut().unwrap().ephemeral_containers = None;
        let e = s.update_ephemeral_containers("ns", "web", &removed, false, None).unwrap_err();
        assert_eq!(
            e.message,
            "Pod \"web\" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger\" may not be removed\n"
        );
        assert_eq!(s.get("ns", "web").unwrap(), stored);
    }

    #[test]
    fn a_create_that_asks_the_node_is_refused_by_its_admission_before_anything_is_written() {
        let s = PodStore::new("t");
        s.admit_on_node(Box::new(|p: &Pod| match p.metadata.name.as_deref() {
            Some("refused") => Err("what this node cannot run".into()),
            _ => Ok(()),
        }));
        assert_eq!(s.create_admitted(&pod("refused"), Requester::User), Err(Refusal::Node("what this node cannot run".into())));
        assert_eq!(s.resource_version(), 0, "nothing written");
        assert!(s.create_admitted(&pod("web"), Requester::User).is_ok());
        // The API's own errors come first: an invalid pod is Invalid, not refused by the node.
        let mut invalid = pod("refused");
        invalid.spec.as_mut().unwrap().containers.clear();
        assert!(matches!(s.create_admitted(&invalid, Requester::User), Err(Refusal::Api(e)) if e.code == 422));
        // A create that does not ask (an API server's) is not refused by the node.
        assert!(s.create(&pod("refused"), Requester::User).is_ok());
    }

    #[test]
    fn a_stale_resource_version_conflicts() {
        let s = PodStore::new("t");
        let mut p = s.create_as_user(&pod("web")).unwrap();
        p.metadata.resource_version = Some("0".into());
        assert_eq!(s.update("ns", "web", &p).unwrap_err().reason, "Conflict");
    }

    #[test]
    fn finalizers_hold_a_deleted_pod_until_removed() {
        let s = PodStore::new("t");
        let mut p = pod("web");
        p.metadata.finalizers = Some(vec!["example.com/hold".into()]);
        s.create_as_user(&p).unwrap();
        let held = s.delete("ns", "web", &DeleteOptions::grace(0)).unwrap().expect("kept");
        assert!(held.metadata.deletion_timestamp.is_some());
        let e = s.merge_patch("ns", "web", &json!({"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}})).unwrap_err();
        assert!(e.message.contains("no new finalizers can be added if the object is being deleted"), "{}", e.message);
        s.merge_patch("ns", "web", &json!({"metadata": {"finalizers": null}})).unwrap();
        assert_eq!(s.get("ns", "web").unwrap_err().code, 404);
    }

    #[test]
    fn generation_starts_at_1_grows_with_the_spec_and_a_graceful_delete_and_ignores_the_client() {
        // test/e2e/node/pods.go "Pod Generation" (Kubernetes 1.35 conformance).
        let s = PodStore::new("t");
        let mut p = pod("web");
        p.metadata.generation = Some(100);
        let created = s.create_as_user(&p).unwrap();
        assert_eq!(created.metadata.generation, Some(1));
        let p = s.merge_patch("ns", "web", &json!({"metadata": {"annotations": {"key": "value"}}})).unwrap();
        assert_eq!(p.metadata.generation, Some(1), "a metadata change is no spec change");
        let p = s.merge_patch("ns", "web", &json!({"metadata": {"generation": 1}, "spec": {"activeDeadlineSeconds": 5000}})).unwrap();
        assert_eq!(p.metadata.generation, Some(2));
        let mut set_by_client = p.clone();
        set_by_client.metadata.generation = Some(9);
        assert_eq!(s.update_as("ns", "web", &set_by_client, false).unwrap().metadata.generation, Some(2));
        let marked = s.delete("ns", "web", &DeleteOptions::grace(60)).unwrap().expect("kept");
        assert_eq!(marked.metadata.generation, Some(3), "a graceful delete bumps the generation");
        let again = s.delete("ns", "web", &DeleteOptions::grace(60)).unwrap().expect("kept");
        assert_eq!(again.metadata.generation, Some(3), "the same deletion again changes nothing");
    }

    #[test]
    fn a_graceful_delete_marks_the_pod_and_grace_zero_removes_it() {
        let s = PodStore::new("t");
        s.create_as_user(&pod("web")).unwrap();
        let marked = s.delete("ns", "web", &DeleteOptions::grace(30)).unwrap().expect("kept while the kubelet stops it");
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));
        assert_eq!(s.delete("ns", "web", &DeleteOptions::grace(0)).unwrap(), None);
        assert_eq!(s.get("ns", "web").unwrap_err().code, 404);
    }

    /// Each version is kept once: the history's change of a status write, an update and a
    /// delete shares the version the store held (and the one it holds after), not copies.
    #[test]
    fn writes_share_each_version_between_the_store_and_the_history() {
        use crate::watch::ChangeSource;
        let s = PodStore::new("t");
        let p = s.create_as_user(&pod("web")).unwrap();
        let key = s.key("ns", "web");
        let stored = || s.write(|pods| Ok(pods.get_shared(&key))).unwrap();
        let created = stored().unwrap();
        let from = s.resource_version();
        let status = PodStatus { phase: Some("Running".into()), ..Default::default() };
        s.set_status("ns", "web", p.metadata.uid.as_deref().unwrap(), status).unwrap();
        let running = stored().unwrap();
        s.merge_patch("ns", "web", &json!({"metadata": {"labels": {"a": "b"}}})).unwrap();
        let labelled = stored().unwrap();
        s.delete("ns", "web", &DeleteOptions::grace(0)).unwrap();
        let (changes, _) = s.changes_since(from, &crate::generic::Scope::default()).unwrap();
        assert_eq!(changes.len(), 3);
        for (change, (before, after)) in changes.iter().zip([(&created, Some(&running)), (&running, Some(&labelled)), (&labelled, None)]) {
            assert!(Arc::ptr_eq(change.prev.as_ref().unwrap(), before), "the previous version is the stored one ({:?})", change.kind);
            if let Some(after) = after {
                assert!(Arc::ptr_eq(&change.object, after), "the new version is the stored one ({:?})", change.kind);
            }
        }
    }

    /// `n` pods `name-0`.. in `namespace`, bound to `node` (none: unbound).
    fn pods_in(s: &PodStore, namespace: &str, node: Option<&str>, name: &str, n: usize) {
        for i in 0..n {
            let mut p = pod(&format!("{name}-{i}"));
            p.metadata.namespace = Some(namespace.into());
            p.spec.as_mut().unwrap().node_name = node.map(str::to_string);
            s.create_as_user(&p).unwrap();
        }
    }

    fn visits(s: &PodStore) -> usize {
        s.write(|pods| Ok(pods.visits.replace(0))).unwrap()
    }

    fn names(pods: &[Pod]) -> Vec<String> {
        pods.iter().map(|p| p.metadata.name.clone().unwrap_or_default()).collect()
    }

    /// A list of a namespace looks at that namespace's pods only, through the keys' order: the
    /// 200 pods of another namespace cost it nothing (a scan would look at 203).
    #[test]
    fn a_namespace_list_looks_at_that_namespaces_pods_only() {
        use crate::generic::Scope;
        let s = PodStore::new("t");
        pods_in(&s, "a", Some("node"), "x", 100);
        pods_in(&s, "ns", Some("node"), "web", 3);
        pods_in(&s, "z", Some("node"), "x", 100);
        visits(&s);
        let (listed, rv) = s.list_scoped(&Scope::namespace("ns"));
        assert_eq!(names(&listed), ["web-0", "web-1", "web-2"]);
        assert_eq!(rv, s.resource_version());
        assert_eq!(visits(&s), 3, "pods of other namespaces were looked at");
        assert!(s.list_scoped(&Scope::namespace("n")).0.is_empty());
        assert_eq!(s.list_scoped(&Scope::default()).0.len(), 203);
    }

    /// A list of a node's pods looks at that node's pods only, through the node index, which
    /// follows creates and deletes.
    #[test]
    fn a_node_list_looks_at_that_nodes_pods_only() {
        use crate::generic::Scope;
        let s = PodStore::new("t");
        pods_in(&s, "ns", Some("other"), "x", 100);
        pods_in(&s, "ns", None, "unbound", 50);
        pods_in(&s, "ns", Some("n1"), "web", 2);
        pods_in(&s, "b", Some("n1"), "web", 1);
        visits(&s);
        let n1 = Scope { namespace: None, node: Some("n1".into()) };
        assert_eq!(names(&s.list_scoped(&n1).0), ["web-0", "web-0", "web-1"]);
        assert_eq!(visits(&s), 3, "pods of other nodes were looked at");
        let n1_in_ns = Scope { namespace: Some("ns".into()), node: Some("n1".into()) };
        assert_eq!(names(&s.list_scoped(&n1_in_ns).0), ["web-0", "web-1"]);
        s.delete("ns", "web-0", &DeleteOptions::grace(0)).unwrap();
        assert_eq!(names(&s.list_scoped(&n1_in_ns).0), ["web-1"]);
        assert_eq!(s.write(|pods| Ok(pods.indexed_on("n1"))).unwrap(), 2, "a deleted pod is out of the index");
        s.delete("ns", "x-0", &DeleteOptions::grace(0)).unwrap();
        assert_eq!(s.write(|pods| Ok(pods.indexed_on("other"))).unwrap(), 99);
    }

    /// A watch of a namespace is handed that namespace's changes only: the changes of other
    /// namespaces are neither cloned for it nor shown to its filter.
    #[tokio::test]
    async fn a_scoped_watch_is_handed_its_scopes_changes_only() {
        use crate::generic::Scope;
        use crate::watch::ChangeSource;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let s = Arc::new(PodStore::new("t"));
        let from = s.resource_version();
        let shown = Arc::new(AtomicUsize::new(0));
        let counted = shown.clone();
        let filter = Box::new(move |_: &Pod| {
            counted.fetch_add(1, Ordering::SeqCst);
            true
        });
        let mut w = s.watch_scoped(Some(from), Scope::namespace("ns"), filter).unwrap();
        pods_in(&s, "other", Some("node"), "x", 50);
        pods_in(&s, "ns", Some("node"), "web", 2);
        let (handed, _) = s.changes_since(from, &Scope::namespace("ns")).unwrap();
        assert_eq!(handed.len(), 2, "changes of other namespaces handed to the watch");
        assert_eq!(name_of(&w.next().await.unwrap()), ("ADDED", "web-0".into()));
        assert_eq!(name_of(&w.next().await.unwrap()), ("ADDED", "web-1".into()));
        assert_eq!(shown.load(Ordering::SeqCst), 2, "the filter saw pods of other namespaces");
        // A pod that leaves a node's scope (deleted) is DELETED for a watch of that node.
        let on_node = Scope { namespace: None, node: Some("node".into()) };
        let mut w = s.watch_scoped(None, on_node, Box::new(|_| true)).unwrap();
        for _ in 0..52 {
            assert_eq!(w.next().await.unwrap().type_name(), "ADDED");
        }
        s.delete("ns", "web-0", &DeleteOptions::grace(0)).unwrap();
        assert_eq!(name_of(&w.next().await.unwrap()), ("DELETED", "web-0".into()));
    }

    #[test]
    fn status_writes_go_to_the_pod_with_that_uid_only() {
        let s = PodStore::new("t");
        let p = s.create_as_user(&pod("web")).unwrap();
        let status = PodStatus { phase: Some("Running".into()), ..Default::default() };
        assert_eq!(s.set_status("ns", "web", "other-uid", status.clone()).unwrap_err().code, 404);
        s.set_status("ns", "web", p.metadata.uid.as_deref().unwrap(), status).unwrap();
        assert_eq!(s.get("ns", "web").unwrap().status.unwrap().phase.as_deref(), Some("Running"));
    }

    fn name_of(e: &WatchEvent) -> (&'static str, String) {
        (e.type_name(), e.pod().and_then(|p| p.metadata.name.clone()).unwrap_or_default())
    }

    #[tokio::test]
    async fn a_watch_sees_every_change_after_its_resource_version_in_order() {
        let s = Arc::new(PodStore::new("t"));
        s.create_as_user(&pod("before")).unwrap();
        let from = s.resource_version();
        let mut w = s.watch(Some(from), Box::new(|_| true)).unwrap();
        let created = s.create_as_user(&pod("web")).unwrap();
        s.merge_patch("ns", "web", &json!({"metadata": {"labels": {"a": "b"}}})).unwrap();
        s.delete("ns", "web", &DeleteOptions::grace(0)).unwrap();
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(w.next().await.unwrap());
        }
        let names: Vec<_> = seen.iter().map(name_of).collect();
        assert_eq!(names, [("ADDED", "web".into()), ("MODIFIED", "web".into()), ("DELETED", "web".into())]);
        let rvs: Vec<u64> = seen.iter().map(|e| e.pod().unwrap().metadata.resource_version.as_ref().unwrap().parse().unwrap()).collect();
        assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");
        assert_eq!(seen[0].pod().unwrap().metadata.uid, created.metadata.uid);
        // Bookmarks once nothing happens, at the resourceVersion the watch has reached.
        let quiet = w.next_or_bookmark(std::time::Duration::from_millis(20)).await.unwrap();
        assert_eq!(quiet, WatchEvent::Bookmark(s.resource_version()));
    }

    #[tokio::test]
    async fn a_watch_without_resource_version_starts_with_the_current_pods_and_a_filter_turns_changes_into_adds_and_deletes() {
        let s = Arc::new(PodStore::new("t"));
        s.create_as_user(&pod("one")).unwrap();
        let labelled = |p: &Pod| p.metadata.labels.as_ref().is_some_and(|l| l.contains_key("app"));
        let mut all = s.watch(None, Box::new(|_| true)).unwrap();
        let mut app = s.watch(None, Box::new(labelled)).unwrap();
        assert_eq!(name_of(&all.next().await.unwrap()), ("ADDED", "one".into()));
        s.merge_patch("ns", "one", &json!({"metadata": {"labels": {"app": "x"}}})).unwrap();
        s.merge_patch("ns", "one", &json!({"metadata": {"labels": null}})).unwrap();
        assert_eq!(name_of(&app.next().await.unwrap()), ("ADDED", "one".into()));
        assert_eq!(name_of(&app.next().await.unwrap()), ("DELETED", "one".into()));
        assert_eq!(name_of(&all.next().await.unwrap()), ("MODIFIED", "one".into()));
    }

    #[test]
    fn a_resource_version_older_than_the_history_is_gone_with_reason_expired() {
        let s = Arc::new(PodStore::new("t"));
        s.create_as_user(&pod("web")).unwrap();
        for i in 0..crate::watch::HISTORY + 5 {
            s.merge_patch("ns", "web", &json!({"metadata": {"labels": {"n": i.to_string()}}})).unwrap();
        }
        let Err(e) = s.watch(Some(1), Box::new(|_| true)) else { panic!("a watch from 1 started") };
        assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
        assert_eq!(e.message, "too old resource version: 1 (6)");
        assert!(s.watch(Some(s.resource_version() - 10), Box::new(|_| true)).is_ok());
    }

    #[test]
    fn a_delete_with_a_stale_uid_precondition_conflicts_and_without_grace_uses_the_pods_own() {
        let s = PodStore::new("t");
        s.create_as_user(&pod("web")).unwrap();
        let e = s.delete("ns", "web", &DeleteOptions::now_for("other")).unwrap_err();
        assert_eq!(e.code, 409);
        assert!(e.message.contains("Precondition failed: UID in precondition: other"), "{}", e.message);
        let marked = s.delete("ns", "web", &DeleteOptions::default()).unwrap().expect("graceful");
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));
    }

    #[test]
    fn a_rename_by_put_or_patch_is_a_bad_request() {
        let s = PodStore::new("t");
        let mut p = s.create_as_user(&pod("web")).unwrap();
        p.metadata.name = Some("other".into());
        let e = s.update("ns", "web", &p).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (400, "BadRequest"));
        assert_eq!(e.message, "the name of the object (other) does not match the name on the URL (web)");
        let e = s.merge_patch("ns", "web", &json!({"metadata": {"name": "other"}})).unwrap_err();
        assert_eq!(e.message, "the name of the object (other) does not match the name on the URL (web)");
        assert!(s.get("ns", "other").is_err());
    }

    #[test]
    fn create_defaults_the_pod_and_sets_its_qos_class() {
        let s = PodStore::new("t");
        let p = s.create_as_user(&pod("web")).unwrap();
        let spec = p.spec.as_ref().unwrap();
        assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
        assert_eq!(spec.containers[0].image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert_eq!(p.status.unwrap().qos_class.as_deref(), Some("BestEffort"));
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        crate::generic::merge(&mut t, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(t, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }
}
