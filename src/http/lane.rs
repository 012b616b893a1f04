//! A lane: a single-threaded tokio runtime and the reqwest client (connection
//! pool) whose connections live on it. Used by one thread at a time.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT,
};
use tokio::runtime::Runtime;

use super::failure::{self, Failure};
use super::proxy::{Proxies, Proxy};
use super::{Reply, Request};
use crate::error::{Error, ErrorKind, Result};
use crate::log::{log, LogLevel};

/// `User-Agent` of every request.
const AGENT: &str = concat!("libteamsop/", env!("CARGO_PKG_VERSION"));
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
const RETRY_ATTEMPT: HeaderName = HeaderName::from_static("retry-attempt");

/// A lane idle for longer than this first lets its connections' tasks see what
/// happened meanwhile (a server closing a kept-alive connection), so the pool does
/// not hand out a dead one. Servers close idle connections after seconds to
/// minutes; checking on every call would cost two system calls.
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(1);

/// The most room a body's buffer holds beyond the bytes received: memory follows
/// what the server sent, never what it announced.
const BODY_SLACK: usize = 16 * 1024;

/// How many connections a lane remembers for DEBUG lines (a pool keeps few).
const CONNECTIONS_REMEMBERED: usize = 16;

pub(super) struct Lane {
    runtime: Runtime,
    client: reqwest::Client,
    /// When this lane last finished a request.
    last_used: Cell<Option<Instant>>,
    /// The local addresses of the connections it used while DEBUG lines were
    /// on, the most recent last: a DEBUG line tells a new connection from one
    /// reused by it.
    connections: RefCell<Vec<SocketAddr>>,
}

impl Lane {
    pub(super) fn new(tls: &Arc<rustls::ClientConfig>, proxies: &Arc<Proxies>) -> Result<Lane> {
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
        let builder = reqwest::Client::builder()
            .tls_backend_preconfigured(rustls::ClientConfig::clone(tls))
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .http1_only()
            // RFC 9112 asks clients to read an obs-fold as a space.
            .http1_allow_obsolete_multiline_headers_in_responses(true)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            // Retries are the client's (`client::exchange`); reqwest's own policy
            // would clone every request (headers, URI) in case it needs it again.
            .retry(reqwest::retry::never().max_retries_per_request(0));
        // The proxy is our choice (src/http/proxy.rs), never reqwest's defaults.
        // With none configured, reqwest is told so and checks nothing per request.
        let builder = if proxies.is_empty() {
            builder.no_proxy()
        } else {
            let proxies = Arc::clone(proxies);
            builder.proxy(reqwest::Proxy::custom(move |url| proxies.proxy_url(url)))
        };
        let client = builder
            .build()
            .map_err(|e| Error::transport(format!("cannot set up HTTP: {e}")))?;
        Ok(Lane {
            runtime,
            client,
            last_used: Cell::new(None),
            connections: RefCell::new(Vec::new()),
        })
    }

    /// Sends `req` (through `via`, the proxy the lane's client will pick for it)
    /// and reads the answer, driving this lane on the calling thread.
    pub(super) fn send(
        &self,
        req: &Request<'_>,
        via: Option<&Proxy>,
    ) -> std::result::Result<Reply, Failure> {
        let reply = self.runtime.block_on(async {
            match req.cancel {
                None => self.exchange(req, via).await,
                Some(cancel) => cancel
                    .race(self.exchange(req, via))
                    .await
                    .unwrap_or_else(|| Err(Failure::Final(Error::cancelled()))),
            }
        });
        self.last_used.set(Some(Instant::now()));
        reply
    }

