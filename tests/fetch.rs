//! Fetching operations over loopback: every field, every id path, every header.

mod common;

use common::*;
use serde_json::json;
use teamsop::{OperationType, Status};

#[test]
fn seed_chat_operation_every_field() {
    let emu = emulator();
    let op = client(&emu)
        .get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
    assert_eq!(op.id(), Some(SEED_OPERATION_ID));
    assert_eq!(op.status(), Some(Status::Succeeded));
    assert_eq!(op.operation_type(), Some(OperationType::CreateChat));
    assert_eq!(op.created_unix_ms(), Some(1_622_150_621_908));
    assert_eq!(op.last_action_unix_ms(), Some(1_622_150_625_189));
    assert_eq!(op.attempts_count(), Some(1));
    assert_eq!(op.target_resource_id(), Some(SEED_CHAT_ID));
    assert!(op.error().is_none());
    assert!(op.is_terminal());
}

#[test]
fn request_carries_graph_headers() {
    let emu = emulator();
    client(&emu)
        .get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    let reqs = emu.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.path,
        format!("/beta/chats/{SEED_CHAT_ID}/operations/{SEED_OPERATION_ID}")
    );
    let h = &r.headers;
    assert_eq!(h["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(h["accept"], "application/json");
    assert_eq!(h["prefer"], "include-unknown-enum-members");
    assert_eq!(h["user-agent"], format!("libteamsop/{}", teamsop::VERSION));
    let crid = &h["client-request-id"];
    assert_eq!(crid.len(), 36);
    assert_eq!(crid.matches('-').count(), 4);
    assert!(!h.contains_key("retry-attempt"));
}

#[test]
fn each_call_sends_a_fresh_client_request_id() {
    let emu = emulator();
    let c = client(&emu);
    for _ in 0..3 {
        c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
            .unwrap();
    }
    let ids: std::collections::BTreeSet<String> = emu
        .requests()
        .iter()
        .map(|r| r.headers["client-request-id"].clone())
        .collect();
    assert_eq!(ids.len(), 3);
}

#[test]
fn team_operations_preloaded() {
    let emu = emulator();
    let c = client(&emu);
    let op = c.get_team_operation(TEAM_ID, "clone-in-progress").unwrap();
    assert_eq!(op.status(), Some(Status::InProgress));
    assert_eq!(op.operation_type(), Some(OperationType::CloneTeam));
    assert!(!op.is_terminal());
    let op = c.get_team_operation(TEAM_ID, "archive-failed").unwrap();
    assert_eq!(op.status(), Some(Status::Failed));
    let err = op.error().unwrap();
    assert_eq!(err.code(), Some("Conflict"));
    assert_eq!(err.message(), Some("The team is already archived."));
    let op = c.get_team_operation(TEAM_ID, "create-succeeded").unwrap();
    assert_eq!(op.operation_type(), Some(OperationType::CreateTeam));
    assert_eq!(op.target_resource_id(), Some(TEAM_ID));
}

#[test]
fn every_location_form_reaches_the_same_operation() {
    let emu = emulator();
    let c = client(&emu);
    let base = emu.base_url();
    for loc in [
        format!("/teams('{TEAM_ID}')/operations('archive-failed')"),
        format!("/teams({TEAM_ID})/operations(archive-failed)"),
        format!("/teams/{TEAM_ID}/operations/archive-failed"),
        format!("/beta/teams/{TEAM_ID}/operations/archive-failed"),
        format!("{base}/teams('{TEAM_ID}')/operations('archive-failed')"),
        format!("{base}/v1.0/teams('{TEAM_ID}')/operations('archive-failed')"),
    ] {
        let op = c
            .get_location(&loc)
            .unwrap_or_else(|e| panic!("{loc}: {e}"));
        assert_eq!(op.id(), Some("archive-failed"), "{loc}");
    }
    let paths: Vec<String> = emu.requests().into_iter().map(|r| r.path).collect();
    let beta = format!("/beta/teams/{TEAM_ID}/operations/archive-failed");
    assert_eq!(
        paths[..5],
        [beta.clone(), beta.clone(), beta.clone(), beta.clone(), beta]
    );
    assert_eq!(
        paths[5],
        format!("/v1.0/teams/{TEAM_ID}/operations/archive-failed")
    );
}

#[test]
fn chat_location_with_escapes_is_decoded_once() {
    let emu = emulator();
    let c = client(&emu);
    let loc = format!(
        "/chats('19%3Ac253a29b5f694b55a6baad8e83510af7%40thread.v2')/operations('{SEED_OPERATION_ID}')"
    );
    let op = c.get_location(&loc).unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
}

#[test]
fn refused_locations_send_nothing() {
    let emu = emulator();
    let c = client(&emu);
    for loc in [
        "/users/u/operations/o".to_string(),
        "https://evil.example/teams('t')/operations('o')".to_string(),
        "//evil.example/teams/t/operations/o".to_string(),
        format!(
            "{}/teams('t')/operations('o')",
            emu.base_url().replace("127.0.0.1", "localhost")
        ),
        "/teams('t')/operations('o')?$expand=x".to_string(),
        "/teams/../operations/o".to_string(),
    ] {
        let e = c.get_location(&loc).unwrap_err();
        assert_eq!(kind(&e), teamsop::ErrorKind::InvalidArgument, "{loc}");
    }
    assert_eq!(emu.stats().requests, 0);
}

#[test]
fn hostile_ids_stay_one_path_segment() {
    let emu = emulator();
    // An operation a path escape would reach: it must never be served.
    script(
        &emu,
        json!([{"path_prefix": "/beta/users", "responses": [{"status": 200, "operation": "seed"}]},
               {"path_prefix": "/users", "responses": [{"status": 200, "operation": "seed"}]}]),
    );
    let c = client(&emu);
    let cases = [
        ("../../users/x", "..%2F..%2Fusers%2Fx"),
        ("a/b", "a%2Fb"),
        ("a?b=c", "a%3Fb%3Dc"),
        ("a#b", "a%23b"),
        ("%2e%2e", "%252e%252e"),
        ("a b", "a%20b"),
        ("a\\..\\users", "a%5C..%5Cusers"),
    ];
    for (id, _) in cases {
        let e = c.get_team_operation(id, "op").unwrap_err();
        assert_eq!(e.http_status(), Some(404), "{id}: {e}");
    }
    let paths: Vec<String> = emu.requests().into_iter().map(|r| r.path).collect();
    let expected: Vec<String> = cases
        .iter()
        .map(|(_, enc)| format!("/beta/teams/{enc}/operations/op"))
        .collect();
    assert_eq!(paths, expected);
}

#[test]
fn a_one_megabyte_id_is_refused_before_sending() {
    let emu = emulator();
    let c = client(&emu);
    let id = "x".repeat(1 << 20);
    let e = c.get_team_operation(&id, "op").unwrap_err();
    assert_eq!(kind(&e), teamsop::ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("URL of"), "{e}");
    assert_eq!(emu.stats().requests, 0);
    // The longest id that fits is sent.
    let fits = "y".repeat(60_000);
    let e = c.get_team_operation(&fits, "op").unwrap_err();
    assert!(
        matches!(
            kind(&e),
            teamsop::ErrorKind::Http { .. } | teamsop::ErrorKind::Transport
        ),
        "{e}"
    );
}

#[test]
fn select_is_sent_and_fields_come_back_absent() {
    let emu = emulator();
    let c = client(&emu);
    c.set_select(Some("status,error")).unwrap();
    let op = c.get_team_operation(TEAM_ID, "archive-failed").unwrap();
    assert_eq!(op.status(), Some(Status::Failed));
    assert_eq!(op.operation_type(), None);
    assert_eq!(op.attempts_count(), None);
    assert_eq!(op.error().unwrap().code(), Some("Conflict"));
    assert_eq!(
        emu.requests()[0].path,
        format!("/beta/teams/{TEAM_ID}/operations/archive-failed?$select=status,error")
    );
    c.set_select(Some("")).unwrap();
    c.get_team_operation(TEAM_ID, "archive-failed").unwrap();
    assert!(!emu.requests()[1].path.contains('?'));
}

#[test]
fn no_token_sends_nothing() {
    let emu = emulator();
    let c = client(&emu);
    c.set_token(None).unwrap();
    let e = c
        .get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap_err();
    assert_eq!(kind(&e), teamsop::ErrorKind::InvalidArgument);
    assert_eq!(e.client_request_id(), None);
    assert_eq!(emu.stats().requests, 0);
}

#[test]
fn debug_of_a_client_redacts_the_token() {
    let c = teamsop::Client::with_token("secret-token-value").unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("secret-token-value"), "{shown}");
    assert!(shown.contains("[redacted]"));
}
