//! Field ownership of a pod (`metadata.managedFields`), as kube-apiserver tracks it with
//! structured-merge-diff (sigs.k8s.io/structured-merge-diff: `fieldpath`, `merge`; the docs
//! page "Server-Side Apply", kubernetes.io/docs/reference/using-api/server-side-apply/):
//!
//! - a field set is a set of paths; a path's steps are fields (`f:name`), items of an
//!   associative list by their keys (`k:{"name":"app"}`) and items of a set (`v:"x"`); it is
//!   written as FieldsV1 (a member with children carries `.`) and read back from it;
//! - the pod's lists are associative (by their `+listMapKey`s of core/v1 types.go), sets
//!   (`+listType=set`) or atomic (owned whole) — see [`list_kind`];
//! - an Update (create, PUT, merge/JSON/strategic patch) gives its manager the fields it
//!   changed and takes them from the others ([`record_update`]);
//! - an Apply merges the applied configuration into the live object ([`merge_applied`]),
//!   conflicts where it changes a field another manager owns ([`conflicts`]) and removes the
//!   fields it applied before and leaves out now, unless another manager owns them
//!   ([`remove_unowned`]).
//!
//! What no manager owns: `apiVersion`, `kind`, the server's metadata (name, namespace, uid,
//! resourceVersion, generation, creationTimestamp, deletion fields, managedFields) and the
//! status: a pod's `status` is a reset field of its main resource (the pod strategy's
//! GetResetFields). Writes of the status subresource (the kubelet's among them) are recorded
//! under their manager with subresource `status`, owning status fields only
//! ([`record_status_update`]); writes of the ephemeralcontainers subresource (`kubectl debug`)
//! with subresource `ephemeralcontainers`, owning the ephemeral containers only
//! ([`record_ephemeral_containers_update`]).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, ObjectMeta, Time};
use k8s_openapi::Metadata;
use serde_json::{Map, Value};

/// One step of a path (structured-merge-diff's PathElement).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A field of an object (`f:name`).
    Field(String),
    /// An item of an associative list, by its key fields and their values as JSON texts,
    /// sorted by field name (`k:{"containerPort":80,"protocol":"TCP"}`).
    Key(Vec<(String, String)>),
    /// An item of a set, by its value as JSON text (`v:"x"`).
    Value(String),
}

pub type FieldPath = Vec<Step>;

/// A set of paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeSet<FieldPath>);

/// What a list is for structured-merge-diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `+listType=map` with these `+listMapKey`s.
    Map(&'static [&'static str]),
    /// `+listType=set`.
    Set,
    /// `+listType=atomic` (or no list type): owned and replaced whole.
    Atomic,
}

/// The list type of the pod's list field `field` (core/v1 types.go and meta/v1 types.go, as of
/// Kubernetes 1.33). Lists not named here are atomic.
pub fn list_kind(field: &str) -> ListKind {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => ListKind::Map(&["name"]),
        "ports" => ListKind::Map(&["containerPort", "protocol"]),
        "hostAliases" | "podIPs" => ListKind::Map(&["ip"]),
        "conditions" => ListKind::Map(&["type"]),
        "topologySpreadConstraints" => ListKind::Map(&["topologyKey", "whenUnsatisfiable"]),
        "ownerReferences" => ListKind::Map(&["uid"]),
        "finalizers" => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

/// A key field's value when an item leaves it out: the schema's default (`protocol` of a
/// container port is TCP), as structured-merge-diff takes it from the OpenAPI default.
fn key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::String("TCP".into()))
}

/// The key of an associative list's item, or None when a key field without default is missing.
fn item_key(item: &Value, keys: &[&str]) -> Option<Step> {
    let mut fields = Vec::new();
    for k in keys {
        let v = item.get(*k).cloned().or_else(|| key_default(k))?;
        fields.push((k.to_string(), v.to_string()));
    }
    fields.sort();
    Some(Step::Key(fields))
}

