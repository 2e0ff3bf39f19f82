//! Pod update validation, as Kubernetes' `ValidatePodUpdate` does it
//! (pkg/apis/core/validation/validation.go: ValidatePodUpdate, ValidateContainerUpdates,
//! validateOnlyAddedTolerations; apimachinery ValidateObjectMetaAccessorUpdate).

use k8s_openapi::api::core::v1::{Pod, PodSpec, Toleration};

use super::pod::validate_pod;
use super::FieldError;

/// The fields a pod update may change, as Kubernetes lists them in its error.
pub const UPDATABLE_POD_SPEC_FIELDS: &[&str] = &[
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

const IMMUTABLE: &str = "field is immutable";

/// Go's `%#v` of a `[]string`.
fn go_string_slice(items: &[String]) -> String {
    format!("[]string{{{}}}", items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", "))
}

fn immutable<T: PartialEq + std::fmt::Debug>(field: &str, new: &Option<T>, old: &Option<T>, errs: &mut Vec<FieldError>) {
    if new != old {
        let shown = match new {
            Some(v) => format!("{v:?}"),
            None => "\"null\"".to_string(),
        };
        errs.push(FieldError::invalid_raw(field, shown, IMMUTABLE));
    }
}

/// Validates `new` as an update of `old`. Both are the stored form (after the API server's own
/// repairs of server-managed metadata).
pub fn validate_pod_update(new: &Pod, old: &Pod) -> Vec<FieldError> {
    let mut errs = metadata_update_errors(new, old);

    // The new pod must be valid as a pod (validatePodMetadataAndSpec; its ephemeral
    // containers too, which the munged comparison below then keeps from changing here).
    errs.extend(validate_pod(new));

    let empty = PodSpec::default();
    let ns = new.spec.as_ref().unwrap_or(&empty);
    let os = old.spec.as_ref().unwrap_or(&empty);
    let none = Vec::new();
    let groups = [
        ("spec.containers", &ns.containers, &os.containers),
        ("spec.initContainers", ns.init_containers.as_ref().unwrap_or(&none), os.init_containers.as_ref().unwrap_or(&none)),
    ];
    for (path, nc, oc) in groups {
        if nc.len() != oc.len() {
            errs.push(FieldError::forbidden(path, "pod updates may not add or remove containers"));
            return errs;
        }
        for (i, c) in nc.iter().enumerate() {
            let image = c.image.as_deref().unwrap_or("");
            if image.is_empty() {
                errs.push(FieldError::required(format!("{path}[{i}].image")));
            }
            if image.trim() != image {
                errs.push(FieldError::invalid(format!("{path}[{i}].image"), image, "must not have leading or trailing whitespace"));
            }
        }
    }

    match (ns.active_deadline_seconds, os.active_deadline_seconds) {
        (Some(n), _) if !(0..=i32::MAX as i64).contains(&n) => {
            errs.push(FieldError::invalid_raw("spec.activeDeadlineSeconds", n, format!("must be between 0 and {}, inclusive", i32::MAX)));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push(FieldError::invalid_raw("spec.activeDeadlineSeconds", n, "must be less than or equal to previous value"));
            return errs;
        }
        (None, Some(_)) => {
            errs.push(FieldError::invalid_raw(
                "spec.activeDeadlineSeconds",
                "\"null\"",
                "must not update from a positive integer to nil value",
            ));
        }
        _ => {}
    }

    if !only_added_tolerations(ns.tolerations.as_deref().unwrap_or(&[]), os.tolerations.as_deref().unwrap_or(&[])) {
        errs.push(FieldError::forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"));
    }

    // Every other change is refused, with the difference shown.
    let munged = munge(ns, os);
    let (old_v, munged_v) = (serde_json::to_value(os).unwrap_or_default(), serde_json::to_value(&munged).unwrap_or_default());
    if old_v != munged_v {
        let old_yaml = serde_yaml::to_string(os).unwrap_or_default();
        let new_yaml = serde_yaml::to_string(&munged).unwrap_or_default();
        // Kubernetes shows a go-cmp diff of the internal PodSpec; this is the same change as a
        // unified diff of the spec's YAML (`-` stored, `+` requested).
        let diff = similar::TextDiff::from_lines(&old_yaml, &new_yaml).unified_diff().context_radius(3).header("spec", "spec").to_string();
        errs.push(FieldError::forbidden(
            "spec",
            format!("pod updates may not change fields other than {}\n{}", UPDATABLE_POD_SPEC_FIELDS.join(","), diff.trim_end()),
        ));
    }
    errs
}

/// The metadata rules of every pod update, the whole pod's and a subresource's
/// (ValidateObjectMetaUpdate, ValidatePodSpecificAnnotationUpdates).
pub(super) fn metadata_update_errors(new: &Pod, old: &Pod) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (nm, om) = (&new.metadata, &old.metadata);

    if om.deletion_timestamp.is_some() {
        let old_f = om.finalizers.clone().unwrap_or_default();
        let mut extra: Vec<String> = nm.finalizers.iter().flatten().filter(|f| !old_f.contains(f)).cloned().collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            errs.push(FieldError::forbidden(
                "metadata.finalizers",
                format!("no new finalizers can be added if the object is being deleted, found new finalizers {}", go_string_slice(&extra)),
            ));
        }
    }
    if nm.generation.unwrap_or(0) < om.generation.unwrap_or(0) {
        errs.push(FieldError::invalid_raw("metadata.generation", nm.generation.unwrap_or(0), "must not be decremented"));
    }
    immutable("metadata.name", &nm.name, &om.name, &mut errs);
    immutable("metadata.namespace", &nm.namespace, &om.namespace, &mut errs);
    immutable("metadata.uid", &nm.uid, &om.uid, &mut errs);
    let ts = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| m.creation_timestamp.as_ref().map(|t| t.0.to_string());
    immutable("metadata.creationTimestamp", &ts(nm), &ts(om), &mut errs);
    let dts = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| m.deletion_timestamp.as_ref().map(|t| t.0.to_string());
    immutable("metadata.deletionTimestamp", &dts(nm), &dts(om), &mut errs);

    // Mirror pods keep their annotation; no other pod gets it
    // (ValidatePodSpecificAnnotationUpdates).
    let mirror = crate::admission::MIRROR_ANNOTATION;
    let annotation =
        |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| m.annotations.as_ref().and_then(|a| a.get(mirror)).cloned();
    match (annotation(nm), annotation(om)) {
        (n, Some(o)) if n.as_ref() != Some(&o) => {
            errs.push(FieldError::forbidden(format!("metadata.annotations[{mirror}]"), "may not remove or update mirror pod annotation"))
        }
        (Some(_), None) => errs.push(FieldError::forbidden(format!("metadata.annotations[{mirror}]"), "may not add mirror pod annotation")),
        _ => {}
    }
    errs
}

