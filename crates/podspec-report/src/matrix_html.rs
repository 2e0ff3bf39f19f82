//! The HTML matrix (`matrix.html`): one self-contained page (inline CSS, no scripts, nothing
//! fetched) with the runs' counts, then per feature a table of scenarios by targets and each
//! failure of that feature with its diff. Every cell says what it is in words and a symbol, so
//! the page reads without colour; a skipped cell shows its reason.

use std::fmt::Write as _;
use std::path::Path;

use super::matrix::{Cell, FailedCell, Matrix};
use super::{visible_chars, write_file, ReportError};

/// The HTML matrix.
pub fn render(matrix: &Matrix) -> String {
    let mut html = String::new();
    // Writing to a String cannot fail.
    let _ = render_into(&mut html, matrix);
    html
}

/// Writes the HTML matrix to `path`.
pub fn write(matrix: &Matrix, path: impl AsRef<Path>) -> Result<(), ReportError> {
    write_file(path.as_ref(), render(matrix).as_bytes())
}

const STYLE: &str = r#"
:root { color-scheme: light; --pass-bg: #e3f4e6; --pass: #14532d; --fail-bg: #fde4e1; --fail: #8a1c10;
  --skip-bg: #fdf3d7; --skip: #6b4e00; --none-bg: #eef0f2; --none: #4b5563; --line: #d5d9de; --muted: #57606a; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328;
  background: #fff; margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1200px; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .2rem; padding-top: .6rem; border-top: 1px solid var(--line); }
h2 .path { display: block; font-size: .8rem; font-weight: 400; margin-top: .15rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
p { margin: .4rem 0; }
.muted, .path { color: var(--muted); }
code, pre, .path { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .88em; }
a { color: #0a58ca; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; }
th, td { border: 1px solid var(--line); padding: .4rem .6rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
table.runs td, table.runs th { overflow-wrap: normal; }
thead th { background: #f6f8fa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.matrix { table-layout: fixed; }
table.matrix th[scope=row], table.matrix thead th:first-child { font-weight: 500; width: 36%; }
table.matrix thead th:first-child { font-weight: 600; }
.cell { font-weight: 600; overflow-wrap: anywhere; }
.word { white-space: nowrap; }
.cell .new { font-weight: 700; text-transform: uppercase; letter-spacing: .02em; }
.cell .why { display: block; font-weight: 400; font-size: .86em; margin-top: .15rem; }
.cell .more { font-weight: 400; font-size: .86em; }
.passed { background: var(--pass-bg); color: var(--pass); }
.failed { background: var(--fail-bg); color: var(--fail); }
.failed a { color: var(--fail); }
.skipped { background: var(--skip-bg); color: var(--skip); }
.flaky { background: #fff8e5; color: #7d4e00; }
.notrun { background: var(--none-bg); color: var(--none); font-weight: 400; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .3rem; font-weight: 600; }
.legend span { margin-right: .4rem; }
.note { border-left: 4px solid #d4a72c; background: #fff8e5; padding: .5rem .8rem; }
.failure { border: 1px solid var(--line); border-left: 4px solid var(--fail); border-radius: .3rem;
  padding: .2rem 1rem .8rem; margin: .8rem 0; }
.failure h3 { margin-top: .6rem; }
.failure dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0; }
.failure dt { font-weight: 600; }
.failure dd { margin: 0; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: .3rem; padding: .6rem .8rem;
  overflow-x: auto; white-space: pre-wrap; word-break: break-word; margin: .4rem 0; }
pre .del { background: #ffebe9; color: #82071e; display: block; }
pre .add { background: #dafbe1; color: #116329; display: block; }
pre .hunk { color: #6639ba; display: block; }
pre .head { color: var(--muted); display: block; }
pre .ctx { display: block; min-height: 1.2em; }
footer { margin-top: 2.5rem; font-size: .85em; color: var(--muted); }
"#;

/// Symbol and word of a cell, so it reads without colour.
fn mark(c: &Cell) -> (&'static str, &'static str) {
    match c {
        Cell::Passed => ("passed", "✔ passed"),
        Cell::Flaky { .. } => ("flaky", "⚠ flaky"),
        Cell::Failed(_) => ("failed", "✘ failed"),
        Cell::Skipped { .. } => ("skipped", "⊘ skipped"),
        Cell::NotRun => ("notrun", "– not run"),
    }
}

fn render_into(h: &mut String, m: &Matrix) -> std::fmt::Result {
    writeln!(h, "<!DOCTYPE html>")?;
    writeln!(h, "<html lang=\"en\">")?;
    writeln!(h, "<head>")?;
    writeln!(h, "<meta charset=\"utf-8\">")?;
    writeln!(h, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")?;
    let targets: Vec<&str> = m.columns.iter().map(|c| c.label.as_str()).collect();
    writeln!(h, "<title>podspec conformance matrix: {}</title>", esc(&targets.join(", ")))?;
    writeln!(h, "<style>{STYLE}</style>")?;
    writeln!(h, "</head>")?;
    writeln!(h, "<body>")?;
    writeln!(h, "<h1>podspec conformance matrix</h1>")?;
    writeln!(
        h,
        "<p class=\"muted\">{} behaviours in {} features, against {} targets.</p>",
        m.behaviours(),
        m.features.len(),
        m.columns.len()
    )?;
    if !m.same_features {
        writeln!(
            h,
            "<p class=\"note\"><strong>Note:</strong> the runs did not run the same feature files (their SHA-256 differ); compare with care.</p>"
        )?;
    }

    // The runs.
    let gated = m.columns.iter().any(|c| c.baseline.is_some());
    writeln!(h, "<div class=\"scroll\">")?;
    writeln!(h, "<table class=\"runs\">")?;
    write!(h, "<thead><tr><th scope=\"col\">Target</th><th scope=\"col\">Passed</th><th scope=\"col\">Failed</th><th scope=\"col\">Skipped</th><th scope=\"col\">Not run</th>")?;
    if gated {
        write!(h, "<th scope=\"col\">Baseline</th>")?;
    }
    writeln!(h, "<th scope=\"col\">Started</th><th scope=\"col\">Report</th></tr></thead>")?;
    writeln!(h, "<tbody>")?;
    for c in &m.columns {
        let s = c.summary;
        write!(
            h,
            "<tr><th scope=\"row\"><code>{}</code>{}</th><td class=\"num\">{}</td><td class=\"num{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            esc(&c.label),
            c.identity.as_ref().map(|i| format!(" <span class=\"path\">{}</span>", esc(i))).unwrap_or_default(),
            if s.flaky > 0 { format!("{} (+{} flaky)", s.passed, s.flaky) } else { s.passed.to_string() },
            if s.failed > 0 { " failed" } else { "" },
            s.failed,
            s.skipped,
            c.not_run
        )?;
        if gated {
            match &c.baseline {
                Some(b) => write!(
                    h,
                    "<td class=\"{}\"><strong>{}</strong>: {} <span class=\"path\">({})</span></td>",
                    if b.passed { "passed" } else { "failed" },
                    if b.passed { "✔ passed" } else { "✘ FAILED" },
                    esc(&b.counts),
                    esc(&b.file)
                )?,
                None => write!(h, "<td class=\"muted\">not gated</td>")?,
            }
        }
        writeln!(
            h,
            "<td>{}</td><td><a href=\"{}\">report.md</a></td></tr>",
            c.started.strftime("%Y-%m-%d %H:%M UTC"),
            esc(&c.markdown_link)
        )?;
    }
    writeln!(h, "</tbody>")?;
    writeln!(h, "</table>")?;
    writeln!(h, "</div>")?;
    writeln!(
        h,
        "<p class=\"legend\">Cells: <span class=\"badge passed\">✔ passed</span> <span class=\"badge failed\">✘ failed</span> (details under the feature's table) <span class=\"badge skipped\">⊘ skipped</span> (with the reason) <span class=\"badge notrun\">– not run</span> (the run has no such scenario)</p>"
    )?;

    if m.features.is_empty() {
        writeln!(h, "<p>No scenarios were run.</p>")?;
    }
    for feature in &m.features {
        writeln!(h, "<section>")?;
        writeln!(h, "<h2>{} <span class=\"path\">{}</span></h2>", esc(&feature.name), esc(&feature.path))?;
        writeln!(h, "<table class=\"matrix\">")?;
        write!(h, "<thead><tr><th scope=\"col\">Scenario</th>")?;
        for c in &m.columns {
            write!(h, "<th scope=\"col\"><code>{}</code></th>", esc(&c.label))?;
        }
        writeln!(h, "</tr></thead>")?;
        writeln!(h, "<tbody>")?;
        for row in &feature.rows {
            write!(h, "<tr><th scope=\"row\">{}</th>", esc(&row.scenario))?;
            for c in &row.cells {
                let (class, word) = mark(c);
                match c {
                    Cell::Failed(f) => {
                        write!(h, "<td class=\"cell {class}\"><a class=\"word\" href=\"#{}\">{word}</a>", f.anchor())?;
                        if let Some(reason) = &f.known {
                            write!(h, "<span class=\"why\">known failure: {}</span>", esc(reason))?;
                        } else if f.is_new() {
                            write!(h, "<span class=\"why new\">new: not in the baseline</span>")?;
                        }
                        write!(h, "<span class=\"why\">{}</span>", esc(&first_line(&f.message)))?;
                        write!(h, "<a class=\"more\" href=\"{}\">report.md</a></td>", esc(&f.link))?;
                    }
                    Cell::Skipped { reason, .. } => {
                        write!(
                            h,
                            "<td class=\"cell {class}\"><span class=\"word\">{word}</span><span class=\"why\">{}</span></td>",
                            esc(reason)
                        )?;
                    }
                    Cell::Flaky { passed_on, first_failure } => {
                        write!(
                            h,
                            "<td class=\"cell {class}\"><span class=\"word\">{word}</span><span class=\"why\">passed on attempt {passed_on}; {}</span></td>",
                            esc(first_failure)
                        )?;
                    }
                    _ => write!(h, "<td class=\"cell {class}\"><span class=\"word\">{word}</span></td>")?,
                }
            }
            writeln!(h, "</tr>")?;
        }
        writeln!(h, "</tbody>")?;
        writeln!(h, "</table>")?;
        for located in m.failures_of(feature) {
            failure(h, located.failure, &located.column.label, &located.row.scenario, &located.feature.path)?;
        }
        writeln!(h, "</section>")?;
    }
    writeln!(h, "<footer>Made by podspec {} from {} run(s).</footer>", esc(&versions(m)), m.columns.len())?;
    writeln!(h, "</body>")?;
    writeln!(h, "</html>")
}

/// A failure's details: where, the step, the message and the diff.
fn failure(h: &mut String, f: &FailedCell, target: &str, scenario: &str, path: &str) -> std::fmt::Result {
    writeln!(h, "<article class=\"failure\" id=\"{}\">", f.anchor())?;
    writeln!(h, "<h3><span class=\"badge failed\">✘ failed</span> on <code>{}</code>: {}</h3>", esc(target), esc(scenario))?;
    writeln!(h, "<dl>")?;
    writeln!(h, "<dt>Scenario</dt><dd><code>{}:{}</code></dd>", esc(path), f.line)?;
    if let Some(reason) = &f.known {
        writeln!(h, "<dt>Known failure</dt><dd>{}</dd>", esc(reason))?;
    } else if f.is_new() {
        writeln!(h, "<dt>Baseline</dt><dd><strong>new failure</strong>: not in the target's baseline</dd>")?;
    }
    if let Some((step, line)) = &f.step {
        writeln!(h, "<dt>Step</dt><dd><code>{}</code> (line {line})</dd>", esc(step))?;
    }
    if f.message.contains('\n') {
        writeln!(h, "<dt>Message</dt><dd><pre>{}</pre></dd>", esc(&f.message))?;
    } else {
        writeln!(h, "<dt>Message</dt><dd>{}</dd>", esc(&f.message))?;
    }
    writeln!(h, "<dt>Report</dt><dd><a href=\"{0}\">{0}</a></dd>", esc(&f.link))?;
    writeln!(h, "</dl>")?;
    if let Some(diff) = &f.diff {
        writeln!(h, "<p>Expected (<code>-</code>) against actual (<code>+</code>):</p>")?;
        write!(h, "<pre class=\"diff\">")?;
        for line in diff.lines() {
            let class = if line.starts_with("---") || line.starts_with("+++") {
                "head"
            } else if line.starts_with("@@") {
                "hunk"
            } else if line.starts_with('-') {
                "del"
            } else if line.starts_with('+') {
                "add"
            } else {
                "ctx"
            };
            // One block per line: no line breaks between them, or they would show twice.
            write!(h, "<span class=\"{class}\">{}</span>", esc(line))?;
        }
        writeln!(h, "</pre>")?;
    }
    for (label, value) in [("Expected", &f.expected), ("Actual", &f.actual)] {
        if let Some(value) = value {
            writeln!(h, "<p>{label}:</p>")?;
            writeln!(h, "<pre>{}</pre>", esc(value))?;
        }
    }
    writeln!(h, "</article>")
}

fn first_line(text: &str) -> String {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if text.trim().lines().count() > 1 {
        format!("{first} …")
    } else {
        first.to_string()
    }
}

/// The podspec versions of the runs, e.g. `0.1.0`.
fn versions(m: &Matrix) -> String {
    let mut v: Vec<&str> = m.columns.iter().map(|c| c.podspec_version.as_str()).collect();
    v.sort_unstable();
    v.dedup();
    v.join(", ")
}

/// Text made safe in HTML (element content and quoted attributes); control characters other
/// than tab and line feed are made visible (`\u{1b}`).
pub fn esc(text: &str) -> String {
    let text = visible_chars(text, |c| !c.is_control() || matches!(c, '\t' | '\n'));
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc(r#"<b>"x" & 'y'</b>"#), "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;");
        assert_eq!(esc("a\u{1b}[1m"), "a\\u{1b}[1m");
    }
}
