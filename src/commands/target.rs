//! The table of target kinds, and starting the target a command drives.
//!
//! Each kind is one row of `KINDS`: its name (the value of `--target`), what it is, what it can
//! do before it starts (`podspec list`), how to start it from the command line's options and how
//! to clean what its killed runs left (`podspec clean`). `run`, `list`, `clean`, `bench` and
//! `certify` read the row, and `serve` the kinds whose row has a node to serve; none of them
//! names a kind. A new target is its folder under
//! `crates/podspec-harness/src/targets/` and one row here.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, LazyLock};

use anyhow::Context as _;
use futures::future::BoxFuture;

use podspec::node::Node;
use podspec::paths::Paths;
use podspec::runner::RunOptions;
use podspec::targets::kube::connect::ServerInfo;
use podspec::targets::{Capability, KubeTarget, PodmanTarget, ReferenceOptions, ReferenceTarget, Target};

use super::clean::CleanArgs;
use crate::cli::{ClusterArgs, CriArgs, PodmanArgs};

/// A kind of target: one row of the table.
#[derive(Clone, Copy)]
pub(crate) struct TargetKind {
    /// The value of `--target`, and the target's name in reports.
    pub(crate) name: &'static str,
    /// What it is (the help of `--target`).
    about: &'static str,
    /// What it can do, known without starting it (`podspec list`); a started target's own
    /// capabilities are read from the interfaces it hands out.
    pub(crate) capabilities: fn() -> BTreeSet<Capability>,
    /// It runs pods on this machine (and so needs root or a user namespace).
    pub(crate) local: bool,
    /// It has a node of podspec's own, whose static pod directory `--static-pod-dir` sets.
    pub(crate) static_pod_dir: bool,
    start: for<'a> fn(&'a StartArgs<'a>) -> BoxFuture<'a, anyhow::Result<Started>>,
    /// The node `podspec serve` puts behind its API, for a kind made of podspec's own API and
    /// kubelet (from serve's `--static-pod-dir` and the CRI options); none: serve refuses the
    /// kind.
    serve: Option<for<'a> fn(Option<PathBuf>, &'a CriArgs) -> BoxFuture<'a, anyhow::Result<Arc<Node>>>>,
    clean: for<'a> fn(&'a CleanArgs) -> BoxFuture<'a, anyhow::Result<ExitCode>>,
}

/// The kinds of target, in the order `--target` lists them.
pub(crate) static KINDS: [TargetKind; 4] = [
    TargetKind {
        name: "reference",
        about: "The built-in reference runtime",
        capabilities: ReferenceTarget::declared_capabilities,
        local: true,
        static_pod_dir: true,
        start: |a| Box::pin(async { started(start_reference(a.static_pod_dir.clone(), "the reference target").await?) }),
        serve: Some(|dir, _| Box::pin(start_linux_node(dir, "the reference node"))),
        clean: |_| Box::pin(async { super::clean::clean() }),
    },
    TargetKind {
        name: "podman",
        about: "podman: each pod run with `podman kube play` from the scenario's manifest",
        capabilities: PodmanTarget::declared_capabilities,
        local: true,
        static_pod_dir: false,
        start: |a| Box::pin(start_podman(a.podman)),
        serve: None,
        clean: |a| Box::pin(super::clean::clean_podman(&a.podman)),
    },
    TargetKind {
        name: "cri",
        about: "podspec's API and kubelet over a CRI runtime (containerd, CRI-O) at --cri-endpoint",
        capabilities: podspec::targets::cri::declared_capabilities,
        local: true,
        static_pod_dir: true,
        start: |a| Box::pin(async { started(start_cri(a.static_pod_dir.clone(), a.cri, "target cri").await?) }),
        serve: Some(|dir, cri| Box::pin(async move { Ok(start_cri(dir, cri, "cri node").await?.into_node()) })),
        clean: |a| Box::pin(super::clean::clean_cri(&a.cri)),
    },
    TargetKind {
        name: "kube",
        about: "A Kubernetes cluster, through its API (kubeconfig, --context, or in-cluster)",
        capabilities: KubeTarget::declared_capabilities,
        local: false,
        static_pod_dir: false,
        start: |a| Box::pin(start_kube_for(a)),
        serve: None,
        clean: |a| Box::pin(super::clean::clean_kube(a)),
    },
];

impl TargetKind {
    /// The row of the kind named `name`.
    pub(crate) fn named(name: &str) -> TargetKind {
        *KINDS.iter().find(|k| k.name == name).unwrap_or_else(|| panic!("no target kind {name:?} in the table"))
    }

    /// Starts the target from the command line's options.
    pub(crate) async fn start(&self, args: &StartArgs<'_>) -> anyhow::Result<Started> {
        (self.start)(args).await
    }

    /// Removes what killed runs of this kind left behind (`podspec clean --target NAME`).
    pub(crate) async fn clean(&self, args: &CleanArgs) -> anyhow::Result<ExitCode> {
        (self.clean)(args).await
    }
}

impl PartialEq for TargetKind {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TargetKind {}

impl clap::ValueEnum for TargetKind {
    fn value_variants<'a>() -> &'a [Self] {
        &KINDS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name).help(self.about))
    }
}