fn same_toleration(a: &Toleration, b: &Toleration) -> bool {
    a.key == b.key && a.operator == b.operator && a.value == b.value && a.effect == b.effect
}

/// Every old toleration is still there (its tolerationSeconds may change).
fn only_added_tolerations(new: &[Toleration], old: &[Toleration]) -> bool {
    old.iter().all(|o| new.iter().any(|n| same_toleration(n, o)))
}

/// The new spec with the fields an update may change set back to their old values.
fn munge(new: &PodSpec, old: &PodSpec) -> PodSpec {
    let mut m = new.clone();
    for (c, o) in m.containers.iter_mut().zip(&old.containers) {
        c.image = o.image.clone();
    }
    if let (Some(mc), Some(oc)) = (m.init_containers.as_mut(), old.init_containers.as_ref()) {
        for (c, o) in mc.iter_mut().zip(oc) {
            c.image = o.image.clone();
        }
    }
    m.active_deadline_seconds = old.active_deadline_seconds;
    m.tolerations = old.tolerations.clone();
    m.scheduling_gates = old.scheduling_gates.clone();
    if old.termination_grace_period_seconds.is_some_and(|g| g < 0) && m.termination_grace_period_seconds == Some(1) {
        m.termination_grace_period_seconds = old.termination_grace_period_seconds;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::aggregate;

    fn pod(extra_spec: &str) -> Pod {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: ns, uid: u1, generation: 1}}\nspec:\n  containers:\n  - {{name: a, image: busybox:1.36}}\n{extra_spec}"
        );
        // Stored pods are defaulted (the strategy defaults every write before validation).
        let mut p = serde_yaml::from_str(&yaml).unwrap();
        crate::defaults::apply(&mut p);
        p
    }

    fn errors(new: &Pod, old: &Pod) -> String {
        aggregate(&validate_pod_update(new, old))
    }

    #[test]
    fn an_image_change_is_allowed_and_an_empty_or_padded_image_is_not() {
        let old = pod("");
        let mut new = old.clone();
        new.spec.as_mut().unwrap().containers[0].image = Some("busybox:1.35".into());
        assert!(validate_pod_update(&new, &old).is_empty());
        new.spec.as_mut().unwrap().containers[0].image = Some(" busybox".into());
        assert!(errors(&new, &old)
            .contains("spec.containers[0].image: Invalid value: \" busybox\": must not have leading or trailing whitespace"));
    }

    #[test]
    fn metadata_name_and_uid_are_immutable_and_generation_does_not_go_down() {
        let old = pod("");
        let mut new = old.clone();
        new.metadata.uid = Some("other".into());
        new.metadata.generation = Some(0);
        let text = errors(&new, &old);
        assert!(text.contains("metadata.uid: Invalid value: \"other\": field is immutable"), "{text}");
        assert!(text.contains("metadata.generation: Invalid value: 0: must not be decremented"), "{text}");
    }

    #[test]
    fn active_deadline_may_be_set_and_lowered_but_not_raised_or_unset() {
        let unset = pod("");
        let set = pod("  activeDeadlineSeconds: 100\n");
        assert!(validate_pod_update(&set, &unset).is_empty());
        assert!(validate_pod_update(&pod("  activeDeadlineSeconds: 50\n"), &set).is_empty());
        assert_eq!(
            errors(&pod("  activeDeadlineSeconds: 200\n"), &set),
            "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
        );
        assert!(errors(&unset, &set)
            .starts_with("spec.activeDeadlineSeconds: Invalid value: \"null\": must not update from a positive integer to nil value"));
    }

    #[test]
    fn tolerations_may_only_be_added() {
        let old = pod("  tolerations: [{key: a, operator: Exists}]\n");
        assert!(validate_pod_update(&pod("  tolerations: [{key: a, operator: Exists}, {key: b, operator: Exists}]\n"), &old).is_empty());
        let text = errors(&pod("  tolerations: [{key: b, operator: Exists}]\n"), &old);
        assert!(
            text.contains("spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"),
            "{text}"
        );
    }

    #[test]
    fn other_spec_changes_are_refused_with_kubernetes_text_and_a_diff() {
        let old = pod("");
        let new = pod("  restartPolicy: Never\n");
        let text = errors(&new, &old);
        let first = "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n";
        assert!(text.starts_with(first), "{text}");
        assert!(text.contains("+restartPolicy: Never"), "{text}");
    }

    #[test]
    fn adding_a_container_has_its_own_message() {
        let old = pod("");
        let mut new = old.clone();
        let extra = new.spec.as_ref().unwrap().containers[0].clone();
        new.spec.as_mut().unwrap().containers.push(k8s_openapi::api::core::v1::Container { name: "b".into(), ..extra });
        assert_eq!(errors(&new, &old), "spec.containers: Forbidden: pod updates may not add or remove containers");
    }

    #[test]
    fn no_new_finalizer_once_deletion_started() {
        let mut old = pod("");
        old.metadata.deletion_timestamp = Some(crate::time::now());
        let mut new = old.clone();
        new.metadata.finalizers = Some(vec!["example.com/x".into()]);
        assert_eq!(
            errors(&new, &old),
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/x\"}"
        );
    }
}
