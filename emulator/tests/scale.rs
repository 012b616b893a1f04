//! Scale: 100,000 stored operations cost a request no more than 2,000 do, and
//! 2,000 operations polled through `$batch` go far faster than the 200 inner
//! requests per second a benchmark needs. Prints its figures (`--nocapture`).

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use teamsop_emulator::{Config, DurationRange, Emulator, NewOperations};

/// `/teams('T')/operations('O')` to `/teams/T/operations/O`.
fn url_of(location: &str) -> String {
    let parts: Vec<&str> = location.split('\'').collect();
    format!("/teams/{}/operations/{}", parts[1], parts[3])
}

/// Polls every operation once through `$batch`es of 20 on one connection;
/// returns inner requests per second.
fn poll_all(emu: &Emulator, locations: &[String]) -> f64 {
    let mut c = Conn::open(emu.addr());
    let t = Instant::now();
    for chunk in locations.chunks(20) {
        let requests: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, l)| json!({"id": i.to_string(), "method": "GET", "url": url_of(l)}))
            .collect();
        let r = c
            .request(
                "POST",
                "/beta/$batch",
                &[
                    ("Authorization", "Bearer emulator-token"),
                    ("Content-Type", "application/json"),
                ],
                Some(json!({ "requests": requests }).to_string().as_bytes()),
            )
            .unwrap();
        let v = r.json();
        let answers = v["responses"].as_array().unwrap();
        assert_eq!(answers.len(), chunk.len());
        assert!(answers.iter().all(|a| a["status"] == 200));
    }
    locations.len() as f64 / t.elapsed().as_secs_f64()
}

#[test]
fn a_hundred_thousand_operations_cost_a_request_nothing_more() {
    let emu = Emulator::start(Config::default().record_requests(false)).unwrap();
    let spec = NewOperations::new(2_000)
        .with_duration(DurationRange::between(0, 3_000))
        .with_outcomes(90, 9, 1)
        .with_seed(7);
    let t = Instant::now();
    let polled = emu.create_operations(&spec).unwrap();
    let create_2k = t.elapsed();
    let rate_2k = poll_all(&emu, &polled);

    let t = Instant::now();
    let more = emu
        .create_operations(&spec.clone().with_seed(8).with_count(98_000))
        .unwrap();
    let create_98k = t.elapsed();
    assert_eq!(more.len(), 98_000);
    let rate_100k = poll_all(&emu, &polled);

    let t = Instant::now();
    let report = emu.operations();
    let report_100k = t.elapsed();
    assert_eq!(report.len(), 100_000);
    assert!(report[..2_000].iter().all(|r| r.polls == 2));

    eprintln!(
        "scale: create 2,000 in {create_2k:?}, 98,000 more in {create_98k:?}; \
         $batch inner GETs/s with 2,000 stored: {rate_2k:.0}, with 100,000: {rate_100k:.0}; \
         report of 100,000 in {report_100k:?}"
    );
    // Far above the 200/s a benchmark needs, even in a debug build on a
    // shared machine, and no slower with 50 times as many stored.
    assert!(rate_2k > 1_000.0, "{rate_2k}");
    assert!(rate_100k > rate_2k / 3.0, "{rate_100k} vs {rate_2k}");
    assert!(create_98k < Duration::from_secs(30), "{create_98k:?}");
}
