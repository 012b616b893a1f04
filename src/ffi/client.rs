//! `teamsop_client`: creation, settings, release.

use std::ffi::c_char;
use std::time::Duration;

use crate::client::Client;
use crate::error::Error;

use super::args::{opt_str_arg, str_arg};
use super::boundary::{boundary, new_boundary, result_boundary};
use super::enums::{teamsop_cloud, teamsop_result, CEnum};
use super::handle::Handle;
use super::types::teamsop_client;

/// Creates a client.
///
/// `access_token` may be NULL (set one later with `teamsop_client_set_token`);
/// otherwise it is copied. Defaults: global cloud, base URL
/// `https://graph.microsoft.com/beta`, 30 s request timeout, 3 retries, 1 MiB body
/// cap, 1 s first poll interval. Creating a client does no I/O.
///
/// Returns a new client owned by the caller (free it with `teamsop_client_free`),
/// or NULL on failure (an empty or non-UTF-8 token, or a token with characters an
/// HTTP header cannot carry): `teamsop_last_error_message` says why.
/// Thread-safe.
///
/// # Safety
/// `access_token` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_new(access_token: *const c_char) -> *mut teamsop_client {
    new_boundary(|| {
        // SAFETY: the caller passes NULL or a NUL-terminated string.
        match unsafe { opt_str_arg(access_token, "access_token") }? {
            Some(token) => Client::with_token(token),
            None => Ok(Client::new()),
        }
    })
}

/// Frees a client and closes its connections. NULL is a no-op.
///
/// Operations obtained from the client stay valid (they are independent). The
/// client must not be in use by another thread, nor used after this call.
///
/// # Safety
/// `client` is NULL or a live handle from `teamsop_client_new`, freed only once.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_free(client: *mut teamsop_client) {
    // SAFETY: NULL or a live client, freed only once, per the contract.
    boundary((), || unsafe { teamsop_client::free(client) })
}

/// Sets (or, with NULL, clears) the bearer token for requests that start after
/// this call. The token is copied; it is sent only to the configured Graph host
/// and never appears in any message.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL client, an empty or non-UTF-8
/// token, or a token with characters an HTTP header cannot carry. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client; `access_token` is NULL or a NUL-terminated
/// string.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_token(
    client: *mut teamsop_client,
    access_token: *const c_char,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        // SAFETY: per this function's contract.
        let token = unsafe { opt_str_arg(access_token, "access_token") }?;
        client.set_token(token)
    })
}

/// Targets a national cloud's beta endpoint (its root followed by `/beta`).
///
/// `cloud` is a `teamsop_cloud` value, taken as `uint32_t`: any other value is
/// `TEAMSOP_ERR_INVALID_ARGUMENT`, as is a NULL client. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_cloud(
    client: *mut teamsop_client,
    cloud: u32,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        let cloud = teamsop_cloud::from_raw(cloud)
            .and_then(teamsop_cloud::to_core)
            .ok_or_else(|| Error::invalid(format!("{cloud} is not a teamsop_cloud value")))?;
        client.set_cloud(cloud);
        Ok(())
    })
}

/// Targets `base_url`, e.g. `"https://graph.microsoft.us/beta"`. It must be
/// `https://`, or `http://` on a loopback host (`127.0.0.0/8`, `[::1]`,
/// `localhost`) for local testing; no user info, query or fragment. The string is
/// copied.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` (NULL client or URL, non-UTF-8, refused
/// URL; the setting is then unchanged). Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client; `base_url` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_base_url(
    client: *mut teamsop_client,
    base_url: *const c_char,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        // SAFETY: per this function's contract.
        client.set_base_url(unsafe { str_arg(base_url, "base_url") }?)
    })
}

/// Bounds each whole `teamsop_get*` call, retries and their waits included.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for 0 or a NULL client. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_timeout_ms(
    client: *mut teamsop_client,
    timeout_ms: u32,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        client.set_timeout(Duration::from_millis(u64::from(timeout_ms)))
    })
}

/// How many times a GET answered 429, 503, 504, or reset before any response
/// byte, is tried again (0 to 10; default 3). `Retry-After` is honoured; without
/// it the pause grows exponentially with jitter. Each retry carries
/// `Retry-Attempt: N`.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` above 10 or for a NULL client.
/// Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_max_retries(
    client: *mut teamsop_client,
    max_retries: u32,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        client.set_max_retries(max_retries)
    })
}

/// Caps the size of a response body (default 1 MiB); a larger body fails with
/// `TEAMSOP_ERR_TOO_LARGE` and is never held in memory whole.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for 0 or a NULL client. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_max_body_bytes(
    client: *mut teamsop_client,
    max_bytes: usize,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        client.set_max_body_bytes(max_bytes)
    })
}

/// The first pause between two polls of `teamsop_wait` (default 1000 ms); pauses
/// then double up to 10 s.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for 0 or a NULL client. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_poll_interval_ms(
    client: *mut teamsop_client,
    first_interval_ms: u32,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        client.set_poll_interval(Duration::from_millis(u64::from(first_interval_ms)))
    })
}

/// Trusts the certificates of a PEM file as well as the system's roots (for a
/// corporate TLS proxy, or a test server). The file is read and checked now; later
/// changes to it are not seen.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL client or path, or a file that
/// is missing, unreadable, or holds no certificate. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client; `pem_path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_ca_file(
    client: *mut teamsop_client,
    pem_path: *const c_char,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        // SAFETY: per this function's contract.
        client.set_ca_file(unsafe { str_arg(pem_path, "pem_path") }?)
    })
}

/// Sets the OData `$select` sent with every GET of this client, e.g.
/// `"status,error"`; NULL or `""` clears it. Fields selected out read as absent.
///
/// Errors: `TEAMSOP_ERR_INVALID_ARGUMENT` for a NULL client, non-UTF-8, or
/// characters other than letters, digits, `,` `.` `_` `/` `@`. Thread-safe.
///
/// # Safety
/// `client` is NULL or a live client; `fields` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn teamsop_client_set_select(
    client: *mut teamsop_client,
    fields: *const c_char,
) -> teamsop_result {
    result_boundary(|| {
        // SAFETY: per this function's contract.
        let client = unsafe { teamsop_client::borrow(client, "client") }?;
        // SAFETY: per this function's contract.
        client.set_select(unsafe { opt_str_arg(fields, "fields") }?)
    })
}
