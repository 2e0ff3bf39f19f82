//! Pulling an image from a registry: the OCI distribution API over HTTP(S).
//!
//! The manifest is fetched by tag or digest (OCI and Docker v2 schema 2; an index or manifest
//! list chooses linux and this machine's architecture), then the config and each layer by digest. Every blob's SHA-256 is
//! checked against the digest that named it, each layer's uncompressed stream against the
//! config's `rootfs.diff_ids`, and a manifest fetched by digest against that digest. Layers are
//! unpacked in order by [`super::unpack`], which never writes outside the root being built.
//!
//! A registry on a loopback host (`localhost`, `127.0.0.0/8`, `::1`) is spoken to over plain
//! HTTP, as container runtimes do; any other over HTTPS, checked against the machine's roots.
//! A registry that answers 401 is asked again: with the pull's credentials as `Basic` when it
//! challenges `Basic`; with a token from the realm of a `Bearer` challenge, which the
//! credentials (as `Basic`) get, or anonymously without any. The `Authorization` goes to the
//! registry only, never to a host it redirects to; a token realm not on loopback must be HTTPS.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::keyring::Credentials;
use super::ImageConfig;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// The largest manifest or config read into memory.
const MAX_DOCUMENT: usize = 4 << 20;
/// How long one request may take to answer (a blob's body has no limit but progress).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a pull failed (the kubelet puts the text in the pod's waiting message).
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("invalid reference format: {0}")]
    Reference(String),
    #[error("{0}")]
    Registry(String),
}

fn registry_err(m: impl Into<String>) -> PullError {
    PullError::Registry(m.into())
}

/// A reference split into where it is and what it names, normalized as Docker does:
/// `busybox:1.36` is `docker.io/library/busybox:1.36`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry's host (and port), as in the reference.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(reference: &str) -> Result<Self, PullError> {
        let bad = || PullError::Reference(format!("{reference:?}"));
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (reference, None),
        };
        if let Some(d) = &digest {
            let hex = d.strip_prefix("sha256:").ok_or_else(bad)?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
                return Err(bad());
            }
        }
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
            _ => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains('.') || first.contains(':') || first == "localhost" => {
                (first.to_string(), path.to_string())
            }
            _ => ("docker.io".to_string(), if name.contains('/') { name.to_string() } else { format!("library/{name}") }),
        };
        let component_ok =
            |c: &str| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if name.is_empty() || !repository.split('/').all(component_ok) {
            return Err(bad());
        }
        if let Some(t) = &tag {
            if t.is_empty() || t.len() > 128 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
                return Err(bad());
            }
        }
        let tag = if tag.is_none() && digest.is_none() { Some("latest".to_string()) } else { tag };
        Ok(Self { registry, repository, tag, digest })
    }

    /// Whether the registry is on this machine's loopback (plain HTTP).
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => self.registry.rsplit_once(':').map(|(h, _)| h).unwrap_or(&self.registry),
        };
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    fn base(&self) -> String {
        let host = if self.registry == "docker.io" { "registry-1.docker.io" } else { &self.registry };
        let scheme = if self.is_loopback() { "http" } else { "https" };
        format!("{scheme}://{host}/v2/{}", self.repository)
    }
}

