//! `Client`: settings shared by every thread, and the calls that fetch operations.

mod auth;
mod challenge;
mod clock;
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

use crate::endpoint::{check_select, BaseUrl, Cloud, OperationRef, Parent};
use crate::error::{Error, Result};
use crate::http::read_ca_file;
use crate::location::parse_location;
use crate::model::Operation;
use clock::deadline_after;
use exchange::Fetched;
use settings::{LazyHttp, Settings, Token};

/// A Graph client for teamsAsyncOperation resources.
///
/// Safe to share between threads (`&Client` is enough for every call, setters
/// included). A setter affects the requests that start after it returns. All
/// requests of a client share one connection pool.
pub struct Client {
    settings: RwLock<Arc<Settings>>,
}

impl Client {
    /// A client with no token yet, for the global cloud's beta endpoint.
    pub fn new() -> Client {
        Client {
            settings: RwLock::new(Arc::new(Settings::new(None))),
        }
    }

    /// A client sending `token` as its bearer token.
    pub fn with_token(token: &str) -> Result<Client> {
        let token = Token::new(token)?;
        Ok(Client {
            settings: RwLock::new(Arc::new(Settings::new(Some(token)))),
        })
    }

    /// The settings a request starting now uses.
    fn snapshot(&self) -> Arc<Settings> {
        Arc::clone(&self.settings.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Replaces the settings with `change` applied to a copy of them.
    fn update(&self, change: impl FnOnce(&mut Settings)) {
        let mut guard = self.settings.write().unwrap_or_else(|e| e.into_inner());
        let mut next = Settings::clone(&guard);
        change(&mut next);
        *guard = Arc::new(next);
    }

    /// Sets the bearer token; `None` clears it. An empty token is refused.
    pub fn set_token(&self, token: Option<&str>) -> Result<()> {
        let token = token.map(Token::new).transpose()?;
        self.update(|s| s.token = token);
        Ok(())
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
        self.get(&OperationRef::new(Parent::Chat, chat_id, operation_id)?)
    }

    /// `GET {base}/teams/{team_id}/operations/{operation_id}`.
    pub fn get_team_operation(&self, team_id: &str, operation_id: &str) -> Result<Operation> {
        self.get(&OperationRef::new(Parent::Team, team_id, operation_id)?)
    }

    /// GETs the operation a 202's `Location` names (see [`crate::parse_location`]).
    pub fn get_location(&self, location: &str) -> Result<Operation> {
        let settings = self.snapshot();
        let op = parse_location(location, &settings.base)?;
        let deadline = deadline_after(Instant::now(), settings.timeout);
        fetch(&settings, &op, deadline).map(|f| f.operation)
    }

    /// GETs one operation.
    pub fn get(&self, op: &OperationRef) -> Result<Operation> {
        let settings = self.snapshot();
        let deadline = deadline_after(Instant::now(), settings.timeout);
        fetch(&settings, op, deadline).map(|f| f.operation)
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
        let settings = self.snapshot();
        let op = parse_location(location, &settings.base)?;
        // The operation's status, quoted in a timeout's message, is server text.
        let redact = |text: &str| match &settings.token {
            Some(token) => token.redact(text),
            None => text.to_owned(),
        };
        wait::wait(
            |deadline| {
                let call_deadline = deadline_after(Instant::now(), settings.timeout);
                fetch(&settings, &op, deadline.min(call_deadline))
            },
            settings.poll_interval,
            timeout,
            on_poll,
            redact,
        )
    }
}

/// The longest URL the HTTP layer can carry (its request-target limit).
const MAX_URL_BYTES: usize = 65_534;

/// One GET of `op`, ending by `deadline`.
fn fetch(settings: &Settings, op: &OperationRef, deadline: Instant) -> Result<Fetched> {
    let url = settings.url_cache.get_or_build(op, || {
        settings.base.operation_url(op, settings.select.as_deref())
    });
    if url.as_str().len() > MAX_URL_BYTES {
        return Err(Error::invalid(format!(
            "the ids make a URL of {} bytes; at most {MAX_URL_BYTES} can be sent",
            url.as_str().len()
        )));
    }
    exchange::get_operation(settings, &url, deadline)
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.snapshot(), f)
    }
}
