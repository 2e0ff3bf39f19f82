//! The CRI runtime's endpoint: a Unix socket, given as the kubelet's `--container-runtime-endpoint`
//! is (`unix:///run/containerd/containerd.sock`), and the gRPC channel over it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Uri};

use crate::cri::{RuntimeError, RuntimeResult};

/// The default: containerd's own socket.
pub const DEFAULT_ENDPOINT: &str = "unix:///run/containerd/containerd.sock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub socket: PathBuf,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("CRI endpoint {0:?}: expected unix:///ABSOLUTE/PATH (a Unix socket, as the kubelet's --container-runtime-endpoint)")]
pub struct BadEndpoint(pub String);

impl FromStr for Endpoint {
    type Err = BadEndpoint;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let path = s.strip_prefix("unix://").ok_or_else(|| BadEndpoint(s.to_string()))?;
        if !path.starts_with('/') || path.len() < 2 {
            return Err(BadEndpoint(s.to_string()));
        }
        Ok(Self { socket: PathBuf::from(path) })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unix://{}", self.socket.display())
    }
}

impl Endpoint {
    /// A gRPC channel over the socket (HTTP/2 needs an authority; the URI's is never used).
    pub async fn connect(&self) -> RuntimeResult<Channel> {
        let socket = self.socket.clone();
        let what = format!("connect to the CRI runtime at {self}");
        if !socket.exists() {
            return Err(RuntimeError::failed(
                what,
                format!("{} does not exist (is the runtime started? see ci/containerd/README.md)", socket.display()),
            ));
        }
        tonic::transport::Endpoint::from_static("http://cri.invalid")
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let socket = socket.clone();
                async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
            }))
            .await
            .map_err(|e| RuntimeError::failed(what, error_chain(&e)))
    }
}

/// An error with its causes, `a: b: c`.
pub(super) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unix_endpoint_names_its_socket() {
        let e: Endpoint = "unix:///run/podspec-containerd/containerd.sock".parse().unwrap();
        assert_eq!(e.socket, PathBuf::from("/run/podspec-containerd/containerd.sock"));
        assert_eq!(e.to_string(), "unix:///run/podspec-containerd/containerd.sock");
    }

    #[test]
    fn other_endpoints_are_refused_with_the_expected_form() {
        for bad in ["/run/containerd.sock", "tcp://127.0.0.1:1", "unix://relative.sock", "unix://"] {
            let err = bad.parse::<Endpoint>().unwrap_err();
            assert!(err.to_string().contains("unix:///ABSOLUTE/PATH"), "{bad}: {err}");
        }
    }
}
