//! ConfigMaps (core/v1), namespaced, in the generic store, with kube-apiserver's rules
//! (pkg/registry/core/configmap/strategy.go; pkg/apis/core/validation: ValidateConfigMap,
//! ValidateConfigMapUpdate; apimachinery pkg/util/validation: IsConfigMapKey). The kubelet
//! reads them for `configMap` volumes and projected sources, `configMapKeyRef` and `envFrom`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::generic::Store;
use crate::validation::metadata::{max_len_error, regex_error};
use super::strategy::Strategy;
use crate::validation::FieldError;

/// The most bytes the values of a ConfigMap or a Secret may have together (MaxSecretSize).
pub const MAX_SIZE: usize = 1024 * 1024;

const CONFIG_MAP_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_MAP_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/// `IsConfigMapKey`: the texts of what is wrong with a key of a ConfigMap or a Secret (a file
/// name in a volume, so never `.`, `..` or `..`-prefixed).
pub fn config_map_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > 253 {
        errs.push(max_len_error(253));
    }
    let valid = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !valid {
        errs.push(regex_error(CONFIG_MAP_KEY_MSG, CONFIG_MAP_KEY_FMT, &["key.name", "KEY_NAME", "key-name"]));
    }
    match key {
        "." => errs.push("must not be '.'".into()),
        ".." => errs.push("must not be '..'".into()),
        k if k.starts_with("..") => errs.push("must not start with '..'".into()),
        _ => {}
    }
    errs
}

/// ValidateObjectMeta for a namespaced object whose name is a DNS subdomain (ConfigMaps and
/// Secrets): the name (or generateName), labels and annotations.
pub fn validate_metadata(m: &ObjectMeta) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match m.name.as_deref().unwrap_or("") {
        "" if m.generate_name.is_none() => errs.push(FieldError::required("metadata.name").with_detail("name or generateName is required")),
        "" => {}
        name => {
            for e in crate::validation::metadata::dns1123_subdomain_errors(name) {
                errs.push(FieldError::invalid("metadata.name", name, e));
            }
        }
    }
    crate::validation::metadata::validate_labels(m.labels.as_ref(), "metadata.labels", &mut errs);
    crate::validation::metadata::validate_annotations(m.annotations.as_ref(), "metadata.annotations", &mut errs);
    errs
}

/// The keys of `map` (a field named `field`) checked with [`config_map_key_errors`]; adds
/// their values' sizes to `size`.
pub(super) fn validate_keys<V>(
    map: Option<&BTreeMap<String, V>>,
    field: &str,
    len: impl Fn(&V) -> usize,
    size: &mut usize,
    errs: &mut Vec<FieldError>,
) {
    for (key, value) in map.into_iter().flatten() {
        for e in config_map_key_errors(key) {
            errs.push(FieldError::invalid(format!("{field}[{key}]"), key, e));
        }
        *size += len(value);
    }
}

/// The text of an update to an immutable object's data (ValidateConfigMapUpdate,
/// ValidateSecretUpdate).
pub const IMMUTABLE: &str = "field is immutable when `immutable` is set";

/// The strategy for ConfigMaps.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConfigMapStrategy;

impl Strategy for ConfigMapStrategy {
    type Object = ConfigMap;

    fn prepare_for_create(&self, _cm: &mut ConfigMap) {}

    /// ValidateConfigMap: metadata, keys, no key in both `data` and `binaryData`, at most
    /// 1 MiB of values.
    fn validate(&self, cm: &ConfigMap) -> Vec<FieldError> {
        let mut errs = validate_metadata(&cm.metadata);
        let mut size = 0;
        validate_keys(cm.data.as_ref(), "data", String::len, &mut size, &mut errs);
        for key in cm.data.iter().flat_map(|d| d.keys()) {
            if cm.binary_data.as_ref().is_some_and(|b| b.contains_key(key)) {
                errs.push(FieldError::invalid(format!("data[{key}]"), key, "duplicate of key present in binaryData"));
            }
        }
        validate_keys(cm.binary_data.as_ref(), "binaryData", |v| v.0.len(), &mut size, &mut errs);
        if size > MAX_SIZE {
            errs.push(FieldError::too_long("", MAX_SIZE));
        }
        errs
    }

    fn prepare_for_update(&self, _new: &mut ConfigMap, _old: &ConfigMap) {}

