//! Which scenarios a run selects (`--tags`, `--name`) and which of them the target skips (a
//! capability it lacks), decided once for `podspec run` and `podspec list`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use cucumber::gherkin;
use cucumber::tag::Ext as _;

use super::collect::{all_tags, ScenarioKey};
use super::features::{self, FeatureFile};
use super::{RunError, RunOptions};
use crate::targets::Capability;

/// A selected scenario: where it is, its tags, and why the target skips it (if it does).
#[derive(Debug, Clone)]
pub struct Planned {
    pub key: ScenarioKey,
    /// Index into the files, and into that file's [`features::scenarios`].
    pub file: usize,
    pub index: usize,
    pub name: String,
    pub tags: Vec<String>,
    pub skip: Option<String>,
}

/// The selected scenarios, split into those that run and those the target skips.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub selected: Vec<Planned>,
    pub skipped: Vec<Planned>,
    /// Every scenario of the files, selected or not.
    pub total: usize,
}

impl Selection {
    /// Every selected scenario in file and line order.
    pub fn all(&self) -> Vec<&Planned> {
        let mut all: Vec<&Planned> = self.selected.iter().chain(&self.skipped).collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }
}

/// Selects by `--tags` and `--name` and decides the skips for a target named `target` with
/// `capabilities`. An empty selection is an input error unless `--allow-empty`.
pub fn select(
    files: &[FeatureFile],
    options: &RunOptions,
    target: &str,
    capabilities: &BTreeSet<Capability>,
) -> Result<Selection, RunError> {
    let tag_filter: Option<gherkin::tagexpr::TagOperation> = match &options.tags {
        Some(expr) => Some(expr.parse().map_err(|e| RunError::Input(vec![format!("--tags {expr:?}: {e}")]))?),
        None => None,
    };
    let name_filter = match &options.name {
        Some(re) => Some(regex::Regex::new(re).map_err(|e| RunError::Input(vec![format!("--name {re:?}: {e}")]))?),
        None => None,
    };
    let mut selection = Selection::default();
    for (file, f) in files.iter().enumerate() {
        for (index, (rule, scenario)) in features::scenarios(&f.feature).into_iter().enumerate() {
            selection.total += 1;
            let tags = all_tags(&f.feature, rule, scenario);
            if tag_filter.as_ref().is_some_and(|op| !op.eval(tags.iter())) {
                continue;
            }
            if name_filter.as_ref().is_some_and(|re| !re.is_match(&scenario.name)) {
                continue;
            }
            let missing = tags.iter().filter_map(|t| Capability::from_tag(t)).find(|c| !capabilities.contains(c));
            let skip = missing.map(|cap| format!("target {target} has {} (scenario tag @{cap})", cap.meaning()));
            let planned = Planned {
                key: (PathBuf::from(&f.path), scenario.position.line),
                file,
                index,
                name: scenario.name.clone(),
                tags,
                skip: skip.clone(),
            };
            if skip.is_some() {
                selection.skipped.push(planned);
            } else {
                selection.selected.push(planned);
            }
        }
    }
    if selection.selected.is_empty() && selection.skipped.is_empty() && !options.allow_empty {
        let mut by = Vec::new();
        if let Some(t) = &options.tags {
            by.push(format!("--tags {t:?}"));
        }
        if let Some(n) = &options.name {
            by.push(format!("--name {n:?}"));
        }
        let names: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
        let what = if by.is_empty() {
            format!("{} have no scenarios", names.join(", "))
        } else {
            format!("{} select none of the {} scenarios in {}", by.join(" and "), selection.total, names.join(", "))
        };
        return Err(RunError::Input(vec![format!("the run selects no scenario: {what} (--allow-empty lets an empty run pass)")]));
    }
    Ok(selection)
}
