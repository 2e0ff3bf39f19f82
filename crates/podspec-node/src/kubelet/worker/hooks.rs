//! Container lifecycle hooks (pkg/kubelet/lifecycle/handlers.go, kuberuntime_container.go):
//! postStart runs right after the container starts, before the next container starts, and a
//! failed one kills the container (`FailedPostStartHook`); preStop runs before the container is
//! sent SIGTERM and counts against its grace period. Handlers: exec, httpGet and sleep (a
//! tcpSocket handler is refused up front, as the kubelet does not run it).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, LifecycleHandler};
use tokio::time::Instant;

use super::{format_pod, PodWorker};
use podspec_api::events::{NORMAL, WARNING};
use super::prober::ProbeError;
use podspec_cri::cri::{ContainerId, RuntimeError};

/// The least grace a container keeps for its SIGTERM after its preStop hook, or after waiting
/// for its turn to stop (the kubelet's minimumGracePeriodInSeconds).
pub(super) const MIN_GRACE_AFTER_PRE_STOP: Duration = Duration::from_secs(2);
/// The longest a postStart hook may run: the kubelet sets none, but a pod worker waiting for a
/// hook that never ends would never see its pod deleted.
const POST_START_LIMIT: Duration = Duration::from_secs(300);

/// Why a lifecycle hook failed: the kubelet's message for the event (kuberuntime's
/// handlers). `command` is the hook's command joined by spaces; `pod` names the pod.
#[derive(Debug, thiserror::Error)]
enum HookError {
    #[error(
        "Exec lifecycle hook ([{command}]) for Container {container:?} in Pod {pod:?} failed - error: command '{command}' exited with {exit_code}: {output}, message: {output:?}"
    )]
    ExecExited { command: String, container: String, pod: String, exit_code: i32, output: String },
    #[error("Exec lifecycle hook ([{command}]) for Container {container:?} in Pod {pod:?} failed - error: {source}, message: \"\"")]
    Exec {
        command: String,
        container: String,
        pod: String,
        #[source]
        source: RuntimeError,
    },
    #[error("HTTP lifecycle hook ({path}) for Container {container:?} in Pod {pod:?} failed - error: {source}")]
    Http {
        path: String,
        container: String,
        pod: String,
        #[source]
        source: ProbeError,
    },
    #[error("lifecycle hook for Container {container:?} in Pod {pod:?} has no handler the node runs")]
    NoHandler { container: String, pod: String },
}

/// Runs a handler: `Err` is the kubelet's message for the event.
async fn run(w: &PodWorker, c: &Container, id: &ContainerId, h: &LifecycleHandler, timeout: Duration) -> Result<(), HookError> {
    let pod = format_pod(&w.pod());
    let container = c.name.clone();
    if let Some(exec) = &h.exec {
        let cmd = exec.command.clone().unwrap_or_default();
        let command = cmd.join(" ");
        return match w.node.runtime.exec_sync(id, &cmd, timeout).await {
            Ok(r) if r.exit_code == 0 => Ok(()),
            Ok(r) => {
                let mut out = r.stdout;
                out.extend_from_slice(&r.stderr);
                let output = String::from_utf8_lossy(&out).into_owned();
                Err(HookError::ExecExited { command, container, pod, exit_code: r.exit_code, output })
            }
            Err(source) => Err(HookError::Exec { command, container, pod, source }),
        };
    }
    if let Some(http) = &h.http_get {
        // A hook's answer is not judged by its status code: only reaching the server counts.
        let path = http.path.clone().unwrap_or_default();
        return super::prober::http_status(w, &c.name, http, timeout)
            .await
            .map(drop)
            .map_err(|source| HookError::Http { path, container, pod, source });
    }
    if let Some(sleep) = &h.sleep {
        tokio::time::sleep(Duration::from_secs(sleep.seconds.max(0) as u64).min(timeout)).await;
        return Ok(());
    }
    Err(HookError::NoHandler { container, pod })
}

/// Runs the container's postStart hook, if it has one. `false`: it failed, and the container
/// is being killed.
pub(super) async fn post_start(w: &PodWorker, c: &Container, id: &ContainerId) -> bool {
    let Some(h) = c.lifecycle.as_ref().and_then(|l| l.post_start.as_ref()) else { return true };
    let Err(e) = run(w, c, id, h, POST_START_LIMIT).await else { return true };
    let message = e.to_string();
    tracing::info!(container = %c.name, "{message}");
    w.container_event(&c.name, WARNING, "FailedPostStartHook", &message);
    w.container_event(&c.name, NORMAL, "Killing", "FailedPostStartHook");
    let grace = w.grace_period();
    if let Err(e) = w.node.runtime.stop_container(id, grace).await {
        tracing::warn!(container = %c.name, error = %e, "stop container after its postStart hook failed");
    }
    false
}

/// Runs the container's preStop hook, if it has one, for at most `grace`; returns what is left
/// of the grace period (none: it has no hook). The caller gives the SIGTERM at least
/// `MIN_GRACE_AFTER_PRE_STOP` after a hook.
pub(super) async fn pre_stop(w: &PodWorker, c: &Container, id: &ContainerId, grace: Duration) -> Option<Duration> {
    let h = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref())?;
    let start = Instant::now();
    match tokio::time::timeout(grace, run(w, c, id, h, grace)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => w.container_event(&c.name, WARNING, "FailedPreStopHook", &e.to_string()),
        Err(_) => tracing::info!(container = %c.name, "preStop hook did not end within the grace period"),
    }
    Some(grace.saturating_sub(start.elapsed()))
}
