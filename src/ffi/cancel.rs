//! `teamsop_cancel`: a trigger that ends a call from another thread.

use crate::cancel::Cancel;

use super::boundary::{boundary, new_boundary, read_boundary};
use super::handle::Handle;
use super::types::teamsop_cancel;

/// Creates a cancellation trigger, not yet triggered.
///
/// Returns a new handle owned by the caller (free it with `teamsop_cancel_free`),
/// or NULL only when out of memory. Pass it to `teamsop_wait_cancellable` (or
/// `teamsop_batch_run`), and call `teamsop_cancel_trigger` from any thread to end
/// that call within 100 ms. Thread-safe.
#[no_mangle]
pub extern "C" fn teamsop_cancel_new() -> *mut teamsop_cancel {
    new_boundary(|| Ok(Cancel::new()))
}

/// Pulls the trigger: every call using `cancel` returns `TEAMSOP_ERR_CANCELLED` at
/// once (within 100 ms), wherever it is (in a GET, in a retry's pause, between
/// polls); a call started later with it sends nothing. It stays triggered.
///
/// Any thread, any number of times; NULL is a no-op. Not async-signal-safe: from
/// a signal handler, hand the signal to a thread that calls this (e.g. `sigwait`).
///
/// # Safety
/// `cancel` is NULL or a live handle from `teamsop_cancel_new`.
#[no_mangle]
pub unsafe extern "C" fn teamsop_cancel_trigger(cancel: *mut teamsop_cancel) {
    boundary((), || {
        // SAFETY: NULL or a live handle, per the contract.
        if let Some(cancel) = unsafe { teamsop_cancel::try_borrow(cancel) } {
            cancel.trigger();
        }
    })
}

/// Whether `teamsop_cancel_trigger` was called on `cancel`; false for NULL.
/// Thread-safe.
///
/// # Safety
/// `cancel` is NULL or a live handle from `teamsop_cancel_new`.
#[no_mangle]
pub unsafe extern "C" fn teamsop_cancel_is_triggered(cancel: *const teamsop_cancel) -> bool {
    // SAFETY: NULL or a live handle, per the contract.
    unsafe { read_boundary(cancel, false, Cancel::is_triggered) }
}

/// Frees a cancellation trigger. NULL is a no-op.
///
/// Not while a call is using it, nor while another thread may still trigger it.
///
/// # Safety
/// `cancel` is NULL or a live handle from `teamsop_cancel_new`, freed only once.
#[no_mangle]
pub unsafe extern "C" fn teamsop_cancel_free(cancel: *mut teamsop_cancel) {
    // SAFETY: NULL or a live handle, freed only once, per the contract.
    boundary((), || unsafe { teamsop_cancel::free(cancel) })
}
