//! A string stored with a NUL after its last byte (an operation's body), so the C
//! layer can hand out a pointer to it without copying.

use std::ffi::c_char;
use std::fmt;

/// UTF-8 text with no interior NUL, stored with a terminating NUL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CText(Box<str>);

impl CText {
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
        let t = CText::from_string("19:abc@thread.v2".to_string()).unwrap();
        assert_eq!(t.as_str(), "19:abc@thread.v2");
        // SAFETY: as_ptr points at the text followed by the NUL CText appends.
        let back = unsafe { CStr::from_ptr(t.as_ptr()) };
        assert_eq!(back.to_str().unwrap(), "19:abc@thread.v2");
    }

    #[test]
    fn interior_nul_is_refused() {
        assert!(CText::from_string("a\0b".to_string()).is_none());
        assert_eq!(CText::from_string(String::new()).unwrap().as_str(), "");
    }
}
