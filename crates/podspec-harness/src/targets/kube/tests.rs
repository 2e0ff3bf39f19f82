//! Request handling against kube-rs' mock service (tower-test): what the kube target sends and
//! how it reads the answers. No cluster is reached here.

use http::{Request, Response};
use k8s_openapi::api::core::v1::Pod;
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};
use tower_test::mock::{self, Handle};

use super::connect::ServerInfo;
use super::images::ImageMapping;
use super::*;
use crate::targets::{PodRef, Target, TargetCapabilities as _, TargetError};

type Mock = Handle<Request<Body>, Response<Body>>;

fn mock_client() -> (Client, Mock) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), handle)
}

fn info() -> ServerInfo {
    ServerInfo {
        url: "https://mock".into(),
        context: "mock".into(),
        version: "v1.33.0".into(),
        platform: "linux/amd64".into(),
        nodes: vec![],
    }
}

/// Answers the next request with `status` and `body`; returns what was asked (method, path and
/// query, body).
async fn answer(handle: &mut Mock, status: u16, body: Value) -> (String, String, Value) {
    let (request, send) = handle.next_request().await.expect("a request");
    let method = request.method().to_string();
    let uri = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let bytes = request.into_body().collect_bytes().await.unwrap();
    let sent = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    send.send_response(Response::builder().status(status).body(Body::from(serde_json::to_vec(&body).unwrap())).unwrap());
    (method, uri, sent)
}

fn review(allowed: bool) -> Value {
    json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}, "status": {"allowed": allowed}})
}

#[tokio::test]
async fn a_denied_right_is_named() {
    let (client, mut handle) = mock_client();
    let needed = [access::ALWAYS[0], access::ALWAYS[11]];
    let server = tokio::spawn(async move {
        let (method, uri, sent) = answer(&mut handle, 201, review(true)).await;
        assert_eq!((method.as_str(), uri.as_str()), ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews?"));
        assert_eq!(sent["spec"]["resourceAttributes"], json!({"verb": "create", "group": "", "resource": "namespaces"}));
        let (_, _, sent) = answer(&mut handle, 201, review(false)).await;
        assert_eq!(sent["spec"]["resourceAttributes"]["subresource"], "exec");
    });
    let missing = access::missing(&client, &needed).await.unwrap();
    server.await.unwrap();
    assert_eq!(missing.iter().map(ToString::to_string).collect::<Vec<_>>(), ["create pods/exec"]);
    assert_eq!(KubeStartError::MissingRights(missing).to_string(), "the identity lacks rights this run needs: `create pods/exec`");
}

/// Issue 24, item 2: an identity that may `create` pods/exec but not `get` it (what a WebSocket
/// exec is authorized as) is refused before anything runs, naming `get pods/exec`.
#[tokio::test]
async fn a_denied_get_on_pods_exec_is_named_before_anything_runs() {
    let (client, mut handle) = mock_client();
    let needed = access::pre_check(access::Needs::default());
    let asked = needed.len();
    let server = tokio::spawn(async move {
        let mut questions = Vec::new();
        for _ in 0..asked {
            let (request, send) = handle.next_request().await.expect("a review");
            let bytes = request.into_body().collect_bytes().await.unwrap();
            let sent: Value = serde_json::from_slice(&bytes).unwrap();
            let a = &sent["spec"]["resourceAttributes"];
            let denied = a["verb"] == "get" && a["resource"] == "pods" && a["subresource"] == "exec";
            questions.push(format!("{} {}/{}", a["verb"], a["resource"], a["subresource"]));
            let body = serde_json::to_vec(&review(!denied)).unwrap();
            send.send_response(Response::builder().status(201).body(Body::from(body)).unwrap());
        }
        questions
    });
    let missing = access::missing(&client, &needed).await.unwrap();
    let questions = server.await.unwrap();
    assert!(questions.iter().any(|q| q == "\"create\" \"pods\"/\"exec\""), "{questions:?}");
    assert_eq!(KubeStartError::MissingRights(missing).to_string(), "the identity lacks rights this run needs: `get pods/exec`");
}

fn manifest() -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "podspec-1-1", "labels": {"app": "web"}},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "app", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn a_pod_is_sent_as_written_but_for_its_images_and_the_change_is_recorded() {
    let (client, mut handle) = mock_client();
    let mapping = ImageMapping::new([("busybox:1.36".to_string(), "reg.example/podspec/busybox@sha256:ab".to_string())].into(), None);
    let target = KubeTarget::with_client(client, info(), mapping, String::new()).unwrap();
    let server = tokio::spawn(async move {
        // The scenario's namespace first, labelled with the run and its owner.
        let (method, uri, sent) =
            answer(&mut handle, 201, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "podspec-1-1"}})).await;
        assert_eq!((method.as_str(), uri.as_str()), ("POST", "/api/v1/namespaces?"));
        let labels = sent["metadata"]["labels"].as_object().unwrap();
        for key in [namespaces::RUN_LABEL, namespaces::HOST_LABEL, namespaces::PID_LABEL, namespaces::START_LABEL] {
            assert!(labels.contains_key(key), "{key} in {labels:?}");
        }
        let (method, uri, sent) = answer(&mut handle, 201, json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}})).await;
        assert_eq!((method.as_str(), uri.as_str()), ("POST", "/api/v1/namespaces/podspec-1-1/pods?"));
        let mut expected = serde_json::to_value(manifest()).unwrap();
        expected["spec"]["containers"][0]["image"] = json!("reg.example/podspec/busybox@sha256:ab");
        assert_eq!(sent, expected);
    });
    target.create_pod(&manifest()).await.unwrap();
    server.await.unwrap();
    assert_eq!(target.changes(), ["image busybox:1.36 sent as reg.example/podspec/busybox@sha256:ab"]);
    assert_eq!(target.manifest_changes(&manifest()), ["pod web: image busybox:1.36 sent as reg.example/podspec/busybox@sha256:ab"]);
}

