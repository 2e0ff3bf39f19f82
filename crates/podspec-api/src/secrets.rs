//! Secrets (core/v1), namespaced, in the generic store, with kube-apiserver's rules
//! (pkg/registry/core/secret/strategy.go; pkg/apis/core/validation: ValidateSecret,
//! ValidateSecretUpdate): `stringData` folded into `data` (as the v1 conversion does), the type
//! defaulted to `Opaque`, each type's required keys, the size limit and `immutable`. The kubelet
//! reads them for `secret` volumes (on tmpfs) and projected sources, `secretKeyRef` and
//! `envFrom`.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;

use super::configmaps::{validate_keys, validate_metadata, IMMUTABLE, MAX_SIZE};
use super::generic::Store;
use super::strategy::Strategy;
use crate::validation::FieldError;

/// The strategy for Secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecretStrategy;

/// What the API does to a written Secret before validation: `stringData` goes into `data`
/// (its keys win), and the type defaults to `Opaque` (SetDefaults_Secret).
pub fn fold_string_data(s: &mut Secret) {
    if let Some(strings) = s.string_data.take() {
        let data = s.data.get_or_insert_with(Default::default);
        for (k, v) in strings {
            data.insert(k, ByteString(v.into_bytes()));
        }
    }
    if s.type_.as_deref().unwrap_or("").is_empty() {
        s.type_ = Some("Opaque".into());
    }
}

/// The keys each type requires, by the API's rules.
fn validate_type(s: &Secret, errs: &mut Vec<FieldError>) {
    let data = |k: &str| s.data.as_ref().and_then(|d| d.get(k));
    let required = |k: &str| FieldError::required(format!("data[{k}]"));
    match s.type_.as_deref().unwrap_or("Opaque") {
        "kubernetes.io/service-account-token" => {
            let key = "kubernetes.io/service-account.name";
            if s.metadata.annotations.as_ref().and_then(|a| a.get(key)).is_none_or(|v| v.is_empty()) {
                errs.push(FieldError::required(format!("metadata.annotations[{key}]")));
            }
        }
        "kubernetes.io/dockercfg" => match data(".dockercfg") {
            None => errs.push(required(".dockercfg")),
            Some(b) => {
                if let Err(e) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&b.0) {
                    errs.push(FieldError::invalid("data[.dockercfg]", "<secret contents redacted>", e.to_string()));
                }
            }
        },
        "kubernetes.io/dockerconfigjson" => match data(".dockerconfigjson") {
            None => errs.push(required(".dockerconfigjson")),
            Some(b) => {
                if let Err(e) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&b.0) {
                    errs.push(FieldError::invalid("data[.dockerconfigjson]", "<secret contents redacted>", e.to_string()));
                }
            }
        },
        "kubernetes.io/basic-auth" if data("username").is_none() && data("password").is_none() => {
            errs.push(required("username"));
            errs.push(required("password"));
        }
        "kubernetes.io/ssh-auth" if data("ssh-privatekey").is_none_or(|b| b.0.is_empty()) => {
            errs.push(required("ssh-privatekey"));
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if data(k).is_none() {
                    errs.push(required(k));
                }
            }
        }
        _ => {}
    }
}

impl Strategy for SecretStrategy {
    type Object = Secret;

    fn prepare_for_create(&self, s: &mut Secret) {
        fold_string_data(s);
    }

    /// ValidateSecret: metadata, keys, at most 1 MiB of data, the type's required keys.
    fn validate(&self, s: &Secret) -> Vec<FieldError> {
        let mut errs = validate_metadata(&s.metadata);
        let mut size = 0;
        validate_keys(s.data.as_ref(), "data", |v| v.0.len(), &mut size, &mut errs);
        if size > MAX_SIZE {
            errs.push(FieldError::too_long("data", MAX_SIZE));
        }
        validate_type(s, &mut errs);
        errs
    }

    fn prepare_for_update(&self, new: &mut Secret, _old: &Secret) {
        fold_string_data(new);
    }

