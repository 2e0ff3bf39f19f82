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
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;
use sha2::Digest as _;

use super::rbac::ServiceAccountStrategy;
use super::registry::Api;

/// The audience the API's tokens are for unless a request names others (`--api-audiences`'
/// default, the issuer's URL); a token not for it does not authenticate to the API.
pub const AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";
/// The issuer named in the tokens' claims (`--service-account-issuer`).
pub const ISSUER: &str = AUDIENCE;
/// TokenRequest's bounds and default (pkg/apis/authentication/validation: MinTokenAgeSec;
/// SetDefaults_TokenRequestSpec: one hour).
pub const MIN_SECONDS: i64 = 600;
pub const MAX_SECONDS: i64 = 1 << 32;
pub const DEFAULT_SECONDS: i64 = 3600;

/// Whom a token stands for: a ServiceAccount, and the pod it is bound to, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The pod's name and uid.
    pub pod: Option<(String, String)>,
}

/// A token the API issued: the token, and when it was issued and expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    pub expires: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone)]
struct Record {
    subject: Subject,
    audiences: Vec<String>,
    expires: chrono::DateTime<chrono::Utc>,
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
pub fn check_seconds(seconds: i64) -> Result<(), String> {
    if seconds < MIN_SECONDS {
        return Err(format!("Invalid value: {seconds}: may not specify a duration less than 10 minutes"));
    }
    if seconds > MAX_SECONDS {
        return Err(format!("Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"));
    }
    Ok(())
}

impl TokenIssuer {
    /// Issues a token for `subject`, for `audiences` (the API's when empty), valid for
    /// `seconds`.
    pub fn issue(&self, subject: &Subject, audiences: &[String], seconds: i64) -> Issued {
        use rand::Rng as _;
        let audiences: Vec<String> = if audiences.is_empty() { vec![AUDIENCE.to_string()] } else { audiences.to_vec() };
        let issued_at = chrono::Utc::now();
        let expires = issued_at + chrono::Duration::seconds(seconds);
        let mut k8s = json!({
            "namespace": subject.namespace,
            "serviceaccount": {"name": subject.name, "uid": subject.uid},
        });
        if let Some((name, uid)) = &subject.pod {
            k8s["pod"] = json!({"name": name, "uid": uid});
        }
        let claims = json!({
            "aud": audiences,
            "exp": expires.timestamp(),
            "iat": issued_at.timestamp(),
            "nbf": issued_at.timestamp(),
            "iss": ISSUER,
            "sub": format!("system:serviceaccount:{}:{}", subject.namespace, subject.name),
            "kubernetes.io": k8s,
        });
        // Not a signature: random bytes, which make the token unguessable.
        let random: [u8; 32] = rand::rng().random();
        let header = json!({"alg": "none", "typ": "JWT"});
        let token = format!("{}.{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()), b64(&random));
        let record = Record { subject: subject.clone(), audiences, expires };
        let mut all = self.issued.lock().unwrap();
        all.retain(|_, r| r.expires > issued_at);
        all.insert(digest(&token), record);
        Issued { token, issued_at, expires }
    }

    /// A TokenRequest for the ServiceAccount `name` of `namespace`, as the subresource takes
    /// it: the account must exist; the error is the store's.
    pub fn request(&self, api: &Api, namespace: &str, name: &str, audiences: &[String], seconds: i64) -> Result<Issued, super::ApiError> {
        let sa = api.store::<ServiceAccountStrategy>().get(namespace, name)?;
        let subject = Subject { namespace: namespace.into(), name: name.into(), uid: sa.metadata.uid.unwrap_or_default(), pod: None };
        Ok(self.issue(&subject, audiences, seconds))
    }

    /// The kubelet's TokenRequest for a pod's ServiceAccount, bound to the pod (its name and
    /// uid), as its token manager asks for a projected `serviceAccountToken` source; the error
    /// is the kubelet's text.
    pub fn request_for_pod(&self, api: &Api, pod: &Pod, audience: Option<&str>, seconds: i64) -> Result<Issued, String> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let account = pod.spec.as_ref().and_then(|s| s.service_account_name.as_deref()).filter(|s| !s.is_empty()).unwrap_or("default");
        let fail = |e: String| format!("failed to fetch token: {e}");
        let sa = api
            .store::<ServiceAccountStrategy>()
            .get(namespace, account)
            .map_err(|e| fail(format!("serviceaccounts {account:?} not found: {e}")))?;
        check_seconds(seconds).map_err(|e| fail(format!("spec.expirationSeconds: {e}")))?;
        let subject = Subject {
            namespace: namespace.into(),
            name: account.into(),
            uid: sa.metadata.uid.unwrap_or_default(),
            pod: Some((pod.metadata.name.clone().unwrap_or_default(), pod.metadata.uid.clone().unwrap_or_default())),
        };
        let audiences: Vec<String> = audience.filter(|a| !a.is_empty()).map(|a| vec![a.to_string()]).unwrap_or_default();
        Ok(self.issue(&subject, &audiences, seconds))
    }

    /// Whom a token presented to the API stands for: one it issued, for its audience, not
    /// expired, whose ServiceAccount (and pod, for a bound token) is still the one it was
    /// issued for.
    pub fn authenticate(&self, api: &Api, token: &str) -> Option<Subject> {
        let record = self.issued.lock().unwrap().get(&digest(token)).cloned()?;
        if record.expires <= chrono::Utc::now() || !record.audiences.iter().any(|a| a == AUDIENCE) {
            return None;
        }
        let s = &record.subject;
        let sa = api.store::<ServiceAccountStrategy>().get(&s.namespace, &s.name).ok()?;
        if sa.metadata.uid.as_deref() != Some(s.uid.as_str()) {
            return None;
        }
        if let Some((pod, uid)) = &s.pod {
            let bound = api.pods().get(&s.namespace, pod).ok()?;
            if bound.metadata.uid.as_deref() != Some(uid.as_str()) {
                return None;
            }
        }
        Some(record.subject)
    }
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
    use crate::api::Requester;

    fn api_with_account() -> Api {
        let api = Api::new("t", chrono::Utc::now());
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
        api.pods().delete("ns", "web", &crate::api::DeleteOptions::grace(0)).unwrap();
        let _ = api.pods().delete("ns", "web", &crate::api::DeleteOptions::now_for(pod.metadata.uid.as_deref().unwrap()));
        assert_eq!(tokens.authenticate(&api, &issued.token), None);
    }

    #[test]
    fn a_request_for_a_missing_account_or_too_short_a_life_is_refused() {
        let api = api_with_account();
        let pod: Pod =
            serde_yaml::from_str("metadata: {name: web, namespace: ns, uid: u}\nspec:\n  serviceAccountName: nobody\n  containers: []\n")
                .unwrap();
        let e = api.tokens().request_for_pod(&api, &pod, None, 3600).unwrap_err();
        assert!(e.contains("\"nobody\" not found"), "{e}");
        let mut robot = pod.clone();
        robot.spec.as_mut().unwrap().service_account_name = Some("robot".into());
        let e = api.tokens().request_for_pod(&api, &robot, None, 60).unwrap_err();
        assert!(e.ends_with("spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"), "{e}");
    }
}
