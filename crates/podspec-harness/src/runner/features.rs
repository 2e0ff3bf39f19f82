//! Finding, parsing and checking feature files before anything runs: syntax errors, unknown
//! steps, bad pod manifests and images the target does not have are all found up front, each
//! named by file and line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, GherkinEnv};
use sha2::{Digest, Sha256};

use crate::manifest::input::kind_of;
use crate::steps::{self, ManifestRef};
use crate::targets::{Target, TargetCapabilities as _};

/// A parsed feature file.
#[derive(Debug, Clone)]
pub struct FeatureFile {
    pub path: PathBuf,
    pub text: String,
    pub feature: gherkin::Feature,
}

/// Every `.feature` file under the given paths (files or folders), sorted, each file once (a
/// file reached through several links, or a symlink loop, counts once). Anything named
/// `*.feature` that is not a regular file (a FIFO, a device) is refused, never opened.
pub fn find(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut seen_dirs = HashSet::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => collect(p, &mut found, &mut errors, &mut seen_dirs),
            Ok(m) if m.is_file() => found.push(p.clone()),
            Ok(m) => errors.push(format!("{}: not a regular file ({}); refused", p.display(), kind_of(&m.file_type()))),
            Err(_) => errors.push(format!("{}: no such feature file or folder", p.display())),
        }
    }
    // Each file once, however it was reached.
    let mut seen_files = HashSet::new();
    found.sort();
    found.retain(|p| seen_files.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    if found.is_empty() && errors.is_empty() {
        errors.push(format!("no .feature files under {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<String>, seen_dirs: &mut HashSet<PathBuf>) {
    // A folder reached a second time (a symlink loop) is not walked again.
    if !seen_dirs.insert(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        // Follows links, without opening anything.
        let Ok(m) = std::fs::metadata(&p) else { continue };
        if m.is_dir() {
            collect(&p, out, errors, seen_dirs);
        } else if p.extension().is_some_and(|x| x == "feature") {
            if m.is_file() {
                out.push(p);
            } else {
                errors.push(format!("{}: not a regular file ({}); refused", p.display(), kind_of(&m.file_type())));
            }
        }
    }
}

/// Parses each file; a syntax error is reported as `file:line:column`. Returns the files that
/// parsed and the errors of those that did not, so that the others are still checked.
pub fn parse(paths: &[PathBuf]) -> (Vec<FeatureFile>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        // Checked to be a regular file again as it is opened: it may have changed since.
        let text = match crate::manifest::input::read_regular_file(path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        match parse_text(path, text) {
            Ok(f) => files.push(f),
            Err(e) => errors.extend(e),
        }
    }
    (files, errors)
}

/// Parses one feature file's text (the file is named `path` in errors).
pub fn parse_text(path: &Path, text: String) -> Result<FeatureFile, Vec<String>> {
    // A UTF-8 byte order mark (some editors write one) is not part of the text: Cucumber's
    // Gherkin readers and behave drop it too, where the Gherkin parser would take it for the
    // first line's start and refuse `Feature:`.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    if let Some(e) = pre_check(path, &text) {
        return Err(vec![e]);
    }
    match gherkin::Feature::parse(&text, GherkinEnv::default()) {
        Ok(mut f) => {
            f.path = Some(path.to_path_buf());
            let outlines: Vec<String> = scenarios(&f)
                .into_iter()
                .filter(|(_, s)| is_outline(s) && s.examples.is_empty())
                .map(|(_, s)| {
                    format!(
                        "{}:{}: Scenario Outline {:?} has no Examples, so it selects no scenario",
                        path.display(),
                        s.position.line,
                        s.name
                    )
                })
                .collect();
            if !outlines.is_empty() {
                return Err(outlines);
            }
            match f.expand_examples() {
                Ok(feature) => Ok(FeatureFile { path: path.to_path_buf(), text, feature }),
                Err(e) => Err(vec![format!("{}: {e}", path.display())]),
            }
        }
        Err(error) => Err(vec![syntax_error(path, &text, &error.to_string())]),
    }
}

fn is_outline(s: &gherkin::Scenario) -> bool {
    let k = s.keyword.to_lowercase();
    k.contains("outline") || k.contains("template")
}

/// What the Gherkin parser would report badly: an empty file, a docstring never closed.
fn pre_check(path: &Path, text: &str) -> Option<String> {
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Some(format!("{}: the feature file is empty (no Feature)", path.display()));
    }
    let mut open: Option<(usize, &str)> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        for delim in ["\"\"\"", "```"] {
            if t.starts_with(delim) {
                match open {
                    None => open = Some((i + 1, delim)),
                    Some((_, d)) if d == delim => open = None,
                    Some(_) => {}
                }
            }
        }
    }
    if let Some((line, delim)) = open {
        return Some(format!("{}:{line}: docstring opened with {delim} is never closed", path.display()));
    }
    step_outside_a_scenario(path, text)
}

