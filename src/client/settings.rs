//! A client's settings: one immutable snapshot per request, replaced whole by a
//! setter, so a setter never disturbs a request already under way.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use once_cell::sync::OnceCell;
use reqwest::header::HeaderValue;
use rustls_pki_types::CertificateDer;

use super::retry::DEFAULT_MAX_RETRIES;
use reqwest::Url;

use crate::endpoint::{BaseUrl, Cloud, OperationRef};
use crate::error::{Error, Result};
use crate::http::Http;

/// The default request timeout (a whole call, retries included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default cap on a response body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The default first interval of a wait.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// An access token; its text never shows in `Debug` or in any message.
#[derive(Clone)]
pub(crate) struct Token {
    text: Arc<str>,
    header: HeaderValue,
}

impl Token {
    pub(crate) fn new(text: &str) -> Result<Token> {
        if text.is_empty() {
            return Err(Error::invalid("the access token is empty"));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "the access token holds characters not allowed in an HTTP header (only visible ASCII)",
            ));
        }
        let mut header = HeaderValue::try_from(format!("Bearer {text}"))
            .map_err(|_| Error::invalid("the access token cannot be sent in a header"))?;
        header.set_sensitive(true);
        Ok(Token {
            text: text.into(),
            header,
        })
    }

    pub(crate) fn header(&self) -> &HeaderValue {
        &self.header
    }

    /// `text` with every occurrence of the token replaced, for messages that
    /// quote what a server sent.
    pub(crate) fn redact(&self, text: &str) -> String {
        text.replace(&*self.text, "[redacted]")
    }

    /// As [`Token::redact`], keeping `text`'s buffer when it holds no token.
    pub(crate) fn redact_owned(&self, text: String) -> String {
        if text.contains(&*self.text) {
            self.redact(&text)
        } else {
            text
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The HTTP pool, built on first use (so creating a client costs no I/O) and
/// rebuilt only when the trusted roots change.
pub(crate) type LazyHttp = Arc<OnceCell<Http>>;

/// The URL of the operation last fetched with these settings: polling asks for the
/// same operation again and again, and building a URL is a fair share of a call.
#[derive(Default)]
pub(crate) struct UrlCache(Mutex<Option<(OperationRef, Url)>>);

impl UrlCache {
    /// The URL of `op`, built by `build` unless it is the one cached.
    pub(crate) fn get_or_build(&self, op: &OperationRef, build: impl FnOnce() -> Url) -> Url {
        let mut cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((key, url)) if key == op => url.clone(),
            _ => {
                let url = build();
                *cached = Some((op.clone(), url.clone()));
                url
            }
        }
    }
}

impl Clone for UrlCache {
    /// New settings start with an empty cache: the base or `$select` may differ.
    fn clone(&self) -> Self {
        UrlCache::default()
    }
}

#[derive(Clone)]
pub(crate) struct Settings {
    pub token: Option<Token>,
    pub base: BaseUrl,
    pub timeout: Duration,
    pub max_retries: u32,
    pub max_body_bytes: usize,
    pub poll_interval: Duration,
    pub select: Option<String>,
    pub extra_roots: Arc<Vec<CertificateDer<'static>>>,
    pub http: LazyHttp,
    pub url_cache: UrlCache,
}

impl Settings {
    pub(crate) fn new(token: Option<Token>) -> Settings {
        Settings {
            token,
            base: BaseUrl::for_cloud(Cloud::Global),
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            poll_interval: DEFAULT_POLL_INTERVAL,
            select: None,
            extra_roots: Arc::new(Vec::new()),
            http: LazyHttp::default(),
            url_cache: UrlCache::default(),
        }
    }

    /// The HTTP pool, building it now if this is the first request.
    pub(crate) fn http(&self) -> Result<&Http> {
        self.http.get_or_try_init(|| Http::new(&self.extra_roots))
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base.as_str())
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("poll_interval", &self.poll_interval)
            .field("select", &self.select)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}
