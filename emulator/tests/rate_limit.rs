//! The rate limiter: operation GETs per token in a sliding second, requests
//! inside a `$batch` counted one by one; 429 per request or per `$batch`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use teamsop_emulator::{
    Config, Emulator, RateLimit, RateLimitScope, Scenario, ScriptedResponse, TokenSpec, TEAM_ID,
};

fn op_url() -> String {
    format!("/teams/{TEAM_ID}/operations/create-succeeded")
}

fn batch_body(n: usize) -> Value {
    let requests: Vec<Value> = (0..n)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": op_url()}))
        .collect();
    json!({ "requests": requests })
}

fn batch(conn: &mut Conn<std::net::TcpStream>, body: &Value, token: &str) -> Response {
    let auth = format!("Bearer {token}");
    conn.request(
        "POST",
        "/beta/$batch",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(body.to_string().as_bytes()),
    )
    .unwrap()
}

fn get_as(conn: &mut Conn<std::net::TcpStream>, token: &str) -> Response {
    let auth = format!("Bearer {token}");
    conn.request(
        "GET",
        &format!("/beta{}", op_url()),
        &[("Authorization", &auth)],
        None,
    )
    .unwrap()
}

/// Inner statuses, sorted.
fn statuses(r: &Response) -> Vec<u64> {
    assert_eq!(r.status, 200);
    let mut s: Vec<u64> = r.json()["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    s.sort();
    s
}

#[test]
fn single_gets_above_the_limit_get_429_per_token() {
    let emu = Emulator::start(Config::default().rate_limit(RateLimit::per_second(5))).unwrap();
    let mut c = Conn::open(emu.addr());
    for _ in 0..5 {
        assert_eq!(get_as(&mut c, TOKEN).status, 200);
    }
    let r = get_as(&mut c, TOKEN);
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    let v = r.json();
    assert_eq!(v["error"]["code"], "TooManyRequests");
    assert_eq!(
        v["error"]["innerError"]["request-id"].as_str(),
        r.header("request-id")
    );
    // Another token has its own window.
    let other = emu.mint_token(TokenSpec::forever()).unwrap().token;
    assert_eq!(get_as(&mut c, &other).status, 200);
    // Other requests are not limited.
    let r = c
        .request(
            "POST",
            "/beta/teams",
            &[("Authorization", "Bearer emulator-token")],
            Some(b"{}"),
        )
        .unwrap();
    assert_eq!(r.status, 202);
    // A second later, the window has slid.
    std::thread::sleep(Duration::from_millis(1050));
    assert_eq!(get_as(&mut c, TOKEN).status, 200);
    let stats = emu.stats();
    assert_eq!(stats.throttled, 1);
    assert_eq!(stats.busiest_second, 7);
}

#[test]
fn inner_requests_count_one_by_one() {
    let emu = Emulator::start(Config::default()).unwrap();
    let r = request(
        &emu,
        "POST",
        "/_emulator/rate-limit",
        &[],
        Some(br#"{"per_second": 8, "scope": "inner", "retry_after_s": 2}"#),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"per_second": 8, "scope": "inner", "retry_after_s": 2})
    );
    let mut c = Conn::open(emu.addr());
    assert_eq!(get_as(&mut c, TOKEN).status, 200);
    let r = batch(&mut c, &batch_body(10), TOKEN);
    assert_eq!(
        statuses(&r),
        [200, 200, 200, 200, 200, 200, 200, 429, 429, 429]
    );
    let v = r.json();
    let throttled: Vec<&Value> = v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == 429)
        .collect();
    for a in throttled {
        assert_eq!(a["headers"]["Retry-After"], "2");
        assert_eq!(a["body"]["error"]["code"], "TooManyRequests");
    }
    // Inner requests that are not operation GETs are not limited.
    let r = batch(
        &mut c,
        &json!({"requests": [{"id": "p", "method": "POST", "url": "/teams"}]}),
        TOKEN,
    );
    assert_eq!(statuses(&r), [202]);
    let stats = emu.stats();
    assert_eq!(stats.throttled, 3);
    assert_eq!(stats.busiest_second, 11);
}

#[test]
fn a_whole_batch_gets_429_when_so_configured() {
    let emu = Emulator::start(
        Config::default().rate_limit(
            RateLimit::per_second(10)
                .with_scope(RateLimitScope::Batch)
                .with_retry_after_s(None),
        ),
    )
    .unwrap();
    let mut c = Conn::open(emu.addr());
    assert_eq!(statuses(&batch(&mut c, &batch_body(6), TOKEN)).len(), 6);
    let r = batch(&mut c, &batch_body(5), TOKEN);
    assert_eq!(r.status, 429, "6 + 5 > 10: the whole $batch");
    assert_eq!(r.header("retry-after"), None, "no Retry-After in this mode");
    assert_eq!(r.json()["error"]["code"], "TooManyRequests");
    // Nothing of the refused $batch counted: 4 more fit.
    assert_eq!(statuses(&batch(&mut c, &batch_body(4), TOKEN)), [200; 4]);
    assert_eq!(batch(&mut c, &batch_body(1), TOKEN).status, 429);
    // More than the limit in one $batch never fits.
    std::thread::sleep(Duration::from_millis(1050));
    assert_eq!(batch(&mut c, &batch_body(11), TOKEN).status, 429);
    assert_eq!(emu.stats().throttled, 3);
}

#[test]
fn a_client_that_paces_itself_by_a_sliding_second_is_never_throttled() {
    let emu = Emulator::start(Config::default().rate_limit(RateLimit::per_second(20))).unwrap();
    let mut c = Conn::open(emu.addr());
    let start = Instant::now();
    let mut throttled = 0;
    // Bursts of 10, 600 ms apart: any sliding second holds two bursts at
    // most (20), with 200 ms to spare for the trips to the server.
    for k in 0..6u32 {
        let due = start + Duration::from_millis(600) * k;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for s in statuses(&batch(&mut c, &batch_body(10), TOKEN)) {
            if s == 429 {
                throttled += 1;
            }
        }
    }
    assert_eq!(throttled, 0);
    assert!(start.elapsed() >= Duration::from_millis(3000));
    assert_eq!(emu.stats().busiest_second, 20);
    assert_eq!(emu.stats().throttled, 0);
}

#[test]
fn the_limiter_comes_before_scenarios_and_can_be_turned_off() {
    let emu = Emulator::start(Config::default().rate_limit(RateLimit::per_second(1))).unwrap();
    emu.add_scenario(
        Scenario::path(format!("/beta{}", op_url())).respond(ScriptedResponse::status(503)),
    );
    let mut c = Conn::open(emu.addr());
    assert_eq!(get_as(&mut c, TOKEN).status, 503);
    assert_eq!(get_as(&mut c, TOKEN).status, 429);
    assert_eq!(emu.rate_limit(), RateLimit::per_second(1));
    let r = request(
        &emu,
        "POST",
        "/_emulator/rate-limit",
        &[],
        Some(br#"{"per_second": 0}"#),
    );
    assert_eq!(r.status, 200);
    for _ in 0..50 {
        assert_eq!(get_as(&mut c, TOKEN).status, 503);
    }
    let got = request(&emu, "GET", "/_emulator/rate-limit", &[], None).json();
    assert_eq!(
        got,
        json!({"per_second": 0, "scope": "inner", "retry_after_s": 1})
    );
    // A reset brings the configured limit back, windows emptied.
    emu.reset();
    assert_eq!(emu.rate_limit(), RateLimit::per_second(1));
    assert_eq!(get_as(&mut c, TOKEN).status, 200);
    assert_eq!(emu.stats().busiest_second, 1);
    // From Rust.
    emu.set_rate_limit(RateLimit::per_second(2).with_retry_after_s(Some(9)));
    assert_eq!(get_as(&mut c, TOKEN).status, 200);
    assert_eq!(get_as(&mut c, TOKEN).status, 200);
    let r = get_as(&mut c, TOKEN);
    assert_eq!((r.status, r.header("retry-after")), (429, Some("9")));
}

#[test]
fn settings_are_checked() {
    let emu = Emulator::start(Config::default()).unwrap();
    for bad in [
        "",
        "{}",
        r#"{"per_second": -1}"#,
        r#"{"per_second": 1, "scope": "tenant"}"#,
        r#"{"per_second": 1, "retry_after_s": "1"}"#,
        r#"{"per_second": 1, "burst": 3}"#,
    ] {
        let r = request(
            &emu,
            "POST",
            "/_emulator/rate-limit",
            &[],
            Some(bad.as_bytes()),
        );
        assert_eq!(r.status, 400, "{bad}");
    }
    assert_eq!(emu.rate_limit(), RateLimit::off());
    let r = request(&emu, "DELETE", "/_emulator/rate-limit", &[], None);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
}
