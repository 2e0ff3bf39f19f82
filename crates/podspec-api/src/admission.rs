//! Admission of pod creations, as the API server's plugins do it before validation:
//! the ServiceAccount plugin's rules for mirror pods (plugin/pkg/admission/serviceaccount/
//! admission.go, `Validate`) and, for requests a node makes, NodeRestriction's
//! (plugin/pkg/admission/noderestriction/admission.go, `admitPodCreate`). Both refuse with
//! 403 Forbidden: `pods "<name>" is forbidden: <reason>`.

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};

/// The annotation that makes a pod a mirror pod; its value is the static pod's hash.
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
pub const HASH_ANNOTATION: &str = "kubernetes.io/config.hash";
pub const SOURCE_ANNOTATION: &str = "kubernetes.io/config.source";
pub const SEEN_ANNOTATION: &str = "kubernetes.io/config.seen";

/// Who makes a request: a user, or a node's kubelet (`system:node:<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester<'a> {
    User,
    Node(&'a str),
}

pub fn is_mirror_pod(pod: &Pod) -> bool {
    mirror_hash(pod).is_some()
}

/// The hash of the static pod a mirror pod stands for (its `kubernetes.io/config.mirror`).
pub fn mirror_hash(pod: &Pod) -> Option<&str> {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(MIRROR_ANNOTATION)).map(String::as_str)
}

/// Why the creation is refused, if it is: the text after `is forbidden: `.
pub fn admit_create(pod: &Pod, requester: Requester<'_>) -> Option<String> {
    let empty = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&empty);
    if is_mirror_pod(pod) {
        if spec.service_account_name.as_deref().is_some_and(|s| !s.is_empty()) {
            return Some("a mirror pod may not reference service accounts".into());
        }
        if references_secrets(spec) {
            return Some("a mirror pod may not reference secrets".into());
        }
        let projects_token = spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| v.projected.as_ref())
            .any(|p| p.sources.iter().flatten().any(|s| s.service_account_token.is_some()));
        if projects_token {
            return Some("a mirror pod may not use ServiceAccountToken volume projections".into());
        }
    }
    if let Requester::Node(node) = requester {
        if !is_mirror_pod(pod) {
            return Some(format!("pod does not have {MIRROR_ANNOTATION:?} annotation, node {node:?} can only create mirror pods"));
        }
        if spec.node_name.as_deref() != Some(node) {
            return Some(format!("node {node:?} can only create pods with spec.nodeName set to itself"));
        }
        let owners = pod.metadata.owner_references.as_deref().unwrap_or(&[]);
        if owners.len() > 1 {
            return Some(format!("node {node:?} can only create pods with a single owner reference set to itself"));
        }
        let Some(owner) = owners.first().filter(|o| o.api_version == "v1" && o.kind == "Node" && o.name == node) else {
            return Some(format!("node {node:?} can only create pods with an owner reference set to itself"));
        };
        if owner.controller != Some(true) {
            return Some(format!("node {node:?} can only create pods with a controller owner reference set to itself"));
        }
        if owner.block_owner_deletion.is_some() {
            return Some(format!("node {node:?} must not set blockOwnerDeletion on an owner reference"));
        }
        if spec.service_account_name.as_deref().is_some_and(|s| !s.is_empty()) {
            return Some(format!("node {node:?} can not create pods that reference a service account"));
        }
        if references_secrets(spec) {
            return Some(format!("node {node:?} can not create pods that reference secrets"));
        }
        if references_config_maps(spec) {
            return Some(format!("node {node:?} can not create pods that reference configmaps"));
        }
        if spec.volumes.iter().flatten().any(|v| v.persistent_volume_claim.is_some()) {
            return Some(format!("node {node:?} can not create pods that reference persistentvolumeclaims"));
        }
    }
    None
}

fn all_containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.init_containers.iter().flatten().chain(spec.containers.iter())
}

/// Secret volumes, projected secrets, env and envFrom secret references, imagePullSecrets
/// (as `VisitPodSecretNames` visits them; ephemeral containers cannot be set on create).
fn references_secrets(spec: &PodSpec) -> bool {
    spec.image_pull_secrets.as_ref().is_some_and(|s| !s.is_empty())
        || spec
            .volumes
            .iter()
            .flatten()
            .any(|v| v.secret.is_some() || v.projected.as_ref().is_some_and(|p| p.sources.iter().flatten().any(|s| s.secret.is_some())))
        || all_containers(spec).any(|c| {
            c.env.iter().flatten().any(|e| e.value_from.as_ref().is_some_and(|f| f.secret_key_ref.is_some()))
                || c.env_from.iter().flatten().any(|e| e.secret_ref.is_some())
        })
}

/// ConfigMap volumes, projected configMaps, env and envFrom configMap references.
fn references_config_maps(spec: &PodSpec) -> bool {
    spec.volumes
        .iter()
        .flatten()
        .any(|v| v.config_map.is_some() || v.projected.as_ref().is_some_and(|p| p.sources.iter().flatten().any(|s| s.config_map.is_some())))
        || all_containers(spec).any(|c| {
            c.env.iter().flatten().any(|e| e.value_from.as_ref().is_some_and(|f| f.config_map_key_ref.is_some()))
                || c.env_from.iter().flatten().any(|e| e.config_map_ref.is_some())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirror(extra_spec: &str) -> Pod {
        let yaml = format!(
            "metadata:\n  name: web-node\n  annotations: {{kubernetes.io/config.mirror: abc}}\n  ownerReferences: [{{apiVersion: v1, kind: Node, name: node, uid: u, controller: true}}]\nspec:\n  nodeName: node\n  containers:\n  - name: a\n    image: busybox\n{extra_spec}"
        );
        serde_yaml::from_str(&yaml).unwrap()
    }

    #[test]
    fn a_plain_mirror_pod_from_its_node_is_admitted() {
        assert_eq!(admit_create(&mirror(""), Requester::Node("node")), None);
    }

    #[test]
    fn a_mirror_pod_may_not_reference_service_accounts_or_secrets() {
        let sa = mirror("  serviceAccountName: default\n");
        assert_eq!(admit_create(&sa, Requester::Node("node")).unwrap(), "a mirror pod may not reference service accounts");
        let mut secret = mirror("");
        secret.spec.as_mut().unwrap().containers[0].env =
            Some(vec![serde_yaml::from_str("{name: X, valueFrom: {secretKeyRef: {name: s, key: k}}}").unwrap()]);
        assert_eq!(admit_create(&secret, Requester::User).unwrap(), "a mirror pod may not reference secrets");
    }

    #[test]
    fn a_node_may_not_create_mirror_pods_that_reference_configmaps() {
        let cm = mirror("  volumes:\n  - name: v\n    configMap: {name: c}\n");
        assert_eq!(admit_create(&cm, Requester::User), None);
        assert_eq!(admit_create(&cm, Requester::Node("node")).unwrap(), "node \"node\" can not create pods that reference configmaps");
    }
}
