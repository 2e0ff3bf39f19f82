//! The Markdown report (`report.md`), for a person: what ran, the counts, a
//! table of features, then each failure with its diff and each skipped
//! scenario with its reason.

use std::fmt::Write as _;
use std::path::Path;

use super::baseline::{GateEntry, Verdict};
use super::{one_line, visible_chars, write_file, ReportError, RunRecord, ScenarioRecord, Status};

/// The Markdown report of a run.
pub fn render(record: &RunRecord) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = render_into(&mut md, record);
    md
}

/// Writes the Markdown report of a run to `path`.
pub fn write(record: &RunRecord, path: impl AsRef<Path>) -> Result<(), ReportError> {
    write_file(path.as_ref(), render(record).as_bytes())
}

fn render_into(md: &mut String, record: &RunRecord) -> std::fmt::Result {
    let summary = record.summary;
    let verdict = if summary.failed > 0 {
        "FAILED"
    } else if record.interrupted.is_some() {
        "INTERRUPTED"
    } else if summary.total() == 0 {
        "NO SCENARIOS"
    } else {
        "PASSED"
    };

    writeln!(md, "# podspec report: {}", inline(&record.target))?;
    writeln!(md)?;
    writeln!(md, "- **Target:** {}", code(&record.target))?;
    // What the target's system says of itself (a CRI runtime's name, version and endpoint).
    for (key, value) in &record.target_identity {
        writeln!(md, "  - {}: {}", inline(key), code(value))?;
    }
    writeln!(md, "- **podspec:** {}", inline(&record.podspec_version))?;
    writeln!(md, "- **Started:** {}", record.started.strftime("%Y-%m-%d %H:%M:%S UTC"))?;
    writeln!(md, "- **Duration:** {}", duration(record.duration_ms()))?;
    writeln!(md, "- **Features (SHA-256):** {}", code(&record.features_sha256))?;
    if let Some(reruns) = &record.reruns {
        writeln!(md, "- **reruns:** {} (only its failed scenarios ran)", inline(&reruns.to_string()))?;
    }
    writeln!(md)?;
    writeln!(md, "**{verdict}:** {summary} ({} scenarios)", summary.total())?;
    if let Some(why) = &record.interrupted {
        let not_run = record.scenarios.iter().filter(|s| s.reason.as_deref().is_some_and(|r| r.starts_with("not run:"))).count();
        writeln!(md)?;
        writeln!(md, "**INTERRUPTED:** {}; {not_run} scenarios did not run (skipped, `not run`).", inline(why))?;
    }
    if let Some(baseline) = &record.baseline {
        baseline_section(md, baseline)?;
    }
    if !record.target_changes.is_empty() {
        writeln!(md)?;
        writeln!(md, "What target {} changed in what the scenarios wrote:", record.target)?;
        writeln!(md)?;
        for change in &record.target_changes {
            writeln!(md, "- {change}")?;
        }
    }

    if !record.left_behind.is_empty() {
        writeln!(md)?;
        writeln!(md, "## Left behind")?;
        writeln!(md)?;
        writeln!(
            md,
            "What the scenarios' clean-up could not remove from target {}; {} removes what podspec made:",
            inline(&record.target),
            code(&format!("podspec clean --target {}", record.target))
        )?;
        writeln!(md)?;
        for what in &record.left_behind {
            writeln!(md, "- {}", inline(what))?;
        }
    }

    writeln!(md)?;
    writeln!(md, "## Features")?;
    writeln!(md)?;
    let features = record.features();
    if features.is_empty() {
        writeln!(md, "No scenarios were run.")?;
    } else {
        // A Flaky column only when a scenario was flaky (`--retry`).
        let with_flaky = summary.flaky > 0;
        if with_flaky {
            writeln!(md, "| Feature | File | Passed | Flaky | Failed | Skipped | Duration |")?;
            writeln!(md, "| --- | --- | ---: | ---: | ---: | ---: | ---: |")?;
        } else {
            writeln!(md, "| Feature | File | Passed | Failed | Skipped | Duration |")?;
            writeln!(md, "| --- | --- | ---: | ---: | ---: | ---: |")?;
        }
        for feature in &features {
            let s = feature.summary;
            let flaky = if with_flaky { format!(" {} |", s.flaky) } else { String::new() };
            writeln!(
                md,
                "| {} | {} | {} |{flaky} {} | {} | {} |",
                cell(&inline(feature.name)),
                cell(&code(feature.path)),
                s.passed,
                s.failed,
                s.skipped,
                duration(feature.duration_ms()),
            )?;
        }
    }

    writeln!(md)?;
    writeln!(md, "## Failures")?;
    let failed: Vec<&ScenarioRecord> = record.scenarios.iter().filter(|s| s.status == Status::Failed).collect();
    if failed.is_empty() {
        writeln!(md)?;
        writeln!(md, "None.")?;
    }
    for scenario in failed {
        writeln!(md)?;
        writeln!(md, "### <a id=\"{}\"></a>{} › {}", failure_anchor(scenario), inline(&scenario.feature), inline(&scenario.name))?;
        writeln!(md)?;
        writeln!(md, "- **Scenario:** {}", location(scenario, scenario.line))?;
        if let (Some(reason), Some(verdict)) = (record.known_failure(scenario), &record.baseline) {
            writeln!(md, "- **Known failure:** {} (baseline {})", inline(reason), code(&verdict.file))?;
        }
        if !scenario.tags.is_empty() {
            writeln!(md, "- **Tags:** {}", tags(&scenario.tags))?;
        }
        writeln!(md, "- **Duration:** {}", duration(scenario.duration_ms))?;
        match &scenario.failure {
            Some(failure) => failure_details(md, failure)?,
            None => {
                let reason = scenario.reason.as_deref().unwrap_or("no details recorded");
                writeln!(md, "- **Message:** {}", inline(reason))?;
            }
        }
        attempts(md, scenario, "It failed on every attempt (`--retry`); the earlier ones:")?;
    }

    let flaky: Vec<&ScenarioRecord> = record.scenarios.iter().filter(|s| s.status == Status::Flaky).collect();
    if !flaky.is_empty() {
        writeln!(md)?;
        writeln!(md, "## Flaky")?;
        writeln!(md)?;
        writeln!(md, "These scenarios failed, then passed when run again (`--retry`): not plainly passed.")?;
    }
    for scenario in flaky {
        writeln!(md)?;
        writeln!(md, "### {} › {}", inline(&scenario.feature), inline(&scenario.name))?;
        writeln!(md)?;
        writeln!(md, "- **Scenario:** {}", location(scenario, scenario.line))?;
        writeln!(md, "- **Passed on attempt:** {} of {}", scenario.attempts.len() + 1, scenario.attempts.len() + 1)?;
        writeln!(md, "- **Duration (all attempts):** {}", duration(scenario.duration_ms))?;
        attempts(md, scenario, "The failed attempts:")?;
    }

    let changed: Vec<&ScenarioRecord> = record.scenarios.iter().filter(|s| !s.manifest_changes.is_empty()).collect();
    if !changed.is_empty() {
        writeln!(md)?;
        writeln!(md, "## Manifest changes")?;
        writeln!(md)?;
        writeln!(md, "What target {} changed in the manifests each scenario sent, and why:", inline(&record.target))?;
        for scenario in changed {
            writeln!(md)?;
            writeln!(md, "- {} › {} ({}):", inline(&scenario.feature), inline(&scenario.name), location(scenario, scenario.line))?;
            for change in &scenario.manifest_changes {
                writeln!(md, "  - {}", inline(change))?;
            }
        }
    }

    writeln!(md)?;
    writeln!(md, "## Skipped")?;
    writeln!(md)?;
    let skipped: Vec<&ScenarioRecord> = record.scenarios.iter().filter(|s| s.status == Status::Skipped).collect();
    if skipped.is_empty() {
        writeln!(md, "None.")?;
    }
    for scenario in skipped {
        let reason = scenario
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(inline)
            .unwrap_or_else(|| "*no reason given*".to_owned());
        writeln!(md, "- {} › {} ({}): {}", inline(&scenario.feature), inline(&scenario.name), location(scenario, scenario.line), reason)?;
    }
    Ok(())
}

