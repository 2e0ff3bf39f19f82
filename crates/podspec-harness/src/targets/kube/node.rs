//! What the kube target reaches of a node through the API alone: the kubelet's `staticPodPath`,
//! read from its configz through the node proxy (`/api/v1/nodes/<node>/proxy/configz`); static
//! pod manifests, written and removed by a short-lived privileged pod pinned to that node that
//! mounts the path from the host (hostPath); and what the kubelet reports, from the node's
//! events, the mirror pods' status and, where the kubelet offers it, its log query.
//!
//! Whether the identity may run such a pod is asked of the cluster before anything runs: a
//! server-side dry run of the writer pod, which the cluster's admission (Pod Security, policy
//! engines) answers as it would answer the real one.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::Client;
use serde_json::json;

use crate::targets::{TargetError, TargetResult};

use super::error::{api_error, request_error, KubeError};

/// The writer's image: the fixtures' busybox (mapped with `--image-map` as the scenarios' are).
pub const WRITER_IMAGE: &str = "busybox:1.36";
/// Where the writer pod sees the node's static pod directory.
const MOUNT: &str = "/manifests";
/// How long a writer pod may take from its creation to its end (an image pull included).
const WRITER_BOUND: Duration = Duration::from_secs(120);

/// The kubelet's static pod directory, if its configz names one.
pub async fn static_pod_path(client: &Client, node: &str) -> Result<Option<String>, kube::Error> {
    let request = http::Request::get(format!("/api/v1/nodes/{node}/proxy/configz")).body(Vec::new()).map_err(kube::Error::HttpError)?;
    let text = client.request_text(request).await?;
    Ok(parse_static_pod_path(&text))
}

/// configz answers `{"kubeletconfig": {..., "staticPodPath": "/etc/kubernetes/manifests"}}`.
pub fn parse_static_pod_path(configz: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(configz).ok()?;
    let path = v.get("kubeletconfig")?.get("staticPodPath")?.as_str()?;
    (!path.is_empty()).then(|| path.to_string())
}

/// A static pod manifest's file name: a plain name inside the directory.
pub fn check_file_name(file_name: &str) -> TargetResult<()> {
    let plain = !file_name.is_empty() && !file_name.contains('/') && file_name != "." && file_name != "..";
    if plain {
        Ok(())
    } else {
        Err(TargetError::StaticPodManifestName(file_name.to_string()))
    }
}

/// The node's static pod directory, reached through privileged pods in a namespace of the run.
#[derive(Clone)]
pub struct ManifestWriter {
    pub client: Client,
    pub node: String,
    pub static_pod_path: String,
    /// The run's namespace for writer pods (deleted with the run's others).
    pub namespace: String,
    pub image: String,
}

