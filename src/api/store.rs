//! The object store of the reference API: pods with the metadata Kubernetes keeps (uid,
//! resourceVersion, generation, creationTimestamp, deletionTimestamp, finalizers), create,
//! update (whole object or JSON merge patch) and delete with Kubernetes' rules and error texts.
//! No I/O: the kubelet reads from it and writes status back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Pod, PodStatus};
use sha2::{Digest, Sha256};

use super::admission::{admit_create, Requester};
use super::strategy::{PodStrategy, Strategy};
use super::watch::{Change, ChangeKind, ChangeSource, Filter, History, PodWatch};
use crate::manifest::validation::aggregate;

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
    pub fn invalid(name: &str, errors: &[crate::manifest::FieldError]) -> Self {
        let causes =
            errors.iter().map(|e| Cause { reason: e.kind.cause_reason().into(), message: e.body(), field: e.field.clone() }).collect();
        Self { code: 422, reason: "Invalid".into(), message: format!("Pod {name:?} is invalid: {}", aggregate(errors)), causes }
    }
    pub fn not_found(name: &str) -> Self {
        Self { code: 404, reason: "NotFound".into(), message: format!("pods {name:?} not found"), causes: Vec::new() }
    }
    pub fn already_exists(name: &str) -> Self {
        Self { code: 409, reason: "AlreadyExists".into(), message: format!("pods {name:?} already exists"), causes: Vec::new() }
    }
    pub fn conflict(name: &str) -> Self {
        Self {
            code: 409,
            reason: "Conflict".into(),
            causes: Vec::new(),
            message: format!(
                "Operation cannot be fulfilled on pods {name:?}: the object has been modified; please apply your changes to the latest version and try again"
            ),
        }
    }
    fn forbidden(name: &str, why: &str) -> Self {
        Self { code: 403, reason: "Forbidden".into(), message: format!("pods {name:?} is forbidden: {why}"), causes: Vec::new() }
    }
    pub fn bad_request(message: String) -> Self {
        Self { code: 400, reason: "BadRequest".into(), message, causes: Vec::new() }
    }
    /// A watch from a resourceVersion the history no longer holds (410 Gone).
    pub fn expired(rv: u64, oldest: u64) -> Self {
        Self { code: 410, reason: "Expired".into(), message: format!("too old resource version: {rv} ({oldest})"), causes: Vec::new() }
    }
    /// A delete whose precondition failed (the generic store's text).
    fn precondition(name: &str, what: &str, wanted: &str, stored: &str) -> Self {
        Self {
            code: 409,
            reason: "Conflict".into(),
            causes: Vec::new(),
            message: format!(
                "Operation cannot be fulfilled on pods {name:?}: Precondition failed: {what} in precondition: {wanted}, {what} in object meta: {stored}"
            ),
        }
    }
}

type Key = (String, String);

/// Which resource an update writes: the pod, or its `ephemeralcontainers` subresource.
/// What records an update in managedFields, given the stored pod it replaces.
pub type Record<'a> = &'a dyn Fn(&Pod, &mut Pod);

#[derive(Clone, Copy)]
enum Through<'a> {
    /// With what records the write in managedFields, given the stored pod, if anything.
    Pod { record: Option<Record<'a>> },
    /// With the manager to record, if any.
    EphemeralContainers { manager: Option<&'a str> },
}

/// A delete's options (metav1.DeleteOptions): the grace period, and preconditions on the uid
/// and resourceVersion of the pod deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// None: the pod's own (the strategy decides).
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

#[derive(Default)]
struct State {
    pods: BTreeMap<Key, Pod>,
    /// The store's resourceVersion: that of the last change.
    rv: u64,
    history: History,
}

impl State {
    /// Records a change under a new resourceVersion, which the stored object gets.
    fn commit(&mut self, kind: ChangeKind, mut object: Pod, prev: Option<Pod>) -> Pod {
        self.rv += 1;
        object.metadata.resource_version = Some(self.rv.to_string());
        let k = key(&object);
        match kind {
            ChangeKind::Deleted => {
                self.pods.remove(&k);
            }
            _ => {
                self.pods.insert(k, object.clone());
            }
        }
        self.history.push(Change { rv: self.rv, kind, object: object.clone(), prev });
        object
    }
}

pub struct PodStore {
    state: Mutex<State>,
    /// The resourceVersion of the last change, for watchers to wake on.
    changed: tokio::sync::watch::Sender<u64>,
    next_uid: AtomicU64,
    /// Makes uids differ between stores (runs).
    seed: String,
    strategy: PodStrategy,
}

fn key(pod: &Pod) -> Key {
    (pod.metadata.namespace.clone().unwrap_or_else(|| "default".into()), pod.metadata.name.clone().unwrap_or_default())
}

fn now() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    crate::runtime::kubelet::k8s_time(chrono::Utc::now())
}

