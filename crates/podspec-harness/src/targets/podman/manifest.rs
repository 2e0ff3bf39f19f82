//! The manifest handed to `podman kube play`: the scenario's own pod, changed only where podman
//! cannot express what Kubernetes means, and every change said (`Played::changes`, which the
//! reports show per scenario).
//!
//! - **Names.** podman has no namespaces and one name space for all pods, containers and
//!   volumes of the machine, so the pod is named `<namespace>.<name>` (podman names its
//!   containers `<pod>-<container>`). Every name starts with `podspec-`, so podspec's objects are
//!   told apart from everybody else's.
//! - **Hostname.** podman sets a pod's hostname to its (podman) name; Kubernetes sets it to
//!   `metadata.name` (cut to 63 characters, as the kubelet cuts it). When the manifest does not
//!   set `spec.hostname`, it is set to that hostname, so the rename above changes nothing inside
//!   the pod.
//! - **emptyDir volumes.** podman makes a named volume for each, named after the pod's volume,
//!   in the machine's one name space of volumes. The volume name gets the namespace's prefix
//!   (`<namespace>.<volume>`), for the same reason as the pod's name: so that runs, and the
//!   scenarios of a run (each in a namespace of its own), never share a volume. Two pods of one
//!   namespace that name the same volume get the same podman volume: that is podman's own
//!   behaviour (Kubernetes gives each pod its own emptyDir), and a scenario sees it.
//! - **Images.** A fixture reference (`busybox:1.36`) becomes the local image podspec loaded
//!   (`localhost/podspec/busybox:<id>`), so podman never pulls.
//!
//! Everything else is the scenario's manifest, unchanged.

use k8s_openapi::api::core::v1::{Container, Pod};

/// The prefix of a namespace's podman names (pods and volumes).
pub fn namespace_prefix(namespace: &str) -> String {
    if namespace.starts_with("podspec-") {
        namespace.to_string()
    } else {
        format!("podspec-{namespace}")
    }
}

/// The podman pod name of a Kubernetes pod.
pub fn podman_pod_name(namespace: &str, name: &str) -> String {
    format!("{}.{name}", namespace_prefix(namespace))
}

/// The podman volume name of an emptyDir volume of a pod in `namespace`.
pub fn podman_volume_name(namespace: &str, volume: &str) -> String {
    format!("{}.{volume}", namespace_prefix(namespace))
}

/// An image reference no local image answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownImage(pub String);

/// The pod as podman is to run it, and what was changed to make it so.
#[derive(Debug, Clone)]
pub struct Played {
    pub pod: Pod,
    /// Each change made to the manifest, with why, once each.
    pub changes: Vec<String>,
}

/// The pod as podman is to run it (see the module's documentation).
pub fn for_podman(pod: &Pod, image_for: impl Fn(&str) -> Option<String>) -> Result<Played, UnknownImage> {
    let mut p = pod.clone();
    let k8s_name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let podman_pod = podman_pod_name(&namespace, &k8s_name);
    let mut changes = vec![format!(
        "pod {k8s_name}: metadata.name sent as {podman_pod:?} (podman has no namespaces: one name space for the machine's pods)"
    )];
    p.metadata.name = Some(podman_pod);
    let Some(spec) = p.spec.as_mut() else { return Ok(Played { pod: p, changes }) };
    if spec.hostname.is_none() {
        // The hostname Kubernetes gives: the pod name, cut to 63 characters.
        let hostname = crate::runtime::kubelet::hosts::hostname_and_domain(&k8s_name, &namespace, None, None).0;
        changes.push(format!(
            "pod {k8s_name}: spec.hostname set to {hostname:?}, the hostname Kubernetes gives (podman would give the podman pod name)"
        ));
        spec.hostname = Some(hostname);
    }
    let renamed: Vec<(String, String)> = spec
        .volumes
        .iter_mut()
        .flatten()
        .filter(|v| v.empty_dir.is_some())
        .map(|v| {
            let new = podman_volume_name(&namespace, &v.name);
            changes.push(format!(
                "pod {k8s_name}: emptyDir volume {:?} (and its mounts) sent as {new:?} (podman volumes are the machine's, with no namespaces)",
                v.name
            ));
            (std::mem::replace(&mut v.name, new.clone()), new)
        })
        .collect();
    let containers = spec.init_containers.iter_mut().flatten().chain(spec.containers.iter_mut());
    for c in containers {
        map_container(c, &renamed, &image_for, &k8s_name, &mut changes)?;
    }
    changes.dedup();
    Ok(Played { pod: p, changes })
}

