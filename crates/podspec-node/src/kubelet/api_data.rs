//! The sources of API-data volumes, each made into a payload for the atomic writer
//! (`atomic_writer`): `downwardAPI` (pkg/volume/downwardapi: `CollectData`), `configMap`
//! (pkg/volume/configmap: `MakePayload`), `secret` (pkg/volume/secret: `MakePayload`) and
//! `projected` with `downwardAPI`, `configMap` and `secret` sources (pkg/volume/projected).
//! ServiceAccount token and ClusterTrustBundle sources are refused, naming the field.
//!
//! A ConfigMap or Secret is read from the node's API ([`ApiObjects`]); a missing one fails the
//! volume with the kubelet's text (`configmap "x" not found`) unless the source is `optional`,
//! and the kubelet tries again when the API's objects change. Without `items` every key becomes
//! a file; with them, each item's key (a missing one fails the volume unless it is optional).
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

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, Volume};

use podspec_api::configmaps::ConfigMapStore;
use podspec_api::secrets::SecretStore;
use podspec_api::tokens::Issued;

use super::atomic_writer::{self, FileProjection, Payload};
use super::downward::Allocatable;

/// The mode of a file whose item and volume give none (DownwardAPIVolumeSourceDefaultMode,
/// ProjectedVolumeSourceDefaultMode).
pub const DEFAULT_MODE: i32 = 0o644;

/// Where the kubelet reads the ConfigMaps and Secrets that volumes and env name: the node's
/// API stores.
#[derive(Clone)]
pub struct ApiObjects {
    pub config_maps: Arc<ConfigMapStore>,
    pub secrets: Arc<SecretStore>,
    /// The node's API, which issues the pods' ServiceAccount tokens (TokenRequest).
    pub api: Arc<podspec_api::Api>,
    /// The tokens the kubelet holds, by pod, ServiceAccount, audience and life (its token
    /// manager's cache): one is asked for again only when it is due for a refresh.
    pub tokens: Arc<std::sync::Mutex<std::collections::HashMap<TokenKey, CachedToken>>>,
}

/// A token of the kubelet's cache, and when a refresh that failed is tried again.
#[derive(Clone, Debug)]
pub struct CachedToken {
    pub issued: Issued,
    /// Set when a refresh failed while the token was still valid: the token is kept (the token
    /// manager's "Couldn't update token") and not asked for again before then.
    pub retry_after: Option<Timestamp>,
}

impl CachedToken {
    /// When the kubelet next asks for this token anew: when it is due for a refresh, or, after a
    /// refresh that failed, at the retry.
    pub fn next_refresh(&self) -> Timestamp {
        let due = refresh_due(&self.issued);
        self.retry_after.map_or(due, |r| r.max(due))
    }
}

/// What a token of the kubelet's cache was asked for: the pod's uid, its ServiceAccount, the
/// audience and expirationSeconds.
pub type TokenKey = (String, String, String, i64);

/// The longest the kubelet keeps a token before it asks for a new one, whatever its life
/// (the token manager's maxTTL).
pub const TOKEN_MAX_TTL: SignedDuration = SignedDuration::from_hours(24);

/// How long after a failed refresh the kubelet asks again: its token manager asks at each
/// remount of the pod's volumes, which a pod's periodic sync brings (syncFrequency, 1 minute).
pub const TOKEN_RETRY: SignedDuration = SignedDuration::from_mins(1);

/// Whether a token is due for a refresh (the kubelet's token manager, `requiresRefresh`): once
/// 80 % of its life has passed, or 24 hours since it was issued.
pub fn requires_refresh(issued: &Issued, now: Timestamp) -> bool {
    let life = issued.expires.duration_since(issued.issued_at);
    now >= issued.issued_at + TOKEN_MAX_TTL || now >= issued.expires - life / 5
}

/// When a token of the cache is next due for a refresh.
pub fn refresh_due(issued: &Issued) -> Timestamp {
    let life = issued.expires.duration_since(issued.issued_at);
    (issued.issued_at + TOKEN_MAX_TTL).min(issued.expires - life / 5)
}

/// An object the kubelet reads for a pod that is not there, in its words (its object
/// managers' NotFound); the API's answer, when it was asked, is the source.
#[derive(Debug, thiserror::Error)]
#[error("{kind} {name:?} not found")]
pub struct NotFound {
    pub kind: &'static str,
    pub name: String,
    #[source]
    pub source: Option<podspec_api::ApiError>,
}

