//! `podspec bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use podspec::paths::Paths;

use super::serve::Api;
use super::target::{start_linux_node, StartArgs};
use crate::commands::cli::{ClusterArgs, CriArgs, PodmanArgs, TargetKind};

#[derive(clap::Args)]
pub(crate) struct BenchArgs {
    /// A target to measure (repeatable); any target other than reference is shown beside
    /// reference, measured in the same run as the baseline.
    #[arg(long = "target", value_enum, default_value = "reference")]
    pub(crate) targets: Vec<TargetKind>,
    /// How many two-container pods to start and delete.
    #[arg(long, default_value_t = 100)]
    pub(crate) pods: usize,
    /// Instead of pods one after another: N two-container pods started at once, in process
    /// (reference) and through serve, beside the same for N/10 (time to all Running, creates
    /// per second, each pod's start p50/p99, delete-all time, peak RSS and open files).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) scale: Option<u64>,
    /// Instead: N pods created into the store, each bound to a node that is not this one (so
    /// none runs), in process (reference) and through serve, with creates per second and each
    /// create's p50/p99 as the store reached 100, 1000, 10,000 ... pods and N, then one
    /// collection delete of them all.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "scale")]
    pub(crate) stored: Option<u64>,
    /// Write the run's results (date, commit, machine, load average, medians and p95s) as JSON
    /// to FILE, e.g. bench/results/<date>.json.
    #[arg(long, value_name = "FILE.json")]
    pub(crate) results: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) cri: CriArgs,
    #[command(flatten)]
    pub(crate) podman: PodmanArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
}

/// What bench starts a target with: the command line's options, no static pod directory, no
/// selection of scenarios.
fn start_args(args: &BenchArgs) -> StartArgs<'_> {
    StartArgs { static_pod_dir: None, cri: &args.cri, podman: &args.podman, cluster: &args.cluster, selection: None }
}