/// The fields no manager owns (structured-merge-diff's stripped metadata and the pod's reset
/// fields), at the top of a pod's JSON.
fn unmanaged(path: &[Step]) -> bool {
    let field = |i: usize| match path.get(i) {
        Some(Step::Field(f)) => Some(f.as_str()),
        _ => None,
    };
    match (path.len(), field(0), field(1)) {
        (1, Some("apiVersion" | "kind"), _) => true,
        (_, Some("status"), _) => true,
        (_, Some("metadata"), Some(f)) => matches!(
            f,
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "managedFields"
                | "selfLink"
        ),
        _ => false,
    }
}

/// A node of an object's tree: its path, whether it is a leaf (a scalar, an atomic list, an
/// empty object or list), and its value.
struct Node<'a> {
    path: FieldPath,
    leaf: bool,
    keyed_item: bool,
    value: &'a Value,
}

fn nodes(value: &Value) -> Vec<Node<'_>> {
    nodes_in(value, Scope::Main)
}

/// Which fields a write may own: the main resource's (all but the status), the status
/// subresource's (the status only: its reset fields are everything else), or the
/// ephemeralcontainers subresource's (the ephemeral containers only: its strategy keeps the
/// rest of the stored pod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Main,
    Status,
    /// The `ephemeralcontainers` subresource: `spec.ephemeralContainers` and what is in it.
    EphemeralContainers,
}

fn nodes_in(value: &Value, scope: Scope) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), "", &mut out);
    let in_status = |p: &[Step]| p.first() == Some(&Step::Field("status".into()));
    match scope {
        Scope::Main => out.retain(|n| !unmanaged(&n.path)),
        Scope::Status => out.retain(|n| in_status(&n.path)),
        Scope::EphemeralContainers => {
            let under = [Step::Field("spec".into()), Step::Field("ephemeralContainers".into())];
            out.retain(|n| n.path.starts_with(&under))
        }
    }
    out
}

fn walk<'a>(value: &'a Value, path: &mut FieldPath, field: &str, out: &mut Vec<Node<'a>>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                path.push(Step::Field(k.clone()));
                let leaf = is_leaf(v, k);
                out.push(Node { path: path.clone(), leaf, keyed_item: false, value: v });
                if !leaf {
                    walk(v, path, k, out);
                }
                path.pop();
            }
        }
        Value::Array(items) => match list_kind(field) {
            ListKind::Map(keys) => {
                for item in items {
                    if let Some(step) = item_key(item, keys) {
                        path.push(step);
                        out.push(Node { path: path.clone(), leaf: false, keyed_item: true, value: item });
                        walk(item, path, "", out);
                        path.pop();
                    }
                }
            }
            ListKind::Set => {
                for item in items {
                    path.push(Step::Value(item.to_string()));
                    out.push(Node { path: path.clone(), leaf: true, keyed_item: true, value: item });
                    path.pop();
                }
            }
            ListKind::Atomic => {}
        },
        _ => {}
    }
}

fn is_leaf(v: &Value, field: &str) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty() || list_kind(field) == ListKind::Atomic,
        _ => true,
    }
}

/// The value at `path` in `value`.
pub fn get<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    let mut here = value;
    let mut field = "";
    for step in path {
        here = match step {
            Step::Field(f) => {
                field = f;
                here.as_object()?.get(f)?
            }
            Step::Key(_) | Step::Value(_) => {
                let items = here.as_array()?;
                items.iter().find(|i| item_step(i, field).as_ref() == Some(step))?
            }
        };
    }
    Some(here)
}

fn item_step(item: &Value, field: &str) -> Option<Step> {
    match list_kind(field) {
        ListKind::Map(keys) => item_key(item, keys),
        ListKind::Set => Some(Step::Value(item.to_string())),
        ListKind::Atomic => None,
    }
}

impl FieldSet {
    /// The set an applied configuration claims (structured-merge-diff's ToFieldSet): its
    /// leaves and the items of its associative lists and sets.
    pub fn of_applied(config: &Value) -> Self {
        FieldSet(nodes(config).into_iter().filter(|n| n.leaf || n.keyed_item).map(|n| n.path).collect())
    }

