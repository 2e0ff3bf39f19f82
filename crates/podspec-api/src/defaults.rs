//! Defaulting, as the API server applies it to every pod it decodes, on create and on update
//! (pkg/apis/core/v1/defaults.go: SetDefaults_Pod, SetDefaults_PodSpec, SetDefaults_Container,
//! SetDefaults_ObjectFieldSelector, SetDefaults_ContainerPort, defaultHostNetworkPorts,
//! SetDefaults_Volume and the volume sources' SetDefaults_*VolumeSource).

use k8s_openapi::api::core::v1::{Container, EphemeralContainer, Pod, PodSecurityContext, ResourceRequirements, Volume};

pub const DEFAULT_SCHEDULER: &str = "default-scheduler";
pub const TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";
/// The default mode of the files of configMap, secret, downwardAPI and projected volumes (0644).
pub const VOLUME_SOURCE_DEFAULT_MODE: i32 = 0o644;

/// Sets every field Kubernetes defaults that the pod leaves unset.
pub fn apply(pod: &mut Pod) {
    let Some(spec) = pod.spec.as_mut() else { return };
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.scheduler_name.get_or_insert_with(|| DEFAULT_SCHEDULER.into());
    spec.security_context.get_or_insert_with(PodSecurityContext::default);
    spec.enable_service_links.get_or_insert(true);
    let host_network = spec.host_network == Some(true);
    for c in spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut()) {
        container(c);
        if host_network {
            // defaultHostNetworkPorts: on the node's network a port is the node's port.
            for p in c.ports.iter_mut().flatten() {
                if p.host_port.unwrap_or(0) == 0 {
                    p.host_port = Some(p.container_port);
                }
            }
        }
    }
    for ec in spec.ephemeral_containers.iter_mut().flatten() {
        ephemeral_container(ec);
    }
    for v in spec.volumes.iter_mut().flatten() {
        volume(v);
    }
}

/// SetDefaults_Volume (a volume of no source is an emptyDir) and the sources' defaults: the
/// files' mode of configMap, secret, downwardAPI and projected volumes, a fieldRef's apiVersion.
fn volume(v: &mut Volume) {
    let sourceless = serde_json::to_value(&*v).ok().and_then(|j| j.as_object().map(|o| o.keys().all(|k| k == "name"))).unwrap_or(false);
    if sourceless {
        v.empty_dir = Some(Default::default());
    }
    if let Some(s) = v.config_map.as_mut() {
        s.default_mode.get_or_insert(VOLUME_SOURCE_DEFAULT_MODE);
    }
    if let Some(s) = v.secret.as_mut() {
        s.default_mode.get_or_insert(VOLUME_SOURCE_DEFAULT_MODE);
    }
    if let Some(s) = v.downward_api.as_mut() {
        s.default_mode.get_or_insert(VOLUME_SOURCE_DEFAULT_MODE);
        for f in s.items.iter_mut().flatten().filter_map(|i| i.field_ref.as_mut()) {
            f.api_version.get_or_insert_with(|| "v1".into());
        }
    }
    if let Some(s) = v.projected.as_mut() {
        s.default_mode.get_or_insert(VOLUME_SOURCE_DEFAULT_MODE);
        for d in s.sources.iter_mut().flatten().filter_map(|p| p.downward_api.as_mut()) {
            for f in d.items.iter_mut().flatten().filter_map(|i| i.field_ref.as_mut()) {
                f.api_version.get_or_insert_with(|| "v1".into());
            }
        }
        for t in s.sources.iter_mut().flatten().filter_map(|p| p.service_account_token.as_mut()) {
            // SetDefaults_ServiceAccountTokenProjection.
            t.expiration_seconds.get_or_insert(3600);
        }
    }
}

