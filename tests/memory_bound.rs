//! A 200 MiB answer is refused while it streams: memory stays near the cap.
//! Its own test binary, so no other test's allocations blur the figure.

mod common;

use common::*;
use serde_json::json;
use teamsop::ErrorKind;

/// Peak resident memory of this process so far, in KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_200_mib_answer_does_not_grow_memory() {
    let emu = emulator();
    let body = json!({"prefix": "{\"id\":\"", "repeat": "abcdefgh", "count": 200u64 << 17, "suffix": "\"}"});
    script(
        &emu,
        json!([
            {"path": "/beta/teams/t/operations/sized", "responses": [{"status": 200, "generate": body}]},
            {"path": "/beta/teams/t/operations/chunked", "responses": [{"status": 200, "chunked": true, "generate": body}]},
        ]),
    );
    let c = client(&emu);
    // Warm up: the first call sets up TLS roots, the runtime and the pool.
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    let before = peak_rss_kib();
    for op in ["sized", "chunked"] {
        let e = c.get_team_operation("t", op).unwrap_err();
        assert_eq!(*e.kind(), ErrorKind::TooLarge { limit: 1 << 20 }, "{e}");
    }
    let growth = peak_rss_kib().saturating_sub(before);
    assert!(
        growth < 16 * 1024,
        "peak memory grew by {growth} KiB for a 200 MiB answer"
    );
}
