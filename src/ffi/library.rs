//! Library-wide functions: version and result names.

use std::ffi::c_char;

use super::boundary::boundary;
use super::types::teamsop_result;

/// The library's version, `"MAJOR.MINOR.PATCH"`.
///
/// A static string: never NULL, never freed. Thread-safe.
#[no_mangle]
pub extern "C" fn teamsop_version() -> *const c_char {
    boundary(c"".as_ptr(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

/// The name of a result code, e.g. `"TEAMSOP_ERR_NOT_FOUND"`; any value that is not
/// a `teamsop_result` gives `"TEAMSOP_ERR_UNKNOWN"`.
///
/// `result` is taken as `uint32_t` so that any value from C is safe to pass. A
/// static string: never NULL, never freed. Thread-safe.
#[no_mangle]
pub extern "C" fn teamsop_result_str(result: u32) -> *const c_char {
    boundary(c"TEAMSOP_ERR_INTERNAL".as_ptr(), || {
        let name = teamsop_result::ALL
            .iter()
            .find(|r| **r as u32 == result)
            .map_or("TEAMSOP_ERR_UNKNOWN\0", |r| r.name());
        name.as_ptr().cast()
    })
}