/// A step in a feature's (or a rule's) description, before its first scenario: Gherkin reads
/// it as description text, so it would silently never run. Refused with its line, and where it
/// belongs.
fn step_outside_a_scenario(path: &Path, text: &str) -> Option<String> {
    const STEPS: &[&str] = &["Given ", "When ", "Then ", "And ", "But ", "* "];
    const SCENARIOS: &[&str] =
        &["Background:", "Scenario:", "Scenario Outline:", "Scenario Template:", "Example:", "Examples:", "Scenarios:"];
    // Inside a description: after `Feature:` or `Rule:`, before anything with steps.
    let mut in_description = false;
    let mut in_docstring: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(delim) = in_docstring {
            if t.starts_with(delim) {
                in_docstring = None;
            }
            continue;
        }
        if let Some(delim) = ["\"\"\"", "```"].into_iter().find(|d| t.starts_with(d)) {
            in_docstring = Some(delim);
            continue;
        }
        if t.starts_with("Feature:") || t.starts_with("Rule:") {
            in_description = true;
        } else if SCENARIOS.iter().any(|k| t.starts_with(k)) {
            in_description = false;
        } else if in_description && STEPS.iter().any(|k| t.starts_with(k)) {
            return Some(format!(
                "{}:{}: the step `{t}` comes before the first Scenario, where Gherkin reads it as description and it never runs; put it under a Scenario, or under `Background:` to run it before each scenario",
                path.display(),
                i + 1
            ));
        }
    }
    None
}

/// Whether a line is one Gherkin knows outside a description: a keyword, a tag, a comment, a
/// table row, a docstring delimiter, or blank.
fn is_gherkin_line(line: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "Feature:",
        "Rule:",
        "Background:",
        "Scenario:",
        "Scenario Outline:",
        "Scenario Template:",
        "Example:",
        "Examples:",
        "Scenarios:",
        "Given ",
        "When ",
        "Then ",
        "And ",
        "But ",
        "* ",
        "@",
        "#",
        "|",
        "\"\"\"",
        "```",
    ];
    let t = line.trim();
    t.is_empty() || KEYWORDS.iter().any(|k| t.starts_with(k))
}

fn syntax_error(path: &Path, text: &str, parse_error: &str) -> String {
    // The parser says "Error at LINE:COL: {expected tokens}", at the token where it gave up,
    // which is the line after a line it could not read: point at that line instead.
    let rest = parse_error.strip_prefix("Error at ").unwrap_or(parse_error);
    let (position, expected) = rest.split_once(": ").unwrap_or(("?", rest));
    let reported: Option<usize> = position.split(':').next().and_then(|l| l.parse().ok());
    let lines: Vec<&str> = text.lines().collect();
    if let Some(at) = reported {
        let culprit = (1..at.min(lines.len() + 1)).rev().find(|&n| !lines[n - 1].trim().is_empty());
        if let Some(n) = culprit.filter(|&n| !is_gherkin_line(lines[n - 1])) {
            return format!(
                "{}:{n}: Gherkin syntax error: `{}` is not a Gherkin line (a keyword, step, tag, table or docstring)",
                path.display(),
                lines[n - 1].trim()
            );
        }
        // Errors the parser finds only at the next line, or at the end of the file: the line
        // at fault is the one before.
        if let Some(n) = culprit {
            let line = lines[n - 1].trim();
            if expected.contains("inconsistent table row sizes") && line.starts_with('|') {
                return format!(
                    "{}:{n}: Gherkin syntax error: the table row `{line}` has another number of cells than the rows above it",
                    path.display()
                );
            }
            if line.starts_with('@') && at > lines.len() {
                return format!(
                    "{}:{n}: Gherkin syntax error: the tags `{line}` are followed by nothing they could tag (a Feature, Rule, Scenario or Examples)",
                    path.display()
                );
            }
        }
    }
    if let Some(n) = second_background(text) {
        return format!(
            "{}:{n}: Gherkin syntax error: a second `Background:` (a feature, and each rule, has at most one, before its scenarios)",
            path.display()
        );
    }
    format!("{}:{position}: Gherkin syntax error, expected one of {expected}", path.display())
}

