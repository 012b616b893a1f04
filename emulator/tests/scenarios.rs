//! Scripted answers over real sockets: sequences, randomness, timing,
//! framing, gzip and generated bodies.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use teamsop_emulator::{After, Config, Emulator, Scenario, ScriptedResponse, TEAM_ID};

fn start() -> Emulator {
    Emulator::start(Config::default()).expect("start")
}

#[test]
fn readme_sequence_before_the_token_check() {
    let emu = start();
    emu.add_scenarios_json(
        r#"{
          "path": "/beta/chats/c1/operations/o1",
          "method": "GET",
          "responses": [
            {"status": 429, "headers": {"Retry-After": "1"}, "json": {"error": {"code": "TooManyRequests", "message": "slow down"}}},
            {"status": 200, "operation": "seed"}
          ],
          "after": "repeat_last"
        }"#,
    )
    .unwrap();
    let mut conn = Conn::open(emu.addr());
    // No token at all: the scenario answers before the check.
    let r = conn
        .request("GET", "/beta/chats/c1/operations/o1", &[], None)
        .unwrap();
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["error"]["code"], "TooManyRequests");
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert!(is_guid(r.header("request-id").unwrap()));
    for _ in 0..3 {
        let r = conn
            .request("GET", "/beta/chats/c1/operations/o1", &[], None)
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, seed_fixture());
    }
    // Another method is not matched: normal routes (405 after the token check).
    let r = conn
        .request("POST", "/beta/chats/c1/operations/o1", &[], Some(b"{}"))
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(emu.stats().connections, 1);
}

#[test]
fn cycle_and_fallthrough() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/beta/teams/t/operations/cyc")
            .respond(ScriptedResponse::status(500))
            .respond(ScriptedResponse::status(502))
            .then(After::Cycle),
    );
    emu.add_scenario(
        Scenario::path(format!(
            "/beta/teams/{TEAM_ID}/operations/clone-in-progress"
        ))
        .respond(ScriptedResponse::status(503))
        .then(After::Fallthrough),
    );
    let mut conn = Conn::open(emu.addr());
    let got: Vec<u16> = (0..5)
        .map(|_| conn.get("/beta/teams/t/operations/cyc").status)
        .collect();
    assert_eq!(got, [500, 502, 500, 502, 500]);
    let path = format!("/beta/teams/{TEAM_ID}/operations/clone-in-progress");
    assert_eq!(conn.get(&path).status, 503);
    let r = conn.get(&path);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "inProgress");
    // After the fallthrough the token is checked again.
    let r = conn.request("GET", &path, &[], None).unwrap();
    assert_eq!(r.status, 401);
}

#[test]
fn prefix_decoded_paths_and_replacement() {
    let emu = start();
    emu.add_scenarios_json(
        r#"[{"path_prefix": "/beta/chats/", "responses": [{"status": 418, "body": "teapot", "content_type": "text/plain"}]},
            {"path": "/beta/chats/19:x@thread.v2/operations/o", "responses": [{"status": 201}]}]"#,
    )
    .unwrap();
    assert_eq!(get(&emu, "/beta/chats/anything").status, 418);
    let r = get(&emu, "/beta/chats/anything");
    assert_eq!(r.body, b"teapot");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    // Exact path, matched in its percent-encoded form.
    assert_eq!(
        get(&emu, "/beta/chats/19%3Ax%40thread.v2/operations/o").status,
        201
    );
    emu.add_scenarios_json(
        r#"{"path": "/beta/chats/19:x@thread.v2/operations/o", "responses": [{"status": 202}]}"#,
    )
    .unwrap();
    assert_eq!(
        get(&emu, "/beta/chats/19:x@thread.v2/operations/o").status,
        202
    );
    emu.clear_scenarios();
    assert_eq!(get(&emu, "/beta/chats/anything").status, 404);
    assert!(emu.add_scenarios_json("{\"path\": \"/x\"}").is_err());
    assert!(emu.add_scenarios_json("not json").is_err());
}

fn random_run(seed: u64) -> Vec<u16> {
    let emu = start();
    emu.add_scenario(Scenario::path("/beta/chats/c/operations/r").with_random(
        25.0,
        seed,
        vec![ScriptedResponse::status(500), ScriptedResponse::status(503)],
    ));
    let mut conn = Conn::open(emu.addr());
    (0..200)
        .map(|_| conn.get("/beta/chats/c/operations/r").status)
        .collect()
}