#[tokio::test]
async fn api_errors_reach_the_steps_whole() {
    let (client, mut handle) = mock_client();
    let target = KubeTarget::with_client(client, info(), ImageMapping::default(), String::new()).unwrap();
    let message = "Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`";
    let server = tokio::spawn(async move {
        let (method, uri, sent) = answer(
            &mut handle,
            422,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": "Invalid", "code": 422}),
        )
        .await;
        assert_eq!((method.as_str(), uri.as_str()), ("PUT", "/api/v1/namespaces/podspec-1-1/pods/web?"));
        assert_eq!(sent["metadata"]["name"], "web");
    });
    let key = crate::targets::PodRef { namespace: "podspec-1-1".into(), name: "web".into() };
    let err = target.update_pod(&key, &manifest()).await.unwrap_err();
    server.await.unwrap();
    match err {
        TargetError::Api(s) => assert_eq!((s.code, s.reason.as_str(), s.message.as_str()), (422, "Invalid", message)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn patches_are_sent_as_kubectl_sends_them() {
    let (client, mut handle) = mock_client();
    let target = KubeTarget::with_client(client, info(), ImageMapping::default(), String::new()).unwrap();
    let pod = PodRef { namespace: "podspec-1-1".into(), name: "web".into() };
    let stored = serde_json::to_value(manifest()).unwrap();
    let server = tokio::spawn(async move {
        let (request, send) = handle.next_request().await.unwrap();
        assert_eq!(request.method(), "PATCH");
        assert_eq!(request.headers()["content-type"], "application/merge-patch+json");
        send.send_response(Response::builder().body(Body::from(serde_json::to_vec(&stored).unwrap())).unwrap());
        let (request, send) = handle.next_request().await.unwrap();
        assert_eq!(request.headers()["content-type"], "application/json-patch+json");
        let body: Value = serde_json::from_slice(&request.into_body().collect_bytes().await.unwrap()).unwrap();
        assert_eq!(body, json!([{"op": "replace", "path": "/spec/activeDeadlineSeconds", "value": 5}]));
        send.send_response(Response::builder().body(Body::from(serde_json::to_vec(&stored).unwrap())).unwrap());
    });
    target.patch_pod(&pod, &json!({"metadata": {"labels": {"tier": "front"}}})).await.unwrap();
    let json_patch: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/activeDeadlineSeconds", "value": 5}])).unwrap();
    target.json_patch_pod(&pod, json_patch).await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn ephemeral_containers_are_written_to_their_subresource_and_a_refusal_kept_whole() {
    let (client, mut handle) = mock_client();
    let target = KubeTarget::with_client(client, info(), ImageMapping::default(), String::new()).unwrap();
    let pod = PodRef { namespace: "podspec-1-1".into(), name: "web".into() };
    let stored = serde_json::to_value(manifest()).unwrap();
    let refusal = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
        "message": "Pod \"web\" is invalid: spec.ephemeralContainers: Forbidden: existing ephemeral containers \"d\" may not be removed\n"});
    let server = tokio::spawn(async move {
        let (method, uri, sent) = answer(&mut handle, 200, stored).await;
        assert_eq!((method.as_str(), uri.as_str()), ("PUT", "/api/v1/namespaces/podspec-1-1/pods/web/ephemeralcontainers?"));
        assert_eq!(sent["metadata"]["name"], "web");
        answer(&mut handle, 422, refusal).await;
    });
    target.update_ephemeral_containers(&pod, &manifest()).await.unwrap();
    let e = target.update_ephemeral_containers(&pod, &manifest()).await.unwrap_err();
    server.await.unwrap();
    match e {
        TargetError::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
            assert!(s.message.ends_with("may not be removed\n"), "{}", s.message);
        }
        other => panic!("not kept whole: {other}"),
    }
}

#[tokio::test]
async fn a_missing_pod_is_not_found() {
    let (client, mut handle) = mock_client();
    let target = KubeTarget::with_client(client, info(), ImageMapping::default(), String::new()).unwrap();
    let pod = PodRef { namespace: "podspec-1-1".into(), name: "gone".into() };
    let server = tokio::spawn(async move {
        answer(&mut handle, 404, json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "pods \"gone\" not found", "reason": "NotFound", "code": 404})).await;
    });
    assert!(matches!(target.get_pod(&pod).await, Err(TargetError::NotFound(p)) if p == pod));
    server.await.unwrap();
}