/// What a pull leaves: the image's root filesystem (unpacked under the directory given), its
/// config, and the digest of the manifest it came from.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub manifest_digest: String,
    pub config: ImageConfig,
    /// The image's size, its layers' (the kubelet's "Image size"): the bytes fetched on a first
    /// pull, the same again when the manifest was unpacked before and nothing is fetched.
    pub size: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    architecture: String,
    os: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    config: Option<RunConfig>,
    #[serde(default)]
    rootfs: Option<RootFs>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig {
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    user: Option<String>,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// The registry client of one pull: the reference, its credentials, and the `Authorization`
/// once the registry asked for one.
struct Client {
    reference: Reference,
    credentials: Option<Credentials>,
    authorization: Option<String>,
    tls: Arc<rustls::ClientConfig>,
}

/// Pulls `reference` and unpacks it into `rootfs` (an empty directory of podspec's own).
/// `stored` gives the config of an image the node already unpacked from a manifest digest:
/// then no blob is fetched, and `rootfs` stays empty. `credentials` are given to a registry that
/// asks for them; without, the pull is anonymous.
pub async fn pull(
    reference: &str,
    credentials: Option<&Credentials>,
    rootfs: &Path,
    stored: impl Fn(&str) -> Option<ImageConfig>,
) -> Result<Pulled, PullError> {
    let reference = Reference::parse(reference)?;
    let mut client = Client { reference, credentials: credentials.cloned(), authorization: None, tls: tls_config()? };
    let wanted = client.reference.digest.clone().or(client.reference.tag.clone()).unwrap_or_default();
    let (mut manifest_bytes, mut media_type) = client.manifest(&wanted).await?;
    let mut manifest_digest = sha256_digest(&manifest_bytes);
    if let Some(d) = &client.reference.digest {
        if &manifest_digest != d {
            return Err(registry_err(format!("manifest digest mismatch: asked for {d}, got {manifest_digest}")));
        }
    }
    let mut manifest: Manifest =
        serde_json::from_slice(&manifest_bytes).map_err(|e| registry_err(format!("the manifest does not parse: {e}")))?;
    if let Some(t) = &manifest.media_type {
        media_type = t.clone();
    }
    if media_type == OCI_INDEX || media_type == DOCKER_LIST || (manifest.manifests.is_some() && manifest.layers.is_none()) {
        let chosen = manifest
            .manifests
            .iter()
            .flatten()
            .find(|m| m.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == super::go_arch()))
            .ok_or_else(|| registry_err(format!("no matching manifest for linux/{} in the manifest list entries", super::go_arch())))?;
        let digest = chosen.digest.clone();
        (manifest_bytes, media_type) = client.manifest(&digest).await?;
        manifest_digest = sha256_digest(&manifest_bytes);
        if manifest_digest != digest {
            return Err(registry_err(format!("manifest digest mismatch: asked for {digest}, got {manifest_digest}")));
        }
        manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| registry_err(format!("the manifest does not parse: {e}")))?;
    }
    if !(media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST || manifest.layers.is_some()) {
        return Err(registry_err(format!("unsupported manifest media type {media_type:?}")));
    }
    if let Some(config) = stored(&manifest_digest) {
        // Nothing fetched or unpacked again; the image's size is still its layers'.
        let size = manifest.layers.iter().flatten().map(|l| l.size).sum();
        return Ok(Pulled { manifest_digest, config, size });
    }
    let config_desc = manifest.config.ok_or_else(|| registry_err("the manifest names no config"))?;
    let layers = manifest.layers.unwrap_or_default();
    let config_bytes = client.blob_bytes(&config_desc.digest).await?;
    let config: ConfigFile =
        serde_json::from_slice(&config_bytes).map_err(|e| registry_err(format!("the image config does not parse: {e}")))?;
    if let (Some(os), Some(arch)) = (&config.os, &config.architecture) {
        if os != "linux" || arch != super::go_arch() {
            return Err(registry_err(format!("image is for {os}/{arch}, this node is linux/{}", super::go_arch())));
        }
    }
    let diff_ids = config.rootfs.map(|r| r.diff_ids).unwrap_or_default();
    if diff_ids.len() != layers.len() {
        return Err(registry_err(format!("the config lists {} layers, the manifest {}", diff_ids.len(), layers.len())));
    }
    let scratch = rootfs.with_extension("blobs");
    std::fs::create_dir_all(&scratch).map_err(|e| registry_err(format!("create {}: {e}", scratch.display())))?;
    let mut size = 0;
    for (layer, diff_id) in layers.iter().zip(&diff_ids) {
        let file = scratch.join(layer.digest.replace(':', "-"));
        size += client.blob_to_file(layer, &file).await?;
        let (media, file_c, rootfs_c, diff_id) = (layer.media_type.clone(), file.clone(), rootfs.to_path_buf(), diff_id.clone());
        tokio::task::spawn_blocking(move || unpack(&media, &file_c, &rootfs_c, &diff_id))
            .await
            .map_err(|e| registry_err(format!("the unpacking task failed: {e}")))??;
        let _ = std::fs::remove_file(&file);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let run = config.config;
    let config = ImageConfig {
        env: run.as_ref().and_then(|c| c.env.clone()).unwrap_or_default(),
        entrypoint: run.as_ref().and_then(|c| c.entrypoint.clone()).unwrap_or_default(),
        cmd: run.as_ref().and_then(|c| c.cmd.clone()).unwrap_or_default(),
        working_dir: run.as_ref().and_then(|c| c.working_dir.clone()).filter(|w| !w.is_empty()),
        user: run.as_ref().and_then(|c| c.user.clone()).filter(|u| !u.is_empty()),
    };
    Ok(Pulled { manifest_digest, config, size })
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Unpacks one fetched layer, checking its uncompressed digest against the config's diff_id.
fn unpack(media_type: &str, file: &Path, rootfs: &Path, diff_id: &str) -> Result<(), PullError> {
    let f = std::fs::File::open(file).map_err(|e| registry_err(format!("open {}: {e}", file.display())))?;
    let compressed: Box<dyn Read> = match media_type {
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Box::new(flate2::read::GzDecoder::new(f)),
        "application/vnd.oci.image.layer.v1.tar" | "application/vnd.oci.image.layer.nondistributable.v1.tar" => Box::new(f),
        other => return Err(registry_err(format!("layer media type {other:?} is not supported (gzip or plain tar only)"))),
    };
    let mut hashing = HashingReader { inner: compressed, hash: Sha256::new() };
    super::unpack::unpack_layer(rootfs, &mut hashing).map_err(|e| registry_err(format!("unpacking layer {diff_id}: {e}")))?;
    // The tar reader stops at the end-of-archive blocks: the rest counts too.
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(|e| registry_err(format!("reading layer {diff_id}: {e}")))?;
    let got = format!("sha256:{:x}", hashing.hash.finalize());
    if got != diff_id {
        return Err(registry_err(format!("layer diff_id mismatch: the config says {diff_id}, the layer is {got}")));
    }
    Ok(())
}

struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, PullError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| registry_err(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

type Response = hyper::Response<hyper::body::Incoming>;

impl Client {
    async fn manifest(&mut self, reference: &str) -> Result<(Vec<u8>, String), PullError> {
        let url = format!("{}/manifests/{reference}", self.reference.base());
        let accept = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(", ");
        let resp = self.get(&url, Some(&accept)).await?;
        let media_type = resp
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let body = read_limited(resp, MAX_DOCUMENT).await?;
        Ok((body, media_type))
    }

    async fn blob_bytes(&mut self, digest: &str) -> Result<Vec<u8>, PullError> {
        let url = format!("{}/blobs/{digest}", self.reference.base());
        let body = read_limited(self.get(&url, None).await?, MAX_DOCUMENT).await?;
        let got = sha256_digest(&body);
        if got != digest {
            return Err(registry_err(format!("blob digest mismatch: asked for {digest}, got {got}")));
        }
        Ok(body)
    }

    /// Streams a blob into `file`, checking its digest and size; returns the size.
    async fn blob_to_file(&mut self, desc: &Descriptor, file: &Path) -> Result<u64, PullError> {
        if !desc.digest.starts_with("sha256:") {
            return Err(registry_err(format!("unsupported digest algorithm in {:?}", desc.digest)));
        }
        let url = format!("{}/blobs/{}", self.reference.base(), desc.digest);
        let mut body = self.get(&url, None).await?.into_body();
        let mut out = std::fs::File::create(file).map_err(|e| registry_err(format!("create {}: {e}", file.display())))?;
        let mut hash = Sha256::new();
        let mut n: u64 = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| registry_err(format!("reading blob {}: {e}", desc.digest)))?;
            if let Ok(data) = frame.into_data() {
                n += data.len() as u64;
                if desc.size > 0 && n > desc.size {
                    return Err(registry_err(format!("blob {} is larger than its {} bytes", desc.digest, desc.size)));
                }
                hash.update(&data);
                out.write_all(&data).map_err(|e| registry_err(format!("write {}: {e}", file.display())))?;
            }
        }
        let got = format!("sha256:{:x}", hash.finalize());
        if got != desc.digest {
            return Err(registry_err(format!("blob digest mismatch: asked for {}, got {got}", desc.digest)));
        }
        Ok(n)
    }

    /// GET with the token once the registry asked for one, following redirects (blob stores).
    async fn get(&mut self, url: &str, accept: Option<&str>) -> Result<Response, PullError> {
        let mut url = url.to_string();
        let mut authenticated = false;
        for _ in 0..6 {
            let uri: hyper::Uri = url.parse().map_err(|e| registry_err(format!("bad URL {url}: {e}")))?;
            // The Authorization goes to the registry only, never to a host it redirects to.
            let same_registry = uri.authority().map(|a| a.as_str()) == url_authority(&self.reference.base()).as_deref();
            let authorization = self.authorization.clone().filter(|_| same_registry);
            let resp = request(&uri, accept, authorization.as_deref(), &self.tls).await?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(hyper::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| registry_err(format!("{url}: {status} without a Location")))?;
                url = resolve_location(&uri, location);
                continue;
            }
            let challenge = resp.headers().get(hyper::header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            if status == hyper::StatusCode::UNAUTHORIZED && !authenticated && same_registry {
                if let Some(authorization) = self.answer(&challenge).await? {
                    self.authorization = Some(authorization);
                    authenticated = true;
                    continue;
                }
            }
            let body = read_limited(resp, 64 << 10).await.unwrap_or_default();
            let text = String::from_utf8_lossy(&body);
            return Err(match status {
                hyper::StatusCode::NOT_FOUND => registry_err(format!("{url}: not found: {}", text.trim())),
                hyper::StatusCode::UNAUTHORIZED => {
                    let given = if self.credentials.is_some() { "the credentials given" } else { "no credentials (imagePullSecrets)" };
                    registry_err(format!("{url}: 401 Unauthorized with {given}: {}", text.trim()))
                }
                _ => registry_err(format!("{url}: {status}: {}", text.trim())),
            });
        }
        Err(registry_err(format!("{url}: too many redirects")))
    }

    /// The `Authorization` that answers a 401's challenge: `Basic` with the credentials, or a
    /// `Bearer` token; None when there is nothing to answer with (a `Basic` challenge and no
    /// credentials), and the 401 stands.
    async fn answer(&self, challenge: &str) -> Result<Option<String>, PullError> {
        let (scheme, rest) = challenge.trim().split_once(' ').unwrap_or((challenge.trim(), ""));
        if scheme.is_empty() {
            return Ok(None);
        }
        if scheme.eq_ignore_ascii_case("basic") {
            return Ok(self.credentials.as_ref().map(basic));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return Ok(Some(format!("Bearer {}", self.fetch_token(challenge, rest).await?)));
        }
        Err(registry_err(format!("the registry asks for an authentication podspec does not speak: {challenge:?}")))
    }

    /// A token from the challenge's realm (`Bearer realm=...,service=...,scope=...`), asked
    /// with the credentials if there are any, anonymously if not.
    async fn fetch_token(&self, challenge: &str, rest: &str) -> Result<String, PullError> {
        let mut realm = None;
        let mut query = Vec::new();
        for part in split_params(rest) {
            let Some((k, v)) = part.split_once('=') else { continue };
            let v = v.trim().trim_matches('"');
            match k.trim() {
                "realm" => realm = Some(v.to_string()),
                "service" | "scope" => query.push(format!("{}={}", k.trim(), percent_encode(v))),
                _ => {}
            }
        }
        let realm = realm.ok_or_else(|| registry_err(format!("a Bearer challenge without a realm: {challenge:?}")))?;
        let url = if query.is_empty() { realm.clone() } else { format!("{realm}?{}", query.join("&")) };
        let uri: hyper::Uri = url.parse().map_err(|e| registry_err(format!("bad token URL {url}: {e}")))?;
        let realm_on_loopback = uri.host().is_some_and(|h| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        });
        if uri.scheme_str() != Some("https") && !realm_on_loopback {
            return Err(registry_err(format!("the token realm {realm} is not HTTPS")));
        }
        let authorization = self.credentials.as_ref().map(basic);
        let resp = request(&uri, None, authorization.as_deref(), &self.tls).await?;
        if !resp.status().is_success() {
            return Err(registry_err(format!("token from {url}: {}", resp.status())));
        }
        let body = read_limited(resp, 1 << 20).await?;
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| registry_err(format!("token from {url}: {e}")))?;
        v["token"]
            .as_str()
            .or(v["access_token"].as_str())
            .map(str::to_string)
            .ok_or_else(|| registry_err(format!("token from {url}: no token")))
    }
}