/// Why the object `kind`/`name` is not there, when no API was asked.
pub fn not_found(kind: &'static str, name: &str) -> NotFound {
    NotFound { kind, name: name.into(), source: None }
}

/// Why the kubelet has no token for a projected volume, in its token manager's words.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("failed to fetch token: {0}")]
    Fetch(#[source] podspec_api::Error),
    #[error("token of ServiceAccount {account:?} for audience {audience:?} ({seconds} s) expired and refresh failed: {source}")]
    ExpiredAndRefreshFailed {
        account: String,
        audience: String,
        seconds: i64,
        #[source]
        source: podspec_api::Error,
    },
}

/// Why an API-data volume's files cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error(transparent)]
    NotFound(#[from] NotFound),
    #[error(transparent)]
    Token(#[from] TokenError),
    /// An item names a key the object lacks; `missing` is the kubelet's words for the kind.
    #[error("{missing}: {key}")]
    MissingKey { missing: &'static str, key: String },
    #[error("item {path:?}: {source}")]
    Item {
        path: String,
        #[source]
        source: super::downward::FieldError,
    },
    #[error("pod has no spec")]
    NoSpec,
    #[error("item {path:?}: container {container:?} not found")]
    NoContainer { path: String, container: String },
    #[error("item {0:?}: one of fieldRef and resourceFieldRef is required")]
    NoItemSource(String),
    /// A projected source the node does not write, as admission words it.
    #[error("{0}")]
    Refused(String),
    #[error("projected source {0}: no source the node writes")]
    NoProjectedSource(usize),
}

/// Why the kubelet could not write or mount a pod's API-data volume.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("volume {volume:?}: {source}")]
    Payload {
        volume: String,
        #[source]
        source: PayloadError,
    },
    #[error("volume {volume:?}: make {}: {source}", .dir.display())]
    MakeDir {
        volume: String,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("volume {volume:?}: {source}")]
    Write {
        volume: String,
        #[source]
        source: atomic_writer::WriteError,
    },
    #[error(transparent)]
    Tmpfs(#[from] super::volumes::TmpfsMountError),
}

impl ApiObjects {
    /// The ConfigMap `name` of `namespace`; the error is the kubelet's text.
    pub fn config_map(&self, namespace: &str, name: &str) -> Result<ConfigMap, NotFound> {
        self.config_maps.get(namespace, name).map_err(|e| NotFound { source: Some(e), ..not_found("configmap", name) })
    }

    pub fn secret(&self, namespace: &str, name: &str) -> Result<Secret, NotFound> {
        self.secrets.get(namespace, name).map_err(|e| NotFound { source: Some(e), ..not_found("secret", name) })
    }

    /// The API's objects for the kubelet, with an empty token cache.
    pub fn of(api: &Arc<podspec_api::Api>) -> Self {
        Self { config_maps: api.config_maps(), secrets: api.secrets(), api: api.clone(), tokens: Arc::default() }
    }

    /// A token for the pod's ServiceAccount, bound to the pod, for `audience` (the API's when
    /// empty) with a life of `seconds`, as the kubelet's token manager gives it: the cached one
    /// until it is due for a refresh, then a new one from the API. When that refresh fails, a
    /// cached token still valid is kept and the refresh tried again after [`TOKEN_RETRY`]; an
    /// expired one, or none, is an error in the token manager's words.
    pub fn token_for(&self, pod: &Pod, audience: &str, seconds: i64) -> Result<Issued, TokenError> {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let account =
            pod.spec.as_ref().and_then(|s| s.service_account_name.clone()).filter(|s| !s.is_empty()).unwrap_or_else(|| "default".into());
        let key = (uid, account, audience.to_string(), seconds);
        let now = Timestamp::now();
        let mut cache = self.tokens.lock().unwrap();
        if let Some(c) = cache.get(&key) {
            let valid = c.issued.expires > now;
            if !requires_refresh(&c.issued, now) || (valid && c.retry_after.is_some_and(|r| now < r)) {
                return Ok(c.issued.clone());
            }
        }
        match self.api.tokens().request_for_pod(&self.api, pod, Some(audience), seconds) {
            Ok(issued) => {
                cache.retain(|_, c| c.issued.expires > now);
                cache.insert(key, CachedToken { issued: issued.clone(), retry_after: None });
                Ok(issued)
            }
            Err(e) => {
                let Some(cached) = cache.get_mut(&key) else { return Err(TokenError::Fetch(e)) };
                cached.retry_after = Some(now + TOKEN_RETRY);
                if cached.issued.expires <= now {
                    let (_, account, audience, seconds) = key;
                    return Err(TokenError::ExpiredAndRefreshFailed { account, audience, seconds, source: e });
                }
                tracing::warn!(pod = ?pod.metadata.name, account = %key.1, error = %e, "Couldn't update token; the cached one is kept");
                Ok(cached.issued.clone())
            }
        }
    }

    /// When the first of the pod's cached tokens is next asked for anew, if it has any.
    pub fn next_token_refresh(&self, pod_uid: &str) -> Option<Timestamp> {
        self.tokens.lock().unwrap().iter().filter(|(k, _)| k.0 == pod_uid).map(|(_, c)| c.next_refresh()).min()
    }

    /// Forgets the tokens of a pod that is gone.
    pub fn forget_tokens(&self, pod_uid: &str) {
        self.tokens.lock().unwrap().retain(|k, _| k.0 != pod_uid);
    }

    /// What wakes on each change of a ConfigMap, and of a Secret.
    pub fn subscribe(&self) -> (tokio::sync::watch::Receiver<u64>, tokio::sync::watch::Receiver<u64>) {
        (self.config_maps.changes(), self.secrets.changes())
    }
}

/// Whether the volume's files come from the API (written by the atomic writer, mounted
/// read-only).
pub fn is_api_data(v: &Volume) -> bool {
    v.downward_api.is_some() || v.projected.is_some() || v.config_map.is_some() || v.secret.is_some()
}

/// Whether the pod names ConfigMaps or Secrets in its volumes (whose files change with them).
pub fn uses_objects(pod: &Pod) -> bool {
    pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).any(|v| {
        v.config_map.is_some()
            || v.secret.is_some()
            || v.projected.iter().flat_map(|p| p.sources.iter().flatten()).any(|s| s.config_map.is_some() || s.secret.is_some())
    })
}

/// The volume's directory on the node, under the pod's, by its plugin's name as the kubelet
/// lays them out (`volumes/kubernetes.io~downward-api/<name>`).
pub fn volume_dir(root: &Path, uid: &str, v: &Volume) -> Option<PathBuf> {
    let plugin = if v.downward_api.is_some() {
        "kubernetes.io~downward-api"
    } else if v.config_map.is_some() {
        "kubernetes.io~configmap"
    } else if v.secret.is_some() {
        "kubernetes.io~secret"
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
        if s.cluster_trust_bundle.is_some() {
            return Some(format!(
                "{}: the API holds no such objects; only downwardAPI, configMap, secret and serviceAccountToken sources are projected",
                field("clusterTrustBundle")
            ));
        }
    }
    None
}

/// The files of an API-data volume of `pod`, with their modes; ConfigMaps and Secrets are read
/// from `objects`.
pub fn payload(v: &Volume, pod: &Pod, node: Allocatable, objects: &ApiObjects) -> Result<Payload, PayloadError> {
    let mut out = Payload::new();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(d) = &v.downward_api {
        let mode = d.default_mode.unwrap_or(DEFAULT_MODE);
        downward_files(d.items.as_deref().unwrap_or(&[]), mode, pod, node, &mut out)?;
    } else if let Some(c) = &v.config_map {
        let mode = c.default_mode.unwrap_or(DEFAULT_MODE);
        let optional = c.optional == Some(true);
        config_map_files(objects, namespace, &c.name, c.items.as_deref(), mode, optional, &mut out)?;
    } else if let Some(s) = &v.secret {
        let mode = s.default_mode.unwrap_or(DEFAULT_MODE);
        let optional = s.optional == Some(true);
        let name = s.secret_name.as_deref().unwrap_or("");
        secret_files(objects, namespace, name, s.items.as_deref(), mode, optional, &mut out)?;
    } else if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(DEFAULT_MODE);
        for (j, s) in p.sources.iter().flatten().enumerate() {
            if let Some(d) = &s.downward_api {
                downward_files(d.items.as_deref().unwrap_or(&[]), mode, pod, node, &mut out)?;
            } else if let Some(c) = &s.config_map {
                let optional = c.optional == Some(true);
                config_map_files(objects, namespace, &c.name, c.items.as_deref(), mode, optional, &mut out)?;
            } else if let Some(c) = &s.secret {
                let optional = c.optional == Some(true);
                secret_files(objects, namespace, &c.name, c.items.as_deref(), mode, optional, &mut out)?;
            } else if let Some(t) = &s.service_account_token {
                let seconds = t.expiration_seconds.unwrap_or(podspec_api::tokens::DEFAULT_SECONDS);
                let issued = objects.token_for(pod, t.audience.as_deref().unwrap_or(""), seconds)?;
                // The projected plugin: with an FsUser or an fsGroup the token is 0600 (the
                // group's read bit comes with the volume's ownership), else the default mode.
                let fs_user = fs_user(pod);
                let fs_group = pod.spec.as_ref().and_then(|s| s.security_context.as_ref()).and_then(|sc| sc.fs_group);
                let mode = if fs_user.is_some() || fs_group.is_some() { 0o600 } else { (mode & 0o777) as u32 };
                out.insert(t.path.clone(), FileProjection { data: issued.token.into_bytes(), mode, fs_user });
            } else {
                return Err(refusal(v, 0).map_or(PayloadError::NoProjectedSource(j), PayloadError::Refused));
            }
        }
    }
    Ok(out)
}

