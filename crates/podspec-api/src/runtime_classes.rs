//! RuntimeClasses (`node.k8s.io/v1`), cluster-scoped, in the generic store, with their strategy
//! (pkg/registry/node/runtimeclass/strategy.go, pkg/apis/node/validation), and the RuntimeClass
//! admission of pods (plugin/pkg/admission/runtimeclass/admission.go): a pod that names a class
//! gets its `overhead` and `scheduling` copied into its spec, and a class that does not exist is
//! Forbidden. The kubelet resolves a pod's class to the handler it asks the runtime for
//! ([`handler_of`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Toleration};
use k8s_openapi::api::node::v1::RuntimeClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::generic::Store;
use super::strategy::Strategy;
use crate::validation::FieldError;

/// The strategy for RuntimeClasses: no status, no defaulting; the handler never changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimeClassStrategy;

pub type RuntimeClassStore = Store<RuntimeClassStrategy>;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/// `IsDNS1123Label`, each of its messages.
fn dns1123_label_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > 63 {
        errors.push("must be no more than 63 characters".to_string());
    }
    let b = value.as_bytes();
    let is_label = !b.is_empty()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-';
    if !is_label {
        if !value.is_empty() && crate::validation::metadata::dns1123_subdomain_errors(value).is_empty() {
            errors.push("must not contain dots".to_string());
        } else {
            errors.push(DNS1123_LABEL_MSG.to_string());
        }
    }
    errors
}

impl Strategy for RuntimeClassStrategy {
    type Object = RuntimeClass;
    const NAMESPACED: bool = false;

    fn prepare_for_create(&self, _rc: &mut RuntimeClass) {}

    /// ValidateRuntimeClass: the metadata (a DNS subdomain name), the handler a DNS label, the
    /// overhead as a container's limits, the scheduling's node selector as labels and its
    /// tolerations as a pod's.
    fn validate(&self, rc: &RuntimeClass) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let m = &rc.metadata;
        let name = m.name.as_deref().unwrap_or("");
        if name.is_empty() {
            errs.push(FieldError::required("metadata.name").with_detail("name or generateName is required"));
        } else {
            for msg in crate::validation::metadata::dns1123_subdomain_errors(name) {
                errs.push(FieldError::invalid("metadata.name", name, msg));
            }
        }
        crate::validation::metadata::validate_labels(m.labels.as_ref(), "metadata.labels", &mut errs);
        crate::validation::metadata::validate_annotations(m.annotations.as_ref(), "metadata.annotations", &mut errs);
        for msg in dns1123_label_errors(&rc.handler) {
            errs.push(FieldError::invalid("handler", &rc.handler, msg));
        }
        if let Some(fixed) = rc.overhead.as_ref().and_then(|o| o.pod_fixed.clone()) {
            let limits = k8s_openapi::api::core::v1::ResourceRequirements { limits: Some(fixed), ..Default::default() };
            crate::validation::pod_rules::validate_resources(&limits, "overhead", &mut errs);
        }
        if let Some(s) = &rc.scheduling {
            crate::validation::metadata::validate_labels(s.node_selector.as_ref(), "scheduling.nodeSelector", &mut errs);
            for (i, t) in s.tolerations.iter().flatten().enumerate() {
                crate::validation::pod_rules::validate_toleration(t, &format!("scheduling.tolerations[{i}]"), &mut errs);
            }
        }
        errs
    }

    fn prepare_for_update(&self, _new: &mut RuntimeClass, _old: &RuntimeClass) {}

    /// ValidateRuntimeClassUpdate: the handler is immutable (the rest as on create, as the
    /// strategy's ValidateUpdate runs both).
    fn validate_update(&self, new: &RuntimeClass, old: &RuntimeClass) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        if new.handler != old.handler {
            errs.push(FieldError::invalid("handler", &new.handler, "field is immutable"));
        }
        errs
    }
}

/// Why the RuntimeClass admission refuses a pod: the text after `pods "<name>" is forbidden: `.
pub type Refusal = String;

