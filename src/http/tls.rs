//! TLS settings: rustls (ring) trusting the system's roots plus any extra PEM bundle.

use std::path::Path;
use std::sync::Arc;

use once_cell::sync::{Lazy, OnceCell};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

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
///
/// The roots are read at the first TLS handshake, not here: a client that only
/// ever talks plain HTTP to a loopback emulator never pays for them.
pub(crate) fn client_config(extra: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(LazyRootsVerifier {
        extra: extra.to_vec(),
        provider: Arc::clone(&provider),
        inner: OnceCell::new(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::transport(format!("TLS setup failed: {e}")))?
        .dangerous() // a custom verifier; it delegates every check to rustls' WebPKI one
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// rustls' standard WebPKI verifier, built from the roots on first use.
#[derive(Debug)]
struct LazyRootsVerifier {
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    /// `None` when no root at all could be had (then nothing is trusted).
    inner: OnceCell<Option<Arc<WebPkiServerVerifier>>>,
}

impl LazyRootsVerifier {
    fn verifier(&self) -> std::result::Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        let inner = self.inner.get_or_init(|| {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(SYSTEM_ROOTS.iter().cloned());
            roots.add_parsable_certificates(self.extra.iter().cloned());
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&self.provider))
                .build()
                .ok()
        });
        inner.as_ref().ok_or(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
    }
}

impl ServerCertVerifier for LazyRootsVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
