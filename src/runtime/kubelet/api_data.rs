//! The sources of API-data volumes, each made into a payload for the atomic writer
//! (`atomic_writer`): `downwardAPI` (pkg/volume/downwardapi: `CollectData`) and `projected`
//! with `downwardAPI` sources (pkg/volume/projected). ConfigMap, Secret and ServiceAccount
//! token sources are refused, naming the field, until the API has those objects; each will be
//! one more arm of [`payload`].
//!
//! A file's mode is its item's `mode`, else the volume's `defaultMode`, else 0644 (the API's
//! default). A pod field is written as the kubelet's `fieldpath.ExtractFieldPathAsString`
//! gives it (labels and annotations as sorted `key="value"` lines, Go-quoted); a container
//! resource as the env's (`downward::resource_value`: the node's allocatable without a limit).
//!
//! The volumes are written before the sandbox starts and again whenever the pod's labels or
//! annotations change (the kubelet's watch wakes the pod worker): a new version of a volume is
//! swapped in whole. A subPath mount of one of these volumes binds the file it found and so
//! keeps the version it started with, as in Kubernetes.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, Pod, Volume};

use super::atomic_writer::{self, FileProjection, Ownership, Payload};
use super::downward::Allocatable;
use super::worker::PodWorker;

/// The mode of a file whose item and volume give none (DownwardAPIVolumeSourceDefaultMode,
/// ProjectedVolumeSourceDefaultMode).
pub const DEFAULT_MODE: i32 = 0o644;

/// Whether the volume's files come from the API (written by the atomic writer, mounted
/// read-only).
pub fn is_api_data(v: &Volume) -> bool {
    v.downward_api.is_some() || v.projected.is_some()
}

/// The volume's directory on the node, under the pod's, by its plugin's name as the kubelet
/// lays them out (`volumes/kubernetes.io~downward-api/<name>`).
pub fn volume_dir(root: &Path, uid: &str, v: &Volume) -> Option<PathBuf> {
    let plugin = if v.downward_api.is_some() {
        "kubernetes.io~downward-api"
    } else if v.projected.is_some() {
        "kubernetes.io~projected"
    } else {
        return None;
    };
    Some(root.join("pods").join(uid).join("volumes").join(plugin).join(&v.name))
}

/// What the node cannot write of an API-data volume (volume number `index`), naming the
/// field; `None` for any other volume.
pub fn refusal(v: &Volume, index: usize) -> Option<String> {
    let projected = v.projected.as_ref()?;
    for (j, s) in projected.sources.iter().flatten().enumerate() {
        let field = |name: &str| format!("spec.volumes[{index}].projected.sources[{j}].{name} (volume {:?})", v.name);
        let object = match () {
            _ if s.config_map.is_some() => "configMap",
            _ if s.secret.is_some() => "secret",
            _ if s.service_account_token.is_some() => "serviceAccountToken",
            _ if s.cluster_trust_bundle.is_some() => "clusterTrustBundle",
            _ => continue,
        };
        return Some(format!("{}: the API holds no such objects yet; only downwardAPI sources are projected", field(object)));
    }
    None
}

/// The files of an API-data volume of `pod`, with their modes.
pub fn payload(v: &Volume, pod: &Pod, node: Allocatable) -> Result<Payload, String> {
    let mut out = Payload::new();
    if let Some(d) = &v.downward_api {
        let mode = d.default_mode.unwrap_or(DEFAULT_MODE);
        downward_files(d.items.as_deref().unwrap_or(&[]), mode, pod, node, &mut out)?;
    } else if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(DEFAULT_MODE);
        for (j, s) in p.sources.iter().flatten().enumerate() {
            match &s.downward_api {
                Some(d) => downward_files(d.items.as_deref().unwrap_or(&[]), mode, pod, node, &mut out)?,
                None => return Err(refusal(v, 0).unwrap_or_else(|| format!("projected source {j}: no source the node writes"))),
            }
        }
    }
    Ok(out)
}

