//! `Retry-After` of any size, and durations of any size: never
//! `TEAMSOP_ERR_INTERNAL`, never an overflow. A pause that would end past the
//! deadline ends the call at once with the result of the last answer. Through the
//! C ABI (`teamsop_get*` and `teamsop_wait`), and the Rust API's own durations.

mod common;
mod hostile_support;

use std::time::{Duration, Instant};

use common::*;
use hostile_support::*;
use serde_json::{json, Value};
use teamsop::ffi::teamsop_result::{self, *};
use teamsop::ErrorKind;

/// Values past any deadline: each must end the call at once.
const HUGE: &[&str] = &[
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "999999999999999999999999999999",
    "Fri, 31 Dec 9999 23:59:59 GMT",
];

/// Values that are no Retry-After at all: the backoff applies instead.
const INVALID: &[&str] = &[
    "-1",
    "-9223372036854775808",
    "1.5",
    "0.000001",
    "+5",
    "1e3",
    "soon",
    "Fri, 31 Dec 99999 23:59:59 GMT",
];

fn throttled(after: &str) -> Value {
    json!({"status": 429, "headers": {"Retry-After": after},
           "json": {"error": {"code": "TooManyRequests", "message": "slow down"}}})
}

fn scripted(emu: &teamsop_emulator::Emulator, path: &str, responses: Value) {
    script(emu, json!([{ "path": path, "responses": responses }]));
}

/// Runs `call`, checking it gave `want` within `max` and never INTERNAL.
fn timed(
    what: &str,
    max: Duration,
    want: teamsop_result,
    call: impl FnOnce() -> Outcome,
) -> Outcome {
    let start = Instant::now();
    let out = call();
    let took = start.elapsed();
    assert_ne!(out.result, TEAMSOP_ERR_INTERNAL, "{what}: {out:?}");
    assert_eq!(out.result, want, "{what}: {out:?}");
    assert!(took < max, "{what}: took {took:?} (at most {max:?})");
    out
}

#[test]
fn a_429_whose_retry_after_passes_the_deadline_is_throttled_at_once() {
    let emu = emulator();
    let c = CClient::new(TOKEN, &format!("{}/beta", emu.base_url()), 10_000);
    for (i, after) in HUGE.iter().enumerate() {
        let op = format!("huge-{i}");
        let path = format!("/beta/teams/t/operations/{op}");
        scripted(&emu, &path, json!([throttled(after)]));
        let quick = Duration::from_secs(2);
        let out = timed(after, quick, TEAMSOP_ERR_THROTTLED, || c.get_team("t", &op));
        assert_eq!(out.http_status, 429);
        assert_eq!(out.graph_code.as_deref(), Some("TooManyRequests"));
        assert_eq!(requests_to(&emu, &path).len(), 1, "{after}: not retried");
        // The same through the other entry points.
        let location = team_location("t", &op);
        timed(after, quick, TEAMSOP_ERR_THROTTLED, || {
            c.get_location(&location)
        });
        let out = timed(after, quick, TEAMSOP_ERR_THROTTLED, || {
            c.wait(&location, 10_000)
        });
        assert_eq!(out.http_status, 429, "{after}");
        assert_eq!(requests_to(&emu, &path).len(), 3, "{after}");
        // And a chat's operation.
        let chat_path = format!("/beta/chats/c-{i}/operations/o");
        scripted(&emu, &chat_path, json!([throttled(after)]));
        timed(after, quick, TEAMSOP_ERR_THROTTLED, || {
            c.get(&format!("c-{i}"), "o")
        });
    }
}

#[test]
fn an_invalid_retry_after_is_ignored_and_the_backoff_applies() {
    let emu = emulator();
    let c = CClient::new(TOKEN, &format!("{}/beta", emu.base_url()), 10_000);
    c.set_max_retries(1);
    for (i, after) in INVALID.iter().enumerate() {
        let op = format!("invalid-{i}");
        let path = format!("/beta/teams/t/operations/{op}");
        scripted(
            &emu,
            &path,
            json!([throttled(after), {"status": 200, "operation": "seed"}]),
        );
        // One retry after the backoff (125 to 250 ms), then the operation.
        timed(after, Duration::from_secs(3), TEAMSOP_OK, || {
            c.get_team("t", &op)
        });
        assert_eq!(requests_to(&emu, &path).len(), 2, "{after}");
        scripted(&emu, &path, json!([throttled(after)]));
        timed(after, Duration::from_secs(3), TEAMSOP_ERR_THROTTLED, || {
            c.wait(&team_location("t", &op), 10_000)
        });
    }
}

