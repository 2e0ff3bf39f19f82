//! ServiceAccount tokens: what the TokenRequest subresource (`serviceaccounts/<name>/token`)
//! issues, for `kubectl create token` and for the kubelet's projected `serviceAccountToken`
//! sources (a token bound to the pod, as the kubelet's token manager asks for one), and who a
//! presented token is. The API keeps them; `podspec serve` authenticates them.
//!
//! A token is JWT-shaped (three base64url parts: a header, the claims kube-apiserver's tokens
//! carry, `iss`, `sub`, `aud`, `exp`, `iat`, `nbf` and `kubernetes.io`), but it is **not** a
//! signed JWT: its third part is 32 random bytes, no key signs it, and no one but the API that
//! issued it can tell it is valid (the API keeps the SHA-256 of each token it issued, never
//! the token, and looks a presented token up by it). It is valid until it expires, while its
//! ServiceAccount (the same uid) exists, and, when bound to a pod, while that pod (the same
//! uid) exists. The issued tokens live in memory: they end with the API.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use k8s_openapi::api::authentication::v1::BoundObjectReference;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;
use sha2::Digest as _;

use super::rbac::ServiceAccountStrategy;
use super::registry::Api;
use super::ApiError;

/// The audience the API's tokens are for unless a request names others (`--api-audiences`'
/// default, the issuer's URL); a token not for it does not authenticate to the API.
pub const AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
/// The issuer named in the tokens' claims (`--service-account-issuer`).
pub const ISSUER: &str = AUDIENCE;
pub use crate::validation::tokens::{DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS};

/// Whom a token stands for: a ServiceAccount, and the object it is bound to, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub bound: Option<Bound>,
}

/// The object a token is bound to (TokenRequest's `boundObjectRef`, or the pod a kubelet asks
/// for): the token is valid only while that object, the same uid, exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub kind: BoundKind,
    pub name: String,
    pub uid: String,
}

/// The kinds a token may be bound to: a Pod or a Secret of the account's namespace, or a Node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundKind {
    Pod,
    Secret,
    Node,
}

impl BoundKind {
    /// The claim under `kubernetes.io` that names the object.
    fn claim(self) -> &'static str {
        match self {
            BoundKind::Pod => "pod",
            BoundKind::Secret => "secret",
            BoundKind::Node => "node",
        }
    }
}

/// A token the API issued: the token, and when it was issued and expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    pub issued_at: jiff::Timestamp,
    pub expires: jiff::Timestamp,
}

#[derive(Debug, Clone)]
struct Record {
    subject: Subject,
    audiences: Vec<String>,
    expires: jiff::Timestamp,
}

/// The tokens an API issued, by their SHA-256.
#[derive(Default)]
pub struct TokenIssuer {
    issued: Mutex<HashMap<[u8; 32], Record>>,
}

