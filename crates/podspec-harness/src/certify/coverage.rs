//! Coverage of Kubernetes' Pod-related conformance tests, one list a Kubernetes release
//! (`fixtures/conformance/pod-tests-v<release>.txt`, each with its source and how it was selected in
//! its header): a scenario that mirrors one names its codename in a comment above it,
//! `# conformance: <codename>`. `podspec list --conformance [--release R]` prints what is covered.

use std::collections::BTreeMap;
use std::path::Path;

/// Each release's Pod-related conformance tests, one codename a line; the first is the default.
/// Each list's header names its source (Kubernetes' conformance test list of that release) and the
/// rule that picked the Pod-related tests out of it.
pub const RELEASES: &[(&str, &str)] = &[
    ("1.32", include_str!("../../../../fixtures/conformance/pod-tests-v1.32.txt")),
    ("1.35", include_str!("../../../../fixtures/conformance/pod-tests-v1.35.txt")),
];
/// The release `list --conformance` and `certify` count against unless told otherwise.
pub const DEFAULT_RELEASE: &str = RELEASES[0].0;
/// The comment that names a mirrored test.
pub const COMMENT: &str = "# conformance: ";

/// A release podspec holds no list for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no list of Kubernetes {asked}'s Pod-related conformance tests (podspec has: {known})")]
pub struct UnknownRelease {
    pub asked: String,
    pub known: String,
}

/// The release as the lists name it: `1.32` for `1.32`, `v1.32` or `v1.32.4`.
pub fn release(asked: &str) -> Result<&'static str, UnknownRelease> {
    let t = asked.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    let minor: String = t.split('.').take(2).collect::<Vec<_>>().join(".");
    RELEASES
        .iter()
        .map(|(r, _)| *r)
        .find(|r| *r == minor)
        .ok_or_else(|| UnknownRelease { asked: asked.to_string(), known: RELEASES.iter().map(|(r, _)| *r).collect::<Vec<_>>().join(", ") })
}

/// The list file of a release, as the messages name it.
pub fn list_path(release: &str) -> String {
    format!("fixtures/conformance/pod-tests-v{release}.txt")
}

/// The codenames of a release's Pod-related conformance tests.
pub fn pod_tests(release: &str) -> Result<Vec<&'static str>, UnknownRelease> {
    let r = self::release(release)?;
    let text = RELEASES.iter().find(|(name, _)| *name == r).map(|(_, t)| *t).expect("release() returns a listed release");
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect())
}

/// A scenario that names a conformance test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub feature_path: String,
    pub line: usize,
    pub scenario: String,
    /// The names it runs under, as the reports name its testcases: its own, or each example
    /// row's of a Scenario Outline (its name with the row's values put in).
    pub testcases: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Coverage {
    /// The Kubernetes release whose list this counts against (`1.32`).
    pub release: String,
    /// Each Pod-related test, with the scenarios that mirror it (none: not covered yet).
    pub tests: BTreeMap<String, Vec<Mirror>>,
    /// Comments naming a codename that is not a Pod-related conformance test of any release podspec
    /// holds a list for (`file:line: name`). A codename of another release's list (a test renamed
    /// since, or added later) is neither counted nor unknown.
    pub unknown: Vec<String>,
}

impl Coverage {
    pub fn covered(&self) -> usize {
        self.tests.values().filter(|m| !m.is_empty()).count()
    }
}

/// The `# conformance:` comments of one feature file's text, each with the scenario after it.
pub fn mirrors(feature_path: &str, text: &str) -> Vec<(String, usize, Mirror)> {
    let mut pending: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    let mut names: Option<BTreeMap<usize, Vec<String>>> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix(COMMENT) {
            pending.push((name.trim().to_string(), i + 1));
        } else if let Some(name) = t.strip_prefix("Scenario:").or_else(|| t.strip_prefix("Scenario Outline:")) {
            if pending.is_empty() {
                continue;
            }
            let scenario = name.trim().to_string();
            let testcases = names.get_or_insert_with(|| run_names(text)).get(&(i + 1)).cloned().unwrap_or_else(|| vec![scenario.clone()]);
            for (codename, comment_line) in pending.drain(..) {
                let mirror =
                    Mirror { feature_path: feature_path.into(), line: i + 1, scenario: scenario.clone(), testcases: testcases.clone() };
                out.push((codename, comment_line, mirror));
            }
        }
    }
    out
}

