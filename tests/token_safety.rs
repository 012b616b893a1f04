//! The token never shows: not in any failing path's messages or diagnostics, not
//! at another host, not in `Debug`.

mod common;

use std::ffi::{CStr, CString};
use std::ptr;
use std::time::Duration;

use common::*;
use serde_json::json;
use teamsop::ffi::*;
use teamsop::Client;

/// Distinctive, so any copy of it anywhere is found.
const SECRET: &str =
    "eyJ0eXAiOiJKV1QiLCJub25jZSI6IlNFQ1JFVC1ET05PVExFQUsifQ.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl";

fn text(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: the library's NUL-terminated strings, valid until the next failure.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Everything the last-error state holds, as one string.
fn diagnostics() -> String {
    format!(
        "{} | {} | {} | {} | {}",
        text(teamsop_last_error_message()),
        teamsop_last_http_status(),
        text(teamsop_last_graph_code()),
        text(teamsop_last_request_id()),
        text(teamsop_last_client_request_id())
    )
}

#[test]
fn no_failing_path_reveals_the_token() {
    let graph = teamsop_emulator::Emulator::start(
        teamsop_emulator::Config::default()
            .token(SECRET)
            .worker_threads(1),
    )
    .unwrap();
    let elsewhere = emulator();
    let echo = format!("token {SECRET} is bad");
    script(
        &graph,
        json!([
            {"path": "/beta/teams/t/operations/echo", "responses": [{"status": 401, "headers": {"request-id": SECRET},
                "json": {"error": {"code": SECRET, "message": echo, "innerError": {"request-id": SECRET}}}}]},
            {"path": "/beta/teams/t/operations/away", "responses": [{"status": 302, "headers": {"Location": format!("{}/x", elsewhere.base_url())}}]},
            {"path": "/beta/teams/t/operations/reset", "responses": [{"fault": "reset"}]},
            {"path": "/beta/teams/t/operations/cut", "responses": [{"status": 200, "operation": "seed", "fault": "reset_mid_body"}]},
            {"path": "/beta/teams/t/operations/slow", "responses": [{"status": 200, "operation": "seed", "delay_ms": 2000}]},
            {"path": "/beta/teams/t/operations/big", "responses": [{"status": 200, "generate": {"prefix": "{\"id\":\"", "repeat": SECRET, "count": 100_000, "suffix": "\"}"}}]},
            {"path": "/beta/teams/t/operations/bad", "responses": [{"status": 200, "body": format!("{{\"id\": \"{SECRET}\", ")}]},
            {"path": "/beta/teams/t/operations/throttled", "responses": [{"status": 429, "headers": {"Retry-After": "0"}}]},
            {"path": "/beta/teams/t/operations/pending", "responses": [{"status": 200, "headers": {"request-id": SECRET},
                "json": {"id": "pending", "status": "inProgress"}}]},
            {"path": "/beta/teams/t/operations/unavailable", "responses": [{"status": 503, "headers": {"Retry-After": "0"}, "body": SECRET, "content_type": "text/plain"}]},
        ]),
    );

    let token = CString::new(SECRET).unwrap();
    let base = CString::new(format!("{}/beta", graph.base_url())).unwrap();
    let mut seen = Vec::new();
    // SAFETY: valid strings; every operation and the client are freed.
    unsafe {
        let client = teamsop_client_new(token.as_ptr());
        teamsop_client_set_base_url(client, base.as_ptr());
        teamsop_client_set_max_retries(client, 1);
        teamsop_client_set_timeout_ms(client, 500);
        let team = CString::new("t").unwrap();
        for op in [
            "echo",
            "away",
            "reset",
            "cut",
            "slow",
            "big",
            "bad",
            "throttled",
            "unavailable",
            "missing",
        ] {
            let op = CString::new(op).unwrap();
            let mut out: *mut teamsop_operation = ptr::null_mut();
            let r = teamsop_get_team_operation(client, team.as_ptr(), op.as_ptr(), &mut out);
            assert_ne!(r, teamsop_result::TEAMSOP_OK);
            seen.push(diagnostics());
        }
        let refused = [
            (
                teamsop_client_set_base_url(client, c"http://evil.example/beta".as_ptr()),
                "base",
            ),
            (
                teamsop_client_set_token(client, c"bad\ntoken".as_ptr()),
                "token",
            ),
            (
                teamsop_client_set_ca_file(client, c"/nonexistent/ca.pem".as_ptr()),
                "ca",
            ),
        ];
        for (r, what) in refused {
            assert_eq!(r, teamsop_result::TEAMSOP_ERR_INVALID_ARGUMENT, "{what}");
            seen.push(diagnostics());
        }
        let loc = CString::new("https://evil.example/teams('t')/operations('o')").unwrap();
        let mut out: *mut teamsop_operation = ptr::null_mut();
        teamsop_get_location(client, loc.as_ptr(), &mut out);
        seen.push(diagnostics());
        let loc = CString::new("/teams('t')/operations('slow')").unwrap();
        teamsop_wait(client, loc.as_ptr(), 300, None, ptr::null_mut(), &mut out);
        seen.push(diagnostics());
        let pending = CString::new("/teams('t')/operations('pending')").unwrap();
        let r = teamsop_wait(
            client,
            pending.as_ptr(),
            300,
            None,
            ptr::null_mut(),
            &mut out,
        );
        assert_eq!(r, teamsop_result::TEAMSOP_ERR_TIMEOUT);
        seen.push(diagnostics());
        unsafe extern "C" fn stop(_: *const teamsop_operation, _: *mut std::ffi::c_void) -> bool {
            false
        }
        let r = teamsop_wait(
            client,
            pending.as_ptr(),
            5000,
            Some(stop),
            ptr::null_mut(),
            &mut out,
        );
        assert_eq!(r, teamsop_result::TEAMSOP_ERR_CANCELLED);
        seen.push(diagnostics());
        teamsop_client_free(client);
    }
    assert_eq!(seen.len(), 17);
    for d in &seen {
        assert!(!d.contains(SECRET), "the token leaked: {d}");
        assert!(
            !d.contains("c2VjcmV0LXBheWxvYWQ"),
            "part of the token leaked: {d}"
        );
    }
    // The redirect reached the other host without the token.
    let other = elsewhere.requests();
    assert_eq!(other.len(), 1);
    for (name, value) in &other[0].headers {
        assert!(
            !value.contains(SECRET),
            "{name} carried the token to another host"
        );
    }
    // And the Graph host saw it only as the bearer header.
    for r in graph.requests() {
        assert_eq!(r.headers["authorization"], format!("Bearer {SECRET}"));
        assert!(!r.path.contains(SECRET));
    }
}

#[test]
fn rust_errors_and_debug_never_show_the_token() {
    let c = Client::with_token(SECRET).unwrap();
    assert!(!format!("{c:?}").contains(SECRET));
    c.set_base_url("http://127.0.0.1:9/beta").unwrap();
    c.set_timeout(Duration::from_millis(200)).unwrap();
    let e = c.get_team_operation("t", "o").unwrap_err();
    assert!(!format!("{e} {e:?}").contains(SECRET));
    let e = Client::with_token("has space").unwrap_err();
    assert!(!format!("{e} {e:?}").contains("has space"));
}
