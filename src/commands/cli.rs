//! The command line's shape: the subcommands and the arguments several of them share.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use podspec::runner::{self, RunOptions};

use crate::commands::{
    bench::BenchArgs, certify::CertifyArgs, clean::CleanArgs, gate::GateArgs, images::ImagesCommand, list::ListArgs, matrix::MatrixArgs,
    run::RunArgs, serve::ServeArgs,
};

/// podspec: a conformance harness for Kubernetes Pods.
#[derive(Parser)]
#[command(name = "podspec", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run the selected scenarios against a target and write the reports.
    Run(RunArgs),
    /// Remove whatever earlier, killed runs left behind (processes, state directories; podman
    /// pods and volumes with --target podman).
    Clean(CleanArgs),
    /// Measure pod start, exec and delete on one or more targets, side by side.
    Bench(BenchArgs),
    /// Manage the local fixture images.
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
    },
    /// Build the conformance matrix (matrix.html, matrix.md) of several runs, one per target.
    Matrix(MatrixArgs),
    /// Gate an existing report against a baseline of known failures, without running anything.
    Gate(GateArgs),
    /// Run every @conformance scenario and write a results bundle (or --verify one).
    Certify(Box<CertifyArgs>),
    /// List the selected scenarios with their tags and, for the target, whether each would run
    /// or be skipped and why (with --conformance: the coverage of Kubernetes' Pod-related
    /// conformance tests). Runs nothing.
    List(ListArgs),
    /// Print the reference runtime's field table (implemented, refused up front, or accepted with
    /// no effect on one node) as the book shows it (docs/src/reference/fields.md).
    Fields,
    /// Serve the reference node (or, with --target cri, podspec's kubelet over a CRI runtime)
    /// behind a Kubernetes API (HTTPS, bearer token, kubeconfig) until SIGINT or SIGTERM; then
    /// delete everything it ran.
    Serve(ServeArgs),
    /// Write the book's generated reference pages (the CLI, the step vocabulary, the field table,
    /// the conformance coverage); tests/it/docs.rs checks the committed ones against them.
    #[command(hide = true)]
    Docs {
        #[arg(long, value_name = "DIR", default_value = "docs/src/reference")]
        out: PathBuf,
        #[arg(long = "features", default_value = "features")]
        features: Vec<PathBuf>,
        #[arg(long, value_name = "DIR", default_value = "bench/results")]
        bench_results: PathBuf,
    },
}

impl Command {
    /// Whether the command drives a target (and so needs root or a user namespace).
    pub(crate) fn needs_privileges(&self) -> bool {
        match self {
            Command::Matrix(_) | Command::Gate(_) | Command::List(_) | Command::Fields | Command::Docs { .. } => false,
            Command::Certify(args) => args.verify.is_none() && args.target.local,
            _ => true,
        }
    }

    /// Whether the command only prints to stdout (and so ends quietly, as Unix tools do, when
    /// what reads its output has gone: `podspec list | head`).
    pub(crate) fn only_prints(&self) -> bool {
        matches!(self, Command::List(_) | Command::Fields)
    }
}

/// What selects scenarios, shared by `run` and `list`.
#[derive(clap::Args, Clone)]
pub(crate) struct SelectArgs {
    /// A feature file or folder (repeatable).
    #[arg(long = "features", default_value = "features")]
    pub(crate) features: Vec<PathBuf>,
    /// A tag expression, e.g. "@networking and not @slow".
    #[arg(long)]
    pub(crate) tags: Option<String>,
    /// Only the scenarios whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub(crate) name: Option<String>,
    /// Only the scenarios that failed in an earlier report (its report.json), found by feature
    /// path, name and line; the other selection options narrow further. The new reports name it.
    #[arg(long, value_name = "REPORT.json")]
    pub(crate) rerun_failed: Option<PathBuf>,
    /// Let a run that selects no scenario pass (by default it is an input error, exit 2).
    #[arg(long)]
    pub(crate) allow_empty: bool,
}

/// The failed scenarios of the report `--rerun-failed` names, read before anything else (the
/// report directory, emptied before a run, may hold it); an unreadable report is an input error.
pub(crate) fn read_rerun(path: Option<&std::path::Path>) -> Result<Option<runner::Rerun>, String> {
    match path {
        Some(p) => runner::Rerun::read(p).map(Some).map_err(|e| format!("--rerun-failed: {e}")),
        None => Ok(None),
    }
}

/// The kinds of target `--target` names: the table in `commands/target.rs`.
pub(crate) use crate::commands::target::TargetKind;

