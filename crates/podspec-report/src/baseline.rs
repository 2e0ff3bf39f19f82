//! The baseline gate: a target's known failures, each with its reason, and the verdict of a run
//! against them.
//!
//! A baseline file (`ci/baselines/<target>.txt`) has one known failure per line:
//!
//! ```text
//! # comments and blank lines are allowed
//! features/networking.feature | Containers reach each other on localhost | pasta does not share lo
//! ```
//!
//! i.e. `<feature path> | <scenario name> | <reason>`. The reason is the rest of the line, so it
//! may itself contain `|`; the scenario name may not.
//!
//! The gate ([`evaluate`]) passes only when the run's failures are exactly the baselined ones:
//! - a failed scenario that is not in the baseline is a **new failure**;
//! - a baselined scenario that passed **now passes** (remove it from the baseline);
//! - a baselined scenario that is not among the run's scenarios, or was skipped, is **stale**.
//!
//! Parsing and evaluation do no I/O; [`read`] only reads the file.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{RunRecord, ScenarioRecord, Status};

/// A baseline: the known failures of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The file it was read from, as given (named in messages and in the reports).
    pub file: String,
    pub entries: Vec<Entry>,
}

/// One known failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Line in the baseline file.
    pub line: usize,
    pub feature_path: String,
    pub scenario: String,
    pub reason: String,
}

/// A baseline that cannot be used; every message names the file (and line).
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// One or more malformed lines, each as `FILE:LINE: what is wrong`.
    #[error("{}", .0.join("\n"))]
    Malformed(Vec<String>),
}

impl BaselineError {
    /// One message per problem (a malformed baseline has one per line).
    pub fn messages(self) -> Vec<String> {
        match self {
            BaselineError::Malformed(errors) => errors,
            other => vec![other.to_string()],
        }
    }
}

/// Reads and parses a baseline file.
pub fn read(path: impl AsRef<Path>) -> Result<Baseline, BaselineError> {
    let path = path.as_ref();
    let text = podspec_fs::read_regular(path).map_err(|source| BaselineError::Read { path: path.to_path_buf(), source })?;
    parse(&path.display().to_string(), &text)
}

/// Parses the text of a baseline file; `file` names it in messages. Every malformed line is
/// reported, not only the first.
pub fn parse(file: &str, text: &str) -> Result<Baseline, BaselineError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.splitn(3, '|').map(str::trim).collect();
        let problem = match fields.as_slice() {
            [feature, scenario, reason] if !feature.is_empty() && !scenario.is_empty() && !reason.is_empty() => {
                if !feature.ends_with(".feature") {
                    Some(format!("the first field must be a feature file path (ending in .feature), found {feature:?}"))
                } else {
                    let feature_path = normalize(feature);
                    match seen.insert((feature_path.clone(), scenario.to_string()), line) {
                        Some(first) => Some(format!("duplicate entry: {feature} | {scenario} is already on line {first}")),
                        None => {
                            entries.push(Entry { line, feature_path, scenario: scenario.to_string(), reason: reason.to_string() });
                            None
                        }
                    }
                }
            }
            [_, _, _] => Some("empty field: every field (feature path, scenario name, reason) must be given".to_string()),
            _ => Some(format!("expected `<feature path> | <scenario name> | <reason>`, found {trimmed:?}")),
        };
        if let Some(problem) = problem {
            errors.push(format!("{file}:{line}: {problem}"));
        }
    }
    if errors.is_empty() {
        Ok(Baseline { file: file.to_string(), entries })
    } else {
        Err(BaselineError::Malformed(errors))
    }
}

/// `./features/x.feature` and `features/x.feature` name the same file.
fn normalize(path: &str) -> String {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_string()
}

/// The verdict of a run against a baseline, as recorded in `report.json` (`baseline`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The baseline file.
    pub file: String,
    /// True when the run's failures are exactly the baselined ones.
    pub passed: bool,
    /// Failed, as the baseline says: each with the baseline's reason.
    pub known_failures: Vec<GateEntry>,
    /// Failed, but not in the baseline: each with the failure's message.
    pub new_failures: Vec<GateEntry>,
    /// In the baseline, but passed: remove them from the baseline.
    pub now_passing: Vec<GateEntry>,
    /// In the baseline, but not run as written (not found, or skipped): each says why.
    pub stale: Vec<GateEntry>,
    /// Passed on a retry after failing (`--retry`): the gate counts them as passed, and lists
    /// them, each with its first attempt's failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaky: Vec<GateEntry>,
}

