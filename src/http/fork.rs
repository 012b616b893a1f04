//! Noticing `fork()`. A child process inherits the parent's connections (their
//! sockets, their TLS state, the tokio runtimes driving them) and the locks of
//! whatever threads were running; it must use none of them. A `pthread_atfork`
//! child handler bumps a generation counter, so each process can tell, with one
//! atomic load, whether what it holds was made by itself or inherited.

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

/// Bumped in the child by every `fork()` (after the handler is registered).
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The process id the child handler saw last, to tell two children of one parent
/// apart (both are one generation past it).
static CHILD_PID: AtomicU64 = AtomicU64::new(0);
static REGISTERED: AtomicBool = AtomicBool::new(false);

/// Runs in the child right after `fork()`, on its only thread: only
/// async-signal-safe work (two atomic stores and `getpid`).
extern "C" fn in_child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    // SAFETY: getpid has no preconditions and is async-signal-safe.
    let pid = unsafe { libc::getpid() };
    CHILD_PID.store(u64::from(pid.unsigned_abs()), Ordering::Relaxed);
}

/// Registers the child handler, once per process (a child inherits it). Called
/// before anything that must be fork-aware is made.
pub(crate) fn watch() {
    // Not a `Once`: a fork while another thread is inside `call_once` would leave
    // the child waiting on it for ever. Racing callers may go on before the
    // handler is in place; a fork in that instant is the only one not noticed.
    if !REGISTERED.swap(true, Ordering::AcqRel) {
        // SAFETY: `in_child` is a valid `extern "C" fn()` for the life of the
        // process (this library is never unloaded while its code can run; glibc
        // drops the handler if the shared object is unloaded).
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        if rc != 0 {
            // Only ENOMEM is possible: the next caller tries again.
            REGISTERED.store(false, Ordering::Release);
        }
    }
}

/// How many `fork()`s lie between the process that started and this one.
#[inline]
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// Differs between a parent and each of its children (0 before any fork), for
/// values that must not repeat across processes (request ids, jitter).
#[inline]
pub(crate) fn process_salt() -> u64 {
    CHILD_PID.load(Ordering::Relaxed)
}

/// A value inherited from the parent that this process must neither use nor
/// drop, kept reachable from a static (so leak checkers see it as held, not
/// lost). A lock-free list: a lock could have been held at fork time.
struct Parked {
    _value: *mut (),
    next: *mut Parked,
}

static PARKED: AtomicPtr<Parked> = AtomicPtr::new(ptr::null_mut());

/// Keeps `value` (a pointer from `Box::into_raw`, or to something owned by one)
/// for the rest of the process, never reading it or dropping what it points to.
pub(crate) fn park(value: *mut ()) {
    let node = Box::into_raw(Box::new(Parked {
        _value: value,
        next: ptr::null_mut(),
    }));
    let mut head = PARKED.load(Ordering::Relaxed);
    loop {
        // SAFETY: `node` is ours until the exchange below publishes it.
        unsafe { (*node).next = head };
        match PARKED.compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(now) => head = now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_sees_a_new_generation_and_the_parent_does_not() {
        watch();
        let before = generation();
        // SAFETY: the child only reads atomics and calls _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = generation() == before + 1 && process_salt() == u64::from(std::process::id());
            // SAFETY: _exit ends the child without running the parent's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        assert_eq!(generation(), before);
    }
}
