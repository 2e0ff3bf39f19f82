//! `podspec certify`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use podspec::runner::{RunError, RunOptions};
use podspec::steps::Timeouts;

use super::say_error;
use super::target::{StartArgs, Started};
use crate::commands::cli::{at_least_one, ClusterArgs, CriArgs, PodmanArgs, TargetKind};
use crate::signals::Signals;

#[derive(clap::Args)]
pub(crate) struct CertifyArgs {
    #[arg(long, value_enum, default_value = "kube")]
    pub(crate) target: TargetKind,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    #[command(flatten)]
    pub(crate) cri: CriArgs,
    #[command(flatten)]
    pub(crate) podman: PodmanArgs,
    /// Check a results bundle as a conformance reviewer does, instead of running anything.
    #[arg(long, value_name = "BUNDLE")]
    pub(crate) verify: Option<PathBuf>,
    /// Where to write podspec-results-<UTC time>.tar.gz [default: .; in Sonobuoy mode $SONOBUOY_RESULTS_DIR].
    #[arg(long, value_name = "DIR")]
    pub(crate) output: Option<PathBuf>,
    /// Sonobuoy mode (also when SONOBUOY_RESULTS_DIR is set): results into $SONOBUOY_RESULTS_DIR,
    /// its `done` file, progress to SONOBUOY_PROGRESS_PORT.
    #[arg(long)]
    pub(crate) sonobuoy: bool,
    /// Narrows the @conformance scenarios (the bundle is then partial).
    #[arg(long)]
    pub(crate) tags: Option<String>,
    /// Only the @conformance scenarios whose name matches this regular expression (a partial run).
    #[arg(long, value_name = "REGEX")]
    pub(crate) name: Option<String>,
    /// Only the @conformance scenarios that failed in an earlier run's report.json (a bundle
    /// holds one): the bundle then names it and is partial (`narrowed_by`) unless every
    /// @conformance scenario ran.
    #[arg(long, value_name = "REPORT.json")]
    pub(crate) rerun_failed: Option<PathBuf>,
    /// The Kubernetes release whose Pod-related conformance tests the bundle counts against.
    #[arg(long, value_name = "RELEASE", default_value = podspec::certify::coverage::DEFAULT_RELEASE)]
    pub(crate) release: String,
    #[arg(long = "features", default_value = "features")]
    pub(crate) features: Vec<PathBuf>,
    #[arg(long, default_value = "fixtures")]
    pub(crate) fixtures: PathBuf,
    #[arg(long, default_value_t = 4, value_parser = at_least_one())]
    pub(crate) concurrency: usize,
    #[arg(long)]
    pub(crate) product_name: Option<String>,
    #[arg(long)]
    pub(crate) product_vendor: Option<String>,
    #[arg(long)]
    pub(crate) product_version: Option<String>,
    #[arg(long)]
    pub(crate) product_website: Option<String>,
    #[arg(long)]
    pub(crate) product_docs: Option<String>,
    #[arg(long)]
    pub(crate) product_logo: Option<String>,
    /// distribution, hosted platform or installer.
    #[arg(long)]
    pub(crate) product_type: Option<String>,
    #[arg(long)]
    pub(crate) product_description: Option<String>,
    #[arg(long)]
    pub(crate) product_contact: Option<String>,
}

impl CertifyArgs {
    pub(crate) fn product(&self) -> podspec::certify::product::Product {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        podspec::certify::product::Product {
            vendor: v(&self.product_vendor),
            name: v(&self.product_name),
            version: v(&self.product_version),
            website_url: v(&self.product_website),
            documentation_url: v(&self.product_docs),
            product_logo_url: v(&self.product_logo),
            product_type: v(&self.product_type),
            description: v(&self.product_description),
            contact_email_address: v(&self.product_contact),
        }
    }
}

