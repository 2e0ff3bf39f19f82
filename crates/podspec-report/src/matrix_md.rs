//! The Markdown matrix (`matrix.md`): the runs' counts, then per feature a table of scenarios by
//! targets, the skip reasons under it as notes, and each failure with its diff.

use std::fmt::Write as _;
use std::path::Path;

use super::markdown::{cell, code, fenced, inline};
use super::matrix::{Cell, Matrix};
use super::{write_file, ReportError};

/// What each cell says, with a symbol so it reads without colour.
fn mark(c: &Cell) -> &'static str {
    match c {
        Cell::Passed => "✅ passed",
        Cell::Flaky { .. } => "⚠️ flaky",
        Cell::Failed(_) => "❌ failed",
        Cell::Skipped { .. } => "⏭️ skipped",
        Cell::NotRun => "➖ not run",
    }
}

/// The Markdown matrix.
pub fn render(matrix: &Matrix) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = render_into(&mut md, matrix);
    md
}

/// Writes the Markdown matrix to `path`.
pub fn write(matrix: &Matrix, path: impl AsRef<Path>) -> Result<(), ReportError> {
    write_file(path.as_ref(), render(matrix).as_bytes())
}

fn render_into(md: &mut String, m: &Matrix) -> std::fmt::Result {
    writeln!(md, "# podspec conformance matrix")?;
    writeln!(md)?;
    writeln!(md, "{} behaviours in {} features, against {} targets.", m.behaviours(), m.features.len(), m.columns.len())?;
    if !m.same_features {
        writeln!(md)?;
        writeln!(md, "**Note:** the runs did not run the same feature files (their SHA-256 differ); compare with care.")?;
    }
    writeln!(md)?;
    let gated = m.columns.iter().any(|c| c.baseline.is_some());
    if gated {
        writeln!(md, "| Target | Passed | Failed | Skipped | Not run | Baseline | Report |")?;
        writeln!(md, "| --- | ---: | ---: | ---: | ---: | --- | --- |")?;
    } else {
        writeln!(md, "| Target | Passed | Failed | Skipped | Not run | Report |")?;
        writeln!(md, "| --- | ---: | ---: | ---: | ---: | --- |")?;
    }
    for c in &m.columns {
        let s = c.summary;
        let baseline = match (&c.baseline, gated) {
            (Some(b), _) => format!(" {} |", cell(&format!("{}: {}", if b.passed { "passed" } else { "**FAILED**" }, inline(&b.counts)))),
            (None, true) => " not gated |".to_string(),
            (None, false) => String::new(),
        };
        writeln!(
            md,
            "| {} | {} | {} | {} | {} |{baseline} [report.md]({}) |",
            cell(&match &c.identity {
                Some(i) => format!("{} ({})", code(&c.label), inline(i)),
                None => code(&c.label),
            }),
            passed_and_flaky(&s),
            s.failed,
            s.skipped,
            c.not_run,
            c.markdown_link
        )?;
    }
    writeln!(md)?;
    writeln!(
        md,
        "Cells: ✅ passed · ❌ failed (details under the feature's table) · ⏭️ skipped (the note under the table says why) · ➖ not run (the run has no such scenario)"
    )?;

    if m.features.is_empty() {
        writeln!(md)?;
        writeln!(md, "No scenarios were run.")?;
    }
    for feature in &m.features {
        writeln!(md)?;
        writeln!(md, "## {}", inline(&feature.name))?;
        writeln!(md)?;
        writeln!(md, "File: {}", code(&feature.path))?;
        writeln!(md)?;
        write!(md, "| Scenario |")?;
        for c in &m.columns {
            write!(md, " {} |", cell(&code(&c.label)))?;
        }
        writeln!(md)?;
        write!(md, "| --- |")?;
        for _ in &m.columns {
            write!(md, " --- |")?;
        }
        writeln!(md)?;
        for row in &feature.rows {
            write!(md, "| {} |", cell(&inline(&row.scenario)))?;
            for c in &row.cells {
                let text = match c {
                    Cell::Failed(f) => {
                        let known = if f.known.is_some() {
                            " (known)"
                        } else if f.is_new() {
                            " (**new**)"
                        } else {
                            ""
                        };
                        format!("❌ [failed](#{}){known} · [report]({})", f.anchor(), f.link)
                    }
                    Cell::Skipped { note, .. } => format!("⏭️ skipped (note {note})"),
                    Cell::Flaky { passed_on, first_failure } => {
                        format!("⚠️ flaky: passed on attempt {passed_on}; {}", inline(first_failure))
                    }
                    other => mark(other).to_string(),
                };
                write!(md, " {} |", cell(&text))?;
            }
            writeln!(md)?;
        }
        let notes = m.notes_of(feature);
        if !notes.is_empty() {
            writeln!(md)?;
            for (n, reason) in notes {
                writeln!(md, "- **Note {n}:** skipped because {}", inline(reason))?;
            }
        }
        for located in m.failures_of(feature) {
            let f = located.failure;
            writeln!(md)?;
            writeln!(
                md,
                "### <a id=\"{}\"></a>Failure {}: {} › {}",
                f.anchor(),
                f.number,
                code(&located.column.label),
                inline(&located.row.scenario)
            )?;
            writeln!(md)?;
            writeln!(md, "- **Scenario:** {}", code(&format!("{}:{}", located.feature.path, f.line)))?;
            if let Some(reason) = &f.known {
                writeln!(md, "- **Known failure:** {}", inline(reason))?;
            } else if f.is_new() {
                writeln!(md, "- **New failure:** not in the target's baseline")?;
            }
            if let Some((step, line)) = &f.step {
                writeln!(md, "- **Step:** {} (line {line})", code(step))?;
            }
            if f.message.contains('\n') {
                writeln!(md, "- **Message:**")?;
                writeln!(md)?;
                fenced(md, "text", &f.message)?;
            } else {
                writeln!(md, "- **Message:** {}", inline(&f.message))?;
            }
            writeln!(md, "- **In the run's report:** [{}]({})", inline(&f.link), f.link)?;
            if let Some(diff) = &f.diff {
                writeln!(md)?;
                writeln!(md, "Expected (`-`) against actual (`+`):")?;
                writeln!(md)?;
                fenced(md, "diff", diff)?;
            }
            for (label, value) in [("Expected", &f.expected), ("Actual", &f.actual)] {
                if let Some(value) = value {
                    writeln!(md)?;
                    writeln!(md, "{label}:")?;
                    writeln!(md)?;
                    fenced(md, "text", value)?;
                }
            }
        }
    }
    Ok(())
}

/// The passed count, with the flaky ones beside it when there are (`3 (+1 flaky)`).
fn passed_and_flaky(s: &crate::Summary) -> String {
    if s.flaky > 0 {
        format!("{} (+{} flaky)", s.passed, s.flaky)
    } else {
        s.passed.to_string()
    }
}
