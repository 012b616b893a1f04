//! Strings stored with a NUL after their last byte, so the C layer can hand out
//! pointers into an operation without copying and without a second allocation.

use std::ffi::c_char;
use std::fmt;

/// UTF-8 text with no interior NUL, stored with a terminating NUL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CText(Box<str>);

impl CText {
    /// Copies `text`; `None` if it holds a NUL (it could not be a C string).
    pub(crate) fn new(text: &str) -> Option<CText> {
        if text.as_bytes().contains(&0) {
            return None;
        }
        let mut owned = String::with_capacity(text.len() + 1);
        owned.push_str(text);
        Some(CText::terminate(owned))
    }

    /// Takes `text` over, appending the NUL; `None` if it holds a NUL.
    pub(crate) fn from_string(text: String) -> Option<CText> {
        if text.as_bytes().contains(&0) {
            return None;
        }
        Some(CText::terminate(text))
    }

    fn terminate(mut text: String) -> CText {
        text.push('\0');
        CText(text.into_boxed_str())
    }

    /// The text, without the NUL.
    pub(crate) fn as_str(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// A pointer to the NUL-terminated text, valid while `self` lives.
    pub(crate) fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
}

impl fmt::Debug for CText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::CText;
    use std::ffi::CStr;

    #[test]
    fn pointer_is_nul_terminated_text() {
        let t = CText::new("19:abc@thread.v2").unwrap();
        assert_eq!(t.as_str(), "19:abc@thread.v2");
        // SAFETY: as_ptr points at the text followed by the NUL CText appends.
        let back = unsafe { CStr::from_ptr(t.as_ptr()) };
        assert_eq!(back.to_str().unwrap(), "19:abc@thread.v2");
    }

    #[test]
    fn interior_nul_is_refused() {
        assert!(CText::new("a\0b").is_none());
        assert!(CText::from_string("a\0".to_string()).is_none());
        assert_eq!(CText::new("").unwrap().as_str(), "");
    }
}
