//! Library-wide functions: version and result names.

use std::ffi::c_char;

use super::boundary::boundary;
use super::enums::{teamsop_result, CEnum};

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
        teamsop_result::from_raw(result)
            .map_or(c"TEAMSOP_ERR_UNKNOWN", CEnum::name)
            .as_ptr()
    })
}
