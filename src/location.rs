//! The `Location` of a 202 Accepted, parsed into the ids of the operation it names.
//!
//! Accepted forms (see docs/GRAPH.md): `/teams('ID')/operations('OP')`, the same
//! for `/chats`, the unquoted `/teams(ID)/operations(OP)`, the path form
//! `/teams/ID/operations/OP`, the older `/groups('ID')/team/operations('OP')` in the
//! same three forms (a team's id is its group's id, so it names team `ID`), any of
//! them after a version segment (`/beta`, `/v1.0`), and an absolute URL with the
//! base's scheme, host and port (and path prefix). Nothing of the text is sent as
//! is: the URL is rebuilt from the decoded ids.

use reqwest::Url;

use crate::endpoint::{check_id, is_version_segment, BaseUrl, OperationRef, Parent};
use crate::error::{Error, Result};

/// Parses `location` against `base`.
pub fn parse_location(location: &str, base: &BaseUrl) -> Result<OperationRef> {
    if location.is_empty() {
        return Err(Error::invalid("the location is empty"));
    }
    // Characters a URL parser would drop or rewrite (tabs, newlines, `\` read as
    // `/`): refused, so the ids read here are the ids the URL names.
    if location.bytes().any(|b| b.is_ascii_control() || b == b'\\') {
        return Err(Error::invalid(
            "the location holds control characters or backslashes",
        ));
    }
    if location.starts_with('/') && !location.starts_with("//") {
        return parse_path(location);
    }
    let url = Url::parse(location).map_err(|_| {
        Error::invalid("the location is neither a Graph path (\"/teams('ID')/operations('OP')\") nor an absolute URL")
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "the location may not contain user information",
        ));
    }
    if !base.same_origin(&url) {
        return Err(Error::invalid(
            "the location names another host, scheme or port than the client's base URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            "the location may not have a query or a fragment",
        ));
    }
    // The path `url` checked, not the raw text (which may differ, e.g. after a
    // full-width host name mapped to ASCII).
    let rest = url
        .path()
        .strip_prefix(base.root_path())
        .filter(|rest| rest.starts_with('/'));
    match rest {
        Some(rest) => parse_path(rest),
        None => Err(Error::invalid(
            "the location's path is outside the client's base URL",
        )),
    }
}

/// Parses `/[version/]teams|chats<key>/operations<key>` or
/// `/[version/]groups<key>/team/operations<key>`, where `<key>` is `('ID')`, `(ID)`
/// or `/ID`.
fn parse_path(path: &str) -> Result<OperationRef> {
    if path.contains(['?', '#']) {
        return Err(Error::invalid(
            "the location may not have a query or a fragment",
        ));
    }
    let mut rest = &path[1..];
    let mut version = None;
    if let Some((first, after)) = rest.split_once('/') {
        if is_version_segment(first) {
            version = Some(first.to_owned());
            rest = after;
        }
    }
    // (parent, its segment, whether `/team` follows the key)
    let forms = [
        (Parent::Team, "teams", false),
        (Parent::Chat, "chats", false),
        (Parent::Team, "groups", true),
    ];
    let (parent, rest, via_group) = forms
        .into_iter()
        .find_map(|(parent, segment, via_group)| {
            strip_prefix_ignore_case(rest, segment).map(|r| (parent, r, via_group))
        })
        .ok_or_else(refused)?;
    let (parent_id, mut rest) = take_key(rest)?;
    if via_group {
        rest = strip_prefix_ignore_case(rest, "/team")
            .filter(|r| r.starts_with('/'))
            .ok_or_else(refused)?;
    }
    let rest = rest.strip_prefix('/').ok_or_else(refused)?;
    let rest = strip_prefix_ignore_case(rest, "operations").ok_or_else(refused)?;
    let (operation_id, rest) = take_key(rest)?;
    if !rest.is_empty() {
        return Err(refused());
    }
    let parent_id = percent_decode(&parent_id)?;
    let operation_id = percent_decode(&operation_id)?;
    check_id(&parent_id, "the location's chat or team id")?;
    check_id(&operation_id, "the location's operation id")?;
    Ok(OperationRef {
        parent,
        parent_id,
        operation_id,
        version,
    })
}

