//! Reaching the cluster as kubectl does: `--kubeconfig` (else `KUBECONFIG`, else
//! `~/.kube/config`), `--context`, and the in-cluster config when podspec runs in a pod. Before
//! anything runs, the server's version and its nodes are read (and printed by the CLI).

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::config::{InClusterError, KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};

use crate::manifest::input::TooDeep;

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot load the cluster's configuration: {0}")]
    Config(#[from] ConfigError),
    /// The API server did not answer: the client's error, said with its causes.
    #[error("cannot reach the API server at {url}: {}", cause_chain(.source))]
    Unreachable {
        url: String,
        #[source]
        source: kube::Error,
    },
}

/// Why the cluster's configuration could not be loaded. Each variant keeps the error it comes
/// from as its source; its text says that error too, so that a cause chain printed with repeats
/// skipped (`cause_chain`, the CLI's) reads as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A kubeconfig that is not a regular file (a FIFO would block the read for ever), or that
    /// cannot be read.
    #[error("{}: {}", path.display(), podspec_fs::describe(source))]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A kubeconfig nested deeper than Kubernetes accepts.
    #[error("{}:{}: {source}", path.display(), source.line)]
    TooDeep {
        path: PathBuf,
        #[source]
        source: TooDeep,
    },
    /// The kubeconfig given with `--kubeconfig` does not parse.
    #[error("{}: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: KubeconfigError,
    },
    /// The kubeconfig (`KUBECONFIG`'s files, else `~/.kube/config`) cannot be read, or its
    /// context, cluster or user make no client configuration.
    #[error("{0}")]
    Kubeconfig(#[source] KubeconfigError),
    /// No kubeconfig, and not in a pod either.
    #[error("no kubeconfig ({read}; set KUBECONFIG or --kubeconfig) and not in a pod ({source})")]
    Nothing {
        read: KubeconfigError,
        #[source]
        source: InClusterError,
    },
}

/// The cluster as it was found before the run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerInfo {
    pub url: String,
    /// The context's name (empty for the in-cluster config).
    pub context: String,
    pub version: String,
    pub platform: String,
    pub nodes: Vec<NodeInfo>,
}

/// What `environment.json` and the first lines of a run say about a node.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    pub ready: bool,
    pub kubelet_version: String,
    pub container_runtime_version: String,
    pub os_image: String,
    pub kernel_version: String,
    pub architecture: String,
}

impl NodeInfo {
    pub fn of(node: &Node) -> Self {
        let status = node.status.clone().unwrap_or_default();
        let info = status.node_info.unwrap_or_default();
        let ready = status.conditions.iter().flatten().any(|c| c.type_ == "Ready" && c.status == "True");
        Self {
            name: node.metadata.name.clone().unwrap_or_default(),
            ready,
            kubelet_version: info.kubelet_version,
            container_runtime_version: info.container_runtime_version,
            os_image: info.os_image,
            kernel_version: info.kernel_version,
            architecture: info.architecture,
        }
    }
}

impl std::fmt::Display for ServerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let context = if self.context.is_empty() { "in-cluster".to_string() } else { format!("context {}", self.context) };
        writeln!(f, "cluster {} ({context}): Kubernetes {} {}", self.url, self.version, self.platform)?;
        for n in &self.nodes {
            writeln!(
                f,
                "  node {} {}: kubelet {}, {}, {}, kernel {}, {}",
                n.name,
                if n.ready { "Ready" } else { "NotReady" },
                n.kubelet_version,
                n.container_runtime_version,
                n.os_image,
                n.kernel_version,
                n.architecture
            )?;
        }
        Ok(())
    }
}

/// A kubeconfig is read only if it is a regular file (a FIFO would block the read for ever)
/// nesting no deeper than Kubernetes accepts (its parser's time grows with the depth).
fn check_kubeconfig(path: &std::path::Path) -> Result<(), ConfigError> {
    use crate::manifest::input;
    let text = input::read_regular(path).map_err(|source| ConfigError::Unreadable { path: path.to_owned(), source })?;
    input::check_depth(&text).map_err(|source| ConfigError::TooDeep { path: path.to_owned(), source })
}

