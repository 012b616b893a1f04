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
use crate::http::{Http, Proxies};
use crate::log::Logger;

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

    /// `text`, which a server sent, with every occurrence of the token
    /// replaced. Only ever for server text: the library's own words are left
    /// whole, whatever the token.
    pub(crate) fn redact(&self, text: &str) -> String {
        if text.len() < self.text.len() {
            // Too short to hold it (the usual request id): no search.
            return text.to_owned();
        }
        text.replace(&*self.text, REDACTED)
    }

    /// `message`, a message that quotes server text between `"` (Rust's escaped
    /// form, as serde's `invalid type: string "..."`) or backticks (serde's
    /// `` integer `5` ``), with the token taken out of the quoted parts only.
    pub(crate) fn redact_quoted(&self, message: &str) -> String {
        let token = &*self.text;
        // Inside `"..."` the token may show escaped (`"` as `\"`, `\` as `\\`).
        let escaped = format!("{token:?}");
        let escaped = &escaped[1..escaped.len() - 1];
        let mut out = String::with_capacity(message.len());
        let mut rest = message;
        while let Some(open) = rest.find(['"', '`']) {
            let quote = rest.as_bytes()[open];
            out.push_str(&rest[..=open]);
            let inside = &rest[open + 1..];
            let close = quoted_len(inside, quote);
            let quoted = &inside[..close];
            let mut redacted = quoted.replace(token, REDACTED);
            if escaped != token {
                redacted = redacted.replace(escaped, REDACTED);
            }
            out.push_str(&redacted);
            rest = &inside[close..];
            if let Some(after) = rest.strip_prefix(char::from(quote)) {
                out.push(char::from(quote));
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }
}

/// What stands for the token in server text.
const REDACTED: &str = "[redacted]";

/// The length of the quoted text at the start of `text` (up to the closing
/// `quote`, or all of it): a backslash escapes the next character inside `"`.
fn quoted_len(text: &str, quote: u8) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b if b == quote => return i,
            _ => i += 1,
        }
    }
    text.len()
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
    /// The URL of `op`, built by `build` unless it is the one cached. Never waits:
    /// when another thread holds the cache (or held it when this process was
    /// forked from its parent, so for ever), the URL is built without it.
    pub(crate) fn get_or_build(&self, op: &OperationRef, build: impl FnOnce() -> Url) -> Url {
        let mut cached = match self.0.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return build(),
        };
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
    pub base: BaseUrl,
    pub timeout: Duration,
    pub max_retries: u32,
    pub max_body_bytes: usize,
    pub poll_interval: Duration,
    pub select: Option<String>,
    pub extra_roots: Arc<Vec<CertificateDer<'static>>>,
    /// The proxies of the environment when the client was created.
    pub proxies: Arc<Proxies>,
    pub http: LazyHttp,
    pub url_cache: UrlCache,
    /// Where log lines go (`TEAMSOP_LOG` until `set_log`).
    pub log: Logger,
}

impl Settings {
    pub(crate) fn new() -> Settings {
        Settings {
            base: BaseUrl::for_cloud(Cloud::Global),
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            poll_interval: DEFAULT_POLL_INTERVAL,
            select: None,
            extra_roots: Arc::new(Vec::new()),
            proxies: Arc::new(Proxies::from_env()),
            http: LazyHttp::default(),
            url_cache: UrlCache::default(),
            log: Logger::from_env(),
        }
    }

    /// The HTTP pool, building it now if this is the first request.
    pub(crate) fn http(&self) -> Result<&Http> {
        self.http
            .get_or_try_init(|| Http::new(&self.extra_roots, Arc::clone(&self.proxies)))
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base.as_str())
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("poll_interval", &self.poll_interval)
            .field("select", &self.select)
            .field("extra_roots", &self.extra_roots.len())
            .field("log", &self.log)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_quoted_text_is_redacted() {
        let t = Token::new("t").unwrap();
        assert_eq!(
            t.redact_quoted("the body is not a teamsAsyncOperation: invalid type: string \"tot\", expected a string at line 1 column 12"),
            "the body is not a teamsAsyncOperation: invalid type: string \"[redacted]o[redacted]\", expected a string at line 1 column 12"
        );
        let one = Token::new("1").unwrap();
        assert_eq!(
            one.redact_quoted("invalid type: integer `1`, expected a string at line 1 column 11"),
            "invalid type: integer `[redacted]`, expected a string at line 1 column 11"
        );
        // Unclosed: the rest counts as quoted.
        assert_eq!(t.redact_quoted("x \"at"), "x \"a[redacted]");
    }

    #[test]
    fn escaped_forms_inside_quotes_are_redacted() {
        let t = Token::new(r#"a"b\c"#).unwrap();
        let message = format!("invalid type: string {:?}, expected x", "ka\"b\\ck");
        assert_eq!(
            t.redact_quoted(&message),
            "invalid type: string \"k[redacted]k\", expected x"
        );
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let t = Token::new("token").unwrap();
        assert_eq!(t.redact("a token and token"), "a [redacted] and [redacted]");
    }
}
