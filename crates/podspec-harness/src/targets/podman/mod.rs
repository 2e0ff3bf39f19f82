//! The podman target: every pod is run by `podman kube play` from the scenario's own manifest
//! (`manifest` says the few things changed and why), exec is `podman exec`, status comes from
//! `podman container inspect` (`inspect`), and a pod is deleted with `podman pod stop` and
//! `podman pod rm`.
//!
//! - A crash is a SIGKILL to the container's main process (`State.Pid`); podman's own restart
//!   policy, set by kube play from the manifest's `restartPolicy`, does the rest. The target
//!   never restarts a container itself.
//! - Capabilities: none. podman has no API server (no updates, no mirror pods) and no kubelet
//!   manifest directory for static pods, so `api-server` and `node-access` are not declared.
//! - Isolation: every podman object is named `podspec-<pid>-<n>.<pod>...` and its containers are
//!   annotated with the run and its owning process (`clean`), so a run removes its own objects at
//!   its end and `podspec clean --target podman` removes only those of killed runs.
//! - Images: the fixture images are loaded with `podman load` (`images`); nothing is pulled.

pub mod clean;
pub mod cli;
pub mod config;
mod error;
pub mod images;
pub mod inspect;
pub mod manifest;
pub mod refused;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Pod;

use self::cli::{Podman, PodmanError};
pub use self::error::PodmanTargetError;
use self::inspect::ContainerInspect;
use crate::images::ImageStore;
use crate::paths::Paths;
use crate::runtime::linux::process::ProcessId;
use crate::targets::{Capability, ExecOutput, PodRef, Target, TargetError, TargetResult};

/// Where the podman target keeps its own files, under podspec's state directory.
pub fn work_dir(state_dir: &std::path::Path) -> PathBuf {
    state_dir.join("podman")
}

