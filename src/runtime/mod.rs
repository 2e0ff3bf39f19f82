//! The reference runtime, layer 3: a pod-level part (`kubelet`) over a runtime interface shaped
//! like the CRI (`cri`), implemented with Linux namespaces (`linux`) and, for any CRI runtime,
//! over the CRI's gRPC API (`cri_grpc`). `cri_log` is the CRI log format, which CRI runtimes and
//! the Linux runtime's shim write and the kubelet reads.

pub mod cri;
pub mod cri_grpc;
pub mod cri_log;
#[cfg(test)]
pub mod fake;
pub mod kubelet;
pub mod linux;
