//! `podspec certify`: runs every `@conformance` scenario against a target and writes a results
//! bundle a conformance reviewer can check (`bundle`), with a run log in the manner of
//! `e2e.log` (`log`), the environment (`environment`) and PRODUCT.yaml (`product`);
//! `--verify` checks such a bundle (`verify`). In Sonobuoy mode (`sonobuoy`) the bundle goes
//! where Sonobuoy's worker collects it, and progress is reported to it.

pub mod bundle;
pub mod coverage;
pub mod environment;
pub mod log;
pub mod product;
pub mod sonobuoy;
pub mod verify;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::report::{RunRecord, Status};
use crate::runner::observe::Observer;
use crate::runner::{self, RunError, RunOptions};
use crate::targets::kube::connect::NodeInfo;
use crate::targets::Target;

use self::environment::{ConformanceCount, Environment, Missing};
use self::product::Product;

/// The tag that marks what Kubernetes requires of every cluster.
pub const CONFORMANCE_TAG: &str = "conformance";

/// What is being certified, as found before the run.
#[derive(Debug, Clone)]
pub struct Description {
    pub server_url: String,
    pub server_version: String,
    pub nodes: Vec<NodeInfo>,
}

#[derive(Debug, Clone)]
pub struct CertifyOptions {
    /// Features, fixtures, concurrency, timeouts; `tags` narrows the `@conformance` scenarios.
    pub run: RunOptions,
    /// Where the bundle is written (in Sonobuoy mode: the results directory).
    pub output: PathBuf,
    pub product: Product,
    /// Sonobuoy mode: write the `done` file, report progress.
    pub sonobuoy: bool,
    /// How the user narrowed the selection besides tags (`--name REGEX`). Whether the run is
    /// partial is decided by what it left out of the full `@conformance` set (`completeness`).
    pub narrowed_by: Vec<String>,
    /// The Kubernetes release whose Pod-related conformance tests the bundle counts against.
    pub release: String,
}

#[derive(Debug)]
pub struct Outcome {
    pub bundle: PathBuf,
    pub record: RunRecord,
    pub environment: Environment,
    pub product_problems: Vec<String>,
    pub done_file: Option<PathBuf>,
}

impl Outcome {
    /// A complete, passing bundle with a complete PRODUCT.yaml.
    pub fn complete_and_passing(&self) -> bool {
        self.record.summary.failed == 0 && !self.environment.partial && self.product_problems.is_empty() && self.record.summary.total() > 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error(transparent)]
    Release(#[from] coverage::UnknownRelease),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CertifyError {
    let what = what.into();
    move |source| CertifyError::Io { what, source }
}

/// The tag expression of a certification run, narrowed by the user's (if any).
pub fn tag_expression(narrowing: Option<&str>) -> String {
    match narrowing {
        Some(t) if !t.trim().is_empty() => format!("@{CONFORMANCE_TAG} and ({t})"),
        _ => format!("@{CONFORMANCE_TAG}"),
    }
}

/// Every `@conformance` scenario of the features: (feature path, name).
pub fn conformance_scenarios(features: &[PathBuf]) -> Result<Vec<(String, String)>, RunError> {
    let paths = runner::features::find(features).map_err(RunError::Input)?;
    let (files, errors) = runner::features::parse(&paths);
    if !errors.is_empty() {
        return Err(RunError::Input(errors));
    }
    let mut out = Vec::new();
    for f in &files {
        for (rule, scenario) in runner::features::scenarios(&f.feature) {
            let tagged = f
                .feature
                .tags
                .iter()
                .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
                .chain(scenario.tags.iter())
                .any(|t| t == CONFORMANCE_TAG);
            if tagged {
                out.push((f.path.display().to_string(), scenario.name.clone()));
            }
        }
    }
    Ok(out)
}

pub async fn certify(options: &CertifyOptions, target: Arc<dyn Target>, description: &Description) -> Result<Outcome, CertifyError> {
    let started = jiff::Timestamp::now();
    let narrowing = options.run.tags.clone();
    let tags = tag_expression(narrowing.as_deref());
    let all_conformance = conformance_scenarios(&suite_roots(&options.run.features))?;
    let files = coverage::read_features(&options.run.features).map_err(RunError::Input)?;
    let coverage = coverage::coverage(&files, &options.release)?;
    std::fs::create_dir_all(&options.output).map_err(io(format!("create {}", options.output.display())))?;
    let work = WorkDir(options.output.join(format!(".podspec-certify-{}", std::process::id())));
    std::fs::create_dir_all(&work.0).map_err(io(format!("create {}", work.0.display())))?;
    // Removed whatever the end: done, failed, or dropped by a signal mid-run.
    run_into(options, target.clone(), description, &work.0, &tags, narrowing.as_deref(), &all_conformance, &coverage, started).await
}

/// The suite a selection of feature paths belongs to: each folder given, and the folder of each
/// file given. `--features /podspec/features` is then the whole of its suite, and `--features
/// features/ipc.feature` one file of `features`.
pub fn suite_roots(features: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = features
        .iter()
        .map(|p| match p.is_dir() {
            true => p.clone(),
            false => match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            },
        })
        .collect();
    roots.dedup();
    roots
}

