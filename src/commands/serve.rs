//! `podspec serve`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use podspec::node::Node;

use super::target::ServableKind;
use crate::commands::cli::CriArgs;
use crate::signals::Signals;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on; an address other than loopback is used only when given, with a
    /// warning.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:0")]
    pub(crate) listen: std::net::SocketAddr,
    /// Where to write the kubeconfig (context `podspec`) [default: `kubeconfig` in the node's
    /// state directory]. It is removed when serve ends.
    #[arg(long, value_name = "FILE")]
    pub(crate) kubeconfig_out: Option<PathBuf>,
    /// The node's static pod manifest directory (default: one of its own, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub(crate) static_pod_dir: Option<PathBuf>,
    /// The node to serve: a kind of target made of podspec's own API and kubelet (over the
    /// reference runtime, or over a CRI runtime at --cri-endpoint).
    #[arg(long, value_enum, default_value = "reference")]
    pub(crate) target: ServableKind,
    #[command(flatten)]
    pub(crate) cri: CriArgs,
}

/// `podspec serve`: the reference node, or podspec's kubelet over a CRI runtime, behind a
/// Kubernetes API until a signal.
pub(crate) async fn serve(args: ServeArgs, signals: Signals) -> anyhow::Result<ExitCode> {
    let name = args.target.name();
    crate::commands::cli::refuse_options_of_other_targets(&[name], Some(&args.cri), None)?;
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
    let node = args.target.start_node(args.static_pod_dir, &args.cri).await?;
    let result = serve_node(name, node.clone(), listener, args.kubeconfig_out, signals).await;
    if let Err(e) = node.shutdown().await {
        eprintln!("podspec: shut the {name} node down: {e}");
    }
    result?;
    eprintln!("podspec: serve stopped; everything it ran was removed");
    Ok(ExitCode::SUCCESS)
}

/// Serves `node` until a signal, with a kubeconfig written for the time it serves.
async fn serve_node(
    node_name: &str,
    node: Arc<Node>,
    listener: tokio::net::TcpListener,
    kubeconfig_out: Option<PathBuf>,
    mut signals: Signals,
) -> anyhow::Result<()> {
    let kubeconfig = kubeconfig_out.unwrap_or_else(|| node.run_dir().join("kubeconfig"));
    let api = Api::new(node, &listener)?;
    let written = podspec::server::kubeconfig::write(&kubeconfig, &api.kubeconfig).context("writing the kubeconfig")?;
    println!("podspec: serving the {node_name} node at {}", api.url);
    println!("podspec: kubeconfig {}", kubeconfig.display());
    println!("podspec: try: kubectl --kubeconfig {} get nodes", kubeconfig.display());
    let served = api
        .run(listener, async move {
            let sig = signals.next().await;
            eprintln!("podspec: {sig}: stopping serve");
        })
        .await;
    if let Err(e) = written.remove() {
        eprintln!("podspec: kubeconfig: {e}");
    }
    served
}

/// serve's Kubernetes API over a node, on a listener's address: its credentials, the
/// kubeconfig that reaches it, and its router. The one bootstrap of `podspec serve` and of
/// `podspec bench`'s serve column.
pub(crate) struct Api {
    pub(crate) url: String,
    /// The kubeconfig (context `podspec`, the CA and the bearer token) for `url`.
    pub(crate) kubeconfig: String,
    server_config: Arc<rustls::ServerConfig>,
    app: axum::Router,
}

impl Api {
    pub(crate) fn new(node: Arc<Node>, listener: &tokio::net::TcpListener) -> anyhow::Result<Self> {
        let addr = listener.local_addr().context("the listener's address")?;
        let creds = podspec::server::tls::credentials(addr, node.cluster_ca())?;
        let url = format!("https://{addr}");
        let kubeconfig = podspec::server::tls::kubeconfig(&url, &creds.ca_pem, &creds.token);
        let state = Arc::new(podspec::server::Server::new(node, &creds.token));
        Ok(Self { url, kubeconfig, server_config: creds.server_config.clone(), app: podspec::server::router(state) })
    }

    /// Serves until `stop` completes.
    pub(crate) async fn run(
        self,
        listener: tokio::net::TcpListener,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        podspec::server::run(listener, self.server_config, self.app, stop).await.context("serving")
    }
}
