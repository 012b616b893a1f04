//! `/_emulator/*` over HTTP.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use teamsop_emulator::{Config, Emulator, Scenario, ScriptedResponse};

fn start() -> Emulator {
    Emulator::start(Config::default()).expect("start")
}

fn control(emu: &Emulator, method: &str, path: &str, body: Option<&str>) -> Response {
    request(emu, method, path, &[], body.map(str::as_bytes))
}

#[test]
fn scenarios_over_http() {
    let emu = start();
    let r = control(
        &emu,
        "POST",
        "/_emulator/scenarios",
        Some(r#"{"path": "/one", "responses": [{"status": 201}]}"#),
    );
    assert_eq!(r.status, 204);
    let r = control(
        &emu,
        "POST",
        "/_emulator/scenarios",
        Some(
            r#"[{"path": "/two", "responses": [{"status": 202}]}, {"path": "/three", "responses": [{"status": 203}]}]"#,
        ),
    );
    assert_eq!(r.status, 204);
    assert_eq!(get(&emu, "/one").status, 201);
    assert_eq!(get(&emu, "/two").status, 202);
    assert_eq!(get(&emu, "/three").status, 203);
    for bad in [
        "nope",
        r#"{"path": "/x", "responses": [{"fault": "boom"}]}"#,
        r#"[{"path": "/x", "responses": [{}]}, {"path": "/y"}]"#,
    ] {
        let r = control(&emu, "POST", "/_emulator/scenarios", Some(bad));
        assert_eq!(r.status, 400, "{bad}");
        let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(msg.contains("scenario"), "{msg}");
    }
    // A rejected batch loads nothing.
    assert_eq!(get(&emu, "/x").status, 404);
    let r = control(&emu, "DELETE", "/_emulator/scenarios", None);
    assert_eq!(r.status, 204);
    assert_eq!(get(&emu, "/one").status, 404);
}

#[test]
fn requests_and_stats() {
    let emu = start();
    let mut conn = Conn::open(emu.addr());
    conn.request(
        "GET",
        &format!("{}?$select=id", seed_path("beta")),
        &[
            ("Authorization", "Bearer emulator-token"),
            ("X-Trace", "t1"),
        ],
        None,
    )
    .unwrap();
    conn.request("GET", "/beta/x", &[], None).unwrap();
    let r = conn
        .request("GET", "/_emulator/requests", &[], None)
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let list = r.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "control requests are not recorded");
    assert_eq!(list[0]["method"], "GET");
    assert_eq!(
        list[0]["path"],
        format!("{}?$select=id", seed_path("beta")).as_str()
    );
    assert_eq!(list[0]["headers"]["x-trace"], "t1");
    assert_eq!(list[0]["headers"]["host"], "localhost");
    assert_eq!(list[0]["connection"], 1);
    assert!(list[0]["elapsed_ms"].is_u64());
    let stats = conn
        .request("GET", "/_emulator/stats", &[], None)
        .unwrap()
        .json();
    assert_eq!(
        stats,
        serde_json::json!({"connections": 1, "requests": 2, "scripted": 0,
            "unauthorized": 1, "claims_challenges": 0, "batches": 0, "inner_requests": 0,
            "inner_scripted": 0, "throttled": 0, "busiest_second": 1})
    );
    let r = conn
        .request("DELETE", "/_emulator/requests", &[], None)
        .unwrap();
    assert_eq!(r.status, 204);
    let list = conn
        .request("GET", "/_emulator/requests", &[], None)
        .unwrap();
    assert_eq!(list.json(), Value::Array(vec![]));
    // Stats keep counting after the record is cleared.
    let stats = conn
        .request("GET", "/_emulator/stats", &[], None)
        .unwrap()
        .json();
    assert_eq!(stats["requests"], 2);
}

#[test]
fn reset_brings_everything_back() {
    let emu = Emulator::start(
        Config::default().scenario(Scenario::path("/cfg").respond(ScriptedResponse::status(299))),
    )
    .unwrap();
    emu.add_scenario(Scenario::path("/added").respond(ScriptedResponse::status(201)));
    let r = request(
        &emu,
        "POST",
        "/beta/teams",
        &[("Authorization", "Bearer emulator-token")],
        Some(b"{}"),
    );
    let location = r.header("location").unwrap().to_owned();
    let team = location.split('\'').nth(1).unwrap().to_owned();
    let op = location.split('\'').nth(3).unwrap().to_owned();
    let path = format!("/beta/teams/{team}/operations/{op}");
    assert_eq!(get(&emu, &path).status, 200);
    let r = control(&emu, "POST", "/_emulator/reset", None);
    assert_eq!(r.status, 204);
    assert_eq!(emu.stats().requests, 0);
    assert_eq!(emu.stats().connections, 0);
    assert!(emu.requests().is_empty());
    assert_eq!(get(&emu, &path).status, 404, "created operations are gone");
    assert_eq!(get(&emu, "/added").status, 404, "added scenarios are gone");
    assert_eq!(get(&emu, "/cfg").status, 299, "start scenarios stay");
}

#[test]
fn unknown_control_endpoints_and_methods() {
    let emu = start();
    assert_eq!(control(&emu, "GET", "/_emulator/nope", None).status, 404);
    let r = control(&emu, "GET", "/_emulator/reset", None);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    assert_eq!(control(&emu, "PUT", "/_emulator/stats", None).status, 405);
    assert_eq!(emu.stats().requests, 0);
}

#[test]
fn shutdown_over_http() {
    let emu = start();
    let addr = emu.addr();
    let mut idle = Conn::open(addr);
    assert_eq!(idle.get(&seed_path("beta")).status, 200);
    let r = control(&emu, "POST", "/_emulator/shutdown", None);
    assert_eq!(r.status, 204);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        emu.wait();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the server stops");
    // Idle keep-alive connections were closed, and nothing listens any more.
    let (rest, _) = idle.read_raw_to_end();
    assert!(rest.is_empty());
    assert!(std::net::TcpStream::connect(addr).is_err());
}