/// SetDefaults_Container's fields as an ephemeral container has them (the API server defaults
/// `EphemeralContainerCommon` as a container; it may set no resources).
pub fn ephemeral_container(c: &mut EphemeralContainer) {
    // SetDefaults_ContainerPort (ports are then refused: an ephemeral container may have none).
    for p in c.ports.iter_mut().flatten() {
        if p.protocol.as_deref().unwrap_or("").is_empty() {
            p.protocol = Some("TCP".into());
        }
    }
    if c.termination_message_path.as_deref().unwrap_or("").is_empty() {
        c.termination_message_path = Some(TERMINATION_MESSAGE_PATH.into());
    }
    c.termination_message_policy.get_or_insert_with(|| "File".into());
    if c.image_pull_policy.as_deref().unwrap_or("").is_empty() {
        c.image_pull_policy = Some(pull_policy(c.image.as_deref().unwrap_or("")).into());
    }
    c.resources = c.resources.take().and_then(resources_or_none);
    for e in c.env.iter_mut().flatten() {
        if let Some(f) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            f.api_version.get_or_insert_with(|| "v1".into());
        }
    }
}

/// A container's resources as the API server decodes them: a Go struct whose empty maps and
/// lists are its zero value, so that `resources: {}` (what every client that marshals a
/// `v1.Container` sends) is no different from no resources at all, and an update that sends it
/// changes nothing.
fn resources_or_none(mut r: ResourceRequirements) -> Option<ResourceRequirements> {
    r.limits = r.limits.filter(|m| !m.is_empty());
    r.requests = r.requests.filter(|m| !m.is_empty());
    r.claims = r.claims.filter(|c| !c.is_empty());
    (r != ResourceRequirements::default()).then_some(r)
}

fn container(c: &mut Container) {
    if c.termination_message_path.as_deref().unwrap_or("").is_empty() {
        c.termination_message_path = Some(TERMINATION_MESSAGE_PATH.into());
    }
    c.termination_message_policy.get_or_insert_with(|| "File".into());
    if c.image_pull_policy.as_deref().unwrap_or("").is_empty() {
        c.image_pull_policy = Some(pull_policy(c.image.as_deref().unwrap_or("")).into());
    }
    // SetDefaults_ContainerPort.
    for p in c.ports.iter_mut().flatten() {
        if p.protocol.as_deref().unwrap_or("").is_empty() {
            p.protocol = Some("TCP".into());
        }
    }
    c.resources = c.resources.take().and_then(resources_or_none);
    // SetDefaults_Pod: a limit without a request makes the request equal to the limit.
    if let Some(r) = c.resources.as_mut() {
        if let Some(limits) = r.limits.clone() {
            let requests = r.requests.get_or_insert_with(Default::default);
            for (name, q) in limits {
                requests.entry(name).or_insert(q);
            }
        }
    }
    for e in c.env.iter_mut().flatten() {
        if let Some(f) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            f.api_version.get_or_insert_with(|| "v1".into());
        }
    }
}