/// The line of a `Background:` that is not the first of its feature or rule.
fn second_background(text: &str) -> Option<usize> {
    let mut seen = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("Feature:") || t.starts_with("Rule:") {
            seen = false;
        } else if t.starts_with("Background:") {
            if seen {
                return Some(i + 1);
            }
            seen = true;
        }
    }
    None
}

/// A fingerprint of the features a run used.
pub fn sha256(files: &[FeatureFile]) -> String {
    let mut h = Sha256::new();
    for f in files {
        h.update(f.path.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(f.text.as_bytes());
        h.update([0]);
    }
    format!("{:x}", h.finalize())
}

/// Every step of a scenario, background steps first.
pub fn steps_of<'a>(
    feature: &'a gherkin::Feature,
    rule: Option<&'a gherkin::Rule>,
    scenario: &'a gherkin::Scenario,
) -> Vec<&'a gherkin::Step> {
    let mut steps: Vec<&gherkin::Step> = Vec::new();
    if let Some(b) = &feature.background {
        steps.extend(&b.steps);
    }
    if let Some(b) = rule.and_then(|r| r.background.as_ref()) {
        steps.extend(&b.steps);
    }
    steps.extend(&scenario.steps);
    steps
}

/// Every scenario of a feature, with its rule.
pub fn scenarios(feature: &gherkin::Feature) -> Vec<(Option<&gherkin::Rule>, &gherkin::Scenario)> {
    let mut out: Vec<(Option<&gherkin::Rule>, &gherkin::Scenario)> = feature.scenarios.iter().map(|s| (None, s)).collect();
    for r in &feature.rules {
        out.extend(r.scenarios.iter().map(|s| (Some(r), s)));
    }
    out
}

/// Checks every step has exactly one definition, and every pod manifest a step names is valid
/// and uses images the target has.
pub fn check(files: &[FeatureFile], fixtures_dir: &Path, target: &dyn Target) -> Result<(), Vec<String>> {
    check_with(files, fixtures_dir, Some(target))
}

