//! The `podspec` command line: exit codes, reports, bad input named by file and line, and
//! nothing left behind, even after a run killed with SIGKILL.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A scratch project: its own features, the project's fixtures, its own state directory.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("podspec-cli-").tempdir().unwrap();
        fs::create_dir_all(dir.path().join("features")).unwrap();
        fs::create_dir_all(dir.path().join("fixtures/pods")).unwrap();
        for f in fs::read_dir(Path::new(ROOT).join("fixtures/pods")).unwrap() {
            let f = f.unwrap().path();
            fs::copy(&f, dir.path().join("fixtures/pods").join(f.file_name().unwrap())).unwrap();
        }
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn state(&self) -> PathBuf {
        self.path().join("state")
    }

    fn feature(&self, name: &str, text: &str) -> &Self {
        fs::write(self.path().join("features").join(name), text).unwrap();
        self
    }

    fn fixture(&self, name: &str, text: &str) -> &Self {
        fs::write(self.path().join("fixtures/pods").join(name), text).unwrap();
        self
    }

    fn podspec(&self) -> Command {
        let mut cmd = Command::cargo_bin("podspec").unwrap();
        cmd.current_dir(self.path()).env("PODSPEC_STATE_DIR", self.state()).timeout(Duration::from_secs(240));
        cmd
    }

    fn run(&self) -> Command {
        let mut cmd = self.podspec();
        cmd.args(["run", "--report-dir", "out"]);
        cmd
    }

    /// No run directory, no mount and no process of ours is left.
    fn assert_clean(&self) {
        let runs = self.state().join("runs");
        let left: Vec<_> = fs::read_dir(&runs).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
        assert!(left.is_empty(), "run directories left behind: {left:?}");
        let state = self.state().display().to_string();
        let mounts = fs::read_to_string("/proc/mounts").unwrap();
        assert!(!mounts.contains(&state), "mounts left under {state}");
        let procs = processes_mentioning(&state);
        assert!(procs.is_empty(), "processes left behind: {procs:?}");
    }
}

/// PIDs whose command line mentions `text`.
fn processes_mentioning(text: &str) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = fs::read(e.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let stat = fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'));
        if cmdline.contains(text) && !zombie {
            found.push((pid, cmdline));
        }
    }
    found
}

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
fn a_non_root_user_runs_the_features_in_a_user_namespace() {
    if !nix_is_root() || which("setpriv").is_none() {
        eprintln!("skipped: needs root (to become another user) and setpriv");
        return;
    }
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

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(program)).find(|c| c.is_file()))
}
