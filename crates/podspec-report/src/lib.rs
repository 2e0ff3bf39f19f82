//! Reports of a podspec run.
//!
//! A run is recorded as one [`RunRecord`] (types only, no I/O) and written out
//! by one module per format:
//!
//! - [`junit`]: `junit.xml`, for CI systems;
//! - [`json`]: `report.json`, machine-readable, read back by [`json::read`];
//! - [`markdown`]: `report.md`, for a person.
//!
//! [`write_all`] writes all three into a directory.
//!
//! Beside them: [`baseline`] gates a run against a target's known failures, and [`matrix`]
//! builds the conformance matrix of several runs, written by [`matrix_html`] and [`matrix_md`];
//! [`time`] writes a run's times as report.json has them.
//!
//! This crate needs nothing else of podspec's (only `podspec-fs`, to read a baseline or a
//! report): `podspec gate` and `podspec matrix` are this crate over its inputs. The `podspec`
//! crate has it as `podspec::report`.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub mod baseline;
pub mod compare;
pub mod diff;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod matrix_differs;
pub mod matrix_html;
pub mod matrix_md;
pub mod time;

#[cfg(test)]
mod tests;

/// File name of the JUnit report written by [`write_all`].
pub const JUNIT_FILE: &str = "junit.xml";
/// File name of the JSON report written by [`write_all`].
pub const JSON_FILE: &str = "report.json";
/// File name of the Markdown report written by [`write_all`].
pub const MARKDOWN_FILE: &str = "report.md";

/// Everything a run produced: what was run, against what, and each scenario's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub target: String,
    /// What identifies the target's system beyond its name (a CRI runtime's name, version and
    /// endpoint).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub target_identity: std::collections::BTreeMap<String, String>,
    pub podspec_version: String,
    #[serde(with = "time")]
    pub started: Timestamp,
    #[serde(with = "time")]
    pub finished: Timestamp,
    /// Hex SHA-256 of the features that were run.
    pub features_sha256: String,
    pub scenarios: Vec<ScenarioRecord>,
    /// Counts over `scenarios`; see [`RunRecord::summarize`].
    pub summary: Summary,
    /// The verdict of the baseline gate, when the run was gated (`--baseline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<baseline::Verdict>,
    /// Why the run stopped before its end (a signal, or `--fail-fast`); the scenarios it did
    /// not reach are skipped with a reason that starts with `not run:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    /// Every change the target made to what the scenarios wrote (e.g. an image it sent instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_changes: Vec<String>,
    /// What a scenario's clean-up could not remove (a pod, a namespace, a static pod manifest),
    /// each as `feature:line: what: why`; `podspec clean` is the way to remove it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_behind: Vec<String>,
    /// The earlier run this one completes (`--rerun-failed`): it ran only that run's failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reruns: Option<Reruns>,
}

/// The earlier run a rerun completes (`--rerun-failed REPORT.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reruns {
    /// The earlier report's path, as given.
    pub report: String,
    /// When the earlier run started.
    #[serde(with = "time")]
    pub started: Timestamp,
    /// How many of its scenarios failed (and so were to run again).
    pub failed: usize,
}

impl fmt::Display for Reruns {
    /// `<path> (started <time>, <n> failed)`, as report.md and junit.xml name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (started {:.0}, {} failed)", self.report, self.started, self.failed)
    }
}

/// The result of one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioRecord {
    /// The Feature's name.
    pub feature: String,
    /// Path of the feature file, e.g. `features/networking.feature`.
    pub feature_path: String,
    /// The Scenario's name.
    pub name: String,
    /// Line of the Scenario keyword in the feature file.
    pub line: usize,
    /// Tags, without the leading `@`.
    #[serde(default)]
    pub tags: Vec<String>,
    pub status: Status,
    /// Why the scenario was skipped, or a one-line summary of its failure.
    #[serde(default)]
    pub reason: Option<String>,
    pub duration_ms: u64,
    #[serde(default)]
    pub failure: Option<Failure>,
    /// The failures of the attempts before the last one (`--retry`), in order: a scenario that
    /// passed after them is `flaky`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Failure>,
    /// Each change the target made to a manifest this scenario sent, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifest_changes: Vec<String>,
}

/// Why a scenario failed: the failing step and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The step's text with its keyword, e.g. `Then the output of "exec" in container "b" is "hello"`.
    pub step: String,
    /// Line of the step in the feature file.
    pub step_line: usize,
    pub message: String,
    /// The expected value, when the failure is a mismatch of values.
    #[serde(default)]
    pub expected: Option<String>,
    /// The actual value, when the failure is a mismatch of values.
    #[serde(default)]
    pub actual: Option<String>,
    /// Unified diff expected -> actual (see [`diff::unified`]).
    #[serde(default)]
    pub diff: Option<String>,
}

