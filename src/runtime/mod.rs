//! The reference runtime, layer 3: a pod-level part (`kubelet`) over a runtime interface shaped
//! like the CRI (`cri`), implemented with Linux namespaces (`linux`).

pub mod cri;
pub mod cri_grpc;
pub mod kubelet;
pub mod linux;
