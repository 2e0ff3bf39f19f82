//! The kubelet's source of pods: the API. As a real kubelet's API source does
//! (pkg/kubelet/config/apiserver.go), it lists the pods bound to its node (`spec.nodeName`),
//! then watches them from the list's resourceVersion, and lists again when the watch expires.
//! For each pod it sees, it does what the kubelet's pod workers do:
//!
//! - a new pod is admitted and started; a changed one is handed to its worker;
//! - a pod with a `deletionTimestamp` is stopped with its grace period, then deleted for good
//!   with grace 0 (its finalizers may still hold the object), as the status manager does once
//!   the pod is terminated (pkg/kubelet/status/status_manager.go, `canBeDeleted`);
//! - a pod gone from the API (a delete with grace 0) is stopped.
//!
//! Mirror pods are the static pods' business and are left alone here.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::Kubelet;
use podspec_api::generic::Scope;
use podspec_api::{is_mirror_pod, DeleteOptions, WatchEvent};

fn bound_to(pod: &Pod, node: &str) -> bool {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node)
}

fn rv_of(pod: &Pod) -> u64 {
    pod.metadata.resource_version.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)
}

pub(super) async fn run(kubelet: Arc<Kubelet>) {
    let node = kubelet.config.node_name.clone();
    loop {
        // The node's pods, through the store's node index; from then on the changes of the
        // node's pods only, each version shared as the store keeps it (no copy).
        let on_node = Scope { namespace: None, node: Some(node.clone()) };
        let (pods, rv) = kubelet.api.list_scoped(&on_node);
        let bound: Vec<Pod> = pods.into_iter().filter(|p| bound_to(p, &node)).collect();
        kubelet.forget_missing(&bound);
        for pod in bound {
            kubelet.on_pod(Arc::new(pod));
        }
        kubelet.teardowns.observed(rv);
        let filter_node = node.clone();
        let mut watch = match kubelet.api.watch_scoped(Some(rv), on_node, Box::new(move |p| bound_to(p, &filter_node))) {
            Ok(w) => w,
            Err(e) => {
                tracing::debug!(target: "kubelet", error = %e, "watch could not start; listing again");
                continue;
            }
        };
        loop {
            match watch.next_shared().await {
                Ok(WatchEvent::Added(pod) | WatchEvent::Modified(pod)) => {
                    let rv = rv_of(&pod);
                    kubelet.on_pod(pod);
                    kubelet.teardowns.observed(rv);
                }
                Ok(WatchEvent::Deleted(pod)) => {
                    let rv = rv_of(&pod);
                    kubelet.on_pod_gone(&pod);
                    kubelet.teardowns.observed(rv);
                }
                Ok(WatchEvent::Bookmark(_)) => {}
                Err(e) => {
                    tracing::warn!(target: "kubelet", error = %e, "pod watch ended; listing again");
                    break;
                }
            }
        }
    }
}

impl Kubelet {
    /// A pod bound to this node, as the API has it now.
    fn on_pod(self: &Arc<Self>, pod: Arc<Pod>) {
        if is_mirror_pod(&pod) {
            return;
        }
        let Some(uid) = pod.metadata.uid.clone() else { return };
        let worker = self.pods.lock().unwrap().get(&uid).cloned();
        if pod.metadata.deletion_timestamp.is_some() {
            if let Some(w) = &worker {
                w.update(pod.clone()); // the deletion's grace period
            }
            self.terminate(pod);
            return;
        }
        match worker {
            Some(w) => w.update(pod),
            None => {
                if self.rejected.lock().unwrap().contains(&uid) || self.terminating.lock().unwrap().contains(&uid) {
                    return;
                }
                if let Err(e) = self.start_worker(pod.clone(), false) {
                    self.refuse(&pod, &e.to_string());
                }
            }
        }
    }

    /// A pod that cannot be run here at all: a Failed status says why.
    fn refuse(&self, pod: &Pod, why: &str) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if self.rejected.lock().unwrap().insert(uid) {
            self.reject(pod, "UnsupportedPod", why);
        }
    }

    /// Stops a pod being deleted, once, then deletes it for good.
    fn terminate(self: &Arc<Self>, pod: Arc<Pod>) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if !self.terminating.lock().unwrap().insert(uid.clone()) {
            return;
        }
        let kubelet = self.clone();
        tokio::spawn(async move {
            if let Err(e) = kubelet.stop_pod(&uid).await {
                tracing::debug!(target: "kubelet", error = %e, "deleted pod was not running");
            }
            let m = &pod.metadata;
            let (ns, name) = (m.namespace.as_deref().unwrap_or("default"), m.name.as_deref().unwrap_or(""));
            match kubelet.api.delete(ns, name, &DeleteOptions::now_for(&uid)) {
                Ok(_) => {}
                Err(e) if e.code == 404 || e.code == 409 => {} // gone already, or another pod of that name
                Err(e) => kubelet.warn(format!("Failed to delete pod {ns}/{name}: {e}")),
            }
            kubelet.rejected.lock().unwrap().remove(&uid);
            kubelet.terminating.lock().unwrap().remove(&uid);
            kubelet.teardowns.torn_down(&uid);
        });
    }

    /// A pod deleted from the API without waiting for the node: stop it now.
    fn on_pod_gone(self: &Arc<Self>, pod: &Pod) {
        let Some(uid) = pod.metadata.uid.clone() else { return };
        self.rejected.lock().unwrap().remove(&uid);
        if self.pods.lock().unwrap().contains_key(&uid) && self.terminating.lock().unwrap().insert(uid.clone()) {
            let kubelet = self.clone();
            tokio::spawn(async move {
                let _ = kubelet.stop_pod(&uid).await;
                kubelet.terminating.lock().unwrap().remove(&uid);
                kubelet.teardowns.torn_down(&uid);
            });
        }
    }

    /// After a fresh list: pods the kubelet runs from the API that are no longer there.
    fn forget_missing(self: &Arc<Self>, listed: &[Pod]) {
        let missing: Vec<Arc<Pod>> = {
            let pods = self.pods.lock().unwrap();
            pods.values()
                .filter(|w| !w.is_static && !listed.iter().any(|p| p.metadata.uid.as_deref() == Some(w.uid.as_str())))
                .map(|w| w.pod())
                .collect()
        };
        for pod in missing {
            self.on_pod_gone(&pod);
        }
    }
}
