//! The fields the podman target does not hand to `podman kube play`, each with why: podman runs
//! on the machine itself, so a field that reaches the machine's own namespaces, devices, files or
//! ports is refused up front, and so is one that names objects kube play is given none of.
//! Everything else goes to podman as written, and where podman differs from Kubernetes the
//! scenario fails (see ci/baselines/podman.txt).

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use crate::manifest::fields::RefusedField;

const MACHINE: &str = "podman would use the machine's own";
const NO_OBJECTS: &str = "kube play is given no ConfigMap, Secret or PersistentVolumeClaim objects";

pub fn refused(pod: &Pod) -> Vec<RefusedField> {
    let mut out = Vec::new();
    let Ok(v) = serde_json::to_value(pod) else { return out };
    let Some(spec) = v.get("spec") else { return out };
    let mut push = |path: String, why: String| out.push(RefusedField { path, why });
    for (field, what) in [("hostNetwork", "network"), ("hostPID", "processes"), ("hostIPC", "IPC namespace")] {
        if spec.get(field) == Some(&Value::Bool(true)) {
            push(format!("spec.{field}"), format!("{MACHINE} {what}"));
        }
    }
    for (i, vol) in spec.get("volumes").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if vol.get("hostPath").is_some() {
            push(format!("spec.volumes[{i}].hostPath"), format!("{MACHINE} files"));
        }
        for source in ["configMap", "secret", "persistentVolumeClaim"] {
            if vol.get(source).is_some() {
                push(format!("spec.volumes[{i}].{source}"), NO_OBJECTS.into());
            }
        }
    }
    for group in ["initContainers", "containers"] {
        for (i, c) in spec.get(group).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let path = format!("spec.{group}[{i}]");
            if c.pointer("/securityContext/privileged") == Some(&Value::Bool(true)) {
                push(format!("{path}.securityContext.privileged"), format!("{MACHINE} devices"));
            }
            if c.get("envFrom").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
                push(format!("{path}.envFrom"), NO_OBJECTS.into());
            }
            for (j, e) in c.get("env").and_then(Value::as_array).into_iter().flatten().enumerate() {
                for r in ["secretKeyRef", "configMapKeyRef"] {
                    if e.pointer(&format!("/valueFrom/{r}")).is_some() {
                        push(format!("{path}.env[{j}].valueFrom.{r}"), NO_OBJECTS.into());
                    }
                }
            }
            for (j, p) in c.get("ports").and_then(Value::as_array).into_iter().flatten().enumerate() {
                if p.get("hostPort").and_then(Value::as_i64).is_some_and(|h| h != 0) {
                    push(format!("{path}.ports[{j}].hostPort"), format!("{MACHINE} ports"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_reaches_the_machine_or_missing_objects_is_refused() {
        let p: Pod = serde_yaml::from_str(
            "metadata: {name: p}\nspec:\n  hostNetwork: true\n  hostPID: false\n  containers:\n  - name: a\n    image: b\n    env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n  volumes: [{name: v, hostPath: {path: /}}, {name: w, emptyDir: {}}]\n",
        )
        .unwrap();
        let paths: Vec<String> = refused(&p).into_iter().map(|r| r.path).collect();
        assert_eq!(paths, ["spec.hostNetwork", "spec.volumes[0].hostPath", "spec.containers[0].env[0].valueFrom.secretKeyRef"]);
    }
}
