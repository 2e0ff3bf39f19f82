//! The ServiceAccounts controller (pkg/controller/serviceaccount/serviceaccounts_controller.go):
//! every Active namespace has a ServiceAccount named `default`, made when the namespace appears
//! and made again when it is deleted. Pods that name no ServiceAccount run as it, and the
//! kubelet's projected tokens are for it (`api::tokens`).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use podspec_api::rbac::ServiceAccountStrategy;
use podspec_api::{Api, Store};

/// The ServiceAccount every namespace has.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "default";

/// Makes the `default` ServiceAccount of each Active namespace that lacks one.
pub fn sync(namespaces: &[Namespace], accounts: &Store<ServiceAccountStrategy>) {
    for ns in namespaces {
        let active = ns.metadata.deletion_timestamp.is_none();
        let Some(name) = ns.metadata.name.as_deref().filter(|_| active) else { continue };
        if accounts.get(name, DEFAULT_SERVICE_ACCOUNT).is_ok() {
            continue;
        }
        let sa = ServiceAccount {
            metadata: ObjectMeta { name: Some(DEFAULT_SERVICE_ACCOUNT.into()), namespace: Some(name.into()), ..Default::default() },
            ..Default::default()
        };
        if let Err(e) = accounts.create_object(&sa, false) {
            if e.code != 409 {
                tracing::warn!(namespace = name, error = %e, "make the default ServiceAccount");
            }
        }
    }
}

/// Runs until the task is aborted: syncs on every change of the namespaces or the
/// ServiceAccounts.
pub async fn run(api: Arc<Api>) {
    let namespaces = api.namespaces();
    let accounts = api.store::<ServiceAccountStrategy>();
    let (mut ns_changes, mut sa_changes) = (namespaces.changes(), accounts.changes());
    loop {
        sync(&namespaces.list(), &accounts);
        tokio::select! {
            _ = ns_changes.changed() => {}
            _ = sa_changes.changed() => {}
            // A resync, as informers have.
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_namespace_gets_its_default_account_again_when_it_goes() {
        let api = Arc::new(Api::new("t", jiff::Timestamp::now()));
        let controller = tokio::spawn(run(api.clone()));
        let ns: Namespace = serde_yaml::from_str("metadata: {name: scenario}\n").unwrap();
        api.namespaces().create_object(&ns, false).unwrap();
        let accounts = api.store::<ServiceAccountStrategy>();
        let has = |ns: &str| accounts.get(ns, DEFAULT_SERVICE_ACCOUNT).is_ok();
        let wait = |ns: &'static str| {
            let accounts = accounts.clone();
            async move {
                for _ in 0..200 {
                    if accounts.get(ns, DEFAULT_SERVICE_ACCOUNT).is_ok() {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                false
            }
        };
        assert!(wait("scenario").await && has("default") && has("kube-system"));
        accounts.delete("scenario", DEFAULT_SERVICE_ACCOUNT, &Default::default()).unwrap();
        assert!(wait("scenario").await, "made again");
        controller.abort();
    }
}
