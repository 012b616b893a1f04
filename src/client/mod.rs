//! `Client`: settings shared by every thread, and the calls that fetch operations.

mod auth;
mod challenge;
pub(crate) mod clock;
mod exchange;
mod graph_error;
mod retry;
mod settings;
mod wait;

use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub(crate) use retry::backoff;
pub use retry::{DEFAULT_MAX_RETRIES, MAX_RETRIES_LIMIT};
pub use settings::{DEFAULT_MAX_BODY_BYTES, DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT};

use crate::cancel::Cancel;
use crate::endpoint::{check_select, BaseUrl, Cloud, OperationRef, Parent};
use crate::error::{Error, ErrorKind, Result};
use crate::http::read_ca_file;
use crate::location::parse_location;
use crate::log::{LogLevel, LogSink, Logger};
use crate::model::Operation;
use crate::remedy::Remedy;
use auth::Auth;
pub use auth::{ProvidedToken, TokenProvider, RENEW_MARGIN};
pub(crate) use challenge::claims_of;
use clock::deadline_after;
pub(crate) use exchange::{
    cut, get_with_retries, pause_reason, post_json, read_answer, retries_word, Answer, Ctx,
    Fetched, TEXT_LIMIT,
};
pub(crate) use retry::parse_retry_after;
use settings::{LazyHttp, Settings, Token};
pub(crate) use wait::{MAX_POLL_INTERVAL, NOT_VISIBLE_GRACE};

/// A Graph client for teamsAsyncOperation resources.
///
/// Safe to share between threads (`&Client` is enough for every call, setters
/// included). A setter affects the requests that start after it returns. All
/// requests of a client share one connection pool.
pub struct Client {
    settings: RwLock<Arc<Settings>>,
    auth: Auth,
}

impl Client {
    /// A client with no token yet, for the global cloud's beta endpoint. Logs to
    /// stderr when `TEAMSOP_LOG` says so (see [`Client::set_log`]).
    pub fn new() -> Client {
        Client {
            settings: RwLock::new(Arc::new(Settings::new())),
            auth: Auth::default(),
        }
    }

    /// A client sending `token` as its bearer token.
    pub fn with_token(token: &str) -> Result<Client> {
        let token = Token::new(token)?;
        Ok(Client {
            settings: RwLock::new(Arc::new(Settings::new())),
            auth: Auth::with_token(Some(token)),
        })
    }