    pub fn contains(&self, path: &[Step]) -> bool {
        self.0.contains(path)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether it holds `path` or a path below it.
    pub fn has_prefix(&self, path: &[Step]) -> bool {
        self.0.range(path.to_vec()..).next().is_some_and(|p| p.starts_with(path))
    }

    /// Takes out `path` and every path below it.
    pub fn remove_tree(&mut self, path: &[Step]) {
        self.0.retain(|p| !p.starts_with(path));
    }

    /// FieldsV1's JSON form: one object per step, `.` for a member that has children.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut here = &mut root;
            for step in path {
                let next = here.entry(step_text(step)).or_insert_with(|| Value::Object(Map::new()));
                here = next.as_object_mut().expect("object");
            }
            here.insert(".".into(), Value::Object(Map::new()));
        }
        // A member without children is `{}`.
        fn tidy(m: &mut Map<String, Value>) {
            for (k, v) in m.iter_mut() {
                if k == "." {
                    continue;
                }
                let o = v.as_object_mut().expect("object");
                if o.len() == 1 && o.contains_key(".") {
                    o.clear();
                } else {
                    tidy(o);
                }
            }
        }
        tidy(&mut root);
        Value::Object(root)
    }

    /// Reads FieldsV1's JSON form; None when it is not that form.
    pub fn from_fields_v1(v: &Value) -> Option<Self> {
        fn read(m: &Map<String, Value>, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) -> Option<()> {
            for (k, v) in m {
                if k == "." {
                    out.insert(path.clone());
                    continue;
                }
                path.push(parse_step(k)?);
                let o = v.as_object()?;
                if o.is_empty() {
                    out.insert(path.clone());
                } else {
                    read(o, path, out)?;
                }
                path.pop();
            }
            Some(())
        }
        let mut out = BTreeSet::new();
        read(v.as_object()?, &mut Vec::new(), &mut out)?;
        Some(FieldSet(out))
    }
}

fn step_text(step: &Step) -> String {
    match step {
        Step::Field(f) => format!("f:{f}"),
        Step::Key(fields) => {
            let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", Value::String(k.clone()))).collect();
            format!("k:{{{}}}", inner.join(","))
        }
        Step::Value(v) => format!("v:{v}"),
    }
}

fn parse_step(text: &str) -> Option<Step> {
    if let Some(f) = text.strip_prefix("f:") {
        return Some(Step::Field(f.to_string()));
    }
    if let Some(k) = text.strip_prefix("k:") {
        let m: Map<String, Value> = serde_json::from_str(k).ok()?;
        let mut fields: Vec<(String, String)> = m.into_iter().map(|(k, v)| (k, v.to_string())).collect();
        fields.sort();
        return Some(Step::Key(fields));
    }
    text.strip_prefix("v:").map(|v| Step::Value(v.to_string()))
}

/// A path as structured-merge-diff prints it in a conflict: `.spec.containers[name="app"].image`.
pub fn path_string(path: &[Step]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            Step::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            Step::Key(fields) => {
                let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                s.push_str(&format!("[{}]", inner.join(",")));
            }
            Step::Value(v) => s.push_str(&format!("[={v}]")),
        }
    }
    s
}

/// The paths whose value differs from `old` to `new` (structured-merge-diff's Compare, Added
/// and Modified): every node `old` lacks, and every leaf whose value changed; and the nodes of
/// `old` that `new` lacks (Removed).
pub fn compare(old: &Value, new: &Value) -> (FieldSet, FieldSet) {
    compare_in(old, new, Scope::Main)
}

fn compare_in(old: &Value, new: &Value, scope: Scope) -> (FieldSet, FieldSet) {
    let mut changed = BTreeSet::new();
    for n in nodes_in(new, scope) {
        match get(old, &n.path) {
            None => {
                changed.insert(n.path);
            }
            Some(before) if n.leaf && before != n.value => {
                changed.insert(n.path);
            }
            // An object or a list where a scalar was.
            Some(before) if !n.leaf && std::mem::discriminant(before) != std::mem::discriminant(n.value) => {
                changed.insert(n.path);
            }
            Some(_) => {}
        }
    }
    let removed = nodes_in(old, scope).into_iter().filter(|n| get(new, &n.path).is_none()).map(|n| n.path).collect();
    (FieldSet(changed), FieldSet(removed))
}

