//! `podspec bench` measures pod start, exec and delete through serve's HTTP API (kube-rs:
//! create, watch until both containers run, WebSocket exec, delete) beside the in-process
//! figures, in one run. Needs root (the reference node); without it the test says so and skips.

use std::process::Command;

#[test]
#[ignore = "podspec bench runs the reference node, which needs root"]
fn bench_shows_serve_beside_reference() {
    crate::support::require_root("podspec bench runs the reference node, which needs root");
    let out = Command::new(env!("CARGO_BIN_EXE_podspec")).args(["bench", "--pods", "3"]).output().expect("run podspec bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{all}");
    assert!(stdout.contains("reference median") && stdout.contains("serve median") && stdout.contains("serve/reference"), "{all}");
    let start = stdout.lines().find(|l| l.starts_with("pod start")).unwrap_or_default();
    // Three medians of milliseconds and the ratio (the bench's figures, not checked here: a
    // shared machine's load decides them).
    assert!(start.trim_end().ends_with('x') && start.matches(" ms").count() == 4, "{all}");
    println!("{stdout}");
}
