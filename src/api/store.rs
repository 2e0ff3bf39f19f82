//! The object store of the reference API: pods with the metadata Kubernetes keeps (uid,
//! resourceVersion, generation, creationTimestamp, deletionTimestamp, finalizers), create,
//! update (whole object or JSON merge patch) and delete with Kubernetes' rules and error texts.
//! No I/O: the kubelet reads from it and writes status back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use sha2::{Digest, Sha256};

use super::admission::{admit_create, Requester};
use super::pod_rules;
use crate::manifest::validation::aggregate;

/// A Kubernetes `Status` error: HTTP code, reason, and the message as the API server words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: String,
    pub message: String,
}

impl ApiError {
    fn invalid(name: &str, errors: &[crate::manifest::FieldError]) -> Self {
        Self { code: 422, reason: "Invalid".into(), message: format!("Pod {name:?} is invalid: {}", aggregate(errors)) }
    }
    fn not_found(name: &str) -> Self {
        Self { code: 404, reason: "NotFound".into(), message: format!("pods {name:?} not found") }
    }
    fn already_exists(name: &str) -> Self {
        Self { code: 409, reason: "AlreadyExists".into(), message: format!("pods {name:?} already exists") }
    }
    fn conflict(name: &str) -> Self {
        Self {
            code: 409,
            reason: "Conflict".into(),
            message: format!(
                "Operation cannot be fulfilled on pods {name:?}: the object has been modified; please apply your changes to the latest version and try again"
            ),
        }
    }
    fn forbidden(name: &str, why: &str) -> Self {
        Self { code: 403, reason: "Forbidden".into(), message: format!("pods {name:?} is forbidden: {why}") }
    }
    fn bad_request(message: String) -> Self {
        Self { code: 400, reason: "BadRequest".into(), message }
    }
}

type Key = (String, String);

#[derive(Default)]
pub struct PodStore {
    pods: Mutex<BTreeMap<Key, Pod>>,
    resource_version: AtomicU64,
    next_uid: AtomicU64,
    /// Makes uids differ between stores (runs).
    seed: String,
}

fn key(pod: &Pod) -> Key {
    (pod.metadata.namespace.clone().unwrap_or_else(|| "default".into()), pod.metadata.name.clone().unwrap_or_default())
}

fn now() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    crate::runtime::kubelet::k8s_time(chrono::Utc::now())
}

impl PodStore {
    pub fn new(seed: &str) -> Self {
        Self { seed: seed.to_string(), ..Default::default() }
    }

    fn next_rv(&self) -> String {
        (self.resource_version.fetch_add(1, Ordering::Relaxed) + 1).to_string()
    }

    fn new_uid(&self) -> String {
        uid(&self.seed, self.next_uid.fetch_add(1, Ordering::Relaxed))
    }

    /// Creates a pod as the API server does: admits it, validates it, and sets uid,
    /// resourceVersion, generation 1, creationTimestamp and a Pending status.
    pub fn create(&self, pod: &Pod, requester: Requester<'_>) -> Result<Pod, ApiError> {
        let mut pod = pod.clone();
        pod.metadata.namespace.get_or_insert_with(|| "default".into());
        let name = pod.metadata.name.clone().unwrap_or_default();
        pod_rules::prepare_for_create(&mut pod);
        if let Some(why) = admit_create(&pod, requester) {
            return Err(ApiError::forbidden(&name, &why));
        }
        let errors = pod_rules::validate_create(&pod);
        if !errors.is_empty() {
            return Err(ApiError::invalid(&name, &errors));
        }
        let mut pods = self.pods.lock().unwrap();
        let k = key(&pod);
        if pods.contains_key(&k) {
            return Err(ApiError::already_exists(&name));
        }
        let m = &mut pod.metadata;
        m.uid = Some(self.new_uid());
        m.resource_version = Some(self.next_rv());
        m.generation = Some(1);
        m.creation_timestamp = Some(now());
        m.deletion_timestamp = None;
        pods.insert(k, pod.clone());
        Ok(pod)
    }

    pub fn get(&self, namespace: &str, name: &str) -> Result<Pod, ApiError> {
        self.pods.lock().unwrap().get(&(namespace.to_string(), name.to_string())).cloned().ok_or_else(|| ApiError::not_found(name))
    }

    pub fn list(&self) -> Vec<Pod> {
        self.pods.lock().unwrap().values().cloned().collect()
    }

