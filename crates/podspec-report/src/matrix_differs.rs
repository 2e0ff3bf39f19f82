//! The matrix's answer to a runtime author's question, "what does my runtime do differently?":
//! of two chosen runs (columns of a [`Matrix`]), the scenarios whose outcome differs (passed in
//! one and failed in the other, skipped in one only, run by one only), each with both cells side
//! by side: the failure's message and diff under the run that failed. Written as
//! `differs.html` and `differs.md` beside the matrix (`podspec matrix --differs RUN_A RUN_B`).
//!
//! Outcomes are compared as passed (a flaky pass counts as passed), failed, skipped and not run.
//! A scenario that fails in both runs differs when it fails at another step, or with another
//! diff (or message where there is none) once what names each run's own objects is masked: its
//! namespace (`podspec-<pid>-<n>`), IPv4 addresses, UIDs, 64-hex IDs and times. So a runtime
//! that fails a scenario otherwise than runc does is one row of the view, both diffs side by
//! side, and two runs that fail alike (runc and crun under podman's kube play) show nothing.

use std::fmt::Write as _;
use std::path::Path;

use super::markdown::{cell, code, fenced, inline};
use super::matrix::{Cell, Column, FailedCell, Matrix};
use super::matrix_html::esc;
use super::{write_file, ReportError};

/// File name of the HTML view.
pub const HTML_FILE: &str = "differs.html";
/// File name of the Markdown view.
pub const MARKDOWN_FILE: &str = "differs.md";

/// One scenario whose outcome differs between the two runs.
#[derive(Debug, Clone, Copy)]
pub struct Differing<'a> {
    pub feature: &'a str,
    pub feature_path: &'a str,
    pub scenario: &'a str,
    pub a: &'a Cell,
    pub b: &'a Cell,
}

/// The outcome a cell stands for, for comparing (a flaky pass is a pass).
fn outcome(c: &Cell) -> &'static str {
    match c {
        Cell::Passed | Cell::Flaky { .. } => "passed",
        Cell::Failed(_) => "failed",
        Cell::Skipped { .. } => "skipped",
        Cell::NotRun => "not run",
    }
}

/// A failure's text with what names its run's own objects masked (see the module's header).
fn masked(text: &str) -> String {
    static RUN_OWN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"podspec-[0-9]+-[0-9]+",
            // A run's ID (pid, milliseconds, count: podman's io.podspec.run annotation, the
            // state directory) and its owner (pid and start time: io.podspec.owner).
            r"|\b[0-9]+-[0-9]{13}(-[0-9]+)?\b",
            r"|io\.podspec\.owner=[0-9]+:[0-9]+",
            // podman's infra container, named by its pod's short ID.
            r"|\b[0-9a-f]{12}-infra\b",
            r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?",
            r"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            r"|\b[0-9a-f]{64}\b",
            r"|\b[0-9]{1,3}(\.[0-9]{1,3}){3}\b",
        ))
        .expect("a valid pattern")
    });
    RUN_OWN.replace_all(text, "<run's own>").into_owned()
}

/// Whether two failures differ: another step, or another diff (another message where there is
/// no diff) once each run's own names are masked.
fn fail_otherwise(a: &FailedCell, b: &FailedCell) -> bool {
    let text = |f: &FailedCell| masked(f.diff.as_deref().unwrap_or(&f.message));
    a.step != b.step || text(a) != text(b)
}

/// Whether the two cells differ: another outcome, or failures that differ.
fn cells_differ(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Failed(fa), Cell::Failed(fb)) => fail_otherwise(fa, fb),
        _ => outcome(a) != outcome(b),
    }
}

/// The scenarios whose outcome differs between columns `a` and `b`, or that fail in both
/// otherwise, in the matrix's order.
pub fn differing(m: &Matrix, a: usize, b: usize) -> Vec<Differing<'_>> {
    let mut found = Vec::new();
    for f in &m.features {
        for row in &f.rows {
            let (ca, cb) = (&row.cells[a], &row.cells[b]);
            if cells_differ(ca, cb) {
                found.push(Differing { feature: &f.name, feature_path: &f.path, scenario: &row.scenario, a: ca, b: cb });
            }
        }
    }
    found
}

/// A column's name with what it ran on, as its report names it (`cri (reports/cri-crun):
/// containerd 1.6.20 / crun 1.8.1`).
pub fn column_title(c: &Column) -> String {
    match &c.identity {
        Some(identity) => format!("{}: {identity}", c.label),
        None => c.label.clone(),
    }
}

/// The Markdown view of columns `a` and `b`.
pub fn render_md(m: &Matrix, a: usize, b: usize) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = md_into(&mut md, m, a, b);
    md
}