/// What structured-merge-diff refuses in an applied configuration, in its texts: a field the
/// Pod's schema does not declare (`.spec.containers[name="app"].bogus: field not declared in
/// schema`; `typed` is the configuration as the Pod type keeps it) and two items of an
/// associative list with one key (`.spec.containers[name="app"].env: duplicate entries for key
/// [name="X"]`).
pub fn schema_errors(config: &Value, typed: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(config, typed, &mut Vec::new(), "", &mut out);
    out
}

fn check(config: &Value, typed: &Value, path: &mut FieldPath, field: &str, out: &mut Vec<String>) {
    match (config, typed) {
        (Value::Object(c), Value::Object(t)) => {
            for (k, v) in c {
                if v.is_null() {
                    continue;
                }
                path.push(Step::Field(k.clone()));
                match t.get(k) {
                    None => out.push(format!("{}: field not declared in schema", path_string(path))),
                    Some(tv) => check(v, tv, path, k, out),
                }
                path.pop();
            }
        }
        (Value::Array(c), Value::Array(t)) => {
            let mut seen = BTreeSet::new();
            for (i, item) in c.iter().enumerate() {
                match item_step(item, field) {
                    Some(step) => {
                        if !seen.insert(step.clone()) {
                            out.push(format!(
                                "{}: duplicate entries for key {}",
                                path_string(path),
                                path_string(std::slice::from_ref(&step))
                            ));
                            continue;
                        }
                        if let Some(ti) = t.iter().find(|x| item_step(x, field).as_ref() == Some(&step)) {
                            path.push(step);
                            check(item, ti, path, "", out);
                            path.pop();
                        }
                    }
                    None => {
                        if let Some(ti) = t.get(i) {
                            check(item, ti, path, "", out);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// One manager's entry, read from `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manager {
    pub manager: String,
    pub operation: String,
    pub subresource: Option<String>,
    pub time: Option<Time>,
    pub fields: FieldSet,
}

impl Manager {
    /// How a conflict names it (managedfields' printManager): `"kubectl-label" using v1 at
    /// 2026-12-01T19:00:00Z` for an Update, `"kubectl"` for an Apply.
    pub fn printed(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            s.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == "Update" {
            s.push_str(" using v1");
            if let Some(t) = &self.time {
                s.push_str(&format!(" at {}", t.0.strftime("%Y-%m-%dT%H:%M:%SZ")));
            }
        }
        s
    }
}

/// The managers of an object's `metadata.managedFields` (entries serve cannot read are kept out).
pub fn managers_of<T: Metadata<Ty = ObjectMeta>>(object: &T) -> Vec<Manager> {
    object
        .metadata()
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|e| {
            let fields = FieldSet::from_fields_v1(&e.fields_v1.as_ref()?.0)?;
            Some(Manager {
                manager: e.manager.clone().unwrap_or_default(),
                operation: e.operation.clone().unwrap_or_default(),
                subresource: e.subresource.clone().filter(|s| !s.is_empty()),
                time: e.time.clone(),
                fields,
            })
        })
        .collect()
}

/// Writes the managers back as `metadata.managedFields` (those with no field left are dropped).
pub fn set_managers<T: Metadata<Ty = ObjectMeta>>(object: &mut T, managers: &[Manager]) {
    let entries: Vec<ManagedFieldsEntry> = managers
        .iter()
        .filter(|m| !m.fields.is_empty())
        .map(|m| ManagedFieldsEntry {
            api_version: Some("v1".into()),
            fields_type: Some("FieldsV1".into()),
            fields_v1: Some(FieldsV1(m.fields.to_fields_v1())),
            manager: Some(m.manager.clone()),
            operation: Some(m.operation.clone()),
            subresource: m.subresource.clone(),
            time: m.time.clone(),
        })
        .collect();
    object.metadata_mut().managed_fields = (!entries.is_empty()).then_some(entries);
}

/// The managers an update starts from: those the client sent when it sent any (a single empty
/// entry resets them), else the live object's (a client unaware of managedFields keeps them).
pub fn managers_for_update<T: Metadata<Ty = ObjectMeta>>(sent: &T, live: Option<&T>) -> Vec<Manager> {
    match sent.metadata().managed_fields.as_deref() {
        None | Some([]) => live.map(managers_of).unwrap_or_default(),
        Some([only]) if only == &ManagedFieldsEntry::default() => Vec::new(),
        Some(_) => managers_of(sent),
    }
}

/// The time of an entry: now, in whole seconds (metav1.Time's precision).
pub fn now() -> Time {
    Time(jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap_or(jiff::Timestamp::UNIX_EPOCH))
}

/// Records an Update by `manager`: it gets the fields that changed from `old` to `new` (the
/// whole object on create), the other managers lose them, and removed fields leave every set.
pub fn record_update<T: Recorded>(old: Option<&T>, new: &mut T, manager: &str, now: Time) {
    record_update_in(old, new, manager, Scope::Main, now);
}

/// Records a write of the status subresource by `manager` (an entry with subresource
/// `status`): it gets the status fields that changed.
pub fn record_status_update(old: &Pod, new: &mut Pod, manager: &str, now: Time) {
    new.metadata.managed_fields = old.metadata.managed_fields.clone();
    record_update_in(Some(old), new, manager, Scope::Status, now);
}

/// Records a write of the `ephemeralcontainers` subresource by `manager` (`kubectl debug`'s):
/// an entry with subresource `ephemeralcontainers` that gets the ephemeral containers' fields
/// that changed.
pub fn record_ephemeral_containers_update(old: &Pod, new: &mut Pod, manager: &str, now: Time) {
    new.metadata.managed_fields = old.metadata.managed_fields.clone();
    record_update_in(Some(old), new, manager, Scope::EphemeralContainers, now);
}

/// An object whose writes are recorded: a kind with metadata, as JSON.
pub trait Recorded: k8s_openapi::Resource + Metadata<Ty = ObjectMeta> + serde::Serialize {}
impl<T: k8s_openapi::Resource + Metadata<Ty = ObjectMeta> + serde::Serialize> Recorded for T {}

fn record_update_in<T: Recorded>(old: Option<&T>, new: &mut T, manager: &str, scope: Scope, now: Time) {
    let subresource = match scope {
        Scope::Main => None,
        Scope::Status => Some("status".to_string()),
        Scope::EphemeralContainers => Some("ephemeralcontainers".to_string()),
    };
    let mut managers = managers_for_update(new, old);
    // A create compares with an empty object, whose metadata (and a pod's spec and containers)
    // exist (Go's zero value of the kind), so that they are not members themselves.
    let empty = if T::KIND == "Pod" {
        serde_json::json!({"metadata": {}, "spec": {"containers": []}})
    } else {
        serde_json::json!({"metadata": {}})
    };
    let old_value = old.map(|p| serde_json::to_value(p).unwrap_or_default()).unwrap_or(empty);
    let new_value = serde_json::to_value(&*new).unwrap_or_default();
    let (changed, removed) = compare_in(&old_value, &new_value, scope);
    for m in managers.iter_mut() {
        for p in changed.0.iter().chain(removed.0.iter()) {
            m.fields.remove_tree(p);
        }
    }
    let i = match managers.iter().position(|m| m.manager == manager && m.operation == "Update" && m.subresource == subresource) {
        Some(i) => i,
        None => {
            managers.push(Manager {
                manager: manager.into(),
                operation: "Update".into(),
                subresource,
                time: None,
                fields: FieldSet::default(),
            });
            managers.len() - 1
        }
    };
    if !changed.is_empty() {
        managers[i].time = Some(now);
    }
    managers[i].fields.0.extend(changed.0);
    set_managers(new, &managers);
}

/// Merges an applied configuration into the live object (structured-merge-diff's merge):
/// objects field by field, associative lists item by item by their keys (new items after the
/// live ones), sets as sets, atomic lists and scalars replaced.
pub fn merge_applied(live: &mut Value, applied: &Value, field: &str) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, v) in a {
                match l.get_mut(k) {
                    Some(existing) if !v.is_null() => merge_applied(existing, v, k),
                    _ => {
                        l.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(l), Value::Array(a)) if list_kind(field) != ListKind::Atomic => {
            for item in a {
                let step = item_step(item, field);
                match l.iter_mut().find(|x| step.is_some() && item_step(x, field) == step) {
                    Some(existing) => merge_applied(existing, item, ""),
                    None => l.push(item.clone()),
                }
            }
        }
        (live, applied) => *live = applied.clone(),
    }
}

/// The conflicts of an apply: the paths `applier` claims whose value it changes from `live` to
/// `merged` and that another manager owns, with that manager's index.
pub fn conflicts(managers: &[Manager], applier: usize, claimed: &FieldSet, live: &Value, merged: &Value) -> Vec<(usize, FieldPath)> {
    let (changed, _) = compare(live, merged);
    let mut out = Vec::new();
    for (i, m) in managers.iter().enumerate() {
        if i == applier {
            continue;
        }
        for p in claimed.0.intersection(&changed.0) {
            if m.fields.contains(p) {
                out.push((i, p.clone()));
            }
        }
    }
    out
}

/// Removes from `merged` each path of `gone` (what the applier owned before and applies no
/// more) that no other manager owns, at or below it.
pub fn remove_unowned(merged: &mut Value, gone: &FieldSet, others: &[&Manager]) {
    // In order: an item goes before its fields (which then are gone with it).
    for p in &gone.0 {
        if others.iter().any(|m| m.fields.has_prefix(p)) {
            continue;
        }
        remove(merged, p);
    }
}

fn remove(value: &mut Value, path: &[Step]) {
    let Some((last, parent_path)) = path.split_last() else { return };
    let field = parent_path.iter().rev().find_map(|s| if let Step::Field(f) = s { Some(f.clone()) } else { None });
    let parent = match get_mut(value, parent_path) {
        Some(p) => p,
        None => return,
    };
    // The key fields of an item that stays stay with it.
    if let (Step::Field(f), Some(Step::Key(keys))) = (last, parent_path.last()) {
        if keys.iter().any(|(k, _)| k == f) {
            return;
        }
    }
    match (last, parent) {
        (Step::Field(f), Value::Object(m)) => {
            m.remove(f);
        }
        (step, Value::Array(items)) => {
            let list_field = match parent_path.last() {
                Some(Step::Field(f)) => f.clone(),
                _ => field.unwrap_or_default(),
            };
            items.retain(|i| item_step(i, &list_field).as_ref() != Some(step));
        }
        _ => {}
    }
}

fn get_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut here = value;
    let mut field = String::new();
    for step in path {
        here = match step {
            Step::Field(f) => {
                field = f.clone();
                here.as_object_mut()?.get_mut(f)?
            }
            _ => {
                let items = here.as_array_mut()?;
                items.iter_mut().find(|i| item_step(i, &field).as_ref() == Some(step))?
            }
        };
    }
    Some(here)
}

/// The managers as a map from name and operation, for tests and messages.
pub fn by_name(managers: &[Manager]) -> BTreeMap<(String, String), FieldSet> {
    managers.iter().map(|m| ((m.manager.clone(), m.operation.clone()), m.fields.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    fn time() -> Time {
        Time("2026-12-01T19:00:00Z".parse().unwrap())
    }

    #[test]
    fn an_applied_configuration_claims_its_leaves_and_list_items_in_fields_v1_form() {
        let config = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "busybox:1.36", "args": ["sleep", "1"], "ports": [{"containerPort": 80}]}]}});
        let set = FieldSet::of_applied(&config);
        assert_eq!(
            set.to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:name": {}, "f:image": {}, "f:args": {},
                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}}}})
        );
        assert_eq!(FieldSet::from_fields_v1(&set.to_fields_v1()).unwrap(), set);
        let image: FieldPath = vec![
            Step::Field("spec".into()),
            Step::Field("containers".into()),
            Step::Key(vec![("name".into(), "\"app\"".into())]),
            Step::Field("image".into()),
        ];
        assert!(set.contains(&image));
        assert_eq!(path_string(&image), ".spec.containers[name=\"app\"].image");
    }

    #[test]
    fn an_update_takes_what_it_changed_from_the_other_managers() {
        let created =
            json!({"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "a"}]}});
        let mut p = pod(created.clone());
        record_update(None, &mut p, "kubectl-create", time());
        let sets = by_name(&managers_of(&p));
        let create = &sets[&("kubectl-create".to_string(), "Update".to_string())];
        // A created map is a member (`.`), as the labels of kubectl create's entry are.
        assert_eq!(create.to_fields_v1()["f:metadata"], json!({"f:labels": {".": {}, "f:app": {}}}));
        let old = p.clone();
        let mut labelled = p.clone();
        labelled.metadata.labels.as_mut().unwrap().insert("app".into(), "other".into());
        record_update(Some(&old), &mut labelled, "kubectl-label", time());
        let sets = by_name(&managers_of(&labelled));
        assert_eq!(
            sets[&("kubectl-label".to_string(), "Update".to_string())].to_fields_v1(),
            json!({"f:metadata": {"f:labels": {"f:app": {}}}})
        );
        assert!(!sets[&("kubectl-create".to_string(), "Update".to_string())].to_fields_v1()["f:metadata"]["f:labels"]
            .as_object()
            .unwrap()
            .contains_key("f:app"));
        assert_eq!(labelled.metadata.managed_fields.as_ref().unwrap()[1].time, Some(time()));
    }

    #[test]
    fn status_and_server_metadata_are_no_managers_fields() {
        let mut p = pod(json!({"metadata": {"name": "web", "uid": "u", "resourceVersion": "3"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running"}}));
        record_update(None, &mut p, "m", time());
        let set = &managers_of(&p)[0].fields;
        assert!(set.0.iter().all(|path| path[0] != Step::Field("status".into())), "{set:?}");
        assert_eq!(set.to_fields_v1().get("f:metadata"), None);
    }

    #[test]
    fn an_undeclared_field_and_a_duplicate_key_are_refused_with_their_paths() {
        let config = json!({"spec": {"containers": [{"name": "app", "bogus": 1, "env": [{"name": "X"}, {"name": "X"}]}]}});
        let typed = json!({"spec": {"containers": [{"name": "app", "env": [{"name": "X"}]}]}});
        assert_eq!(
            schema_errors(&config, &typed),
            vec![
                ".spec.containers[name=\"app\"].bogus: field not declared in schema".to_string(),
                ".spec.containers[name=\"app\"].env: duplicate entries for key [name=\"X\"]".to_string(),
            ]
        );
        assert!(schema_errors(&typed, &typed).is_empty());
    }

    #[test]
    fn a_status_write_is_recorded_under_its_manager_with_subresource_status() {
        let mut old = pod(json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}}));
        record_update(None, &mut old, "kubectl-create", time());
        let mut new = old.clone();
        new.status.as_mut().unwrap().phase = Some("Running".into());
        new.status.as_mut().unwrap().pod_ip = Some("10.0.0.1".into());
        record_status_update(&old, &mut new, "kubelet", time());
        let managers = managers_of(&new);
        assert_eq!(managers.len(), 2);
        let kubelet = &managers[1];
        assert_eq!((kubelet.manager.as_str(), kubelet.subresource.as_deref()), ("kubelet", Some("status")));
        assert_eq!(kubelet.fields.to_fields_v1(), json!({"f:status": {"f:phase": {}, "f:podIP": {}}}));
        assert_eq!(managers[0].fields, managers_of(&old)[0].fields, "the user's set is untouched");
        assert_eq!(kubelet.printed(), "\"kubelet\" with subresource \"status\" using v1 at 2026-12-01T19:00:00Z");
    }

    #[test]
    fn an_ephemeral_containers_write_is_recorded_with_its_subresource_and_owns_only_them() {
        let mut old = pod(json!({"metadata": {"name": "web"}, "spec": {"containers": [{"name": "a", "image": "x"}]}}));
        record_update(None, &mut old, "kubectl-create", time());
        let mut new = old.clone();
        // Whatever else differs, the subresource's entry owns the ephemeral containers alone.
        new.spec.as_mut().unwrap().containers[0].image = Some("y".into());
        new.spec.as_mut().unwrap().ephemeral_containers =
            Some(vec![serde_json::from_value(json!({"name": "debugger", "image": "busybox", "stdin": true})).unwrap()]);
        record_ephemeral_containers_update(&old, &mut new, "kubectl-debug", time());
        let managers = managers_of(&new);
        assert_eq!(managers.len(), 2, "{managers:?}");
        let debug = &managers[1];
        assert_eq!((debug.manager.as_str(), debug.subresource.as_deref()), ("kubectl-debug", Some("ephemeralcontainers")));
        assert_eq!(
            debug.fields.to_fields_v1(),
            json!({"f:spec": {"f:ephemeralContainers": {".": {}, "k:{\"name\":\"debugger\"}": {".": {}, "f:image": {}, "f:name": {}, "f:stdin": {}}}}})
        );
        assert_eq!(managers[0].fields, managers_of(&old)[0].fields, "the creator's set is untouched");
        assert_eq!(debug.printed(), "\"kubectl-debug\" with subresource \"ephemeralcontainers\" using v1 at 2026-12-01T19:00:00Z");
    }

    #[test]
    fn an_apply_merges_lists_by_their_keys_and_atomic_lists_whole() {
        let mut live = json!({"spec": {"containers": [{"name": "a", "image": "x", "args": ["1", "2"]}, {"name": "b", "image": "y"}]}});
        merge_applied(&mut live, &json!({"spec": {"containers": [{"name": "b", "image": "z"}, {"name": "a", "args": ["3"]}]}}), "");
        assert_eq!(live, json!({"spec": {"containers": [{"name": "a", "image": "x", "args": ["3"]}, {"name": "b", "image": "z"}]}}));
    }

    #[test]
    fn a_changed_value_of_anothers_field_conflicts_and_the_same_value_is_shared() {
        let live = json!({"metadata": {"labels": {"app": "web"}}});
        let label: FieldPath = vec![Step::Field("metadata".into()), Step::Field("labels".into()), Step::Field("app".into())];
        let other = Manager {
            manager: "kubectl-label".into(),
            operation: "Update".into(),
            subresource: None,
            time: Some(time()),
            fields: FieldSet([label.clone()].into_iter().collect()),
        };
        let me =
            Manager { manager: "kubectl".into(), operation: "Apply".into(), subresource: None, time: None, fields: FieldSet::default() };
        let managers = vec![other, me];
        for (value, expected) in [("web", 0), ("api", 1)] {
            let applied = json!({"metadata": {"labels": {"app": value}}});
            let mut merged = live.clone();
            merge_applied(&mut merged, &applied, "");
            let found = conflicts(&managers, 1, &FieldSet::of_applied(&applied), &live, &merged);
            assert_eq!(found.len(), expected, "{value}");
        }
        assert_eq!(managers[0].printed(), "\"kubectl-label\" using v1 at 2026-12-01T19:00:00Z");
        assert_eq!(managers[1].printed(), "\"kubectl\"");
    }

    #[test]
    fn a_field_left_out_of_an_apply_goes_unless_another_manager_owns_it() {
        let before = FieldSet::of_applied(
            &json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "x", "image": "i"}, {"name": "y", "image": "j"}]}}),
        );
        let now = FieldSet::of_applied(&json!({"metadata": {"labels": {"a": "1"}}, "spec": {"containers": [{"name": "x", "image": "i"}]}}));
        let gone = FieldSet(before.0.difference(&now.0).cloned().collect());
        let mut merged = json!({"metadata": {"labels": {"a": "1", "b": "2", "c": "3"}}, "spec": {"containers": [{"name": "x", "image": "i"}, {"name": "y", "image": "j"}]}});
        let mut keeper = merged.clone();
        remove_unowned(&mut merged, &gone, &[]);
        assert_eq!(merged, json!({"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"containers": [{"name": "x", "image": "i"}]}}));
        let b: FieldPath = vec![Step::Field("metadata".into()), Step::Field("labels".into()), Step::Field("b".into())];
        let other = Manager {
            manager: "o".into(),
            operation: "Update".into(),
            subresource: None,
            time: None,
            fields: FieldSet([b].into_iter().collect()),
        };
        remove_unowned(&mut keeper, &gone, &[&other]);
        assert_eq!(keeper["metadata"]["labels"]["b"], "2");
    }
}
