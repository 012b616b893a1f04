//! Messages a user can act on, through the C ABI against the emulator: a 404 names
//! what was asked for, a request timeout names its limit and the setter, THROTTLED
//! says how many retries were made and the last Retry-After, a 403 points to the
//! permissions.

mod common;
mod hostile_support;

use common::*;
use hostile_support::CClient;
use serde_json::json;
use teamsop::ffi::teamsop_result;

/// A C client for `emu`'s beta endpoint.
fn c_client(emu: &teamsop_emulator::Emulator, timeout_ms: u32) -> CClient {
    CClient::new(TOKEN, &format!("{}/beta", emu.base_url()), timeout_ms)
}

/// `teamsop_get_team_operation`'s result and `teamsop_last_error_message` (the
/// driver checks that `*out` is NULL on failure).
fn get_team(client: &CClient, team: &str, op: &str) -> (teamsop_result, String) {
    let out = client.get_team(team, op);
    (out.result, out.message)
}

#[test]
fn a_404_names_what_was_asked_for() {
    let emu = emulator();
    let client = c_client(&emu, 30_000);
    let (result, message) = get_team(&client, "no-such-team", "op-7");
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
    let client = c_client(&emu, 300);
    let (result, message) = get_team(&client, "t", "slow");
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
    let client = c_client(&emu, 30_000);
    client.set_max_retries(2);
    let (result, message) = get_team(&client, "t", "busy");
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
    let (result, message) = get_team(&client, "t", "later");
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
    let client = c_client(&emu, 30_000);
    let (result, message) = get_team(&client, "forbidden", "op");
    assert_eq!(result, teamsop_result::TEAMSOP_ERR_FORBIDDEN);
    assert!(
        message.contains("see \"Permissions\" in libteamsop's README"),
        "{message}"
    );
}
