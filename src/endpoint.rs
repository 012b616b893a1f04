//! Where requests go: the Graph base URL (cloud, version), the rules for which hosts
//! may be reached over plain HTTP, and how an operation's URL is built from its ids.

use std::fmt::Write as _;
use std::net::IpAddr;

use reqwest::Url;

use crate::error::{Error, Result};

/// A national cloud, each with its own Graph root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// `https://graph.microsoft.com`
    Global,
    /// `https://graph.microsoft.us` (US Government L4, GCC High)
    UsGov,
    /// `https://dod-graph.microsoft.us` (US Government L5, DoD)
    UsGovDod,
    /// `https://microsoftgraph.chinacloudapi.cn` (operated by 21Vianet)
    China,
}

impl Cloud {
    /// The cloud's Graph root, without a version.
    pub fn root(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The cloud's beta endpoint, the base URL teamsAsyncOperation needs.
    pub fn beta_url(self) -> String {
        format!("{}/beta", self.root())
    }
}

/// The two kinds of resource that own operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parent {
    /// `/chats/{id}`
    Chat,
    /// `/teams/{id}`
    Team,
}

impl Parent {
    fn segment(self) -> &'static str {
        match self {
            Parent::Chat => "chats",
            Parent::Team => "teams",
        }
    }
}

/// One operation named by its ids, with the Graph version to ask, if a Location gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRef {
    /// Chat or team.
    pub parent: Parent,
    /// The chat or team id, decoded.
    pub parent_id: String,
    /// The operation id, decoded.
    pub operation_id: String,
    /// `beta` or `v1.0` when the Location named one; otherwise the base URL's.
    pub version: Option<String>,
}

impl OperationRef {
    /// An operation of a chat or team; both ids are checked.
    pub fn new(parent: Parent, parent_id: &str, operation_id: &str) -> Result<OperationRef> {
        check_id(parent_id, "the chat or team id")?;
        check_id(operation_id, "the operation id")?;
        Ok(OperationRef {
            parent,
            parent_id: parent_id.to_owned(),
            operation_id: operation_id.to_owned(),
            version: None,
        })
    }
}

/// An id is any text but empty, `.` and `..` (which would move up the path once
/// decoded by a server) or text holding NUL.
pub(crate) fn check_id(id: &str, what: &str) -> Result<()> {
    match id {
        "" => Err(Error::invalid(format!("{what} is empty"))),
        "." | ".." => Err(Error::invalid(format!("{what} may not be \"{id}\""))),
        _ if id.contains('\0') => Err(Error::invalid(format!("{what} contains NUL"))),
        _ => Ok(()),
    }
}

/// True for Graph version segments (`beta`, `v1.0`, `v2.0`, ...).
pub(crate) fn is_version_segment(segment: &str) -> bool {
    segment.eq_ignore_ascii_case("beta")
        || segment
            .strip_prefix('v')
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(major, minor)| {
                !major.is_empty()
                    && !minor.is_empty()
                    && major
                        .bytes()
                        .chain(minor.bytes())
                        .all(|b| b.is_ascii_digit())
            })
}

/// Loopback hosts, the only ones plain `http://` may reach.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A checked base URL: scheme, host, port, an optional path prefix and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    url: Url,
    /// The path before the version segment, without a trailing slash ("" for none).
    root: String,
    /// The version segment, if the path ends with one.
    version: Option<String>,
}

impl BaseUrl {
    /// Checks `text`: `https://` anywhere, `http://` only for loopback, no user
    /// info, query or fragment, and nothing a URL parser would silently drop or
    /// rewrite (control characters, spaces, backslashes).
    pub fn parse(text: &str) -> Result<BaseUrl> {
        if let Some(c) = text
            .chars()
            .find(|&c| c.is_control() || c.is_whitespace() || c == '\\')
        {
            return Err(Error::invalid(format!(
                "the base URL may not contain {}; nothing was changed",
                describe_char(c)
            )));
        }
        let url = Url::parse(text)
            .map_err(|e| Error::invalid(format!("the base URL is not a valid URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(Error::invalid(
                    "the base URL must use https:// (http:// is allowed only for loopback hosts)",
                ))
            }
            other => {
                return Err(Error::invalid(format!(
                    "the base URL scheme {other}:// is not supported (use https://)"
                )))
            }
        }
        if url.host().is_none() {
            return Err(Error::invalid("the base URL has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::invalid(
                "the base URL may not contain user information",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::invalid(
                "the base URL may not have a query or a fragment",
            ));
        }
        let path = url.path().trim_end_matches('/');
        let (root, version) = match path.rsplit_once('/') {
            Some((root, last)) if is_version_segment(last) => {
                (root.to_owned(), Some(last.to_owned()))
            }
            _ => (path.to_owned(), None),
        };
        Ok(BaseUrl { url, root, version })
    }