    /// Replaces the pod `namespace/name` (a PUT to its URL). The object must name that pod.
    /// Server-managed metadata is repaired first, as the API server's BeforeUpdate does; then
    /// Kubernetes' update rules apply. A rejected update changes nothing.
    pub fn update(&self, namespace: &str, name: &str, pod: &Pod) -> Result<Pod, ApiError> {
        let object_name = pod.metadata.name.as_deref().unwrap_or("");
        if object_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({object_name}) does not match the name on the URL ({name})"
            )));
        }
        if pod.metadata.namespace.as_deref().is_some_and(|ns| ns != namespace) {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        let mut pods = self.pods.lock().unwrap();
        let k = (namespace.to_string(), name.to_string());
        let old = pods.get(&k).cloned().ok_or_else(|| ApiError::not_found(&k.1))?;
        let mut new = pod.clone();
        new.metadata.namespace = old.metadata.namespace.clone();
        if let Some(rv) = &new.metadata.resource_version {
            if Some(rv) != old.metadata.resource_version.as_ref() {
                return Err(ApiError::conflict(&k.1));
            }
        }
        // BeforeUpdate: clients cannot set these.
        new.metadata.generation = old.metadata.generation;
        if new.metadata.uid.as_deref().unwrap_or("").is_empty() {
            new.metadata.uid = old.metadata.uid.clone();
        }
        new.metadata.creation_timestamp = old.metadata.creation_timestamp.clone();
        new.metadata.deletion_timestamp = old.metadata.deletion_timestamp.clone();
        new.metadata.deletion_grace_period_seconds = old.metadata.deletion_grace_period_seconds;
        pod_rules::prepare_for_update(&mut new, &old);
        let errors = pod_rules::validate_update(&new, &old);
        if !errors.is_empty() {
            return Err(ApiError::invalid(&k.1, &errors));
        }
        // The generation grows when the spec changes.
        if serde_json::to_value(&new.spec).ok() != serde_json::to_value(&old.spec).ok() {
            new.metadata.generation = Some(old.metadata.generation.unwrap_or(1) + 1);
        }
        new.metadata.resource_version = Some(self.next_rv());
        // A pod whose deletion is complete but for its finalizers goes once the last one is
        // removed (the generic store's ShouldDeleteDuringUpdate).
        if old.metadata.deletion_grace_period_seconds == Some(0) && new.metadata.finalizers.as_ref().is_none_or(|f| f.is_empty()) {
            pods.remove(&k);
        } else {
            pods.insert(k, new.clone());
        }
        Ok(new)
    }

    /// Applies a JSON merge patch (RFC 7386), then updates.
    pub fn merge_patch(&self, namespace: &str, name: &str, patch: &serde_json::Value) -> Result<Pod, ApiError> {
        let current = self.get(namespace, name)?;
        let mut value = serde_json::to_value(&current).map_err(|e| ApiError::bad_request(e.to_string()))?;
        merge(&mut value, patch);
        let mut patched: Pod =
            serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("the patch does not make a pod: {e}")))?;
        patched.metadata.resource_version = current.metadata.resource_version.clone();
        self.update(namespace, name, &patched)
    }

    /// Deletes a pod as the API server does for pods. A graceful delete (grace > 0) only sets
    /// `deletionTimestamp` and `deletionGracePeriodSeconds`: the kubelet stops the pod, then
    /// deletes it with grace 0. A delete with grace 0 removes the pod unless finalizers hold it;
    /// then it stays, marked, until they are removed. The grace period can only shrink.
    /// Returns the pod when it is still there.
    pub fn delete(&self, namespace: &str, name: &str, grace_seconds: i64) -> Result<Option<Pod>, ApiError> {
        let mut pods = self.pods.lock().unwrap();
        let k = (namespace.to_string(), name.to_string());
        let pod = pods.get_mut(&k).ok_or_else(|| ApiError::not_found(name))?;
        let finalized = pod.metadata.finalizers.as_ref().is_none_or(|f| f.is_empty());
        if grace_seconds == 0 && finalized {
            pods.remove(&k);
            return Ok(None);
        }
        let grace = pod.metadata.deletion_grace_period_seconds.map_or(grace_seconds, |g| g.min(grace_seconds));
        if pod.metadata.deletion_timestamp.is_none() || pod.metadata.deletion_grace_period_seconds != Some(grace) {
            pod.metadata.deletion_timestamp.get_or_insert_with(now);
            pod.metadata.deletion_grace_period_seconds = Some(grace);
            pod.metadata.resource_version = Some(self.next_rv());
        }
        Ok(Some(pod.clone()))
    }

    /// The kubelet's status write (the status subresource), for the pod with this uid only.
    pub fn set_status(&self, namespace: &str, name: &str, uid: &str, status: PodStatus) -> Result<(), ApiError> {
        let mut pods = self.pods.lock().unwrap();
        let pod = pods
            .get_mut(&(namespace.to_string(), name.to_string()))
            .filter(|p| p.metadata.uid.as_deref() == Some(uid))
            .ok_or_else(|| ApiError::not_found(name))?;
        if pod.status.as_ref() != Some(&status) {
            pod.status = Some(status);
            pod.metadata.resource_version = Some(self.next_rv());
        }
        Ok(())
    }
}

/// A uid in Kubernetes' UUID form, unique per seed (a run) and counter.
pub fn uid(seed: &str, n: u64) -> String {
    let x = format!("{:x}", Sha256::digest(format!("{seed}-{n}")));
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
    use serde_json::Value;
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    impl PodStore {
        fn create_as_user(&self, pod: &Pod) -> Result<Pod, ApiError> {
            self.create(pod, Requester::User)
        }
    }

    fn pod(name: &str) -> Pod {
        serde_yaml::from_str(&format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  containers:\n  - {{name: a, image: busybox:1.36}}\n")).unwrap()
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
        let held = s.delete("ns", "web", 0).unwrap().expect("kept");
        assert!(held.metadata.deletion_timestamp.is_some());
        let e = s.merge_patch("ns", "web", &json!({"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}})).unwrap_err();
        assert!(e.message.contains("no new finalizers can be added if the object is being deleted"), "{}", e.message);
        s.merge_patch("ns", "web", &json!({"metadata": {"finalizers": null}})).unwrap();
        assert_eq!(s.get("ns", "web").unwrap_err().code, 404);
    }

    #[test]
    fn a_graceful_delete_marks_the_pod_and_grace_zero_removes_it() {
        let s = PodStore::new("t");
        s.create_as_user(&pod("web")).unwrap();
        let marked = s.delete("ns", "web", 30).unwrap().expect("kept while the kubelet stops it");
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));
        assert_eq!(s.delete("ns", "web", 0).unwrap(), None);
        assert_eq!(s.get("ns", "web").unwrap_err().code, 404);
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
        merge(&mut t, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(t, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }
}
