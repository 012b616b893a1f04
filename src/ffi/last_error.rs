//! `teamsop_last_*`: why the last failing call on this thread failed. The record
//! itself, and the rules of its lifetime, are in `error_record.rs`.

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use super::boundary::boundary;
use super::error_record::{self, Record};

/// A string of the record, or NULL.
fn text(field: impl FnOnce(&Record) -> &Option<CString>) -> *const c_char {
    error_record::read(
        |record| field(record).as_deref().map_or(ptr::null(), CStr::as_ptr),
        ptr::null(),
    )
}

/// The message of the last failing call on this thread.
///
/// Never NULL: `""` before any failure. Owned by the library: do not free; valid
/// until the next failing call on this thread. Never contains the access token.
#[no_mangle]
pub extern "C" fn teamsop_last_error_message() -> *const c_char {
    boundary(c"".as_ptr(), || {
        let message = text(|r| &r.message);
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
    boundary(0, || error_record::read(|r| r.http_status, 0))
}

/// Graph's `error.code` of the last failing call on this thread (e.g. `"NotFound"`),
/// or NULL. Owned by the library; valid until the next failing call on this thread.
#[no_mangle]
pub extern "C" fn teamsop_last_graph_code() -> *const c_char {
    boundary(ptr::null(), || text(|r| &r.graph_code))
}

/// Graph's `request-id` of the last failing call's last response (the header, or
/// `innerError`), or NULL. Owned by the library; valid until the next failing call
/// on this thread.
#[no_mangle]
pub extern "C" fn teamsop_last_request_id() -> *const c_char {
    boundary(ptr::null(), || text(|r| &r.request_id))
}

/// The `client-request-id` the last failing call on this thread sent, or NULL when
/// it sent nothing. Owned by the library; valid until the next failing call on this
/// thread.
#[no_mangle]
pub extern "C" fn teamsop_last_client_request_id() -> *const c_char {
    boundary(ptr::null(), || text(|r| &r.client_request_id))
}
