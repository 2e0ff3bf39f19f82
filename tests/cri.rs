//! The cri target, end to end through the `podspec` command line, against a CRI runtime that is
//! already running (CI starts containerd with `bash ci/containerd/start.sh`). Runs only as root
//! and where the runtime's socket exists (`PODSPEC_CRI_ENDPOINT`, by default ci/containerd's
//! `unix:///run/podspec-containerd/containerd.sock`); otherwise it prints why it did not run and
//! counts nothing as passed.
//!
//! - a feature runs on the runtime; report.json names the runtime (CRI `Version`) and its
//!   endpoint; the machine's `ip -o link` and `ip route` read the same before and after;
//! - every feature runs on the runtime and fails only where ci/baselines/containerd.txt says
//!   (a new failure, and a listed scenario that passes, fail it);
//! - a run killed with SIGKILL leaves sandboxes that `podspec clean --target cri` removes;
//! - `podspec bench --target cri` prints reference, cri and the same calls straight to the CRI.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PODSPEC: &str = env!("CARGO_BIN_EXE_podspec");
const DEFAULT_ENDPOINT: &str = "unix:///run/podspec-containerd/containerd.sock";

type Check = fn(&Env) -> Result<(), String>;

struct Env {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl Env {
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn socket(&self) -> &str {
        self.endpoint.trim_start_matches("unix://")
    }

    fn podspec(&self, cwd: &Path, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--cri-endpoint", &self.endpoint]);
        Command::new(PODSPEC).args(&all).current_dir(cwd).env("PODSPEC_STATE_DIR", self.state()).output().expect("run podspec")
    }

    /// The runtime's pod sandboxes whose owner label names process `pid` (`ctr`, containerd only).
    fn sandboxes_of(&self, pid: u32) -> Result<Vec<String>, String> {
        let filter = format!("labels.\"io.podspec.owner\"~=\"^{pid} \"");
        let o = Command::new("ctr").args(["--address", self.socket(), "-n", "k8s.io", "containers", "ls", "-q", &filter]).output();
        let o = o.map_err(|e| format!("ctr: {e}"))?;
        ensure(o.status.success(), || text(&o))?;
        Ok(String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.is_empty()).map(str::to_string).collect())
    }
}

