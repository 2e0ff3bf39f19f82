//! ExecSync: a command in a running container, its output and exit code.

use std::time::Duration;

use super::runtime_v1 as cri;

use super::error::CallError;
use super::CriRuntime;
use crate::cri::{ContainerId, ExecResult, RuntimeError, RuntimeResult};

pub(super) async fn exec_sync(rt: &CriRuntime, id: &ContainerId, cmd: &[String], timeout: Duration) -> RuntimeResult<ExecResult> {
    let operation = format!("ExecSync {cmd:?} in {id}");
    let secs = (timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)).max(1);
    let request = cri::ExecSyncRequest { container_id: id.0.clone(), cmd: cmd.to_vec(), timeout: secs as i64 };
    let mut client = rt.client();
    // The runtime enforces the timeout; podspec waits a little longer for its answer.
    let answer = tokio::time::timeout(timeout + Duration::from_secs(5), rt.call(&operation, client.exec_sync(request))).await;
    match answer {
        Err(_) => Err(RuntimeError::Timeout { operation, after: timeout }),
        Ok(Ok(r)) => Ok(ExecResult { stdout: r.stdout, stderr: r.stderr, exit_code: r.exit_code }),
        Ok(Err(e)) => Err(map_error(rt, id, &operation, timeout, e).await),
    }
}

async fn map_error(rt: &CriRuntime, id: &ContainerId, operation: &str, timeout: Duration, e: CallError) -> RuntimeError {
    let text = e.to_string();
    if e.code() == Some(tonic::Code::DeadlineExceeded) || text.contains("timeout") || text.contains("deadline exceeded") {
        return RuntimeError::Timeout { operation: operation.to_string(), after: timeout };
    }
    if e.is_not_found() {
        return RuntimeError::ContainerNotFound(id.clone());
    }
    // A container that is not running: runtimes say so in their own words; its state tells.
    match super::container::status(rt, id).await {
        Ok(s) if s.state != crate::cri::ContainerState::Running => RuntimeError::ContainerNotRunning(id.clone()),
        _ => e.into_runtime(operation),
    }
}
