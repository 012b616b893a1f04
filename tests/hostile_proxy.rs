//! Proxies, chosen by the library as curl chooses them, with one rule first:
//! the token travels only inside TLS or directly to a loopback host, so an
//! `http://` loopback base is never proxied, whatever the environment says.
//! `NO_PROXY=*` bypasses every proxy, IP literals included, and a proxy that cannot
//! be reached or refuses is named in the message (not the Graph host behind it).
//!
//! Its own test binary: the environment is process-wide. Every test holds
//! `ENV` while it sets variables and creates its clients (a client reads the
//! environment when it is created).

mod common;
mod hostile_support;

use std::sync::Mutex;

use common::*;
use hostile_support::*;
use teamsop::ffi::teamsop_result::*;
use teamsop_emulator::{Config, Emulator};

static ENV: Mutex<()> = Mutex::new(());

const VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Runs `f` with exactly `vars` set among the proxy variables, holding `ENV`.
fn with_env<T>(vars: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
    let _guard = ENV.lock().unwrap_or_else(|e| e.into_inner());
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let out = f();
    for v in VARS {
        std::env::remove_var(v);
    }
    out
}

/// An emulator serving HTTPS, and its CA written to a file.
struct TlsEmulator {
    emu: Emulator,
    ca_file: std::path::PathBuf,
}

impl TlsEmulator {
    fn start() -> TlsEmulator {
        let emu = Emulator::start(Config::default().tls(true).worker_threads(1)).unwrap();
        let ca_file = std::env::temp_dir().join(format!(
            "teamsop-hostile-proxy-{}-{}.pem",
            std::process::id(),
            emu.addr().port()
        ));
        std::fs::write(&ca_file, emu.ca_pem().unwrap()).unwrap();
        TlsEmulator { emu, ca_file }
    }

    fn client(&self) -> CClient {
        let c = CClient::new(TOKEN, &format!("{}/beta", self.emu.base_url()), 10_000);
        c.set_ca_file(&self.ca_file);
        c.set_max_retries(0);
        c
    }

    fn host_port(&self) -> String {
        self.emu.addr().to_string()
    }
}

impl Drop for TlsEmulator {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

fn seed_location() -> String {
    format!("/chats('{SEED_CHAT_ID}')/operations('{SEED_OPERATION_ID}')")
}

/// A GET and a wait of the seed operation: both `TEAMSOP_OK`.
fn both_ok(c: &CClient, what: &str) {
    let out = c.get(SEED_CHAT_ID, SEED_OPERATION_ID);
    assert_eq!(out.result, TEAMSOP_OK, "{what}: {out:?}");
    assert_eq!(out.op_id.as_deref(), Some(SEED_OPERATION_ID), "{what}");
    let out = c.wait(&seed_location(), 10_000);
    assert_eq!(out.result, TEAMSOP_OK, "{what}: {out:?}");
    assert_eq!(out.op_id.as_deref(), Some(SEED_OPERATION_ID), "{what}");
}

#[test]
fn a_loopback_http_base_is_never_proxied() {
    let emu = emulator();
    let proxy = ForwardProxy::start(ConnectMode::Tunnel);
    let p = proxy.url();
    let every: Vec<(&str, &str)> = VARS[..6].iter().map(|v| (*v, p.as_str())).collect();
    let bases = [
        format!("{}/beta", emu.base_url()),
        format!("http://localhost:{}/beta", emu.addr().port()),
    ];
    for vars in [
        every.clone(),
        vec![("HTTP_PROXY", p.as_str())],
        vec![("http_proxy", p.as_str())],
        vec![("ALL_PROXY", p.as_str())],
        vec![("all_proxy", p.as_str())],
        // Even when NO_PROXY names other hosts only.
        vec![("http_proxy", p.as_str()), ("NO_PROXY", "example.com")],
    ] {
        for base in &bases {
            // The environment stays set while the calls run, too.
            with_env(&vars, || {
                let c = CClient::new(TOKEN, base, 10_000);
                both_ok(&c, &format!("{vars:?} {base}"));
                // The Rust API too.
                let rust = teamsop::Client::with_token(TOKEN).unwrap();
                rust.set_base_url(base).unwrap();
                rust.get_chat_operation(SEED_CHAT_ID, SEED_OPERATION_ID)
                    .unwrap();
            });
        }
    }
    assert!(
        proxy.seen().is_empty(),
        "the proxy received {:?}",
        proxy.seen()
    );
    let bearer = format!("Bearer {TOKEN}");
    let requests = emu.requests();
    assert_eq!(requests.len(), 6 * 2 * 3);
    for r in requests {
        assert_eq!(r.headers.get("authorization"), Some(&bearer));
    }
}

#[test]
fn https_goes_through_the_tunnel_unless_no_proxy_says_otherwise() {
    let tls = TlsEmulator::start();
    let proxy = ForwardProxy::start(ConnectMode::Tunnel);
    let p = proxy.url();
    let port = tls.emu.addr().port();
    let connects = || {
        proxy
            .seen()
            .iter()
            .filter(|r| r.line.starts_with("CONNECT "))
            .count()
    };

    // Through the proxy: a CONNECT to the emulator, and TLS inside it.
    let c = with_env(&[("HTTPS_PROXY", &p)], || tls.client());
    both_ok(&c, "HTTPS_PROXY");
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    for r in &seen {
        assert_eq!(
            r.line,
            format!("CONNECT 127.0.0.1:{port} HTTP/1.1"),
            "{r:?}"
        );
        assert!(r.header_values("authorization").is_empty(), "{r:?}");
        assert!(!format!("{r:?}").contains(TOKEN));
    }
    let through = connects();

    // NO_PROXY lists that take 127.0.0.1:PORT out, and some that do not.
    let own_port = format!("127.0.0.1:{port}");
    let other_port = format!("127.0.0.1:{}", port.wrapping_add(1).max(1));
    for (list, direct) in [
        ("*", true),
        (" * ", true),
        ("example.com,*", true),
        ("127.0.0.1", true),
        ("127.0.0.0/8", true),
        ("0.0.0.0/0", true),
        (own_port.as_str(), true),
        ("example.com, 127.0.0.1", true),
        ("example.com 127.0.0.1", true),
        ("localhost", false),
        ("10.0.0.0/8", false),
        ("127.0.0.2", false),
        (other_port.as_str(), false),
        (".0.0.1", false),
    ] {
        for var in ["NO_PROXY", "no_proxy"] {
            let before = connects();
            let c = with_env(&[("https_proxy", &p), (var, list)], || tls.client());
            both_ok(&c, &format!("{var}={list}"));
            let proxied = connects() > before;
            assert_eq!(proxied, !direct, "{var}={list:?}");
        }
    }
    assert!(through > 0);
}

#[test]
fn a_proxy_that_refuses_or_cannot_be_reached_is_named() {
    let tls = TlsEmulator::start();
    let target = tls.host_port();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let refusing: Vec<ForwardProxy> = [407u16, 403, 502]
        .iter()
        .map(|&s| ForwardProxy::start(ConnectMode::Refuse(s)))
        .collect();
    let mut proxies: Vec<String> = refusing.iter().map(|p| p.host_port()).collect();
    proxies.push(closed);
    for proxy in &proxies {
        for var in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
            let url = format!("http://{proxy}");
            let c = with_env(&[(var, &url)], || tls.client());
            for out in [
                c.get(SEED_CHAT_ID, SEED_OPERATION_ID),
                c.wait(&seed_location(), 10_000),
            ] {
                assert_eq!(out.result, TEAMSOP_ERR_TRANSPORT, "{var}={url}: {out:?}");
                assert!(out.message.contains(proxy.as_str()), "{var}={url}: {out:?}");
                assert!(out.message.contains(var), "{var}={url}: {out:?}");
                assert!(!out.message.contains(&target), "{var}={url}: {out:?}");
                assert_eq!(out.http_status, 0);
            }
        }
    }
    assert!(tls.emu.requests().is_empty());
    for p in &refusing {
        assert!(!p.seen().is_empty(), "the refusing proxy was asked");
    }
}

