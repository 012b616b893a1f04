//! Why the last failing call on this thread failed (libgit2 / libcurl style).
//!
//! A failing call replaces the whole record; a succeeding call leaves it alone.
//! Strings handed out live until the next failing call on the same thread; the
//! record is freed when the thread exits.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::ptr;

use crate::error::{Error, ErrorKind};

use super::boundary::boundary;

#[derive(Default)]
struct LastError {
    message: Option<CString>,
    http_status: i32,
    graph_code: Option<CString>,
    request_id: Option<CString>,
    client_request_id: Option<CString>,
}

thread_local! {
    static LAST: RefCell<LastError> = RefCell::new(LastError::default());
}

/// A C string of `text`, NUL bytes replaced (messages may quote server text).
fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

/// Records `error` as this thread's last error.
pub(crate) fn set(error: &Error) {
    let graph_code = match error.kind() {
        ErrorKind::Http { graph_code, .. } => graph_code.as_deref(),
        _ => None,
    };
    let record = LastError {
        message: Some(c_string(error.message())),
        http_status: error.http_status().map_or(0, i32::from),
        graph_code: graph_code.map(c_string),
        request_id: error.request_id().map(c_string),
        client_request_id: error.client_request_id().map(c_string),
    };
    // A thread being torn down has no record to write; nothing is lost that a
    // caller could still read.
    let _ = LAST.try_with(|last| *last.borrow_mut() = record);
}

fn read<T>(f: impl FnOnce(&LastError) -> T, default: T) -> T {
    LAST.try_with(|last| f(&last.borrow())).unwrap_or(default)
}

fn ptr_of(text: &Option<CString>) -> *const c_char {
    text.as_ref().map_or(ptr::null(), |t| t.as_ptr())
}

/// The message of the last failing call on this thread.
///
/// Never NULL: `""` before any failure. Owned by the library: do not free; valid
/// until the next failing call on this thread. Never contains the access token.
#[no_mangle]
pub extern "C" fn teamsop_last_error_message() -> *const c_char {
    boundary(c"".as_ptr(), || {
        let message = read(|l| ptr_of(&l.message), ptr::null());
        if message.is_null() {
            c"".as_ptr()
        } else {
            message
        }
    })
}

/// The HTTP status of the last response received during the last failing call on
/// this thread (so 200 after a `TEAMSOP_ERR_PARSE` of a 200 body); 0 when no
/// response was received.
#[no_mangle]
pub extern "C" fn teamsop_last_http_status() -> i32 {
    boundary(0, || read(|l| l.http_status, 0))
}

/// Graph's `error.code` of the last failing call on this thread (e.g. `"NotFound"`),
/// or NULL. Owned by the library; valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn teamsop_last_graph_code() -> *const c_char {
    boundary(ptr::null(), || read(|l| ptr_of(&l.graph_code), ptr::null()))
}

/// Graph's `request-id` of the last failing call's last response (the header, or
/// `innerError`), or NULL. Owned by the library; valid until the next failing call
/// on this thread.
#[no_mangle]
pub extern "C" fn teamsop_last_request_id() -> *const c_char {
    boundary(ptr::null(), || read(|l| ptr_of(&l.request_id), ptr::null()))
}

/// The `client-request-id` the last failing call on this thread sent, or NULL when
/// it sent nothing. Owned by the library; valid until the next failing call on this
/// thread.
#[no_mangle]
pub extern "C" fn teamsop_last_client_request_id() -> *const c_char {
    boundary(ptr::null(), || {
        read(|l| ptr_of(&l.client_request_id), ptr::null())
    })
}
