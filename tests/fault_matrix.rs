//! The fault matrix, through the C ABI: each fault the emulator can script, with
//! the exact result code, last HTTP status and a message that says what happened.
//! Run with `--nocapture` to print the matrix.

mod common;

use std::ffi::{CStr, CString};
use std::ptr;

use common::*;
use serde_json::{json, Value};
use teamsop::ffi::*;

struct Case {
    name: &'static str,
    response: Value,
    timeout_ms: u32,
    result: teamsop_result,
    http_status: i32,
    message: &'static str,
}

fn gen(count: u64, prefix: &str, repeat: &str, suffix: &str) -> Value {
    json!({"prefix": prefix, "repeat": repeat, "count": count, "suffix": suffix})
}

fn cases() -> Vec<Case> {
    use teamsop_result::*;
    let seed = |extra: Value| {
        let mut v = json!({"status": 200, "operation": "seed"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    vec![
        Case {
            name: "reset before the response",
            response: json!({"fault": "reset"}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_TRANSPORT,
            http_status: 0,
            message: "connection to",
        },
        Case {
            name: "reset during the body",
            response: seed(json!({"fault": "reset_mid_body"})),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_TRANSPORT,
            http_status: 200,
            message: "cut short",
        },
        Case {
            name: "close during the body",
            response: seed(json!({"fault": "close_mid_body"})),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_TRANSPORT,
            http_status: 200,
            message: "cut short",
        },
        Case {
            name: "Content-Length longer than the body",
            response: seed(json!({"content_length": 100_000})),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_TRANSPORT,
            http_status: 200,
            message: "cut short",
        },
        Case {
            name: "chunked body cut short",
            response: seed(json!({"chunked": true, "fault": "close_mid_body"})),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_TRANSPORT,
            http_status: 200,
            message: "cut short",
        },
        Case {
            name: "slow headers past the timeout",
            response: seed(json!({"delay_ms": 3000})),
            timeout_ms: 300,
            result: TEAMSOP_ERR_TIMEOUT,
            http_status: 0,
            message: "timed out",
        },
        Case {
            name: "slow body past the timeout",
            response: seed(json!({"chunk_size": 100, "chunk_delay_ms": 400})),
            timeout_ms: 500,
            result: TEAMSOP_ERR_TIMEOUT,
            http_status: 200,
            message: "timed out while reading the body",
        },
        Case {
            name: "1 byte/s trickle",
            response: seed(json!({"chunk_size": 1, "chunk_delay_ms": 1000})),
            timeout_ms: 1500,
            result: TEAMSOP_ERR_TIMEOUT,
            http_status: 200,
            message: "timed out while reading the body",
        },
        Case {
            name: "200 MiB body (Content-Length)",
            response: json!({"status": 200, "generate": gen(200 << 20, "{\"id\":\"", "a", "\"}")}),
            timeout_ms: 10_000,
            result: TEAMSOP_ERR_TOO_LARGE,
            http_status: 200,
            message: "larger than the limit of 1048576 bytes",
        },
        Case {
            name: "200 MiB body (chunked)",
            response: json!({"status": 200, "chunked": true, "generate": gen(200 << 20, "{\"id\":\"", "a", "\"}")}),
            timeout_ms: 10_000,
            result: TEAMSOP_ERR_TOO_LARGE,
            http_status: 200,
            message: "larger than the limit of 1048576 bytes",
        },
        Case {
            name: "10 MB string field",
            response: json!({"status": 200, "generate": gen(10_000_000, "{\"values\":\"", "x", "\"}")}),
            timeout_ms: 10_000,
            result: TEAMSOP_ERR_TOO_LARGE,
            http_status: 200,
            message: "larger than the limit",
        },
        Case {
            name: "malformed JSON",
            response: json!({"status": 200, "body": "{\"id\": \"x\", "}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "not a teamsAsyncOperation",
        },
        Case {
            name: "JSON that is not an object",
            response: json!({"status": 200, "body": "[{\"id\":\"x\"}]"}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "not a JSON object",
        },
        Case {
            name: "empty body",
            response: json!({"status": 200, "body": ""}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "empty",
        },
        Case {
            name: "100k nested brackets",
            response: json!({"status": 200, "generate": gen(100_000, "", "[", "")}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "not a JSON object",
        },
        Case {
            name: "100k nested brackets in a known field",
            response: json!({"status": 200, "body": format!("{{\"status\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000))}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "not a teamsAsyncOperation",
        },
        Case {
            name: "invalid UTF-8",
            response: json!({"status": 200, "body_base64": "eyJpZCI6ImH/In0="}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "not UTF-8",
        },
        Case {
            name: "wrong type for a known field",
            response: json!({"status": 200, "body": "{\"attemptsCount\":\"1\"}"}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "invalid type",
        },
        Case {
            name: "error that is not an object",
            response: json!({"status": 200, "body": "{\"error\":\"boom\"}"}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "invalid type",
        },
        Case {
            name: "duplicate keys",
            response: json!({"status": 200, "body": "{\"status\":\"failed\",\"status\":\"succeeded\"}"}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "duplicate field",
        },
        Case {
            name: "U+0000 in a string field",
            response: json!({"status": 200, "body": "{\"id\":\"a\\u0000b\"}"}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "U+0000",
        },
        Case {
            name: "2xx with text/html",
            response: json!({"status": 200, "body": "<html><body>Sign in</body></html>", "content_type": "text/html; charset=utf-8"}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 200,
            message: "text/html",
        },
        Case {
            name: "204 No Content",
            response: json!({"status": 204}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_PARSE,
            http_status: 204,
            message: "empty",
        },
        Case {
            name: "gzip'd body (gzip offered)",
            response: seed(json!({"gzip": true})),
            timeout_ms: 5000,
            result: TEAMSOP_OK,
            http_status: 0,
            message: "",
        },
        Case {
            name: "gzip bomb (50 MB decoded)",
            response: json!({"status": 200, "gzip": true, "generate": gen(50_000_000, "{\"id\":\"", "a", "\"}")}),
            timeout_ms: 10_000,
            result: TEAMSOP_ERR_TOO_LARGE,
            http_status: 200,
            message: "larger than the limit",
        },
    ]
}

fn last_message() -> String {
    // SAFETY: teamsop_last_error_message never returns NULL and the text lives
    // until the next failing call on this thread.
    unsafe { CStr::from_ptr(teamsop_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_fault_has_a_precise_result_and_a_clear_message() {
    let emu = emulator();
    let all = cases();
    let scenarios: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"path": format!("/beta/teams/fault-{i}/operations/o"), "responses": [c.response]}))
        .collect();
    script(&emu, Value::Array(scenarios));

    let token = CString::new(TOKEN).unwrap();
    let base = CString::new(format!("{}/beta", emu.base_url())).unwrap();
    // SAFETY: valid NUL-terminated strings; the client is freed at the end.
    let client = unsafe { teamsop_client_new(token.as_ptr()) };
    assert!(!client.is_null());
    // SAFETY: a live client and valid strings.
    unsafe {
        assert_eq!(
            teamsop_client_set_base_url(client, base.as_ptr()),
            teamsop_result::TEAMSOP_OK
        );
        assert_eq!(
            teamsop_client_set_max_retries(client, 0),
            teamsop_result::TEAMSOP_OK
        );
    }

    println!("| fault | result | last HTTP status | teamsop_last_error_message |");
    println!("|---|---|---|---|");
    let mut failures = Vec::new();
    for (i, case) in all.iter().enumerate() {
        let team = CString::new(format!("fault-{i}")).unwrap();
        let op_id = CString::new("o").unwrap();
        let mut op: *mut teamsop_operation = ptr::null_mut();
        // SAFETY: a live client, valid strings and out-pointer.
        let result = unsafe {
            teamsop_client_set_timeout_ms(client, case.timeout_ms);
            teamsop_get_team_operation(client, team.as_ptr(), op_id.as_ptr(), &mut op)
        };
        let (status, message) = if result == teamsop_result::TEAMSOP_OK {
            (0, String::new())
        } else {
            (teamsop_last_http_status(), last_message())
        };
        println!(
            "| {} | {:?} | {} | {} |",
            case.name, result, status, message
        );
        if result != case.result
            || status != case.http_status
            || !message.contains(case.message)
            || message.contains(TOKEN)
            || (result != teamsop_result::TEAMSOP_OK) != op.is_null()
        {
            failures.push(format!(
                "{}: got {result:?} {status} {message:?}; want {:?} {} containing {:?}",
                case.name, case.result, case.http_status, case.message
            ));
        }
        // SAFETY: NULL or an operation from teamsop_get_team_operation.
        unsafe { teamsop_free(op) };
    }
    // SAFETY: the client from teamsop_client_new, freed once.
    unsafe { teamsop_client_free(client) };
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn connection_refused_through_the_c_abi() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = CString::new(TOKEN).unwrap();
    let base = CString::new(format!("http://127.0.0.1:{port}/beta")).unwrap();
    let team = CString::new("t").unwrap();
    let mut op: *mut teamsop_operation = ptr::null_mut();
    // SAFETY: valid strings, a live client, freed at the end.
    unsafe {
        let client = teamsop_client_new(token.as_ptr());
        teamsop_client_set_base_url(client, base.as_ptr());
        let r = teamsop_get_team_operation(client, team.as_ptr(), team.as_ptr(), &mut op);
        assert_eq!(r, teamsop_result::TEAMSOP_ERR_TRANSPORT);
        assert!(op.is_null());
        assert_eq!(teamsop_last_http_status(), 0);
        assert!(
            last_message().contains("could not connect"),
            "{}",
            last_message()
        );
        assert!(!teamsop_last_client_request_id().is_null());
        teamsop_client_free(client);
    }
}
