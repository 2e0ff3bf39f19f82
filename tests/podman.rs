//! The podman target, end to end through the `podspec` command line. Runs only where podman is
//! installed and podspec runs as root; otherwise it prints why it did not run and counts nothing
//! as passed. (`bash ci/podman/install.sh` installs podman; CI runs it before the tests.)
//!
//! - every feature against podman fails exactly where `ci/baselines/podman.txt` says podman
//!   differs from Kubernetes, skips only for a missing capability, and leaves nothing in podman;
//!   the same with crun (`--podman-runtime ci/runtimes/crun`) and `ci/baselines/podman-crun.txt`,
//!   report.json naming the OCI runtime;
//! - a run killed with SIGKILL leaves pods that `podspec clean --target podman` removes, and
//!   nothing that is not podspec's is touched;
//! - two pods sharing a volume, deleted at once, leave nothing (podman 4.3's `pod rm` race);
//! - `podspec bench --target podman` prints reference and podman side by side;
//! - `podspec images export` writes archives that `podman load` takes, with PATH in their config.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PODSPEC: &str = env!("CARGO_BIN_EXE_podspec");

type Check = support::Check<Env>;

/// What every check shares: a state directory of its own (podspec's containers.conf is in it).
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn conf(&self) -> PathBuf {
        self.state().join("podman/containers.conf")
    }

    fn podspec(&self, cwd: &Path, args: &[&str]) -> Output {
        Command::new(PODSPEC).args(args).current_dir(cwd).env("PODSPEC_STATE_DIR", self.state()).output().expect("run podspec")
    }

    /// podman, configured as podspec configures it.
    fn podman(&self, args: &[&str]) -> Output {
        let mut c = Command::new("podman");
        c.args(args);
        if std::env::var_os("CONTAINERS_CONF").is_none() {
            c.env("CONTAINERS_CONF", self.conf());
        }
        c.output().expect("run podman")
    }

    fn podman_lines(&self, args: &[&str]) -> Vec<String> {
        String::from_utf8_lossy(&self.podman(args).stdout).lines().map(str::to_string).filter(|l| !l.is_empty()).collect()
    }

    /// podman pods and volumes whose names start with `prefix`.
    fn podman_objects(&self, prefix: &str) -> Vec<String> {
        let filter = format!("name=^{prefix}");
        let mut found: Vec<String> = self
            .podman_lines(&["pod", "ps", "--filter", &filter, "--format", "{{.Name}}"])
            .into_iter()
            .map(|n| format!("pod {n}"))
            .collect();
        found.extend(
            self.podman_lines(&["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"]).into_iter().map(|n| format!("volume {n}")),
        );
        found
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

/// `(feature path, scenario name)` of each line of a baseline file.
fn baseline(path: &Path) -> BTreeSet<(String, String)> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let parts: Vec<&str> = l.splitn(3, " | ").collect();
            assert_eq!(parts.len(), 3, "{}: not `<feature> | <scenario> | <reason>`: {l}", path.display());
            assert!(!parts[2].trim().is_empty(), "{}: a line without a reason: {l}", path.display());
            (parts[0].trim().to_string(), parts[1].trim().to_string())
        })
        .collect()
}

/// Every feature on podman with runc, gated by ci/baselines/podman.txt, and then with crun
/// (through ci/runtimes/crun, as CI runs it) gated by its own baseline,
/// ci/baselines/podman-crun.txt; each report names its OCI runtime. One after the other: run at
/// once, the two runs made podman slow enough that a delete took the 3 s a preStop sleep hook
/// should hold it, and the scenario that shows podman runs no such hook passed for that reason.
fn every_feature_on_runc_and_on_crun_fails_only_where_its_baseline_says(env: &Env) -> Result<(), String> {
    let runs = [("runc", "podman"), ("ci/runtimes/crun", "podman-crun")];
    let failures: Vec<String> = runs
        .iter()
        .filter_map(|(runtime, baseline)| gated_by_baseline(env, runtime, baseline).err().map(|e| format!("with {runtime}: {e}")))
        .collect();
    ensure(failures.is_empty(), || failures.join("\n"))
}

