//! Throttling and transient failures: Retry-After (seconds and HTTP dates),
//! backoff, Retry-Attempt, and the call's deadline.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::*;
use serde_json::json;
use teamsop::ErrorKind;

const PATH: &str = "/beta/teams/t/operations/o";

fn throttled(retry_after: &str) -> serde_json::Value {
    json!({"status": 429, "headers": {"Retry-After": retry_after},
           "json": {"error": {"code": "TooManyRequests", "message": "Too many requests"}}})
}

#[test]
fn retry_after_one_second_then_200() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [throttled("1"), {"status": 200, "operation": "seed"}] }]),
    );
    let start = Instant::now();
    let op = client(&emu).get_team_operation("t", "o").unwrap();
    let took = start.elapsed();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
    let reqs = requests_to(&emu, PATH);
    assert_eq!(reqs.len(), 2, "exactly two requests");
    let gap = reqs[1].elapsed_ms - reqs[0].elapsed_ms;
    assert!((950..1500).contains(&gap), "requests {gap} ms apart");
    assert!(took >= Duration::from_millis(950), "{took:?}");
    assert!(!reqs[0].headers.contains_key("retry-attempt"));
    assert_eq!(reqs[1].headers["retry-attempt"], "1");
    assert_eq!(
        reqs[0].headers["client-request-id"],
        reqs[1].headers["client-request-id"]
    );
}

#[test]
fn throttled_forever_gives_up_after_max_retries() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [throttled("0")] }]),
    );
    let c = client(&emu);
    c.set_max_retries(2).unwrap();
    let e = c.get_team_operation("t", "o").unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 429, .. }),
        "{e}"
    );
    assert_eq!(e.graph_code(), Some("TooManyRequests"));
    let reqs = requests_to(&emu, PATH);
    assert_eq!(reqs.len(), 3, "one try and two retries");
    let attempts: Vec<Option<&str>> = reqs
        .iter()
        .map(|r| r.headers.get("retry-attempt").map(String::as_str))
        .collect();
    assert_eq!(attempts, [None, Some("1"), Some("2")]);
}

#[test]
fn no_retries_when_set_to_zero() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [throttled("0")] }]),
    );
    let c = client(&emu);
    c.set_max_retries(0).unwrap();
    assert!(c.get_team_operation("t", "o").is_err());
    assert_eq!(requests_to(&emu, PATH).len(), 1);
}

#[test]
fn service_unavailable_then_200_uses_backoff() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [
        {"status": 503, "json": {"error": {"code": "ServiceNotAvailable", "message": "later"}}},
        {"status": 504},
        {"status": 200, "operation": "seed"}] }]),
    );
    let op = client(&emu).get_team_operation("t", "o").unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
    let reqs = requests_to(&emu, PATH);
    assert_eq!(reqs.len(), 3);
    // Backoff without Retry-After: half to all of 250 ms, then of 500 ms.
    let first = reqs[1].elapsed_ms - reqs[0].elapsed_ms;
    let second = reqs[2].elapsed_ms - reqs[1].elapsed_ms;
    assert!((120..600).contains(&first), "{first}");
    assert!((245..900).contains(&second), "{second}");
}

#[test]
fn service_unavailable_after_retries_is_http_with_code() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [
        {"status": 503, "headers": {"Retry-After": "0"}, "json": {"error": {"code": "ServiceNotAvailable", "message": "later"}}}] }]),
    );
    let c = client(&emu);
    c.set_max_retries(1).unwrap();
    let e = c.get_team_operation("t", "o").unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 503, .. }),
        "{e}"
    );
    assert_eq!(e.graph_code(), Some("ServiceNotAvailable"));
    assert_eq!(requests_to(&emu, PATH).len(), 2);
}

#[test]
fn retry_after_as_http_date() {
    let emu = emulator();
    let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    script(
        &emu,
        json!([{ "path": PATH, "responses": [throttled(&when), {"status": 200, "operation": "seed"}] }]),
    );
    client(&emu).get_team_operation("t", "o").unwrap();
    let reqs = requests_to(&emu, PATH);
    assert_eq!(reqs.len(), 2);
    // An HTTP date has whole seconds: the pause is between 1 and 2 s.
    let gap = reqs[1].elapsed_ms - reqs[0].elapsed_ms;
    assert!((900..2600).contains(&gap), "{gap}");
}

#[test]
fn retry_after_past_the_deadline_ends_the_call_at_once() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [throttled("30"), {"status": 200, "operation": "seed"}] }]),
    );
    let c = client(&emu);
    c.set_timeout(Duration::from_secs(5)).unwrap();
    let start = Instant::now();
    let e = c.get_team_operation("t", "o").unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 429, .. }),
        "{e}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(requests_to(&emu, PATH).len(), 1);
    assert_eq!(e.trace().retry_after, Some(Duration::from_secs(30)));
}

#[test]
fn retries_never_outlast_the_timeout() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [throttled("1")] }]),
    );
    let c = client(&emu);
    c.set_max_retries(10).unwrap();
    c.set_timeout(Duration::from_millis(2500)).unwrap();
    let start = Instant::now();
    let e = c.get_team_operation("t", "o").unwrap_err();
    let took = start.elapsed();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 429, .. }),
        "{e}"
    );
    assert!(took < Duration::from_millis(2500), "{took:?}");
    // tries at 0 s, 1 s, 2 s; a third pause would end past 2.5 s
    assert_eq!(requests_to(&emu, PATH).len(), 3);
}

#[test]
fn reset_before_any_byte_is_retried() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [
        {"fault": "reset"}, {"status": 200, "operation": "seed"}] }]),
    );
    let op = client(&emu).get_team_operation("t", "o").unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
    assert_eq!(requests_to(&emu, PATH).len(), 2);
}

#[test]
fn reset_mid_body_is_not_retried() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [
        {"status": 200, "operation": "seed", "fault": "reset_mid_body"}, {"status": 200, "operation": "seed"}] }]),
    );
    let e = client(&emu).get_team_operation("t", "o").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Transport, "{e}");
    assert_eq!(requests_to(&emu, PATH).len(), 1);
}

#[test]
fn other_statuses_are_not_retried() {
    for status in [400, 401, 403, 404, 500, 502] {
        let emu = emulator();
        script(
            &emu,
            json!([{ "path": PATH, "responses": [{"status": status, "headers": {"Retry-After": "0"}}] }]),
        );
        assert!(client(&emu).get_team_operation("t", "o").is_err());
        assert_eq!(requests_to(&emu, PATH).len(), 1, "{status}");
    }
}
