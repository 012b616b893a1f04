//! The wall around every entry point: no panic unwinds into C, no panic message
//! reaches the host's stderr, and argument checks read the same everywhere.

use std::any::Any;
use std::cell::Cell;
use std::ffi::{c_char, CStr};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::error::{Error, ErrorKind, Result};

use super::last_error;
use super::types::teamsop_result;

thread_local! {
    /// How many entry points this thread is inside (a wait callback may re-enter).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

/// Installs, once, a panic hook that stays silent for panics inside the library and
/// hands every other panic to the hook that was there before (the host's).
fn install_quiet_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if DEPTH.try_with(Cell::get).unwrap_or(0) == 0 {
                previous(info);
            }
        }));
    });
}

struct Inside;

impl Inside {
    fn enter() -> Inside {
        DEPTH.with(|d| d.set(d.get() + 1));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

/// Runs `body`; if it panics, records `TEAMSOP_ERR_INTERNAL` as the last error and
/// returns `fallback`.
pub(crate) fn boundary<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    install_quiet_hook();
    let _inside = Inside::enter();
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let message = format!(
                "internal error (a bug in libteamsop): {}",
                panic_text(&*payload)
            );
            last_error::set(&Error::new(ErrorKind::Internal, message));
            fallback
        }
    }
}

/// Runs `body` for an entry point that returns a result code: `Ok` is
/// `TEAMSOP_OK`, an error is recorded as the last error and returned as its code.
pub(crate) fn result_boundary(body: impl FnOnce() -> Result<()>) -> teamsop_result {
    boundary(teamsop_result::TEAMSOP_ERR_INTERNAL, || match body() {
        Ok(()) => teamsop_result::TEAMSOP_OK,
        Err(error) => fail(&error),
    })
}

/// Records `error` and returns its code.
pub(crate) fn fail(error: &Error) -> teamsop_result {
    last_error::set(error);
    teamsop_result::from(error.kind())
}

/// Borrows a NUL-terminated UTF-8 argument.
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

/// Borrows the object behind a handle.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` created by this library.
pub(crate) unsafe fn handle<'a, H, T>(ptr: *const H, name: &str) -> Result<&'a T> {
    // SAFETY: the caller promises that a non-NULL `ptr` is a live `T`.
    unsafe { ptr.cast::<T>().as_ref() }.ok_or_else(|| Error::invalid(format!("{name} is NULL")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_panic_is_caught_silently_and_recorded_as_internal() {
        // The host's hook must see panics outside the library only.
        let host_hook_calls = Arc::new(AtomicUsize::new(0));
        let calls = Arc::clone(&host_hook_calls);
        panic::set_hook(Box::new(move |_| {
            calls.fetch_add(1, Ordering::SeqCst);
        }));

        let code = result_boundary(|| panic!("boom"));
        assert_eq!(code, teamsop_result::TEAMSOP_ERR_INTERNAL);
        assert_eq!(
            host_hook_calls.load(Ordering::SeqCst),
            0,
            "no panic output from the library"
        );
        // SAFETY: the last error message is a valid C string owned by this thread.
        let message = unsafe { CStr::from_ptr(last_error::teamsop_last_error_message()) };
        assert!(message.to_str().unwrap().contains("boom"));

        let fallback = boundary(7, || -> i32 { panic!("again") });
        assert_eq!(fallback, 7);

        let outside = std::panic::catch_unwind(|| panic!("host panic"));
        assert!(outside.is_err());
        assert_eq!(
            host_hook_calls.load(Ordering::SeqCst),
            1,
            "host panics reach the host's hook"
        );
        let _ = panic::take_hook();
    }
}