/// The user every container of the pod runs as, when they all run as the same one (the
/// kubelet's `FsUserFrom`: init and regular containers, each's runAsUser or the pod's); a
/// projected token then belongs to that user.
pub fn fs_user(pod: &Pod) -> Option<u32> {
    let spec = pod.spec.as_ref()?;
    let pod_user = spec.security_context.as_ref().and_then(|sc| sc.run_as_user);
    let mut users = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .map(|c| c.security_context.as_ref().and_then(|sc| sc.run_as_user).or(pod_user));
    let first = users.next()??;
    users.all(|u| u == Some(first)).then_some(first as u32)
}

/// The files of a ConfigMap (MakePayload): every key of `data` and `binaryData` with the
/// default mode, or the items' keys at their paths with their modes. A missing ConfigMap is
/// an empty payload when optional.
fn config_map_files(
    objects: &ApiObjects,
    namespace: &str,
    name: &str,
    items: Option<&[KeyToPath]>,
    default_mode: i32,
    optional: bool,
    out: &mut Payload,
) -> Result<(), PayloadError> {
    let cm = match objects.config_map(namespace, name) {
        Ok(cm) => cm,
        Err(_) if optional => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let strings = cm.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes()));
    let data: std::collections::BTreeMap<String, Vec<u8>> =
        strings.chain(cm.binary_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0))).collect();
    key_files(data, items, default_mode, optional, "configmap references non-existent config key", out)
}

