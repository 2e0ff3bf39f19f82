//! Coverage of Kubernetes' Pod-related conformance tests (`fixtures/conformance/pod-tests.txt`):
//! a scenario that mirrors one names its codename in a comment above it,
//! `# conformance: <codename>`. `podspec list --conformance` prints what is covered.

use std::collections::BTreeMap;
use std::path::Path;

/// The Pod-related conformance tests, one codename a line.
pub const POD_TESTS: &str = include_str!("../../fixtures/conformance/pod-tests.txt");
/// The comment that names a mirrored test.
pub const COMMENT: &str = "# conformance: ";

/// The codenames of the Pod-related conformance tests.
pub fn pod_tests() -> Vec<&'static str> {
    POD_TESTS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

/// A scenario that names a conformance test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub feature_path: String,
    pub line: usize,
    pub scenario: String,
}

#[derive(Debug, Default)]
pub struct Coverage {
    /// Each Pod-related test, with the scenarios that mirror it (none: not covered yet).
    pub tests: BTreeMap<String, Vec<Mirror>>,
    /// Comments naming a codename that is not a Pod-related conformance test (`file:line: name`).
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
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(name) = t.strip_prefix(COMMENT) {
            pending.push((name.trim().to_string(), i + 1));
        } else if let Some(name) = t.strip_prefix("Scenario:").or_else(|| t.strip_prefix("Scenario Outline:")) {
            for (codename, comment_line) in pending.drain(..) {
                out.push((codename, comment_line, Mirror { feature_path: feature_path.into(), line: i + 1, scenario: name.trim().into() }));
            }
        }
    }
    out
}

/// Reads the features' comments against the list.
pub fn coverage(feature_files: &[(String, String)]) -> Coverage {
    let mut c = Coverage { tests: pod_tests().into_iter().map(|t| (t.to_string(), Vec::new())).collect(), unknown: Vec::new() };
    for (path, text) in feature_files {
        for (codename, comment_line, mirror) in mirrors(path, text) {
            match c.tests.get_mut(&codename) {
                Some(m) => m.push(mirror),
                None => c.unknown.push(format!("{path}:{comment_line}: {codename}")),
            }
        }
    }
    c
}

/// Reads the feature files found under `features`.
pub fn read_features(features: &[std::path::PathBuf]) -> Result<Vec<(String, String)>, Vec<String>> {
    let paths = crate::runner::features::find(features)?;
    let mut out = Vec::new();
    for p in paths {
        let text = crate::manifest::input::read_regular_file(&p).map_err(|e| vec![e])?;
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
        let c = coverage(&[("features/x.feature".into(), text.into())]);
        let m = &c.tests["[sig-node] Pods should be updated [NodeConformance] [Conformance]"];
        assert_eq!(m, &[Mirror { feature_path: "features/x.feature".into(), line: 4, scenario: "A label change".into() }]);
        assert_eq!(c.covered(), 1);
        assert!(c.unknown.is_empty());
    }

    #[test]
    fn an_unknown_codename_is_reported_with_its_line() {
        let c = coverage(&[("f.feature".into(), "  # conformance: [sig-node] Pods should fly\n  Scenario: s\n".into())]);
        assert_eq!(c.unknown, ["f.feature:1: [sig-node] Pods should fly"]);
    }

    #[test]
    fn the_features_name_only_known_tests() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = read_features(&[root.join("features")]).unwrap();
        let c = coverage(&files);
        assert!(c.unknown.is_empty(), "{:?}", c.unknown);
        assert!(c.covered() >= 6, "{}", c.covered());
        assert!(pod_tests().len() > 90);
    }
}
