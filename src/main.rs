//! The `podspec` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};

use podspec::paths::Paths;
use podspec::report::{self, matrix};
use podspec::runner::{self, RunError, RunOptions};
use podspec::steps::Timeouts;
use podspec::target::Target;
use podspec::targets::{PodmanTarget, ReferenceOptions, ReferenceTarget};

/// podspec: a conformance harness for Kubernetes Pods.
#[derive(Parser)]
#[command(name = "podspec", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// the conformance coverage); tests/docs.rs checks the committed ones against them.
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

#[derive(clap::Args)]
struct ServeArgs {
    /// The address to listen on; an address other than loopback is used only when given, with a
    /// warning.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Where to write the kubeconfig (context `podspec`) [default: `kubeconfig` in the node's
    /// state directory]. It is removed when serve ends.
    #[arg(long, value_name = "FILE")]
    kubeconfig_out: Option<PathBuf>,
    /// The node's static pod manifest directory (default: one of its own, removed at the end).
    #[arg(long, value_name = "DIR")]
    static_pod_dir: Option<PathBuf>,
    /// The node to serve: podspec's API and kubelet over the reference runtime, or over a CRI
    /// runtime at --cri-endpoint.
    #[arg(long, value_enum, default_value = "reference")]
    target: ServeTarget,
    #[command(flatten)]
    cri: CriArgs,
}

/// The nodes `podspec serve` can serve: those made of podspec's own API and kubelet.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ServeTarget {
    /// The built-in reference runtime.
    Reference,
    /// A CRI runtime (containerd, CRI-O) at --cri-endpoint.
    Cri,
}

impl Command {
    /// Whether the command drives a target (and so needs root or a user namespace).
    fn needs_privileges(&self) -> bool {
        match self {
            Command::Matrix(_) | Command::Gate(_) | Command::List(_) | Command::Fields | Command::Docs { .. } => false,
            Command::Certify(args) => args.verify.is_none() && args.target != TargetKind::Kube,
            _ => true,
        }
    }

    /// Whether the command only prints to stdout (and so ends quietly, as Unix tools do, when
    /// what reads its output has gone: `podspec list | head`).
    fn only_prints(&self) -> bool {
        matches!(self, Command::List(_) | Command::Fields)
    }
}

