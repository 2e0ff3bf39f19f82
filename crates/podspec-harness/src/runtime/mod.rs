//! The reference runtime, layer 3: a pod-level part (`kubelet`, the `podspec-node` crate's) over a runtime interface shaped
//! like the CRI (`cri`), implemented with Linux namespaces (`linux`, the `podspec-linux` crate)
//! and, for any CRI runtime, over the CRI's gRPC API (`cri_grpc`). `cri_log` is the CRI log format, which CRI runtimes and
//! the Linux runtime's shim write and the kubelet reads.

pub use podspec_cri::{cri, cri_grpc, cri_log};
#[cfg(test)]
pub use podspec_cri::fake;
pub use podspec_node::kubelet;
pub use podspec_linux as linux;