impl PodStore {
    pub fn new(seed: &str) -> Self {
        Self {
            state: Mutex::default(),
            changed: tokio::sync::watch::Sender::new(0),
            next_uid: AtomicU64::new(0),
            seed: seed.to_string(),
            strategy: PodStrategy,
        }
    }

    fn new_uid(&self) -> String {
        uid(&self.seed, self.next_uid.fetch_add(1, Ordering::Relaxed))
    }

    /// Commits under the lock, then wakes the watchers.
    fn write<T>(&self, f: impl FnOnce(&mut State) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let (result, rv) = {
            let mut st = self.state.lock().unwrap();
            let before = st.rv;
            let r = f(&mut st);
            (r, (st.rv != before).then_some(st.rv))
        };
        if let Some(rv) = rv {
            self.changed.send_replace(rv);
        }
        result
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
        if let Some(why) = admit_create(&pod, requester) {
            return Err(ApiError::forbidden(&name, &why));
        }
        self.strategy.prepare_for_create(&mut pod);
        let errors = self.strategy.validate(&pod);
        if !errors.is_empty() {
            return Err(ApiError::invalid(&name, &errors));
        }
        self.write(|st| {
            if st.pods.contains_key(&key(&pod)) {
                return Err(ApiError::already_exists(&name));
            }
            let m = &mut pod.metadata;
            m.uid = Some(self.new_uid());
            m.generation = Some(1);
            m.creation_timestamp = Some(now());
            m.deletion_timestamp = None;
            m.deletion_grace_period_seconds = None;
            if dry_run {
                m.resource_version = None;
                return Ok(pod);
            }
            Ok(st.commit(ChangeKind::Added, pod, None))
        })
    }

    pub fn get(&self, namespace: &str, name: &str) -> Result<Pod, ApiError> {
        self.state.lock().unwrap().pods.get(&(namespace.to_string(), name.to_string())).cloned().ok_or_else(|| ApiError::not_found(name))
    }

    pub fn list(&self) -> Vec<Pod> {
        self.list_at().0
    }

    /// Every pod, and the resourceVersion the list is at (a watch from it misses nothing).
    pub fn list_at(&self) -> (Vec<Pod>, u64) {
        let st = self.state.lock().unwrap();
        (st.pods.values().cloned().collect(), st.rv)
    }

