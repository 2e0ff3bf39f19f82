//! RuntimeClasses through `podspec serve` with kube-rs, as the e2e test "[sig-node] RuntimeClass
//! should support RuntimeClasses API operations" (test/e2e/common/node/runtimeclass.go) drives
//! them: the group in discovery, create (and 409 on a second), watch, get, list by label, patch,
//! update, the watch's events, delete, deletecollection. (That test is not among podspec's
//! pod-related conformance list: it creates no pod.) Then the admission a pod gets: a class that
//! does not exist is Forbidden on a dry-run create, and a class's overhead is copied.
//!
//! Runs only as root (serve's node runs pods); otherwise it says that it did not run.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::node::v1::RuntimeClass;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::serve::Serve;

fn class(name: &str, handler: &str) -> RuntimeClass {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": name, "labels": {"test": "rc-api"}},
        "handler": handler,
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "podspec serve's node runs pods as root only"]
async fn runtime_classes_support_the_api_operations_and_admit_pods() {
    crate::support::require_root("podspec serve's node runs pods as root only");
    let serve = Serve::start();
    let kubeconfig = Kubeconfig::read_from(&serve.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    let client = Client::try_from(config).unwrap();

    // Discovery: /apis lists node.k8s.io/v1, /apis/node.k8s.io/v1 lists runtimeclasses.
    let groups = client.list_api_groups().await.unwrap();
    let group = groups.groups.iter().find(|g| g.name == "node.k8s.io").expect("node.k8s.io in /apis");
    assert!(group.versions.iter().any(|v| v.version == "v1"), "{group:?}");
    let resources = client.list_api_group_resources("node.k8s.io/v1").await.unwrap();
    let rc = resources.resources.iter().find(|r| r.name == "runtimeclasses").expect("runtimeclasses in node.k8s.io/v1");
    for verb in ["create", "get", "list", "watch", "update", "patch", "delete", "deletecollection"] {
        assert!(rc.verbs.iter().any(|v| v == verb), "{verb} missing from {:?}", rc.verbs);
    }

    let classes: Api<RuntimeClass> = Api::all(client.clone());
    let pp = PostParams::default();
    let created = classes.create(&pp, &class("rc-api-1", "rc-api-handler")).await.unwrap();
    let again = classes.create(&pp, &class("rc-api-1", "rc-api-handler")).await.unwrap_err();
    match again {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"));
            assert_eq!(s.message, "runtimeclasses.node.k8s.io \"rc-api-1\" already exists");
        }
        other => panic!("expected 409, got {other:?}"),
    }
    classes.create(&pp, &class("rc-api-2", "rc-api-handler2")).await.unwrap();

    let selected = ListParams::default().labels("test=rc-api");
    let mut watch = classes.watch(&WatchParams::default().labels("test=rc-api"), "0").await.unwrap().boxed();
    classes.create(&pp, &class("rc-api-3", "rc-api-handler3")).await.unwrap();

    let got = classes.get("rc-api-1").await.unwrap();
    assert_eq!(got.metadata.uid, created.metadata.uid);
    assert_eq!(classes.list(&selected).await.unwrap().items.len(), 3);

    let patch = serde_json::json!({"metadata": {"annotations": {"patched": "true"}}});
    let patched = classes.patch("rc-api-1", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    assert_eq!(patched.metadata.annotations.as_ref().unwrap()["patched"], "true");
    let mut to_update = patched.clone();
    to_update.metadata.annotations.as_mut().unwrap().insert("updated".into(), "true".into());
    let updated = classes.replace("rc-api-1", &pp, &to_update).await.unwrap();
    assert_eq!(updated.metadata.annotations.as_ref().unwrap()["updated"], "true");
    // The handler is immutable.
    let mut other_handler = updated.clone();
    other_handler.handler = "elsewhere".into();
    match classes.replace("rc-api-1", &pp, &other_handler).await.unwrap_err() {
        kube::Error::Api(s) => assert_eq!(
            s.message,
            "RuntimeClass.node.k8s.io \"rc-api-1\" is invalid: handler: Invalid value: \"elsewhere\": field is immutable"
        ),
        other => panic!("expected 422, got {other:?}"),
    }

    let (mut added, mut patched_seen, mut updated_seen) = (0, false, false);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !(added == 3 && patched_seen && updated_seen) {
        let event = tokio::time::timeout_at(deadline, watch.try_next()).await.expect("the watch's events in time").unwrap();
        match event.expect("the watch stays open") {
            WatchEvent::Added(_) => added += 1,
            WatchEvent::Modified(rc) => {
                let a = rc.metadata.annotations.unwrap_or_default();
                updated_seen |= a.get("updated").is_some_and(|v| v == "true");
                patched_seen |= a.get("patched").is_some_and(|v| v == "true");
            }
            other => panic!("unexpected watch event {other:?}"),
        }
    }
    drop(watch);

    classes.delete("rc-api-1", &DeleteParams::default()).await.unwrap();
    match classes.get("rc-api-1").await.unwrap_err() {
        kube::Error::Api(s) => assert_eq!((s.code, s.message.as_str()), (404, "runtimeclasses.node.k8s.io \"rc-api-1\" not found")),
        other => panic!("expected 404, got {other:?}"),
    }
    assert_eq!(classes.list(&selected).await.unwrap().items.len(), 2);
    classes.delete_collection(&DeleteParams::default(), &selected).await.unwrap();
    assert!(classes.list(&selected).await.unwrap().items.is_empty());

    // The RuntimeClass admission of pods (a dry run: nothing is written).
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = |class: &str| -> Pod {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "rc-pod"},
            "spec": {"runtimeClassName": class, "restartPolicy": "Never",
                     "containers": [{"name": "test", "image": "busybox:1.36", "command": ["true"]}]}
        }))
        .unwrap()
    };
    let dry = PostParams { dry_run: true, ..Default::default() };
    match pods.create(&dry, &pod("rc-api-missing")).await.unwrap_err() {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
            assert_eq!(s.message, "pods \"rc-pod\" is forbidden: pod rejected: RuntimeClass \"rc-api-missing\" not found");
        }
        other => panic!("expected 403, got {other:?}"),
    }
    let mut fat = class("rc-api-fat", "rc-api-handler");
    fat.overhead = Some(serde_json::from_value(serde_json::json!({"podFixed": {"cpu": "10m", "memory": "1Mi"}})).unwrap());
    classes.create(&pp, &fat).await.unwrap();
    let admitted = pods.create(&dry, &pod("rc-api-fat")).await.unwrap();
    let overhead = admitted.spec.unwrap().overhead.unwrap();
    assert_eq!((overhead["cpu"].0.as_str(), overhead["memory"].0.as_str()), ("10m", "1Mi"));
    classes.delete("rc-api-fat", &DeleteParams::default()).await.unwrap();
}

