//! What the node cannot run, when it reaches the node through `podspec serve` (past the
//! up-front checks of `podspec run`): the kubelet never starts it and says why in the pod's
//! status and its events, naming the field. Runs only as root and with kubectl; otherwise it
//! says that it did not run.
//!
//! `kubectl debug --custom` adds an ephemeral container with `securityContext.seLinuxOptions`;
//! the reference node has no SELinux, so the container waits with reason
//! CreateContainerConfigError, its message names the field, and a Failed event of the kubelet
//! says the same.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::serve::Serve;

const KUBECTL: &str = "/usr/bin/kubectl";
/// The field the node refuses, by its path in the pod.
const FIELD: &str = "spec.ephemeralContainers[0].securityContext.seLinuxOptions";

fn text(o: &Output) -> String {
    format!("exit {:?}: {}{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(KUBECTL).args(args).env("KUBECONFIG", kubeconfig).env("HOME", home).output().expect("run kubectl")
}

#[test]
#[ignore = "podspec serve needs root, and the test kubectl at {KUBECTL}"]
fn an_ephemeral_container_the_node_cannot_run_waits_with_the_field_named() {
    crate::support::require_root("podspec serve needs root");
    assert!(Path::new(KUBECTL).exists(), "needs the test kubectl at {KUBECTL}");
    let serve = Serve::start();
    let home = tempfile::tempdir().unwrap();
    let k = |args: &[&str]| kubectl(&serve.kubeconfig, home.path(), args);
    let o = k(&["run", "target", "--image=busybox:1.36", "--restart=Never", "--", "sleep", "3600"]);
    assert!(o.status.success(), "run: {}", text(&o));
    let o = k(&["wait", "--for=condition=Ready", "pod/target", "--timeout=60s"]);
    assert!(o.status.success(), "wait: {}", text(&o));
    // A partial container spec kubectl merges into the ephemeral container.
    let custom = home.path().join("custom.json");
    std::fs::write(&custom, r#"{"securityContext": {"seLinuxOptions": {"level": "s0:c1,c2"}}}"#).unwrap();
    let custom = format!("--custom={}", custom.display());
    let o = k(&["debug", "target", &custom, "--image=busybox:1.36", "-c", "dbg", "--", "sleep", "3600"]);
    assert!(o.status.success(), "debug: {}", text(&o));
    let deadline = Instant::now() + Duration::from_secs(60);
    let waiting = loop {
        let o = k(&["get", "pod", "target", "-o", "json"]);
        let pod: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        let state = &pod["status"]["ephemeralContainerStatuses"][0]["state"];
        if state["waiting"]["reason"] == "CreateContainerConfigError" {
            break state["waiting"].clone();
        }
        assert!(state.get("running").is_none() && state.get("terminated").is_none(), "dbg was started: {state}");
        assert!(Instant::now() < deadline, "dbg not waiting with CreateContainerConfigError after 60 s: {}", text(&o));
        std::thread::sleep(Duration::from_millis(200));
    };
    let message = waiting["message"].as_str().unwrap_or_default();
    assert!(message.contains(FIELD), "{waiting}");
    let o = k(&["get", "events", "--field-selector", "involvedObject.name=target", "-o", "json"]);
    let events: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let failed = events["items"].as_array().into_iter().flatten().any(|e| {
        e["reason"] == "Failed" && e["source"]["component"] == "kubelet" && e["message"].as_str().is_some_and(|m| m.contains(FIELD))
    });
    assert!(failed, "no Failed event naming the field: {}", text(&o));
    let o = k(&["delete", "pod", "target", "--grace-period=0", "--force"]);
    assert!(o.status.success(), "delete: {}", text(&o));
    assert!(serve.stop().success());
}