fn map_container(
    c: &mut Container,
    renamed: &[(String, String)],
    image_for: &impl Fn(&str) -> Option<String>,
    pod: &str,
    changes: &mut Vec<String>,
) -> Result<(), UnknownImage> {
    let image = c.image.clone().unwrap_or_default();
    let local = image_for(&image).ok_or(UnknownImage(image.clone()))?;
    if local != image {
        let change = format!("pod {pod}: image {image} sent as {local} (the fixture image podspec loaded into podman; podman never pulls)");
        if !changes.contains(&change) {
            changes.push(change);
        }
    }
    c.image = Some(local);
    for m in c.volume_mounts.iter_mut().flatten() {
        if let Some((_, new)) = renamed.iter().find(|(old, _)| *old == m.name) {
            m.name = new.clone();
        }
    }
    Ok(())
}

/// The names of the podman volumes a pod's emptyDir volumes become.
pub fn podman_volumes(pod: &Pod) -> Vec<String> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter(|v| v.empty_dir.is_some())
        .map(|v| podman_volume_name(namespace, &v.name))
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
        assert_eq!(podman_pod_name("podspec-7-3", "shared-emptydir"), "podspec-7-3.shared-emptydir");
        let played = for_podman(&pod, images).unwrap();
        let out = played.pod;
        assert_eq!(out.metadata.name.as_deref(), Some("podspec-7-3.shared-emptydir"));
        assert_eq!(out.metadata.labels, pod.metadata.labels);
        let spec = out.spec.clone().unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("shared-emptydir"));
        let vols = spec.volumes.unwrap();
        assert_eq!(vols[0].name, "podspec-7-3.data", "the volume's own name, with the namespace's prefix only");
        assert_eq!(vols[1].name, "host", "only emptyDir volumes become podman volumes by name");
        let c = &spec.containers[0];
        assert_eq!(c.image.as_deref(), Some("localhost/podspec/busybox:0123456789ab"));
        let mounts = c.volume_mounts.clone().unwrap();
        assert_eq!((mounts[0].name.as_str(), mounts[1].name.as_str()), ("podspec-7-3.data", "host"));
        assert_eq!(c.command, pod.spec.as_ref().unwrap().containers[0].command);
        assert_eq!(spec.termination_grace_period_seconds, Some(0));
        assert_eq!(podman_volumes(&pod), vec!["podspec-7-3.data".to_string()]);
        // Every change is said, once.
        assert_eq!(played.changes.len(), 4, "{:#?}", played.changes);
        assert!(played.changes[0].starts_with("pod shared-emptydir: metadata.name sent as \"podspec-7-3.shared-emptydir\""));
        assert!(played.changes[1].starts_with("pod shared-emptydir: spec.hostname set to \"shared-emptydir\""));
        assert!(
            played.changes[2].starts_with("pod shared-emptydir: emptyDir volume \"data\" (and its mounts) sent as \"podspec-7-3.data\"")
        );
        assert!(played.changes[3].starts_with("pod shared-emptydir: image busybox:1.36 sent as localhost/podspec/busybox:0123456789ab"));
        // What podman reads: YAML with apiVersion and kind.
        let yaml = serde_yaml::to_string(&out).unwrap();
        assert!(yaml.contains("apiVersion: v1") && yaml.contains("kind: Pod"), "{yaml}");
    }

    #[test]
    fn a_hostname_the_manifest_sets_is_kept_and_an_unknown_image_is_named() {
        let mut pod: Pod = serde_yaml::from_str(POD).unwrap();
        pod.spec.as_mut().unwrap().hostname = Some("front".into());
        let played = for_podman(&pod, images).unwrap();
        assert_eq!(played.pod.spec.unwrap().hostname.as_deref(), Some("front"));
        assert!(!played.changes.iter().any(|c| c.contains("spec.hostname")), "{:?}", played.changes);
        pod.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.25".into());
        assert_eq!(for_podman(&pod, images).unwrap_err(), UnknownImage("nginx:1.25".into()));
        assert_eq!(podman_pod_name("default", "web"), "podspec-default.web");
    }
}