fn downward_files(
    items: &[DownwardAPIVolumeFile],
    default_mode: i32,
    pod: &Pod,
    node: Allocatable,
    out: &mut Payload,
) -> Result<(), String> {
    for item in items {
        let data = if let Some(f) = &item.field_ref {
            field_value(&f.field_path, pod).map_err(|e| format!("item {:?}: {e}", item.path))?
        } else if let Some(r) = &item.resource_field_ref {
            let name = r.container_name.as_deref().unwrap_or("");
            let spec = pod.spec.as_ref().ok_or("pod has no spec")?;
            let c = spec
                .init_containers
                .iter()
                .flatten()
                .chain(&spec.containers)
                .find(|c| c.name == name)
                .ok_or_else(|| format!("item {:?}: container {name:?} not found", item.path))?;
            let divisor = r.divisor.as_ref().map(|d| d.0.as_str()).unwrap_or("1");
            super::downward::resource_value(&r.resource, divisor, c, node).map_err(|e| format!("item {:?}: {e}", item.path))?
        } else {
            return Err(format!("item {:?}: one of fieldRef and resourceFieldRef is required", item.path));
        };
        let mode = item.mode.unwrap_or(default_mode);
        out.insert(item.path.clone(), FileProjection { data: data.into_bytes(), mode: (mode & 0o777) as u32 });
    }
    Ok(())
}

/// A pod field as a downward API volume writes it (fieldpath.ExtractFieldPathAsString).
pub fn field_value(path: &str, pod: &Pod) -> Result<String, String> {
    let m = &pod.metadata;
    let subscript = |prefix: &str| path.strip_prefix(prefix).and_then(|r| r.strip_prefix("['")).and_then(|r| r.strip_suffix("']"));
    if let Some(k) = subscript("metadata.labels") {
        return Ok(m.labels.as_ref().and_then(|l| l.get(k)).cloned().unwrap_or_default());
    }
    if let Some(k) = subscript("metadata.annotations") {
        return Ok(m.annotations.as_ref().and_then(|a| a.get(k)).cloned().unwrap_or_default());
    }
    Ok(match path {
        "metadata.name" => m.name.clone().unwrap_or_default(),
        "metadata.namespace" => m.namespace.clone().unwrap_or_default(),
        "metadata.uid" => m.uid.clone().unwrap_or_default(),
        "metadata.labels" => format_map(m.labels.as_ref()),
        "metadata.annotations" => format_map(m.annotations.as_ref()),
        other => return Err(format!("unsupported fieldPath {other:?}")),
    })
}

/// fieldpath.FormatMap: `key="value"` lines (the value quoted as Go's %q), sorted by key, with
/// no newline after the last.
pub fn format_map(m: Option<&std::collections::BTreeMap<String, String>>) -> String {
    m.into_iter().flatten().map(|(k, v)| format!("{k}={}", go_quote(v))).collect::<Vec<_>>().join("\n")
}

