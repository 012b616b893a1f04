//! Waiting on a 202's Location: to succeeded or failed, cancelled, timed out,
//! and Graph's late visibility of a new operation.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use teamsop::{ErrorKind, Status};

const PATH: &str = "/beta/teams/t/operations/o";
const LOCATION: &str = "/teams('t')/operations('o')";

fn op(status: &str) -> serde_json::Value {
    json!({"status": 200, "json": {"id": "o", "operationType": "cloneTeam", "status": status, "attemptsCount": 1}})
}

fn fast_client(emu: &teamsop_emulator::Emulator) -> teamsop::Client {
    let c = client(emu);
    c.set_poll_interval(Duration::from_millis(20)).unwrap();
    c
}

#[test]
fn waits_to_succeeded_seeing_every_snapshot() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [op("notStarted"), op("inProgress"), op("inProgress"), op("succeeded")] }]),
    );
    let mut seen = Vec::new();
    let done = fast_client(&emu)
        .wait(LOCATION, Duration::from_secs(10), |o| {
            seen.push(o.status_str().unwrap().to_owned());
            true
        })
        .unwrap();
    assert_eq!(done.status(), Some(Status::Succeeded));
    assert_eq!(
        seen,
        ["notStarted", "inProgress", "inProgress", "succeeded"]
    );
    let reqs = requests_to(&emu, PATH);
    assert_eq!(reqs.len(), 4);
    // pauses of 20, 40, 80 ms (doubling)
    let gaps: Vec<u64> = reqs
        .windows(2)
        .map(|w| w[1].elapsed_ms - w[0].elapsed_ms)
        .collect();
    assert!(gaps[0] >= 18 && gaps[1] >= 38 && gaps[2] >= 78, "{gaps:?}");
}

#[test]
fn failed_is_a_normal_end() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [op("inProgress"),
        {"status": 200, "json": {"id": "o", "status": "failed", "error": {"code": "Conflict", "message": "no"}}}] }]),
    );
    let done = fast_client(&emu)
        .wait(LOCATION, Duration::from_secs(10), |_| true)
        .unwrap();
    assert_eq!(done.status(), Some(Status::Failed));
    assert_eq!(done.error().unwrap().code(), Some("Conflict"));
}

#[test]
fn the_callback_can_cancel() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [op("inProgress")] }]),
    );
    let mut calls = 0;
    let e = fast_client(&emu)
        .wait(LOCATION, Duration::from_secs(10), |_| {
            calls += 1;
            calls < 3
        })
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Cancelled);
    assert_eq!(calls, 3);
    assert_eq!(requests_to(&emu, PATH).len(), 3);
}

#[test]
fn deadline_is_kept() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [op("inProgress")] }]),
    );
    let c = fast_client(&emu);
    c.set_poll_interval(Duration::from_millis(100)).unwrap();
    let start = Instant::now();
    let e = c
        .wait(LOCATION, Duration::from_millis(1200), |_| true)
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(kind(&e), ErrorKind::Timeout, "{e}");
    assert!(e.message().contains("last status: inProgress"), "{e}");
    assert_eq!(e.http_status(), Some(200));
    assert!(took <= Duration::from_millis(1300), "{took:?}");
    assert!(took >= Duration::from_millis(800), "{took:?}");
}

#[test]
fn slow_poll_is_cut_by_the_deadline() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [op("inProgress"),
        {"status": 200, "operation": "seed", "delay_ms": 10_000}] }]),
    );
    let start = Instant::now();
    let e = fast_client(&emu)
        .wait(LOCATION, Duration::from_millis(700), |_| true)
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Timeout, "{e}");
    let took = start.elapsed();
    assert!(took < Duration::from_millis(900), "{took:?}");
}

#[test]
fn not_found_at_first_is_polled_again() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [{"status": 404, "json": {"error": {"code": "NotFound", "message": "not yet"}}},
        {"status": 404}, op("inProgress"), op("succeeded")] }]),
    );
    let mut calls = 0;
    let done = fast_client(&emu)
        .wait(LOCATION, Duration::from_secs(10), |_| {
            calls += 1;
            true
        })
        .unwrap();
    assert_eq!(done.status(), Some(Status::Succeeded));
    assert_eq!(
        calls, 2,
        "404s are not operations: the callback does not see them"
    );
    assert_eq!(requests_to(&emu, PATH).len(), 4);
}

