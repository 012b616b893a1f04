//! libteamsop: follow Microsoft Teams asynchronous operations (teamsAsyncOperation)
//! through Microsoft Graph.
//!
//! The Rust core ([`Client`], [`Operation`]) is usable on its own; the C ABI in
//! [`ffi`] is a thin translation of it, described by `include/teamsop.h`.
//!
//! ```no_run
//! let client = teamsop::Client::with_token("eyJ0eXAi...")?;
//! let op = client.get_location("/teams('8b081ef6-4792-4def-b2c9-c363a1bf41d5')/operations('op')")?;
//! println!("{:?} {:?}", op.status(), op.error().and_then(|e| e.code()));
//! # Ok::<(), teamsop::Error>(())
//! ```

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod base64;
mod batch;
mod cancel;
mod client;
mod endpoint;
mod error;
pub mod ffi;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_hooks;
mod http;
mod location;
mod log;
mod model;
mod random;
mod remedy;
mod time;

pub use batch::{Batch, DEFAULT_MAX_GETS_PER_SECOND, MAX_GETS_PER_SECOND};
pub use cancel::Cancel;
pub use client::{
    Client, ProvidedToken, TokenProvider, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_RETRIES,
    DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT, MAX_RETRIES_LIMIT, RENEW_MARGIN,
};
pub use endpoint::{BaseUrl, Cloud, OperationRef, Parent};
pub use error::{Error, ErrorKind, Result, Trace};
pub use location::parse_location;
pub use log::{LogLevel, LogSink};
pub use model::{Operation, OperationError, OperationType, Status};
pub use remedy::Remedy;
pub use time::parse_unix_ms;

/// The library's version, `MAJOR.MINOR.PATCH`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
