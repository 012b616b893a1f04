//! `POST /{beta,v1.0}/$batch` (Graph JSON batching) over real sockets.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use teamsop_emulator::{
    Config, Emulator, Fault, Scenario, ScriptedResponse, TokenSpec, SEED_CHAT_ID,
    SEED_OPERATION_ID, TEAM_ID,
};

const JSON_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

fn start() -> Emulator {
    Emulator::start(Config::default()).expect("start")
}

/// The seed's URL relative to the version root, chat id percent-encoded.
fn seed_url() -> String {
    format!(
        "/chats/{}/operations/{SEED_OPERATION_ID}",
        SEED_CHAT_ID.replace(':', "%3A").replace('@', "%40")
    )
}

fn get_req(id: &str, url: &str) -> Value {
    json!({"id": id, "method": "GET", "url": url})
}

/// POSTs a `$batch` with the right token.
fn batch(emu: &Emulator, version: &str, body: &Value) -> Response {
    batch_as(emu, version, body, TOKEN)
}

fn batch_as(emu: &Emulator, version: &str, body: &Value, token: &str) -> Response {
    let auth = format!("Bearer {token}");
    request(
        emu,
        "POST",
        &format!("/{version}/$batch"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(body.to_string().as_bytes()),
    )
}

/// The inner answers by id.
fn by_id(r: &Response) -> std::collections::BTreeMap<String, Value> {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .map(|a| (a["id"].as_str().unwrap().to_owned(), a.clone()))
        .collect()
}

#[test]
fn each_request_is_answered_as_alone() {
    let emu = start();
    let body = json!({"requests": [
        {"id": "seed", "method": "GET", "url": seed_url(),
         "headers": {"client-request-id": "inner-c1", "Accept": "application/json"}},
        get_req("sel", &format!("/teams/{TEAM_ID}/operations/archive-failed?$select=status,error")),
        get_req("gone", &format!("/teams/{TEAM_ID}/operations/nope")),
        get_req("bad-select", &format!("/teams/{TEAM_ID}/operations/clone-in-progress?$select=nope")),
        get_req("forbidden", "/teams/forbidden/operations/x"),
        {"id": "post", "method": "POST", "url": "/teams", "body": {}},
        {"id": "put", "method": "PUT", "url": seed_url()},
        get_req("other", "/users"),
        get_req("rel", &format!("teams/{TEAM_ID}/operations/create-succeeded")),
        {"id": "head", "method": "HEAD", "url": seed_url()},
    ]});
    let r = batch(&emu, "beta", &body);
    assert_eq!(r.header("content-type"), Some(JSON_TYPE));
    assert!(is_guid(r.header("request-id").unwrap()));
    let a = by_id(&r);
    assert_eq!(a.len(), 10);

    let seed = &a["seed"];
    assert_eq!(seed["status"], 200);
    let fixture: Value = serde_json::from_slice(&seed_fixture()).unwrap();
    assert_eq!(seed["body"], fixture, "the same body as a GET alone");
    assert_eq!(seed["headers"]["Content-Type"], JSON_TYPE);
    assert_eq!(seed["headers"]["client-request-id"], "inner-c1");
    let rid = seed["headers"]["request-id"].as_str().unwrap();
    assert!(is_guid(rid));
    assert_ne!(Some(rid), r.header("request-id"), "its own request-id");

    assert_eq!(
        a["sel"]["body"],
        json!({
            "@odata.context": format!("https://graph.microsoft.com/beta/$metadata#teams('{TEAM_ID}')/operations/$entity"),
            "status": "failed",
            "error": {"code": "Conflict", "message": "The team is already archived."}
        })
    );
    let gone = &a["gone"];
    assert_eq!(gone["status"], 404);
    assert_eq!(gone["body"]["error"]["code"], "NotFound");
    assert_eq!(
        gone["body"]["error"]["innerError"]["request-id"],
        gone["headers"]["request-id"]
    );
    assert_eq!(
        gone["headers"]["client-request-id"], gone["headers"]["request-id"],
        "without a client-request-id, the request id is echoed"
    );
    assert_eq!(a["bad-select"]["status"], 400);
    assert_eq!(a["forbidden"]["status"], 403);
    assert_eq!(a["post"]["status"], 202);
    let location = a["post"]["headers"]["Location"].as_str().unwrap();
    assert!(location.starts_with("/teams('"), "{location}");
    assert!(a["post"].get("body").is_none());
    assert_eq!(a["put"]["status"], 405);
    assert_eq!(a["put"]["headers"]["Allow"], "GET, HEAD");
    assert_eq!(a["other"]["status"], 404);
    assert_eq!(a["rel"]["body"]["status"], "succeeded");
    assert_eq!(a["head"]["status"], 200);
    assert_eq!(a["head"]["headers"]["Content-Type"], JSON_TYPE);
    assert!(a["head"].get("body").is_none(), "HEAD: headers only");

    let stats = emu.stats();
    assert_eq!(
        (stats.requests, stats.batches, stats.inner_requests),
        (1, 1, 10)
    );
    // The operation GETs (seed, sel, gone, bad-select, forbidden, rel, and
    // the HEAD; not the POST, the PUT or /users) count towards busiest_second.
    assert_eq!(stats.busiest_second, 7);
}

#[test]
fn urls_are_relative_to_the_version_root() {
    let emu = start();
    let body = json!({"requests": [get_req("1", &format!("/teams/{TEAM_ID}/operations/create-succeeded"))]});
    for version in ["beta", "v1.0"] {
        let a = by_id(&batch(&emu, version, &body));
        let ctx = a["1"]["body"]["@odata.context"].as_str().unwrap();
        assert!(
            ctx.starts_with(&format!("https://graph.microsoft.com/{version}/")),
            "{ctx}"
        );
    }
    // The `$` may come percent-encoded.
    let r = request(
        &emu,
        "POST",
        "/beta/%24batch",
        &[
            ("Authorization", "Bearer emulator-token"),
            ("Content-Type", "application/json; charset=utf-8"),
        ],
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(by_id(&r)["1"]["status"], 200);
}

#[test]
fn the_order_is_shuffled_and_seeded() {
    let requests: Vec<Value> = (0..20)
        .map(|i| {
            get_req(
                &i.to_string(),
                &format!("/teams/{TEAM_ID}/operations/create-succeeded"),
            )
        })
        .collect();
    let body = json!({ "requests": requests });
    let orders = |seed: u64| -> Vec<Vec<String>> {
        let emu = Emulator::start(Config::default().batch_seed(seed)).unwrap();
        (0..3)
            .map(|_| {
                batch(&emu, "beta", &body).json()["responses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .collect()
    };
    let a = orders(7);
    assert_eq!(a, orders(7), "the same seed gives the same orders");
    assert_ne!(a, orders(8));
    let in_order: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert!(a.iter().all(|o| *o != in_order), "{a:?}");
    assert_ne!(a[0], a[1], "each $batch is shuffled anew");
    for o in &a {
        let mut sorted = o.clone();
        sorted.sort_by_key(|s| s.parse::<u32>().unwrap());
        assert_eq!(sorted, in_order, "each id once");
    }
}

#[test]
fn malformed_batches_are_400() {
    let emu = start();
    let too_many: Vec<Value> = (0..21).map(|i| get_req(&i.to_string(), "/x")).collect();
    for body in [
        json!("nope"),
        json!({}),
        json!({"requests": []}),
        json!({"requests": too_many}),
        json!({"requests": [get_req("1", "/x"), get_req("1", "/y")]}),
        json!({"requests": [{"method": "GET", "url": "/x"}]}),
        json!({"requests": [{"id": "1", "url": "/x"}]}),
        json!({"requests": [{"id": "1", "method": "GET"}]}),
        json!({"requests": [get_req("1", "https://graph.microsoft.com/beta/teams")]}),
    ] {
        let r = batch(&emu, "beta", &body);
        assert_eq!(r.status, 400, "{body}");
        let v = r.json();
        assert_eq!(v["error"]["code"], "BadRequest");
        assert!(v["error"]["message"].as_str().unwrap().len() > 5);
    }
    // Not JSON at all, and not said to be JSON.
    let r = request(
        &emu,
        "POST",
        "/beta/$batch",
        &[
            ("Authorization", "Bearer emulator-token"),
            ("Content-Type", "application/json"),
        ],
        Some(b"{\"requests\": ["),
    );
    assert_eq!(r.status, 400);
    let r = request(
        &emu,
        "POST",
        "/beta/$batch",
        &[("Authorization", "Bearer emulator-token")],
        Some(
            json!({"requests": [get_req("1", "/x")]})
                .to_string()
                .as_bytes(),
        ),
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Content-Type"));
    // Another method.
    let r = get(&emu, "/beta/$batch");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    let stats = emu.stats();
    assert_eq!(stats.batches, 12);
    assert_eq!(stats.inner_requests, 0, "malformed batches hold no request");
}

#[test]
fn the_batch_needs_the_token() {
    let emu = start();
    let body = json!({"requests": [get_req("1", &seed_url())]});
    let r = request(
        &emu,
        "POST",
        "/beta/$batch",
        &[("Content-Type", "application/json")],
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "InvalidAuthenticationToken");
    let short = emu.mint_token(TokenSpec::lifetime_ms(100)).unwrap();
    assert_eq!(
        by_id(&batch_as(&emu, "beta", &body, &short.token))["1"]["status"],
        200
    );
    std::thread::sleep(Duration::from_millis(200));
    let r = batch_as(&emu, "beta", &body, &short.token);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="", error="invalid_token""#)
    );
    // A self-revoking token counts a $batch as one use.
    let once = emu
        .mint_token(TokenSpec::forever().with_revoke_after_uses(1, None))
        .unwrap();
    assert_eq!(batch_as(&emu, "beta", &body, &once.token).status, 200);
    let r = batch_as(&emu, "beta", &body, &once.token);
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains(r#"error="insufficient_claims""#));
    let stats = emu.stats();
    assert_eq!((stats.unauthorized, stats.claims_challenges), (3, 1));
    // Their requests were sent all the same.
    assert_eq!(stats.inner_requests, 5);
}

#[test]
fn scenarios_script_inner_answers() {
    let emu = start();
    let path = |op: &str| format!("/beta/teams/{TEAM_ID}/operations/{op}");
    emu.add_scenario(
        Scenario::path(path("throttled")).respond(
            ScriptedResponse::status(429)
                .with_header("Retry-After", "7")
                .with_json(json!({"error": {"code": "TooManyRequests", "message": "slow"}})),
        ),
    );
    emu.add_scenario(Scenario::path(path("boom")).respond(ScriptedResponse::status(500)));
    emu.add_scenario(
        Scenario::path(path("odd"))
            .respond(ScriptedResponse::status(200).with_json(json!({"value": []}))),
    );
    emu.add_scenario(
        Scenario::path(path("html")).respond(
            ScriptedResponse::status(200)
                .with_body("<html>")
                .with_content_type("text/html"),
        ),
    );
    emu.add_scenario(Scenario::path(path("reset")).respond(ScriptedResponse::fault(Fault::Reset)));
    emu.add_scenario(
        Scenario::path(path("cut"))
            .respond(ScriptedResponse::fault(Fault::CloseMidBody).with_operation("seed")),
    );
    emu.add_scenario(
        Scenario::path(path("slow"))
            .respond(ScriptedResponse::operation("seed").with_delay_ms(300)),
    );
    emu.add_scenario(
        Scenario::path_prefix("/beta/chats/")
            .with_method("GET")
            .respond(ScriptedResponse::status(403))
            .respond(ScriptedResponse::operation("seed")),
    );
    let ids = ["throttled", "boom", "odd", "html", "reset", "cut", "slow"];
    let mut requests: Vec<Value> = ids.iter().map(|op| get_req(op, &path(op)[5..])).collect();
    requests.push(get_req("chat1", &seed_url()));
    requests.push(get_req("chat2", &seed_url()));
    let t = Instant::now();
    let a = by_id(&batch(&emu, "beta", &json!({ "requests": requests })));
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "waits for the slowest"
    );
    assert_eq!(a["throttled"]["status"], 429);
    assert_eq!(a["throttled"]["headers"]["Retry-After"], "7");
    assert_eq!(a["throttled"]["body"]["error"]["message"], "slow");
    assert_eq!(a["boom"]["status"], 500);
    assert!(a["boom"].get("body").is_none());
    assert_eq!(a["odd"]["body"], json!({"value": []}));
    assert_eq!(
        a["html"]["body"], "PGh0bWw+",
        "non-JSON bodies go as base64"
    );
    assert_eq!(a["html"]["headers"]["Content-Type"], "text/html");
    assert_eq!(a["reset"]["status"], 504);
    assert_eq!(a["reset"]["body"]["error"]["code"], "GatewayTimeout");
    assert_eq!(a["cut"]["status"], 502);
    assert_eq!(a["slow"]["status"], 200);
    assert_eq!(a["slow"]["body"]["status"], "succeeded");
    // Two requests to the same path use the scenario's answers in order
    // (the order of the requests in the $batch).
    assert_eq!(a["chat1"]["status"], 403);
    assert_eq!(a["chat2"]["status"], 200);
    let stats = emu.stats();
    assert_eq!((stats.scripted, stats.inner_scripted), (0, 9));
    assert_eq!(stats.throttled, 1);
}

#[test]
fn a_long_inner_delay_is_a_504_after_five_seconds() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/beta/teams/t/operations/o")
            .respond(ScriptedResponse::status(200).with_delay_ms(u64::MAX)),
    );
    let t = Instant::now();
    let a = by_id(&batch(
        &emu,
        "beta",
        &json!({"requests": [get_req("1", "/teams/t/operations/o"), get_req("2", &seed_url())]}),
    ));
    let took = t.elapsed();
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(8)).contains(&took),
        "{took:?}"
    );
    assert_eq!(a["1"]["status"], 504);
    assert_eq!(a["2"]["status"], 200);
}

#[test]
fn scenarios_on_the_batch_path_script_the_whole_answer() {
    let emu = start();
    emu.add_scenario(
        Scenario::path("/beta/$batch")
            .respond(ScriptedResponse::status(429).with_header("Retry-After", "2"))
            .respond(ScriptedResponse::status(503))
            .respond(
                ScriptedResponse::status(200)
                    .with_body("{\"responses\": [")
                    .with_content_type("application/json"),
            )
            .respond(ScriptedResponse::fault(Fault::Reset))
            .then(teamsop_emulator::After::Fallthrough),
    );
    let body = json!({"requests": [get_req("1", &seed_url())]});
    let r = batch(&emu, "beta", &body);
    assert_eq!((r.status, r.header("retry-after")), (429, Some("2")));
    assert_eq!(batch(&emu, "beta", &body).status, 503);
    let r = batch(&emu, "beta", &body);
    assert_eq!(r.body, b"{\"responses\": [");
    let mut c = Conn::open(emu.addr());
    c.send(
        "POST",
        "/beta/$batch",
        &[
            ("Authorization", "Bearer emulator-token"),
            ("Content-Type", "application/json"),
            ("Content-Length", &body.to_string().len().to_string()),
        ],
        None,
    )
    .unwrap();
    use std::io::Write;
    c.stream.write_all(body.to_string().as_bytes()).unwrap();
    let (bytes, end) = c.read_raw_to_end();
    assert!(bytes.is_empty());
    assert_eq!(end, End::Reset);
    assert_eq!(by_id(&batch(&emu, "beta", &body))["1"]["status"], 200);
    let stats = emu.stats();
    assert_eq!((stats.batches, stats.scripted, stats.throttled), (5, 4, 1));
    assert_eq!(stats.inner_requests, 5, "sent, though a scenario answered");
    assert_eq!(stats.inner_scripted, 0);
}

#[test]
fn the_record_shows_inner_requests() {
    let emu = start();
    get(&emu, &seed_path("beta"));
    let body = json!({"requests": [
        {"id": "a", "method": "GET", "url": seed_url(), "headers": {"Client-Request-Id": "x1"}},
        get_req("b", &format!("/teams/{TEAM_ID}/operations/nope?$select=id")),
    ]});
    batch(&emu, "v1.0", &body);
    let list = emu.requests();
    assert_eq!(list.len(), 4);
    assert_eq!(list[1].path, "/v1.0/$batch");
    assert_eq!((list[1].batch, list[1].inner_id.as_deref()), (None, None));
    assert_eq!(list[2].method, "GET");
    assert_eq!(list[2].path, format!("/v1.0{}", seed_url()));
    assert_eq!(list[2].batch, Some(1));
    assert_eq!(list[2].inner_id.as_deref(), Some("a"));
    assert_eq!(list[2].header("client-request-id"), Some("x1"));
    assert_eq!(list[2].connection, list[1].connection);
    assert_eq!(
        list[3].path,
        format!("/v1.0/teams/{TEAM_ID}/operations/nope?$select=id")
    );
    assert_eq!(list[3].batch, Some(1));
    // Over HTTP, the same with "batch" and "inner_id" members.
    let v = request(&emu, "GET", "/_emulator/requests", &[], None).json();
    assert_eq!(v[3]["batch"], 1);
    assert_eq!(v[3]["inner_id"], "b");
    assert!(v[1].get("batch").is_none());
    // After the record is cleared, new entries count from 0 again.
    emu.clear_requests();
    batch(&emu, "beta", &body);
    let list = emu.requests();
    assert_eq!(list[1].batch, Some(0));
}
