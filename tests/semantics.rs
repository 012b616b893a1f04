//! API 0.2 "Tighter semantics", through the C ABI against the emulator: `invalid`
//! is terminal, `Value` is read when `values` is not sent, and the older
//! `/groups(ID)/team/operations(OP)` Location names a team's operation.

mod common;

use std::ffi::{c_void, CStr, CString};
use std::ptr;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use teamsop::ffi::*;
use teamsop_emulator::Emulator;

/// A `teamsop_client` for `emu`'s beta endpoint, freed on drop.
struct CClient(*mut teamsop_client);

impl CClient {
    fn new(emu: &Emulator) -> CClient {
        let token = CString::new(TOKEN).unwrap();
        let base = CString::new(format!("{}/beta", emu.base_url())).unwrap();
        // SAFETY: valid C strings; the client is freed once, on drop.
        unsafe {
            let client = teamsop_client_new(token.as_ptr());
            assert!(!client.is_null());
            assert_eq!(
                teamsop_client_set_base_url(client, base.as_ptr()),
                teamsop_result::TEAMSOP_OK
            );
            assert_eq!(
                teamsop_client_set_poll_interval_ms(client, 50),
                teamsop_result::TEAMSOP_OK
            );
            CClient(client)
        }
    }
}

impl Drop for CClient {
    fn drop(&mut self) {
        // SAFETY: made by teamsop_client_new, freed only here.
        unsafe { teamsop_client_free(self.0) };
    }
}

/// An operation handed out by the library, freed on drop.
struct COp(*mut teamsop_operation);

impl COp {
    fn null() -> COp {
        COp(ptr::null_mut())
    }

    fn values(&self) -> Option<String> {
        // SAFETY: NULL or a live operation; the string lives as long as it.
        unsafe { text(teamsop_operation_values(self.0)) }
    }

    fn status(&self) -> teamsop_status {
        // SAFETY: NULL or a live operation.
        unsafe { teamsop_operation_status(self.0) }
    }

    fn is_terminal(&self) -> bool {
        // SAFETY: NULL or a live operation.
        unsafe { teamsop_operation_is_terminal(self.0) }
    }

    fn id(&self) -> Option<String> {
        // SAFETY: NULL or a live operation; the string lives as long as it.
        unsafe { text(teamsop_operation_id(self.0)) }
    }
}

