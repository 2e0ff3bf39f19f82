//! The conformance matrix: behaviours (scenarios, grouped by feature) by targets, built from
//! several runs, one per target. Types and building only, no I/O; [`super::matrix_html`] and
//! [`super::matrix_md`] write it out.
//!
//! - Rows: a scenario is the same behaviour in two runs when its feature path and its name are
//!   the same (the n-th scenario of that name in a feature matches the n-th in the other run).
//!   Features and scenarios keep the order in which the runs first list them.
//! - Columns: one per run, named after its target; two runs of the same target are told apart by
//!   their report's directory.
//! - Cells: passed, failed (with the failure, its diff and a link to the scenario's section in
//!   that run's `report.md`), skipped (with the reason), or not run (absent from that run).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use super::{markdown, RunRecord, ScenarioRecord, Status, Summary, MARKDOWN_FILE};

/// File name of the HTML matrix.
pub const HTML_FILE: &str = "matrix.html";
/// File name of the Markdown matrix.
pub const MARKDOWN_MATRIX_FILE: &str = "matrix.md";

/// One run given to [`build`]: its record and where its `report.json` is.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub record: &'a RunRecord,
    /// Path of the run's `report.json`; its `report.md` is beside it. Absolute, or relative to
    /// the same directory as `out_dir`, so relative links can be made between them.
    pub report: &'a Path,
}

/// The matrix of several runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub columns: Vec<Column>,
    pub features: Vec<FeatureRows>,
    /// The distinct skip reasons, in order of first appearance; a skipped cell's `note` is its
    /// index here plus one.
    pub skip_notes: Vec<String>,
    /// True when every run ran the same feature files (same SHA-256).
    pub same_features: bool,
}

/// A run, as a column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The target's name, or `target (DIR)` when several runs have that target.
    pub label: String,
    pub target: String,
    /// What the run ran on, from its report's target identity (`containerd 1.6.20 / crun 1.8.1`).
    pub identity: Option<String>,
    /// Relative link (URL path) from the matrix's directory to the run's `report.md`.
    pub markdown_link: String,
    pub summary: Summary,
    /// Rows of the matrix that this run does not have.
    pub not_run: usize,
    pub started: jiff::Timestamp,
    pub podspec_version: String,
    pub features_sha256: String,
    /// The baseline gate's outcome (`Some(true)`: passed) when the run was gated.
    pub baseline: Option<BaselineOutcome>,
}

/// The baseline gate of a run, in short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineOutcome {
    pub file: String,
    pub passed: bool,
    /// `N known failures, N new failures, N now passing, N stale`.
    pub counts: String,
}

/// The scenarios of one feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureRows {
    pub name: String,
    pub path: String,
    pub rows: Vec<Row>,
}

/// One behaviour: a scenario, and its outcome in each run (one cell per column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The scenario's name; a second scenario of the same name in the feature reads `NAME (2)`.
    pub scenario: String,
    pub cells: Vec<Cell>,
}

/// The outcome of a scenario in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Passed,
    /// Failed, then passed on a retry (`--retry`): never shown as plainly passed.
    Flaky {
        /// The attempt it passed on (2 or more).
        passed_on: usize,
        /// The first attempt's failure, in one line.
        first_failure: String,
    },
    Failed(Box<FailedCell>),
    Skipped {
        reason: String,
        note: usize,
    },
    /// The run has no such scenario.
    NotRun,
}

/// A failed scenario in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCell {
    /// 1, 2, ... over the whole matrix, row by row; the failure's anchor is `failure-N`.
    pub number: usize,
    /// Line of the scenario in that run's feature file.
    pub line: usize,
    /// The failing step with its keyword, and its line.
    pub step: Option<(String, usize)>,
    /// What went wrong (the failure's message, or the scenario's reason).
    pub message: String,
    /// Unified diff expected -> actual, when the failure is a mismatch of values.
    pub diff: Option<String>,
    /// The expected and actual values when there is no diff to show.
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// Relative link to the scenario's section in that run's `report.md`.
    pub link: String,
    /// The baseline's reason, when this is a known failure of the target.
    pub known: Option<String>,
    /// Whether the run was gated against a baseline: then a failure that is not known is new.
    pub gated: bool,
}

