//! The manifest handed to `podman kube play`: the scenario's own pod, changed only where podman
//! must be told something Kubernetes would know without it.
//!
//! - **Names.** podman has no namespaces and one name space for all pods, containers and
//!   volumes of the host, so the pod is named `<namespace>.<name>` (podman names its containers
//!   `<pod>-<container>`). Every name starts with `podspec-`, so podspec's objects are told apart
//!   from everybody else's.
//! - **Hostname.** podman sets a pod's hostname to its (podman) name; Kubernetes sets it to
//!   `metadata.name` (cut to 63 characters, as the kubelet cuts it). When the manifest does not
//!   set `spec.hostname`, it is set to that hostname, so the rename above changes nothing inside
//!   the pod.
//! - **emptyDir volumes.** podman makes a named volume for each, named after the pod's volume:
//!   two pods with a volume `data` would share one volume, and a host volume of that name would
//!   be used. Each emptyDir volume (and every mount of it) is renamed `<podman pod>.<volume>`.
//! - **Images.** A fixture reference (`busybox:1.36`) becomes the local image podspec loaded
//!   (`localhost/podspec/busybox:<id>`), so podman never pulls.
//!
//! Everything else is the scenario's manifest, unchanged.

use k8s_openapi::api::core::v1::{Container, Pod};

/// The podman pod name of a Kubernetes pod.
pub fn podman_pod_name(namespace: &str, name: &str) -> String {
    if namespace.starts_with("podspec-") {
        format!("{namespace}.{name}")
    } else {
        format!("podspec-{namespace}.{name}")
    }
}

/// The podman volume name of an emptyDir volume of a pod.
pub fn podman_volume_name(podman_pod: &str, volume: &str) -> String {
    format!("{podman_pod}.{volume}")
}

/// An image reference no local image answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownImage(pub String);

/// The pod as podman is to run it (see the module's documentation).
pub fn for_podman(pod: &Pod, podman_pod: &str, image_for: impl Fn(&str) -> Option<String>) -> Result<Pod, UnknownImage> {
    let mut p = pod.clone();
    let k8s_name = pod.metadata.name.clone().unwrap_or_default();
    p.metadata.name = Some(podman_pod.to_string());
    let Some(spec) = p.spec.as_mut() else { return Ok(p) };
    if spec.hostname.is_none() {
        // The hostname Kubernetes gives: the pod name, cut to 63 characters.
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        spec.hostname = Some(crate::runtime::kubelet::hosts::hostname_and_domain(&k8s_name, namespace, None, None).0);
    }
    let renamed: Vec<(String, String)> = spec
        .volumes
        .iter_mut()
        .flatten()
        .filter(|v| v.empty_dir.is_some())
        .map(|v| {
            let new = podman_volume_name(podman_pod, &v.name);
            (std::mem::replace(&mut v.name, new.clone()), new)
        })
        .collect();
    let containers = spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut());
    for c in containers {
        map_container(c, &renamed, &image_for)?;
    }
    Ok(p)
}

fn map_container(c: &mut Container, renamed: &[(String, String)], image_for: &impl Fn(&str) -> Option<String>) -> Result<(), UnknownImage> {
    let image = c.image.clone().unwrap_or_default();
    c.image = Some(image_for(&image).ok_or(UnknownImage(image))?);
    for m in c.volume_mounts.iter_mut().flatten() {
        if let Some((_, new)) = renamed.iter().find(|(old, _)| *old == m.name) {
            m.name = new.clone();
        }
    }
    Ok(())
}

/// The names of the podman volumes a pod's emptyDir volumes become.
pub fn podman_volumes(pod: &Pod, podman_pod: &str) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter(|v| v.empty_dir.is_some())
        .map(|v| podman_volume_name(podman_pod, &v.name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: shared-emptydir
  namespace: podspec-7-3
  labels: {app: x}
spec:
  terminationGracePeriodSeconds: 0
  volumes:
  - name: data
    emptyDir: {}
  - name: host
    hostPath: {path: /tmp}
  containers:
  - name: writer
    image: busybox:1.36
    command: ["sleep", "3600"]
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: host, mountPath: /host}
"#;

    fn images(r: &str) -> Option<String> {
        (r == "busybox:1.36").then(|| "localhost/podspec/busybox:0123456789ab".to_string())
    }

    #[test]
    fn only_the_name_the_hostname_emptydir_names_and_images_change() {
        let pod: Pod = serde_yaml::from_str(POD).unwrap();
        let name = podman_pod_name("podspec-7-3", "shared-emptydir");
        assert_eq!(name, "podspec-7-3.shared-emptydir");
        let out = for_podman(&pod, &name, images).unwrap();
        assert_eq!(out.metadata.name.as_deref(), Some("podspec-7-3.shared-emptydir"));
        assert_eq!(out.metadata.labels, pod.metadata.labels);
        let spec = out.spec.clone().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("shared-emptydir"));
        let vols = spec.volumes.unwrap();
        assert_eq!(vols[0].name, "podspec-7-3.shared-emptydir.data");
        assert_eq!(vols[1].name, "host", "only emptyDir volumes become podman volumes by name");
        let c = &spec.containers[0];
        assert_eq!(c.image.as_deref(), Some("localhost/podspec/busybox:0123456789ab"));
        let mounts = c.volume_mounts.clone().unwrap();
        assert_eq!((mounts[0].name.as_str(), mounts[1].name.as_str()), ("podspec-7-3.shared-emptydir.data", "host"));
        assert_eq!(c.command, pod.spec.as_ref().unwrap().containers[0].command);
        assert_eq!(spec.termination_grace_period_seconds, Some(0));
        assert_eq!(podman_volumes(&pod, &name), vec!["podspec-7-3.shared-emptydir.data".to_string()]);
        // What podman reads: YAML with apiVersion and kind.
        let yaml = serde_yaml::to_string(&out).unwrap();
        assert!(yaml.contains("apiVersion: v1") && yaml.contains("kind: Pod"), "{yaml}");
    }

    #[test]
    fn a_hostname_the_manifest_sets_is_kept_and_an_unknown_image_is_named() {
        let mut pod: Pod = serde_yaml::from_str(POD).unwrap();
        pod.spec.as_mut().unwrap().hostname = Some("front".into());
        let out = for_podman(&pod, "podspec-7-3.x", images).unwrap();
        assert_eq!(out.spec.unwrap().hostname.as_deref(), Some("front"));
        pod.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.25".into());
        assert_eq!(for_podman(&pod, "podspec-7-3.x", images).unwrap_err(), UnknownImage("nginx:1.25".into()));
        assert_eq!(podman_pod_name("default", "web"), "podspec-default.web");
    }
}
