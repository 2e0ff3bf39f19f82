//! The identity's rights, checked before anything runs with SelfSubjectAccessReview: a missing
//! right is an input error naming the verb and the resource.

use k8s_openapi::api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec};
use kube::api::{Api, PostParams};
use kube::Client;

/// One right: a verb on a resource (with its subresource and API group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Right {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
}

impl std::fmt::Display for Right {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let resource =
            if self.subresource.is_empty() { self.resource.to_string() } else { format!("{}/{}", self.resource, self.subresource) };
        let resource = if self.group.is_empty() { resource } else { format!("{resource}.{}", self.group) };
        write!(f, "{} {}", self.verb, resource)
    }
}

const fn right(verb: &'static str, resource: &'static str, subresource: &'static str) -> Right {
    Right { verb, group: "", resource, subresource }
}

/// What every run needs: its namespaces, pods in them, exec and logs; the nodes it reads at
/// start. (ClusterRole `ci/sonobuoy/podspec-rbac.yaml` grants exactly these.)
pub const ALWAYS: &[Right] = &[
    right("create", "namespaces", ""),
    right("delete", "namespaces", ""),
    right("get", "namespaces", ""),
    right("list", "namespaces", ""),
    right("watch", "namespaces", ""),
    right("list", "nodes", ""),
    right("create", "pods", ""),
    right("delete", "pods", ""),
    right("get", "pods", ""),
    right("list", "pods", ""),
    right("watch", "pods", ""),
    // exec: kube-apiserver authorizes the WebSocket upgrade (an HTTP GET) as `get` on pods/exec
    // (kubernetes/kubernetes issue 78741); from v1.35 a feature gate also checks `create`.
    right("create", "pods", "exec"),
    right("get", "pods", "exec"),
    right("get", "pods", "log"),
];

/// What the `@api-server` scenarios need besides: updates, patches and deletes by label of
/// pods, writes of their ephemeral containers, and reads, updates and patches of their status
/// (a readiness gate's condition; the Pod API conformance tests).
pub const API_SERVER: &[Right] = &[
    right("update", "pods", ""),
    right("patch", "pods", ""),
    right("deletecollection", "pods", ""),
    right("update", "pods", "ephemeralcontainers"),
    right("get", "pods", "status"),
    right("update", "pods", "status"),
    right("patch", "pods", "status"),
];

/// Reading the kubelet's configz and log query through the node proxy: asked before the
/// static pods are looked for (optional: without it the `@static-pods` scenarios are skipped,
/// saying so).
pub const NODE_PROXY: Right = right("get", "nodes", "proxy");

/// The events the kubelet log steps of the `@static-pods` scenarios read: asked with the node
/// proxy (optional the same way).
pub const EVENTS: Right = right("list", "events", "");

/// What the `@config-objects` scenarios need: the ConfigMaps and Secrets they write (a Pod's
/// volumes and environment read them), the ConfigMaps they read (each namespace's
/// `kube-root-ca.crt`), and the ServiceAccounts they make.
pub const CONFIG_OBJECTS: &[Right] = &[
    right("create", "configmaps", ""),
    right("update", "configmaps", ""),
    right("delete", "configmaps", ""),
    right("get", "configmaps", ""),
    right("create", "serviceaccounts", ""),
    right("create", "secrets", ""),
    right("update", "secrets", ""),
    right("delete", "secrets", ""),
];

/// What the `@runtime-class` scenarios need: the RuntimeClasses they make, read and delete.
pub const RUNTIME_CLASSES: &[Right] = &[
    Right { verb: "create", group: "node.k8s.io", resource: "runtimeclasses", subresource: "" },
    Right { verb: "delete", group: "node.k8s.io", resource: "runtimeclasses", subresource: "" },
    Right { verb: "get", group: "node.k8s.io", resource: "runtimeclasses", subresource: "" },
];

/// The tag of the scenarios that make RuntimeClasses (`RUNTIME_CLASSES`).
pub const RUNTIME_CLASS_TAG: &str = "runtime-class";

/// Beyond what is checked at start: the node proxy and the events (asked when the static pods
/// are looked for, above), and the checks themselves (without which no right can be asked).
pub const UNCHECKED: &[Right] =
    &[NODE_PROXY, EVENTS, Right { verb: "create", group: "authorization.k8s.io", resource: "selfsubjectaccessreviews", subresource: "" }];

/// What the selected scenarios need beyond every run's rights, read from their tags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// `@api-server` scenarios: pod updates, patches, status and ephemeral container writes.
    pub updates_pods: bool,
    /// `@config-objects` scenarios: ConfigMaps, Secrets and ServiceAccounts.
    pub config_objects: bool,
    /// `@runtime-class` scenarios: RuntimeClasses.
    pub runtime_classes: bool,
}

impl Needs {
    /// Everything a run may need (what is asked when the selection cannot be read).
    pub const ALL: Needs = Needs { updates_pods: true, config_objects: true, runtime_classes: true };

