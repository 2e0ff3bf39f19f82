//! The node: the parts a Kubernetes node and its control plane have beside the API store
//! (`api`) and the kubelet (`runtime::kubelet`): the controllers.

pub mod namespace_controller;