/// Every feature on podman with the OCI runtime `runtime` (`--podman-runtime`), gated by
/// `ci/baselines/<baseline>.txt`; the report names the runtime. Prints what it saw as one block.
fn gated_by_baseline(env: &Env, runtime: &str, baseline_name: &str) -> Result<(), String> {
    let reports = Path::new(ROOT).join(format!("target/podspec-reports-{baseline_name}"));
    let baseline_file = format!("ci/baselines/{baseline_name}.txt");
    let started = Instant::now();
    let child = Command::new(PODSPEC)
        .args([
            "run",
            "--target",
            "podman",
            "--podman-runtime",
            runtime,
            "--report-dir",
            reports.to_str().unwrap(),
            "--baseline",
            &baseline_file,
        ])
        .current_dir(ROOT)
        .env("PODSPEC_STATE_DIR", env.state())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run podspec: {e}"))?;
    // The run's objects are named podspec-<its pid>-...: only those are this test's.
    let run_pid = child.id();
    let out = child.wait_with_output().map_err(|e| format!("run podspec: {e}"))?;
    let elapsed = started.elapsed();
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(reports.join("report.json")).map_err(|e| format!("{e}: {}", text(&out)))?)
            .map_err(|e| e.to_string())?;
    ensure(json["target"] == "podman", || format!("report target {}", json["target"]))?;
    let oci_runtime = json["target_identity"]["oci_runtime"].as_str().unwrap_or_default().to_string();
    let runtime_name = runtime.rsplit('/').next().unwrap_or(runtime);
    ensure(oci_runtime.starts_with(&format!("{runtime_name} ")), || {
        format!("report.json names the OCI runtime {oci_runtime:?}, not {runtime_name}: {}", json["target_identity"])
    })?;
    let scenarios = json["scenarios"].as_array().cloned().unwrap_or_default();
    let with = |status: &str| -> BTreeSet<(String, String)> {
        scenarios
            .iter()
            .filter(|s| s["status"] == status)
            .map(|s| (s["feature_path"].as_str().unwrap_or("").to_string(), s["name"].as_str().unwrap_or("").to_string()))
            .collect()
    };
    let failed = with("failed");
    let expected = baseline(&Path::new(ROOT).join(&baseline_file));
    let new: Vec<_> = failed.difference(&expected).collect();
    let fixed: Vec<_> = expected.difference(&failed).collect();
    ensure(new.is_empty() && fixed.is_empty(), || {
        format!(
            "failures differ from {baseline_file}\n  failing, not in the baseline: {new:?}\n  in the baseline, not failing: {fixed:?}\n  see {}",
            reports.join("report.md").display()
        )
    })?;
    ensure(!with("passed").is_empty(), || "no scenario passed".into())?;
    for s in scenarios.iter().filter(|s| s["status"] == "skipped") {
        let reason = s["reason"].as_str().unwrap_or("");
        ensure(reason.contains("target podman has no"), || format!("scenario {} skipped for {reason:?}", s["name"]))?;
    }
    // The gate: exit 0 only when the failures are exactly the baseline's.
    ensure(out.status.code() == Some(0), || format!("the baseline gate failed: {}", text(&out)))?;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let mut said = String::new();
    for line in stderr.lines().filter(|l| l.starts_with("podspec: ") && (l.contains(" passed, ") || l.contains("baseline"))) {
        said.push_str(&format!("    {line}\n"));
    }
    print!("{said}    {oci_runtime} ({:.1} s)\n", elapsed.as_secs_f64());
    // The run took its pods and volumes with it (other engineers' runs on the machine are not
    // this test's business).
    let left = env.podman_objects(&format!("podspec-{run_pid}-"));
    ensure(left.is_empty(), || format!("left in podman after the run: {left:?}"))
}

const SLOW: &str = r#"Feature: Slow
  Scenario: Holds a pod for a while
    Given a running pod from fixture "shared-emptydir.yaml"
    Then running "sleep 60" in container "writer" of pod "shared-emptydir" succeeds
"#;