    /// The needs of scenarios with these tags (each without `@`).
    pub fn of_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needs = Needs::default();
        for tag in tags {
            match tag {
                t if t == crate::targets::Capability::ApiServer.tag() => needs.updates_pods = true,
                t if t == crate::targets::Capability::ConfigObjects.tag() => needs.config_objects = true,
                RUNTIME_CLASS_TAG => needs.runtime_classes = true,
                _ => {}
            }
        }
        needs
    }
}

/// What the check before a run asks (`KubeTarget::start`): every run's rights, and those of
/// the `@api-server`, `@config-objects` and `@runtime-class` scenarios when any is selected.
pub fn pre_check(needs: Needs) -> Vec<Right> {
    let mut asked: Vec<Right> = ALWAYS.to_vec();
    for (needed, rights) in
        [(needs.updates_pods, API_SERVER), (needs.config_objects, CONFIG_OBJECTS), (needs.runtime_classes, RUNTIME_CLASSES)]
    {
        if needed {
            asked.extend_from_slice(rights);
        }
    }
    asked
}

/// Every right podspec uses: what `ci/sonobuoy/podspec-rbac.yaml` grants, exactly.
pub fn cluster_role() -> Vec<Right> {
    let mut all: Vec<Right> = pre_check(Needs::ALL).into_iter().chain(UNCHECKED.iter().copied()).collect();
    all.sort();
    all
}

/// The one SelfSubjectAccessReview podspec asks: may the identity do `right` (in `namespace`,
/// or cluster-wide)?
pub fn review(right: &Right, namespace: Option<&str>) -> SelfSubjectAccessReview {
    SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(right.verb.into()),
                group: Some(right.group.into()),
                resource: Some(right.resource.into()),
                subresource: (!right.subresource.is_empty()).then(|| right.subresource.into()),
                namespace: namespace.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Whether the identity may do `right`, as the server answers the review.
pub async fn allowed(client: &Client, right: &Right, namespace: Option<&str>) -> Result<bool, kube::Error> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let answer = api.create(&PostParams::default(), &review(right, namespace)).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// The rights the identity lacks among `needed`, or an error when the review cannot be made.
pub async fn missing(client: &Client, needed: &[Right]) -> Result<Vec<Right>, kube::Error> {
    let mut missing = Vec::new();
    for r in needed {
        if !allowed(client, r, None).await? {
            missing.push(*r);
        }
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_review_for_every_question() {
        let r = review(&right("create", "pods", "exec"), Some("podspec-1-node"));
        let a = r.spec.resource_attributes.unwrap();
        assert_eq!((a.verb.as_deref(), a.resource.as_deref(), a.subresource.as_deref()), (Some("create"), Some("pods"), Some("exec")));
        assert_eq!((a.group.as_deref(), a.namespace.as_deref()), (Some(""), Some("podspec-1-node")));
        assert_eq!(review(&NODE_PROXY, None).spec.resource_attributes.unwrap().namespace, None);
    }

    /// Issue 24: the pre-check asks every right the selected scenarios use, so a missing one is
    /// named before anything runs: the ConfigMaps, Secrets and ServiceAccounts of the
    /// `@config-objects` scenarios and the RuntimeClasses of the `@runtime-class` ones too; all
    /// that is left unasked up front is the node proxy and the events (asked before the static
    /// pods are looked for) and the review itself.
    #[test]
    fn the_pre_check_asks_every_right_the_selected_scenarios_use() {
        assert_eq!(Needs::of_tags(["conformance", "ipc"]), Needs::default());
        assert_eq!(Needs::of_tags(["api-server", "config-objects", "runtime-class"]), Needs::ALL);
        let config = pre_check(Needs::of_tags(["storage", "config-objects"]));
        for r in ["create configmaps", "get configmaps", "create secrets", "create serviceaccounts"] {
            assert!(config.iter().any(|x| x.to_string() == r), "{r} in {config:?}");
        }
        assert!(!config.iter().any(|x| x.resource == "runtimeclasses"), "{config:?}");
        let classes = pre_check(Needs::of_tags(["api-server", "runtime-class"]));
        assert!(classes.iter().any(|x| x.to_string() == "create runtimeclasses.node.k8s.io"), "{classes:?}");
        let all = pre_check(Needs::ALL);
        let unasked: Vec<String> = cluster_role().into_iter().filter(|r| !all.contains(r)).map(|r| r.to_string()).collect();
        assert_eq!(unasked, ["create selfsubjectaccessreviews.authorization.k8s.io", "get nodes/proxy", "list events"]);
    }

    #[test]
    fn rights_read_as_kubectl_auth_can_i() {
        assert_eq!(right("create", "pods", "exec").to_string(), "create pods/exec");
        assert_eq!(
            Right { verb: "list", group: "events.k8s.io", resource: "events", subresource: "" }.to_string(),
            "list events.events.k8s.io"
        );
    }
}
