//! The Graph routes over real loopback sockets.

mod common;

use common::*;
use teamsop_emulator::{Config, Emulator, SEED_CHAT_ID, SEED_OPERATION_ID, TEAM_ID};

const JSON_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

fn start() -> Emulator {
    Emulator::start(Config::default()).expect("start")
}

fn assert_graph_headers(r: &Response) {
    assert!(is_guid(r.header("request-id").unwrap()), "{:?}", r.headers);
    assert!(r.header("client-request-id").is_some());
    assert!(r
        .header("x-ms-ags-diagnostic")
        .unwrap()
        .contains("ServerInfo"));
    assert!(r.header("date").unwrap().ends_with(" GMT"));
}

#[test]
fn seed_get_is_byte_exact_with_graph_headers() {
    let emu = start();
    let fixture = seed_fixture();
    for version in ["beta", "v1.0"] {
        let r = Conn::open(emu.addr())
            .request(
                "GET",
                &seed_path(version),
                &[
                    ("Authorization", "Bearer emulator-token"),
                    ("client-request-id", "my-id-1"),
                ],
                None,
            )
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, fixture, "body must be the fixture, byte for byte");
        assert_eq!(r.header("content-type"), Some(JSON_TYPE));
        assert_eq!(
            r.header("content-length"),
            Some(fixture.len().to_string().as_str())
        );
        assert_eq!(r.header("client-request-id"), Some("my-id-1"));
        assert_graph_headers(&r);
    }
    // The undecoded form of the chat id works too.
    let raw = format!("/beta/chats/{SEED_CHAT_ID}/operations/{SEED_OPERATION_ID}");
    let r = get(&emu, &raw);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, fixture);
    // Without a client-request-id, Graph echoes the request id.
    assert_eq!(r.header("client-request-id"), r.header("request-id"));
}

#[test]
fn token_missing_or_wrong_is_401() {
    let emu = start();
    for auth in [
        None,
        Some("Bearer nope"),
        Some("Basic emulator-token"),
        Some("Bearer"),
    ] {
        let mut headers = vec![("client-request-id", "c-401")];
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        let r = request(&emu, "GET", &seed_path("beta"), &headers, None);
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.header("content-type"), Some(JSON_TYPE));
        let v = r.json();
        assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
        assert_eq!(
            v["error"]["innerError"]["request-id"].as_str(),
            r.header("request-id")
        );
        assert_eq!(v["error"]["innerError"]["client-request-id"], "c-401");
        assert!(v["error"]["innerError"]["date"].is_string());
        assert_graph_headers(&r);
    }
}

#[test]
fn unknown_is_404_with_request_id() {
    let emu = start();
    for path in [
        format!("/beta/chats/{}/operations/nope", "19%3Aabc%40thread.v2"),
        format!("/v1.0/teams/{TEAM_ID}/operations/nope"),
        "/beta/teams/other/operations/clone-in-progress".to_owned(),
        "/beta/users".to_owned(),
        "/v2.0/teams/x/operations/y".to_owned(),
        "/".to_owned(),
    ] {
        let r = get(&emu, &path);
        assert_eq!(r.status, 404, "{path}");
        let v = r.json();
        assert_eq!(v["error"]["code"], "NotFound");
        assert!(is_guid(r.header("request-id").unwrap()));
        assert_eq!(
            v["error"]["innerError"]["request-id"].as_str(),
            r.header("request-id")
        );
    }
}

#[test]
fn forbidden_is_403() {
    let emu = start();
    for path in [
        "/beta/chats/forbidden/operations/x",
        "/v1.0/teams/forbidden/operations/y",
        "/beta/teams/%66orbidden/operations/y",
    ] {
        let r = get(&emu, path);
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.json()["error"]["code"], "Forbidden");
    }
}

#[test]
fn preloaded_team_operations() {
    let emu = start();
    let base = format!("/v1.0/teams/{TEAM_ID}/operations");
    let v = get(&emu, &format!("{base}/clone-in-progress")).json();
    assert_eq!(v["status"], "inProgress");
    assert_eq!(v["operationType"], "cloneTeam");
    assert_eq!(v["attemptsCount"], 1);
    assert!(v["@odata.context"]
        .as_str()
        .unwrap()
        .starts_with("https://graph.microsoft.com/v1.0/$metadata#teams('8b081ef6"));
    let v = get(&emu, &format!("{base}/archive-failed")).json();
    assert_eq!(v["status"], "failed");
    assert_eq!(v["operationType"], "archiveTeam");
    assert_eq!(v["error"]["code"], "Conflict");
    assert_eq!(v["error"]["message"], "The team is already archived.");
    let v = get(&emu, &format!("{base}/create-succeeded")).json();
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["targetResourceId"], TEAM_ID);
    assert_eq!(
        v["targetResourceLocation"],
        format!("/teams('{TEAM_ID}')").as_str()
    );
}

