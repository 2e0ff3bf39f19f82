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

/// The failed scenarios of an earlier report, to run again (`--rerun-failed REPORT.json`).
#[derive(Debug, Clone)]
pub struct Rerun {
    /// The earlier run, as the new reports name it.
    pub of: crate::report::Reruns,
    /// Each failed scenario: its feature path, name and line.
    pub failed: Vec<(String, String, usize)>,
}

impl Rerun {
    /// Reads the failed scenarios of the report at `path` (a `report.json`).
    pub fn read(path: &std::path::Path) -> Result<Rerun, crate::report::ReportError> {
        let record = crate::report::json::read(path)?;
        let failed: Vec<(String, String, usize)> = record
            .scenarios
            .iter()
            .filter(|s| s.status == crate::report::Status::Failed)
            .map(|s| (s.feature_path.clone(), s.name.clone(), s.line))
            .collect();
        let of = crate::report::Reruns { report: path.display().to_string(), started: record.started, failed: failed.len() };
        Ok(Rerun { of, failed })
    }

    /// The keys of the scenarios to run again, found in `files` by feature path and name (and
    /// line, where several scenarios share the name, as an Outline's examples do; a scenario
    /// whose name is unique there is found even if lines moved); every failed scenario that is
    /// not there is an error naming it.
    fn keys(&self, files: &[FeatureFile]) -> Result<std::collections::HashSet<super::collect::ScenarioKey>, RunError> {
        let mut keys = std::collections::HashSet::new();
        let mut errors = Vec::new();
        for (path, name, line) in &self.failed {
            let candidates: Vec<super::collect::ScenarioKey> = files
                .iter()
                .filter(|f| f.path.display().to_string() == *path)
                .flat_map(|f| {
                    features::scenarios(&f.feature)
                        .into_iter()
                        .filter(|(_, s)| s.name == *name)
                        .map(|(_, s)| (PathBuf::from(&f.path), s.position.line))
                        .collect::<Vec<_>>()
                })
                .collect();
            let exact = candidates.iter().find(|k| k.1 == *line).cloned();
            match (exact, candidates.len()) {
                (Some(k), _) => {
                    keys.insert(k);
                }
                (None, 1) => {
                    keys.insert(candidates[0].clone());
                }
                (None, n) => errors.push(format!(
                    "--rerun-failed {}: the failed scenario {path}:{line} {name:?} is not in the features given{}",
                    self.of.report,
                    if n > 1 { format!(" ({n} scenarios of that name there, none at line {line})") } else { String::new() }
                )),
            }
        }
        if errors.is_empty() {
            Ok(keys)
        } else {
            Err(RunError::Input(errors))
        }
    }
}

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
    let rerun = match &options.rerun {
        Some(r) => Some(r.keys(files)?),
        None => None,
    };
    let mut selection = Selection::default();
    for (file, f) in files.iter().enumerate() {
        for (index, (rule, scenario)) in features::scenarios(&f.feature).into_iter().enumerate() {
            selection.total += 1;
            let tags = all_tags(&f.feature, rule, scenario);
            if rerun.as_ref().is_some_and(|keys| !keys.contains(&(PathBuf::from(&f.path), scenario.position.line))) {
                continue;
            }
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
        if let Some(r) = &options.rerun {
            if r.failed.is_empty() {
                return Err(RunError::Input(vec![format!(
                    "the run selects no scenario: --rerun-failed {}: that report has no failed scenario (--allow-empty lets an empty run pass)",
                    r.of.report
                )]));
            }
            by.push(format!("--rerun-failed {}", r.of.report));
        }
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