/// The files of a Secret (MakePayload), as those of a ConfigMap.
fn secret_files(
    objects: &ApiObjects,
    namespace: &str,
    name: &str,
    items: Option<&[KeyToPath]>,
    default_mode: i32,
    optional: bool,
    out: &mut Payload,
) -> Result<(), PayloadError> {
    let secret = match objects.secret(namespace, name) {
        Ok(s) => s,
        Err(_) if optional => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let data = secret.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
    key_files(data, items, default_mode, optional, "secret references non-existent secret key", out)
}

fn key_files(
    mut data: std::collections::BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: i32,
    optional: bool,
    missing: &'static str,
    out: &mut Payload,
) -> Result<(), PayloadError> {
    match items.filter(|i| !i.is_empty()) {
        None => {
            for (key, bytes) in data {
                out.insert(key, FileProjection { data: bytes, mode: (default_mode & 0o777) as u32, fs_user: None });
            }
        }
        Some(items) => {
            for item in items {
                let Some(bytes) = data.get(&item.key).cloned() else {
                    if optional {
                        continue;
                    }
                    return Err(PayloadError::MissingKey { missing, key: item.key.clone() });
                };
                let mode = item.mode.unwrap_or(default_mode);
                out.insert(item.path.clone(), FileProjection { data: bytes, mode: (mode & 0o777) as u32, fs_user: None });
            }
            data.clear();
        }
    }
    Ok(())
}

fn downward_files(
    items: &[DownwardAPIVolumeFile],
    default_mode: i32,
    pod: &Pod,
    node: Allocatable,
    out: &mut Payload,
) -> Result<(), PayloadError> {
    fn item_error(item: &DownwardAPIVolumeFile) -> impl FnOnce(super::downward::FieldError) -> PayloadError + '_ {
        move |source| PayloadError::Item { path: item.path.clone(), source }
    }
    for item in items {
        let data = if let Some(f) = &item.field_ref {
            field_value(&f.field_path, pod).map_err(item_error(item))?
        } else if let Some(r) = &item.resource_field_ref {
            let name = r.container_name.as_deref().unwrap_or("");
            let spec = pod.spec.as_ref().ok_or(PayloadError::NoSpec)?;
            let c = spec
                .init_containers
                .iter()
                .flatten()
                .chain(&spec.containers)
                .find(|c| c.name == name)
                .ok_or_else(|| PayloadError::NoContainer { path: item.path.clone(), container: name.into() })?;
            let divisor = r.divisor.as_ref().map(|d| d.0.as_str()).unwrap_or("1");
            super::downward::resource_value(&r.resource, divisor, c, node).map_err(item_error(item))?
        } else {
            return Err(PayloadError::NoItemSource(item.path.clone()));
        };
        let mode = item.mode.unwrap_or(default_mode);
        out.insert(item.path.clone(), FileProjection { data: data.into_bytes(), mode: (mode & 0o777) as u32, fs_user: None });
    }
    Ok(())
}

