//! The credentials of a pod's `imagePullSecrets`, matched to an image as the kubelet's keyring
//! matches them (pkg/credentialprovider: `BasicDockerKeyring`, `URLsMatch`, `DockerConfigEntry`;
//! pkg/credentialprovider/secrets: `MakeDockerKeyring`).
//!
//! A Secret of type `kubernetes.io/dockerconfigjson` gives the `auths` map of its
//! `.dockerconfigjson`; one of type `kubernetes.io/dockercfg` the map that is its `.dockercfg`.
//! Each key of the map is a registry (`host[:port]`, optionally with a scheme and a path; globs
//! such as `*.example.com` in the host); its value gives `username` and `password`, or `auth`,
//! base64 of `user:password`, which wins over them. An image (its repository, normalized:
//! `docker.io/library/busybox`) matches a key when both hosts have as many dot-separated parts,
//! each part matches (`*` any run of characters), the ports are equal (absent in both,
//! or the same), and the key's path is a prefix of the image's path. Every matching key gives
//! its credentials, the longest keys first; with none, the key `index.docker.io` serves an
//! image of Docker Hub. An entry with a path is kept under its bare host too. A bracket class
//! (`[a-z]`) in a key's host is taken literally.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use serde::Deserialize;

/// A user and password for a registry (CRI `AuthConfig`'s username and password).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// One entry of a docker config: `auth` (base64 of `user:password`) wins over the fields.
#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    auth: String,
}

impl Entry {
    fn credentials(self) -> Result<Credentials, AuthError> {
        if self.auth.is_empty() {
            return Ok(Credentials { username: self.username, password: self.password });
        }
        let decoded = base64::engine::general_purpose::STANDARD.decode(&self.auth).map_err(AuthError::Base64)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Format)?;
        let (user, password) = decoded.split_once(':').ok_or(AuthError::Format)?;
        Ok(Credentials { username: user.to_string(), password: password.trim_matches('\0').to_string() })
    }
}

/// Why an entry's `auth` field gives no credentials.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the auth field: {0}")]
    Base64(#[source] base64::DecodeError),
    #[error("unable to parse auth field, must be formatted as base64(username:password)")]
    Format,
}

/// Why a pull secret gives no keyring: its config, or one of its entries, does not parse.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The Secret's `.dockerconfigjson` or `.dockercfg` is not a config.
    #[error("secret {secret:?}: {key}: {source}")]
    Config {
        secret: String,
        key: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("secret {secret:?}: entry {entry:?}: {source}")]
    Entry {
        secret: String,
        entry: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("secret {secret:?}: entry {entry:?}: {source}")]
    Auth {
        secret: String,
        entry: String,
        #[source]
        source: AuthError,
    },
}

#[derive(Deserialize)]
struct DockerConfigJson {
    #[serde(default)]
    auths: BTreeMap<String, serde_json::Value>,
}

/// The registries' credentials, by key (`host[:port][/path]`), most specific first.
#[derive(Debug, Default, Clone)]
pub struct Keyring {
    /// Keys in reverse byte order (longer keys before their prefixes), each with its
    /// credentials in the order they were added.
    index: Vec<(String, Vec<Credentials>)>,
}

/// The key Docker Hub's credentials go by.
const DEFAULT_REGISTRY_HOST: &str = "index.docker.io";

impl Keyring {
    /// The keyring of a pod's pull secrets, in the order the pod names them. A Secret of
    /// another type, or without its key, gives nothing; one whose config does not parse fails
    /// the whole (as the kubelet's pull then fails).
    pub fn from_secrets<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Result<Keyring, KeyringError> {
        let mut keyring = Keyring::default();
        for s in secrets {
            let data = |k: &str| s.data.as_ref().and_then(|d| d.get(k)).map(|b| b.0.as_slice()).filter(|b| !b.is_empty());
            let name = s.metadata.name.as_deref().unwrap_or("");
            let config_err = |key, source| KeyringError::Config { secret: name.to_string(), key, source };
            let config = match (s.type_.as_deref(), data(".dockerconfigjson"), data(".dockercfg")) {
                (Some("kubernetes.io/dockerconfigjson"), Some(bytes), _) => {
                    serde_json::from_slice::<DockerConfigJson>(bytes).map_err(|source| config_err(".dockerconfigjson", source))?.auths
                }
                (Some("kubernetes.io/dockercfg"), _, Some(bytes)) => {
                    serde_json::from_slice(bytes).map_err(|source| config_err(".dockercfg", source))?
                }
                _ => continue,
            };
            let mut entries = Vec::new();
            for (key, value) in config {
                let entry: Entry = serde_json::from_value(value).map_err(|source| KeyringError::Entry {
                    secret: name.to_string(),
                    entry: key.clone(),
                    source,
                })?;
                let credentials =
                    entry.credentials().map_err(|source| KeyringError::Auth { secret: name.to_string(), entry: key.clone(), source })?;
                entries.push((key, credentials));
            }
            keyring.add(entries);
        }
        Ok(keyring)
    }

