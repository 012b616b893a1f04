//! Operations created on request (`POST /_emulator/operations`): they progress
//! by the clock, end as drawn, and report their timeline and polls.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::{json, Value};
use teamsop_emulator::{Config, DurationRange, Emulator, NewOperations, Parent};

fn start() -> Emulator {
    Emulator::start(Config::default()).expect("start")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `/teams('T')/operations('O')` to the GET path `/beta/teams/T/operations/O`.
fn path_of(location: &str) -> String {
    let parts: Vec<&str> = location.split('\'').collect();
    let coll = location[1..].split('(').next().unwrap();
    format!(
        "/beta/{coll}/{}/operations/{}",
        parts[1].replace(':', "%3A").replace('@', "%40"),
        parts[3]
    )
}

fn create(emu: &Emulator, spec: Value) -> Vec<String> {
    let r = request(
        emu,
        "POST",
        "/_emulator/operations",
        &[("Content-Type", "application/json")],
        Some(spec.to_string().as_bytes()),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect()
}

fn report(emu: &Emulator) -> Vec<Value> {
    request(emu, "GET", "/_emulator/operations", &[], None)
        .json()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn they_progress_by_the_clock_and_end_as_drawn() {
    let emu = start();
    let before = now_ms();
    let locations = create(
        &emu,
        json!({"count": 40, "parent": "team", "duration_ms": {"min": 200, "max": 600},
               "outcome": {"succeeded": 60, "failed": 30, "invalid": 10}, "seed": 7}),
    );
    assert_eq!(locations.len(), 40);
    assert!(locations
        .iter()
        .all(|l| l.starts_with("/teams('") && l.contains("')/operations('") && l.ends_with("')")));
    let rep = report(&emu);
    assert_eq!(rep.len(), 40);
    for (l, r) in locations.iter().zip(&rep) {
        assert_eq!(r["location"], l.as_str());
        assert_eq!(r["progress"], "time");
        assert_eq!(r["operation_type"], "createTeam");
        let created = r["created_unix_ms"].as_i64().unwrap();
        let ends = r["ends_unix_ms"].as_i64().unwrap();
        assert!((before..=now_ms()).contains(&created));
        assert!((created + 200..=created + 600).contains(&ends), "{r}");
        assert_eq!(r["visible_unix_ms"], created);
        assert_eq!(r["polls"], 0);
    }
    let outcomes: Vec<&str> = rep.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.contains(&"succeeded") && outcomes.contains(&"failed"));

    // Right away: nothing has ended (the shortest runs 200 ms).
    let mut conn = Conn::open(emu.addr());
    for l in &locations {
        let v = conn.get(&path_of(l)).json();
        let s = v["status"].as_str().unwrap();
        assert!(s == "notStarted" || s == "inProgress", "{s}");
        assert!(v["targetResourceId"].is_null() && v["error"].is_null());
    }
    std::thread::sleep(Duration::from_millis(700));
    for (l, r) in locations.iter().zip(&rep) {
        let v = conn.get(&path_of(l)).json();
        assert_eq!(v["status"], r["outcome"]);
        match v["status"].as_str().unwrap() {
            "succeeded" => {
                assert_eq!(v["targetResourceId"], r["parent_id"]);
                assert_eq!(
                    v["targetResourceLocation"],
                    format!("/teams('{}')", r["parent_id"].as_str().unwrap()).as_str()
                );
                assert!(v["error"].is_null());
            }
            "failed" => assert_eq!(v["error"]["code"], "OperationFailed"),
            "invalid" => assert_eq!(v["error"]["code"], "InvalidOperation"),
            other => panic!("{other}"),
        }
        assert_eq!(v["attemptsCount"], 1);
        assert_eq!(v["id"], r["id"]);
    }
    for r in report(&emu) {
        assert_eq!(r["polls"], 2);
        let first = r["first_terminal_poll_unix_ms"].as_i64().unwrap();
        assert!(first >= r["ends_unix_ms"].as_i64().unwrap());
    }
}

#[test]
fn draws_follow_the_seed() {
    let spec = json!({"count": 200, "parent": "chat", "duration_ms": {"min": 0, "max": 100000},
                      "outcome": {"succeeded": 90, "failed": 9, "invalid": 1}, "seed": 42});
    let timeline = |emu: &Emulator| -> Vec<(i64, String)> {
        report(emu)
            .iter()
            .map(|r| {
                (
                    r["ends_unix_ms"].as_i64().unwrap() - r["created_unix_ms"].as_i64().unwrap(),
                    r["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let (a, b) = (start(), start());
    let la = create(&a, spec.clone());
    create(&b, spec);
    assert_eq!(timeline(&a), timeline(&b));
    assert!(la[0].starts_with("/chats('19:") && la[0].contains("@thread.v2')/operations('"));
    assert_eq!(report(&a)[0]["operation_type"], "createChat");
    let c = start();
    create(
        &c,
        json!({"count": 200, "parent": "chat", "duration_ms": {"min": 0, "max": 100000},
               "outcome": {"succeeded": 90, "failed": 9, "invalid": 1}, "seed": 43}),
    );
    assert_ne!(timeline(&a), timeline(&c));
}

#[test]
fn late_visibility_gives_404_first() {
    let emu = start();
    let locs = emu
        .create_operations(
            &NewOperations::new(1)
                .with_duration(DurationRange::fixed(0))
                .with_not_visible_ms(300)
                .with_parent_id("my-team")
                .with_operation_type("archiveTeam"),
        )
        .unwrap();
    assert!(locs[0].starts_with("/teams('my-team')/operations('"));
    let path = path_of(&locs[0]);
    let r = get(&emu, &path);
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "NotFound");
    std::thread::sleep(Duration::from_millis(350));
    let v = get(&emu, &path).json();
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["operationType"], "archiveTeam");
    let rep = emu.operations();
    assert_eq!(rep[0].polls, 2, "the 404 counts as a poll");
    assert_eq!(rep[0].visible_unix_ms, rep[0].created_unix_ms + 300);
    assert_eq!(rep[0].parent, Parent::Team);
    assert_eq!(rep[0].parent_id, "my-team");
}

#[test]
fn they_are_polled_inside_a_batch_too() {
    let emu = start();
    let locs = emu
        .create_operations(&NewOperations::new(20).with_outcomes(0, 0, 1))
        .unwrap();
    let requests: Vec<Value> = locs
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"id": i.to_string(), "method": "GET", "url": &path_of(l)[5..]}))
        .collect();
    let r = request(
        &emu,
        "POST",
        "/beta/$batch",
        &[
            ("Authorization", "Bearer emulator-token"),
            ("Content-Type", "application/json"),
        ],
        Some(json!({ "requests": requests }).to_string().as_bytes()),
    );
    let v = r.json();
    let answers = v["responses"].as_array().unwrap();
    assert_eq!(answers.len(), 20);
    assert!(answers.iter().all(|a| a["body"]["status"] == "invalid"));
    assert!(emu.operations().iter().all(|o| o.polls == 1));
    assert_eq!(emu.stats().busiest_second, 20);
}

#[test]
fn posted_operations_are_listed_and_everything_can_be_forgotten() {
    let emu = start();
    let r = request(
        &emu,
        "POST",
        "/v1.0/chats",
        &[("Authorization", "Bearer emulator-token")],
        Some(b"{}"),
    );
    let location = r.header("location").unwrap().to_owned();
    emu.create_operations(&NewOperations::new(2)).unwrap();
    let rep = report(&emu);
    assert_eq!(rep.len(), 3);
    assert_eq!(rep[0]["location"], location.as_str());
    assert_eq!(rep[0]["progress"], "polls");
    assert_eq!(rep[0]["parent"], "chat");
    assert!(rep[0]["ends_unix_ms"].is_null());
    let r = request(&emu, "DELETE", "/_emulator/operations", &[], None);
    assert_eq!(r.status, 204);
    assert!(report(&emu).is_empty());
    assert_eq!(get(&emu, &path_of(&location)).status, 404);
    emu.create_operations(&NewOperations::new(1)).unwrap();
    emu.reset();
    assert!(emu.operations().is_empty());
}

#[test]
fn refusals() {
    let emu = start();
    for spec in [
        json!({"count": 0}),
        json!({"count": 1_000_001}),
        json!({"count": 1, "duration_ms": {"min": 5, "max": 4}}),
        json!({"count": 1, "outcome": {"succeeded": 0}}),
        json!({"count": 1, "parent_id": "a/b"}),
        json!({"count": 1, "parent_id": "with space"}),
        json!({"count": 1, "parent": "group"}),
        json!({"count": 1, "shape": "round"}),
        json!({"duration_ms": 5}),
        json!({"count": 1, "duration_ms": -5}),
    ] {
        let r = request(
            &emu,
            "POST",
            "/_emulator/operations",
            &[],
            Some(spec.to_string().as_bytes()),
        );
        assert_eq!(r.status, 400, "{spec}");
        assert!(r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("operations: "));
    }
    assert!(emu.operations().is_empty());
    let r = request(&emu, "PUT", "/_emulator/operations", &[], None);
    assert_eq!(r.header("allow"), Some("GET, POST, DELETE"));
    // The largest duration saturates instead of overflowing.
    let locs = emu
        .create_operations(&NewOperations::new(1).with_duration(DurationRange::fixed(u64::MAX)))
        .unwrap();
    assert_eq!(emu.operations()[0].ends_unix_ms, Some(i64::MAX));
    assert!(emu.operations()[0].started_unix_ms.unwrap() > now_ms() + 1_000_000_000);
    let v = get(&emu, &path_of(&locs[0])).json();
    assert_eq!(v["status"], "notStarted");
}