    /// The settings a request starting now uses.
    pub(crate) fn snapshot(&self) -> Arc<Settings> {
        Arc::clone(&self.settings.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the settings with `change` applied to a copy of them.
    fn update(&self, change: impl FnOnce(&mut Settings)) {
        let mut guard = self.settings.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Settings::clone(&guard);
        change(&mut next);
        *guard = Arc::new(next);
    }

    /// Sets the bearer token; `None` clears it. An empty token is refused. With a
    /// token provider set, this token is used until a 401 has it renewed.
    pub fn set_token(&self, token: Option<&str>) -> Result<()> {
        let token = token.map(Token::new).transpose()?;
        self.auth.set_token(token);
        Ok(())
    }

    /// Sets the provider asked for a token before one expires (5 minutes ahead)
    /// and once after a 401, with the claims of a CAE challenge; `None` removes
    /// it (the last token it gave stays set until replaced). For this client the
    /// provider is never called twice at once.
    pub fn set_token_provider(&self, provider: Option<Arc<dyn TokenProvider>>) {
        self.auth.set_provider(provider);
    }

    /// Sends log lines up to `max_level` to `sink` (replacing `TEAMSOP_LOG`'s
    /// stderr lines). Lines never hold the token.
    pub fn set_log(&self, max_level: LogLevel, sink: Arc<dyn LogSink>) {
        let logger = Logger::new(max_level, sink);
        self.update(|s| s.log = logger);
    }

    /// Turns logging off (`TEAMSOP_LOG` included).
    pub fn set_log_off(&self) {
        self.update(|s| s.log = Logger::off());
    }

    /// Targets a national cloud's beta endpoint.
    pub fn set_cloud(&self, cloud: Cloud) {
        let base = BaseUrl::for_cloud(cloud);
        self.update(|s| s.base = base);
    }

    /// Targets `base_url`, e.g. `https://graph.microsoft.us/beta`; `http://` only for
    /// loopback hosts.
    pub fn set_base_url(&self, base_url: &str) -> Result<()> {
        let base = BaseUrl::parse(base_url)?;
        self.update(|s| s.base = base);
        Ok(())
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> String {
        self.snapshot().base.as_str().to_owned()
    }

    /// Bounds each whole call (retries and their waits included). Zero is refused.
    pub fn set_timeout(&self, timeout: Duration) -> Result<()> {
        if timeout.is_zero() {
            return Err(Error::invalid("the timeout must be more than 0 ms"));
        }
        self.update(|s| s.timeout = timeout);
        Ok(())
    }

    /// Retries of 429, 503, 504 and early resets: 0 to [`MAX_RETRIES_LIMIT`].
    pub fn set_max_retries(&self, max_retries: u32) -> Result<()> {
        if max_retries > MAX_RETRIES_LIMIT {
            return Err(Error::invalid(format!(
                "max retries must be 0 to {MAX_RETRIES_LIMIT}, not {max_retries}"
            )));
        }
        self.update(|s| s.max_retries = max_retries);
        Ok(())
    }

    /// Caps a response body; a larger one is [`ErrorKind::TooLarge`](crate::ErrorKind). Zero is refused.
    pub fn set_max_body_bytes(&self, max_bytes: usize) -> Result<()> {
        if max_bytes == 0 {
            return Err(Error::invalid("the body cap must be more than 0 bytes"));
        }
        self.update(|s| s.max_body_bytes = max_bytes);
        Ok(())
    }

    /// The first pause of [`Client::wait`]; it then doubles up to 10 s. Zero is refused.
    pub fn set_poll_interval(&self, interval: Duration) -> Result<()> {
        if interval.is_zero() {
            return Err(Error::invalid("the poll interval must be more than 0 ms"));
        }
        self.update(|s| s.poll_interval = interval);
        Ok(())
    }

    /// Trusts the certificates of a PEM file too, on top of the system's roots.
    /// The file is read and checked now.
    pub fn set_ca_file(&self, pem_path: impl AsRef<Path>) -> Result<()> {
        let certs = Arc::new(read_ca_file(pem_path.as_ref())?);
        self.update(|s| {
            s.extra_roots = certs;
            s.http = LazyHttp::default();
        });
        Ok(())
    }

    /// OData `$select` for every GET, e.g. `status,error`; `None` or `""` clears it.
    pub fn set_select(&self, fields: Option<&str>) -> Result<()> {
        let fields = fields.filter(|f| !f.is_empty());
        if let Some(f) = fields {
            check_select(f)?;
        }
        let fields = fields.map(str::to_owned);
        self.update(|s| s.select = fields);
        Ok(())
    }

    /// `GET {base}/chats/{chat_id}/operations/{operation_id}`.
    pub fn get_chat_operation(&self, chat_id: &str, operation_id: &str) -> Result<Operation> {
        match OperationRef::new(Parent::Chat, chat_id, operation_id) {
            Ok(op) => self.get(&op),
            Err(e) => Err(self.refused(CallName::Get, e)),
        }
    }

    /// `GET {base}/teams/{team_id}/operations/{operation_id}`.
    pub fn get_team_operation(&self, team_id: &str, operation_id: &str) -> Result<Operation> {
        match OperationRef::new(Parent::Team, team_id, operation_id) {
            Ok(op) => self.get(&op),
            Err(e) => Err(self.refused(CallName::Get, e)),
        }
    }

    /// GETs the operation a 202's `Location` names (see [`crate::parse_location`]).
    pub fn get_location(&self, location: &str) -> Result<Operation> {
        let settings = self.snapshot();
        let done = parse_location(location, &settings.base).and_then(|op| {
            let deadline = deadline_after(Instant::now(), settings.timeout);
            fetch(&self.ctx(&settings, None), &op, deadline, true).map(|f| f.operation)
        });
        logged(&settings, CallName::GetLocation, done)
    }

    /// GETs one operation.
    pub fn get(&self, op: &OperationRef) -> Result<Operation> {
        let settings = self.snapshot();
        let deadline = deadline_after(Instant::now(), settings.timeout);
        let done = fetch(&self.ctx(&settings, None), op, deadline, true).map(|f| f.operation);
        logged(&settings, CallName::Get, done)
    }

    /// `error`, which ended a call of this client before it started (its
    /// arguments were refused), after its ERROR line: every failing call has one.
    pub(crate) fn refused(&self, call: CallName, error: Error) -> Error {
        self.snapshot().log.failed(call.what(), &error);
        error
    }

    /// What a call made now works with.
    pub(crate) fn ctx<'a>(&'a self, settings: &'a Settings, cancel: Option<&'a Cancel>) -> Ctx<'a> {
        Ctx {
            settings,
            auth: &self.auth,
            cancel,
        }
    }

    /// Polls `location` until the operation succeeds or fails (`Ok` either way: read
    /// its status), `timeout` passes ([`ErrorKind::Timeout`](crate::ErrorKind)) or
    /// `on_poll` returns false ([`ErrorKind::Cancelled`](crate::ErrorKind)).
    /// `on_poll` sees every operation received, the last one included.
    pub fn wait(
        &self,
        location: &str,
        timeout: Duration,
        on_poll: impl FnMut(&Operation) -> bool,
    ) -> Result<Operation> {
        self.wait_cancellable(location, timeout, None, on_poll)
    }

    /// As [`Client::wait`]; in addition it ends with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind) as soon as `cancel` is triggered
    /// from another thread, wherever the wait is (in a GET, in a retry's pause,
    /// between polls). A trigger pulled before the call sends nothing.
    pub fn wait_cancellable(
        &self,
        location: &str,
        timeout: Duration,
        cancel: Option<&Cancel>,
        on_poll: impl FnMut(&Operation) -> bool,
    ) -> Result<Operation> {
        let settings = self.snapshot();
        let ctx = self.ctx(&settings, cancel);
        let done = parse_location(location, &settings.base).and_then(|op| {
            // The operation's status, quoted in a timeout's message, is server
            // text; a provider may renew the token during the wait.
            let redact = |text: &str| match self.auth.current() {
                Some(token) => token.redact(text),
                None => text.to_owned(),
            };
            wait::wait(
                &ctx,
                |deadline| {
                    let call_deadline = deadline_after(Instant::now(), settings.timeout);
                    fetch(
                        &ctx,
                        &op,
                        deadline.min(call_deadline),
                        call_deadline < deadline,
                    )
                },
                timeout,
                on_poll,
                redact,
            )
        });
        logged(&settings, CallName::Wait, done)
    }
}

/// The calls of a client, as ERROR lines name them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum CallName {
    /// A GET by ids.
    Get,
    /// A GET of a Location.
    GetLocation,
    /// A wait.
    Wait,
}

