//! Clients that vanish mid-answer must leave nothing running: measured as the
//! process's CPU time (this test binary holds one test so nothing else runs).

mod common;

use std::io::Read;
use std::time::Duration;

use common::*;
use teamsop_emulator::{Config, Emulator};

/// User + system CPU time of this process, in clock ticks.
#[cfg(target_os = "linux")]
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[cfg(not(target_os = "linux"))]
fn cpu_ticks() -> u64 {
    0
}

#[test]
fn vanished_clients_leave_no_busy_task() {
    let emu = Emulator::start(Config::default()).unwrap();
    emu.add_scenarios_json(
        r#"[{"path": "/huge", "responses": [{"generate": {"repeat": "a", "count": 209715200}}]},
            {"path": "/hugez", "responses": [{"gzip": true, "generate": {"repeat": "ab", "count": 104857600}}]},
            {"path": "/slow", "responses": [{"generate": {"repeat": "a", "count": 100000}, "chunk_size": 10, "chunk_delay_ms": 5}]},
            {"path": "/late", "responses": [{"delay_ms": 300, "body": "x"}]}]"#,
    )
    .unwrap();
    for path in ["/huge", "/hugez", "/slow", "/late"] {
        for _ in 0..3 {
            let mut c = Conn::open(emu.addr());
            c.send("GET", path, &[("Accept-Encoding", "gzip")], None)
                .unwrap();
            if path != "/late" {
                let mut buf = vec![0u8; 4096];
                assert!(c.stream.read(&mut buf).unwrap() > 0);
            }
        }
    }
    // Let the server notice, then measure a quiet second.
    std::thread::sleep(Duration::from_millis(700));
    let before = cpu_ticks();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks() - before;
    assert!(used < 20, "{used} ticks of CPU in an idle second");
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
}
