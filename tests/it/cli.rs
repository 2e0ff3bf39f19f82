//! The `podspec` command line: exit codes, reports, bad input named by file and line, and
//! nothing left behind, even after a run killed with SIGKILL.

use std::fs;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};


use assert_cmd::Command;
use predicates::prelude::*;
use crate::support::{processes_mentioning, Scratch, ROOT};
use tempfile::TempDir;

const HOSTNAME_FEATURE: &str = r#"Feature: Hostname
  Scenario: The hostname is the pod name
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "two-containers"

  @node-access
  Scenario: Needs the node
    Given a running pod from fixture "shared-emptydir.yaml"
    Then volume "data" of pod "shared-emptydir" exists on the node
"#;

#[test]
fn a_passing_run_exits_0_and_writes_the_three_reports() {
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    s.run().assert().code(0).stderr(predicate::str::contains("2 passed, 0 failed, 0 skipped"));
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(json["target"], "reference");
    assert_eq!(json["summary"]["passed"], 2);
    assert_eq!(json["scenarios"][0]["status"], "passed");
    assert!(json["features_sha256"].as_str().unwrap().len() == 64);
    let junit = fs::read_to_string(s.path().join("out/junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 2, "{junit}");
    assert!(junit.contains(r#"classname="Hostname""#), "{junit}");
    assert!(s.path().join("out/report.md").exists());
    s.assert_clean();
}

#[test]
fn a_bad_manifest_in_the_users_static_pod_directory_is_logged_and_skipped() {
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    let manifests = s.path().join("manifests");
    fs::create_dir_all(&manifests).unwrap();
    fs::write(manifests.join("broken.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: [not\n").unwrap();
    let valid = "apiVersion: v1\nkind: Pod\nmetadata: {name: kept}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {name: app, image: busybox:1.36, command: [sleep, '3600']}\n";
    fs::write(manifests.join("kept.yaml"), valid).unwrap();
    s.run()
        .args(["--static-pod-dir", "manifests"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("2 passed, 0 failed, 0 skipped"))
        .stderr(predicate::str::contains("Could not process manifest file").and(predicate::str::contains("broken.yaml")));
    // The user's directory and manifests are theirs: left as they were.
    assert!(manifests.join("broken.yaml").exists() && manifests.join("kept.yaml").exists());
    s.assert_clean();
}

#[test]
fn a_failing_scenario_exits_1_and_the_report_shows_expected_against_actual() {
    let s = Scratch::new();
    s.feature(
        "wrong.feature",
        r#"Feature: Wrong expectation
  Scenario: The hostname is not what we say
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "somebody-else"
"#,
    );
    s.run().assert().code(1);
    let md = fs::read_to_string(s.path().join("out/report.md")).unwrap();
    assert!(md.contains("-somebody-else") && md.contains("+two-containers"), "{md}");
    let junit = fs::read_to_string(s.path().join("out/junit.xml")).unwrap();
    assert!(junit.contains("<failure") && junit.contains("prints"), "{junit}");
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(
        json["scenarios"][0]["failure"]["step"],
        r#"Then running "hostname" in container "a" of pod "two-containers" prints "somebody-else""#
    );
    assert!(json["scenarios"][0]["failure"]["diff"].as_str().unwrap().contains("+two-containers"));
    s.assert_clean();
}

#[test]
fn tags_select_scenarios() {
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    s.run().args(["--tags", "@node-access"]).assert().code(0).stderr(predicate::str::contains("1 passed, 0 failed, 0 skipped"));
}

#[test]
fn a_feature_syntax_error_names_file_and_line_and_exits_2() {
    let s = Scratch::new();
    s.feature(
        "broken.feature",
        "Feature: Broken\n  Scenario: one\n    Given a running pod from fixture \"two-containers.yaml\"\n  This line is no Gherkin\n",
    );
    s.run().assert().code(2).stderr(predicate::str::contains("broken.feature:4").and(predicate::str::contains("syntax error")));
    s.assert_clean();
}

#[test]
fn an_unknown_step_names_file_and_line_and_exits_2() {
    let s = Scratch::new();
    s.feature(
        "unknown.feature",
        "Feature: Unknown\n  Scenario: one\n    Given a running pod from fixture \"two-containers.yaml\"\n    Then the pod sings\n",
    );
    s.run().assert().code(2).stderr(predicate::str::contains("unknown.feature:4: unknown step `Then the pod sings`"));
    s.assert_clean();
}

#[test]
fn a_malformed_inline_manifest_names_the_feature_line_and_exits_2() {
    let s = Scratch::new();
    s.feature(
        "manifest.feature",
        "Feature: Manifest\n  Scenario: one\n    Given a running pod:\n      \"\"\"\n      apiVersion: v1\n      kind: Pod\n      metadata:\n        name: a: b\n      \"\"\"\n",
    );
    s.run().assert().code(2).stderr(predicate::str::contains("manifest.feature:8").and(predicate::str::contains("malformed YAML")));
    s.assert_clean();
}

#[test]
fn an_invalid_fixture_manifest_names_the_file_and_exits_2() {
    let s = Scratch::new();
    s.fixture("no-image.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: no-image\nspec:\n  containers:\n  - name: a\n");
    s.feature("invalid.feature", "Feature: Invalid\n  Scenario: one\n    Given a running pod from fixture \"no-image.yaml\"\n");
    s.run().assert().code(2).stderr(
        predicate::str::contains("no-image.yaml")
            .and(predicate::str::contains("spec.containers[0].image: Required value"))
            .and(predicate::str::contains("invalid.feature:3")),
    );
    s.assert_clean();
}

#[test]
fn a_field_the_target_refuses_names_file_line_and_field_and_exits_2() {
    let s = Scratch::new();
    s.fixture(
        "host-path.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hp\nspec:\n  containers:\n  - name: a\n    image: busybox:1.36\n  volumes:\n  - name: v\n    hostPath:\n      path: /\n",
    );
    s.feature(
        "refused.feature",
        "Feature: Refused\n  Scenario: one\n    Given a running pod:\n      \"\"\"\n      apiVersion: v1\n      kind: Pod\n      metadata:\n        name: propagation\n      spec:\n        containers:\n        - name: a\n          image: busybox:1.36\n          volumeMounts:\n          - name: v\n            mountPath: /v\n            mountPropagation: HostToContainer\n        volumes:\n        - name: v\n          emptyDir: {}\n      \"\"\"\n  Scenario: two\n    Given a running pod from fixture \"host-path.yaml\"\n",
    );
    s.run().assert().code(2).stderr(
        predicate::str::contains(
            "refused.feature:16: spec.containers[0].volumeMounts[0].mountPropagation: target reference does not run this field: every mount is private to its container",
        )
        .and(predicate::str::contains(
            "host-path.yaml:11: spec.volumes[0].hostPath: target reference does not run this field: path \"/\" is not inside the node's own directories (",
        ))
        .and(predicate::str::contains("): the machine's own files are never handed to a pod"))
        .and(predicate::str::contains("(used at features/refused.feature:22)")),
    );
    assert!(!s.path().join("out/report.json").exists(), "nothing ran, so no report");
    s.assert_clean();
}

/// The podman target's own refusals (what would reach the machine, objects kube play is not
/// given) are input errors too: exit 2 with file, line and field, before any pod is made.
#[test]
fn a_field_podman_refuses_names_file_line_and_field_and_exits_2() {
    let s = Scratch::new();
    s.feature(
        "host.feature",
        "Feature: Host\n  Scenario: host network\n    Given a running pod:\n      \"\"\"\n      apiVersion: v1\n      kind: Pod\n      metadata:\n        name: hn\n      spec:\n        hostNetwork: true\n        containers:\n        - name: a\n          image: busybox:1.36\n          ports:\n          - containerPort: 8080\n            hostPort: 8080\n      \"\"\"\n",
    );
    s.run().args(["--target", "podman"]).assert().code(2).stderr(
        predicate::str::contains(
            "host.feature:10: spec.hostNetwork: target podman does not run this field: podman would use the machine's own network",
        )
        .and(predicate::str::contains(
            "spec.containers[0].ports[0].hostPort: target podman does not run this field: podman would use the machine's own ports",
        ))
        .and(predicate::str::contains("running").not()),
    );
    assert!(!s.path().join("out/report.json").exists(), "nothing ran, so no report");
}

#[test]
fn an_unknown_field_is_refused_even_when_its_value_is_empty() {
    let s = Scratch::new();
    s.feature(
        "typo.feature",
        "Feature: Typo\n  Scenario: one\n    Given a running pod:\n      \"\"\"\n      apiVersion: v1\n      kind: Pod\n      metadata:\n        name: typo\n      spec:\n        securityContxt: {}\n        containers:\n        - name: a\n          image: busybox:1.36\n      \"\"\"\n",
    );
    s.run()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("typo.feature:10: invalid pod manifest: unknown field \"spec.securityContxt\""));
    s.assert_clean();
}

#[test]
fn podspec_fields_prints_the_table_the_book_embeds() {
    let out = Command::cargo_bin("podspec").unwrap().arg("fields").assert().success().get_output().stdout.clone();
    let table = String::from_utf8(out).unwrap();
    assert!(table.starts_with("| object | field | handling |"), "{table}");
    assert!(table.contains("| PodSpec | `hostUsers` | **refused** |"), "{table}");
    assert!(table.contains("| PodSpec | `hostNetwork` | implemented |"), "{table}");
    let page = fs::read_to_string(Path::new(ROOT).join("docs/src/reference/fields.md")).unwrap();
    assert!(page.contains(&table));
}

#[test]
fn an_image_that_is_not_available_locally_is_named_and_exits_2() {
    let s = Scratch::new();
    s.fixture(
        "nginx.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx:1.25\n",
    );
    s.feature("image.feature", "Feature: Image\n  Scenario: one\n    Given a running pod from fixture \"nginx.yaml\"\n");
    s.run()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("image.feature:3").and(predicate::str::contains("\"nginx:1.25\" is not available locally")));
    s.assert_clean();
}

/// `--runtime-handler` and `--podman-runtime` belong to the cri and podman targets: given with
/// another target they are refused before anything starts, not dropped (the run would have been
/// the reference runtime's, or runc's, while the command line named crun).
#[test]
fn an_option_of_another_target_is_refused_before_anything_runs() {
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    s.run()
        .args(["--runtime-handler", "crun"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--runtime-handler crun is the handler the cri target sends").and(predicate::str::contains("(reference) is not cri")));
    assert!(!s.path().join("out/report.json").exists(), "a report was written: the run ran");
    s.run()
        .args(["--podman-runtime", "crun"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--podman-runtime crun is the OCI runtime podman runs the pods with").and(predicate::str::contains("(reference) is not podman")));
    assert!(!s.path().join("out/report.json").exists(), "a report was written: the run ran");
    s.podspec()
        .args(["bench", "--pods", "1", "--target", "reference", "--runtime-handler", "crun"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("(reference) is not cri"));
    s.podspec()
        .args(["serve", "--runtime-handler", "crun", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("(reference) is not cri"));
    s.assert_clean();
}

#[test]
fn bad_usage_exits_2() {
    Command::cargo_bin("podspec").unwrap().args(["run", "--concurrency", "many"]).assert().code(2);
}

#[test]
fn a_run_killed_with_sigkill_leaves_nothing_that_clean_does_not_remove() {
    let s = Scratch::new();
    s.feature(
        "slow.feature",
        r#"Feature: Slow
  Scenario: Holds a pod for a while
    Given a running pod from fixture "shared-emptydir.yaml"
    Then running "sleep 25" in container "writer" of pod "shared-emptydir" succeeds
"#,
    );
    let bin = assert_cmd::cargo::cargo_bin("podspec");
    let mut child = StdCommand::new(bin)
        .args(["run", "--report-dir", "out"])
        .current_dir(s.path())
        .env("PODSPEC_STATE_DIR", s.state())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the pod's containers run: their shims name the state directory.
    let state = s.state().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while processes_mentioning(&format!("{state}/runs")).iter().filter(|(_, c)| c.contains("podspec-shim run")).count() < 2 {
        assert!(Instant::now() < deadline, "the pod never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    // What the killed run left: its state directory (its processes die with it).
    let runs: Vec<_> = fs::read_dir(s.state().join("runs")).unwrap().filter_map(Result::ok).collect();
    assert_eq!(runs.len(), 1, "the killed run's state directory is there to clean");
    s.podspec().arg("clean").assert().code(0).stdout(predicate::str::contains("removed 1 run(s) left behind"));
    s.assert_clean();
    s.podspec().arg("clean").assert().code(0).stdout(predicate::str::contains("nothing to clean"));
}

#[test]
fn the_next_run_removes_what_a_killed_run_left() {
    let s = Scratch::new();
    // A run directory whose owner is gone, as a killed run leaves it.
    let dead = s.state().join("runs/killed-run");
    fs::create_dir_all(dead.join("procs")).unwrap();
    fs::write(dead.join("owner"), "999999999 1").unwrap();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    s.run().assert().code(0);
    assert!(!dead.exists());
    s.assert_clean();
}

/// As a user other than root, podspec runs inside a user namespace of its own.
#[test]
#[ignore = "needs root (to become another user) and setpriv"]
fn a_non_root_user_runs_the_features_in_a_user_namespace() {
    crate::support::require_root("becoming another user needs root");
    crate::support::require_program("setpriv");
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    let status = StdCommand::new("chown").args(["-R", "65534:65534"]).arg(s.path()).status().unwrap();
    assert!(status.success());
    let bin = assert_cmd::cargo::cargo_bin("podspec");
    let out = StdCommand::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "env", "-u", "PODSPEC_STATE_DIR", "-u", "PODSPEC_DATA_DIR"])
        .arg(format!("HOME={}", s.path().display()))
        .arg(format!("XDG_RUNTIME_DIR={}", s.state().display()))
        .arg(bin)
        .args(["run", "--report-dir", "out"])
        .current_dir(s.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 passed, 0 failed, 0 skipped"), "{stderr}");
    let left: Vec<_> = fs::read_dir(s.state().join("podspec/runs")).map(|d| d.filter_map(Result::ok).collect()).unwrap_or_default();
    assert!(left.is_empty(), "run directories left behind: {left:?}");
}

/// A report.json as a run writes it, by hand: `scenarios` is the JSON array of scenarios.
fn report_json(target: &str, scenarios: &str, summary: (usize, usize, usize)) -> String {
    format!(
        r#"{{
  "target": "{target}",
  "podspec_version": "0.1.0",
  "started": "2025-01-15T10:00:00Z",
  "finished": "2025-01-15T10:01:00Z",
  "features_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  "scenarios": {scenarios},
  "summary": {{ "passed": {}, "failed": {}, "skipped": {} }}
}}
"#,
        summary.0, summary.1, summary.2
    )
}

const REFERENCE_SCENARIOS: &str = r#"[
  { "feature": "Hostname", "feature_path": "features/hostname.feature", "name": "The hostname is the pod name",
    "line": 2, "tags": [], "status": "passed", "reason": null, "duration_ms": 40, "failure": null },
  { "feature": "Hostname", "feature_path": "features/hostname.feature", "name": "Needs the node",
    "line": 7, "tags": ["node-access"], "status": "passed", "reason": null, "duration_ms": 50, "failure": null }
]"#;

const PODMAN_SCENARIOS: &str = r#"[
  { "feature": "Hostname", "feature_path": "features/hostname.feature", "name": "The hostname is the pod name",
    "line": 2, "tags": [], "status": "failed", "reason": "output did not match", "duration_ms": 40,
    "failure": { "step": "Then running \"hostname\" in container \"a\" of pod \"p\" prints \"p\"", "step_line": 4,
      "message": "output did not match", "expected": "p", "actual": "p.dns.podman", "diff": null } },
  { "feature": "Hostname", "feature_path": "features/hostname.feature", "name": "Needs the node",
    "line": 7, "tags": ["node-access"], "status": "skipped", "reason": "target podman has no access to the node (scenario tag @node-access)",
    "duration_ms": 0, "failure": null }
]"#;

/// Two runs' reports as `.ci/run` leaves them: `reports/reference/` and `reports/podman/`.
fn two_reports() -> TempDir {
    let dir = tempfile::Builder::new().prefix("podspec-matrix-").tempdir().unwrap();
    for (target, scenarios, summary) in [("reference", REFERENCE_SCENARIOS, (2, 0, 0)), ("podman", PODMAN_SCENARIOS, (0, 1, 1))] {
        let d = dir.path().join("reports").join(target);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("report.json"), report_json(target, scenarios, summary)).unwrap();
    }
    dir
}

fn podspec_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("podspec").unwrap();
    cmd.current_dir(dir).timeout(Duration::from_secs(60));
    cmd
}

#[test]
fn matrix_of_two_reports_writes_html_and_markdown_next_to_them() {
    let dir = two_reports();
    podspec_in(dir.path())
        .args(["matrix", "reports/reference/report.json", "reports/podman/report.json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("matrix.html").and(predicate::str::contains("matrix.md")))
        .stderr(predicate::str::contains("podman: 0 passed, 1 failed, 1 skipped, 0 not run"));
    let html = fs::read_to_string(dir.path().join("reports/matrix.html")).unwrap();
    assert!(html.contains("<th scope=\"col\"><code>reference</code></th><th scope=\"col\"><code>podman</code></th>"), "{html}");
    assert!(html.contains("href=\"podman/report.md#failure-features-hostname-feature-2\""), "{html}");
    assert!(html.contains("<span class=\"del\">-p</span><span class=\"add\">+p.dns.podman</span>"), "{html}");
    assert!(html.contains("target podman has no access to the node (scenario tag @node-access)"), "{html}");
    let md = fs::read_to_string(dir.path().join("reports/matrix.md")).unwrap();
    assert!(md.contains("| The hostname is the pod name | ✅ passed | ❌ [failed](#failure-1) · [report](podman/report.md#failure-features-hostname-feature-2) |"), "{md}");
    assert!(md.contains("| Needs the node | ✅ passed | ⏭️ skipped (note 1) |"), "{md}");
}

#[test]
fn matrix_differs_shows_only_the_scenarios_whose_outcome_differs_with_both_cells() {
    let dir = two_reports();
    podspec_in(dir.path())
        .args(["matrix", "--differs", "reports/reference/report.json", "reports/podman/report.json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("differs.html").and(predicate::str::contains("differs.md")))
        .stderr(predicate::str::contains("2 scenario(s) differ between reference and podman"));
    let md = fs::read_to_string(dir.path().join("reports/differs.md")).unwrap();
    assert!(md.contains("| Hostname | The hostname is the pod name | passed | failed |"), "{md}");
    assert!(md.contains("| Hostname | Needs the node | passed | skipped |"), "{md}");
    assert!(md.contains("p.dns.podman"), "{md}");
    let html = fs::read_to_string(dir.path().join("reports/differs.html")).unwrap();
    let row = html.split("<tr>").find(|r| r.contains("The hostname is the pod name")).unwrap();
    assert!(row.contains("<td class=\"passed\"><strong>passed</strong></td><td class=\"failed\">"), "{row}");
    // The same run twice: nothing differs.
    podspec_in(dir.path())
        .args(["matrix", "--differs", "reports/podman/report.json", "reports/podman/report.json", "--out", "same"])
        .assert()
        .code(0);
    let same = fs::read_to_string(dir.path().join("same/differs.md")).unwrap();
    assert!(same.contains("0 of 2 behaviours") && same.contains("Every scenario has the same outcome"), "{same}");
}

#[test]
fn matrix_out_dir_and_relative_links() {
    let dir = two_reports();
    podspec_in(dir.path())
        .args(["matrix", "--out", "site/matrix", "reports/reference/report.json", "reports/podman/report.json"])
        .assert()
        .code(0);
    let md = fs::read_to_string(dir.path().join("site/matrix/matrix.md")).unwrap();
    assert!(md.contains("[report.md](../../reports/podman/report.md)"), "{md}");
}

#[test]
fn matrix_names_a_report_it_cannot_read_and_exits_2() {
    let dir = two_reports();
    fs::write(dir.path().join("reports/podman/report.json"), "{ not json").unwrap();
    podspec_in(dir.path())
        .args(["matrix", "reports/reference/report.json", "reports/podman/report.json", "reports/missing/report.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid JSON report reports/podman/report.json"));
    podspec_in(dir.path())
        .args(["matrix", "reports/missing/report.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read report reports/missing/report.json"));
    podspec_in(dir.path()).args(["matrix"]).assert().code(2);
}

#[test]
fn gate_passes_only_when_the_failures_are_exactly_the_baselined_ones() {
    let dir = two_reports();
    let baseline = dir.path().join("podman.txt");
    let gate = || {
        let mut cmd = podspec_in(dir.path());
        cmd.args(["gate", "reports/podman/report.json", "--baseline", "podman.txt"]);
        cmd
    };
    fs::write(&baseline, "# podman\nfeatures/hostname.feature | The hostname is the pod name | podman sets an FQDN\n").unwrap();
    gate().assert().code(0).stderr(predicate::str::contains("baseline podman.txt: PASSED: 1 known failure, 0 new failures"));

    fs::write(&baseline, "").unwrap();
    gate().assert().code(1).stderr(predicate::str::contains("new failure: features/hostname.feature | The hostname is the pod name"));

    fs::write(
        &baseline,
        "features/hostname.feature | The hostname is the pod name | podman sets an FQDN\nfeatures/hostname.feature | Needs the node | x\n",
    )
    .unwrap();
    gate().assert().code(1).stderr(predicate::str::contains(
        "stale entry (podman.txt:2): features/hostname.feature | Needs the node: skipped: target podman has no access",
    ));

    fs::write(&baseline, "features/hostname.feature | The hostname is the pod name\n").unwrap();
    gate().assert().code(2).stderr(predicate::str::contains("podman.txt:1: expected `<feature path> | <scenario name> | <reason>`"));
}

const WRONG_FEATURE: &str = r#"Feature: Wrong expectation
  Scenario: The hostname is not what we say
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "somebody-else"
"#;

#[test]
fn a_run_with_a_baseline_exits_0_when_its_failures_are_the_known_ones() {
    let s = Scratch::new();
    s.feature("wrong.feature", WRONG_FEATURE).feature("hostname.feature", HOSTNAME_FEATURE);
    fs::write(
        s.path().join("baseline.txt"),
        "# known failures\nfeatures/wrong.feature | The hostname is not what we say | the feature expects another name\n",
    )
    .unwrap();
    s.run().args(["--baseline", "baseline.txt"]).assert().code(0).stderr(
        predicate::str::contains("2 passed, 1 failed, 0 skipped")
            .and(predicate::str::contains("baseline baseline.txt: PASSED: 1 known failure, 0 new failures, 0 now passing, 0 stale")),
    );
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(json["baseline"]["passed"], true);
    assert_eq!(json["baseline"]["known_failures"][0]["reason"], "the feature expects another name");
    let md = fs::read_to_string(s.path().join("out/report.md")).unwrap();
    assert!(md.contains("**Known failure:** the feature expects another name"), "{md}");
    let junit = fs::read_to_string(s.path().join("out/junit.xml")).unwrap();
    assert!(junit.contains("message=\"known failure: the feature expects another name; "), "{junit}");

    // The same baseline once the scenario passes: remove it from the baseline.
    fs::write(s.path().join("baseline.txt"), "features/hostname.feature | Needs the node | was broken\n").unwrap();
    s.run().args(["--baseline", "baseline.txt"]).assert().code(1).stderr(
        predicate::str::contains("new failure: features/wrong.feature | The hostname is not what we say").and(predicate::str::contains(
            "now passes, remove it from the baseline (baseline.txt:1): features/hostname.feature | Needs the node",
        )),
    );
    s.assert_clean();
}

#[test]
fn a_malformed_baseline_names_file_and_line_and_exits_2_before_anything_runs() {
    let s = Scratch::new();
    s.feature("hostname.feature", HOSTNAME_FEATURE);
    fs::write(s.path().join("baseline.txt"), "\nfeatures/hostname.feature | no reason\n").unwrap();
    s.run()
        .args(["--baseline", "baseline.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("baseline.txt:2: expected `<feature path> | <scenario name> | <reason>`"));
    assert!(!s.path().join("out/report.json").exists());
    s.run().args(["--baseline", "missing.txt"]).assert().code(2).stderr(predicate::str::contains("cannot read baseline missing.txt"));
    s.assert_clean();
}

#[test]
fn share_process_namespace_with_host_pid_is_refused_with_kubernetes_text_and_exits_2() {
    let s = Scratch::new();
    s.fixture(
        "both.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: both\nspec:\n  hostPID: true\n  shareProcessNamespace: true\n  containers:\n  - name: a\n    image: busybox:1.36\n",
    );
    s.feature("both.feature", "Feature: Both\n  Scenario: one\n    Given a running pod from fixture \"both.yaml\"\n");
    s.run().assert().code(2).stderr(predicate::str::contains("both.feature:3").and(predicate::str::contains(
        "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled",
    )));
    s.assert_clean();
}

/// `podspec list | head`: what reads the list goes away, and podspec ends as Unix tools do (by
/// SIGPIPE), not with a panic. The pipe's reading end is closed before podspec writes at all.
#[test]
fn list_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt as _;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = StdCommand::new(assert_cmd::cargo::cargo_bin("podspec"))
        .current_dir(ROOT)
        .arg("list")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `--concurrency 0` would run nothing: it is a usage error (exit 2) naming the option, as
/// clap reports any value out of range, and nothing runs. Seen red before: it ran as 1.
#[test]
fn concurrency_0_is_a_usage_error() {
    let s = Scratch::new();
    s.feature("hostname.feature", "Feature: H\n  Scenario: h\n    Given a running pod from fixture \"two-containers.yaml\"\n");
    let out = s.run().args(["--concurrency", "0"]).assert().code(2).get_output().stderr.clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("invalid value '0' for '--concurrency <CONCURRENCY>'"), "{text}");
    assert!(!text.contains("running"), "something ran: {text}");
}

const ONE_FAILS_FEATURE: &str = r#"Feature: Rerun
  Scenario: This one passes
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "two-containers"

  Scenario: This one fails
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "somebody-else"
"#;

/// `--rerun-failed` runs only the earlier report's failures (read before the report directory,
/// which holds it, is emptied), and the new reports name the run they complete.
#[test]
fn rerun_failed_runs_only_the_failed_scenarios_and_names_the_earlier_report() {
    let s = Scratch::new();
    s.feature("rerun.feature", ONE_FAILS_FEATURE);
    s.run().assert().code(1).stderr(predicate::str::contains("1 passed, 1 failed, 0 skipped"));
    let first: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.path().join("out/report.json")).unwrap()).unwrap();
    let started = first["started"].as_str().unwrap().to_string();
    s.run().args(["--rerun-failed", "out/report.json"]).assert().code(1).stderr(predicate::str::contains("0 passed, 1 failed, 0 skipped"));
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.path().join("out/report.json")).unwrap()).unwrap();
    let names: Vec<&str> = json["scenarios"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["This one fails"], "{json}");
    assert_eq!(json["reruns"]["report"], "out/report.json", "{json}");
    assert_eq!(json["reruns"]["failed"], 1, "{json}");
    let earlier: jiff::Timestamp = json["reruns"]["started"].as_str().unwrap().parse().unwrap();
    assert_eq!(earlier, started.parse::<jiff::Timestamp>().unwrap());
    let md = fs::read_to_string(s.path().join("out/report.md")).unwrap();
    assert!(md.contains("**reruns:** out/report.json (started "), "{md}");
    let junit = fs::read_to_string(s.path().join("out/junit.xml")).unwrap();
    assert!(junit.contains(r#"<property name="reruns" value="out/report.json (started "#), "{junit}");
    // Other selection options narrow further: the one failure is not named "passes".
    s.run()
        .args(["--rerun-failed", "out/report.json", "--name", "passes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--rerun-failed out/report.json and --name \"passes\" select none"));
    s.assert_clean();
}

/// A failed scenario the features no longer hold is refused by name, not silently dropped; a
/// report with no failures selects nothing and says so.
#[test]
fn rerun_failed_refuses_a_scenario_that_is_gone_and_says_when_nothing_failed() {
    let s = Scratch::new();
    s.feature("rerun.feature", ONE_FAILS_FEATURE);
    s.run().assert().code(1);
    s.feature("rerun.feature", &ONE_FAILS_FEATURE.replace("This one fails", "Renamed"));
    s.run().args(["--rerun-failed", "out/report.json"]).assert().code(2).stderr(predicate::str::contains(
        "--rerun-failed out/report.json: the failed scenario features/rerun.feature:6 \"This one fails\" is not in the features given",
    ));
    // A run with no failure: nothing to run again (an input error unless --allow-empty).
    s.feature("rerun.feature", &ONE_FAILS_FEATURE.replace("somebody-else", "two-containers"));
    s.podspec().args(["run", "--report-dir", "first"]).assert().code(0);
    s.run()
        .args(["--rerun-failed", "first/report.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--rerun-failed first/report.json: that report has no failed scenario"));
    s.run()
        .args(["--rerun-failed", "first/report.json", "--allow-empty"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("that report has no failed scenario; nothing to run again"));
    // An unreadable report is an input error naming it.
    s.run().args(["--rerun-failed", "missing.json"]).assert().code(2).stderr(predicate::str::contains("missing.json"));
    s.assert_clean();
}

/// A Scenario Outline's examples share its name: the rerun tells them apart by line.
#[test]
fn rerun_failed_runs_only_the_failed_example_of_an_outline() {
    let s = Scratch::new();
    s.feature(
        "outline.feature",
        r#"Feature: Outline
  Scenario Outline: The hostname
    Given a running pod from fixture "two-containers.yaml"
    Then running "hostname" in container "a" of pod "two-containers" prints "<name>"

    Examples:
      | name           |
      | two-containers |
      | somebody-else  |
"#,
    );
    s.run().assert().code(1).stderr(predicate::str::contains("1 passed, 1 failed, 0 skipped"));
    let first: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.path().join("out/report.json")).unwrap()).unwrap();
    let failed: Vec<u64> =
        first["scenarios"].as_array().unwrap().iter().filter(|s| s["status"] == "failed").map(|s| s["line"].as_u64().unwrap()).collect();
    s.run().args(["--rerun-failed", "out/report.json"]).assert().code(1).stderr(predicate::str::contains("0 passed, 1 failed, 0 skipped"));
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(s.path().join("out/report.json")).unwrap()).unwrap();
    let lines: Vec<u64> = json["scenarios"].as_array().unwrap().iter().map(|s| s["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, failed, "{json}");
    s.assert_clean();
}

#[test]
fn serve_refuses_a_kind_it_cannot_serve_naming_the_ones_it_accepts() {
    // serve's kinds are the table's rows with a node to serve: podman runs pods without one.
    Command::cargo_bin("podspec")
        .unwrap()
        .args(["serve", "--target", "podman", "--listen", "127.0.0.1:0"])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'podman' for '--target <TARGET>'").and(predicate::str::contains("[possible values: reference, cri]")));
    Command::cargo_bin("podspec")
        .unwrap()
        .args(["serve", "--help"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("- reference: The built-in reference runtime")
                .and(predicate::str::contains("- cri:"))
                .and(predicate::str::contains("- podman").not())
                .and(predicate::str::contains("- kube").not()),
        );
}