/// A kind `podspec serve` can serve (its row has a `serve` node): the values of serve's
/// `--target`, read from the table; any other kind is refused with the ones it accepts.
#[derive(Clone, Copy)]
pub(crate) struct ServableKind(TargetKind);

/// The rows of `KINDS` that serve can serve, in the table's order.
static SERVABLE: LazyLock<Vec<ServableKind>> =
    LazyLock::new(|| KINDS.iter().filter(|k| k.serve.is_some()).map(|k| ServableKind(*k)).collect());

impl ServableKind {
    pub(crate) fn name(&self) -> &'static str {
        self.0.name
    }

    /// Starts the node serve puts behind its API.
    pub(crate) async fn start_node(&self, static_pod_dir: Option<PathBuf>, cri: &CriArgs) -> anyhow::Result<Arc<Node>> {
        let start = self.0.serve.expect("a servable kind has a serve node");
        start(static_pod_dir, cri).await
    }
}

impl clap::ValueEnum for ServableKind {
    fn value_variants<'a>() -> &'a [Self] {
        &SERVABLE
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        self.0.to_possible_value()
    }
}

/// What a kind's start reads from the command line.
pub(crate) struct StartArgs<'a> {
    pub(crate) static_pod_dir: Option<PathBuf>,
    pub(crate) cri: &'a CriArgs,
    pub(crate) podman: &'a PodmanArgs,
    pub(crate) cluster: &'a ClusterArgs,
    /// The scenarios the run selects, where a target checks up front that it may run them
    /// (kube: the rights the `@api-server` scenarios need).
    pub(crate) selection: Option<&'a RunOptions>,
}

/// A started target, and the cluster it reached where it reached one (for certify's bundle).
pub(crate) struct Started {
    pub(crate) target: Arc<dyn Target>,
    pub(crate) server: Option<ServerInfo>,
}

fn started(target: impl Target + 'static) -> anyhow::Result<Started> {
    Ok(Started { target: Arc::new(target), server: None })
}

async fn start_podman(podman: &PodmanArgs) -> anyhow::Result<Started> {
    let paths = Paths::from_env()?;
    let target = PodmanTarget::start(paths, &podman.runtime()).await.context("starting the podman target")?;
    eprintln!("podspec: target podman {}", target.version());
    started(target)
}

async fn start_kube_for(args: &StartArgs<'_>) -> anyhow::Result<Started> {
    let mut cluster = args.cluster.clone();
    if let Some(selection) = args.selection {
        cluster.for_selection(selection);
    }
    let target = start_kube(&cluster).await?;
    let server = Some(target.server_info().clone());
    Ok(Started { target: Arc::new(target), server })
}

/// Connects to the cluster and says what it found before anything runs.
pub(crate) async fn start_kube(cluster: &ClusterArgs) -> anyhow::Result<podspec::targets::KubeTarget> {
    let target = podspec::targets::KubeTarget::start(cluster.options()?).await?;
    eprint!("podspec: {}", target.server_info());
    eprintln!("podspec: rights: {}", target.rights_note());
    eprintln!("podspec: run {} (node access: {})", target.run_id(), target.node_access_note());
    Ok(target)
}

/// The reference node: podspec's API and kubelet over the Linux-namespace runtime.
pub(crate) async fn start_reference(static_pod_dir: Option<PathBuf>, what: &str) -> anyhow::Result<ReferenceTarget> {
    let options = ReferenceOptions { static_pod_dir, ..Default::default() };
    ReferenceTarget::start_with(Paths::from_env()?, options).await.with_context(|| format!("starting {what}"))
}

/// podspec's API and kubelet over the CRI runtime at `--cri-endpoint`; says which runtime it
/// found (as `what`) before anything runs.
pub(crate) async fn start_cri(static_pod_dir: Option<PathBuf>, cri: &CriArgs, what: &str) -> anyhow::Result<ReferenceTarget> {
    let options = podspec::targets::cri::CriOptions {
        endpoint: cri.cri_endpoint.clone(),
        node_ip: cri.cri_node_ip,
        runtime_handler: cri.runtime_handler.clone(),
        reference: ReferenceOptions { static_pod_dir, ..Default::default() },
    };
    let node = podspec::targets::cri::start(Paths::from_env()?, options).await.with_context(|| format!("starting the {what}"))?;
    let identity = node.identity();
    let get = |k: &str| identity.get(k).map(String::as_str).unwrap_or("?");
    // With a runtime handler, the OCI runtime it names too (`containerd 1.6.20 / crun 1.8.1`).
    let handler = match identity.get("runtime_handler").filter(|h| !h.is_empty()) {
        Some(h) => format!(" / {} (runtime handler {h})", get("oci_runtime")),
        None => String::new(),
    };
    eprintln!("podspec: {what}: {} {}{handler} at {}", get("runtime_name"), get("runtime_version"), get("endpoint"));
    Ok(node)
}

/// The reference node alone, with no target around it: what `podspec serve` and bench's serve
/// column put behind the API.
pub(crate) async fn start_linux_node(static_pod_dir: Option<PathBuf>, what: &str) -> anyhow::Result<Arc<Node>> {
    let options = ReferenceOptions { static_pod_dir, ..Default::default() };
    let node = podspec::node::Node::start_linux(Paths::from_env()?, options).await.map_err(anyhow::Error::msg);
    Ok(Arc::new(node.with_context(|| format!("starting {what}"))?))
}