impl FailedCell {
    /// A failure the run's baseline does not list (only when the run was gated).
    pub fn is_new(&self) -> bool {
        self.gated && self.known.is_none()
    }
}

impl FailedCell {
    /// The in-page anchor of the failure's details.
    pub fn anchor(&self) -> String {
        format!("failure-{}", self.number)
    }
}

impl Cell {
    /// `passed`, `flaky`, `failed`, `skipped` or `not run`.
    pub fn word(&self) -> &'static str {
        match self {
            Cell::Passed => "passed",
            Cell::Flaky { .. } => "flaky",
            Cell::Failed(_) => "failed",
            Cell::Skipped { .. } => "skipped",
            Cell::NotRun => "not run",
        }
    }
}

/// A failure in the matrix with where it is: feature, scenario and column.
#[derive(Debug, Clone, Copy)]
pub struct Located<'a> {
    pub feature: &'a FeatureRows,
    pub row: &'a Row,
    pub column: &'a Column,
    pub failure: &'a FailedCell,
}

impl Matrix {
    /// Number of rows (behaviours).
    pub fn behaviours(&self) -> usize {
        self.features.iter().map(|f| f.rows.len()).sum()
    }

    /// The failed cells of one feature, row by row.
    pub fn failures_of<'a>(&'a self, feature: &'a FeatureRows) -> Vec<Located<'a>> {
        let mut found = Vec::new();
        for row in &feature.rows {
            for (cell, column) in row.cells.iter().zip(&self.columns) {
                if let Cell::Failed(failure) = cell {
                    found.push(Located { feature, row, column, failure });
                }
            }
        }
        found
    }

    /// Every failed cell, feature by feature.
    pub fn failures(&self) -> Vec<Located<'_>> {
        self.features.iter().flat_map(|f| self.failures_of(f)).collect()
    }

    /// The skip notes used in one feature, as (note, reason), in order of first use.
    pub fn notes_of(&self, feature: &FeatureRows) -> Vec<(usize, &str)> {
        let mut notes: Vec<usize> = Vec::new();
        for row in &feature.rows {
            for cell in &row.cells {
                if let Cell::Skipped { note, .. } = cell {
                    if !notes.contains(note) {
                        notes.push(*note);
                    }
                }
            }
        }
        notes.into_iter().map(|n| (n, self.skip_notes[n - 1].as_str())).collect()
    }
}

/// Where the matrix goes when no directory is given: the deepest directory that holds every
/// report (for `reports/reference/report.json` and `reports/podman/report.json`: `reports`).
/// The paths should be absolute (or all relative to the same directory).
pub fn default_out_dir(reports: &[&Path]) -> PathBuf {
    let mut dirs = reports.iter().map(|r| r.parent().unwrap_or(Path::new("")).to_path_buf());
    let Some(first) = dirs.next() else { return PathBuf::from(".") };
    let common = dirs.fold(first, |common, dir| {
        common.components().zip(dir.components()).take_while(|(a, b)| a == b).map(|(a, _)| a).collect::<PathBuf>()
    });
    if common.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        common
    }
}

/// The relative path from directory `from` to `to`, both absolute (or relative to the same
/// directory), with `.` and `..` already resolved. `None` when no relative path exists (one is
/// absolute and the other is not).
pub fn relative_path(from: &Path, to: &Path) -> Option<PathBuf> {
    if from.is_absolute() != to.is_absolute() {
        return None;
    }
    let from: Vec<Component> = from.components().filter(|c| *c != Component::CurDir).collect();
    let to: Vec<Component> = to.components().filter(|c| *c != Component::CurDir).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for c in &to[common..] {
        rel.push(c);
    }
    Some(rel)
}

/// A path as the path of a relative URL: `/` between components, anything but unreserved
/// characters percent-encoded (so spaces, `#`, `?` and parentheses survive in links).
pub fn url_path(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .map(|c| {
            let text = c.as_os_str().to_string_lossy();
            let mut out = String::new();
            for b in text.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        })
        .collect();
    parts.join("/")
}