#[test]
fn not_found_until_the_deadline_is_not_found() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [{"status": 404, "json": {"error": {"code": "NotFound", "message": "gone"}}}] }]),
    );
    let start = Instant::now();
    let e = fast_client(&emu)
        .wait(LOCATION, Duration::from_millis(500), |_| true)
        .unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 404, .. }),
        "{e}"
    );
    assert_eq!(e.graph_code(), Some("NotFound"));
    assert!(start.elapsed() < Duration::from_millis(600));
}

#[test]
fn retry_after_on_a_200_paces_the_polls() {
    let emu = emulator();
    let mut slow = op("inProgress");
    slow["headers"] = json!({"Retry-After": "1"});
    script(
        &emu,
        json!([{ "path": PATH, "responses": [slow, op("succeeded")] }]),
    );
    fast_client(&emu)
        .wait(LOCATION, Duration::from_secs(10), |_| true)
        .unwrap();
    let reqs = requests_to(&emu, PATH);
    let gap = reqs[1].elapsed_ms - reqs[0].elapsed_ms;
    assert!(
        gap >= 950,
        "Retry-After wins over the 20 ms interval: {gap}"
    );
}

#[test]
fn retry_after_past_the_deadline_ends_the_wait() {
    let emu = emulator();
    let mut slow = op("inProgress");
    slow["headers"] = json!({"Retry-After": "60"});
    script(&emu, json!([{ "path": PATH, "responses": [slow] }]));
    let start = Instant::now();
    let e = fast_client(&emu)
        .wait(LOCATION, Duration::from_secs(5), |_| true)
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Timeout);
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn other_errors_end_the_wait() {
    let emu = emulator();
    script(
        &emu,
        json!([{ "path": PATH, "responses": [op("inProgress"), {"status": 403, "json": {"error": {"code": "Forbidden", "message": "no"}}}] }]),
    );
    let e = fast_client(&emu)
        .wait(LOCATION, Duration::from_secs(5), |_| true)
        .unwrap_err();
    assert!(matches!(kind(&e), ErrorKind::Http { status: 403, .. }));
}

#[test]
fn zero_timeout_and_bad_locations_are_refused() {
    let emu = emulator();
    let c = fast_client(&emu);
    assert_eq!(
        kind(&c.wait(LOCATION, Duration::ZERO, |_| true).unwrap_err()),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(
            &c.wait("/users/x", Duration::from_secs(1), |_| true)
                .unwrap_err()
        ),
        ErrorKind::InvalidArgument
    );
    assert_eq!(emu.stats().requests, 0);
}

#[test]
fn a_team_created_on_the_emulator_is_followed_to_the_end() {
    let emu = emulator();
    let location = post_team(&emu);
    let mut seen = Vec::new();
    let done = fast_client(&emu)
        .wait(&location, Duration::from_secs(10), |o| {
            seen.push(o.status().unwrap());
            true
        })
        .unwrap();
    assert_eq!(done.status(), Some(Status::Succeeded));
    assert_eq!(
        seen,
        [Status::NotStarted, Status::InProgress, Status::Succeeded]
    );
}

/// POSTs /beta/teams with a raw socket (the library only GETs) and returns the
/// Location of the 202.
fn post_team(emu: &teamsop_emulator::Emulator) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(emu.addr()).unwrap();
    let body = r#"{"displayName":"t"}"#;
    write!(s, "POST /beta/teams HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    answer
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .expect("a Location header")
        .trim()
        .to_owned()
}

#[test]
fn deadline_during_a_get_reports_the_last_answer() {
    let emu = emulator();
    script(
        &emu,
        json!([
            { "path": "/beta/teams/t/operations/slow", "responses": [op("inProgress"),
                {"status": 200, "operation": "seed", "delay_ms": 5000}] },
            { "path": "/beta/teams/t/operations/gone", "responses": [
                {"status": 404, "json": {"error": {"code": "NotFound", "message": "not yet"}}},
                {"status": 404, "delay_ms": 5000}] },
        ]),
    );
    let c = fast_client(&emu);
    let e = c
        .wait(
            "/teams('t')/operations('slow')",
            Duration::from_millis(300),
            |_| true,
        )
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Timeout, "{e}");
    assert_eq!(
        e.http_status(),
        Some(200),
        "the last answer, not the GET cut short"
    );
    assert!(e.message().contains("last status: inProgress"), "{e}");

    let e = c
        .wait(
            "/teams('t')/operations('gone')",
            Duration::from_millis(300),
            |_| true,
        )
        .unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 404, .. }),
        "still 404 at the deadline: {e}"
    );
    assert_eq!(e.graph_code(), Some("NotFound"));
    assert_eq!(e.http_status(), Some(404));
}
