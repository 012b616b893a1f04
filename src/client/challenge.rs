//! The claims challenge of continuous access evaluation: a 401 carrying
//! `WWW-Authenticate: Bearer realm="", ..., error="insufficient_claims",
//! claims="<base64 of a JSON object>"` asks for a new token made with those claims.

/// The decoded claims of a `WWW-Authenticate` value, when it is a Bearer challenge
/// with `error="insufficient_claims"` and a `claims` parameter that decodes (base64,
/// standard or URL-safe, padded or not) to UTF-8 text.
pub(crate) fn claims_of(www_authenticate: &str) -> Option<String> {
    let params = bearer_params(www_authenticate)?;
    let error = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("error"))?;
    if error.1 != "insufficient_claims" {
        return None;
    }
    let (_, claims) = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("claims"))?;
    let bytes = crate::base64::decode(claims)?;
    let text = String::from_utf8(bytes).ok()?;
    (!text.is_empty() && !text.contains('\0')).then_some(text)
}

/// The `name=value` parameters of the Bearer challenge (RFC 9110 auth-param:
/// token or quoted-string values), or `None` when there is no Bearer challenge.
fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim_start();
    let scheme_end = rest
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    if !rest[..scheme_end].eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    let mut s = &rest[scheme_end..];
    loop {
        s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if s.is_empty() {
            return Some(params);
        }
        let eq = s.find('=')?;
        let name = s[..eq].trim().to_owned();
        s = s[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = s.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => out.push(chars.next()?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => out.push(c),
                }
            }
            s = &quoted[end?..];
            value = out;
        } else {
            let end = s.find(',').unwrap_or(s.len());
            value = s[..end].trim().to_owned();
            s = &s[end..];
        }
        params.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAPH: &str = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0=""#;

    #[test]
    fn graph_challenge_decodes() {
        assert_eq!(
            claims_of(GRAPH).as_deref(),
            Some(r#"{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}"#)
        );
    }

    #[test]
    fn other_challenges_carry_no_claims() {
        for header in [
            r#"Bearer realm="", error="invalid_token""#,
            r#"Basic realm="x", error="insufficient_claims", claims="e30=""#,
            r#"Bearer error="insufficient_claims""#,
            r#"Bearer error="insufficient_claims", claims="!!!""#,
            r#"Bearer error="insufficient_claims", claims="""#,
            r#"Bearer error="insufficient_claims", claims="/w==""#,
            "",
            "Bearer",
        ] {
            assert_eq!(claims_of(header), None, "{header}");
        }
    }

    #[test]
    fn forms_of_parameters() {
        assert_eq!(
            claims_of("bearer error=insufficient_claims, claims=e30").as_deref(),
            Some("{}")
        );
        assert_eq!(
            claims_of(r#"Bearer claims="eyJhIjoiXCIifQ", ERROR="insufficient_claims""#).as_deref(),
            Some(r#"{"a":"\""}"#)
        );
    }
}