/// `containerd 1.6.20 / crun 1.8.1`: the runtime's name and version and, where the report names
/// one, the OCI runtime beneath it; None when the report names no runtime.
pub fn short_identity(identity: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let name = identity.get("runtime_name").filter(|n| !n.is_empty())?;
    let mut s = match identity.get("runtime_version").filter(|v| !v.is_empty()) {
        Some(v) => format!("{name} {v}"),
        None => name.clone(),
    };
    if let Some(oci) = identity.get("oci_runtime").filter(|o| !o.is_empty()) {
        s.push_str(&format!(" / {oci}"));
    }
    Some(s)
}

/// Builds the matrix of `runs`, whose files will be written into `out_dir` (links are made
/// relative to it).
pub fn build(runs: &[Run<'_>], out_dir: &Path) -> Matrix {
    let labels = labels(runs, out_dir);
    let mut columns: Vec<Column> = Vec::with_capacity(runs.len());
    for (run, label) in runs.iter().zip(labels) {
        let dir = run.report.parent().unwrap_or(Path::new(""));
        let markdown = dir.join(MARKDOWN_FILE);
        let markdown_link = relative_path(out_dir, &markdown).map(|p| url_path(&p)).unwrap_or_else(|| url_path(&markdown));
        columns.push(Column {
            label,
            target: run.record.target.clone(),
            identity: short_identity(&run.record.target_identity),
            markdown_link,
            summary: run.record.summary,
            not_run: 0,
            started: run.record.started,
            podspec_version: run.record.podspec_version.clone(),
            features_sha256: run.record.features_sha256.clone(),
            baseline: run.record.baseline.as_ref().map(|v| BaselineOutcome { file: v.file.clone(), passed: v.passed, counts: v.counts() }),
        });
    }

    // Rows: (feature path, scenario name, occurrence) in order of first appearance.
    type RowKey = (String, String, usize);
    let mut features: Vec<FeatureRows> = Vec::new();
    let mut feature_index: HashMap<String, usize> = HashMap::new();
    let mut row_index: HashMap<RowKey, (usize, usize)> = HashMap::new();
    let mut placed: Vec<Vec<(usize, usize, &ScenarioRecord)>> = Vec::with_capacity(runs.len());
    for run in runs {
        let mut occurrences: HashMap<(&str, &str), usize> = HashMap::new();
        let mut here = Vec::with_capacity(run.record.scenarios.len());
        for s in &run.record.scenarios {
            let n = occurrences.entry((s.feature_path.as_str(), s.name.as_str())).or_insert(0);
            *n += 1;
            let key: RowKey = (s.feature_path.clone(), s.name.clone(), *n);
            let f = *feature_index.entry(s.feature_path.clone()).or_insert_with(|| {
                features.push(FeatureRows { name: s.feature.clone(), path: s.feature_path.clone(), rows: Vec::new() });
                features.len() - 1
            });
            let (f, r) = *row_index.entry(key).or_insert_with(|| {
                let scenario = if *n == 1 { s.name.clone() } else { format!("{} ({n})", s.name) };
                features[f].rows.push(Row { scenario, cells: vec![Cell::NotRun; runs.len()] });
                (f, features[f].rows.len() - 1)
            });
            here.push((f, r, s));
        }
        placed.push(here);
    }

    // Cells, row by row, so failures and notes are numbered in reading order.
    let mut by_position: HashMap<(usize, usize, usize), &ScenarioRecord> = HashMap::new();
    for (c, here) in placed.iter().enumerate() {
        for &(f, r, s) in here {
            by_position.insert((f, r, c), s);
        }
    }
    let mut skip_notes: Vec<String> = Vec::new();
    let mut failures = 0;
    for (f, feature) in features.iter_mut().enumerate() {
        for (r, row) in feature.rows.iter_mut().enumerate() {
            for (c, column) in columns.iter_mut().enumerate() {
                let Some(s) = by_position.get(&(f, r, c)) else {
                    column.not_run += 1;
                    continue;
                };
                row.cells[c] = match s.status {
                    Status::Passed => Cell::Passed,
                    Status::Flaky => Cell::Flaky {
                        passed_on: s.attempts.len() + 1,
                        first_failure: s
                            .attempts
                            .first()
                            .map(|f| format!("attempt 1 failed at line {}: {}", f.step_line, f.message.lines().next().unwrap_or("")))
                            .unwrap_or_default(),
                    },
                    Status::Skipped => {
                        let reason = s.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()).unwrap_or("no reason given").to_string();
                        let note = match skip_notes.iter().position(|n| *n == reason) {
                            Some(i) => i + 1,
                            None => {
                                skip_notes.push(reason.clone());
                                skip_notes.len()
                            }
                        };
                        Cell::Skipped { reason, note }
                    }
                    Status::Failed => {
                        failures += 1;
                        Cell::Failed(Box::new(failed_cell(failures, s, runs[c].record, &column.markdown_link)))
                    }
                };
            }
        }
    }
    let same_features = runs.windows(2).all(|w| w[0].record.features_sha256 == w[1].record.features_sha256);
    Matrix { columns, features, skip_notes, same_features }
}