/// The class a pod names (none for an empty name); a class that does not exist refuses the pod.
fn class_of(classes: &RuntimeClassStore, pod: &Pod) -> Result<Option<RuntimeClass>, Refusal> {
    let Some(name) = pod.spec.as_ref().and_then(|s| s.runtime_class_name.as_deref()) else { return Ok(None) };
    classes.get("", name).map(Some).map_err(|_| format!("pod rejected: RuntimeClass {name:?} not found"))
}

/// Whether two resource lists are the same quantities (apiequality.Semantic: `1Mi` is
/// `1048576`; an empty list is no list).
fn same_resources(a: Option<&BTreeMap<String, Quantity>>, b: Option<&BTreeMap<String, Quantity>>) -> bool {
    let empty = BTreeMap::new();
    let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
    a.len() == b.len()
        && a.iter().all(|(k, q)| {
            b.get(k).is_some_and(|r| match (super::quantity::parse(&q.0), super::quantity::parse(&r.0)) {
                (Ok(x), Ok(y)) => x == y,
                _ => q.0 == r.0,
            })
        })
}

const OVERHEAD_MISMATCH: &str = "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead";

/// The admission's mutating part (Admit), before the pod is validated: the class must exist;
/// its overhead becomes the pod's (a pod that sets another one is refused); its node selector
/// is merged into the pod's (a key the pod sets to another value is refused) and its
/// tolerations merged with the pod's.
pub fn admit(classes: &RuntimeClassStore, pod: &mut Pod) -> Result<(), Refusal> {
    let Some(rc) = class_of(classes, pod)? else { return Ok(()) };
    let spec = pod.spec.get_or_insert_with(Default::default);
    if let Some(fixed) = rc.overhead.as_ref().and_then(|o| o.pod_fixed.clone()) {
        if spec.overhead.is_some() && !same_resources(Some(&fixed), spec.overhead.as_ref()) {
            return Err(OVERHEAD_MISMATCH.into());
        }
        spec.overhead = Some(fixed);
    }
    if let Some(scheduling) = &rc.scheduling {
        let class_selector = scheduling.node_selector.clone().unwrap_or_default();
        match spec.node_selector.as_mut() {
            None => spec.node_selector = scheduling.node_selector.clone(),
            Some(selector) => {
                for (key, value) in class_selector {
                    if let Some(pod_value) = selector.get(&key).filter(|v| **v != value) {
                        return Err(format!(
                            "conflict: runtimeClass.scheduling.nodeSelector[{key}] = {value}; pod.spec.nodeSelector[{key}] = {pod_value}"
                        ));
                    }
                    selector.insert(key, value);
                }
            }
        }
        let merged = merge_tolerations(spec.tolerations.as_deref().unwrap_or(&[]), scheduling.tolerations.as_deref().unwrap_or(&[]));
        spec.tolerations = (!merged.is_empty()).then_some(merged);
    }
    Ok(())
}

/// The admission's validating part (Validate), after the pod is validated: the pod's overhead
/// is its class's, and a pod whose class defines none (or that names no class) sets none.
pub fn validate(classes: &RuntimeClassStore, pod: &Pod) -> Result<(), Refusal> {
    let rc = class_of(classes, pod)?;
    let overhead = pod.spec.as_ref().and_then(|s| s.overhead.as_ref());
    match rc.as_ref().and_then(|rc| rc.overhead.as_ref()) {
        Some(o) if !same_resources(o.pod_fixed.as_ref(), overhead) => Err(OVERHEAD_MISMATCH.into()),
        Some(_) => Ok(()),
        None if overhead.is_some() => Err("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead".into()),
        None => Ok(()),
    }
}

/// The handler the kubelet asks the runtime for a pod (the runtimeclass manager's
/// LookupRuntimeHandler): "" (the runtime's default) for a pod that names no class; for a class
/// that is gone, the NotFound its lister answers (named by the singular resource).
pub fn handler_of(classes: &RuntimeClassStore, pod: &Pod) -> Result<String, crate::Error> {
    match pod.spec.as_ref().and_then(|s| s.runtime_class_name.as_deref()).filter(|n| !n.is_empty()) {
        None => Ok(String::new()),
        Some(name) => classes.get("", name).map(|rc| rc.handler).map_err(|_| crate::Error::RuntimeClassNotFound { name: name.into() }),
    }
}

