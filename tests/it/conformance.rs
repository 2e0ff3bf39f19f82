//! `podspec list --conformance` against the features: every `# conformance:` comment names a
//! Pod-related conformance test, and the README's status (the scenario count and the coverage)
//! is what `podspec list` prints.

use assert_cmd::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_readme_status_is_what_list_prints() {
    let out = Command::cargo_bin("podspec").unwrap().current_dir(ROOT).args(["list", "--conformance"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = stdout.lines().last().unwrap();
    // "N of M Pod-related conformance tests have an equivalent scenario; K do not yet"
    let words: Vec<&str> = summary.split_whitespace().collect();
    let (covered, total) = (words[0], words[2]);
    let missing = summary.rsplit("; ").next().unwrap().split_whitespace().next().unwrap();
    assert_eq!(stdout.lines().filter(|l| l.starts_with("missing  ")).count().to_string(), missing, "{summary}");
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let claim = format!("**{covered} of {total}** of Kubernetes' Pod-related conformance tests");
    assert!(readme.contains(&claim), "README should say {claim:?} ({summary})");

    // "podspec: N scenarios selected for reference: ..."
    let out = Command::cargo_bin("podspec").unwrap().current_dir(ROOT).args(["list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let scenarios = String::from_utf8_lossy(&out.stdout).lines().count();
    let claim = format!("**{scenarios} scenarios** in {} features", std::fs::read_dir(format!("{ROOT}/features")).unwrap().count());
    assert!(readme.contains(&claim), "README should say {claim:?}");
}

#[test]
fn list_conformance_names_the_release_it_counts_against_and_refuses_one_it_has_no_list_for() {
    let run = |args: &[&str]| Command::cargo_bin("podspec").unwrap().current_dir(ROOT).args(args).output().unwrap();
    let default = run(&["list", "--conformance"]);
    let explicit = run(&["list", "--conformance", "--release", "v1.32"]);
    assert_eq!(default.status.code(), Some(0));
    assert_eq!(default.stdout, explicit.stdout, "the default release is 1.32");
    let summary = String::from_utf8_lossy(&default.stdout).lines().last().unwrap().to_string();
    assert!(summary.contains(" of 159 Pod-related conformance tests (Kubernetes v1.32) have an equivalent scenario; "), "{summary}");
    let v135 = run(&["list", "--conformance", "--release", "1.35"]);
    assert_eq!(v135.status.code(), Some(0), "{}", String::from_utf8_lossy(&v135.stderr));
    let summary = String::from_utf8_lossy(&v135.stdout).lines().last().unwrap().to_string();
    assert!(summary.contains(" of 171 Pod-related conformance tests (Kubernetes v1.35) have an equivalent scenario; "), "{summary}");
    let v135 = String::from_utf8_lossy(&v135.stdout).to_string();
    // The sysctl tests under their v1.35 names, and a test v1.35 added.
    assert!(
        v135.contains("covered  [sig-node] Sysctls [LinuxOnly] [NodeConformance] should reject invalid sysctls [Conformance]\n"),
        "{v135}"
    );
    assert!(
        v135.contains("covered  [sig-node] Downward API should provide hostIPs as an env var [NodeConformance] [Conformance]\n"),
        "{v135}"
    );
    let other = run(&["list", "--conformance", "--release", "1.34"]);
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert_eq!(other.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no list of Kubernetes 1.34's Pod-related conformance tests (podspec has: 1.32, 1.35)"), "{stderr}");
    assert!(other.stdout.is_empty());
}
