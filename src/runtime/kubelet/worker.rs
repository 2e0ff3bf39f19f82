//! One pod worker per pod: starts the sandbox and the containers, watches the runtime's
//! container events, restarts containers according to `restartPolicy` with back-off, and on
//! stop tears the pod down.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::hosts;
use super::Kubelet;
use crate::runtime::cri::{ContainerConfig, ContainerEvent, ContainerId, ContainerState, Mount, PodSandboxConfig, SandboxId};

/// `namespace/name` of a pod, for messages.
pub fn pod_key(pod: &Pod) -> String {
    format!("{}/{}", pod.metadata.namespace.as_deref().unwrap_or("default"), pod.metadata.name.as_deref().unwrap_or(""))
}

pub fn volume_dir(root: &Path, uid: &str, volume: &str) -> PathBuf {
    root.join("pods").join(uid).join("volumes/kubernetes.io~empty-dir").join(volume)
}

/// What the worker knows of one container of the pod across its restarts.
#[derive(Debug, Clone, Default)]
pub(super) struct ContainerRecord {
    pub name: String,
    pub image: String,
    /// The runtime's current instance, if one was created.
    pub current: Option<ContainerId>,
    pub restart_count: u32,
    /// How the previous instance ended (status `lastState.terminated`).
    pub last_termination: Option<Termination>,
    /// Why it is not running, while it is waiting (`ContainerCreating`, `CrashLoopBackOff`, ...).
    pub waiting: Option<(String, Option<String>)>,
    /// It ended and the restart policy does not bring it back.
    pub done: bool,
    /// When the pending restart is due.
    pub restart_due: Option<Instant>,
    /// When to try again to create a container that could not be created (image, config).
    pub retry_due: Option<Instant>,
}

#[derive(Debug, Clone)]
pub(super) struct Termination {
    pub exit_code: i32,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub container_id: ContainerId,
}

#[derive(Debug, Default)]
pub(super) struct WorkerState {
    pub sandbox: Option<SandboxId>,
    pub pod_ip: Option<Ipv4Addr>,
    pub start_time: Option<DateTime<Utc>>,
    pub sandbox_error: Option<String>,
    pub containers: Vec<ContainerRecord>,
}

