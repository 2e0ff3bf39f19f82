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

/// `podspec bench --scale 20`: 20 pods at once beside 2, in process and through serve; each
/// row of the table holds each run's figure and the ratio, worked out from the runs.
#[test]
#[ignore = "podspec bench runs the reference node, which needs root"]
fn bench_scale_shows_each_figure_beside_a_tenth_of_the_pods() {
    crate::support::require_root("podspec bench runs the reference node, which needs root");
    let out = Command::new(env!("CARGO_BIN_EXE_podspec")).args(["bench", "--scale", "20"]).output().expect("run podspec bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{all}");
    println!("{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].contains("20 beside 2"), "{all}");
    for column in ["reference 2", "reference 20", "serve 2", "serve 20", "ratio"] {
        assert!(lines[1].contains(column), "{column}: {all}");
    }
    // Each row: name, unit, then per target the tenth's figure, the full run's, the ratio.
    let row = |name: &str| -> Vec<f64> {
        let line = lines.iter().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no row {name}: {all}"));
        let figures: Vec<f64> =
            line[name.len()..].split_whitespace().skip(1).map(|w| w.trim_end_matches('x').parse().expect(line)).collect();
        assert_eq!(figures.len(), 6, "{line}");
        for target in figures.chunks(3) {
            let (small, large, ratio) = (target[0], target[1], target[2]);
            assert!(small > 0.0 && large > 0.0, "{name}: a figure of zero: {line}");
            // Within what the figures' rounding to the hundredth leaves.
            let slack = 0.01 + ratio * (0.005 / small + 0.005 / large);
            assert!((ratio - large / small).abs() <= slack, "{name}: the ratio is not the runs' ({line})");
        }
        figures
    };
    let running = row("all Running");
    row("creates/s");
    let p50 = row("start p50");
    let p99 = row("start p99");
    row("delete all");
    let rss = row("peak RSS");
    let files = row("open files");
    for t in [0, 3] {
        for run in [t, t + 1] {
            assert!(p50[run] <= p99[run], "p50 above p99: {all}");
            // The slowest pod started within the time until all ran (both from the first create;
            // all Running is shown to the hundredth of a second).
            assert!(p99[run] <= running[run] * 1000.0 + 6.0, "a pod's start beyond all Running: {all}");
            // A process that runs a node's API and kubelet holds some megabytes.
            assert!(rss[run] > 5.0, "peak RSS: {all}");
        }
        // Each running pod holds descriptors of the node's: 20 pods hold more than 2.
        assert!(files[t + 1] > files[t], "open files do not grow with the pods: {all}");
    }
}