fn failed_cell(number: usize, s: &ScenarioRecord, record: &RunRecord, markdown_link: &str) -> FailedCell {
    let failure = s.failure.as_ref();
    let message = failure
        .map(|f| f.message.trim().to_string())
        .filter(|m| !m.is_empty())
        .or_else(|| s.reason.clone())
        .unwrap_or_else(|| "no details recorded".to_string());
    let diff = failure.and_then(|f| f.diff_text());
    let (expected, actual) = match (failure, &diff) {
        (Some(f), None) => (f.expected.clone(), f.actual.clone()),
        _ => (None, None),
    };
    FailedCell {
        number,
        line: s.line,
        step: failure.map(|f| (f.step.clone(), f.step_line)),
        message,
        diff,
        expected,
        actual,
        link: format!("{markdown_link}#{}", markdown::failure_anchor(s)),
        known: record.known_failure(s).map(str::to_string),
        gated: record.baseline.is_some(),
    }
}

/// Column labels: the target's name, told apart by the report's directory (or file) when
/// several runs share it.
fn labels(runs: &[Run<'_>], out_dir: &Path) -> Vec<String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for run in runs {
        *count.entry(run.record.target.as_str()).or_default() += 1;
    }
    let shown = |p: &Path| -> String {
        let rel = relative_path(out_dir, p).unwrap_or_else(|| p.to_path_buf());
        if rel.as_os_str().is_empty() {
            ".".to_string()
        } else {
            rel.display().to_string()
        }
    };
    let dirs: Vec<String> = runs.iter().map(|r| shown(r.report.parent().unwrap_or(Path::new("")))).collect();
    runs.iter()
        .enumerate()
        .map(|(i, run)| {
            let target = &run.record.target;
            if count[target.as_str()] < 2 {
                return target.clone();
            }
            let same_dir = runs.iter().enumerate().any(|(j, other)| j != i && other.record.target == *target && dirs[j] == dirs[i]);
            let place = if same_dir { shown(run.report) } else { dirs[i].clone() };
            format!("{target} ({place})")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{build, default_out_dir, relative_path, url_path, Cell, Run};
    use crate::{Failure, RunRecord, ScenarioRecord, Status};

    fn scenario(path: &str, name: &str, line: usize, status: Status) -> ScenarioRecord {
        ScenarioRecord {
            feature: path.trim_start_matches("features/").trim_end_matches(".feature").into(),
            feature_path: path.into(),
            name: name.into(),
            line,
            tags: vec![],
            status,
            reason: match status {
                Status::Passed | Status::Flaky => None,
                Status::Failed => Some("mismatch".into()),
                Status::Skipped => Some("needs the node".into()),
            },
            duration_ms: 1,
            failure: (status == Status::Failed).then(|| Failure::new("Then x", line + 1, "mismatch").with_mismatch("a", "b")),
            attempts: if status == Status::Flaky { vec![Failure::new("Then x", line + 1, "first time")] } else { vec![] },
            manifest_changes: vec![],
        }
    }

    fn run(target: &str, scenarios: Vec<ScenarioRecord>) -> RunRecord {
        let t: jiff::Timestamp = "2025-01-15T10:00:00Z".parse().unwrap();
        RunRecord::new(target, "0.1.0", t, t, "sha", scenarios)
    }

    #[test]
    fn rows_match_by_feature_path_and_name_and_absent_ones_are_not_run() {
        let a = run(
            "reference",
            vec![
                scenario("features/net.feature", "one", 3, Status::Passed),
                scenario("features/net.feature", "two", 8, Status::Skipped),
                scenario("features/ipc.feature", "shm", 3, Status::Passed),
            ],
        );
        let b = run(
            "podman",
            vec![
                scenario("features/net.feature", "two", 9, Status::Failed),
                scenario("features/net.feature", "one", 4, Status::Passed),
                scenario("features/net.feature", "three", 12, Status::Skipped),
            ],
        );
        let m = build(
            &[
                Run { record: &a, report: Path::new("/r/reference/report.json") },
                Run { record: &b, report: Path::new("/r/podman/report.json") },
            ],
            Path::new("/r"),
        );
        let labels: Vec<&str> = m.columns.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["reference", "podman"]);
        assert_eq!(m.features.len(), 2);
        let net = &m.features[0];
        let names: Vec<&str> = net.rows.iter().map(|r| r.scenario.as_str()).collect();
        assert_eq!(names, ["one", "two", "three"]);
        assert_eq!(net.rows[0].cells, vec![Cell::Passed, Cell::Passed]);
        assert_eq!(net.rows[1].cells[0], Cell::Skipped { reason: "needs the node".into(), note: 1 });
        let Cell::Failed(f) = &net.rows[1].cells[1] else { panic!("{:?}", net.rows[1].cells[1]) };
        assert_eq!(f.number, 1);
        assert_eq!(f.link, "podman/report.md#failure-features-net-feature-9");
        assert_eq!(f.diff.as_deref(), Some("--- expected\n+++ actual\n@@ -1 +1 @@\n-a\n+b\n"));
        assert_eq!(net.rows[2].cells, vec![Cell::NotRun, Cell::Skipped { reason: "needs the node".into(), note: 1 }]);
        assert_eq!(m.features[1].rows[0].cells, vec![Cell::Passed, Cell::NotRun]);
        assert_eq!((m.columns[0].not_run, m.columns[1].not_run), (1, 1));
        assert_eq!(m.skip_notes, ["needs the node"]);
        assert_eq!(m.failures().len(), 1);
        assert!(m.same_features);
        assert_eq!(m.behaviours(), 4);
    }

    #[test]
    fn two_runs_of_one_target_are_told_apart_by_directory() {
        let a = run("reference", vec![]);
        let b = run("reference", vec![]);
        let c = run("podman", vec![]);
        let m = build(
            &[
                Run { record: &a, report: Path::new("/r/monday/report.json") },
                Run { record: &b, report: Path::new("/r/tuesday/report.json") },
                Run { record: &c, report: Path::new("/r/podman/report.json") },
            ],
            Path::new("/r"),
        );
        let labels: Vec<&str> = m.columns.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["reference (monday)", "reference (tuesday)", "podman"]);
        let m = build(
            &[Run { record: &a, report: Path::new("/r/a.json") }, Run { record: &b, report: Path::new("/r/b.json") }],
            Path::new("/r"),
        );
        let labels: Vec<&str> = m.columns.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["reference (a.json)", "reference (b.json)"]);
        assert_eq!(m.columns[0].markdown_link, "report.md");
    }

    #[test]
    fn a_repeated_scenario_name_gets_its_own_row() {
        let a = run(
            "x",
            vec![scenario("features/a.feature", "same", 3, Status::Passed), scenario("features/a.feature", "same", 9, Status::Failed)],
        );
        let m = build(&[Run { record: &a, report: Path::new("/r/report.json") }], Path::new("/r"));
        let names: Vec<&str> = m.features[0].rows.iter().map(|r| r.scenario.as_str()).collect();
        assert_eq!(names, ["same", "same (2)"]);
    }

    #[test]
    fn paths_and_links() {
        assert_eq!(default_out_dir(&[Path::new("/r/reference/report.json"), Path::new("/r/podman/report.json")]), PathBuf::from("/r"));
        assert_eq!(default_out_dir(&[Path::new("/r/reference/report.json")]), PathBuf::from("/r/reference"));
        assert_eq!(default_out_dir(&[Path::new("report.json")]), PathBuf::from("."));
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/c/d")), Some(PathBuf::from("../c/d")));
        assert_eq!(relative_path(Path::new("/a"), Path::new("/a/x")), Some(PathBuf::from("x")));
        assert_eq!(relative_path(Path::new("/a"), Path::new("x")), None);
        assert_eq!(url_path(Path::new("../my runs/a#1/report.md")), "../my%20runs/a%231/report.md");
    }
}
