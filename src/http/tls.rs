//! TLS settings: rustls (ring) trusting the system's roots plus any extra PEM bundle.

use std::path::Path;
use std::sync::Arc;

use once_cell::sync::Lazy;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::error::{Error, Result};

/// The system's trusted roots, read once per process on first use (reading and
/// parsing the bundle costs milliseconds; `SSL_CERT_FILE` / `SSL_CERT_DIR` apply).
static SYSTEM_ROOTS: Lazy<Vec<CertificateDer<'static>>> =
    Lazy::new(|| rustls_native_certs::load_native_certs().certs);

/// Reads a PEM bundle: every certificate in it, or an error naming what is wrong.
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let shown = path.display();
    let data = std::fs::read(path)
        .map_err(|e| Error::invalid(format!("cannot read the CA file {shown}: {e}")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&data)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::invalid(format!("the CA file {shown} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "the CA file {shown} holds no certificate"
        )));
    }
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err(Error::invalid(format!(
            "the CA file {shown} holds no certificate usable as a trust anchor"
        )));
    }
    Ok(certs)
}

/// A rustls client configuration trusting the system's roots and `extra`.
pub(crate) fn client_config(extra: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(SYSTEM_ROOTS.iter().cloned());
    roots.add_parsable_certificates(extra.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::transport(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
