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
