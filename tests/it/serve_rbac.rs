//! serve enforces RBAC as kube-apiserver does: a ServiceAccount's token (from `kubectl create
//! token`) may do what its Role and ClusterRole bindings allow and nothing else; each refusal is
//! 403 with kube-apiserver's text; `kubectl auth can-i` (SelfSubjectAccessReview), the admin's
//! `--as` (impersonation), the admin's SubjectAccessReview and the requests themselves agree; a role
//! cannot grant what its writer does not hold.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::serve::Serve;

const SETUP: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: team}
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list]
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [roles]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: ServiceAccount, name: reader}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team-namespace}
rules:
  - apiGroups: [""]
    resources: [namespaces]
    resourceNames: [team]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader-team-namespace}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: team-namespace}
subjects: [{kind: ServiceAccount, name: reader, namespace: team}]
"#;

const USER: &str = "system:serviceaccount:team:reader";

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new("kubectl").arg("--kubeconfig").arg(kubeconfig).args(args).output().expect("kubectl on PATH")
}

fn can_i(kubeconfig: &Path, args: &[&str]) -> bool {
    let out = kubectl(kubeconfig, &[&["auth", "can-i"], args].concat());
    match String::from_utf8_lossy(&out.stdout).trim() {
        "yes" => true,
        "no" => false,
        other => panic!("kubectl auth can-i {args:?}: {other:?} {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// The admin's SubjectAccessReview (`authorization.k8s.io/v1`, `kubectl create -f`) of what the
/// `kubectl auth can-i` arguments `ask` ask, for the reader's user and groups, described as the
/// request itself is (a namespace's own name is its namespace): `status.allowed` and its reason.
fn subject_access_review(admin: &Path, dir: &Path, ask: &[&str]) -> (bool, String) {
    let (verb, what) = (ask[0], ask[1]);
    let namespace = ask.iter().position(|a| *a == "-n").map(|i| ask[i + 1]);
    let attributes = match what.strip_prefix('/') {
        Some(_) => serde_json::json!({"nonResourceAttributes": {"verb": verb, "path": what}}),
        None => {
            let (resource, name) = what.split_once('/').unwrap_or((what, ""));
            let namespace = namespace.unwrap_or(if resource == "namespaces" { name } else { "" });
            serde_json::json!({"resourceAttributes": {"verb": verb, "resource": resource, "name": name, "namespace": namespace}})
        }
    };
    let mut spec = attributes;
    spec["user"] = USER.into();
    spec["groups"] = serde_json::json!(["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"]);
    let review = serde_json::json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec});
    let file = dir.join("sar.json");
    std::fs::write(&file, review.to_string()).unwrap();
    let out = kubectl(admin, &["create", "-f", file.to_str().unwrap(), "-o", "json"]);
    assert!(out.status.success(), "SubjectAccessReview {ask:?}: {}", String::from_utf8_lossy(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (answer["status"]["allowed"] == true, answer["status"]["reason"].as_str().unwrap_or("").to_string())
}

#[test]
#[ignore = "podspec serve needs root, and kubectl"]
fn serve_refuses_what_rbac_does_not_allow_and_auth_can_i_agrees() {
    crate::support::require_root("podspec serve needs root");
    let serve = Serve::start();
    let admin = serve.kubeconfig.clone();
    let dir = tempfile::tempdir().unwrap();
    let setup = dir.path().join("setup.yaml");
    std::fs::write(&setup, SETUP).unwrap();
    let out = kubectl(&admin, &["apply", "-f", setup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kubectl(&admin, &["create", "token", "reader", "-n", "team"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let admin_config = std::fs::read_to_string(&admin).unwrap();
    let line = admin_config.lines().find(|l| l.trim_start().starts_with("token: ")).unwrap().trim_start().to_string();
    let reader: PathBuf = dir.path().join("reader");
    std::fs::write(&reader, admin_config.replace(&line, &format!("token: {token}"))).unwrap();

    // (can-i arguments, the request itself, kube-apiserver's refusal when refused)
    let forbidden = |what: &str| format!("Error from server (Forbidden): {what}");
    let cases: Vec<(Vec<&str>, Vec<&str>, Option<String>)> = vec![
        (vec!["list", "pods", "-n", "team"], vec!["get", "pods", "-n", "team"], None),
        (
            vec!["list", "pods", "-n", "default"],
            vec!["get", "pods", "-n", "default"],
            Some(forbidden(&format!("pods is forbidden: User \"{USER}\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""))),
        ),
        (
            vec!["delete", "pods/web", "-n", "team"],
            vec!["delete", "pod", "web", "-n", "team"],
            Some(forbidden(&format!("pods \"web\" is forbidden: User \"{USER}\" cannot delete resource \"pods\" in API group \"\" in the namespace \"team\""))),
        ),
        (vec!["get", "namespaces/team"], vec!["get", "namespace", "team"], None),
        (
            vec!["get", "namespaces/default"],
            vec!["get", "namespace", "default"],
            Some(forbidden(&format!(
                "namespaces \"default\" is forbidden: User \"{USER}\" cannot get resource \"namespaces\" in API group \"\" in the namespace \"default\""
            ))),
        ),
        (
            vec!["list", "nodes"],
            vec!["get", "nodes"],
            Some(forbidden(&format!("nodes is forbidden: User \"{USER}\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"))),
        ),
        (vec!["get", "/version"], vec!["get", "--raw", "/version"], None),
        (
            vec!["get", "/metrics"],
            vec!["get", "--raw", "/metrics"],
            Some(forbidden(&format!("forbidden: User \"{USER}\" cannot get path \"/metrics\""))),
        ),
    ];
    for (ask, request, refusal) in &cases {
        let allowed = can_i(&reader, ask);
        let out = kubectl(&reader, request);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(allowed, out.status.success(), "can-i {ask:?} said {allowed}, the request {request:?}: {stderr}");
        assert_eq!(allowed, refusal.is_none(), "can-i {ask:?}: {allowed}");
        if let Some(text) = refusal {
            assert!(stderr.contains(text.as_str()), "{request:?}: {stderr:?}, wanted {text:?}");
        }
        // The admin asking for the reader (impersonation) gets the same answer.
        let mut as_reader = ask.clone();
        as_reader.extend(["--as", USER]);
        assert_eq!(can_i(&admin, &as_reader), allowed, "--as {ask:?}");
        // And so does the admin's SubjectAccessReview about the reader (its user and groups).
        let (sar_allowed, _) = subject_access_review(&admin, dir.path(), ask);
        assert_eq!(sar_allowed, allowed, "SubjectAccessReview {ask:?}");
    }
    // The review's reason is RBAC's: the binding that allowed it.
    let (_, reason) = subject_access_review(&admin, dir.path(), &["list", "pods", "-n", "team"]);
    assert_eq!(reason, "RBAC: allowed by RoleBinding \"reader/team\" of Role \"pod-reader\" to ServiceAccount \"reader/team\"");
    // `kubectl auth can-i --list` (SelfSubjectRulesReview) lists the rules of its bindings.
    let out = kubectl(&reader, &["auth", "can-i", "--list", "-n", "team"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row = |start: &str, end: &str| list.lines().any(|l| l.starts_with(start) && l.trim_end().ends_with(end));
    assert!(row("pods ", "[]               [get list]"), "{list}");
    assert!(row("namespaces ", "[team]           [get]"), "{list}");
    assert!(!list.contains("delete"), "{list}");
    // The admin's kubeconfig is cluster-admin.
    assert!(can_i(&admin, &["*", "*"]));
    // exec over WebSocket is `get` on pods/exec; the reader has neither.
    assert!(!can_i(&reader, &["get", "pods", "--subresource=exec", "-n", "team"]));
    // A role may grant only what its writer holds.
    let holds = dir.path().join("holds.yaml");
    std::fs::write(&holds, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: also-reads, namespace: team}\nrules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]\n").unwrap();
    let out = kubectl(&reader, &["create", "-f", holds.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let escalates = dir.path().join("escalates.yaml");
    std::fs::write(&escalates, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: deletes, namespace: team}\nrules: [{apiGroups: [\"\"], resources: [pods], verbs: [get, delete]}]\n").unwrap();
    let out = kubectl(&reader, &["create", "-f", escalates.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let text = format!("roles.rbac.authorization.k8s.io \"deletes\" is forbidden: user \"{USER}\" (groups=[\"system:serviceaccounts\" \"system:serviceaccounts:team\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}}");
    assert!(stderr.contains(&text), "{stderr}");
    // A token stops working when its ServiceAccount goes.
    let out = kubectl(&admin, &["delete", "serviceaccount", "reader", "-n", "team"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kubectl(&reader, &["get", "pods", "-n", "team"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unauthorized"), "{}", String::from_utf8_lossy(&out.stderr));
    drop(serve);
}

/// The kubelet's projected token (a pod's `serviceAccountToken` source) is the API's: it
/// authenticates to serve as the pod's ServiceAccount (`default`, the namespace's own, made by
/// the node's ServiceAccounts controller), which may do nothing it is not bound to, and stops
/// authenticating once its pod is gone (a token bound to a pod).
#[test]
#[ignore = "podspec serve needs root, and kubectl"]
fn a_pods_projected_token_authenticates_as_its_service_account_until_the_pod_goes() {
    crate::support::require_root("podspec serve needs root");
    let serve = Serve::start();
    let kc = serve.kubeconfig.clone();
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("pod.yaml");
    std::fs::write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: tok}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: c\n    image: busybox:1.36\n    command: [sleep, '600']\n    volumeMounts: [{name: t, mountPath: /t, readOnly: true}]\n  volumes:\n  - name: t\n    projected:\n      sources:\n      - serviceAccountToken: {path: token}\n",
    )
    .unwrap();
    let out = kubectl(&kc, &["apply", "-f", pod.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kubectl(&kc, &["wait", "--for=condition=Ready", "pod/tok", "--timeout=60s"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kubectl(&kc, &["exec", "tok", "--", "cat", "/t/token"]);
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT-shaped token: {token:?}");
    let as_pod = |args: &[&str]| kubectl(&kc, &[&[format!("--token={token}").as_str()], args].concat());
    let out = as_pod(&["get", "pods"]);
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        text.contains("User \"system:serviceaccount:default:default\" cannot list resource \"pods\""),
        "the pod's token is its ServiceAccount's: {text}"
    );
    let out = kubectl(&kc, &["delete", "pod", "tok", "--grace-period=0", "--wait=true"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = as_pod(&["get", "pods"]);
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(text.contains("Unauthorized"), "a token bound to a pod that is gone: {text}");
    let status = serve.stop();
    assert!(status.success(), "serve exited {status:?} on SIGTERM");
}

/// `kubectl create token --bound-object-kind` (TokenRequest's boundObjectRef, sent as
/// protobuf): a token bound to a Secret authenticates until the Secret goes; the refusals carry
/// kube-apiserver's texts (a missing object, a uid that is not its own).
#[test]
#[ignore = "podspec serve needs root, and kubectl"]
fn a_token_bound_to_a_secret_authenticates_until_the_secret_goes() {
    crate::support::require_root("podspec serve needs root");
    let serve = Serve::start();
    let kc = serve.kubeconfig.clone();
    let out = kubectl(&kc, &["create", "secret", "generic", "anchor", "--from-literal=a=b"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kubectl(&kc, &["create", "token", "default", "--bound-object-kind", "Secret", "--bound-object-name", "anchor"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let as_bound = |args: &[&str]| kubectl(&kc, &[&[format!("--token={token}").as_str()], args].concat());
    let text = String::from_utf8_lossy(&as_bound(&["get", "pods"]).stderr).to_string();
    assert!(text.contains("User \"system:serviceaccount:default:default\" cannot list"), "authenticated: {text}");
    let out = kubectl(&kc, &["create", "token", "default", "--bound-object-kind", "Secret", "--bound-object-name", "nothere"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("secrets \"nothere\" not found"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kubectl(
        &kc,
        &["create", "token", "default", "--bound-object-kind", "Secret", "--bound-object-name", "anchor", "--bound-object-uid", "u"],
    );
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        text.contains("Operation cannot be fulfilled on Secret \"anchor\": the UID in the bound object reference (u) does not match"),
        "{text}"
    );
    let out = kubectl(&kc, &["delete", "secret", "anchor"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&as_bound(&["get", "pods"]).stderr).to_string();
    assert!(text.contains("Unauthorized"), "a token bound to a Secret that is gone: {text}");
    let status = serve.stop();
    assert!(status.success(), "serve exited {status:?} on SIGTERM");
}