fn md_into(md: &mut String, m: &Matrix, a: usize, b: usize) -> std::fmt::Result {
    let (ta, tb) = (column_title(&m.columns[a]), column_title(&m.columns[b]));
    let rows = differing(m, a, b);
    writeln!(md, "# Where {} and {} differ", inline(&ta), inline(&tb))?;
    writeln!(md)?;
    writeln!(
        md,
        "{} of {} behaviours have a different outcome in the two runs (passed, failed, skipped or not run), or fail in both otherwise (at another step, or with another diff).",
        rows.len(),
        m.behaviours()
    )?;
    if !m.same_features {
        writeln!(md)?;
        writeln!(md, "**Note:** the runs did not run the same feature files (their SHA-256 differ); compare with care.")?;
    }
    if rows.is_empty() {
        writeln!(md)?;
        writeln!(md, "Every scenario has the same outcome in both runs, and fails alike where it fails in both.")?;
        return Ok(());
    }
    writeln!(md)?;
    writeln!(md, "| Feature | Scenario | {} | {} |", cell(&code(&m.columns[a].label)), cell(&code(&m.columns[b].label)))?;
    writeln!(md, "| --- | --- | --- | --- |")?;
    for d in &rows {
        writeln!(md, "| {} | {} | {} | {} |", cell(d.feature), cell(d.scenario), outcome(d.a), outcome(d.b))?;
    }
    for d in &rows {
        writeln!(md)?;
        writeln!(md, "## {}: {}", inline(d.feature), inline(d.scenario))?;
        writeln!(md)?;
        writeln!(md, "`{}`", d.feature_path)?;
        for (title, c) in [(&ta, d.a), (&tb, d.b)] {
            writeln!(md)?;
            writeln!(md, "**{}**: {}", inline(title), outcome(c))?;
            md_cell(md, c)?;
        }
    }
    Ok(())
}

fn md_cell(md: &mut String, c: &Cell) -> std::fmt::Result {
    match c {
        Cell::Failed(f) => {
            writeln!(md)?;
            if let Some(reason) = &f.known {
                writeln!(md, "Known failure: {}", inline(reason))?;
                writeln!(md)?;
            }
            if let Some((step, line)) = &f.step {
                writeln!(md, "Step {} (line {line}); [report.md]({})", code(step), f.link)?;
                writeln!(md)?;
            }
            match &f.diff {
                Some(diff) => fenced(md, "diff", diff)?,
                None => fenced(md, "text", &f.message)?,
            }
        }
        Cell::Skipped { reason, .. } => {
            writeln!(md)?;
            writeln!(md, "Skipped: {}", inline(reason))?;
        }
        Cell::Flaky { first_failure, .. } => {
            writeln!(md)?;
            writeln!(md, "Flaky: {}", inline(first_failure))?;
        }
        Cell::Passed | Cell::NotRun => {}
    }
    Ok(())
}

