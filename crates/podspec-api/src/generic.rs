//! The generic store every kind of the API is kept in, as kube-apiserver's generic registry
//! (staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go): objects by namespace
//! and name, with the metadata the API server keeps (uid, resourceVersion,
//! creationTimestamp, deletionTimestamp, finalizers); create, get, list, update (whole object
//! or JSON merge patch), delete and watch, each through the kind's [`Strategy`]. Every store
//! of an API takes its resourceVersions from one [`Sequence`], as etcd's revision is one for
//! every key. A kind's own rules beyond the strategy (a pod's status, an event's aggregation,
//! a namespace's termination) are written in its own file over [`Store::write`].

use crate::time::now;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};

use super::store::{ApiError, DeleteOptions};
use super::strategy::Strategy;
use super::watch::{Change, ChangeKind, ChangeSource, Filter, History, Watch};

/// What a store keeps: a Kubernetes object with its metadata.
pub trait Object:
    Resource + Metadata<Ty = ObjectMeta> + Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
}

impl<T> Object for T where
    T: Resource + Metadata<Ty = ObjectMeta> + Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
}

/// The resourceVersions of an API: one sequence for every kind it keeps.
#[derive(Debug, Default)]
pub struct Sequence(AtomicU64);

impl Sequence {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The resourceVersion of the last change of any kind.
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// An object's key: its namespace ("" for a cluster-scoped kind) and name.
pub type Key = (String, String);

/// Which objects a list or a watch is about, answered from the store's indexes (by namespace:
/// the keys' order; by node: an index of the kind's node, a pod's `spec.nodeName`) rather than
/// by looking at every object. None: any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub namespace: Option<String>,
    pub node: Option<String>,
}

impl Scope {
    pub fn namespace(namespace: &str) -> Self {
        Self { namespace: Some(namespace.to_string()), node: None }
    }

    /// Whether an object of `namespace`, bound to `node`, is in the scope.
    fn holds(&self, namespace: &str, node: Option<&str>) -> bool {
        self.namespace.as_ref().is_none_or(|ns| ns == namespace) && self.node.as_ref().is_none_or(|n| Some(n.as_str()) == node)
    }
}

/// The node an object of a kind is bound to ([`Strategy::node_of`]).
type NodeOf<T> = fn(&T) -> Option<&str>;

/// The key an object of a kind is also found by ([`Strategy::lookup_key`]).
type LookupOf<T> = fn(&T) -> Option<String>;

/// The objects of one kind, under the store's lock.
pub struct Objects<T> {
    objects: BTreeMap<Key, Arc<T>>,
    /// The keys of the objects bound to each node.
    by_node: HashMap<String, BTreeSet<Key>>,
    node_of: NodeOf<T>,
    /// The keys of the objects of each lookup key, oldest first.
    by_lookup: HashMap<String, Vec<Key>>,
    lookup_of: LookupOf<T>,
    /// How many objects lists and watches have looked at (what the indexes spare).
    #[cfg(test)]
    pub(super) visits: std::cell::Cell<usize>,
    /// For a kind that keeps at most `capacity` objects: their keys in the order they were
    /// made (the oldest goes first, and lists are in this order).
    order: Option<(VecDeque<Key>, usize)>,
    history: History<T>,
    sequence: Arc<Sequence>,
    /// Whether something was committed in this write.
    committed: bool,
}

impl<T: Object> Objects<T> {
    pub fn get(&self, key: &Key) -> Option<&T> {
        self.objects.get(key).map(|o| &**o)
    }

    /// The stored object itself, shared (no copy): what a write that replaces it passes to
    /// [`Self::commit_shared`] as the previous version.
    pub fn get_shared(&self, key: &Key) -> Option<Arc<T>> {
        self.objects.get(key).cloned()
    }

    pub fn contains(&self, key: &Key) -> bool {
        self.objects.contains_key(key)
    }

