//! One HTTP exchange with Graph: send a GET, read the answer's head and a capped
//! body. Retries, redirects and parsing live above this, in `client`.

mod describe;
mod tls;

use std::io::Read;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::{StatusCode, Url};
use rustls_pki_types::CertificateDer;

pub(crate) use describe::Failure;
pub(crate) use tls::read_ca_file;

use crate::error::{Error, ErrorKind, Result};

/// `User-Agent` of every request.
const AGENT: &str = concat!("libteamsop/", env!("CARGO_PKG_VERSION"));

/// What one request carries besides its URL.
pub(crate) struct Request<'a> {
    pub url: &'a Url,
    /// `None` once a redirect has left the Graph host.
    pub bearer: Option<&'a HeaderValue>,
    pub client_request_id: &'a str,
    /// 0 for the first try, N for the Nth retry (sent as `Retry-Attempt`).
    pub attempt: u32,
    pub deadline: Instant,
    pub max_body_bytes: usize,
}

/// A response, its body read in full (within the cap), or why it could not be.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Result<Vec<u8>>,
}

impl Reply {
    /// A header's value if it is visible ASCII.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The connection pool and TLS settings shared by every request of a client.
pub(crate) struct Http {
    client: reqwest::blocking::Client,
}

impl Http {
    /// A pool trusting the system's roots plus `extra_roots`.
    pub(crate) fn new(extra_roots: &[CertificateDer<'static>]) -> Result<Http> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            "Prefer",
            HeaderValue::from_static("include-unknown-enum-members"),
        );
        headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls::client_config(extra_roots)?)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .http1_only()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .timeout(None)
            .build()
            .map_err(|e| Error::transport(format!("cannot set up HTTP: {e}")))?;
        Ok(Http { client })
    }

    /// Sends `req` and reads the answer.
    pub(crate) fn send(&self, req: &Request<'_>) -> std::result::Result<Reply, Failure> {
        let host = host_of(req.url);
        let remaining = req.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::Final(Error::timeout(format!(
                "no time was left for the request to {host}"
            ))));
        }
        let mut builder = self
            .client
            .get(req.url.clone())
            .timeout(remaining)
            .header("client-request-id", req.client_request_id);
        if let Some(bearer) = req.bearer {
            builder = builder.header(AUTHORIZATION, bearer.clone());
        }
        if req.attempt > 0 {
            builder = builder.header("Retry-Attempt", req.attempt);
        }
        let mut response = builder
            .send()
            .map_err(|e| describe::send_failure(&e, &host))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = read_capped(&mut response, &host, req.max_body_bytes);
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// `host:port` of a URL, for messages.
pub(crate) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => "(no host)".to_owned(),
    }
}

/// Reads the body, refusing more than `cap` bytes; memory stays within the cap
/// whatever the server sends.
fn read_capped(
    response: &mut reqwest::blocking::Response,
    host: &str,
    cap: usize,
) -> Result<Vec<u8>> {
    let too_large = || {
        Error::new(
            ErrorKind::TooLarge { limit: cap },
            format!("the response body from {host} is larger than the limit of {cap} bytes"),
        )
    };
    let declared = response.content_length();
    if declared.is_some_and(|len| len > cap as u64)
        && response.headers().get("content-encoding").is_none()
    {
        return Err(too_large());
    }
    let initial = declared
        .map_or(8 * 1024, |len| len as usize)
        .min(cap)
        .saturating_add(1);
    let mut body = Vec::with_capacity(initial);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match response.read(&mut chunk) {
            Ok(0) => return Ok(body),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(describe::body_failure(&e, host, body.len())),
        };
        if body.len() + n > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk[..n]);
    }
}
