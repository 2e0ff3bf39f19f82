//! The cri target, end to end through the `podspec` command line, against a CRI runtime that is
//! already running (CI starts containerd with `bash ci/containerd/start.sh`). Runs only as root
//! and where the runtime's socket exists (`PODSPEC_CRI_ENDPOINT`, by default ci/containerd's
//! `unix:///run/podspec-containerd/containerd.sock`); otherwise it prints why it did not run and
//! counts nothing as passed.
//!
//! - a feature runs on the runtime; report.json names the runtime (CRI `Version`) and its
//!   endpoint; the machine's `ip -o link` and `ip route` read the same before and after;
//! - every feature runs on the runtime and fails only where ci/baselines/containerd.txt says
//!   (a new failure, and a listed scenario that passes, fail it); the same with the runtime
//!   handler crun (`--runtime-handler crun`) and ci/baselines/containerd-crun.txt;
//! - `--runtime-handler crun` is named in report.json with crun's version; an unknown handler is
//!   refused before anything runs;
//! - a run killed with SIGKILL leaves its sandbox, its emptyDir directories, the tmpfs of its
//!   Memory emptyDir and its cgroups, which `podspec clean --target cri` removes; plain
//!   `podspec clean` removes all but the sandbox;
//! - `podspec bench --target cri` prints reference, cri and the same calls straight to the CRI;
//!   with `--runtime-handler crun` it names the handler and its OCI runtime.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PODSPEC: &str = env!("CARGO_BIN_EXE_podspec");
const DEFAULT_ENDPOINT: &str = "unix:///run/podspec-containerd/containerd.sock";

type Check = support::Check<Env>;

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

