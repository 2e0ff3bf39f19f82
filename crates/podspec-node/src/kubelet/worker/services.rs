//! What a kubelet's pod workers share with it: its configuration, the runtime and image
//! services, the API's pods and events, the event recorder and the kubelet's log, the API's
//! ConfigMaps and Secrets, the routes of the runtime's events, what the node has for pods, and
//! whether every pod is to stop at once (the parts of the kubelet's `Dependencies` and of
//! kuberuntime's runtime manager a pod worker reaches). The kubelet holds it and derefs to it;
//! a worker holds it, never the kubelet.

use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Pod;
use podspec_api::events::{self, EventStore, Reporter};
use podspec_api::PodStore;
use podspec_cri::cri::{ImageService, RuntimeService};

use super::event_routes::EventRoutes;
use crate::kubelet::api_data::ApiObjects;
use crate::kubelet::config::KubeletConfig;
use crate::kubelet::downward;
use crate::Error as KubeletError;

pub struct NodeServices {
    pub(in crate::kubelet) config: KubeletConfig,
    pub(in crate::kubelet) runtime: Arc<dyn RuntimeService>,
    pub(in crate::kubelet) images: Arc<dyn ImageService>,
    pub(in crate::kubelet) api: Arc<PodStore>,
    /// Where its event recorder writes (the API's events).
    pub(in crate::kubelet) events: Arc<EventStore>,
    pub(in crate::kubelet) reporter: Reporter,
    /// What the kubelet logged of note (warnings and events), oldest first.
    pub(in crate::kubelet) log: Mutex<Vec<String>>,
    /// The ConfigMaps and Secrets pods name (volumes, env).
    pub(in crate::kubelet) objects: ApiObjects,
    /// The pod workers by sandbox.
    pub(in crate::kubelet) event_routes: EventRoutes,
    /// What the node has for pods (the downward API's default limits).
    pub(in crate::kubelet) allocatable: downward::Allocatable,
    /// Every pod is to stop at once, without its grace period (the run was interrupted).
    pub(in crate::kubelet) at_once: std::sync::atomic::AtomicBool,
    /// The API's RuntimeClasses, which a pod's `runtimeClassName` is resolved in.
    pub(in crate::kubelet) runtime_classes: std::sync::OnceLock<Arc<podspec_api::runtime_classes::RuntimeClassStore>>,
}

impl NodeServices {
    /// The handler a pod's sandbox is asked for: "" for a pod that names no RuntimeClass;
    /// the lookup's error for a class this kubelet cannot find.
    pub fn runtime_handler(&self, pod: &k8s_openapi::api::core::v1::Pod) -> Result<String, KubeletError> {
        match self.runtime_classes.get() {
            Some(classes) => Ok(podspec_api::runtime_classes::handler_of(classes, pod)?),
            None => match pod.spec.as_ref().and_then(|s| s.runtime_class_name.as_deref()).filter(|n| !n.is_empty()) {
                Some(name) => Err(podspec_api::Error::RuntimeClassNotFound { name: name.into() }.into()),
                None => Ok(String::new()),
            },
        }
    }

    /// The runtime the kubelet runs pods with.
    pub fn runtime(&self) -> &Arc<dyn RuntimeService> {
        &self.runtime
    }

    pub fn config(&self) -> &KubeletConfig {
        &self.config
    }

    /// The kubelet's log of warnings and events, one line each.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub(in crate::kubelet) fn warn(&self, line: String) {
        tracing::warn!(target: "kubelet", "{line}");
        self.log.lock().unwrap().push(line);
    }

    /// Records an event about a pod (or, with a `fieldPath`, one of its containers) in the
    /// API, as the kubelet's event recorder does, and in its log.
    pub(in crate::kubelet) fn event(&self, pod: &Pod, field_path: Option<String>, type_: &str, reason: &str, message: &str) {
        let key = super::pod_key(pod);
        tracing::info!(target: "kubelet", pod = %key, reason, "{message}");
        self.log.lock().unwrap().push(format!("event {type_} {reason} pod={key}: {message}"));
        self.events.record(events::pod_reference(pod, field_path), &self.reporter, type_, reason, message);
    }

    pub(in crate::kubelet) fn stops_at_once(&self) -> bool {
        self.at_once.load(std::sync::atomic::Ordering::SeqCst)
    }
}
