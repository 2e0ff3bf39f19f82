//! gRPC statuses as the runtime interface's errors. The runtime's own message is kept whole.

use std::future::Future;

use tonic::{Code, Status};

use super::CALL_TIMEOUT;
use crate::cri::RuntimeError;

/// Why a CRI call did not answer.
#[derive(Debug)]
pub(super) enum CallError {
    Status(Status),
    Timeout,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Status(s) if s.message().is_empty() => write!(f, "{:?}", s.code()),
            CallError::Status(s) => f.write_str(s.message()),
            CallError::Timeout => write!(f, "no answer within {CALL_TIMEOUT:?}"),
        }
    }
}

impl CallError {
    pub(super) fn code(&self) -> Option<Code> {
        match self {
            CallError::Status(s) => Some(s.code()),
            CallError::Timeout => None,
        }
    }

    /// The object a call named does not exist (CRI runtimes answer NotFound, some only say so).
    pub(super) fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound) || self.to_string().contains("not found")
    }

    pub(super) fn into_runtime(self, operation: impl Into<String>) -> RuntimeError {
        let operation = operation.into();
        match self {
            CallError::Timeout => RuntimeError::Timeout { operation, after: CALL_TIMEOUT },
            other => RuntimeError::failed(operation, other),
        }
    }
}

/// Makes one CRI call, with podspec's timeout; gives the response's message.
pub(super) async fn call<T>(operation: &str, fut: impl Future<Output = Result<tonic::Response<T>, Status>>) -> Result<T, CallError> {
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(CALL_TIMEOUT, fut).await;
    // `PODSPEC_LOG=cri=debug`: every call with the time the runtime took to answer it.
    tracing::debug!(target: "cri", operation, ms = started.elapsed().as_secs_f64() * 1000.0, "CRI call");
    match answer {
        Ok(Ok(r)) => Ok(r.into_inner()),
        Ok(Err(s)) => {
            tracing::debug!(target: "cri", operation, code = ?s.code(), message = s.message(), "CRI call failed");
            Err(CallError::Status(s))
        }
        Err(_) => Err(CallError::Timeout),
    }
}
