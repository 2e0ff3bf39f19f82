//! Why a pod's sandbox or a container's configuration cannot be made: the texts the pod shows
//! (its FailedCreatePodSandBox event and status message, a container's
//! CreateContainerConfigError), each failure's cause kept as its source.

use std::path::PathBuf;

use podspec_api::quantity::QuantityError;
use podspec_cri::cri::RuntimeError;

use crate::kubelet::api_data::VolumeError;
use crate::kubelet::downward::EnvError;
use crate::kubelet::expansion::MissingValues;
use crate::kubelet::hosts::FqdnTooLong;
use crate::kubelet::security::{InvalidQuantity, SysctlError};
use crate::kubelet::subpath::SubPathError;
use crate::kubelet::volumes::TmpfsMountError;
use crate::kubelet::KubeletError;

/// Why the pod's sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub(in crate::kubelet) enum SandboxError {
    #[error("pod has no spec")]
    NoSpec,
    #[error(transparent)]
    Fqdn(#[from] FqdnTooLong),
    #[error("prepare pod directory {}: {source}", .dir.display())]
    PodDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error("volume {volume:?}: sizeLimit: {source}")]
    SizeLimit {
        volume: String,
        #[source]
        source: QuantityError,
    },
    #[error(transparent)]
    Sysctl(#[from] SysctlError),
    #[error(transparent)]
    Tmpfs(#[from] TmpfsMountError),
    #[error("make the pod's cgroup: {0}")]
    Cgroup(#[source] std::io::Error),
    /// The pod's RuntimeClass, resolved as the sandbox starts.
    #[error(transparent)]
    RuntimeHandler(KubeletError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// Why a container's configuration could not be made: its CreateContainerConfigError.
#[derive(Debug, thiserror::Error)]
pub(in crate::kubelet) enum ContainerConfigError {
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A hostPath that no longer resolves inside its node directory.
    #[error("volume {volume:?}: hostPath {source}")]
    HostPath {
        volume: String,
        #[source]
        source: podspec_api::Error,
    },
    #[error("volume {volume:?}: open {}: {source}", .path.display())]
    OpenVolume {
        volume: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("volume {volume:?}: hostPath {}: {source}", .path.display())]
    OpenHostPath {
        volume: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    SubPathExpr(#[from] MissingValues),
    #[error(transparent)]
    SubPath(#[from] SubPathError),
    #[error("create the termination message file {}: {source}", .path.display())]
    TerminationLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Resources(#[from] InvalidQuantity),
}
