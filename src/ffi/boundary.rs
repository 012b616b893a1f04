//! The wall around every entry point: no panic unwinds into C, no panic message
//! reaches the host's stderr, and a failure is recorded as this thread's last error.
//!
//! One function per shape of entry point:
//! - [`boundary`]: any return value, given a fallback (frees, static strings);
//! - [`result_boundary`]: returns a `teamsop_result` (setters, actions);
//! - [`new_boundary`]: returns a new handle, or NULL on failure (`*_new`);
//! - [`out_boundary`]: returns a `teamsop_result` and a new handle through an
//!   out-pointer (fetching operations);
//! - [`read_boundary`]: reads a handle that may be NULL, never fails (accessors).

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::Once;

use crate::error::{Error, ErrorKind, Result};

use super::enums::teamsop_result;
use super::error_record;
use super::handle::Handle;

thread_local! {
    /// How many entry points this thread is inside (a wait callback may re-enter).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

static HOOK: Once = Once::new();

/// Installs, once, a panic hook that stays silent for panics inside the library and
/// hands every other panic to the hook that was there before (the host's).
fn install_quiet_hook() {
    HOOK.call_once(|| {
        // An ERROR log line's callback may ask for this thread's last error, and
        // the line words the failure as the C ABI does.
        crate::log::set_failure_words(error_record::set_and_word);
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
            error_record::set(&Error::new(ErrorKind::Internal, message));
            fallback
        }
    }
}

/// Records `error` as the last error and returns its code.
fn fail(error: &Error) -> teamsop_result {
    error_record::set(error);
    teamsop_result::from(error.kind())
}

/// For an entry point that returns a result code: `Ok` is `TEAMSOP_OK`, an error is
/// recorded as the last error and returned as its code.
pub(crate) fn result_boundary(body: impl FnOnce() -> Result<()>) -> teamsop_result {
    boundary(teamsop_result::TEAMSOP_ERR_INTERNAL, || match body() {
        Ok(()) => teamsop_result::TEAMSOP_OK,
        Err(error) => fail(&error),
    })
}

/// For an entry point that makes a handle: the new handle, owned by the caller, or
/// NULL with the error recorded as the last error.
pub(crate) fn new_boundary<H: Handle>(body: impl FnOnce() -> Result<H::Target>) -> *mut H {
    boundary(ptr::null_mut(), || match body() {
        Ok(value) => H::into_raw(value),
        Err(error) => {
            fail(&error);
            ptr::null_mut()
        }
    })
}

/// For an entry point with an out-pointer: `*out` is NULL unless the result is
/// `TEAMSOP_OK`, when it is a new handle owned by the caller. A NULL `out` is
/// `TEAMSOP_ERR_INVALID_ARGUMENT` and `body` does not run.
///
/// # Safety
/// `out` is NULL or valid for a pointer write.
pub(crate) unsafe fn out_boundary<H: Handle>(
    out: *mut *mut H,
    body: impl FnOnce() -> Result<H::Target>,
) -> teamsop_result {
    boundary(teamsop_result::TEAMSOP_ERR_INTERNAL, || {
        if out.is_null() {
            return fail(&Error::invalid("out is NULL"));
        }
        // SAFETY: non-NULL and, per the contract, valid for a write.
        unsafe { out.write(ptr::null_mut()) };
        match body() {
            Ok(value) => {
                // SAFETY: as above; the handle is the caller's to free.
                unsafe { out.write(H::into_raw(value)) };
                teamsop_result::TEAMSOP_OK
            }
            Err(error) => fail(&error),
        }
    })
}

/// For an accessor: `f` of the value behind `handle`, or `fallback` when `handle` is
/// NULL (or on a caught panic). Accessors never touch the last error otherwise.
///
/// # Safety
/// `handle` is NULL or a live handle (see [`Handle`]).
pub(crate) unsafe fn read_boundary<H: Handle, T: Copy>(
    handle: *const H,
    fallback: T,
    f: impl FnOnce(&H::Target) -> T,
) -> T {
    boundary(fallback, || {
        // SAFETY: NULL or a live handle, per the caller's contract.
        match unsafe { H::try_borrow(handle) } {
            Some(value) => f(value),
            None => fallback,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::ffi::{teamsop_last_error_message, teamsop_operation};
    use crate::model::Operation;

    fn last_message() -> String {
        // SAFETY: the last error message is a valid C string owned by this thread.
        let message = unsafe { CStr::from_ptr(teamsop_last_error_message()) };
        message.to_str().unwrap().to_owned()
    }

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
        assert!(last_message().contains("boom"));

        let fallback = boundary(7, || -> i32 { panic!("again") });
        assert_eq!(fallback, 7);

        let made: *mut teamsop_operation = new_boundary(|| panic!("while making"));
        assert!(made.is_null());
        assert!(last_message().contains("while making"));

        let outside = std::panic::catch_unwind(|| panic!("host panic"));
        assert!(outside.is_err());
        assert_eq!(
            host_hook_calls.load(Ordering::SeqCst),
            1,
            "host panics reach the host's hook"
        );
        let _ = panic::take_hook();
    }

    #[test]
    fn out_pointer_is_null_unless_ok() {
        let mut out: *mut teamsop_operation = ptr::NonNull::dangling().as_ptr();
        // SAFETY: `out` is a valid place for a pointer.
        let code = unsafe { out_boundary(&mut out, || Operation::parse(b"[]")) };
        assert_eq!(code, teamsop_result::TEAMSOP_ERR_PARSE);
        assert!(out.is_null());

        // SAFETY: as above.
        let code = unsafe { out_boundary(&mut out, || Operation::parse(b"{\"id\":\"x\"}")) };
        assert_eq!(code, teamsop_result::TEAMSOP_OK);
        // SAFETY: `out` is the live operation just made.
        let id = unsafe { read_boundary(out, None, |op: &Operation| op.id().map(str::len)) };
        assert_eq!(id, Some(1));
        // SAFETY: made above, freed once.
        unsafe { teamsop_operation::free(out) };

        // SAFETY: NULL out is refused before the body runs.
        let code = unsafe {
            out_boundary::<teamsop_operation>(ptr::null_mut(), || unreachable!("not run"))
        };
        assert_eq!(code, teamsop_result::TEAMSOP_ERR_INVALID_ARGUMENT);
        assert_eq!(last_message(), "out is NULL");
    }
}