/// `--runtime-handler crun`: the pods run with ci/containerd's crun handler, and report.json
/// names the handler and its OCI runtime with its version; a handler the runtime does not have
/// is refused before anything runs, naming it and the handlers there are.
fn the_crun_handler_runs_a_feature_and_the_report_names_it(env: &Env) -> Result<(), String> {
    let reports = Path::new(ROOT).join("target/podspec-reports-cri-crun-handler");
    let out = env.podspec(
        Path::new(ROOT),
        &[
            "run",
            "--target",
            "cri",
            "--runtime-handler",
            "crun",
            "--features",
            "features/hostname.feature",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    ensure(out.status.success(), || text(&out))?;
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(reports.join("report.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let identity = &json["target_identity"];
    ensure(identity["runtime_handler"] == "crun", || format!("target_identity {identity}"))?;
    ensure(identity["oci_runtime"].as_str().is_some_and(|v| v.starts_with("crun ")), || format!("target_identity {identity}"))?;
    let markdown = fs::read_to_string(reports.join("report.md")).map_err(|e| e.to_string())?;
    ensure(markdown.contains("crun"), || "report.md does not name crun".into())?;
    let out = env.podspec(
        Path::new(ROOT),
        &[
            "run",
            "--target",
            "cri",
            "--runtime-handler",
            "no-such-handler",
            "--features",
            "features/hostname.feature",
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    ensure(!out.status.success() && stderr.contains("no runtime handler \"no-such-handler\"") && stderr.contains("crun"), || text(&out))?;
    println!(
        "    {} {} / {} (handler {})",
        identity["runtime_name"], identity["runtime_version"], identity["oci_runtime"], identity["runtime_handler"]
    );
    Ok(())
}

fn every_feature_fails_only_where_the_baseline_says(env: &Env) -> Result<(), String> {
    gated_by_baseline(env, None, "containerd")
}

/// The same gate with the runtime handler `crun` (ci/containerd configures it) and its own
/// baseline.
fn every_feature_with_the_crun_handler_fails_only_where_its_baseline_says(env: &Env) -> Result<(), String> {
    gated_by_baseline(env, Some("crun"), "containerd-crun")
}

/// Every feature on the runtime, with `handler` in RunPodSandbox, gated by
/// `ci/baselines/<baseline>.txt`.
fn gated_by_baseline(env: &Env, handler: Option<&str>, baseline_name: &str) -> Result<(), String> {
    let reports = Path::new(ROOT).join(format!("target/podspec-reports-cri-{baseline_name}"));
    let baseline_file = format!("ci/baselines/{baseline_name}.txt");
    let mut args = vec!["run", "--target", "cri", "--report-dir", reports.to_str().unwrap(), "--baseline", &baseline_file];
    if let Some(h) = handler {
        args.extend(["--runtime-handler", h]);
    }
    let out = env.podspec(Path::new(ROOT), &args);
    // The verdict is podspec's message on stderr.
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let gate = said.lines().find(|l| l.contains(&format!("baseline {baseline_file}"))).unwrap_or("").to_string();
    ensure(out.status.success() && gate.contains("PASSED"), || {
        format!(
            "{}
  see {}",
            text(&out),
            reports.join("report.md").display()
        )
    })?;
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(reports.join("report.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let passed = json["summary"]["passed"].as_u64().unwrap_or(0);
    ensure(passed > 0, || "no scenario passed".into())?;
    println!("    {passed} passed; {}", gate.trim());
    Ok(())
}

const SLOW: &str = r#"Feature: Slow
  Scenario: Holds a pod with an emptyDir on disk and one in memory for a while
    Given a running pod:
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: holds-volumes
      spec:
        terminationGracePeriodSeconds: 0
        volumes:
        - name: disk
          emptyDir: {}
        - name: memory
          emptyDir:
            medium: Memory
            sizeLimit: 8Mi
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
          volumeMounts:
          - {name: disk, mountPath: /disk}
          - {name: memory, mountPath: /memory}
      """
    Then running "echo kept > /disk/f && echo kept > /memory/f && sleep 60" in container "app" of pod "holds-volumes" succeeds
"#;

/// The mount points under `dir`, from this process's mountinfo.
fn mounts_under(dir: &Path) -> Vec<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines().filter_map(|l| l.split_whitespace().nth(4)).filter(|m| Path::new(m).starts_with(dir)).map(str::to_string).collect()
}

/// The run directories under the state directory.
fn runs(env: &Env) -> Vec<PathBuf> {
    fs::read_dir(env.state().join("runs")).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default()
}

/// What a killed run left: its sandbox (in the runtime), its run directory with the pod's
/// emptyDir directories, the tmpfs of its Memory emptyDir, and its cgroup subtree.
struct Killed {
    scratch: tempfile::TempDir,
    pid: u32,
    run_dirs: Vec<PathBuf>,
    tmpfs: Vec<String>,
    cgroups: Vec<PathBuf>,
}

/// Starts a run that holds a pod with both kinds of emptyDir, kills it with SIGKILL once its
/// container wrote to both, and checks that it left all of it.
fn kill_a_run(env: &Env) -> Result<Killed, String> {
    let scratch = tempfile::Builder::new().prefix("podspec-cri-").tempdir().map_err(|e| e.to_string())?;
    fs::create_dir_all(scratch.path().join("features")).unwrap();
    fs::write(scratch.path().join("features/slow.feature"), SLOW).unwrap();
    let before = runs(env);
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
    // The sandbox and its container, and the file the container wrote to the tmpfs.
    let written = |env: &Env| runs(env).iter().any(|r| mounts_under(r).iter().any(|m| Path::new(m).join("f").exists()));
    while env.sandboxes_of(pid)?.len() < 2 || !written(env) {
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("the run's pod never started and wrote to its volumes".to_string());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().map_err(|e| e.to_string())?; // SIGKILL
    child.wait().map_err(|e| e.to_string())?;
    let left = env.sandboxes_of(pid)?;
    ensure(!left.is_empty(), || "a killed run should leave its pod in the runtime".into())?;
    let run_dirs: Vec<PathBuf> = runs(env).into_iter().filter(|r| !before.contains(r)).collect();
    let tmpfs = mounts_under(&env.state());
    ensure(run_dirs.len() == 1 && !tmpfs.is_empty(), || {
        format!("a killed run should leave its directory and its tmpfs: {run_dirs:?} {tmpfs:?}")
    })?;
    let disk = walkdir(&run_dirs[0]).into_iter().find(|p| p.ends_with("disk/f"));
    ensure(disk.is_some(), || format!("the disk emptyDir is not under the run's directory {}", run_dirs[0].display()))?;
    // The run's cgroup subtree (the pods' cgroup parent), as the run recorded it.
    let cgroups: Vec<PathBuf> = fs::read(run_dirs[0].join("cgroups.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["dirs"].as_array().map(|d| d.iter().filter_map(|p| p[1].as_str().map(PathBuf::from)).collect()))
        .unwrap_or_default();
    Ok(Killed { scratch, pid, run_dirs, tmpfs, cgroups })
}

/// The node's side of a killed run is gone: no mount under the state directory, no run
/// directory, no cgroup directory it recorded.
fn node_side_gone(env: &Env, k: &Killed) -> Result<(), String> {
    let cgroups_left: Vec<&PathBuf> = k.cgroups.iter().filter(|d| d.exists()).collect();
    ensure(cgroups_left.is_empty(), || format!("the run's cgroups left after clean: {cgroups_left:?}"))?;
    let tmpfs = mounts_under(&env.state());
    ensure(tmpfs.is_empty(), || format!("mounts left under the state directory after clean: {tmpfs:?}"))?;
    let left: Vec<&PathBuf> = k.run_dirs.iter().filter(|d| d.exists()).collect();
    ensure(left.is_empty(), || format!("run directories left after clean: {left:?}"))
}

/// `podspec clean --target cri` removes all that a killed run left, in the runtime and on the node.
fn a_killed_run_leaves_its_pod_volumes_and_cgroups_which_clean_removes(env: &Env) -> Result<(), String> {
    let k = kill_a_run(env)?;
    let out = env.podspec(k.scratch.path(), &["clean", "--target", "cri"]);
    ensure(out.status.success(), || text(&out))?;
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    ensure(said.contains("1 pod sandbox(es)"), || format!("clean did not name the run's sandbox: {said}"))?;
    let left = env.sandboxes_of(k.pid)?;
    ensure(left.is_empty(), || format!("left in the runtime after clean: {left:?}"))?;
    node_side_gone(env, &k)?;
    println!("    removed: 1 sandbox, {} tmpfs, 1 run directory, {} cgroup directories", k.tmpfs.len(), k.cgroups.len());
    Ok(())
}

/// Plain `podspec clean` removes the node's side of a killed cri run (its emptyDir
/// directories, its tmpfs, its cgroups); the sandbox stays for `--target cri`, which then
/// removes it.
fn plain_clean_removes_a_killed_cri_runs_volumes_and_cgroups(env: &Env) -> Result<(), String> {
    let k = kill_a_run(env)?;
    let out = Command::new(PODSPEC).arg("clean").current_dir(k.scratch.path()).env("PODSPEC_STATE_DIR", env.state()).output();
    let out = out.map_err(|e| e.to_string())?;
    ensure(out.status.success(), || text(&out))?;
    node_side_gone(env, &k)?;
    ensure(!env.sandboxes_of(k.pid)?.is_empty(), || "plain clean touched the CRI runtime".into())?;
    let out = env.podspec(k.scratch.path(), &["clean", "--target", "cri"]);
    ensure(out.status.success(), || text(&out))?;
    let left = env.sandboxes_of(k.pid)?;
    ensure(left.is_empty(), || format!("left in the runtime after clean --target cri: {left:?}"))?;
    println!("    plain clean removed {} tmpfs, 1 run directory, {} cgroup directories", k.tmpfs.len(), k.cgroups.len());
    Ok(())
}

/// Every path below `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok) {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walkdir(&p));
        }
        out.push(p);
    }
    out
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

/// `podspec bench --target cri --runtime-handler crun`: the bench says which handler and OCI
/// runtime its cri pods ran with, and measures them beside the runtime alone.
fn bench_takes_the_runtime_handler(env: &Env) -> Result<(), String> {
    let out = env.podspec(Path::new(ROOT), &["bench", "--target", "cri", "--runtime-handler", "crun", "--pods", "2"]);
    ensure(out.status.success(), || text(&out))?;
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let named = said.lines().find(|l| l.starts_with("podspec: target cri: ")).unwrap_or("").to_string();
    ensure(named.contains(" / crun ") && named.contains("(runtime handler crun)"), || text(&out))?;
    ensure(said.contains("cri median") && said.contains("cri-direct median"), || text(&out))?;
    println!("    {named}");
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
        ("the_crun_handler_runs_a_feature_and_the_report_names_it", the_crun_handler_runs_a_feature_and_the_report_names_it),
        (
            "every_feature_with_the_crun_handler_fails_only_where_its_baseline_says",
            every_feature_with_the_crun_handler_fails_only_where_its_baseline_says,
        ),
        (
            "a_killed_run_leaves_its_pod_volumes_and_cgroups_which_clean_removes",
            a_killed_run_leaves_its_pod_volumes_and_cgroups_which_clean_removes,
        ),
        ("plain_clean_removes_a_killed_cri_runs_volumes_and_cgroups", plain_clean_removes_a_killed_cri_runs_volumes_and_cgroups),
        ("bench_shows_cri_beside_reference_and_the_runtime_alone", bench_shows_cri_beside_reference_and_the_runtime_alone),
        ("bench_takes_the_runtime_handler", bench_takes_the_runtime_handler),
    ];
    let endpoint = std::env::var("PODSPEC_CRI_ENDPOINT").unwrap_or_else(|_| DEFAULT_ENDPOINT.to_string());
    let needs = "root, containerd for podspec (ci/containerd/start.sh)";
    if let Some(code) = support::ignored_unless_asked("cri", checks.len(), needs, cannot_run(&endpoint)) {
        return code;
    }
    let env = Env { dir: tempfile::Builder::new().prefix("podspec-cri-state-").tempdir().expect("temp dir"), endpoint };
    support::run_checks("cri", &env, checks)
}