fn digest(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// TokenRequest's validation (ValidateTokenRequest): the text after the field.
pub fn check_seconds(seconds: i64) -> Result<(), crate::Error> {
    if seconds < MIN_SECONDS {
        return Err(crate::Error::ExpirationTooShort { seconds });
    }
    if seconds > MAX_SECONDS {
        return Err(crate::Error::ExpirationTooLong { seconds });
    }
    Ok(())
}

impl TokenIssuer {
    /// Issues a token for `subject`, for `audiences` (the API's when empty), valid for
    /// `seconds`.
    pub fn issue(&self, subject: &Subject, audiences: &[String], seconds: i64) -> Issued {
        let audiences: Vec<String> = if audiences.is_empty() { vec![AUDIENCE.to_string()] } else { audiences.to_vec() };
        let issued_at = jiff::Timestamp::now();
        let expires = issued_at + jiff::SignedDuration::from_secs(seconds);
        let mut k8s = json!({
            "namespace": subject.namespace,
            "serviceaccount": {"name": subject.name, "uid": subject.uid},
        });
        if let Some(b) = &subject.bound {
            k8s[b.kind.claim()] = json!({"name": b.name, "uid": b.uid});
        }
        let claims = json!({
            "aud": audiences,
            "exp": expires.as_second(),
            "iat": issued_at.as_second(),
            "nbf": issued_at.as_second(),
            "iss": ISSUER,
            "sub": format!("system:serviceaccount:{}:{}", subject.namespace, subject.name),
            "kubernetes.io": k8s,
        });
        // Not a signature: random bytes, which make the token unguessable.
        let random: [u8; 32] = crate::random::bytes();
        let header = json!({"alg": "none", "typ": "JWT"});
        let token = format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()), b64(&random));
        let record = Record { subject: subject.clone(), audiences, expires };
        let mut all = self.issued.lock().unwrap();
        all.retain(|_, r| r.expires > issued_at);
        all.insert(digest(&token), record);
        Issued { token, issued_at, expires }
    }

    /// A TokenRequest for the ServiceAccount `name` of `namespace`, as the subresource takes
    /// it (pkg/registry/core/serviceaccount/storage/token.go): the account must exist (the
    /// store's error), and a `boundObjectRef` names a Pod of the namespace that runs as the
    /// account, a Secret of the namespace, or a Node, which must exist and, when the reference
    /// gives a uid, be that one; Kubernetes' texts for each refusal.
    pub fn request(
        &self,
        api: &Api,
        namespace: &str,
        name: &str,
        audiences: &[String],
        seconds: i64,
        bound: Option<&BoundObjectReference>,
    ) -> Result<Issued, ApiError> {
        let sa = api.store::<ServiceAccountStrategy>().get(namespace, name)?;
        let bound = bound.map(|r| bound_object(api, namespace, name, r)).transpose()?;
        let subject = Subject { namespace: namespace.into(), name: name.into(), uid: sa.metadata.uid.unwrap_or_default(), bound };
        Ok(self.issue(&subject, audiences, seconds))
    }

    /// The kubelet's TokenRequest for a pod's ServiceAccount, bound to the pod (its name and
    /// uid), as its token manager asks for a projected `serviceAccountToken` source; the error
    /// says why the API refused it (the kubelet's token manager words what it does then).
    pub fn request_for_pod(&self, api: &Api, pod: &Pod, audience: Option<&str>, seconds: i64) -> Result<Issued, crate::Error> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let account = pod.spec.as_ref().and_then(|s| s.service_account_name.as_deref()).filter(|s| !s.is_empty()).unwrap_or("default");
        let sa = api
            .store::<ServiceAccountStrategy>()
            .get(namespace, account)
            .map_err(|source| crate::Error::TokenAccount { account: account.into(), source: Box::new(source) })?;
        check_seconds(seconds).map_err(|e| crate::Error::TokenExpiration(Box::new(e)))?;
        let subject = Subject {
            namespace: namespace.into(),
            name: account.into(),
            uid: sa.metadata.uid.unwrap_or_default(),
            bound: Some(Bound {
                kind: BoundKind::Pod,
                name: pod.metadata.name.clone().unwrap_or_default(),
                uid: pod.metadata.uid.clone().unwrap_or_default(),
            }),
        };
        let audiences: Vec<String> = audience.filter(|a| !a.is_empty()).map(|a| vec![a.to_string()]).unwrap_or_default();
        Ok(self.issue(&subject, &audiences, seconds))
    }

    /// Whom a token presented to the API stands for: one it issued, for its audience, not
    /// expired, whose ServiceAccount (and pod, for a bound token) is still the one it was
    /// issued for.
    pub fn authenticate(&self, api: &Api, token: &str) -> Option<Subject> {
        let record = self.issued.lock().unwrap().get(&digest(token)).cloned()?;
        if record.expires <= jiff::Timestamp::now() || !record.audiences.iter().any(|a| a == AUDIENCE) {
            return None;
        }
        let s = &record.subject;
        let sa = api.store::<ServiceAccountStrategy>().get(&s.namespace, &s.name).ok()?;
        if sa.metadata.uid.as_deref() != Some(s.uid.as_str()) {
            return None;
        }
        if let Some(b) = &s.bound {
            let uid = match b.kind {
                BoundKind::Pod => api.pods().get(&s.namespace, &b.name).ok()?.metadata.uid,
                BoundKind::Secret => api.secrets().get(&s.namespace, &b.name).ok()?.metadata.uid,
                BoundKind::Node => api.nodes().get("", &b.name).ok()?.metadata.uid,
            };
            if uid.as_deref() != Some(b.uid.as_str()) {
                return None;
            }
        }
        Some(record.subject)
    }
}

