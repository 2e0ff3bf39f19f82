//! `podspec certify` end to end on the reference target (root needed): a complete, passing run
//! gives a bundle that `--verify` accepts and whose files this test unpacks and checks; a bundle
//! with a failure, a bad PRODUCT.yaml or a log that names other scenarios is rejected.

use std::path::Path;

use assert_cmd::Command;

const FEATURE: &str = r#"@conformance
Feature: One pod
  # conformance: [sig-node] Pods should get a host IP [NodeConformance] [Conformance]
  Scenario: A pod runs and its container answers
    Given a running pod "one":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: one
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
    Then running "echo hi" in container "app" of pod "one" prints "hi"

  @static-pods
  Scenario: Not tagged for conformance by itself, but the feature is
    Given a running pod "two":
      """
      apiVersion: v1
      kind: Pod
      metadata:
        name: two
      spec:
        terminationGracePeriodSeconds: 0
        containers:
        - name: app
          image: busybox:1.36
          command: ["sleep", "3600"]
      """
"#;

const PRODUCT: &[&str] = &[
    "--product-name",
    "Example Kubernetes",
    "--product-vendor",
    "Example",
    "--product-version",
    "v1.33",
    "--product-website",
    "https://example.com",
    "--product-docs",
    "https://example.com/docs",
    "--product-type",
    "distribution",
    "--product-description",
    "A distribution",
    "--product-contact",
    "k8s@example.com",
];

/// Changes a bundle's files.
type Tamper = dyn Fn(&mut std::collections::BTreeMap<String, Vec<u8>>);

fn repack(files: &std::collections::BTreeMap<String, Vec<u8>>, dir: &Path, out: &Path) {
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    podspec::certify::bundle::write(dir, out).unwrap();
}

