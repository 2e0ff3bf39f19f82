//! A container's image, present or pulled as its `imagePullPolicy` says, with the image back-off
//! (kuberuntime_image.go and images/image_manager.go).

use std::time::Duration;

use k8s_openapi::api::core::v1::Container;
use tokio::time::Instant;

use super::{go_duration_ms, PodWorker};
use podspec_api::events::{NORMAL, WARNING};

impl PodWorker {
    /// The image of a container, present or pulled as its `imagePullPolicy` says (the
    /// kubelet's `EnsureImageExists`), with the kubelet's events; None when the container
    /// waits (`ErrImageNeverPull`, `ErrImagePull`, `ImagePullBackOff`) and is tried again.
    pub(super) async fn ensure_image(&self, name: &str, spec: &Container, reference: &str) -> Option<podspec_cri::cri::ImageInfo> {
        let images = &self.node.images;
        let present = images.image_status(reference).await;
        if !images.pulls() {
            // A node whose image service does not pull runs what it has.
            return match present {
                Ok(image) => {
                    self.container_event(name, NORMAL, "Pulled", &format!("Container image {reference:?} already present on machine"));
                    Some(image)
                }
                Err(e) => {
                    self.set_waiting(name, "ErrImageNeverPull", Some(e.to_string()));
                    None
                }
            };
        }
        let policy = spec.image_pull_policy.clone().unwrap_or_else(|| podspec_api::defaults::pull_policy(reference).to_string());
        match (policy.as_str(), present) {
            ("Never" | "IfNotPresent", Ok(image)) => {
                self.container_event(name, NORMAL, "Pulled", &format!("Container image {reference:?} already present on machine"));
                return Some(image);
            }
            ("Never", Err(_)) => {
                let message = format!("Container image {reference:?} is not present with pull policy of Never");
                self.container_event(name, WARNING, "ErrImageNeverPull", &message);
                let retry = Instant::now() + self.node.config.backoff.initial.min(Duration::from_secs(5));
                self.image_waiting(name, "ErrImageNeverPull", message, retry);
                return None;
            }
            _ => {}
        }
        let backoff = {
            let st = self.state.lock().unwrap();
            st.containers.iter().find(|c| c.name == name).and_then(|c| c.pull_backoff.clone())
        };
        if let Some(b) = backoff.filter(|b| b.until > Instant::now()) {
            let message = format!("Back-off pulling image {reference:?}");
            self.container_event(name, NORMAL, "BackOff", &message);
            // The waiting message keeps the failed pull's error after the event's text (the
            // kubelet's image manager since 1.32: "<message>: ErrImagePull: <error>").
            self.image_waiting(name, "ImagePullBackOff", format!("{message}: ErrImagePull: {}", b.error), b.until);
            return None;
        }
        self.container_event(name, NORMAL, "Pulling", &format!("Pulling image {reference:?}"));
        let started = Instant::now();
        match self.pull_with_secrets(reference).await {
            Ok((image, size)) => {
                let took = go_duration_ms(started.elapsed());
                let message =
                    format!("Successfully pulled image {reference:?} in {took} ({took} including waiting). Image size: {size} bytes.");
                self.container_event(name, NORMAL, "Pulled", &message);
                if let Some(rec) = self.state.lock().unwrap().containers.iter_mut().find(|c| c.name == name) {
                    rec.pull_backoff = None;
                }
                Some(image)
            }
            Err(e) => {
                tracing::info!(pod = %self.key, container = name, error = %e, "image pull failed");
                self.container_event(name, WARNING, "Failed", &format!("Failed to pull image {reference:?}: {e}"));
                let delay = {
                    let mut st = self.state.lock().unwrap();
                    let rec = st.containers.iter_mut().find(|c| c.name == name)?;
                    let failures = rec.pull_backoff.as_ref().map(|b| b.failures).unwrap_or(0) + 1;
                    let delay = self.node.config.backoff.delay(failures);
                    rec.pull_backoff = Some(super::state::PullBackoff { failures, until: Instant::now() + delay, error: e.to_string() });
                    delay
                };
                // The next sync comes within the back-off: the container then waits in
                // ImagePullBackOff until it is over.
                self.image_waiting(name, "ErrImagePull", e.to_string(), Instant::now() + (delay / 2).min(Duration::from_secs(5)));
                None
            }
        }
    }

    /// Pulls `reference` with the credentials the pod's `imagePullSecrets` have for its
    /// registry (the kubelet's `getPullSecretsForPod`, then `MakeDockerKeyring` and its
    /// `Lookup`): each matching credential in turn until one pulls, anonymously when none
    /// matches. A Secret the API does not have is named in a `FailedToRetrieveImagePullSecret`
    /// event and the pull goes on without it.
    pub(super) async fn pull_with_secrets(&self, reference: &str) -> podspec_cri::cri::RuntimeResult<(podspec_cri::cri::ImageInfo, u64)> {
        use podspec_cri::cri::RuntimeError;
        let pod = self.pod();
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let (mut secrets, mut missing) = (Vec::new(), Vec::new());
        for r in pod.spec.iter().flat_map(|s| s.image_pull_secrets.iter().flatten()).filter(|r| !r.name.is_empty()) {
            match self.node.objects.secret(namespace, &r.name) {
                Ok(s) => secrets.push(s),
                Err(_) => missing.push(r.name.clone()),
            }
        }
        if !missing.is_empty() {
            let message = format!(
                "Unable to retrieve some image pull secrets ({}); attempting to pull the image may not succeed.",
                missing.join(", ")
            );
            self.pod_event(WARNING, "FailedToRetrieveImagePullSecret", &message);
        }
        let not_pulled = |e: podspec_images::keyring::KeyringError| RuntimeError::failed(format!("failed to pull image {reference:?}"), e);
        let keyring = podspec_images::keyring::Keyring::from_secrets(&secrets).map_err(not_pulled)?;
        let repository = match podspec_images::pull::Reference::parse(reference) {
            Ok(r) => format!("{}/{}", r.registry, r.repository),
            Err(_) => reference.to_string(),
        };
        let credentials = keyring.lookup(&repository);
        let images = &self.node.images;
        if credentials.is_empty() {
            return images.pull_image(reference, None).await;
        }
        let mut errors = Vec::new();
        for c in &credentials {
            match images.pull_image(reference, Some(c)).await {
                Ok(pulled) => return Ok(pulled),
                Err(e) => errors.push(e),
            }
        }
        // One error as it is, several as a list (the kubelet's aggregate error).
        if errors.len() == 1 {
            return Err(errors.remove(0));
        }
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        Err(RuntimeError::failed(
            format!("failed to pull image {reference:?} with each of {} credentials", list.len()),
            format!("[{}]", list.join(", ")),
        ))
    }

    /// The container waits for its image (`reason`), tried again at `retry`: the kubelet's
    /// "Error: REASON" event.
    pub(super) fn image_waiting(&self, name: &str, reason: &str, message: String, retry: Instant) {
        self.container_event(name, WARNING, "Failed", &format!("Error: {reason}"));
        let mut st = self.state.lock().unwrap();
        if let Some(rec) = st.containers.iter_mut().find(|c| c.name == name) {
            rec.waiting = Some((reason.to_string(), Some(message)));
            rec.retry_due = Some(retry);
        }
    }
}