impl CallName {
    fn what(self) -> &'static str {
        match self {
            CallName::Get => "GET of the operation",
            CallName::GetLocation => "GET of the Location",
            CallName::Wait => "wait",
        }
    }
}

/// The longest URL the HTTP layer can carry (its request-target limit).
pub(crate) const MAX_URL_BYTES: usize = 65_534;

/// `done`, with an ERROR line when it is an error.
fn logged<T>(settings: &Settings, call: CallName, done: Result<T>) -> Result<T> {
    if let Err(e) = &done {
        settings.log.failed(call.what(), e);
    }
    done
}

/// One GET of `op`, ending by `deadline` (`bounded_by_timeout` when that is the
/// client's timeout, not a wait's end), its errors naming what was asked for and
/// what bounded it.
fn fetch(
    ctx: &Ctx<'_>,
    op: &OperationRef,
    deadline: Instant,
    bounded_by_timeout: bool,
) -> Result<Fetched> {
    fetch_raw(ctx, op, deadline).map_err(|e| match e.kind() {
        ErrorKind::Http { status: 404, .. } => e.map_message(|m| {
            let parent = match op.parent {
                Parent::Chat => "chat",
                Parent::Team => "team",
            };
            format!(
                "{m} (asked for operation {:?} of {parent} {:?})",
                op.operation_id, op.parent_id
            )
        }),
        ErrorKind::Timeout if bounded_by_timeout => {
            let ms = ctx.settings.timeout.as_millis();
            e.map_message(|m| {
                format!("{m} (the client's timeout, {ms} ms, bounds a call and its retries)")
            })
            .with_remedy(Remedy::SetTimeout)
        }
        _ => e,
    })
}

fn fetch_raw(ctx: &Ctx<'_>, op: &OperationRef, deadline: Instant) -> Result<Fetched> {
    let settings = ctx.settings;
    let url = settings.url_cache.get_or_build(op, || {
        settings.base.operation_url(op, settings.select.as_deref())
    });
    if url.as_str().len() > MAX_URL_BYTES {
        return Err(Error::invalid(format!(
            "the ids make a URL of {} bytes; at most {MAX_URL_BYTES} can be sent",
            url.as_str().len()
        )));
    }
    exchange::get_operation(ctx, &url, deadline)
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("auth", &self.auth)
            .field("settings", &*self.snapshot())
            .finish()
    }
}
