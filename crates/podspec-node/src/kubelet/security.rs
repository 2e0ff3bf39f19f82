//! The kubelet's translation of a pod's security context, namespaces, sysctls and resources
//! into the CRI's terms, and the checks the kubelet makes on them (`runAsNonRoot`, the sysctl
//! allow-list), with Kubernetes' texts.

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, SecurityContext};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use podspec_cri::cri::{LinuxContainerResources, LinuxContainerSecurity, NamespaceMode, NamespaceOptions, SeccompProfile};

/// The CFS period the kubelet uses (100 ms).
const CPU_PERIOD_US: i64 = 100_000;
/// `cpu.shares` of a container that requests no CPU (the kubelet's `MinShares`).
const MIN_SHARES: u64 = 2;

/// The sysctls the kubelet allows without `--allowed-unsafe-sysctls`
/// (pkg/kubelet/sysctl/safe_sysctls.go).
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];

/// The reason of a pod rejected for its sysctls (pkg/kubelet/sysctl: `ForbiddenReason`).
pub const SYSCTL_FORBIDDEN: &str = "SysctlForbidden";

/// The pod's namespaces, as the kubelet asks the runtime for them
/// (pkg/kubelet/kuberuntime/util.go `namespacesForPod`).
pub fn namespaces(spec: &PodSpec) -> NamespaceOptions {
    let node_or = |host: Option<bool>, otherwise: NamespaceMode| if host == Some(true) { NamespaceMode::Node } else { otherwise };
    let pid = if spec.host_pid == Some(true) {
        NamespaceMode::Node
    } else if spec.share_process_namespace == Some(true) {
        NamespaceMode::Pod
    } else {
        NamespaceMode::Container
    };
    NamespaceOptions {
        network: node_or(spec.host_network, NamespaceMode::Pod),
        pid,
        ipc: node_or(spec.host_ipc, NamespaceMode::Pod),
        target_id: None,
    }
}

/// Why the kubelet's admission rejects a pod's sysctl, in its words (pkg/kubelet/sysctl).
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum SysctlError {
    #[error("forbidden sysctl: {0:?} not allowlisted")]
    NotAllowlisted(String),
    #[error("forbidden sysctl: {0:?} not allowed with host net enabled")]
    WithHostNetwork(String),
    #[error("forbidden sysctl: {0:?} not allowed with host ipc enabled")]
    WithHostIpc(String),
}

/// Why a container breaks its `runAsNonRoot`, in the kubelet's words; `who` names the pod
/// and the container.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum NonRootError {
    #[error("container's runAsUser breaks non-root policy {who}")]
    RunAsRoot { who: String },
    #[error("container has runAsNonRoot and image will run as root {who}")]
    ImageRunsAsRoot { who: String },
    #[error("container has runAsNonRoot and image has non-numeric user, cannot verify user is non-root {who}")]
    NonNumericUser { who: String },
}

/// A container resource quantity the kubelet cannot read.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{field}: invalid quantity {value:?}")]
pub struct InvalidQuantity {
    pub field: &'static str,
    pub value: String,
}

/// The pod's sysctls, or why the kubelet's admission rejects it (pkg/kubelet/sysctl/allowlist.go).
pub fn sysctls(spec: &PodSpec) -> Result<Vec<(String, String)>, SysctlError> {
    let mut out = Vec::new();
    for s in spec.security_context.iter().flat_map(|sc| sc.sysctls.iter().flatten()) {
        let name = s.name.replace('/', ".");
        if !SAFE_SYSCTLS.contains(&name.as_str()) {
            return Err(SysctlError::NotAllowlisted(s.name.clone()));
        }
        if name.starts_with("net.") && spec.host_network == Some(true) {
            return Err(SysctlError::WithHostNetwork(s.name.clone()));
        }
        if name.starts_with("kernel.shm") && spec.host_ipc == Some(true) {
            return Err(SysctlError::WithHostIpc(s.name.clone()));
        }
        out.push((name, s.value.clone()));
    }
    Ok(out)
}

/// The container's effective security context: the pod's, with the container's fields winning
/// (pkg/securitycontext `DetermineEffectiveSecurityContext`).
fn effective(pod: &Pod, c: &Container) -> SecurityContext {
    let mut sc = c.security_context.clone().unwrap_or_default();
    if let Some(psc) = pod.spec.as_ref().and_then(|s| s.security_context.as_ref()) {
        sc.run_as_user = sc.run_as_user.or(psc.run_as_user);
        sc.run_as_group = sc.run_as_group.or(psc.run_as_group);
        sc.run_as_non_root = sc.run_as_non_root.or(psc.run_as_non_root);
        sc.seccomp_profile = sc.seccomp_profile.clone().or(psc.seccomp_profile.clone());
    }
    sc
}

/// The kubelet's `format.Pod`: `<name>_<namespace>(<uid>)`.
fn format_pod(pod: &Pod) -> String {
    let m = &pod.metadata;
    format!("{}_{}({})", m.name.as_deref().unwrap_or(""), m.namespace.as_deref().unwrap_or("default"), m.uid.as_deref().unwrap_or(""))
}

