//! The node's errors: the kubelet's (what it refuses, a pod or container it does not have, the
//! runtime's failures; the kubelet names this type `KubeletError`), a pod's RuntimeClass the
//! kubelet cannot resolve, and why a node could not start or stop. Each variant's text is the
//! one its callers show (Kubernetes' words where it has some), so that they pass it on
//! unchanged.

use std::path::PathBuf;

use podspec_api::ApiError;
use podspec_cri::cri::RuntimeError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The kubelet's.
    #[error("pod has no metadata.uid")]
    NoUid,
    #[error("pod {0} is already running on this node")]
    AlreadyRunning(String),
    #[error("pod {0} is not running on this node")]
    NotRunning(String),
    #[error("pod {pod} has no container {container:?}")]
    NoSuchContainer { pod: String, container: String },
    #[error("the reference runtime does not support {what} (pod {pod})")]
    Unsupported { pod: String, what: String },
    /// A log request the node cannot answer as asked (the API's 400).
    #[error("{0}")]
    BadLogRequest(String),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The API's answer to what the kubelet looked up in it: a pod's RuntimeClass that is not
    /// there ([`podspec_api::Error::RuntimeClassNotFound`]).
    #[error(transparent)]
    Api(#[from] podspec_api::Error),

    // Starting a node (`Node::start`, `Node::start_linux`).
    /// podspec's own runtime could not start.
    #[error("start the reference node: {0}")]
    StartRuntime(#[source] RuntimeError),
    #[error("create the static pod directory {}: {source}", path.display())]
    StaticPodDir { path: PathBuf, source: std::io::Error },
    #[error("make the cluster's CA: {0}")]
    ClusterCa(#[source] rcgen::Error),
    /// The kubelet's Node object could not be written.
    #[error("register the node: {0}")]
    Register(#[source] Box<ApiError>),

    // Stopping it (`Node::shutdown`).
    /// What the node's host could not remove (`NodeHost::shutdown`).
    #[error(transparent)]
    Host(RuntimeError),
}

/// Why the node's host cannot run an image without a registry (`NodeHost::check_image`).
#[derive(Debug, thiserror::Error)]
pub enum ImageUnavailable {
    /// podspec's own runtime: no recipe builds it, it was not pulled before, and it names no
    /// registry of its own to pull from.
    #[error(transparent)]
    Unknown(#[from] podspec_images::ImageError),
    /// A CRI runtime that does not hold the image (podspec never pulls into one).
    #[error(
        "the runtime at {endpoint} has no image {image} and podspec never pulls (import podspec's images: ci/containerd/start.sh; the runtime has: {})",
        has.join(", ")
    )]
    NotInRuntime { endpoint: String, image: String, has: Vec<String> },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts callers pass on (Kubernetes', the kubelet's, the node's), byte for byte as
    /// they were worded before they had a type.
    #[test]
    fn each_error_reads_as_its_callers_show_it() {
        let io = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let gone = || RuntimeError::failed("start the runtime", "no cgroup v2");
        let api = ApiError { code: 409, reason: "AlreadyExists".into(), message: "nodes \"n\" already exists".into(), causes: Vec::new() };
        let cases: Vec<(Error, String)> = vec![
            (Error::NoUid, "pod has no metadata.uid".into()),
            (Error::AlreadyRunning("ns/p".into()), "pod ns/p is already running on this node".into()),
            (Error::NotRunning("u1".into()), "pod u1 is not running on this node".into()),
            (Error::NoSuchContainer { pod: "ns/p".into(), container: "c".into() }, r#"pod ns/p has no container "c""#.into()),
            (
                Error::Unsupported { pod: "ns/p".into(), what: "procMount Unmasked".into() },
                "the reference runtime does not support procMount Unmasked (pod ns/p)".into(),
            ),
            (
                Error::BadLogRequest("previous terminated container \"c\" in pod \"p\" not found".into()),
                "previous terminated container \"c\" in pod \"p\" not found".into(),
            ),
            (Error::Runtime(gone()), gone().to_string()),
            (
                podspec_api::Error::RuntimeClassNotFound { name: "gone".into() }.into(),
                r#"runtimeclass.node.k8s.io "gone" not found"#.into(),
            ),
            (Error::StartRuntime(gone()), format!("start the reference node: {}", gone())),
            (
                Error::StaticPodDir { path: "/run/x\"y".into(), source: io() },
                format!("create the static pod directory /run/x\"y: {}", io()),
            ),
            (
                Error::ClusterCa(rcgen::Error::CouldNotParseCertificate),
                format!("make the cluster's CA: {}", rcgen::Error::CouldNotParseCertificate),
            ),
            (Error::Register(Box::new(api.clone())), format!("register the node: {api}")),
            (
                Error::Host(RuntimeError::io("remove the run's state", io())),
                format!("remove the run's state: {}", io()),
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text, "{error:?}");
        }
    }

    /// The image texts a run shows before anything starts.
    #[test]
    fn an_unavailable_image_reads_as_before() {
        let unknown = podspec_images::ImageError::Unknown { reference: "nginx:1.25".into(), known: "busybox:1.36".into() };
        assert_eq!(
            ImageUnavailable::from(unknown).to_string(),
            r#"image "nginx:1.25" is not available locally: no local image is known by that name (known: busybox:1.36)"#
        );
        let missing = ImageUnavailable::NotInRuntime {
            endpoint: "unix:///run/containerd/containerd.sock".into(),
            image: "docker.io/library/app:1".into(),
            has: vec!["a:1".into(), "b:2".into()],
        };
        assert_eq!(
            missing.to_string(),
            "the runtime at unix:///run/containerd/containerd.sock has no image docker.io/library/app:1 and podspec never pulls (import podspec's images: ci/containerd/start.sh; the runtime has: a:1, b:2)"
        );
    }
}
