//! Writes that race through `podspec serve`: a status writer adds a condition after another
//! (strategic merge patches of pods/status) while a client replaces the pod again and again
//! without a resourceVersion, and the node's kubelet writes its own status as the pod starts
//! and changes. As on a real cluster, nothing one writer wrote is lost to another:
//! - the kubelet works its status out from the stored one in the write itself (the status
//!   manager patches the latest pod), so every added condition stays in the status;
//! - serve works an unconditional PUT's managedFields out against the pod it replaces, so every
//!   condition stays owned by its writer.
//!
//! Runs only as root (serve's node runs pods); otherwise it says that it did not run.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::serve::Serve;

const ROUNDS: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "podspec serve's node runs pods as root only"]
async fn an_unconditional_put_keeps_what_a_status_write_in_between_recorded() {
    crate::support::require_root("podspec serve's node runs pods as root only");
    let serve = Serve::start();
    let kubeconfig = Kubeconfig::read_from(&serve.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(Client::try_from(config).unwrap(), "default");
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "racer"},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}
    }))
    .unwrap();
    pods.create(&PostParams { field_manager: Some("creator".into()), ..Default::default() }, &pod).await.unwrap();

    let status_writer = async {
        let params = PatchParams { field_manager: Some("status-writer".into()), ..Default::default() };
        for i in 0..ROUNDS {
            let condition = serde_json::json!({"type": format!("example.com/c{i}"), "status": "True"});
            let patch = serde_json::json!({"status": {"conditions": [condition]}});
            pods.patch_status("racer", &params, &Patch::Strategic(patch)).await.unwrap();
        }
    };
    let putter = async {
        let params = PostParams { field_manager: Some("putter".into()), ..Default::default() };
        for i in 0..ROUNDS {
            let mut p = pods.get("racer").await.unwrap();
            p.metadata.resource_version = None;
            p.metadata.managed_fields = None;
            p.metadata.labels.get_or_insert_with(Default::default).insert("round".into(), i.to_string());
            pods.replace("racer", &params, &p).await.unwrap();
        }
    };
    tokio::join!(status_writer, putter);

    let p = pods.get("racer").await.unwrap();
    let written: Vec<String> = p
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .map(|c| c.type_.clone())
        .filter(|t| t.starts_with("example.com/"))
        .collect();
    assert_eq!(written.len(), ROUNDS, "every condition the status writer added is in the status: {written:?}");
    let entry = p
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .find(|m| m.manager.as_deref() == Some("status-writer") && m.subresource.as_deref() == Some("status"))
        .expect("the status writer's entry");
    let fields = entry.fields_v1.as_ref().map(|f| f.0.clone()).unwrap_or_default();
    let conditions = &fields["f:status"]["f:conditions"];
    let lost: Vec<&String> = written.iter().filter(|t| conditions.get(format!("k:{{\"type\":\"{t}\"}}")).is_none()).collect();
    assert!(lost.is_empty(), "conditions the status writer no longer owns after the PUTs: {lost:?}");
    let labels = p.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("round").map(String::as_str), Some((ROUNDS - 1).to_string().as_str()));
    pods.delete("racer", &Default::default()).await.unwrap();
    assert!(serve.stop().success());
}
