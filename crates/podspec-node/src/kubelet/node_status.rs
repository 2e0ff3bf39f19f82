//! The kubelet's own Node object, made as the kubelet's node status setters make it
//! (pkg/kubelet/nodestatus/setters.go: node addresses, machine and version info, capacity and
//! allocatable, the Ready condition) and registered in the API when the kubelet starts
//! (pkg/kubelet/kubelet_node_status.go registerWithAPIServer).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeCondition, NodeStatus, NodeSystemInfo};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Kubelet;
use podspec_api::nodes::NodeStore;
use podspec_api::time;
use podspec_api::watch::ChangeKind;
use podspec_api::ApiError;

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default()
}

fn os_image() -> String {
    let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    release.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_string()).unwrap_or_else(|| "Linux".into())
}

pub use podspec_images::go_arch;

/// The Node object of this kubelet's node, as of now.
pub fn node_object(kubelet: &Kubelet) -> Node {
    let config = kubelet.config();
    let name = config.node_name.clone();
    let now = time::now();
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let capacity: BTreeMap<String, Quantity> =
        [("cpu".to_string(), Quantity(cpus.to_string())), ("pods".to_string(), Quantity("110".into()))].into();
    Node {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            uid: Some(config.node_uid.clone()),
            labels: Some(
                [
                    ("kubernetes.io/hostname".to_string(), name.clone()),
                    ("kubernetes.io/os".to_string(), std::env::consts::OS.to_string()),
                    ("kubernetes.io/arch".to_string(), go_arch().to_string()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        spec: Some(Default::default()),
        status: Some(NodeStatus {
            node_info: Some(NodeSystemInfo {
                kubelet_version: format!("v{}", env!("CARGO_PKG_VERSION")),
                kube_proxy_version: String::new(),
                container_runtime_version: kubelet.runtime().version(),
                os_image: os_image(),
                kernel_version: kernel_version(),
                architecture: go_arch().to_string(),
                operating_system: std::env::consts::OS.to_string(),
                machine_id: String::new(),
                system_uuid: String::new(),
                boot_id: String::new(),
                ..Default::default()
            }),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: Some("KubeletReady".into()),
                message: Some("kubelet is posting ready status".into()),
                last_heartbeat_time: Some(now.clone()),
                last_transition_time: Some(now),
            }]),
            addresses: Some(vec![
                NodeAddress { type_: "InternalIP".into(), address: config.node_ip.to_string() },
                NodeAddress { type_: "Hostname".into(), address: name },
            ]),
            capacity: Some(capacity.clone()),
            allocatable: Some(capacity),
            ..Default::default()
        }),
    }
}

/// Registers the node: its Node object, written into the API's store by the kubelet, with its
/// creationTimestamp and the next resourceVersion. The uid is the kubelet's node uid (mirror
/// pods' owner references name it).
pub fn register(kubelet: &Kubelet, nodes: &NodeStore) -> Result<Node, ApiError> {
    let mut node = node_object(kubelet);
    node.metadata.creation_timestamp = Some(time::now());
    let name = node.metadata.name.clone().unwrap_or_default();
    nodes.write(|objects| {
        if objects.contains(&nodes.key("", &name)) {
            return Err(ApiError::already_exists_of("nodes", &name));
        }
        Ok(objects.commit(ChangeKind::Added, node, None))
    })
}
