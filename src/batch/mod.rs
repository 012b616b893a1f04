//! Many operations followed at once: [`Batch`] polls every pending operation as
//! `Client::wait` would poll one (first at once, then pacing from the client's
//! poll interval doubling to 10 s, `Retry-After` first, a 10 s grace for 404s), the
//! soonest due first, under a budget of GETs per second (a 429 halves it, a quiet
//! second climbs it back), over Graph JSON batching (up to 20 GETs in one
//! `POST {root}/{version}/$batch`) or one GET at a time. It runs on the calling
//! thread and keeps only a small state per pending operation.

mod pacer;
mod queue;
mod run;
pub(crate) mod wire;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cancel::Cancel;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::location::parse_location;
use crate::model::Operation;
use pacer::Pacer;
use queue::Queue;

/// GETs per second a batch starts with, unless set otherwise.
pub const DEFAULT_MAX_GETS_PER_SECOND: u32 = 10;
/// The most GETs per second a batch may be set to.
pub const MAX_GETS_PER_SECOND: u32 = 1000;

/// A set of operations to follow to their end. Used by one thread at a time (it
/// may move between threads); several batches may share one client.
pub struct Batch<'c> {
    client: &'c Client,
    queue: Queue<Pending>,
    /// The Graph versions the operations go to, each once (an operation keeps an
    /// index into this list: versions are few, operations many).
    versions: Vec<Option<Box<str>>>,
    json_batching: bool,
    pacer: Pacer,
    /// The rate in force, as the pacer last had it: readable while a run holds
    /// the batch (from its callback, or another handle on it).
    rate_now: Arc<AtomicU32>,
}

/// What is kept of one pending operation between its polls.
struct Pending {
    tag: u64,
    /// `/teams/{id}/operations/{id}`, percent-encoded (relative to a version root).
    path: Box<str>,
    /// Index into `Batch::versions`.
    version: u16,
    /// When it was first polled (the 404 grace counts from there).
    first_poll: Option<Instant>,
    /// The pause after its next answer that is not the end; `None` before the first.
    interval: Option<Duration>,
    /// 503/504 answers in a row, against the client's retries.
    failures: u32,
    /// Whether a 401 of its own already had the token renewed.
    renewed: bool,
}

impl<'c> Batch<'c> {
    /// An empty batch polling through `client` (its settings as they are when each
    /// run starts).
    pub fn new(client: &'c Client) -> Batch<'c> {
        Batch {
            client,
            queue: Queue::default(),
            versions: Vec::new(),
            json_batching: true,
            pacer: Pacer::new(DEFAULT_MAX_GETS_PER_SECOND, Instant::now()),
            rate_now: Arc::new(AtomicU32::new(DEFAULT_MAX_GETS_PER_SECOND)),
        }
    }

    /// Adds the operation a `Location` names (read as [`Client::get_location`]
    /// reads it); `tag` is handed back when it is reported. A Location it would
    /// refuse is [`ErrorKind::InvalidArgument`](crate::ErrorKind) and nothing is
    /// added.
    pub fn add(&mut self, location: &str, tag: u64) -> Result<()> {
        let settings = self.client.snapshot();
        let op = parse_location(location, &settings.base)?;
        let path = op.path_in_version();
        if path.len() + settings.base.as_str().len() > crate::client::MAX_URL_BYTES {
            return Err(Error::invalid(format!(
                "the ids make a URL of more than {} bytes",
                crate::client::MAX_URL_BYTES
            )));
        }
        let version = self.version_index(settings.base.version_of(&op))?;
        let pending = Pending {
            tag,
            path: path.into_boxed_str(),
            version,
            first_poll: None,
            interval: None,
            failures: 0,
            renewed: false,
        };
        self.queue
            .push(pending, Instant::now())
            .ok_or_else(|| Error::invalid("the batch holds as many operations as it can"))?;
        Ok(())
    }

    fn version_index(&mut self, version: Option<&str>) -> Result<u16> {
        if let Some(i) = self.versions.iter().position(|v| v.as_deref() == version) {
            return Ok(i as u16);
        }
        let i = u16::try_from(self.versions.len())
            .map_err(|_| Error::invalid("the batch names too many Graph versions"))?;
        self.versions.push(version.map(Box::from));
        Ok(i)
    }

    /// Operations added and not yet reported.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// The most operation GETs started in any sliding second, each request inside
    /// a `$batch` counted on its own: 1 to [`MAX_GETS_PER_SECOND`] (default
    /// [`DEFAULT_MAX_GETS_PER_SECOND`]).
    pub fn set_max_gets_per_second(&mut self, gets_per_second: u32) -> Result<()> {
        if !(1..=MAX_GETS_PER_SECOND).contains(&gets_per_second) {
            return Err(Error::invalid(format!(
                "the GETs per second must be 1 to {MAX_GETS_PER_SECOND}, not {gets_per_second}"
            )));
        }
        self.pacer.set_ceiling(gets_per_second);
        self.publish_rate();
        Ok(())
    }

    /// The GETs per second the batch allows itself now: the maximum set, or less
    /// after a 429 (halved, then climbing back while none comes).
    pub fn current_rate(&self) -> u32 {
        self.rate_now.load(Ordering::Relaxed)
    }

    /// Where [`Batch::current_rate`] is kept, to read it while a run holds the batch.
    pub(crate) fn rate_gauge(&self) -> Arc<AtomicU32> {
        Arc::clone(&self.rate_now)
    }

    /// Makes the pacer's rate the one [`Batch::current_rate`] reads.
    fn publish_rate(&self) {
        self.rate_now.store(self.pacer.rate(), Ordering::Relaxed);
    }

    /// Whether GETs travel in Graph JSON batches (default) or one by one.
    pub fn set_json_batching(&mut self, enabled: bool) {
        self.json_batching = enabled;
    }

    /// Polls every pending operation until each has been reported to `on_done`
    /// (`Ok`, whatever each one's outcome), `timeout` passes
    /// ([`ErrorKind::Timeout`](crate::ErrorKind)), `cancel` is triggered or
    /// `on_done` returns false ([`ErrorKind::Cancelled`](crate::ErrorKind)).
    ///
    /// `on_done(tag, outcome)` is called once for each operation when it ends:
    /// with its terminal operation, or the error that ended it (NOT_FOUND after
    /// the grace, FORBIDDEN, PARSE, ...). Operations not reported stay pending:
    /// run again to go on. A `$batch` (or single GET) that fails as a whole
    /// (transport, 5xx, 429) is retried as a GET would be; one that still fails
    /// ends the run with that error, its operations still pending. Any 429 or
    /// retry whose pause would end past the deadline ends the run at once with
    /// that answer, as it would a GET.
    pub fn run(
        &mut self,
        timeout: Duration,
        cancel: Option<&Cancel>,
        on_done: impl FnMut(u64, &Result<Operation>) -> bool,
    ) -> Result<()> {
        if timeout.is_zero() {
            return Err(Error::invalid("the run timeout must be more than 0 ms"));
        }
        let settings = self.client.snapshot();
        let ctx = self.client.ctx(&settings, cancel);
        let done = run::Run::new(self, &ctx, timeout, on_done).go();
        if let Err(e) = &done {
            settings.log.failed("batch run", e);
        }
        done
    }
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("pending", &self.queue.len())
            .field("json_batching", &self.json_batching)
            .field("rate", &self.pacer.rate())
            .finish()
    }
}