/// The names the scenarios of a feature's text run under, by the line of their keyword: a
/// scenario's own name, or each example row's of a Scenario Outline, expanded as the runner
/// expands it (none where the text does not parse: the run reports that).
fn run_names(text: &str) -> BTreeMap<usize, Vec<String>> {
    use cucumber::feature::Ext as _;
    use cucumber::gherkin;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Ok(feature) = gherkin::Feature::parse(text, gherkin::GherkinEnv::default()) else { return BTreeMap::new() };
    let mut out = BTreeMap::new();
    for scenario in feature.scenarios.iter().chain(feature.rules.iter().flat_map(|r| r.scenarios.iter())) {
        let alone = gherkin::Feature { scenarios: vec![scenario.clone()], rules: Vec::new(), background: None, ..feature.clone() };
        if let Ok(expanded) = alone.expand_examples() {
            out.insert(scenario.position.line, expanded.scenarios.into_iter().map(|s| s.name).collect());
        }
    }
    out
}

/// The coverage line of `conformance.txt` and the bundle's README: `N of M Pod-related
/// conformance tests of Kubernetes vR have an equivalent scenario`.
pub fn count_line(covered: usize, total: usize, release: &str) -> String {
    format!("{covered} of {total} Pod-related conformance tests of Kubernetes v{release} have an equivalent scenario")
}

/// `conformance.txt`: the release's list, each test covered (with the scenarios that mirror it)
/// or missing, after a header naming the list and the count.
pub fn listing(c: &Coverage) -> String {
    let mut out = format!("# {}\n# {}\n", list_path(&c.release), count_line(c.covered(), c.tests.len(), &c.release));
    for (test, mirrors) in &c.tests {
        if mirrors.is_empty() {
            out.push_str(&format!("missing  {test}\n"));
        }
        for m in mirrors {
            out.push_str(&format!("covered  {test}\n           by {}:{} {}\n", m.feature_path, m.line, m.scenario));
        }
    }
    out
}

/// Reads the features' comments against a release's list.
pub fn coverage(feature_files: &[(String, String)], release: &str) -> Result<Coverage, UnknownRelease> {
    let mut c = Coverage {
        release: self::release(release)?.to_string(),
        tests: pod_tests(release)?.into_iter().map(|t| (t.to_string(), Vec::new())).collect(),
        unknown: Vec::new(),
    };
    for (path, text) in feature_files {
        for (codename, comment_line, mirror) in mirrors(path, text) {
            match c.tests.get_mut(&codename) {
                Some(m) => m.push(mirror),
                None if in_any_release(&codename) => {}
                None => c.unknown.push(format!("{path}:{comment_line}: {codename}")),
            }
        }
    }
    Ok(c)
}

/// Whether a codename is in the list of any release podspec holds.
fn in_any_release(codename: &str) -> bool {
    RELEASES.iter().any(|(r, _)| pod_tests(r).map(|t| t.contains(&codename)).unwrap_or(false))
}