fn one_node() -> ServerInfo {
    let node = super::connect::NodeInfo {
        name: "n1".into(),
        ready: true,
        kubelet_version: "v1.33.0".into(),
        container_runtime_version: "containerd://2.0".into(),
        os_image: "Debian".into(),
        kernel_version: "6.1".into(),
        architecture: "amd64".into(),
    };
    ServerInfo { nodes: vec![node], ..info() }
}

/// Static pods need the writer pod the cluster may refuse: the dry run is asked first, and a
/// refusal (here Pod Security's) makes the `@static-pods` scenarios skip with its text.
#[tokio::test]
async fn a_cluster_that_refuses_the_privileged_writer_skips_static_pods_with_its_reason() {
    let (client, mut handle) = mock_client();
    let mut target = KubeTarget::with_client(client, one_node(), ImageMapping::default(), String::new()).unwrap();
    let forbidden = "pods \"podspec-manifest-writer-x\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces, hostPath volumes (volume \"manifests\"), privileged (container \"writer\" must not set securityContext.privileged=true)";
    let server = tokio::spawn(async move {
        let (_, uri, sent) = answer(&mut handle, 201, review(true)).await;
        assert!(uri.starts_with("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"), "{uri}");
        assert_eq!(sent["spec"]["resourceAttributes"], json!({"verb": "get", "group": "", "resource": "nodes", "subresource": "proxy"}));
        let (_, _, sent) = answer(&mut handle, 201, review(true)).await;
        assert_eq!(sent["spec"]["resourceAttributes"], json!({"verb": "list", "group": "", "resource": "events"}));
        let (method, uri, _) = answer(&mut handle, 200, json!({"kubeletconfig": {"staticPodPath": "/etc/kubernetes/manifests"}})).await;
        assert_eq!((method.as_str(), uri.as_str()), ("GET", "/api/v1/nodes/n1/proxy/configz"));
        let (method, uri, _) = answer(&mut handle, 201, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})).await;
        assert_eq!((method.as_str(), uri.as_str()), ("POST", "/api/v1/namespaces?"));
        let status =
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": forbidden, "reason": "Forbidden", "code": 403});
        let (method, uri, sent) = answer(&mut handle, 403, status).await;
        assert_eq!(method, "POST");
        assert!(uri.ends_with("-node/pods?&dryRun=All"), "{uri}");
        assert_eq!(sent["spec"]["nodeName"], "n1");
        assert_eq!(sent["spec"]["containers"][0]["securityContext"]["privileged"], true);
        assert_eq!(sent["spec"]["volumes"][0]["hostPath"], json!({"path": "/etc/kubernetes/manifests", "type": "Directory"}));
        // The writer's namespace goes again.
        let (method, _, _) =
            answer(&mut handle, 404, json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}))
                .await;
        assert_eq!(method, "DELETE");
    });
    target.open_static_pods().await;
    server.await.unwrap();
    assert!(!target.capabilities().contains(&Capability::StaticPods));
    let note = target.capability_note(Capability::StaticPods).unwrap();
    assert!(note.starts_with("node n1 has staticPodPath /etc/kubernetes/manifests, but the identity may not run a privileged pod there that mounts it: 403 Forbidden: "), "{note}");
    assert!(note.contains("violates PodSecurity"), "{note}");
    assert!(target.static_pods().is_none());
    // A step that asks for the interface is told what the start found.
    match target.require_static_pods().err() {
        Some(TargetError::Unsupported { what, .. }) => assert_eq!(what, format!("static-pods ({note})")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(target.write_static_pod_manifest("a.yaml", "").await, Err(TargetError::Unsupported { .. })));
}

