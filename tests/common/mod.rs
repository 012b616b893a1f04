//! Shared set-up for the integration tests: an emulator on loopback and a client
//! pointed at it.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::time::Duration;

use serde_json::Value;
use teamsop::{Client, Error, ErrorKind};
use teamsop_emulator::{Config, Emulator};

pub use teamsop_emulator::{RecordedRequest, SEED_BODY, SEED_CHAT_ID, SEED_OPERATION_ID, TEAM_ID};

/// The token the emulator accepts.
pub const TOKEN: &str = "emulator-token";

/// A fresh emulator (plain HTTP) with no scenarios.
pub fn emulator() -> Emulator {
    Emulator::start(Config::default().worker_threads(1)).expect("the emulator starts")
}

/// A client for `emu`'s beta endpoint with the right token and a short timeout.
pub fn client(emu: &Emulator) -> Client {
    let client = Client::with_token(TOKEN).unwrap();
    client
        .set_base_url(&format!("{}/beta", emu.base_url()))
        .unwrap();
    client.set_timeout(Duration::from_secs(10)).unwrap();
    client
}

/// Loads scenarios given as JSON values.
pub fn script(emu: &Emulator, scenarios: Value) {
    emu.add_scenarios_json(&scenarios.to_string())
        .expect("valid scenarios");
}

/// The error's kind, for terse assertions.
pub fn kind(e: &Error) -> ErrorKind {
    e.kind().clone()
}

/// The requests the emulator saw for `path` (exact, with query).
pub fn requests_to(emu: &Emulator, path: &str) -> Vec<RecordedRequest> {
    emu.requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

/// Asserts that no text the library produced for `e` holds the token.
pub fn assert_no_token(e: &Error) {
    let all = format!("{e} {e:?} {:?} {:?}", e.request_id(), e.graph_code());
    assert!(
        !all.contains(TOKEN),
        "the token leaked into an error: {all}"
    );
}
