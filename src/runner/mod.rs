//! Runs the selected scenarios against a target and writes the reports.
//!
//! Before anything runs, every feature is parsed and checked (`features`): a bad input stops
//! the run with exit code 2 and leaves nothing behind. Scenarios whose tags ask for a capability
//! the target lacks are reported as skipped with that reason.

mod collect;
pub mod features;
pub mod observe;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use cucumber::gherkin;
use cucumber::tag::Ext as _;
use cucumber::World as _;
use futures::FutureExt as _;

use crate::report::{self, RunRecord, ScenarioRecord, Status};
use crate::steps::{self, PodWorld, StepContext, Timeouts};
use crate::target::{Capability, Target};

use self::collect::{all_tags, Collector, ScenarioKey};
use self::features::FeatureFile;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub features: Vec<PathBuf>,
    pub tags: Option<String>,
    pub report_dir: PathBuf,
    pub concurrency: usize,
    pub fixtures_dir: PathBuf,
    pub timeouts: Timeouts,
    /// Print a line per finished scenario on stderr.
    pub progress: bool,
    /// A baseline of known failures to gate the run against (`--baseline`); its verdict is
    /// recorded in the reports.
    pub baseline: Option<PathBuf>,
    /// Told of every scenario and step as the run goes (a certification log, progress reports).
    pub observers: Vec<Arc<dyn observe::Observer>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The features, manifests or options are wrong: nothing ran (exit code 2).
    #[error("{}", .0.join("\n"))]
    Input(Vec<String>),
    #[error("writing reports: {0}")]
    Report(#[from] report::ReportError),
}

/// Parses and checks the features without running anything.
pub fn prepare(options: &RunOptions, target: &dyn Target) -> Result<Vec<FeatureFile>, RunError> {
    let paths = features::find(&options.features).map_err(RunError::Input)?;
    let files = features::parse(&paths).map_err(RunError::Input)?;
    features::check(&files, &options.fixtures_dir, target).map_err(RunError::Input)?;
    Ok(files)
}

/// What a scenario needs that the target lacks, if anything.
fn missing_capability(tags: &[String], target: &dyn Target) -> Option<Capability> {
    tags.iter().filter_map(|t| Capability::from_tag(t)).find(|c| !target.capabilities().contains(c))
}