fn text(o: &Output) -> String {
    format!("exit {:?}\nstdout:\n{}\nstderr:\n{}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn machine_network() -> String {
    let run =
        |args: &[&str]| Command::new("ip").args(args).output().map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
    format!("{}\n{}", run(&["-o", "link"]), run(&["route"]))
}

fn a_feature_runs_on_the_runtime_which_the_report_names(env: &Env) -> Result<(), String> {
    let reports = Path::new(ROOT).join("target/podspec-reports-cri-test");
    let before = machine_network();
    let out = env.podspec(
        Path::new(ROOT),
        &["run", "--target", "cri", "--features", "features/hostname.feature", "--report-dir", reports.to_str().unwrap()],
    );
    let after = machine_network();
    ensure(out.status.success(), || text(&out))?;
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(reports.join("report.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    ensure(json["target"] == "cri", || format!("report target {}", json["target"]))?;
    let identity = &json["target_identity"];
    ensure(identity["endpoint"] == env.endpoint.as_str(), || format!("target_identity {identity}"))?;
    ensure(identity["runtime_name"].as_str().is_some_and(|n| !n.is_empty()), || format!("target_identity {identity}"))?;
    ensure(identity["runtime_version"].as_str().is_some_and(|v| !v.is_empty()), || format!("target_identity {identity}"))?;
    let passed = json["summary"]["passed"].as_u64().unwrap_or(0);
    ensure(passed >= 4, || format!("{passed} scenarios passed: {}", text(&out)))?;
    println!("    {} {} at {}: {passed} passed", identity["runtime_name"], identity["runtime_version"], identity["endpoint"]);
    ensure(before == after, || format!("the machine's network changed during the run:\nbefore:\n{before}\nafter:\n{after}"))
}

fn every_feature_fails_only_where_the_baseline_says(env: &Env) -> Result<(), String> {
    let reports = Path::new(ROOT).join("target/podspec-reports-cri-baseline");
    let out = env.podspec(
        Path::new(ROOT),
        &["run", "--target", "cri", "--report-dir", reports.to_str().unwrap(), "--baseline", "ci/baselines/containerd.txt"],
    );
    // The verdict is podspec's message on stderr.
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let gate = said.lines().find(|l| l.contains("baseline ci/baselines/containerd.txt")).unwrap_or("").to_string();
    ensure(out.status.success() && gate.contains("PASSED"), || format!("{}
  see {}", text(&out), reports.join("report.md").display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(reports.join("report.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let passed = json["summary"]["passed"].as_u64().unwrap_or(0);
    ensure(passed > 0, || "no scenario passed".into())?;
    println!("    {passed} passed; {}", gate.trim());
    Ok(())
}

const SLOW: &str = r#"Feature: Slow
  Scenario: Holds a pod for a while
    Given a running pod from fixture "shared-emptydir.yaml"
    Then running "sleep 60" in container "writer" of pod "shared-emptydir" succeeds
"#;

fn a_killed_run_leaves_sandboxes_that_clean_removes(env: &Env) -> Result<(), String> {
    let scratch = tempfile::Builder::new().prefix("podspec-cri-").tempdir().map_err(|e| e.to_string())?;
    fs::create_dir_all(scratch.path().join("features")).unwrap();
    fs::write(scratch.path().join("features/slow.feature"), SLOW).unwrap();
    let pods = scratch.path().join("fixtures/pods");
    fs::create_dir_all(&pods).unwrap();
    fs::copy(Path::new(ROOT).join("fixtures/pods/shared-emptydir.yaml"), pods.join("shared-emptydir.yaml")).unwrap();
    let mut child = Command::new(PODSPEC)
        .args(["run", "--target", "cri", "--cri-endpoint", &env.endpoint, "--report-dir", "out"])
        .current_dir(scratch.path())
        .env("PODSPEC_STATE_DIR", env.state())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    // The sandbox and its two containers.
    while env.sandboxes_of(pid)?.len() < 3 {
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("the run's pod never started".to_string());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().map_err(|e| e.to_string())?; // SIGKILL
    child.wait().map_err(|e| e.to_string())?;
    let left = env.sandboxes_of(pid)?;
    ensure(!left.is_empty(), || "a killed run should leave its pod in the runtime".into())?;
    let out = env.podspec(scratch.path(), &["clean", "--target", "cri"]);
    ensure(out.status.success(), || text(&out))?;
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    ensure(said.contains("1 pod sandbox(es)"), || format!("clean did not name the run's sandbox: {said}"))?;
    let left = env.sandboxes_of(pid)?;
    ensure(left.is_empty(), || format!("left in the runtime after clean: {left:?}"))
}

fn bench_shows_cri_beside_reference_and_the_runtime_alone(env: &Env) -> Result<(), String> {
    let out = env.podspec(Path::new(ROOT), &["bench", "--target", "cri", "--pods", "3"]);
    ensure(out.status.success(), || text(&out))?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    ensure(
        stdout.contains("reference median")
            && stdout.contains("cri median")
            && stdout.contains("cri-direct median")
            && stdout.contains("cri/cri-direct"),
        || text(&out),
    )?;
    for line in stdout.lines() {
        println!("    {line}");
    }
    Ok(())
}

/// Why the checks cannot run here, if they cannot.
fn cannot_run(endpoint: &str) -> Option<String> {
    let root = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false);
    if !root {
        return Some("podspec's cri target runs as root, and this is not root".into());
    }
    let socket = endpoint.trim_start_matches("unix://");
    if !Path::new(socket).exists() {
        return Some(format!("no CRI runtime at {endpoint} (start containerd with `bash ci/containerd/start.sh`)"));
    }
    None
}

fn main() -> ExitCode {
    let checks: &[(&str, Check)] = &[
        ("a_feature_runs_on_the_runtime_which_the_report_names", a_feature_runs_on_the_runtime_which_the_report_names),
        ("every_feature_fails_only_where_the_baseline_says", every_feature_fails_only_where_the_baseline_says),
        ("a_killed_run_leaves_sandboxes_that_clean_removes", a_killed_run_leaves_sandboxes_that_clean_removes),
        ("bench_shows_cri_beside_reference_and_the_runtime_alone", bench_shows_cri_beside_reference_and_the_runtime_alone),
    ];
    let endpoint = std::env::var("PODSPEC_CRI_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.to_string());
    if let Some(why) = cannot_run(&endpoint) {
        println!("cri: {} checks NOT RUN (neither passed nor failed): {why}", checks.len());
        return ExitCode::SUCCESS;
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let env = Env { dir: tempfile::Builder::new().prefix("podspec-cri-state-").tempdir().expect("temp dir"), endpoint };
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, check) in checks {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        ran += 1;
        println!("test {name} ...");
        let started = Instant::now();
        match check(&env) {
            Ok(()) => println!("test {name} ... ok ({:.1} s)", started.elapsed().as_secs_f64()),
            Err(e) => {
                println!("test {name} ... FAILED\n{e}");
                failed.push(*name);
            }
        }
    }
    println!("cri: {} passed, {} failed", ran - failed.len(), failed.len());
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