/// The client configuration, chosen as kubectl chooses it.
pub async fn config(options: &ConnectOptions) -> Result<(Config, String), ConnectError> {
    let kc = KubeConfigOptions { context: options.context.clone(), ..Default::default() };
    if let Some(path) = &options.kubeconfig {
        check_kubeconfig(path)?;
        let file = Kubeconfig::read_from(path).map_err(|source| ConfigError::Parse { path: path.clone(), source })?;
        let context = options.context.clone().or_else(|| file.current_context.clone()).unwrap_or_default();
        let config = Config::from_custom_kubeconfig(file, &kc).await.map_err(ConfigError::Kubeconfig)?;
        return Ok((config, context));
    }
    // The files kubectl would read: KUBECONFIG's, else ~/.kube/config, where they exist.
    let default = std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".kube/config"));
    let listed: Vec<PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
        _ => default.into_iter().collect(),
    };
    for path in listed.iter().filter(|p| p.exists()) {
        check_kubeconfig(path)?;
    }
    match Kubeconfig::read() {
        Ok(file) => {
            let context = options.context.clone().or_else(|| file.current_context.clone()).unwrap_or_default();
            let config = Config::from_custom_kubeconfig(file, &kc).await.map_err(ConfigError::Kubeconfig)?;
            Ok((config, context))
        }
        Err(read) if options.context.is_none() => match Config::incluster() {
            Ok(config) => Ok((config, String::new())),
            Err(source) => Err(ConfigError::Nothing { read, source }.into()),
        },
        Err(read) => Err(ConfigError::Kubeconfig(read).into()),
    }
}

/// Connects and reads the server's version and nodes: a server that does not answer is an
/// error naming its URL and the cause.
pub async fn connect(options: &ConnectOptions) -> Result<(Client, ServerInfo), ConnectError> {
    let (config, context) = config(options).await?;
    let url = config.cluster_url.to_string();
    let unreachable = |source: kube::Error| ConnectError::Unreachable { url: url.clone(), source };
    let client = Client::try_from(config).map_err(unreachable)?;
    let version = client.apiserver_version().await.map_err(unreachable)?;
    let nodes = Api::<Node>::all(client.clone()).list(&ListParams::default()).await.map_err(unreachable)?;
    let info = ServerInfo {
        url: url.clone(),
        context,
        version: version.git_version,
        platform: version.platform,
        nodes: nodes.items.iter().map(NodeInfo::of).collect(),
    };
    Ok((client, info))
}

/// An error and its sources on one line (a TLS or connection error says little on its own).
pub fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{config, ConfigError, ConnectError, ConnectOptions};

    async fn refusal(path: &std::path::Path) -> ConnectError {
        config(&ConnectOptions { kubeconfig: Some(path.to_owned()), context: None }).await.unwrap_err()
    }

    /// A kubeconfig podspec will not read, or that does not parse, is named with its path, and
    /// the error it comes from is kept as the source (its text said once).
    #[tokio::test]
    async fn a_kubeconfig_refused_or_unparsable_names_its_path_and_keeps_its_cause() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let e = refusal(&fifo).await;
        assert_eq!(
            e.to_string(),
            format!("cannot load the cluster's configuration: {}: not a regular file (a FIFO); refused", fifo.display())
        );
        assert!(
            matches!(&e, ConnectError::Config(ConfigError::Unreadable { source, .. }) if source.kind() == std::io::ErrorKind::InvalidInput),
            "{e:?}"
        );
        assert_eq!(super::cause_chain(&e), e.to_string(), "the cause is said once");

        let deep = dir.path().join("deep");
        std::fs::write(&deep, "[".repeat(10_001)).unwrap();
        let e = refusal(&deep).await;
        let prefix = format!("cannot load the cluster's configuration: {}:1: nesting deeper than 10000 levels", deep.display());
        assert!(e.to_string().starts_with(&prefix), "{e}");
        assert!(matches!(&e, ConnectError::Config(ConfigError::TooDeep { source, .. }) if source.line == 1), "{e:?}");

        let bad = dir.path().join("bad");
        std::fs::write(&bad, "clusters: 3\n").unwrap();
        let e = refusal(&bad).await;
        assert!(e.to_string().starts_with(&format!("cannot load the cluster's configuration: {}: ", bad.display())), "{e}");
        let ConnectError::Config(ConfigError::Parse { source, .. }) = &e else { panic!("{e:?}") };
        assert!(e.to_string().ends_with(&source.to_string()), "{e}");
    }
}