fn location_to_path(location: &str) -> String {
    // /teams('ID')/operations('OP') -> /beta/teams/ID/operations/OP
    let (coll, rest) = location[1..].split_once("('").unwrap();
    let (id, rest) = rest.split_once("')/operations('").unwrap();
    let op = rest.strip_suffix("')").unwrap();
    format!("/beta/{coll}/{id}/operations/{op}")
}

#[test]
fn post_creates_operations_that_progress() {
    let emu = Emulator::start(Config::default().progress_polls(2)).unwrap();
    for (coll, ty) in [("teams", "createTeam"), ("chats", "createChat")] {
        let mut conn = Conn::open(emu.addr());
        let r = conn
            .request(
                "POST",
                &format!("/beta/{coll}"),
                &[
                    ("Authorization", "Bearer emulator-token"),
                    ("Content-Type", "application/json"),
                ],
                Some(br#"{"displayName":"x"}"#),
            )
            .unwrap();
        assert_eq!(r.status, 202);
        assert_eq!(r.header("content-length"), Some("0"));
        assert!(r.body.is_empty());
        assert_graph_headers(&r);
        let location = r.header("location").unwrap().to_owned();
        assert!(location.starts_with(&format!("/{coll}('")), "{location}");
        let path = location_to_path(&location);
        let statuses: Vec<String> = (0..6)
            .map(|_| {
                let v = conn.get(&path).json();
                assert_eq!(v["operationType"], ty);
                v["status"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            statuses,
            [
                "notStarted",
                "notStarted",
                "inProgress",
                "inProgress",
                "succeeded",
                "succeeded"
            ]
        );
        let v = conn.get(&path).json();
        assert!(v["targetResourceLocation"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/{coll}('")));
        // A chat id must also be reachable percent-encoded.
        let encoded = path.replace(':', "%3A").replace('@', "%40");
        assert_eq!(conn.get(&encoded).status, 200);
    }
    // All on one connection per POST: two connections in total.
    assert_eq!(emu.stats().connections, 2);
}

#[test]
fn select_keeps_the_named_properties() {
    let emu = start();
    let r = get(&emu, &format!("{}?$select=id,status", seed_path("beta")));
    assert_eq!(r.status, 200);
    let v = r.json();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "{v}");
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["id"], SEED_OPERATION_ID);
    assert!(v["@odata.context"].is_string());
    let r = get(&emu, &format!("{}?%24select=status", seed_path("beta")));
    assert_eq!(r.json().as_object().unwrap().len(), 2);
    let r = get(&emu, &format!("{}?$select=bogus", seed_path("beta")));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "BadRequest");
}

#[test]
fn keep_alive_reuses_one_connection_and_requests_are_recorded() {
    let emu = start();
    let mut conn = Conn::open(emu.addr());
    for i in 0..5 {
        let r = conn
            .request(
                "GET",
                &format!("{}?n={i}", seed_path("beta")),
                &[
                    ("Authorization", "Bearer emulator-token"),
                    ("X-Custom", "Yes"),
                ],
                None,
            )
            .unwrap();
        assert_eq!(r.status, 200);
        assert!(r.header("connection").is_none(), "no Connection: close");
    }
    let stats = emu.stats();
    assert_eq!((stats.connections, stats.requests), (1, 5));
    let mut other = Conn::open(emu.addr());
    assert_eq!(other.get(&seed_path("v1.0")).status, 200);
    let recs = emu.requests();
    assert_eq!(recs.len(), 6);
    assert!(recs[..5].iter().all(|r| r.connection == 1));
    assert_eq!(recs[5].connection, 2);
    assert_eq!(recs[0].method, "GET");
    assert_eq!(recs[2].path, format!("{}?n=2", seed_path("beta")));
    assert_eq!(recs[0].header("X-CUSTOM"), Some("Yes"));
    assert_eq!(
        recs[0].headers.get("authorization").map(String::as_str),
        Some("Bearer emulator-token")
    );
    assert!(recs[0].headers.keys().all(|k| *k == k.to_ascii_lowercase()));
    emu.clear_requests();
    assert!(emu.requests().is_empty());
    assert_eq!(emu.stats().connections, 2);
}

#[test]
fn recording_can_be_turned_off() {
    let emu = Emulator::start(Config::default().record_requests(false)).unwrap();
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
    assert!(emu.requests().is_empty());
    assert_eq!(emu.stats().requests, 1);
}

#[test]
fn wrong_methods_and_head() {
    let emu = start();
    let auth = [("Authorization", "Bearer emulator-token")];
    let r = request(&emu, "DELETE", &seed_path("beta"), &auth, None);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = request(&emu, "GET", "/beta/teams", &auth, None);
    assert_eq!(r.status, 405);
    let r = request(&emu, "HEAD", &seed_path("beta"), &auth, None);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[test]
fn malformed_requests_do_not_hurt_the_server() {
    let emu = start();
    for junk in [
        &b"this is not http\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        b"GET /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"\x00\x01\x02\x03",
    ] {
        let mut c = Conn::open(emu.addr());
        use std::io::Write;
        c.stream.write_all(junk).unwrap();
        let (raw, _) = c.read_raw_to_end();
        if !raw.is_empty() {
            assert!(
                raw.starts_with(b"HTTP/1.1 4"),
                "{:?}",
                String::from_utf8_lossy(&raw)
            );
        }
    }
    // A client that vanishes halfway through its request.
    {
        let mut c = Conn::open(emu.addr());
        use std::io::Write;
        c.stream
            .write_all(b"POST /beta/teams HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc")
            .unwrap();
    }
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
}

#[test]
fn only_loopback_binds() {
    for ip in ["0.0.0.0", "::", "192.0.2.1"] {
        let err = Emulator::start(Config::default().bind(ip.parse().unwrap())).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{ip}");
    }
    let emu = Emulator::start(Config::default().bind("127.0.0.3".parse().unwrap())).unwrap();
    assert!(emu.base_url().starts_with("http://127.0.0.3:"));
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
}

#[test]
fn ipv6_loopback_when_available() {
    let Ok(emu) = Emulator::start(Config::default().bind("::1".parse().unwrap())) else {
        return; // no IPv6 on this machine
    };
    assert!(
        emu.base_url().starts_with("http://[::1]:"),
        "{}",
        emu.base_url()
    );
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
}

#[test]
fn drop_closes_connections() {
    let emu = start();
    let mut conn = Conn::open(emu.addr());
    assert_eq!(conn.get(&seed_path("beta")).status, 200);
    let addr = emu.addr();
    drop(emu);
    let (rest, end) = conn.read_raw_to_end();
    assert!(rest.is_empty());
    assert!(matches!(end, End::Eof | End::Reset), "{end:?}");
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn oversized_request_bodies_get_413() {
    use std::io::Write;
    let emu = start();
    let mut c = Conn::open(emu.addr());
    // Announce 5 MiB but send only a little over the 4 MiB limit, so the
    // client is not still writing when the server closes.
    let head = "POST /beta/teams HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer emulator-token\r\nContent-Length: 5242880\r\n\r\n";
    c.stream.write_all(head.as_bytes()).unwrap();
    let _ = c.stream.write_all(&vec![b'x'; 4 * 1024 * 1024 + 1024]);
    let r = c.read_response(false).unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.json()["error"]["code"], "RequestEntityTooLarge");
}

#[test]
fn emulator_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Emulator>();
    check::<teamsop_emulator::Scenario>();
    check::<teamsop_emulator::RecordedRequest>();
}

#[tokio::test]
async fn starts_and_drops_inside_an_async_runtime() {
    let emu = start();
    assert_eq!(get(&emu, &seed_path("beta")).status, 200);
    drop(emu);
    let bad = Emulator::start(Config::default().port_file("/nonexistent-dir/port"));
    assert!(bad.is_err());
}

#[test]
fn many_emulators_at_once() {
    let handles: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(|| {
                let emu = start();
                let mut c = Conn::open(emu.addr());
                for _ in 0..20 {
                    assert_eq!(c.get(&seed_path("beta")).status, 200);
                }
                emu.stats()
            })
        })
        .collect();
    for h in handles {
        let s = h.join().unwrap();
        assert_eq!((s.connections, s.requests), (1, 20));
    }
}
