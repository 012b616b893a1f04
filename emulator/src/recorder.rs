//! What the emulator saw: the record of requests and the counters behind
//! `GET /_emulator/stats`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use hyper::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::get_meter::GetMeter;

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
    /// For a request inside a `$batch`: the index in this record of the
    /// `$batch` request itself (absent when the record was cleared in between).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    /// For a request inside a `$batch`: its `id` there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_id: Option<String>,
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
    /// `$batch` requests received (counted in `requests` too).
    #[serde(default)]
    pub batches: u64,
    /// Requests inside the `$batch`es that were read (not in `requests`).
    #[serde(default)]
    pub inner_requests: u64,
    /// Of those, the ones a scenario answered.
    #[serde(default)]
    pub inner_scripted: u64,
    /// 429s sent: by the rate limiter or a scenario, for a request, a whole
    /// `$batch` or a request inside one.
    #[serde(default)]
    pub throttled: u64,
    /// The most operation GETs (single ones and requests inside `$batch`es)
    /// received in any sliding window of one second.
    #[serde(default)]
    pub busiest_second: u64,
}

/// What the recorder counts (besides connections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counter {
    Requests,
    Scripted,
    Unauthorized,
    ClaimsChallenges,
    Batches,
    InnerRequests,
    InnerScripted,
    Throttled,
}

/// How many counters there are (the last one's index + 1).
const COUNTERS: usize = Counter::Throttled as usize + 1;

/// Where a request sits in the record (the record's generation changes when
/// it is cleared).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecordRef {
    generation: u64,
    index: usize,
}

/// A request inside a `$batch`, as recorded.
pub(crate) struct InnerRecord<'a> {
    pub id: &'a str,
    pub method: &'a str,
    /// The path with its query, version root included.
    pub path: &'a str,
    pub headers: &'a [(String, String)],
}

struct Record {
    list: Vec<RecordedRequest>,
    generation: u64,
}

/// The record of requests and the counters.
pub(crate) struct Recorder {
    record: bool,
    requests: Mutex<Record>,
    connections: AtomicU64,
    counts: [AtomicU64; COUNTERS],
    meter: GetMeter,
    next_connection: AtomicU64,
    started: Instant,
}

impl Recorder {
    pub(crate) fn new(record: bool) -> Recorder {
        Recorder {
            record,
            requests: Mutex::new(Record {
                list: Vec::new(),
                generation: 0,
            }),
            connections: AtomicU64::new(0),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            meter: GetMeter::default(),
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

    /// Notes `n` operation GETs received now (for `busiest_second`).
    pub(crate) fn polls_received(&self, n: u64) {
        self.meter.note(n);
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Counts a Graph request and, unless recording is off, records it;
    /// returns where.
    pub(crate) fn request_received(&self, parts: &Parts, connection: u64) -> Option<RecordRef> {
        self.count(Counter::Requests, 1);
        if !self.record {
            return None;
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
            elapsed_ms: self.elapsed_ms(),
            batch: None,
            inner_id: None,
        };
        let mut record = self.lock();
        record.list.push(rec);
        Some(RecordRef {
            generation: record.generation,
            index: record.list.len() - 1,
        })
    }

    /// Records the requests inside a `$batch` (recorded at `batch`).
    pub(crate) fn inner_received(
        &self,
        batch: Option<RecordRef>,
        connection: u64,
        inner: &[InnerRecord<'_>],
    ) {
        if !self.record {
            return;
        }
        let elapsed_ms = self.elapsed_ms();
        let mut record = self.lock();
        let batch = batch
            .filter(|b| b.generation == record.generation)
            .map(|b| b.index as u64);
        for r in inner {
            let mut headers: BTreeMap<String, String> = BTreeMap::new();
            for (name, value) in r.headers {
                headers
                    .entry(name.to_ascii_lowercase())
                    .and_modify(|v| {
                        v.push_str(", ");
                        v.push_str(value);
                    })
                    .or_insert_with(|| value.clone());
            }
            record.list.push(RecordedRequest {
                method: r.method.to_owned(),
                path: r.path.to_owned(),
                headers,
                connection,
                elapsed_ms,
                batch,
                inner_id: Some(r.id.to_owned()),
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().list.clone()
    }

    pub(crate) fn clear_requests(&self) {
        let mut record = self.lock();
        record.list.clear();
        record.generation += 1;
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.get(Counter::Requests),
            scripted: self.get(Counter::Scripted),
            unauthorized: self.get(Counter::Unauthorized),
            claims_challenges: self.get(Counter::ClaimsChallenges),
            batches: self.get(Counter::Batches),
            inner_requests: self.get(Counter::InnerRequests),
            inner_scripted: self.get(Counter::InnerScripted),
            throttled: self.get(Counter::Throttled),
            busiest_second: self.meter.busiest(),
        }
    }

    /// Forgets the record and zeroes the counters (connection numbers go on).
    pub(crate) fn reset(&self) {
        self.clear_requests();
        self.connections.store(0, Ordering::Relaxed);
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.meter.reset();
    }
}
