//! Static pods: the kubelet runs the pods whose manifests are in its manifest directory without
//! the API, and keeps a mirror pod of each in the API (pkg/kubelet/config/file.go and
//! common.go for the defaults, pkg/kubelet/pod/mirror_client.go for mirror pods).
//!
//! - A manifest's pod is named `<name>-<nodeName>`, gets `spec.nodeName`, and a uid that is a
//!   hash of the node, the file and its content (so a changed manifest is a new pod), recorded
//!   in the `kubernetes.io/config.hash` annotation; `kubernetes.io/config.source` is `file`.
//! - Its mirror pod is the same pod with `kubernetes.io/config.mirror` (= the hash) and one
//!   controller owner reference to the Node. The kubelet creates it as the node, so admission
//!   may refuse it; the kubelet logs why and the static pod runs on.
//! - A manifest that cannot be read or is not a valid pod is logged with its file name and
//!   skipped; the other manifests keep running.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use sha2::{Digest, Sha256};

use super::Kubelet;
use podspec_api::admission::{HASH_ANNOTATION, MIRROR_ANNOTATION, SEEN_ANNOTATION, SOURCE_ANNOTATION};
use podspec_api::manifest::{self, Source};
use podspec_api::{DeleteOptions, Requester};

/// How often the directory is read again (the kubelet also re-reads it periodically).
const RESCAN: Duration = Duration::from_millis(300);

/// Whether `pod` is the mirror pod of the static pod with this hash.
pub fn is_mirror_of(pod: &Pod, hash: &str) -> bool {
    podspec_api::admission::mirror_hash(pod) == Some(hash)
}

/// What one manifest file gave.
struct Manifest {
    content: Vec<u8>,
    /// The static pod it describes, if it is valid.
    pod: Option<Pod>,
    /// The mirror pod creation was refused for this reason (logged once).
    mirror_refused: Option<String>,
}

pub(super) async fn watch(kubelet: Arc<Kubelet>, dir: PathBuf) {
    let mut manifests: BTreeMap<PathBuf, Manifest> = BTreeMap::new();
    loop {
        let files = match read_manifests(&dir).await {
            Ok(f) => f,
            Err(e) => {
                kubelet.warn(format!("Unable to read static pod manifest directory {}: {e}", dir.display()));
                HashMap::new()
            }
        };
        // Gone or changed: stop the old pod and remove its mirror.
        let stale: Vec<PathBuf> =
            manifests.iter().filter(|(path, m)| files.get(*path) != Some(&m.content)).map(|(p, _)| p.clone()).collect();
        for path in stale {
            if let Some(Manifest { pod: Some(pod), .. }) = manifests.remove(&path) {
                stop(&kubelet, &pod).await;
            }
        }
        // New or changed: start its pod.
        for (path, content) in files {
            if manifests.contains_key(&path) {
                continue;
            }
            let pod = match static_pod(&kubelet, &path, &content) {
                Ok(pod) => {
                    if let Err(e) = kubelet.start_worker(pod.clone(), true) {
                        kubelet.warn(format!("Static pod from {} could not be started: {e}", path.display()));
                    }
                    Some(pod)
                }
                Err(e) => {
                    kubelet.warn(format!("Could not process manifest file {}: {e}", path.display()));
                    None
                }
            };
            manifests.insert(path, Manifest { content, pod, mirror_refused: None });
        }
        for m in manifests.values_mut() {
            if let Some(pod) = &m.pod {
                ensure_mirror(&kubelet, pod, &mut m.mirror_refused);
            }
        }
        tokio::time::sleep(RESCAN).await;
    }
}

/// The regular, non-hidden files of the directory and their contents.
async fn read_manifests(dir: &Path) -> std::io::Result<HashMap<PathBuf, Vec<u8>>> {
    let mut files = HashMap::new();
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(e),
    };
    while let Some(entry) = entries.next_entry().await? {
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || !entry.file_type().await?.is_file() {
            continue;
        }
        // A file removed between listing and reading is simply not there.
        if let Ok(content) = tokio::fs::read(entry.path()).await {
            files.insert(entry.path(), content);
        }
    }
    Ok(files)
}