impl ManifestWriter {
    /// The writer pod for one shell script, with `env` as its environment: pinned to the node
    /// (no scheduler involved), privileged, with the static pod directory from the host.
    pub fn pod(&self, script: &str, env: &[(&str, &str)]) -> Pod {
        let env: Vec<_> = env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"generateName": "podspec-manifest-writer-", "namespace": self.namespace},
            "spec": {
                "nodeName": self.node,
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 0,
                "tolerations": [{"operator": "Exists"}],
                "containers": [{
                    "name": "writer",
                    "image": self.image,
                    "command": ["sh", "-c", script],
                    "env": env,
                    "securityContext": {"privileged": true},
                    "volumeMounts": [{"name": "manifests", "mountPath": MOUNT}],
                }],
                "volumes": [{"name": "manifests", "hostPath": {"path": self.static_pod_path, "type": "Directory"}}],
            }
        }))
        .expect("the writer pod is a Pod")
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Whether the cluster would admit the writer pod (a server-side dry run).
    pub async fn dry_run(&self) -> Result<(), kube::Error> {
        let params = PostParams { dry_run: true, ..Default::default() };
        self.pods().create(&params, &self.pod("true", &[])).await.map(|_| ())
    }

    /// Writes a manifest: aside first and renamed, so the kubelet never reads half a file (a
    /// kubelet skips files whose names start with a dot).
    pub async fn write(&self, file_name: &str, contents: &str) -> TargetResult<()> {
        check_file_name(file_name)?;
        let script = format!("set -e; printf '%s' \"$CONTENT\" > {MOUNT}/.\"$FILE\".tmp; mv {MOUNT}/.\"$FILE\".tmp {MOUNT}/\"$FILE\"");
        self.run(&format!("write static pod manifest {file_name}"), &script, &[("FILE", file_name), ("CONTENT", contents)]).await
    }

    pub async fn remove(&self, file_name: &str) -> TargetResult<()> {
        check_file_name(file_name)?;
        self.run(&format!("remove static pod manifest {file_name}"), &format!("rm -f {MOUNT}/\"$FILE\""), &[("FILE", file_name)]).await
    }

    /// Whether the writer can reach the directory at all (where a dry run cannot say).
    pub async fn probe(&self) -> TargetResult<()> {
        self.run("reach the static pod directory", &format!("test -d {MOUNT} && test -w {MOUNT}"), &[]).await
    }

    /// Runs one writer pod to its end; a failure carries the pod's log and status.
    async fn run(&self, what: &str, script: &str, env: &[(&str, &str)]) -> TargetResult<()> {
        let api = self.pods();
        let created = api.create(&PostParams::default(), &self.pod(script, env)).await.map_err(|e| with_context(what, e))?;
        let name = created.metadata.name.clone().unwrap_or_default();
        let ended = await_condition(api.clone(), &name, |p: Option<&Pod>| {
            p.is_some_and(|p| matches!(phase(p), "Succeeded" | "Failed") || never_starts(p).is_some())
        });
        let outcome = match tokio::time::timeout(WRITER_BOUND, ended).await {
            Err(_) => Err(TargetError::Timeout {
                operation: format!("{what} (writer pod {}/{name} on node {})", self.namespace, self.node),
                after: WRITER_BOUND,
            }),
            Ok(Err(source)) => {
                Err(KubeError::Watch { what: format!("{what}: watching writer pod {}/{name}", self.namespace), source }.into())
            }
            Ok(Ok(Some(pod))) if phase(&pod) == "Succeeded" => Ok(()),
            Ok(Ok(Some(pod))) if never_starts(&pod).is_some() => Err(KubeError::WriterCannotStart {
                what: what.to_string(),
                pod: format!("{}/{name}", self.namespace),
                reason: never_starts(&pod).unwrap_or_default(),
                image: self.image.to_string(),
            }
            .into()),
            Ok(Ok(pod)) => {
                let log = api.logs(&name, &LogParams::default()).await.unwrap_or_default();
                let status = pod
                    .and_then(|p| p.status)
                    .map(|s| serde_json::to_string(&s.container_statuses).unwrap_or_default())
                    .unwrap_or_default();
                Err(KubeError::WriterFailed { what: what.to_string(), pod: format!("{}/{name}", self.namespace), log, statuses: status }
                    .into())
            }
        };
        let _ = api.delete(&name, &DeleteParams { grace_period_seconds: Some(0), ..Default::default() }).await;
        outcome
    }
}

/// Why a pod's container will not start without someone acting (an image the node does not
/// have and may not pull, or a name that is no image): the kubelet's waiting reason and message.
/// A failed pull or its back-off may still succeed, so they are waited out.
fn never_starts(pod: &Pod) -> Option<String> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find_map(|c| {
        let w = c.state.as_ref()?.waiting.as_ref()?;
        let reason = w.reason.as_deref()?;
        matches!(reason, "ErrImageNeverPull" | "InvalidImageName").then(|| format!("{reason}: {}", w.message.as_deref().unwrap_or("")))
    })
}

fn phase(pod: &Pod) -> &str {
    pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("")
}

fn with_context(what: &str, e: kube::Error) -> TargetError {
    request_error(what, e)
}

