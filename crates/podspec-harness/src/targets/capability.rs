//! The capabilities of a target: each the name of an optional interface (`target.rs`) and the
//! scenario tag that asks for it. What a target has is read from the interfaces it hands out,
//! never declared beside them ([`TargetCapabilities`]).

use std::collections::BTreeSet;
use std::fmt;

use super::target::{
    ApiServerTarget, ConfigObjectsTarget, EphemeralContainersTarget, NodeAccessTarget, StaticPodsTarget, Target, TargetError, TargetResult,
};

/// What a target can do beyond the basics (create, get, delete, exec, crash a container, read
/// status). A scenario tagged with a capability the target lacks is skipped with the reason.
/// Each but `host-access` is an optional interface of the target's ([`Target::api_server`] and
/// the others); which ones it hands out is which capabilities it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// The node's filesystem can be read by podspec itself: where a pod's volumes live on the
    /// node.
    NodeAccess,
    /// The kubelet's static pod manifest directory can be written and its log read: by the
    /// reference target directly, by the kube target through a privileged pod on the node.
    StaticPods,
    /// Pods are objects of an API server: they can be updated (whole or by merge patch), the
    /// API's rules and error texts apply, and static pods appear there as mirror pods.
    ApiServer,
    /// Pods may be given the node's own namespaces and devices (hostPID, hostIPC, hostNetwork,
    /// privileged), because the node's namespaces are not this machine's: the reference node's
    /// are podspec's own, a cluster's are its nodes'. A target that would hand a pod the
    /// machine's own processes, IPC or network does not offer it.
    HostAccess,
    /// Ephemeral containers can be added to a running pod through its `ephemeralcontainers`
    /// subresource, and the node starts them.
    EphemeralContainers,
    /// ConfigMaps and Secrets are objects of the API: they can be created, replaced and deleted
    /// while pods use them, and the node reads them from there.
    ConfigObjects,
}

impl Capability {
    pub const ALL: &'static [Capability] = &[
        Capability::NodeAccess,
        Capability::StaticPods,
        Capability::ApiServer,
        Capability::HostAccess,
        Capability::EphemeralContainers,
        Capability::ConfigObjects,
    ];

    /// The scenario tag that asks for it (without `@`).
    pub fn tag(self) -> &'static str {
        match self {
            Capability::NodeAccess => "node-access",
            Capability::StaticPods => "static-pods",
            Capability::ApiServer => "api-server",
            Capability::HostAccess => "host-access",
            Capability::EphemeralContainers => "ephemeral-containers",
            Capability::ConfigObjects => "config-objects",
        }
    }

    /// What a target without it lacks, for skip reasons.
    pub fn meaning(self) -> &'static str {
        match self {
            Capability::NodeAccess => "no access to the node's filesystem (volume directories)",
            Capability::StaticPods => "no access to the kubelet's static pod manifest directory and its log",
            Capability::ApiServer => "no API server (pod updates and their validation, mirror pods, RuntimeClasses)",
            Capability::HostAccess => {
                "no node namespaces of its own: its node's PID, IPC and network namespaces and devices are this machine's (hostPID, hostIPC, hostNetwork and privileged pods would reach the machine)"
            }
            Capability::EphemeralContainers => "no ephemeral containers (the pod's ephemeralcontainers subresource, and a node that starts them)",
            Capability::ConfigObjects => "no ConfigMaps or Secrets as API objects that pods reference and that change while pods run",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.tag() == tag)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The capabilities of any target, read from the optional interfaces it hands out, and each
/// interface asked for by a step: the interface, or the error that says the target lacks it.
/// Implemented for every target (and not to be implemented otherwise), so that no target can
/// report a capability its interfaces do not give.
pub trait TargetCapabilities {
    /// Every capability the target has.
    fn capabilities(&self) -> BTreeSet<Capability>;

    /// Whether the target has `capability`.
    fn has(&self, capability: Capability) -> bool;

    /// The error of a step that needs `capability` on a target that lacks it: what the
    /// capability means, or what the target found when it looked for it.
    fn lacks(&self, capability: Capability) -> TargetError;

    fn require_api_server(&self) -> TargetResult<&dyn ApiServerTarget>;
    fn require_config_objects(&self) -> TargetResult<&dyn ConfigObjectsTarget>;
    fn require_static_pods(&self) -> TargetResult<&dyn StaticPodsTarget>;
    fn require_node_access(&self) -> TargetResult<&dyn NodeAccessTarget>;
    fn require_ephemeral_containers(&self) -> TargetResult<&dyn EphemeralContainersTarget>;
}