/// `podspec certify`: exit 0 for a complete, passing bundle; 1 for a failing or partial one
/// (or one `--verify` rejects); 2 for bad input.
pub(crate) async fn certify(args: CertifyArgs, mut signals: Signals) -> anyhow::Result<ExitCode> {
    use podspec::certify::{self, sonobuoy};
    if let Some(bundle) = &args.verify {
        let files = certify::bundle::read(bundle).with_context(|| format!("cannot read bundle {}", bundle.display()))?;
        let verdict = certify::verify::verify(&files);
        for p in &verdict.problems {
            eprintln!("podspec: {}: {p}", bundle.display());
        }
        return Ok(if verdict.passed() {
            println!("{}: complete and passing ({} testcases)", bundle.display(), verdict.testcases);
            ExitCode::SUCCESS
        } else {
            println!("{}: REJECTED ({} problems)", bundle.display(), verdict.problems.len());
            ExitCode::from(1)
        });
    }
    if let Err(e) = certify::coverage::release(&args.release) {
        say_error(&e.to_string());
        return Ok(ExitCode::from(2));
    }
    let rerun = match crate::commands::cli::read_rerun(args.rerun_failed.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            say_error(&e);
            return Ok(ExitCode::from(2));
        }
    };
    let product = args.product();
    let problems = product.problems();
    if !problems.is_empty() {
        // Every field CNCF requires, named with the option that sets it.
        let flag = |p: &str| {
            [
                ("vendor", "vendor"),
                ("name", "name"),
                ("version", "version"),
                ("website_url", "website"),
                ("documentation_url", "docs"),
                ("type", "type"),
                ("description", "description"),
                ("contact_email_address", "contact"),
            ]
            .iter()
            .find(|(field, _)| p == format!("PRODUCT.yaml: {field} is missing"))
            .map(|(_, f)| format!("{p} (--product-{f})"))
            .unwrap_or_else(|| p.to_string())
        };
        anyhow::bail!("{}", problems.iter().map(|p| flag(p)).collect::<Vec<_>>().join("\n"));
    }
    crate::commands::cli::refuse_options_of_other_targets(&[args.target.name], Some(&args.cri), Some(&args.podman))?;
    let sonobuoy_mode = args.sonobuoy || std::env::var_os(sonobuoy::RESULTS_DIR_ENV).is_some();
    let output = match (&args.output, sonobuoy_mode) {
        (Some(dir), _) => dir.clone(),
        (None, true) => sonobuoy::results_dir(),
        (None, false) => PathBuf::from("."),
    };
    // The @conformance scenarios, for a target that checks up front that it may run them.
    let selection = RunOptions {
        features: args.features.clone(),
        tags: Some(certify::tag_expression(args.tags.as_deref())),
        name: args.name.clone(),
        fixtures_dir: args.fixtures.clone(),
        rerun: rerun.clone(),
        ..Default::default()
    };
    let start =
        StartArgs { static_pod_dir: None, cri: &args.cri, podman: &args.podman, cluster: &args.cluster, selection: Some(&selection) };
    let Started { target, server } = args.target.start(&start).await?;
    let description = match server {
        Some(info) => certify::Description { server_url: info.url, server_version: info.version, nodes: info.nodes },
        None => certify::Description {
            server_url: String::new(),
            server_version: format!("podspec {} ({} target)", env!("CARGO_PKG_VERSION"), target.name()),
            nodes: Vec::new(),
        },
    };
    let options = certify::CertifyOptions {
        run: RunOptions {
            features: args.features.clone(),
            tags: args.tags.clone(),
            name: args.name.clone(),
            report_dir: output.clone(),
            concurrency: args.concurrency,
            fixtures_dir: args.fixtures.clone(),
            timeouts: Timeouts::default(),
            progress: true,
            baseline: None,
            observers: Vec::new(),
            rerun,
            ..Default::default()
        },
        output,
        product,
        sonobuoy: sonobuoy_mode,
        narrowed_by: args
            .name
            .iter()
            .map(|n| format!("--name {n}"))
            .chain(args.rerun_failed.iter().map(|p| format!("--rerun-failed {}", p.display())))
            .collect(),
        release: args.release.clone(),
    };
    let outcome = tokio::select! {
        r = certify::certify(&options, target.clone(), &description) => Some(r),
        _ = signals.next() => None,
    };
    if let Err(e) = super::clean_up_or_leave_at_second_signal(target.shutdown(), &mut signals).await {
        eprintln!("podspec: {e}");
    }
    let outcome = match outcome {
        None => {
            eprintln!("podspec: interrupted; everything the run started was removed; no bundle written");
            return Ok(ExitCode::from(130));
        }
        Some(Err(certify::CertifyError::Run(RunError::Input(errors)))) => {
            for e in errors {
                say_error(&e);
            }
            return Ok(ExitCode::from(2));
        }
        Some(Err(e)) => return Err(e.into()),
        Some(Ok(o)) => o,
    };
    let s = outcome.record.summary;
    eprintln!("podspec: {} passed, {} failed, {} skipped", s.passed, s.failed, s.skipped);
    let count = &outcome.environment.conformance;
    eprintln!(
        "podspec: counted against Kubernetes v{}: {} of its {} Pod-related conformance tests have an equivalent scenario ({})",
        count.release, count.covered, count.total, count.list
    );
    if outcome.environment.partial {
        eprintln!(
            "podspec: PARTIAL ({}): {} @conformance scenario(s) missing:",
            if outcome.environment.narrowed_by.is_empty() {
                "scenarios skipped".to_string()
            } else {
                outcome.environment.narrowed_by.join(", ")
            },
            outcome.environment.missing.len()
        );
        for m in &outcome.environment.missing {
            eprintln!("  {} | {}: {}", m.feature_path, m.scenario, m.reason);
        }
    }
    for p in &outcome.product_problems {
        eprintln!("podspec: {p}");
    }
    println!("{}", outcome.bundle.display());
    if let Some(done) = &outcome.done_file {
        eprintln!("podspec: Sonobuoy done file {}", done.display());
    }
    Ok(if outcome.complete_and_passing() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
