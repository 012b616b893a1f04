//! The bearer token of a Graph request: which one it carries, and the 401 it
//! gets when the token is refused (Graph's body and `WWW-Authenticate`).

use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

use crate::clock;
use crate::graph_answer;
use crate::graph_format::RequestIds;
use crate::recorder::{Counter, Recorder};
use crate::response_body::RespBody;
use crate::tokens::{Denial, Tokens};

/// What a request's Authorization header holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credential<'a> {
    /// No header, or an empty one.
    Absent,
    /// `Bearer TOKEN` (the scheme in any case; the token trimmed, not empty).
    Bearer(&'a str),
    /// Anything else.
    Other,
}

/// Reads the Authorization header.
pub(crate) fn credential(headers: &HeaderMap) -> Credential<'_> {
    let Some(v) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    else {
        return Credential::Absent;
    };
    let bearer = v
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer "));
    match v.get(7..).map(str::trim) {
        Some(token) if bearer && !token.is_empty() => Credential::Bearer(token),
        _ => Credential::Other,
    }
}

/// Graph's `WWW-Authenticate` when no token came.
const NO_TOKEN_CHALLENGE: &str = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000""#;
/// Graph's `WWW-Authenticate` for a token it does not accept.
const INVALID_TOKEN_CHALLENGE: &str = r#"Bearer realm="", error="invalid_token""#;

/// `None` when the request's token passes (counting a use of it), else the
/// 401 to send (counted in the stats).
pub(crate) fn refusal(
    tokens: &Tokens,
    recorder: &Recorder,
    headers: &HeaderMap,
    ids: &RequestIds,
) -> Option<Response<RespBody>> {
    let denial = match credential(headers) {
        Credential::Absent => Denial::Missing,
        Credential::Other => Denial::Unknown,
        Credential::Bearer(t) => match tokens.check(Some(t), clock::unix_ms_now()) {
            Ok(()) => return None,
            Err(d) => d,
        },
    };
    recorder.count(Counter::Unauthorized, 1);
    let (message, challenge) = match &denial {
        Denial::Missing => ("Access token is empty.", NO_TOKEN_CHALLENGE.to_owned()),
        Denial::Unknown => (
            "Access token validation failure. Invalid audience.",
            INVALID_TOKEN_CHALLENGE.to_owned(),
        ),
        Denial::Expired => (
            "Access token has expired or is not yet valid.",
            INVALID_TOKEN_CHALLENGE.to_owned(),
        ),
        Denial::Challenge(claims) => {
            recorder.count(Counter::ClaimsChallenges, 1);
            (
                "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenCreatedWithOutdatedPolicies",
                claims.challenge(),
            )
        }
    };
    let mut resp = graph_answer::error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
        ids,
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    Some(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials() {
        let mut h = HeaderMap::new();
        assert_eq!(credential(&h), Credential::Absent);
        h.insert(AUTHORIZATION, HeaderValue::from_static("  "));
        assert_eq!(credential(&h), Credential::Absent);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert_eq!(credential(&h), Credential::Bearer("t"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  t "));
        assert_eq!(credential(&h), Credential::Bearer("t"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer"));
        assert_eq!(credential(&h), Credential::Other);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer   "));
        assert_eq!(credential(&h), Credential::Other);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic t"));
        assert_eq!(credential(&h), Credential::Other);
    }

    #[test]
    fn refusals_carry_graph_challenges() {
        let tokens = Tokens::new("t".into());
        let rec = Recorder::new(false);
        let ids = RequestIds::new(None);
        let mut h = HeaderMap::new();
        let r = refusal(&tokens, &rec, &h, &ids).unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], NO_TOKEN_CHALLENGE);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer u"));
        let r = refusal(&tokens, &rec, &h, &ids).unwrap();
        assert_eq!(r.headers()[WWW_AUTHENTICATE], INVALID_TOKEN_CHALLENGE);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert!(refusal(&tokens, &rec, &h, &ids).is_none());
        let s = rec.stats();
        assert_eq!((s.unauthorized, s.claims_challenges), (2, 0));
    }
}
