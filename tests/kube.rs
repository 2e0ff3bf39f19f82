//! The kube target proven end to end against `podspec serve` (the only cluster on these
//! machines): every feature runs with `--target kube`, and the run is compared with a
//! `--target reference` run scenario by scenario. The passed and skipped sets must be equal, or
//! each difference must be listed with its reason in ci/baselines/kube-vs-reference.txt.
//! Not run (and said so) without root or where this build has no `podspec serve`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn podspec() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("podspec"));
    c.current_dir(ROOT);
    c
}

/// A `podspec serve` of this test, ended by its PID with SIGTERM (then SIGKILL) when dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_serve(kubeconfig: &Path) -> Serve {
    let child = podspec()
        .args(["serve", "--kubeconfig-out"])
        .arg(kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("podspec serve starts");
    let serve = Serve(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "podspec serve wrote no kubeconfig within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    serve
}

fn run(args: &[&str], report_dir: &Path) -> podspec::report::RunRecord {
    let status = podspec().arg("run").args(args).arg("--report-dir").arg(report_dir).status().unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "podspec run {args:?} ended with {status}");
    podspec::report::json::read(report_dir.join("report.json")).unwrap()
}

#[test]
fn every_feature_through_the_kube_target_against_serve_equals_reference() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("NOT RUN: podspec serve and the reference target need root");
        return;
    }
    let has_serve = podspec().args(["serve", "--help"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !has_serve {
        eprintln!("NOT RUN: this build has no `podspec serve`, the cluster the kube target is proven against");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig: PathBuf = dir.path().join("kubeconfig");
    let serve = start_serve(&kubeconfig);
    let kube = run(&["--target", "kube", "--kubeconfig", kubeconfig.to_str().unwrap()], &dir.path().join("kube"));
    drop(serve);
    let reference = run(&["--target", "reference"], &dir.path().join("reference"));

    let differences = podspec::report::baseline::read(Path::new(ROOT).join("ci/baselines/kube-vs-reference.txt")).unwrap();
    let c = podspec::report::compare::compare(&reference, &kube, &differences);
    eprintln!("kube against serve: {}; reference: {}", kube.summary, reference.summary);
    for e in &c.explained {
        eprintln!("  listed difference: {e}");
    }
    assert!(c.passed(), "unexplained differences:\n{}\nstale entries:\n{}", c.unexplained.join("\n"), c.stale.join("\n"));
}

/// serve answers SelfSubjectAccessReview (authorization.k8s.io/v1, listed in discovery), so
/// the kube target's rights check is made against it, not skipped with a warning; kubectl's
/// `auth can-i` reads the same answer. (A denial is exit 2 naming the verb and resource: serve
/// has one identity that may do everything, so that path is shown against the mock in
/// src/targets/kube/tests.rs, `a_denied_right_is_named`.)
#[test]
fn the_rights_check_is_made_against_serve() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("NOT RUN: podspec serve needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig: PathBuf = dir.path().join("kubeconfig");
    let serve = start_serve(&kubeconfig);
    let kubectl =
        Command::new("kubectl").args(["auth", "can-i", "create", "pods", "--subresource=exec", "--kubeconfig"]).arg(&kubeconfig).output();
    match kubectl {
        Ok(out) => {
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "yes");
            let out = Command::new("kubectl")
                .args(["api-resources", "--api-group=authorization.k8s.io", "--kubeconfig"])
                .arg(&kubeconfig)
                .output()
                .unwrap();
            let listed = String::from_utf8_lossy(&out.stdout);
            assert!(listed.contains("selfsubjectaccessreviews") && listed.contains("SelfSubjectAccessReview"), "{listed}");
        }
        Err(e) => eprintln!("NOT RUN (kubectl part): no kubectl here: {e}"),
    }
    let out = podspec()
        .args([
            "run",
            "--target",
            "kube",
            "--features",
            "features/hostname.feature",
            "--name",
            "sees the pod name as its hostname",
            "--report-dir",
        ])
        .arg(dir.path().join("report"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    drop(serve);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("podspec: rights: the identity may do all 15 things this run needs (asked with SelfSubjectAccessReview)"),
        "{stderr}"
    );
    assert!(!stderr.contains("offers no SelfSubjectAccessReview"), "{stderr}");
}

/// An API server that does not answer is an input error (exit 2) naming its URL and the cause;
/// so is a missing kubeconfig.
#[test]
fn an_unreachable_cluster_is_exit_2_with_its_url_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // Port 9 (discard) on loopback: nothing listens there here.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:9\", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
    )
    .unwrap();
    let out = podspec().args(["run", "--target", "kube", "--kubeconfig"]).arg(&kubeconfig).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach the API server at https://127.0.0.1:9/"), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");

    let out = podspec().args(["run", "--target", "kube", "--context", "nowhere", "--kubeconfig"]).arg(&kubeconfig).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nowhere"), "{stderr}");
}
