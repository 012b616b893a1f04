//! Every error class against the emulator over loopback, with its diagnostics.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use teamsop::{Client, ErrorKind};

fn one(emu: &teamsop_emulator::Emulator, path: &str, response: serde_json::Value) {
    script(emu, json!([{ "path": path, "responses": [response] }]));
}

#[test]
fn wrong_token_is_401_with_graph_code() {
    let emu = emulator();
    let c = client(&emu);
    c.set_token(Some("not-the-token")).unwrap();
    let e = c
        .get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 401, .. }),
        "{e}"
    );
    assert_eq!(e.graph_code(), Some("InvalidAuthenticationToken"));
    assert_eq!(e.http_status(), Some(401));
    assert!(!e.to_string().contains("not-the-token"));
}

#[test]
fn forbidden_is_403() {
    let emu = emulator();
    let e = client(&emu)
        .get_team_operation("forbidden", "x")
        .unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 403, .. }),
        "{e}"
    );
    assert_eq!(e.graph_code(), Some("Forbidden"));
}

#[test]
fn not_found_carries_graph_code_and_request_ids() {
    let emu = emulator();
    let e = client(&emu)
        .get_team_operation(TEAM_ID, "no-such-op")
        .unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 404, .. }),
        "{e}"
    );
    assert_eq!(e.graph_code(), Some("NotFound"));
    assert!(
        e.message().starts_with("HTTP 404 Not Found: NotFound"),
        "{e}"
    );
    let sent = emu.requests()[0].headers["client-request-id"].clone();
    assert_eq!(e.client_request_id(), Some(sent.as_str()));
    let request_id = e.request_id().expect("the emulator sends request-id");
    assert_eq!(request_id.len(), 36);
    assert_no_token(&e);
}

#[test]
fn request_id_from_inner_error_when_no_header() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 400, "json": {"error": {"code": "BadRequest", "message": "no",
              "innerError": {"date": "2021-07-02T01:40:19", "request-id": "inner-rid"}}}}),
    );
    let e = client(&emu).get_team_operation("t", "o").unwrap_err();
    assert!(matches!(kind(&e), ErrorKind::Http { status: 400, .. }));
    // The emulator sends its own request-id header, which wins over innerError.
    assert!(e.request_id().is_some());
    assert_eq!(e.graph_code(), Some("BadRequest"));
}

#[test]
fn an_empty_request_id_header_leaves_the_inner_error_one() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 400, "headers": {"request-id": ""},
               "json": {"error": {"code": "BadRequest", "message": "no",
               "innerError": {"request-id": "inner-rid"}}}}),
    );
    let e = client(&emu).get_team_operation("t", "o").unwrap_err();
    assert_eq!(e.request_id(), Some("inner-rid"), "{e:?}");
}

#[test]
fn server_error_is_http_500_not_retried() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 500, "json": {"error": {"code": "InternalServerError", "message": "boom"}}}),
    );
    let e = client(&emu).get_team_operation("t", "o").unwrap_err();
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 500, .. }),
        "{e}"
    );
    assert_eq!(e.graph_code(), Some("InternalServerError"));
    assert_eq!(emu.stats().requests, 1);
}

#[test]
fn error_with_non_graph_body_has_no_code() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 502, "body": "<html>bad gateway</html>", "content_type": "text/html"}),
    );
    let e = client(&emu).get_team_operation("t", "o").unwrap_err();
    assert!(
        matches!(
            kind(&e),
            ErrorKind::Http {
                status: 502,
                graph_code: None
            }
        ),
        "{e}"
    );
    assert_eq!(e.message(), "HTTP 502 Bad Gateway");
}

#[test]
fn bad_bodies_are_parse_errors_with_status_200() {
    let cases = [
        json!({"status": 200, "body": "{\"id\": \"x\""}),
        json!({"status": 200, "body": "[1,2]"}),
        json!({"status": 200, "body": ""}),
        json!({"status": 200, "body": "{\"attemptsCount\": \"one\"}"}),
        json!({"status": 200, "body_base64": "eyJpZCI6Iv8ifQ=="}),
        json!({"status": 200, "body": "<html></html>", "content_type": "text/html"}),
        json!({"status": 200, "body": "{\"id\":\"a\",\"id\":\"b\"}"}),
        json!({"status": 204}),
        json!({"status": 202, "body": ""}),
    ];
    for case in cases {
        let emu = emulator();
        one(&emu, "/beta/teams/t/operations/o", case.clone());
        let e = client(&emu).get_team_operation("t", "o").unwrap_err();
        assert_eq!(kind(&e), ErrorKind::Parse, "{case}: {e}");
        assert!(
            e.http_status().is_some_and(|s| (200..300).contains(&s)),
            "{case}"
        );
    }
}

#[test]
fn any_2xx_with_an_operation_is_accepted() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 202, "operation": "seed"}),
    );
    let op = client(&emu).get_team_operation("t", "o").unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
}

