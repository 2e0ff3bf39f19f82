//! kube-rs errors as the steps see them: the API's own Status is kept whole (code, reason,
//! message), so the update scenarios check the cluster's texts.

use crate::targets::{PodRef, TargetError};

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
        kube::Error::Api(s) => TargetError::Api { code: s.code, reason: s.reason, message: s.message },
        other => TargetError::Other(other.to_string()),
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
            TargetError::Api { code, reason, message } => {
                assert_eq!((code, reason.as_str()), (422, "Invalid"));
                assert!(message.starts_with("Pod \"a\" is invalid: spec: Forbidden"));
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
