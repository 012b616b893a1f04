//! Ties each opaque C handle type to the Rust value it stands for (after
//! rustls-ffi's `Castable`). A handle pointer is a `Box<Target>` given to C, so the
//! casts live here, once: making, borrowing and freeing a handle go through
//! [`Handle`], and borrowing a `teamsop_operation` as a `Client` does not compile.
//!
//! Whether C may use a handle from several threads at once is part of its type:
//! [`Shared`] handles are read by several threads at once (so `Target` must be
//! `Sync`); [`Exclusive`] handles are used by one thread at a time (their `Target`
//! needs only be `Send`, and keeps its own interior mutability, e.g. a `RefCell`
//! that refuses a re-entrant call instead of aliasing).

use crate::error::{Error, Result};

/// Any number of threads at once (a client, a cancel token, an operation).
pub(crate) enum Shared {}

/// One thread at a time, possibly a different one each time (a batch).
pub(crate) enum Exclusive {}

/// The thread rules a handle's `Target` must meet under each sharing mode: every
/// handle may be freed on another thread than the one that made it (`Send`); a
/// shared one is read by several at once (`Sync`).
pub(crate) trait SharingOf<T> {}

impl<T: Send + Sync> SharingOf<T> for Shared {}
impl<T: Send> SharingOf<T> for Exclusive {}

/// An opaque C handle type (a zero-sized struct C only sees through pointers).
///
/// # Safety (for the `unsafe fn`s)
/// A pointer given to them is NULL or a live handle of this type: one that
/// [`Handle::into_raw`] made (or [`Handle::lend`] lent, for the duration of the
/// call it was lent to) and that was not freed.
pub(crate) trait Handle: Sized {
    /// The Rust value behind the handle.
    type Target;
    /// [`Shared`] or [`Exclusive`].
    type Sharing: SharingOf<Self::Target>;

    /// Gives `value` to C as a new handle, to be freed with [`Handle::free`].
    fn into_raw(value: Self::Target) -> *mut Self {
        Box::into_raw(Box::new(value)).cast()
    }

    /// Lends `value` to C as a handle for the duration of a call (a callback's
    /// argument); C must neither keep nor free it.
    fn lend(value: &Self::Target) -> *const Self {
        (value as *const Self::Target).cast()
    }

    /// The value behind `ptr`, or `None` for NULL (accessors return a sentinel).
    ///
    /// # Safety
    /// See the trait; the value outlives `'a` and no `&mut` to it exists meanwhile.
    unsafe fn try_borrow<'a>(ptr: *const Self) -> Option<&'a Self::Target> {
        // SAFETY: NULL or a live `Box<Target>` per the caller's contract.
        unsafe { ptr.cast::<Self::Target>().as_ref() }
    }

    /// The value behind a required argument; NULL is `TEAMSOP_ERR_INVALID_ARGUMENT`
    /// naming the parameter.
    ///
    /// # Safety
    /// As for [`Handle::try_borrow`].
    unsafe fn borrow<'a>(ptr: *const Self, param: &str) -> Result<&'a Self::Target> {
        // SAFETY: forwarded.
        unsafe { Self::try_borrow(ptr) }.ok_or_else(|| Error::invalid(format!("{param} is NULL")))
    }

    /// Frees a handle made by [`Handle::into_raw`]; NULL is a no-op.
    ///
    /// # Safety
    /// See the trait; nothing uses the handle during or after this call.
    unsafe fn free(ptr: *mut Self) {
        if !ptr.is_null() {
            // SAFETY: made by `into_raw` (a leaked box) and freed only here, once.
            drop(unsafe { Box::from_raw(ptr.cast::<Self::Target>()) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::ptr;

    /// A handle of each kind, over a value that counts its drops.
    struct SharedHandle {
        _private: [u8; 0],
    }
    struct ExclusiveCounter {
        _private: [u8; 0],
    }
    struct Tracked(std::sync::Arc<std::sync::atomic::AtomicUsize>, u32);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    impl Handle for SharedHandle {
        type Target = Tracked;
        type Sharing = Shared;
    }
    impl Handle for ExclusiveCounter {
        type Target = Tracked;
        type Sharing = Exclusive;
    }

    #[test]
    fn make_borrow_free() {
        let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = SharedHandle::into_raw(Tracked(drops.clone(), 7));
        // SAFETY: `h` is live until the free below.
        unsafe {
            assert_eq!(SharedHandle::borrow(h, "h").unwrap().1, 7);
            assert_eq!(SharedHandle::try_borrow(h).unwrap().1, 7);
            SharedHandle::free(h);
        }
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);

        let e = ExclusiveCounter::into_raw(Tracked(drops.clone(), 1));
        // SAFETY: `e` is live until the free below, and used by this thread alone.
        unsafe {
            assert_eq!(ExclusiveCounter::borrow(e, "e").unwrap().1, 1);
            ExclusiveCounter::free(e);
        }
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn null_is_an_invalid_argument_naming_the_parameter_or_a_no_op() {
        // SAFETY: NULL is allowed everywhere.
        unsafe {
            let e = SharedHandle::borrow(ptr::null(), "client").err().unwrap();
            assert_eq!(*e.kind(), ErrorKind::InvalidArgument);
            assert_eq!(e.message(), "client is NULL");
            assert!(SharedHandle::try_borrow(ptr::null()).is_none());
            let e = ExclusiveCounter::borrow(ptr::null(), "batch")
                .err()
                .unwrap();
            assert_eq!(e.message(), "batch is NULL");
            SharedHandle::free(ptr::null_mut());
        }
    }

    #[test]
    fn a_lent_value_reads_back() {
        let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let value = Tracked(drops, 3);
        let lent = SharedHandle::lend(&value);
        // SAFETY: `value` outlives the borrow.
        assert_eq!(unsafe { SharedHandle::try_borrow(lent) }.unwrap().1, 3);
    }
}
