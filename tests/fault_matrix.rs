//! The fault matrix, through the C ABI: each fault the emulator can script, with
//! the exact result code, last HTTP status and a message that says what happened.
//! Then hostile numbers (Retry-After, Content-Length) with retries and caps, and
//! what only exact bytes can do (lying, repeated or signed lengths, folded or
//! oversized headers) from a raw server. Run with `--nocapture` to print them.
//! Proxy variables are process-wide: their cases are in tests/hostile_proxy.rs.

mod common;
mod hostile_support;

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
            name: "redirect to a URL with user information",
            response: json!({"status": 302, "headers": {"Location": "http://user:pass@127.0.0.1:1/beta/x"}}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_TRANSPORT,
            http_status: 302,
            message: "user information",
        },
        Case {
            name: "Content-Length 1 TiB, 600 bytes sent",
            response: json!({"status": 200, "content_length": 1u64 << 40, "body": "x".repeat(600)}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_TOO_LARGE,
            http_status: 200,
            message: "larger than the limit of 1048576 bytes",
        },
        Case {
            name: "Content-Length 2^64-1",
            response: json!({"status": 200, "content_length": u64::MAX, "body": "{}"}),
            timeout_ms: 5000,
            result: TEAMSOP_ERR_TOO_LARGE,
            http_status: 0,
            message: "is too large to read (over 100 headers",
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
        // Nothing was sent: no client-request-id (API.md: "the one that was sent").
        assert!(teamsop_last_client_request_id().is_null());
        teamsop_client_free(client);
    }
}

/// A fault that needs retries, a cap or a wait to show.
struct Hostile {
    name: &'static str,
    responses: Value,
    max_retries: u32,
    max_body_bytes: usize,
    /// Through `teamsop_wait` (with this timeout) instead of a single GET.
    wait_ms: Option<u32>,
    result: teamsop_result,
    http_status: i32,
    message: &'static str,
    /// The call must end within this (a pause past the deadline ends it at once).
    at_most_ms: u64,
}

fn hostile_cases() -> Vec<Hostile> {
    use teamsop_result::*;
    let throttled = |after: &str| {
        json!([{"status": 429, "headers": {"Retry-After": after},
                "json": {"error": {"code": "TooManyRequests", "message": "slow down"}}}])
    };
    let mut cases = Vec::new();
    for after in [
        "9223372036854775807",
        "18446744073709551616",
        "99999999999999999999999",
        "999999999999999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        for wait_ms in [None, Some(10_000)] {
            cases.push(Hostile {
                name: "429, Retry-After past any deadline",
                responses: throttled(after),
                max_retries: 3,
                max_body_bytes: 1 << 20,
                wait_ms,
                result: TEAMSOP_ERR_THROTTLED,
                http_status: 429,
                message: "HTTP 429",
                at_most_ms: 2000,
            });
        }
    }
    for after in ["-1", "1.5", "+5", "soon"] {
        cases.push(Hostile {
            name: "429, Retry-After that is no number (backoff instead)",
            responses: throttled(after),
            max_retries: 1,
            max_body_bytes: 1 << 20,
            wait_ms: None,
            result: TEAMSOP_ERR_THROTTLED,
            http_status: 429,
            message: "HTTP 429",
            at_most_ms: 3000,
        });
    }
    cases.push(Hostile {
        name: "503, Retry-After 2^63-1",
        responses: json!([{"status": 503, "headers": {"Retry-After": "9223372036854775807"}}]),
        max_retries: 3,
        max_body_bytes: 1 << 20,
        wait_ms: None,
        result: TEAMSOP_ERR_HTTP,
        http_status: 503,
        message: "HTTP 503",
        at_most_ms: 2000,
    });
    cases.push(Hostile {
        name: "200 inProgress in a wait, Retry-After 2^63-1",
        responses: json!([{"status": 200, "headers": {"Retry-After": "9223372036854775807"},
                           "json": {"id": "o", "status": "inProgress"}}]),
        max_retries: 3,
        max_body_bytes: 1 << 20,
        wait_ms: Some(10_000),
        result: TEAMSOP_ERR_TIMEOUT,
        http_status: 200,
        message: "last status: inProgress",
        at_most_ms: 2000,
    });
    for (declared, cap) in [
        (1u64 << 40, usize::MAX),
        (1 << 40, 1 << 40),
        (1 << 63, usize::MAX),
        (u64::MAX - 2, usize::MAX),
    ] {
        for wait_ms in [None, Some(10_000)] {
            cases.push(Hostile {
                name: "huge Content-Length, 600 bytes sent, huge cap",
                responses: json!([{"status": 200, "content_length": declared, "body": "x".repeat(600)}]),
                max_retries: 0,
                max_body_bytes: cap,
                wait_ms,
                result: TEAMSOP_ERR_TRANSPORT,
                http_status: 200,
                message: "cut short after 600 bytes",
                at_most_ms: 5000,
            });
        }
    }
    cases.push(Hostile {
        name: "Content-Length 2^63 above a 1 TiB cap",
        responses: json!([{"status": 200, "content_length": 1u64 << 63, "body": "x".repeat(600)}]),
        max_retries: 0,
        max_body_bytes: 1 << 40,
        wait_ms: None,
        result: TEAMSOP_ERR_TOO_LARGE,
        http_status: 200,
        message: "larger than the limit of 1099511627776 bytes",
        at_most_ms: 2000,
    });
    cases
}

