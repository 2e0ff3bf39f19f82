//! Exec over WebSocket (the pod's `exec` subresource, `v5.channel.k8s.io`/`v4`): stdin written
//! to its channel where given (then closed: v5's close of channel 0, as `kubectl exec -i` ends
//! its input), stdout and stderr from their channels, the exit code from the Status on the
//! error channel.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{Api, AttachParams};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::targets::{ExecOutput, PodRef, TargetError, TargetResult};

use super::error::{pod_error, KubeError};

pub async fn exec(
    api: &Api<Pod>,
    pod: &PodRef,
    container: &str,
    command: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> TargetResult<ExecOutput> {
    let params = AttachParams::default().container(container).stdin(stdin.is_some()).stdout(true).stderr(true);
    let run = async {
        let mut attached = api.exec(&pod.name, command.to_vec(), &params).await.map_err(|e| pod_error(pod, e))?;
        let (mut out, mut err) = (attached.stdout(), attached.stderr());
        let mut input = attached.stdin();
        let write_in = async {
            if let (Some(writer), Some(bytes)) = (input.as_mut(), stdin) {
                writer.write_all(bytes).await?;
                writer.shutdown().await?;
            }
            // Dropping the writer ends the stream: kube closes the stdin channel.
            drop(input);
            Ok::<_, std::io::Error>(())
        };
        let status = attached.take_status();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let read_out = async {
            if let Some(o) = out.as_mut() {
                o.read_to_end(&mut stdout).await?;
            }
            Ok::<_, std::io::Error>(())
        };
        let read_err = async {
            if let Some(e) = err.as_mut() {
                e.read_to_end(&mut stderr).await?;
            }
            Ok::<_, std::io::Error>(())
        };
        let (w, a, b) = tokio::join!(write_in, read_out, read_err);
        w.and(a).and(b).map_err(|source| KubeError::ExecStream { pod: pod.clone(), container: container.into(), source })?;
        let status = match status {
            Some(s) => s.await,
            None => None,
        };
        let _ = attached.join().await;
        let exit_code =
            exit_code(status.as_ref()).map_err(|source| KubeError::ExecStatus { pod: pod.clone(), container: container.into(), source })?;
        Ok(ExecOutput {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            exit_code,
        })
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => {
            Err(TargetError::Timeout { operation: format!("exec {command:?} in container {container:?} of pod {pod}"), after: timeout })
        }
    }
}

/// Why a remote command's Status carries no exit code: the Status, kept whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecStatusError {
    #[error("the exec stream ended without a status")]
    NoStatus,
    #[error("NonZeroExitCode without an exit code: {}", message(.0))]
    NoExitCode(Box<Status>),
    /// Any other failure (the container is not running, the command was not found).
    #[error("{}", message(.0))]
    Failed(Box<Status>),
}

fn message(status: &Status) -> &str {
    status.message.as_deref().unwrap_or_default()
}

/// The exit code a remote command's Status carries: Success is 0; `NonZeroExitCode` has the
/// code in its `ExitCode` cause. Any other failure (the container is not running, the command
/// was not found) is the Status itself.
pub fn exit_code(status: Option<&Status>) -> Result<i32, ExecStatusError> {
    let Some(status) = status else {
        return Err(ExecStatusError::NoStatus);
    };
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    if status.reason.as_deref() == Some("NonZeroExitCode") {
        let causes = status.details.as_ref().and_then(|d| d.causes.as_deref()).unwrap_or_default();
        let code = causes.iter().find(|c| c.reason.as_deref() == Some("ExitCode")).and_then(|c| c.message.as_deref()?.parse().ok());
        return code.ok_or_else(|| ExecStatusError::NoExitCode(Box::new(status.clone())));
    }
    Err(ExecStatusError::Failed(Box::new(status.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_from_the_error_channel() {
        let ok: Status = serde_json::from_value(serde_json::json!({"status": "Success", "metadata": {}})).unwrap();
        assert_eq!(exit_code(Some(&ok)), Ok(0));
        let failed: Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}
        }))
        .unwrap();
        assert_eq!(exit_code(Some(&failed)), Ok(3));
        let internal: Status =
            serde_json::from_value(serde_json::json!({"status": "Failure", "message": "container not found (\"app\")"})).unwrap();
        assert_eq!(exit_code(Some(&internal)).unwrap_err().to_string(), "container not found (\"app\")");
        assert!(exit_code(None).is_err());
    }
}
