//! Runs the selected scenarios against a target and writes the reports.
//!
//! Before anything runs, every feature is parsed and checked (`features`): a bad input stops
//! the run with exit code 2 and leaves nothing behind. Scenarios whose tags ask for a capability
//! the target lacks are reported as skipped with that reason.

mod collect;
pub mod features;
pub mod observe;
pub mod select;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cucumber::gherkin;
use cucumber::World as _;
use futures::FutureExt as _;

use crate::report::{self, RunRecord, ScenarioRecord, Status};
use crate::steps::{self, PodWorld, StepContext, Timeouts};
use crate::targets::{Target, TargetCapabilities as _};

use self::collect::{all_tags, Collector, ScenarioKey};
use self::features::FeatureFile;
pub use self::select::{Planned, Rerun, Selection};

#[derive(Debug, Clone, Default)]
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
    /// A run that selects no scenario is an input error unless this is set (`--allow-empty`).
    pub allow_empty: bool,
    /// Stop at the first failed scenario; the rest are reported as not run (`--fail-fast`).
    pub fail_fast: bool,
    /// Select only the scenarios whose name this regular expression matches (`--name`).
    pub name: Option<String>,
    /// Run a failed scenario again, up to this many times (`--retry`); one that then passes is
    /// reported as flaky, with each failed attempt.
    pub retry: usize,
    /// Told of every scenario and step as the run goes (a certification log, progress reports).
    pub observers: Vec<Arc<dyn observe::Observer>>,
    /// Run only the failed scenarios of an earlier report (`--rerun-failed`), read before the
    /// report directory is emptied (it may hold that report).
    pub rerun: Option<Rerun>,
}

/// Why a run stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT or SIGTERM (the signal's name).
    Signal(&'static str),
    /// `--fail-fast`: a scenario failed.
    FailFast,
}

