//! The book under docs/ against the code: the generated reference pages are what `podspec docs`
//! writes today, every step the features use is on the step page, every relative link and
//! anchor of the book resolves, and the step vocabulary keeps one rule for docstrings.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use cucumber::gherkin::{self, GherkinEnv, StepType};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every step of every scenario of features/, with its keyword as cucumber matches it (And and
/// But take the keyword of the step before, which gherkin has already resolved in `ty`).
fn feature_steps() -> Vec<(PathBuf, gherkin::Step)> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("features"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "feature"))
        .collect();
    paths.sort();
    for path in paths {
        let feature = gherkin::Feature::parse_path(&path, GherkinEnv::default()).unwrap();
        let mut steps: Vec<gherkin::Step> = feature.background.iter().flat_map(|b| b.steps.clone()).collect();
        for s in &feature.scenarios {
            steps.extend(s.steps.clone());
        }
        for r in &feature.rules {
            steps.extend(r.background.iter().flat_map(|b| b.steps.clone()));
            for s in &r.scenarios {
                steps.extend(s.steps.clone());
            }
        }
        out.extend(steps.into_iter().map(|s| (path.clone(), s)));
    }
    out
}

/// One rule for docstrings: a step that takes one may end with a colon or not, and it is the
/// same step either way.
#[test]
fn a_colon_before_a_docstring_is_optional_for_every_step() {
    let collection = podspec::steps::collection();
    let mut checked = 0;
    for (path, step) in feature_steps().into_iter().filter(|(_, s)| s.docstring.is_some()) {
        let bare = step.value.strip_suffix(':').unwrap_or(&step.value).to_string();
        for value in [bare.clone(), format!("{bare}:")] {
            let mut s = step.clone();
            s.value = value.clone();
            let found =
                collection.find(&s).unwrap_or_else(|e| panic!("{}:{}: {value:?} is ambiguous: {e}", path.display(), step.position.line));
            assert!(found.is_some(), "{}:{}: `{value}` (with a docstring) matches no step", path.display(), step.position.line);
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} docstring steps in features/");
}

/// The committed reference pages are what `podspec docs` writes from the code today.
#[test]
fn the_generated_pages_are_what_the_code_generates() {
    let out = tempfile::tempdir().unwrap();
    let status =
        assert_cmd::Command::cargo_bin("podspec").unwrap().current_dir(ROOT).args(["docs", "--out"]).arg(out.path()).output().unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let mut pages = 0;
    for e in fs::read_dir(out.path()).unwrap() {
        let generated = e.unwrap().path();
        let name = generated.file_name().unwrap().to_owned();
        let committed = Path::new(ROOT).join("docs/src/reference").join(&name);
        let want = fs::read_to_string(&generated).unwrap();
        let have = fs::read_to_string(&committed).unwrap_or_default();
        if want != have {
            let diff = similar::TextDiff::from_lines(&have, &want).unified_diff().header("committed", "generated").to_string();
            panic!(
                "{} differs from what the code generates: run `cargo run -- docs` (it writes docs/src/reference) and commit it\n{diff}",
                committed.display()
            );
        }
        pages += 1;
    }
    assert_eq!(pages, 5);
}

/// The steps the committed step page lists: each regular expression with its keywords.
fn steps_on_the_page() -> Vec<(regex::Regex, BTreeSet<String>)> {
    let page = fs::read_to_string(Path::new(ROOT).join("docs/src/reference/steps.md")).unwrap();
    let mut out = Vec::new();
    let mut keywords: Option<BTreeSet<String>> = None;
    for line in page.lines() {
        if let Some(k) = line.strip_prefix("- keywords: ") {
            keywords = Some(k.split(", ").map(str::to_string).collect());
        } else if let Some(re) = line.strip_prefix("- regex: `").and_then(|l| l.strip_suffix('`')) {
            out.push((regex::Regex::new(re).unwrap(), keywords.take().expect("keywords before the regex")));
        }
    }
    out
}

/// A step the features use but the book lacks is impossible: each step of features/ matches a
/// step the page lists, under the keyword it is used with.
#[test]
fn every_step_the_features_use_is_on_the_step_page() {
    let listed = steps_on_the_page();
    assert!(listed.len() > 40, "{}", listed.len());
    let mut missing = BTreeSet::new();
    for (path, step) in feature_steps() {
        let keyword = match step.ty {
            StepType::Given => "Given",
            StepType::When => "When",
            StepType::Then => "Then",
        };
        if !listed.iter().any(|(re, k)| k.contains(keyword) && re.is_match(&step.value)) {
            missing.insert(format!("{}:{}: {keyword} {}", path.display(), step.position.line, step.value));
        }
    }
    assert!(
        missing.is_empty(),
        "steps of features/ that docs/src/reference/steps.md lacks:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// The hand-written features page names every feature file.
#[test]
fn the_features_page_names_every_feature() {
    let page = fs::read_to_string(Path::new(ROOT).join("docs/src/reference/features.md")).unwrap();
    for e in fs::read_dir(Path::new(ROOT).join("features")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(page.contains(&format!("`{name}`")), "docs/src/reference/features.md does not name {name}");
    }
}

/// The ids mdBook gives a page's headings: lower case, spaces as dashes, only letters, digits,
/// `-` and `_` kept; a repeated id gets `-1`, `-2`, ...
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let plain: String = title.replace('`', "");
        let id: String = plain
            .to_lowercase()
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    Some(c)
                } else if c == ' ' {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let mut unique = id.clone();
        let mut n = 1;
        while out.contains(&unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        out.insert(unique);
    }
    out
}

/// The Markdown links of a text outside code: (line, target).
fn links(text: &str) -> Vec<(usize, String)> {
    let re = regex::Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut out = Vec::new();
    let mut in_code = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Not inside inline code.
        let outside: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        for c in re.captures_iter(&outside) {
            out.push((i + 1, c[1].to_string()));
        }
    }
    out
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "md") {
            out.push(p);
        }
    }
}

/// Every relative link of the book and of the README leads to a file that exists, and every
/// anchor to a heading of that page.
#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    markdown_files(&Path::new(ROOT).join("docs/src"), &mut files);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').map(|(p, a)| (p, Some(a))).unwrap_or((target.as_str(), None));
            let dest = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            checked += 1;
            if !dest.exists() {
                broken.push(format!("{}:{line}: {target}: no such file", file.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                let Ok(dest_text) = fs::read_to_string(&dest) else { continue };
                if !anchors(&dest_text).contains(anchor) {
                    broken.push(format!("{}:{line}: {target}: no such heading in {}", file.display(), dest.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 30, "only {checked} links checked");
}

/// Every page of the book is in SUMMARY.md (mdBook renders no other), but the security
/// section's pages, which other branches add with their SUMMARY lines.
#[test]
fn every_page_is_in_the_summary() {
    let src = Path::new(ROOT).join("docs/src");
    let summary = fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let listed: BTreeSet<String> = links(&summary).into_iter().map(|(_, t)| t).collect();
    let mut files = Vec::new();
    markdown_files(&src, &mut files);
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().display().to_string();
        if rel == "SUMMARY.md" || rel.starts_with("security/") {
            continue;
        }
        assert!(listed.contains(&rel), "docs/src/{rel} is not in SUMMARY.md");
    }
}