#[test]
fn oversized_bodies_stop_at_the_cap() {
    let emu = emulator();
    let big = json!({"status": 200, "generate": {"prefix": "{\"id\":\"", "repeat": "a", "count": 4_000_000, "suffix": "\"}"}});
    let chunked = json!({"status": 200, "chunked": true,
        "generate": {"prefix": "{\"id\":\"", "repeat": "a", "count": 4_000_000, "suffix": "\"}"}});
    script(
        &emu,
        json!([
            {"path": "/beta/teams/t/operations/declared", "responses": [big]},
            {"path": "/beta/teams/t/operations/chunked", "responses": [chunked]},
        ]),
    );
    let c = client(&emu);
    for op in ["declared", "chunked"] {
        let e = c.get_team_operation("t", op).unwrap_err();
        assert_eq!(
            kind(&e),
            ErrorKind::TooLarge { limit: 1 << 20 },
            "{op}: {e}"
        );
        assert_eq!(e.http_status(), Some(200));
    }
    c.set_max_body_bytes(100).unwrap();
    let e = c
        .get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::TooLarge { limit: 100 });
    c.set_max_body_bytes(SEED_BODY.len()).unwrap();
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
}

#[test]
fn slow_answer_times_out_within_the_client_timeout() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 200, "operation": "seed", "delay_ms": 5000}),
    );
    let c = client(&emu);
    c.set_timeout(Duration::from_millis(300)).unwrap();
    let start = Instant::now();
    let e = c.get_team_operation("t", "o").unwrap_err();
    let took = start.elapsed();
    assert_eq!(kind(&e), ErrorKind::Timeout, "{e}");
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    assert_eq!(emu.stats().requests, 1, "a timeout is not retried");
}

#[test]
fn trickling_body_times_out() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 200, "operation": "seed", "chunk_size": 1, "chunk_delay_ms": 100}),
    );
    let c = client(&emu);
    c.set_timeout(Duration::from_millis(500)).unwrap();
    let start = Instant::now();
    let e = c.get_team_operation("t", "o").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_millis(1500));
    assert_eq!(e.http_status(), Some(200));
}

#[test]
fn connection_refused_is_transport() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Client::with_token(TOKEN).unwrap();
    c.set_base_url(&format!("http://127.0.0.1:{port}/beta"))
        .unwrap();
    let e = c.get_team_operation("t", "o").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Transport, "{e}");
    assert!(e.message().contains("could not connect"), "{e}");
    assert_eq!(e.http_status(), None);
    // Nothing reached a server: no client-request-id to report.
    assert_eq!(e.client_request_id(), None);
}

#[test]
fn resets_and_truncations_are_transport_errors() {
    let cases = [
        json!({"status": 200, "operation": "seed", "fault": "reset"}),
        json!({"status": 200, "operation": "seed", "fault": "reset_mid_body"}),
        json!({"status": 200, "operation": "seed", "fault": "close_mid_body"}),
        json!({"status": 200, "operation": "seed", "content_length": 5000}),
        json!({"status": 200, "operation": "seed", "chunked": true, "fault": "close_mid_body"}),
    ];
    for case in cases {
        let emu = emulator();
        one(&emu, "/beta/teams/t/operations/o", case.clone());
        let c = client(&emu);
        c.set_max_retries(0).unwrap();
        let e = c.get_team_operation("t", "o").unwrap_err();
        assert_eq!(kind(&e), ErrorKind::Transport, "{case}: {e}");
        assert_no_token(&e);
    }
}

#[test]
fn gzip_body_is_decoded() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 200, "operation": "seed", "gzip": true}),
    );
    let op = client(&emu).get_team_operation("t", "o").unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
    assert!(emu.requests()[0].headers["accept-encoding"].contains("gzip"));
}

#[test]
fn gzip_bomb_is_capped_on_decoded_bytes() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 200, "gzip": true,
        "generate": {"prefix": "{\"id\":\"", "repeat": "a", "count": 50_000_000, "suffix": "\"}"}}),
    );
    let e = client(&emu).get_team_operation("t", "o").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::TooLarge { limit: 1 << 20 }, "{e}");
}

#[test]
fn server_text_echoing_the_token_is_redacted() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 400,
        "json": {"error": {"code": "BadRequest", "message": format!("bad token {TOKEN}")}}}),
    );
    let e = client(&emu).get_team_operation("t", "o").unwrap_err();
    assert!(e.message().contains("[redacted]"), "{e}");
    assert_no_token(&e);
}

#[test]
fn a_json_object_under_another_content_type_is_read() {
    let emu = emulator();
    one(
        &emu,
        "/beta/teams/t/operations/o",
        json!({"status": 200, "operation": "seed", "content_type": "text/plain"}),
    );
    let op = client(&emu).get_team_operation("t", "o").unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
}
