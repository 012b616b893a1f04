//! One HTTP exchange with Graph: send a GET, read the answer's head and a capped
//! body. Retries, redirects and parsing live above this, in `client`.
//!
//! Requests run on the caller's own thread. A client keeps a small stack of
//! *lanes*, each a single-threaded tokio runtime with its own reqwest connection
//! pool; a call takes a free lane, drives it with `block_on`, and puts it back. So
//! there is no hop to a runtime thread per call (reqwest's blocking client does one
//! each way), consecutive calls reuse the most recently used lane's connections,
//! and concurrent callers each get a lane of their own. See BENCHMARKS.md.
//!
//! After `fork()`, a child never touches the lanes it inherited (their
//! connections, runtimes and lock belong to the parent): it starts a stack of its
//! own and leaks the inherited one, so nothing of the parent's is closed or
//! written to from the child.

mod failure;
pub(crate) mod fork;
mod lane;
mod pem;
mod proxy;
mod roots;
mod sigpipe;
mod tls;

use std::borrow::Cow;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::header::HeaderValue;
use reqwest::header::{HeaderMap, HeaderName};
use reqwest::{Method, StatusCode, Url};
use rustls_pki_types::CertificateDer;

pub(crate) use failure::Failure;
pub(crate) use proxy::Proxies;
pub(crate) use tls::read_ca_file;

use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::log::{log, Logger};
use lane::Lane;
use proxy::Route;
use sigpipe::SigpipeGuard;

/// What one request carries besides its URL.
pub(crate) struct Request<'a> {
    /// GET for an operation, POST for a `$batch` (with its JSON body).
    pub method: Method,
    pub url: &'a Url,
    /// A JSON body to send (a `$batch`), or none.
    pub json_body: Option<&'a [u8]>,
    /// How messages name the URL's host: `None` for `host:port` of `url` (a URL
    /// of the caller's), or that text with the token taken out when a server
    /// chose the URL (a redirect to another host).
    pub shown_host: Option<&'a str>,
    /// `None` once a redirect has left the Graph host.
    pub bearer: Option<&'a HeaderValue>,
    pub client_request_id: &'a str,
    /// 0 for the first try, N for the Nth retry (sent as `Retry-Attempt`).
    pub attempt: u32,
    pub deadline: Instant,
    pub max_body_bytes: usize,
    /// Pulled from another thread, it abandons the request at once.
    pub cancel: Option<&'a Cancel>,
    pub log: &'a Logger,
}

impl Request<'_> {
    /// `host:port` of the URL as messages name it; built only when a message is.
    pub(crate) fn host(&self) -> Cow<'_, str> {
        match self.shown_host {
            Some(shown) => Cow::Borrowed(shown),
            None => Cow::Owned(host_of(self.url)),
        }
    }
}

/// A response, its body read in full (within the cap), or why it could not be.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Result<Vec<u8>>,
}

impl Reply {
    /// A header's value if it is visible ASCII. Looked up by `HeaderName` (a
    /// constant, see [`names`]): a `&str` name would be parsed and lowercased on
    /// every lookup.
    pub(crate) fn header(&self, name: &HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The response headers the library reads.
pub(crate) mod names {
    use reqwest::header::HeaderName;
    pub(crate) use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};

    /// Graph's id of the request, for support.
    pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
}

/// The connections, TLS settings and proxies shared by every request of a client.
pub(crate) struct Http {
    tls: Arc<rustls::ClientConfig>,
    proxies: Arc<Proxies>,
    /// This process's lanes: never null, from `Box::into_raw`. Replaced only in a
    /// child after `fork()`, the inherited stack then leaked (see `Lanes`).
    lanes: AtomicPtr<Lanes>,
}

/// Idle lanes, the most recently used last, made in one process.
struct Lanes {
    /// The fork generation of the process that made them.
    generation: u64,
    idle: Mutex<Vec<Lane>>,
}

impl Lanes {
    fn new(generation: u64, idle: Vec<Lane>) -> *mut Lanes {
        Box::into_raw(Box::new(Lanes {
            generation,
            idle: Mutex::new(idle),
        }))
    }

