//! The root CA publisher (pkg/controller/certificates/rootcacertpublisher): every Active
//! namespace has a ConfigMap `kube-root-ca.crt` whose `ca.crt` is the cluster's CA
//! (`cluster_ca`), with the annotation `kubernetes.io/description` saying what it is for. It is
//! made when the namespace appears, made again when it is deleted, and set back when its data
//! or that annotation change. Pods read it through the `kube-api-access-*` volume that
//! ServiceAccount admission gives them (`api::service_accounts`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use podspec_api::configmaps::ConfigMapStore;
use podspec_api::Api;

/// The ConfigMap's name (RootCACertConfigMapName) and its key.
pub const CONFIG_MAP: &str = "kube-root-ca.crt";
pub const KEY: &str = "ca.crt";
/// The annotation that says what the ConfigMap is for, and Kubernetes' text for it.
pub const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// Makes or sets back the `kube-root-ca.crt` ConfigMap of each Active namespace.
pub fn sync(namespaces: &[Namespace], config_maps: &ConfigMapStore, ca_pem: &str) {
    let data: BTreeMap<String, String> = [(KEY.to_string(), ca_pem.to_string())].into();
    for ns in namespaces {
        let active = ns.metadata.deletion_timestamp.is_none();
        let Some(namespace) = ns.metadata.name.as_deref().filter(|_| active) else { continue };
        let result = match config_maps.get(namespace, CONFIG_MAP) {
            Err(e) if e.code == 404 => {
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(CONFIG_MAP.into()),
                        namespace: Some(namespace.into()),
                        annotations: Some([(DESCRIPTION_ANNOTATION.to_string(), DESCRIPTION.to_string())].into()),
                        ..Default::default()
                    },
                    data: Some(data.clone()),
                    ..Default::default()
                };
                config_maps.create_object(&cm, false).map(|_| ())
            }
            Err(e) => Err(e),
            Ok(mut cm) => {
                let described = cm.metadata.annotations.as_ref().and_then(|a| a.get(DESCRIPTION_ANNOTATION)).is_some_and(|d| !d.is_empty());
                if cm.data.as_ref() == Some(&data) && described && cm.binary_data.is_none() {
                    continue;
                }
                cm.data = Some(data.clone());
                cm.binary_data = None;
                cm.metadata.annotations.get_or_insert_with(Default::default).insert(DESCRIPTION_ANNOTATION.into(), DESCRIPTION.into());
                config_maps.update(namespace, CONFIG_MAP, &cm).map(|_| ())
            }
        };
        if let Err(e) = result {
            // A namespace that went meanwhile, or a write that raced another: the next change
            // or the resync tries again.
            if e.code != 404 && e.code != 409 {
                tracing::warn!(namespace, error = %e, "publish the root CA");
            }
        }
    }
}

/// Runs until the task is aborted: syncs on every change of the namespaces or the ConfigMaps.
pub async fn run(api: Arc<Api>, ca_pem: String) {
    let namespaces = api.namespaces();
    let config_maps = api.config_maps();
    let (mut ns_changes, mut cm_changes) = (namespaces.changes(), config_maps.changes());
    loop {
        sync(&namespaces.list(), &config_maps, &ca_pem);
        tokio::select! {
            _ = ns_changes.changed() => {}
            _ = cm_changes.changed() => {}
            // A resync, as informers have.
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn eventually(what: &str, check: impl Fn() -> bool) {
        for _ in 0..200 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{what}: not within 2 s");
    }

    #[tokio::test]
    async fn every_namespace_gets_the_ca_again_when_it_is_deleted_or_changed() {
        let api = Arc::new(Api::new("t", jiff::Timestamp::now()));
        let controller = tokio::spawn(run(api.clone(), "PEM".into()));
        let ns: Namespace = serde_yaml::from_str("metadata: {name: scenario}\n").unwrap();
        api.namespaces().create_object(&ns, false).unwrap();
        let cms = api.config_maps();
        let ca = |ns: &str| cms.get(ns, CONFIG_MAP).ok().and_then(|c| c.data).and_then(|d| d.get(KEY).cloned());
        eventually("made", || ca("scenario").as_deref() == Some("PEM")).await;
        assert_eq!(ca("default").as_deref(), Some("PEM"), "every namespace");
        let made = cms.get("scenario", CONFIG_MAP).unwrap();
        assert_eq!(made.metadata.annotations.unwrap()[DESCRIPTION_ANNOTATION], DESCRIPTION);
        cms.delete("scenario", CONFIG_MAP, &Default::default()).unwrap();
        eventually("made again", || ca("scenario").as_deref() == Some("PEM")).await;
        let mut changed = cms.get("scenario", CONFIG_MAP).unwrap();
        changed.data = Some([(KEY.to_string(), String::new())].into());
        cms.update("scenario", CONFIG_MAP, &changed).unwrap();
        eventually("set back", || ca("scenario").as_deref() == Some("PEM")).await;
        controller.abort();
    }
}
