//! What fails on the podman target beyond a pod's own errors: podman missing or running
//! another OCI runtime, the fixture images not loaded, a command that failed (with its argv and
//! stderr, `PodmanError`), and what a run could not remove.

use crate::targets::{PodRef, TargetError};

use super::cli::PodmanError;
use super::images::LoadError;

#[derive(Debug, thiserror::Error)]
pub enum PodmanTargetError {
    #[error("podman is not installed (on Debian: `bash ci/podman/install.sh`, or apt-get install podman runc; or set PODSPEC_PODMAN)")]
    NotInstalled,
    #[error("podman does not run: {0}")]
    DoesNotRun(#[source] PodmanError),
    /// `podman info` with the OCI runtime asked for failed.
    #[error("podman with the OCI runtime {runtime:?}: {source}")]
    OciRuntime {
        runtime: String,
        #[source]
        source: PodmanError,
    },
    #[error("podman runs {runs:?}, not the OCI runtime {asked:?} asked for")]
    OtherOciRuntime { runs: String, asked: String },
    #[error("loading the fixture images into podman: {0}")]
    Images(#[source] LoadError),
    /// A podman command that failed: its argv, exit code and stderr.
    #[error(transparent)]
    Command(#[from] PodmanError),
    #[error("podman kube play made no pod {0}")]
    NoPod(String),
    #[error("pod {pod} as YAML: {source}")]
    Yaml {
        pod: PodRef,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("podman volumes {} are still in use after the namespace's pods were deleted", .0.join(", "))]
    VolumesHeld(Vec<String>),
    /// What the run could not remove at its end, each with why.
    #[error("removing the run's podman pods: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    RunLeft(Vec<TargetError>),
}

impl From<PodmanTargetError> for TargetError {
    fn from(e: PodmanTargetError) -> Self {
        TargetError::Own(Box::new(e))
    }
}

impl From<PodmanError> for TargetError {
    fn from(e: PodmanError) -> Self {
        PodmanTargetError::Command(e).into()
    }
}