#[test]
fn a_proxy_variable_that_names_no_usable_proxy_fails_the_call_and_sends_nothing() {
    let tls = TlsEmulator::start();
    for value in [
        "http://[::1",
        "socks5://127.0.0.1:1080",
        "socks5h://user:secret@127.0.0.1:1080",
        "ftp://127.0.0.1:21",
        "http://:3128",
        "http://user:secret@",
    ] {
        let c = with_env(&[("HTTPS_PROXY", value)], || tls.client());
        for out in [
            c.get(SEED_CHAT_ID, SEED_OPERATION_ID),
            c.wait(&seed_location(), 10_000),
        ] {
            assert_eq!(out.result, TEAMSOP_ERR_TRANSPORT, "{value}: {out:?}");
            assert!(out.message.contains("HTTPS_PROXY"), "{value}: {out:?}");
            assert!(!out.message.contains("secret"), "{value}: {out:?}");
        }
        // NO_PROXY still wins: direct, and it works.
        let c = with_env(&[("HTTPS_PROXY", value), ("NO_PROXY", "*")], || {
            tls.client()
        });
        both_ok(&c, value);
    }
    assert_eq!(tls.emu.requests().len(), 6 * 2);
    // Over plain HTTP to loopback no proxy applies, usable or not.
    let emu = emulator();
    let c = with_env(
        &[("http_proxy", "http://[::1"), ("ALL_PROXY", "socks5://x:1")],
        || CClient::new(TOKEN, &format!("{}/beta", emu.base_url()), 10_000),
    );
    both_ok(&c, "plain loopback");
}

#[test]
fn lower_case_variables_come_first_as_in_curl() {
    let tls = TlsEmulator::start();
    let used = ForwardProxy::start(ConnectMode::Tunnel);
    let unused = ForwardProxy::start(ConnectMode::Tunnel);
    let (u, n) = (used.url(), unused.url());
    let cases: [&[(&str, &str)]; 4] = [
        &[("https_proxy", &u), ("HTTPS_PROXY", &n)],
        &[("HTTPS_PROXY", &u), ("all_proxy", &n)],
        &[("all_proxy", &u), ("ALL_PROXY", &n)],
        &[
            ("https_proxy", &u),
            ("no_proxy", "example.com"),
            ("NO_PROXY", "*"),
        ],
    ];
    for vars in cases {
        let c = with_env(vars, || tls.client());
        both_ok(&c, &format!("{vars:?}"));
    }
    assert!(!used.seen().is_empty());
    assert!(unused.seen().is_empty(), "{:?}", unused.seen());
    // A client keeps the environment it was created in.
    let c = with_env(&[("https_proxy", &u)], || tls.client());
    let before = used.seen().len();
    with_env(&[("NO_PROXY", "*")], || both_ok(&c, "created with a proxy"));
    assert!(used.seen().len() > before);
}
