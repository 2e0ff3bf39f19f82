//! kube-rs errors as the steps see them: the API's own Status is kept whole (code, reason,
//! message, details), so the update scenarios check the cluster's texts; what failed before the
//! API answered keeps kube-rs's error as its source.

use std::time::Duration;

use crate::targets::{PodRef, TargetError};

use super::exec::ExecStatusError;

/// What failed on the kube target, where the API server gave no `Status` (those are
/// `TargetError::Api`).
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// A request that got no answer from the API (connection, TLS, a body that does not decode).
    #[error(transparent)]
    Client(kube::Error),
    /// The same, with what the request was for.
    #[error("{what}: {source}")]
    Request {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// A request that could not be made (a path or header that is not valid HTTP).
    #[error(transparent)]
    Http(#[from] http::Error),
    /// A watch that failed while waiting for a pod.
    #[error("{what}: {source}")]
    Watch {
        what: String,
        #[source]
        source: kube::runtime::wait::Error,
    },
    /// The exec's streams failed.
    #[error("exec in container {container:?} of pod {pod}: {source}")]
    ExecStream {
        pod: PodRef,
        container: String,
        #[source]
        source: std::io::Error,
    },
    /// The exec ended without an exit code (its Status says why).
    #[error("exec in container {container:?} of pod {pod}: {source}")]
    ExecStatus {
        pod: PodRef,
        container: String,
        #[source]
        source: ExecStatusError,
    },
    /// The writer pod of a static pod manifest (`what`) cannot start.
    #[error("{what}: writer pod {pod} cannot start: {reason} (image {image})")]
    WriterCannotStart { what: String, pod: String, reason: String, image: String },
    /// The writer pod of a static pod manifest (`what`) failed: its log and container statuses.
    #[error("{what}: writer pod {pod} failed: {} (status {statuses})", .log.trim())]
    WriterFailed { what: String, pod: String, log: String, statuses: String },
    /// A run's namespace outlived its deletion.
    #[error("namespace {name} still exists {after:?} after its deletion; it is held by: {holders}")]
    NamespaceHeld { name: String, after: Duration, holders: String },
    /// The run's namespaces that could not be removed at its end, each with why.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    NamespacesLeft(Vec<TargetError>),
}

impl From<KubeError> for TargetError {
    fn from(e: KubeError) -> Self {
        TargetError::Own(Box::new(e))
    }
}

/// An error of a request about a pod: a missing pod keeps its own variant.
pub fn pod_error(pod: &PodRef, e: kube::Error) -> TargetError {
    match e {
        kube::Error::Api(s) if s.code == 404 => TargetError::NotFound(pod.clone()),
        other => api_error(other),
    }
}

/// Any other error: the API's Status whole, or the cause as kube-rs gives it.
pub fn api_error(e: kube::Error) -> TargetError {
    match e {
        kube::Error::Api(s) => TargetError::Api(s),
        other => KubeError::Client(other).into(),
    }
}

/// Any other error, with what the request was for where the API gave no Status.
pub fn request_error(what: impl Into<String>, e: kube::Error) -> TargetError {
    match e {
        kube::Error::Api(s) => TargetError::Api(s),
        source => KubeError::Request { what: what.into(), source }.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_kept_whole() {
        let status = kube::core::Status {
            code: 422,
            reason: "Invalid".into(),
            message: "Pod \"a\" is invalid: spec: Forbidden: pod updates may not change fields".into(),
            ..Default::default()
        };
        match api_error(kube::Error::Api(Box::new(status))) {
            TargetError::Api(s) => {
                assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
                assert!(s.message.starts_with("Pod \"a\" is invalid: spec: Forbidden"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn not_found_names_the_pod() {
        let pod = PodRef { namespace: "ns".into(), name: "p".into() };
        let status = kube::core::Status { code: 404, reason: "NotFound".into(), ..Default::default() };
        assert!(matches!(pod_error(&pod, kube::Error::Api(Box::new(status))), TargetError::NotFound(p) if p == pod));
    }
}
