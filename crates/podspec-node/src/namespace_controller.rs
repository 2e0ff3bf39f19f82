//! The namespace controller (pkg/controller/namespace/deletion/): a loop that watches the
//! namespaces, and for each one marked Terminating deletes what is in it (its pods, each with
//! its own grace period; then its other objects, ConfigMaps and Secrets), waits until they are
//! gone, and then removes the namespace. A
//! namespace whose pods are not gone within [`TERMINATION_BOUND`] has them deleted at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;

use podspec_api::{DeleteOptions, NamespaceStore, PodStore, WatchEvent};

/// How long a deleted namespace waits for its pods before it goes anyway (its pods are then
/// deleted at once).
pub const TERMINATION_BOUND: Duration = Duration::from_secs(120);

/// The objects of a kind other than pods that a namespace holds (ConfigMaps, Secrets): deleted
/// once its pods are gone.
pub trait Contents: Send + Sync {
    fn delete_all_in(&self, namespace: &str);
}

impl<S: podspec_api::Strategy> Contents for podspec_api::Store<S>
where
    S::Object: podspec_api::generic::Object,
{
    fn delete_all_in(&self, namespace: &str) {
        use k8s_openapi::Metadata as _;
        for o in self.list_scoped(&podspec_api::generic::Scope::namespace(namespace)).0 {
            let _ = self.delete(namespace, o.metadata().name.as_deref().unwrap_or_default(), &DeleteOptions::default());
        }
    }
}

/// Runs until the task is aborted: watches the namespaces and terminates each one marked for
/// deletion, once.
pub async fn run(namespaces: Arc<NamespaceStore>, pods: Arc<PodStore>, contents: Vec<Arc<dyn Contents>>) {
    let contents = Arc::new(contents);
    let terminating: Arc<Mutex<HashSet<String>>> = Arc::default();
    loop {
        let Ok(mut watch) = namespaces.watch(None, Box::new(|ns: &Namespace| ns.metadata.deletion_timestamp.is_some())) else {
            continue;
        };
        while let Ok(event) = watch.next().await {
            let (WatchEvent::Added(ns) | WatchEvent::Modified(ns)) = event else { continue };
            let name = ns.metadata.name.clone().unwrap_or_default();
            if !terminating.lock().unwrap().insert(name.clone()) {
                continue;
            }
            let (namespaces, pods, terminating, contents) = (namespaces.clone(), pods.clone(), terminating.clone(), contents.clone());
            tokio::spawn(async move {
                terminate(&pods, &name).await;
                for kind in contents.iter() {
                    kind.delete_all_in(&name);
                }
                let _ = namespaces.finalize(&name);
                terminating.lock().unwrap().remove(&name);
            });
        }
        // Fell behind the history: watch again from the present (what is Terminating comes
        // first, as ADDED).
    }
}

/// Deletes every pod of the namespace and waits until they are gone.
async fn terminate(pods: &PodStore, namespace: &str) {
    let deadline = tokio::time::Instant::now() + TERMINATION_BOUND;
    let mut asked = false;
    loop {
        let left = pods.list_scoped(&podspec_api::generic::Scope::namespace(namespace)).0;
        if left.is_empty() {
            return;
        }
        let late = tokio::time::Instant::now() > deadline;
        if !asked || late {
            for p in &left {
                let options = if late { DeleteOptions::grace(0) } else { DeleteOptions::default() };
                let _ = pods.delete(namespace, p.metadata.name.as_deref().unwrap_or_default(), &options);
            }
            asked = true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use podspec_api::{Api, Requester};

    fn named(name: &str) -> Namespace {
        let mut ns = Namespace::default();
        ns.metadata.name = Some(name.into());
        ns
    }

    #[tokio::test]
    async fn a_deleted_namespace_has_its_pods_deleted_then_goes_and_others_keep_theirs() {
        let api = Api::new("t", jiff::Timestamp::now());
        let controller = tokio::spawn(run(api.namespaces(), api.pods(), vec![api.config_maps()]));
        api.namespaces().create_object(&named("gone"), false).unwrap();
        for (ns, name) in [("gone", "a"), ("gone", "b"), ("kept", "c")] {
            // Unbound pods: a delete removes them at once (no kubelet to stop them).
            let pod = serde_yaml::from_str(&format!(
                "metadata: {{name: {name}, namespace: {ns}}}\nspec:\n  containers:\n  - {{name: a, image: busybox}}\n"
            ))
            .unwrap();
            api.pods().create(&pod, Requester::User).unwrap();
            let cm = serde_yaml::from_str(&format!("metadata: {{name: cm-{name}, namespace: {ns}}}\n")).unwrap();
            api.config_maps().create_object(&cm, false).unwrap();
        }
        let mut watch = api.namespaces().watch(Some(api.resource_version()), Box::new(|_| true)).unwrap();
        api.namespaces().delete_namespace("gone").unwrap();
        let events: Vec<_> = [
            tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap().unwrap(),
            tokio::time::timeout(Duration::from_secs(5), watch.next()).await.unwrap().unwrap(),
        ]
        .into_iter()
        .map(|e| e.type_name())
        .collect();
        assert_eq!(events, ["MODIFIED", "DELETED"]);
        let left: Vec<_> = api.pods().list().into_iter().filter_map(|p| p.metadata.name).collect();
        assert_eq!(left, ["c"]);
        let left: Vec<_> = api.config_maps().list().into_iter().filter_map(|c| c.metadata.name).collect();
        assert_eq!(left, ["cm-c"], "the namespace's ConfigMaps went with it");
        controller.abort();
    }
}
