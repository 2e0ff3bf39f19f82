//! The runtime interface podspec's kubelet drives, and what lies on its far side.
//!
//! - `cri`: the interface, shaped like the CRI's `RuntimeService` and `ImageService`, which the
//!   Linux runtime (`podspec-linux`) and `cri_grpc` implement.
//! - `cri_grpc`: any CRI runtime (containerd, CRI-O, ...) over the CRI's gRPC API v1.
//! - `cri_log`: the CRI log format, which CRI runtimes and the Linux runtime's shim write and
//!   the kubelet reads.
//! - `remotecommand`: Kubernetes' remote command protocol (exec, attach), used by the CRI
//!   client's streaming and by `podspec serve`.
//! - `fake` (feature `fake`): a runtime in memory for the kubelet's unit tests.

#![forbid(unsafe_code)]

pub mod cri;
pub mod cri_grpc;
pub mod cri_log;
#[cfg(feature = "fake")]
pub mod fake;
pub mod remotecommand;
