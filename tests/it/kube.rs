//! The kube target proven end to end against `podspec serve` (the only cluster on these
//! machines): every feature runs with `--target kube`, and the run is compared with a
//! `--target reference` run scenario by scenario. The passed and skipped sets must be equal, or
//! each difference must be listed with its reason in ci/baselines/kube-vs-reference.txt.
//! Not run (and said so) without root or where this build has no `podspec serve`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};


use crate::serve::Serve;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn podspec() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("podspec"));
    c.current_dir(ROOT);
    c
}

fn run(args: &[&str], report_dir: &Path) -> podspec::report::RunRecord {
    let status = podspec().arg("run").args(args).arg("--report-dir").arg(report_dir).status().unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "podspec run {args:?} ended with {status}");
    podspec::report::json::read(report_dir.join("report.json")).unwrap()
}

#[test]
#[ignore = "podspec serve and the reference target need root"]
fn every_feature_through_the_kube_target_against_serve_equals_reference() {
    crate::support::require_root("podspec serve and the reference target need root");
    // The reports stay under target/ (replaced by each run): .ci/run puts the kube run in its
    // matrix rather than run every feature through serve a second time.
    let reports = Path::new(ROOT).join("target");
    let serve = Serve::start();
    let kubeconfig: PathBuf = serve.kubeconfig.clone();
    let kube = run(&["--target", "kube", "--kubeconfig", kubeconfig.to_str().unwrap()], &reports.join("podspec-reports-kube"));
    drop(serve);
    let reference = run(&["--target", "reference"], &reports.join("podspec-reports-kube-reference"));

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
/// crates/podspec-harness/src/targets/kube/tests.rs, `a_denied_right_is_named`.)
#[test]
#[ignore = "podspec serve needs root"]
fn the_rights_check_is_made_against_serve() {
    crate::support::require_root("podspec serve needs root");
    let dir = tempfile::tempdir().unwrap();
    let serve = Serve::start();
    let kubeconfig: PathBuf = serve.kubeconfig.clone();
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
        Err(e) => panic!("needs kubectl on PATH: {e}"),
    }
    // The rights asked are what the selected scenarios need: updates, patches and writes of
    // ephemeral containers only when an @api-server scenario is among them.
    let cases = [
        ("features/hostname.feature", "sees the pod name as its hostname", 14),
        ("features/update.feature", "A container's image may be changed, and the generation grows by one", 21),
    ];
    for (feature, name, rights) in cases {
        let out = podspec()
            .args(["run", "--target", "kube", "--features", feature, "--name", name, "--report-dir"])
            .arg(dir.path().join("report"))
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let line = format!("podspec: rights: the identity may do all {rights} things this run needs (asked with SelfSubjectAccessReview)");
        assert!(stderr.contains(&line), "{line:?} in {stderr}");
        assert!(!stderr.contains("offers no SelfSubjectAccessReview"), "{stderr}");
    }
    drop(serve);
}

const ENDS: &str = r#"Feature: Namespaces whatever the end
  Scenario: It passes
    Given a running pod "one":
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: one}
      spec:
        terminationGracePeriodSeconds: 0
        containers: [{name: app, image: "busybox:1.36", command: [sleep, "3600"]}]
      """
    Then running "echo hi" in container "app" of pod "one" prints "hi"

  Scenario: It fails
    Given a running pod "two":
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: two}
      spec:
        terminationGracePeriodSeconds: 0
        containers: [{name: app, image: "busybox:1.36", command: [sleep, "3600"]}]
      """
    Then running "echo hi" in container "app" of pod "two" prints "bye"
"#;

