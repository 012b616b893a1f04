//! What the library sends and reads when a server or a caller hands it something
//! hostile: redirects carrying user information (refused: the only Authorization
//! ever sent is the client's Bearer), base URLs with control characters, spaces or
//! backslashes (refused, nothing rewritten), and obsolete line folding in a
//! response header (read as a space). Through the C ABI, single GETs and
//! `teamsop_wait`.

mod common;
mod hostile_support;

use common::*;
use hostile_support::*;
use serde_json::json;
use teamsop::ffi::teamsop_result::*;

#[test]
fn a_redirect_carrying_user_information_is_refused_and_nothing_is_sent_to_it() {
    let emu = emulator();
    let port = emu.addr().port();
    let target = "/beta/teams/t/operations/target";
    let locations = [
        format!("http://user:pass@127.0.0.1:{port}{target}"),
        format!("http://user@127.0.0.1:{port}{target}"),
        format!("http://:pass@127.0.0.1:{port}{target}"),
        format!("//user:pass@127.0.0.1:{port}{target}"),
        format!("http://user:pass@localhost:{port}{target}"),
        format!("http://{TOKEN}:{TOKEN}@127.0.0.1:{port}{target}"),
    ];
    let mut scenarios =
        vec![json!({"path": target, "responses": [{"status": 200, "operation": "seed"}]})];
    for (i, location) in locations.iter().enumerate() {
        for status in [301, 302, 303, 307, 308] {
            scenarios.push(
                json!({"path": format!("/beta/teams/t/operations/r{i}-{status}"),
                "responses": [{"status": status, "headers": {"Location": location}}]}),
            );
        }
    }
    script(&emu, serde_json::Value::Array(scenarios));

    let c = CClient::new(TOKEN, &format!("{}/beta", emu.base_url()), 10_000);
    for (i, location) in locations.iter().enumerate() {
        for status in [301, 302, 303, 307, 308] {
            let op = format!("r{i}-{status}");
            for out in [
                c.get_team("t", &op),
                c.wait(&team_location("t", &op), 10_000),
            ] {
                assert_eq!(out.result, TEAMSOP_ERR_TRANSPORT, "{location}: {out:?}");
                assert!(out.message.contains("user information"), "{out:?}");
                assert_eq!(out.http_status, status, "{out:?}");
                assert!(!out.everything().contains(TOKEN), "{out:?}");
            }
        }
    }
    assert!(
        requests_to(&emu, target).is_empty(),
        "a request followed the redirect"
    );
    let bearer = format!("Bearer {TOKEN}");
    for r in emu.requests() {
        assert_eq!(r.headers.get("authorization"), Some(&bearer), "{r:?}");
    }
    // A plain same-origin redirect is still followed, with the one Bearer.
    script(
        &emu,
        json!([{"path": "/beta/teams/t/operations/plain", "responses": [
            {"status": 302, "headers": {"Location": target}}]}]),
    );
    let out = c.get_team("t", "plain");
    assert_eq!(out.result, TEAMSOP_OK, "{out:?}");
    let followed = requests_to(&emu, target);
    assert_eq!(followed.len(), 1);
    assert_eq!(followed[0].headers.get("authorization"), Some(&bearer));
}