/// The HTML view of columns `a` and `b`: one self-contained page, the two runs' cells side by
/// side.
pub fn render_html(m: &Matrix, a: usize, b: usize) -> String {
    let mut h = String::new();
    // Writing to a String cannot fail.
    let _ = html_into(&mut h, m, a, b);
    h
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#111}\
table{border-collapse:collapse;width:100%;table-layout:fixed}\
th,td{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}\
td pre{white-space:pre-wrap;word-break:break-word;margin:.3em 0;font-size:.85em}\
.passed{background:#e6f4ea}.failed{background:#fde8e8}.skipped{background:#f1f1f1}.notrun{background:#fafafa}\
.add{color:#0a6b2b}.del{color:#a11}.path{color:#555;font-size:.85em}";

fn html_into(h: &mut String, m: &Matrix, a: usize, b: usize) -> std::fmt::Result {
    let (ta, tb) = (column_title(&m.columns[a]), column_title(&m.columns[b]));
    let rows = differing(m, a, b);
    writeln!(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")?;
    writeln!(h, "<title>podspec: where {} and {} differ</title>", esc(&ta), esc(&tb))?;
    writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>")?;
    writeln!(h, "<h1>Where <code>{}</code> and <code>{}</code> differ</h1>", esc(&ta), esc(&tb))?;
    writeln!(
        h,
        "<p>{} of {} behaviours have a different outcome in the two runs (passed, failed, skipped or not run), or fail in both otherwise (at another step, or with another diff).</p>",
        rows.len(),
        m.behaviours()
    )?;
    if !m.same_features {
        writeln!(
            h,
            "<p><strong>Note:</strong> the runs did not run the same feature files (their SHA-256 differ); compare with care.</p>"
        )?;
    }
    if rows.is_empty() {
        writeln!(h, "<p>Every scenario has the same outcome in both runs, and fails alike where it fails in both.</p>")?;
    } else {
        writeln!(h, "<table>")?;
        writeln!(
            h,
            "<thead><tr><th scope=\"col\" style=\"width:22%\">Scenario</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>",
            esc(&ta),
            esc(&tb)
        )?;
        writeln!(h, "<tbody>")?;
        for d in &rows {
            write!(h, "<tr><th scope=\"row\">{}<br><span class=\"path\">{}</span></th>", esc(d.scenario), esc(d.feature_path))?;
            html_cell(h, d.a)?;
            html_cell(h, d.b)?;
            writeln!(h, "</tr>")?;
        }
        writeln!(h, "</tbody>\n</table>")?;
    }
    writeln!(h, "</body>\n</html>")
}

fn html_cell(h: &mut String, c: &Cell) -> std::fmt::Result {
    let class = outcome(c).replace(' ', "");
    write!(h, "<td class=\"{class}\"><strong>{}</strong>", outcome(c))?;
    match c {
        Cell::Failed(f) => {
            if let Some(reason) = &f.known {
                write!(h, "<br>known failure: {}", esc(reason))?;
            }
            if let Some((step, line)) = &f.step {
                write!(h, "<br><code>{}</code> (line {line}) <a href=\"{}\">report.md</a>", esc(step), esc(&f.link))?;
            }
            write!(h, "<pre>")?;
            match &f.diff {
                Some(diff) => {
                    for line in diff.lines() {
                        let class = if line.starts_with('+') && !line.starts_with("+++") {
                            "add"
                        } else if line.starts_with('-') && !line.starts_with("---") {
                            "del"
                        } else {
                            "ctx"
                        };
                        writeln!(h, "<span class=\"{class}\">{}</span>", esc(line))?;
                    }
                }
                None => write!(h, "{}", esc(&f.message))?,
            }
            write!(h, "</pre>")?;
        }
        Cell::Skipped { reason, .. } => write!(h, "<br>{}", esc(reason))?,
        Cell::Flaky { first_failure, .. } => write!(h, "<br>flaky: {}", esc(first_failure))?,
        Cell::Passed | Cell::NotRun => {}
    }
    write!(h, "</td>")
}

/// Writes `differs.html` and `differs.md` into `dir`; returns their paths.
pub fn write(m: &Matrix, a: usize, b: usize, dir: &Path) -> Result<(std::path::PathBuf, std::path::PathBuf), ReportError> {
    let (html, md) = (dir.join(HTML_FILE), dir.join(MARKDOWN_FILE));
    write_file(&html, render_html(m, a, b).as_bytes())?;
    write_file(&md, render_md(m, a, b).as_bytes())?;
    Ok((html, md))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::matrix::{build, Run};
    use crate::{Failure, RunRecord, ScenarioRecord, Status};

    fn scenario(name: &str, status: Status, actual: &str) -> ScenarioRecord {
        ScenarioRecord {
            feature: "net".into(),
            feature_path: "features/net.feature".into(),
            name: name.into(),
            line: 3,
            tags: vec![],
            status,
            reason: match status {
                Status::Failed => Some("mismatch".into()),
                Status::Skipped => Some("needs the node".into()),
                _ => None,
            },
            duration_ms: 1,
            failure: (status == Status::Failed).then(|| Failure::new("Then x", 4, "mismatch").with_mismatch("0755", actual)),
            attempts: vec![],
            manifest_changes: vec![],
        }
    }

    fn run(target: &str, identity: &[(&str, &str)], scenarios: Vec<ScenarioRecord>) -> RunRecord {
        let t: jiff::Timestamp = "2025-01-15T10:00:00Z".parse().unwrap();
        let mut r = RunRecord::new(target, "0.1.0", t, t, "sha", scenarios);
        r.target_identity = identity.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        r
    }

    #[test]
    fn a_run_s_own_names_are_masked_and_nothing_else() {
        let a = masked("pod podspec-4242-7/web at 10.89.0.14 uid 0f8c2b8e-1a2b-4c3d-9e8f-0123456789ab since 2026-12-07T12:00:01.5Z");
        let b = masked("pod podspec-99-12/web at 10.89.3.2 uid 7a6b5c4d-1111-2222-3333-444455556666 since 2026-12-07T13:10:00Z");
        assert_eq!(a, b);
        // podman's command line names the run and its owner; the state directory the run.
        let a = masked("`podman kube play --annotation io.podspec.run=1759-1796653311046 --annotation io.podspec.owner=1759:608163 -` exited 125 in /run/podspec/runs/14854-1796651762668-0/x");
        let b = masked("`podman kube play --annotation io.podspec.run=30601-1796653902912 --annotation io.podspec.owner=30601:667382 -` exited 125 in /run/podspec/runs/7-1796651769999-12/x");
        assert_eq!(a, b);
        let a = masked("10.89.0.42\tagnhost-host-aliases 2bb412c29ad3-infra");
        let b = masked("10.89.0.228\tagnhost-host-aliases 3e433a772063-infra");
        assert_eq!(a, b);
        assert_ne!(masked("mode 0700, exit code 1"), masked("mode 0777, exit code 2"));
        assert_ne!(masked("restartCount 3"), masked("restartCount 4"));
    }

    #[test]
    fn only_scenarios_with_another_outcome_are_shown_with_both_diffs() {
        let runc = run(
            "cri",
            &[("runtime_name", "containerd"), ("runtime_version", "1.6.20"), ("oci_runtime", "runc 1.1.5")],
            vec![
                scenario("same pass", Status::Passed, ""),
                scenario("same failure", Status::Failed, "10.89.0.7 in podspec-11-1"),
                scenario("crun fails", Status::Passed, ""),
                scenario("runc fails", Status::Failed, "0711"),
                scenario("skipped by runc", Status::Skipped, ""),
                scenario("fails otherwise", Status::Failed, "0700"),
                scenario("fails at another step", Status::Failed, "0700"),
            ],
        );
        let crun = run(
            "cri",
            &[("runtime_name", "containerd"), ("runtime_version", "1.6.20"), ("oci_runtime", "crun 1.8.1")],
            vec![
                scenario("same pass", Status::Passed, ""),
                scenario("same failure", Status::Failed, "10.89.1.3 in podspec-12-4"),
                scenario("crun fails", Status::Failed, "1777"),
                scenario("runc fails", Status::Passed, ""),
                scenario("skipped by runc", Status::Passed, ""),
                scenario("fails otherwise", Status::Failed, "0777"),
                {
                    let mut s = scenario("fails at another step", Status::Failed, "0700");
                    s.failure = Some(Failure::new("Then y", 5, "mismatch").with_mismatch("0755", "0700"));
                    s
                },
            ],
        );
        let m = build(
            &[
                Run { record: &runc, report: Path::new("/r/cri/report.json") },
                Run { record: &crun, report: Path::new("/r/cri-crun/report.json") },
            ],
            Path::new("/r"),
        );
        let names: Vec<&str> = differing(&m, 0, 1).iter().map(|d| d.scenario).collect();
        assert_eq!(names, ["crun fails", "runc fails", "skipped by runc", "fails otherwise", "fails at another step"]);
        assert_eq!(column_title(&m.columns[1]), "cri (cri-crun): containerd 1.6.20 / crun 1.8.1");

        let md = render_md(&m, 0, 1);
        assert!(md.contains("5 of 7 behaviours"), "{md}");
        assert!(md.contains("| net | crun fails | passed | failed |"), "{md}");
        assert!(md.contains("-0755\n+1777"), "{md}");
        assert!(md.contains("-0755\n+0711"), "{md}");
        // Failing in both runs, otherwise: both diffs.
        assert!(md.contains("| net | fails otherwise | failed | failed |"), "{md}");
        assert!(md.contains("-0755\n+0700") && md.contains("-0755\n+0777"), "{md}");
        assert!(md.contains("Step `Then y` (line 5)"), "{md}");
        // Failing alike but for the run's own names: not shown.
        assert!(!md.contains("same failure") && !md.contains("10.89.0.7"), "{md}");
        assert!(md.contains("Skipped: needs the node"), "{md}");

        let html = render_html(&m, 0, 1);
        let row = html.split("<tr>").find(|r| r.contains("crun fails")).unwrap();
        // Both runs' cells in one row: runc's pass beside crun's diff.
        assert!(row.contains("<td class=\"passed\"><strong>passed</strong></td><td class=\"failed\">"), "{row}");
        assert!(row.contains("<span class=\"add\">+1777</span>"), "{row}");
        let row = html.split("<tr>").find(|r| r.contains("fails otherwise")).unwrap();
        assert!(row.contains("<span class=\"add\">+0700</span>") && row.contains("<span class=\"add\">+0777</span>"), "{row}");
        assert!(!html.contains("same failure"), "{html}");

        let same = render_md(&m, 0, 0);
        assert!(same.contains("Every scenario has the same outcome"), "{same}");
    }
}
