//! `teamsop_batch`: many operations followed at once, on the calling thread.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::batch::Batch;
use crate::error::{Error, Result};

use super::args::str_arg;
use super::boundary::{boundary, new_boundary, read_boundary, result_boundary};
use super::enums::teamsop_result;
use super::error_record;
use super::handle::Handle;
use super::types::{
    teamsop_batch, teamsop_cancel, teamsop_client, teamsop_done_fn, teamsop_operation,
};

/// What a `teamsop_batch` handle holds: the batch, borrowed mutably only by the
/// call using it (so a call from its own `on_done` is refused, not undefined), and
/// the pending count as C may read it meanwhile.
pub(crate) struct BatchState {
    batch: RefCell<Batch<'static>>,
    pending: Cell<usize>,
    /// The batch's rate in force, readable during its run.
    rate: Arc<AtomicU32>,
}

impl BatchState {
    /// The batch, for a call that changes it; an error while a run holds it.
    fn batch(&self) -> Result<std::cell::RefMut<'_, Batch<'static>>> {
        self.batch.try_borrow_mut().map_err(|_| {
            Error::invalid("the batch is running: its on_done may not change or run it")
        })
    }
}

/// Creates an empty batch polling through `client`.
///
/// The batch borrows the client: free the batch (`teamsop_batch_free`) before the
/// client. Returns a new handle owned by the caller, or NULL (with
/// `teamsop_last_error_message`) for a NULL client. A batch is used by one thread
/// at a time (it may move between threads); several batches, on several threads,
/// may share one client.
///
/// # Safety
/// `client` is NULL or a live client that outlives the batch.
#[no_mangle]
pub unsafe extern "C" fn teamsop_batch_new(client: *const teamsop_client) -> *mut teamsop_batch {
    new_boundary(|| {
        // SAFETY: NULL or a live client, which the caller keeps alive until the
        // batch is freed (this function's contract), so `'static` is never outlived.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        let batch = Batch::new(client);
        Ok(BatchState {
            rate: batch.rate_gauge(),
            batch: RefCell::new(batch),
            pending: Cell::new(0),
        })
    })
}

/// Frees a batch and every operation still pending in it (they are not
/// reported). NULL is a no-op, and so is a call from the batch's own `on_done`.
///
/// # Safety
/// `batch` is NULL or a live handle from `teamsop_batch_new`, freed only once,
/// and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn teamsop_batch_free(batch: *mut teamsop_batch) {
    boundary((), || {
        // SAFETY: NULL or a live handle, per the contract.
        let Some(state) = (unsafe { teamsop_batch::try_borrow(batch) }) else {
            return;
        };
        if state.batch.try_borrow_mut().is_err() {
            return; // a run on this thread holds it: freeing it would pull it away
        }
        // SAFETY: live, not borrowed, freed only here.
        unsafe { teamsop_batch::free(batch) }
    })
}

/// Adds the operation named by a `Location` (read exactly as
/// `teamsop_get_location` reads it) with the caller's `tag`, handed back when it is
/// reported. The Location is copied.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL batch or location, a Location
/// `teamsop_get_location` would refuse, or a call from the batch's own `on_done`;
/// nothing is added then.
///
/// # Safety
/// `batch` is NULL or a live batch used by this thread alone; `location` is NULL
/// or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn teamsop_batch_add(
    batch: *mut teamsop_batch,
    location: *const c_char,
    tag: u64,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let state = unsafe { teamsop_batch::borrow(batch, "batch") }?;
        // SAFETY: per this function's contract.
        let location = unsafe { str_arg(location, "location") }?;
        let mut batch = state.batch()?;
        batch.add(location, tag)?;
        state.pending.set(batch.pending());
        Ok(())
    })
}

/// Operations added and not yet reported (during a run, those not reported so
/// far; the one an `on_done` is being called for counts as reported). 0 for NULL.
///
/// # Safety
/// `batch` is NULL or a live batch used by this thread alone.
#[no_mangle]
pub unsafe extern "C" fn teamsop_batch_pending(batch: *const teamsop_batch) -> usize {
    // SAFETY: NULL or a live batch, per the contract.
    unsafe { read_boundary(batch, 0, |state| state.pending.get()) }
}

/// The most operation GETs the batch starts in any sliding window of 1 s, each
/// request inside a `$batch` counted on its own (Graph counts them so): 1 to
/// 1000, default 10. Teams allows an app about 30 GETs per second per tenant. A
/// 429 halves the rate the batch uses, which then climbs back, never above this.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL batch, 0 or more than 1000,
/// or a call from the batch's own `on_done`.
///
/// # Safety
/// `batch` is NULL or a live batch used by this thread alone.
#[no_mangle]
pub unsafe extern "C" fn teamsop_batch_set_max_gets_per_second(
    batch: *mut teamsop_batch,
    gets_per_second: u32,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let state = unsafe { teamsop_batch::borrow(batch, "batch") }?;
        let mut batch = state.batch()?;
        batch.set_max_gets_per_second(gets_per_second)
    })
}

/// The GETs per second the batch allows itself now: the maximum set
/// (`teamsop_batch_set_max_gets_per_second`), or less after a 429 (halved, then
/// climbing back by a fiftieth of the maximum each second without one). 0 for
/// NULL. May be called from the batch's own `on_done`.
///
/// # Safety
/// `batch` is NULL or a live batch used by this thread alone.
#[no_mangle]
pub unsafe extern "C" fn teamsop_batch_current_gets_per_second(batch: *const teamsop_batch) -> u32 {
    // SAFETY: NULL or a live batch, per the contract.
    unsafe { read_boundary(batch, 0, |state| state.rate.load(Ordering::Relaxed)) }
}

