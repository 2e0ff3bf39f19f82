//! The downward API for environment variables, as the kubelet resolves it
//! (pkg/kubelet/kubelet_pods.go podFieldSelectorRuntimeValue, containerResourceRuntimeValue;
//! pkg/api/v1/resource ExtractContainerResourceValue): a pod field or a container resource as
//! an env value. A container without a cpu, memory or ephemeral-storage limit reads the node's
//! allocatable instead (MergeContainerResourceLimits).

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Container, EnvVar, Pod};

use podspec_api::quantity::{self, Milli, QuantityError};

use super::api_data::NotFound;

/// A pod field or container resource the downward API cannot give.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("unsupported fieldPath {0:?}")]
    UnsupportedFieldPath(String),
    #[error("unsupported resource {0:?}")]
    UnsupportedResource(String),
    #[error("divisor {divisor:?}: {source}")]
    Divisor {
        divisor: String,
        #[source]
        source: QuantityError,
    },
    /// The container's own quantity for the resource (`cpu "x"`).
    #[error("{name} {value:?}: {source}")]
    Quantity {
        name: String,
        value: String,
        #[source]
        source: QuantityError,
    },
}

/// Why a container's environment cannot be made, in the kubelet's words where it has them
/// (makeEnvironmentVariables); the container waits with it as CreateContainerConfigError.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// `kind` is `Secret` or `ConfigMap`.
    #[error("couldn't find key {key} in {kind} {namespace}/{name}")]
    MissingKey { key: String, kind: &'static str, namespace: String, name: String },
    #[error("pod has no spec")]
    NoSpec,
    #[error("container {0:?} not found")]
    NoContainer(String),
    #[error("env {0:?}: no value source the reference node resolves")]
    NoValueSource(String),
    #[error(transparent)]
    Field(#[from] FieldError),
}

/// What the node has for pods: the reference node reserves nothing, so allocatable is its
/// capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocatable {
    pub cpu: Milli,
    pub memory: Milli,
    pub ephemeral_storage: Milli,
}

impl Allocatable {
    /// The machine's online CPUs, MemTotal, and the size of the filesystem holding `root`.
    pub fn of_node(root: &std::path::Path) -> Self {
        let cpus = nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN).ok().flatten().unwrap_or(1) as i128;
        let mem_kib: i128 = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| t.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
            .unwrap_or(0);
        let disk = nix::sys::statvfs::statvfs(root).map(|s| s.blocks() as i128 * s.fragment_size() as i128).unwrap_or(0);
        Self { cpu: Milli(cpus * 1000), memory: Milli(mem_kib * 1024 * 1000), ephemeral_storage: Milli(disk * 1000) }
    }
}

/// What env values may refer to, besides the pod itself.
pub struct PodRuntime<'a> {
    pub pod: &'a Pod,
    pub pod_ip: Option<Ipv4Addr>,
    pub host_ip: Ipv4Addr,
    pub node_name: &'a str,
    pub allocatable: Allocatable,
    /// Where ConfigMaps and Secrets are read (none: a reference to one finds nothing).
    pub objects: Option<&'a super::api_data::ApiObjects>,
}

