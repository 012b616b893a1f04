//! What the emulator saw: the record of requests and the counters behind
//! `GET /_emulator/stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use hyper::http::request::Parts;
use serde::{Deserialize, Serialize};

/// A Graph request as the emulator received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The raw path with its query, as sent.
    pub path: String,
    /// Headers by lowercase name; repeated headers are joined with `", "`.
    pub headers: BTreeMap<String, String>,
    /// Number of the TCP connection it came on (1 for the first accepted;
    /// never reused, even after a reset).
    pub connection: u64,
    /// Milliseconds since the emulator started.
    pub elapsed_ms: u64,
}

impl RecordedRequest {
    /// A header's value, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// Counters, since the start or the last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// TCP connections accepted.
    pub connections: u64,
    /// Graph requests received (control requests excluded).
    pub requests: u64,
    /// Of those, the ones a scenario answered (a scripted or random response).
    #[serde(default)]
    pub scripted: u64,
    /// 401s sent by the token check: no token, an unknown, expired or
    /// revoked one, or one without the claims demanded.
    #[serde(default)]
    pub unauthorized: u64,
    /// Of those, the ones with a claims challenge (`insufficient_claims`).
    #[serde(default)]
    pub claims_challenges: u64,
}

/// What the recorder counts (besides connections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counter {
    Requests,
    Scripted,
    Unauthorized,
    ClaimsChallenges,
}

const COUNTERS: usize = 4;

/// The record of requests and the counters.
pub(crate) struct Recorder {
    record: bool,
    requests: Mutex<Vec<RecordedRequest>>,
    connections: AtomicU64,
    counts: [AtomicU64; COUNTERS],
    next_connection: AtomicU64,
    started: Instant,
}

impl Recorder {
    pub(crate) fn new(record: bool) -> Recorder {
        Recorder {
            record,
            requests: Mutex::new(Vec::new()),
            connections: AtomicU64::new(0),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            next_connection: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Counts an accepted connection; returns its number.
    pub(crate) fn connection_accepted(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.next_connection.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Adds `n` to a counter.
    pub(crate) fn count(&self, c: Counter, n: u64) {
        self.counts[c as usize].fetch_add(n, Ordering::Relaxed);
    }

    fn get(&self, c: Counter) -> u64 {
        self.counts[c as usize].load(Ordering::Relaxed)
    }

    /// Counts a Graph request and, unless recording is off, records it.
    pub(crate) fn request_received(&self, parts: &Parts, connection: u64) {
        self.count(Counter::Requests, 1);
        if !self.record {
            return;
        }
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        let rec = RecordedRequest {
            method: parts.method.as_str().to_owned(),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
            headers,
            connection,
            elapsed_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        self.lock().push(rec);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    pub(crate) fn clear_requests(&self) {
        self.lock().clear();
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.get(Counter::Requests),
            scripted: self.get(Counter::Scripted),
            unauthorized: self.get(Counter::Unauthorized),
            claims_challenges: self.get(Counter::ClaimsChallenges),
        }
    }

    /// Forgets the record and zeroes the counters (connection numbers go on).
    pub(crate) fn reset(&self) {
        self.clear_requests();
        self.connections.store(0, Ordering::Relaxed);
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
    }
}
