//! The `teamsop-emulator` binary: its one line, port file, flags, and stopping.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_teamsop-emulator");

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("teamsop-emu-bin-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Starts the binary and reads its listening line.
fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the emulator did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn addr_of(line: &str, scheme: &str) -> SocketAddr {
    let prefix = format!("teamsop-emulator listening on {scheme}://");
    assert!(line.starts_with(&prefix), "{line:?}");
    assert!(line.ends_with('\n'));
    line[prefix.len()..].trim_end().parse().unwrap()
}

#[test]
fn prints_its_line_writes_the_port_file_and_stops_on_request() {
    let dir = temp_dir("run");
    let port_file = dir.join("port");
    let scenarios = dir.join("scenarios.json");
    std::fs::write(
        &scenarios,
        r#"[{"path": "/beta/chats/c/operations/o", "responses": [{"status": 503, "headers": {"Retry-After": "2"}}]}]"#,
    )
    .unwrap();
    let (mut child, line) = spawn(&[
        "--port-file",
        port_file.to_str().unwrap(),
        "--scenarios",
        scenarios.to_str().unwrap(),
        "--token",
        "tok",
        "--progress-polls=0",
    ]);
    let addr = addr_of(&line, "http");
    assert_eq!(
        std::fs::read_to_string(&port_file).unwrap(),
        format!("{}\n", addr.port())
    );
    let mut c = Conn::open(addr);
    let r = c
        .request("GET", "/beta/chats/c/operations/o", &[], None)
        .unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after"), Some("2"));
    let r = c
        .request(
            "GET",
            &seed_path("beta"),
            &[("Authorization", "Bearer tok")],
            None,
        )
        .unwrap();
    assert_eq!(r.status, 200);
    // progress-polls 0: a created operation has succeeded at once.
    let r = c
        .request(
            "POST",
            "/beta/chats",
            &[("Authorization", "Bearer tok")],
            Some(b"{}"),
        )
        .unwrap();
    let loc = r.header("location").unwrap().to_owned();
    let id = loc.split('\'').nth(1).unwrap();
    let op = loc.split('\'').nth(3).unwrap();
    let r = c
        .request(
            "GET",
            &format!("/v1.0/chats/{id}/operations/{op}"),
            &[("Authorization", "Bearer tok")],
            None,
        )
        .unwrap();
    assert_eq!(r.json()["status"], "succeeded");
    let r = c.request("POST", "/_emulator/shutdown", &[], None).unwrap();
    assert_eq!(r.status, 204);
    assert!(wait_exit(&mut child).success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tls_writes_its_ca() {
    let dir = temp_dir("tls");
    let ca = dir.join("ca.pem");
    let (mut child, line) = spawn(&["--tls", "--ca-out", ca.to_str().unwrap(), "--no-record"]);
    addr_of(&line, "https");
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn stops_on_sigterm_and_sigint() {
    for sig in ["-TERM", "-INT"] {
        let (mut child, line) = spawn(&[]);
        // Signalled at once: the handlers are in place before the line.
        addr_of(&line, "http");
        let ok = Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
        assert!(wait_exit(&mut child).success(), "{sig}");
    }
}

#[test]
fn refuses_bad_flags() {
    for args in [
        &["--bind", "0.0.0.0"][..],
        &["--bind", "10.0.0.1"],
        &["--port", "x"],
        &["--ca-out", "/tmp/x.pem"],
        &["--what"],
        &["--scenarios", "/nonexistent/scenarios.json"],
        &["--rate-limit", "-3"],
        &["--rate-limit-scope", "all"],
        &["--rate-limit-retry-after", "later"],
        &["--batch-seed", "seed"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage:"), "{err}");
    }
    let dir = temp_dir("bad");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"path": "/x", "responses": [{"status": 42}]}"#).unwrap();
    let out = Command::new(BIN)
        .args(["--scenarios", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("status 42"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--bind",
        "--port",
        "--token",
        "--scenarios",
        "--port-file",
        "--progress-polls",
        "--tls",
        "--ca-out",
        "--no-record",
        "--workers",
        "--rate-limit",
        "--rate-limit-scope",
        "--rate-limit-retry-after",
        "--batch-seed",
    ] {
        assert!(text.contains(flag), "{flag}");
    }
}

#[test]
fn rate_limit_and_batch_seed_flags() {
    let (mut child, line) = spawn(&[
        "--rate-limit",
        "2",
        "--rate-limit-scope",
        "batch",
        "--rate-limit-retry-after=none",
        "--batch-seed",
        "5",
    ]);
    let addr = addr_of(&line, "http");
    let mut c = Conn::open(addr);
    let r = c
        .request("GET", "/_emulator/rate-limit", &[], None)
        .unwrap();
    assert_eq!(
        r.json(),
        serde_json::json!({"per_second": 2, "scope": "batch", "retry_after_s": null})
    );
    assert_eq!(c.get(&seed_path("beta")).status, 200);
    assert_eq!(c.get(&seed_path("beta")).status, 200);
    let r = c.get(&seed_path("beta"));
    assert_eq!((r.status, r.header("retry-after")), (429, None));
    let r = c.request("POST", "/_emulator/shutdown", &[], None).unwrap();
    assert_eq!(r.status, 204);
    assert!(wait_exit(&mut child).success());
}