    /// The objects, in list order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = &T> + '_> {
        match &self.order {
            Some((order, _)) => Box::new(order.iter().filter_map(|k| self.objects.get(k).map(|o| &**o))),
            None => Box::new(self.objects.values().map(|o| &**o)),
        }
    }

    /// The objects of `scope`, in list order, each looked at through the indexes: those of a
    /// node from the node index, those of a namespace from the keys' order (a kind that keeps
    /// its own order looks at each).
    pub fn scoped<'a>(&'a self, scope: &'a Scope) -> Box<dyn Iterator<Item = &'a T> + 'a> {
        let found: Box<dyn Iterator<Item = (&Key, &T)> + 'a> = match (&scope.node, &scope.namespace, &self.order) {
            (Some(node), _, _) => {
                let keys = self.by_node.get(node).into_iter().flatten();
                let mut keys: Box<dyn Iterator<Item = &Key>> = Box::new(keys);
                if self.order.is_some() {
                    // List order is the order they were made in.
                    let mut sorted: Vec<&Key> = keys.collect();
                    let position = |k: &Key| self.order.as_ref().and_then(|(o, _)| o.iter().position(|x| x == k));
                    sorted.sort_by_key(|k| position(k));
                    keys = Box::new(sorted.into_iter());
                }
                Box::new(keys.filter_map(|k| self.objects.get_key_value(k).map(|(k, o)| (k, &**o))))
            }
            (None, Some(ns), None) => {
                Box::new(self.objects.range((ns.clone(), String::new())..).take_while(move |(k, _)| k.0 == *ns).map(|(k, o)| (k, &**o)))
            }
            _ => match &self.order {
                Some((order, _)) => Box::new(order.iter().filter_map(|k| self.objects.get_key_value(k).map(|(k, o)| (k, &**o)))),
                None => Box::new(self.objects.iter().map(|(k, o)| (k, &**o))),
            },
        };
        let node_of = self.node_of;
        Box::new(
            found
                .inspect(move |_| {
                    #[cfg(test)]
                    self.visits.set(self.visits.get() + 1);
                })
                .filter(move |(k, o)| scope.holds(&k.0, node_of(o)))
                .map(|(_, o)| o),
        )
    }

    /// Whether `object` (of `key`) is in `scope`.
    fn in_scope(&self, scope: &Scope, object: &T) -> bool
    where
        T: Object,
    {
        scope.holds(object.metadata().namespace.as_deref().unwrap_or(""), (self.node_of)(object))
    }

    /// How many keys the node index holds for `node`.
    #[cfg(test)]
    pub(super) fn indexed_on(&self, node: &str) -> usize {
        self.by_node.get(node).map_or(0, |k| k.len())
    }

    fn index(&mut self, key: &Key, object: &T) {
        if let Some(node) = (self.node_of)(object) {
            self.by_node.entry(node.to_string()).or_default().insert(key.clone());
        }
    }

    fn unindex(&mut self, key: &Key, object: &T) {
        if let Some(node) = (self.node_of)(object) {
            if let Some(keys) = self.by_node.get_mut(node) {
                keys.remove(key);
                if keys.is_empty() {
                    self.by_node.remove(node);
                }
            }
        }
    }

    /// The newest object of a lookup key ([`Strategy::lookup_key`]), through its index: no
    /// other object is looked at.
    pub fn find(&self, lookup: &str) -> Option<(&Key, &T)> {
        let key = self.by_lookup.get(lookup)?.last()?;
        #[cfg(test)]
        self.visits.set(self.visits.get() + 1);
        self.objects.get_key_value(key).map(|(k, o)| (k, &**o))
    }

    /// Keeps the lookup index of `key` from the version `old` to the version `new` (none: not
    /// there).
    fn relookup(&mut self, key: &Key, old: Option<&T>, new: Option<&T>) {
        let (was, now) = (old.and_then(self.lookup_of), new.and_then(self.lookup_of));
        if was == now {
            return;
        }
        if let Some(was) = was {
            if let Some(keys) = self.by_lookup.get_mut(&was) {
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    self.by_lookup.remove(&was);
                }
            }
        }
        if let Some(now) = now {
            self.by_lookup.entry(now).or_default().push(key.clone());
        }
    }

    /// Records a change under the next resourceVersion, which the stored object gets; returns
    /// the object as stored.
    pub fn commit(&mut self, kind: ChangeKind, object: T, prev: Option<T>) -> T {
        T::clone(&self.commit_shared(kind, object, prev.map(Arc::new)))
    }

    /// [`Self::commit`] with the previous version shared as the store holds it
    /// ([`Self::get_shared`]): each version is kept once, by the store and by the history of
    /// every watch alike, and the object as stored is returned shared, copied by whoever needs
    /// it owned.
    pub fn commit_shared(&mut self, kind: ChangeKind, mut object: T, prev: Option<Arc<T>>) -> Arc<T> {
        let rv = self.sequence.next();
        object.metadata_mut().resource_version = Some(rv.to_string());
        let k = key_of(&object);
        let object = Arc::new(object);
        match kind {
            ChangeKind::Deleted => {
                if let Some(gone) = self.objects.remove(&k) {
                    self.unindex(&k, &gone);
                    self.relookup(&k, Some(&gone), None);
                }
                if let Some((order, _)) = &mut self.order {
                    order.retain(|o| *o != k);
                }
            }
            _ => {
                self.index(&k, &object);
                match self.objects.insert(k.clone(), object.clone()) {
                    Some(replaced) => {
                        if (self.node_of)(&replaced) != (self.node_of)(&object) {
                            self.unindex(&k, &replaced);
                            self.index(&k, &object);
                        }
                        self.relookup(&k, Some(&replaced), Some(&object));
                    }
                    None => {
                        self.relookup(&k, None, Some(&object));
                        let evicted = match &mut self.order {
                            Some((order, capacity)) => {
                                order.push_back(k);
                                if order.len() > *capacity {
                                    order.pop_front()
                                } else {
                                    None
                                }
                            }
                            None => None,
                        };
                        if let Some(old) = evicted {
                            if let Some(gone) = self.objects.remove(&old) {
                                self.unindex(&old, &gone);
                                self.relookup(&old, Some(&gone), None);
                            }
                        }
                    }
                }
            }
        }
        self.history.push(Change { rv, kind, object: object.clone(), prev });
        self.committed = true;
        object
    }
}

