//! `podspec list`.

use std::path::PathBuf;
use std::process::ExitCode;

use podspec::report;
use podspec::runner::{self, RunError, RunOptions};

use super::say_error;
use crate::commands::cli::{SelectArgs, TargetKind};

#[derive(clap::Args)]
pub(crate) struct ListArgs {
    #[arg(long, value_enum, default_value = "reference")]
    pub(crate) target: TargetKind,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    /// Which of Kubernetes' Pod-related conformance tests have an equivalent scenario.
    #[arg(long)]
    pub(crate) conformance: bool,
    /// Where pod manifests (`pods/`) are, checked as `run` checks them.
    #[arg(long, default_value = "fixtures")]
    pub(crate) fixtures: PathBuf,
    /// With --conformance: the Kubernetes release whose list to count against [default: 1.32].
    #[arg(long, value_name = "RELEASE", requires = "conformance")]
    pub(crate) release: Option<String>,
}

/// `podspec list`: the selected scenarios, each with its tags and whether the target would run
/// it; nothing runs and the target is not started.
pub(crate) fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    if args.conformance {
        return list_conformance(&args.select.features, args.release.as_deref().unwrap_or(podspec::certify::coverage::DEFAULT_RELEASE));
    }
    let (name, capabilities) = (args.target.name, (args.target.capabilities)());
    let options = RunOptions {
        features: args.select.features,
        tags: args.select.tags,
        name: args.select.name,
        allow_empty: args.select.allow_empty,
        fixtures_dir: args.fixtures,
        rerun: match crate::commands::cli::read_rerun(args.select.rerun_failed.as_deref()) {
            Ok(r) => r,
            Err(e) => {
                say_error(&e);
                return Ok(ExitCode::from(2));
            }
        },
        ..Default::default()
    };
    let plan = match runner::list(&options, name, &capabilities) {
        Ok(p) => p,
        Err(RunError::Input(errors)) => {
            for e in errors {
                say_error(&e);
            }
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let all = plan.all();
    for p in &all {
        let tags = p.tags.iter().map(|t| format!("@{t}")).collect::<Vec<_>>().join(" ");
        let verdict = match &p.skip {
            None => "run".to_string(),
            Some(why) => format!("skip: {}", report::terminal_safe(why)),
        };
        println!("{}:{}\t{}\t{}\t{verdict}", p.key.0.display(), p.key.1, report::terminal_safe(&p.name), tags);
    }
    eprintln!(
        "podspec: {} scenarios selected for {name}: {} would run, {} would be skipped",
        all.len(),
        plan.selected.len(),
        plan.skipped.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `podspec list --conformance`: which Pod-related conformance tests have an equivalent scenario.
pub(crate) fn list_conformance(features: &[PathBuf], release: &str) -> anyhow::Result<ExitCode> {
    use podspec::certify::coverage;
    if let Err(e) = coverage::release(release) {
        say_error(&e.to_string());
        return Ok(ExitCode::from(2));
    }
    let files = match coverage::read_features(features) {
        Ok(f) => f,
        Err(errors) => {
            for e in errors {
                say_error(&e);
            }
            return Ok(ExitCode::from(2));
        }
    };
    let c = coverage::coverage(&files, release)?;
    for (test, mirrors) in &c.tests {
        if mirrors.is_empty() {
            println!("missing  {test}");
        }
        for m in mirrors {
            println!("covered  {test}\n           by {}:{} {}", m.feature_path, m.line, m.scenario);
        }
    }
    for u in &c.unknown {
        eprintln!("podspec: {u}: not a Pod-related conformance test of Kubernetes v{} ({})", c.release, coverage::list_path(&c.release));
    }
    println!(
        "{} of {} Pod-related conformance tests (Kubernetes v{}) have an equivalent scenario; {} do not yet",
        c.covered(),
        c.tests.len(),
        c.release,
        c.tests.len() - c.covered()
    );
    Ok(if c.unknown.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
