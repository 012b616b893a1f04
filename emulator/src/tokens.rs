//! Bearer tokens: the configured one (it never expires), tokens minted with a
//! lifetime and claims, and their revocation with a claims challenge
//! (continuous access evaluation, CAE).
//!
//! A revocation names the claims a new token must carry. The tokens it names
//! are refused from then on with that challenge, and a token minted after it
//! passes only if it carries exactly those claims (compared as JSON values):
//! a client that asks its identity provider for a token without handing over
//! the claims keeps getting the challenge.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::base64;
use crate::clock;

/// Longest claims text accepted (real ones are well under 1 KiB; the base64
/// of it goes into a header).
const MAX_CLAIMS_LEN: usize = 8 * 1024;
/// Most tokens held at once (minted since the start or the last reset).
pub(crate) const MAX_TOKENS: usize = 100_000;

/// How to mint a token (`POST /_emulator/tokens`, [`Emulator::mint_token`](crate::Emulator::mint_token)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Lifetime from now, in milliseconds; `None`: it never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_ms: Option<u64>,
    /// The claims it carries: a JSON object as text (what a claims challenge
    /// asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
    /// It revokes itself after this many requests made with it passed: the
    /// next one gets the claims challenge (a `$batch` is one request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_after_uses: Option<u64>,
    /// The claims that self-revocation demands (default: Graph's usual
    /// `{"access_token":{"nbf":{"essential":true,"value":"<Unix seconds>"}}}`
    /// of the moment it happens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_claims: Option<String>,
}

impl TokenSpec {
    /// A token that expires `ms` milliseconds from now.
    pub fn lifetime_ms(ms: u64) -> Self {
        TokenSpec {
            lifetime_ms: Some(ms),
            ..Default::default()
        }
    }

    /// A token that never expires.
    pub fn forever() -> Self {
        TokenSpec::default()
    }

    /// Carries these claims (a JSON object as text).
    pub fn with_claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Revokes itself once `uses` requests made with it have passed,
    /// demanding `claims` (or Graph's usual `nbf` claims when `None`).
    pub fn with_revoke_after_uses(mut self, uses: u64, claims: Option<&str>) -> Self {
        self.revoke_after_uses = Some(uses);
        self.revoke_claims = claims.map(str::to_owned);
        self
    }
}

/// A minted token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MintedToken {
    /// The token: visible ASCII, shaped like a JWT, unguessable, distinct.
    pub token: String,
    /// When it expires, in Unix milliseconds; `None`: never.
    pub expires_unix_ms: Option<i64>,
}

/// What to revoke (`POST /_emulator/revoke`, [`Emulator::revoke`](crate::Emulator::revoke)):
/// one token, or every token held (the configured one too).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// The token to revoke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Revoke every token instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    /// The claims a new token must carry: a JSON object as text (default:
    /// Graph's usual `nbf` claims of now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<String>,
}

impl Revocation {
    /// Revokes one token.
    pub fn token(token: impl Into<String>) -> Self {
        Revocation {
            token: Some(token.into()),
            ..Default::default()
        }
    }

    /// Revokes every token.
    pub fn all() -> Self {
        Revocation {
            all: true,
            ..Default::default()
        }
    }

    /// Demands these claims (a JSON object as text).
    pub fn with_claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }
}

/// The outcome of a revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// How many tokens it revoked (already revoked ones included).
    pub revoked: u64,
    /// The claims it demands, as JSON text (the challenge carries their base64).
    pub claims: String,
}

/// One token as `GET /_emulator/tokens` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token.
    pub token: String,
    /// The configured token (`--token`).
    pub configured: bool,
    /// Expiry in Unix milliseconds; `None`: never.
    pub expires_unix_ms: Option<i64>,
    /// The claims it carries.
    pub claims: Option<String>,
    /// The claims it must carry to pass (those demanded by the last
    /// revocation before it was minted).
    pub required_claims: Option<String>,
    /// The claims its revocation demands, when revoked.
    pub revoked_with: Option<String>,
    /// Requests made with it that passed the check.
    pub uses: u64,
}

/// A claims object: its text as given, and its value for comparisons.
#[derive(Debug)]
pub(crate) struct Claims {
    pub text: String,
    value: Value,
}

impl Claims {
    fn parse(text: &str, what: &str) -> Result<Claims, String> {
        if text.len() > MAX_CLAIMS_LEN {
            return Err(format!("{what}: longer than {MAX_CLAIMS_LEN} bytes"));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("{what}: not JSON: {e}"))?;
        if !value.is_object() {
            return Err(format!("{what}: must be a JSON object"));
        }
        Ok(Claims {
            text: text.to_owned(),
            value,
        })
    }