/// What a run left out of the full `@conformance` set, and which options left it out: `full`
/// is every `@conformance` scenario of the suite, `selected` those of the features given, `run`
/// those the run ran or skipped. `--features` narrows only when a scenario of the suite is not in
/// the features given; `selection` (`--tags ...`, `--name ...`) only when it left out one they hold.
/// A run is partial exactly when something is missing.
pub fn completeness(
    full: &[(String, String)],
    selected: &[(String, String)],
    run: &BTreeSet<(String, String)>,
    features_option: &str,
    selection: &[String],
) -> (Vec<String>, Vec<Missing>) {
    let selected: BTreeSet<&(String, String)> = selected.iter().collect();
    let mut missing = Vec::new();
    let (mut by_features, mut by_selection) = (false, false);
    for s in full.iter().filter(|s| !run.contains(*s)) {
        let reason = if !selected.contains(s) {
            by_features = true;
            format!("not in {features_option}")
        } else if selection.is_empty() {
            "not run".to_string()
        } else {
            by_selection = true;
            format!("not selected by {}", selection.join(", "))
        };
        missing.push(Missing { feature_path: s.0.clone(), scenario: s.1.clone(), reason });
    }
    let mut narrowed_by = Vec::new();
    if by_features {
        narrowed_by.push(features_option.to_string());
    }
    if by_selection {
        narrowed_by.extend(selection.iter().cloned());
    }
    (narrowed_by, missing)
}

/// How many of a release's Pod-related conformance tests the features mirror.
pub fn conformance_count(features: &[PathBuf], release: &str) -> Result<ConformanceCount, CertifyError> {
    let files = coverage::read_features(features).map_err(RunError::Input)?;
    let c = coverage::coverage(&files, release)?;
    Ok(ConformanceCount { list: coverage::list_path(&c.release), covered: c.covered(), total: c.tests.len(), release: c.release })
}