/// A scenario named by the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateEntry {
    pub feature_path: String,
    pub scenario: String,
    /// Line of the entry in the baseline file (absent for a new failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_line: Option<usize>,
    /// The baseline's reason (absent for a new failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A new failure's message, or why an entry is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl GateEntry {
    fn of_entry(entry: &Entry, detail: Option<String>) -> Self {
        GateEntry {
            feature_path: entry.feature_path.clone(),
            scenario: entry.scenario.clone(),
            baseline_line: Some(entry.line),
            reason: Some(entry.reason.clone()),
            detail,
        }
    }
}

/// Gates a run against a baseline.
pub fn evaluate(baseline: &Baseline, record: &RunRecord) -> Verdict {
    let mut verdict = Verdict { file: baseline.file.clone(), ..Verdict::default() };
    let mut by_key: HashMap<(String, &str), Vec<&ScenarioRecord>> = HashMap::new();
    for s in &record.scenarios {
        by_key.entry((normalize(&s.feature_path), s.name.as_str())).or_default().push(s);
    }
    let features: HashSet<String> = record.scenarios.iter().map(|s| normalize(&s.feature_path)).collect();
    let mut baselined: HashMap<(String, &str), &Entry> = HashMap::new();
    for entry in &baseline.entries {
        baselined.insert((entry.feature_path.clone(), entry.scenario.as_str()), entry);
        let found = by_key.get(&(entry.feature_path.clone(), entry.scenario.as_str())).map(Vec::as_slice).unwrap_or_default();
        if found.is_empty() {
            let why = if features.contains(&entry.feature_path) {
                format!("no scenario {:?} in {} in this run", entry.scenario, entry.feature_path)
            } else {
                format!("no feature {} in this run", entry.feature_path)
            };
            verdict.stale.push(GateEntry::of_entry(entry, Some(why)));
        } else if found.iter().any(|s| s.status == Status::Failed) {
            verdict.known_failures.push(GateEntry::of_entry(entry, None));
        } else if found.iter().all(|s| s.status == Status::Skipped) {
            let why = found[0].reason.as_deref().map(|r| format!("skipped: {r}")).unwrap_or_else(|| "skipped".to_string());
            verdict.stale.push(GateEntry::of_entry(entry, Some(why)));
        } else {
            verdict.now_passing.push(GateEntry::of_entry(entry, None));
        }
    }
    for s in record.scenarios.iter().filter(|s| s.status == Status::Failed) {
        if !baselined.contains_key(&(normalize(&s.feature_path), s.name.as_str())) {
            verdict.new_failures.push(GateEntry {
                feature_path: s.feature_path.clone(),
                scenario: s.name.clone(),
                baseline_line: None,
                reason: None,
                detail: s.reason.clone().or_else(|| s.failure.as_ref().map(|f| f.message.clone())),
            });
        }
    }
    for s in record.scenarios.iter().filter(|s| s.status == Status::Flaky) {
        let key = (normalize(&s.feature_path), s.name.as_str());
        let first =
            s.attempts.first().map(|f| format!("attempt 1 failed at line {}: {}", f.step_line, f.message.lines().next().unwrap_or("")));
        let detail = Some(format!("passed on attempt {} of {}; {}", s.attempts.len() + 1, s.attempts.len() + 1, first.unwrap_or_default()));
        verdict.flaky.push(match baselined.get(&key) {
            Some(entry) => GateEntry::of_entry(entry, detail),
            None => GateEntry { feature_path: s.feature_path.clone(), scenario: s.name.clone(), baseline_line: None, reason: None, detail },
        });
    }
    verdict.passed = verdict.new_failures.is_empty() && verdict.now_passing.is_empty() && verdict.stale.is_empty();
    verdict
}

/// Gates the run and records the verdict in it (`record.baseline`).
pub fn apply(baseline: &Baseline, record: &mut RunRecord) -> Verdict {
    let verdict = evaluate(baseline, record);
    record.baseline = Some(verdict.clone());
    verdict
}