    /// What Graph asks for after a revocation: a token issued after now.
    fn not_before(now_ms: i64) -> Claims {
        let secs = now_ms.div_euclid(1000);
        let text = format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{secs}"}}}}}}"#);
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        Claims { text, value }
    }

    fn optional(text: Option<&str>, what: &str) -> Result<Option<Arc<Claims>>, String> {
        text.map(|t| Claims::parse(t, what).map(Arc::new))
            .transpose()
    }

    /// The `WWW-Authenticate` value of a challenge for these claims.
    pub(crate) fn challenge(&self) -> String {
        claims_challenge(&self.text)
    }
}

/// The `WWW-Authenticate` value of Graph's claims challenge for `claims`
/// (a JSON object as text), as a revoked token gets it:
/// `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="<base64>"`.
pub fn claims_challenge(claims: &str) -> String {
    format!(
        r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{}""#,
        base64::encode(claims.as_bytes())
    )
}

/// Why a request's token is refused.
#[derive(Debug)]
pub(crate) enum Denial {
    /// No Authorization header, or an empty one.
    Missing,
    /// Another scheme, or a token the emulator never issued.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Revoked, or minted without the claims demanded: a claims challenge.
    Challenge(Arc<Claims>),
}

struct Entry {
    configured: bool,
    expires_unix_ms: Option<i64>,
    claims: Option<Claims>,
    required: Option<Arc<Claims>>,
    revoked: Option<Arc<Claims>>,
    revoke_after: Option<(u64, Option<Arc<Claims>>)>,
    uses: u64,
    order: u64,
}

struct Table {
    entries: HashMap<String, Entry>,
    /// Claims demanded by the last revocation: a token minted from now on
    /// must carry them.
    demand: Option<Arc<Claims>>,
    next_order: u64,
}

/// Every token the emulator accepts or has accepted.
pub(crate) struct Tokens {
    configured: String,
    table: Mutex<Table>,
}

impl Tokens {
    pub(crate) fn new(configured: String) -> Tokens {
        let table = Mutex::new(Tokens::fresh(&configured));
        Tokens { configured, table }
    }