    /// The base of a national cloud's beta endpoint.
    pub fn for_cloud(cloud: Cloud) -> BaseUrl {
        BaseUrl::parse(&cloud.beta_url()).expect("cloud roots are valid base URLs")
    }

    /// The URL as configured.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// True if `other` has this base's scheme, host and port.
    pub(crate) fn same_origin(&self, other: &Url) -> bool {
        self.url.scheme() == other.scheme()
            && self.url.host() == other.host()
            && self.url.port_or_known_default() == other.port_or_known_default()
    }

    /// The path before the version segment ("" when the base has none).
    pub(crate) fn root_path(&self) -> &str {
        &self.root
    }

    /// The URL of `op`, each id one percent-encoded path segment, with an optional
    /// `$select`.
    pub fn operation_url(&self, op: &OperationRef, select: Option<&str>) -> Url {
        self.url_in_version(self.version_of(op), &op.path_in_version(), select)
    }

    /// The Graph version a request for `op` goes to: the one its Location named,
    /// or the base's.
    pub(crate) fn version_of<'a>(&'a self, op: &'a OperationRef) -> Option<&'a str> {
        op.version.as_deref().or(self.version.as_deref())
    }

    /// `{root}/{version}{path}` with an optional `$select`; `path` starts with `/`
    /// and is already percent-encoded (see [`OperationRef::path_in_version`]).
    pub(crate) fn url_in_version(
        &self,
        version: Option<&str>,
        path: &str,
        select: Option<&str>,
    ) -> Url {
        let mut url = self.url.clone();
        let mut full = String::with_capacity(self.root.len() + path.len() + 8);
        full.push_str(&self.root);
        if let Some(version) = version {
            full.push('/');
            full.push_str(version);
        }
        full.push_str(path);
        url.set_path(&full);
        match select {
            Some(fields) => url.set_query(Some(&format!("$select={fields}"))),
            None => url.set_query(None),
        }
        url
    }

    /// `{root}/{version}/$batch`: Graph JSON batching for that version.
    pub(crate) fn batch_url(&self, version: Option<&str>) -> Url {
        self.url_in_version(version, "/$batch", None)
    }
}

impl OperationRef {
    /// `/chats/{id}/operations/{id}` (or `/teams/...`), each id percent-encoded as
    /// one segment: the operation's URL relative to a version root.
    pub(crate) fn path_in_version(&self) -> String {
        let mut path = String::with_capacity(self.parent_id.len() + self.operation_id.len() + 24);
        path.push('/');
        path.push_str(self.parent.segment());
        path.push('/');
        encode_segment(&self.parent_id, &mut path);
        path.push_str("/operations/");
        encode_segment(&self.operation_id, &mut path);
        path
    }
}

/// A character refused in a base URL, named for a message.
fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '\\' => "a backslash".to_owned(),
        '\t' => "a tab".to_owned(),
        '\r' => "a carriage return".to_owned(),
        '\n' => "a line feed".to_owned(),
        c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
        c => format!("the white space U+{:04X}", u32::from(c)),
    }
}

/// Percent-encodes `id` as one path segment: only ASCII letters, digits and
/// `-._~:@` stay as they are (Graph's own URLs keep `:` and `@` of chat ids).
pub(crate) fn encode_segment(id: &str, out: &mut String) {
    for &b in id.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'@') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// Checks an OData `$select` list: letters, digits and `,._/@` only.