/// A kubelet without a static pod directory: skipped, saying so.
#[tokio::test]
async fn a_kubelet_without_static_pod_path_skips_static_pods_saying_so() {
    let (client, mut handle) = mock_client();
    let mut target = KubeTarget::with_client(client, one_node(), ImageMapping::default(), String::new()).unwrap();
    let server = tokio::spawn(async move {
        answer(&mut handle, 201, review(true)).await;
        answer(&mut handle, 201, review(true)).await;
        answer(&mut handle, 200, json!({"kubeletconfig": {"staticPodPath": ""}})).await;
    });
    target.open_static_pods().await;
    server.await.unwrap();
    assert!(!target.capabilities().contains(&Capability::StaticPods));
    assert!(target.capability_note(Capability::StaticPods).unwrap().starts_with("the kubelet of node n1 has no staticPodPath"));
}

/// An identity that may not use the node proxy: skipped, naming the right.
#[tokio::test]
async fn a_denied_node_proxy_skips_static_pods_naming_the_right() {
    let (client, mut handle) = mock_client();
    let mut target = KubeTarget::with_client(client, one_node(), ImageMapping::default(), String::new()).unwrap();
    let server = tokio::spawn(async move {
        answer(&mut handle, 201, review(false)).await;
    });
    target.open_static_pods().await;
    server.await.unwrap();
    assert!(!target.capabilities().contains(&Capability::StaticPods));
    let note = target.capability_note(Capability::StaticPods).unwrap();
    assert!(note.starts_with("the identity may not `get nodes/proxy` (the kubelet's configz of node n1)"), "{note}");
}

