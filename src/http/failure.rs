//! Turns transport failures into messages a person can act on. Messages name the
//! host (or the proxy a request went through) but never carry a header (so never
//! the token).

use std::error::Error as StdError;
use std::io;

use super::proxy::Proxy;
use super::roots::RootsUnavailable;
use crate::error::Error;
use crate::remedy::Remedy;

/// How a failed request should be treated by the retry loop.
pub(crate) enum Failure {
    /// The connection was reset or closed before any response: safe to retry a GET.
    ResetBeforeResponse(Error),
    /// Nothing of the request left this process: no connection, a refused TLS
    /// handshake, a proxy that could not be used, a refusal of the library's
    /// own. Not retried; the call sent no client-request-id.
    NotSent(Error),
    /// Anything else; not retried.
    Final(Error),
}

/// Classifies an error of `reqwest` raised while sending a request to `host` (its
/// `host:port` as messages show it), through `via` if a proxy, or while reading
/// its response head. When a proxy is in the way, it is the proxy that could not
/// be reached or that refused, so messages name it and not the host behind it.
pub(crate) fn send_failure(err: &reqwest::Error, host: &str, via: Option<&Proxy>) -> Failure {
    if err.is_timeout() || chain_has_io_kind(err, io::ErrorKind::TimedOut) {
        let failure = if err.is_connect() {
            Failure::NotSent
        } else {
            Failure::Final
        };
        return failure(Error::timeout(match via {
            Some(proxy) => format!(
                "the request through the proxy {} ({}) timed out",
                proxy.shown, proxy.var
            ),
            None => format!("the request to {host} timed out"),
        }));
    }
    // Through a CONNECT tunnel, TLS is still with the host itself.
    if let Some(tls) = find_tls_error(err) {
        return Failure::NotSent(tls_error(tls, host));
    }
    let cause = root_cause(err);
    if err.is_connect() {
        return Failure::NotSent(Error::transport(match via {
            Some(proxy) => match cause.strip_prefix("tunnel error: ") {
                Some(refusal) => format!(
                    "the proxy {} ({}) refused to open a tunnel: {}",
                    proxy.shown,
                    proxy.var,
                    match refusal {
                        "unsuccessful" => "it answered CONNECT with an error status",
                        other => other,
                    }
                ),
                None => format!(
                    "could not connect through the proxy {} ({}): {cause}",
                    proxy.shown, proxy.var
                ),
            },
            None => format!("could not connect to {host}: {cause}"),
        }));
    }
    let message = match via {
        Some(proxy) => format!(
            "the connection through the proxy {} ({}) failed: {cause}",
            proxy.shown, proxy.var
        ),
        None => format!("the connection to {host} failed: {cause}"),
    };
    if is_reset(err) {
        Failure::ResetBeforeResponse(Error::transport(message))
    } else {
        Failure::Final(Error::transport(message))
    }
}

/// Whether hyper refused the response head as too large: a header section past
/// its buffer, or a `Content-Length` too large to represent (2^64 - 2 and up,
/// which no cap can hold either).
pub(crate) fn head_too_large(err: &reqwest::Error) -> bool {
    // hyper has `is_parse_too_large` for servers only; a client's parse error
    // of that kind is told by its fixed text.
    sources(err).any(|e| {
        e.downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_parse() && h.to_string() == "message head is too large")
    })
}

/// The error for a body from `host` that could not be read to its end.
pub(crate) fn body_failure(err: &reqwest::Error, host: &str, received: usize) -> Error {
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

/// A TLS failure; an unknown issuer names the remedy (trusting its CA).
fn tls_error(err: &rustls::Error, host: &str) -> Error {
    let error = Error::transport(tls_message(err, host));
    match err {
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
            error.with_remedy(Remedy::SetCaFile)
        }
        _ => error,
    }
}

fn tls_message(err: &rustls::Error, host: &str) -> String {
    use rustls::{CertificateError, Error as E};
    if let E::InvalidCertificate(CertificateError::Other(other)) = err {
        if let Some(no_roots) = other.0.downcast_ref::<RootsUnavailable>() {
            return format!("TLS: the certificate of {host} could not be checked: {no_roots}");
        }
    }
    match err {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            format!("TLS: the certificate of {host} is not trusted (unknown issuer)")
        }
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