/// Where the cri target finds its runtime.
#[derive(clap::Args, Clone)]
pub(crate) struct CriArgs {
    /// The CRI runtime's socket (--target cri), as the kubelet's --container-runtime-endpoint.
    #[arg(long, value_name = "unix:///PATH", default_value = podspec::runtime::cri_grpc::DEFAULT_ENDPOINT)]
    pub(crate) cri_endpoint: podspec::runtime::cri_grpc::Endpoint,
    /// The node IP the cri target reports as the pods' hostIP [default: the gateway of
    /// ci/containerd's CNI bridge]
    #[arg(long, value_name = "IP", default_value_t = podspec::targets::cri::DEFAULT_NODE_IP)]
    pub(crate) cri_node_ip: std::net::Ipv4Addr,
    /// The runtime handler the cri target passes in RunPodSandbox for every pod, as the kubelet
    /// passes a pod's RuntimeClass handler (ci/containerd: runc, crun) [default: the runtime's
    /// default handler]
    #[arg(long, value_name = "NAME")]
    pub(crate) runtime_handler: Option<String>,
}

/// Which OCI runtime podman runs the pods with (`--target podman`).
#[derive(clap::Args, Clone)]
pub(crate) struct PodmanArgs {
    /// The OCI runtime podman runs the pods with (--target podman): a name podman knows (runc,
    /// crun, runsc) or the path of a runtime binary (ci/runtimes/crun) [default: runc]
    #[arg(long, value_name = "NAME|PATH")]
    pub(crate) podman_runtime: Option<podspec::targets::podman::config::Runtime>,
}

impl PodmanArgs {
    /// The OCI runtime asked for, runc when none was.
    pub(crate) fn runtime(&self) -> podspec::targets::podman::config::Runtime {
        self.podman_runtime.clone().unwrap_or_default()
    }
}

/// Refuses an option of one kind of target when none of the targets the command drives is of
/// that kind (`--runtime-handler` without the cri target would run runc's default handler, or
/// the reference runtime, and say nothing): nothing on the command line is silently ignored.
pub(crate) fn refuse_options_of_other_targets(targets: &[&str], cri: Option<&CriArgs>, podman: Option<&PodmanArgs>) -> anyhow::Result<()> {
    if let Some(h) = cri.and_then(|c| c.runtime_handler.as_deref()) {
        if !targets.contains(&"cri") {
            anyhow::bail!("--runtime-handler {h} is the handler the cri target sends in RunPodSandbox; the chosen target ({}) is not cri", targets.join(", "));
        }
    }
    if let Some(r) = podman.and_then(|p| p.podman_runtime.as_ref()) {
        if !targets.contains(&"podman") {
            anyhow::bail!("--podman-runtime {} is the OCI runtime podman runs the pods with; the chosen target ({}) is not podman", r.name, targets.join(", "));
        }
    }
    Ok(())
}

/// How to reach a cluster and which images to send it (`--target kube`).
#[derive(clap::Args, Clone, Default)]
pub(crate) struct ClusterArgs {
    /// The kubeconfig to use [default: $KUBECONFIG, else ~/.kube/config, else the in-cluster config].
    #[arg(long, value_name = "FILE")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use [default: its current context].
    #[arg(long, value_name = "NAME")]
    pub(crate) context: Option<String>,
    /// Images to send instead of the fixtures' references: lines of `REFERENCE=IMAGE`
    /// (`busybox:1.36=registry.example/podspec/busybox@sha256:...`).
    #[arg(long, value_name = "FILE")]
    pub(crate) image_map: Option<PathBuf>,
    /// A registry prefix for every image the map does not name (`PREFIX/busybox:1.36`).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) image_registry: Option<String>,
    /// What the selected scenarios need beyond every run's rights (`@api-server`,
    /// `@config-objects`, `@runtime-class`): those rights are checked too.
    #[arg(skip)]
    pub(crate) needs: podspec::targets::kube::access::Needs,
}

impl ClusterArgs {
    /// Notes which rights beyond every run's the scenarios `options` selects need (when the
    /// features cannot be read, all are asked for; the run reports the input error).
    pub(crate) fn for_selection(&mut self, options: &RunOptions) {
        use podspec::targets::kube::access::Needs;
        let kube = TargetKind::named("kube");
        self.needs = match runner::list(options, kube.name, &(kube.capabilities)()) {
            Ok(selection) => Needs::of_tags(selection.selected.iter().flat_map(|p| p.tags.iter().map(String::as_str))),
            Err(_) => Needs::ALL,
        };
    }

    pub(crate) fn connect(&self) -> podspec::targets::kube::connect::ConnectOptions {
        podspec::targets::kube::connect::ConnectOptions { kubeconfig: self.kubeconfig.clone(), context: self.context.clone() }
    }

    pub(crate) fn options(&self) -> anyhow::Result<podspec::targets::kube::KubeOptions> {
        let images = match &self.image_map {
            Some(path) => podspec::targets::kube::images::ImageMapping::read(path, self.image_registry.clone())?,
            None => podspec::targets::kube::images::ImageMapping::new(Default::default(), self.image_registry.clone()),
        };
        Ok(podspec::targets::kube::KubeOptions { connect: self.connect(), images, needs: self.needs })
    }
}

/// A count of at least 1 (`--concurrency 0` would run nothing): 0 is a usage error, as clap
/// reports any value out of its range.
pub(crate) fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}
