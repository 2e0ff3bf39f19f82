//! `podspec run`.

use std::path::PathBuf;
use std::process::ExitCode;

use podspec::report;
use podspec::runner::{self, RunError, RunOptions};
use podspec::steps::Timeouts;

use super::say_error;
use super::target::StartArgs;
use crate::commands::cli::{at_least_one, ClusterArgs, CriArgs, PodmanArgs, SelectArgs, TargetKind};
use crate::signals::Signals;

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    #[arg(long, value_enum, default_value = "reference")]
    pub(crate) target: TargetKind,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    #[arg(long, default_value = "reports")]
    pub(crate) report_dir: PathBuf,
    /// How many scenarios run at once (at least 1).
    #[arg(long, default_value_t = 4, value_parser = at_least_one())]
    pub(crate) concurrency: usize,
    /// Where pod manifests (`pods/`) are.
    #[arg(long, default_value = "fixtures")]
    pub(crate) fixtures: PathBuf,
    /// Gate the run against the target's known failures (lines of
    /// `<feature path> | <scenario name> | <reason>`): exit 0 only when the run's failures are
    /// exactly those.
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,
    /// The reference node's static pod manifest directory (default: one of its own in the
    /// run's state directory, removed after the run). The node runs the manifests found there.
    #[arg(long, value_name = "DIR")]
    pub(crate) static_pod_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) cri: CriArgs,
    #[command(flatten)]
    pub(crate) podman: PodmanArgs,
    /// Stop at the first failed scenario; the reports are still written, the rest marked not run.
    #[arg(long)]
    pub(crate) fail_fast: bool,
    /// Run a failed scenario again, up to N times (as cucumber's --retry). One that then passes
    /// is reported as flaky, with each failed attempt; it counts as passed, never as plainly so.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) retry: usize,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
}

pub(crate) async fn run(args: RunArgs, mut signals: Signals) -> anyhow::Result<ExitCode> {
    let rerun = match crate::commands::cli::read_rerun(args.select.rerun_failed.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            say_error(&e);
            return Ok(ExitCode::from(2));
        }
    };
    let options = RunOptions {
        features: args.select.features,
        tags: args.select.tags,
        name: args.select.name,
        report_dir: args.report_dir,
        concurrency: args.concurrency,
        fixtures_dir: args.fixtures,
        timeouts: Timeouts::default(),
        progress: true,
        baseline: args.baseline,
        allow_empty: args.select.allow_empty,
        fail_fast: args.fail_fast,
        retry: args.retry,
        observers: Vec::new(),
        rerun,
    };
    crate::commands::cli::refuse_options_of_other_targets(&[args.target.name], Some(&args.cri), Some(&args.podman))?;
    if args.static_pod_dir.is_some() && !args.target.static_pod_dir {
        anyhow::bail!("--static-pod-dir sets the reference node's manifest directory; the chosen target has none");
    }
    // The report directory is checked, and an earlier run's reports removed, before the target starts.
    if let Err(e) = report::prepare_dir(&options.report_dir) {
        eprintln!("podspec: {e}");
        return Ok(ExitCode::from(2));
    }
    // A signal while the target starts waits until it has started (so that it can be shut down
    // whole): the run then reports every scenario as not run.
    let start = StartArgs {
        static_pod_dir: args.static_pod_dir.clone(),
        cri: &args.cri,
        podman: &args.podman,
        cluster: &args.cluster,
        selection: Some(&options),
    };
    let target = args.target.start(&start).await?.target;
    let outcome = runner::run_until(&options, target.clone(), signals.next()).await;
    // An interrupted run never waits out its pods' grace periods.
    if matches!(&outcome, Ok(record) if record.interrupted.as_deref().is_some_and(|w| w.starts_with("interrupted"))) {
        if target.stop_at_once() {
            eprintln!("podspec: interrupted: the run's pods are stopped at once (grace period 0), without waiting out their grace periods");
        } else {
            eprintln!("podspec: interrupted: target {} gives the run's pods their grace periods as they stop", target.name());
        }
    }
    // Whatever happened, the target gives back everything it holds.
    let removed = match super::clean_up_or_leave_at_second_signal(target.shutdown(), &mut signals).await {
        Ok(()) => "everything the run started was removed",
        Err(e) => {
            eprintln!("podspec: {e}");
            "NOT everything the run started was removed (above)"
        }
    };
    match outcome {
        Err(RunError::Input(errors)) => {
            for e in errors {
                say_error(&e);
            }
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
        Ok(record) => {
            let s = record.summary;
            eprintln!(
                "podspec: {} passed, {} failed, {} skipped; reports in {}",
                s.passed,
                s.failed,
                s.skipped,
                options.report_dir.display()
            );
            if let Some(timing) = record.timing() {
                eprintln!("podspec: {timing}");
            }
            if let Some(why) = &record.interrupted {
                let not_run = record.scenarios.iter().filter(|s| s.reason.as_deref().is_some_and(|r| r.starts_with("not run:"))).count();
                eprintln!("podspec: {why}: {not_run} scenario(s) not run; {removed}");
                if why.starts_with("interrupted") {
                    return Ok(ExitCode::from(130));
                }
            }
            let ok = match &record.baseline {
                Some(verdict) => {
                    eprint!("podspec: {verdict}");
                    verdict.passed
                }
                None => s.failed == 0,
            };
            Ok(if ok && record.interrupted.is_none() { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}
