//! Containers: CreateContainer, StartContainer, StopContainer, RemoveContainer, ContainerStatus
//! and ListContainers, with the container configuration the kubelet sends: metadata with the
//! attempt, the image as the manifest names it, command, args, env, working directory, mounts
//! (the kubelet's emptyDir directories and /etc/hosts on the node), labels, and a CRI log file
//! `<container>/<attempt>.log` under the pod's log directory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use super::runtime_v1 as cri;

use super::sandbox::{namespace_option, POD_NAME, POD_NAMESPACE, POD_UID};
use super::CriRuntime;
use crate::cri::{
    ContainerConfig, ContainerId, ContainerState, ContainerStatus, LinuxContainerResources, LinuxContainerSecurity, RuntimeError,
    RuntimeResult, SandboxId, SeccompProfile,
};

/// The kubelet's label naming the container (pkg/kubelet/types/labels.go).
const CONTAINER_NAME: &str = "io.kubernetes.container.name";
/// The kubelet's annotation with the container's restart count.
const RESTART_COUNT: &str = "io.kubernetes.container.restartCount";

/// The CRI configuration of a container, as the kubelet's `generateContainerConfig` fills it in.
pub(super) fn container_config(sandbox: &cri::PodSandboxConfig, config: &ContainerConfig) -> cri::ContainerConfig {
    let mut labels: HashMap<String, String> = sandbox
        .labels
        .iter()
        .filter(|(k, _)| [POD_NAME, POD_NAMESPACE, POD_UID, super::RUN_LABEL, super::OWNER_LABEL].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.insert(CONTAINER_NAME.into(), config.name.clone());
    let annotations = [(RESTART_COUNT.to_string(), config.attempt.to_string())].into_iter().collect();
    cri::ContainerConfig {
        metadata: Some(cri::ContainerMetadata { name: config.name.clone(), attempt: config.attempt }),
        image: Some(cri::ImageSpec { image: config.image.clone(), user_specified_image: config.image.clone(), ..Default::default() }),
        command: config.command.clone(),
        args: config.args.clone(),
        working_dir: config.working_dir.clone().unwrap_or_default(),
        stdin: config.stdin,
        stdin_once: config.stdin_once,
        tty: config.tty,
        envs: config.env.iter().map(|(key, value)| cri::KeyValue { key: key.clone(), value: value.clone() }).collect(),
        mounts: config
            .mounts
            .iter()
            .map(|m| cri::Mount {
                container_path: m.destination.clone(),
                // A subPath comes bound by the kubelet onto a path of its own (the runtime
                // does not resolve one; see `resolves_sub_paths`): the source is that path.
                host_path: m.source.display().to_string(),
                readonly: m.readonly,
                ..Default::default()
            })
            .collect(),
        labels,
        annotations,
        log_path: log_path(config),
        linux: Some(cri::LinuxContainerConfig {
            security_context: Some(security(&config.security)),
            resources: Some(resources(&config.resources)),
        }),
        ..Default::default()
    }
}

/// The container's security context in the CRI's terms (capability names as Kubernetes writes
/// them; the runtime adds `CAP_`).
fn security(s: &LinuxContainerSecurity) -> cri::LinuxContainerSecurityContext {
    cri::LinuxContainerSecurityContext {
        capabilities: Some(cri::Capability {
            add_capabilities: s.add_capabilities.clone(),
            drop_capabilities: s.drop_capabilities.clone(),
            ..Default::default()
        }),
        privileged: s.privileged,
        namespace_options: Some(namespace_option(&s.namespaces)),
        run_as_user: s.run_as_user.map(|value| cri::Int64Value { value }),
        run_as_group: s.run_as_group.map(|value| cri::Int64Value { value }),
        readonly_rootfs: s.readonly_rootfs,
        supplemental_groups: s.supplemental_groups.clone(),
        no_new_privs: s.no_new_privs,
        seccomp: Some(cri::SecurityProfile {
            profile_type: match s.seccomp {
                SeccompProfile::Unconfined => cri::security_profile::ProfileType::Unconfined,
                SeccompProfile::RuntimeDefault => cri::security_profile::ProfileType::RuntimeDefault,
            } as i32,
            ..Default::default()
        }),
        // The kubelet sends /proc's masked and read-only paths; the runtime applies what it is sent.
        masked_paths: if s.privileged { vec![] } else { crate::cri::MASKED_PATHS.iter().map(|p| p.to_string()).collect() },
        readonly_paths: if s.privileged { vec![] } else { crate::cri::READONLY_PATHS.iter().map(|p| p.to_string()).collect() },
        ..Default::default()
    }
}

/// The container's resources in the CRI's terms (0: not set).
fn resources(r: &LinuxContainerResources) -> cri::LinuxContainerResources {
    cri::LinuxContainerResources {
        cpu_period: r.cpu_period,
        cpu_quota: r.cpu_quota.unwrap_or(0),
        cpu_shares: r.cpu_shares.map_or(0, |s| s as i64),
        memory_limit_in_bytes: r.memory_limit_bytes.unwrap_or(0),
        ..Default::default()
    }
}

/// The kubelet's log path of one attempt, relative to the pod's log directory.
fn log_path(config: &ContainerConfig) -> String {
    format!("{}/{}.log", config.name, config.attempt)
}

pub(super) async fn create(rt: &CriRuntime, sandbox: &SandboxId, config: &ContainerConfig) -> RuntimeResult<ContainerId> {
    let sandbox_config =
        rt.sandboxes.lock().unwrap().get(sandbox).cloned().ok_or_else(|| RuntimeError::SandboxNotFound(sandbox.clone()))?;
    if let Some(m) = config.mounts.iter().find(|m| m.sub_path.is_some()) {
        // Joined, a link swapped in after the kubelet's check would be followed by the runtime.
        return Err(RuntimeError::failed(
            format!("CreateContainer {}", config.name),
            format!("the mount at {} names a subPath, which this runtime does not resolve", m.destination),
        ));
    }
    let cri_config = container_config(&sandbox_config, config);
    // The kubelet makes the container's log directory.
    let log_dir = PathBuf::from(&sandbox_config.log_directory).join(&config.name);
    std::fs::create_dir_all(&log_dir).map_err(|e| RuntimeError::io(format!("create {}", log_dir.display()), e))?;
    let operation = format!("CreateContainer {} (attempt {}) in {sandbox}", config.name, config.attempt);
    let request =
        cri::CreateContainerRequest { pod_sandbox_id: sandbox.0.clone(), config: Some(cri_config), sandbox_config: Some(sandbox_config) };
    let r = rt.call(&operation, rt.client().create_container(request)).await.map_err(|e| e.into_runtime(&operation))?;
    Ok(ContainerId(r.container_id))
}

pub(super) async fn start(rt: &CriRuntime, id: &ContainerId) -> RuntimeResult<()> {
    let operation = format!("StartContainer {id}");
    match rt.call(&operation, rt.client().start_container(cri::StartContainerRequest { container_id: id.0.clone() })).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(RuntimeError::ContainerNotFound(id.clone())),
        Err(e) => Err(e.into_runtime(operation)),
    }
}