/// Why a static pod manifest gives no pod (the kubelet logs it with the file's name).
#[derive(Debug, thiserror::Error)]
enum ManifestFileError {
    #[error("not UTF-8: {0}")]
    NotUtf8(#[source] std::str::Utf8Error),
    #[error(transparent)]
    Parse(#[from] manifest::ManifestError),
    /// The API's validation of the pod, its errors aggregated as Kubernetes aggregates them.
    #[error("invalid pod: {}", podspec_api::validation::aggregate(.0))]
    Invalid(Vec<podspec_api::validation::FieldError>),
}

/// Reads a manifest and applies the kubelet's defaults for static pods.
fn static_pod(kubelet: &Kubelet, path: &Path, content: &[u8]) -> Result<Pod, ManifestFileError> {
    let text = std::str::from_utf8(content).map_err(ManifestFileError::NotUtf8)?;
    let mut pod = manifest::parse_pod(text, &Source::file(path))?;
    let node = kubelet.config.node_name.to_lowercase();
    let digest = format!("{:x}", Sha256::digest([node.as_bytes(), path.as_os_str().as_encoded_bytes(), content].concat()));
    let hash = digest[..32].to_string();
    let m = &mut pod.metadata;
    m.uid = Some(hash.clone());
    m.name = Some(format!("{}-{node}", m.name.clone().unwrap_or_default()));
    m.namespace.get_or_insert_with(|| "default".into());
    let annotations = m.annotations.get_or_insert_with(Default::default);
    annotations.insert(HASH_ANNOTATION.into(), hash);
    annotations.insert(SOURCE_ANNOTATION.into(), "file".into());
    annotations.insert(SEEN_ANNOTATION.into(), format!("{:.9}", jiff::Timestamp::now()));
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.node_name = Some(kubelet.config.node_name.clone());
    spec.tolerations.get_or_insert_with(Vec::new).push(Toleration {
        operator: Some("Exists".into()),
        effect: Some("NoExecute".into()),
        ..Default::default()
    });
    let errors = podspec_api::PodStrategy.create_errors(&pod);
    if !errors.is_empty() {
        return Err(ManifestFileError::Invalid(errors));
    }
    Ok(pod)
}

async fn stop(kubelet: &Arc<Kubelet>, pod: &Pod) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    if let Err(e) = kubelet.stop_pod(&uid).await {
        tracing::debug!(error = %e, "static pod was not running");
    }
    let (ns, name) = names(pod);
    // The mirror pod read, and no other: a pod made under its name since is not touched.
    let mirror = kubelet.api.get(&ns, &name).ok().filter(|m| is_mirror_of(m, &uid));
    if let Some(mirror_uid) = mirror.and_then(|m| m.metadata.uid) {
        let _ = kubelet.api.delete(&ns, &name, &DeleteOptions::now_for(&mirror_uid));
    }
}

fn names(pod: &Pod) -> (String, String) {
    (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default())
}

/// Makes the API hold a current mirror pod of `pod`: an outdated or deleted one is replaced.
fn ensure_mirror(kubelet: &Arc<Kubelet>, pod: &Pod, refused: &mut Option<String>) {
    let hash = pod.metadata.uid.clone().unwrap_or_default();
    let (ns, name) = names(pod);
    match kubelet.api.get(&ns, &name) {
        Ok(m) if is_mirror_of(&m, &hash) && m.metadata.deletion_timestamp.is_none() => return,
        Ok(m) if podspec_api::is_mirror_pod(&m) => {
            // Outdated, or deleted through the API: the kubelet deletes it (that one, by its
            // uid) and makes it anew.
            let options = m.metadata.uid.as_deref().map(DeleteOptions::now_for).unwrap_or_else(|| DeleteOptions::grace(0));
            let _ = kubelet.api.delete(&ns, &name, &options);
        }
        Ok(_) => {
            if refused.is_none() {
                let why = format!("a pod named {name:?} that is not its mirror pod exists");
                kubelet.warn(format!("Failed creating a mirror pod for {name}_{ns}({hash}): {why}"));
                *refused = Some(why);
            }
            return;
        }
        Err(_) => {}
    }
    let mut mirror = pod.clone();
    mirror.metadata.uid = None;
    mirror.metadata.annotations.get_or_insert_with(Default::default).insert(MIRROR_ANNOTATION.into(), hash.clone());
    mirror.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "Node".into(),
        name: kubelet.config.node_name.clone(),
        uid: kubelet.config.node_uid.clone(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    match kubelet.api.create(&mirror, Requester::Node(&kubelet.config.node_name)) {
        Ok(_) => {
            *refused = None;
            // The worker writes the status into the new mirror pod: woken for it, since
            // nothing of the static pod changed (without the wake, the status waited for the
            // worker's next event and the mirror pod showed Pending).
            if let Some(uid) = pod.metadata.uid.as_deref() {
                kubelet.republish(uid);
            }
        }
        Err(e) => {
            if refused.as_deref() != Some(e.message.as_str()) {
                kubelet.warn(format!("Failed creating a mirror pod for \"{name}_{ns}({hash})\": {}", e.message));
                *refused = Some(e.message);
            }
        }
    }
}