impl Drop for COp {
    fn drop(&mut self) {
        // SAFETY: NULL or an operation from the library, freed only here.
        unsafe { teamsop_free(self.0) };
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn text(p: *const std::ffi::c_char) -> Option<String> {
    // SAFETY: per the contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned())
}

fn last_message() -> String {
    // SAFETY: never NULL; valid until the next failing call on this thread.
    unsafe { text(teamsop_last_error_message()) }.unwrap()
}

fn get_location(client: &CClient, location: &str) -> (teamsop_result, COp) {
    let location = CString::new(location).unwrap();
    let mut op = COp::null();
    // SAFETY: a live client, a C string and a place for the operation.
    let result = unsafe { teamsop_get_location(client.0, location.as_ptr(), &mut op.0) };
    (result, op)
}

fn wait(
    client: &CClient,
    location: &str,
    timeout_ms: u32,
    on_poll: teamsop_poll_fn,
    user_data: *mut c_void,
) -> (teamsop_result, COp) {
    let location = CString::new(location).unwrap();
    let mut op = COp::null();
    // SAFETY: a live client, a C string, a callback taking `user_data` as given,
    // and a place for the operation.
    let result = unsafe {
        teamsop_wait(
            client.0,
            location.as_ptr(),
            timeout_ms,
            on_poll,
            user_data,
            &mut op.0,
        )
    };
    (result, op)
}

fn parse(body: &str) -> (teamsop_result, COp) {
    let mut op = COp::null();
    // SAFETY: `body` is readable for its length; a place for the operation.
    let result = unsafe { teamsop_parse(body.as_ptr().cast(), body.len(), &mut op.0) };
    (result, op)
}

/// Counts the calls of the wait callback (`user_data` is a `u32`).
unsafe extern "C" fn count_polls(
    _current: *const teamsop_operation,
    user_data: *mut c_void,
) -> bool {
    // SAFETY: the tests pass a `&mut u32` that outlives the wait.
    unsafe { *user_data.cast::<u32>() += 1 };
    true
}

/// Serves `bodies` in turn at `path`, the last one for every later GET.
fn serve(emu: &Emulator, path: &str, bodies: &[serde_json::Value]) {
    let responses: Vec<_> = bodies
        .iter()
        .map(|body| json!({"status": 200, "json": body}))
        .collect();
    script(
        emu,
        json!({"path": path, "method": "GET", "responses": responses, "after": "repeat_last"}),
    );
}

#[test]
fn a_wait_ends_at_invalid_with_ok() {
    let emu = emulator();
    let path = "/beta/teams/t-inv/operations/o-inv";
    serve(
        &emu,
        path,
        &[
            json!({"id": "o-inv", "status": "notStarted"}),
            json!({"id": "o-inv", "status": "inProgress"}),
            json!({"id": "o-inv", "status": "invalid"}),
        ],
    );
    let client = CClient::new(&emu);
    let mut polls = 0u32;
    let start = Instant::now();
    let (result, op) = wait(
        &client,
        "/teams('t-inv')/operations('o-inv')",
        20_000,
        Some(count_polls),
        (&mut polls as *mut u32).cast(),
    );
    let elapsed = start.elapsed();
    assert_eq!(result, teamsop_result::TEAMSOP_OK, "{}", last_message());
    assert!(
        elapsed < Duration::from_secs(5),
        "the wait went on past invalid: {elapsed:?} of a 20 s deadline"
    );
    assert_eq!(op.status(), teamsop_status::TEAMSOP_STATUS_INVALID);
    assert!(op.is_terminal());
    assert_eq!(polls, 3, "the terminal operation is given to on_poll too");
    assert_eq!(requests_to(&emu, path).len(), 3, "no poll after invalid");
}

#[test]
fn a_wait_goes_on_through_unknown_future_value_and_unrecognized_statuses() {
    let emu = emulator();
    let path = "/beta/teams/t-fut/operations/o-fut";
    serve(
        &emu,
        path,
        &[
            json!({"status": "unknownFutureValue"}),
            json!({"status": "paused"}),
            json!({"status": "succeeded"}),
        ],
    );
    let client = CClient::new(&emu);
    let (result, op) = wait(
        &client,
        "/teams/t-fut/operations/o-fut",
        20_000,
        None,
        ptr::null_mut(),
    );
    assert_eq!(result, teamsop_result::TEAMSOP_OK, "{}", last_message());
    assert_eq!(op.status(), teamsop_status::TEAMSOP_STATUS_SUCCEEDED);
    assert_eq!(requests_to(&emu, path).len(), 3);

    // Read one at a time, neither is terminal.
    for status in ["unknownFutureValue", "paused"] {
        let (result, op) = parse(&format!(r#"{{"status":"{status}"}}"#));
        assert_eq!(result, teamsop_result::TEAMSOP_OK);
        assert!(!op.is_terminal(), "{status}");
    }
    let (_, op) = parse(r#"{"status":"invalid"}"#);
    assert!(op.is_terminal());
}

#[test]
fn capital_value_through_get_location_and_parse() {
    let emu = emulator();
    let progress = r#"{"teamId":"t-val","displayName":"Clone"}"#;
    serve(
        &emu,
        "/beta/teams/t-val/operations/o-val",
        &[json!({
            "id": "o-val",
            "operationType": "cloneTeam",
            "status": "inProgress",
            "Value": progress,
        })],
    );
    let client = CClient::new(&emu);
    let (result, op) = get_location(&client, "/teams('t-val')/operations('o-val')");
    assert_eq!(result, teamsop_result::TEAMSOP_OK, "{}", last_message());
    assert_eq!(op.values().as_deref(), Some(progress));

    let (result, op) = parse(r#"{"id":"x","Value":"[1,2]"}"#);
    assert_eq!(result, teamsop_result::TEAMSOP_OK);
    assert_eq!(op.values().as_deref(), Some("[1,2]"));

    // Both: `values` wins, in either order.
    for body in [
        r#"{"values":"lower","Value":"upper"}"#,
        r#"{"Value":"upper","values":"lower"}"#,
    ] {
        let (result, op) = parse(body);
        assert_eq!(result, teamsop_result::TEAMSOP_OK);
        assert_eq!(op.values().as_deref(), Some("lower"), "{body}");
    }
    // Neither (other spellings are unknown fields, kept in the raw body only).
    let (result, op) = parse(r#"{"id":"x","value":"v","VALUES":"w"}"#);
    assert_eq!(result, teamsop_result::TEAMSOP_OK);
    assert_eq!(op.values(), None);
    assert_eq!(op.id().as_deref(), Some("x"));

    // `Value` is a known field: a wrong type is a parse error, as for any other.
    for body in [r#"{"Value":{"teamId":"t"}}"#, r#"{"values":"v","Value":7}"#] {
        let (result, op) = parse(body);
        assert_eq!(result, teamsop_result::TEAMSOP_ERR_PARSE, "{body}");
        assert!(op.0.is_null());
    }
}

#[test]
fn groups_location_gets_the_team_operation() {
    let emu = emulator();
    let path = "/beta/teams/g-1/operations/o-grp";
    serve(
        &emu,
        path,
        &[
            json!({"id": "o-grp", "status": "inProgress"}),
            json!({"id": "o-grp", "status": "succeeded"}),
        ],
    );
    let client = CClient::new(&emu);

    let (result, op) = get_location(&client, "/groups('g-1')/team/operations('o-grp')");
    assert_eq!(result, teamsop_result::TEAMSOP_OK, "{}", last_message());
    assert_eq!(op.id().as_deref(), Some("o-grp"));
    assert_eq!(requests_to(&emu, path).len(), 1);

    let absolute = format!("{}/beta/groups(g-1)/team/operations(o-grp)", emu.base_url());
    for location in ["/groups/g-1/team/operations/o-grp", absolute.as_str()] {
        emu.clear_requests();
        let (result, op) = wait(&client, location, 20_000, None, ptr::null_mut());
        assert_eq!(
            result,
            teamsop_result::TEAMSOP_OK,
            "{location}: {}",
            last_message()
        );
        assert_eq!(op.status(), teamsop_status::TEAMSOP_STATUS_SUCCEEDED);
        let requests = emu.requests();
        assert!(!requests.is_empty());
        for r in &requests {
            assert_eq!(r.path, path, "{location}");
        }
    }

    // The typo of one docs page stays refused, and nothing is sent.
    emu.clear_requests();
    let (result, op) = get_location(&client, "/teams{g-1}/operations('o-grp')");
    assert_eq!(result, teamsop_result::TEAMSOP_ERR_INVALID_ARGUMENT);
    assert!(op.0.is_null());
    assert!(emu.requests().is_empty());
}
