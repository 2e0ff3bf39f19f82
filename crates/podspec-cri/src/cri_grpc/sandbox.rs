//! Pod sandboxes: RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, with the
//! sandbox configuration the kubelet sends (metadata, hostname, log directory, labels, the
//! pod's namespaces). The pod's IP is the one the runtime's CNI gave it.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::runtime_v1 as cri;

use super::{CriRuntime, OWNER_LABEL, RUN_LABEL};
use crate::cri::{NamespaceMode, NamespaceOptions, PodSandboxConfig, PodSandboxStatus, RuntimeError, RuntimeResult, SandboxId};

/// The kubelet's labels of a pod's sandbox and containers (pkg/kubelet/types/labels.go).
pub(super) const POD_NAME: &str = "io.kubernetes.pod.name";
pub(super) const POD_NAMESPACE: &str = "io.kubernetes.pod.namespace";
pub(super) const POD_UID: &str = "io.kubernetes.pod.uid";

/// The interface's namespace options in the CRI's terms.
pub(super) fn namespace_option(ns: &NamespaceOptions) -> cri::NamespaceOption {
    let mode = |m: NamespaceMode| match m {
        NamespaceMode::Pod => cri::NamespaceMode::Pod as i32,
        NamespaceMode::Container => cri::NamespaceMode::Container as i32,
        NamespaceMode::Node => cri::NamespaceMode::Node as i32,
        NamespaceMode::Target => cri::NamespaceMode::Target as i32,
    };
    let target_id = ns.target_id.as_ref().map(|id| id.0.clone()).unwrap_or_default();
    cri::NamespaceOption { network: mode(ns.network), pid: mode(ns.pid), ipc: mode(ns.ipc), target_id, ..Default::default() }
}

