//! `teamsop_client_set_log`: the client's log lines to a C callback.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use crate::error::Error;
use crate::log::{LogLevel, LogSink};

use super::boundary::result_boundary;
use super::enums::{teamsop_log_level, teamsop_result, CEnum};
use super::handle::Handle;
use super::types::{teamsop_client, teamsop_log_fn, UserData};

/// Sends a client's log lines up to `max_level` (a `teamsop_log_level`, 1 to 4,
/// taken as `uint32_t`) to `fn`, with `user_data` passed untouched; `fn` NULL
/// turns logging off for this client, `TEAMSOP_LOG` included.
///
/// Levels: ERROR, a call failed (its result and message); WARN, a retry (status
/// or fault, attempt, pause), a batch operation ending in an error; INFO, each
/// HTTP request sent (method, URL, status, milliseconds, request-id,
/// client-request-id; a `$batch` is one line with its inner count); DEBUG, each
/// inner request of a `$batch`, 404 re-polls, connections, TLS, proxy, pacing,
/// token renewals. Until this is first called, the environment variable
/// `TEAMSOP_LOG` (`error`, `warn`, `info` or `debug`, read when the client was
/// created) sends the same lines to stderr, each prefixed `teamsop: `. Lines never
/// hold the token; logging off costs nothing measurable.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL client or a `max_level`
/// outside 1 to 4 (whether `fn` is NULL or not); the setting is then unchanged.
/// Thread-safe: calls already under way keep the setting they started with, so
/// `user_data` must stay valid while `fn` is set, and after it is replaced or
/// turned off until the calls under way then have returned.
///
/// # Safety
/// `client` is NULL or a live client; `fn` is NULL or a function that honours
/// `teamsop_log_fn`'s contract for as long as it is set.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_log(
    client: *mut teamsop_client,
    max_level: u32,
    r#fn: teamsop_log_fn,
    user_data: *mut c_void,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: NULL or a live client, per the contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        let max = teamsop_log_level::from_raw(max_level)
            .and_then(teamsop_log_level::to_core)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "max_level {max_level} is not a teamsop_log_level (1 ERROR to 4 DEBUG)"
                ))
            })?;
        match r#fn {
            None => client.set_log_off(),
            Some(f) => client.set_log(
                max,
                Arc::new(CLogSink {
                    f,
                    user_data: UserData(user_data),
                }),
            ),
        }
        Ok(())
    })
}

/// A `teamsop_log_fn` and its user data, as a core [`LogSink`].
struct CLogSink {
    f: unsafe extern "C" fn(*mut c_void, teamsop_log_level, *const c_char),
    user_data: UserData,
}

impl LogSink for CLogSink {
    fn log(&self, level: LogLevel, line: &str) {
        // Lines escape control characters, so they hold no NUL.
        let Ok(line) = CString::new(line) else {
            return;
        };
        // SAFETY: the caller's function, called as its contract says, with a
        // NUL-terminated line that lives until it returns.
        unsafe { (self.f)(self.user_data.0, level.into(), line.as_ptr()) };
    }
}
