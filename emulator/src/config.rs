//! How an emulator is set up.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use crate::rate_limit::RateLimit;
use crate::scenario::Scenario;

/// Settings of an [`Emulator`](crate::Emulator). Fields are public; the
/// builder methods are shorthands.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on; loopback only (default `127.0.0.1`).
    pub bind: IpAddr,
    /// Port; 0 (the default) picks a free one.
    pub port: u16,
    /// The bearer token accepted (default `emulator-token`).
    pub token: String,
    /// Serve HTTPS with a CA made at start.
    pub tls: bool,
    /// Where to write the CA certificate (PEM); needs `tls`.
    pub ca_out: Option<PathBuf>,
    /// Where to write the port number (digits and a newline), atomically.
    pub port_file: Option<PathBuf>,
    /// GETs answered with each of notStarted and inProgress by an operation
    /// created by a POST, before succeeded (default 1).
    pub progress_polls: u32,
    /// Scenarios loaded at start (and restored by a reset).
    pub scenarios: Vec<Scenario>,
    /// Record each request (default true; off for benchmarks).
    pub record_requests: bool,
    /// Stop on SIGINT / SIGTERM (default false: a library must leave the
    /// process's signals alone; the binary turns it on).
    pub handle_signals: bool,
    /// Tokio worker threads (default 2).
    pub worker_threads: usize,
    /// The rate limiter at start (and after a reset); default off.
    pub rate_limit: RateLimit,
    /// Seed of the order of the answers inside `$batch` answers (default 0).
    pub batch_seed: u64,
    /// A pause before answering each Graph request, in milliseconds, standing for
    /// the network's round trip (default 0; at most [`MAX_LATENCY_MS`]). Control
    /// requests are answered at once.
    pub latency_ms: u64,
}

/// The longest `latency_ms`: one minute.
pub const MAX_LATENCY_MS: u64 = 60_000;

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            token: "emulator-token".to_owned(),
            tls: false,
            ca_out: None,
            port_file: None,
            progress_polls: 1,
            scenarios: Vec::new(),
            record_requests: true,
            handle_signals: false,
            worker_threads: 2,
            rate_limit: RateLimit::off(),
            batch_seed: 0,
            latency_ms: 0,
        }
    }
}

impl Config {
    /// The defaults.
    pub fn new() -> Self {
        Config::default()
    }

    /// Sets the address to listen on.
    pub fn bind(mut self, ip: IpAddr) -> Self {
        self.bind = ip;
        self
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the accepted token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Serves HTTPS.
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Writes the CA certificate there.
    pub fn ca_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_out = Some(path.into());
        self
    }

    /// Writes the port number there.
    pub fn port_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.port_file = Some(path.into());
        self
    }

    /// Sets the number of GETs per progress state.
    pub fn progress_polls(mut self, n: u32) -> Self {
        self.progress_polls = n;
        self
    }

    /// Adds a scenario loaded at start.
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenarios.push(scenario);
        self
    }

    /// Turns the request record on or off.
    pub fn record_requests(mut self, on: bool) -> Self {
        self.record_requests = on;
        self
    }

    /// Stops on SIGINT / SIGTERM.
    pub fn handle_signals(mut self, on: bool) -> Self {
        self.handle_signals = on;
        self
    }

    /// Pauses this long before answering each Graph request (a network's round
    /// trip), capped at [`MAX_LATENCY_MS`].
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms.min(MAX_LATENCY_MS);
        self
    }

    /// Sets the number of worker threads.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n;
        self
    }

    /// Sets the rate limiter.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Sets the seed of the order of `$batch` answers.
    pub fn batch_seed(mut self, seed: u64) -> Self {
        self.batch_seed = seed;
        self
    }
}
