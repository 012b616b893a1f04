//! What a caller can do about an error, kept as data: the message of an [`Error`]
//! says what went wrong in the core's words, and each API (Rust, C) adds the
//! remedy in its own, naming its own functions.
//!
//! [`Error`]: crate::Error

use std::fmt;

/// The next step that fixes an error, when there is one to name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Remedy {
    /// Set an access token: [`Client::set_token`](crate::Client::set_token).
    SetToken,
    /// Trust the server's certificate authority:
    /// [`Client::set_ca_file`](crate::Client::set_ca_file).
    SetCaFile,
    /// Allow a call more time:
    /// [`Client::set_timeout`](crate::Client::set_timeout).
    SetTimeout,
}

/// The remedy in the Rust API's words, as `Error`'s `Display` appends it.
impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Remedy::SetToken => "set one with Client::set_token",
            Remedy::SetCaFile => "add its CA with Client::set_ca_file",
            Remedy::SetTimeout => "allow more with Client::set_timeout",
        })
    }
}