fn a_killed_run_leaves_what_clean_removes_and_only_that(env: &Env) -> Result<(), String> {
    let scratch = tempfile::Builder::new().prefix("podspec-podman-").tempdir().map_err(|e| e.to_string())?;
    fs::create_dir_all(scratch.path().join("features")).unwrap();
    fs::write(scratch.path().join("features/slow.feature"), SLOW).unwrap();
    let pods = scratch.path().join("fixtures/pods");
    fs::create_dir_all(&pods).unwrap();
    fs::copy(Path::new(ROOT).join("fixtures/pods/shared-emptydir.yaml"), pods.join("shared-emptydir.yaml")).unwrap();

    // Somebody else's objects, with names close to podspec's.
    let foreign_pod = format!("podspec-foreign-{}", std::process::id());
    // Named like a podspec pod's volume, of a process that lives (this test).
    let foreign_volume = format!("podspec-{}-1.someone.data", std::process::id());
    let o = env.podman(&["pod", "create", "--name", &foreign_pod]);
    ensure(o.status.success(), || text(&o))?;
    let o = env.podman(&["volume", "create", &foreign_volume]);
    ensure(o.status.success(), || text(&o))?;
    let emptied_pod = format!("podspec-0-{}.first", std::process::id());

    let result = (|| {
        // What the run says, to tell why, should its pod not start.
        let said = scratch.path().join("run.log");
        let log = fs::File::create(&said).map_err(|e| e.to_string())?;
        let mut child = Command::new(PODSPEC)
            .args(["run", "--target", "podman", "--report-dir", "out"])
            .current_dir(scratch.path())
            .env("PODSPEC_STATE_DIR", env.state())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| e.to_string())?;
        let prefix = format!("podspec-{}-", child.id());
        // Beside the podman gate on a loaded machine, podman itself may take minutes.
        let deadline = Instant::now() + Duration::from_secs(300);
        let run_said = || fs::read_to_string(&said).unwrap_or_default();
        while env.podman_lines(&["ps", "--filter", &format!("name=^{prefix}"), "--format", "{{.Names}}"]).len() < 2 {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("the run ended ({status}) before its pod started; it said:\n{}", run_said()));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the run's pod did not start within 300 s; the run said:\n{}", run_said()));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        child.kill().map_err(|e| e.to_string())?; // SIGKILL
        child.wait().map_err(|e| e.to_string())?;
        let left = env.podman_objects(&prefix);
        ensure(left.iter().any(|o| o.starts_with("pod ")), || format!("a killed run should leave its pod; found {left:?}"))?;
        ensure(left.iter().any(|o| o.starts_with("volume ")), || format!("a killed run should leave its volume; found {left:?}"))?;

        // An empty pod named after a namespace of a podspec process that is gone (PID 0 never
        // names one), as a `pod rm` that failed halfway leaves it: no container says whose it is.
        let o = env.podman(&["pod", "create", "--infra=false", "--name", &emptied_pod]);
        ensure(o.status.success(), || text(&o))?;
        let out = env.podspec(scratch.path(), &["clean", "--target", "podman"]);
        ensure(out.status.success(), || text(&out))?;
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        ensure(said.contains(&prefix), || format!("clean did not name the run's pod: {said}"))?;
        let left = env.podman_objects(&prefix);
        ensure(left.is_empty(), || format!("left after clean: {left:?}"))?;
        ensure(said.contains(&emptied_pod) && env.podman_objects(&emptied_pod).is_empty(), || {
            format!("clean did not remove the empty pod {emptied_pod} of a gone process: {said}")
        })?;
        let foreign = env.podman_objects(&foreign_pod);
        ensure(foreign.len() == 1, || format!("clean removed a pod that is not podspec's: {foreign_pod}"))?;
        let foreign = env.podman_objects(&foreign_volume);
        ensure(foreign.len() == 1, || format!("clean removed a volume of a live process: {foreign_volume}"))
    })();
    let _ = env.podman(&["pod", "rm", "--force", &foreign_pod]);
    let _ = env.podman(&["pod", "rm", "--force", &emptied_pod]);
    let _ = env.podman(&["volume", "rm", "--force", &foreign_volume]);
    result
}