#[test]
fn base_urls_with_control_characters_spaces_or_backslashes_are_refused() {
    let emu = emulator();
    let good = format!("{}/beta", emu.base_url());
    let c = CClient::new(TOKEN, &good, 10_000);
    let bad = [
        format!("{good}\nX-Injected: 1"),
        format!("{good}\r\nX-Injected: 1"),
        format!("{good}\r"),
        format!("{good}\t"),
        format!("{}/be\tta", emu.base_url()),
        format!("{good}\x01"),
        format!("{good}\x1f"),
        format!("{good}\x7f"),
        format!("{good}\u{85}"),
        format!("{}/be ta", emu.base_url()),
        format!(" {good}"),
        format!("{good} "),
        format!("{good}\u{a0}"),
        format!("{}\\beta", emu.base_url()),
        format!("{}/beta\\", emu.base_url()),
        "https://graph.microsoft.com\\@evil.example/beta".to_owned(),
    ];
    for text in &bad {
        let r = c.set_base_url(text);
        assert_eq!(r, TEAMSOP_ERR_INVALID_ARGUMENT, "{text:?}");
        // The base is unchanged: the next call goes where it went before.
        let out = c.get(SEED_CHAT_ID, SEED_OPERATION_ID);
        assert_eq!(out.result, TEAMSOP_OK, "{text:?}: {out:?}");
        let out = c.wait(
            &format!("/chats('{SEED_CHAT_ID}')/operations('{SEED_OPERATION_ID}')"),
            10_000,
        );
        assert_eq!(out.result, TEAMSOP_OK, "{text:?}: {out:?}");
    }
    // Nothing ever reached a rewritten path.
    for r in emu.requests() {
        assert!(r.path.starts_with("/beta/chats/"), "{r:?}");
        assert!(!r.headers.contains_key("x-injected"), "{r:?}");
    }
    // The same through the Rust API.
    for text in &bad {
        let e = teamsop::BaseUrl::parse(text).unwrap_err();
        assert_eq!(*e.kind(), teamsop::ErrorKind::InvalidArgument, "{text:?}");
    }
}

/// A raw server whose answers fold some header lines (obs-fold, RFC 9112 5.2).
fn folding_server() -> RawServer {
    RawServer::start(|req| {
        let path = req.target().to_owned();
        match path.as_str() {
            "/beta/teams/t/operations/ok" => RawReply::json(
                "200 OK",
                &[
                    "X-Folded: first\r\n  second\r\n\tthird",
                    "request-id: rid-1",
                ],
                r#"{"id":"ok","status":"succeeded"}"#,
            ),
            "/beta/teams/t/operations/missing" => RawReply::json(
                "404 Not Found",
                &["request-id: abc\r\n def"],
                r#"{"error":{"code":"NotFound","message":"none"}}"#,
            ),
            "/beta/teams/t/operations/type" => {
                let body = r#"{"id":"type","status":"failed"}"#;
                let length = format!("Content-Length: {}", body.len());
                RawReply::new(
                    "200 OK",
                    &["Content-Type:\r\n application/json", &length],
                    body.as_bytes(),
                )
            }
            _ => RawReply::json("500 Internal Server Error", &[], "{}"),
        }
    })
}

#[test]
fn obsolete_line_folding_is_read_as_a_space() {
    let server = folding_server();
    let c = CClient::new(TOKEN, &format!("{}/beta", server.url()), 10_000);
    c.set_max_retries(0);
    let out = c.get_team("t", "ok");
    assert_eq!(out.result, TEAMSOP_OK, "{out:?}");
    assert_eq!(out.op_id.as_deref(), Some("ok"));
    let out = c.wait(&team_location("t", "ok"), 10_000);
    assert_eq!(out.result, TEAMSOP_OK, "{out:?}");
    let out = c.get_team("t", "type");
    assert_eq!(out.result, TEAMSOP_OK, "{out:?}");
    // A folded request-id reaches the caller unfolded, with one space.
    for out in [
        c.get_team("t", "missing"),
        c.get_location(&team_location("t", "missing")),
    ] {
        assert_eq!(out.result, TEAMSOP_ERR_NOT_FOUND, "{out:?}");
        assert_eq!(out.request_id.as_deref(), Some("abc def"), "{out:?}");
        assert_eq!(out.graph_code.as_deref(), Some("NotFound"));
    }
    // The Rust API sees the same.
    let rust = teamsop::Client::with_token(TOKEN).unwrap();
    rust.set_base_url(&format!("{}/beta", server.url()))
        .unwrap();
    let op = rust.get_team_operation("t", "ok").unwrap();
    assert_eq!(op.id(), Some("ok"));
}