pub struct PodWorker {
    pub(super) key: String,
    pub(super) pod: Pod,
    pub(super) uid: String,
    pub(super) kubelet: Arc<Kubelet>,
    pub(super) state: Mutex<WorkerState>,
    stop_tx: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl PodWorker {
    pub(super) fn start(kubelet: Arc<Kubelet>, pod: Pod) -> Arc<Self> {
        let containers = spec_containers(&pod)
            .iter()
            .map(|c| ContainerRecord {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                waiting: Some(("ContainerCreating".into(), None)),
                ..Default::default()
            })
            .collect();
        let (stop_tx, stop_rx) = watch::channel(false);
        let w = Arc::new(Self {
            key: pod_key(&pod),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            pod,
            kubelet,
            state: Mutex::new(WorkerState { containers, ..Default::default() }),
            stop_tx,
            task: Mutex::new(None),
        });
        // Subscribe before anything starts, so no exit goes unseen.
        let events = w.kubelet.runtime.container_events();
        let handle = tokio::spawn(w.clone().run(events, stop_rx));
        *w.task.lock().unwrap() = Some(handle);
        w
    }

    pub(super) fn current_container(&self, name: &str) -> Option<ContainerId> {
        self.state.lock().unwrap().containers.iter().find(|c| c.name == name).and_then(|c| c.current.clone())
    }

    pub(super) async fn status(&self) -> PodStatus {
        super::status::pod_status(self).await
    }

    /// Stops the pod and waits until it is torn down.
    pub(super) async fn stop(&self) {
        let _ = self.stop_tx.send(true);
        let handle = self.task.lock().unwrap().take();
        if let Some(h) = handle {
            let _ = h.await;
        }
    }

    fn pod_dir(&self) -> PathBuf {
        self.kubelet.config.root_dir.join("pods").join(&self.uid)
    }

    fn restart_policy(&self) -> &str {
        self.pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("Always")
    }

    fn grace_period(&self) -> Duration {
        let secs = self.pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
        Duration::from_secs(secs.max(0) as u64)
    }

    async fn run(self: Arc<Self>, mut events: broadcast::Receiver<ContainerEvent>, mut stop: watch::Receiver<bool>) {
        if let Err(e) = self.start_sandbox().await {
            tracing::warn!(pod = %self.key, error = %e, "pod sandbox failed");
            self.state.lock().unwrap().sandbox_error = Some(e);
        } else {
            let names: Vec<String> = self.state.lock().unwrap().containers.iter().map(|c| c.name.clone()).collect();
            for name in names {
                self.start_container(&name).await;
            }
        }
        loop {
            let due = self.state.lock().unwrap().containers.iter().flat_map(|c| [c.restart_due, c.retry_due]).flatten().min();
            let sleep_until = due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep_until(sleep_until) => self.restart_due_containers().await,
                ev = events.recv() => match ev {
                    Ok(ContainerEvent::Stopped { container, .. }) => self.on_container_exit(&container).await,
                    Ok(ContainerEvent::Started { .. }) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => self.resync().await,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        self.teardown().await;
    }

    async fn start_sandbox(&self) -> Result<(), String> {
        let meta = &self.pod.metadata;
        let spec = self.pod.spec.as_ref().ok_or("pod has no spec")?;
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
        let name = meta.name.clone().unwrap_or_default();
        let (hostname, domain) = hosts::hostname_and_domain(&name, &namespace, spec.hostname.as_deref(), spec.subdomain.as_deref());
        let config = PodSandboxConfig { name, namespace, uid: self.uid.clone(), hostname: hostname.clone() };
        let runtime = &self.kubelet.runtime;
        let sandbox = runtime.run_pod_sandbox(&config).await.map_err(|e| e.to_string())?;
        let status = runtime.pod_sandbox_status(&sandbox).await.map_err(|e| e.to_string())?;
        {
            let mut st = self.state.lock().unwrap();
            st.sandbox = Some(sandbox);
            st.pod_ip = Some(status.ip);
            st.start_time = Some(Utc::now());
        }
        let dir = self.pod_dir();
        let hosts_file = hosts::managed_hosts_file(&[status.ip], &hostname, domain.as_deref());
        let write = || -> std::io::Result<()> {
            fs::create_dir_all(&dir)?;
            fs::write(dir.join("etc-hosts"), hosts_file)?;
            for v in spec.volumes.iter().flatten() {
                fs::create_dir_all(volume_dir(&self.kubelet.config.root_dir, &self.uid, &v.name))?;
            }
            Ok(())
        };
        write().map_err(|e| format!("prepare pod directory {}: {e}", dir.display()))
    }

    fn container_spec(&self, name: &str) -> Option<&Container> {
        spec_containers(&self.pod).iter().find(|c| c.name == name)
    }

    fn container_config(&self, c: &Container, attempt: u32) -> ContainerConfig {
        let mut mounts: Vec<Mount> = Vec::new();
        let mounts_hosts = c.volume_mounts.iter().flatten().any(|m| m.mount_path == "/etc/hosts");
        if !mounts_hosts {
            mounts.push(Mount { source: self.pod_dir().join("etc-hosts"), destination: "/etc/hosts".into(), readonly: false, file: true });
        }
        for m in c.volume_mounts.iter().flatten() {
            let source = volume_dir(&self.kubelet.config.root_dir, &self.uid, &m.name);
            let source = match &m.sub_path {
                Some(sub) if !sub.is_empty() => source.join(sub),
                _ => source,
            };
            mounts.push(Mount { source, destination: m.mount_path.clone(), readonly: m.read_only.unwrap_or(false), file: false });
        }
        ContainerConfig {
            name: c.name.clone(),
            attempt,
            image: c.image.clone().unwrap_or_default(),
            command: c.command.clone().unwrap_or_default(),
            args: c.args.clone().unwrap_or_default(),
            env: c.env.iter().flatten().map(|e| (e.name.clone(), e.value.clone().unwrap_or_default())).collect(),
            working_dir: c.working_dir.clone(),
            mounts,
        }
    }

    /// Creates and starts the next instance of a container.
    async fn start_container(&self, name: &str) {
        let Some(spec) = self.container_spec(name).cloned() else { return };
        let (sandbox, attempt) = {
            let st = self.state.lock().unwrap();
            let Some(sandbox) = st.sandbox.clone() else { return };
            let rec = st.containers.iter().find(|c| c.name == name).expect("record per container");
            (sandbox, rec.restart_count)
        };
        for m in spec.volume_mounts.iter().flatten() {
            if !self.pod.spec.as_ref().and_then(|s| s.volumes.as_ref()).is_some_and(|vs| vs.iter().any(|v| v.name == m.name)) {
                self.set_waiting(name, "CreateContainerConfigError", Some(format!("volume {:?} not found in the pod's volumes", m.name)));
                return;
            }
        }
        let config = self.container_config(&spec, attempt);
        let runtime = &self.kubelet.runtime;
        if let Err(e) = self.kubelet.images.image_status(&config.image).await {
            self.set_waiting(name, "ErrImageNeverPull", Some(e.to_string()));
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
        }
        if let Err(e) = runtime.start_container(&id).await {
            // The runtime records the failure as an exit (reason StartError); its stop event
            // brings the restart policy in, as for any other exit.
            tracing::info!(pod = %self.key, container = name, error = %e, "container failed to start");
        }
    }

    /// The container could not be created: say why, and try again later, as the kubelet does.
    fn set_waiting(&self, name: &str, reason: &str, message: Option<String>) {
        let retry = self.kubelet.config.backoff.initial.min(Duration::from_secs(5));
        let mut st = self.state.lock().unwrap();
        if let Some(rec) = st.containers.iter_mut().find(|c| c.name == name) {
            rec.waiting = Some((reason.to_string(), message));
            rec.retry_due = Some(Instant::now() + retry);
        }
    }

    /// A container instance ended: record it and apply the restart policy.
    async fn on_container_exit(&self, id: &ContainerId) {
        let Ok(status) = self.kubelet.runtime.container_status(id).await else { return };
        if status.state != ContainerState::Exited {
            return;
        }
        let policy = self.restart_policy().to_string();
        let backoff = self.kubelet.config.backoff;
        let mut st = self.state.lock().unwrap();
        let Some(rec) = st.containers.iter_mut().find(|c| c.current.as_ref() == Some(id)) else { return };
        let exit_code = status.exit_code.unwrap_or(0);
        let restart = match policy.as_str() {
            "Always" => true,
            "OnFailure" => exit_code != 0,
            _ => false,
        };
        let termination = Termination {
            exit_code,
            reason: status.reason.clone().unwrap_or_else(|| if exit_code == 0 { "Completed".into() } else { "Error".into() }),
            message: status.message.clone(),
            started_at: status.started_at,
            finished_at: status.finished_at,
            container_id: id.clone(),
        };
        if restart {
            let delay = backoff.delay(rec.restart_count);
            rec.last_termination = Some(termination);
            rec.restart_due = Some(Instant::now() + delay);
            if !delay.is_zero() {
                let message = format!("back-off {}s restarting failed container={} pod={}", delay.as_secs(), rec.name, self.key);
                rec.waiting = Some(("CrashLoopBackOff".into(), Some(message)));
            }
        } else {
            rec.done = true;
        }
    }

    async fn restart_due_containers(&self) {
        let now = Instant::now();
        // Containers that could not be created are tried again as they were.
        for (name, ()) in self.take_due(now, |c| &mut c.retry_due, |_| ()) {
            self.start_container(&name).await;
        }
        // Containers that ended start a new instance with a fresh writable layer: the old
        // instance, and its layer, go.
        let restarts = self.take_due(
            now,
            |c| &mut c.restart_due,
            |c| {
                c.restart_count += 1;
                c.current.take()
            },
        );
        for (name, old) in restarts {
            if let Some(old) = old {
                let _ = self.kubelet.runtime.remove_container(&old).await;
            }
            self.start_container(&name).await;
        }
    }

    /// Clears the timers that are due, applies `on_due` to those containers, and returns their
    /// names with what `on_due` gave.
    fn take_due<T>(
        &self,
        now: Instant,
        timer: fn(&mut ContainerRecord) -> &mut Option<Instant>,
        on_due: fn(&mut ContainerRecord) -> T,
    ) -> Vec<(String, T)> {
        let mut st = self.state.lock().unwrap();
        let mut due = Vec::new();
        for c in st.containers.iter_mut() {
            if timer(c).is_some_and(|t| t <= now) {
                *timer(c) = None;
                due.push((c.name.clone(), on_due(c)));
            }
        }
        due
    }

    /// After missed events: look at every current container.
    async fn resync(&self) {
        let current: Vec<ContainerId> = self.state.lock().unwrap().containers.iter().filter_map(|c| c.current.clone()).collect();
        for id in current {
            self.on_container_exit(&id).await;
        }
    }

    async fn teardown(&self) {
        let runtime = &self.kubelet.runtime;
        let grace = self.grace_period();
        let (sandbox, current): (Option<SandboxId>, Vec<ContainerId>) = {
            let st = self.state.lock().unwrap();
            (st.sandbox.clone(), st.containers.iter().filter_map(|c| c.current.clone()).collect())
        };
        let stops = current.iter().map(|id| runtime.stop_container(id, grace));
        for r in futures::future::join_all(stops).await {
            if let Err(e) = r {
                tracing::warn!(pod = %self.key, error = %e, "stop container");
            }
        }
        if let Some(sandbox) = sandbox {
            if let Err(e) = runtime.stop_pod_sandbox(&sandbox).await {
                tracing::warn!(pod = %self.key, error = %e, "stop pod sandbox");
            }
            if let Err(e) = runtime.remove_pod_sandbox(&sandbox).await {
                tracing::warn!(pod = %self.key, error = %e, "remove pod sandbox");
            }
        }
        let dir = self.pod_dir();
        let _ = tokio::task::spawn_blocking(move || fs::remove_dir_all(dir)).await;
    }
}

pub(super) fn spec_containers(pod: &Pod) -> &[Container] {
    pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or(&[])
}