fn key_of<T: Object>(object: &T) -> Key {
    let m = object.metadata();
    (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default())
}

/// A check registered with a store by the node (its admission): why it cannot take an object.
pub type Admission<T> = Box<dyn Fn(&T) -> Result<(), String> + Send + Sync>;

/// The store of one kind.
pub struct Store<S: Strategy> {
    /// The node's admission checks, asked by a create that wants the node's verdict.
    admission: std::sync::RwLock<Vec<Admission<S::Object>>>,
    objects: Mutex<Objects<S::Object>>,
    /// The resourceVersion of the last change, for watchers to wake on.
    changed: tokio::sync::watch::Sender<u64>,
    next_uid: AtomicU64,
    /// Makes uids differ between stores (runs).
    seed: String,
    pub(super) strategy: S,
}

/// A resource or kind with its group (GroupResource.String()): alone in the core group.
fn qualified(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{group}")
    }
}

impl<S: Strategy> Store<S>
where
    S::Object: Object,
{
    /// A store of the kind `strategy` is for, its resourceVersions taken from `sequence`, its
    /// uids made from `seed`.
    pub fn with_strategy(strategy: S, sequence: Arc<Sequence>, seed: &str) -> Self {
        Self {
            objects: Mutex::new(Objects {
                objects: BTreeMap::new(),
                by_node: HashMap::new(),
                node_of: S::node_of,
                by_lookup: HashMap::new(),
                lookup_of: S::lookup_key,
                #[cfg(test)]
                visits: Default::default(),
                order: None,
                history: History::default(),
                sequence,
                committed: false,
            }),
            changed: tokio::sync::watch::Sender::new(0),
            next_uid: AtomicU64::new(0),
            seed: seed.to_string(),
            strategy,
            admission: Default::default(),
        }
    }

    /// Registers the node's admission check for this kind.
    pub fn admit_on_node(&self, check: Admission<S::Object>) {
        self.admission.write().unwrap().push(check);
    }

    /// The node's verdict on an object: the first refusal of its admission checks.
    pub fn admit(&self, object: &S::Object) -> Result<(), String> {
        self.admission.read().unwrap().iter().try_for_each(|check| check(object))
    }

    /// Keeps at most `capacity` objects: the oldest made goes when one more is made, without
    /// a change of its own (as events expire).
    pub fn keeping(self, capacity: usize) -> Self {
        self.objects.lock().unwrap().order = Some((VecDeque::new(), capacity));
        self
    }

    /// Wakes on each change of the kind (its value is the resourceVersion of the last one).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The kind's strategy.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }

    /// The resource's name in messages, with its group outside the core one, as the API
    /// server's qualified resource (`pods`, `runtimeclasses.node.k8s.io`).
    pub fn resource(&self) -> String {
        qualified(<S::Object as Resource>::URL_PATH_SEGMENT, <S::Object as Resource>::GROUP)
    }

    /// The kind, qualified the same way (`Pod`, `RuntimeClass.node.k8s.io`).
    pub fn kind(&self) -> String {
        qualified(<S::Object as Resource>::KIND, <S::Object as Resource>::GROUP)
    }

    /// The key of `name` in `namespace` (the namespace is ignored for a cluster-scoped kind).
    pub fn key(&self, namespace: &str, name: &str) -> Key {
        let namespace = if S::NAMESPACED { namespace } else { "" };
        (namespace.to_string(), name.to_string())
    }

    pub fn new_uid(&self) -> String {
        super::store::uid(&self.seed, self.next_uid.fetch_add(1, Ordering::Relaxed))
    }

    /// Runs `f` under the store's lock; what it commits wakes the watchers after.
    pub fn write<R>(&self, f: impl FnOnce(&mut Objects<S::Object>) -> Result<R, ApiError>) -> Result<R, ApiError> {
        let (result, rv) = {
            let mut objects = self.objects.lock().unwrap();
            objects.committed = false;
            let r = f(&mut objects);
            (r, objects.committed.then(|| objects.sequence.current()))
        };
        if let Some(rv) = rv {
            self.changed.send_replace(rv);
        }
        result
    }

    /// Creates an object as the API server does: prepared and validated through the strategy,
    /// with uid, creationTimestamp and the next resourceVersion. With `dry_run` (`dryRun=All`)
    /// everything but the write: the object as it would be stored, without a resourceVersion.
    pub fn create_object(&self, object: &S::Object, dry_run: bool) -> Result<S::Object, ApiError> {
        let mut object = object.clone();
        if S::NAMESPACED {
            object.metadata_mut().namespace.get_or_insert_with(|| "default".into());
        } else {
            object.metadata_mut().namespace = None;
        }
        let name = object.metadata().name.clone().unwrap_or_default();
        self.strategy.prepare_for_create(&mut object);
        let errors = self.strategy.validate(&object);
        if !errors.is_empty() {
            return Err(ApiError::invalid_kind(&self.kind(), &name, &errors));
        }
        self.write(|objects| {
            if objects.contains(&key_of(&object)) {
                return Err(ApiError::already_exists_of(&self.resource(), &name));
            }
            let m = object.metadata_mut();
            m.uid = Some(self.new_uid());
            m.creation_timestamp = Some(now());
            m.deletion_timestamp = None;
            m.deletion_grace_period_seconds = None;
            if dry_run {
                m.resource_version = None;
                return Ok(object);
            }
            Ok(objects.commit(ChangeKind::Added, object, None))
        })
    }

    pub fn get(&self, namespace: &str, name: &str) -> Result<S::Object, ApiError> {
        let objects = self.objects.lock().unwrap();
        objects.get(&self.key(namespace, name)).cloned().ok_or_else(|| ApiError::not_found_of(&self.resource(), name))
    }

    pub fn list(&self) -> Vec<S::Object> {
        self.list_at().0
    }

    /// Every object, and the resourceVersion the list is at (a watch from it misses nothing).
    pub fn list_at(&self) -> (Vec<S::Object>, u64) {
        let objects = self.objects.lock().unwrap();
        (objects.iter().cloned().collect(), objects.sequence.current())
    }

    /// The objects of `scope` (through the indexes: no other object is looked at), and the
    /// resourceVersion the list is at.
    pub fn list_scoped(&self, scope: &Scope) -> (Vec<S::Object>, u64) {
        let objects = self.objects.lock().unwrap();
        (objects.scoped(scope).cloned().collect(), objects.sequence.current())
    }

    /// The API's current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.objects.lock().unwrap().sequence.current()
    }

    /// Watches the objects `filter` selects. From `None` (or `Some(0)`): an `ADDED` event for
    /// each object there now, then every change. From `Some(rv)`: the changes after `rv`; 410
    /// Expired when the history no longer reaches back that far.
    pub fn watch(self: &Arc<Self>, from: Option<u64>, filter: Filter<S::Object>) -> Result<Watch<S::Object>, ApiError> {
        self.watch_scoped(from, Scope::default(), filter)
    }

    /// A watch of the objects of `scope` that `filter` selects: the initial objects come from
    /// the indexes, and of the history's changes only those of the scope are handed to the
    /// watch (the others are neither cloned nor shown to its filter).
    pub fn watch_scoped(
        self: &Arc<Self>,
        from: Option<u64>,
        scope: Scope,
        filter: Filter<S::Object>,
    ) -> Result<Watch<S::Object>, ApiError> {
        let objects = self.objects.lock().unwrap();
        let node_of = S::node_of;
        let in_scope = scope.clone();
        let filter: Filter<S::Object> =
            Box::new(move |o| in_scope.holds(o.metadata().namespace.as_deref().unwrap_or(""), node_of(o)) && filter(o));
        match from {
            None | Some(0) => {
                let initial = objects.scoped(&scope).filter(|o| filter(o)).cloned().collect();
                Ok(Watch::new(self.clone(), scope, filter, objects.sequence.current(), initial))
            }
            Some(rv) => {
                objects.history.since(rv, |_| true)?;
                Ok(Watch::new(self.clone(), scope, filter, rv, Vec::new()))
            }
        }
    }

    /// Replaces the object `namespace/name` (a PUT to its URL; the object must name it), with
    /// the strategy's update rules.
    pub fn update(&self, namespace: &str, name: &str, object: &S::Object) -> Result<S::Object, ApiError> {
        self.update_as(namespace, name, object, false)
    }

    /// An update, or with `dry_run` everything but the write: the object as it would be stored
    /// (with the stored resourceVersion), nothing changed.
    pub fn update_as(&self, namespace: &str, name: &str, object: &S::Object, dry_run: bool) -> Result<S::Object, ApiError> {
        self.update_with(namespace, name, object, dry_run, |strategy, new, old| {
            strategy.prepare_for_update(new, old);
            strategy.validate_update(new, old)
        })
    }

    /// An update whose preparation and validation `prepare` does (a subresource's own, or the
    /// strategy's with something recorded in between). Server-managed metadata is repaired
    /// first, as the API server's BeforeUpdate does. A rejected update changes nothing.
    pub fn update_with(
        &self,
        namespace: &str,
        name: &str,
        object: &S::Object,
        dry_run: bool,
        prepare: impl FnOnce(&S, &mut S::Object, &S::Object) -> Vec<crate::validation::FieldError>,
    ) -> Result<S::Object, ApiError> {
        // The API server's update and patch handlers (checkName): the object names the object
        // of the URL.
        let object_name = object.metadata().name.as_deref().unwrap_or("");
        if object_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({object_name}) does not match the name on the URL ({name})"
            )));
        }
        if S::NAMESPACED && object.metadata().namespace.as_deref().is_some_and(|ns| ns != namespace) {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
        self.write(|objects| {
            let k = self.key(namespace, name);
            let old = objects.get_shared(&k).ok_or_else(|| ApiError::not_found_of(&self.resource(), name))?;
            let mut new = object.clone();
            new.metadata_mut().namespace = old.metadata().namespace.clone();
            if let Some(rv) = &new.metadata().resource_version {
                if Some(rv) != old.metadata().resource_version.as_ref() {
                    return Err(ApiError::conflict_of(&self.resource(), name));
                }
            }
            // BeforeUpdate: clients cannot set these.
            let (m, o) = (new.metadata_mut(), old.metadata());
            if m.uid.as_deref().unwrap_or("").is_empty() {
                m.uid = o.uid.clone();
            }
            m.creation_timestamp = o.creation_timestamp.clone();
            m.deletion_timestamp = o.deletion_timestamp.clone();
            m.deletion_grace_period_seconds = o.deletion_grace_period_seconds;
            let errors = prepare(&self.strategy, &mut new, &old);
            if !errors.is_empty() {
                return Err(ApiError::invalid_kind(&self.kind(), name, &errors));
            }
            // An object whose deletion is complete but for its finalizers goes once the last
            // one is removed (the generic store's ShouldDeleteDuringUpdate).
            let finalized = new.metadata().finalizers.as_ref().is_none_or(|f| f.is_empty());
            if old.metadata().deletion_grace_period_seconds == Some(0) && finalized && !dry_run {
                return Ok(S::Object::clone(&objects.commit_shared(ChangeKind::Deleted, new, Some(old))));
            }
            new.metadata_mut().resource_version = old.metadata().resource_version.clone();
            if serde_json::to_value(&new).ok() == serde_json::to_value(&*old).ok() {
                return Ok(S::Object::clone(&old)); // a no-op update writes nothing
            }
            if dry_run {
                return Ok(new);
            }
            Ok(S::Object::clone(&objects.commit_shared(ChangeKind::Modified, new, Some(old))))
        })
    }

    /// Applies a JSON merge patch (RFC 7386), then updates.
    pub fn merge_patch(&self, namespace: &str, name: &str, patch: &serde_json::Value) -> Result<S::Object, ApiError> {
        // A patch without a resourceVersion of its own applies to whatever is stored: a write
        // in between (the kubelet's status) makes the API server apply it again to the newer
        // object (GuaranteedUpdate), never a Conflict.
        let pinned = patch.pointer("/metadata/resourceVersion").is_some();
        let mut attempts = 0;
        loop {
            let current = self.get(namespace, name)?;
            let mut value = serde_json::to_value(&current).map_err(|e| ApiError::bad_request(e.to_string()))?;
            merge(&mut value, patch);
            let mut patched: S::Object = serde_json::from_value(value)
                .map_err(|e| ApiError::bad_request(format!("the patch does not make a {}: {e}", self.kind().to_ascii_lowercase())))?;
            if !pinned {
                patched.metadata_mut().resource_version = current.metadata().resource_version.clone();
            }
            attempts += 1;
            match self.update(namespace, name, &patched) {
                Err(e) if e.code == 409 && !pinned && attempts < 100 => continue,
                other => return other,
            }
        }
    }

    /// Deletes an object as the API server does. The strategy decides the grace period
    /// (CheckGracefulDelete; none for most kinds). A graceful delete (grace > 0) only sets
    /// `deletionTimestamp` and `deletionGracePeriodSeconds`: the kubelet stops the pod, then
    /// deletes it with grace 0. A delete with grace 0 removes the object unless finalizers
    /// hold it; then it stays, marked, until they are removed. The grace period can only
    /// shrink. Returns the object when it is still there.
    pub fn delete(&self, namespace: &str, name: &str, options: &DeleteOptions) -> Result<Option<S::Object>, ApiError> {
        self.delete_as(namespace, name, options, false)
    }

    /// A delete, or with `dry_run` everything but the write: preconditions and grace are
    /// checked, and the object is returned as the delete would leave it (`None`: gone).
    pub fn delete_as(&self, namespace: &str, name: &str, options: &DeleteOptions, dry_run: bool) -> Result<Option<S::Object>, ApiError> {
        self.write(|objects| {
            let k = self.key(namespace, name);
            let object = objects.get_shared(&k).ok_or_else(|| ApiError::not_found_of(&self.resource(), name))?;
            let m = object.metadata();
            if let Some(uid) = &options.uid {
                if m.uid.as_ref() != Some(uid) {
                    return Err(ApiError::precondition_of(&self.resource(), name, "UID", uid, m.uid.as_deref().unwrap_or("")));
                }
            }
            if let Some(rv) = &options.resource_version {
                if m.resource_version.as_ref() != Some(rv) {
                    let stored = m.resource_version.as_deref().unwrap_or("");
                    return Err(ApiError::precondition_of(&self.resource(), name, "ResourceVersion", rv, stored));
                }
            }
            // rest.BeforeDelete: a negative grace period is taken as 1 s.
            let requested = options.grace_period_seconds.map(|g| if g < 0 { 1 } else { g });
            let grace = self.strategy.check_graceful_delete(&object, requested);
            let finalized = m.finalizers.as_ref().is_none_or(|f| f.is_empty());
            if grace == 0 && finalized {
                if !dry_run {
                    objects.commit_shared(ChangeKind::Deleted, S::Object::clone(&object), Some(object.clone()));
                }
                return Ok(None);
            }
            // An object already being deleted only takes a shorter grace period.
            let previous = m.deletion_timestamp.as_ref().map(|t| (t.0, m.deletion_grace_period_seconds.unwrap_or(0)));
            let grace = previous.map_or(grace, |(_, g)| g.min(grace));
            if previous.is_some_and(|(_, g)| g == grace) {
                return Ok(Some(S::Object::clone(&object)));
            }
            // deletionTimestamp is when the grace period ends (rest.BeforeDelete: now plus the
            // grace period; a shorter one moves it earlier by the difference).
            let start = match previous {
                Some((at, g)) => at - jiff::SignedDuration::from_secs(g),
                None => now().0,
            };
            let mut marked = S::Object::clone(&object);
            marked.metadata_mut().deletion_timestamp =
                Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(start + jiff::SignedDuration::from_secs(grace)));
            marked.metadata_mut().deletion_grace_period_seconds = Some(grace);
            // The first graceful deletion is a change of the object the generation counts
            // (rest.BeforeDelete: an object whose generation is set gets the next one).
            if previous.is_none() {
                if let Some(g) = marked.metadata().generation.filter(|g| *g > 0) {
                    marked.metadata_mut().generation = Some(g + 1);
                }
            }
            if dry_run {
                return Ok(Some(marked));
            }
            Ok(Some(S::Object::clone(&objects.commit_shared(ChangeKind::Modified, marked, Some(object)))))
        })
    }
}

impl<S: Strategy> ChangeSource<S::Object> for Store<S>
where
    S::Object: Object,
{
    fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn changes_since(&self, rv: u64, scope: &Scope) -> Result<(Vec<Change<S::Object>>, u64), ApiError> {
        let objects = self.objects.lock().unwrap();
        // A change is the scope's when the object is in it after or before (one that leaves
        // the scope is a deletion for the watch).
        let of_scope =
            |c: &Change<S::Object>| objects.in_scope(scope, &c.object) || c.prev.as_ref().is_some_and(|p| objects.in_scope(scope, p));
        Ok((objects.history.since(rv, of_scope)?, objects.sequence.current()))
    }
}

/// RFC 7386 JSON merge patch.
pub(super) fn merge(target: &mut serde_json::Value, patch: &serde_json::Value) {
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
