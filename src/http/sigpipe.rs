//! Keeps SIGPIPE away from the host. A write to a connection the peer has reset
//! raises SIGPIPE; Rust programs ignore it at start-up, but a C host usually does
//! not, and the default action kills the process. Vectored writes (`writev`, used
//! under TLS) cannot ask the kernel not to signal, so, as libcurl does, the signal
//! is blocked on the calling thread while the library does I/O there, and any
//! SIGPIPE raised meanwhile is consumed before the mask is restored.

use std::mem::MaybeUninit;
use std::ptr;

/// Blocks SIGPIPE on this thread until dropped (no-op if it was already blocked).
pub(crate) struct SigpipeGuard {
    /// The mask to restore; `None` when SIGPIPE was blocked already.
    previous: Option<libc::sigset_t>,
}

fn sigpipe_set() -> libc::sigset_t {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset then adds a
    // valid signal number to that initialised set.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
        set.assume_init()
    }
}

impl SigpipeGuard {
    pub(crate) fn new() -> SigpipeGuard {
        let block = sigpipe_set();
        let mut previous = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: both pointers are valid sigset_t storage; pthread_sigmask only
        // changes this thread's mask and writes the old one to `previous`.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &block, previous.as_mut_ptr()) };
        if rc != 0 {
            return SigpipeGuard { previous: None };
        }
        // SAFETY: pthread_sigmask succeeded, so it wrote the previous mask.
        let previous = unsafe { previous.assume_init() };
        // SAFETY: `previous` is an initialised sigset_t.
        let was_blocked = unsafe { libc::sigismember(&previous, libc::SIGPIPE) } == 1;
        SigpipeGuard {
            previous: (!was_blocked).then_some(previous),
        }
    }
}

impl Drop for SigpipeGuard {
    fn drop(&mut self) {
        let Some(previous) = self.previous else {
            return;
        };
        let set = sigpipe_set();
        let mut pending = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: `pending` is valid storage that sigpending fills.
        let has_pending = unsafe {
            libc::sigpending(pending.as_mut_ptr()) == 0
                && libc::sigismember(pending.as_ptr(), libc::SIGPIPE) == 1
        };
        if has_pending {
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `set` holds SIGPIPE only; a zero timeout makes sigtimedwait
            // take a pending SIGPIPE (ours) without waiting.
            unsafe { libc::sigtimedwait(&set, ptr::null_mut(), &zero) };
        }
        // SAFETY: restores the mask this guard saved, on the same thread.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &previous, ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sigpipe_raised_inside_is_consumed() {
        std::thread::spawn(|| {
            {
                let _guard = SigpipeGuard::new();
                // SAFETY: raising a signal on this thread while it is blocked
                // only makes it pending.
                unsafe { libc::raise(libc::SIGPIPE) };
            }
            // Unblocked again and nothing pending: the process is still here.
            let mut pending = MaybeUninit::<libc::sigset_t>::uninit();
            // SAFETY: valid storage for sigpending, read only after it succeeds.
            let still = unsafe {
                libc::sigpending(pending.as_mut_ptr());
                libc::sigismember(pending.as_ptr(), libc::SIGPIPE)
            };
            assert_eq!(still, 0);
        })
        .join()
        .unwrap();
    }
}
