//! Messages a user can act on, through the C ABI against the emulator: a 404 names
//! what was asked for, a request timeout names its limit and the setter, THROTTLED
//! says how many retries were made and the last Retry-After, a 403 points to the
//! permissions.

mod common;

use std::ffi::{CStr, CString};
use std::ptr;

use common::*;
use serde_json::json;
use teamsop::ffi::*;

/// A client for `emu`'s beta endpoint, freed on drop.
struct CClient(*mut teamsop_client);

impl CClient {
    fn new(emu: &teamsop_emulator::Emulator) -> CClient {
        let token = CString::new(TOKEN).unwrap();
        let base = CString::new(format!("{}/beta", emu.base_url())).unwrap();
        // SAFETY: valid C strings; the client is freed once, on drop.
        unsafe {
            let client = teamsop_client_new(token.as_ptr());
            assert!(!client.is_null());
            assert_eq!(
                teamsop_client_set_base_url(client, base.as_ptr()),
                teamsop_result::TEAMSOP_OK
            );
            CClient(client)
        }
    }

    fn get_team(&self, team: &str, op: &str) -> (teamsop_result, String) {
        let team = CString::new(team).unwrap();
        let op = CString::new(op).unwrap();
        let mut out = ptr::null_mut();
        // SAFETY: a live client, C strings and a place for the operation.
        let result =
            unsafe { teamsop_get_team_operation(self.0, team.as_ptr(), op.as_ptr(), &mut out) };
        assert!(out.is_null());
        // SAFETY: never NULL; valid until the next failing call on this thread.
        let message = unsafe { CStr::from_ptr(teamsop_last_error_message()) };
        (result, message.to_str().unwrap().to_owned())
    }
}

impl Drop for CClient {
    fn drop(&mut self) {
        // SAFETY: made by teamsop_client_new, freed only here.
        unsafe { teamsop_client_free(self.0) };
    }
}

#[test]
fn a_404_names_what_was_asked_for() {
    let emu = emulator();
    let client = CClient::new(&emu);
    let (result, message) = client.get_team("no-such-team", "op-7");
    assert_eq!(result, teamsop_result::TEAMSOP_ERR_NOT_FOUND);
    assert!(
        message.ends_with(r#"(asked for operation "op-7" of team "no-such-team")"#),
        "{message}"
    );
}

#[test]
fn a_request_timeout_names_its_limit_and_the_setter() {
    let emu = emulator();
    script(
        &emu,
        json!({"path": "/beta/teams/t/operations/slow", "responses": [{"delay_ms": 2000, "operation": "seed"}]}),
    );
    let client = CClient::new(&emu);
    // SAFETY: a live client.
    unsafe { teamsop_client_set_timeout_ms(client.0, 300) };
    let (result, message) = client.get_team("t", "slow");
    assert_eq!(result, teamsop_result::TEAMSOP_ERR_TIMEOUT);
    assert!(message.contains("300 ms"), "{message}");
    assert!(
        message.ends_with("allow more with teamsop_client_set_timeout_ms"),
        "{message}"
    );
}

#[test]
fn throttled_says_how_many_retries_and_the_last_retry_after() {
    let emu = emulator();
    script(
        &emu,
        json!({"path": "/beta/teams/t/operations/busy",
               "responses": [{"status": 429, "headers": {"Retry-After": "0"}},
                             {"status": 429, "headers": {"Retry-After": "1"}}]}),
    );
    let client = CClient::new(&emu);
    // SAFETY: a live client.
    unsafe { teamsop_client_set_max_retries(client.0, 2) };
    let (result, message) = client.get_team("t", "busy");
    assert_eq!(result, teamsop_result::TEAMSOP_ERR_THROTTLED);
    assert!(
        message.ends_with("(after 2 retries; the last Retry-After was 1 s)"),
        "{message}"
    );
    // One that would end past the deadline says so.
    script(
        &emu,
        json!({"path": "/beta/teams/t/operations/later",
               "responses": [{"status": 429, "headers": {"Retry-After": "3600"}}]}),
    );
    let (result, message) = client.get_team("t", "later");
    assert_eq!(result, teamsop_result::TEAMSOP_ERR_THROTTLED);
    assert!(
        message.ends_with(
            "(not retried: its Retry-After of 3600 s would end past the call's deadline)"
        ),
        "{message}"
    );
}

#[test]
fn a_403_points_to_the_permissions() {
    let emu = emulator();
    let client = CClient::new(&emu);
    let (result, message) = client.get_team("forbidden", "op");
    assert_eq!(result, teamsop_result::TEAMSOP_ERR_FORBIDDEN);
    assert!(
        message.contains("see \"Permissions\" in libteamsop's README"),
        "{message}"
    );
}