/// The object a TokenRequest's `boundObjectRef` names, found: the texts of token.go's `Create`.
fn bound_object(api: &Api, namespace: &str, account: &str, r: &BoundObjectReference) -> Result<Bound, ApiError> {
    let api_version = r.api_version.as_deref().unwrap_or("");
    let kind = r.kind.as_deref().unwrap_or("");
    let name = r.name.clone().unwrap_or_default();
    // schema.FromAPIVersionAndKind: "v1" is the core group; an apiVersion that does not parse
    // leaves the group and version empty.
    let (group, version) = match api_version.split('/').collect::<Vec<_>>()[..] {
        [""] => ("", ""),
        [version] => ("", version),
        [group, version] => (group, version),
        _ => ("", ""),
    };
    let (kind, uid) = match (group, kind) {
        ("", "Pod") => {
            let pod = api.pods().get(namespace, &name)?;
            if pod.spec.as_ref().and_then(|s| s.service_account_name.as_deref()).unwrap_or("") != account {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount {account:?} to pod running with different serviceaccount name."
                )));
            }
            (BoundKind::Pod, pod.metadata.uid)
        }
        ("", "Secret") => (BoundKind::Secret, api.secrets().get(namespace, &name)?.metadata.uid),
        ("", "Node") => (BoundKind::Node, api.nodes().get("", &name)?.metadata.uid),
        _ => return Err(ApiError::bad_request(format!("cannot bind token to object of type {group}/{version}, Kind={kind}"))),
    };
    let uid = uid.unwrap_or_default();
    if let Some(wanted) = r.uid.as_deref().filter(|u| !u.is_empty() && *u != uid) {
        let mut e = ApiError::conflict_of(&format!("{kind:?}"), &name);
        e.message = format!(
            "Operation cannot be fulfilled on {kind:?} {name:?}: the UID in the bound object reference ({wanted}) does not match the UID in record. The object might have been deleted and then recreated"
        );
        return Err(e);
    }
    Ok(Bound { kind, name, uid })
}

