//! The official Kubernetes Python client (`kubernetes`, from PyPI or Debian's
//! python3-kubernetes) against `podspec serve`: tests/python/client_check.py creates, lists,
//! watches, execs into (its stream module, WebSocket v4) and deletes a pod. Needs root and the
//! client; without either, the test says so and skips.

use std::process::Command;


#[test]
#[ignore = "podspec serve runs the reference node, which needs root"]
fn python_client_against_podspec_serve() {
    crate::support::require_root("podspec serve runs the reference node, which needs root");
    // The PATH's python, or Debian's (python3-kubernetes), whichever has the client.
    let python = ["python3", "/usr/bin/python3"].into_iter().find(|p| {
        Command::new(p).args(["-c", "import kubernetes"]).stderr(std::process::Stdio::null()).status().is_ok_and(|s| s.success())
    });
    let python = python.expect("needs the Python client (apt-get install python3-kubernetes, or pip install kubernetes)");
    let serve = crate::serve::Serve::start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/client_check.py");
    let out = Command::new(python).arg(script).arg(&serve.kubeconfig).output().expect("run python3");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{text}");
    assert!(out.status.success(), "the Python client's checks failed:\n{text}");
    assert!(serve.stop().success());
}