/// Counts of scenarios by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Summary {
    pub passed: usize,
    /// Passed on a retry after failing (`--retry`); not counted in `passed`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flaky: usize,
    pub failed: usize,
    pub skipped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Outcome of a scenario; serialized as `"passed"`, `"flaky"`, `"failed"` or `"skipped"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    /// Failed, then passed on a retry (`--retry`): the failed attempts are its `attempts`. A
    /// run with flaky scenarios succeeds, but never reports them as plainly passed.
    Flaky,
    Failed,
    Skipped,
}

/// An error while writing or reading a report; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create report directory {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot write report {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read report {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot encode JSON report {}: {source}", path.display())]
    JsonEncode { path: PathBuf, source: serde_json::Error },
    #[error("invalid JSON report {}: {source}", path.display())]
    JsonDecode { path: PathBuf, source: serde_json::Error },
    #[error("cannot render JUnit report {}: {source}", path.display())]
    Junit { path: PathBuf, source: io::Error },
}

impl ReportError {
    /// The file (or directory) the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ReportError::CreateDir { path, .. }
            | ReportError::Write { path, .. }
            | ReportError::Read { path, .. }
            | ReportError::JsonEncode { path, .. }
            | ReportError::JsonDecode { path, .. }
            | ReportError::Junit { path, .. } => path,
        }
    }
}

/// Paths of the reports written by [`write_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenReports {
    pub junit: PathBuf,
    pub json: PathBuf,
    pub markdown: PathBuf,
}

/// Writes `junit.xml`, `report.json` and `report.md` into `dir`, creating it if needed.
pub fn write_all(record: &RunRecord, dir: impl AsRef<Path>) -> Result<WrittenReports, ReportError> {
    let dir = dir.as_ref();
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir { path: dir.to_path_buf(), source })?;
    let written = WrittenReports { junit: dir.join(JUNIT_FILE), json: dir.join(JSON_FILE), markdown: dir.join(MARKDOWN_FILE) };
    junit::write(record, &written.junit)?;
    json::write(record, &written.json)?;
    markdown::write(record, &written.markdown)?;
    Ok(written)
}

/// Writes `contents` to `path` atomically (a file beside it, then renamed over it), naming the
/// path in the error: a reader sees the old report or the new one, never half of one.
pub(crate) fn write_file(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write { path: path.to_path_buf(), source };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, contents).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// Checks, before anything runs, that `dir` is (or can be made) a directory podspec can write
/// in, and removes the reports an earlier run left there, so that CI never reads them as this
/// run's.
pub fn prepare_dir(dir: &Path) -> Result<(), ReportError> {
    if let Some(file) = dir.ancestors().find(|a| !a.as_os_str().is_empty() && a.exists() && !a.is_dir()) {
        let source = io::Error::new(io::ErrorKind::NotADirectory, format!("{} is not a directory", file.display()));
        return Err(ReportError::CreateDir { path: dir.to_path_buf(), source });
    }
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir { path: dir.to_path_buf(), source })?;
    let probe = dir.join(format!(".podspec-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|source| ReportError::CreateDir { path: dir.to_path_buf(), source })?;
    let _ = std::fs::remove_file(&probe);
    for name in [JUNIT_FILE, JSON_FILE, MARKDOWN_FILE] {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(ReportError::Write { path: dir.join(name), source: e });
            }
            _ => {}
        }
    }
    Ok(())
}

impl RunRecord {
    /// A record whose `summary` is computed from `scenarios`.
    pub fn new(
        target: impl Into<String>,
        podspec_version: impl Into<String>,
        started: Timestamp,
        finished: Timestamp,
        features_sha256: impl Into<String>,
        scenarios: Vec<ScenarioRecord>,
    ) -> Self {
        let summary = Summary::of(&scenarios);
        RunRecord {
            target: target.into(),
            target_identity: Default::default(),
            podspec_version: podspec_version.into(),
            started,
            finished,
            features_sha256: features_sha256.into(),
            scenarios,
            summary,
            baseline: None,
            interrupted: None,
            target_changes: Vec::new(),
            reruns: None,
            left_behind: Vec::new(),
        }
    }

    /// The baseline's reason when the run was gated and `scenario` is a known failure.
    pub fn known_failure(&self, scenario: &ScenarioRecord) -> Option<&str> {
        self.baseline.as_ref().and_then(|v| v.known_failure(scenario))
    }

    /// Recomputes `summary` from `scenarios`, stores it and returns it.
    pub fn summarize(&mut self) -> Summary {
        self.summary = Summary::of(&self.scenarios);
        self.summary
    }

    /// Wall-clock duration of the run in milliseconds (0 if `finished` is before `started`).
    pub fn duration_ms(&self) -> u64 {
        let ms = self.finished.duration_since(self.started).as_millis();
        u64::try_from(ms).unwrap_or(0)
    }