/// The OCI runtime binary containerd runs a pod's containers with (its runc shim's
/// `BinaryName`), read with `ctr` from the containers of the pod named `pod`.
fn binary_names(socket: &str, pod: &str) -> Vec<String> {
    use base64::Engine as _;
    let filter = format!("labels.\"io.kubernetes.pod.name\"=={pod}");
    let ls = std::process::Command::new("ctr").args(["--address", socket, "-n", "k8s.io", "containers", "ls", "-q", &filter]).output();
    let ids = String::from_utf8_lossy(&ls.expect("ctr").stdout).lines().map(str::to_string).collect::<Vec<_>>();
    ids.iter()
        .map(|id| {
            let info = std::process::Command::new("ctr").args(["--address", socket, "-n", "k8s.io", "containers", "info", id]).output();
            let info: serde_json::Value = serde_json::from_slice(&info.expect("ctr").stdout).unwrap();
            let options = info["Runtime"]["Options"]["value"].as_str().unwrap_or("");
            let bytes = base64::engine::general_purpose::STANDARD.decode(options).unwrap_or_default();
            // The runc shim's Options message: BinaryName is field 2, a length-prefixed string.
            String::from_utf8_lossy(&bytes).chars().filter(|c| c.is_ascii_graphic()).collect()
        })
        .collect()
}

/// On `podspec serve --target cri`, a pod's RuntimeClass picks the containerd handler its
/// sandbox runs with: a pod naming the class whose handler is `crun` runs under ci/containerd's
/// crun handler (its containers' BinaryName is the crun wrapper), a pod naming no class under
/// the default (runc, no BinaryName). Runs only as root where containerd for podspec runs
/// (`PODSPEC_CRI_ENDPOINT`, by default ci/containerd's); otherwise it says why it did not run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and containerd for podspec (ci/containerd/start.sh)"]
async fn a_pods_runtime_class_picks_the_handler_its_sandbox_runs_with_on_containerd() {
    use kube::runtime::wait::{await_condition, conditions};
    let endpoint = std::env::var("PODSPEC_CRI_ENDPOINT").unwrap_or_else(|_| "unix:///run/podspec-containerd/containerd.sock".into());
    let socket = endpoint.trim_start_matches("unix://").to_string();
    if !nix::unistd::Uid::effective().is_root() || !std::path::Path::new(&socket).exists() {
        eprintln!("not run: needs root and a CRI runtime at {endpoint} (bash ci/containerd/start.sh)");
        return;
    }
    let serve = Serve::start_with(&["--target", "cri", "--cri-endpoint", &endpoint], "cri");
    let kubeconfig = Kubeconfig::read_from(&serve.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    let client = Client::try_from(config).unwrap();
    let classes: Api<RuntimeClass> = Api::all(client.clone());
    classes.create(&PostParams::default(), &class("rc-crun", "crun")).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "default");
    for (name, class) in [("with-crun", Some("rc-crun")), ("with-default", None)] {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"runtimeClassName": class, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
        let running = await_condition(pods.clone(), name, conditions::is_pod_running());
        tokio::time::timeout(std::time::Duration::from_secs(60), running).await.expect("the pod runs within 60 s").unwrap();
    }
    let crun = binary_names(&socket, "with-crun");
    assert!(!crun.is_empty() && crun.iter().all(|b| b.contains("crun")), "the crun pod's containers: {crun:?}");
    let default = binary_names(&socket, "with-default");
    assert!(!default.is_empty() && default.iter().all(|b| !b.contains("crun")), "the default pod's containers: {default:?}");
    for name in ["with-crun", "with-default"] {
        pods.delete(name, &DeleteParams::default()).await.unwrap();
    }
    classes.delete("rc-crun", &DeleteParams::default()).await.unwrap();
    drop(serve);
}
