//! Faults as a client sees them at the socket: RST, FIN, cut bodies.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::*;
use teamsop_emulator::{Config, Emulator, Fault, Scenario, ScriptedResponse};

fn start() -> Emulator {
    let emu = Emulator::start(Config::default()).expect("start");
    let body = "x".repeat(1000);
    emu.add_scenario(Scenario::path("/reset").respond(ScriptedResponse::fault(Fault::Reset)));
    emu.add_scenario(
        Scenario::path("/reset-mid")
            .respond(ScriptedResponse::fault(Fault::ResetMidBody).with_body(body.clone())),
    );
    emu.add_scenario(
        Scenario::path("/close-mid")
            .respond(ScriptedResponse::fault(Fault::CloseMidBody).with_body(body.clone())),
    );
    emu.add_scenario(
        Scenario::path("/chunked-close-mid").respond(
            ScriptedResponse::fault(Fault::CloseMidBody)
                .with_body(body)
                .with_chunked()
                .with_chunks(100, 0),
        ),
    );
    emu
}

fn raw(emu: &Emulator, path: &str) -> (Vec<u8>, End) {
    let mut c = Conn::open(emu.addr());
    c.send("GET", path, &[], None).unwrap();
    c.read_raw_to_end()
}

#[test]
fn reset_sends_rst_before_any_byte() {
    let emu = start();
    let (bytes, end) = raw(&emu, "/reset");
    assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    assert_eq!(end, End::Reset);
    // The server is fine afterwards.
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
    assert_eq!(emu.stats().requests, 2);
}

#[test]
fn reset_mid_body_sends_half_then_rst() {
    let emu = start();
    let (bytes, end) = raw(&emu, "/reset-mid");
    assert_eq!(end, End::Reset);
    let (status, headers, body) = split_raw(&bytes);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-length"), Some("1000"));
    assert_eq!(body.len(), 500);
}

#[test]
fn close_mid_body_sends_half_then_fin() {
    let emu = start();
    let (bytes, end) = raw(&emu, "/close-mid");
    assert_eq!(end, End::Eof);
    let (status, headers, body) = split_raw(&bytes);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-length"), Some("1000"));
    assert_eq!(body.len(), 500);
    // Through the response parser: an unexpected EOF.
    let mut c = Conn::open(emu.addr());
    let err = c.request("GET", "/close-mid", &[], None).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
}

#[test]
fn chunked_cut_short_has_no_last_chunk() {
    let emu = start();
    let (bytes, end) = raw(&emu, "/chunked-close-mid");
    assert_eq!(end, End::Eof);
    let (status, headers, body) = split_raw(&bytes);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with("64\r\nxxxx"), "{text}");
    assert_eq!(text.matches("64\r\n").count(), 5);
    assert!(
        !text.contains("\r\n0\r\n\r\n"),
        "a terminating chunk was sent"
    );
}

#[test]
fn faults_after_a_delay_and_mid_stream_of_a_generated_body() {
    let emu = Emulator::start(Config::default()).unwrap();
    emu.add_scenarios_json(
        r#"[{"path": "/late-reset", "responses": [{"fault": "reset", "delay_ms": 200}]},
            {"path": "/gen-reset", "responses": [{"fault": "reset_mid_body", "generate": {"repeat": "0123456789", "count": 100000}}]},
            {"path": "/gz-close", "responses": [{"fault": "close_mid_body", "gzip": true, "generate": {"repeat": "ab", "count": 100000}}]}]"#,
    )
    .unwrap();
    let t = Instant::now();
    let (bytes, end) = raw(&emu, "/late-reset");
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert!(bytes.is_empty());
    assert_eq!(end, End::Reset);

    let (bytes, end) = raw(&emu, "/gen-reset");
    assert_eq!(end, End::Reset);
    let (_, headers, body) = split_raw(&bytes);
    assert_eq!(header(&headers, "content-length"), Some("1000000"));
    // RST discards whatever the kernel had not sent yet, so only "at most half".
    assert!(body.len() <= 500_000, "{}", body.len());

    let mut c = Conn::open(emu.addr());
    c.send("GET", "/gz-close", &[("Accept-Encoding", "gzip")], None)
        .unwrap();
    let (bytes, end) = c.read_raw_to_end();
    assert_eq!(end, End::Eof);
    let (_, headers, _) = split_raw(&bytes);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    assert_eq!(header(&headers, "transfer-encoding"), Some("chunked"));
}

#[test]
fn a_client_leaving_mid_stream_costs_nothing() {
    let emu = Emulator::start(Config::default()).unwrap();
    // 200 MiB, trickled slowly: the client leaves long before the end.
    emu.add_scenarios_json(
        r#"[{"path": "/huge", "responses": [{"generate": {"repeat": "a", "count": 209715200}}]},
            {"path": "/slow", "responses": [{"generate": {"repeat": "a", "count": 100000}, "chunk_size": 10, "chunk_delay_ms": 10}]}]"#,
    )
    .unwrap();
    for path in ["/huge", "/slow"] {
        for _ in 0..5 {
            let mut c = Conn::open(emu.addr());
            c.send("GET", path, &[], None).unwrap();
            let mut buf = vec![0u8; 4096];
            let n = c.stream.read(&mut buf).unwrap();
            assert!(n > 0);
        }
    }
    // Still quick to answer.
    let t = Instant::now();
    for _ in 0..20 {
        assert_eq!(get(&emu, &seed_path("beta")).status, 200);
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn mid_body_faults_on_empty_bodies_still_cut() {
    let emu = Emulator::start(Config::default()).unwrap();
    emu.add_scenario(
        Scenario::path("/e-reset").respond(ScriptedResponse::fault(Fault::ResetMidBody)),
    );
    emu.add_scenario(
        Scenario::path("/e-close").respond(ScriptedResponse::fault(Fault::CloseMidBody)),
    );
    emu.add_scenario(
        Scenario::path("/e-long").respond(ScriptedResponse::status(200).with_content_length(10)),
    );
    for (path, want) in [
        ("/e-reset", End::Reset),
        ("/e-close", End::Eof),
        ("/e-long", End::Eof),
    ] {
        let (bytes, end) = raw(&emu, path);
        assert_eq!(end, want, "{path}");
        let (status, _, body) = split_raw(&bytes);
        assert_eq!(status, 200);
        // No complete (terminated) body.
        assert!(!body.windows(5).any(|w| w == b"0\r\n\r\n"), "{path}");
    }
}