pub(super) async fn stop(rt: &CriRuntime, id: &ContainerId, timeout: Duration) -> RuntimeResult<()> {
    let operation = format!("StopContainer {id}");
    // CRI's timeout is in whole seconds; a part of a second counts as one.
    let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    let request = cri::StopContainerRequest { container_id: id.0.clone(), timeout: secs as i64 };
    match rt.call(&operation, rt.client().stop_container(request)).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(RuntimeError::ContainerNotFound(id.clone())),
        Err(e) => Err(e.into_runtime(operation)),
    }
}

pub(super) async fn remove(rt: &CriRuntime, id: &ContainerId) -> RuntimeResult<()> {
    let operation = format!("RemoveContainer {id}");
    match rt.call(&operation, rt.client().remove_container(cri::RemoveContainerRequest { container_id: id.0.clone() })).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(RuntimeError::ContainerNotFound(id.clone())),
        Err(e) => Err(e.into_runtime(operation)),
    }
}

async fn status_response(rt: &CriRuntime, id: &ContainerId, verbose: bool) -> RuntimeResult<cri::ContainerStatusResponse> {
    let operation = format!("ContainerStatus {id}");
    match rt.call(&operation, rt.client().container_status(cri::ContainerStatusRequest { container_id: id.0.clone(), verbose })).await {
        Ok(r) => Ok(r),
        Err(e) if e.is_not_found() => Err(RuntimeError::ContainerNotFound(id.clone())),
        Err(e) => Err(e.into_runtime(operation)),
    }
}