pub(crate) fn check_select(fields: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, ',' | '.' | '_' | '/' | '@');
    match fields.chars().find(|&c| !ok(c)) {
        None => Ok(()),
        Some(c) => Err(Error::invalid(format!(
            "$select may hold only letters, digits and , . _ / @ (found {c:?})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn url_of(base: &str, parent: Parent, id: &str, op: &str) -> String {
        let base = BaseUrl::parse(base).unwrap();
        let r = OperationRef::new(parent, id, op).unwrap();
        base.operation_url(&r, None).to_string()
    }

    #[test]
    fn seed_chat_url() {
        assert_eq!(
            url_of("https://graph.microsoft.com/beta", Parent::Chat, "19:c253a29b5f694b55a6baad8e83510af7@thread.v2", "2432b57b"),
            "https://graph.microsoft.com/beta/chats/19:c253a29b5f694b55a6baad8e83510af7@thread.v2/operations/2432b57b"
        );
    }

    #[test]
    fn hostile_ids_stay_one_segment() {
        let cases = [
            ("a/b", "a%2Fb"),
            ("a?b=c", "a%3Fb%3Dc"),
            ("a#frag", "a%23frag"),
            ("100%", "100%25"),
            ("%2e%2e", "%252e%252e"),
            ("a b", "a%20b"),
            ("a\\b", "a%5Cb"),
            ("...", "..."),
            ("x'y(z)", "x%27y%28z%29"),
            ("é", "%C3%A9"),
            ("../../users", "..%2F..%2Fusers"),
        ];
        for (id, encoded) in cases {
            let url = url_of("http://127.0.0.1:9/beta", Parent::Team, id, "op");
            assert_eq!(
                url,
                format!("http://127.0.0.1:9/beta/teams/{encoded}/operations/op"),
                "{id:?}"
            );
            let parsed = Url::parse(&url).unwrap();
            assert_eq!(parsed.path_segments().unwrap().count(), 5, "{id:?}");
            assert_eq!(parsed.query(), None);
        }
    }

    #[test]
    fn dot_and_empty_ids_are_refused() {
        for id in ["", ".", "..", "a\0"] {
            let err = OperationRef::new(Parent::Chat, id, "op").unwrap_err();
            assert_eq!(*err.kind(), ErrorKind::InvalidArgument, "{id:?}");
            let err = OperationRef::new(Parent::Chat, "c", id).unwrap_err();
            assert_eq!(*err.kind(), ErrorKind::InvalidArgument, "{id:?}");
        }
    }

    #[test]
    fn clouds_build_beta_urls() {
        let r = OperationRef::new(Parent::Team, "t", "o").unwrap();
        let expect = [
            (
                Cloud::Global,
                "https://graph.microsoft.com/beta/teams/t/operations/o",
            ),
            (
                Cloud::UsGov,
                "https://graph.microsoft.us/beta/teams/t/operations/o",
            ),
            (
                Cloud::UsGovDod,
                "https://dod-graph.microsoft.us/beta/teams/t/operations/o",
            ),
            (
                Cloud::China,
                "https://microsoftgraph.chinacloudapi.cn/beta/teams/t/operations/o",
            ),
        ];
        for (cloud, url) in expect {
            assert_eq!(
                BaseUrl::for_cloud(cloud).operation_url(&r, None).as_str(),
                url
            );
        }
    }

    #[test]
    fn select_and_versions() {
        let base = BaseUrl::parse("https://graph.microsoft.com/beta/").unwrap();
        let mut r = OperationRef::new(Parent::Team, "t", "o").unwrap();
        assert_eq!(
            base.operation_url(&r, Some("status,error")).as_str(),
            "https://graph.microsoft.com/beta/teams/t/operations/o?$select=status,error"
        );
        r.version = Some("v1.0".into());
        assert_eq!(
            base.operation_url(&r, None).as_str(),
            "https://graph.microsoft.com/v1.0/teams/t/operations/o"
        );
        let proxied = BaseUrl::parse("https://proxy.example/graph/beta").unwrap();
        assert_eq!(proxied.root_path(), "/graph");
        let bare = BaseUrl::parse("https://proxy.example").unwrap();
        r.version = None;
        assert_eq!(
            bare.operation_url(&r, None).as_str(),
            "https://proxy.example/teams/t/operations/o"
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080/beta",
            "http://127.9.9.9/beta",
            "http://[::1]:9/beta",
            "http://localhost:1/beta",
            "http://LOCALHOST/beta",
            "https://graph.microsoft.us/beta",
        ] {
            assert!(BaseUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://127.0.0.1.evil.example/beta",
            "http://evil.example/beta",
            "http://user@127.0.0.1/beta",
            "https://user:pw@graph.microsoft.com/beta",
            "http://10.0.0.1/beta",
            "http://[::2]/beta",
            "http://localhost.evil.example/beta",
            "ftp://127.0.0.1/beta",
            "file:///etc/passwd",
            "https://graph.microsoft.com/beta?x=1",
            "https://graph.microsoft.com/beta#f",
            "graph.microsoft.com/beta",
            "",
        ] {
            let err = BaseUrl::parse(bad).unwrap_err();
            assert_eq!(*err.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn control_characters_spaces_and_backslashes_are_refused() {
        for bad in [
            "http://127.0.0.1:9/beta\nX-Injected: 1",
            "http://127.0.0.1:9/beta\r\nX: 1",
            "http://127.0.0.1:9/be\tta",
            "http://127.0.0.1:9/beta\u{1}",
            "http://127.0.0.1:9/beta\u{7f}",
            "http://127.0.0.1:9/beta\u{85}",
            "http://127.0.0.1:9/be ta",
            " http://127.0.0.1:9/beta",
            "http://127.0.0.1:9/beta ",
            "http://127.0.0.1:9\\beta",
            "https://graph.microsoft.com\\@evil.example/beta",
            "https://graph.microsoft.com/beta\u{a0}",
            "https://graph.micro\u{0}soft.com/beta",
        ] {
            let err = BaseUrl::parse(bad).unwrap_err();
            assert_eq!(*err.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn select_charset() {
        assert!(check_select("status,error,@odata.context,a/b_c").is_ok());
        for bad in ["status error", "a&b", "a=b", "a#", "é", "a?"] {
            assert!(check_select(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn version_segments() {
        for v in ["beta", "v1.0", "v2.0", "BETA"] {
            assert!(is_version_segment(v), "{v}");
        }
        for v in ["v1", "v.0", "1.0", "vx.0", "beta2", ""] {
            assert!(!is_version_segment(v), "{v}");
        }
    }
}
