//! String → `parse_location` against a few base URLs, and the same string as a base
//! URL (`BaseUrl::parse`).
//!
//! For an accepted Location the operation URL is rebuilt with
//! `BaseUrl::operation_url` and checked:
//! - the same scheme, host and port as the base;
//! - exactly the base's path segments, then the version (the Location's, else the
//!   base's), then `chats|teams`, the parent id, `operations`, the operation id;
//! - no query unless `$select` is given, then exactly `$select=<fields>`; no fragment;
//! - each id segment is canonical percent-encoding and decodes back to the id;
//! - the rebuilt URL, read back as a Location, names the same operation;
//! - an absolute Location means what `url` says it means: its own path, read by
//!   `url`, lies under the base's path and names the same operation.
//!
//! Every refusal is `ErrorKind::InvalidArgument`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use teamsop::{parse_location, BaseUrl, ErrorKind, OperationRef, Parent};
use url::Url;

/// Bases with and without a version, a path prefix, a port, plain loopback HTTP,
/// IPv6, a trailing slash and an escaped prefix.
const BASES: [&str; 7] = [
    "https://graph.microsoft.com/beta",
    "https://graph.microsoft.com",
    "http://127.0.0.1:8080/graph/beta",
    "https://graph.microsoft.us/v1.0/",
    "http://[::1]:9/a/b/v2.0",
    "http://localhost:1/pre%20fix/BETA",
    "https://microsoftgraph.chinacloudapi.cn:443/beta",
];

const SELECTS: [Option<&str>; 3] = [None, Some("status,error"), Some("@odata.context,a/b_c.d")];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    thread_local! {
        static PARSED: Vec<Base> = BASES.iter().map(|b| Base::new(b)).collect();
    }
    PARSED.with(|bases| {
        for base in bases {
            check_location(text, base);
        }
    });
    check_base(text);
});

/// A base with the parts the checks need, worked out here from `url`'s reading,
/// not from the library's.
struct Base {
    base: BaseUrl,
    url: Url,
    /// The path segments before the version.
    root: Vec<String>,
    version: Option<String>,
}

impl Base {
    fn new(text: &str) -> Base {
        let base = BaseUrl::parse(text).unwrap_or_else(|e| panic!("base {text}: {e}"));
        Base::from(base).expect("a fuzz base")
    }

    fn from(base: BaseUrl) -> Option<Base> {
        let url = Url::parse(base.as_str()).expect("a BaseUrl is a URL");
        let path = url.path().trim_end_matches('/');
        let mut root: Vec<String> = if path.is_empty() {
            Vec::new()
        } else {
            path.strip_prefix('/')?
                .split('/')
                .map(str::to_owned)
                .collect()
        };
        let version = match root.last() {
            Some(last) if is_version(last) => root.pop(),
            _ => None,
        };
        Some(Base {
            base,
            url,
            root,
            version,
        })
    }

    fn root_path(&self) -> String {
        self.root.iter().map(|s| format!("/{s}")).collect()
    }
}