/// `runAsNonRoot` against the user the container would run as
/// (pkg/kubelet/kuberuntime/security_context_others.go `verifyRunAsNonRoot`).
pub fn verify_run_as_non_root(pod: &Pod, c: &Container, image_uid: Option<u32>) -> Result<(), NonRootError> {
    let sc = effective(pod, c);
    if sc.run_as_non_root != Some(true) {
        return Ok(());
    }
    let who = format!("(pod: {:?}, container: {})", format_pod(pod), c.name);
    match (sc.run_as_user, image_uid) {
        (Some(0), _) => Err(NonRootError::RunAsRoot { who }),
        (Some(_), _) => Ok(()),
        (None, Some(0)) => Err(NonRootError::ImageRunsAsRoot { who }),
        (None, None) => Err(NonRootError::NonNumericUser { who }),
        (None, Some(_)) => Ok(()),
    }
}

/// The CRI security context of a container.
pub fn container_security(pod: &Pod, c: &Container) -> LinuxContainerSecurity {
    let sc = effective(pod, c);
    let spec = pod.spec.clone().unwrap_or_default();
    let psc = spec.security_context.clone().unwrap_or_default();
    let caps = sc.capabilities.clone().unwrap_or_default();
    let mut supplemental_groups: Vec<i64> = psc.supplemental_groups.clone().unwrap_or_default();
    // The fsGroup is one of the container's groups, as the kubelet adds it.
    if let Some(fs_group) = psc.fs_group {
        if !supplemental_groups.contains(&fs_group) {
            supplemental_groups.insert(0, fs_group);
        }
    }
    LinuxContainerSecurity {
        privileged: sc.privileged == Some(true),
        add_capabilities: caps.add.unwrap_or_default(),
        drop_capabilities: caps.drop.unwrap_or_default(),
        run_as_user: sc.run_as_user,
        run_as_group: sc.run_as_group,
        supplemental_groups,
        readonly_rootfs: sc.read_only_root_filesystem == Some(true),
        // pkg/kubelet/kuberuntime: no_new_privs only when allowPrivilegeEscalation is false.
        no_new_privs: sc.allow_privilege_escalation == Some(false),
        seccomp: match sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()) {
            Some("RuntimeDefault") => SeccompProfile::RuntimeDefault,
            _ => SeccompProfile::Unconfined,
        },
        namespaces: namespaces(&spec),
    }
}

/// The CRI resources of a container: memory and CPU limits, CPU shares from the request
/// (pkg/kubelet/kuberuntime/kuberuntime_container_linux.go, pkg/kubelet/cm `MilliCPUToShares`).
pub fn container_resources(c: &Container) -> Result<LinuxContainerResources, InvalidQuantity> {
    let r = c.resources.clone().unwrap_or_default();
    let get = |list: &Option<std::collections::BTreeMap<String, Quantity>>, key: &str, field: &'static str| -> Result<Option<f64>, InvalidQuantity> {
        match list.as_ref().and_then(|m| m.get(key)) {
            None => Ok(None),
            Some(q) => parse_quantity(&q.0).map(Some).ok_or_else(|| InvalidQuantity { field, value: q.0.clone() }),
        }
    };
    let memory = get(&r.limits, "memory", "resources.limits.memory")?;
    let cpu_limit = get(&r.limits, "cpu", "resources.limits.cpu")?;
    // A limit without a request requests as much (the API's defaulting).
    let cpu_request = get(&r.requests, "cpu", "resources.requests.cpu")?.or(cpu_limit);
    let milli = |cores: f64| (cores * 1000.0).ceil() as i64;
    Ok(LinuxContainerResources {
        memory_limit_bytes: memory.map(|b| b.ceil() as i64),
        cpu_quota: cpu_limit.map(|cores| (milli(cores) * CPU_PERIOD_US / 1000).max(1000)),
        cpu_period: CPU_PERIOD_US,
        cpu_shares: Some(cpu_request.map_or(MIN_SHARES, |cores| ((milli(cores) as u64) * 1024 / 1000).max(MIN_SHARES))),
    })
}

/// A Kubernetes quantity (`64Mi`, `1.5G`, `100m`, `2e3`) in base units.
pub fn parse_quantity(text: &str) -> Option<f64> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let value: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0f64.powi(2),
        "Gi" => 1024.0f64.powi(3),
        "Ti" => 1024.0f64.powi(4),
        "Pi" => 1024.0f64.powi(5),
        "Ei" => 1024.0f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    (value >= 0.0).then_some(value * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_as_kubernetes_writes_them() {
        assert_eq!(parse_quantity("64Mi"), Some(67108864.0));
        assert_eq!(parse_quantity("1G"), Some(1e9));
        assert_eq!(parse_quantity("100m"), Some(0.1));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("1Xi"), None);
    }

    #[test]
    fn unsafe_sysctls_are_forbidden_with_the_kubelets_text() {
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [], "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}
        }))
        .unwrap();
        let e = sysctls(&spec).unwrap_err();
        assert_eq!(e, SysctlError::NotAllowlisted("kernel.msgmax".into()));
        assert_eq!(e.to_string(), "forbidden sysctl: \"kernel.msgmax\" not allowlisted");
    }
}
