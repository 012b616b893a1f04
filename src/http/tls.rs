//! TLS settings: rustls (ring) trusting the system's roots plus any extra PEM bundle.

use std::path::Path;
use std::sync::Arc;

use once_cell::sync::OnceCell;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::{pem, roots};
use crate::error::{Error, Result};

/// Reads a PEM bundle: every certificate in it, or an error naming what is wrong.
pub(crate) fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let shown = path.display();
    let data = std::fs::read(path)
        .map_err(|e| Error::invalid(format!("cannot read the CA file {shown}: {e}")))?;
    let certs: Vec<CertificateDer<'static>> = pem::certificates(&data)
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
/// The system's roots are read at the first handshake that needs them, not here:
/// a client that only talks plain HTTP, or whose server's chain ends at a root of
/// `extra`, never pays for them.
pub(crate) fn client_config(extra: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(RootsVerifier::new(extra, Arc::clone(&provider))?);
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::transport(format!("TLS setup failed: {e}")))?
        .dangerous() // a custom verifier; it delegates every check to rustls' WebPKI one
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// rustls' standard WebPKI verification against the system's roots plus `extra`,
/// in two steps: a chain that ends at a root of `extra` is accepted without the
/// system's roots (any root of the union would accept it too); anything else is
/// checked against the union, built when first needed.
#[derive(Debug)]
struct RootsVerifier {
    provider: Arc<CryptoProvider>,
    /// `extra` alone; `None` when there is no extra root.
    extra: Option<Arc<WebPkiServerVerifier>>,
    extra_roots: Arc<RootCertStore>,
    /// The system's roots plus `extra`; set only once the system's roots were read.
    all: OnceCell<Arc<WebPkiServerVerifier>>,
}

impl RootsVerifier {
    fn new(extra: &[CertificateDer<'static>], provider: Arc<CryptoProvider>) -> Result<Self> {
        let mut extra_roots = RootCertStore::empty();
        extra_roots.add_parsable_certificates(extra.iter().cloned());
        let extra_roots = Arc::new(extra_roots);
        let extra = if extra_roots.is_empty() {
            None
        } else {
            Some(webpki_verifier(Arc::clone(&extra_roots), &provider)?)
        };
        Ok(RootsVerifier {
            provider,
            extra,
            extra_roots,
            all: OnceCell::new(),
        })
    }

    /// The verifier over every root, or why the system's could not be read (not
    /// remembered: the next handshake tries again).
    fn all(&self) -> std::result::Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.all.get_or_try_init(|| {
            let system = roots::system().map_err(|e| {
                rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
            })?;
            let roots = if self.extra_roots.is_empty() {
                system
            } else {
                let mut union = RootCertStore::clone(&system);
                union.roots.extend(self.extra_roots.roots.iter().cloned());
                Arc::new(union)
            };
            webpki_verifier(roots, &self.provider)
                .map_err(|e| rustls::Error::General(e.message().to_owned()))
        })
    }
}

fn webpki_verifier(
    roots: Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(provider))
        .build()
        .map_err(|e| Error::transport(format!("TLS setup failed: {e}")))
}

impl ServerCertVerifier for RootsVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let verify = |v: &WebPkiServerVerifier| {
            v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        };
        let by_extra = self.extra.as_deref().map(verify);
        if let Some(Ok(verified)) = by_extra {
            return Ok(verified);
        }
        match self.all() {
            Ok(all) => verify(all),
            // Without the system's roots, a reason that does not depend on them
            // (expired, wrong name) is the better answer.
            Err(no_roots) => match by_extra {
                Some(Err(e))
                    if !matches!(
                        e,
                        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
                    ) =>
                {
                    Err(e)
                }
                _ => Err(no_roots),
            },
        }
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