    fn pop(&self) -> Option<Lane> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Returns a lane taken from this stack. If the process forked meanwhile (a
    /// callback on this thread called `fork()`), this is the child and the lane
    /// is the parent's: it is forgotten, and this stack's lock, which another of
    /// the parent's threads may have held, is not touched.
    fn put_back(&self, lane: Lane) {
        if self.generation != fork::generation() {
            fork::park(Box::into_raw(Box::new(lane)).cast());
            return;
        }
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(lane);
    }
}

impl Http {
    /// Connections trusting the system's roots plus `extra_roots`, through
    /// `proxies`.
    pub(crate) fn new(
        extra_roots: &[CertificateDer<'static>],
        proxies: Arc<Proxies>,
    ) -> Result<Http> {
        fork::watch();
        let tls = Arc::new(tls::client_config(extra_roots)?);
        // One lane up front, so a configuration error shows on the first call.
        let first = Lane::new(&tls, &proxies)?;
        Ok(Http {
            tls,
            proxies,
            lanes: AtomicPtr::new(Lanes::new(fork::generation(), vec![first])),
        })
    }

    /// Sends `req` and reads the answer, on the calling thread.
    pub(crate) fn send(&self, req: &Request<'_>) -> std::result::Result<Reply, Failure> {
        let via = if self.proxies.is_empty() {
            None
        } else {
            match self.proxies.route(req.url) {
                Route::Direct => None,
                Route::Through(proxy) => Some(proxy),
                Route::Unusable { var, why } => {
                    return Err(Failure::NotSent(Error::transport(format!(
                        "the proxy in {var} cannot be used: {why}; nothing was sent"
                    ))))
                }
            }
        };
        let _sigpipe = SigpipeGuard::new();
        if let Some(proxy) = via {
            log!(
                req.log,
                Debug,
                "http: through the proxy {} ({})",
                proxy.shown,
                proxy.var
            );
        }
        let lanes = self.lanes();
        let lane = match lanes.pop() {
            Some(lane) => lane,
            None => {
                log!(
                    req.log,
                    Debug,
                    "http: no idle lane; a new one (its own connections) for this call"
                );
                Lane::new(&self.tls, &self.proxies).map_err(Failure::NotSent)?
            }
        };
        let reply = lane.send(req, via);
        lanes.put_back(lane);
        reply
    }

    /// The lanes this process may use.
    #[inline]
    fn lanes(&self) -> &Lanes {
        let current = self.lanes.load(Ordering::Acquire);
        // SAFETY: `lanes` always holds a pointer from `Box::into_raw`; a stack is
        // freed only by `drop` (which has `&mut self`), and one replaced by
        // `renew_lanes` is leaked, so it lives as long as `&self`.
        let lanes = unsafe { &*current };
        if lanes.generation == fork::generation() {
            lanes
        } else {
            self.renew_lanes(current)
        }
    }

    /// In a child after `fork()`: a fresh, empty stack, without locking or
    /// dropping the inherited one (its lock may be held by a thread that does not
    /// exist here; dropping its lanes would close the parent's connections or
    /// wait for the parent's runtime threads).
    #[cold]
    fn renew_lanes(&self, stale: *mut Lanes) -> &Lanes {
        let fresh = Lanes::new(fork::generation(), Vec::new());
        match self
            .lanes
            .compare_exchange(stale, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                // The stale stack is kept, unused, for the life of the process.
                fork::park(stale.cast());
                // SAFETY: `fresh` is now the live stack; see `lanes`.
                unsafe { &*fresh }
            }
            Err(_) => {
                // Another thread of this process renewed it first.
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                self.lanes()
            }
        }
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let current = *self.lanes.get_mut();
        // SAFETY: never null, from `Box::into_raw`; `&mut self` means no other
        // reference to the stack exists.
        if unsafe { (*current).generation } != fork::generation() {
            // Inherited across fork() and never used here: the parent's.
            fork::park(current.cast());
            return;
        }
        // SAFETY: as above; this process made it, and nothing else will use it.
        let lanes = unsafe { Box::from_raw(current) };
        // Closing connections may write (TLS close_notify) to a reset peer.
        let _sigpipe = SigpipeGuard::new();
        drop(lanes);
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