/// A pod field as a downward API volume writes it (fieldpath.ExtractFieldPathAsString).
pub fn field_value(path: &str, pod: &Pod) -> Result<String, super::downward::FieldError> {
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
        other => return Err(super::downward::FieldError::UnsupportedFieldPath(other.into())),
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


#[cfg(test)]
mod tests {
    use super::*;
    use podspec_api::quantity::Milli;

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
        let files = payload(&p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[0], &p, node(), &objects().0).unwrap();
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
        let files = payload(&p.spec.as_ref().unwrap().volumes.as_ref().unwrap()[1], &p, node(), &objects().0).unwrap();
        assert_eq!(files["podname"], FileProjection { data: b"web".to_vec(), mode: 0o644, fs_user: None });
        assert_eq!(files["uid"], FileProjection { data: b"u-1".to_vec(), mode: 0o400, fs_user: None });
    }

    #[test]
    fn projected_sources_of_objects_the_api_lacks_are_refused_naming_the_field() {
        let v: Volume = serde_yaml::from_str(
            "name: all\nprojected:\n  sources:\n  - downwardAPI: {items: [{path: a, fieldRef: {fieldPath: metadata.name}}]}\n  - serviceAccountToken: {path: t}\n  - clusterTrustBundle: {path: b, name: n}\n",
        )
        .unwrap();
        let why = refusal(&v, 3).unwrap();
        assert!(why.starts_with("spec.volumes[3].projected.sources[2].clusterTrustBundle (volume \"all\")"), "{why}");
        assert!(refusal(&pod(POD).spec.unwrap().volumes.unwrap()[1], 1).is_none());
    }

    fn objects() -> (ApiObjects, Arc<podspec_api::Api>) {
        let api = Arc::new(podspec_api::Api::new("t", Timestamp::now()));
        (ApiObjects::of(&api), api)
    }

    fn volume(yaml: &str) -> Volume {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn config_map_and_secret_volumes_are_their_keys_or_their_items() {
        let (objects, api) = objects();
        let cm = serde_yaml::from_str(
            "metadata: {name: c, namespace: ns}\ndata: {data-1: value-1, data-2: value-2}\nbinaryData: {dump.bin: AP8=}\n",
        )
        .unwrap();
        api.config_maps().create_object(&cm, false).unwrap();
        let secret = serde_yaml::from_str("metadata: {name: s, namespace: ns}\nstringData: {data-1: value-1}\n").unwrap();
        api.secrets().create_object(&secret, false).unwrap();
        let p = pod("metadata: {name: web, namespace: ns}\nspec: {containers: [{name: a, image: busybox}]}\n");
        let all = payload(&volume("name: v\nconfigMap: {name: c, defaultMode: 256}\n"), &p, node(), &objects).unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), ["data-1", "data-2", "dump.bin"]);
        assert_eq!(all["dump.bin"], FileProjection { data: vec![0, 255], mode: 0o400, fs_user: None });
        let mapped = volume("name: v\nconfigMap: {name: c, items: [{key: data-2, path: path/to/data-2, mode: 256}]}\n");
        let files = payload(&mapped, &p, node(), &objects).unwrap();
        assert_eq!(
            files.into_iter().collect::<Vec<_>>(),
            [("path/to/data-2".to_string(), FileProjection { data: b"value-2".to_vec(), mode: 0o400, fs_user: None })]
        );
        let secret = payload(&volume("name: v\nsecret: {secretName: s}\n"), &p, node(), &objects).unwrap();
        assert_eq!(secret["data-1"], FileProjection { data: b"value-1".to_vec(), mode: 0o644, fs_user: None });
        // Missing objects and keys: the kubelet's texts, unless optional.
        let e = payload(&volume("name: v\nconfigMap: {name: gone}\n"), &p, node(), &objects).unwrap_err();
        assert!(matches!(&e, PayloadError::NotFound(NotFound { kind: "configmap", source: Some(_), .. })), "{e:?}");
        assert_eq!(e.to_string(), "configmap \"gone\" not found");
        assert!(payload(&volume("name: v\nsecret: {secretName: gone, optional: true}\n"), &p, node(), &objects).unwrap().is_empty());
        let e = payload(&volume("name: v\nsecret: {secretName: s, items: [{key: nope, path: x}]}\n"), &p, node(), &objects).unwrap_err();
        assert_eq!(e.to_string(), "secret references non-existent secret key: nope");
        let projected = volume("name: v\nprojected:\n  defaultMode: 288\n  sources:\n  - configMap: {name: c, items: [{key: data-1, path: cm}]}\n  - secret: {name: s, items: [{key: data-1, path: s, mode: 256}]}\n  - configMap: {name: gone, optional: true}\n");
        let files = payload(&projected, &p, node(), &objects).unwrap();
        assert_eq!((files["cm"].mode, files["s"].mode, files.len()), (0o440, 0o400, 2));
    }

    fn account(api: &podspec_api::Api, name: &str) {
        let sa = serde_yaml::from_str(&format!("metadata: {{name: {name}, namespace: ns}}\n")).unwrap();
        api.store::<podspec_api::rbac::ServiceAccountStrategy>().create_object(&sa, false).unwrap();
    }

    #[test]
    fn a_projected_token_is_the_pods_accounts_bound_token_with_the_projection_modes() {
        let (objects, api) = objects();
        account(&api, "robot");
        let p = pod("metadata: {name: web, namespace: ns, uid: u-1}\nspec:\n  serviceAccountName: robot\n  containers: [{name: a, image: busybox}]\n");
        let v = volume("name: v\nprojected:\n  defaultMode: 288\n  sources:\n  - serviceAccountToken: {path: sa/token, audience: vault, expirationSeconds: 600}\n");
        let files = payload(&v, &p, node(), &objects).unwrap();
        let token = String::from_utf8(files["sa/token"].data.clone()).unwrap();
        let claims = podspec_api::tokens::claims(&token).unwrap();
        assert_eq!(claims["sub"], "system:serviceaccount:ns:robot");
        assert_eq!(claims["aud"], serde_json::json!(["vault"]));
        assert_eq!(claims["kubernetes.io"]["pod"]["uid"], "u-1");
        assert_eq!((files["sa/token"].mode, files["sa/token"].fs_user), (0o440, None));
        // Held until it is due: the same token on the next write.
        assert_eq!(payload(&v, &p, node(), &objects).unwrap()["sa/token"].data, token.as_bytes());
        // All containers run as one user: it owns the token, 0600.
        let mut as_user = p.clone();
        as_user.spec.as_mut().unwrap().security_context = Some(serde_yaml::from_str("runAsUser: 1000").unwrap());
        let files = payload(&v, &as_user, node(), &objects).unwrap();
        assert_eq!((files["sa/token"].mode, files["sa/token"].fs_user), (0o600, Some(1000)));
        // No such account: the kubelet's error, the volume is not written.
        let mut nobody = p.clone();
        nobody.spec.as_mut().unwrap().service_account_name = Some("nobody".into());
        let e = payload(&v, &nobody, node(), &objects).unwrap_err().to_string();
        assert!(e.starts_with("failed to fetch token: "), "{e}");
    }

    #[test]
    fn a_token_is_refreshed_after_80_percent_of_its_life_or_a_day() {
        let t0 = Timestamp::now();
        let short = Issued { token: "t".into(), issued_at: t0, expires: t0 + SignedDuration::from_secs(10) };
        assert!(!requires_refresh(&short, t0 + SignedDuration::from_millis(7900)));
        assert!(requires_refresh(&short, t0 + SignedDuration::from_secs(8)));
        assert_eq!(refresh_due(&short), t0 + SignedDuration::from_secs(8));
        let long = Issued { token: "t".into(), issued_at: t0, expires: t0 + SignedDuration::from_hours(365 * 24) };
        assert!(!requires_refresh(&long, t0 + SignedDuration::from_hours(23)));
        assert!(requires_refresh(&long, t0 + SignedDuration::from_hours(24)));
        // A cached token due for a refresh is replaced by a new one.
        let (objects, api) = objects();
        account(&api, "default");
        let p = pod("metadata: {name: web, namespace: ns, uid: u-2}\nspec: {containers: [{name: a, image: busybox}]}\n");
        let first = objects.token_for(&p, "", 600).unwrap();
        assert_eq!(objects.token_for(&p, "", 600).unwrap(), first);
        let key = ("u-2".to_string(), "default".to_string(), String::new(), 600);
        objects.tokens.lock().unwrap().get_mut(&key).unwrap().issued.issued_at -= SignedDuration::from_hours(25);
        assert_ne!(objects.token_for(&p, "", 600).unwrap().token, first.token);
    }

    #[test]
    fn a_refresh_that_fails_keeps_the_valid_token_and_is_tried_again_a_minute_later() {
        let (objects, api) = objects();
        account(&api, "default");
        let p = pod("metadata: {name: web, namespace: ns, uid: u-3}\nspec: {containers: [{name: a, image: busybox}]}\n");
        let first = objects.token_for(&p, "", 3600).unwrap();
        let key = ("u-3".to_string(), "default".to_string(), String::new(), 3600);
        // Due for a refresh (a day old), still valid; the account is gone (its namespace being
        // deleted while the pod takes its grace period).
        objects.tokens.lock().unwrap().get_mut(&key).unwrap().issued.issued_at -= SignedDuration::from_hours(25);
        let sa = api.store::<podspec_api::rbac::ServiceAccountStrategy>();
        sa.delete("ns", "default", &Default::default()).unwrap();
        let before = Timestamp::now();
        assert_eq!(objects.token_for(&p, "", 3600).unwrap().token, first.token);
        // The pod worker's next wake for its tokens is a minute on, not a time already past.
        let next = objects.next_token_refresh("u-3").unwrap();
        assert!(next >= before + TOKEN_RETRY, "next refresh {next} is not a minute after the failure at {before}");
        // Until then no TokenRequest is made: with the account back, the old token is still given.
        account(&api, "default");
        assert_eq!(objects.token_for(&p, "", 3600).unwrap().token, first.token);
        // At the retry, a new one.
        objects.tokens.lock().unwrap().get_mut(&key).unwrap().retry_after = Some(Timestamp::now() - SignedDuration::from_secs(1));
        let second = objects.token_for(&p, "", 3600).unwrap();
        assert_ne!(second.token, first.token);
        assert!(objects.next_token_refresh("u-3").unwrap() > Timestamp::now() + SignedDuration::from_mins(40));
        // An expired token whose refresh fails is an error, and is not asked for again at once.
        sa.delete("ns", "default", &Default::default()).unwrap();
        {
            let mut cache = objects.tokens.lock().unwrap();
            let c = cache.get_mut(&key).unwrap();
            c.issued.expires = Timestamp::now() - SignedDuration::from_secs(1);
            c.issued.issued_at = c.issued.expires - SignedDuration::from_hours(1);
        }
        let e = objects.token_for(&p, "", 3600).unwrap_err().to_string();
        assert!(e.contains("expired and refresh failed: serviceaccounts \"default\" not found"), "{e}");
        assert!(objects.next_token_refresh("u-3").unwrap() >= Timestamp::now() + SignedDuration::from_secs(59));
    }

    #[test]
    fn values_are_quoted_as_go_quotes_them() {
        assert_eq!(go_quote("a\"b\\c\td\u{1}é"), "\"a\\\"b\\\\c\\td\\x01é\"");
    }
}
