//! The cluster's CA: a self-signed certificate authority the node makes when it starts (as a
//! cluster has `/etc/kubernetes/pki/ca.crt`), its key in memory only. `podspec serve` signs its
//! serving certificate with it, so that the CA in every namespace's `kube-root-ca.crt`
//! ConfigMap (`root_ca_publisher`) is the one serve's certificate chains to. The in-process
//! reference API is not reached over TLS: there the CA signs nothing.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

pub struct ClusterCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl ClusterCa {
    /// A new CA (an ECDSA P-256 key, named `podspec-ca`).
    pub fn new() -> Result<Self, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "podspec-ca");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        Ok(Self { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate()?)? })
    }

    /// The CA's certificate, PEM-encoded (what `kube-root-ca.crt` holds under `ca.crt`).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA's certificate, DER-encoded.
    pub fn der(&self) -> &rustls::pki_types::CertificateDer<'static> {
        self.issuer.der()
    }

    /// What signs certificates with the CA.
    pub fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }
}
