//! Text stored with a NUL after its last byte, so that it can be lent both as `&str`
//! and as `&CStr` without a copy (an operation's body, and its field texts).

use std::ffi::CStr;
use std::fmt;

/// UTF-8 text with no interior NUL, stored with a terminating NUL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TextWithNul(Box<str>);

impl TextWithNul {
    /// Takes `text` over, appending the NUL; `None` if it holds a NUL.
    pub(crate) fn new(mut text: String) -> Option<TextWithNul> {
        if text.as_bytes().contains(&0) {
            return None;
        }
        text.push('\0');
        Some(TextWithNul(text.into_boxed_str()))
    }

    /// The text, without the NUL.
    pub(crate) fn as_str(&self) -> &str {
        &self.0[..self.0.len() - 1]
    }

    /// The text as a C string.
    pub(crate) fn as_c_str(&self) -> &CStr {
        let bytes = self.0.as_bytes();
        debug_assert!(bytes.iter().position(|&b| b == 0) == Some(bytes.len() - 1));
        // SAFETY: `new` refused interior NULs and appended exactly one.
        unsafe { CStr::from_bytes_with_nul_unchecked(bytes) }
    }
}

impl fmt::Debug for TextWithNul {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::TextWithNul;

    #[test]
    fn text_and_c_string_agree() {
        let t = TextWithNul::new("19:abc@thread.v2".to_string()).unwrap();
        assert_eq!(t.as_str(), "19:abc@thread.v2");
        assert_eq!(t.as_c_str().to_str().unwrap(), "19:abc@thread.v2");
    }

    #[test]
    fn interior_nul_is_refused() {
        assert!(TextWithNul::new("a\0b".to_string()).is_none());
        let empty = TextWithNul::new(String::new()).unwrap();
        assert_eq!(empty.as_str(), "");
        assert!(empty.as_c_str().is_empty());
    }
}
