//! The simulator's certificates: a CA generated at start and a leaf certificate it signs for every
//! host name served. Real clients reject a self-signed leaf marked `CA:TRUE`, so the two are kept
//! apart exactly as a real PKI would (leaf: `CA:FALSE`, EKU serverAuth, SANs for every host).

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate simulator certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The generated CA (PEM, for clients to trust) and the server configuration using the leaf.
pub struct SimTls {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

/// The host names the simulator serves under `domain` (e.g. `azdeck.localhost`).
pub fn served_hosts(domain: &str) -> Vec<String> {
    vec![
        domain.to_string(),
        format!("login.{domain}"),
        format!("management.{domain}"),
        format!("vault.{domain}"),
        format!("*.vault.{domain}"),
        format!("*.apps.{domain}"),
        format!("*.azurefd.{domain}"),
        // Front Door endpoints: `{endpoint}-{hash}.z01.azurefd.{domain}`, as Azure names them.
        format!("*.z01.azurefd.{domain}"),
        format!("*.postgres.{domain}"),
    ]
}

pub fn generate(domain: &str) -> Result<SimTls, TlsError> {
    generate_with(domain, &[])
}

/// Like `generate`, with more host names (e.g. `*.{environment default domain}`).
pub fn generate_with(domain: &str, extra_hosts: &[String]) -> Result<SimTls, TlsError> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.distinguished_name = name("azdeck simulated Azure root CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut hosts = served_hosts(domain);
    hosts.extend(extra_hosts.iter().cloned());
    hosts.push("localhost".to_string());
    let mut leaf_params = CertificateParams::new(hosts)?;
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::from([127, 0, 0, 1])));
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.distinguished_name = name(&format!("management.{domain}"));
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), ca_cert.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(SimTls {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
    })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "azdeck");
    dn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_ca_and_a_leaf_for_every_host() {
        let tls = generate("azdeck.localhost").expect("certificates");
        assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(served_hosts("azdeck.localhost").contains(&"*.vault.azdeck.localhost".to_string()));
        assert!(tls.server_config.alpn_protocols.contains(&b"h2".to_vec()));
    }
}