/// What the kubelet of `node` reported, one line each: the events about the node and about
/// objects of the run's `namespaces` (the kubelet's warnings are events in a cluster), the
/// mirror pods' status there, and the kubelet's own log where its node log query answers (`/logs/?query=`,
/// the NodeLogQuery feature). Lines read `event <type> <reason> <object>: <message>`.
/// The log query asks for the lines that mention `mentioning` alone (its `pattern`).
pub async fn kubelet_log(client: &Client, node: &str, namespaces: &[String], mentioning: &str) -> TargetResult<Vec<String>> {
    let mut lines = Vec::new();
    let all_events: Api<Event> = Api::all(client.clone());
    let about_node = ListParams::default().fields(&format!("involvedObject.kind=Node,involvedObject.name={node}"));
    let events = match all_events.list(&about_node).await {
        Ok(list) => list.items,
        // A server without field selectors on events: the node's picked out here.
        Err(kube::Error::Api(s)) if s.code == 400 => {
            let all = all_events.list(&ListParams::default()).await.map_err(api_error)?.items;
            all.into_iter()
                .filter(|e| e.involved_object.kind.as_deref() == Some("Node") && e.involved_object.name.as_deref() == Some(node))
                .collect()
        }
        Err(e) => return Err(api_error(e)),
    };
    let mut events = events;
    for namespace in namespaces {
        let in_namespace: Api<Event> = Api::namespaced(client.clone(), namespace);
        events.extend(in_namespace.list(&ListParams::default()).await.map_err(api_error)?.items);
    }
    for e in events {
        let o = &e.involved_object;
        let object = match &o.namespace {
            Some(ns) if !ns.is_empty() => format!("{}/{}", ns, o.name.as_deref().unwrap_or("")),
            _ => o.name.clone().unwrap_or_default(),
        };
        lines.push(format!(
            "event {} {} {object}: {}",
            e.type_.as_deref().unwrap_or(""),
            e.reason.as_deref().unwrap_or(""),
            e.message.as_deref().unwrap_or("")
        ));
    }
    for namespace in namespaces {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        for p in pods.list(&ListParams::default()).await.map_err(api_error)?.items {
            let mirror = p.metadata.annotations.as_ref().is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
            if let (true, Some(s)) = (mirror, &p.status) {
                let name = p.metadata.name.as_deref().unwrap_or("");
                let (reason, message) = (s.reason.as_deref().unwrap_or(""), s.message.as_deref().unwrap_or(""));
                lines.push(format!("mirror pod {namespace}/{name}: {} {reason} {message}", phase(&p)));
            }
        }
    }
    let pattern = query_value(&regex::escape(mentioning));
    let query = http::Request::get(format!("/api/v1/nodes/{node}/proxy/logs/?query=kubelet&pattern={pattern}"))
        .body(Vec::new())
        .map_err(KubeError::from)?;
    // A kubelet without the log query (or a server without the node proxy's logs) has none.
    if let Ok(text) = client.request_text(query).await {
        lines.extend(text.lines().map(str::to_string));
    }
    Ok(lines)
}

/// A query parameter's value, percent-encoded (all but RFC 3986's unreserved characters).
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_pod_path_from_configz() {
        let configz = r#"{"kubeletconfig":{"staticPodPath":"/etc/kubernetes/manifests","syncFrequency":"1m0s"}}"#;
        assert_eq!(parse_static_pod_path(configz).as_deref(), Some("/etc/kubernetes/manifests"));
        assert_eq!(parse_static_pod_path(r#"{"kubeletconfig":{"staticPodPath":""}}"#), None);
        assert_eq!(parse_static_pod_path("not json"), None);
    }

    #[test]
    fn a_log_pattern_is_escaped_and_encoded() {
        assert_eq!(query_value(&regex::escape("web-node.yaml & a+b")), "web%5C-node%5C.yaml%20%5C%26%20a%5C%2Bb");
    }

    #[test]
    fn only_plain_manifest_names() {
        assert!(check_file_name("web.yaml").is_ok());
        for bad in ["", ".", "..", "../etc/passwd", "a/b"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