#[test]
fn hostile_numbers_with_retries_and_caps() {
    let emu = emulator();
    let all = hostile_cases();
    let scenarios: Vec<Value> = all
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"path": format!("/beta/teams/hostile-{i}/operations/o"), "responses": c.responses}))
        .collect();
    script(&emu, Value::Array(scenarios));
    let base = format!("{}/beta", emu.base_url());
    println!(
        "| hostile number | call | result | last HTTP status | ms | teamsop_last_error_message |"
    );
    println!("|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for (i, case) in all.iter().enumerate() {
        let c = hostile_support::CClient::new(TOKEN, &base, 10_000);
        c.set_max_retries(case.max_retries);
        c.set_max_body_bytes(case.max_body_bytes);
        let team = format!("hostile-{i}");
        let start = std::time::Instant::now();
        let out = match case.wait_ms {
            None => c.get_team(&team, "o"),
            Some(ms) => c.wait(&hostile_support::team_location(&team, "o"), ms),
        };
        let ms = start.elapsed().as_millis();
        let call = if case.wait_ms.is_some() {
            "wait"
        } else {
            "get"
        };
        println!(
            "| {} | {call} | {:?} | {} | {ms} | {} |",
            case.name, out.result, out.http_status, out.message
        );
        if out.result != case.result
            || out.http_status != case.http_status
            || !out.message.contains(case.message)
            || ms > u128::from(case.at_most_ms)
        {
            failures.push(format!(
                "{} ({call}): got {:?} {} {:?} in {ms} ms; want {:?} {} containing {:?} within {} ms",
                case.name, out.result, out.http_status, out.message, case.result,
                case.http_status, case.message, case.at_most_ms
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// What a raw server says for `op`: exact bytes, then a close.
fn raw_answer(op: &str) -> hostile_support::RawReply {
    use hostile_support::RawReply;
    let body = r#"{"id":"raw","status":"succeeded"}"#;
    let len = body.len();
    let with = |headers: &[&str]| {
        let mut all = vec!["Connection: close"];
        all.extend_from_slice(headers);
        RawReply::new("200 OK", &all, body.as_bytes()).closing()
    };
    match op {
        "ok" => with(&[&format!("Content-Length: {len}")]),
        "cl-repeated-same" => with(&[
            &format!("Content-Length: {len}"),
            &format!("Content-Length: {len}"),
        ]),
        "cl-list-same" => with(&[&format!("Content-Length: {len}, {len}")]),
        "cl-repeated-differ" => with(&[
            &format!("Content-Length: {len}"),
            &format!("Content-Length: {}", len + 1),
        ]),
        "cl-plus" => with(&[&format!("Content-Length: +{len}")]),
        "cl-minus" => with(&["Content-Length: -1"]),
        "cl-hex" => with(&["Content-Length: 0x21"]),
        "cl-overflow" => with(&["Content-Length: 18446744073709551616"]),
        "cl-30-digits" => with(&["Content-Length: 999999999999999999999999999999"]),
        "cl-and-chunked" => RawReply::new(
            "200 OK",
            &[
                "Connection: close",
                "Content-Length: 5",
                "Transfer-Encoding: chunked",
            ],
            format!("{len:x}\r\n{body}\r\n0\r\n\r\n").as_bytes(),
        )
        .closing(),
        "chunk-size-overflow" => RawReply::new(
            "200 OK",
            &["Connection: close", "Transfer-Encoding: chunked"],
            b"ffffffffffffffffff\r\nx",
        )
        .closing(),
        "folded" => with(&["X-Folded: a\r\n b", &format!("Content-Length: {len}")]),
        "no-colon" => with(&["Broken header line", &format!("Content-Length: {len}")]),
        "101-headers" => {
            let mut headers: Vec<String> = (0..101).map(|i| format!("X-H{i}: v")).collect();
            headers.push(format!("Content-Length: {len}"));
            let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
            with(&refs)
        }
        "1-mib-header" => {
            let big = format!("X-Big: {}", "b".repeat(1 << 20));
            with(&[&big, &format!("Content-Length: {len}")])
        }
        "64-kib-header" => {
            let big = format!("X-Big: {}", "b".repeat(64 << 10));
            with(&[&big, &format!("Content-Length: {len}")])
        }
        "status-999" => {
            RawReply::new("999 Odd", &["Connection: close", "Content-Length: 0"], b"").closing()
        }
        "status-1000" => {
            RawReply::new("1000 Odd", &["Connection: close", "Content-Length: 0"], b"").closing()
        }
        _ => RawReply::new(
            "500 Internal Server Error",
            &["Connection: close", "Content-Length: 0"],
            b"",
        )
        .closing(),
    }
}

#[test]
fn header_faults_from_a_raw_server() {
    use teamsop_result::*;
    let server = hostile_support::RawServer::start(|req| {
        let op = req.target().rsplit('/').next().unwrap_or("").to_owned();
        raw_answer(&op)
    });
    let c = hostile_support::CClient::new(TOKEN, &format!("{}/beta", server.url()), 5000);
    c.set_max_retries(0);
    let cases: &[(&str, teamsop_result, i32, &str)] = &[
        ("ok", TEAMSOP_OK, 0, ""),
        ("cl-repeated-same", TEAMSOP_OK, 0, ""),
        ("cl-list-same", TEAMSOP_OK, 0, ""),
        ("cl-repeated-differ", TEAMSOP_ERR_TRANSPORT, 0, "127.0.0.1"),
        ("cl-plus", TEAMSOP_ERR_TRANSPORT, 0, "127.0.0.1"),
        ("cl-minus", TEAMSOP_ERR_TRANSPORT, 0, "127.0.0.1"),
        ("cl-hex", TEAMSOP_ERR_TRANSPORT, 0, "127.0.0.1"),
        ("cl-overflow", TEAMSOP_ERR_TRANSPORT, 0, "127.0.0.1"),
        ("cl-30-digits", TEAMSOP_ERR_TRANSPORT, 0, "127.0.0.1"),
        // Transfer-Encoding overrides Content-Length (RFC 9112, 6.3).
        ("cl-and-chunked", TEAMSOP_OK, 0, ""),
        (
            "chunk-size-overflow",
            TEAMSOP_ERR_TRANSPORT,
            200,
            "cut short",
        ),
        ("folded", TEAMSOP_OK, 0, ""),
        ("no-colon", TEAMSOP_ERR_TRANSPORT, 0, "127.0.0.1"),
        (
            "101-headers",
            TEAMSOP_ERR_TOO_LARGE,
            0,
            "is too large to read",
        ),
        (
            "1-mib-header",
            TEAMSOP_ERR_TOO_LARGE,
            0,
            "is too large to read",
        ),
        ("64-kib-header", TEAMSOP_OK, 0, ""),
        ("status-999", TEAMSOP_ERR_HTTP, 999, "HTTP 999"),
        ("status-1000", TEAMSOP_ERR_TRANSPORT, 0, "127.0.0.1"),
    ];
    println!("| raw answer | call | result | last HTTP status | teamsop_last_error_message |");
    println!("|---|---|---|---|---|");
    let mut failures = Vec::new();
    for &(op, result, status, message) in cases {
        for (call, out) in [
            ("get", c.get_team("raw", op)),
            (
                "wait",
                c.wait(&hostile_support::team_location("raw", op), 5000),
            ),
        ] {
            println!(
                "| {op} | {call} | {:?} | {} | {} |",
                out.result, out.http_status, out.message
            );
            if out.result != result
                || out.http_status != status
                || !out.message.contains(message)
                || (result == TEAMSOP_OK && out.op_id.as_deref() != Some("raw"))
            {
                failures.push(format!(
                    "{op} ({call}): got {:?} {} {:?}; want {result:?} {status} containing {message:?}",
                    out.result, out.http_status, out.message
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