fn refused() -> Error {
    Error::invalid(
        "the location is not a Graph operation path: expected /teams('ID')/operations('OP'), /chats('ID')/operations('OP') or /groups('ID')/team/operations('OP'), in the ('ID'), (ID) or /ID forms",
    )
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Reads one key after a segment name: `('ID')` (with `''` for a quote), `(ID)` or
/// `/ID`. Returns the raw (still percent-encoded) id and what follows.
fn take_key(text: &str) -> Result<(String, &str)> {
    if let Some(quoted) = text.strip_prefix("('") {
        let mut id = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                id.push(c);
                continue;
            }
            if quoted[i + 1..].starts_with('\'') {
                id.push('\'');
                chars.next();
                continue;
            }
            let rest = quoted[i + 1..].strip_prefix(')').ok_or_else(refused)?;
            return Ok((id, rest));
        }
        Err(refused())
    } else if let Some(bare) = text.strip_prefix('(') {
        let end = bare.find(')').ok_or_else(refused)?;
        let id = &bare[..end];
        if id.contains(['(', '\'', '/']) {
            return Err(refused());
        }
        Ok((id.to_owned(), &bare[end + 1..]))
    } else if let Some(segment) = text.strip_prefix('/') {
        let end = segment.find('/').unwrap_or(segment.len());
        let id = &segment[..end];
        if id.contains(['(', ')', '\'']) {
            return Err(refused());
        }
        Ok((id.to_owned(), &segment[end..]))
    } else {
        Err(refused())
    }
}