/// The failing step, its message and its diff, as list items and fenced blocks.
fn failure_details(md: &mut String, failure: &super::Failure) -> std::fmt::Result {
    writeln!(md, "- **Step:** {} (line {})", code(&failure.step), failure.step_line)?;
    let message = failure.message.trim();
    if !message.is_empty() && !message.contains('\n') {
        writeln!(md, "- **Message:** {}", inline(message))?;
    } else if !message.is_empty() {
        writeln!(md, "- **Message:**")?;
        writeln!(md)?;
        fenced(md, "text", message)?;
    }
    match failure.diff_text() {
        Some(diff) => {
            writeln!(md)?;
            writeln!(md, "Expected (`-`) against actual (`+`):")?;
            writeln!(md)?;
            fenced(md, "diff", &diff)?;
        }
        None => {
            for (label, value) in [("Expected", &failure.expected), ("Actual", &failure.actual)] {
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

/// The failures of a scenario's retried attempts, each under its number.
fn attempts(md: &mut String, scenario: &ScenarioRecord, heading: &str) -> std::fmt::Result {
    if scenario.attempts.is_empty() {
        return Ok(());
    }
    writeln!(md)?;
    writeln!(md, "{heading}")?;
    for (i, failure) in scenario.attempts.iter().enumerate() {
        writeln!(md)?;
        writeln!(md, "#### Attempt {}", i + 1)?;
        writeln!(md)?;
        failure_details(md, failure)?;
    }
    Ok(())
}

/// The anchor of a failed scenario's section (`failure-features-networking-feature-15`), stable
/// for a given report: made of the feature file and the scenario's line. The matrix links to it.
pub fn failure_anchor(scenario: &ScenarioRecord) -> String {
    let mut slug = String::from("failure-");
    let mut dash = false;
    for c in scenario.feature_path.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
            dash = false;
        } else if !dash {
            slug.push('-');
            dash = true;
        }
    }
    if !dash {
        slug.push('-');
    }
    slug.push_str(&scenario.line.to_string());
    slug
}

/// The baseline gate's verdict, after the run's summary.
fn baseline_section(md: &mut String, verdict: &Verdict) -> std::fmt::Result {
    let word = if verdict.passed { "PASSED" } else { "FAILED" };
    writeln!(md)?;
    writeln!(md, "**Baseline {word}:** {} against {}", verdict.counts(), code(&verdict.file))?;
    let entry = |e: &GateEntry| format!("{} › {}", code(&e.feature_path), inline(&e.scenario));
    let at = |e: &GateEntry| code(&format!("{}:{}", verdict.file, e.baseline_line.unwrap_or(0)));
    let lists: [(&str, Vec<String>); 5] = [
        (
            "New failures (not in the baseline)",
            verdict.new_failures.iter().map(|e| format!("{}: {}", entry(e), inline(e.detail.as_deref().unwrap_or("failed")))).collect(),
        ),
        ("Now passing (remove them from the baseline)", verdict.now_passing.iter().map(|e| format!("{} ({})", entry(e), at(e))).collect()),
        (
            "Stale entries",
            verdict.stale.iter().map(|e| format!("{} ({}): {}", entry(e), at(e), inline(e.detail.as_deref().unwrap_or("")))).collect(),
        ),
        (
            "Flaky (passed on a retry; counted as passed)",
            verdict.flaky.iter().map(|e| format!("{}: {}", entry(e), inline(e.detail.as_deref().unwrap_or("")))).collect(),
        ),
        (
            "Known failures",
            verdict.known_failures.iter().map(|e| format!("{}: {}", entry(e), inline(e.reason.as_deref().unwrap_or("")))).collect(),
        ),
    ];
    for (title, items) in lists {
        if items.is_empty() {
            continue;
        }
        writeln!(md)?;
        writeln!(md, "{title}:")?;
        writeln!(md)?;
        for item in items {
            writeln!(md, "- {item}")?;
        }
    }
    Ok(())
}

/// `features/x.feature:12` as code.
fn location(scenario: &ScenarioRecord, line: usize) -> String {
    code(&format!("{}:{}", scenario.feature_path, line))
}

/// `@a @b` as code.
fn tags(tags: &[String]) -> String {
    let text: Vec<String> = tags.iter().map(|t| format!("@{t}")).collect();
    code(&text.join(" "))
}

/// Human duration: `850 ms`, `12.345 s`, `2 min 5 s`, `1 h 2 min 3 s`.
fn duration(ms: u64) -> String {
    let secs = ms / 1000;
    if ms < 1000 {
        format!("{ms} ms")
    } else if secs < 60 {
        format!("{}.{:03} s", secs, ms % 1000)
    } else if secs < 3600 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{} h {} min {} s", secs / 3600, (secs % 3600) / 60, secs % 60)
    }
}

/// Plain text made safe inline: one line, Markdown punctuation escaped.
pub(super) fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in plain(&one_line(text)).chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text as an inline code span, on one line, delimited by enough backticks.
pub(super) fn code(text: &str) -> String {
    let text = plain(&one_line(text));
    let ticks = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// A table cell: pipes escaped (also inside code spans, as GFM requires).
pub(super) fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut escaped = false;
    for c in text.chars() {
        if c == '|' && !escaped {
            out.push('\\');
        }
        escaped = c == '\\' && !escaped;
        out.push(c);
    }
    out
}

/// A fenced code block whose fence is longer than any backtick run in `body`.
pub(super) fn fenced(md: &mut String, info: &str, body: &str) -> std::fmt::Result {
    let body = &plain(body);
    let fence = "`".repeat((longest_run(body, '`') + 1).max(3));
    writeln!(md, "{fence}{info}")?;
    md.push_str(body);
    if !body.ends_with('\n') {
        md.push('\n');
    }
    writeln!(md, "{fence}")
}

/// Control characters other than tab and line feed made visible (`\u{1b}`).
pub(super) fn plain(text: &str) -> String {
    visible_chars(text, |c| !c.is_control() || matches!(c, '\t' | '\n'))
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut current) = (0, 0);
    for ch in text.chars() {
        if ch == c {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::{cell, code, duration, failure_anchor, inline};
    use crate::{ScenarioRecord, Status};

    #[test]
    fn failure_anchors_are_made_of_file_and_line() {
        let scenario = ScenarioRecord {
            feature: "F".into(),
            feature_path: "features/Pod networking.feature".into(),
            name: "x".into(),
            line: 15,
            tags: vec![],
            status: Status::Failed,
            reason: None,
            duration_ms: 0,
            attempts: vec![],
            manifest_changes: vec![],
            failure: None,
        };
        assert_eq!(failure_anchor(&scenario), "failure-features-pod-networking-feature-15");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(12_345), "12.345 s");
        assert_eq!(duration(125_000), "2 min 5 s");
        assert_eq!(duration(3_723_000), "1 h 2 min 3 s");
    }

    #[test]
    fn code_spans_survive_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }

    #[test]
    fn inline_text_is_escaped_and_flattened() {
        assert_eq!(inline("a *b*\nc|d"), "a \\*b\\* c\\|d");
        assert_eq!(cell("`a|b`"), "`a\\|b`");
        assert_eq!(cell("a\\|b"), "a\\|b");
        assert_eq!(code("a\u{1b}[1mb"), "`a\\u{1b}[1mb`");
    }
}