    /// ValidateConfigMapUpdate: an immutable ConfigMap keeps its data and stays immutable.
    fn validate_update(&self, new: &ConfigMap, old: &ConfigMap) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if old.immutable == Some(true) {
            if new.immutable != Some(true) {
                errs.push(FieldError::forbidden("immutable", IMMUTABLE));
            }
            if new.data.as_ref().filter(|d| !d.is_empty()) != old.data.as_ref().filter(|d| !d.is_empty()) {
                errs.push(FieldError::forbidden("data", IMMUTABLE));
            }
            if new.binary_data.as_ref().filter(|d| !d.is_empty()) != old.binary_data.as_ref().filter(|d| !d.is_empty()) {
                errs.push(FieldError::forbidden("binaryData", IMMUTABLE));
            }
        }
        errs.extend(self.validate(new));
        errs
    }
}

pub type ConfigMapStore = Store<ConfigMapStrategy>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Api;

    fn cm(yaml: &str) -> ConfigMap {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn keys_are_checked_as_is_config_map_key_checks_them() {
        assert!(config_map_key_errors("key.name_1-A").is_empty());
        assert_eq!(config_map_key_errors(".."), vec!["must not be '..'".to_string()]);
        assert_eq!(config_map_key_errors("..data"), vec!["must not start with '..'".to_string()]);
        assert_eq!(
            config_map_key_errors("a/b"),
            vec!["a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string()]
        );
        assert_eq!(config_map_key_errors(&"k".repeat(254))[0], "must be no more than 253 characters");
    }

    #[test]
    fn a_config_map_is_created_in_its_namespace_and_a_bad_one_is_invalid_with_the_api_servers_text() {
        let api = Api::new("t", jiff::Timestamp::now());
        let store = api.store::<ConfigMapStrategy>();
        let made = store.create_object(&cm("metadata: {name: c, namespace: ns}\ndata: {a: '1'}\n"), false).unwrap();
        assert_eq!(made.metadata.namespace.as_deref(), Some("ns"));
        assert!(made.metadata.uid.is_some() && made.metadata.resource_version.is_some());
        let e = store.create_object(&cm("metadata: {name: d}\ndata: {'a/b': x}\nbinaryData: {c: eA==}\n"), false).unwrap_err();
        assert!(
            e.message.starts_with("ConfigMap \"d\" is invalid: data[a/b]: Invalid value: \"a/b\": a valid config key"),
            "{}",
            e.message
        );
        let e = store.create_object(&cm("metadata: {name: d}\ndata: {c: x}\nbinaryData: {c: eA==}\n"), false).unwrap_err();
        assert_eq!(e.message, "ConfigMap \"d\" is invalid: data[c]: Invalid value: \"c\": duplicate of key present in binaryData");
        let mut big = cm("metadata: {name: big}\n");
        big.data = Some([("a".to_string(), "x".repeat(MAX_SIZE)), ("b".to_string(), "y".into())].into());
        let e = store.create_object(&big, false).unwrap_err();
        assert_eq!(e.message, "ConfigMap \"big\" is invalid: : Too long: may not be more than 1048576 bytes");
    }

    #[test]
    fn an_immutable_config_map_keeps_its_data_but_not_its_labels() {
        let api = Api::new("t", jiff::Timestamp::now());
        let store = api.store::<ConfigMapStrategy>();
        store.create_object(&cm("metadata: {name: c, namespace: ns}\nimmutable: true\ndata: {a: '1'}\n"), false).unwrap();
        let e = store.update("ns", "c", &cm("metadata: {name: c}\nimmutable: true\ndata: {a: '2'}\n")).unwrap_err();
        assert_eq!(e.message, "ConfigMap \"c\" is invalid: data: Forbidden: field is immutable when `immutable` is set");
        let e = store.update("ns", "c", &cm("metadata: {name: c}\ndata: {a: '1'}\n")).unwrap_err();
        assert_eq!(e.message, "ConfigMap \"c\" is invalid: immutable: Forbidden: field is immutable when `immutable` is set");
        let labelled = store.update("ns", "c", &cm("metadata: {name: c, labels: {x: y}}\nimmutable: true\ndata: {a: '1'}\n")).unwrap();
        assert_eq!(labelled.metadata.labels.unwrap()["x"], "y");
        store.delete("ns", "c", &Default::default()).unwrap();
        assert_eq!(store.get("ns", "c").unwrap_err().code, 404);
    }
}
