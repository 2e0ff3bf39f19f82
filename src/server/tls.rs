//! The server's credentials: a CA of its own, a serving certificate for the listening address
//! signed by it (rcgen), a random bearer token, and the kubeconfig that carries them
//! (context `podspec`, namespace `default`).

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use rand::Rng as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
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

/// Makes a CA, a serving certificate for `addr` (and `localhost`), and a token.
pub fn credentials(addr: SocketAddr) -> Result<Credentials, TlsError> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "podspec-serve-ca");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()])?;
    leaf.distinguished_name.push(DnType::CommonName, "podspec-serve");
    leaf.subject_alt_names.push(SanType::IpAddress(addr.ip()));
    let leaf_key = KeyPair::generate()?;
    let issuer = Issuer::new(ca, ca_key);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    let chain = vec![CertificateDer::from(leaf_cert.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // HTTP/1.1 only: watches stream and exec upgrades to a WebSocket over it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let bytes: [u8; 32] = rand::rng().random();
    let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Credentials { ca_pem: ca_cert.pem(), token, server_config: Arc::new(config) })
}

/// The kubeconfig for this server: cluster, user and context all named `podspec`.
pub fn kubeconfig(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: podspec\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: podspec\n  user:\n    token: {token}\ncontexts:\n- name: podspec\n  context:\n    cluster: podspec\n    user: podspec\n    namespace: default\ncurrent-context: podspec\n"
    )
}