    /// Adds a config's entries: each under its host, and under host and path when it has a
    /// path other than `/`; an entry whose key is not a URL is left out (as the kubelet logs
    /// and skips it).
    pub fn add(&mut self, entries: impl IntoIterator<Item = (String, Credentials)>) {
        for (location, credentials) in entries {
            let Some((host, path)) = split_location(&location) else {
                tracing::warn!(entry = %location, "a docker config entry that is not a URL is left out");
                continue;
            };
            let mut keys = Vec::new();
            if !host.is_empty() {
                keys.push(host.to_string());
            }
            if !path.is_empty() && path != "/" {
                keys.push(format!("{host}{path}"));
            }
            for key in keys {
                match self.index.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, creds)) => creds.push(credentials.clone()),
                    None => self.index.push((key, vec![credentials.clone()])),
                }
            }
        }
        self.index.sort_by(|a, b| b.0.cmp(&a.0));
    }

    /// The credentials for `repository` (normalized: `registry/path`, no tag or digest), the
    /// most specific keys first; empty when none match.
    pub fn lookup(&self, repository: &str) -> Vec<Credentials> {
        let found: Vec<Credentials> =
            self.index.iter().filter(|(k, _)| urls_match(k, repository)).flat_map(|(_, c)| c.iter().cloned()).collect();
        if !found.is_empty() {
            return found;
        }
        match self.index.iter().find(|(k, _)| k == DEFAULT_REGISTRY_HOST) {
            Some((_, c)) if is_default_registry(repository) => c.clone(),
            _ => Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// Whether an image is Docker Hub's: its first part is `docker.io`, or names no registry (no
/// `.` or `:` in it).
fn is_default_registry(image: &str) -> bool {
    match image.split_once('/') {
        None => true,
        Some((first, _)) => first == "docker.io" || !first.contains(['.', ':']),
    }
}

/// A location as a URL without its scheme (`https://` assumed): host (with port) and path.
/// None when it is not one (a space or control character in it, an empty port).
fn split_location(location: &str) -> Option<(&str, &str)> {
    let rest = location.strip_prefix("https://").or_else(|| location.strip_prefix("http://")).unwrap_or(location);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    if location.chars().any(|c| c.is_whitespace() || c.is_control()) || host.ends_with(':') {
        return None;
    }
    Some((host, path))
}

/// A host split into its dot-separated parts and its port (`""` when it has none).
fn split_host(host: &str) -> (Vec<&str>, &str) {
    let (name, port) = if let Some(v6) = host.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, rest)) => (addr, rest.strip_prefix(':').unwrap_or("")),
            None => (host, ""),
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (name, port),
            _ => (host, ""),
        }
    };
    (name.split('.').collect(), port)
}

/// Whether the key `glob` (`host[:port][/path]`, globs in the host) matches `target`.
fn urls_match(glob: &str, target: &str) -> bool {
    let (Some((glob_host, glob_path)), Some((target_host, target_path))) = (split_location(glob), split_location(target)) else {
        return false;
    };
    let ((glob_parts, glob_port), (target_parts, target_port)) = (split_host(glob_host), split_host(target_host));
    glob_port == target_port
        && glob_parts.len() == target_parts.len()
        && target_path.starts_with(glob_path)
        && glob_parts.iter().zip(&target_parts).all(|(g, t)| glob_matches(g.as_bytes(), t.as_bytes()))
}