/// The variables of a container's `envFrom`, in order (a later source's key wins, and `env`
/// after them all): each key of the ConfigMap's `data` or the Secret's `data`, with the
/// source's `prefix`. A missing object is skipped when optional, else fails with the kubelet's
/// text.
pub fn env_from(container: &Container, rt: &PodRuntime<'_>) -> Result<Vec<(String, String)>, EnvError> {
    let namespace = rt.pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut out = Vec::new();
    for source in container.env_from.iter().flatten() {
        let prefix = source.prefix.as_deref().unwrap_or("");
        if let Some(r) = &source.config_map_ref {
            let found =
                rt.objects.ok_or_else(|| super::api_data::not_found("configmap", &r.name)).and_then(|o| o.config_map(namespace, &r.name));
            match found {
                Ok(cm) => out.extend(cm.data.unwrap_or_default().into_iter().map(|(k, v)| (format!("{prefix}{k}"), v))),
                Err(_) if r.optional == Some(true) => {}
                Err(e) => return Err(e.into()),
            }
        } else if let Some(r) = &source.secret_ref {
            let found = rt.objects.ok_or_else(|| super::api_data::not_found("secret", &r.name)).and_then(|o| o.secret(namespace, &r.name));
            match found {
                Ok(s) => out.extend(
                    s.data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (format!("{prefix}{k}"), String::from_utf8_lossy(&v.0).into_owned())),
                ),
                Err(_) if r.optional == Some(true) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(out)
}

/// The value of an env var of a container: its `value`, or what its `valueFrom` names; `None`
/// when the variable is not set. A ConfigMap or Secret key is read as the kubelet's
/// makeEnvironmentVariables reads it: a missing object or key leaves an optional variable
/// unset, and fails any other with the kubelet's text (`configmap "c" not found`, `couldn't
/// find key k in ConfigMap ns/c`).
pub fn env_value(var: &EnvVar, container: &Container, rt: &PodRuntime<'_>) -> Result<Option<String>, EnvError> {
    let Some(from) = &var.value_from else { return Ok(Some(var.value.clone().unwrap_or_default())) };
    let namespace = rt.pod.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(r) = &from.secret_key_ref {
        let optional = r.optional == Some(true);
        let found = rt.objects.ok_or_else(|| super::api_data::not_found("secret", &r.name)).and_then(|o| o.secret(namespace, &r.name));
        let secret = match found {
            Ok(s) => s,
            Err(_) if optional => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        return match secret.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(v) => Ok(Some(String::from_utf8_lossy(&v.0).into_owned())),
            None if optional => Ok(None),
            None => Err(EnvError::MissingKey { key: r.key.clone(), kind: "Secret", namespace: namespace.into(), name: r.name.clone() }),
        };
    }
    if let Some(r) = &from.config_map_key_ref {
        let optional = r.optional == Some(true);
        let found =
            rt.objects.ok_or_else(|| super::api_data::not_found("configmap", &r.name)).and_then(|o| o.config_map(namespace, &r.name));
        let cm = match found {
            Ok(c) => c,
            Err(_) if optional => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        return match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(v) => Ok(Some(v.clone())),
            None if optional => Ok(None),
            None => Err(EnvError::MissingKey { key: r.key.clone(), kind: "ConfigMap", namespace: namespace.into(), name: r.name.clone() }),
        };
    }
    if let Some(f) = &from.field_ref {
        return Ok(Some(field_value(&f.field_path, rt)?));
    }
    if let Some(r) = &from.resource_field_ref {
        let divisor = r.divisor.as_ref().map(|d| d.0.as_str()).unwrap_or("1");
        let target = match r.container_name.as_deref().filter(|n| !n.is_empty()) {
            None => container,
            Some(name) => {
                let spec = rt.pod.spec.as_ref().ok_or(EnvError::NoSpec)?;
                spec.init_containers
                    .iter()
                    .flatten()
                    .chain(&spec.containers)
                    .find(|c| c.name == name)
                    .ok_or_else(|| EnvError::NoContainer(name.into()))?
            }
        };
        return Ok(Some(resource_value(&r.resource, divisor, target, rt.allocatable)?));
    }
    Err(EnvError::NoValueSource(var.name.clone()))
}

fn field_value(path: &str, rt: &PodRuntime<'_>) -> Result<String, FieldError> {
    let m = &rt.pod.metadata;
    let spec = rt.pod.spec.as_ref();
    let subscript = |prefix: &str| path.strip_prefix(prefix).and_then(|r| r.strip_prefix("['")).and_then(|r| r.strip_suffix("']"));
    if let Some(k) = subscript("metadata.labels") {
        return Ok(m.labels.as_ref().and_then(|l| l.get(k)).cloned().unwrap_or_default());
    }
    if let Some(k) = subscript("metadata.annotations") {
        return Ok(m.annotations.as_ref().and_then(|a| a.get(k)).cloned().unwrap_or_default());
    }
    let pod_ip = rt.pod_ip.map(|ip| ip.to_string()).unwrap_or_default();
    Ok(match path {
        "metadata.name" => m.name.clone().unwrap_or_default(),
        "metadata.namespace" => m.namespace.clone().unwrap_or_default(),
        "metadata.uid" => m.uid.clone().unwrap_or_default(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_else(|| rt.node_name.to_string()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
        "status.hostIP" | "status.hostIPs" => rt.host_ip.to_string(),
        "status.podIP" | "status.podIPs" => pod_ip,
        other => return Err(FieldError::UnsupportedFieldPath(other.into())),
    })
}

pub(super) fn resource_value(resource: &str, divisor: &str, c: &Container, node: Allocatable) -> Result<String, FieldError> {
    let divisor = quantity::parse(divisor).map_err(|source| FieldError::Divisor { divisor: divisor.into(), source })?;
    let divisor = if divisor.0 == 0 { Milli(1000) } else { divisor };
    let r = c.resources.clone().unwrap_or_default();
    let get = |list: &Option<std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>, name: &str| {
        list.as_ref().and_then(|l| l.get(name)).map(|q| quantity::parse(&q.0).map_err(|source| FieldError::Quantity { name: name.into(), value: q.0.clone(), source })).transpose()
    };
    let (kind, name) = resource.split_once('.').ok_or_else(|| FieldError::UnsupportedResource(resource.into()))?;
    let value = match kind {
        "limits" => get(&r.limits, name)?.or(match name {
            "cpu" => Some(node.cpu),
            "memory" => Some(node.memory),
            "ephemeral-storage" => Some(node.ephemeral_storage),
            _ => None,
        }),
        "requests" => get(&r.requests, name)?,
        _ => return Err(FieldError::UnsupportedResource(resource.into())),
    };
    Ok(quantity::divide_ceil(value.unwrap_or(Milli(0)), divisor).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(pod: &Pod) -> PodRuntime<'_> {
        PodRuntime {
            pod,
            pod_ip: Some(Ipv4Addr::new(10, 88, 0, 5)),
            host_ip: Ipv4Addr::new(10, 88, 0, 1),
            node_name: "node",
            allocatable: Allocatable { cpu: Milli(2000), memory: Milli((8i128 << 30) * 1000), ephemeral_storage: Milli(0) },
            objects: None,
        }
    }

    fn env(pod: &Pod) -> Vec<(String, String)> {
        let c = &pod.spec.as_ref().unwrap().containers[0];
        c.env.iter().flatten().filter_map(|e| Some((e.name.clone(), env_value(e, c, &rt(pod)).unwrap()?))).collect()
    }

    #[test]
    fn pod_fields_and_resources_become_values() {
        let pod: Pod = serde_yaml::from_str(
            "metadata: {name: web, namespace: ns, uid: u1, labels: {app: x}}\nspec:\n  containers:\n  - name: a\n    image: b\n    resources: {requests: {cpu: 250m, memory: 32Mi}, limits: {memory: 64Mi}}\n    env:\n    - {name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n    - {name: APP, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}\n    - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}\n    - {name: HOST, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}\n    - {name: REQ_CPU, valueFrom: {resourceFieldRef: {resource: requests.cpu}}}\n    - {name: REQ_CPU_M, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}\n    - {name: LIM_MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}\n    - {name: LIM_CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}\n    - {name: NODE_MEM, valueFrom: {resourceFieldRef: {resource: requests.ephemeral-storage}}}\n",
        )
        .unwrap();
        let got = env(&pod);
        let v = |n: &str| got.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(v("NAME"), "web");
        assert_eq!(v("APP"), "x");
        assert_eq!(v("IP"), "10.88.0.5");
        assert_eq!(v("HOST"), "10.88.0.1");
        assert_eq!(v("REQ_CPU"), "1");
        assert_eq!(v("REQ_CPU_M"), "250");
        assert_eq!(v("LIM_MEM"), "64");
        assert_eq!(v("LIM_CPU"), "2", "no cpu limit: the node's allocatable");
        assert_eq!(v("NODE_MEM"), "0");
    }

    #[test]
    fn a_missing_secret_or_config_map_unsets_an_optional_variable_and_fails_another() {
        let pod: Pod = serde_yaml::from_str(
            "metadata: {name: web}\nspec:\n  containers:\n  - name: a\n    image: b\n    env:\n    - {name: A, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}\n    - {name: B, valueFrom: {configMapKeyRef: {name: c, key: k}}}\n",
        )
        .unwrap();
        let c = &pod.spec.as_ref().unwrap().containers[0];
        let env = c.env.as_ref().unwrap();
        assert_eq!(env_value(&env[0], c, &rt(&pod)).unwrap(), None);
        let e = env_value(&env[1], c, &rt(&pod)).unwrap_err();
        assert!(matches!(&e, EnvError::NotFound(NotFound { kind: "configmap", .. })), "{e:?}");
        assert_eq!(e.to_string(), "configmap \"c\" not found");
    }
}