#[derive(clap::Args)]
struct MatrixArgs {
    /// The runs' report.json files (each run's report.md beside it is linked to).
    #[arg(required_unless_present = "differs", value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Also write differs.html and differs.md: the scenarios whose outcome differs between these
    /// two runs, both cells side by side (added to the matrix when not among REPORT.json).
    #[arg(long, num_args = 2, value_names = ["RUN_A.json", "RUN_B.json"])]
    differs: Vec<PathBuf>,
    /// Where to write matrix.html and matrix.md [default: the deepest directory holding every report]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// What selects scenarios, shared by `run` and `list`.
#[derive(clap::Args, Clone)]
struct SelectArgs {
    /// A feature file or folder (repeatable).
    #[arg(long = "features", default_value = "features")]
    features: Vec<PathBuf>,
    /// A tag expression, e.g. "@networking and not @slow".
    #[arg(long)]
    tags: Option<String>,
    /// Only the scenarios whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    name: Option<String>,
    /// Let a run that selects no scenario pass (by default it is an input error, exit 2).
    #[arg(long)]
    allow_empty: bool,
}

#[derive(clap::Args)]
struct ListArgs {
    #[arg(long, value_enum, default_value = "reference")]
    target: TargetKind,
    #[command(flatten)]
    select: SelectArgs,
    /// Which of Kubernetes' Pod-related conformance tests have an equivalent scenario.
    #[arg(long)]
    conformance: bool,
    /// Where pod manifests (`pods/`) are, checked as `run` checks them.
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
    /// With --conformance: the Kubernetes release whose list to count against [default: 1.32].
    #[arg(long, value_name = "RELEASE", requires = "conformance")]
    release: Option<String>,
}

#[derive(clap::Args)]
struct CertifyArgs {
    #[arg(long, value_enum, default_value = "kube")]
    target: TargetKind,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    cri: CriArgs,
    #[command(flatten)]
    podman: PodmanArgs,
    /// Check a results bundle as a conformance reviewer does, instead of running anything.
    #[arg(long, value_name = "BUNDLE")]
    verify: Option<PathBuf>,
    /// Where to write podspec-results-<UTC time>.tar.gz [default: .; in Sonobuoy mode $SONOBUOY_RESULTS_DIR].
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Sonobuoy mode (also when SONOBUOY_RESULTS_DIR is set): results into $SONOBUOY_RESULTS_DIR,
    /// its `done` file, progress to SONOBUOY_PROGRESS_PORT.
    #[arg(long)]
    sonobuoy: bool,
    /// Narrows the @conformance scenarios (the bundle is then partial).
    #[arg(long)]
    tags: Option<String>,
    /// Only the @conformance scenarios whose name matches this regular expression (a partial run).
    #[arg(long, value_name = "REGEX")]
    name: Option<String>,
    /// The Kubernetes release whose Pod-related conformance tests the bundle counts against.
    #[arg(long, value_name = "RELEASE", default_value = podspec::certify::coverage::DEFAULT_RELEASE)]
    release: String,
    #[arg(long = "features", default_value = "features")]
    features: Vec<PathBuf>,
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
    #[arg(long, default_value_t = 4, value_parser = at_least_one())]
    concurrency: usize,
    #[arg(long)]
    product_name: Option<String>,
    #[arg(long)]
    product_vendor: Option<String>,
    #[arg(long)]
    product_version: Option<String>,
    #[arg(long)]
    product_website: Option<String>,
    #[arg(long)]
    product_docs: Option<String>,
    #[arg(long)]
    product_logo: Option<String>,
    /// distribution, hosted platform or installer.
    #[arg(long)]
    product_type: Option<String>,
    #[arg(long)]
    product_description: Option<String>,
    #[arg(long)]
    product_contact: Option<String>,
}

impl CertifyArgs {
    fn product(&self) -> podspec::certify::product::Product {
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

#[derive(clap::Args)]
struct GateArgs {
    /// The run's report.json.
    #[arg(value_name = "REPORT.json")]
    report: PathBuf,
    /// The target's known failures: lines of `<feature path> | <scenario name> | <reason>`.
    #[arg(long, value_name = "FILE")]
    baseline: PathBuf,
}

#[derive(Subcommand)]
enum ImagesCommand {
    /// Build every fixture image (nothing is pulled).
    Build,
    /// List the image references fixtures may use.
    List,
    /// Write each image as a tarball into DIR (docker-archive for `podman load`, or oci-archive
    /// for `ctr images import`, `kind load image-archive`, `skopeo copy`), and DIR/image-map.txt
    /// for `--image-map` (each fixture reference = the exported image).
    Export {
        /// Where to write `<image>.tar` (created if missing).
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "docker-archive")]
        format: ArchiveFormat,
        /// Name each image by the references fixtures use, as a CRI runtime resolves them
        /// (`docker.io/library/busybox:1.36`, ...), and include the pause image.
        #[arg(long)]
        cri: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ArchiveFormat {
    DockerArchive,
    OciArchive,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TargetKind {
    /// The built-in reference runtime.
    Reference,
    /// podman: each pod run with `podman kube play` from the scenario's manifest.
    Podman,
    /// podspec's API and kubelet over a CRI runtime (containerd, CRI-O) at --cri-endpoint.
    Cri,
    /// A Kubernetes cluster, through its API (kubeconfig, --context, or in-cluster).
    Kube,
}

/// Where the cri target finds its runtime.
#[derive(clap::Args, Clone)]
struct CriArgs {
    /// The CRI runtime's socket (--target cri), as the kubelet's --container-runtime-endpoint.
    #[arg(long, value_name = "unix:///PATH", default_value = podspec::runtime::cri_grpc::DEFAULT_ENDPOINT)]
    cri_endpoint: podspec::runtime::cri_grpc::Endpoint,
    /// The node IP the cri target reports as the pods' hostIP [default: the gateway of
    /// ci/containerd's CNI bridge]
    #[arg(long, value_name = "IP", default_value_t = podspec::targets::cri::DEFAULT_NODE_IP)]
    cri_node_ip: std::net::Ipv4Addr,
    /// The runtime handler the cri target passes in RunPodSandbox for every pod, as the kubelet
    /// passes a pod's RuntimeClass handler (ci/containerd: runc, crun, runsc) [default: the
    /// runtime's default handler]
    #[arg(long, value_name = "NAME")]
    runtime_handler: Option<String>,
}

/// Which OCI runtime podman runs the pods with (`--target podman`).
#[derive(clap::Args, Clone)]
struct PodmanArgs {
    /// The OCI runtime podman runs the pods with (--target podman): a name podman knows (runc,
    /// crun, runsc) or the path of a runtime binary (ci/runtimes/crun) [default: runc]
    #[arg(long, value_name = "NAME|PATH", default_value = "runc")]
    podman_runtime: podspec::targets::podman::config::Runtime,
}

/// How to reach a cluster and which images to send it (`--target kube`).
#[derive(clap::Args, Clone, Default)]
struct ClusterArgs {
    /// The kubeconfig to use [default: $KUBECONFIG, else ~/.kube/config, else the in-cluster config].
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use [default: its current context].
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Images to send instead of the fixtures' references: lines of `REFERENCE=IMAGE`
    /// (`busybox:1.36=registry.example/podspec/busybox@sha256:...`).
    #[arg(long, value_name = "FILE")]
    image_map: Option<PathBuf>,
    /// A registry prefix for every image the map does not name (`PREFIX/busybox:1.36`).
    #[arg(long, value_name = "PREFIX")]
    image_registry: Option<String>,
    /// Whether the selected scenarios update pods (`@api-server`): their rights are checked too.
    #[arg(skip)]
    updates_pods: bool,
}

impl ClusterArgs {
    /// Notes whether the scenarios `options` selects need the `@api-server` rights (when the
    /// features cannot be read, they are asked for; the run reports the input error).
    fn for_selection(&mut self, options: &RunOptions) {
        let capabilities = podspec::targets::KubeTarget::declared_capabilities();
        self.updates_pods = match runner::list(options, "kube", &capabilities) {
            Ok(selection) => selection.selected.iter().any(|p| p.tags.iter().any(|t| t == podspec::target::Capability::ApiServer.tag())),
            Err(_) => true,
        };
    }

    fn connect(&self) -> podspec::targets::kube::connect::ConnectOptions {
        podspec::targets::kube::connect::ConnectOptions { kubeconfig: self.kubeconfig.clone(), context: self.context.clone() }
    }

    fn options(&self) -> anyhow::Result<podspec::targets::kube::KubeOptions> {
        let images = match &self.image_map {
            Some(path) => podspec::targets::kube::images::ImageMapping::read(path, self.image_registry.clone())?,
            None => podspec::targets::kube::images::ImageMapping::new(Default::default(), self.image_registry.clone()),
        };
        Ok(podspec::targets::kube::KubeOptions { connect: self.connect(), images, updates_pods: self.updates_pods })
    }
}

#[derive(clap::Args)]
struct CleanArgs {
    #[arg(long, value_enum, default_value = "reference")]
    target: TargetKind,
    #[command(flatten)]
    cri: CriArgs,
    #[command(flatten)]
    podman: PodmanArgs,
    /// With --target kube: every podspec namespace, not only those of runs whose owner is gone.
    #[arg(long)]
    all: bool,
    /// With --all: do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(long, value_enum, default_value = "reference")]
    target: TargetKind,
    #[command(flatten)]
    select: SelectArgs,
    #[arg(long, default_value = "reports")]
    report_dir: PathBuf,
    /// How many scenarios run at once (at least 1).
    #[arg(long, default_value_t = 4, value_parser = at_least_one())]
    concurrency: usize,
    /// Where pod manifests (`pods/`) are.
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
    /// Gate the run against the target's known failures (lines of
    /// `<feature path> | <scenario name> | <reason>`): exit 0 only when the run's failures are
    /// exactly those.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// The reference node's static pod manifest directory (default: one of its own in the
    /// run's state directory, removed after the run). The node runs the manifests found there.
    #[arg(long, value_name = "DIR")]
    static_pod_dir: Option<PathBuf>,
    #[command(flatten)]
    cri: CriArgs,
    #[command(flatten)]
    podman: PodmanArgs,
    /// Stop at the first failed scenario; the reports are still written, the rest marked not run.
    #[arg(long)]
    fail_fast: bool,
    /// Run a failed scenario again, up to N times (as cucumber's --retry). One that then passes
    /// is reported as flaky, with each failed attempt; it counts as passed, never as plainly so.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retry: usize,
    #[command(flatten)]
    cluster: ClusterArgs,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// A target to measure (repeatable); any target other than reference is shown beside
    /// reference, measured in the same run as the baseline.
    #[arg(long = "target", value_enum, default_value = "reference")]
    targets: Vec<TargetKind>,
    /// How many two-container pods to start and delete.
    #[arg(long, default_value_t = 100)]
    pods: usize,
    /// Write the run's results (date, commit, machine, load average, medians and p95s) as JSON
    /// to FILE, e.g. bench/results/<date>.json.
    #[arg(long, value_name = "FILE.json")]
    results: Option<PathBuf>,
    #[command(flatten)]
    cri: CriArgs,
    #[command(flatten)]
    podman: PodmanArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
}

/// SIGINT and SIGTERM, held (blocked) from the start of the process until their handlers are
/// installed, so that a signal in a run's first milliseconds ends it as a later one does
/// (reports of its own, none of an earlier run's left) instead of killing it.
fn early_signals() -> nix::sys::signal::SigSet {
    nix::sys::signal::SigSet::from_iter([nix::sys::signal::Signal::SIGINT, nix::sys::signal::Signal::SIGTERM])
}

/// Holds SIGINT and SIGTERM before Rust's runtime and `main` start: an ELF constructor, run
/// by the C library as the program starts, so no window is left before `main`'s first line
/// (under load a process can wait milliseconds there). Threads started later inherit the mask
/// (they never take these signals; the main thread does once `main` lets them through), and
/// programs podspec starts get a clean mask (std's process spawning resets it).
#[used]
#[link_section = ".init_array"]
static HOLD_SIGNALS_FROM_THE_START: extern "C" fn() = {
    extern "C" fn hold() {
        // Nothing to report to yet: `main` holds them again, and says so if that fails.
        let _ = early_signals().thread_block();
    }
    hold
};

fn main() -> ExitCode {
    let early = early_signals();
    if let Err(e) = early.thread_block() {
        eprintln!("podspec: cannot hold SIGINT and SIGTERM until their handlers are installed: {e}");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PODSPEC_LOG").unwrap_or_else(|_| "warn,kube_client::client::builder=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if cli.command.only_prints() {
        // SAFETY: before any thread starts; the default action of SIGPIPE ends the process
        // at a write to a closed pipe instead of the panic of println!.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    if let Err(e) = podspec::limits::raise_open_files() {
        tracing::warn!("cannot raise the open-file limit: {e}");
    }
    // Before any thread starts: a non-root user enters a user namespace of their own.
    if cli.command.needs_privileges() {
        if let Err(e) = podspec::privileges::ensure() {
            eprintln!("podspec: {e}");
            return ExitCode::from(2);
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    match runtime.block_on(async {
        // Before any state is made: a signal from now on ends the run cleanly; one that came
        // before is delivered as the main thread takes signals again.
        let signals = Signals::install()?;
        early.thread_unblock().context("taking SIGINT and SIGTERM again")?;
        dispatch(cli.command, signals).await
    }) {
        Ok(code) => code,
        Err(e) => {
            say_error(&format!("{e:#}"));
            ExitCode::from(2)
        }
    }
}

/// An error on stderr: it may quote the user's input (a step, a Gherkin line, a name), so its
/// control characters are escaped before they reach the terminal.
fn say_error(e: &str) {
    eprintln!("podspec: {}", report::terminal_safe(e));
}

async fn dispatch(command: Command, mut signals: Signals) -> anyhow::Result<ExitCode> {
    if let Command::Run(args) = command {
        return run(args, signals).await;
    }
    if let Command::Serve(args) = command {
        return serve(args, signals).await;
    }
    if let Command::Certify(args) = command {
        return certify(*args, signals).await;
    }
    // Any other command stops at a signal, as it would without handlers.
    tokio::select! {
        r = other(command) => r,
        sig = signals.next() => {
            eprintln!("podspec: interrupted by {sig}");
            Ok(ExitCode::from(130))
        }
    }
}

async fn other(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(_) => unreachable!("run is dispatched with the signals"),
        Command::Clean(args) => match args.target {
            TargetKind::Reference => clean(),
            TargetKind::Podman => clean_podman(&args.podman).await,
            TargetKind::Cri => clean_cri(&args.cri).await,
            TargetKind::Kube => clean_kube(&args).await,
        },
        Command::Bench(args) => bench(args).await,
        Command::Images { command } => {
            let paths = Paths::from_env()?;
            let store = podspec::images::ImageStore::new(&paths.data_dir, &paths.agent);
            match command {
                ImagesCommand::Build => {
                    for image in tokio::task::spawn_blocking(move || store.build_all()).await?? {
                        println!("{}\t{}", image.name, image.rootfs.display());
                    }
                }
                ImagesCommand::List => {
                    for r in store.references() {
                        println!("{r}");
                    }
                }
                ImagesCommand::Export { dir, format, cri } => {
                    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                    let references: Vec<(String, Vec<String>)> = store
                        .recipes()
                        .cloned()
                        .chain([podspec::images::recipe::Recipe::own_image()])
                        .map(|r| (r.name, r.references))
                        .collect();
                    let map_dir = dir.clone();
                    let exported = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<_>> {
                        let mut out = Vec::new();
                        let mut images = store.build_all()?;
                        images.push(store.build_own_image()?);
                        for image in images {
                            let path = dir.join(format!("{}.tar", image.name.replace('/', "_")));
                            let own = image.name == podspec::images::recipe::Recipe::own_image().name;
                            let e = if own {
                                // One name everywhere: the Sonobuoy plugin's image.
                                let oci = !cri && matches!(format, ArchiveFormat::OciArchive);
                                podspec::images::archive::export_own_image(&image, oci, &path)?
                            } else if cri {
                                let references = store.recipe_for(&image.name)?.references.clone();
                                podspec::images::archive::export_docker_archive_as(&image, &references, &path)?
                            } else {
                                let repository = podspec::targets::podman::images::repository(&image);
                                match format {
                                    ArchiveFormat::DockerArchive => {
                                        podspec::images::archive::export_docker_archive(&image, &repository, &path)?
                                    }
                                    ArchiveFormat::OciArchive => podspec::images::archive::export_oci_archive(&image, &repository, &path)?,
                                }
                            };
                            out.push((image.name.clone(), e));
                        }
                        Ok(out)
                    })
                    .await??;
                    let mut map = String::from("# podspec images export: each fixture reference = the exported image (for --image-map)\n");
                    for (name, e) in &exported {
                        for (_, refs) in references.iter().filter(|(n, _)| n == name) {
                            for r in refs {
                                map.push_str(&format!("{r}={}\n", e.reference));
                            }
                        }
                    }
                    let map_path = map_dir.join("image-map.txt");
                    std::fs::write(&map_path, map).with_context(|| format!("writing {}", map_path.display()))?;
                    for (_, e) in exported {
                        println!("{}\t{}\t{}", e.path.display(), e.reference, e.image_id);
                    }
                    println!("{}", map_path.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Matrix(args) => matrix(args),
        Command::Gate(args) => gate(args),
        Command::List(args) => list(args),
        Command::Fields => {
            print!("{}", podspec::manifest::fields::markdown_table());
            Ok(ExitCode::SUCCESS)
        }
        Command::Docs { out, features, bench_results } => {
            let pages = podspec::docs::pages(&Cli::command(), &features, &bench_results)?;
            podspec::docs::write(&out, &pages)?;
            for p in &pages {
                println!("{}", out.join(p.file).display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(_) => unreachable!("serve is dispatched with the signals"),
        Command::Certify(_) => unreachable!("certify is dispatched with the signals"),
    }
}

/// `podspec serve`: the reference node, or podspec's kubelet over a CRI runtime, behind a
/// Kubernetes API until a signal.
async fn serve(args: ServeArgs, signals: Signals) -> anyhow::Result<ExitCode> {
    if !podspec::server::is_loopback(&args.listen) {
        eprintln!(
            "podspec: warning: serving on {}, which is not loopback: anyone who can reach it and has the token controls the node",
            args.listen
        );
    }
    if let Some(path) = &args.kubeconfig_out {
        podspec::server::kubeconfig::check(path).context("--kubeconfig-out")?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let paths = Paths::from_env()?;
    let options = ReferenceOptions { static_pod_dir: args.static_pod_dir, ..Default::default() };
    let node = match args.target {
        ServeTarget::Reference => ReferenceTarget::start_with(paths, options).await.context("starting the reference node")?,
        ServeTarget::Cri => {
            let options = podspec::targets::cri::CriOptions {
                endpoint: args.cri.cri_endpoint.clone(),
                node_ip: args.cri.cri_node_ip,
                runtime_handler: args.cri.runtime_handler.clone(),
                reference: options,
            };
            let node = podspec::targets::cri::start(paths, options).await.context("starting the cri node")?;
            let identity = node.identity();
            let get = |k: &str| identity.get(k).map(String::as_str).unwrap_or("?");
            eprintln!("podspec: cri node: {} {} at {}", get("runtime_name"), get("runtime_version"), get("endpoint"));
            node
        }
    };
    let node = Arc::new(node);
    let result = serve_node(node.clone(), listener, addr, args.kubeconfig_out, signals).await;
    if let Err(e) = node.shutdown().await {
        eprintln!("podspec: {e}");
    }
    result?;
    eprintln!("podspec: serve stopped; everything it ran was removed");
    Ok(ExitCode::SUCCESS)
}

async fn serve_node(
    node: Arc<ReferenceTarget>,
    listener: tokio::net::TcpListener,
    addr: std::net::SocketAddr,
    kubeconfig_out: Option<PathBuf>,
    mut signals: Signals,
) -> anyhow::Result<()> {
    let creds = podspec::server::tls::credentials(addr)?;
    let url = format!("https://{addr}");
    let kubeconfig = kubeconfig_out.unwrap_or_else(|| node.run_dir().join("kubeconfig"));
    let text = podspec::server::tls::kubeconfig(&url, &creds.ca_pem, &creds.token);
    let written = podspec::server::kubeconfig::write(&kubeconfig, &text).context("writing the kubeconfig")?;
    let node_name = node.name().to_string();
    let state =
        Arc::new(podspec::server::Server { node, token: creds.token.clone(), started: chrono::Utc::now(), namespaces: Default::default() });
    let app = podspec::server::router(state);
    println!("podspec: serving the {node_name} node at {url}");
    println!("podspec: kubeconfig {}", kubeconfig.display());
    println!("podspec: try: kubectl --kubeconfig {} get nodes", kubeconfig.display());
    let served = podspec::server::run(listener, creds.server_config.clone(), app, async move {
        let sig = signals.next().await;
        eprintln!("podspec: {sig}: stopping serve");
    })
    .await;
    if let Err(e) = written.remove() {
        eprintln!("podspec: kubeconfig: {e}");
    }
    served.context("serving")
}

async fn start_target(
    kind: TargetKind,
    static_pod_dir: Option<PathBuf>,
    cri: &CriArgs,
    podman: &PodmanArgs,
    cluster: &ClusterArgs,
) -> anyhow::Result<Arc<dyn Target>> {
    match kind {
        TargetKind::Cri => {
            let paths = Paths::from_env()?;
            let options = podspec::targets::cri::CriOptions {
                endpoint: cri.cri_endpoint.clone(),
                node_ip: cri.cri_node_ip,
                runtime_handler: cri.runtime_handler.clone(),
                reference: ReferenceOptions { static_pod_dir, ..Default::default() },
            };
            let target = podspec::targets::cri::start(paths, options).await.context("starting the cri target")?;
            let identity = target.identity();
            let get = |k: &str| identity.get(k).map(String::as_str).unwrap_or("?");
            eprintln!("podspec: target cri: {} {} at {}", get("runtime_name"), get("runtime_version"), get("endpoint"));
            Ok(Arc::new(target))
        }
        TargetKind::Reference => {
            let paths = Paths::from_env()?;
            let options = ReferenceOptions { static_pod_dir, ..Default::default() };
            Ok(Arc::new(ReferenceTarget::start_with(paths, options).await.context("starting the reference target")?))
        }
        TargetKind::Podman => {
            let paths = Paths::from_env()?;
            let target = PodmanTarget::start(paths, &podman.podman_runtime).await.context("starting the podman target")?;
            eprintln!("podspec: target podman {}", target.version());
            Ok(Arc::new(target))
        }
        TargetKind::Kube => Ok(Arc::new(start_kube(cluster).await?)),
    }
}

/// Connects to the cluster and says what it found before anything runs.
async fn start_kube(cluster: &ClusterArgs) -> anyhow::Result<podspec::targets::KubeTarget> {
    let target = podspec::targets::KubeTarget::start(cluster.options()?).await?;
    eprint!("podspec: {}", target.server_info());
    eprintln!("podspec: rights: {}", target.rights_note());
    eprintln!("podspec: run {} (node access: {})", target.run_id(), target.node_access_note());
    Ok(target)
}

/// Measures each target in turn (reference first, as the baseline) and prints them side by side.
async fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let mut kinds = vec![TargetKind::Reference];
    kinds.extend(args.targets.iter().copied().filter(|k| *k != TargetKind::Reference));
    if args.targets.iter().all(|k| *k == TargetKind::Reference) {
        kinds.truncate(1);
    }
    let several = true; // reference is always shown beside serve
    let load_before = podspec::bench::load_average();
    let mut reports = Vec::new();
    for kind in kinds {
        let target = start_target(kind, None, &args.cri, &args.podman, &args.cluster).await?;
        let result = if kind == TargetKind::Cri {
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
        if kind == TargetKind::Reference {
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
    }
    if let Some(path) = &args.results {
        let results = podspec::bench::Results::new(&reports, args.pods, load_before, git_commit());
        std::fs::write(path, serde_json::to_string_pretty(&results)? + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("podspec: results written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The commit of the working directory (`git describe --always --dirty`), or `unknown`.
fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `podspec bench`'s serve column: a reference node of its own behind serve's router on a
/// loopback port, measured through kube-rs over HTTPS (create, watch, WebSocket exec, delete).
async fn bench_serve(pods: usize) -> anyhow::Result<podspec::bench::BenchReport> {
    let node = Arc::new(
        ReferenceTarget::start_with(Paths::from_env()?, ReferenceOptions::default())
            .await
            .context("starting the reference node for serve")?,
    );
    let measured = async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("listening on loopback")?;
        let addr = listener.local_addr()?;
        let creds = podspec::server::tls::credentials(addr)?;
        let kubeconfig = podspec::server::tls::kubeconfig(&format!("https://{addr}"), &creds.ca_pem, &creds.token);
        let state = Arc::new(podspec::server::Server {
            node: node.clone(),
            token: creds.token.clone(),
            started: chrono::Utc::now(),
            namespaces: Default::default(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served =
            tokio::spawn(podspec::server::run(listener, creds.server_config.clone(), podspec::server::router(state), async move {
                let _ = stopped.await;
            }));
        let config = kube::Config::from_custom_kubeconfig(kube::config::Kubeconfig::from_yaml(&kubeconfig)?, &Default::default()).await?;
        let client = kube::Client::try_from(config)?;
        let report = podspec::bench::run_over_api("serve", client, pods).await.context("measuring serve");
        let _ = stop.send(());
        let _ = served.await;
        report
    }
    .await;
    node.shutdown().await.context("shutting serve's node down")?;
    measured
}

/// `podspec bench --target cri`: the cri target and, pod by pod in turn with it, the CRI runtime
/// measured through the client alone (`cri-direct`, its own run and cgroup subtree).
async fn bench_cri_beside_direct(
    target: &dyn podspec::target::Target,
    cri: &CriArgs,
    pods: usize,
) -> anyhow::Result<Vec<podspec::bench::BenchReport>> {
    let paths = Paths::from_env()?;
    let run_id = format!("{}-{}-direct", std::process::id(), chrono::Utc::now().timestamp_millis());
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

async fn run(mut args: RunArgs, mut signals: Signals) -> anyhow::Result<ExitCode> {
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
    };
    if args.static_pod_dir.is_some() && !matches!(args.target, TargetKind::Reference | TargetKind::Cri) {
        anyhow::bail!("--static-pod-dir sets the reference node's manifest directory; the chosen target has none");
    }
    // The report directory is checked, and an earlier run's reports removed, before the target starts.
    if let Err(e) = report::prepare_dir(&options.report_dir) {
        eprintln!("podspec: {e}");
        return Ok(ExitCode::from(2));
    }
    if args.target == TargetKind::Kube {
        args.cluster.for_selection(&options);
    }
    // A signal while the target starts waits until it has started (so that it can be shut down
    // whole): the run then reports every scenario as not run.
    let target = start_target(args.target, args.static_pod_dir.clone(), &args.cri, &args.podman, &args.cluster).await?;
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
    let removed = match target.shutdown().await {
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

/// A count of at least 1 (`--concurrency 0` would run nothing): 0 is a usage error, as clap
/// reports any value out of its range.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

/// SIGINT and SIGTERM, caught from the start of the process.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    /// The name of the next signal received.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// `podspec clean --target kube [--all [--yes]]`.
async fn clean_kube(args: &CleanArgs) -> anyhow::Result<ExitCode> {
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

async fn clean_podman(podman: &PodmanArgs) -> anyhow::Result<ExitCode> {
    let state = podspec::paths::default_state_dir();
    let report = podspec::targets::podman::clean_stale(&state, &podman.podman_runtime).await.context("cleaning podman")?;
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

/// `podspec matrix`: reads the runs' reports and writes matrix.html and matrix.md.
fn matrix(args: MatrixArgs) -> anyhow::Result<ExitCode> {
    let mut records = Vec::with_capacity(args.reports.len());
    let mut paths: Vec<PathBuf> = Vec::with_capacity(args.reports.len());
    for path in args.reports.iter().chain(&args.differs) {
        let record = report::json::read(path)?;
        // Absolute and resolved, so links between the reports and the matrix can be made.
        let resolved = std::fs::canonicalize(path).with_context(|| format!("cannot resolve report {}", path.display()))?;
        if !paths.contains(&resolved) {
            records.push(record);
            paths.push(resolved);
        }
    }
    let out = match args.out {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
            std::fs::canonicalize(&dir).with_context(|| format!("cannot resolve directory {}", dir.display()))?
        }
        None => matrix::default_out_dir(&paths.iter().map(PathBuf::as_path).collect::<Vec<_>>()),
    };
    let runs: Vec<matrix::Run<'_>> = records.iter().zip(&paths).map(|(record, report)| matrix::Run { record, report }).collect();
    let built = matrix::build(&runs, &out);
    let (html, md) = (out.join(matrix::HTML_FILE), out.join(matrix::MARKDOWN_MATRIX_FILE));
    report::matrix_html::write(&built, &html)?;
    report::matrix_md::write(&built, &md)?;
    if let [a, b] = args.differs.as_slice() {
        let column = |p: &PathBuf| std::fs::canonicalize(p).ok().and_then(|p| paths.iter().position(|q| *q == p));
        let (a, b) = (column(a).context("--differs RUN_A")?, column(b).context("--differs RUN_B")?);
        let (dh, dm) = report::matrix_differs::write(&built, a, b, &out)?;
        eprintln!(
            "podspec: {} scenario(s) differ between {} and {}",
            report::matrix_differs::differing(&built, a, b).len(),
            built.columns[a].label,
            built.columns[b].label
        );
        println!("{}", dh.display());
        println!("{}", dm.display());
    }
    for c in &built.columns {
        eprintln!("podspec: {}: {}, {} not run", c.label, c.summary, c.not_run);
    }
    println!("{}", html.display());
    println!("{}", md.display());
    Ok(ExitCode::SUCCESS)
}

/// `podspec list`: the selected scenarios, each with its tags and whether the target would run
/// it; nothing runs and the target is not started.
fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    if args.conformance {
        return list_conformance(&args.select.features, args.release.as_deref().unwrap_or(podspec::certify::coverage::DEFAULT_RELEASE));
    }
    let (name, capabilities) = match args.target {
        TargetKind::Reference => ("reference", ReferenceTarget::declared_capabilities()),
        TargetKind::Podman => ("podman", PodmanTarget::declared_capabilities()),
        // The reference target's API and kubelet over a CRI runtime: the same capabilities.
        TargetKind::Cri => {
            let mut c = ReferenceTarget::declared_capabilities();
            c.remove(&podspec::target::Capability::HostAccess);
            ("cri", c)
        }
        TargetKind::Kube => ("kube", podspec::targets::KubeTarget::declared_capabilities()),
    };
    let options = RunOptions {
        features: args.select.features,
        tags: args.select.tags,
        name: args.select.name,
        allow_empty: args.select.allow_empty,
        fixtures_dir: args.fixtures,
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

/// `podspec gate`: gates an existing report against a baseline; nothing is run or written.
fn gate(args: GateArgs) -> anyhow::Result<ExitCode> {
    let record = report::json::read(&args.report)?;
    let baseline = match report::baseline::read(&args.baseline) {
        Ok(b) => b,
        Err(e) => {
            for message in e.messages() {
                say_error(&message);
            }
            return Ok(ExitCode::from(2));
        }
    };
    let verdict = report::baseline::evaluate(&baseline, &record);
    eprintln!("podspec: {} ({}): {}", args.report.display(), record.target, record.summary);
    eprint!("podspec: {verdict}");
    Ok(if verdict.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The cri target's clean-up: the sandboxes killed runs left in the CRI runtime, then their
/// state directories on the node (the reference's kind of run directory).
async fn clean_cri(cri: &CriArgs) -> anyhow::Result<ExitCode> {
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

/// `podspec certify`: exit 0 for a complete, passing bundle; 1 for a failing or partial one
/// (or one `--verify` rejects); 2 for bad input.
async fn certify(mut args: CertifyArgs, mut signals: Signals) -> anyhow::Result<ExitCode> {
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
    let sonobuoy_mode = args.sonobuoy || std::env::var_os(sonobuoy::RESULTS_DIR_ENV).is_some();
    let output = match (&args.output, sonobuoy_mode) {
        (Some(dir), _) => dir.clone(),
        (None, true) => sonobuoy::results_dir(),
        (None, false) => PathBuf::from("."),
    };
    let (target, description): (Arc<dyn Target>, certify::Description) = match args.target {
        TargetKind::Kube => {
            let selection = RunOptions {
                features: args.features.clone(),
                tags: Some(certify::tag_expression(args.tags.as_deref())),
                name: args.name.clone(),
                fixtures_dir: args.fixtures.clone(),
                ..Default::default()
            };
            args.cluster.for_selection(&selection);
            let t = start_kube(&args.cluster).await?;
            let info = t.server_info().clone();
            (Arc::new(t), certify::Description { server_url: info.url, server_version: info.version, nodes: info.nodes })
        }
        other => {
            let t = start_target(other, None, &args.cri, &args.podman, &args.cluster).await?;
            let description = certify::Description {
                server_url: String::new(),
                server_version: format!("podspec {} ({} target)", env!("CARGO_PKG_VERSION"), t.name()),
                nodes: Vec::new(),
            };
            (t, description)
        }
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
            ..Default::default()
        },
        output,
        product,
        sonobuoy: sonobuoy_mode,
        narrowed_by: args.name.iter().map(|n| format!("--name {n}")).collect(),
        release: args.release.clone(),
    };
    let outcome = tokio::select! {
        r = certify::certify(&options, target.clone(), &description) => Some(r),
        _ = signals.next() => None,
    };
    if let Err(e) = target.shutdown().await {
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

/// `podspec list --conformance`: which Pod-related conformance tests have an equivalent scenario.
fn list_conformance(features: &[PathBuf], release: &str) -> anyhow::Result<ExitCode> {
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

fn clean() -> anyhow::Result<ExitCode> {
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
