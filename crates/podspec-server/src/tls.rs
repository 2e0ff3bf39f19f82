//! The server's credentials: a serving certificate for the listening address signed by the
//! node's cluster CA (rcgen; the CA every namespace's `kube-root-ca.crt` holds), a random
//! bearer token, and the kubeconfig that carries them (context `podspec`, namespace `default`).

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use rcgen::{CertificateParams, DnType, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct Credentials {
    pub ca_pem: String,
    pub token: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("make the server's certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("set up TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// Makes a serving certificate for `addr` (and `localhost`) signed by `ca`, and a token.
pub fn credentials(addr: SocketAddr, ca: &podspec_node::cluster_ca::ClusterCa) -> Result<Credentials, TlsError> {
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()])?;
    leaf.distinguished_name.push(DnType::CommonName, "podspec-serve");
    leaf.subject_alt_names.push(SanType::IpAddress(addr.ip()));
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, ca.issuer())?;
    let chain = vec![CertificateDer::from(leaf_cert.der().to_vec()), ca.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // HTTP/1.1 only: watches stream and exec upgrades to a WebSocket over it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let bytes: [u8; 32] = podspec_api::random::bytes();
    let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Credentials { ca_pem: ca.pem(), token, server_config: Arc::new(config) })
}

/// The kubeconfig for this server: cluster, user and context all named `podspec`.
pub fn kubeconfig(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: podspec\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: podspec\n  user:\n    token: {token}\ncontexts:\n- name: podspec\n  context:\n    cluster: podspec\n    user: podspec\n    namespace: default\ncurrent-context: podspec\n"
    )
}
