//! This thread's record of why its last failing call failed (libgit2 / libcurl
//! style), and the C wording of an error's message.
//!
//! The boundary writes the record; the `teamsop_last_*` entry points
//! (`last_error.rs`) read it. A failing call replaces the whole record; a
//! succeeding call leaves it alone. Strings lent out live until the next failing
//! call on the same thread; the record is freed when the thread exits.

use std::cell::RefCell;
use std::ffi::CString;

use crate::error::Error;
use crate::remedy::Remedy;

use super::enums::{teamsop_result, CEnum};

/// The last error, as C reads it.
#[derive(Default, Clone)]
pub(crate) struct Record {
    /// `None` before any failure.
    pub(crate) message: Option<CString>,
    /// 0 when no response was received.
    pub(crate) http_status: i32,
    pub(crate) graph_code: Option<CString>,
    pub(crate) request_id: Option<CString>,
    pub(crate) client_request_id: Option<CString>,
}

thread_local! {
    static LAST: RefCell<Record> = RefCell::new(Record::default());
}

/// Records `error` as this thread's last error.
pub(crate) fn set(error: &Error) {
    let record = Record {
        message: Some(c_string(&c_message(error))),
        http_status: error.http_status().map_or(0, i32::from),
        graph_code: error.graph_code().map(c_string),
        request_id: error.request_id().map(c_string),
        client_request_id: error.client_request_id().map(c_string),
    };
    // A thread being torn down has no record to write; nothing is lost that a
    // caller could still read.
    let _ = LAST.try_with(|last| *last.borrow_mut() = record);
}

/// Records `error` as this thread's last error (see [`set`]) and tells it as the
/// C ABI does: the `teamsop_result`'s name and the message `teamsop_last_error_message`
/// gives. For the ERROR log line of a failing call.
pub(crate) fn set_and_word(error: &Error) -> (&'static str, String) {
    set(error);
    let name = teamsop_result::from(error.kind())
        .name()
        .to_str()
        .unwrap_or("TEAMSOP_ERR_UNKNOWN");
    (name, c_message(error))
}

/// `f` of this thread's record, or `default` while the thread is torn down.
pub(crate) fn read<T>(f: impl FnOnce(&Record) -> T, default: T) -> T {
    LAST.try_with(|last| f(&last.borrow())).unwrap_or(default)
}

/// This thread's record as it is now, to put back with [`restore`] (a call that
/// sets it only for its callbacks, and then succeeds, leaves it as it found it).
pub(crate) fn save() -> Record {
    read(Record::clone, Record::default())
}

/// Puts back a record [`save`] took.
pub(crate) fn restore(record: Record) {
    let _ = LAST.try_with(|last| *last.borrow_mut() = record);
}

/// The error's message with its remedy in the C ABI's words.
fn c_message(error: &Error) -> String {
    match error.remedy() {
        Some(remedy) => format!("{}; {}", error.message(), c_remedy(remedy)),
        None => error.message().to_owned(),
    }
}

/// What to do next, naming the C function that does it.
fn c_remedy(remedy: Remedy) -> &'static str {
    match remedy {
        Remedy::SetToken => "set one with teamsop_client_set_token",
        Remedy::SetCaFile => "add its CA with teamsop_client_set_ca_file",
        Remedy::SetTimeout => "allow more with teamsop_client_set_timeout_ms",
    }
}

/// A C string of `text`, NUL bytes replaced (messages may quote server text).
fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn recorded_message() -> String {
        read(|r| r.message.clone(), None)
            .unwrap()
            .into_string()
            .unwrap()
    }

    #[test]
    fn the_remedy_is_worded_for_c() {
        let e = Error::invalid("no access token is set; nothing was sent")
            .with_remedy(Remedy::SetToken);
        set(&e);
        assert_eq!(
            recorded_message(),
            "no access token is set; nothing was sent; set one with teamsop_client_set_token"
        );
        // The Rust API words it its own way.
        assert_eq!(
            e.to_string(),
            "no access token is set; nothing was sent; set one with Client::set_token"
        );
        let e = Error::new(ErrorKind::Transport, "TLS: not trusted (unknown issuer)")
            .with_remedy(Remedy::SetCaFile);
        set(&e);
        assert_eq!(
            recorded_message(),
            "TLS: not trusted (unknown issuer); add its CA with teamsop_client_set_ca_file"
        );
        set(&Error::parse("a\0b"));
        assert_eq!(recorded_message(), "a\u{FFFD}b");
    }
}
