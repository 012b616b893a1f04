//! What the library tells an operator: one line per event, sent to a sink the host
//! chose (or to stderr when `TEAMSOP_LOG` asks for it). Lines are built only when
//! their level is enabled, so logging off costs one comparison per event.

use std::fmt;
use std::io::Write as _;
use std::sync::Arc;

/// How much a line matters; a sink set for a level gets that level and those above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// A call failed: its result and message.
    Error = 1,
    /// A retry (429/503/504/reset): status or fault, attempt, pause.
    Warn = 2,
    /// Each HTTP request sent: method, URL, status, milliseconds, request ids.
    Info = 3,
    /// Details: 404 re-polls, connections, TLS, proxy, pacing, token renewals.
    Debug = 4,
}

impl LogLevel {
    /// Every level, the most important first.
    pub const ALL: [LogLevel; 4] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
    ];

    /// The level's name as `TEAMSOP_LOG` spells it.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    /// The level named `text` (any ASCII case), if any.
    pub fn from_name(text: &str) -> Option<LogLevel> {
        LogLevel::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(text.trim()))
    }
}

/// Where log lines go. Called on the thread of the call a line describes; `line`
/// is one line, without a newline, and never holds the access token.
pub trait LogSink: Send + Sync {
    /// Receives one line.
    fn log(&self, level: LogLevel, line: &str);
}

impl<F: Fn(LogLevel, &str) + Send + Sync> LogSink for F {
    fn log(&self, level: LogLevel, line: &str) {
        self(level, line)
    }
}

/// A client's logging: off, or lines up to a level going to a sink.
#[derive(Clone, Default)]
pub(crate) struct Logger {
    target: Option<(LogLevel, Arc<dyn LogSink>)>,
}

/// The environment variable read when a client is created.
pub(crate) const LOG_ENV: &str = "TEAMSOP_LOG";

impl Logger {
    /// Lines up to `max` to `sink`.
    pub(crate) fn new(max: LogLevel, sink: Arc<dyn LogSink>) -> Logger {
        Logger {
            target: Some((max, sink)),
        }
    }

    /// Logging off.
    pub(crate) fn off() -> Logger {
        Logger { target: None }
    }

    /// What `TEAMSOP_LOG` asks for: lines up to its level to stderr, or off.
    pub(crate) fn from_env() -> Logger {
        std::env::var(LOG_ENV)
            .ok()
            .and_then(|v| LogLevel::from_name(&v))
            .map_or_else(Logger::off, |max| Logger::new(max, Arc::new(Stderr)))
    }

    /// Whether a line of `level` would go anywhere.
    #[inline]
    pub(crate) fn enabled(&self, level: LogLevel) -> bool {
        matches!(&self.target, Some((max, _)) if level <= *max)
    }

    /// Sends a line, if its level is enabled. Prefer the `log!` macro, which
    /// does not even format the line when the level is off.
    pub(crate) fn emit(&self, level: LogLevel, args: fmt::Arguments<'_>) {
        if let Some((max, sink)) = &self.target {
            if level <= *max {
                let line = one_line(args);
                sink.log(level, &line);
            }
        }
    }
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Some((max, _)) => write!(f, "up to {}", max.name()),
            None => f.write_str("off"),
        }
    }
}

/// What a line usually takes: room for it up front spares the reallocations of
/// a string grown piece by piece.
const LINE_CAPACITY: usize = 320;

/// `args` formatted as one line: line breaks and other control characters (which
/// may come from a server's text) are shown escaped.
fn one_line(args: fmt::Arguments<'_>) -> String {
    let text = match args.as_str() {
        Some(s) => s.to_owned(),
        None => {
            let mut text = String::with_capacity(LINE_CAPACITY);
            // Writing into a String cannot fail.
            let _ = fmt::Write::write_fmt(&mut text, args);
            text
        }
    };
    // Visible ASCII and spaces (nearly every line) need no closer look.
    let plain = |b: &u8| (0x20..0x7f).contains(b);
    if text.as_bytes().iter().all(plain) || !text.chars().any(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `TEAMSOP_LOG`'s sink: `teamsop: LINE` on stderr, one write per line.
struct Stderr;

impl LogSink for Stderr {
    fn log(&self, _level: LogLevel, line: &str) {
        let mut out = Vec::with_capacity(line.len() + 10);
        out.extend_from_slice(b"teamsop: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        // Nothing useful can be done when stderr is closed.
        let _ = std::io::stderr().lock().write_all(&out);
    }
}

/// How the API in use tells a failure: its result's name and its message.
pub(crate) type FailureWords = fn(&crate::error::Error) -> (&'static str, String);

/// Set once by the C layer: records a failing call's error as this thread's last
/// error just before its ERROR line goes out (so a sink that asks "why did the
/// last call fail?" already gets this failure), and words it as the C ABI does
/// (`TEAMSOP_ERR_NOT_FOUND`, remedies naming C functions).
static FAILURE_WORDS: std::sync::OnceLock<FailureWords> = std::sync::OnceLock::new();

/// Sets the function [`Logger::failed`] calls first (once per process).
pub(crate) fn set_failure_words(words: FailureWords) {
    let _ = FAILURE_WORDS.set(words);
}

impl Logger {
    /// The ERROR line of a call that failed with `error` (`what` names the call):
    /// its result and its message.
    pub(crate) fn failed(&self, what: &str, error: &crate::error::Error) {
        if self.enabled(LogLevel::Error) {
            let (result, message) = match FAILURE_WORDS.get() {
                Some(words) => words(error),
                None => (error.kind_name(), error.to_string()),
            };
            self.emit(
                LogLevel::Error,
                format_args!("{what} failed ({result}): {message}"),
            );
        }
    }
}

/// Logs a line at a level, formatting it only when the level is enabled:
/// `log!(logger, Info, "GET {url} {status}")`.
macro_rules! log {
    ($logger:expr, $level:ident, $($arg:tt)+) => {{
        let logger: &$crate::log::Logger = &$logger;
        if logger.enabled($crate::log::LogLevel::$level) {
            logger.emit($crate::log::LogLevel::$level, format_args!($($arg)+));
        }
    }};
}
pub(crate) use log;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn levels_filter_and_lines_stay_one_line() {
        let seen = Arc::new(Mutex::new(Vec::<(LogLevel, String)>::new()));
        let sink = Arc::clone(&seen);
        let logger = Logger::new(
            LogLevel::Info,
            Arc::new(move |level: LogLevel, line: &str| {
                sink.lock().unwrap().push((level, line.to_owned()))
            }),
        );
        log!(logger, Error, "failed: {}", 1);
        log!(logger, Info, "GET {} 200", "http://x");
        log!(logger, Debug, "not sent {}", 2);
        log!(logger, Warn, "server said {:?}", "a\r\nb");
        log!(logger, Warn, "raw {}", "a\nb\u{1}");
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            [
                (LogLevel::Error, "failed: 1".to_owned()),
                (LogLevel::Info, "GET http://x 200".to_owned()),
                (LogLevel::Warn, r#"server said "a\r\nb""#.to_owned()),
                (LogLevel::Warn, r"raw a\nb\u{1}".to_owned()),
            ]
        );
    }

    #[test]
    fn off_is_off_and_names_round_trip() {
        let logger = Logger::off();
        for level in LogLevel::ALL {
            assert!(!logger.enabled(level));
            assert_eq!(LogLevel::from_name(level.name()), Some(level));
        }
        assert_eq!(LogLevel::from_name(" DEBUG "), Some(LogLevel::Debug));
        assert_eq!(LogLevel::from_name("verbose"), None);
    }
}
