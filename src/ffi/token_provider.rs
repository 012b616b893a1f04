//! `teamsop_client_set_token_provider`: tokens that renew themselves, from a C
//! callback.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use crate::client::{ProvidedToken, TokenProvider};
use crate::error::{Error, ErrorKind, Result};

use super::boundary::result_boundary;
use super::enums::teamsop_result;
use super::handle::Handle;
use super::types::{teamsop_client, teamsop_token_fn, UserData, TEAMSOP_NO_TIME};

/// The size of the buffer a provider writes its token into, NUL included.
const TOKEN_BUF_LEN: usize = 16_384;

/// Sets the function a client asks for tokens (see `teamsop_token_fn` for when it
/// is called and what it must do); `fn` NULL removes it, and the last token it
/// gave stays set until replaced.
///
/// With a provider set, a token given by `teamsop_client_set_token` is used until
/// a 401 has it renewed. `user_data` is passed to `fn` untouched; it must stay
/// valid while `fn` is set, and after it is replaced or removed until the calls
/// under way then have returned (they keep the provider they started with). `fn`
/// is called on the threads that make calls on this client, never two at once
/// for this client.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL client. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client; `fn` is NULL or a function that honours
/// `teamsop_token_fn`'s contract for as long as it is set.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_token_provider(
    client: *mut teamsop_client,
    r#fn: teamsop_token_fn,
    user_data: *mut c_void,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: NULL or a live client, per the contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        let provider = r#fn.map(|f| {
            Arc::new(CTokenProvider {
                f,
                user_data: UserData(user_data),
            }) as Arc<dyn TokenProvider>
        });
        client.set_token_provider(provider);
        Ok(())
    })
}

/// A `teamsop_token_fn` and its user data, as a core [`TokenProvider`].
struct CTokenProvider {
    f: unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_char, usize, *mut i64) -> bool,
    user_data: UserData,
}

impl TokenProvider for CTokenProvider {
    fn token(&self, claims: Option<&str>) -> Result<ProvidedToken> {
        // Claims are decoded text without NUL (checked when read from the 401).
        let claims = claims.and_then(|c| CString::new(c).ok());
        let mut buf = vec![0u8; TOKEN_BUF_LEN];
        let mut expires = TEAMSOP_NO_TIME;
        // SAFETY: `buf` is writable for its length, `expires` for an i64, and
        // `claims` (or NULL) lives until the call returns; the function is the
        // caller's, called as its contract says.
        let given = unsafe {
            (self.f)(
                self.user_data.0,
                claims.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut expires,
            )
        };
        let answer = if !given {
            Err(Error::new(
                ErrorKind::Token,
                "the token provider declined to give a token",
            ))
        } else {
            read_token(&buf).map(|token| ProvidedToken {
                token,
                expires_unix_ms: (expires != TEAMSOP_NO_TIME).then_some(expires),
            })
        };
        wipe(&mut buf);
        answer
    }
}

/// The NUL-terminated token at the start of `buf`.
fn read_token(buf: &[u8]) -> Result<String> {
    let refuse = |why: String| Err(Error::new(ErrorKind::Token, why));
    let Some(len) = buf.iter().position(|&b| b == 0) else {
        return refuse(format!(
            "the token provider's token does not fit in {TOKEN_BUF_LEN} bytes (NUL included)"
        ));
    };
    match std::str::from_utf8(&buf[..len]) {
        Ok(text) => Ok(text.to_owned()),
        // Checked again by the core; this only keeps the bytes out of a message.
        Err(_) => refuse(
            "the token provider returned a token holding a character outside visible ASCII (0x21-0x7E)"
                .to_owned(),
        ),
    }
}

/// Overwrites the token's copy in `buf` in a way the optimiser keeps.
fn wipe(buf: &mut [u8]) {
    for b in buf.iter_mut() {
        // SAFETY: `b` is a valid, aligned `&mut u8`.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_up_to_the_nul() {
        let mut buf = vec![0u8; 32];
        buf[..3].copy_from_slice(b"abc");
        assert_eq!(read_token(&buf).unwrap(), "abc");
        let full = vec![b'a'; 32];
        let err = read_token(&full).err().unwrap();
        assert_eq!(*err.kind(), ErrorKind::Token);
        assert!(err.message().contains("does not fit"));
        let mut bad = vec![0u8; 8];
        bad[0] = 0xff;
        assert!(!read_token(&bad)
            .err()
            .unwrap()
            .message()
            .contains('\u{fffd}'));
        wipe(&mut buf);
        assert!(buf.iter().all(|&b| b == 0));
    }
}