/// A string as Go's `strconv.Quote` writes it: in double quotes, with `\"`, `\\`, the C escapes
/// and `\x`/`\u` escapes for what is not printable.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl PodWorker {
    /// Makes each API-data volume's directory and writes its payload, as a new version where it
    /// changed. With the pod's `fsGroup`, the files belong to that group and it may read them.
    pub(super) fn write_api_volumes(&self) -> Result<(), String> {
        let pod = self.pod();
        let Some(spec) = &pod.spec else { return Ok(()) };
        let owner = Ownership { fs_group: spec.security_context.as_ref().and_then(|sc| sc.fs_group).map(|g| g as u32) };
        for v in spec.volumes.iter().flatten() {
            let Some(dir) = volume_dir(&self.kubelet.config.root_dir, &self.uid, v) else { continue };
            let files = payload(v, &pod, self.kubelet.allocatable).map_err(|e| format!("volume {:?}: {e}", v.name))?;
            std::fs::create_dir_all(&dir).map_err(|e| format!("volume {:?}: make {}: {e}", v.name, dir.display()))?;
            let written = atomic_writer::write(&dir, &files, owner).map_err(|e| format!("volume {:?}: {e}", v.name))?;
            if written {
                tracing::debug!(pod = %self.key, volume = %v.name, "wrote a new version of the volume");
            }
        }
        Ok(())
    }

    /// After a change of the pod (its labels or annotations): each API-data volume gets the new
    /// values, atomically; what fails is logged and tried again at the next change.
    pub(super) fn refresh_api_volumes(&self) {
        if let Err(e) = self.write_api_volumes() {
            tracing::warn!(pod = %self.key, error = %e, "update the pod's API-data volumes");
        }
    }

    /// Whether the pod's volume `name` is an API-data volume (mounted read-only).
    pub(super) fn is_api_data_volume(&self, name: &str) -> bool {
        let pod = self.pod.lock().unwrap();
        pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).any(|v| v.name == name && is_api_data(v))
    }

    /// The directory of the pod's API-data volume `name`, if it is one.
    pub(super) fn api_data_dir(&self, name: &str) -> Option<PathBuf> {
        let pod = self.pod.lock().unwrap();
        let v = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).find(|v| v.name == name)?;
        volume_dir(&self.kubelet.config.root_dir, &self.uid, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::quantity::Milli;

    fn node() -> Allocatable {
        Allocatable { cpu: Milli(4000), memory: Milli((8i128 << 30) * 1000), ephemeral_storage: Milli((100i128 << 30) * 1000) }
    }

    fn pod(yaml: &str) -> Pod {
        serde_yaml::from_str(yaml).unwrap()
    }

    const POD: &str = r#"
metadata:
  name: web
  namespace: ns
  uid: u-1
  labels: {key2: value2, key1: value1}
  annotations: {builder: "say \"hi\"\n"}
spec:
  containers:
  - name: client-container
    image: busybox
    resources: {requests: {cpu: 250m, memory: 32Mi}, limits: {cpu: 1250m, memory: 64Mi}}
  - name: bare
    image: busybox
  volumes:
  - name: podinfo
    downwardAPI:
      defaultMode: 256 # 0400
      items:
      - {path: podname, fieldRef: {fieldPath: metadata.name}}
      - {path: dir/labels, mode: 292, fieldRef: {fieldPath: metadata.labels}}
      - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      - {path: key1, fieldRef: {fieldPath: "metadata.labels['key1']"}}
      - {path: cpu_limit, resourceFieldRef: {containerName: client-container, resource: limits.cpu}}
      - {path: cpu_request, resourceFieldRef: {containerName: client-container, resource: requests.cpu, divisor: 1m}}
      - {path: memory_limit, resourceFieldRef: {containerName: client-container, resource: limits.memory}}
      - {path: memory_request, resourceFieldRef: {containerName: client-container, resource: requests.memory}}
      - {path: default_cpu, resourceFieldRef: {containerName: bare, resource: limits.cpu}}
      - {path: default_memory, resourceFieldRef: {containerName: bare, resource: limits.memory, divisor: 1Mi}}
  - name: projected
    projected:
      sources:
      - downwardAPI: {items: [{path: podname, fieldRef: {fieldPath: metadata.name}}]}
      - downwardAPI: {items: [{path: uid, mode: 256, fieldRef: {fieldPath: metadata.uid}}]}
"#;

    #[test]
    fn downward_api_items_are_written_as_the_kubelet_writes_them() {
        let p = pod(POD);
        let files = payload(&p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0], &p, node()).unwrap();
        let get = |k: &str| (String::from_utf8(files[k].data.clone()).unwrap(), files[k].mode);
        assert_eq!(get("podname"), ("web".into(), 0o400));
        assert_eq!(get("dir/labels"), ("key1=\"value1\"\nkey2=\"value2\"".into(), 0o444));
        assert_eq!(get("annotations").0, r#"builder="say \"hi\"\n""#);
        assert_eq!(get("key1").0, "value1");
        assert_eq!(get("cpu_limit").0, "2");
        assert_eq!(get("cpu_request").0, "250");
        assert_eq!(get("memory_limit").0, "67108864");
        assert_eq!(get("memory_request").0, "33554432");
        assert_eq!(get("default_cpu").0, "4", "no limit: the node's allocatable");
        assert_eq!(get("default_memory").0, "8192");
    }

    #[test]
    fn a_projected_volume_joins_its_sources_with_the_default_mode() {
        let p = pod(POD);
        let files = payload(&p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[1], &p, node()).unwrap();
        assert_eq!(files["podname"], FileProjection { data: b"web".to_vec(), mode: 0o644 });
        assert_eq!(files["uid"], FileProjection { data: b"u-1".to_vec(), mode: 0o400 });
    }

    #[test]
    fn projected_sources_of_objects_the_api_lacks_are_refused_naming_the_field() {
        let v: Volume = serde_yaml::from_str(
            "name: all\nprojected:\n  sources:\n  - downwardAPI: {items: [{path: a, fieldRef: {fieldPath: metadata.name}}]}\n  - configMap: {name: c}\n",
        )
        .unwrap();
        let why = refusal(&v, 3).unwrap();
        assert!(why.starts_with("spec.volumes[3].projected.sources[1].configMap (volume \"all\")"), "{why}");
        assert!(refusal(&pod(POD).spec.unwrap().volumes.unwrap()[1], 1).is_none());
    }

    #[test]
    fn values_are_quoted_as_go_quotes_them() {
        assert_eq!(go_quote("a\"b\\c\td\u{1}é"), "\"a\\\"b\\\\c\\td\\x01é\"");
    }
}