/// `beta` (any case) or `v<digits>.<digits>`.
fn is_version(segment: &str) -> bool {
    if segment.eq_ignore_ascii_case("beta") {
        return true;
    }
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

fn check_location(text: &str, base: &Base) {
    let r = match parse_location(text, &base.base) {
        Ok(r) => r,
        Err(e) => {
            assert_eq!(*e.kind(), ErrorKind::InvalidArgument, "{text:?}: {e}");
            return;
        }
    };
    check_ids(&r, text);
    if let Some(v) = &r.version {
        assert!(is_version(v), "{text:?}: version {v:?}");
    }
    let version = r.version.clone().or_else(|| base.version.clone());

    for select in SELECTS {
        check_rebuilt(base, &r, version.as_deref(), select, text);
    }

    // Read back as a Location, the rebuilt URL names the same operation.
    let rebuilt = base.base.operation_url(&r, None);
    let again = parse_location(rebuilt.as_str(), &base.base)
        .unwrap_or_else(|e| panic!("{text:?}: rebuilt {rebuilt} refused: {e}"));
    let expect = OperationRef {
        version: version.clone(),
        ..r.clone()
    };
    assert_eq!(
        again, expect,
        "{text:?}: rebuilt {rebuilt} reads back differently"
    );

    // An absolute Location: what `url` makes of it must agree with the library.
    let absolute = !text.starts_with('/') || text.starts_with("//");
    if absolute {
        let own = Url::parse(text).expect("an accepted absolute Location is a URL");
        let root = base.root_path();
        let under = own
            .path()
            .strip_prefix(root.as_str())
            .filter(|rest| rest.starts_with('/'))
            .unwrap_or_else(|| {
                panic!(
                    "{text:?}: accepted, but its path {:?} is not under the base path {root:?} (base {})",
                    own.path(),
                    base.base.as_str()
                )
            });
        match parse_location(under, &base.base) {
            Ok(own_ref) => assert_eq!(
                own_ref,
                r,
                "{text:?}: the library reads {r:?}, but the URL's own path {:?} names {own_ref:?}",
                own.path()
            ),
            Err(e) => panic!(
                "{text:?}: accepted as {r:?}, but the URL's own path {:?} is refused: {e}",
                own.path()
            ),
        }
    }
}

fn check_ids(r: &OperationRef, text: &str) {
    for id in [&r.parent_id, &r.operation_id] {
        assert!(
            !id.is_empty() && id != "." && id != ".." && !id.contains('\0'),
            "{text:?}: id {id:?} should have been refused"
        );
    }
}

fn check_rebuilt(
    base: &Base,
    r: &OperationRef,
    version: Option<&str>,
    select: Option<&str>,
    text: &str,
) {
    let url = base.base.operation_url(r, select);
    let ctx = || format!("{text:?} on {} → {url}", base.base.as_str());

    assert_eq!(url.scheme(), base.url.scheme(), "{}", ctx());
    assert_eq!(url.host(), base.url.host(), "{}", ctx());
    assert_eq!(
        url.port_or_known_default(),
        base.url.port_or_known_default(),
        "{}",
        ctx()
    );
    assert_eq!(url.username(), "", "{}", ctx());
    assert_eq!(url.password(), None, "{}", ctx());
    assert_eq!(url.fragment(), None, "{}", ctx());
    match select {
        None => assert_eq!(url.query(), None, "{}", ctx()),
        Some(fields) => {
            assert_eq!(
                url.query(),
                Some(format!("$select={fields}").as_str()),
                "{}",
                ctx()
            )
        }
    }

    let segments: Vec<&str> = url.path_segments().expect("a hierarchical URL").collect();
    let mut expect_len = base.root.len() + 4;
    if version.is_some() {
        expect_len += 1;
    }
    assert_eq!(
        segments.len(),
        expect_len,
        "{}: segments {segments:?}",
        ctx()
    );
    let (root, rest) = segments.split_at(base.root.len());
    assert_eq!(root, base.root.as_slice(), "{}", ctx());
    let rest = match version {
        Some(v) => {
            assert_eq!(rest[0], v, "{}", ctx());
            &rest[1..]
        }
        None => rest,
    };
    let parent = match r.parent {
        Parent::Chat => "chats",
        Parent::Team => "teams",
    };
    assert_eq!(rest[0], parent, "{}", ctx());
    assert_eq!(rest[2], "operations", "{}", ctx());
    for (segment, id) in [(rest[1], &r.parent_id), (rest[3], &r.operation_id)] {
        assert!(
            canonical(segment),
            "{}: segment {segment:?} is not canonical",
            ctx()
        );
        assert_eq!(decode(segment).as_deref(), Some(id.as_str()), "{}", ctx());
    }

    // The URL's text is stable: parsing it again gives the same URL.
    let reparsed = Url::parse(url.as_str()).expect("the rebuilt URL parses");
    assert_eq!(reparsed, url, "{}", ctx());
}

/// Only ASCII letters, digits, `-._~:@` and `%XX` with upper-case hex.
fn canonical(segment: &str) -> bool {
    let b = segment.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| c.is_ascii_digit() || (b'A'..=b'F').contains(&c);
                if i + 2 >= b.len() {
                    return false;
                }
                if !(hex(b[i + 1]) && hex(b[i + 2])) {
                    return false;
                }
                // An escape of a character that needs none is not canonical.
                let v = u8::from_str_radix(&segment[i + 1..i + 3], 16).expect("hex");
                if v.is_ascii_alphanumeric() || b"-._~:@".contains(&v) {
                    return false;
                }
                i += 3;
            }
            c if c.is_ascii_alphanumeric() || b"-._~:@".contains(&c) => i += 1,
            _ => return false,
        }
    }
    true
}

/// Percent-decodes once; `None` for a bad escape or bytes that are not UTF-8.
fn decode(segment: &str) -> Option<String> {
    let b = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The input as a base URL: when accepted, an operation URL built on it stays on its
/// origin and under its path, and reads back as a Location.
fn check_base(text: &str) {
    let base = match BaseUrl::parse(text) {
        Ok(b) => b,
        Err(e) => {
            assert_eq!(*e.kind(), ErrorKind::InvalidArgument, "{text:?}: {e}");
            return;
        }
    };
    let url = Url::parse(base.as_str()).expect("a BaseUrl is a URL");
    assert!(matches!(url.scheme(), "https" | "http"), "{text:?}");
    assert!(url.host().is_some(), "{text:?}");
    assert_eq!(url.query(), None, "{text:?}");
    assert_eq!(url.fragment(), None, "{text:?}");
    assert!(
        url.username().is_empty() && url.password().is_none(),
        "{text:?}"
    );
    let Some(b) = Base::from(base) else {
        return;
    };
    let r = OperationRef::new(Parent::Chat, "19:a/b?c#d@thread.v2", "..op %").expect("valid ids");
    let version = b.version.clone();
    for select in SELECTS {
        check_rebuilt(&b, &r, version.as_deref(), select, text);
    }
    let rebuilt = b.base.operation_url(&r, None);
    let again = parse_location(rebuilt.as_str(), &b.base)
        .unwrap_or_else(|e| panic!("base {text:?}: rebuilt {rebuilt} refused: {e}"));
    assert_eq!(
        again,
        OperationRef { version, ..r },
        "base {text:?}: {rebuilt}"
    );
}
