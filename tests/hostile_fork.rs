//! After `fork()`, a client used in the child never uses a connection inherited
//! from the parent: the child opens its own, and the parent goes on on its own
//! connection. Parent and child each receive only their own answers, and send
//! request ids of their own. The C side
//! (threads inside calls at fork time, a child freeing the client) is
//! tests/c/test_hostile.c. Its own test binary: it forks.

mod common;
mod hostile_support;

use std::collections::BTreeSet;

use common::*;
use hostile_support::*;
use serde_json::json;
use teamsop::ffi::teamsop_result::*;

const ROUNDS: usize = 20;

/// `rounds` GETs and waits of `op`, each expected to give the operation `want`.
fn own_answers(c: &CClient, op: &str, want: &str, rounds: usize) -> usize {
    let mut wrong = 0;
    for _ in 0..rounds {
        for out in [
            c.get_team("fork", op),
            c.wait(&team_location("fork", op), 10_000),
        ] {
            if out.result != TEAMSOP_OK || out.op_id.as_deref() != Some(want) {
                eprintln!("{op}: {out:?}");
                wrong += 1;
            }
        }
    }
    wrong
}

#[test]
fn parent_and_child_each_get_their_own_answers_on_their_own_connections() {
    let emu = emulator();
    script(
        &emu,
        json!([
            {"path": "/beta/teams/fork/operations/parent", "responses": [{"status": 200, "json": {"id": "parent-op", "status": "succeeded"}}]},
            {"path": "/beta/teams/fork/operations/child", "responses": [{"status": 200, "json": {"id": "child-op", "status": "succeeded"}}]},
        ]),
    );
    let c = CClient::new(TOKEN, &format!("{}/beta", emu.base_url()), 10_000);
    assert_eq!(own_answers(&c, "parent", "parent-op", 1), 0);

    // SAFETY: the child only makes calls on the client and then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let wrong = own_answers(&c, "child", "child-op", ROUNDS);
        // SAFETY: ends the child at once, running nothing of the parent's.
        unsafe { libc::_exit(if wrong == 0 { 0 } else { 1 }) };
    }
    let parent_wrong = own_answers(&c, "parent", "parent-op", ROUNDS);
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed: status {status:#x}"
    );
    assert_eq!(parent_wrong, 0);
    assert_eq!(own_answers(&c, "parent", "parent-op", 2), 0);

    let on = |path: &str| -> Vec<u64> {
        requests_to(&emu, path)
            .iter()
            .map(|r| r.connection)
            .collect()
    };
    let parent = on("/beta/teams/fork/operations/parent");
    let child: BTreeSet<u64> = on("/beta/teams/fork/operations/child")
        .into_iter()
        .collect();
    assert_eq!(parent.len(), 2 + 2 * ROUNDS + 4);
    assert!(
        parent.iter().all(|&n| n == parent[0]),
        "the parent changed connections: {parent:?}"
    );
    assert!(!child.is_empty());
    // Request ids stay unique across the two processes.
    let ids: Vec<String> = emu
        .requests()
        .iter()
        .filter_map(|r| r.headers.get("client-request-id").cloned())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "a client-request-id was sent twice"
    );
    assert!(
        !child.contains(&parent[0]),
        "the child used the parent's connection {}",
        parent[0]
    );
}
