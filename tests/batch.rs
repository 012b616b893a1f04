//! `Batch` through the Rust API against the emulator: every operation reported
//! exactly once, the rate never exceeded, Graph JSON batching, throttling.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use teamsop::{Batch, ErrorKind};
use teamsop_emulator::{DurationRange, NewOperations, Outcomes, Parent, RateLimit, RateLimitScope};

fn create(emu: &teamsop_emulator::Emulator, count: u32, max_ms: u64) -> Vec<String> {
    emu.create_operations(&NewOperations {
        count,
        parent: Parent::Team,
        parent_id: None,
        duration_ms: DurationRange {
            min: 0,
            max: max_ms,
        },
        outcome: Outcomes {
            succeeded: 8,
            failed: 1,
            invalid: 1,
        },
        seed: 7,
        not_visible_ms: 0,
        operation_type: None,
    })
    .unwrap()
}

#[test]
fn every_operation_is_reported_once_within_the_rate() {
    let emu = emulator();
    let client = client(&emu);
    client
        .set_poll_interval(Duration::from_millis(200))
        .unwrap();
    let locations = create(&emu, 300, 2000);
    let mut batch = Batch::new(&client);
    batch.set_max_gets_per_second(100).unwrap();
    for (i, l) in locations.iter().enumerate() {
        batch.add(l, i as u64).unwrap();
    }
    assert_eq!(batch.pending(), 300);
    let mut seen: HashMap<u64, String> = HashMap::new();
    let start = Instant::now();
    batch
        .run(Duration::from_secs(60), None, |tag, outcome| {
            let op = outcome.as_ref().expect("each ends with its operation");
            assert!(op.is_terminal());
            assert!(seen
                .insert(tag, op.status_str().unwrap().to_owned())
                .is_none());
            true
        })
        .unwrap();
    let took = start.elapsed();
    assert_eq!(seen.len(), 300);
    assert_eq!(batch.pending(), 0);
    let stats = emu.stats();
    eprintln!("{took:?} {stats:?}");
    assert!(stats.busiest_second <= 100, "{stats:?}");
    assert_eq!(stats.throttled, 0);
    assert!(stats.batches > 0);
    assert!(
        stats.requests * 10 <= stats.inner_requests + stats.requests * 2,
        "{stats:?}"
    );
}

#[test]
fn one_by_one_when_batching_is_off() {
    let emu = emulator();
    let client = client(&emu);
    client
        .set_poll_interval(Duration::from_millis(100))
        .unwrap();
    let locations = create(&emu, 20, 300);
    let mut batch = Batch::new(&client);
    batch.set_json_batching(false);
    batch.set_max_gets_per_second(50).unwrap();
    for (i, l) in locations.iter().enumerate() {
        batch.add(l, i as u64).unwrap();
    }
    let mut count = 0;
    batch
        .run(Duration::from_secs(30), None, |_, outcome| {
            assert!(outcome.is_ok());
            count += 1;
            true
        })
        .unwrap();
    assert_eq!(count, 20);
    let stats = emu.stats();
    assert_eq!(stats.batches, 0);
    assert!(stats.busiest_second <= 50);
}

#[test]
fn a_server_limiting_at_half_the_rate_throttles_little_and_loses_nothing() {
    let emu = emulator();
    emu.set_rate_limit(RateLimit {
        per_second: 40,
        scope: RateLimitScope::Inner,
        retry_after_s: Some(1),
    });
    let client = client(&emu);
    client
        .set_poll_interval(Duration::from_millis(200))
        .unwrap();
    let locations = create(&emu, 200, 3000);
    let mut batch = Batch::new(&client);
    batch.set_max_gets_per_second(80).unwrap();
    for (i, l) in locations.iter().enumerate() {
        batch.add(l, i as u64).unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    batch
        .run(Duration::from_secs(120), None, |tag, outcome| {
            assert!(outcome.is_ok(), "{outcome:?}");
            assert!(seen.insert(tag));
            true
        })
        .unwrap();
    assert_eq!(seen.len(), 200);
    let stats = emu.stats();
    eprintln!("{stats:?}");
    // One $batch over the server's limit, then the rate halves: a few 429s, not
    // one per request (at 2,000 operations the share is far lower: make bench-batch).
    assert!(stats.throttled * 10 <= stats.inner_requests, "{stats:?}");
}

#[test]
fn bad_locations_add_nothing_and_a_zero_timeout_is_refused() {
    let emu = emulator();
    let client = client(&emu);
    let mut batch = Batch::new(&client);
    for bad in [
        "",
        "/nope('x')",
        "https://elsewhere.example/teams/a/operations/b",
    ] {
        assert_eq!(
            *batch.add(bad, 1).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
    assert_eq!(batch.pending(), 0);
    for rate in [0, 1001] {
        assert!(batch.set_max_gets_per_second(rate).is_err());
    }
    assert_eq!(
        *batch
            .run(Duration::ZERO, None, |_, _| true)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    // Nothing pending: a run ends at once.
    batch
        .run(Duration::from_secs(1), None, |_, _| true)
        .unwrap();
}

/// API.md: a pause that would end past the deadline ends the call at once with the
/// result of the last answer (THROTTLED for a 429), and a failing `$batch` is
/// retried as a GET would be. A run whose 429 asks for longer than its deadline
/// leaves does not sleep to a timeout: it ends now, its operations still pending.
#[test]
fn a_429_pausing_past_the_deadline_ends_the_run_at_once() {
    for (scope, batching) in [
        (RateLimitScope::Batch, true),
        (RateLimitScope::Inner, true),
        (RateLimitScope::Inner, false),
    ] {
        let what = format!("{scope:?}, batching {batching}");
        let emu = emulator();
        emu.set_rate_limit(RateLimit {
            per_second: 1,
            scope,
            retry_after_s: Some(30),
        });
        let client = client(&emu);
        let locations = emu
            .create_operations(&NewOperations::new(5).with_duration(DurationRange::fixed(600_000)))
            .unwrap();
        let mut batch = Batch::new(&client);
        batch.set_json_batching(batching);
        for (i, l) in locations.iter().enumerate() {
            batch.add(l, i as u64).unwrap();
        }
        let start = Instant::now();
        let mut reported = 0;
        let err = batch
            .run(Duration::from_secs(5), None, |_, _| {
                reported += 1;
                true
            })
            .unwrap_err();
        let took = start.elapsed();
        eprintln!("{what}: {took:?}: {}", err.message());
        assert!(
            matches!(err.kind(), ErrorKind::Http { status: 429, .. }),
            "{what}: {err:?}"
        );
        assert_eq!(err.http_status(), Some(429), "{what}");
        assert!(
            err.message().contains("Retry-After of 30 s would end past"),
            "{what}: {}",
            err.message()
        );
        assert!(
            err.message().contains("5 operation(s) still pending"),
            "{what}: {}",
            err.message()
        );
        assert!(took < Duration::from_secs(2), "{what}: {took:?}");
        assert_eq!(reported, 0, "{what}");
        assert_eq!(batch.pending(), 5, "{what}");
    }
}
