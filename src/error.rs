//! The library's error type: what went wrong, plus what is known of the exchange
//! that went wrong (HTTP status, Graph request ids), so callers can report it.

use std::fmt;
use std::time::Duration;

use crate::remedy::Remedy;

/// What kind of failure an [`Error`] is. Each kind maps to one C result code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A bad argument or setting: NULL, empty, non-UTF-8, a refused URL or Location.
    InvalidArgument,
    /// DNS, connect, TLS, a reset or a truncated body.
    Transport,
    /// The request timeout, or a wait's deadline, passed.
    Timeout,
    /// Graph answered with a non-2xx status (after any retries).
    Http {
        /// The HTTP status code.
        status: u16,
        /// Graph's `error.code`, when the body had one.
        graph_code: Option<String>,
    },
    /// The body is not a teamsAsyncOperation JSON object.
    Parse,
    /// The body is larger than the client's cap.
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// A wait's callback asked to stop, or its cancel trigger was pulled.
    Cancelled,
    /// The token provider declined, or gave a token that cannot be used.
    Token,
    /// A bug in this library, caught before it could harm the caller.
    Internal,
}

/// The identifiers of the exchange a failure happened in, for support requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Status of the last response received, if any.
    pub http_status: Option<u16>,
    /// The `request-id` Graph gave that response (header, or `innerError`).
    pub request_id: Option<String>,
    /// The `client-request-id` this library sent.
    pub client_request_id: Option<String>,
    /// How long that response asked the caller to wait (`Retry-After`), if it did.
    pub retry_after: Option<Duration>,
}

/// A failure of a library call. Its message never contains the access token.
///
/// Boxed, so a `Result` stays one pointer wide on the success path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    message: String,
    trace: Trace,
    remedy: Option<Remedy>,
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `kind` with a human-readable `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            trace: Trace::default(),
            remedy: None,
        }))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn parse(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Parse, message)
    }

    pub(crate) fn transport(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Transport, message)
    }

    pub(crate) fn timeout(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Timeout, message)
    }

    /// The call's cancel trigger was pulled.
    pub(crate) fn cancelled() -> Self {
        Error::new(
            ErrorKind::Cancelled,
            "cancelled: the call's cancel trigger was pulled",
        )
    }

    /// Names what the caller can do about it (each API words it its own way).
    pub(crate) fn with_remedy(mut self, remedy: Remedy) -> Self {
        self.0.remedy = Some(remedy);
        self
    }

    /// Attaches what is known of the exchange; fields already set are kept.
    pub(crate) fn with_trace(mut self, trace: &Trace) -> Self {
        let t = &mut self.0.trace;
        t.http_status = t.http_status.or(trace.http_status);
        if t.request_id.is_none() {
            t.request_id.clone_from(&trace.request_id);
        }
        if t.client_request_id.is_none() {
            t.client_request_id.clone_from(&trace.client_request_id);
        }
        t.retry_after = t.retry_after.or(trace.retry_after);
        self
    }

    /// The same error with its message rewritten by `f`.
    pub(crate) fn map_message(mut self, f: impl FnOnce(&str) -> String) -> Self {
        self.0.message = f(&self.0.message);
        self
    }

    /// The kind of failure in a few words, for log lines.
    pub fn kind_name(&self) -> &'static str {
        match &self.0.kind {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Http { status: 401, .. } | ErrorKind::Token => "unauthorized",
            ErrorKind::Http { status: 403, .. } => "forbidden",
            ErrorKind::Http { status: 404, .. } => "not found",
            ErrorKind::Http { status: 429, .. } => "throttled",
            ErrorKind::Http { .. } => "HTTP error",
            ErrorKind::Parse => "parse",
            ErrorKind::TooLarge { .. } => "too large",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The message, without the kind or the remedy; never contains the token.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// What the caller can do about it, if there is a step to name; `Display`
    /// appends it to the message.
    pub fn remedy(&self) -> Option<Remedy> {
        self.0.remedy
    }

    /// The exchange's identifiers.
    pub fn trace(&self) -> &Trace {
        &self.0.trace
    }

    /// The HTTP status of the last response received, if any.
    pub fn http_status(&self) -> Option<u16> {
        self.0.trace.http_status
    }

    /// Graph's `error.code`, for HTTP errors that carried one.
    pub fn graph_code(&self) -> Option<&str> {
        match &self.0.kind {
            ErrorKind::Http { graph_code, .. } => graph_code.as_deref(),
            _ => None,
        }
    }

    /// Graph's `request-id` of the failing response, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.0.trace.request_id.as_deref()
    }

    /// The `client-request-id` that was sent; `None` when no request left this
    /// process (no connection, a refused TLS handshake, an argument refused).
    pub fn client_request_id(&self) -> Option<&str> {
        self.0.trace.client_request_id.as_deref()
    }

    /// True for the statuses worth another try (429, 503, 504).
    pub(crate) fn is_retryable_status(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::Http {
                status: 429 | 503 | 504,
                ..
            }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)?;
        match self.0.remedy {
            Some(remedy) => write!(f, "; {remedy}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {}