    /// ValidateSecretUpdate: the type stays; an immutable Secret keeps its data and stays
    /// immutable.
    fn validate_update(&self, new: &Secret, old: &Secret) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if new.type_ != old.type_ {
            errs.push(FieldError::invalid("type", new.type_.as_deref().unwrap_or(""), "field is immutable"));
        }
        if old.immutable == Some(true) {
            if new.immutable != Some(true) {
                errs.push(FieldError::forbidden("immutable", IMMUTABLE));
            }
            if new.data.as_ref().filter(|d| !d.is_empty()) != old.data.as_ref().filter(|d| !d.is_empty()) {
                errs.push(FieldError::forbidden("data", IMMUTABLE));
            }
        }
        errs.extend(self.validate(new));
        errs
    }
}

pub type SecretStore = Store<SecretStrategy>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Api;

    fn secret(yaml: &str) -> Secret {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn string_data_goes_into_data_and_the_type_defaults_to_opaque() {
        let api = Api::new("t", jiff::Timestamp::now());
        let store = api.store::<SecretStrategy>();
        let made = store
            .create_object(&secret("metadata: {name: s, namespace: ns}\ndata: {a: eA==}\nstringData: {a: 'y', b: z}\n"), false)
            .unwrap();
        assert_eq!(made.type_.as_deref(), Some("Opaque"));
        assert_eq!(made.string_data, None);
        let data = made.data.unwrap();
        assert_eq!((data["a"].0.as_slice(), data["b"].0.as_slice()), (&b"y"[..], &b"z"[..]));
    }

    #[test]
    fn each_type_requires_its_keys_and_the_type_may_not_change() {
        let api = Api::new("t", jiff::Timestamp::now());
        let store = api.store::<SecretStrategy>();
        let e = store.create_object(&secret("metadata: {name: t}\ntype: kubernetes.io/tls\ndata: {tls.crt: eA==}\n"), false).unwrap_err();
        assert_eq!(e.message, "Secret \"t\" is invalid: data[tls.key]: Required value");
        let e = store.create_object(&secret("metadata: {name: b}\ntype: kubernetes.io/basic-auth\n"), false).unwrap_err();
        assert_eq!(e.message, "Secret \"b\" is invalid: [data[username]: Required value, data[password]: Required value]");
        let e = store
            .create_object(
                &secret("metadata: {name: d}\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{'}\n"),
                false,
            )
            .unwrap_err();
        assert!(
            e.message.starts_with("Secret \"d\" is invalid: data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": "),
            "{}",
            e.message
        );
        let e = store.create_object(&secret("metadata: {name: sa}\ntype: kubernetes.io/service-account-token\n"), false).unwrap_err();
        assert_eq!(e.message, "Secret \"sa\" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value");
        store.create_object(&secret("metadata: {name: o, namespace: ns}\nstringData: {a: b}\n"), false).unwrap();
        let e = store
            .update("ns", "o", &secret("metadata: {name: o}\ntype: kubernetes.io/ssh-auth\nstringData: {ssh-privatekey: k}\n"))
            .unwrap_err();
        assert_eq!(e.message, "Secret \"o\" is invalid: type: Invalid value: \"kubernetes.io/ssh-auth\": field is immutable");
    }

    #[test]
    fn an_immutable_secret_keeps_its_data() {
        let api = Api::new("t", jiff::Timestamp::now());
        let store = api.store::<SecretStrategy>();
        store.create_object(&secret("metadata: {name: s, namespace: ns}\nimmutable: true\nstringData: {a: b}\n"), false).unwrap();
        let e = store.update("ns", "s", &secret("metadata: {name: s}\nimmutable: true\nstringData: {a: c}\n")).unwrap_err();
        assert_eq!(e.message, "Secret \"s\" is invalid: data: Forbidden: field is immutable when `immutable` is set");
        let mut big = secret("metadata: {name: big, namespace: ns}\n");
        big.data = Some([("a".to_string(), ByteString(vec![0; MAX_SIZE + 1]))].into());
        let e = store.create_object(&big, false).unwrap_err();
        assert_eq!(e.message, "Secret \"big\" is invalid: data: Too long: may not be more than 1048576 bytes");
    }
}