impl Verdict {
    /// The baseline's reason when `scenario` is a known failure.
    pub fn known_failure(&self, scenario: &ScenarioRecord) -> Option<&str> {
        let path = normalize(&scenario.feature_path);
        self.known_failures.iter().find(|e| e.feature_path == path && e.scenario == scenario.name).and_then(|e| e.reason.as_deref())
    }

    /// `3 known failures, 1 new failure, 0 now passing, 0 stale` (and `, 1 flaky` when a
    /// scenario passed on a retry).
    pub fn counts(&self) -> String {
        let mut counts = format!(
            "{} known failure{}, {} new failure{}, {} now passing, {} stale",
            self.known_failures.len(),
            plural(self.known_failures.len()),
            self.new_failures.len(),
            plural(self.new_failures.len()),
            self.now_passing.len(),
            self.stale.len()
        );
        if !self.flaky.is_empty() {
            counts.push_str(&format!(", {} flaky (counted as passed)", self.flaky.len()));
        }
        counts
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl fmt::Display for Verdict {
    /// The gate summary printed after a run: the verdict, then one line per problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = if self.passed { "PASSED" } else { "FAILED" };
        writeln!(f, "baseline {}: {word}: {}", self.file, self.counts())?;
        for e in &self.new_failures {
            writeln!(f, "  new failure: {} | {}: {}", e.feature_path, e.scenario, e.detail.as_deref().unwrap_or("failed"))?;
        }
        for e in &self.now_passing {
            writeln!(
                f,
                "  now passes, remove it from the baseline ({}:{}): {} | {}",
                self.file,
                e.baseline_line.unwrap_or(0),
                e.feature_path,
                e.scenario
            )?;
        }
        for e in &self.stale {
            writeln!(
                f,
                "  stale entry ({}:{}): {} | {}: {}",
                self.file,
                e.baseline_line.unwrap_or(0),
                e.feature_path,
                e.scenario,
                e.detail.as_deref().unwrap_or("")
            )?;
        }
        for e in &self.flaky {
            writeln!(f, "  flaky, counted as passed: {} | {}: {}", e.feature_path, e.scenario, e.detail.as_deref().unwrap_or(""))?;
        }
        for e in &self.known_failures {
            writeln!(f, "  known failure: {} | {}: {}", e.feature_path, e.scenario, e.reason.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{evaluate, parse, BaselineError};
    use crate::{Failure, RunRecord, ScenarioRecord, Status};

    const FILE: &str = "ci/baselines/podman.txt";

    fn scenario(path: &str, name: &str, status: Status) -> ScenarioRecord {
        ScenarioRecord {
            feature: "F".into(),
            feature_path: path.into(),
            name: name.into(),
            line: 3,
            tags: vec![],
            status,
            reason: match status {
                Status::Passed | Status::Flaky => None,
                Status::Failed => Some("it broke".into()),
                Status::Skipped => Some("target podman has no access to the node".into()),
            },
            duration_ms: 1,
            attempts: vec![],
            manifest_changes: vec![],
            failure: (status == Status::Failed).then(|| Failure::new("Then x", 4, "it broke")),
        }
    }

    fn run(scenarios: Vec<ScenarioRecord>) -> RunRecord {
        let t: jiff::Timestamp = "2025-01-15T10:00:00Z".parse().unwrap();
        RunRecord::new("podman", "0.1.0", t, t, "sha", scenarios)
    }

    fn malformed(text: &str) -> Vec<String> {
        match parse(FILE, text) {
            Err(BaselineError::Malformed(errors)) => errors,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn parses_entries_comments_and_blank_lines() {
        let text = "# podman's known failures\n\nfeatures/ipc.feature | SysV shm is shared | runs with --ipc=private | really\n  ./features/a.feature|B|c  \n";
        let b = parse(FILE, text).unwrap();
        assert_eq!(b.file, FILE);
        assert_eq!(b.entries.len(), 2);
        assert_eq!(b.entries[0].line, 3);
        assert_eq!(b.entries[0].feature_path, "features/ipc.feature");
        assert_eq!(b.entries[0].scenario, "SysV shm is shared");
        assert_eq!(b.entries[0].reason, "runs with --ipc=private | really");
        assert_eq!((b.entries[1].line, b.entries[1].feature_path.as_str(), b.entries[1].reason.as_str()), (4, "features/a.feature", "c"));
    }

    #[test]
    fn a_malformed_line_is_named_by_file_and_line() {
        let errors = malformed("# ok\nfeatures/a.feature | only two\n\nfeatures/a.feature |  | why\nnot-a-feature | x | y\n");
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("ci/baselines/podman.txt:2: expected `<feature path> | <scenario name> | <reason>`"), "{errors:?}");
        assert!(errors[1].starts_with("ci/baselines/podman.txt:4: empty field"), "{errors:?}");
        assert!(errors[2].starts_with("ci/baselines/podman.txt:5: the first field must be a feature file path"), "{errors:?}");
        let errors = malformed("features/a.feature | s | r\nfeatures/a.feature | s | other\n");
        assert_eq!(errors, vec!["ci/baselines/podman.txt:2: duplicate entry: features/a.feature | s is already on line 1"]);
    }

    #[test]
    fn exactly_the_baselined_failures_pass_the_gate() {
        let b = parse(FILE, "features/a.feature | broken | known bug\n").unwrap();
        let v = evaluate(
            &b,
            &run(vec![scenario("features/a.feature", "broken", Status::Failed), scenario("features/a.feature", "fine", Status::Passed)]),
        );
        assert!(v.passed, "{v}");
        assert_eq!(v.known_failures.len(), 1);
        assert_eq!(v.known_failures[0].reason.as_deref(), Some("known bug"));
        assert_eq!(v.counts(), "1 known failure, 0 new failures, 0 now passing, 0 stale");
    }

    #[test]
    fn a_failure_not_in_the_baseline_is_new() {
        let b = parse(FILE, "").unwrap();
        let v = evaluate(&b, &run(vec![scenario("features/a.feature", "broken", Status::Failed)]));
        assert!(!v.passed);
        assert_eq!(v.new_failures.len(), 1);
        assert_eq!(v.new_failures[0].scenario, "broken");
        assert_eq!(v.new_failures[0].detail.as_deref(), Some("it broke"));
        assert!(v.to_string().contains("new failure: features/a.feature | broken: it broke"), "{v}");
    }

    #[test]
    fn a_baselined_scenario_that_passes_must_be_removed() {
        let b = parse(FILE, "\nfeatures/a.feature | fixed | was broken\n").unwrap();
        let v = evaluate(&b, &run(vec![scenario("features/a.feature", "fixed", Status::Passed)]));
        assert!(!v.passed);
        assert_eq!(v.now_passing.len(), 1);
        assert!(
            v.to_string().contains("now passes, remove it from the baseline (ci/baselines/podman.txt:2): features/a.feature | fixed"),
            "{v}"
        );
    }

    #[test]
    fn a_baselined_scenario_not_found_or_skipped_is_stale() {
        let b = parse(FILE, "features/a.feature | renamed | x\nfeatures/gone.feature | any | y\nfeatures/a.feature | needs node | z\n")
            .unwrap();
        let v = evaluate(
            &b,
            &run(vec![
                scenario("features/a.feature", "fine", Status::Passed),
                scenario("features/a.feature", "needs node", Status::Skipped),
            ]),
        );
        assert!(!v.passed);
        let why: Vec<&str> = v.stale.iter().map(|e| e.detail.as_deref().unwrap()).collect();
        assert_eq!(
            why,
            vec![
                "no scenario \"renamed\" in features/a.feature in this run",
                "no feature features/gone.feature in this run",
                "skipped: target podman has no access to the node",
            ]
        );
        assert!(v.to_string().contains("stale entry (ci/baselines/podman.txt:2): features/gone.feature | any"), "{v}");
    }

    #[test]
    fn the_verdict_names_known_failures() {
        let b = parse(FILE, "./features/a.feature | broken | known bug\n").unwrap();
        let r = run(vec![scenario("features/a.feature", "broken", Status::Failed)]);
        let v = evaluate(&b, &r);
        assert_eq!(v.known_failure(&r.scenarios[0]), Some("known bug"));
    }
}