/// Measures each target in turn (reference first, as the baseline) and prints them side by side.
pub(crate) async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let names: Vec<&str> = args.targets.iter().map(|k| k.name).collect();
    crate::commands::cli::refuse_options_of_other_targets(&names, Some(&args.cri), Some(&args.podman))?;
    if let Some(n) = args.scale {
        return bench_scale(&args, n as usize).await;
    }
    if let Some(n) = args.stored {
        return bench_stored(&args, n as usize).await;
    }
    let reference = TargetKind::named("reference");
    let mut kinds = vec![reference];
    kinds.extend(args.targets.iter().copied().filter(|k| *k != reference));
    if args.targets.iter().all(|k| *k == reference) {
        kinds.truncate(1);
    }
    let several = true; // reference is always shown beside serve
    let load_before = podspec::bench::load_average();
    let mut reports = Vec::new();
    for kind in kinds {
        let target = kind.start(&start_args(&args)).await?.target;
        let result = if kind.name == "cri" {
            // Beside the same calls straight to the CRI runtime, with no API or kubelet above.
            bench_cri_beside_direct(target.as_ref(), &args.cri, args.pods).await
        } else {
            podspec::bench::run(target.as_ref(), args.pods).await.map(|r| vec![r]).map_err(anyhow::Error::from)
        };
        target.shutdown().await.context("shutting the target down")?;
        for report in result.with_context(|| format!("measuring target {}", target.name()))? {
            if several {
                eprint!("{report}");
            }
            reports.push(report);
        }
        if kind == reference {
            // The same node behind serve's HTTP API: what a Kubernetes client waits for.
            let report = bench_serve(args.pods).await?;
            eprint!("{report}");
            reports.push(report);
        }
    }
    if reports.len() == 1 {
        println!("{}", reports[0]);
    } else {
        // The cri target beside the same calls made straight to its runtime: the kubelet's share.
        let pairs: Vec<(usize, usize)> = reports.iter().position(|r| r.target == "cri").map(|i| vec![(i, i + 1)]).unwrap_or_default();
        print!("{}", podspec::bench::side_by_side_with(&reports, &pairs));
        print!("{}", podspec::bench::start_splits(&reports));
        print!("{}", podspec::bench::start_phases(&reports));
    }
    if let Some(path) = &args.results {
        let results = podspec::bench::Results::new(&reports, args.pods, load_before, git_commit());
        std::fs::write(path, serde_json::to_string_pretty(&results)? + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("podspec: results written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `podspec bench --scale N`: a tenth of N pods at once, then N, in process on the reference
/// target, then through serve (a node of its own), and the table of both. A run that fails or
/// times out leaves the others' figures in the table, with why it has none beneath; the
/// command then fails.
async fn bench_scale(args: &BenchArgs, n: usize) -> anyhow::Result<ExitCode> {
    use podspec::bench::ScaleOutcome;
    let tenth = (n / 10).max(1);
    let pair = |target: &str, why: String| neither_run(target, tenth, n, why);
    let mut pairs: Vec<(ScaleOutcome, ScaleOutcome)> = Vec::new();
    match TargetKind::named("reference").start(&start_args(args)).await {
        Err(e) => pairs.push(pair("reference", format!("starting the reference target: {}", super::error_text(&e)))),
        Ok(started) => {
            let target = started.target;
            let run = async |pods| -> ScaleOutcome {
                let lags = podspec::bench::event_lags_now();
                podspec::bench::scale(target.as_ref(), pods).await.map_err(|e| ran_and_failed("reference", pods, e.to_string(), lags))
            };
            pairs.push(warm_then_a_tenth_then_all("reference", tenth, n, run).await);
            target.shutdown().await.context("shutting the target down")?;
        }
    }
    match start_linux_node(None, "the reference node for serve").await {
        Err(e) => pairs.push(pair("serve", format!("starting serve's node: {}", super::error_text(&e)))),
        Ok(node) => {
            let measured = match serve_on_loopback(&node).await {
                Err(e) => pair("serve", format!("serving on loopback: {}", super::error_text(&e))),
                Ok((client, serving)) => {
                    let kubelet = node.kubelet().clone();
                    let torn_down = |uid: String, rv: u64| {
                        let kubelet = kubelet.clone();
                        async move { kubelet.wait_torn_down(&uid, rv).await }
                    };
                    let run = async |pods| -> ScaleOutcome {
                        let lags = podspec::bench::event_lags_now();
                        podspec::bench::scale_over_api("serve", client.clone(), pods, SERVE_CONNECTIONS, &torn_down)
                            .await
                            .map_err(|e| ran_and_failed("serve", pods, e.to_string(), lags))
                    };
                    let measured = warm_then_a_tenth_then_all("serve", tenth, n, run).await;
                    serving.stop().await;
                    measured
                }
            };
            pairs.push(measured);
            node.shutdown().await.map_err(anyhow::Error::msg).context("shutting serve's node down")?;
        }
    }
    print!("{}", podspec::bench::scale_table(&pairs));
    println!("through serve: kube-rs over HTTPS on loopback, at most {SERVE_CONNECTIONS} requests in flight; peaks are of this podspec process (serve and its client alike)");
    let all_measured = pairs.iter().all(|(s, l)| s.is_ok() && l.is_ok());
    Ok(if all_measured { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `podspec bench --stored N`: N pods into the store in process on the reference target, then
/// through serve (a node of its own), and the table of both; the command fails if either did.
async fn bench_stored(args: &BenchArgs, n: usize) -> anyhow::Result<ExitCode> {
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    let target = TargetKind::named("reference").start(&start_args(args)).await?.target;
    match podspec::bench_stored::stored(target.as_ref(), n).await {
        Ok(report) => reports.push(report),
        Err(e) => failed.push(format!("reference {n}: no figures: {}", super::error_text(&anyhow::Error::from(e)))),
    }
    target.shutdown().await.context("shutting the target down")?;
    let node = start_linux_node(None, "the reference node for serve").await?;
    match serve_on_loopback(&node).await {
        Err(e) => failed.push(format!("serve {n}: no figures: serving on loopback: {}", super::error_text(&e))),
        Ok((client, serving)) => {
            match podspec::bench_stored::stored_over_api("serve", client, n).await {
                Ok(report) => reports.push(report),
                Err(e) => failed.push(format!("serve {n}: no figures: {}", super::error_text(&anyhow::Error::from(e)))),
            }
            serving.stop().await;
        }
    }
    node.shutdown().await.map_err(anyhow::Error::msg).context("shutting serve's node down")?;
    print!("{}", podspec::bench_stored::stored_table(&reports));
    println!("through serve: kube-rs over HTTPS on loopback; peaks are of this podspec process (serve and its client alike)");
    for why in &failed {
        println!("{why}");
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn scale_failure(target: &str, pods: usize, why: String) -> podspec::bench::ScaleFailure {
    podspec::bench::ScaleFailure { target: target.into(), pods, why, event_lags: None }
}

/// A run that was made and failed, with its container event lags since `lags` (the count when
/// it began).
fn ran_and_failed(target: &str, pods: usize, why: String, lags: (u64, u64)) -> podspec::bench::ScaleFailure {
    podspec::bench::ScaleFailure { event_lags: Some(podspec::bench::lags_since(lags)), ..scale_failure(target, pods, why) }
}

/// Both runs of a target that was not there to measure.
fn neither_run(target: &str, tenth: usize, n: usize, why: String) -> (podspec::bench::ScaleOutcome, podspec::bench::ScaleOutcome) {
    (Err(scale_failure(target, tenth, why.clone())), Err(scale_failure(target, n, why)))
}

/// One target's two runs by `run`: one pod first, not measured (the image unpacked, the node and
/// its client warm), then a tenth of N pods at once, then N (not run once the tenth failed);
/// each said on stderr as it ends.
async fn warm_then_a_tenth_then_all(
    target: &str,
    tenth: usize,
    n: usize,
    run: impl AsyncFn(usize) -> podspec::bench::ScaleOutcome,
) -> (podspec::bench::ScaleOutcome, podspec::bench::ScaleOutcome) {
    let done = |o: &podspec::bench::ScaleOutcome| match o {
        Ok(r) => eprintln!("podspec: {} {}: all {} Running after {:.2} s", r.target, r.pods, r.pods, r.all_running.as_secs_f64()),
        Err(f) => eprintln!("podspec: {} {}: {}", f.target, f.pods, f.why),
    };
    if let Err(f) = run(1).await {
        return neither_run(target, tenth, n, format!("the unmeasured first pod: {}", f.why));
    }
    let small = run(tenth).await;
    done(&small);
    let large = match &small {
        Ok(_) => run(n).await,
        Err(_) => Err(scale_failure(target, n, format!("not run: the {tenth}-pod run failed"))),
    };
    done(&large);
    (small, large)
}

/// How many requests the scale run's client keeps in flight through serve.
const SERVE_CONNECTIONS: usize = 64;

/// The commit of the working directory (`git describe --always --dirty`), or `unknown`.
pub(crate) fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// serve's API over `node` on a loopback port, and a kube-rs client of it (HTTPS, with the
/// kubeconfig serve wrote): what both of bench's serve measurements start from.
async fn serve_on_loopback(node: &std::sync::Arc<podspec::node::Node>) -> anyhow::Result<(kube::Client, Serving)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("listening on loopback")?;
    let api = Api::new(node.clone(), &listener)?;
    let kubeconfig = api.kubeconfig.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(api.run(listener, async move {
        let _ = stopped.await;
    }));
    let serving = Serving { stop, served };
    let config = kube::Config::from_custom_kubeconfig(kube::config::Kubeconfig::from_yaml(&kubeconfig)?, &Default::default()).await?;
    Ok((kube::Client::try_from(config)?, serving))
}

/// serve's API as [`serve_on_loopback`] started it, until [`Serving::stop`].
struct Serving {
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Serving {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.served.await;
    }
}

/// `podspec bench`'s serve column: a reference node of its own behind serve's router on a
/// loopback port, measured through kube-rs over HTTPS (create, watch, WebSocket exec, delete).
async fn bench_serve(pods: usize) -> anyhow::Result<podspec::bench::BenchReport> {
    let node = start_linux_node(None, "the reference node for serve").await?;
    let measured = async {
        let (client, serving) = serve_on_loopback(&node).await?;
        let report = podspec::bench::run_over_api("serve", client, pods).await.context("measuring serve");
        serving.stop().await;
        report
    }
    .await;
    node.shutdown().await.map_err(anyhow::Error::msg).context("shutting serve's node down")?;
    measured
}

/// `podspec bench --target cri`: the cri target and, pod by pod in turn with it, the CRI runtime
/// measured through the client alone (`cri-direct`, its own run and cgroup subtree).
pub(crate) async fn bench_cri_beside_direct(
    target: &dyn podspec::targets::Target,
    cri: &CriArgs,
    pods: usize,
) -> anyhow::Result<Vec<podspec::bench::BenchReport>> {
    let paths = Paths::from_env()?;
    let run_id = format!("{}-direct", podspec::node::new_run_id());
    let run = podspec::runtime::linux::state::RunDir::create(&paths.state_dir, &run_id)
        .with_context(|| format!("creating a state directory under {}", paths.state_dir.display()))?;
    let owner = podspec::targets::cri::owner();
    // The same cgroup parent layout as the cri target's kubelet sends (podspec's own subtree).
    let cgroups = podspec::targets::cri::RunCgroups::create(&run, &run_id);
    let connected = podspec::runtime::cri_grpc::CriRuntime::connect(cri.cri_endpoint.clone(), &run_id, &owner, &run.path.join("logs"))
        .await
        .map(|rt| rt.with_runtime_handler(cri.runtime_handler.clone()));
    let result = match &connected {
        Ok(rt) => podspec::bench::run_interleaved(target, ("cri-direct", rt, rt), pods, cgroups.as_ref().map(|c| c.parent()))
            .await
            .map(|(a, b)| vec![a, b])
            .context("measuring the cri target beside the CRI runtime directly"),
        Err(e) => Err(anyhow::anyhow!("connecting to the CRI runtime: {e}")),
    };
    if let Ok(rt) = &connected {
        rt.shutdown().await.context("removing the bench's sandboxes")?;
    }
    run.remove().context("removing the bench's state directory")?;
    if let Some(c) = &cgroups {
        c.remove_made();
    }
    result
}