#[test]
#[ignore = "certify runs the reference target, which needs root"]
fn a_complete_passing_bundle_verifies_and_a_tampered_one_does_not() {
    crate::support::require_root("certify runs the reference target, which needs root");
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("features")).unwrap();
    std::fs::create_dir_all(project.path().join("fixtures/pods")).unwrap();
    std::fs::write(project.path().join("features/one.feature"), FEATURE).unwrap();
    let out = project.path().join("out");
    let run = Command::cargo_bin("podspec")
        .unwrap()
        .current_dir(project.path())
        .args(["certify", "--target", "reference", "--output", out.to_str().unwrap()])
        .args(PRODUCT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let bundle = String::from_utf8_lossy(&run.stdout).trim().to_string();
    assert!(Path::new(&bundle).file_name().unwrap().to_string_lossy().starts_with("podspec-results-"), "{bundle}");

    let verify = Command::cargo_bin("podspec").unwrap().args(["certify", "--verify", &bundle]).output().unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stderr));

    // What a reviewer reads.
    let files = podspec::certify::bundle::read(Path::new(&bundle)).unwrap();
    let log = String::from_utf8_lossy(&files["podspec.log"]).into_owned();
    assert!(log.lines().next().unwrap().contains(" podspec version "), "{log}");
    assert!(log.contains("[It] features/one.feature:4 A pod runs and its container answers"), "{log}");
    assert!(log.lines().next().unwrap().contains("counting against Kubernetes v1.32's Pod-related conformance tests"), "{log}");
    assert!(
        stderr.contains("counted against Kubernetes v1.32: 1 of its 159 Pod-related conformance tests have an equivalent scenario"),
        "{stderr}"
    );
    assert!(log.contains("STEP: Then running \"echo hi\" in container \"app\" of pod \"one\" prints \"hi\""), "{log}");
    let env: serde_json::Value = serde_json::from_slice(&files["environment.json"]).unwrap();
    assert_eq!(env["partial"], false);
    assert_eq!(env["tags"], "@conformance");
    assert_eq!(env["target"], "reference");
    assert_eq!(
        env["conformance"],
        serde_json::json!({"release": "1.32", "list": "fixtures/conformance/pod-tests-v1.32.txt", "covered": 1, "total": 159})
    );
    let product: serde_yaml::Value = serde_yaml::from_slice(&files["PRODUCT.yaml"]).unwrap();
    assert_eq!(product["type"], "distribution");
    assert_eq!(product["contact_email_address"], "k8s@example.com");
    let junit = String::from_utf8_lossy(&files["junit_01.xml"]).into_owned();
    assert_eq!(podspec::certify::verify::junit_cases(&junit).unwrap().len(), 2);

    // An honest bundle (issue 24, item 6): it says what it is and is not, each testcase names
    // the conformance test its scenario mirrors, and it records the list and its coverage.
    let readme = String::from_utf8_lossy(&files["README.md"]).into_owned();
    let head: Vec<&str> = readme.lines().take(4).collect();
    assert_eq!(head[0], "# podspec results bundle: not a CNCF conformance submission", "{readme}");
    assert!(head.join(" ").contains("not Kubernetes' e2e suite"), "{readme}");
    assert!(readme.contains("1 of 159"), "{readme}");
    assert!(
        junit.contains(
            "<property name=\"conformance.codename\" value=\"[sig-node] Pods should get a host IP [NodeConformance] [Conformance]\"/>"
        ),
        "{junit}"
    );
    let list = String::from_utf8_lossy(&files["conformance.txt"]).into_owned();
    assert!(list.contains("1 of 159 Pod-related conformance tests of Kubernetes v1.32"), "{list}");
    assert!(list.contains("covered  [sig-node] Pods should get a host IP [NodeConformance] [Conformance]\n           by features/one.feature:4 A pod runs and its container answers"), "{list}");
    assert_eq!(list.lines().filter(|l| l.starts_with("missing  ")).count(), 158, "{list}");
    assert!(log.lines().next().unwrap().contains(" podspec version ") && log.lines().next().unwrap().contains("Kubernetes v1.32"), "{log}");
    assert!(log.lines().last().unwrap().ends_with("SUCCESS! -- 2 Passed | 0 Failed | 0 Pending | 0 Skipped"), "{log}");

    // Tampered copies are rejected, each for its reason.
    let work = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Box<Tamper>, &str)> = vec![
        (
            "failure",
            Box::new(|f| {
                let j = String::from_utf8_lossy(&f["junit_01.xml"]).replacen("</testcase>", "<failure message=\"x\"/></testcase>", 1);
                f.insert("junit_01.xml".into(), j.into_bytes());
            }),
            "has a failure or error",
        ),
        (
            "product",
            Box::new(|f| {
                f.insert("PRODUCT.yaml".into(), b"vendor: x\ntype: appliance\n".to_vec());
            }),
            "PRODUCT.yaml: name is missing",
        ),
        (
            "log",
            Box::new(|f| {
                let l = String::from_utf8_lossy(&f["podspec.log"]).replace("A pod runs and its container answers", "Another scenario");
                f.insert("podspec.log".into(), l.into_bytes());
            }),
            "name different scenarios",
        ),
        (
            "partial with nothing missing",
            Box::new(|f| {
                let e = String::from_utf8_lossy(&f["environment.json"]).replace("\"partial\": false", "\"partial\": true");
                f.insert("environment.json".into(), e.into_bytes());
            }),
            "the run says it is partial but names no missing @conformance scenario",
        ),
        (
            "readme that does not say what it is",
            Box::new(|f| {
                f.insert("README.md".into(), b"# Conformance results\n".to_vec());
            }),
            "README.md does not say in its first lines that this is not a CNCF conformance submission",
        ),
        (
            "codename not in the list",
            Box::new(|f| {
                let j = String::from_utf8_lossy(&f["junit_01.xml"]).replace("Pods should get a host IP", "Pods should fly");
                f.insert("junit_01.xml".into(), j.into_bytes());
            }),
            "is not a covered test of conformance.txt",
        ),
        (
            "coverage that disagrees",
            Box::new(|f| {
                let l = String::from_utf8_lossy(&f["conformance.txt"]).replace("1 of 159", "159 of 159");
                f.insert("conformance.txt".into(), l.into_bytes());
            }),
            "conformance.txt does not say \"1 of 159",
        ),
        (
            "missing",
            Box::new(|f| {
                f.remove("environment.json");
            }),
            "environment.json is missing",
        ),
    ];
    for (name, tamper, expected) in cases {
        let mut copy = files.clone();
        tamper(&mut copy);
        let dir = work.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        if !copy.contains_key("environment.json") {
            // bundle::write packs every file; write this one by hand without it.
            let out = work.path().join(format!("{name}.tar.gz"));
            let gz = flate2::write::GzEncoder::new(std::fs::File::create(&out).unwrap(), flate2::Compression::default());
            let mut tar = tar::Builder::new(gz);
            for (n, b) in &copy {
                let mut h = tar::Header::new_gnu();
                h.set_size(b.len() as u64);
                h.set_mode(0o644);
                h.set_cksum();
                tar.append_data(&mut h, n, b.as_slice()).unwrap();
            }
            tar.into_inner().unwrap().finish().unwrap();
            check_rejected(&out, expected);
            continue;
        }
        let out = work.path().join(format!("{name}.tar.gz"));
        repack(&copy, &dir, &out);
        check_rejected(&out, expected);
    }
}

