//! Finding, parsing and checking feature files before anything runs: syntax errors, unknown
//! steps, bad pod manifests and images the target does not have are all found up front, each
//! named by file and line.

use std::path::{Path, PathBuf};

use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, GherkinEnv};
use sha2::{Digest, Sha256};

use crate::steps::{self, ManifestRef};
use crate::target::Target;

/// A parsed feature file.
#[derive(Debug, Clone)]
pub struct FeatureFile {
    pub path: PathBuf,
    pub text: String,
    pub feature: gherkin::Feature,
}

/// Every `.feature` file under the given paths (files or folders), sorted.
pub fn find(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            collect(p, &mut found);
        } else if p.is_file() {
            found.push(p.clone());
        } else {
            errors.push(format!("{}: no such feature file or folder", p.display()));
        }
    }
    found.sort();
    found.dedup();
    if found.is_empty() && errors.is_empty() {
        errors.push(format!("no .feature files under {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")));
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "feature") {
            out.push(p);
        }
    }
}

/// Parses each file; a syntax error is reported as `file:line:column`.
pub fn parse(paths: &[PathBuf]) -> Result<Vec<FeatureFile>, Vec<String>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{}: cannot read: {e}", path.display()));
                continue;
            }
        };
        match gherkin::Feature::parse_path(path, GherkinEnv::default()) {
            Ok(f) => match f.expand_examples() {
                Ok(feature) => files.push(FeatureFile { path: path.clone(), text, feature }),
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            },
            Err(gherkin::ParseFileError::Parsing { source, error, .. }) => {
                errors.push(syntax_error(path, &source.to_string(), error.map(|e| e.to_string())))
            }
            Err(e) => errors.push(format!("{}: {e}", path.display())),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

fn syntax_error(path: &Path, parse_error: &str, detail: Option<String>) -> String {
    // The parser says "Error at LINE:COL: {expected tokens}".
    let rest = parse_error.strip_prefix("Error at ").unwrap_or(parse_error);
    let (position, expected) = rest.split_once(": ").unwrap_or(("?", rest));
    let mut msg = format!("{}:{position}: Gherkin syntax error, expected one of {expected}", path.display());
    if let Some(d) = detail {
        msg.push_str(&format!(" ({d})"));
    }
    msg
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
    let collection = steps::collection();
    let mut errors = Vec::new();
    for f in files {
        for (rule, scenario) in scenarios(&f.feature) {
            for step in steps_of(&f.feature, rule, scenario) {
                let at = format!("{}:{}", f.path.display(), step.position.line);
                match collection.find(step) {
                    Ok(Some(_)) => {}
                    Ok(None) => errors.push(format!(
                        "{at}: unknown step `{} {}` (see the step vocabulary in the README)",
                        step.keyword.trim(),
                        step.value
                    )),
                    Err(e) => errors.push(format!("{at}: ambiguous step `{} {}`: {e}", step.keyword.trim(), step.value)),
                }
                if let Some(m) = steps::manifest_of(step) {
                    check_manifest(&at, m, step, fixtures_dir, target, &mut errors);
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

fn check_manifest(at: &str, m: ManifestRef<'_>, step: &gherkin::Step, fixtures_dir: &Path, target: &dyn Target, errors: &mut Vec<String>) {
    // The manifest's text and where it is, for errors about one of its fields.
    let (text, source, used_at) = match m {
        ManifestRef::Fixture(file) => {
            let path = fixtures_dir.join("pods").join(file);
            match std::fs::read_to_string(&path) {
                Ok(t) => (t, crate::manifest::Source::file(&path), format!(" (used at {at})")),
                Err(e) => return errors.push(format!("{}: cannot read pod manifest: {e} (used at {at})", path.display())),
            }
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
            for r in target.refused_fields(&pod) {
                let message = format!("{}: target {} does not run this field: {}", r.path, target.name(), r.why);
                errors.push(format!("{}{used_at}", crate::manifest::field_error(&text, &source, &r.path, message)));
            }
            let spec = pod.spec.unwrap_or_default();
            for c in spec.init_containers.iter().flatten().chain(&spec.containers) {
                let image = c.image.as_deref().unwrap_or("");
                if let Err(e) = target.check_image(image) {
                    errors.push(format!("{at}: container {:?}: {e}", c.name));
                }
            }
        }
    }
}