    fn fresh(configured: &str) -> Table {
        let mut entries = HashMap::new();
        entries.insert(
            configured.to_owned(),
            Entry {
                configured: true,
                expires_unix_ms: None,
                claims: None,
                required: None,
                revoked: None,
                revoke_after: None,
                uses: 0,
                order: 0,
            },
        );
        Table {
            entries,
            demand: None,
            next_order: 1,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The configured token.
    pub(crate) fn configured(&self) -> &str {
        &self.configured
    }

    /// Checks a request's bearer token (`None`: no token at all) and, when
    /// it passes, counts a use of it.
    pub(crate) fn check(&self, bearer: Option<&str>, now_ms: i64) -> Result<(), Denial> {
        let Some(token) = bearer else {
            return Err(Denial::Missing);
        };
        let mut table = self.lock();
        let Some(e) = table.entries.get_mut(token) else {
            return Err(Denial::Unknown);
        };
        if e.expires_unix_ms.is_some_and(|t| t <= now_ms) {
            return Err(Denial::Expired);
        }
        if let Some(c) = &e.revoked {
            return Err(Denial::Challenge(c.clone()));
        }
        if let Some(required) = &e.required {
            if e.claims.as_ref().map(|c| &c.value) != Some(&required.value) {
                return Err(Denial::Challenge(required.clone()));
            }
        }
        if let Some((after, claims)) = &e.revoke_after {
            if e.uses >= *after {
                let c = claims
                    .clone()
                    .unwrap_or_else(|| Arc::new(Claims::not_before(now_ms)));
                e.revoked = Some(c.clone());
                table.demand = Some(c.clone());
                return Err(Denial::Challenge(c));
            }
        }
        e.uses = e.uses.saturating_add(1);
        Ok(())
    }

    /// Mints a token.
    pub(crate) fn mint(&self, spec: &TokenSpec, now_ms: i64) -> Result<MintedToken, String> {
        let claims = spec
            .claims
            .as_deref()
            .map(|t| Claims::parse(t, "claims"))
            .transpose()?;
        let revoke_claims = Claims::optional(spec.revoke_claims.as_deref(), "revoke_claims")?;
        if revoke_claims.is_some() && spec.revoke_after_uses.is_none() {
            return Err("revoke_claims needs revoke_after_uses".to_owned());
        }
        let expires_unix_ms = spec.lifetime_ms.map(|ms| clock::unix_ms_after(now_ms, ms));
        let mut table = self.lock();
        if table.entries.len() >= MAX_TOKENS {
            return Err(format!(
                "{MAX_TOKENS} tokens are held already; DELETE /_emulator/tokens or reset"
            ));
        }
        let token = loop {
            let t = new_token(expires_unix_ms);
            if !table.entries.contains_key(&t) {
                break t;
            }
        };
        let order = table.next_order;
        table.next_order += 1;
        let required = table.demand.clone();
        table.entries.insert(
            token.clone(),
            Entry {
                configured: false,
                expires_unix_ms,
                claims,
                required,
                revoked: None,
                revoke_after: spec.revoke_after_uses.map(|n| (n, revoke_claims)),
                uses: 0,
                order,
            },
        );
        Ok(MintedToken {
            token,
            expires_unix_ms,
        })
    }

    /// Revokes one token or all; `Err((true, _))` when the token is unknown,
    /// `Err((false, _))` when the request is invalid.
    pub(crate) fn revoke(&self, r: &Revocation, now_ms: i64) -> Result<Revoked, (bool, String)> {
        if r.all == r.token.is_some() {
            return Err((false, "give either `token` or `\"all\": true`".to_owned()));
        }
        let claims =
            match Claims::optional(r.claims.as_deref(), "claims").map_err(|e| (false, e))? {
                Some(c) => c,
                None => Arc::new(Claims::not_before(now_ms)),
            };
        let mut table = self.lock();
        let revoked = match &r.token {
            Some(t) => {
                let e = table
                    .entries
                    .get_mut(t.as_str())
                    .ok_or_else(|| (true, "no such token".to_owned()))?;
                e.revoked = Some(claims.clone());
                1
            }
            None => {
                for e in table.entries.values_mut() {
                    e.revoked = Some(claims.clone());
                }
                table.entries.len() as u64
            }
        };
        table.demand = Some(claims.clone());
        Ok(Revoked {
            revoked,
            claims: claims.text.clone(),
        })
    }

    /// Every token held, in the order minted (the configured one first).
    pub(crate) fn list(&self) -> Vec<TokenInfo> {
        let table = self.lock();
        let mut all: Vec<(&String, &Entry)> = table.entries.iter().collect();
        all.sort_by_key(|(_, e)| e.order);
        all.into_iter()
            .map(|(t, e)| TokenInfo {
                token: t.clone(),
                configured: e.configured,
                expires_unix_ms: e.expires_unix_ms,
                claims: e.claims.as_ref().map(|c| c.text.clone()),
                required_claims: e.required.as_ref().map(|c| c.text.clone()),
                revoked_with: e.revoked.as_ref().map(|c| c.text.clone()),
                uses: e.uses,
            })
            .collect()
    }

    /// Back to the configured token alone, unrevoked, and no demand.
    pub(crate) fn reset(&self) {
        *self.lock() = Tokens::fresh(&self.configured);
    }
}

/// 32 bytes no one can guess: the thread's fast generator mixed with the
/// standard library's randomly keyed hasher (keyed from the OS).
fn unguessable() -> [u8; 32] {
    let mut out = [0u8; 32];
    let keyed = std::collections::hash_map::RandomState::new();
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = keyed.build_hasher();
        h.write_u64(fastrand::u64(..));
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// A token shaped like Graph's (a JWT: header, payload, signature), whose
/// signature part is random.
fn new_token(expires_unix_ms: Option<i64>) -> String {
    const HEADER: &str = r#"{"typ":"JWT","alg":"RS256","kid":"teamsop-emulator"}"#;
    let random = unguessable();
    let jti = base64::encode_url(&random[..12]);
    let payload = match expires_unix_ms {
        Some(ms) => format!(
            r#"{{"aud":"https://graph.microsoft.com","iss":"teamsop-emulator","exp":{},"jti":"{jti}"}}"#,
            ms.div_euclid(1000)
        ),
        None => format!(
            r#"{{"aud":"https://graph.microsoft.com","iss":"teamsop-emulator","jti":"{jti}"}}"#
        ),
    };
    format!(
        "{}.{}.{}",
        base64::encode_url(HEADER.as_bytes()),
        base64::encode_url(payload.as_bytes()),
        base64::encode_url(&random[12..])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn challenge_text(r: Result<(), Denial>) -> String {
        match r {
            Err(Denial::Challenge(c)) => c.text.clone(),
            other => panic!("no challenge: {other:?}"),
        }
    }

    #[test]
    fn tokens_are_visible_ascii_and_distinct() {
        let t = Tokens::new("cfg".into());
        let a = t.mint(&TokenSpec::forever(), NOW).unwrap().token;
        let b = t.mint(&TokenSpec::forever(), NOW).unwrap().token;
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| (0x21..=0x7e).contains(&c)), "{a}");
        assert_eq!(a.split('.').count(), 3);
        assert!(a.starts_with("eyJ"));
    }

    #[test]
    fn expiry_and_the_configured_token() {
        let t = Tokens::new("cfg".into());
        let m = t.mint(&TokenSpec::lifetime_ms(1000), NOW).unwrap();
        assert_eq!(m.expires_unix_ms, Some(NOW + 1000));
        assert!(t.check(Some(&m.token), NOW + 999).is_ok());
        assert!(matches!(
            t.check(Some(&m.token), NOW + 1000),
            Err(Denial::Expired)
        ));
        assert!(t.check(Some("cfg"), i64::MAX).is_ok());
        assert!(matches!(t.check(None, NOW), Err(Denial::Missing)));
        assert!(matches!(t.check(Some("nope"), NOW), Err(Denial::Unknown)));
        let forever = t.mint(&TokenSpec::lifetime_ms(u64::MAX), NOW).unwrap();
        assert_eq!(forever.expires_unix_ms, Some(i64::MAX));
    }

    #[test]
    fn revocation_demands_claims_of_new_tokens() {
        let t = Tokens::new("cfg".into());
        let old = t.mint(&TokenSpec::forever(), NOW).unwrap().token;
        let other = t.mint(&TokenSpec::forever(), NOW).unwrap().token;
        let c = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
        let r = t
            .revoke(&Revocation::token(old.clone()).with_claims(c), NOW)
            .unwrap();
        assert_eq!((r.revoked, r.claims.as_str()), (1, c));
        assert_eq!(challenge_text(t.check(Some(&old), NOW)), c);
        // Minted before: untouched.
        assert!(t.check(Some(&other), NOW).is_ok());
        // Minted after without the claims, or with others: challenged.
        let bare = t.mint(&TokenSpec::forever(), NOW).unwrap().token;
        assert_eq!(challenge_text(t.check(Some(&bare), NOW)), c);
        let wrong = t
            .mint(&TokenSpec::forever().with_claims(r#"{"x":1}"#), NOW)
            .unwrap()
            .token;
        assert_eq!(challenge_text(t.check(Some(&wrong), NOW)), c);
        // With the same claims, spelt differently: passes.
        let good = t
            .mint(
                &TokenSpec::forever().with_claims(
                    r#"{ "access_token": { "nbf": { "value": "1", "essential": true } } }"#,
                ),
                NOW,
            )
            .unwrap()
            .token;
        assert!(t.check(Some(&good), NOW).is_ok());
        let all = t.revoke(&Revocation::all(), NOW).unwrap();
        assert_eq!(all.revoked, 6);
        assert!(
            all.claims.contains(r#""value":"1700000000""#),
            "{}",
            all.claims
        );
        assert!(matches!(
            t.check(Some("cfg"), NOW),
            Err(Denial::Challenge(_))
        ));
        t.reset();
        assert!(t.check(Some("cfg"), NOW).is_ok());
        assert!(matches!(t.check(Some(&good), NOW), Err(Denial::Unknown)));
    }

    #[test]
    fn self_revocation_after_uses() {
        let t = Tokens::new("cfg".into());
        let tok = t
            .mint(
                &TokenSpec::forever().with_revoke_after_uses(2, Some(r#"{"a":1}"#)),
                NOW,
            )
            .unwrap()
            .token;
        assert!(t.check(Some(&tok), NOW).is_ok());
        assert!(t.check(Some(&tok), NOW).is_ok());
        assert_eq!(challenge_text(t.check(Some(&tok), NOW)), r#"{"a":1}"#);
        assert_eq!(challenge_text(t.check(Some(&tok), NOW)), r#"{"a":1}"#);
        let fresh = t.mint(&TokenSpec::forever(), NOW).unwrap().token;
        assert!(t.check(Some(&fresh), NOW).is_err(), "the demand holds");
        let list = t.list();
        assert_eq!(list.len(), 3);
        assert!(list[0].configured);
        assert_eq!(list[1].uses, 2);
        assert_eq!(list[1].revoked_with.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(list[2].required_claims.as_deref(), Some(r#"{"a":1}"#));
    }

    #[test]
    fn refusals() {
        let t = Tokens::new("cfg".into());
        for (spec, want) in [
            (TokenSpec::forever().with_claims("nope"), "not JSON"),
            (TokenSpec::forever().with_claims("[1]"), "object"),
            (TokenSpec::forever().with_claims("x".repeat(9000)), "longer"),
            (
                TokenSpec {
                    revoke_claims: Some("{}".into()),
                    ..Default::default()
                },
                "needs revoke_after_uses",
            ),
        ] {
            let e = t.mint(&spec, NOW).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        assert!(!t.revoke(&Revocation::default(), NOW).unwrap_err().0);
        let both = Revocation {
            token: Some("cfg".into()),
            all: true,
            claims: None,
        };
        assert!(!t.revoke(&both, NOW).unwrap_err().0);
        assert!(t.revoke(&Revocation::token("zzz"), NOW).unwrap_err().0);
    }

    #[test]
    fn challenge_header() {
        assert_eq!(
            claims_challenge(
                r#"{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}"#
            ),
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0=""#
        );
    }
}