    /// The store's current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.lock().unwrap().rv
    }

    /// Watches the pods `filter` selects. From `None` (or `Some(0)`): an `ADDED` event for each
    /// pod there now, then every change. From `Some(rv)`: the changes after `rv`; 410 Expired
    /// when the history no longer reaches back that far.
    pub fn watch(self: &Arc<Self>, from: Option<u64>, filter: Filter) -> Result<PodWatch, ApiError> {
        let st = self.state.lock().unwrap();
        match from {
            None | Some(0) => {
                let initial = st.pods.values().filter(|p| filter(p)).cloned().collect();
                Ok(PodWatch::new(self.clone(), filter, st.rv, initial))
            }
            Some(rv) => {
                st.history.since(rv, st.rv)?;
                Ok(PodWatch::new(self.clone(), filter, rv, Vec::new()))
            }
        }
    }

    /// Replaces the pod `namespace/name` (a PUT to its URL; the object must name that pod). Server-managed metadata is repaired first, as the API server's
    /// BeforeUpdate does; then the strategy's update rules apply. A rejected update changes
    /// nothing.
    pub fn update(&self, namespace: &str, name: &str, pod: &Pod) -> Result<Pod, ApiError> {
        self.update_as(namespace, name, pod, false)
    }

    /// An update, or with `dry_run` everything but the write: the pod as it would be stored
    /// (with the stored resourceVersion), nothing changed.
    pub fn update_as(&self, namespace: &str, name: &str, pod: &Pod, dry_run: bool) -> Result<Pod, ApiError> {
        self.update_through(namespace, name, pod, dry_run, Through::Pod { record: None })
    }

    /// An update whose managedFields `record` works out from the stored pod it replaces, in
    /// the same write: a write in between (the kubelet's status) cannot be lost from them.
    pub fn update_recorded(&self, namespace: &str, name: &str, pod: &Pod, dry_run: bool, record: Record<'_>) -> Result<Pod, ApiError> {
        self.update_through(namespace, name, pod, dry_run, Through::Pod { record: Some(record) })
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
        self.update_through(namespace, name, pod, dry_run, Through::EphemeralContainers { manager })
    }

    fn update_through(&self, namespace: &str, name: &str, pod: &Pod, dry_run: bool, through: Through<'_>) -> Result<Pod, ApiError> {
        // The API server's update and patch handlers (checkName): the object names the pod of
        // the URL.
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
        self.write(|st| {
            let k = (namespace.to_string(), name.to_string());
            let old = st.pods.get(&k).cloned().ok_or_else(|| ApiError::not_found(&k.1))?;
            let mut new = pod.clone();
            new.metadata.namespace = old.metadata.namespace.clone();
            if let Some(rv) = &new.metadata.resource_version {
                if Some(rv) != old.metadata.resource_version.as_ref() {
                    return Err(ApiError::conflict(&k.1));
                }
            }
            if let Through::Pod { record: Some(record) } = through {
                record(&old, &mut new);
            }
            // BeforeUpdate: clients cannot set these.
            if new.metadata.uid.as_deref().unwrap_or("").is_empty() {
                new.metadata.uid = old.metadata.uid.clone();
            }
            new.metadata.creation_timestamp = old.metadata.creation_timestamp.clone();
            new.metadata.deletion_timestamp = old.metadata.deletion_timestamp.clone();
            new.metadata.deletion_grace_period_seconds = old.metadata.deletion_grace_period_seconds;
            let errors = match through {
                Through::Pod { .. } => {
                    self.strategy.prepare_for_update(&mut new, &old);
                    self.strategy.validate_update(&new, &old)
                }
                Through::EphemeralContainers { manager } => {
                    self.strategy.prepare_for_ephemeral_update(&mut new, &old);
                    if let Some(m) = manager {
                        super::managed_fields::record_ephemeral_containers_update(&old, &mut new, m, super::managed_fields::now());
                    }
                    self.strategy.validate_ephemeral_update(&new, &old)
                }
            };
            if !errors.is_empty() {
                return Err(ApiError::invalid(&k.1, &errors));
            }
            // A pod whose deletion is complete but for its finalizers goes once the last one is
            // removed (the generic store's ShouldDeleteDuringUpdate).
            let finalized = new.metadata.finalizers.as_ref().is_none_or(|f| f.is_empty());
            if old.metadata.deletion_grace_period_seconds == Some(0) && finalized && !dry_run {
                return Ok(st.commit(ChangeKind::Deleted, new, Some(old)));
            }
            new.metadata.resource_version = old.metadata.resource_version.clone();
            if serde_json::to_value(&new).ok() == serde_json::to_value(&old).ok() {
                return Ok(old); // a no-op update writes nothing
            }
            if dry_run {
                return Ok(new);
            }
            Ok(st.commit(ChangeKind::Modified, new, Some(old)))
        })
    }

    /// Applies a JSON merge patch (RFC 7386), then updates.
    pub fn merge_patch(&self, namespace: &str, name: &str, patch: &serde_json::Value) -> Result<Pod, ApiError> {
        // A patch without a resourceVersion of its own applies to whatever is stored: a write
        // in between (the kubelet's status) makes the API server apply it again to the newer
        // object (GuaranteedUpdate), never a Conflict.
        let pinned = patch.pointer("/metadata/resourceVersion").is_some();
        let mut attempts = 0;
        loop {
            let current = self.get(namespace, name)?;
            let mut value = serde_json::to_value(&current).map_err(|e| ApiError::bad_request(e.to_string()))?;
            merge(&mut value, patch);
            let mut patched: Pod =
                serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("the patch does not make a pod: {e}")))?;
            if !pinned {
                patched.metadata.resource_version = current.metadata.resource_version.clone();
            }
            attempts += 1;
            match self.update(namespace, name, &patched) {
                Err(e) if e.code == 409 && !pinned && attempts < 100 => continue,
                other => return other,
            }
        }
    }

    /// Deletes a pod as the API server does for pods. The strategy decides the grace period
    /// (the one asked for, else the pod's own). A graceful delete (grace > 0) only sets
    /// `deletionTimestamp` and `deletionGracePeriodSeconds`: the kubelet stops the pod, then
    /// deletes it with grace 0. A delete with grace 0 removes the pod unless finalizers hold it;
    /// then it stays, marked, until they are removed. The grace period can only shrink.
    /// Returns the pod when it is still there.
    pub fn delete(&self, namespace: &str, name: &str, options: &DeleteOptions) -> Result<Option<Pod>, ApiError> {
        self.delete_as(namespace, name, options, false)
    }

    /// A delete, or with `dry_run` everything but the write: preconditions and grace are
    /// checked, and the pod is returned as the delete would leave it (`None`: gone).
    pub fn delete_as(&self, namespace: &str, name: &str, options: &DeleteOptions, dry_run: bool) -> Result<Option<Pod>, ApiError> {
        self.write(|st| {
            let k = (namespace.to_string(), name.to_string());
            let pod = st.pods.get(&k).cloned().ok_or_else(|| ApiError::not_found(name))?;
            if let Some(uid) = &options.uid {
                if pod.metadata.uid.as_ref() != Some(uid) {
                    return Err(ApiError::precondition(name, "UID", uid, pod.metadata.uid.as_deref().unwrap_or("")));
                }
            }
            if let Some(rv) = &options.resource_version {
                if pod.metadata.resource_version.as_ref() != Some(rv) {
                    let stored = pod.metadata.resource_version.as_deref().unwrap_or("");
                    return Err(ApiError::precondition(name, "ResourceVersion", rv, stored));
                }
            }
            let grace = self.strategy.check_graceful_delete(&pod, options.grace_period_seconds);
            let finalized = pod.metadata.finalizers.as_ref().is_none_or(|f| f.is_empty());
            if grace == 0 && finalized {
                if !dry_run {
                    st.commit(ChangeKind::Deleted, pod.clone(), Some(pod));
                }
                return Ok(None);
            }
            let grace = pod.metadata.deletion_grace_period_seconds.map_or(grace, |g| g.min(grace));
            if pod.metadata.deletion_timestamp.is_some() && pod.metadata.deletion_grace_period_seconds == Some(grace) {
                return Ok(Some(pod));
            }
            let mut marked = pod.clone();
            marked.metadata.deletion_timestamp.get_or_insert_with(now);
            marked.metadata.deletion_grace_period_seconds = Some(grace);
            if dry_run {
                return Ok(Some(marked));
            }
            Ok(Some(st.commit(ChangeKind::Modified, marked, Some(pod))))
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
        self.write(|st| {
            let old = st
                .pods
                .get(&(namespace.to_string(), name.to_string()))
                .filter(|p| p.metadata.uid.as_deref() == Some(uid))
                .cloned()
                .ok_or_else(|| ApiError::not_found(name))?;
            let status = make(old.status.as_ref());
            if old.status.as_ref() != Some(&status) {
                let mut new = old.clone();
                new.status = Some(status);
                super::managed_fields::record_status_update(&old, &mut new, manager, super::managed_fields::now());
                st.commit(ChangeKind::Modified, new, Some(old));
            }
            Ok(())
        })
    }
}

impl ChangeSource<Pod> for PodStore {
    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn changes_since(&self, rv: u64) -> Result<Vec<Change>, ApiError> {
        let st = self.state.lock().unwrap();
        st.history.since(rv, st.rv)
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
    use crate::api::WatchEvent;
    use serde_json::json;

    impl PodStore {
        fn create_as_user(&self, pod: &Pod) -> Result<Pod, ApiError> {
            self.create(pod, Requester::User)
        }
    }

    fn pod(name: &str) -> Pod {
        serde_yaml::from_str(&format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  nodeName: node\n  containers:\n  - {{name: a, image: busybox:1.36}}\n")).unwrap()
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
    fn a_graceful_delete_marks_the_pod_and_grace_zero_removes_it() {
        let s = PodStore::new("t");
        s.create_as_user(&pod("web")).unwrap();
        let marked = s.delete("ns", "web", &DeleteOptions::grace(30)).unwrap().expect("kept while the kubelet stops it");
        assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(30));
        assert_eq!(s.delete("ns", "web", &DeleteOptions::grace(0)).unwrap(), None);
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
        for i in 0..crate::api::watch::HISTORY + 5 {
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
        merge(&mut t, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(t, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }
}
