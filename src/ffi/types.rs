//! The C ABI's handle types, each tied to the Rust value it stands for, and its
//! callback types and constants. (Its enums are in `enums.rs`.)

use std::ffi::{c_char, c_void};

use crate::cancel::Cancel;
use crate::client::Client;
use crate::model::Operation;

use super::enums::{teamsop_log_level, teamsop_result};

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

/// A cancellation trigger: another thread pulls it to end a call at once.
///
/// Opaque and thread-safe. Create with `teamsop_cancel_new`, pull with
/// `teamsop_cancel_trigger` (any thread, any number of times), free with
/// `teamsop_cancel_free` once no call uses it. Once triggered it stays triggered:
/// make a new one for the next call.
pub struct teamsop_cancel {
    _private: [u8; 0],
}

impl Handle for teamsop_cancel {
    type Target = Cancel;
    type Sharing = Shared;
}

/// Asked for an access token by a client that has a provider
/// (`teamsop_client_set_token_provider`), on the thread of the call that needs it:
/// before a request when the client has no token or the provider's last token
/// expires in less than 5 minutes, and once after a 401 answer (the request is then
/// sent once more with the new token).
///
/// `claims` is the decoded claims challenge of that 401 (continuous access
/// evaluation: `WWW-Authenticate: Bearer ... error="insufficient_claims",
/// claims="<base64>"`), a JSON object to hand to the identity platform, or NULL
/// when there is none; it is borrowed for the call. Write a NUL-terminated token
/// into `buf` (`buf_len` bytes, at least 16384, NUL included) and its expiry in
/// Unix milliseconds into `*expires_unix_ms` (`TEAMSOP_NO_TIME` when unknown: it
/// is then renewed only after a 401), and return true. Return false to fail the
/// call with `TEAMSOP_ERR_UNAUTHORIZED`. A token that does not fit, is empty or
/// holds a byte outside visible ASCII (0x21-0x7E) fails the call with
/// `TEAMSOP_ERR_UNAUTHORIZED` and a message saying so (never quoting it). The
/// library wipes `buf` after copying the token.
///
/// For one client it is never called twice at once: concurrent calls that need a
/// token wait for the one answer and share it. It may call any teamsop function
/// but `teamsop_client_free` on this client (a call it makes on this client uses
/// the token already set). It must not throw (C++) or `longjmp` out.
pub type teamsop_token_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        claims: *const c_char,
        buf: *mut c_char,
        buf_len: usize,
        expires_unix_ms: *mut i64,
    ) -> bool,
>;

/// Receives the log lines of a client (`teamsop_client_set_log`), on the thread of
/// the call a line describes.
///
/// `line` is one line without a newline, borrowed for the call. The library never
/// writes the token into it (a one-character token may still occur as a letter of
/// other words). It may call any teamsop function but `teamsop_client_free` on
/// this client (`teamsop_last_error_message` in an ERROR line's call gives that
/// failure's message). It must not throw (C++) or `longjmp` out.
pub type teamsop_log_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, level: teamsop_log_level, line: *const c_char),
>;

/// Many operations followed at once, under a rate budget, over Graph JSON batching.
///
/// Opaque. Create with `teamsop_batch_new` (it borrows a client: free the batch
/// first), add Locations with `teamsop_batch_add`, run with `teamsop_batch_run`,
/// free with `teamsop_batch_free`. Used by one thread at a time (it may move between
/// threads); several batches may share one client.
pub struct teamsop_batch {
    _private: [u8; 0],
}

impl Handle for teamsop_batch {
    type Target = super::batch::BatchState;
    type Sharing = super::handle::Exclusive;
}

/// Called by `teamsop_batch_run` once for each operation when it ends, on the
/// thread of the run: `TEAMSOP_OK` with its terminal operation (succeeded, failed
/// or invalid: read its status), or the error that ended it (`TEAMSOP_ERR_NOT_FOUND`
/// after the 10 s grace, `_FORBIDDEN`, `_UNAUTHORIZED`, `_PARSE`, `_HTTP`, ...), with
/// `teamsop_last_*` on this thread telling why. `tag` is the one given to
/// `teamsop_batch_add`.
///
/// `op` is borrowed for the call (do not free or keep it), NULL unless the result
/// is `TEAMSOP_OK`. Return true to go on, false to stop the run (it then returns
/// `TEAMSOP_ERR_CANCELLED`); that operation counts as reported, the others not yet
/// reported stay pending. It may call any teamsop function but those that change,
/// run or free this batch (refused) and `teamsop_client_free` of its client. It
/// must not throw (C++) or `longjmp` out.
pub type teamsop_done_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        tag: u64,
        result: teamsop_result,
        op: *const teamsop_operation,
    ) -> bool,
>;

/// A caller's pointer, handed back to its callback untouched.
pub(crate) struct UserData(pub *mut c_void);

// SAFETY: the library only passes the pointer back to the caller's function, on
// the threads the caller makes calls from; each callback type's contract makes
// the caller answerable for what the function does with it there.
unsafe impl Send for UserData {}
// SAFETY: as above; the library never reads or writes through the pointer.
unsafe impl Sync for UserData {}

/// Returned by the `*_unix_ms` accessors when the time is absent or unparseable.
pub const TEAMSOP_NO_TIME: i64 = i64::MIN;