/// `Basic` with base64 of `user:password`.
fn basic(c: &Credentials) -> String {
    use base64::Engine;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password)))
}

fn url_authority(url: &str) -> Option<String> {
    url.parse::<hyper::Uri>().ok()?.authority().map(|a| a.as_str().to_string())
}

fn resolve_location(base: &hyper::Uri, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else {
        format!("{}://{}{location}", base.scheme_str().unwrap_or("https"), base.authority().map(|a| a.as_str()).unwrap_or(""))
    }
}

/// Splits `a="x,y",b=z` at the commas outside quotes.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn read_limited(resp: Response, limit: usize) -> Result<Vec<u8>, PullError> {
    let mut body = resp.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| registry_err(format!("reading a response: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(registry_err(format!("a response larger than {limit} bytes")));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// One request on a connection of its own (HTTP/1.1, TLS for https).
async fn request(
    uri: &hyper::Uri,
    accept: Option<&str>,
    authorization: Option<&str>,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<Response, PullError> {
    let host = uri.host().ok_or_else(|| registry_err(format!("{uri}: no host")))?.trim_start_matches('[').trim_end_matches(']').to_string();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let mut req = hyper::Request::get(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header(hyper::header::HOST, uri.authority().map(|a| a.as_str()).unwrap_or(&host))
        .header(hyper::header::USER_AGENT, concat!("podspec/", env!("CARGO_PKG_VERSION")));
    if let Some(a) = accept {
        req = req.header(hyper::header::ACCEPT, a);
    }
    if let Some(a) = authorization {
        req = req.header(hyper::header::AUTHORIZATION, a);
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| registry_err(format!("{uri}: {e}")))?;
    let fail = |e: String| registry_err(format!("{uri}: {e}"));
    let work = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| fail(e.to_string()))?;
        if https {
            let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| fail(e.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp).await.map_err(|e| fail(e.to_string()))?;
            send(TokioIo::new(stream), req).await.map_err(|e| fail(e.to_string()))
        } else {
            send(TokioIo::new(tcp), req).await.map_err(|e| fail(e.to_string()))
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT, work).await.map_err(|_| fail(format!("no answer within {REQUEST_TIMEOUT:?}")))?
}

async fn send<T>(io: T, req: hyper::Request<Empty<Bytes>>) -> Result<Response, hyper::Error>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalized_as_docker_does() {
        let r = Reference::parse("busybox:1.28").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()), ("docker.io", "library/busybox", Some("1.28")));
        let r = Reference::parse("127.0.0.1:5000/test/app").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()), ("127.0.0.1:5000", "test/app", Some("latest")));
        assert!(r.is_loopback());
        assert_eq!(r.base(), "http://127.0.0.1:5000/v2/test/app");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("quay.io/x/y@{d}")).unwrap();
        assert_eq!((r.tag.as_deref(), r.digest.as_deref()), (None, Some(d.as_str())));
        assert!(!r.is_loopback());
        assert!(Reference::parse("Upper/case").is_err());
        assert!(Reference::parse("x@sha256:short").is_err());
    }

    /// A registry on loopback that wants a Bearer token, and its realm, which gives the token
    /// only to `u:p` as Basic: each connection one request, answered and closed.
    async fn token_registry() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let realm = format!("http://{address}/token");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                let auth = head.lines().find_map(|l| {
                    l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.trim().to_string())
                });
                let (status, headers, body) = if path.starts_with("/token?") {
                    assert!(path.contains("scope=repository%3Atest%2Fapp%3Apull"), "{path}");
                    if auth.as_deref() == Some(basic(&Credentials { username: "u".into(), password: "p".into() }).as_str()) {
                        ("200 OK", String::new(), r#"{"token": "tok-123"}"#.to_string())
                    } else {
                        ("401 Unauthorized", String::new(), "bad credentials".to_string())
                    }
                } else if auth.as_deref() == Some("Bearer tok-123") {
                    ("404 Not Found", String::new(), "MANIFEST_UNKNOWN".to_string())
                } else {
                    let challenge =
                        format!("WWW-Authenticate: Bearer realm=\"{realm}\",service=\"reg\",scope=\"repository:test/app:pull\"\r\n");
                    ("401 Unauthorized", challenge, "UNAUTHORIZED".to_string())
                };
                let resp = format!("HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = s.write_all(resp.as_bytes()).await;
            }
        });
        address
    }

    #[tokio::test]
    async fn a_bearer_realm_is_asked_for_its_token_with_the_credentials() {
        let address = token_registry().await;
        let dir = tempfile::tempdir().unwrap();
        let reference = format!("{address}/test/app:1");
        let creds = Credentials { username: "u".into(), password: "p".into() };
        // With the credentials the realm gives the token, and the registry takes it: the
        // manifest is then just not there.
        let e = pull(&reference, Some(&creds), dir.path(), |_| None).await.unwrap_err().to_string();
        assert!(e.contains("not found: MANIFEST_UNKNOWN"), "{e}");
        // Anonymously, or with a wrong password, the realm refuses.
        let e = pull(&reference, None, dir.path(), |_| None).await.unwrap_err().to_string();
        assert!(e.contains("/token?") && e.contains("401 Unauthorized"), "{e}");
        let wrong = Credentials { username: "u".into(), password: "x".into() };
        let e = pull(&reference, Some(&wrong), dir.path(), |_| None).await.unwrap_err().to_string();
        assert!(e.contains("/token?") && e.contains("401 Unauthorized"), "{e}");
    }

    #[test]
    fn bearer_challenges_split_outside_quotes() {
        let parts = split_params(r#"realm="https://a/token",service="reg",scope="repository:x/y:pull,push""#);
        assert_eq!(parts.len(), 3, "{parts:?}");
    }
}