    /// The run's wall time against its longest inherent wait, the longest scenario that ran:
    /// however many scenarios run at once, no run of them is shorter than that one. `None` when
    /// no scenario ran.
    pub fn timing(&self) -> Option<String> {
        let longest = self.scenarios.iter().filter(|s| s.status != Status::Skipped).max_by_key(|s| s.duration_ms)?;
        let secs = |ms: u64| ms as f64 / 1000.0;
        Some(format!(
            "wall time {:.1} s; its longest inherent wait, the longest scenario: {:.1} s ({}:{} {})",
            secs(self.duration_ms()),
            secs(longest.duration_ms),
            terminal_safe(&longest.feature_path),
            longest.line,
            terminal_safe(&longest.name)
        ))
    }

    /// True when no scenario failed.
    pub fn is_success(&self) -> bool {
        self.summary.failed == 0
    }

    /// The scenarios grouped by feature (same feature name and file), in order of
    /// first appearance; scenarios keep their order within a feature.
    pub fn features(&self) -> Vec<FeatureGroup<'_>> {
        let mut groups: Vec<FeatureGroup<'_>> = Vec::new();
        let mut index: HashMap<(&str, &str), usize> = HashMap::new();
        for scenario in &self.scenarios {
            let key = (scenario.feature.as_str(), scenario.feature_path.as_str());
            let i = *index.entry(key).or_insert_with(|| {
                groups.push(FeatureGroup {
                    name: &scenario.feature,
                    path: &scenario.feature_path,
                    scenarios: Vec::new(),
                    summary: Summary::default(),
                });
                groups.len() - 1
            });
            let group = &mut groups[i];
            group.scenarios.push(scenario);
            group.summary.count(scenario.status);
        }
        groups
    }
}

/// The scenarios of one feature, borrowed from a [`RunRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureGroup<'a> {
    pub name: &'a str,
    pub path: &'a str,
    pub scenarios: Vec<&'a ScenarioRecord>,
    pub summary: Summary,
}

impl FeatureGroup<'_> {
    /// Sum of the scenarios' durations in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.scenarios.iter().fold(0u64, |sum, s| sum.saturating_add(s.duration_ms))
    }
}

impl Summary {
    /// Counts the scenarios by status.
    pub fn of(scenarios: &[ScenarioRecord]) -> Self {
        let mut summary = Summary::default();
        for scenario in scenarios {
            summary.count(scenario.status);
        }
        summary
    }

    fn count(&mut self, status: Status) {
        match status {
            Status::Passed => self.passed += 1,
            Status::Flaky => self.flaky += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
        }
    }

    /// Number of scenarios counted.
    pub fn total(&self) -> usize {
        self.passed + self.flaky + self.failed + self.skipped
    }
}

impl fmt::Display for Summary {
    /// `N passed, N failed, N skipped`, with `N flaky` after the passed ones when there are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, ", self.passed)?;
        if self.flaky > 0 {
            write!(f, "{} flaky (passed on a retry), ", self.flaky)?;
        }
        write!(f, "{} failed, {} skipped", self.failed, self.skipped)
    }
}

impl Status {
    /// `"passed"`, `"flaky"`, `"failed"` or `"skipped"`, as in the JSON report.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Flaky => "flaky",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Failure {
    /// A failure of `step` (at `step_line`) that is not a mismatch of values.
    pub fn new(step: impl Into<String>, step_line: usize, message: impl Into<String>) -> Self {
        Failure { step: step.into(), step_line, message: message.into(), expected: None, actual: None, diff: None }
    }

    /// Records the mismatched values and their diff (expected -> actual).
    pub fn with_mismatch(mut self, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        let (expected, actual) = (expected.into(), actual.into());
        self.diff = Some(diff::unified(&expected, &actual));
        self.expected = Some(expected);
        self.actual = Some(actual);
        self
    }

    /// The stored diff, or one made from `expected` and `actual` when both are
    /// present but no diff was stored. `None` when there is nothing to show.
    pub fn diff_text(&self) -> Option<String> {
        match (&self.diff, &self.expected, &self.actual) {
            (Some(diff), _, _) if !diff.is_empty() => Some(diff.clone()),
            (_, Some(expected), Some(actual)) => Some(diff::unified(expected, actual)).filter(|d| !d.is_empty()),
            _ => None,
        }
    }
}

/// `text` on one line: line breaks (and the blanks around them) become one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split(['\n', '\r']).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// `text` safe to print on a terminal: every control character (ESC, CR, BEL, ...) but the
/// newline is shown as a visible `\u{..}` escape, so a scenario name or step text cannot move
/// the cursor, recolour or rewrite what was printed.
pub fn terminal_safe(text: &str) -> String {
    visible_chars(text, |c| c == '\n' || !c.is_control())
}

/// `text` with every character that `keep` refuses replaced by a visible
/// `\u{..}` escape (e.g. the ESC of terminal colours in captured output).
pub(crate) fn visible_chars(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if keep(c) {
            out.push(c);
        } else {
            out.extend(c.escape_unicode());
        }
    }
    out
}
