//! `podspec clean`.

use std::process::ExitCode;

use anyhow::Context as _;

use podspec::paths::Paths;

use crate::commands::cli::{ClusterArgs, CriArgs, PodmanArgs, TargetKind};

#[derive(clap::Args)]
pub(crate) struct CleanArgs {
    #[arg(long, value_enum, default_value = "reference")]
    pub(crate) target: TargetKind,
    #[command(flatten)]
    pub(crate) cri: CriArgs,
    #[command(flatten)]
    pub(crate) podman: PodmanArgs,
    /// With --target kube: every podspec namespace, not only those of runs whose owner is gone.
    #[arg(long)]
    pub(crate) all: bool,
    /// With --all: do not ask for confirmation.
    #[arg(long)]
    pub(crate) yes: bool,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
}

pub(crate) async fn clean_target(args: CleanArgs) -> anyhow::Result<ExitCode> {
    crate::commands::cli::refuse_options_of_other_targets(&[args.target.name], None, Some(&args.podman))?;
    if let Some(h) = &args.cri.runtime_handler {
        anyhow::bail!("--runtime-handler {h}: clean removes what killed runs left, whatever handler they ran with");
    }
    args.target.clean(&args).await
}

/// `podspec clean --target kube [--all [--yes]]`.
pub(crate) async fn clean_kube(args: &CleanArgs) -> anyhow::Result<ExitCode> {
    use podspec::targets::kube::namespaces::Select;
    if args.yes && !args.all {
        anyhow::bail!("--yes confirms --all; without --all only the namespaces of runs whose owner is gone are deleted");
    }
    let select = if args.all { Select::All } else { Select::Stale };
    let confirm = |names: &[String]| {
        if select == Select::Stale || args.yes {
            return true;
        }
        eprintln!("podspec: delete every podspec namespace ({}): {}? [y/N]", names.len(), names.join(" "));
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
    };
    let deleted = podspec::targets::kube::clean(&args.cluster.connect(), select, confirm).await?;
    if deleted.is_empty() {
        println!("no podspec namespace deleted");
    } else {
        println!("deleted {} podspec namespace(s):", deleted.len());
        for ns in deleted {
            println!("  {ns}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn clean_podman(podman: &PodmanArgs) -> anyhow::Result<ExitCode> {
    let state = podspec::paths::default_state_dir();
    let report = podspec::targets::podman::clean_stale(&state, &podman.runtime()).await.context("cleaning podman")?;
    if report.is_empty() {
        println!("nothing to clean in podman");
    } else {
        println!("removed from podman what killed runs left behind: {} pod(s), {} volume(s)", report.pods.len(), report.volumes.len());
        for p in report.pods {
            println!("  pod {p}");
        }
        for v in report.volumes {
            println!("  volume {v}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The cri target's clean-up: the sandboxes killed runs left in the CRI runtime, then their
/// state directories on the node (the reference's kind of run directory).
pub(crate) async fn clean_cri(cri: &CriArgs) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let removed = podspec::targets::cri::clean(&paths, cri.cri_endpoint.clone()).await.context("cleaning the CRI runtime")?;
    if removed.is_empty() {
        println!("nothing to clean in the CRI runtime at {}", cri.cri_endpoint);
    } else {
        println!("removed from the CRI runtime at {} what killed runs left behind: {} pod sandbox(es)", cri.cri_endpoint, removed.len());
        for s in removed {
            println!("  sandbox {s}");
        }
    }
    clean()
}

pub(crate) fn clean() -> anyhow::Result<ExitCode> {
    let state = podspec::paths::default_state_dir();
    let report = podspec::runtime::linux::state::clean_stale(&state).with_context(|| format!("cleaning {}", state.display()))?;
    if report.is_empty() {
        println!("nothing to clean under {}", state.display());
    } else {
        println!(
            "removed {} run(s) left behind: {} process(es) ended, {} mount(s) removed",
            report.runs.len(),
            report.processes,
            report.mounts
        );
        for r in report.runs {
            println!("  {}", r.display());
        }
    }
    // Images no run uses (other than the current build's), and what killed builds left.
    let data_dir = podspec::paths::default_data_dir();
    let agent = podspec::paths::Paths::from_env().map(|p| p.agent).unwrap_or_default();
    let store = podspec::images::ImageStore::new(&data_dir, &agent);
    let swept = store.sweep(&store.current_digests()).context("cleaning the image store")?;
    for p in swept.images.iter().chain(&swept.partial) {
        println!("removed unused image directory {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