#[test]
fn random_faults_are_deterministic_with_a_seed() {
    let a = random_run(7);
    assert_eq!(a, random_run(7));
    assert_ne!(a, random_run(8));
    let hits = a.iter().filter(|s| **s >= 500).count();
    assert!((25..=80).contains(&hits), "{hits} of 200");
    // The rest fall to the normal routes: an unknown operation.
    assert!(a.contains(&404) && a.contains(&500) && a.contains(&503));
}

#[test]
fn random_reset_faults_are_deterministic() {
    let run = || {
        let emu = start();
        emu.add_scenarios_json(
            r#"{"path": "/r", "random": {"percent": 30, "seed": 42, "responses": [{"fault": "reset"}]},
                "responses": [{"status": 200, "body": "ok"}]}"#,
        )
        .unwrap();
        (0..40)
            .map(|_| {
                let mut c = Conn::open(emu.addr());
                match c.request("GET", "/r", &[], None) {
                    Ok(r) => r.status,
                    Err(_) => 0,
                }
            })
            .collect::<Vec<u16>>()
    };
    let a = run();
    assert_eq!(a, run());
    assert!(a.contains(&0) && a.contains(&200), "{a:?}");
}

#[test]
fn delay_is_async_and_concurrent() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/slow").respond(ScriptedResponse::status(200).with_delay_ms(400)),
    );
    let t = Instant::now();
    let r = get(&emu, "/slow");
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(400));
    // 40 slow answers at once on 2 worker threads: they overlap.
    let t = Instant::now();
    let addr = emu.addr();
    let handles: Vec<_> = (0..40)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Conn::open(addr);
                c.request("GET", "/slow", &[], None).unwrap().status
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert!(
        t.elapsed() < Duration::from_millis(3000),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn chunked_and_chunk_sizes() {
    let emu = start();
    let body = "0123456789".repeat(10);
    emu.add_scenario(
        Scenario::path("/chunked").respond(
            ScriptedResponse::status(200)
                .with_body(body.clone())
                .with_chunked()
                .with_chunks(30, 0),
        ),
    );
    let mut conn = Conn::open(emu.addr());
    for _ in 0..2 {
        let r = conn.request("GET", "/chunked", &[], None).unwrap();
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        assert!(r.header("content-length").is_none());
        assert_eq!(r.body, body.as_bytes());
        assert_eq!(r.chunks.as_deref(), Some(&[30, 30, 30, 10][..]));
    }
    assert_eq!(
        emu.stats().connections,
        1,
        "chunked answers keep the connection"
    );
}

#[test]
fn trickle_takes_its_time() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/trickle")
            .respond(ScriptedResponse::operation("seed").with_chunks(100, 50)),
    );
    let t = Instant::now();
    let r = get(&emu, "/trickle");
    let pieces = seed_fixture().len().div_ceil(100) as u32;
    assert_eq!(r.body, seed_fixture());
    assert!(r.header("content-length").is_some());
    assert!(
        t.elapsed() >= Duration::from_millis(50) * (pieces - 1),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn gzip_only_when_offered() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/gz").respond(ScriptedResponse::operation("seed").with_gzip()),
    );
    let plain = get(&emu, "/gz");
    assert!(plain.header("content-encoding").is_none());
    assert_eq!(plain.body, seed_fixture());
    let zipped = request(
        &emu,
        "GET",
        "/gz",
        &[("Accept-Encoding", "gzip, deflate")],
        None,
    );
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(zipped.header("vary"), Some("Accept-Encoding"));
    assert_ne!(zipped.body, seed_fixture());
    assert_eq!(gunzip(&zipped.body), seed_fixture());
    let refused = request(
        &emu,
        "GET",
        "/gz",
        &[("Accept-Encoding", "gzip;q=0, br")],
        None,
    );
    assert!(refused.header("content-encoding").is_none());
}

