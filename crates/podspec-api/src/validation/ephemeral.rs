//! Ephemeral containers: what the API allows of them, as Kubernetes' validation does it
//! (pkg/apis/core/validation/validation.go: validateEphemeralContainers,
//! allowedEphemeralContainerFields, ValidatePodEphemeralContainersUpdate).
//!
//! - `validate_ephemeral_containers`: the rules of `spec.ephemeralContainers` every stored pod
//!   keeps (names unique across every kind of container, `targetContainerName` naming a
//!   container or init container, the fields an ephemeral container may not set);
//! - `validate_update`: existing ephemeral containers may be neither changed nor removed, and a
//!   static pod's mirror takes none.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{EphemeralContainer, Pod, PodSpec};
use serde_json::Value;

use super::metadata::validate_label;
use super::pod::validate_pod;
use super::FieldError;
use crate::ephemeral::as_container;

/// The text of a field an ephemeral container may not set.
pub const FORBIDDEN: &str = "cannot be set for an Ephemeral Container";

/// The fields of an ephemeral container that Kubernetes' allow list leaves out, in the order
/// of `EphemeralContainerCommon`'s fields (the order its errors come in).
pub const FORBIDDEN_FIELDS: &[&str] =
    &["ports", "resources", "resizePolicy", "restartPolicy", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle"];

/// Whether a field is set, as Go's comparison with its zero value decides: a list counts even
/// when empty, a struct (`resources`) when any of its fields is set.
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(m) => m.values().any(is_set),
        _ => true,
    }
}

/// `validateEphemeralContainers`, for the parts the reference keeps: `volumes` are the pod's
/// volume names.
pub fn validate_ephemeral_containers(spec: &PodSpec, volumes: &BTreeSet<&str>, errs: &mut Vec<FieldError>) {
    let Some(ephemeral) = spec.ephemeral_containers.as_ref().filter(|e| !e.is_empty()) else { return };
    let others: BTreeSet<&str> = spec.containers.iter().chain(spec.init_containers.iter().flatten()).map(|c| c.name.as_str()).collect();
    let mut names = others.clone();
    for (i, ec) in ephemeral.iter().enumerate() {
        let field = format!("spec.ephemeralContainers[{i}]");
        // validateContainerCommon
        if ec.name.is_empty() {
            errs.push(FieldError::required(format!("{field}.name")));
        } else {
            validate_label(&format!("{field}.name"), &ec.name, errs);
        }
        if ec.image.as_deref().unwrap_or("").is_empty() {
            errs.push(FieldError::required(format!("{field}.image")));
        }
        // The rest of validateContainerCommon: policies, ports, env, envFrom, mounts, resources,
        // and the security context (pod_rules.rs, security.rs beside this file).
        let common = as_container(ec);
        super::pod_rules::validate_container(&common, &field, errs);
        if let Some(sc) = &common.security_context {
            let host_users = spec.host_users != Some(false);
            super::security::validate_container_security(sc, &format!("{field}.securityContext"), host_users, errs);
        }
        for (j, m) in ec.volume_mounts.iter().flatten().enumerate() {
            if !volumes.contains(m.name.as_str()) {
                errs.push(FieldError::not_found(format!("{field}.volumeMounts[{j}].name"), &m.name));
            }
        }
        // Unique across containers, init containers and ephemeral containers.
        if !ec.name.is_empty() && !names.insert(ec.name.as_str()) {
            errs.push(FieldError::duplicate(format!("{field}.name"), &ec.name));
        }
        // The target must exist and not be ephemeral.
        if let Some(target) = ec.target_container_name.as_deref().filter(|t| !t.is_empty()) {
            if !others.contains(target) {
                errs.push(FieldError::not_found(format!("{field}.targetContainerName"), target));
            }
        }
        // validateFieldAllowList
        let v = serde_json::to_value(ec).unwrap_or_default();
        for name in FORBIDDEN_FIELDS {
            if v.get(name).is_some_and(is_set) {
                errs.push(FieldError::forbidden(format!("{field}.{name}"), FORBIDDEN));
            }
        }
        // subPaths leak bind mounts until the pod ends: refused entirely.
        for (j, m) in ec.volume_mounts.iter().flatten().enumerate() {
            if m.sub_path.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::forbidden(format!("{field}.volumeMounts[{j}].subPath"), FORBIDDEN));
            }
            if m.sub_path_expr.as_deref().is_some_and(|s| !s.is_empty()) {
                errs.push(FieldError::forbidden(format!("{field}.volumeMounts[{j}].subPathExpr"), FORBIDDEN));
            }
        }
    }
}

