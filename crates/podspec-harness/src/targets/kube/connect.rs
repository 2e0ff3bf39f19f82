//! Reaching the cluster as kubectl does: `--kubeconfig` (else `KUBECONFIG`, else
//! `~/.kube/config`), `--context`, and the in-cluster config when podspec runs in a pod. Before
//! anything runs, the server's version and its nodes are read (and printed by the CLI).

use std::path::PathBuf;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot load the cluster's configuration: {0}")]
    Config(String),
    /// The API server did not answer: the client's error, said with its causes.
    #[error("cannot reach the API server at {url}: {}", cause_chain(.source))]
    Unreachable {
        url: String,
        #[source]
        source: kube::Error,
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
fn check_kubeconfig(path: &std::path::Path) -> Result<(), ConnectError> {
    use crate::manifest::input;
    let text = input::read_regular_file(path).map_err(ConnectError::Config)?;
    input::check_depth(&text).map_err(|e| ConnectError::Config(format!("{}:{}: {e}", path.display(), e.line)))
}

/// The client configuration, chosen as kubectl chooses it.
pub async fn config(options: &ConnectOptions) -> Result<(Config, String), ConnectError> {
    let kc = KubeConfigOptions { context: options.context.clone(), ..Default::default() };
    let err = |e: &dyn std::fmt::Display| ConnectError::Config(e.to_string());
    if let Some(path) = &options.kubeconfig {
        check_kubeconfig(path)?;
        let file = Kubeconfig::read_from(path).map_err(|e| ConnectError::Config(format!("{}: {e}", path.display())))?;
        let context = options.context.clone().or_else(|| file.current_context.clone()).unwrap_or_default();
        let config = Config::from_custom_kubeconfig(file, &kc).await.map_err(|e| err(&e))?;
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
            let config = Config::from_custom_kubeconfig(file, &kc).await.map_err(|e| err(&e))?;
            Ok((config, context))
        }
        Err(read) if options.context.is_none() => match Config::incluster() {
            Ok(config) => Ok((config, String::new())),
            Err(incluster) => {
                Err(ConnectError::Config(format!("no kubeconfig ({read}; set KUBECONFIG or --kubeconfig) and not in a pod ({incluster})")))
            }
        },
        Err(read) => Err(err(&read)),
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