/// Two pods of a namespace that name their emptyDir alike share one podman volume, and a
/// scenario's end deletes its pods at once. podman 4.3's `pod rm` of two such pods at the same
/// time can fail halfway: it removes the shared volume as the pod's own, the other `pod rm`
/// panics, and an empty pod is left. Ten rounds of two such pods, deleted at once through the
/// podman target.
fn pods_sharing_a_volume_deleted_at_once_leave_nothing(env: &Env) -> Result<(), String> {
    use podspec::targets::{PodRef, Target};
    let fixture = fs::read_to_string(Path::new(ROOT).join("fixtures/pods/shared-emptydir.yaml")).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let paths = podspec::paths::Paths { state_dir: env.state(), ..podspec::paths::Paths::from_env().map_err(|e| e.to_string())? };
        let target = podspec::targets::podman::PodmanTarget::start(paths, &Default::default()).await.map_err(|e| e.to_string())?;
        let mut result = Ok(());
        for round in 1..=10 {
            let namespace = format!("podspec-{}-shared{round}", std::process::id());
            let refs: Vec<PodRef> =
                ["first", "second"].iter().map(|n| PodRef { namespace: namespace.clone(), name: n.to_string() }).collect();
            let one_round = async {
                target.open_namespace(&namespace).await.map_err(|e| e.to_string())?;
                for r in &refs {
                    let mut pod: k8s_openapi::api::core::v1::Pod = serde_yaml::from_str(&fixture).map_err(|e| e.to_string())?;
                    pod.metadata.name = Some(r.name.clone());
                    pod.metadata.namespace = Some(namespace.clone());
                    target.create_pod(&pod).await.map_err(|e| format!("create {r}: {e}"))?;
                }
                let deleted = futures::future::join_all(refs.iter().map(|r| target.delete_pod(r))).await;
                for (r, d) in refs.iter().zip(deleted) {
                    d.map_err(|e| format!("round {round}: delete {r}: {e}"))?;
                }
                target.close_namespace(&namespace).await.map_err(|e| format!("round {round}: close {namespace}: {e}"))?;
                let left = env.podman_objects(&format!("{namespace}."));
                ensure(left.is_empty(), || format!("round {round}: left in podman after both deletes: {left:?}"))
            };
            if let Err(e) = one_round.await {
                result = Err(e);
                break;
            }
        }
        let _ = target.shutdown().await;
        result
    })
}

fn bench_shows_reference_and_podman_side_by_side(env: &Env) -> Result<(), String> {
    let out = env.podspec(Path::new(ROOT), &["bench", "--target", "podman", "--pods", "3"]);
    ensure(out.status.success(), || text(&out))?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    ensure(stdout.contains("reference median") && stdout.contains("podman median") && stdout.contains("podman/reference"), || text(&out))?;
    for line in stdout.lines() {
        println!("    {line}");
    }
    Ok(())
}

fn exported_images_load_into_podman_with_path_set(env: &Env) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = env.podspec(Path::new(ROOT), &["images", "export", dir.path().to_str().unwrap()]);
    ensure(out.status.success(), || text(&out))?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let line = stdout.lines().find(|l| l.contains("podspec_busybox.tar")).ok_or_else(|| text(&out))?;
    let fields: Vec<&str> = line.split('\t').collect();
    let (archive, reference) = (fields[0], fields[1]);
    let o = env.podman(&["load", "--input", archive]);
    ensure(o.status.success(), || text(&o))?;
    let o = env.podman(&["image", "inspect", "--format", "{{json .Config.Env}}", reference]);
    ensure(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("PATH=/usr/local/sbin"), || text(&o))
}

/// Why the checks cannot run here, if they cannot.
fn cannot_run() -> Option<String> {
    if !nix_is_root() {
        return Some("podspec's podman target runs as root, and this is not root".into());
    }
    let found = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join("podman").is_file())).unwrap_or(false);
    if !found {
        return Some("podman is not installed (install it with `bash ci/podman/install.sh`)".into());
    }
    None
}

fn nix_is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(2) == Some("0")))
        .unwrap_or(false)
}

fn main() -> ExitCode {
    let checks: &[(&str, Check)] = &[
        ("every_feature_on_runc_and_on_crun_fails_only_where_its_baseline_says", every_feature_on_runc_and_on_crun_fails_only_where_its_baseline_says),
        ("a_killed_run_leaves_what_clean_removes_and_only_that", a_killed_run_leaves_what_clean_removes_and_only_that),
        ("pods_sharing_a_volume_deleted_at_once_leave_nothing", pods_sharing_a_volume_deleted_at_once_leave_nothing),
        ("bench_shows_reference_and_podman_side_by_side", bench_shows_reference_and_podman_side_by_side),
        ("exported_images_load_into_podman_with_path_set", exported_images_load_into_podman_with_path_set),
    ];
    if let Some(code) = support::ignored_unless_asked("podman", checks.len(), "root, podman", cannot_run()) {
        return code;
    }
    let env = Env { dir: tempfile::Builder::new().prefix("podspec-podman-state-").tempdir().expect("temp dir") };
    // The containers.conf podspec writes, for the podman commands the checks run themselves.
    podspec::targets::podman::config::write(env.conf().parent().unwrap(), &Default::default()).expect("write containers.conf");
    support::run_checks("podman", &env, checks)
}