impl<T: Target + ?Sized> TargetCapabilities for T {
    fn capabilities(&self) -> BTreeSet<Capability> {
        Capability::ALL.iter().copied().filter(|c| self.has(*c)).collect()
    }

    fn has(&self, capability: Capability) -> bool {
        match capability {
            Capability::NodeAccess => self.node_access().is_some(),
            Capability::StaticPods => self.static_pods().is_some(),
            Capability::ApiServer => self.api_server().is_some(),
            Capability::HostAccess => self.host_access(),
            Capability::EphemeralContainers => self.ephemeral_containers().is_some(),
            Capability::ConfigObjects => self.config_objects().is_some(),
        }
    }

    fn lacks(&self, capability: Capability) -> TargetError {
        let why = self.capability_note(capability).unwrap_or_else(|| capability.meaning().to_string());
        TargetError::Unsupported { target: self.name().to_string(), what: format!("{capability} ({why})") }
    }

    fn require_api_server(&self) -> TargetResult<&dyn ApiServerTarget> {
        self.api_server().ok_or_else(|| self.lacks(Capability::ApiServer))
    }

    fn require_config_objects(&self) -> TargetResult<&dyn ConfigObjectsTarget> {
        self.config_objects().ok_or_else(|| self.lacks(Capability::ConfigObjects))
    }

    fn require_static_pods(&self) -> TargetResult<&dyn StaticPodsTarget> {
        self.static_pods().ok_or_else(|| self.lacks(Capability::StaticPods))
    }

    fn require_node_access(&self) -> TargetResult<&dyn NodeAccessTarget> {
        self.node_access().ok_or_else(|| self.lacks(Capability::NodeAccess))
    }

    fn require_ephemeral_containers(&self) -> TargetResult<&dyn EphemeralContainersTarget> {
        self.ephemeral_containers().ok_or_else(|| self.lacks(Capability::EphemeralContainers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::{ExecOutput, PodRef};
    use k8s_openapi::api::core::v1::Pod;

    /// A target with no optional interface at all.
    struct Bare;

    #[async_trait::async_trait]
    impl Target for Bare {
        fn name(&self) -> &str {
            "bare"
        }
        fn check_image(&self, _: &str) -> TargetResult<()> {
            Ok(())
        }
        async fn create_pod(&self, pod: &Pod) -> TargetResult<Pod> {
            Ok(pod.clone())
        }
        async fn get_pod(&self, pod: &PodRef) -> TargetResult<Pod> {
            Err(TargetError::NotFound(pod.clone()))
        }
        async fn delete_pod(&self, _: &PodRef) -> TargetResult<()> {
            Ok(())
        }
        async fn exec(&self, _: &PodRef, _: &str, _: &[String], _: std::time::Duration) -> TargetResult<ExecOutput> {
            Err(TargetError::Unsupported { target: "test".into(), what: "exec".into() })
        }
        async fn shutdown(&self) -> TargetResult<()> {
            Ok(())
        }
    }

    /// A target that hands out no interface has no capability, and a step that asks for one is
    /// told, in the words a skip gives, what it lacks.
    #[test]
    fn a_target_without_interfaces_has_no_capability_and_says_what_it_lacks() {
        assert!(Bare.capabilities().is_empty());
        let lacks = |r: Result<(), TargetError>| r.unwrap_err().to_string();
        assert_eq!(
            lacks(Bare.require_api_server().map(drop)),
            "target bare does not support api-server (no API server (pod updates and their validation, mirror pods, RuntimeClasses))"
        );
        assert_eq!(
            lacks(Bare.require_node_access().map(drop)),
            "target bare does not support node-access (no access to the node's filesystem (volume directories))"
        );
        assert_eq!(
            lacks(Bare.require_static_pods().map(drop)),
            "target bare does not support static-pods (no access to the kubelet's static pod manifest directory and its log)"
        );
        assert!(lacks(Bare.require_config_objects().map(drop)).starts_with("target bare does not support config-objects (no ConfigMaps"));
        assert!(lacks(Bare.require_ephemeral_containers().map(drop))
            .starts_with("target bare does not support ephemeral-containers (no ephemeral containers"));
    }
}
