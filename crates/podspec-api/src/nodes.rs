//! Nodes, cluster-scoped, in the generic store. The kubelet registers its own Node object
//! (`runtime::kubelet::node_status`); clients read, list and watch it.

use k8s_openapi::api::core::v1::Node;

use super::generic::Store;
use super::strategy::Strategy;
use crate::validation::FieldError;

/// The strategy for nodes (pkg/registry/core/node/strategy.go): the kubelet writes the whole
/// object.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeStrategy;

impl Strategy for NodeStrategy {
    type Object = Node;
    const NAMESPACED: bool = false;

    fn prepare_for_create(&self, _node: &mut Node) {}
    fn validate(&self, _node: &Node) -> Vec<FieldError> {
        Vec::new()
    }
    /// The status stays as stored (it changes through the status subresource, the kubelet's).
    fn prepare_for_update(&self, new: &mut Node, old: &Node) {
        new.status = old.status.clone();
    }
    fn validate_update(&self, _new: &Node, _old: &Node) -> Vec<FieldError> {
        Vec::new()
    }
}

pub type NodeStore = Store<NodeStrategy>;
