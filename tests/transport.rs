//! TLS with extra roots, safe redirects and connection reuse.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;
use teamsop::{Client, ErrorKind};
use teamsop_emulator::{Config, Emulator};

fn tls_emulator() -> Emulator {
    Emulator::start(Config::default().tls(true).worker_threads(1)).expect("TLS emulator")
}

fn ca_file(emu: &Emulator, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("ca.pem");
    std::fs::write(&path, emu.ca_pem().expect("a CA")).unwrap();
    path
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("teamsop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn https_with_the_ca_file() {
    let emu = tls_emulator();
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let dir = temp_dir("tls-ok");
    let c = client(&emu);
    c.set_ca_file(ca_file(&emu, &dir)).unwrap();
    let op = c
        .get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
    // The certificate also names localhost.
    c.set_base_url(&format!(
        "{}/beta",
        emu.base_url().replace("127.0.0.1", "localhost")
    ))
    .unwrap();
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn https_without_the_ca_file_is_not_trusted() {
    let emu = tls_emulator();
    let e = client(&emu)
        .get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Transport, "{e}");
    assert!(e.message().contains("not trusted"), "{e}");
    assert_eq!(emu.stats().requests, 0);
    assert_no_token(&e);
}

#[test]
fn bad_ca_files_are_refused_at_once() {
    let dir = temp_dir("tls-bad");
    let c = Client::new();
    let missing = dir.join("missing.pem");
    let e = c.set_ca_file(&missing).unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidArgument);
    assert!(e.message().contains("cannot read"), "{e}");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").unwrap();
    let e = c.set_ca_file(&empty).unwrap_err();
    assert!(e.message().contains("no certificate"), "{e}");
    let garbage = dir.join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert_eq!(
        kind(&c.set_ca_file(&garbage).unwrap_err()),
        ErrorKind::InvalidArgument
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn redirect_to_another_host_drops_the_token() {
    let graph = emulator();
    let other = emulator();
    let foreign = other.base_url().replace("127.0.0.1", "localhost");
    script(
        &graph,
        json!([{ "path": "/beta/teams/t/operations/o",
        "responses": [{"status": 302, "headers": {"Location": format!("{foreign}/moved/o")}}] }]),
    );
    script(
        &other,
        json!([{ "path": "/moved/o", "responses": [{"status": 200, "operation": "seed"}] }]),
    );
    let op = client(&graph).get_team_operation("t", "o").unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
    let seen = other.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        !seen[0].headers.contains_key("authorization"),
        "{:?}",
        seen[0].headers
    );
    for header in seen[0].headers.values() {
        assert!(!header.contains(TOKEN));
    }
}

#[test]
fn redirect_to_another_port_drops_the_token() {
    let graph = emulator();
    let other = emulator();
    script(
        &graph,
        json!([{ "path": "/beta/teams/t/operations/o",
        "responses": [{"status": 307, "headers": {"Location": format!("{}/beta/teams/t/operations/o", other.base_url())}}] }]),
    );
    let e = client(&graph).get_team_operation("t", "o").unwrap_err();
    // The other emulator checks tokens too: without one it answers 401.
    assert!(
        matches!(kind(&e), ErrorKind::Http { status: 401, .. }),
        "{e}"
    );
    assert!(!other.requests()[0].headers.contains_key("authorization"));
}

#[test]
fn redirect_on_the_same_host_keeps_the_token() {
    let graph = emulator();
    script(
        &graph,
        json!([{ "path": "/beta/teams/t/operations/o",
        "responses": [{"status": 301, "headers": {"Location": format!("/beta/chats/{SEED_CHAT_ID}/operations/{SEED_OPERATION_ID}")}}] }]),
    );
    let op = client(&graph).get_team_operation("t", "o").unwrap();
    assert_eq!(op.json().as_bytes(), SEED_BODY);
    let reqs = graph.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].headers["authorization"], format!("Bearer {TOKEN}"));
}

