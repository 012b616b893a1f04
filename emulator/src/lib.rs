//! A small Microsoft Graph emulator for the endpoints libteamsop uses: a real
//! HTTP/1.1 server (hyper) on loopback serving teamsAsyncOperation resources,
//! with scripted answers and faults for tests. See the crate's README.
//!
//! ```no_run
//! use teamsop_emulator::{Config, Emulator, Scenario, ScriptedResponse};
//!
//! let emu = Emulator::start(Config::default()).unwrap();
//! emu.add_scenario(
//!     Scenario::path("/beta/chats/c1/operations/o1")
//!         .respond(ScriptedResponse::status(429).with_header("Retry-After", "1"))
//!         .respond(ScriptedResponse::operation("seed")),
//! );
//! println!("{}", emu.base_url());
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod base64;
mod batch;
mod batch_request;
mod clock;
mod config;
mod conn;
mod control;
mod created;
mod get_meter;
mod graph_answer;
mod graph_format;
mod graph_path;
mod graph_routes;
mod inner_answer;
mod operation_spec;
mod operations;
mod ordered_json;
mod playback;
mod preloaded;
mod prepared;
mod rate_limit;
mod recorder;
mod request_body;
mod resources;
mod response_body;
mod scenario;
mod scripted_answer;
mod server;
mod server_state;
mod splitmix;
mod tls;
mod tokens;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use config::{Config, MAX_LATENCY_MS};
pub use operation_spec::{
    DurationRange, NewOperations, OperationReport, Outcomes, Parent, MAX_OPERATIONS_PER_REQUEST,
};
pub use rate_limit::{RateLimit, RateLimitScope};
pub use recorder::{RecordedRequest, Stats};
pub use scenario::{After, Fault, Generate, RandomResponses, Scenario, ScriptedResponse};
pub use tokens::{claims_challenge, MintedToken, Revocation, Revoked, TokenInfo, TokenSpec};

use operations::OperationStore;
use prepared::compile_all;
use server_state::{State, Stop};

/// The chat id of the preloaded seed operation.
pub const SEED_CHAT_ID: &str = operations::SEED_CHAT;
/// The id of the preloaded seed operation.
pub const SEED_OPERATION_ID: &str = operations::SEED_OP;
/// The preloaded team id.
pub const TEAM_ID: &str = operations::TEAM;
/// The seed operation's body, as served.
pub const SEED_BODY: &[u8] = operations::SEED_BODY;

