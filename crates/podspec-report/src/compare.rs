//! Two runs of the same features compared scenario by scenario: the scenarios that passed and
//! those skipped must be the same in both, except for the differences a file lists with their
//! reasons (lines of `<feature path> | <scenario name> | <reason>`, as a baseline). Used to hold
//! `--target kube` against `podspec serve` to `--target reference`.

use std::collections::{BTreeMap, BTreeSet};

use super::baseline::Baseline;
use super::{RunRecord, Status};

/// How two runs differ, and whether each difference is explained.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Scenarios whose status differs and that the file lists: (scenario, expected status, other status, reason).
    pub explained: Vec<String>,
    /// Scenarios whose status differs and that the file does not list.
    pub unexplained: Vec<String>,
    /// Entries of the file for scenarios whose status does not differ (or that neither run has).
    pub stale: Vec<String>,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.unexplained.is_empty() && self.stale.is_empty()
    }
}

fn status(s: Option<Status>) -> &'static str {
    match s {
        Some(Status::Passed) => "passed",
        Some(Status::Flaky) => "flaky",
        Some(Status::Failed) => "failed",
        Some(Status::Skipped) => "skipped",
        None => "not run",
    }
}

/// Compares `other` with `reference`: every scenario must have the same status in both (passed
/// with passed, skipped with skipped), unless `differences` lists it.
pub fn compare(reference: &RunRecord, other: &RunRecord, differences: &Baseline) -> Comparison {
    let statuses = |r: &RunRecord| -> BTreeMap<(String, String), Status> {
        // A flaky scenario passed in the end: it compares as passed.
        let compared = |s: Status| if s == Status::Flaky { Status::Passed } else { s };
        r.scenarios.iter().map(|s| ((s.feature_path.trim_start_matches("./").to_string(), s.name.clone()), compared(s.status))).collect()
    };
    let (a, b) = (statuses(reference), statuses(other));
    let listed: BTreeMap<(String, String), &str> = differences
        .entries
        .iter()
        .map(|e| ((e.feature_path.trim_start_matches("./").to_string(), e.scenario.clone()), e.reason.as_str()))
        .collect();
    let keys: BTreeSet<&(String, String)> = a.keys().chain(b.keys()).collect();
    let mut c = Comparison::default();
    for key in keys {
        let (sa, sb) = (a.get(key).copied(), b.get(key).copied());
        let line = format!("{} | {}: {} on {}, {} on {}", key.0, key.1, status(sa), reference.target, status(sb), other.target);
        match (sa == sb, listed.get(key)) {
            (true, None) => {}
            (true, Some(_)) => c.stale.push(format!("{line} (listed as a difference, but there is none)")),
            (false, Some(reason)) => c.explained.push(format!("{line}: {reason}")),
            (false, None) => c.unexplained.push(line),
        }
    }
    for (key, _) in listed.iter().filter(|(k, _)| !a.contains_key(*k) && !b.contains_key(*k)) {
        c.stale.push(format!("{} | {}: in neither run", key.0, key.1));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Entry;
    use crate::ScenarioRecord;

    fn run(target: &str, scenarios: &[(&str, Status)]) -> RunRecord {
        let records = scenarios
            .iter()
            .enumerate()
            .map(|(i, (name, status))| ScenarioRecord {
                feature: "F".into(),
                feature_path: "features/f.feature".into(),
                name: name.to_string(),
                line: i + 1,
                tags: vec![],
                status: *status,
                reason: None,
                duration_ms: 0,
                attempts: vec![],
                manifest_changes: vec![],
                failure: None,
            })
            .collect();
        RunRecord::new(target, "0", jiff::Timestamp::now(), jiff::Timestamp::now(), "x", records)
    }

    fn listed(entries: &[(&str, &str)]) -> Baseline {
        Baseline {
            file: "d.txt".into(),
            entries: entries
                .iter()
                .enumerate()
                .map(|(i, (s, r))| Entry {
                    line: i + 1,
                    feature_path: "features/f.feature".into(),
                    scenario: s.to_string(),
                    reason: r.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn equal_runs_compare_equal() {
        let a = run("reference", &[("a", Status::Passed), ("b", Status::Skipped)]);
        let b = run("kube", &[("a", Status::Passed), ("b", Status::Skipped)]);
        assert!(compare(&a, &b, &listed(&[])).passed());
    }

    #[test]
    fn a_difference_must_be_listed_and_a_listed_one_must_exist() {
        let a = run("reference", &[("a", Status::Passed), ("b", Status::Passed)]);
        let b = run("kube", &[("a", Status::Skipped), ("b", Status::Passed)]);
        let c = compare(&a, &b, &listed(&[]));
        assert_eq!(c.unexplained, ["features/f.feature | a: passed on reference, skipped on kube"]);
        let c = compare(&a, &b, &listed(&[("a", "no node access through the API"), ("b", "stale")]));
        assert_eq!(c.explained, ["features/f.feature | a: passed on reference, skipped on kube: no node access through the API"]);
        assert_eq!(c.stale.len(), 1);
        assert!(!c.passed());
    }
}