#[test]
fn https_to_http_redirect_is_refused() {
    let graph = tls_emulator();
    let plain = emulator();
    script(
        &graph,
        json!([{ "path": "/beta/teams/t/operations/o",
        "responses": [{"status": 302, "headers": {"Location": format!("{}/beta/teams/t/operations/o", plain.base_url())}}] }]),
    );
    let dir = temp_dir("downgrade");
    let c = client(&graph);
    c.set_ca_file(ca_file(&graph, &dir)).unwrap();
    let e = c.get_team_operation("t", "o").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Transport);
    assert!(e.message().contains("https to plain http"), "{e}");
    assert_eq!(plain.stats().requests, 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn at_most_five_redirects() {
    let graph = emulator();
    let hops: Vec<serde_json::Value> = (0..7)
        .map(|i| json!({"path": format!("/hop/{i}"), "responses": [{"status": 302, "headers": {"Location": format!("/hop/{}", i + 1)}}]}))
        .chain([json!({"path": "/beta/teams/t/operations/o", "responses": [{"status": 302, "headers": {"Location": "/hop/0"}}]})])
        .collect();
    script(&graph, serde_json::Value::Array(hops));
    let e = client(&graph).get_team_operation("t", "o").unwrap_err();
    assert_eq!(kind(&e), ErrorKind::Transport);
    assert!(e.message().contains("more than 5 redirects"), "{e}");
    assert_eq!(graph.stats().requests, 6);
}

#[test]
fn consecutive_gets_reuse_one_connection() {
    let emu = emulator();
    let c = client(&emu);
    for _ in 0..20 {
        c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
            .unwrap();
    }
    let stats = emu.stats();
    assert_eq!(stats.requests, 20);
    assert_eq!(stats.connections, 1);
}

#[test]
fn threads_share_one_client_and_its_pool() {
    let emu = emulator();
    let c = Arc::new(client(&emu));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
                        .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let stats = emu.stats();
    assert_eq!(stats.requests, 200);
    assert!(stats.connections <= 4, "{stats:?}");
}

#[test]
fn setters_while_other_threads_fetch() {
    let emu = emulator();
    let c = Arc::new(client(&emu));
    let fetcher = {
        let c = Arc::clone(&c);
        std::thread::spawn(move || {
            for _ in 0..100 {
                c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
                    .unwrap();
            }
        })
    };
    for i in 0..100 {
        c.set_timeout(Duration::from_millis(5_000 + i)).unwrap();
        c.set_select(if i % 2 == 0 { None } else { Some("id,status") })
            .unwrap();
        c.set_max_retries((i % 4) as u32).unwrap();
    }
    fetcher.join().unwrap();
}

#[test]
fn clients_keep_their_own_token_and_root() {
    let a = emulator();
    let b = emulator();
    let ca = client(&a);
    let cb = Client::with_token("token-for-b").unwrap();
    cb.set_base_url(&format!("{}/beta", b.base_url())).unwrap();
    ca.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    let _ = cb.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID);
    assert_eq!(
        a.requests()[0].headers["authorization"],
        format!("Bearer {TOKEN}")
    );
    assert_eq!(
        b.requests()[0].headers["authorization"],
        "Bearer token-for-b"
    );
    assert_eq!(a.stats().requests, 1);
    assert_eq!(b.stats().requests, 1);
}

#[test]
fn clouds_set_their_beta_roots() {
    let c = Client::new();
    let roots = [
        (teamsop::Cloud::Global, "https://graph.microsoft.com/beta"),
        (teamsop::Cloud::UsGov, "https://graph.microsoft.us/beta"),
        (
            teamsop::Cloud::UsGovDod,
            "https://dod-graph.microsoft.us/beta",
        ),
        (
            teamsop::Cloud::China,
            "https://microsoftgraph.chinacloudapi.cn/beta",
        ),
    ];
    for (cloud, url) in roots {
        c.set_cloud(cloud);
        assert_eq!(c.base_url(), url);
    }
    // A Location on another cloud's host is refused: the token stays on its root.
    c.set_cloud(teamsop::Cloud::UsGov);
    let e = c
        .get_location("https://graph.microsoft.com/beta/teams('t')/operations('o')")
        .unwrap_err();
    assert_eq!(kind(&e), ErrorKind::InvalidArgument);
    let _ = Duration::ZERO;
}

#[test]
fn a_connection_the_server_closed_while_idle_is_not_reused() {
    let first = emulator();
    let port = first.addr().port();
    let c = client(&first);
    c.set_max_retries(0).unwrap();
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    // The server goes away, closing the kept-alive connection while the client
    // is idle; a new server takes the same port.
    drop(first);
    // Idle long enough that the library checks its connections before reuse.
    std::thread::sleep(Duration::from_millis(1100));
    let second = Emulator::start(Config::default().port(port).worker_threads(1)).unwrap();
    // No retry allowed: the pool must not hand out the dead connection.
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    assert_eq!(second.stats().requests, 1);
}

#[test]
fn a_connection_closed_between_quick_calls_costs_one_immediate_retry() {
    let first = emulator();
    let port = first.addr().port();
    let c = client(&first);
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    drop(first);
    let second = Emulator::start(Config::default().port(port).worker_threads(1)).unwrap();
    let start = std::time::Instant::now();
    c.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(second.stats().requests, 1);
}