const WAITS: &str = r#"Feature: A scenario still running when the run ends
  Scenario: It waits
    Given a running pod "three":
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: three}
      spec:
        terminationGracePeriodSeconds: 0
        containers: [{name: app, image: "busybox:1.36", command: [sleep, "3600"]}]
      """
    Then running "echo hi" in container "app" of pod "three" eventually prints "never"
"#;

/// The podspec namespaces serve has (labelled `podspec.io/run`), read with kubectl.
fn podspec_namespaces(kubeconfig: &Path) -> Vec<String> {
    let out = Command::new("kubectl").args(["get", "namespaces", "-o", "json", "--kubeconfig"]).arg(kubeconfig).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ns| ns["metadata"]["labels"].get("podspec.io/run").is_some())
        .map(|ns| ns["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// Starts a kube run of `feature`, waits until its scenario's namespace exists and its pod
/// runs, and returns the running process.
// The child is returned to the caller, which signals and waits for it.
#[allow(clippy::zombie_processes)]
fn run_until_its_pod_runs(kubeconfig: &Path, feature: &Path, report: &Path) -> Child {
    let mut child = podspec()
        .args(["run", "--target", "kube", "--features"])
        .arg(feature)
        .arg("--report-dir")
        .arg(report)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("kubectl").args(["get", "pods", "-A", "--no-headers", "--kubeconfig"]).arg(kubeconfig).output().unwrap();
        if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.contains(" three ") && l.contains("Running")) {
            return child;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the scenario's pod did not run within 60 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn stderr_of(child: Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// What a scenario's clean-up cannot remove is named in the run's report (JSON and Markdown),
/// with the scenario's place: here the cluster (serve) went away while the scenario ran, so
/// neither its pod nor its namespace could be deleted by the run.
#[test]
#[ignore = "podspec serve needs root"]
fn what_a_scenario_could_not_remove_is_in_the_report() {
    crate::support::require_root("podspec serve needs root");
    crate::support::require_program("kubectl");
    let dir = tempfile::tempdir().unwrap();
    let waits = dir.path().join("waits.feature");
    std::fs::write(&waits, WAITS).unwrap();
    let serve = Serve::start();
    let report = dir.path().join("report");
    let child = run_until_its_pod_runs(&serve.kubeconfig, &waits, &report);
    // serve ends (and removes what it ran): the run's clean-up finds no cluster to ask.
    assert!(serve.stop().success());
    let (code, stderr) = stderr_of(child);
    assert_eq!(code, Some(1), "{stderr}");
    let record = podspec::report::json::read(report.join("report.json")).unwrap();
    let place = format!("{}:2: ", waits.display());
    let pod = record.left_behind.iter().find(|l| l.starts_with(&format!("{place}pod podspec-")) && l.contains("/three: "));
    let namespace = record.left_behind.iter().find(|l| l.starts_with(&format!("{place}namespace podspec-")));
    assert!(pod.is_some() && namespace.is_some(), "the pod and the namespace in {:?}\n{stderr}", record.left_behind);
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("## Left behind") && md.contains("podspec clean --target kube"), "{md}");
    assert!(stderr.contains("podspec: warning: after the scenario, not removed: namespace podspec-"), "{stderr}");
}

/// Each scenario's namespace goes whatever the scenario's end (passed, failed) and whatever
/// ends the run (SIGTERM, SIGINT); a run killed with SIGKILL leaves its namespace, which `podspec
/// clean --target kube` then deletes (its owner is gone); a namespace whose owner may live (on
/// another host) is kept unless `--all` is confirmed (`--yes`). Against podspec serve.
#[test]
#[ignore = "podspec serve needs root"]
fn namespaces_go_whatever_the_end_and_clean_deletes_what_a_killed_run_left() {
    crate::support::require_root("podspec serve needs root");
    crate::support::require_program("kubectl");
    let dir = tempfile::tempdir().unwrap();
    let (ends, waits) = (dir.path().join("ends.feature"), dir.path().join("waits.feature"));
    std::fs::write(&ends, ENDS).unwrap();
    std::fs::write(&waits, WAITS).unwrap();
    let serve = Serve::start();
    let kubeconfig: PathBuf = serve.kubeconfig.clone();

    // A pass and a failure: both namespaces are gone when the run ends.
    let out = podspec()
        .args(["run", "--target", "kube", "--features"])
        .arg(&ends)
        .arg("--report-dir")
        .arg(dir.path().join("ends"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("1 passed, 1 failed"), "{stderr}");
    assert!(!stderr.contains("not removed"), "{stderr}");
    assert_eq!(podspec_namespaces(&kubeconfig), Vec::<String>::new());

    // SIGTERM and SIGINT mid-scenario: the run ends (130) and its namespace is gone.
    for signal in [nix::sys::signal::Signal::SIGTERM, nix::sys::signal::Signal::SIGINT] {
        let child = run_until_its_pod_runs(&kubeconfig, &waits, &dir.path().join("waits"));
        // The scenario's, and the run's own for its static pod writers.
        assert!(!podspec_namespaces(&kubeconfig).is_empty());
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        let (code, stderr) = stderr_of(child);
        assert_eq!(code, Some(130), "{signal}: {stderr}");
        assert!(stderr.contains("everything the run started was removed"), "{signal}: {stderr}");
        assert_eq!(podspec_namespaces(&kubeconfig), Vec::<String>::new(), "{signal}: {stderr}");
    }

    // SIGKILL: the namespace stays; clean deletes it, its owner being gone.
    let mut child = run_until_its_pod_runs(&kubeconfig, &waits, &dir.path().join("waits"));
    child.kill().unwrap();
    child.wait().unwrap();
    let left = podspec_namespaces(&kubeconfig);
    assert!(!left.is_empty());
    let out = podspec().args(["clean", "--target", "kube", "--kubeconfig"]).arg(&kubeconfig).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("deleted {} podspec namespace(s)", left.len())), "{stdout}");
    assert!(left.iter().all(|ns| stdout.contains(ns.as_str())), "{left:?} in {stdout}");
    assert_eq!(podspec_namespaces(&kubeconfig), Vec::<String>::new());

    // A namespace of a run on another host: kept by clean, and by --all unconfirmed; gone with --yes.
    let foreign = r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "podspec-1-1", "labels": {"podspec.io/run": "1-1", "podspec.io/owner-host": "elsewhere", "podspec.io/owner-pid": "1", "podspec.io/owner-start": "1"}}}"#;
    let mut create =
        Command::new("kubectl").args(["create", "-f", "-", "--kubeconfig"]).arg(&kubeconfig).stdin(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(create.stdin.as_mut().unwrap(), foreign.as_bytes()).unwrap();
    assert!(create.wait().unwrap().success());
    let out = podspec().args(["clean", "--target", "kube", "--kubeconfig"]).arg(&kubeconfig).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("no podspec namespace deleted"), "{}", String::from_utf8_lossy(&out.stdout));
    let mut unconfirmed = podspec()
        .args(["clean", "--target", "kube", "--all", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(unconfirmed.stdin.as_mut().unwrap(), b"n\n").unwrap();
    let out = unconfirmed.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("delete every podspec namespace (1): podspec-1-1? [y/N]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(podspec_namespaces(&kubeconfig), ["podspec-1-1"]);
    let out = podspec().args(["clean", "--target", "kube", "--all", "--yes", "--kubeconfig"]).arg(&kubeconfig).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("deleted 1 podspec namespace(s)") && stdout.contains("podspec-1-1"), "{stdout}");
    assert_eq!(podspec_namespaces(&kubeconfig), Vec::<String>::new());
}

const CERTIFIED: &str = r#"@conformance
Feature: One pod
  Scenario: A pod runs and its container answers
    Given a running pod "one":
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: one}
      spec:
        terminationGracePeriodSeconds: 0
        containers: [{name: app, image: "busybox:1.36", command: [sleep, "3600"]}]
      """
    Then running "echo hi" in container "app" of pod "one" prints "hi"
