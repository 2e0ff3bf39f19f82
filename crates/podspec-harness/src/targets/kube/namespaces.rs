//! A namespace per scenario, labelled with the run and its owner, deleted after the scenario
//! whatever its end; `podspec clean --target kube` deletes those of runs whose owner is gone.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::Client;

use crate::runtime::linux::process::ProcessId;
use crate::targets::{TargetError, TargetResult};

use super::error::{api_error, KubeError};

pub const RUN_LABEL: &str = "podspec.io/run";
pub const HOST_LABEL: &str = "podspec.io/owner-host";
pub const PID_LABEL: &str = "podspec.io/owner-pid";
pub const START_LABEL: &str = "podspec.io/owner-start";

/// The process that owns a run's namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub process: ProcessId,
}

impl Owner {
    pub fn current() -> TargetResult<Self> {
        let process = ProcessId::of(std::process::id() as i32).ok_or(TargetError::OwnProcess)?;
        Ok(Self { host: host_name(), process })
    }

    pub fn labels(&self, run: &str) -> BTreeMap<String, String> {
        [
            (RUN_LABEL, run.to_string()),
            (HOST_LABEL, label_value(&self.host)),
            (PID_LABEL, self.process.pid.to_string()),
            (START_LABEL, self.process.start_time.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    pub fn from_labels(labels: &BTreeMap<String, String>) -> Option<Self> {
        let pid = labels.get(PID_LABEL)?.parse().ok()?;
        let start_time = labels.get(START_LABEL)?.parse().ok()?;
        Some(Self { host: labels.get(HOST_LABEL)?.clone(), process: ProcessId { pid, start_time } })
    }

    /// Whether the owner is known to be gone: it ran on this host and that process (PID and
    /// start time) no longer exists. An owner on another host is never presumed gone.
    pub fn is_gone(&self) -> bool {
        self.host == label_value(&host_name()) && !self.process.is_alive()
    }
}

fn host_name() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "unknown".into())
}

/// A label value: at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric.
pub fn label_value(text: &str) -> String {
    let mut v: String = text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '-' }).collect();
    v.truncate(63);
    v.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

pub async fn create(client: &Client, name: &str, labels: BTreeMap<String, String>) -> TargetResult<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns =
        Namespace { metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels), ..Default::default() }, ..Default::default() };
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(api_error(e)),
    }
}

/// Deletes a namespace and waits until it is gone, up to `bound`. One that will not go is an
/// error saying what holds it (its pods still there, and their state).
pub async fn delete(client: &Client, name: &str, bound: Duration) -> TargetResult<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let uid = match api.delete(name, &DeleteParams::background()).await {
        Ok(either) => either.left().and_then(|ns| ns.metadata.uid),
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(api_error(e)),
    };
    let uid = uid.unwrap_or_default();
    // Read until it is gone (or a namespace of that name with another uid stands there): a GET
    // every 100 ms works against every API server, where a watch of namespaces may not.
    let gone = async {
        loop {
            match api.get_opt(name).await {
                Ok(None) => return Ok(()),
                Ok(Some(ns)) if ns.metadata.uid.as_deref() != Some(uid.as_str()) => return Ok(()),
                Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => return Err(e),
            }
        }
    };
    match tokio::time::timeout(bound, gone).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(KubeError::Request { what: format!("waiting for namespace {name} to be deleted"), source: e }.into()),
        Err(_) => Err(KubeError::NamespaceHeld { name: name.to_string(), after: bound, holders: holders(client, name).await }.into()),
    }
}

/// What keeps a namespace: its pods (with their phase, deletion and finalizers), and the
/// namespace's own conditions.
pub async fn holders(client: &Client, name: &str) -> String {
    let mut held = Vec::new();
    if let Ok(pods) = Api::<Pod>::namespaced(client.clone(), name).list(&ListParams::default()).await {
        for p in pods.items {
            let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
            let deleting = if p.metadata.deletion_timestamp.is_some() { ", terminating" } else { "" };
            let finalizers = p.metadata.finalizers.unwrap_or_default();
            let finalizers = if finalizers.is_empty() { String::new() } else { format!(", finalizers {}", finalizers.join(",")) };
            held.push(format!("pod {} ({phase}{deleting}{finalizers})", p.metadata.name.unwrap_or_default()));
        }
    }
    if let Ok(ns) = Api::<Namespace>::all(client.clone()).get(name).await {
        for c in ns.status.and_then(|s| s.conditions).unwrap_or_default() {
            if c.status == "True" {
                held.push(format!("condition {}: {}", c.type_, c.message.unwrap_or_default()));
            }
        }
    }
    if held.is_empty() {
        "nothing podspec can see".into()
    } else {
        held.join("; ")
    }
}

/// What `podspec clean --target kube` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Namespaces of runs whose owner is gone.
    Stale,
    /// Every podspec namespace.
    All,
}

/// The podspec namespaces `select` chooses.
pub async fn list(client: &Client, select: Select) -> TargetResult<Vec<String>> {
    let api: Api<Namespace> = Api::all(client.clone());
    let listed = api.list(&ListParams::default().labels(RUN_LABEL)).await.map_err(api_error)?;
    // The label is checked here too: a server that ignores the selector (podspec serve's
    // namespace list does) must not make `--all` reach `default` or `kube-system`.
    Ok(listed
        .items
        .into_iter()
        .filter(|ns| ns.metadata.labels.as_ref().is_some_and(|l| l.contains_key(RUN_LABEL)))
        .filter(|ns| select == Select::All || ns.metadata.labels.as_ref().and_then(Owner::from_labels).is_some_and(|o| o.is_gone()))
        .filter_map(|ns| ns.metadata.name)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_labels_round_trip() {
        let owner = Owner { host: "build-1".into(), process: ProcessId { pid: 42, start_time: 777 } };
        let labels = owner.labels("42-1700000000000");
        assert_eq!(labels[RUN_LABEL], "42-1700000000000");
        assert_eq!(Owner::from_labels(&labels), Some(owner));
    }

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("my host.example!"), "my-host.example");
        assert_eq!(label_value(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn a_dead_local_owner_is_gone_a_remote_one_never() {
        let here = Owner::current().unwrap();
        assert!(!here.is_gone());
        let dead = Owner { host: here.host.clone(), process: ProcessId { pid: here.process.pid, start_time: here.process.start_time + 1 } };
        assert!(dead.is_gone());
        let remote = Owner { host: "elsewhere-host".into(), process: dead.process };
        assert!(!remote.is_gone());
    }
}