/// `Always` for a `:latest` tag or no tag, else `IfNotPresent` (a digest counts as a tag).
pub fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains('@') {
        return "IfNotPresent";
    }
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pull_policy_follows_the_tag() {
        assert_eq!(pull_policy("busybox:1.36"), "IfNotPresent");
        assert_eq!(pull_policy("busybox"), "Always");
        assert_eq!(pull_policy("busybox:latest"), "Always");
        assert_eq!(pull_policy("registry:5000/busybox"), "Always");
        assert_eq!(pull_policy("busybox@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn defaults_fill_only_what_is_unset() {
        let mut p: Pod = serde_yaml::from_str(
            "metadata: {name: p}\nspec:\n  restartPolicy: Never\n  containers:\n  - {name: a, image: busybox, resources: {limits: {cpu: 100m}}}\n",
        )
        .unwrap();
        apply(&mut p);
        let s = p.spec.as_ref().unwrap();
        assert_eq!(s.restart_policy.as_deref(), Some("Never"));
        assert_eq!(s.dns_policy.as_deref(), Some("ClusterFirst"));
        assert_eq!(s.termination_grace_period_seconds, Some(30));
        assert_eq!(s.scheduler_name.as_deref(), Some("default-scheduler"));
        assert_eq!(s.enable_service_links, Some(true));
        assert!(s.security_context.is_some());
        let c = &s.containers[0];
        assert_eq!(c.termination_message_path.as_deref(), Some("/dev/termination-log"));
        assert_eq!(c.termination_message_policy.as_deref(), Some("File"));
        assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
        assert_eq!(c.resources.as_ref().unwrap().requests.as_ref().unwrap()["cpu"].0, "100m");
    }

    #[test]
    fn empty_resources_are_no_resources_and_the_rest_is_kept() {
        let yaml = "metadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: busybox, resources: {}}\n  - {name: b, image: busybox, resources: {limits: {}, requests: {cpu: 1}}}\n";
        let mut p: Pod = serde_yaml::from_str(yaml).unwrap();
        apply(&mut p);
        let s = p.spec.as_ref().unwrap();
        assert_eq!(s.containers[0].resources, None);
        let b = s.containers[1].resources.as_ref().unwrap();
        assert_eq!((b.limits.as_ref(), b.requests.as_ref().map(|r| r["cpu"].0.as_str())), (None, Some("1")));
    }

    #[test]
    fn ports_get_tcp_and_on_the_host_network_the_container_port_as_host_port() {
        let yaml = "metadata: {name: p}\nspec:\n  hostNetwork: true\n  initContainers:\n  - {name: i, image: busybox, ports: [{containerPort: 53, protocol: UDP}]}\n  containers:\n  - {name: a, image: busybox, ports: [{containerPort: 80}, {containerPort: 81, hostPort: 9090}]}\n";
        let mut p: Pod = serde_yaml::from_str(yaml).unwrap();
        apply(&mut p);
        let s = p.spec.as_ref().unwrap();
        let ports = s.containers[0].ports.as_ref().unwrap();
        assert_eq!((ports[0].protocol.as_deref(), ports[0].host_port), (Some("TCP"), Some(80)));
        assert_eq!((ports[1].protocol.as_deref(), ports[1].host_port), (Some("TCP"), Some(9090)));
        let init = &s.init_containers.as_ref().unwrap()[0].ports.as_ref().unwrap()[0];
        assert_eq!((init.protocol.as_deref(), init.host_port), (Some("UDP"), Some(53)));
        let mut plain: Pod = serde_yaml::from_str(&yaml.replace("hostNetwork: true", "hostNetwork: false")).unwrap();
        apply(&mut plain);
        assert_eq!(plain.spec.as_ref().unwrap().containers[0].ports.as_ref().unwrap()[0].host_port, None);
    }

    #[test]
    fn volume_sources_get_their_default_mode_and_a_sourceless_volume_is_an_emptydir() {
        let mut p: Pod = serde_yaml::from_str(
            "metadata: {name: p}\nspec:\n  containers: [{name: a, image: b}]\n  volumes:\n  - name: none\n  - {name: d, downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name}}]}}\n  - {name: m, downwardAPI: {defaultMode: 256}}\n  - {name: p, projected: {sources: [{downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name}}]}}]}}\n  - {name: c, configMap: {name: x}}\n  - {name: s, secret: {secretName: x}}\n  - {name: e, emptyDir: {}}\n",
        )
        .unwrap();
        apply(&mut p);
        let v = p.spec.unwrap().volumes.unwrap();
        assert!(v[0].empty_dir.is_some(), "a volume of no source is an emptyDir");
        let d = v[1].downward_api.as_ref().unwrap();
        assert_eq!(d.default_mode, Some(420));
        assert_eq!(d.items.as_ref().unwrap()[0].field_ref.as_ref().unwrap().api_version.as_deref(), Some("v1"));
        assert_eq!(v[2].downward_api.as_ref().unwrap().default_mode, Some(256), "a mode given stays");
        let pr = v[3].projected.as_ref().unwrap();
        assert_eq!(pr.default_mode, Some(420));
        let item = &pr.sources.as_ref().unwrap()[0].downward_api.as_ref().unwrap().items.as_ref().unwrap()[0];
        assert_eq!(item.field_ref.as_ref().unwrap().api_version.as_deref(), Some("v1"));
        assert_eq!(v[4].config_map.as_ref().unwrap().default_mode, Some(420));
        assert_eq!(v[5].secret.as_ref().unwrap().default_mode, Some(420));
        assert!(v[6].downward_api.is_none() && v[6].empty_dir.is_some());
    }
}