/// A namespace that will not go within the bound is an error that says what holds it: its pods
/// (phase, terminating, finalizers) and its conditions.
#[tokio::test]
async fn a_namespace_that_will_not_go_is_reported_with_what_holds_it() {
    let (client, mut handle) = mock_client();
    let ns = json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "podspec-1-1", "uid": "u1", "deletionTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": "Terminating", "conditions": [
            {"type": "NamespaceFinalizersRemaining", "status": "True", "message": "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"},
            {"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "message": "All resources successfully discovered"}
        ]}
    });
    let pods = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [{
        "metadata": {"name": "held", "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["example.com/hold"]},
        "status": {"phase": "Running"}
    }]});
    let server = tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let path = request.uri().path().to_string();
            let body = if path == "/api/v1/namespaces/podspec-1-1/pods" { pods.clone() } else { ns.clone() };
            send.send_response(Response::builder().status(200).body(Body::from(serde_json::to_vec(&body).unwrap())).unwrap());
        }
    });
    let err = namespaces::delete(&client, "podspec-1-1", std::time::Duration::from_millis(300)).await.unwrap_err().to_string();
    server.abort();
    assert!(err.contains("namespace podspec-1-1 still exists 300ms after its deletion; it is held by: "), "{err}");
    assert!(err.contains("pod held (Running, terminating, finalizers example.com/hold)"), "{err}");
    assert!(err.contains("condition NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining"), "{err}");
    assert!(!err.contains("NamespaceDeletionDiscoveryFailure"), "{err}");
}

/// An identity that may use the node proxy but not list events (the kubelet log steps): skipped,
/// naming that right.
#[tokio::test]
async fn denied_events_skip_static_pods_naming_the_right() {
    let (client, mut handle) = mock_client();
    let mut target = KubeTarget::with_client(client, one_node(), ImageMapping::default(), String::new()).unwrap();
    let server = tokio::spawn(async move {
        answer(&mut handle, 201, review(true)).await;
        let (_, _, sent) = answer(&mut handle, 201, review(false)).await;
        assert_eq!(sent["spec"]["resourceAttributes"]["resource"], "events");
    });
    target.open_static_pods().await;
    server.await.unwrap();
    assert!(!target.capabilities().contains(&Capability::StaticPods));
    let note = target.capability_note(Capability::StaticPods).unwrap();
    assert!(note.starts_with("the identity may not `list events` (what the kubelet of node n1 reports)"), "{note}");
}

/// A wait on a pod looks again when the pod changes: a watch from the resourceVersion last read
/// (field selector on its name, a timeout), ended by the first event.
#[tokio::test]
async fn a_wait_on_a_pod_watches_it_from_what_was_last_read() {
    let (client, mut handle) = mock_client();
    let target = KubeTarget::with_client(client, info(), ImageMapping::default(), String::new()).unwrap();
    let pod = PodRef { namespace: "podspec-1-1".into(), name: "web".into() };
    let mut stored = serde_json::to_value(manifest()).unwrap();
    stored["metadata"]["resourceVersion"] = json!("41");
    let event = stored.clone();
    let server = tokio::spawn(async move {
        answer(&mut handle, 200, stored).await;
        let (request, send) = handle.next_request().await.unwrap();
        let query = request.uri().query().unwrap_or_default().to_string();
        assert_eq!(request.uri().path(), "/api/v1/namespaces/podspec-1-1/pods");
        for part in ["watch=true", "resourceVersion=41", "fieldSelector=metadata.name%3Dweb", "timeoutSeconds=5"] {
            assert!(query.contains(part), "{part} in {query}");
        }
        assert!(!query.contains("allowWatchBookmarks"), "a bookmark is no change: {query}");
        let line = format!("{}\n", json!({"type": "MODIFIED", "object": event}));
        send.send_response(Response::builder().body(Body::from(line.into_bytes())).unwrap());
    });
    // Never read: nothing to watch from, so no request (the wait polls).
    target.pod_changed(&pod, std::time::Duration::from_secs(1)).await;
    target.get_pod(&pod).await.unwrap();
    let started = std::time::Instant::now();
    target.pod_changed(&pod, std::time::Duration::from_secs(5)).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "ended by the event, not the bound: {:?}", started.elapsed());
    server.await.unwrap();
}

/// A connected cluster target, before its start looks for static pods, has what `podspec list`
/// says of the kube kind: every capability its interfaces give but static pods.
#[tokio::test]
async fn a_connected_target_has_the_capabilities_the_kube_kind_declares() {
    let (client, _handle) = mock_client();
    let target = KubeTarget::with_client(client, info(), ImageMapping::default(), String::new()).unwrap();
    assert_eq!(target.capabilities(), KubeTarget::declared_capabilities());
    assert!(target.api_server().is_some() && target.static_pods().is_none());
}