/// Whether the GETs travel in Graph JSON batches (`POST {base}/$batch`, at most 20
/// requests each; default true) or one by one (false).
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL batch or a call from the
/// batch's own `on_done`.
///
/// # Safety
/// `batch` is NULL or a live batch used by this thread alone.
#[no_mangle]
pub unsafe extern "C" fn teamsop_batch_set_json_batching(
    batch: *mut teamsop_batch,
    enabled: bool,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let state = unsafe { teamsop_batch::borrow(batch, "batch") }?;
        let mut batch = state.batch()?;
        batch.set_json_batching(enabled);
        Ok(())
    })
}

/// Polls every pending operation until each has been reported through `on_done`
/// (`TEAMSOP_OK`, whatever each one's outcome), `timeout_ms` passes
/// (`TEAMSOP_ERR_TIMEOUT`), `cancel` is triggered or `on_done` returns false
/// (`TEAMSOP_ERR_CANCELLED`, within 100 ms of a trigger). Operations not reported
/// stay pending: run again to go on.
///
/// Each operation is first polled at once, then paced as `teamsop_wait` paces one
/// (the client's poll interval, doubling to 10 s; `Retry-After` wins; 404s taken
/// for "not visible yet" during 10 s from its first poll); the soonest due go
/// first, and the rate (`teamsop_batch_set_max_gets_per_second`) is never
/// exceeded: a GET counts from its start until a second after its answer. With
/// batching on, the operations due together go in `$batch`es of up to 20 (never
/// more than the rate), one due alone in a single GET.
///
/// A 429 (for a whole `$batch` or a request in it, or a GET) pauses every GET for
/// its `Retry-After` (or a backoff) and halves the rate, which then climbs back
/// while no 429 comes; a pause that would end past the run's deadline ends the
/// run at once with that 429 (`TEAMSOP_ERR_THROTTLED`, as a GET's would), the
/// operations not reported still pending. An operation's 503 or 504 is polled again up to the
/// client's retries, then ends it (`TEAMSOP_ERR_HTTP`); its 401 renews the token
/// through the provider once, if there is one. A `$batch` that fails as a whole
/// (transport, timeout, 5xx, 429), or a GET that gets no answer (batching off),
/// is retried after a pause up to the client's retries; one that still fails,
/// or whose pause would end past the deadline, ends the run with that error, its
/// operations still pending; a `$batch`
/// answered 401 (after one renewal), 400 or another 4xx ends it at once. A
/// `$batch` answer that cannot be read (not JSON, no `responses`, over the
/// client's body cap) ends each of its operations with `TEAMSOP_ERR_PARSE` or
/// `TEAMSOP_ERR_TOO_LARGE`, as single GETs of them would have; so does a response
/// given twice, missing, or without an HTTP status, for its operation; one for a
/// request never sent is ignored. Operations whose Location names another
/// version than the base's go in a `$batch` of their own version.
///
/// `on_done` and `cancel` may be NULL. Runs on the calling thread; `on_done` is
/// called on it, with this thread's `teamsop_last_*` telling why an operation
/// ended in an error; a run that returns `TEAMSOP_OK` then leaves them as they
/// were before it.
///
/// Errors: also `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL batch, a `timeout_ms` of
/// 0, or a call from the batch's own `on_done`.
///
/// # Safety
/// `batch` is NULL or a live batch used by this thread alone; `on_done` is NULL or
/// a function honouring `teamsop_done_fn`'s contract; `cancel` is NULL or a live
/// handle from `teamsop_cancel_new`. `user_data` is passed to `on_done` untouched.
#[no_mangle]
pub unsafe extern "C" fn teamsop_batch_run(
    batch: *mut teamsop_batch,
    timeout_ms: u32,
    on_done: teamsop_done_fn,
    user_data: *mut c_void,
    cancel: *const teamsop_cancel,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let state = unsafe { teamsop_batch::borrow(batch, "batch") }?;
        // SAFETY: NULL or a live cancel handle, per the contract.
        let cancel = unsafe { teamsop_cancel::try_borrow(cancel) };
        let mut batch = state.batch()?;
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        // Each error is this thread's last error during its on_done only: a run
        // that succeeds leaves the record as it found it.
        let before = error_record::save();
        let done = batch.run(timeout, cancel, |tag, outcome| {
            state.pending.set(state.pending.get().saturating_sub(1));
            let Some(f) = on_done else {
                return true;
            };
            match outcome {
                Ok(op) => {
                    // SAFETY: the caller's callback, given a pointer valid for the call.
                    unsafe {
                        f(
                            user_data,
                            tag,
                            teamsop_result::TEAMSOP_OK,
                            teamsop_operation::lend(op),
                        )
                    }
                }
                Err(e) => {
                    // Why it ended, for `teamsop_last_*` inside the callback.
                    error_record::set(e);
                    // SAFETY: as above, with no operation.
                    unsafe { f(user_data, tag, teamsop_result::from(e.kind()), ptr::null()) }
                }
            }
        });
        state.pending.set(batch.pending());
        if done.is_ok() {
            error_record::restore(before);
        }
        done
    })
}
