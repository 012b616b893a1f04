//! The token is taken out of what servers say, and only of that: the library's
//! own words stay whole whatever the token, even one letter that occurs in them.
//! Every failing path is run under a long random token (the reference) and under
//! tokens like "t", "e", "1" and "token": the messages must be the same. Then a
//! server echoes the token everywhere it can (Graph code and message, request
//! ids, Content-Type, JSON quoted by a parse error, the operation's status): the
//! echo is replaced, and nothing else changes. Through the C ABI, single GETs and
//! `teamsop_wait`.

mod common;
mod hostile_support;

use common::*;
use hostile_support::*;
use serde_json::{json, Value};
use teamsop::ffi::teamsop_result::*;

/// The reference token: long, random, in no message.
fn long_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("Zq9vLongRandomToken{nanos:x}Kx7w")
}

const SHORT_TOKENS: &[&str] = &["t", "a", "e", "1", "0", ":", "/", ".", "token"];

/// Server text in these scenarios holds none of the short tokens ("NoRoom",
/// "Grim sound", "foogif", "running"...), so their messages must equal the
/// reference.
fn scenarios() -> Value {
    let graph_error = |status: u16| {
        json!({"status": status, "headers": {"request-id": "9999-XXXX"},
               "json": {"error": {"code": "NoRoom", "message": "Grim sound", "innerError": {"request-id": "9999-XXXX"}}}})
    };
    let mut list = vec![];
    for status in [400u16, 401, 403, 404, 409, 418, 429, 500, 503] {
        list.push(json!({"path": format!("/beta/teams/t/operations/s{status}"), "responses": [graph_error(status)]}));
        list.push(json!({"path": format!("/beta/teams/t/operations/bare{status}"), "responses": [{"status": status}]}));
    }
    let more = [
        (
            "slow",
            json!({"status": 200, "operation": "seed", "delay_ms": 1500}),
        ),
        ("reset", json!({"fault": "reset"})),
        (
            "cut",
            json!({"status": 200, "operation": "seed", "fault": "close_mid_body"}),
        ),
        (
            "malformed",
            json!({"status": 200, "body": "{\"id\": \"x\", "}),
        ),
        (
            "wrongtype",
            json!({"status": 200, "body": "{\"attemptsCount\":\"zz\"}"}),
        ),
        ("notobject", json!({"status": 200, "body": "[1,2]"})),
        ("empty", json!({"status": 200, "body": ""})),
        (
            "notutf8",
            json!({"status": 200, "body_base64": "eyJpZCI6ImH/In0="}),
        ),
        (
            "html",
            json!({"status": 200, "body": "<p>", "content_type": "foogif"}),
        ),
        (
            "big",
            json!({"status": 200, "generate": {"prefix": "{\"id\":\"", "repeat": "z", "count": 2_000_000, "suffix": "\"}"}}),
        ),
        (
            "smb",
            json!({"status": 302, "headers": {"Location": "smb://127.0.0.1/x"}}),
        ),
        (
            "running",
            json!({"status": 200, "json": {"id": "r", "status": "running"}}),
        ),
    ];
    for (name, response) in more {
        list.push(
            json!({"path": format!("/beta/teams/t/operations/{name}"), "responses": [response]}),
        );
    }
    Value::Array(list)
}

/// Every failing path's message under `token`, in a fixed order.
fn messages(emu: &teamsop_emulator::Emulator, refused_port: u16, token: &str) -> Vec<String> {
    let c = CClient::new(token, &format!("{}/beta", emu.base_url()), 400);
    c.set_max_retries(0);
    let mut out = Vec::new();
    let mut note = |what: &str, o: Outcome| {
        assert_ne!(o.result, TEAMSOP_OK, "{what} under {token:?}");
        assert!(!o.message.is_empty(), "{what}");
        out.push(format!("{what}: {:?} {}", o.result, o.message));
    };
    for status in [400u16, 401, 403, 404, 409, 418, 429, 500, 503] {
        note("graph error", c.get_team("t", &format!("s{status}")));
        note("bare status", c.get_team("t", &format!("bare{status}")));
        note(
            "graph error in a wait",
            c.wait(&team_location("t", &format!("s{status}")), 400),
        );
    }
    for name in [
        "slow",
        "reset",
        "cut",
        "malformed",
        "wrongtype",
        "notobject",
        "empty",
        "notutf8",
        "html",
        "big",
        "smb",
    ] {
        note(name, c.get_team("t", name));
        note(name, c.wait(&team_location("t", name), 400));
    }
    note("wait timeout", c.wait(&team_location("t", "running"), 300));
    let refused = CClient::new(token, &format!("http://127.0.0.1:{refused_port}/beta"), 400);
    note("refused", refused.get("c", "o"));
    note(
        "refused in a wait",
        refused.wait(&team_location("t", "o"), 400),
    );
    out
}