#[test]
fn generated_bodies_stream() {
    let emu = start();
    let count = 3 * 1024 * 1024; // 3 MiB of 'a'
    emu.add_scenario(
        Scenario::path("/big").respond(ScriptedResponse::status(200).with_generate(
            "{\"v\":\"",
            "a",
            count,
            "\"}",
        )),
    );
    emu.add_scenario(
        Scenario::path("/bigz").respond(
            ScriptedResponse::status(200)
                .with_generate("[", "xy", count, "]")
                .with_gzip(),
        ),
    );
    let mut conn = Conn::open(emu.addr());
    let r = conn.request("GET", "/big", &[], None).unwrap();
    assert_eq!(
        r.header("content-length"),
        Some((count + 8).to_string().as_str())
    );
    assert_eq!(r.body.len() as u64, count + 8);
    assert!(r.body.starts_with(b"{\"v\":\"aaaa"));
    assert!(r.body.ends_with(b"aaa\"}"));
    assert!(r.body[6..r.body.len() - 2].iter().all(|b| *b == b'a'));
    // Streamed gzip: chunked, small on the wire.
    let r = conn
        .request("GET", "/bigz", &[("Accept-Encoding", "gzip")], None)
        .unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert!(r.body.len() < 200_000, "{}", r.body.len());
    let plain = gunzip(&r.body);
    assert_eq!(plain.len() as u64, 2 * count + 2);
    assert!(plain.starts_with(b"[xyxy") && plain.ends_with(b"xy]"));
    assert_eq!(emu.stats().connections, 1);
}

#[test]
fn content_length_mismatches() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/long").respond(
            ScriptedResponse::status(200)
                .with_body("0123456789")
                .with_content_length(100),
        ),
    );
    emu.add_scenario(
        Scenario::path("/short").respond(
            ScriptedResponse::status(200)
                .with_body("0123456789")
                .with_content_length(4),
        ),
    );
    // Announced more than sent: the body is cut by the close.
    let mut c = Conn::open(emu.addr());
    c.send("GET", "/long", &[], None).unwrap();
    let (raw, end) = c.read_raw_to_end();
    assert_eq!(end, End::Eof);
    let (status, headers, body) = split_raw(&raw);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-length"), Some("100"));
    assert_eq!(body, b"0123456789");
    // Announced less: exactly that much, and the connection lives on.
    let mut c = Conn::open(emu.addr());
    let r = c.request("GET", "/short", &[], None).unwrap();
    assert_eq!(r.body, b"0123");
    let r = c.request("GET", "/short", &[], None).unwrap();
    assert_eq!(r.body, b"0123");
}

#[test]
fn raw_bytes_and_operation_references() {
    let emu = start();
    emu.add_scenarios_json(&format!(
        r#"[{{"path": "/bytes", "responses": [{{"body_base64": "/wB7fQ=="}}]}},
            {{"path": "/op", "responses": [{{"operation": "team:{TEAM_ID}:archive-failed"}}]}},
            {{"path": "/v1.0/op", "responses": [{{"operation": "team:{TEAM_ID}:archive-failed"}}]}},
            {{"path": "/json", "responses": [{{"status": 404, "json": {{"a": [1, 2]}}, "content_type": ""}}]}}]"#
    ))
    .unwrap();
    let r = get(&emu, "/bytes");
    assert_eq!(r.body, [0xff, 0x00, b'{', b'}']);
    let v = get(&emu, "/op").json();
    assert_eq!(v["status"], "failed");
    assert!(v["@odata.context"].as_str().unwrap().contains("/beta/"));
    let v = get(&emu, "/v1.0/op").json();
    assert!(v["@odata.context"].as_str().unwrap().contains("/v1.0/"));
    let r = get(&emu, "/json");
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"a": [1, 2]}));
    assert!(r.header("content-type").is_none());
}

#[test]
fn config_scenarios_come_back_after_reset() {
    let emu = Emulator::start(
        Config::default().scenario(
            Scenario::path("/cfg")
                .respond(ScriptedResponse::status(201))
                .respond(ScriptedResponse::status(202)),
        ),
    )
    .unwrap();
    assert_eq!(get(&emu, "/cfg").status, 201);
    assert_eq!(get(&emu, "/cfg").status, 202);
    emu.reset();
    assert_eq!(get(&emu, "/cfg").status, 201);
    assert_eq!(emu.stats().requests, 1);
    assert_eq!(emu.requests().len(), 1);
    let bad = Config::default().scenario(Scenario::path("/no-responses"));
    assert!(Emulator::start(bad).is_err());
}

#[test]
#[should_panic(expected = "invalid scenario")]
fn add_scenario_panics_on_invalid() {
    let emu = start();
    emu.add_scenario(Scenario::path("relative").respond(ScriptedResponse::status(200)));
}
