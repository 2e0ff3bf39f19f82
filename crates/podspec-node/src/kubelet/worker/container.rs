//! A container's start and stop: its config from the spec, its creation and start through the
//! runtime, and its stop with its preStop hook and grace period (kuberuntime_container.go).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Container;
use tokio::time::Instant;

use super::errors::ContainerConfigError;
use super::termination::TerminationOrder;
use super::{volume_dir, PodWorker};
use super::{hooks, prober};
use crate::kubelet::{downward, expansion, security, subpath};
use podspec_api::events::{NORMAL, WARNING};
use podspec_cri::cri::{ContainerConfig, ContainerId, ContainerState, Mount};
use podspec_fs::safe_path;

impl PodWorker {
    pub(in crate::kubelet) fn container_spec(&self, name: &str) -> Option<Container> {
        let pod = self.pod.lock().unwrap();
        let spec = pod.spec.as_ref()?;
        let found = spec.init_containers.iter().flatten().chain(spec.containers.iter()).find(|c| c.name == name).cloned();
        found.or_else(|| spec.ephemeral_containers.iter().flatten().find(|c| c.name == name).map(podspec_api::ephemeral::as_container))
    }

    /// The first field of an ephemeral container the node does not run (the field table's
    /// refusals, as the up-front check reads them), named by its path in the pod.
    pub(super) fn ephemeral_refusal(&self, name: &str) -> Option<String> {
        let pod = self.pod();
        let spec = pod.spec.as_ref()?;
        let (i, ec) = spec.ephemeral_containers.iter().flatten().enumerate().find(|(_, c)| c.name == name)?;
        let r = podspec_api::manifest::fields::refused_ephemeral(ec, i, &self.node.config.host_dirs()).into_iter().next()?;
        Some(format!("{}: the node does not run this field: {}", r.path, r.why))
    }

    /// The `targetContainerName` of an ephemeral container, if it has one.
    pub(super) fn target_of(&self, name: &str) -> Option<String> {
        let pod = self.pod.lock().unwrap();
        let spec = pod.spec.as_ref()?;
        let ec = spec.ephemeral_containers.iter().flatten().find(|c| c.name == name)?;
        ec.target_container_name.clone().filter(|t| !t.is_empty())
    }

    /// Where the kubelet keeps a container attempt's termination message file (bind-mounted at
    /// the container's `terminationMessagePath`).
    pub(super) fn termination_log(&self, container: &str, attempt: u32) -> PathBuf {
        self.pod_dir().join("containers").join(container).join(format!("termination-log-{attempt}"))
    }

    /// The message of an ended container attempt, as the kubelet reads it: the termination
    /// message file (at most 4096 bytes); when that is empty, the policy is
    /// `FallbackToLogsOnError` and the container failed, the end of its log (at most 80 lines
    /// and 2048 bytes).
    pub(in crate::kubelet) fn termination_message(&self, name: &str, attempt: u32, exit_code: i32, log_path: &Path) -> Option<String> {
        let policy = self.container_spec(name).and_then(|c| c.termination_message_policy).unwrap_or_else(|| "File".into());
        let read_limited = |path: &Path, limit: u64| -> Option<Vec<u8>> {
            use std::io::Read as _;
            let mut buf = Vec::new();
            fs::File::open(path).ok()?.take(limit).read_to_end(&mut buf).ok()?;
            Some(buf)
        };
        let message = read_limited(&self.termination_log(name, attempt), 4096).unwrap_or_default();
        if !message.is_empty() {
            return Some(String::from_utf8_lossy(&message).into_owned());
        }
        if policy != "FallbackToLogsOnError" || exit_code == 0 {
            return None;
        }
        // The last 64 KiB hold the last 80 lines of any log this is read for. Every runtime
        // writes the CRI log format.
        let log = match podspec_cri::cri_log::read_file(log_path, Some(64 * 1024)) {
            Ok(entries) => podspec_cri::cri::log_text(&entries),
            Err(e) => return Some(format!("Error on reading termination message from logs: {e}")),
        };
        let text = String::from_utf8_lossy(&log);
        let lines: Vec<&str> = text.lines().collect();
        let mut tail = lines[lines.len().saturating_sub(80)..].join("\n");
        if text.ends_with('\n') && !tail.is_empty() {
            tail.push('\n');
        }
        if tail.len() > 2048 {
            let mut cut = tail.len() - 2048;
            while !tail.is_char_boundary(cut) {
                cut += 1;
            }
            tail = tail[cut..].to_string();
        }
        (!tail.is_empty()).then_some(tail)
    }

