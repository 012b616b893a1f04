//! The C ABI's handle types, each tied to the Rust value it stands for, and its
//! callback types and constants. (Its enums are in `enums.rs`.)

use std::ffi::c_void;

use crate::client::Client;
use crate::model::Operation;

use super::handle::{Handle, Shared};

/// A Graph client: token, base URL, timeouts, retries and a connection pool.
///
/// Opaque. Create with `teamsop_client_new`, free with `teamsop_client_free`.
/// May be used from any number of threads at once, setters included.
pub struct teamsop_client {
    _private: [u8; 0],
}

impl Handle for teamsop_client {
    type Target = Client;
    type Sharing = Shared;
}

/// One teamsAsyncOperation as received. Opaque and immutable.
///
/// Returned by `teamsop_get`, `teamsop_get_team_operation`,
/// `teamsop_get_location`, `teamsop_wait` and `teamsop_parse`; free with
/// `teamsop_free`. May be read from any thread, but must not be freed while
/// another thread reads it.
pub struct teamsop_operation {
    _private: [u8; 0],
}

impl Handle for teamsop_operation {
    type Target = Operation;
    type Sharing = Shared;
}

/// Called by `teamsop_wait` after every poll that received an operation, the
/// terminal one included, on the thread that called `teamsop_wait`.
///
/// `current` is borrowed for the duration of the call only: do not free it or keep
/// it. Return true to keep waiting, false to stop (`teamsop_wait` then returns
/// `TEAMSOP_ERR_CANCELLED`). The callback must not throw (C++) or `longjmp` out.
pub type teamsop_poll_fn =
    Option<unsafe extern "C" fn(current: *const teamsop_operation, user_data: *mut c_void) -> bool>;

/// Returned by the `*_unix_ms` accessors when the time is absent or unparseable.
pub const TEAMSOP_NO_TIME: i64 = i64::MIN;