"#;

const NODE_ONLY: &str = r#"Feature: What a cluster's API alone cannot show
  @conformance @node-access
  Scenario: Needs the node's filesystem
    Given a running pod "two":
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: two}
      spec:
        terminationGracePeriodSeconds: 0
        containers: [{name: app, image: "busybox:1.36", command: [sleep, "3600"]}]
      """
"#;

const PRODUCT: &[&str] = &[
    "--product-name",
    "podspec serve",
    "--product-vendor",
    "podspec",
    "--product-version",
    "0.1.0",
    "--product-website",
    "https://example.org/podspec",
    "--product-docs",
    "https://example.org/podspec/docs",
    "--product-type",
    "distribution",
    "--product-description",
    "A distribution",
    "--product-contact",
    "podspec@example.org",
];

/// `podspec certify --target kube` against serve: a complete, passing bundle that `--verify`
/// accepts, unpacked and read as a reviewer would (the cluster's version and node as the API
/// gave them); then a `@conformance` scenario the kube target must skip makes the bundle
/// partial (exit 1), naming it and why, and `--verify` rejects it saying so.
#[test]
#[ignore = "podspec serve needs root"]
fn certify_through_the_kube_target_against_serve() {
    crate::support::require_root("podspec serve needs root");
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("features")).unwrap();
    std::fs::create_dir_all(project.join("fixtures/pods")).unwrap();
    std::fs::write(project.join("features/one.feature"), CERTIFIED).unwrap();
    let serve = Serve::start();
    let kubeconfig: PathBuf = serve.kubeconfig.clone();
    let certify = |out: &str| {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("podspec"));
        c.current_dir(&project).args(["certify", "--target", "kube", "--output", out, "--kubeconfig"]).arg(&kubeconfig).args(PRODUCT);
        c.output().unwrap()
    };

    let run = certify("complete");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let bundle = String::from_utf8_lossy(&run.stdout).trim().to_string();
    let bundle = project.join(bundle);
    let verify = podspec().args(["certify", "--verify"]).arg(&bundle).output().unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stderr));
    let files = podspec::certify::bundle::read(&bundle).unwrap();
    for f in podspec::certify::bundle::FILES {
        assert!(!files[*f].is_empty(), "{f} is empty");
    }
    let env: serde_json::Value = serde_json::from_slice(&files["environment.json"]).unwrap();
    assert_eq!(env["target"], "kube");
    assert_eq!(env["partial"], false);
    assert!(env["server_version"].as_str().unwrap().starts_with("v1.33.0+podspec-"), "{env}");
    assert!(env["server_url"].as_str().unwrap().starts_with("https://127.0.0.1:"), "{env}");
    let node = &env["nodes"][0];
    assert_eq!(node["name"], "podspec-node", "{env}");
    for field in ["kubelet_version", "container_runtime_version", "os_image", "kernel_version", "architecture"] {
        assert!(!node[field].as_str().unwrap_or("").is_empty(), "{field} in {env}");
    }
    assert_eq!(env["features_sha256"].as_str().unwrap().len(), 64, "{env}");
    let log = String::from_utf8_lossy(&files["podspec.log"]).into_owned();
    let first = log.lines().next().unwrap();
    assert!(first.contains(" podspec version ") && first.contains("target kube"), "{first}");
    assert!(log.contains("[It] features/one.feature:3 A pod runs and its container answers"), "{log}");
    let product: serde_yaml::Value = serde_yaml::from_slice(&files["PRODUCT.yaml"]).unwrap();
    assert_eq!(product["name"], "podspec serve");
    assert_eq!(product["website_url"], "https://example.org/podspec");

    // A @conformance scenario the kube target cannot run: skipped, so the bundle is partial.
    std::fs::write(project.join("features/node.feature"), NODE_ONLY).unwrap();
    let run = certify("partial");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("PARTIAL (scenarios skipped): 1 @conformance scenario(s) missing"), "{stderr}");
    assert!(stderr.contains("features/node.feature | Needs the node's filesystem: "), "{stderr}");
    let bundle = project.join(String::from_utf8_lossy(&run.stdout).trim());
    let files = podspec::certify::bundle::read(&bundle).unwrap();
    let env: serde_json::Value = serde_json::from_slice(&files["environment.json"]).unwrap();
    assert_eq!(env["partial"], true);
    assert_eq!(env["missing"][0]["scenario"], "Needs the node's filesystem");
    assert!(env["missing"][0]["reason"].as_str().unwrap().contains("node-access"), "{env}");
    let verify = podspec().args(["certify", "--verify"]).arg(&bundle).output().unwrap();
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert_eq!(verify.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("environment.json: the run is partial (1 @conformance scenarios missing)"), "{stderr}");
    assert!(stderr.contains("missing: features/node.feature | Needs the node's filesystem"), "{stderr}");

    // Narrowed by --name: partial, the scenario left out named with why.
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("podspec"));
    c.current_dir(&project).args(["certify", "--target", "kube", "--output", "named", "--name", "container answers", "--kubeconfig"]);
    let run = c.arg(&kubeconfig).args(PRODUCT).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("PARTIAL (--name container answers): 1 @conformance scenario(s) missing"), "{stderr}");
    assert!(stderr.contains("features/node.feature | Needs the node's filesystem: not selected by --name container answers"), "{stderr}");
    let files = podspec::certify::bundle::read(&project.join(String::from_utf8_lossy(&run.stdout).trim())).unwrap();
    let env: serde_json::Value = serde_json::from_slice(&files["environment.json"]).unwrap();
    assert_eq!(
        (env["partial"].clone(), env["narrowed_by"].clone()),
        (serde_json::json!(true), serde_json::json!(["--name container answers"]))
    );

    // SIGTERM mid-certification: exit 130, no bundle, no namespace left.
    crate::support::require_program("kubectl");
    std::fs::write(project.join("features/waits.feature"), format!("@conformance\n{WAITS}")).unwrap();
    let child = Command::new(assert_cmd::cargo::cargo_bin("podspec"))
        .current_dir(&project)
        .args(["certify", "--target", "kube", "--output", "interrupted", "--kubeconfig"])
        .arg(&kubeconfig)
        .args(PRODUCT)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("kubectl").args(["get", "pods", "-A", "--no-headers", "--kubeconfig"]).arg(&kubeconfig).output().unwrap();
        if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.contains(" three ") && l.contains("Running")) {
            break;
        }
        assert!(Instant::now() < deadline, "the waiting scenario's pod did not run within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted; everything the run started was removed; no bundle written"), "{stderr}");
    assert_eq!(podspec_namespaces(&kubeconfig), Vec::<String>::new());
    let written: Vec<_> =
        std::fs::read_dir(project.join("interrupted")).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(written.is_empty(), "{written:?}");
}

/// `--image-map` and `--image-registry` change a scenario's images, and nothing else, and each
/// change is in the report, per scenario. Against serve, whose node knows busybox by other
/// names too.
#[test]
#[ignore = "podspec serve needs root"]
fn images_are_mapped_and_the_change_is_reported() {
    crate::support::require_root("podspec serve needs root");
    let dir = tempfile::tempdir().unwrap();
    let feature = dir.path().join("one.feature");
    std::fs::write(&feature, CERTIFIED).unwrap();
    let map = dir.path().join("image-map.txt");
    std::fs::write(&map, "# test\nbusybox:1.36=registry.k8s.io/e2e-test-images/busybox:1.36.1-1\n").unwrap();
    let serve = Serve::start();
    let kubeconfig: PathBuf = serve.kubeconfig.clone();
    let cases: [(&[&str], &str); 2] = [
        (&["--image-map", map.to_str().unwrap()], "image busybox:1.36 sent as registry.k8s.io/e2e-test-images/busybox:1.36.1-1"),
        (&["--image-registry", "docker.io/library/"], "image busybox:1.36 sent as docker.io/library/busybox:1.36"),
    ];
    for (i, (flags, change)) in cases.iter().enumerate() {
        let report = dir.path().join(format!("r{i}"));
        let out = podspec()
            .args(["run", "--target", "kube", "--features"])
            .arg(&feature)
            .args(*flags)
            .arg("--report-dir")
            .arg(&report)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", String::from_utf8_lossy(&out.stderr));
        let record = podspec::report::json::read(report.join("report.json")).unwrap();
        assert_eq!(record.scenarios[0].manifest_changes, [format!("pod one: {change}")], "{flags:?}");
    }
    // What is sent is what the node runs: an image it does not have is the pod's waiting reason
    // (the scenario's step checks it). The static pod writer's image is mapped too; serve admits
    // it with a server-side dry run, so no writer runs before the scenario.
    let feature = dir.path().join("nowhere.feature");
    std::fs::write(&feature, NOWHERE).unwrap();
    let started = Instant::now();
    let out = podspec()
        .args(["run", "--target", "kube", "--features"])
        .arg(&feature)
        .args(["--image-registry", "nowhere.example", "--report-dir"])
        .arg(dir.path().join("r-nowhere"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}: {stderr}", started.elapsed());
}

const NOWHERE: &str = r#"Feature: An image the node does not have
  Scenario: The node says which image it does not have
    Given a pod "one":
      """
      apiVersion: v1
      kind: Pod
      metadata: {name: one}
      spec:
        terminationGracePeriodSeconds: 0
        containers: [{name: app, image: "busybox:1.36", imagePullPolicy: Never, command: [sleep, "3600"]}]
      """
    Then field "status.containerStatuses[name=app].state.waiting.reason" of pod "one" is "ErrImageNeverPull"
    And field "status.containerStatuses[name=app].state.waiting.message" of pod "one" contains "nowhere.example/busybox:1.36"
"#;

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