    /// The node directory a volume mount binds: the volume's own directory under the pod's,
    /// or, for a hostPath, the node directory it names (admission checked it is the node's own).
    ///
    /// A hostPath is given as the node directory it is in and its path under it, which is
    /// resolved beneath that directory (never by its path on the machine): a pod given the node
    /// directory can swap a component of a later pod's hostPath for a link out of it.
    pub(super) fn volume_source(&self, volume: &str) -> Result<(PathBuf, Option<PathBuf>), ContainerConfigError> {
        let pod = self.pod();
        let host_path =
            pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()).find(|v| v.name == volume).and_then(|v| v.host_path.clone());
        match host_path {
            Some(source) => {
                let node_dirs = self.node.config.host_dirs();
                podspec_api::manifest::host_path::resolve(&source, &node_dirs)
                    .map_err(|source| ContainerConfigError::HostPath { volume: volume.into(), source })?;
                let path = Path::new(&source.path);
                let node_dir = node_dirs.iter().find(|d| path.starts_with(d)).expect("admitted inside a node directory");
                let rel = path.strip_prefix(node_dir).expect("under its node directory");
                Ok((node_dir.clone(), (!rel.as_os_str().is_empty()).then(|| rel.to_path_buf())))
            }
            None => Ok((self.api_data_dir(volume).unwrap_or_else(|| volume_dir(&self.node.config.root_dir, &self.uid, volume)), None)),
        }
    }

    pub(super) fn container_config(&self, c: &Container, attempt: u32) -> Result<ContainerConfig, ContainerConfigError> {
        // The environment first: a subPathExpr is expanded with it (the kubelet makes the
        // environment, then the mounts).
        let pod = self.pod();
        let runtime_env = downward::PodRuntime {
            pod: &pod,
            pod_ip: self.state.lock().unwrap().pod_ip,
            host_ip: self.node.config.node_ip,
            node_name: &self.node.config.node_name,
            allocatable: self.node.allocatable,
            objects: Some(&self.node.objects),
        };
        let from = downward::env_from(c, &runtime_env)?;
        let mut env = Vec::new();
        for e in c.env.iter().flatten() {
            if let Some(value) = downward::env_value(e, c, &runtime_env)? {
                env.push((e.name.clone(), value));
            }
        }
        // `$(VAR)` in env values (the variables before them), then in subPathExprs, command and
        // args (all).
        let env = expansion::expand_env_after(from, env);
        let mut mounts: Vec<Mount> = Vec::new();
        let mounts_hosts = c.volume_mounts.iter().flatten().any(|m| m.mount_path == "/etc/hosts");
        if !mounts_hosts {
            let source = self.pod_dir().join("etc-hosts");
            mounts.push(Mount { source, destination: "/etc/hosts".into(), readonly: false, file: true, sub_path: None });
        }
        let resolv_conf = self.pod_dir().join("resolv.conf");
        if resolv_conf.is_file() && !c.volume_mounts.iter().flatten().any(|m| m.mount_path == "/etc/resolv.conf") {
            mounts.push(Mount { source: resolv_conf, destination: "/etc/resolv.conf".into(), readonly: false, file: true, sub_path: None });
        }
        for (index, m) in c.volume_mounts.iter().flatten().enumerate() {
            let (mut source, host_rel) = self.volume_source(&m.name)?;
            let expanded = match m.sub_path_expr.as_deref().filter(|e| !e.is_empty()) {
                Some(expr) => Some(expansion::expand_sub_path_expr(expr, &env)?),
                None => None,
            };
            let sub = expanded.as_deref().or(m.sub_path.as_deref()).filter(|s| !s.is_empty());
            let sub_path = if sub.is_none() && host_rel.is_none() {
                None
            } else {
                // The volume's directory, held: a hostPath's beneath its node directory.
                let base = safe_path::open_dir(&source).map_err(|e| ContainerConfigError::OpenVolume {
                    volume: m.name.clone(),
                    path: source.clone(),
                    source: e,
                })?;
                let volume = match &host_rel {
                    Some(rel) => safe_path::open_in(&base, rel, safe_path::Scope::Beneath)
                        .map_err(|e| ContainerConfigError::OpenHostPath { volume: m.name.clone(), path: source.join(rel), source: e })?,
                    None => base,
                };
                let found = match sub {
                    Some(sub) => subpath::prepare_in(&volume, sub, &m.name, &c.name)?,
                    None => volume,
                };
                let whole = match (&host_rel, sub) {
                    (Some(rel), Some(sub)) => rel.join(sub),
                    (Some(rel), None) => rel.clone(),
                    (None, sub) => PathBuf::from(sub.unwrap_or_default()),
                };
                if self.node.runtime.resolves_sub_paths() {
                    // Resolved again by the runtime beneath `source`, where it mounts it.
                    Some(whole.to_string_lossy().into_owned())
                } else {
                    source = subpath::bind(&found, &self.pod_dir(), &m.name, &c.name, index, &m.name)?;
                    None
                }
            };
            let readonly = m.read_only.unwrap_or(false) || self.is_api_data_volume(&m.name);
            mounts.push(Mount { source, destination: m.mount_path.clone(), readonly, file: false, sub_path });
        }
        // A fresh, empty termination message file for this attempt.
        let log = self.termination_log(&c.name, attempt);
        let make_log = || -> std::io::Result<()> {
            use std::os::unix::fs::PermissionsExt as _;
            fs::create_dir_all(log.parent().expect("a parent"))?;
            fs::write(&log, b"")?;
            fs::set_permissions(&log, fs::Permissions::from_mode(0o666))
        };
        make_log().map_err(|source| ContainerConfigError::TerminationLog { path: log.clone(), source })?;
        let path = c.termination_message_path.clone().filter(|p| !p.is_empty());
        let path = path.unwrap_or_else(|| podspec_api::defaults::TERMINATION_MESSAGE_PATH.into());
        mounts.push(Mount { source: log, destination: path, readonly: false, file: true, sub_path: None });

        let lookup = |n: &str| env.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let expand_all =
            |list: &Option<Vec<String>>| -> Vec<String> { list.iter().flatten().map(|a| expansion::expand(a, lookup)).collect() };
        let (command, args) = (expand_all(&c.command), expand_all(&c.args));
        Ok(ContainerConfig {
            name: c.name.clone(),
            attempt,
            image: c.image.clone().unwrap_or_default(),
            command,
            args,
            env,
            working_dir: c.working_dir.clone(),
            mounts,
            security: security::container_security(&pod, c),
            resources: security::container_resources(c)?,
            stdin: c.stdin.unwrap_or(false),
            stdin_once: c.stdin_once.unwrap_or(false),
            tty: c.tty.unwrap_or(false),
        })
    }

    /// Creates and starts the next instance of a container.
    pub(super) async fn start_container(&self, name: &str) {
        let Some(spec) = self.container_spec(name) else { return };
        // An ephemeral container reaches the node through the API, past any up-front check: one
        // with a field the node does not run waits for good, saying which, rather than running
        // without it (it cannot change, so it is not tried again).
        if let Some(why) = self.ephemeral_refusal(name) {
            self.container_event(name, WARNING, "Failed", &format!("Error: {why}"));
            let mut st = self.state.lock().unwrap();
            if let Some(rec) = st.containers.iter_mut().find(|c| c.name == name) {
                rec.attempted = true;
                rec.waiting = Some(("CreateContainerConfigError".into(), Some(why)));
            }
            return;
        }
        let (sandbox, attempt) = {
            let mut st = self.state.lock().unwrap();
            let Some(sandbox) = st.sandbox.clone() else { return };
            let rec = st.containers.iter_mut().find(|c| c.name == name).expect("record per container");
            rec.attempted = true;
            (sandbox, rec.restart_count)
        };
        let has_volume = |m: &str| {
            self.pod.lock().unwrap().spec.as_ref().and_then(|s| s.volumes.clone()).is_some_and(|vs| vs.iter().any(|v| v.name == m))
        };
        for m in spec.volume_mounts.iter().flatten() {
            if !has_volume(&m.name) {
                self.set_waiting(name, "CreateContainerConfigError", Some(format!("volume {:?} not found in the pod's volumes", m.name)));
                return;
            }
        }
        let mut config = match self.container_config(&spec, attempt) {
            Ok(config) => config,
            Err(e) => {
                self.set_waiting(name, "CreateContainerConfigError", Some(e.to_string()));
                return;
            }
        };
        // An ephemeral container with a target shares that container's PID namespace (the
        // kubelet's NamespaceMode TARGET with the target's id).
        if let Some(target) = self.target_of(name) {
            match self.current_container(&target) {
                Some(id) if config.security.namespaces.pid == podspec_cri::cri::NamespaceMode::Container => {
                    config.security.namespaces.pid = podspec_cri::cri::NamespaceMode::Target;
                    config.security.namespaces.target_id = Some(id);
                }
                // A pod sharing one namespace already (shareProcessNamespace, hostPID) keeps it.
                Some(_) => {}
                None => {
                    self.set_waiting(name, "CreateContainerConfigError", Some(format!("target container {target:?} is not running")));
                    return;
                }
            }
        }
        let runtime = &self.node.runtime;
        let Some(image) = self.ensure_image(name, &spec, &config.image).await else { return };
        if let Err(e) = security::verify_run_as_non_root(&self.pod(), &spec, image.config.uid()) {
            self.set_waiting(name, "CreateContainerConfigError", Some(e.to_string()));
            return;
        }
        let id = match runtime.create_container(&sandbox, &config).await {
            Ok(id) => id,
            Err(e) => {
                self.set_waiting(name, "CreateContainerError", Some(e.to_string()));
                return;
            }
        };
        {
            let mut st = self.state.lock().unwrap();
            let rec = st.containers.iter_mut().find(|c| c.name == name).expect("record");
            rec.current = Some(id.clone());
            rec.waiting = None;
            rec.probe = prober::ProbeResults::for_container(&spec);
        }
        self.container_event(name, NORMAL, "Created", &format!("Created container: {name}"));
        if let Err(e) = runtime.start_container(&id).await {
            tracing::info!(pod = %self.key, container = name, error = %e, "container failed to start");
            let exited = matches!(runtime.container_status(&id).await, Ok(s) if s.state == ContainerState::Exited);
            if exited {
                // The runtime recorded the failure as an exit (reason StartError); its stop
                // event brings the restart policy in, as for any other exit.
                self.container_event(name, WARNING, "Failed", &format!("Error: {e}"));
            } else {
                // It failed before anything ran (no descriptor for the container's pipes,
                // say): the container waits in RunContainerError with the runtime's error, as
                // the kubelet's startContainer failure says it, the instance that never ran
                // goes, and the start is tried again later (issue #18: it showed only
                // ContainerCreating).
                {
                    let mut st = self.state.lock().unwrap();
                    if let Some(rec) = st.containers.iter_mut().find(|c| c.name == name && c.current.as_ref() == Some(&id)) {
                        rec.current = None;
                    }
                }
                if let Err(e) = runtime.remove_container(&id).await {
                    tracing::warn!(pod = %self.key, container = name, error = %e, "remove a container that did not start");
                }
                self.set_waiting(name, "RunContainerError", Some(e.to_string()));
            }
        } else {
            self.container_event(name, NORMAL, "Started", &format!("Started container {name}"));
            // postStart runs before the next container starts; one that fails kills this one.
            if !hooks::post_start(self, &spec, &id).await {
                return;
            }
            if let Some(me) = self.me.upgrade() {
                prober::start(&me, &spec, &id);
            }
        }
    }

    /// The container could not be created: say why (an event `Failed`, "Error: ..."), and try
    /// again later, as the kubelet does.
    pub(super) fn set_waiting(&self, name: &str, reason: &str, message: Option<String>) {
        self.container_event(name, WARNING, "Failed", &format!("Error: {}", message.as_deref().unwrap_or(reason)));
        let retry = self.node.config.backoff.initial.min(Duration::from_secs(5));
        let mut st = self.state.lock().unwrap();
        if let Some(rec) = st.containers.iter_mut().find(|c| c.name == name) {
            rec.waiting = Some((reason.to_string(), message));
            rec.retry_due = Some(Instant::now() + retry);
        }
    }

    /// Stops containers of the pod (a spec change replaces one), each with its preStop hook and
    /// the grace period, all at once.
    pub(super) async fn stop_all(&self, ids: &[ContainerId]) {
        self.stop_containers(ids, false).await
    }

    /// Stops the pod's containers as the kubelet stops a whole pod (deleted, done, past its
    /// deadline: killContainersWithSyncResult): all at once, except that the sidecars get their
    /// SIGTERM after the app containers have stopped, the last started first
    /// (`TerminationOrder`), within the one grace period.
    pub(super) async fn stop_pod(&self, ids: &[ContainerId]) {
        self.stop_containers(ids, true).await
    }

    async fn stop_containers(&self, ids: &[ContainerId], ordered: bool) {
        let grace = self.grace_period();
        let runtime = &self.node.runtime;
        let (names, order) = {
            let st = self.state.lock().unwrap();
            // Only what still runs is stopped (an ended instance stays current until replaced).
            let names: Vec<(String, ContainerId)> = st
                .containers
                .iter()
                .filter(|c| c.current.as_ref().is_some_and(|id| ids.contains(id)) && c.done.is_none() && c.restart_due.is_none())
                .filter_map(|c| Some((c.name.clone(), c.current.clone()?)))
                .collect();
            let stopping: Vec<String> = names.iter().map(|(n, _)| n.clone()).collect();
            let order = ordered.then(|| TerminationOrder::new(&st.containers, &stopping));
            (names, order)
        };
        for (name, _) in &names {
            self.container_event(name, NORMAL, "Killing", &format!("Stopping container {name}"));
        }
        // What no longer runs (or is not the pod's) is only made sure of.
        let running: Vec<&ContainerId> = names.iter().map(|(_, id)| id).collect();
        let rest: Vec<&ContainerId> = ids.iter().filter(|id| !running.contains(id)).collect();
        let (_, stopped) = futures::future::join(
            self.stop_with_hooks(&names, grace, order.as_ref()),
            futures::future::join_all(rest.iter().map(|id| runtime.stop_container(id, grace))),
        )
        .await;
        for r in stopped {
            if let Err(e) = r {
                tracing::warn!(pod = %self.key, error = %e, "stop container");
            }
        }
    }

    /// Stops running containers as the kubelet's killContainer does: each one's preStop hook
    /// first, which counts against the grace period; then, in a pod stopping as a whole, the
    /// wait for its turn (`order`), which counts against it too; then SIGTERM, and SIGKILL once
    /// what is left of the grace period has passed (at least 2 s after a hook or a wait).
    pub(super) async fn stop_with_hooks(&self, containers: &[(String, ContainerId)], grace: Duration, order: Option<&TerminationOrder>) {
        let runtime = &self.node.runtime;
        let tearing_down = self.tearing_down.load(std::sync::atomic::Ordering::SeqCst);
        let stops = containers.iter().map(|(name, id)| async move {
            if !tearing_down {
                self.probes.stop(name);
            }
            let mut left = grace;
            let mut floor = false;
            if let Some(spec) = self.container_spec(name).filter(|_| !grace.is_zero()) {
                if let Some(after_hook) = hooks::pre_stop(self, &spec, id, grace).await {
                    (left, floor) = (after_hook, true);
                }
            }
            if let Some(order) = order.filter(|_| !left.is_zero()) {
                if let Some(waited) = order.wait_for_turn(name, left).await {
                    (left, floor) = (left.saturating_sub(waited), true);
                }
            }
            if floor {
                left = left.max(hooks::MIN_GRACE_AFTER_PRE_STOP);
            }
            if let Err(e) = runtime.stop_container(id, left).await {
                tracing::warn!(pod = %self.key, container = %name, error = %e, "stop container");
            }
            if let Some(order) = order {
                order.has_stopped(name);
            }
        });
        futures::future::join_all(stops).await;
    }

    /// A liveness or startup probe failed for good: the container is killed (its preStop
    /// first), with the probe's grace period if it has one; the restart policy decides what
    /// follows, as for any exit.
    pub(in crate::kubelet) async fn kill_for_probe(&self, name: &str, id: &ContainerId, grace: Option<Duration>) {
        if self.probe_results(name, id).is_none() {
            return;
        }
        let grace = if self.node.stops_at_once() { Duration::ZERO } else { grace.unwrap_or_else(|| self.grace_period()) };
        // On a task of its own: stopping ends the container's probes, the caller among them.
        let Some(me) = self.me.upgrade() else { return };
        let target = [(name.to_string(), id.clone())];
        tokio::spawn(async move { me.stop_with_hooks(&target, grace, None).await });
    }
}