#[test]
fn one_letter_tokens_leave_every_message_whole() {
    let emu = emulator();
    script(&emu, scenarios());
    let refused_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let reference = messages(&emu, refused_port, &long_token());
    // Sanity: the reference has the library's words these tokens occur in.
    let all = reference.join("\n");
    for word in [
        "could not connect",
        "timed out",
        "Forbidden",
        "not a teamsAsyncOperation",
        "1048576",
    ] {
        assert!(all.contains(word), "{word} not in:\n{all}");
    }
    std::thread::scope(|scope| {
        for token in SHORT_TOKENS {
            let (emu, reference) = (&emu, &reference);
            scope.spawn(move || {
                let got = messages(emu, refused_port, token);
                for (want, got) in reference.iter().zip(&got) {
                    assert_eq!(got, want, "token {token:?}");
                }
            });
        }
    });
}

/// One scenario set in which the server says `s` wherever it can.
fn echo_scenarios(s: &str) -> Value {
    json!([
        {"path": "/beta/teams/t/operations/echo-error", "responses": [{"status": 403, "headers": {"request-id": s},
            "json": {"error": {"code": s, "message": format!("<{s}>"), "innerError": {"request-id": s}}}}]},
        {"path": "/beta/teams/t/operations/echo-type", "responses": [{"status": 200, "headers": {"request-id": s},
            "body": "[]", "content_type": format!("x/{s}")}]},
        {"path": "/beta/teams/t/operations/echo-json", "responses": [{"status": 200, "headers": {"request-id": s},
            "body": format!("{{\"attemptsCount\":\"{s}\"}}")}]},
        {"path": "/beta/teams/t/operations/echo-status", "responses": [{"status": 200, "headers": {"request-id": s},
            "json": {"id": "w", "status": s}}]},
    ])
}

fn echoes(emu: &teamsop_emulator::Emulator, token: &str, s: &str) -> Vec<Outcome> {
    script(emu, echo_scenarios(s));
    let c = CClient::new(token, &format!("{}/beta", emu.base_url()), 3000);
    c.set_max_retries(0);
    vec![
        c.get_team("t", "echo-error"),
        c.wait(&team_location("t", "echo-error"), 3000),
        c.get_team("t", "echo-type"),
        c.get_team("t", "echo-json"),
        c.wait(&team_location("t", "echo-json"), 3000),
        c.wait(&team_location("t", "echo-status"), 300),
    ]
}

#[test]
fn a_server_echoing_the_token_has_the_echo_replaced_and_nothing_else() {
    let emu = emulator();
    let long = long_token();
    let mut tokens: Vec<&str> = SHORT_TOKENS.to_vec();
    tokens.push(&long);
    for token in tokens {
        // The same scenarios with a stand-in of the token's length that no
        // message contains: the reference, with the stand-in where the echo was.
        let stand_in = "~".repeat(token.len());
        let reference = echoes(&emu, token, &stand_in);
        let got = echoes(&emu, token, token);
        for (want, got) in reference.iter().zip(&got) {
            assert_eq!(got.result, want.result, "{token:?}: {got:?}");
            let expect = |text: &str| text.replace(&stand_in, "[redacted]");
            assert_eq!(got.message, expect(&want.message), "{token:?}");
            assert_eq!(
                got.graph_code,
                want.graph_code.as_deref().map(expect),
                "{token:?}"
            );
            assert_eq!(
                got.request_id,
                want.request_id.as_deref().map(expect),
                "{token:?}"
            );
            assert!(want.message.contains(&stand_in), "{want:?}");
        }
        if token == long {
            for o in &got {
                assert!(!o.everything().contains(token), "{o:?}");
            }
        }
    }
}