impl Stop {
    /// The reason given to the scenarios that did not run.
    pub fn reason(&self) -> String {
        match self {
            Stop::Signal(sig) => format!("not run: the run was interrupted ({sig})"),
            Stop::FailFast => "not run: --fail-fast stopped the run at the first failure".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The features, manifests or options are wrong: nothing ran (exit code 2).
    #[error("{}", .0.join("\n"))]
    Input(Vec<String>),
    #[error("writing reports: {0}")]
    Report(#[from] report::ReportError),
}

/// The scenarios a run would select and skip, for a target known only by name and
/// capabilities (`podspec list`): features are found, parsed and checked as `run` checks them
/// (syntax, unknown steps, fixture names, manifests), but for what only a started target can
/// answer (the fields it refuses, its images); nothing is started or run.
pub fn list(
    options: &RunOptions,
    target: &str,
    capabilities: &std::collections::BTreeSet<crate::targets::Capability>,
) -> Result<Selection, RunError> {
    let paths = features::find(&options.features).map_err(RunError::Input)?;
    // Every file that parsed is still checked, so that one listing reports every input error.
    let (files, mut errors) = features::parse(&paths);
    if let Err(more) = features::check_with(&files, &options.fixtures_dir, None) {
        errors.extend(more);
    }
    if !errors.is_empty() {
        return Err(RunError::Input(errors));
    }
    select::select(&files, options, target, capabilities)
}

/// Parses and checks the features without running anything.
pub fn prepare(options: &RunOptions, target: &dyn Target) -> Result<Vec<FeatureFile>, RunError> {
    let paths = features::find(&options.features).map_err(RunError::Input)?;
    // Every file that parsed is still checked, so that one run reports every input error.
    let (files, mut errors) = features::parse(&paths);
    if let Err(more) = features::check(&files, &options.fixtures_dir, target) {
        errors.extend(more);
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(RunError::Input(errors))
    }
}

pub async fn run(options: &RunOptions, target: Arc<dyn Target>) -> Result<RunRecord, RunError> {
    run_until(options, target, std::future::pending()).await
}

/// Runs until the end, or until `interrupt` completes (a signal): then the scenarios that
/// finished are reported as they ended and the rest as not run, and the record says why.
pub async fn run_until(
    options: &RunOptions,
    target: Arc<dyn Target>,
    interrupt: impl std::future::Future<Output = &'static str>,
) -> Result<RunRecord, RunError> {
    let started = jiff::Timestamp::now();
    // The report directory is usable, and no earlier run's reports are left in it.
    report::prepare_dir(&options.report_dir).map_err(|e| RunError::Input(vec![e.to_string()]))?;
    let baseline = match &options.baseline {
        Some(path) => Some(report::baseline::read(path).map_err(|e| RunError::Input(e.messages()))?),
        None => None,
    };
    let files = prepare(options, target.as_ref())?;
    let Selection { selected, skipped, .. } = select::select(&files, options, target.name(), &target.capabilities())?;
    let selected: HashSet<ScenarioKey> = selected.into_iter().map(|p| p.key).collect();
    let skipped: Vec<ScenarioRecord> = skipped
        .into_iter()
        .map(|p| {
            let f = &files[p.file];
            let (rule, scenario) = features::scenarios(&f.feature)[p.index];
            // What the target found when it looked for the capability, where it says.
            let missing = p.tags.iter().filter_map(|t| crate::targets::Capability::from_tag(t)).find(|c| !target.has(*c));
            let note = missing.and_then(|c| target.capability_note(c));
            let skip = p.skip.unwrap_or_default();
            let skip = match note {
                Some(note) => format!("{skip}: {note}"),
                None => skip,
            };
            unrun_record(f, rule, scenario, Status::Skipped, skip)
        })
        .collect();
    let total = selected.len() + skipped.len();
    if options.progress {
        if let Some(r) = options.rerun.as_ref().filter(|r| r.failed.is_empty()) {
            eprintln!("podspec: --rerun-failed {}: that report has no failed scenario; nothing to run again", r.of.report);
        }
        eprintln!("podspec: running {} scenarios against {} ({} skipped)", selected.len(), target.name(), skipped.len());
        for s in &skipped {
            eprintln!(
                "[  -/{total}] skip {}:{}  {}: {}",
                report::terminal_safe(&s.feature_path),
                s.line,
                report::terminal_safe(&s.name),
                report::terminal_safe(s.reason.as_deref().unwrap_or(""))
            );
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
    let writer = Collector::new(total, skipped.len(), options.progress, options.observers.clone());
    let records = writer.records.clone();
    let mut failures = writer.failures();
    // What the target changed in each scenario's manifests, gathered after each attempt.
    let changes: Arc<Mutex<HashMap<ScenarioKey, Vec<String>>>> = Arc::default();
    let changes_of = changes.clone();
    // What each scenario's clean-up could not remove, with the scenario's place.
    let left_behind: Arc<Mutex<Vec<String>>> = Arc::default();
    let left_behind_of = left_behind.clone();
    let retry = options.retry;
    let cucumber = PodWorld::cucumber::<&str>()
        .with_parser(PreParsed(parsed))
        .with_writer(writer)
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
        .after(move |feature, _, scenario, _, world| {
            let key = (feature.path.clone().unwrap_or_default(), scenario.position.line);
            let changes = changes_of.clone();
            let left_behind = left_behind_of.clone();
            async move {
                if let Some(w) = world {
                    let place = format!("{}:{}", key.0.display(), key.1);
                    record_changes(&changes, key, std::mem::take(&mut w.manifest_changes));
                    let left = w.cleanup().await;
                    left_behind.lock().unwrap().extend(left.into_iter().map(|what| format!("{place}: {what}")));
                }
            }
            .boxed_local()
        })
        // Only `--retry` retries: a scenario's `@retry` tag (cucumber's own) does nothing here.
        .retry_options(move |_, _, _, _| {
            (retry > 0).then(|| cucumber::runner::basic::RetryOptions { retries: cucumber::event::Retries::initial(retry), after: None })
        })
        .filter_run((), move |feature, _, scenario| keep.contains(&(feature.path.clone().unwrap_or_default(), scenario.position.line)));
    let fail_fast = options.fail_fast;
    let first_failure = async move {
        if !fail_fast {
            return std::future::pending().await;
        }
        let _ = failures.wait_for(|n| *n > 0).await;
    };
    let (stopped, parse_errors) = tokio::select! {
        collector = cucumber => (None, collector.parse_errors),
        sig = interrupt => (Some(Stop::Signal(sig)), Vec::new()),
        _ = first_failure => (Some(Stop::FailFast), Vec::new()),
    };
    steps::uninstall();

    if !parse_errors.is_empty() {
        return Err(RunError::Input(parse_errors));
    }
    let mut scenarios = std::mem::take(&mut *records.lock().unwrap());
    // Whatever was selected but produced no record did not run: never count it as passed.
    let seen: HashSet<ScenarioKey> = scenarios.iter().map(|s| (PathBuf::from(&s.feature_path), s.line)).collect();
    for f in &files {
        for (rule, scenario) in features::scenarios(&f.feature) {
            let key = (f.path.clone(), scenario.position.line);
            if selected.contains(&key) && !seen.contains(&key) {
                scenarios.push(match stopped {
                    Some(stop) => unrun_record(f, rule, scenario, Status::Skipped, stop.reason()),
                    None => unrun_record(f, rule, scenario, Status::Failed, "the scenario did not run to its end".into()),
                });
            }
        }
    }
    scenarios.extend(skipped);
    let mut changes = std::mem::take(&mut *changes.lock().unwrap());
    for s in &mut scenarios {
        if let Some(c) = changes.remove(&(PathBuf::from(&s.feature_path), s.line)) {
            s.manifest_changes = c;
        }
    }
    scenarios.sort_by(|a, b| (&a.feature_path, a.line).cmp(&(&b.feature_path, b.line)));
    let mut record =
        RunRecord::new(target.name(), env!("CARGO_PKG_VERSION"), started, jiff::Timestamp::now(), features::sha256(&files), scenarios);
    record.target_identity = target.identity();
    record.interrupted = match stopped {
        Some(Stop::Signal(sig)) => Some(format!("interrupted by {sig}")),
        Some(Stop::FailFast) => Some("stopped by --fail-fast at the first failure".into()),
        None => None,
    };
    record.target_changes = target.changes();
    record.left_behind = std::mem::take(&mut *left_behind.lock().unwrap());
    record.left_behind.sort();
    record.reruns = options.rerun.as_ref().map(|r| r.of.clone());
    if let Some(baseline) = &baseline {
        report::baseline::apply(baseline, &mut record);
    }
    report::write_all(&record, &options.report_dir)?;
    Ok(record)
}

/// Adds what the target changed in a scenario's manifests (one attempt's) to what it changed
/// before, once each.
fn record_changes(changes: &Mutex<HashMap<ScenarioKey, Vec<String>>>, key: ScenarioKey, these: Vec<String>) {
    let mut changes = changes.lock().unwrap();
    let seen = changes.entry(key).or_default();
    for c in these {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
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
        attempts: Vec::new(),
        manifest_changes: Vec::new(),
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
