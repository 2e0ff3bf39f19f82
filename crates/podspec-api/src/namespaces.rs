//! Namespaces, cluster-scoped, in the generic store: the built-in ones every cluster has, and
//! the ones clients create. Pods may name any namespace, as the reference API keeps them; a
//! namespace object exists for clients that create, read, wait on and delete one. A delete
//! marks the namespace Terminating (the namespace registry's own Delete,
//! pkg/registry/core/namespace/storage/storage.go); the namespace controller deletes what is
//! in it and then removes it (`node::namespace_controller`).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, NamespaceSpec, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::generic::{Sequence, Store};
use crate::time::now;
use super::store::ApiError;
use super::strategy::Strategy;
use super::watch::ChangeKind;
use crate::validation::FieldError;

pub const BUILT_IN: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// The label every namespace carries with its name.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The strategy for namespaces (pkg/registry/core/namespace/strategy.go).
#[derive(Debug, Clone, Copy, Default)]
pub struct NamespaceStrategy;

impl Strategy for NamespaceStrategy {
    type Object = Namespace;
    const NAMESPACED: bool = false;

    /// The name label, the `kubernetes` finalizer, and phase Active.
    fn prepare_for_create(&self, ns: &mut Namespace) {
        let name = ns.metadata.name.clone().unwrap_or_default();
        ns.metadata.labels.get_or_insert_with(Default::default).insert(NAME_LABEL.into(), name);
        ns.spec = Some(NamespaceSpec { finalizers: Some(vec!["kubernetes".into()]) });
        ns.status = Some(NamespaceStatus { phase: Some("Active".into()), ..Default::default() });
    }

    /// A namespace's name is a DNS label (validation.ValidateNamespaceName).
    fn validate(&self, ns: &Namespace) -> Vec<FieldError> {
        let name = ns.metadata.name.as_deref().unwrap_or("");
        let ok = !name.is_empty()
            && name.len() <= 63
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if ok {
            return Vec::new();
        }
        vec![FieldError::invalid(
            "metadata.name",
            name,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        )]
    }

    /// The spec and status stay as stored (they change through their subresources).
    fn prepare_for_update(&self, new: &mut Namespace, old: &Namespace) {
        new.spec = old.spec.clone();
        new.status = old.status.clone();
    }

    fn validate_update(&self, new: &Namespace, _old: &Namespace) -> Vec<FieldError> {
        self.validate(new)
    }
}

/// The namespaces: the generic store with the namespace strategy, and the namespace
/// registry's own delete.
pub type NamespaceStore = Store<NamespaceStrategy>;

impl Store<NamespaceStrategy> {
    /// The namespaces of an API whose resourceVersions come from `sequence`, with the
    /// built-in ones, made at `started`.
    pub fn for_api(sequence: Arc<Sequence>, seed: &str, started: jiff::Timestamp) -> Self {
        let store = Self::with_strategy(NamespaceStrategy, sequence, &format!("namespace/{seed}"));
        let made = store.write(|namespaces| {
            for name in BUILT_IN {
                let mut ns = Namespace {
                    metadata: ObjectMeta {
                        name: Some(name.to_string()),
                        uid: Some(super::store::uid(name, 0)),
                        creation_timestamp: Some(crate::time::at(started)),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                NamespaceStrategy.prepare_for_create(&mut ns);
                namespaces.commit(ChangeKind::Added, ns, None);
            }
            Ok(())
        });
        made.expect("the built-in namespaces");
        store
    }

    /// Marks a namespace Terminating (deletionTimestamp and phase), once; the namespace
    /// controller does the rest. The built-in namespaces may not be deleted.
    pub fn delete_namespace(&self, name: &str) -> Result<Namespace, ApiError> {
        if BUILT_IN.contains(&name) {
            return Err(ApiError::forbidden_of("namespaces", name, "this namespace may not be deleted"));
        }
        self.write(|namespaces| {
            let key = self.key("", name);
            let ns = namespaces.get(&key).cloned().ok_or_else(|| ApiError::not_found_of("namespaces", name))?;
            if ns.metadata.deletion_timestamp.is_some() {
                return Ok(ns);
            }
            let mut marked = ns.clone();
            marked.metadata.deletion_timestamp = Some(now());
            marked.status = Some(NamespaceStatus { phase: Some("Terminating".into()), ..Default::default() });
            Ok(namespaces.commit(ChangeKind::Modified, marked, Some(ns)))
        })
    }

    /// Removes a Terminating namespace whose content is gone (the controller's last step:
    /// the `kubernetes` finalizer done, the object goes).
    pub fn finalize(&self, name: &str) -> Result<(), ApiError> {
        self.write(|namespaces| {
            let key = self.key("", name);
            let Some(ns) = namespaces.get(&key).cloned() else { return Ok(()) };
            if ns.metadata.deletion_timestamp.is_some() {
                namespaces.commit(ChangeKind::Deleted, ns.clone(), Some(ns));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> NamespaceStore {
        NamespaceStore::for_api(Arc::new(Sequence::default()), "t", jiff::Timestamp::now())
    }

    fn named(name: &str) -> Namespace {
        Namespace { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
    }

    #[test]
    fn built_in_namespaces_exist_and_may_not_be_deleted() {
        let s = store();
        let names: Vec<_> = s.list().into_iter().filter_map(|n| n.metadata.name).collect();
        assert_eq!(names, BUILT_IN);
        assert_eq!(
            s.delete_namespace("default").unwrap_err().message,
            "namespaces \"default\" is forbidden: this namespace may not be deleted"
        );
    }

    #[test]
    fn a_created_namespace_is_active_labelled_and_cluster_scoped_and_a_bad_name_is_invalid() {
        let s = store();
        let mut asked = named("team-a");
        asked.metadata.namespace = Some("elsewhere".into());
        let ns = s.create_object(&asked, false).unwrap();
        assert_eq!(ns.metadata.namespace, None);
        assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Active"));
        assert_eq!(ns.metadata.labels.unwrap()[NAME_LABEL], "team-a");
        assert_eq!(s.get("any", "team-a").unwrap().metadata.name.as_deref(), Some("team-a"));
        assert_eq!(s.create_object(&named("team-a"), false).unwrap_err().message, "namespaces \"team-a\" already exists");
        let e = s.create_object(&named("Team_A"), false).unwrap_err();
        assert!(
            e.message.starts_with("Namespace \"Team_A\" is invalid: metadata.name: Invalid value: \"Team_A\": a lowercase RFC 1123 label"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_delete_marks_terminating_once_and_finalize_removes() {
        let s = store();
        s.create_object(&named("gone"), false).unwrap();
        let marked = s.delete_namespace("gone").unwrap();
        assert_eq!(marked.status.unwrap().phase.as_deref(), Some("Terminating"));
        let rv = s.resource_version();
        s.delete_namespace("gone").unwrap();
        assert_eq!(s.resource_version(), rv, "a second delete changes nothing");
        s.finalize("gone").unwrap();
        assert_eq!(s.get("", "gone").unwrap_err().code, 404);
    }
}
