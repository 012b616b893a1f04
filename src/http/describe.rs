//! Turns transport failures into messages a person can act on. Messages name the
//! host but never carry a header (so never the token).

use std::error::Error as StdError;
use std::io;

use reqwest::Url;

use super::host_of;
use super::roots::RootsUnavailable;
use crate::error::Error;

/// How a failed request should be treated by the retry loop.
pub(crate) enum Failure {
    /// The connection was reset or closed before any response: safe to retry a GET.
    ResetBeforeResponse(Error),
    /// Anything else; not retried.
    Final(Error),
}

/// Classifies an error of `reqwest` raised while sending a request or reading its
/// response head.
pub(crate) fn send_failure(err: &reqwest::Error, url: &Url) -> Failure {
    let host = &host_of(url);
    if err.is_timeout() || chain_has_io_kind(err, io::ErrorKind::TimedOut) {
        return Failure::Final(Error::timeout(format!("the request to {host} timed out")));
    }
    if let Some(tls) = find_tls_error(err) {
        return Failure::Final(Error::transport(tls_message(tls, host)));
    }
    if err.is_connect() {
        return Failure::Final(Error::transport(format!(
            "could not connect to {host}: {}",
            root_cause(err)
        )));
    }
    let message = format!("the connection to {host} failed: {}", root_cause(err));
    if is_reset(err) {
        Failure::ResetBeforeResponse(Error::transport(message))
    } else {
        Failure::Final(Error::transport(message))
    }
}

/// The error for a body that could not be read to its end.
pub(crate) fn body_failure(err: &reqwest::Error, url: &Url, received: usize) -> Error {
    let host = host_of(url);
    // reqwest reports its own timeout as an io::Error wrapping a reqwest::Error.
    let reqwest_timeout = sources(err)
        .filter_map(|e| e.downcast_ref::<reqwest::Error>())
        .any(reqwest::Error::is_timeout);
    if reqwest_timeout || chain_has_io_kind(err, io::ErrorKind::TimedOut) {
        return Error::timeout(format!(
            "the request to {host} timed out while reading the body ({received} bytes received)"
        ));
    }
    let cause = root_cause(err);
    Error::transport(format!(
        "the response body from {host} was cut short after {received} bytes: {cause}"
    ))
}

fn tls_message(err: &rustls::Error, host: &str) -> String {
    use rustls::{CertificateError, Error as E};
    if let E::InvalidCertificate(CertificateError::Other(other)) = err {
        if let Some(no_roots) = other.0.downcast_ref::<RootsUnavailable>() {
            return format!("TLS: the certificate of {host} could not be checked: {no_roots}");
        }
    }
    match err {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "TLS: the certificate of {host} is not trusted (unknown issuer); add its CA with teamsop_client_set_ca_file"
        ),
        E::InvalidCertificate(CertificateError::NotValidForName)
        | E::InvalidCertificate(CertificateError::NotValidForNameContext { .. }) => {
            format!("TLS: the certificate of {host} is not valid for that name")
        }
        E::InvalidCertificate(CertificateError::Expired)
        | E::InvalidCertificate(CertificateError::ExpiredContext { .. }) => {
            format!("TLS: the certificate of {host} has expired")
        }
        E::InvalidCertificate(other) => {
            format!("TLS: the certificate of {host} is not trusted: {other:?}")
        }
        other => format!("TLS handshake with {host} failed: {other}"),
    }
}

/// The error and its causes. `io::Error::source` skips the error it wraps, so
/// wrapped errors are followed through `get_ref` instead.
fn sources<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e| {
        let wrapped = e.downcast_ref::<io::Error>().and_then(io::Error::get_ref);
        match wrapped {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => (*e).source(),
        }
    })
}

fn find_tls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    sources(err).find_map(|e| e.downcast_ref::<rustls::Error>())
}

fn chain_has_io_kind(err: &(dyn StdError + 'static), kind: io::ErrorKind) -> bool {
    sources(err).any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == kind)
    })
}

/// A reset, abort, broken pipe or EOF before a complete response head.
fn is_reset(err: &(dyn StdError + 'static)) -> bool {
    sources(err).any(|e| {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            );
        }
        e.downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_incomplete_message() || h.is_canceled())
    })
}

/// The innermost error's text: the most specific description.
fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let last = sources(err).last().unwrap_or(err);
    let text = last.to_string();
    if text.is_empty() {
        "unknown error".to_owned()
    } else {
        text
    }
}
