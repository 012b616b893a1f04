//! Body memory follows the bytes received, whatever `Content-Length` announces
//! and whatever the cap: a declared length above the cap is TOO_LARGE at once, a
//! body shorter than its declared length is TRANSPORT, and no server number can
//! make the library allocate (or abort on) more. Through the C ABI, single GETs
//! and `teamsop_wait`. Its own test binary, so no other test's allocations blur
//! the peak memory figure.

mod common;
mod hostile_support;

use std::time::{Duration, Instant};

use common::*;
use hostile_support::*;
use serde_json::json;
use teamsop::ffi::teamsop_result::{self, *};

/// Peak resident memory of this process so far, in KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A 600-byte operation body.
fn body_600() -> String {
    let head = r#"{"id":"short","status":"inProgress","values":""#;
    let tail = r#""}"#;
    format!("{head}{}{tail}", "x".repeat(600 - head.len() - tail.len()))
}

/// Declared lengths a server may send; each is far above the 600 bytes sent.
const DECLARED: &[u64] = &[
    1 << 40,      // 1 TiB
    1 << 62,      //
    1 << 63,      // i64::MAX + 1 ("capacity overflow" once)
    u64::MAX - 2, // the largest length hyper accepts
];

fn check(what: &str, out: &Outcome, want: teamsop_result, message: &str) {
    assert_ne!(out.result, TEAMSOP_ERR_INTERNAL, "{what}: {out:?}");
    assert_eq!(out.result, want, "{what}: {out:?}");
    assert!(out.message.contains(message), "{what}: {out:?}");
}

#[test]
fn announced_lengths_size_no_memory() {
    let emu = emulator();
    let body = body_600();
    assert_eq!(body.len(), 600);
    let mut scenarios = vec![
        json!({"path": "/beta/teams/t/operations/u64max", "responses": [
            {"status": 200, "body": body, "content_length": u64::MAX}]}),
        json!({"path": "/beta/teams/t/operations/u64max1", "responses": [
            {"status": 200, "body": body, "content_length": u64::MAX - 1}]}),
        json!({"path": "/beta/teams/t/operations/exact", "responses": [
            {"status": 200, "body": body}]}),
        json!({"path": "/beta/teams/t/operations/big", "responses": [{"status": 200, "generate":
            {"prefix": "{\"id\":\"big\",\"values\":\"", "repeat": "v", "count": 3u64 << 20, "suffix": "\"}"}}]}),
    ];
    for (i, declared) in DECLARED.iter().enumerate() {
        scenarios.push(
            json!({"path": format!("/beta/teams/t/operations/d{i}"), "responses": [
            {"status": 200, "body": body, "content_length": declared}]}),
        );
        scenarios.push(json!({"path": format!("/beta/chats/c/operations/d{i}"), "responses": [
            {"status": 404, "body": body, "content_type": "application/json", "content_length": declared}]}));
    }
    script(&emu, serde_json::Value::Array(scenarios));

    let base = format!("{}/beta", emu.base_url());
    let unlimited = CClient::new(TOKEN, &base, 10_000);
    unlimited.set_max_body_bytes(usize::MAX);
    let tebibyte = CClient::new(TOKEN, &base, 10_000);
    tebibyte.set_max_body_bytes(1 << 40);
    let default_cap = CClient::new(TOKEN, &base, 10_000);
    // Warm up: the runtime, the pool, the first allocations.
    for c in [&unlimited, &tebibyte, &default_cap] {
        let out = c.get_team("t", "exact");
        assert_eq!(out.result, TEAMSOP_OK, "{out:?}");
        assert_eq!(out.op_id.as_deref(), Some("short"));
    }
    let before = peak_rss_kib();

    for (i, declared) in DECLARED.iter().enumerate() {
        let op = format!("d{i}");
        let what = format!("Content-Length {declared} with 600 bytes");
        for c in [&unlimited, &tebibyte] {
            if *declared > (1 << 40) && std::ptr::eq(c, &tebibyte) {
                // Above that cap: refused as soon as the head is read.
                let start = Instant::now();
                check(
                    &what,
                    &c.get_team("t", &op),
                    TEAMSOP_ERR_TOO_LARGE,
                    "larger than the limit",
                );
                assert!(start.elapsed() < Duration::from_secs(2));
                continue;
            }
            // Within the cap: read until the server closes, 600 bytes short.
            let out = c.get_team("t", &op);
            check(
                &what,
                &out,
                TEAMSOP_ERR_TRANSPORT,
                "cut short after 600 bytes",
            );
            assert_eq!(out.http_status, 200);
            let out = c.wait(&team_location("t", &op), 10_000);
            check(
                &what,
                &out,
                TEAMSOP_ERR_TRANSPORT,
                "cut short after 600 bytes",
            );
            // An error body announced as huge: the same.
            let out = c.get("c", &op);
            check(
                &what,
                &out,
                TEAMSOP_ERR_TRANSPORT,
                "cut short after 600 bytes",
            );
            assert_eq!(out.http_status, 404);
        }
        // The default cap (1 MiB): refused at once, nothing read.
        let start = Instant::now();
        let out = default_cap.get_team("t", &op);
        check(
            &what,
            &out,
            TEAMSOP_ERR_TOO_LARGE,
            "larger than the limit of 1048576 bytes",
        );
        let out = default_cap.wait(&team_location("t", &op), 10_000);
        check(
            &what,
            &out,
            TEAMSOP_ERR_TOO_LARGE,
            "larger than the limit of 1048576 bytes",
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    }
    // Lengths hyper cannot represent: above any cap, so TOO_LARGE at once (API.md),
    // whatever the cap, even SIZE_MAX; a single GET and a wait alike.
    for op in ["u64max", "u64max1"] {
        for c in [&unlimited, &tebibyte, &default_cap] {
            let what = format!("Content-Length 2^64-1 or -2 ({op})");
            let start = Instant::now();
            let msg = "is too large to read";
            check(&what, &c.get_team("t", op), TEAMSOP_ERR_TOO_LARGE, msg);
            let out = c.wait(&team_location("t", op), 10_000);
            check(&what, &out, TEAMSOP_ERR_TOO_LARGE, msg);
            assert!(start.elapsed() < Duration::from_secs(2));
        }
    }

    let growth = peak_rss_kib().saturating_sub(before);
    assert!(
        growth < 16 * 1024,
        "peak memory grew by {growth} KiB for 600-byte bodies announced as huge"
    );

    // And a large body really sent under the unlimited cap is read whole.
    let out = unlimited.get_team("t", "big");
    assert_eq!(out.result, TEAMSOP_OK, "{out:?}");
    assert_eq!(out.op_id.as_deref(), Some("big"));
}