/// The directory a bundle is assembled in, removed when dropped.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_into(
    options: &CertifyOptions,
    target: Arc<dyn Target>,
    description: &Description,
    work: &Path,
    tags: &str,
    narrowing: Option<&str>,
    all_conformance: &[(String, String)],
    coverage: &coverage::Coverage,
    started: jiff::Timestamp,
) -> Result<Outcome, CertifyError> {
    let count = ConformanceCount {
        list: coverage::list_path(&coverage.release),
        covered: coverage.covered(),
        total: coverage.tests.len(),
        release: coverage.release.clone(),
    };
    let version_line = format!(
        "{} (target {}, server {} {}, tags {tags}, counting against Kubernetes v{}'s Pod-related conformance tests)",
        env!("CARGO_PKG_VERSION"),
        target.name(),
        description.server_url,
        description.server_version,
        count.release
    );
    let run_log = Arc::new(log::RunLog::create(&work.join(bundle::LOG), &version_line).map_err(io("create podspec.log"))?);
    let progress = if options.sonobuoy { sonobuoy::ProgressReporter::from_env().map(Arc::new) } else { None };
    let mut run = options.run.clone();
    run.tags = Some(tags.to_string());
    run.report_dir = work.to_path_buf();
    run.observers.push(run_log.clone() as Arc<dyn Observer>);
    if let Some(p) = &progress {
        run.observers.push(p.clone() as Arc<dyn Observer>);
    }
    let record = runner::run(&run, target).await?;
    let s = record.summary;
    run_log.line(&format!(
        "Ran {} of {} scenarios: {} passed, {} failed, {} skipped",
        s.passed + s.failed,
        s.total(),
        s.passed,
        s.failed,
        s.skipped
    ));
    run_log.line(&log::verdict_line(s.passed + s.flaky, s.failed, s.skipped));
    if let Some(p) = &progress {
        p.finish(format!("podspec: done: {s}"), s.total()).await;
    }

    // What a complete certification would have run and this one did not: the skipped
    // scenarios, and those of the full @conformance set the run never reached.
    let mut missing: Vec<Missing> = record
        .scenarios
        .iter()
        .filter(|r| r.status == Status::Skipped)
        .map(|r| Missing { feature_path: r.feature_path.clone(), scenario: r.name.clone(), reason: r.reason.clone().unwrap_or_default() })
        .collect();
    let ran: BTreeSet<(String, String)> = record.scenarios.iter().map(|r| (r.feature_path.clone(), r.name.clone())).collect();
    let selection: Vec<String> = narrowing.map(|t| format!("--tags {t}")).into_iter().chain(options.narrowed_by.iter().cloned()).collect();
    let selected = conformance_scenarios(&options.run.features)?;
    let features_option =
        format!("--features {}", options.run.features.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "));
    let (narrowed_by, not_run) = completeness(all_conformance, &selected, &ran, &features_option, &selection);
    missing.extend(not_run);
    let environment = Environment {
        target: record.target.clone(),
        server_url: description.server_url.clone(),
        server_version: description.server_version.clone(),
        nodes: description.nodes.clone(),
        podspec_version: env!("CARGO_PKG_VERSION").into(),
        features_sha256: record.features_sha256.clone(),
        tags: tags.to_string(),
        started,
        finished: jiff::Timestamp::now(),
        partial: !missing.is_empty(),
        narrowed_by,
        missing,
        target_changes: record.target_changes.clone(),
        conformance: count,
    };
    let write = |name: &str, bytes: Vec<u8>| std::fs::write(work.join(name), bytes).map_err(io(format!("write {name}")));
    // Each testcase names the conformance tests its scenario mirrors.
    let mut codenames: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for (test, mirrors) in &coverage.tests {
        for m in mirrors {
            for testcase in &m.testcases {
                codenames.entry((m.feature_path.clone(), testcase.clone())).or_default().push(test.clone());
            }
        }
    }
    let junit = std::fs::read_to_string(work.join(crate::report::JUNIT_FILE)).map_err(io("read the run's junit"))?;
    let junit = bundle::with_codenames(&junit, &codenames)
        .map_err(|e| CertifyError::Io { what: "add the codenames to junit".into(), source: std::io::Error::other(e.to_string()) })?;
    std::fs::remove_file(work.join(crate::report::JUNIT_FILE)).map_err(io("remove the run's junit"))?;
    write(bundle::JUNIT, junit.into_bytes())?;
    write(bundle::CONFORMANCE, coverage::listing(coverage).into_bytes())?;
    write(
        bundle::README,
        bundle::readme(
            env!("CARGO_PKG_VERSION"),
            &environment.target,
            &format!("{} {}", environment.server_url, environment.server_version),
            &coverage.release,
            coverage.covered(),
            coverage.tests.len(),
        )
        .into_bytes(),
    )?;
    write(bundle::ENVIRONMENT, serde_json::to_vec_pretty(&environment).expect("environment serializes"))?;
    write(bundle::PRODUCT, serde_yaml::to_string(&options.product).expect("product serializes").into_bytes())?;
    let out = options.output.join(bundle::file_name(started));
    let bundle_path = bundle::write(work, &out).map_err(io(format!("write {}", out.display())))?;
    let done_file = if options.sonobuoy {
        Some(sonobuoy::write_done(&options.output, &bundle_path).map_err(io("write Sonobuoy's done file"))?)
    } else {
        None
    };
    Ok(Outcome { bundle: bundle_path, record, environment, product_problems: options.product.problems(), done_file })
}