pub(super) async fn status(rt: &CriRuntime, id: &ContainerId) -> RuntimeResult<ContainerStatus> {
    let r = status_response(rt, id, false).await?;
    let s = r.status.ok_or_else(|| RuntimeError::failed(format!("ContainerStatus {id}"), "the runtime answered without a status"))?;
    Ok(from_cri(s))
}

pub(super) async fn list(rt: &CriRuntime, sandbox: &SandboxId) -> RuntimeResult<Vec<ContainerStatus>> {
    let operation = format!("ListContainers of {sandbox}");
    let filter = cri::ContainerFilter { pod_sandbox_id: sandbox.0.clone(), ..Default::default() };
    let r = rt
        .call(&operation, rt.client().list_containers(cri::ListContainersRequest { filter: Some(filter) }))
        .await
        .map_err(|e| e.into_runtime(&operation))?;
    let mut out = Vec::with_capacity(r.containers.len());
    for c in r.containers {
        match status(rt, &ContainerId(c.id)).await {
            Ok(s) => out.push(s),
            Err(RuntimeError::ContainerNotFound(_)) => {} // removed meanwhile
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The runtime's container state as the interface's.
pub(super) fn state_of(state: i32) -> ContainerState {
    match cri::ContainerState::try_from(state) {
        Ok(cri::ContainerState::ContainerRunning) => ContainerState::Running,
        Ok(cri::ContainerState::ContainerExited) => ContainerState::Exited,
        // UNKNOWN is a container the runtime lost track of: the kubelet treats it as not running.
        Ok(cri::ContainerState::ContainerUnknown) => ContainerState::Exited,
        _ => ContainerState::Created,
    }
}

fn time(nanos: i64) -> Option<Timestamp> {
    (nanos > 0).then(|| Timestamp::from_nanosecond(nanos.into()).ok()).flatten()
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

pub(super) fn from_cri(s: cri::ContainerStatus) -> ContainerStatus {
    let state = state_of(s.state);
    let metadata = s.metadata.unwrap_or_default();
    let image = s.image.map(|i| if i.user_specified_image.is_empty() { i.image } else { i.user_specified_image }).unwrap_or_default();
    ContainerStatus {
        id: ContainerId(s.id),
        name: metadata.name,
        attempt: metadata.attempt,
        image,
        state,
        pid: None,
        created_at: time(s.created_at).unwrap_or_else(Timestamp::now),
        started_at: time(s.started_at),
        finished_at: time(s.finished_at),
        exit_code: (state == ContainerState::Exited).then_some(s.exit_code),
        reason: non_empty(s.reason),
        message: non_empty(s.message),
        log_path: PathBuf::from(s.log_path),
    }
}

/// The node's side of a crash: SIGKILL to the container's main process, found by the PID the
/// runtime's verbose status reports (`info.pid`, as containerd and CRI-O give it).
pub(super) async fn kill_main_process(rt: &CriRuntime, id: &ContainerId) -> RuntimeResult<()> {
    let r = status_response(rt, id, true).await?;
    let running = r.status.as_ref().is_some_and(|s| state_of(s.state) == ContainerState::Running);
    if !running {
        return Err(RuntimeError::ContainerNotRunning(id.clone()));
    }
    let pid = r
        .info
        .get("info")
        .and_then(|info| serde_json::from_str::<serde_json::Value>(info).ok())
        .and_then(|v| v.get("pid").and_then(serde_json::Value::as_i64))
        .filter(|pid| *pid > 1)
        .ok_or_else(|| RuntimeError::failed(format!("kill container {id}"), "the runtime's verbose ContainerStatus has no info.pid"))?;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL)
        .map_err(|_| RuntimeError::ContainerNotRunning(id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cri::Mount;

    fn sandbox() -> cri::PodSandboxConfig {
        cri::PodSandboxConfig {
            labels: [(POD_NAME, "web"), (POD_NAMESPACE, "ns"), (POD_UID, "u1"), (super::super::RUN_LABEL, "run1"), ("other", "x")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            log_directory: "/logs/ns_web_u1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_container_config_is_the_kubelets() {
        let config = ContainerConfig {
            name: "app".into(),
            attempt: 2,
            image: "busybox:1.36".into(),
            command: vec!["sh".into()],
            args: vec!["-c".into(), "true".into()],
            env: vec![("A".into(), "1".into())],
            working_dir: None,
            mounts: vec![Mount {
                source: "/node/pods/u1/etc-hosts".into(),
                destination: "/etc/hosts".into(),
                readonly: false,
                file: true,
                sub_path: None,
            }],
            security: LinuxContainerSecurity {
                drop_capabilities: vec!["ALL".into()],
                run_as_user: Some(1000),
                readonly_rootfs: true,
                ..Default::default()
            },
            resources: LinuxContainerResources { memory_limit_bytes: Some(64 << 20), cpu_period: 100_000, ..Default::default() },
            stdin: true,
            stdin_once: true,
            tty: false,
        };
        let c = container_config(&sandbox(), &config);
        assert_eq!(c.metadata, Some(cri::ContainerMetadata { name: "app".into(), attempt: 2 }));
        assert_eq!(c.image.as_ref().unwrap().image, "busybox:1.36", "the image as the manifest names it");
        assert_eq!(c.log_path, "app/2.log");
        assert_eq!((c.stdin, c.stdin_once), (true, true));
        assert_eq!(c.labels.get(CONTAINER_NAME).map(String::as_str), Some("app"));
        assert_eq!(c.labels.get(POD_UID).map(String::as_str), Some("u1"));
        assert!(!c.labels.contains_key("other"));
        assert_eq!(c.annotations.get(RESTART_COUNT).map(String::as_str), Some("2"));
        assert_eq!(c.mounts[0].host_path, "/node/pods/u1/etc-hosts");
        assert_eq!(c.mounts[0].container_path, "/etc/hosts");
        assert_eq!(c.envs, vec![cri::KeyValue { key: "A".into(), value: "1".into() }]);
        let linux = c.linux.unwrap();
        let sc = linux.security_context.unwrap();
        assert_eq!(sc.capabilities.unwrap().drop_capabilities, vec!["ALL"]);
        assert_eq!(sc.run_as_user, Some(cri::Int64Value { value: 1000 }));
        assert_eq!(sc.run_as_group, None);
        assert!(sc.readonly_rootfs);
        let r = linux.resources.unwrap();
        assert_eq!((r.memory_limit_in_bytes, r.cpu_period, r.cpu_quota), (64 << 20, 100_000, 0));
        let ns = sc.namespace_options.unwrap();
        assert_eq!(
            (ns.network, ns.pid, ns.ipc),
            (cri::NamespaceMode::Pod as i32, cri::NamespaceMode::Container as i32, cri::NamespaceMode::Pod as i32)
        );
    }

    #[test]
    fn an_ephemeral_containers_target_is_the_cri_target_namespace_mode() {
        let mut security = LinuxContainerSecurity::default();
        security.namespaces.pid = crate::cri::NamespaceMode::Target;
        security.namespaces.target_id = Some(crate::cri::ContainerId("c-app".into()));
        let config = ContainerConfig {
            name: "debugger".into(),
            attempt: 0,
            image: "busybox:1.36".into(),
            command: vec![],
            args: vec![],
            env: vec![],
            working_dir: None,
            mounts: vec![],
            security,
            resources: LinuxContainerResources::default(),
            stdin: false,
            stdin_once: false,
            tty: false,
        };
        let ns = container_config(&sandbox(), &config).linux.unwrap().security_context.unwrap().namespace_options.unwrap();
        assert_eq!((ns.pid, ns.target_id.as_str()), (cri::NamespaceMode::Target as i32, "c-app"));
    }

    #[test]
    fn an_exited_status_keeps_the_runtimes_reason_and_times() {
        let s = from_cri(cri::ContainerStatus {
            id: "c1".into(),
            metadata: Some(cri::ContainerMetadata { name: "app".into(), attempt: 1 }),
            state: cri::ContainerState::ContainerExited as i32,
            created_at: 1_000_000_000,
            started_at: 2_000_000_000,
            finished_at: 3_000_000_000,
            exit_code: 137,
            reason: "OOMKilled".into(),
            log_path: "/logs/ns_web_u1/app/1.log".into(),
            ..Default::default()
        });
        assert_eq!(s.state, ContainerState::Exited);
        assert_eq!(s.exit_code, Some(137));
        assert_eq!(s.reason.as_deref(), Some("OOMKilled"));
        assert_eq!(s.message, None);
        assert_eq!(s.started_at.unwrap().as_second(), 2);
        assert_eq!(s.attempt, 1);
    }

    #[test]
    fn a_running_status_has_no_exit_code() {
        let s = from_cri(cri::ContainerStatus { state: cri::ContainerState::ContainerRunning as i32, ..Default::default() });
        assert_eq!((s.state, s.exit_code, s.finished_at), (ContainerState::Running, None, None));
    }
}
