//! Long runs from Rust: the log's ERROR lines (every failing call has one, in
//! the Rust API's words), DEBUG lines for connections, a token provider's
//! renewal after a CAE challenge, and a cancel from another thread. The C ABI's
//! side of the same rules is `tests/c/test_long.c`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{client, emulator, kind, script, TEAM_ID};
use serde_json::json;
use teamsop::{Cancel, Client, ErrorKind, LogLevel, ProvidedToken};
use teamsop_emulator::{Revocation, TokenSpec};

type Lines = Arc<Mutex<Vec<(LogLevel, String)>>>;

fn logged(client: &Client, max: LogLevel) -> Lines {
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    client.set_log(
        max,
        Arc::new(move |level: LogLevel, line: &str| {
            sink.lock().unwrap().push((level, line.to_owned()))
        }),
    );
    lines
}

fn with_level(lines: &Lines, level: LogLevel) -> Vec<String> {
    lines
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, _)| *l == level)
        .map(|(_, line)| line.clone())
        .collect()
}

#[test]
fn every_failing_call_has_an_error_line_in_rust_words() {
    let emu = emulator();
    let c = client(&emu);
    let lines = logged(&c, LogLevel::Error);
    assert_eq!(
        kind(&c.get_team_operation("", "x").unwrap_err()),
        ErrorKind::InvalidArgument
    );
    assert!(c.get_team_operation(TEAM_ID, "nope").is_err());
    assert!(c
        .wait("/nowhere('x')", Duration::from_secs(1), |_| true)
        .is_err());
    c.set_token(None).unwrap();
    assert!(c.get_team_operation(TEAM_ID, "create-succeeded").is_err());
    let errors = with_level(&lines, LogLevel::Error);
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(errors[0].starts_with("GET of the operation failed (invalid argument): "));
    assert!(errors[1].starts_with("GET of the operation failed (not found): HTTP 404"));
    assert!(errors[2].starts_with("wait failed (invalid argument): "));
    // The remedy names the Rust method here (the C ABI's lines name the C one).
    assert!(
        errors[3].ends_with("set one with Client::set_token"),
        "{}",
        errors[3]
    );
}

#[test]
fn debug_lines_tell_new_connections_from_reused_ones() {
    let emu = emulator();
    let c = client(&emu);
    let lines = logged(&c, LogLevel::Debug);
    for _ in 0..3 {
        c.get_team_operation(TEAM_ID, "create-succeeded").unwrap();
    }
    let debug = with_level(&lines, LogLevel::Debug);
    let opened: Vec<_> = debug
        .iter()
        .filter(|l| l.contains("opened a new connection"))
        .collect();
    let reused: Vec<_> = debug
        .iter()
        .filter(|l| l.contains("reused the connection"))
        .collect();
    assert_eq!(opened.len(), 1, "{debug:?}");
    assert_eq!(reused.len(), 2, "{debug:?}");
    assert_eq!(emu.stats().connections, 1);
    assert_eq!(with_level(&lines, LogLevel::Info).len(), 3);
}

#[test]
fn a_cae_challenge_renews_once_with_the_claims() {
    let emu = emulator();
    let c = client(&emu);
    c.set_token(None).unwrap();
    let claims_seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let seen = Arc::clone(&claims_seen);
    let emu = Arc::new(emu);
    let for_provider = Arc::clone(&emu);
    c.set_token_provider(Some(Arc::new(move |claims: Option<&str>| {
        seen.lock().unwrap().push(claims.map(str::to_owned));
        let mut spec = TokenSpec::forever();
        if let Some(claims) = claims {
            spec = spec.with_claims(claims);
        }
        let minted = for_provider.mint_token(spec).expect("minted");
        Ok(ProvidedToken {
            token: minted.token,
            expires_unix_ms: minted.expires_unix_ms,
        })
    })));
    c.get_team_operation(TEAM_ID, "create-succeeded").unwrap();
    let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}"#;
    emu.revoke(Revocation::all().with_claims(claims)).unwrap();
    c.get_team_operation(TEAM_ID, "create-succeeded").unwrap();
    assert_eq!(
        *claims_seen.lock().unwrap(),
        [None, Some(claims.to_owned())]
    );
    let stats = emu.stats();
    assert_eq!(
        (stats.requests, stats.unauthorized, stats.claims_challenges),
        (3, 1, 1)
    );
}

#[test]
fn a_cancel_from_another_thread_ends_a_slow_get_at_once() {
    let emu = emulator();
    script(
        &emu,
        json!({"path": "/beta/teams/t/operations/slow",
               "responses": [{"status": 200, "delay_ms": 30000,
                              "json": {"id": "slow", "status": "succeeded"}}]}),
    );
    let c = client(&emu);
    let cancel = Arc::new(Cancel::new());
    let trigger = Arc::clone(&cancel);
    let pulled = Arc::new(Mutex::new(None::<Instant>));
    let pulled_at = Arc::clone(&pulled);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        *pulled_at.lock().unwrap() = Some(Instant::now());
        trigger.trigger();
    });
    let e = c
        .wait_cancellable(
            "/teams('t')/operations('slow')",
            Duration::from_secs(60),
            Some(&cancel),
            |_| true,
        )
        .unwrap_err();
    let returned = Instant::now();
    t.join().unwrap();
    assert_eq!(kind(&e), ErrorKind::Cancelled);
    let latency = returned - pulled.lock().unwrap().expect("pulled");
    assert!(latency < Duration::from_millis(100), "{latency:?}");
    // The client goes on: the next call works.
    c.get_team_operation(TEAM_ID, "create-succeeded").unwrap();
}