/// ValidatePodEphemeralContainersUpdate: the pod stays valid; a mirror pod takes no ephemeral
/// containers; an existing ephemeral container may be neither removed nor changed (each is
/// compared by name: a patch may reorder them).
pub fn validate_update(new: &Pod, old: &Pod) -> Vec<FieldError> {
    let mut errs = super::update::metadata_update_errors(new, old);
    errs.extend(validate_pod(new));
    if crate::admission::is_mirror_pod(old) {
        return vec![FieldError::forbidden("", "static pods do not support ephemeral containers")];
    }
    let path = "spec.ephemeralContainers";
    let list = |p: &Pod| p.spec.as_ref().and_then(|s| s.ephemeral_containers.clone()).unwrap_or_default();
    let new_by_name: BTreeMap<String, EphemeralContainer> = list(new).into_iter().map(|c| (c.name.clone(), c)).collect();
    for o in list(old) {
        match new_by_name.get(&o.name) {
            None => errs.push(FieldError::forbidden(path, format!("existing ephemeral containers {:?} may not be removed\n", o.name))),
            Some(n) if serde_json::to_value(n).ok() != serde_json::to_value(&o).ok() => {
                // Kubernetes shows a go-cmp diff of the container; this is the same change as a
                // unified diff of its YAML (`-` stored, `+` requested).
                let (a, b) = (serde_yaml::to_string(&o).unwrap_or_default(), serde_yaml::to_string(n).unwrap_or_default());
                let diff = similar::TextDiff::from_lines(&a, &b).unified_diff().context_radius(3).header("old", "new").to_string();
                errs.push(FieldError::forbidden(path, format!("existing ephemeral containers {:?} may not be changed\n{diff}", o.name)));
            }
            Some(_) => {}
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::aggregate;

    fn pod(ephemeral: &str) -> Pod {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: ns, uid: u1, generation: 1}}\nspec:\n  volumes: [{{name: data, emptyDir: {{}}}}]\n  initContainers:\n  - {{name: init, image: busybox:1.36}}\n  containers:\n  - {{name: app, image: busybox:1.36}}\n  ephemeralContainers:\n{ephemeral}"
        );
        let mut p: Pod = serde_yaml::from_str(&yaml).unwrap();
        crate::defaults::apply(&mut p);
        p
    }

    fn errors(p: &Pod) -> String {
        let errs = validate_pod(p);
        if errs.is_empty() {
            String::new()
        } else {
            aggregate(&errs)
        }
    }

    const DEBUGGER: &str = "  - {name: debugger, image: busybox:1.36, command: [sleep, '3600']}\n";

    #[test]
    fn the_common_container_rules_apply_to_an_ephemeral_container() {
        let p = pod("  - name: debugger\n    image: busybox:1.36\n    imagePullPolicy: Sometimes\n    env: [{name: 'A=B', value: x}]\n    securityContext: {runAsUser: -1}\n");
        assert_eq!(
            errors(&p),
            "[spec.ephemeralContainers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '=', \
             spec.ephemeralContainers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\", \
             spec.ephemeralContainers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive]"
        );
    }

    #[test]
    fn a_plain_ephemeral_container_is_valid_and_defaulted() {
        let p = pod(DEBUGGER);
        assert_eq!(errors(&p), "");
        let ec = &p.spec.as_ref().unwrap().ephemeral_containers.as_ref().unwrap()[0];
        assert_eq!(ec.termination_message_path.as_deref(), Some("/dev/termination-log"));
        assert_eq!(ec.termination_message_policy.as_deref(), Some("File"));
        assert_eq!(ec.image_pull_policy.as_deref(), Some("IfNotPresent"));
    }

    #[test]
    fn names_are_unique_across_containers_init_containers_and_ephemeral_containers() {
        let text = errors(&pod("  - {name: app, image: busybox:1.36}\n  - {name: init, image: busybox:1.36}\n  - {name: x, image: busybox:1.36}\n  - {name: x, image: busybox:1.36}\n"));
        assert_eq!(
            text,
            "[spec.ephemeralContainers[0].name: Duplicate value: \"app\", spec.ephemeralContainers[1].name: Duplicate value: \"init\", spec.ephemeralContainers[3].name: Duplicate value: \"x\"]"
        );
    }

    #[test]
    fn the_target_must_be_a_container_or_init_container_of_the_pod() {
        assert_eq!(errors(&pod("  - {name: d, image: busybox:1.36, targetContainerName: app}\n")), "");
        assert_eq!(errors(&pod("  - {name: d, image: busybox:1.36, targetContainerName: init}\n")), "");
        assert_eq!(
            errors(&pod("  - {name: d, image: busybox:1.36, targetContainerName: nope}\n")),
            "spec.ephemeralContainers[0].targetContainerName: Not found: \"nope\""
        );
        let two = "  - {name: d, image: busybox:1.36}\n  - {name: e, image: busybox:1.36, targetContainerName: d}\n";
        assert_eq!(errors(&pod(two)), "spec.ephemeralContainers[1].targetContainerName: Not found: \"d\"");
    }

    #[test]
    fn fields_outside_the_allow_list_are_forbidden_with_kubernetes_text_in_field_order() {
        let text = errors(&pod(
            "  - name: d\n    image: busybox:1.36\n    lifecycle: {preStop: {exec: {command: [x]}}}\n    readinessProbe: {exec: {command: [x]}}\n    ports: [{containerPort: 80}]\n    resources: {limits: {cpu: 100m}}\n    restartPolicy: Always\n    resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}]\n    livenessProbe: {exec: {command: [x]}}\n    startupProbe: {exec: {command: [x]}}\n",
        ));
        let want: Vec<String> = FORBIDDEN_FIELDS
            .iter()
            .map(|f| format!("spec.ephemeralContainers[0].{f}: Forbidden: cannot be set for an Ephemeral Container"))
            .collect();
        assert_eq!(text, format!("[{}]", want.join(", ")));
        // An empty resources struct is Go's zero value: not set.
        assert_eq!(errors(&pod("  - {name: d, image: busybox:1.36, resources: {}}\n")), "");
    }

    #[test]
    fn volume_mounts_must_name_a_volume_and_take_no_sub_path() {
        assert_eq!(
            errors(&pod("  - {name: d, image: busybox:1.36, volumeMounts: [{name: data, mountPath: /d, subPath: x}, {name: none, mountPath: /n}]}\n")),
            "[spec.ephemeralContainers[0].volumeMounts[1].name: Not found: \"none\", spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container]"
        );
        assert_eq!(errors(&pod("  - {name: d, image: busybox:1.36, volumeMounts: [{name: data, mountPath: /d}]}\n")), "");
    }

    #[test]
    fn a_name_and_an_image_are_required() {
        assert_eq!(
            errors(&pod("  - {name: ''}\n")),
            "[spec.ephemeralContainers[0].name: Required value, spec.ephemeralContainers[0].image: Required value]"
        );
        assert!(errors(&pod("  - {name: Bad_Name, image: busybox:1.36}\n"))
            .starts_with("spec.ephemeralContainers[0].name: Invalid value: \"Bad_Name\""));
    }

    #[test]
    fn ephemeral_containers_cannot_be_set_on_create() {
        let text = aggregate(&crate::validation::validate_pod_create(&pod(DEBUGGER)));
        assert_eq!(text, "spec.ephemeralContainers: Forbidden: cannot be set on create");
    }

    fn without(mut p: Pod) -> Pod {
        p.spec.as_mut().unwrap().ephemeral_containers = None;
        p
    }

    #[test]
    fn the_subresource_changes_the_ephemeral_containers_only_and_bumps_the_generation() {
        let old = without(pod(DEBUGGER));
        let mut new = pod(DEBUGGER);
        new.spec.as_mut().unwrap().containers[0].image = Some("busybox:1.35".into());
        new.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
        crate::ephemeral::prepare_for_update(&mut new, &old);
        assert_eq!(new.spec.as_ref().unwrap().containers[0].image.as_deref(), Some("busybox:1.36"));
        assert_eq!(new.metadata.labels, None);
        assert_eq!(new.spec.as_ref().unwrap().ephemeral_containers.as_ref().unwrap()[0].name, "debugger");
        assert_eq!(new.metadata.generation, Some(2));
        assert!(validate_update(&new, &old).is_empty(), "{}", aggregate(&validate_update(&new, &old)));
    }

    #[test]
    fn an_existing_ephemeral_container_may_be_neither_removed_nor_changed() {
        let old = pod(DEBUGGER);
        let removed = without(old.clone());
        assert_eq!(
            aggregate(&validate_update(&removed, &old)),
            "spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger\" may not be removed\n"
        );
        let mut changed = old.clone();
        changed.spec.as_mut().unwrap().ephemeral_containers.as_mut().unwrap()[0].image = Some("busybox:1.35".into());
        let text = aggregate(&validate_update(&changed, &old));
        assert!(
            text.starts_with("spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debugger\" may not be changed\n"),
            "{text}"
        );
        assert!(text.contains("-image: busybox:1.36\n+image: busybox:1.35"), "{text}");
        // Another order of the same containers is no change.
        let two = pod(&format!("{DEBUGGER}  - {{name: second, image: busybox:1.36}}\n"));
        let mut swapped = two.clone();
        swapped.spec.as_mut().unwrap().ephemeral_containers.as_mut().unwrap().reverse();
        assert!(validate_update(&swapped, &two).is_empty());
    }

    #[test]
    fn a_mirror_pod_takes_no_ephemeral_containers() {
        let mut old = without(pod(DEBUGGER));
        old.metadata.annotations = Some([(crate::admission::MIRROR_ANNOTATION.to_string(), "x".to_string())].into());
        old.spec.as_mut().unwrap().node_name = Some("node".into());
        let mut new = pod(DEBUGGER);
        new.metadata.annotations = old.metadata.annotations.clone();
        new.spec.as_mut().unwrap().node_name = Some("node".into());
        assert_eq!(aggregate(&validate_update(&new, &old)), ": Forbidden: static pods do not support ephemeral containers");
    }

    #[test]
    fn an_ephemeral_container_runs_as_the_container_it_describes() {
        let p = pod("  - {name: d, image: busybox:1.36, targetContainerName: app, command: [sh], tty: true}\n");
        let c = as_container(&p.spec.unwrap().ephemeral_containers.unwrap()[0]);
        assert_eq!(
            (c.name.as_str(), c.image.as_deref(), c.command.clone(), c.tty),
            ("d", Some("busybox:1.36"), Some(vec!["sh".to_string()]), Some(true))
        );
    }
}