/// Decodes `%XX` escapes once; a malformed escape or non-UTF-8 result is refused.
fn percent_decode(text: &str) -> Result<String> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .filter(|_| bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit())
                .ok_or_else(|| Error::invalid("the location has a malformed percent-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::invalid("the location's percent-escapes do not decode to UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn base() -> BaseUrl {
        BaseUrl::parse("https://graph.microsoft.com/beta").unwrap()
    }

    fn ok(loc: &str) -> (Parent, String, String, Option<String>) {
        let r = parse_location(loc, &base()).unwrap_or_else(|e| panic!("{loc}: {e}"));
        (r.parent, r.parent_id, r.operation_id, r.version)
    }

    fn url(loc: &str) -> String {
        let b = base();
        b.operation_url(&parse_location(loc, &b).unwrap(), None)
            .to_string()
    }

    #[test]
    fn every_documented_form() {
        let team = (Parent::Team, "t1".to_string(), "o1".to_string(), None);
        assert_eq!(ok("/teams('t1')/operations('o1')"), team);
        assert_eq!(ok("/teams(t1)/operations(o1)"), team);
        assert_eq!(ok("/teams/t1/operations/o1"), team);
        assert_eq!(ok("/Teams('t1')/Operations('o1')"), team);
        assert_eq!(
            ok("https://graph.microsoft.com/teams('t1')/operations('o1')"),
            team
        );
        assert_eq!(
            ok("https://graph.microsoft.com:443/teams/t1/operations/o1"),
            team
        );
        assert_eq!(
            ok("/chats('19:abc@thread.v2')/operations('op-1')"),
            (Parent::Chat, "19:abc@thread.v2".into(), "op-1".into(), None)
        );
        assert_eq!(
            ok("https://graph.microsoft.com/v1.0/teams('t1')/operations('o1')").3,
            Some("v1.0".to_string())
        );
        assert_eq!(
            ok("/beta/teams/t1/operations/o1").3,
            Some("beta".to_string())
        );
    }

    #[test]
    fn older_groups_form_names_the_team() {
        let team = (Parent::Team, "g1".to_string(), "o1".to_string(), None);
        assert_eq!(ok("/groups('g1')/team/operations('o1')"), team);
        assert_eq!(ok("/groups(g1)/team/operations(o1)"), team);
        assert_eq!(ok("/groups/g1/team/operations/o1"), team);
        assert_eq!(ok("/Groups('g1')/Team/Operations('o1')"), team);
        assert_eq!(
            ok("https://graph.microsoft.com/groups('g1')/team/operations('o1')"),
            team
        );
        let versioned = ok("/v1.0/groups/g1/team/operations/o1");
        assert_eq!(
            (versioned.1, versioned.3),
            ("g1".into(), Some("v1.0".into()))
        );
        assert_eq!(
            url("/groups('02bd9fd6-8f93-4758-87c3-1fb73740a315')/team/operations('a%2Fb')"),
            "https://graph.microsoft.com/beta/teams/02bd9fd6-8f93-4758-87c3-1fb73740a315/operations/a%2Fb"
        );
        assert_eq!(
            url("https://graph.microsoft.com/v1.0/groups(g)/team/operations(o)"),
            "https://graph.microsoft.com/v1.0/teams/g/operations/o"
        );
    }

    #[test]
    fn rebuilt_urls_encode_ids() {
        assert_eq!(
            url("/chats('19%3Aabc%40thread.v2')/operations('a%2Fb')"),
            "https://graph.microsoft.com/beta/chats/19:abc@thread.v2/operations/a%2Fb"
        );
        assert_eq!(
            url("/teams('it''s')/operations('x y')"),
            "https://graph.microsoft.com/beta/teams/it%27s/operations/x%20y"
        );
        assert_eq!(
            url("https://graph.microsoft.com/v1.0/teams('t')/operations('o')"),
            "https://graph.microsoft.com/v1.0/teams/t/operations/o"
        );
        // decoded once: %252F is the three characters %2F, sent as %252F
        assert_eq!(
            url("/teams/a%252F/operations/o"),
            "https://graph.microsoft.com/beta/teams/a%252F/operations/o"
        );
    }

    #[test]
    fn everything_else_is_refused() {
        for loc in [
            "",
            "teams('t')/operations('o')",
            "//evil.example/teams/t/operations/o",
            "/users/u/operations/o",
            "/teams('t')",
            "/teams('t')/operations",
            "/teams('t')/operations('o')/extra",
            "/teams('t')/channels('c')",
            "/teams('t')/operations('o')?x=1",
            "/teams('t')/operations('o')#f",
            "/teams('t)/operations('o')",
            "/teams(t/operations(o)",
            "/teams/t/operations/o/",
            "/teams//operations/o",
            "/teams('')/operations('o')",
            "/teams('.')/operations('o')",
            "/teams/../operations/o",
            "/teams/%2e%2e/operations/o",
            "/teams/%2/operations/o",
            "/teams/%zz/operations/o",
            "/teams/%ff/operations/o",
            "/teams/%00/operations/o",
            "/teams('a\tb')/operations('o')",
            "/teams('a\\b')/operations('o')",
            "https://graph.microsoft.com/teams/t/operations/o\t1",
            "https://graph.microsoft.com\\other/teams/t/operations/o",
            "https://evil.example/teams('t')/operations('o')",
            "http://graph.microsoft.com/teams('t')/operations('o')",
            "https://graph.microsoft.com:8443/teams('t')/operations('o')",
            "https://user@graph.microsoft.com/teams('t')/operations('o')",
            "https://graph.microsoft.com.evil.example/teams('t')/operations('o')",
            "javascript:alert(1)",
            // A typo in one docs page: no key after `teams`.
            "/teams{t}/operations('o')",
            "/teams{t}/operations(o)",
            "/teamst/operations/o",
            // The groups form only with `/team` between the keys.
            "/groups('g')/operations('o')",
            "/groups('g')/teams/operations('o')",
            "/groups('g')/team",
            "/groups('g')/team/",
            "/groups('g')/team/operations",
            "/groups('g')/team('x')/operations('o')",
            "/groups('g')/teamoperations('o')",
            "/groups('g')/team/operations('o')/extra",
            "/groups('g')/channels('c')",
            "/groups/g//team/operations/o",
            "/groups//team/operations/o",
            "/groups('')/team/operations('o')",
            "/groups/../team/operations/o",
            "/group('g')/team/operations('o')",
            "/groupsg/team/operations/o",
            "/groups{g}/team/operations('o')",
            "/chats('c')/team/operations('o')",
        ] {
            let err = parse_location(loc, &base()).unwrap_err();
            assert_eq!(*err.kind(), ErrorKind::InvalidArgument, "{loc}");
        }
    }

    #[test]
    fn absolute_location_is_read_as_the_url_parser_reads_it() {
        // A full-width host maps to ASCII: the ids come from the parsed path.
        let loc = "https:\u{ff47}raph.microsoft.com/teams/t/operations/o";
        assert_eq!(ok(loc).1, "t");
        let b = BaseUrl::parse("http://127.0.0.1:8080/graph/beta").unwrap();
        let loc = "http:/\u{ff11}\u{ff12}\u{ff17}.0.0.1:8080/graph/teams/t/operations/o";
        assert_eq!(parse_location(loc, &b).unwrap().operation_id, "o");
    }

    #[test]
    fn absolute_location_respects_path_prefix() {
        let b = BaseUrl::parse("http://127.0.0.1:8080/graph/beta").unwrap();
        let r =
            parse_location("http://127.0.0.1:8080/graph/v1.0/teams/t/operations/o", &b).unwrap();
        assert_eq!(
            b.operation_url(&r, None).as_str(),
            "http://127.0.0.1:8080/graph/v1.0/teams/t/operations/o"
        );
        assert!(parse_location("http://127.0.0.1:8080/other/teams/t/operations/o", &b).is_err());
        assert!(parse_location("http://localhost:8080/graph/teams/t/operations/o", &b).is_err());
    }
}