/// The podman command as podspec runs it: `PODSPEC_PODMAN` or `podman` on the PATH, with
/// podspec's own containers.conf unless `CONTAINERS_CONF` is set.
pub fn podman(state_dir: &std::path::Path, runtime: &config::Runtime) -> TargetResult<Podman> {
    let program = Podman::locate().ok_or(PodmanTargetError::NotInstalled)?;
    crate::paths::private_dir(state_dir)
        .map_err(|source| TargetError::Io { action: "make podspec's own", path: state_dir.to_path_buf(), source })?;
    let dir = work_dir(state_dir);
    let conf = match std::env::var_os("CONTAINERS_CONF") {
        Some(_) => None,
        None => Some(
            config::write(&dir, runtime)
                .map_err(|source| TargetError::Io { action: "write podspec's containers.conf under", path: state_dir.to_path_buf(), source })?,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|source| TargetError::Io { action: "create", path: dir.clone(), source })?;
    // podman and its conmon processes work in podspec's own directory, not the caller's.
    Ok(Podman::new(program, conf).in_dir(dir))
}

/// Removes what killed runs left in podman (`podspec clean --target podman`).
pub async fn clean_stale(state_dir: &std::path::Path, runtime: &config::Runtime) -> TargetResult<clean::CleanReport> {
    let podman = podman(state_dir, runtime)?;
    clean::clean(&podman, clean::Select::Stale).await.map_err(other)
}

/// The OCI runtime podman will use, as `podman info` reports it (`crun 1.8.1`): a runtime
/// podman cannot find, or that does not answer `--version`, fails the start, naming it.
async fn oci_runtime(podman: &Podman, runtime: &config::Runtime) -> TargetResult<String> {
    let info = podman
        .run(&["info", "--format", "{{json .Host.OCIRuntime}}"])
        .await
        .map_err(|source| PodmanTargetError::OciRuntime { runtime: runtime.name.clone(), source })?;
    let info: serde_json::Value = serde_json::from_slice(&info).map_err(|e| PodmanError::Output {
        command: podman.describe(&["info", "--format", "{{json .Host.OCIRuntime}}"]),
        message: format!("{e}: {}", String::from_utf8_lossy(&info).trim()),
    })?;
    let version = info["version"].as_str().unwrap_or_default();
    let named = version.lines().next().and_then(crate::targets::cri::oci_runtime_version);
    let name = info["name"].as_str().unwrap_or_default();
    if name != runtime.name {
        return Err(PodmanTargetError::OtherOciRuntime { runs: name.to_string(), asked: runtime.name.clone() }.into());
    }
    Ok(named.unwrap_or_else(|| format!("{name} {}", version.lines().next().unwrap_or("(no version)"))))
}

fn other(e: PodmanError) -> TargetError {
    e.into()
}

/// A pod this run created.
#[derive(Clone)]
struct Stored {
    pod: Pod,
    podman_name: String,
    /// Every container of the podman pod (infra first), learned once podman has made them all:
    /// podman keeps a container's ID across its restarts.
    container_ids: Vec<String>,
    play: Arc<Play>,
}

/// The `podman kube play` of a pod. kube play runs the init containers one after another and
/// returns only when the last has completed, so it goes on in the background: the pod is
/// created once podman has made every container, as an API server's create returns before the
/// node has run anything.
#[derive(Default)]
struct Play {
    /// podman's output, or its error, once kube play has finished.
    outcome: Mutex<Option<Result<String, PodmanError>>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Play {
    fn error(&self) -> Option<PodmanError> {
        self.outcome.lock().unwrap().as_ref().and_then(|o| o.as_ref().err().cloned())
    }

    /// Stops a kube play still running (its podman process is killed).
    fn abort(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }
}

pub struct PodmanTarget {
    podman: Podman,
    version: String,
    /// The OCI runtime podman runs the pods with, as `podman info` names it (`crun 1.8.1`).
    oci_runtime: String,
    /// Fixture reference -> podman image.
    images: BTreeMap<String, String>,
    /// While the run lives, no other run removes these images' tags.
    _images_in_use: images::ImagesInUse,
    pods: Mutex<HashMap<PodRef, Stored>>,
    run_id: String,
    owner: ProcessId,
    /// Pods are removed at once, without their grace period (the run was interrupted).
    at_once: std::sync::atomic::AtomicBool,
}

impl PodmanTarget {
    async fn exec_with(
        &self,
        pod: &PodRef,
        container: &str,
        command: &[String],
        stdin: Option<&[u8]>,
        timeout: Duration,
    ) -> TargetResult<ExecOutput> {
        let stored = self.stored(pod)?;
        let name = self.container_name(&stored, pod, container)?;
        let mut args: Vec<&str> = if stdin.is_some() { vec!["exec", "-i", &name] } else { vec!["exec", &name] };
        args.extend(command.iter().map(String::as_str));
        let out = match self.podman.output(&args, stdin, timeout).await {
            Ok(o) => o,
            Err(PodmanError::Timeout { command, after }) => return Err(TargetError::Timeout { operation: command, after }),
            Err(e) => return Err(other(e)),
        };
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // 125: podman itself failed (the command never ran).
        if out.code == 125 {
            let lower = stderr.to_ascii_lowercase();
            if lower.contains("no such container") || lower.contains("no container with name or id") {
                return Err(if self.pod_exists(&stored.podman_name).await.unwrap_or(true) {
                    TargetError::NoSuchContainer { pod: pod.clone(), container: container.into() }
                } else {
                    TargetError::NotFound(pod.clone())
                });
            }
            if lower.contains("state improper") || lower.contains("not running") {
                return Err(TargetError::NotRunning { pod: pod.clone(), container: container.into() });
            }
            return Err(PodmanError::Failed { command: self.podman.describe(&args), code: 125, stderr: stderr.trim().to_string() }.into());
        }
        Ok(ExecOutput { stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr, exit_code: out.code })
    }

    /// What the podman target can do, known without starting it (for `podspec list`): no API
    /// server, no node access.
    pub fn declared_capabilities() -> BTreeSet<Capability> {
        BTreeSet::new()
    }

    /// Checks podman, removes what killed runs left, and loads the fixture images.
    pub async fn start(paths: Paths, runtime: &config::Runtime) -> TargetResult<Self> {
        let podman = podman(&paths.state_dir, runtime)?;
        let version = podman
            .run(&["version", "--format", "{{.Client.Version}}"])
            .await
            .map(|v| String::from_utf8_lossy(&v).trim().to_string())
            .map_err(PodmanTargetError::DoesNotRun)?;
        let oci_runtime = oci_runtime(&podman, runtime).await?;
        let owner = ProcessId::of(std::process::id() as i32).ok_or(TargetError::OwnProcess)?;
        let run_id = format!("{}-{}", owner.pid, jiff::Timestamp::now().as_millisecond());
        match clean::clean(&podman, clean::Select::Stale).await {
            Ok(r) if !r.is_empty() => tracing::info!(pods = ?r.pods, volumes = ?r.volumes, "removed what killed runs left in podman"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "looking for what killed runs left in podman"),
        }
        let store = Arc::new(ImageStore::new(&paths.data_dir, &paths.agent));
        let (images, images_in_use) = images::ensure_loaded(&podman, store, &work_dir(&paths.state_dir))
            .await
            .map_err(PodmanTargetError::Images)?;
        tracing::info!(%version, %oci_runtime, run = %run_id, "podman target ready");
        Ok(Self {
            podman,
            version,
            oci_runtime,
            images,
            _images_in_use: images_in_use,
            pods: Mutex::default(),
            run_id,
            owner,
            at_once: Default::default(),
        })
    }

    /// podman's version (`podman version`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The OCI runtime podman runs the pods with, and its version (`crun 1.8.1`).
    pub fn oci_runtime(&self) -> &str {
        &self.oci_runtime
    }

    /// The podman image a fixture reference maps to.
    pub fn image_for(&self, reference: &str) -> Option<&str> {
        self.images.get(reference).map(String::as_str)
    }

    /// The podman pod name of a pod of this run.
    pub fn podman_pod_name(&self, pod: &PodRef) -> TargetResult<String> {
        Ok(self.stored(pod)?.podman_name)
    }

    /// The pod as kube play gets it, and what was changed in it.
    fn played(&self, pod: &Pod) -> TargetResult<manifest::Played> {
        manifest::for_podman(pod, |r| self.images.get(r).cloned()).map_err(|e| TargetError::ImageUnavailable {
            target: self.name().into(),
            reference: e.0,
            message: "not a podspec fixture image".into(),
        })
    }

    /// Removes a podman volume of this run unless a container still uses it (a pod of the same
    /// namespace that named the same volume: podman shares it); says whether it is gone.
    async fn remove_volume(&self, volume: &str) -> TargetResult<bool> {
        match self.podman.run(&["volume", "rm", volume]).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_no_such() => Ok(true),
            Err(e) if e.stderr().contains("being used") => Ok(false),
            Err(e) => Err(other(e)),
        }
    }

    fn stored(&self, pod: &PodRef) -> TargetResult<Stored> {
        self.pods.lock().unwrap().get(pod).cloned().ok_or_else(|| TargetError::NotFound(pod.clone()))
    }

    fn container_name(&self, stored: &Stored, pod: &PodRef, container: &str) -> TargetResult<String> {
        let spec = stored.pod.spec.as_ref();
        let known = spec.is_some_and(|s| s.containers.iter().chain(s.init_containers.iter().flatten()).any(|c| c.name == container));
        if !known {
            return Err(TargetError::NoSuchContainer { pod: pod.clone(), container: container.into() });
        }
        Ok(format!("{}-{container}", stored.podman_name))
    }

    /// `podman container inspect` of the IDs; on failure, with what podman printed of the
    /// containers it found.
    async fn inspect_containers(&self, ids: &[String]) -> Result<Vec<ContainerInspect>, (PodmanError, Vec<ContainerInspect>)> {
        let mut args = vec!["container", "inspect"];
        args.extend(ids.iter().map(String::as_str));
        let out = self.podman.output(&args, None, self.podman.timeout).await.map_err(|e| (e, Vec::new()))?;
        let parsed: Result<Vec<ContainerInspect>, _> = serde_json::from_slice(&out.stdout);
        if out.code != 0 {
            let e = PodmanError::Failed {
                command: self.podman.describe(&args),
                code: out.code,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            };
            return Err((e, parsed.unwrap_or_default()));
        }
        parsed.map_err(|e| (PodmanError::Output { command: self.podman.describe(&args), message: e.to_string() }, Vec::new()))
    }

    /// The podman pod's ID and its container IDs (infra first), once podman has made every
    /// container of the manifest. (`podman ps`, because `pod inspect` waits while kube play
    /// holds the pod, as it does while an init container runs.)
    ///
    /// Once kube play has finished, `init_ran` says so: podman removes an init container once
    /// it has run to completion, so then the pod's app containers are enough (the pod's status
    /// has no record of the init containers podman removed, and says so by their absence).
    async fn made(&self, pod: &Pod, podman_name: &str, init_ran: bool) -> Option<(String, Vec<String>)> {
        let filter = format!("pod={podman_name}");
        let listed: Vec<inspect::ContainerListed> =
            self.podman.json(&["ps", "--all", "--filter", &filter, "--format", "json"]).await.ok()?;
        let spec = pod.spec.clone().unwrap_or_default();
        let init = spec.init_containers.iter().flatten().filter(|_| !init_ran);
        let all = init.chain(&spec.containers).all(|c| {
            let name = format!("{podman_name}-{}", c.name);
            listed.iter().any(|l| l.names.contains(&name))
        });
        let pod_id = listed.first().map(|l| l.pod.clone())?;
        if !all {
            return None;
        }
        let mut listed = listed;
        listed.sort_by_key(|l| !l.is_infra);
        Some((pod_id, listed.into_iter().map(|l| l.id).collect()))
    }

    /// Whether podman still has the pod.
    async fn pod_exists(&self, podman_name: &str) -> Result<bool, PodmanError> {
        clean::pod_exists(&self.podman, podman_name).await
    }
}

fn pod_ref(pod: &Pod) -> PodRef {
    PodRef {
        namespace: pod.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
        name: pod.metadata.name.clone().unwrap_or_default(),
    }
}

/// `podman kube play` prints "Pod:\n<id>\nContainers:\n<id>...".
fn played_pod_id(stdout: &str) -> Option<String> {
    let mut lines = stdout.lines().map(str::trim);
    lines.find(|l| *l == "Pod:")?;
    lines.next().filter(|l| !l.is_empty()).map(str::to_string)
}

#[async_trait]
impl Target for PodmanTarget {
    fn name(&self) -> &str {
        "podman"
    }

    fn identity(&self) -> std::collections::BTreeMap<String, String> {
        [("runtime_name", "podman"), ("runtime_version", self.version.as_str()), ("oci_runtime", self.oci_runtime.as_str())]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn refused_fields(&self, pod: &Pod) -> Vec<crate::manifest::fields::RefusedField> {
        refused::refused(pod)
    }

    fn check_image(&self, reference: &str) -> TargetResult<()> {
        match self.images.get(reference) {
            Some(_) => Ok(()),
            None => Err(TargetError::ImageUnavailable {
                target: self.name().into(),
                reference: reference.into(),
                message: format!(
                    "podspec loads only its fixture images into podman (known: {})",
                    self.images.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            }),
        }
    }

    async fn create_pod(&self, pod: &Pod) -> TargetResult<Pod> {
        let key = pod_ref(pod);
        let podman_name = manifest::podman_pod_name(&key.namespace, &key.name);
        let played = self.played(pod)?.pod;
        let yaml = serde_yaml::to_string(&played).map_err(|source| PodmanTargetError::Yaml { pod: key.clone(), source })?;
        let mut stored = pod.clone();
        stored.metadata.namespace = Some(key.namespace.clone());
        let play = Arc::new(Play::default());
        {
            let mut pods = self.pods.lock().unwrap();
            if pods.contains_key(&key) {
                return Err(TargetError::AlreadyExists(key));
            }
            let s = Stored { pod: stored.clone(), podman_name: podman_name.clone(), container_ids: Vec::new(), play: play.clone() };
            pods.insert(key.clone(), s);
        }
        tracing::debug!(pod = %key, %podman_name, manifest = %yaml, "kube play");
        let args: Vec<String> = vec![
            "kube".into(),
            "play".into(),
            "--annotation".into(),
            format!("{}={}", clean::ANNOTATION_RUN, self.run_id),
            "--annotation".into(),
            format!("{}={}", clean::ANNOTATION_OWNER, clean::owner_annotation(&self.owner)),
            "-".into(),
        ];
        let (done_tx, mut done) = tokio::sync::watch::channel(false);
        let task = tokio::spawn({
            let (podman, play) = (self.podman.clone(), play.clone());
            async move {
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = podman.run_with_input(&argv, Some(yaml.as_bytes())).await.map(|o| String::from_utf8_lossy(&o).into_owned());
                if let Err(e) = &r {
                    tracing::info!(error = %e, "kube play failed");
                }
                *play.outcome.lock().unwrap() = Some(r);
                let _ = done_tx.send(true);
            }
        });
        *play.task.lock().unwrap() = Some(task);

        // Until kube play has finished, or podman has made every container of the pod (while an
        // init container runs).
        let deadline = tokio::time::Instant::now() + self.podman.timeout;
        let mut wait = Duration::from_secs(1);
        let mut made = None;
        loop {
            if tokio::time::timeout(wait, done.wait_for(|d| *d)).await.is_ok() {
                break;
            }
            wait = Duration::from_millis(250);
            if let Some(m) = self.made(pod, &podman_name, false).await {
                made = Some(m);
                break;
            }
            if tokio::time::Instant::now() > deadline {
                play.abort();
                break;
            }
        }
        let outcome = play.outcome.lock().unwrap().clone();
        if made.is_none() {
            made = self.made(pod, &podman_name, matches!(outcome, Some(Ok(_)))).await;
        }
        let failure = match (&outcome, &made) {
            // podman refused the name: that pod is not this run's, and is never removed.
            (Some(Err(e)), _) if e.stderr().contains("already exists") => {
                self.pods.lock().unwrap().remove(&key);
                return Err(TargetError::AlreadyExists(key));
            }
            (_, Some(_)) => None,
            (Some(Err(e)), None) => Some(other(e.clone())),
            (Some(Ok(_)), None) => Some(PodmanTargetError::NoPod(podman_name.clone()).into()),
            (None, None) => Some(TargetError::Timeout {
                operation: format!("podman kube play of pod {key} (podman did not make all its containers)"),
                after: self.podman.timeout,
            }),
        };
        if let Some(e) = failure {
            play.abort();
            if let Err(e) = clean::remove_pod(&self.podman, &podman_name, 0).await {
                tracing::warn!(pod = %podman_name, error = %e, "removing what a failed kube play made");
            }
            self.pods.lock().unwrap().remove(&key);
            return Err(e);
        }
        // podman made the pod. If kube play then failed (an init container failed, say), the pod
        // stays as podman left it, and its status says what kube play said.
        let (pod_id, ids) = made.expect("made");
        stored.metadata.uid = match &outcome {
            Some(Ok(out)) => played_pod_id(out).or(Some(pod_id)),
            _ => Some(pod_id),
        };
        if let Some(s) = self.pods.lock().unwrap().get_mut(&key) {
            s.container_ids = ids;
            s.pod.metadata.uid = stored.metadata.uid.clone();
        }
        Ok(stored)
    }

    async fn get_pod(&self, pod: &PodRef) -> TargetResult<Pod> {
        let stored = self.stored(pod)?;
        if stored.container_ids.is_empty() {
            // kube play has not returned yet: nothing runs so far.
            let mut p = stored.pod.clone();
            p.status = Some(inspect::pod_status(&p.spec.clone().unwrap_or_default(), &stored.podman_name, &[]));
            return Ok(p);
        }
        let containers = match self.inspect_containers(&stored.container_ids).await {
            Ok(c) => c,
            // kube play removes an init container once it has run: the others are still there.
            Err((e, found)) if e.is_no_such() && !found.is_empty() => found,
            Err((e, _)) if e.is_no_such() => {
                return match self.pod_exists(&stored.podman_name).await {
                    Ok(false) => Err(TargetError::NotFound(pod.clone())),
                    _ => Err(other(e)),
                };
            }
            Err((e, _)) => return Err(other(e)),
        };
        let mut p = stored.pod.clone();
        let spec = p.spec.clone().unwrap_or_default();
        let mut status = inspect::pod_status(&spec, &stored.podman_name, &containers);
        if let Some(e) = stored.play.error() {
            status.message = Some(format!("podman kube play failed: {}", e.stderr()));
        }
        p.status = Some(status);
        Ok(p)
    }

    async fn delete_pod(&self, pod: &PodRef) -> TargetResult<()> {
        let stored = self.stored(pod)?;
        stored.play.abort();
        let grace = match self.at_once.load(std::sync::atomic::Ordering::SeqCst) {
            true => 0,
            false => stored.pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30),
        };
        clean::remove_pod(&self.podman, &stored.podman_name, grace).await.map_err(other)?;
        // Everything the pod had: podman keeps a named volume after its pod, so its emptyDir
        // volumes are removed here, unless another pod of the namespace still uses one (podman
        // shares a volume between pods that name it alike): that goes with the namespace.
        for v in manifest::podman_volumes(&stored.pod) {
            if !self.remove_volume(&v).await? {
                tracing::debug!(volume = %v, "kept a volume another pod still uses");
            }
        }
        self.pods.lock().unwrap().remove(pod);
        Ok(())
    }

    fn manifest_changes(&self, pod: &Pod) -> Vec<String> {
        self.played(pod).map(|p| p.changes).unwrap_or_default()
    }

    async fn close_namespace(&self, namespace: &str) -> TargetResult<()> {
        // The volumes of the namespace's pods that were shared, once every pod is gone.
        let filter = format!("name=^{}\\.", manifest::namespace_prefix(namespace));
        let names = self.podman.run(&["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"]).await.map_err(other)?;
        let held: Vec<String> = {
            let mut held = Vec::new();
            let own = format!("{}.", manifest::namespace_prefix(namespace));
            for v in String::from_utf8_lossy(&names).lines().map(str::trim).filter(|l| l.starts_with(&own)) {
                if !self.remove_volume(v).await? {
                    held.push(v.to_string());
                }
            }
            held
        };
        if held.is_empty() {
            Ok(())
        } else {
            Err(PodmanTargetError::VolumesHeld(held).into())
        }
    }

    async fn exec(&self, pod: &PodRef, container: &str, command: &[String], timeout: Duration) -> TargetResult<ExecOutput> {
        self.exec_with(pod, container, command, None, timeout).await
    }

    /// `podman exec -i`: stdin is written, then closed.
    async fn exec_with_stdin(
        &self,
        pod: &PodRef,
        container: &str,
        command: &[String],
        stdin: &[u8],
        timeout: Duration,
    ) -> TargetResult<ExecOutput> {
        self.exec_with(pod, container, command, Some(stdin), timeout).await
    }

    /// `podman logs --timestamps` of the container: podman prints each stream on its own, each
    /// line after the time it was written; merged by those times, as the container wrote them.
    async fn logs(&self, pod: &PodRef, container: &str, previous: bool) -> TargetResult<String> {
        if previous {
            return Err(TargetError::Unsupported { target: "podman".into(), what: "the log of a container's previous instance".into() });
        }
        let stored = self.stored(pod)?;
        let name = self.container_name(&stored, pod, container)?;
        let args = ["logs", "--timestamps", name.as_str()];
        let out = match self.podman.output(&args, None, Duration::from_secs(30)).await {
            Ok(o) => o,
            Err(PodmanError::Timeout { command, after }) => return Err(TargetError::Timeout { operation: command, after }),
            Err(e) => return Err(other(e)),
        };
        if out.code != 0 {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(PodmanError::Failed { command: self.podman.describe(&args), code: out.code, stderr: stderr.trim().to_string() }.into());
        }
        Ok(merge_timestamped(&[&String::from_utf8_lossy(&out.stdout), &String::from_utf8_lossy(&out.stderr)]))
    }

    fn stop_at_once(&self) -> bool {
        self.at_once.store(true, std::sync::atomic::Ordering::SeqCst);
        true
    }

    async fn shutdown(&self) -> TargetResult<()> {
        let pods: Vec<PodRef> = self.pods.lock().unwrap().keys().cloned().collect();
        let deletions = pods.iter().map(|p| self.delete_pod(p));
        let mut errors: Vec<TargetError> = futures::future::join_all(deletions).await.into_iter().filter_map(Result::err).collect();
        // Whatever this run made that its records missed (a kube play cut short).
        if let Err(e) = clean::clean(&self.podman, clean::Select::Run(&self.run_id)).await {
            errors.push(e.into());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PodmanTargetError::RunLeft(errors).into())
        }
    }
}

/// Lines of `podman logs --timestamps` from several streams (`<RFC 3339 time> <text>`), in the
/// order of their times (a stream's own order where times are equal), without the times.
///
/// A line the container wrote in several writes that the log recorded apart (partial entries)
/// comes with the time of each part before it, on one line: `<time> /bin/sh: <time> can't
/// create ...<time> `. Those times go too, and the line keeps its first part's time.
fn merge_timestamped(streams: &[&str]) -> String {
    let mut lines: Vec<(jiff::Timestamp, usize, String)> = Vec::new();
    for (n, text) in streams.iter().enumerate() {
        for line in text.lines() {
            let (time, rest) = line.split_once(' ').unwrap_or((line, ""));
            let time = podspec_api::time::parse_rfc3339(time).unwrap_or_default();
            lines.push((time, n, without_part_times(rest)));
        }
    }
    lines.sort_by_key(|(time, _, _)| *time);
    lines.into_iter().map(|(_, _, text)| format!("{text}\n")).collect()
}

/// `text` without the times podman puts before each further part of a line: an RFC 3339 time
/// with a fraction of a second (podman's are to the nanosecond) and a space after it.
fn without_part_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let time = rest.split_once(' ').map(|(t, _)| t);
        match time {
            Some(t) if t.len() >= 20 && t.contains('.') && podspec_api::time::parse_rfc3339(t).is_ok() => {
                rest = &rest[t.len() + 1..];
            }
            _ => {
                let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
                out.push_str(&rest[..digits]);
                rest = &rest[digits..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_id_is_read_from_kube_plays_output() {
        let out = "Pod:\nec805c57085ccb9d\nContainers:\nb00d681ea8a9\nc9a76bd2ba08\n\n";
        assert_eq!(played_pod_id(out).as_deref(), Some("ec805c57085ccb9d"));
        assert_eq!(played_pod_id("nothing"), None);
    }

    #[test]
    fn streams_are_merged_by_time() {
        let out = "2026-12-01T11:00:00.1+00:00 one\n2026-12-01T11:00:00.3+00:00 three\n";
        let err = "2026-12-01T11:00:00.2+00:00 two\n";
        assert_eq!(super::merge_timestamped(&[out, err]), "one\ntwo\nthree\n");
    }

    /// A line written in parts (as busybox's shell writes its errors) that the log recorded
    /// apart: podman prints each part's time before it (seen in a CI run with crun under load).
    #[test]
    fn a_line_recorded_in_parts_is_read_whole() {
        let err = "2026-12-07T10:25:40.773667407Z /bin/sh: 2026-12-07T10:25:40.773683407Z can't create /file: Read-only file system2026-12-07T10:25:40.773697407Z \n";
        let out = "2026-12-07T10:25:40.9Z at 2026-12-07T10:25:40Z and 12:00 2026\n";
        assert_eq!(
            super::merge_timestamped(&[out, err]),
            "/bin/sh: can't create /file: Read-only file system\nat 2026-12-07T10:25:40Z and 12:00 2026\n"
        );
    }
}