    async fn exchange(
        &self,
        req: &Request<'_>,
        via: Option<&Proxy>,
    ) -> std::result::Result<Reply, Failure> {
        let remaining = req.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::NotSent(Error::timeout(format!(
                "no time was left for the request to {}",
                req.host()
            ))));
        }
        // reqwest would turn user information into an `Authorization: Basic`
        // header: the only Authorization this library sends is its Bearer.
        if !req.url.username().is_empty() || req.url.password().is_some() {
            return Err(Failure::NotSent(Error::transport(format!(
                "refused to send a request to a URL with user information ({}); nothing was sent",
                req.host()
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
            .request(req.method.clone(), req.url.clone())
            .timeout(remaining)
            .header(CLIENT_REQUEST_ID, req.client_request_id);
        if let Some(body) = req.json_body {
            builder = builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.to_vec());
        }
        if let Some(bearer) = req.bearer {
            builder = builder.header(AUTHORIZATION, bearer.clone());
        }
        if req.attempt > 0 {
            builder = builder.header(RETRY_ATTEMPT, req.attempt);
        }
        let mut response = builder.send().await.map_err(|e| {
            if failure::head_too_large(&e) {
                Failure::Final(head_too_large(req))
            } else {
                failure::send_failure(&e, &req.host(), via)
            }
        })?;
        if req.log.enabled(LogLevel::Debug) {
            self.log_connection(&response, req);
        }
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = read_capped(&mut response, req).await;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

impl Lane {
    /// The DEBUG line of the connection `response` came on: new, or reused.
    fn log_connection(&self, response: &reqwest::Response, req: &Request<'_>) {
        let Some(info) = response
            .extensions()
            .get::<hyper_util::client::legacy::connect::HttpInfo>()
        else {
            return;
        };
        let local = info.local_addr();
        let mut known = self.connections.borrow_mut();
        let reused = known.contains(&local);
        if !reused {
            if known.len() == CONNECTIONS_REMEMBERED {
                known.remove(0);
            }
            known.push(local);
        }
        let tls = if req.url.scheme() == "https" {
            "TLS "
        } else {
            ""
        };
        log!(
            req.log,
            Debug,
            "http: {} {tls}connection to {} (local port {})",
            if reused { "reused the" } else { "opened a new" },
            req.host(),
            local.port()
        );
    }
}

/// A response whose head hyper refused as too large. API.md asks TOO_LARGE, at
/// once, of a declared length above the cap, and one hyper cannot even represent
/// is above any cap; hyper's error does not tell it from a flood of headers, which
/// is a response too large to read as well.
fn head_too_large(req: &Request<'_>) -> Error {
    Error::new(
        ErrorKind::TooLarge {
            limit: req.max_body_bytes,
        },
        format!(
            "the response head from {} is too large to read (over 100 headers, a header \
             section of hundreds of KiB, or a Content-Length of 2^64 - 2 or more); \
             nothing of its body was read",
            req.host()
        ),
    )
}

/// Reads the body, refusing more than the request's cap. The memory held never exceeds
/// the bytes received plus [`BODY_SLACK`], whatever `Content-Length` says and
/// whatever the cap: a declared length sizes nothing but the first, small buffer.
async fn read_capped(response: &mut reqwest::Response, req: &Request<'_>) -> Result<Vec<u8>> {
    let cap = req.max_body_bytes;
    let too_large = || {
        Error::new(
            ErrorKind::TooLarge { limit: cap },
            format!(
                "the response body from {} is larger than the limit of {cap} bytes",
                req.host()
            ),
        )
    };
    let declared = response.content_length();
    if declared.is_some_and(|len| u64::try_from(cap).is_ok_and(|cap| len > cap)) {
        return Err(too_large());
    }
    let initial = declared.map_or(8 * 1024, |len| {
        usize::try_from(len).map_or(BODY_SLACK, |len| len.min(BODY_SLACK))
    });
    let mut body = Vec::with_capacity(initial.min(cap));
    loop {
        match response.chunk().await {
            Ok(None) => return Ok(body),
            Ok(Some(chunk)) => {
                // `body.len() <= cap` always, so this cannot overflow.
                if chunk.len() > cap - body.len() {
                    return Err(too_large());
                }
                reserve_for(&mut body, chunk.len(), cap);
                body.extend_from_slice(&chunk);
            }
            Err(e) => return Err(failure::body_failure(&e, &req.host(), body.len())),
        }
    }
}

/// Makes room for `more` bytes (`body.len() + more <= cap`): doubling while the
/// body is small, then growing by at most [`BODY_SLACK`] beyond what is needed,
/// so the spare capacity stays within [`BODY_SLACK`].
fn reserve_for(body: &mut Vec<u8>, more: usize, cap: usize) {
    let spare_now = body.capacity() - body.len();
    if spare_now >= more {
        return;
    }
    let needed = body.len() + more;
    let spare = body.len().min(BODY_SLACK).min(cap - needed);
    body.reserve_exact(more + spare);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_capacity_stays_within_the_slack() {
        let cap = usize::MAX;
        let mut body = Vec::with_capacity(100);
        let mut received = 0usize;
        for step in [
            1usize,
            7,
            100,
            5000,
            16 * 1024,
            70_000,
            1,
            3,
            1 << 20,
            12345,
        ] {
            for _ in 0..20 {
                reserve_for(&mut body, step, cap);
                body.extend(std::iter::repeat_n(0u8, step));
                received += step;
                assert_eq!(body.len(), received);
                assert!(
                    body.capacity() <= received + BODY_SLACK,
                    "{} bytes held for {received}",
                    body.capacity()
                );
            }
        }
    }

    #[test]
    fn the_cap_bounds_the_spare_room() {
        let mut body = vec![0u8; 10];
        reserve_for(&mut body, 5, 15);
        // No spare room past the cap (reserve_exact asks for exactly this much).
        assert_eq!(body.capacity(), 15);
        body.extend_from_slice(&[1; 5]);
        assert_eq!(body.len(), 15);
    }
}