/// `*` matches any run of characters; anything else itself (a `?` never gets here: it begins
/// a URL's query).
fn glob_matches(glob: &[u8], s: &[u8]) -> bool {
    match glob.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob_matches(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob_matches(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(user: &str) -> Credentials {
        Credentials { username: user.into(), password: format!("{user}-pw") }
    }

    fn users(found: Vec<Credentials>) -> Vec<String> {
        found.into_iter().map(|c| c.username).collect()
    }

    fn keyring(entries: &[(&str, &str)]) -> Keyring {
        let mut k = Keyring::default();
        k.add(entries.iter().map(|(loc, user)| (loc.to_string(), creds(user))));
        k
    }

    #[test]
    fn hosts_match_part_by_part_with_globs_and_equal_ports() {
        let k = keyring(&[("registry.example.com", "plain"), ("*.example.com", "glob"), ("127.0.0.1:5000", "port")]);
        assert_eq!(users(k.lookup("registry.example.com/team/app")), ["plain", "glob"]);
        assert_eq!(users(k.lookup("other.example.com/app")), ["glob"]);
        // A glob stands for one part only.
        assert!(k.lookup("a.b.example.com/app").is_empty());
        assert!(k.lookup("example.com/app").is_empty());
        // Ports must be equal: none in the key matches none in the image only.
        assert_eq!(users(k.lookup("127.0.0.1:5000/test/app")), ["port"]);
        assert!(k.lookup("127.0.0.1:5001/test/app").is_empty());
        assert!(k.lookup("127.0.0.1/test/app").is_empty());
        assert!(k.lookup("registry.example.com:443/app").is_empty());
        assert!(keyring(&[("127.0.0.1", "x")]).lookup("127.0.0.1:5000/app").is_empty());
        // `?` begins a URL's query: it is no glob.
        assert!(keyring(&[("reg?.example.com", "q")]).lookup("reg1.example.com/a").is_empty());
        assert_eq!(users(keyring(&[("reg?.example.com", "q")]).lookup("reg/a")), ["q"]);
    }

    #[test]
    fn paths_are_prefixes_and_longer_keys_come_first() {
        // An entry with a path is kept under its host too, after the longer keys.
        let k = keyring(&[("https://quay.io", "host"), ("quay.io/team", "team"), ("http://quay.io/team/app/", "app")]);
        assert_eq!(users(k.lookup("quay.io/team/app/x")), ["app", "team", "host", "team", "app"]);
        assert_eq!(users(k.lookup("quay.io/team/other")), ["team", "host", "team", "app"]);
        // The key's path is a prefix of the image's path as a string.
        assert_eq!(users(k.lookup("quay.io/teamwork/app")), ["team", "host", "team", "app"]);
        assert_eq!(users(k.lookup("quay.io/other/app")), ["host", "team", "app"]);
        assert!(keyring(&[("quay.io/team", "team")]).lookup("docker.io/team/app").is_empty());
    }

    #[test]
    fn docker_hub_credentials_serve_images_that_name_no_registry() {
        let k = keyring(&[("https://index.docker.io/v1/", "hub")]);
        assert_eq!(users(k.lookup("docker.io/library/busybox")), ["hub"]);
        assert_eq!(users(k.lookup("someone/app")), ["hub"]);
        assert!(k.lookup("quay.io/someone/app").is_empty());
        assert!(k.lookup("localhost:5000/app").is_empty());
    }

    fn secret(type_: &str, key: &str, value: &str) -> Secret {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "s"},
            "type": type_,
            "data": {key: base64::engine::general_purpose::STANDARD.encode(value)},
        }))
        .unwrap()
    }

    #[test]
    fn secrets_give_auth_or_username_and_password() {
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret:with-colon");
        let json = secret(
            "kubernetes.io/dockerconfigjson",
            ".dockerconfigjson",
            &format!(r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}", "username": "ignored", "password": "ignored"}}}}}}"#),
        );
        let cfg = secret("kubernetes.io/dockercfg", ".dockercfg", r#"{"127.0.0.1:5000": {"username": "bob", "password": "pw"}}"#);
        // A Secret of another type, or whose type does not go with its key, gives nothing.
        let opaque = secret("Opaque", ".dockerconfigjson", r#"{"auths": {"127.0.0.1:5000": {"username": "eve"}}}"#);
        let crossed = secret("kubernetes.io/dockercfg", ".dockerconfigjson", r#"{"auths": {"127.0.0.1:5000": {"username": "eve"}}}"#);
        let k = Keyring::from_secrets([&json, &opaque, &crossed, &cfg]).unwrap();
        assert_eq!(
            k.lookup("127.0.0.1:5000/test/app"),
            [
                Credentials { username: "alice".into(), password: "s3cret:with-colon".into() },
                Credentials { username: "bob".into(), password: "pw".into() }
            ]
        );
        let bad = secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", r#"{"auths": {"r.io": {"auth": "bm8tY29sb24="}}}"#);
        let e = Keyring::from_secrets([&bad]).unwrap_err().to_string();
        assert_eq!(e, r#"secret "s": entry "r.io": unable to parse auth field, must be formatted as base64(username:password)"#);
        let not_base64 = secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", r#"{"auths": {"r.io": {"auth": "!"}}}"#);
        let e = Keyring::from_secrets([&not_base64]).unwrap_err().to_string();
        assert_eq!(e, r#"secret "s": entry "r.io": the auth field: Invalid symbol 33, offset 0."#);
        let not_json = secret("kubernetes.io/dockercfg", ".dockercfg", "{");
        let e = Keyring::from_secrets([&not_json]).unwrap_err().to_string();
        assert_eq!(e, r#"secret "s": .dockercfg: EOF while parsing an object at line 1 column 1"#);
        assert!(!format!("{:?}", k).contains("s3cret"), "the Debug form shows no password");
    }
}