#[test]
fn a_past_date_or_zero_is_a_retry_at_once() {
    let emu = emulator();
    let c = CClient::new(TOKEN, &format!("{}/beta", emu.base_url()), 10_000);
    for (i, after) in [
        "0",
        "000000000000000000000000000000",
        "Sun, 06 Nov 1994 08:49:37 GMT",
    ]
    .iter()
    .enumerate()
    {
        let path = format!("/beta/teams/t/operations/now-{i}");
        scripted(
            &emu,
            &path,
            json!([throttled(after), throttled(after), {"status": 200, "operation": "seed"}]),
        );
        timed(after, Duration::from_secs(2), TEAMSOP_OK, || {
            c.get_team("t", &format!("now-{i}"))
        });
        assert_eq!(requests_to(&emu, &path).len(), 3, "{after}");
    }
}

#[test]
fn other_statuses_and_waits_end_at_once_too() {
    let emu = emulator();
    let c = CClient::new(TOKEN, &format!("{}/beta", emu.base_url()), 10_000);
    let after = "9223372036854775807";
    script(
        &emu,
        json!([
            {"path": "/beta/teams/t/operations/unavailable", "responses": [
                {"status": 503, "headers": {"Retry-After": after}, "json": {"error": {"code": "ServiceUnavailable", "message": "later"}}}]},
            {"path": "/beta/teams/t/operations/gateway", "responses": [
                {"status": 504, "headers": {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}}]},
            {"path": "/beta/teams/t/operations/running", "responses": [
                {"status": 200, "headers": {"Retry-After": after}, "json": {"id": "running", "status": "inProgress"}}]},
            {"path": "/beta/teams/t/operations/missing", "responses": [
                {"status": 404, "headers": {"Retry-After": after}, "json": {"error": {"code": "NotFound", "message": "not yet"}}}]},
            {"path": "/beta/teams/t/operations/later", "responses": [
                {"status": 200, "headers": {"Retry-After": "0"}, "json": {"id": "later", "status": "inProgress"}},
                throttled(after)]},
        ]),
    );
    let quick = Duration::from_secs(2);
    let out = timed("503", quick, TEAMSOP_ERR_HTTP, || {
        c.get_team("t", "unavailable")
    });
    assert_eq!(out.http_status, 503);
    let out = timed("504", quick, TEAMSOP_ERR_HTTP, || {
        c.get_team("t", "gateway")
    });
    assert_eq!(out.http_status, 504);
    timed("503 in a wait", quick, TEAMSOP_ERR_HTTP, || {
        c.wait(&team_location("t", "unavailable"), 10_000)
    });
    // A 200 still in progress asks for a pause past the deadline: the wait ends
    // now, with the timeout it would have ended with.
    let out = timed("200 in a wait", quick, TEAMSOP_ERR_TIMEOUT, || {
        c.wait(&team_location("t", "running"), 10_000)
    });
    assert!(out.message.contains("inProgress"), "{out:?}");
    // A 404 while the operation may not be visible yet: it stays missing.
    let out = timed("404 in a wait", quick, TEAMSOP_ERR_NOT_FOUND, || {
        c.wait(&team_location("t", "missing"), 10_000)
    });
    assert_eq!(out.http_status, 404);
    // The second poll is throttled past the deadline: THROTTLED at once.
    let out = timed("429 on a later poll", quick, TEAMSOP_ERR_THROTTLED, || {
        c.wait(&team_location("t", "later"), 10_000)
    });
    assert_eq!(out.http_status, 429);
}

#[test]
fn the_rust_api_takes_any_duration() {
    let emu = emulator();
    script(
        &emu,
        json!([{"path": "/beta/teams/t/operations/running", "responses": [
            {"status": 200, "json": {"id": "running", "status": "inProgress"}}]}]),
    );
    let c = client(&emu);
    c.set_timeout(Duration::MAX).unwrap();
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    let seed = format!("/chats('{SEED_CHAT_ID}')/operations('{SEED_OPERATION_ID}')");
    let op = c.wait(&seed, Duration::MAX, |_| true).unwrap();
    assert!(op.is_terminal());
    c.set_poll_interval(Duration::MAX).unwrap();
    let start = Instant::now();
    let e = c
        .wait(
            &team_location("t", "running"),
            Duration::from_millis(300),
            |_| true,
        )
        .unwrap_err();
    assert_eq!(*e.kind(), ErrorKind::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_secs(3));
    c.set_timeout(Duration::new(u64::MAX, 999_999_999)).unwrap();
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
}
