//! One HTTP exchange with Graph: send a GET, read the answer's head and a capped
//! body. Retries, redirects and parsing live above this, in `client`.
//!
//! Requests run on the caller's own thread. A client keeps a small stack of
//! *lanes*, each a single-threaded tokio runtime with its own reqwest connection
//! pool; a call takes a free lane, drives it with `block_on`, and puts it back. So
//! there is no hop to a runtime thread per call (reqwest's blocking client does one
//! each way), consecutive calls reuse the most recently used lane's connections,
//! and concurrent callers each get a lane of their own. See BENCHMARKS.md.

mod describe;
mod lane;
mod pem;
mod roots;
mod sigpipe;
mod tls;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::header::HeaderMap;
use reqwest::header::HeaderValue;
use reqwest::{StatusCode, Url};
use rustls_pki_types::CertificateDer;

pub(crate) use describe::Failure;
pub(crate) use tls::read_ca_file;

use crate::error::Result;
use lane::Lane;
use sigpipe::SigpipeGuard;

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

/// The connections and TLS settings shared by every request of a client.
pub(crate) struct Http {
    tls: Arc<rustls::ClientConfig>,
    /// Idle lanes, the most recently used last.
    idle: Mutex<Vec<Lane>>,
}

impl Http {
    /// Connections trusting the system's roots plus `extra_roots`.
    pub(crate) fn new(extra_roots: &[CertificateDer<'static>]) -> Result<Http> {
        let tls = Arc::new(tls::client_config(extra_roots)?);
        // One lane up front, so a configuration error shows on the first call.
        let first = Lane::new(&tls)?;
        Ok(Http {
            tls,
            idle: Mutex::new(vec![first]),
        })
    }

    /// Sends `req` and reads the answer, on the calling thread.
    pub(crate) fn send(&self, req: &Request<'_>) -> std::result::Result<Reply, Failure> {
        let _sigpipe = SigpipeGuard::new();
        let popped = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let lane = match popped {
            Some(lane) => lane,
            None => Lane::new(&self.tls).map_err(Failure::Final)?,
        };
        let reply = lane.send(req);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(lane);
        reply
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        // Closing connections may write (TLS close_notify) to a reset peer.
        let _sigpipe = SigpipeGuard::new();
        self.idle
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
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