/// Reads the feature files found under `features`.
pub fn read_features(features: &[std::path::PathBuf]) -> Result<Vec<(String, String)>, Vec<String>> {
    let paths = crate::runner::features::find(features)?;
    let mut out = Vec::new();
    for p in paths {
        let text = crate::manifest::input::read_regular_file(&p).map_err(|e| vec![e.to_string()])?;
        out.push((display(&p), text));
    }
    Ok(out)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_names_the_scenario_after_it() {
        let text = "Feature: x\n  # conformance: [sig-node] Pods should be updated [NodeConformance] [Conformance]\n  @api-server\n  Scenario: A label change\n    Given a pod\n  Scenario: Another\n";
        let c = coverage(&[("features/x.feature".into(), text.into())], DEFAULT_RELEASE).unwrap();
        let m = &c.tests["[sig-node] Pods should be updated [NodeConformance] [Conformance]"];
        let testcases = vec!["A label change".to_string()];
        assert_eq!(m, &[Mirror { feature_path: "features/x.feature".into(), line: 4, scenario: "A label change".into(), testcases }]);
        assert_eq!(c.covered(), 1);
        assert!(c.unknown.is_empty());
    }

    /// Issue 24: every testcase of a mirroring scenario carries its codenames, so each mirror
    /// names the testcases its scenario runs as: an outline's rows, each with its values in its
    /// name, as the runner names them (the junit of a run is keyed by them).
    #[test]
    fn each_mirror_names_the_testcases_its_scenario_runs_as() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../features");
        let files = read_features(std::slice::from_ref(&root)).unwrap();
        let c = coverage(&files, DEFAULT_RELEASE).unwrap();
        let paths = crate::runner::features::find(std::slice::from_ref(&root)).unwrap();
        let (parsed, errors) = crate::runner::features::parse(&paths);
        assert!(errors.is_empty(), "{errors:?}");
        let run: std::collections::BTreeSet<(String, String)> = parsed
            .iter()
            .flat_map(|f| {
                crate::runner::features::scenarios(&f.feature).into_iter().map(|(_, s)| (f.path.display().to_string(), s.name.clone()))
            })
            .collect();
        let mut outlines = 0;
        for m in c.tests.values().flatten() {
            assert!(!m.testcases.is_empty(), "{m:?}");
            for t in &m.testcases {
                assert!(run.contains(&(m.feature_path.clone(), t.clone())), "{}:{} runs no scenario named {t:?}", m.feature_path, m.line);
            }
            if m.scenario.contains('<') {
                outlines += 1;
                assert!(m.testcases.len() > 1 && m.testcases.iter().all(|t| !t.contains('<')), "{m:?}");
            }
        }
        assert!(outlines > 0, "an outline mirrors a test");
    }

    #[test]
    fn an_unknown_codename_is_reported_with_its_line() {
        let c = coverage(&[("f.feature".into(), "  # conformance: [sig-node] Pods should fly\n  Scenario: s\n".into())], "1.32").unwrap();
        assert_eq!(c.unknown, ["f.feature:1: [sig-node] Pods should fly"]);
    }

    #[test]
    fn the_features_name_only_known_tests() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let files = read_features(&[root.join("features")]).unwrap();
        for (release, _) in RELEASES {
            let c = coverage(&files, release).unwrap();
            assert!(c.unknown.is_empty(), "{release}: {:?}", c.unknown);
            assert!(c.covered() >= 6, "{release}: {}", c.covered());
        }
        assert_eq!(pod_tests("1.32").unwrap().len(), 159);
    }

    #[test]
    fn a_release_is_named_as_its_list_names_it_and_an_unknown_one_is_refused() {
        assert_eq!(DEFAULT_RELEASE, "1.32");
        for asked in ["1.32", "v1.32", "1.32.4", " v1.32.0 "] {
            assert_eq!(release(asked), Ok("1.32"), "{asked}");
        }
        assert_eq!(release("v1.35.0"), Ok("1.35"));
        let e = release("1.34").unwrap_err();
        assert_eq!(e.to_string(), "no list of Kubernetes 1.34's Pod-related conformance tests (podspec has: 1.32, 1.35)");
        assert!(release("1.3").is_err());
        assert!(coverage(&[], "1.31").is_err());
    }

    #[test]
    fn v1_35_is_v1_32_with_twelve_tests_more_and_the_sysctl_tests_renamed() {
        let old: std::collections::BTreeSet<&str> = pod_tests("1.32").unwrap().into_iter().collect();
        let new: std::collections::BTreeSet<&str> = pod_tests("1.35").unwrap().into_iter().collect();
        assert_eq!(new.len(), 171);
        let gone: Vec<&str> = old.difference(&new).copied().collect();
        assert_eq!(gone.len(), 2, "{gone:?}");
        assert!(gone.iter().all(|t| t.contains("Sysctls") && t.contains("[MinimumKubeletVersion:1.21]")), "{gone:?}");
        let added: Vec<&str> = new.difference(&old).copied().collect();
        assert_eq!(added.len(), 14, "{added:?}");
        assert_eq!(added.iter().filter(|t| t.contains("Pod InPlace Resize")).count(), 6);
        assert_eq!(added.iter().filter(|t| t.contains("Pod Generation")).count(), 3);
        assert!(added.contains(&"[sig-node] Downward API should provide hostIPs as an env var [NodeConformance] [Conformance]"));
    }

    #[test]
    fn a_codename_of_another_release_is_neither_counted_nor_unknown() {
        let renamed =
            "[sig-node] Sysctls [LinuxOnly] [NodeConformance] should reject invalid sysctls [MinimumKubeletVersion:1.21] [Conformance]";
        let text = format!("  # conformance: {renamed}\n  Scenario: s\n");
        let c = coverage(&[("f.feature".into(), text.clone())], "1.35").unwrap();
        assert!(c.unknown.is_empty(), "{:?}", c.unknown);
        assert_eq!(c.covered(), 0);
        let c = coverage(&[("f.feature".into(), text)], "1.32").unwrap();
        assert_eq!(c.covered(), 1);
    }

    #[test]
    fn each_list_says_its_release_source_and_rule_and_names_each_test_once() {
        for (release, text) in RELEASES {
            let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
            assert_eq!(header.first().copied(), Some(format!("# Release: v{release}").as_str()), "{}", list_path(release));
            let header = header.join("\n");
            assert!(header.contains("at commit") && header.contains("conformance"), "{release}: the header names its source");
            assert!(header.contains("Rule,"), "{release}: the header says how the tests were selected");
            let tests = pod_tests(release).unwrap();
            let unique: std::collections::BTreeSet<&str> = tests.iter().copied().collect();
            assert_eq!(unique.len(), tests.len(), "{release}: a codename listed twice");
            assert!(tests.iter().all(|t| t.ends_with(']') && t.contains("[Conformance]")), "{release}");
        }
    }
}
