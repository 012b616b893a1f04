//! Reading C string arguments, with the same checks and messages everywhere.
//! (Handle arguments are read through [`Handle`](super::handle::Handle).)

use std::ffi::{c_char, CStr};

use crate::error::{Error, Result};

/// Borrows a NUL-terminated UTF-8 argument; NULL or bad UTF-8 is
/// `TEAMSOP_ERR_INVALID_ARGUMENT` naming the parameter.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|e| {
        Error::invalid(format!(
            "{name} is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// Like [`str_arg`], NULL allowed (read as `None`).
///
/// # Safety
/// As for [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: same contract as ours.
    unsafe { str_arg(ptr, name) }.map(Some)
}