/// MergeTolerations (pkg/util/tolerations): both lists, without a toleration another one
/// covers (of two equal ones, the first is kept).
fn merge_tolerations(first: &[Toleration], second: &[Toleration]) -> Vec<Toleration> {
    let all: Vec<&Toleration> = first.iter().chain(second).collect();
    let mut merged: Vec<Toleration> = Vec::new();
    'next: for (i, t) in all.iter().enumerate() {
        if merged.iter().any(|m| is_superset(m, t)) {
            continue;
        }
        for later in &all[i + 1..] {
            if *later != *t && is_superset(later, t) {
                continue 'next;
            }
        }
        merged.push((*t).clone());
    }
    merged
}

/// Whether `ss` tolerates everything `t` does.
fn is_superset(ss: &Toleration, t: &Toleration) -> bool {
    if ss == t {
        return true;
    }
    let (ss_key, t_key) = (ss.key.as_deref().unwrap_or(""), t.key.as_deref().unwrap_or(""));
    let ss_op = ss.operator.as_deref().unwrap_or("");
    if t_key != ss_key && (!ss_key.is_empty() || ss_op != "Exists") {
        return false;
    }
    let ss_effect = ss.effect.as_deref().unwrap_or("");
    if t.effect.as_deref().unwrap_or("") != ss_effect && !ss_effect.is_empty() {
        return false;
    }
    if ss_effect == "NoExecute" {
        if let Some(ss_seconds) = ss.toleration_seconds {
            if t.toleration_seconds.is_none_or(|s| s > ss_seconds) {
                return false;
            }
        }
    }
    match ss_op {
        "Equal" | "" => t.operator.as_deref() == Some("Equal") && t.value == ss.value,
        "Exists" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> RuntimeClassStore {
        Store::with_strategy(RuntimeClassStrategy, Default::default(), "t")
    }

    fn rc(yaml: &str) -> RuntimeClass {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn pod(extra_spec: &str) -> Pod {
        serde_yaml::from_str(&format!("metadata: {{name: p}}\nspec:\n  containers:\n  - {{name: a, image: busybox}}\n{extra_spec}"))
            .unwrap()
    }

    #[test]
    fn a_runtime_class_is_validated_as_kubernetes_validates_it() {
        let s = store();
        let e = s.create_object(&rc("metadata: {name: Bad_Name}\nhandler: my.handler\n"), false).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.starts_with("RuntimeClass.node.k8s.io \"Bad_Name\" is invalid: [metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", e.message);
        assert!(e.message.contains("handler: Invalid value: \"my.handler\": must not contain dots"), "{}", e.message);
        let e = s.create_object(&rc("metadata: {name: ok}\nhandler: ''\noverhead: {podFixed: {cpu: -1}}\n"), false).unwrap_err();
        assert!(e.message.contains(&format!("handler: Invalid value: \"\": {DNS1123_LABEL_MSG}")), "{}", e.message);
        assert!(e.message.contains("overhead.limits[cpu]: Invalid value: \"-1\": must be greater than or equal to 0"), "{}", e.message);
        let made = s.create_object(&rc("metadata: {name: ok}\nhandler: runc\n"), false).unwrap();
        let again = s.create_object(&made, false).unwrap_err();
        assert_eq!(again.message, "runtimeclasses.node.k8s.io \"ok\" already exists");
        let mut changed = made.clone();
        changed.handler = "crun".into();
        let e = s.update("", "ok", &changed).unwrap_err();
        assert_eq!(e.message, "RuntimeClass.node.k8s.io \"ok\" is invalid: handler: Invalid value: \"crun\": field is immutable");
        assert_eq!(s.get("", "gone").unwrap_err().message, "runtimeclasses.node.k8s.io \"gone\" not found");
    }

    #[test]
    fn a_pod_naming_an_unknown_class_is_refused_and_a_known_one_gets_its_overhead() {
        let s = store();
        let mut p = pod("  runtimeClassName: missing\n");
        assert_eq!(admit(&s, &mut p).unwrap_err(), "pod rejected: RuntimeClass \"missing\" not found");
        s.create_object(&rc("metadata: {name: fat}\nhandler: runc\noverhead: {podFixed: {cpu: 10m, memory: 1Mi}}\n"), false).unwrap();
        let mut p = pod("  runtimeClassName: fat\n");
        admit(&s, &mut p).unwrap();
        let overhead = p.spec.as_ref().unwrap().overhead.clone().unwrap();
        assert_eq!((overhead["cpu"].0.as_str(), overhead["memory"].0.as_str()), ("10m", "1Mi"));
        assert_eq!(validate(&s, &p), Ok(()));
        // The same quantities written otherwise are the same overhead.
        let mut same = pod("  runtimeClassName: fat\n  overhead: {cpu: 0.01, memory: '1048576'}\n");
        assert_eq!(admit(&s, &mut same), Ok(()));
        let mut other = pod("  runtimeClassName: fat\n  overhead: {cpu: 20m, memory: 1Mi}\n");
        assert_eq!(admit(&s, &mut other).unwrap_err(), OVERHEAD_MISMATCH);
        let no_class = pod("  overhead: {cpu: 20m}\n");
        assert_eq!(
            validate(&s, &no_class).unwrap_err(),
            "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead"
        );
    }

    #[test]
    fn a_class_s_scheduling_is_merged_into_the_pod_and_a_conflict_refused() {
        let s = store();
        let yaml = "metadata: {name: pinned}\nhandler: runc\nscheduling:\n  nodeSelector: {sandbox: 'true', zone: a}\n  tolerations:\n  - {key: sandbox, operator: Exists}\n  - {key: gpu, operator: Equal, value: x, effect: NoSchedule}\n";
        s.create_object(&rc(yaml), false).unwrap();
        let mut p = pod("  runtimeClassName: pinned\n  nodeSelector: {disk: ssd, zone: a}\n  tolerations:\n  - {key: sandbox, operator: Equal, value: v}\n  - {key: other, operator: Exists}\n");
        admit(&s, &mut p).unwrap();
        let spec = p.spec.unwrap();
        let selector: Vec<_> = spec.node_selector.unwrap().into_iter().collect();
        assert_eq!(selector, [("disk".into(), "ssd".into()), ("sandbox".into(), "true".into()), ("zone".into(), "a".into())]);
        // The pod's `sandbox=v` is covered by the class's `sandbox Exists`, and goes.
        let keys: Vec<_> = spec.tolerations.unwrap().into_iter().map(|t| (t.key.unwrap(), t.operator.unwrap())).collect();
        assert_eq!(keys, [("other".into(), "Exists".into()), ("sandbox".into(), "Exists".into()), ("gpu".into(), "Equal".into())]);
        // A pod that tolerates everything keeps its one toleration: the class's are covered.
        let mut all = pod("  runtimeClassName: pinned\n  tolerations: [{operator: Exists}]\n");
        admit(&s, &mut all).unwrap();
        assert_eq!(all.spec.unwrap().tolerations.unwrap().len(), 1);
        let mut conflict = pod("  runtimeClassName: pinned\n  nodeSelector: {zone: b}\n");
        assert_eq!(
            admit(&s, &mut conflict).unwrap_err(),
            "conflict: runtimeClass.scheduling.nodeSelector[zone] = a; pod.spec.nodeSelector[zone] = b"
        );
    }

    #[test]
    fn the_kubelet_resolves_a_class_to_its_handler() {
        let s = store();
        s.create_object(&rc("metadata: {name: fast}\nhandler: crun\n"), false).unwrap();
        assert_eq!(handler_of(&s, &pod("")).unwrap(), "");
        assert_eq!(handler_of(&s, &pod("  runtimeClassName: fast\n")).unwrap(), "crun");
        assert_eq!(
            handler_of(&s, &pod("  runtimeClassName: gone\n")).unwrap_err().to_string(),
            "runtimeclass.node.k8s.io \"gone\" not found"
        );
    }
}