/// The claims of a token this API issued (the second part, decoded), for tests and readers.
pub fn claims(token: &str) -> Option<serde_json::Value> {
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Requester;

    fn api_with_account() -> Api {
        let api = Api::new("t", jiff::Timestamp::now());
        let sa = serde_yaml::from_str("metadata: {name: robot, namespace: ns}\n").unwrap();
        api.store::<ServiceAccountStrategy>().create_object(&sa, false).unwrap();
        api
    }

    #[test]
    fn a_pod_bound_token_names_its_account_and_pod_and_ends_with_either() {
        let api = api_with_account();
        let pod: Pod = serde_yaml::from_str(
            "metadata: {name: web, namespace: ns}\nspec:\n  serviceAccountName: robot\n  nodeName: n\n  containers:\n  - {name: a, image: busybox}\n",
        )
        .unwrap();
        let pod = api.pods().create(&pod, Requester::User).unwrap();
        let tokens = api.tokens();
        let issued = tokens.request_for_pod(&api, &pod, None, 3600).unwrap();
        assert_eq!(issued.token.split('.').count(), 3, "JWT-shaped");
        let c = claims(&issued.token).unwrap();
        assert_eq!(c["sub"], "system:serviceaccount:ns:robot");
        assert_eq!(c["aud"], json!([AUDIENCE]));
        assert_eq!(c["kubernetes.io"]["pod"]["name"], "web");
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3600);
        let who = tokens.authenticate(&api, &issued.token).unwrap();
        assert_eq!((who.namespace.as_str(), who.name.as_str()), ("ns", "robot"));
        // Another audience does not authenticate to the API.
        let other = tokens.request_for_pod(&api, &pod, Some("vault"), 3600).unwrap();
        assert_eq!(tokens.authenticate(&api, &other.token), None);
        assert_eq!(tokens.authenticate(&api, "x.y.z"), None);
        // Bound to the pod: gone with it.
        api.pods().delete("ns", "web", &crate::DeleteOptions::grace(0)).unwrap();
        let _ = api.pods().delete("ns", "web", &crate::DeleteOptions::now_for(pod.metadata.uid.as_deref().unwrap()));
        assert_eq!(tokens.authenticate(&api, &issued.token), None);
    }

    #[test]
    fn a_request_for_a_missing_account_or_too_short_a_life_is_refused() {
        let api = api_with_account();
        let pod: Pod =
            serde_yaml::from_str("metadata: {name: web, namespace: ns, uid: u}\nspec:\n  serviceAccountName: nobody\n  containers: []\n")
                .unwrap();
        let e = api.tokens().request_for_pod(&api, &pod, None, 3600).unwrap_err().to_string();
        assert!(e.contains("\"nobody\" not found"), "{e}");
        let mut robot = pod.clone();
        robot.spec.as_mut().unwrap().service_account_name = Some("robot".into());
        let e = api.tokens().request_for_pod(&api, &robot, None, 60).unwrap_err().to_string();
        assert!(e.ends_with("spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"), "{e}");
    }

    #[test]
    fn a_token_request_binds_to_a_pod_of_the_account_or_a_secret_and_says_why_not() {
        let api = api_with_account();
        let pod: Pod = serde_yaml::from_str(
            "metadata: {name: web, namespace: ns}\nspec:\n  serviceAccountName: robot\n  nodeName: n\n  containers:\n  - {name: a, image: busybox}\n",
        )
        .unwrap();
        let pod = api.pods().create(&pod, Requester::User).unwrap();
        let secret = serde_yaml::from_str("metadata: {name: s, namespace: ns}\n").unwrap();
        api.secrets().create_object(&secret, false).unwrap();
        let r = |yaml: &str| -> BoundObjectReference { serde_yaml::from_str(yaml).unwrap() };
        let tokens = api.tokens();
        let ask = |reference: &BoundObjectReference| tokens.request(&api, "ns", "robot", &[], 3600, Some(reference));
        let issued = ask(&r("{apiVersion: v1, kind: Pod, name: web}")).unwrap();
        assert_eq!(claims(&issued.token).unwrap()["kubernetes.io"]["pod"]["uid"], json!(pod.metadata.uid.clone().unwrap()));
        assert!(tokens.authenticate(&api, &issued.token).is_some());
        let by_secret = ask(&r("{apiVersion: v1, kind: Secret, name: s}")).unwrap();
        assert_eq!(claims(&by_secret.token).unwrap()["kubernetes.io"]["secret"]["name"], "s");
        assert!(tokens.authenticate(&api, &by_secret.token).is_some());
        api.secrets().delete("ns", "s", &Default::default()).unwrap();
        assert_eq!(tokens.authenticate(&api, &by_secret.token), None, "gone with its secret");

        let e = ask(&r("{apiVersion: v1, kind: Pod, name: nothere}")).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (404, "pods \"nothere\" not found"));
        let e = ask(&r("{apiVersion: v1, kind: ConfigMap, name: c}")).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (400, "cannot bind token to object of type /v1, Kind=ConfigMap"));
        let e = ask(&r("{apiVersion: apps/v1, kind: Pod, name: web}")).unwrap_err();
        assert_eq!(e.message, "cannot bind token to object of type apps/v1, Kind=Pod");
        let e = ask(&r("{apiVersion: v1, kind: Pod, name: web, uid: other}")).unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(e.message, "Operation cannot be fulfilled on Pod \"web\": the UID in the bound object reference (other) does not match the UID in record. The object might have been deleted and then recreated");
        let sa = serde_yaml::from_str("metadata: {name: other, namespace: ns}\n").unwrap();
        api.store::<ServiceAccountStrategy>().create_object(&sa, false).unwrap();
        let e = tokens.request(&api, "ns", "other", &[], 3600, Some(&r("{apiVersion: v1, kind: Pod, name: web}"))).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (400, "cannot bind token for serviceaccount \"other\" to pod running with different serviceaccount name.")
        );
    }
}