fn check_rejected(bundle: &Path, expected: &str) {
    let verify = Command::cargo_bin("podspec").unwrap().args(["certify", "--verify", bundle.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert_eq!(verify.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(expected), "{expected:?} in {stderr}");
}

/// Bad input is exit 2, before anything runs: a product type or contact that a submission
/// would refuse, and a bundle that cannot be read.
#[test]
fn bad_input_is_exit_2() {
    let out = Command::cargo_bin("podspec")
        .unwrap()
        .args(["certify", "--target", "reference", "--product-type", "appliance", "--product-contact", "nobody"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("type \"appliance\" is not one of"), "{stderr}");
    assert!(stderr.contains("contact_email_address \"nobody\" is not an email address"), "{stderr}");
    // Every field CNCF requires must be non-empty (issue 24, item 5): without a description,
    // refused before anything runs, naming it.
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("features")).unwrap();
    std::fs::write(project.path().join("features/none.feature"), "Feature: none\n  Scenario: not for conformance\n").unwrap();
    let at = PRODUCT.iter().position(|a| *a == "--product-description").unwrap();
    let without: Vec<&str> = PRODUCT[..at].iter().chain(&PRODUCT[at + 2..]).copied().collect();
    for description in [None, Some("  ")] {
        let mut c = Command::cargo_bin("podspec").unwrap();
        c.current_dir(project.path()).args(["certify", "--target", "reference", "--output", "out"]).args(&without);
        if let Some(d) = description {
            c.args(["--product-description", d]);
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("PRODUCT.yaml: description is missing (--product-description)"), "{stderr}");
        assert!(!project.path().join("out").exists(), "nothing ran");
    }
    let out =
        Command::cargo_bin("podspec").unwrap().args(["certify", "--verify", "/nonexistent/podspec-results-x.tar.gz"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read bundle /nonexistent/podspec-results-x.tar.gz"), "{stderr}");
    // A release podspec holds no list for: refused before anything starts.
    let out = Command::cargo_bin("podspec")
        .unwrap()
        .args(["certify", "--target", "reference", "--release", "1.34"])
        .args(PRODUCT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no list of Kubernetes 1.34's Pod-related conformance tests (podspec has: 1.32, 1.35)"), "{stderr}");
}

/// Issue 24, item 1: `--features` naming the whole suite (as the Sonobuoy plugin's
/// `/podspec/features` does) leaves nothing out and is not partial; naming one file of it is,
/// with every scenario of the other files missing and `--features` named as what left them out.
#[test]
fn a_features_path_naming_the_whole_suite_is_complete_and_one_file_is_partial() {
    use podspec::certify::{completeness, conformance_scenarios, suite_roots};
    let copy = tempfile::tempdir().unwrap();
    let suite = copy.path().join("features");
    std::fs::create_dir_all(&suite).unwrap();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("features")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), suite.join(entry.file_name())).unwrap();
    }
    let full = conformance_scenarios(&suite_roots(std::slice::from_ref(&suite))).unwrap();
    assert!(full.len() > 20, "{}", full.len());
    let all_run: std::collections::BTreeSet<(String, String)> = full.iter().cloned().collect();
    let selected = conformance_scenarios(std::slice::from_ref(&suite)).unwrap();
    let (narrowed_by, missing) = completeness(&full, &selected, &all_run, &format!("--features {}", suite.display()), &[]);
    assert!(narrowed_by.is_empty() && missing.is_empty(), "{narrowed_by:?} {missing:?}");

    let one = suite.join("ipc.feature");
    assert_eq!(suite_roots(std::slice::from_ref(&one)), [suite]);
    let selected = conformance_scenarios(std::slice::from_ref(&one)).unwrap();
    let ran: std::collections::BTreeSet<(String, String)> = selected.iter().cloned().collect();
    let option = format!("--features {}", one.display());
    let (narrowed_by, missing) = completeness(&full, &selected, &ran, &option, &["--tags @ipc".to_string()]);
    assert_eq!(narrowed_by, std::slice::from_ref(&option));
    assert_eq!(missing.len(), full.len() - selected.len());
    assert!(missing.iter().all(|m| m.reason == format!("not in {option}") && !m.feature_path.ends_with("ipc.feature")), "{missing:?}");
}

/// `certify --rerun-failed` runs only the earlier report's failed @conformance scenarios: the
/// bundle is partial, `narrowed_by` naming the option, and its report.json names the earlier run.
#[test]
#[ignore = "certify runs the reference target, which needs root"]
fn a_rerun_of_the_failures_is_a_partial_bundle_that_names_the_earlier_report() {
    crate::support::require_root("certify runs the reference target, which needs root");
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("features")).unwrap();
    std::fs::create_dir_all(project.path().join("fixtures/pods")).unwrap();
    let failing = FEATURE.replace(
        r#"  @static-pods
  Scenario: Not tagged for conformance by itself, but the feature is"#,
        r#"  Scenario: This one fails"#,
    ) + "    Then running \"echo hi\" in container \"app\" of pod \"two\" prints \"bye\"\n";
    std::fs::write(project.path().join("features/one.feature"), failing).unwrap();
    let first = Command::cargo_bin("podspec")
        .unwrap()
        .current_dir(project.path())
        .args(["run", "--target", "reference", "--report-dir", "first"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(1), "{}", String::from_utf8_lossy(&first.stderr));
    let out = project.path().join("out");
    let run = Command::cargo_bin("podspec")
        .unwrap()
        .current_dir(project.path())
        .args(["certify", "--target", "reference", "--rerun-failed", "first/report.json", "--output", out.to_str().unwrap()])
        .args(PRODUCT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("0 passed, 1 failed, 0 skipped"), "{stderr}");
    assert!(stderr.contains("PARTIAL (--rerun-failed first/report.json)"), "{stderr}");
    let bundle = String::from_utf8_lossy(&run.stdout).trim().to_string();
    let files = podspec::certify::bundle::read(Path::new(&bundle)).unwrap();
    let env: serde_json::Value = serde_json::from_slice(&files["environment.json"]).unwrap();
    assert_eq!(env["partial"], true, "{env}");
    assert_eq!(env["narrowed_by"], serde_json::json!(["--rerun-failed first/report.json"]), "{env}");
    assert_eq!(env["missing"][0]["scenario"], "A pod runs and its container answers", "{env}");
    let report: serde_json::Value = serde_json::from_slice(&files["report.json"]).unwrap();
    assert_eq!(report["reruns"]["report"], "first/report.json", "{report}");
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["scenarios"][0]["name"], "This one fails", "{report}");
}
