//! Tokens with a lifetime, and their revocation with a claims challenge
//! (continuous access evaluation), over HTTP and from Rust.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::{json, Value};
use teamsop_emulator::{
    claims_challenge, Config, Emulator, Revocation, Scenario, ScriptedResponse, TokenSpec,
};

const CLAIMS: &str = r#"{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}"#;
const CAE_PREFIX: &str = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims=""#;

fn start() -> Emulator {
    Emulator::start(Config::default()).expect("start")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn control(emu: &Emulator, method: &str, path: &str, body: Option<Value>) -> Response {
    let text = body.map(|b| b.to_string());
    request(
        emu,
        method,
        path,
        &[("Content-Type", "application/json")],
        text.as_deref().map(str::as_bytes),
    )
}

fn get_with(emu: &Emulator, token: &str) -> Response {
    let auth = format!("Bearer {token}");
    request(
        emu,
        "GET",
        &seed_path("beta"),
        &[("Authorization", &auth)],
        None,
    )
}

/// The claims JSON a challenge carries, decoded.
fn challenged_claims(r: &Response) -> Value {
    assert_eq!(r.status, 401);
    let h = r.header("www-authenticate").expect("WWW-Authenticate");
    let b64 = h
        .strip_prefix(CAE_PREFIX)
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a claims challenge: {h}"));
    let text = String::from_utf8(decode_base64(b64)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn decode_base64(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = alphabet.iter().position(|&a| a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn minted_tokens_work_until_they_expire() {
    let emu = start();
    let before = now_ms();
    let r = control(
        &emu,
        "POST",
        "/_emulator/tokens",
        Some(json!({"lifetime_ms": 400})),
    );
    assert_eq!(r.status, 200);
    let minted = r.json();
    let token = minted["token"].as_str().unwrap().to_owned();
    let expires = minted["expires_unix_ms"].as_i64().unwrap();
    assert!(
        (before + 400..=now_ms() + 400).contains(&expires),
        "{expires}"
    );
    assert!(token.bytes().all(|c| (0x21..=0x7e).contains(&c)));
    assert_ne!(token, TOKEN);
    assert_eq!(get_with(&emu, &token).status, 200);
    assert_eq!(get_with(&emu, TOKEN).status, 200, "the configured one too");

    std::thread::sleep(Duration::from_millis(
        u64::try_from(expires - now_ms() + 50).unwrap_or(0),
    ));
    let r = get_with(&emu, &token);
    assert_eq!(r.status, 401);
    let v = r.json();
    assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(
        v["error"]["message"],
        "Access token has expired or is not yet valid."
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="", error="invalid_token""#)
    );
    assert_eq!(
        get_with(&emu, TOKEN).status,
        200,
        "the configured token never expires"
    );
    let stats = emu.stats();
    assert_eq!((stats.unauthorized, stats.claims_challenges), (1, 0));
}

#[test]
fn a_token_without_lifetime_never_expires_and_tokens_are_distinct() {
    let emu = start();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..500 {
        let m = emu.mint_token(TokenSpec::forever()).unwrap();
        assert_eq!(m.expires_unix_ms, None);
        assert!(seen.insert(m.token));
    }
    let r = control(&emu, "POST", "/_emulator/tokens", None);
    assert_eq!(r.status, 200, "an empty body mints a token for ever");
    assert_eq!(r.json()["expires_unix_ms"], Value::Null);
    let far = emu.mint_token(TokenSpec::lifetime_ms(u64::MAX)).unwrap();
    assert_eq!(far.expires_unix_ms, Some(i64::MAX));
    assert_eq!(get_with(&emu, &far.token).status, 200);
}

#[test]
fn revocation_gets_the_claims_challenge_and_only_those_claims_pass() {
    let emu = start();
    let old = emu
        .mint_token(TokenSpec::lifetime_ms(60_000))
        .unwrap()
        .token;
    let r = control(
        &emu,
        "POST",
        "/_emulator/revoke",
        Some(json!({"all": true, "claims": CLAIMS})),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"revoked": 2, "claims": CLAIMS}));

    for token in [TOKEN, old.as_str()] {
        let r = get_with(&emu, token);
        assert_eq!(
            r.header("www-authenticate"),
            Some(claims_challenge(CLAIMS).as_str())
        );
        assert_eq!(
            challenged_claims(&r),
            serde_json::from_str::<Value>(CLAIMS).unwrap()
        );
        let v = r.json();
        assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
        assert_eq!(
            v["error"]["innerError"]["request-id"].as_str(),
            r.header("request-id")
        );
    }
    // A new token without the claims (or with others) is challenged too.
    let bare = emu
        .mint_token(TokenSpec::lifetime_ms(60_000))
        .unwrap()
        .token;
    assert_eq!(
        challenged_claims(&get_with(&emu, &bare))["access_token"]["nbf"]["value"],
        "1604106651"
    );
    let other = emu
        .mint_token(TokenSpec::lifetime_ms(60_000).with_claims(r#"{"other":true}"#))
        .unwrap()
        .token;
    assert_eq!(get_with(&emu, &other).status, 401);
    // With exactly those claims (as JSON: spacing and order do not matter): 200.
    let r = control(
        &emu,
        "POST",
        "/_emulator/tokens",
        Some(json!({"lifetime_ms": 60000, "claims": CLAIMS})),
    );
    let good = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(get_with(&emu, &good).status, 200);
    let respaced = emu
        .mint_token(
            TokenSpec::forever()
                .with_claims(r#"{"access_token":{"nbf":{"value":"1604106651","essential":true}}}"#),
        )
        .unwrap()
        .token;
    assert_eq!(get_with(&emu, &respaced).status, 200);

    let stats = emu.stats();
    assert_eq!((stats.unauthorized, stats.claims_challenges), (4, 4));

    // The list shows it all.
    let list = control(&emu, "GET", "/_emulator/tokens", None).json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 6);
    assert_eq!(list[0]["token"], TOKEN);
    assert_eq!(list[0]["configured"], true);
    assert_eq!(list[0]["revoked_with"], CLAIMS);
    assert_eq!(list[0]["uses"], 0);
    assert_eq!(list[4]["token"], good.as_str());
    assert_eq!(list[4]["claims"], CLAIMS);
    assert_eq!(list[4]["required_claims"], CLAIMS);
    assert_eq!(list[4]["uses"], 1);

    // A reset (or DELETE /_emulator/tokens) brings the configured token back.
    assert_eq!(
        control(&emu, "DELETE", "/_emulator/tokens", None).status,
        204
    );
    assert_eq!(get_with(&emu, TOKEN).status, 200);
    assert_eq!(get_with(&emu, &good).status, 401, "minted tokens are gone");
    emu.revoke(Revocation::token(TOKEN)).unwrap();
    assert_eq!(get_with(&emu, TOKEN).status, 401);
    emu.reset();
    assert_eq!(get_with(&emu, TOKEN).status, 200);
}

#[test]
fn revoking_one_token_with_the_default_claims() {
    let emu = start();
    let a = emu.mint_token(TokenSpec::forever()).unwrap().token;
    let b = emu.mint_token(TokenSpec::forever()).unwrap().token;
    let before = now_ms() / 1000;
    let done = emu.revoke(Revocation::token(a.clone())).unwrap();
    assert_eq!(done.revoked, 1);
    let claims: Value = serde_json::from_str(&done.claims).unwrap();
    let nbf: i64 = claims["access_token"]["nbf"]["value"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((before..=now_ms() / 1000).contains(&nbf));
    assert_eq!(claims["access_token"]["nbf"]["essential"], true);
    assert_eq!(challenged_claims(&get_with(&emu, &a)), claims);
    assert_eq!(get_with(&emu, &b).status, 200, "b was not revoked");
    assert_eq!(get_with(&emu, TOKEN).status, 200);
    let c = emu
        .mint_token(TokenSpec::forever().with_claims(done.claims))
        .unwrap()
        .token;
    assert_eq!(get_with(&emu, &c).status, 200);
}

#[test]
fn a_token_can_revoke_itself_after_some_uses() {
    let emu = start();
    let r = control(
        &emu,
        "POST",
        "/_emulator/tokens",
        Some(json!({"lifetime_ms": 3_600_000, "revoke_after_uses": 2, "revoke_claims": CLAIMS})),
    );
    assert_eq!(r.status, 200);
    let token = r.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(get_with(&emu, &token).status, 200);
    assert_eq!(get_with(&emu, &token).status, 200);
    let third = get_with(&emu, &token);
    assert_eq!(
        challenged_claims(&third),
        serde_json::from_str::<Value>(CLAIMS).unwrap()
    );
    let renewed = emu
        .mint_token(TokenSpec::lifetime_ms(3_600_000).with_claims(CLAIMS))
        .unwrap();
    assert_eq!(get_with(&emu, &renewed.token).status, 200);
}

#[test]
fn control_refusals() {
    let emu = start();
    for (path, body, status) in [
        ("/_emulator/tokens", json!({"claims": "not json"}), 400),
        ("/_emulator/tokens", json!({"claims": "[1, 2]"}), 400),
        ("/_emulator/tokens", json!({"lifetime_ms": -5}), 400),
        ("/_emulator/tokens", json!({"lifetime": 5}), 400),
        ("/_emulator/revoke", json!({}), 400),
        ("/_emulator/revoke", json!({"all": true, "token": "x"}), 400),
        (
            "/_emulator/revoke",
            json!({"all": true, "claims": "{"}),
            400,
        ),
        ("/_emulator/revoke", json!({"token": "never-minted"}), 404),
    ] {
        let r = control(&emu, "POST", path, Some(body.clone()));
        assert_eq!(r.status, status, "{path} {body}");
        assert!(r.json()["error"]["message"].is_string());
    }
    let r = control(&emu, "GET", "/_emulator/revoke", None);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = control(&emu, "PUT", "/_emulator/tokens", None);
    assert_eq!(r.header("allow"), Some("GET, POST, DELETE"));
    assert!(emu
        .mint_token(TokenSpec::forever().with_claims("3"))
        .unwrap_err()
        .contains("object"));
    assert!(emu.revoke(Revocation::default()).is_err());
    // Nothing was revoked by the refusals.
    assert_eq!(get_with(&emu, TOKEN).status, 200);
    assert_eq!(emu.stats().unauthorized, 0);
}

#[test]
fn missing_and_unknown_tokens_carry_graph_challenges() {
    let emu = start();
    let r = request(&emu, "GET", &seed_path("beta"), &[], None);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["message"], "Access token is empty.");
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000""#
        )
    );
    let r = get_with(&emu, "made-up");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="", error="invalid_token""#)
    );
    assert_eq!(emu.stats().unauthorized, 2);
}

#[test]
fn a_scripted_claims_challenge() {
    let emu = start();
    emu.add_scenario(
        Scenario::path(seed_path("beta"))
            .respond(
                ScriptedResponse::status(401)
                    .with_header("WWW-Authenticate", claims_challenge(CLAIMS))
                    .with_json(json!({"error": {"code": "InvalidAuthenticationToken", "message": "challenge"}})),
            )
            .respond(ScriptedResponse::operation("seed")),
    );
    let r = get_with(&emu, TOKEN);
    assert_eq!(
        challenged_claims(&r),
        serde_json::from_str::<Value>(CLAIMS).unwrap()
    );
    assert_eq!(get_with(&emu, TOKEN).status, 200);
    // Scripted 401s are the scenario's, not the token check's.
    assert_eq!(emu.stats().unauthorized, 0);
}
