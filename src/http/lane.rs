//! A lane: a single-threaded tokio runtime and the reqwest client (connection
//! pool) whose connections live on it. Used by one thread at a time.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::Url;
use tokio::runtime::Runtime;

use super::describe::{self, Failure};
use super::{host_of, Reply, Request};
use crate::error::{Error, ErrorKind, Result};

/// `User-Agent` of every request.
const AGENT: &str = concat!("libteamsop/", env!("CARGO_PKG_VERSION"));
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const RETRY_ATTEMPT: HeaderName = HeaderName::from_static("retry-attempt");

/// A lane idle for longer than this first lets its connections' tasks see what
/// happened meanwhile (a server closing a kept-alive connection), so the pool does
/// not hand out a dead one. Servers close idle connections after seconds to
/// minutes; checking on every call would cost two system calls.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(1);

pub(super) struct Lane {
    runtime: Runtime,
    client: reqwest::Client,
    /// When this lane last finished a request.
    last_used: Cell<Option<Instant>>,
}

impl Lane {
    pub(super) fn new(tls: &Arc<rustls::ClientConfig>) -> Result<Lane> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::transport(format!("cannot start the I/O runtime: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            "Prefer",
            HeaderValue::from_static("include-unknown-enum-members"),
        );
        headers.insert(USER_AGENT, HeaderValue::from_static(AGENT));
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(rustls::ClientConfig::clone(tls))
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .http1_only()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            // Retries are the client's (`client::exchange`); reqwest's own policy
            // would clone every request (headers, URI) in case it needs it again.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(|e| Error::transport(format!("cannot set up HTTP: {e}")))?;
        Ok(Lane {
            runtime,
            client,
            last_used: Cell::new(None),
        })
    }

    /// Sends `req` and reads the answer, driving this lane on the calling thread.
    pub(super) fn send(&self, req: &Request<'_>) -> std::result::Result<Reply, Failure> {
        let reply = self.runtime.block_on(self.exchange(req));
        self.last_used.set(Some(Instant::now()));
        reply
    }

    async fn exchange(&self, req: &Request<'_>) -> std::result::Result<Reply, Failure> {
        let remaining = req.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::Final(Error::timeout(format!(
                "no time was left for the request to {}",
                host_of(req.url)
            ))));
        }
        let idle = self
            .last_used
            .get()
            .is_none_or(|t| t.elapsed() >= IDLE_CHECK_AFTER);
        if idle {
            tokio::task::yield_now().await;
        }

        let mut builder = self
            .client
            .get(req.url.clone())
            .timeout(remaining)
            .header(CLIENT_REQUEST_ID, req.client_request_id);
        if let Some(bearer) = req.bearer {
            builder = builder.header(AUTHORIZATION, bearer.clone());
        }
        if req.attempt > 0 {
            builder = builder.header(RETRY_ATTEMPT, req.attempt);
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| describe::send_failure(&e, req.url))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = read_capped(&mut response, req.url, req.max_body_bytes).await;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

/// Reads the body, refusing more than `cap` bytes; memory stays within the cap
/// whatever the server sends.
async fn read_capped(response: &mut reqwest::Response, url: &Url, cap: usize) -> Result<Vec<u8>> {
    let too_large = || {
        Error::new(
            ErrorKind::TooLarge { limit: cap },
            format!(
                "the response body from {} is larger than the limit of {cap} bytes",
                host_of(url)
            ),
        )
    };
    let declared = response.content_length();
    if declared.is_some_and(|len| len > cap as u64) {
        return Err(too_large());
    }
    let initial = declared.map_or(8 * 1024, |len| len as usize).min(cap);
    let mut body = Vec::with_capacity(initial);
    loop {
        match response.chunk().await {
            Ok(None) => return Ok(body),
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Err(e) => return Err(describe::body_failure(&e, url, body.len())),
        }
    }
}
