//! The largest numbers a scenario can carry (`u64::MAX` delays, lengths and
//! counts) cost one stalled answer at most: no panic, no overflow, and the
//! server keeps serving and stops on time.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::*;
use teamsop_emulator::{Config, Emulator, Scenario, ScriptedResponse};

fn start() -> Emulator {
    Emulator::start(Config::default()).expect("start")
}

#[test]
fn a_delay_of_u64_max_stalls_one_answer_only() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/forever").respond(ScriptedResponse::status(200).with_delay_ms(u64::MAX)),
    );
    let mut stalled = Conn::open(emu.addr());
    stalled.send("GET", "/forever", &[], None).unwrap();
    stalled
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let err = stalled.stream.read(&mut byte).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err:?}"
    );
    // Others are served meanwhile.
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
    assert_eq!(emu.stats().requests, 2);
    // And dropping the emulator does not wait for the stalled answer.
    let t = Instant::now();
    drop(emu);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    stalled
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (rest, _) = stalled.read_raw_to_end();
    assert!(rest.is_empty());
}

#[test]
fn a_chunk_delay_of_u64_max_stalls_after_the_first_piece() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/trickle").respond(
            ScriptedResponse::status(200)
                .with_body("abcdef")
                .with_chunks(2, u64::MAX),
        ),
    );
    let mut c = Conn::open(emu.addr());
    c.send("GET", "/trickle", &[], None).unwrap();
    let (status, headers) = c.read_head().unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.as_str()),
        Some("6")
    );
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
}

#[test]
fn a_content_length_of_u64_max_sends_the_body_then_closes() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/long").respond(
            ScriptedResponse::status(200)
                .with_body("short")
                .with_content_length(u64::MAX),
        ),
    );
    let mut c = Conn::open(emu.addr());
    c.send("GET", "/long", &[], None).unwrap();
    let (raw, end) = c.read_raw_to_end();
    assert_eq!(end, End::Eof);
    let (status, headers, body) = split_raw(&raw);
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-length"),
        Some(u64::MAX.to_string().as_str())
    );
    assert_eq!(body, b"short");
}

#[test]
fn numbers_beyond_u64_or_negative_are_refused() {
    let emu = start();
    for field in ["delay_ms", "chunk_delay_ms", "content_length"] {
        for value in ["18446744073709551616", "-1", "1e30", "1.5"] {
            let json = format!(r#"{{"path": "/x", "responses": [{{"{field}": {value}}}]}}"#);
            let err = emu.add_scenarios_json(&json).unwrap_err();
            assert!(err.contains("scenario"), "{json}: {err}");
        }
    }
    // A generated body whose length does not fit in 64 bits is refused too,
    // and an empty `repeat` any number of times is an empty body.
    let err = emu
        .add_scenarios_json(
            r#"{"path": "/g", "responses": [{"generate": {"repeat": "ab", "count": 18446744073709551615}}]}"#,
        )
        .unwrap_err();
    assert!(err.contains("too large"), "{err}");
    emu.add_scenarios_json(
        r#"{"path": "/g", "responses": [{"generate": {"prefix": "[", "repeat": "", "count": 18446744073709551615, "suffix": "]"}}]}"#,
    )
    .unwrap();
    let r = get(&emu, "/g");
    assert_eq!(r.body, b"[]");
}

#[test]
fn latency_delays_graph_answers_but_not_control_ones() {
    let emu = Emulator::start(Config::default().latency_ms(150)).expect("start");
    let start = Instant::now();
    let seed = format!(
        "/beta/chats/{}/operations/{}",
        teamsop_emulator::SEED_CHAT_ID,
        teamsop_emulator::SEED_OPERATION_ID
    );
    let response = request(
        &emu,
        "GET",
        &seed,
        &[("Authorization", "Bearer emulator-token")],
        None,
    );
    assert_eq!(response.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(150));
    let start = Instant::now();
    assert_eq!(get(&emu, "/_emulator/stats").status, 200);
    assert!(start.elapsed() < Duration::from_millis(150));
    // A huge latency is capped at a minute.
    assert_eq!(Config::default().latency_ms(u64::MAX).latency_ms, 60_000);
    // Set while running, and read back; a reset restores the configured one.
    let set = request(
        &emu,
        "POST",
        "/_emulator/latency",
        &[],
        Some(b"{\"ms\": 99999999}"),
    );
    assert_eq!(set.status, 200);
    assert_eq!(String::from_utf8_lossy(&set.body), "{\"ms\":60000}");
    let bad = request(
        &emu,
        "POST",
        "/_emulator/latency",
        &[],
        Some(b"{\"ms\": -1}"),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(
        request(&emu, "POST", "/_emulator/reset", &[], None).status,
        204
    );
    let now = get(&emu, "/_emulator/latency");
    assert_eq!(String::from_utf8_lossy(&now.body), "{\"ms\":150}");
}