/// A running emulator. Dropping it stops the server: the listener and every
/// connection are closed and its threads joined.
pub struct Emulator {
    state: Arc<State>,
    addr: SocketAddr,
    base_url: String,
    ca_pem: Option<String>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

/// Writes `contents` to `path` through a temporary name and a rename, so a
/// reader never sees a partial file.
fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

impl Emulator {
    /// Starts an emulator on its own threads; it is listening when this returns.
    ///
    /// Fails when `bind` is not a loopback address, when a scenario is
    /// invalid, or when the port cannot be bound or a file written.
    pub fn start(config: Config) -> io::Result<Emulator> {
        if !config.bind.is_loopback() {
            return Err(invalid(format!(
                "{} is not a loopback address; the emulator listens on loopback only",
                config.bind
            )));
        }
        let operations = OperationStore::new(config.progress_polls);
        let scenarios = compile_all(&operations, &config.scenarios).map_err(invalid)?;
        let tls = if config.tls {
            Some(tls::setup()?)
        } else {
            None
        };
        if let Some(path) = &config.ca_out {
            let Some(t) = &tls else {
                return Err(invalid("ca_out needs tls"));
            };
            write_atomically(path, t.ca_pem.as_bytes())?;
        }

        let std_listener = server::bind(SocketAddr::new(config.bind, config.port))?;
        let addr = std_listener.local_addr()?;
        let state = Arc::new(State::new(&config, operations, scenarios));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{addr}");
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let acceptor = tls.map(|t| t.acceptor);
        let server_state = state.clone();
        let workers = config.worker_threads.max(1);
        let handle_signals = config.handle_signals;
        // The runtime is made, run and dropped on its own thread: dropping a
        // runtime from inside another one (an async test) would panic.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("teamsop-emulator-main".to_owned())
            .spawn(move || {
                let setup = || -> io::Result<_> {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(workers)
                        .thread_name("teamsop-emulator")
                        .enable_all()
                        .build()?;
                    let guard = runtime.enter();
                    let listener = tokio::net::TcpListener::from_std(std_listener)?;
                    // Registered before `start` returns, so that a signal sent
                    // right after the listening line is handled.
                    let signals = if handle_signals {
                        Some(server::Signals::register()?)
                    } else {
                        None
                    };
                    drop(guard);
                    Ok((runtime, listener, signals))
                };
                let (runtime, listener, signals) = match setup() {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                runtime.block_on(server::run(listener, server_state, acceptor, signals));
                // Whatever still runs (connections past the grace period) is dropped.
                runtime.shutdown_timeout(Duration::from_millis(200));
            })?;
        let started = ready_rx
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the emulator thread died")));
        let mut emulator = Emulator {
            state,
            addr,
            base_url,
            ca_pem,
            thread: Some(thread),
        };
        if let Err(e) = started {
            if let Some(t) = emulator.thread.take() {
                let _ = t.join();
            }
            return Err(e);
        }
        if let Some(path) = &config.port_file {
            // On error, dropping `emulator` stops the server.
            write_atomically(path, format!("{}\n", addr.port()).as_bytes())?;
        }
        Ok(emulator)
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS, `[::1]` on IPv6).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configured bearer token (it never expires).
    pub fn token(&self) -> &str {
        self.state.tokens.configured()
    }

    /// Mints a token (see [`TokenSpec`]); `Err` says what is wrong with the
    /// spec (claims that are not a JSON object, ...).
    pub fn mint_token(&self, spec: TokenSpec) -> Result<MintedToken, String> {
        self.state.tokens.mint(&spec, clock::unix_ms_now())
    }

    /// Revokes one token or all (see [`Revocation`]): from then on they get
    /// a claims challenge, and only tokens minted with those claims pass.
    pub fn revoke(&self, revocation: Revocation) -> Result<Revoked, String> {
        self.state
            .tokens
            .revoke(&revocation, clock::unix_ms_now())
            .map_err(|(_, e)| e)
    }

    /// Every token held, the configured one first, then in the order minted.
    pub fn tokens(&self) -> Vec<TokenInfo> {
        self.state.tokens.list()
    }

    /// Forgets minted tokens, revocations and demanded claims: the configured
    /// token alone passes again.
    pub fn clear_tokens(&self) {
        self.state.tokens.reset();
    }

    /// Creates operations that progress by the clock (see [`NewOperations`]);
    /// returns their Locations, in Graph's form (`/teams('ID')/operations('OP')`).
    pub fn create_operations(&self, spec: &NewOperations) -> Result<Vec<String>, String> {
        self.state
            .operations
            .create_many(spec, clock::unix_ms_now())
    }

    /// Every operation created so far (by [`Emulator::create_operations`] or
    /// by a POST), in creation order, with its timeline and polls.
    pub fn operations(&self) -> Vec<OperationReport> {
        self.state.operations.reports()
    }

    /// Forgets the created operations.
    pub fn clear_operations(&self) {
        self.state.operations.reset();
    }

    /// Sets the rate limiter (its windows start afresh).
    pub fn set_rate_limit(&self, limit: RateLimit) {
        self.state.limiter.set(limit);
    }

    /// The rate limiter's settings in force.
    pub fn rate_limit(&self) -> RateLimit {
        self.state.limiter.settings()
    }

    /// The CA certificate (PEM) to trust, with TLS.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// Loads a scenario; one for the same path and method replaces the earlier.
    ///
    /// # Panics
    ///
    /// When the scenario is invalid (see [`Emulator::try_add_scenario`]).
    pub fn add_scenario(&self, scenario: Scenario) {
        if let Err(e) = self.try_add_scenario(scenario) {
            panic!("invalid scenario: {e}");
        }
    }

    /// Loads a scenario, or says why it is invalid.
    pub fn try_add_scenario(&self, scenario: Scenario) -> Result<(), String> {
        let list = compile_all(&self.state.operations, std::slice::from_ref(&scenario))?;
        self.state.scripts.add(list);
        Ok(())
    }

    /// Loads scenarios from JSON: one object or an array.
    pub fn add_scenarios_json(&self, json: &str) -> Result<(), String> {
        let list = Scenario::from_json(json)?;
        let compiled = compile_all(&self.state.operations, &list)?;
        self.state.scripts.add(compiled);
        Ok(())
    }

    /// Removes every scenario.
    pub fn clear_scenarios(&self) {
        self.state.scripts.clear();
    }

    /// Every Graph request received so far (control requests excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.recorder.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.state.recorder.clear_requests();
    }

    /// Connections accepted and Graph requests received.
    pub fn stats(&self) -> Stats {
        self.state.recorder.stats()
    }

    /// Scenarios (back to those of the [`Config`]), records, counters,
    /// created operations, tokens, the rate limit (back to the [`Config`]'s)
    /// and the `$batch` order back to the start.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Blocks until the server stops (`POST /_emulator/shutdown`, or a signal
    /// with [`Config::handle_signals`]).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Stops the server now (the same as dropping it).
    pub fn shutdown(self) {}
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.state.request_stop(Stop::Now);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
