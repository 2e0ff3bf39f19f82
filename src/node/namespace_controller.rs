//! The namespace controller (pkg/controller/namespace/deletion/): a loop that watches the
//! namespaces, and for each one marked Terminating deletes what is in it (its pods, each with
//! its own grace period), waits until they are gone, and then removes the namespace. A
//! namespace whose pods are not gone within [`TERMINATION_BOUND`] has them deleted at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;

use crate::api::{DeleteOptions, NamespaceStore, PodStore, WatchEvent};

/// How long a deleted namespace waits for its pods before it goes anyway (its pods are then
/// deleted at once).
pub const TERMINATION_BOUND: Duration = Duration::from_secs(120);

/// Runs until the task is aborted: watches the namespaces and terminates each one marked for
/// deletion, once.
pub async fn run(namespaces: Arc<NamespaceStore>, pods: Arc<PodStore>) {
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
            let (namespaces, pods, terminating) = (namespaces.clone(), pods.clone(), terminating.clone());
            tokio::spawn(async move {
                terminate(&pods, &name).await;
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
        let left: Vec<_> = pods.list().into_iter().filter(|p| p.metadata.namespace.as_deref() == Some(namespace)).collect();
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
    use crate::api::{Api, Requester};

    fn named(name: &str) -> Namespace {
        let mut ns = Namespace::default();
        ns.metadata.name = Some(name.into());
        ns
    }

    #[tokio::test]
    async fn a_deleted_namespace_has_its_pods_deleted_then_goes_and_others_keep_theirs() {
        let api = Api::new("t", chrono::Utc::now());
        let controller = tokio::spawn(run(api.namespaces(), api.pods()));
        api.namespaces().create_object(&named("gone"), false).unwrap();
        for (ns, name) in [("gone", "a"), ("gone", "b"), ("kept", "c")] {
            // Unbound pods: a delete removes them at once (no kubelet to stop them).
            let pod = serde_yaml::from_str(&format!(
                "metadata: {{name: {name}, namespace: {ns}}}\nspec:\n  containers:\n  - {{name: a, image: busybox}}\n"
            ))
            .unwrap();
            api.pods().create(&pod, Requester::User).unwrap();
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
        controller.abort();
    }
}