/// As [`check`]; without a target, images are not checked (for `podspec list` and the fuzzer).
pub fn check_with(files: &[FeatureFile], fixtures_dir: &Path, target: Option<&dyn Target>) -> Result<(), Vec<String>> {
    let collection = steps::collection();
    let mut errors = Vec::new();
    for f in files {
        for (rule, scenario) in scenarios(&f.feature) {
            // A scenario the target skips for a capability it lacks never reaches it: the
            // fields it refuses are not asked of it there.
            let runs = !super::collect::all_tags(&f.feature, rule, scenario)
                .iter()
                .filter_map(|t| crate::targets::Capability::from_tag(t))
                .any(|c| target.is_some_and(|t| !t.has(c)));
            for step in steps_of(&f.feature, rule, scenario) {
                let at = format!("{}:{}", f.path.display(), step.position.line);
                match collection.find(step) {
                    Ok(Some(_)) => {}
                    Ok(None) => errors.push(format!(
                        "{at}: unknown step `{} {}` (see the step vocabulary: docs/src/reference/steps.md)",
                        step.keyword.trim(),
                        step.value
                    )),
                    Err(e) => errors.push(format!("{at}: ambiguous step `{} {}`: {e}", step.keyword.trim(), step.value)),
                }
                if let Some(m) = steps::manifest_of(step) {
                    check_manifest(&at, m, step, fixtures_dir, target, runs, &mut errors);
                }
            }
        }
    }
    errors.dedup();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// An ephemeral container a step adds: it must parse as one; unless the API is to refuse it,
/// the target must run its fields (asked of a pod holding it alone) and have its image.
fn check_ephemeral(at: &str, text: &str, refused: bool, target: Option<&dyn Target>, runs: bool, errors: &mut Vec<String>) {
    use k8s_openapi::api::core::v1::{EphemeralContainer, Pod, PodSpec};
    if let Err(e) = crate::manifest::input::check_depth(text) {
        return errors.push(format!("{at}: the docstring is not an ephemeral container: {e}"));
    }
    let ec: EphemeralContainer = match serde_yaml::from_str(text.trim_matches('\n')) {
        Ok(ec) => ec,
        Err(e) => return errors.push(format!("{at}: the docstring is not an ephemeral container: {e}")),
    };
    let Some(target) = target.filter(|_| !refused && runs) else { return };
    let pod = Pod { spec: Some(PodSpec { ephemeral_containers: Some(vec![ec.clone()]), ..Default::default() }), ..Default::default() };
    for r in target.refused_fields(&pod) {
        let field = r.path.strip_prefix("spec.ephemeralContainers[0].").unwrap_or(&r.path);
        errors.push(format!(
            "{at}: ephemeral container {:?}: {field}: target {} does not run this field: {}",
            ec.name,
            target.name(),
            r.why
        ));
    }
    if let Err(e) = target.check_image(ec.image.as_deref().unwrap_or("")) {
        errors.push(format!("{at}: ephemeral container {:?}: {e}", ec.name));
    }
}

fn check_manifest(
    at: &str,
    m: ManifestRef<'_>,
    step: &gherkin::Step,
    fixtures_dir: &Path,
    target: Option<&dyn Target>,
    runs: bool,
    errors: &mut Vec<String>,
) {
    // The manifest's text and where it is, for errors about one of its fields.
    let (text, source, used_at) = match m {
        ManifestRef::Fixture(file) => {
            let path = match steps::fixture_path(fixtures_dir, file) {
                Ok(p) => p,
                Err(e) => return errors.push(format!("{at}: {e}")),
            };
            // A FIFO or a device is refused at once, never read (a read could block for ever).
            match crate::manifest::input::read_regular(&path) {
                Ok(t) => (t, crate::manifest::Source::file(&path), format!(" (used at {at})")),
                Err(e) => return errors.push(format!("{}: cannot read pod manifest: {e} (used at {at})", path.display())),
            }
        }
        ManifestRef::Ephemeral(text) | ManifestRef::RefusedEphemeral(text) => {
            return check_ephemeral(at, text, matches!(m, ManifestRef::RefusedEphemeral(_)), target, runs, errors);
        }
        ManifestRef::Inline(text) | ManifestRef::RefusedInline(text) => {
            let file = at.rsplit_once(':').map(|(f, _)| f).unwrap_or(at);
            (text.to_string(), steps::docstring_source(file, step), String::new())
        }
    };
    // A manifest the API is to refuse is only parsed here: its API errors are the scenario's.
    if matches!(m, ManifestRef::RefusedInline(_)) {
        if let Err(e) = crate::manifest::parse_pod(&text, &source) {
            errors.push(e.to_string());
        }
        return;
    }
    match crate::manifest::load_pod(&text, &source).map_err(|e| format!("{e}{used_at}")) {
        Err(e) => errors.push(e),
        Ok(pod) => {
            for r in target.map(|t| t.refused_fields(&pod)).unwrap_or_default().into_iter().filter(|_| runs) {
                let target = target.expect("refusals come from a target");
                let message = format!("{}: target {} does not run this field: {}", r.path, target.name(), r.why);
                errors.push(format!("{}{used_at}", crate::manifest::field_error(&text, &source, &r.path, message)));
            }
            let spec = pod.spec.unwrap_or_default();
            let Some(target) = target else { return };
            for c in spec.init_containers.iter().flatten().chain(&spec.containers) {
                let image = c.image.as_deref().unwrap_or("");
                if let Err(e) = target.check_image(image) {
                    errors.push(format!("{at}: container {:?}: {e}", c.name));
                }
            }
        }
    }
}