pub async fn run(options: &RunOptions, target: Arc<dyn Target>) -> Result<RunRecord, RunError> {
    let started = chrono::Utc::now();
    let baseline = match &options.baseline {
        Some(path) => Some(report::baseline::read(path).map_err(|e| RunError::Input(e.messages()))?),
        None => None,
    };
    let files = prepare(options, target.as_ref())?;
    let tag_filter: Option<gherkin::tagexpr::TagOperation> = match &options.tags {
        Some(expr) => Some(expr.parse().map_err(|e| RunError::Input(vec![format!("--tags {expr:?}: {e}")]))?),
        None => None,
    };

    // Select, and decide what is skipped.
    let mut selected: HashSet<ScenarioKey> = HashSet::new();
    let mut skipped: Vec<ScenarioRecord> = Vec::new();
    for f in &files {
        for (rule, scenario) in features::scenarios(&f.feature) {
            let tags = all_tags(&f.feature, rule, scenario);
            if tag_filter.as_ref().is_some_and(|op| !op.eval(tags.iter())) {
                continue;
            }
            if let Some(cap) = missing_capability(&tags, target.as_ref()) {
                let reason = format!("target {} has {} (scenario tag @{cap})", target.name(), cap.meaning());
                skipped.push(unrun_record(f, rule, scenario, Status::Skipped, reason));
                continue;
            }
            selected.insert((f.path.clone(), scenario.position.line));
        }
    }
    let total = selected.len() + skipped.len();
    if options.progress {
        eprintln!("podspec: running {} scenarios against {} ({} skipped)", selected.len(), target.name(), skipped.len());
        for s in &skipped {
            eprintln!("[  -/{total}] skip {}:{}  {}: {}", s.feature_path, s.line, s.name, s.reason.as_deref().unwrap_or(""));
        }
    }

    for o in &options.observers {
        o.event(&observe::RunEvent::Started { selected: selected.len(), skipped: skipped.len() });
        for record in &skipped {
            o.event(&observe::RunEvent::Skipped { record });
        }
    }
    steps::install(StepContext { target: target.clone(), fixtures_dir: options.fixtures_dir.clone(), timeouts: options.timeouts });
    let parsed: Vec<gherkin::Feature> = files.iter().map(|f| f.feature.clone()).collect();
    let keep = selected.clone();
    let collector = PodWorld::cucumber::<&str>()
        .with_parser(PreParsed(parsed))
        .with_writer(Collector::new(total, skipped.len(), options.progress, options.observers.clone()))
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
        .max_concurrent_scenarios(options.concurrency.max(1))
        .before(|_, _, _, world| {
            async move {
                // A scenario whose namespace cannot be made fails before its first step.
                if let Err(e) = world.open().await {
                    panic!("cannot make the scenario's namespace {}: {e}", world.namespace);
                }
            }
            .boxed_local()
        })
        .after(|_, _, _, _, world| {
            async move {
                if let Some(w) = world {
                    w.cleanup().await;
                }
            }
            .boxed_local()
        })
        .filter_run((), move |feature, _, scenario| keep.contains(&(feature.path.clone().unwrap_or_default(), scenario.position.line)))
        .await;
    steps::uninstall();

    if !collector.parse_errors.is_empty() {
        return Err(RunError::Input(collector.parse_errors));
    }
    let mut scenarios = collector.records;
    // Whatever was selected but produced no record did not run: never count it as passed.
    let seen: HashSet<ScenarioKey> = scenarios.iter().map(|s| (PathBuf::from(&s.feature_path), s.line)).collect();
    for f in &files {
        for (rule, scenario) in features::scenarios(&f.feature) {
            let key = (f.path.clone(), scenario.position.line);
            if selected.contains(&key) && !seen.contains(&key) {
                scenarios.push(unrun_record(f, rule, scenario, Status::Failed, "the scenario did not run to its end".into()));
            }
        }
    }
    scenarios.extend(skipped);
    scenarios.sort_by(|a, b| (&a.feature_path, a.line).cmp(&(&b.feature_path, b.line)));
    let mut record =
        RunRecord::new(target.name(), env!("CARGO_PKG_VERSION"), started, chrono::Utc::now(), features::sha256(&files), scenarios);
    record.target_changes = target.changes();
    if let Some(baseline) = &baseline {
        report::baseline::apply(baseline, &mut record);
    }
    report::write_all(&record, &options.report_dir)?;
    Ok(record)
}

/// The record of a scenario that did not run: skipped with a reason, or failed because it never
/// finished (never counted as passed).
fn unrun_record(
    f: &FeatureFile,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
    status: Status,
    reason: String,
) -> ScenarioRecord {
    let line = scenario.position.line;
    let failure = (status == Status::Failed).then(|| report::Failure::new("(none)", line, reason.clone()));
    ScenarioRecord {
        feature: f.feature.name.clone(),
        feature_path: f.path.display().to_string(),
        name: scenario.name.clone(),
        line,
        tags: all_tags(&f.feature, rule, scenario),
        status,
        reason: Some(reason),
        duration_ms: 0,
        failure,
    }
}

/// Hands cucumber the features as they were parsed and checked.
struct PreParsed(Vec<gherkin::Feature>);

impl cucumber::Parser<()> for PreParsed {
    type Cli = cucumber::cli::Empty;
    type Output = futures::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, _input: (), _cli: Self::Cli) -> Self::Output {
        futures::stream::iter(self.0.into_iter().map(Ok).collect::<Vec<_>>())
    }
}