/// The CRI configuration of a sandbox, as the kubelet's `generatePodSandboxConfig` fills it in.
pub(super) fn sandbox_config(rt: &CriRuntime, config: &PodSandboxConfig) -> cri::PodSandboxConfig {
    let mut labels = rt.run_labels();
    labels.insert(POD_NAME.into(), config.name.clone());
    labels.insert(POD_NAMESPACE.into(), config.namespace.clone());
    labels.insert(POD_UID.into(), config.uid.clone());
    // The kubelet's /var/log/pods/<namespace>_<name>_<uid>.
    let log_directory = rt.log_root.join(format!("{}_{}_{}", config.namespace, config.name, config.uid));
    cri::PodSandboxConfig {
        metadata: Some(cri::PodSandboxMetadata {
            name: config.name.clone(),
            uid: config.uid.clone(),
            namespace: config.namespace.clone(),
            attempt: 0,
        }),
        // The kubelet names only a sandbox with a UTS namespace of its own (not hostNetwork).
        hostname: if config.namespaces.network == NamespaceMode::Node { String::new() } else { config.hostname.clone() },
        log_directory: log_directory.display().to_string(),
        labels,
        linux: Some(cri::LinuxPodSandboxConfig {
            security_context: Some(cri::LinuxSandboxSecurityContext {
                namespace_options: Some(namespace_option(&config.namespaces)),
                privileged: config.privileged,
                ..Default::default()
            }),
            sysctls: config.sysctls.iter().cloned().collect(),
            cgroup_parent: config.cgroup_parent.clone().unwrap_or_default(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The handler asked for: the pod's RuntimeClass's, else the one the runtime was set up with
/// (`--runtime-handler`, the default for pods that name no class).
fn handler_for(rt: &CriRuntime, config: &PodSandboxConfig) -> String {
    if config.runtime_handler.is_empty() {
        rt.runtime_handler.clone()
    } else {
        config.runtime_handler.clone()
    }
}

pub(super) async fn run(rt: &CriRuntime, config: &PodSandboxConfig) -> RuntimeResult<SandboxId> {
    // A CRI runtime's node is this machine: its IPC namespace is the machine's own, and what a
    // pod leaves there (SysV objects) would outlive the run. podspec never touches the machine.
    if config.namespaces.ipc == NamespaceMode::Node {
        return Err(RuntimeError::failed(
            format!("RunPodSandbox {}/{}", config.namespace, config.name),
            "podspec refuses hostIPC on a CRI runtime: the node's IPC namespace is this machine's own, and podspec never changes the machine",
        ));
    }
    let cri_config = sandbox_config(rt, config);
    // The kubelet makes the pod's log directory before it asks for the sandbox.
    std::fs::create_dir_all(&cri_config.log_directory)
        .map_err(|e| RuntimeError::io(format!("create the pod's log directory {}", cri_config.log_directory), e))?;
    let operation = format!("RunPodSandbox {}/{}", config.namespace, config.name);
    let request = cri::RunPodSandboxRequest { config: Some(cri_config.clone()), runtime_handler: handler_for(rt, config) };
    let r = rt.call(&operation, rt.client().run_pod_sandbox(request)).await.map_err(|e| e.into_runtime(&operation))?;
    let id = SandboxId(r.pod_sandbox_id);
    rt.sandboxes.lock().unwrap().insert(id.clone(), cri_config);
    Ok(id)
}

pub(super) async fn stop(rt: &CriRuntime, id: &SandboxId) -> RuntimeResult<()> {
    let operation = format!("StopPodSandbox {id}");
    match rt.call(&operation, rt.client().stop_pod_sandbox(cri::StopPodSandboxRequest { pod_sandbox_id: id.0.clone() })).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(RuntimeError::SandboxNotFound(id.clone())),
        Err(e) => Err(e.into_runtime(operation)),
    }
}

pub(super) async fn remove(rt: &CriRuntime, id: &SandboxId) -> RuntimeResult<()> {
    let operation = format!("RemovePodSandbox {id}");
    let r = rt.call(&operation, rt.client().remove_pod_sandbox(cri::RemovePodSandboxRequest { pod_sandbox_id: id.0.clone() })).await;
    let config = rt.sandboxes.lock().unwrap().remove(id);
    // The kubelet removes the pod's logs with the pod.
    if let Some(c) = config {
        let _ = tokio::fs::remove_dir_all(&c.log_directory).await;
    }
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(RuntimeError::SandboxNotFound(id.clone())),
        Err(e) => Err(e.into_runtime(operation)),
    }
}

pub(super) async fn status(rt: &CriRuntime, id: &SandboxId) -> RuntimeResult<PodSandboxStatus> {
    let operation = format!("PodSandboxStatus {id}");
    let request = cri::PodSandboxStatusRequest { pod_sandbox_id: id.0.clone(), verbose: false };
    let r = match rt.call(&operation, rt.client().pod_sandbox_status(request)).await {
        Ok(r) => r,
        Err(e) if e.is_not_found() => return Err(RuntimeError::SandboxNotFound(id.clone())),
        Err(e) => return Err(e.into_runtime(operation)),
    };
    let status = r.status.ok_or_else(|| RuntimeError::failed(&operation, "the runtime answered without a status"))?;
    let ip_text = status.network.map(|n| n.ip).unwrap_or_default();
    let host_network =
        status.linux.and_then(|l| l.namespaces).and_then(|n| n.options).is_some_and(|o| o.network == cri::NamespaceMode::Node as i32);
    if ip_text.is_empty() && host_network {
        // A sandbox in the node's network has no IP of its own: the pod's is the node's, as
        // the kubelet reports it.
        return Ok(PodSandboxStatus { id: id.clone(), ready: status.state == cri::PodSandboxState::SandboxReady as i32, ip: rt.node_ip });
    }
    let ip: Ipv4Addr = ip_text
        .parse()
        .map_err(|_| RuntimeError::failed(&operation, format!("the sandbox has no IPv4 address (network.ip {ip_text:?})")))?;
    Ok(PodSandboxStatus { id: id.clone(), ready: status.state == cri::PodSandboxState::SandboxReady as i32, ip })
}

/// Stops and removes every sandbox of this run (and with them their containers), including
/// those of pods the kubelet did not get to tear down.
pub(super) async fn remove_run(rt: &CriRuntime) -> RuntimeResult<()> {
    let selector: HashMap<String, String> = [(RUN_LABEL.to_string(), rt.run_id.clone())].into_iter().collect();
    let request = cri::ListPodSandboxRequest { filter: Some(cri::PodSandboxFilter { label_selector: selector, ..Default::default() }) };
    let operation = "ListPodSandbox of this run";
    let list = rt.call(operation, rt.client().list_pod_sandbox(request)).await.map_err(|e| e.into_runtime(operation))?;
    stop_and_remove(rt, list.items.into_iter().map(|s| SandboxId(s.id)).collect()).await
}

/// Stops and removes the sandboxes of other podspec runs whose owner is gone.
pub(super) async fn remove_orphans(rt: &CriRuntime, is_gone: impl Fn(&str) -> bool) -> RuntimeResult<Vec<SandboxId>> {
    let operation = "ListPodSandbox";
    let list = rt
        .call(operation, rt.client().list_pod_sandbox(cri::ListPodSandboxRequest { filter: None }))
        .await
        .map_err(|e| e.into_runtime(operation))?;
    let orphans: Vec<SandboxId> = list
        .items
        .into_iter()
        .filter(|s| s.labels.get(RUN_LABEL).is_some_and(|run| *run != rt.run_id))
        .filter(|s| s.labels.get(OWNER_LABEL).is_some_and(|owner| is_gone(owner)))
        .map(|s| SandboxId(s.id))
        .collect();
    stop_and_remove(rt, orphans.clone()).await?;
    Ok(orphans)
}

async fn stop_and_remove(rt: &CriRuntime, ids: Vec<SandboxId>) -> RuntimeResult<()> {
    let mut first_error = None;
    for id in ids {
        // A run killed while a container was starting leaves it "starting" for a moment, and the
        // runtime refuses to remove it until then: stop and remove again, for up to 10 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let r = loop {
            let r = match stop(rt, &id).await {
                Ok(()) | Err(RuntimeError::SandboxNotFound(_)) => remove(rt, &id).await,
                Err(e) => Err(e),
            };
            match &r {
                Err(e) if e.to_string().contains("starting state") && std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                _ => break r,
            }
        };
        match r {
            Ok(()) | Err(RuntimeError::SandboxNotFound(_)) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}
