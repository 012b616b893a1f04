//! Which proxy a request goes through, decided by the library and not left to
//! reqwest's defaults: the environment as curl reads it, read once per client,
//! with one rule of our own first: plain `http://` to a loopback host (the only
//! plain HTTP the library sends a token over) is never proxied.
//!
//! curl's rules: `https://` URLs use `https_proxy` or `HTTPS_PROXY`, `http://`
//! ones `http_proxy` (lower case only, as curl: the upper-case form can be set by
//! a web server for a CGI program), both fall back to `all_proxy` or `ALL_PROXY`;
//! an empty variable is unset. A proxy without a scheme is `http://`; without a
//! port it is on 1080 (`http://`) or 443 (`https://`). `no_proxy` or `NO_PROXY`
//! lists hosts reached directly, separated by commas or blanks: `*` (every host),
//! a name (that host and its subdomains; leading and trailing dots ignored), or an
//! IP address, with a CIDR prefix length if wanted (`10.0.0.0/8`, `fd00::/8`; IPv6
//! with or without brackets). Beyond curl, an entry may end in `:PORT`, and then
//! matches that port only, and `*` counts anywhere in the list.

use std::net::IpAddr;

use reqwest::Url;

use crate::endpoint::is_loopback;

/// The proxies of one client.
#[derive(Debug, Default)]
pub(crate) struct Proxies {
    https: Option<Setting>,
    http: Option<Setting>,
    no_proxy: NoProxy,
}

/// One proxy variable: the proxy it names, or why it names none usable.
#[derive(Debug)]
struct Setting {
    var: &'static str,
    proxy: std::result::Result<Proxy, String>,
}

/// A usable proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// `scheme://[userinfo@]host:port/`, for reqwest.
    pub url: Url,
    /// `host:port`, for messages (never the credentials).
    pub shown: String,
    /// The variable it came from.
    pub var: &'static str,
}

/// How a request reaches its URL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    Direct,
    Through(&'a Proxy),
    /// The variable that applies names no usable proxy: the request is not sent
    /// (neither to a proxy nor directly: the caller asked for a proxy).
    Unusable {
        var: &'static str,
        why: &'a str,
    },
}

impl Proxies {
    /// The proxies the process environment names.
    pub(crate) fn from_env() -> Proxies {
        Proxies::from_lookup(|name| {
            std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
        })
    }

    /// The proxies named by the variables `get` returns.
    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Proxies {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&name| {
                let value = get(name)?;
                let value = value.trim();
                (!value.is_empty()).then(|| Setting {
                    var: name,
                    proxy: Proxy::parse(value, name),
                })
            })
        };
        let no_proxy = ["no_proxy", "NO_PROXY"]
            .iter()
            .find_map(|name| get(name).filter(|v| !v.trim().is_empty()))
            .map(|v| NoProxy::parse(&v))
            .unwrap_or_default();
        Proxies {
            https: first(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
            http: first(&["http_proxy", "all_proxy", "ALL_PROXY"]),
            no_proxy,
        }
    }

    /// True when no proxy is configured at all (every request goes direct).
    pub(crate) fn is_empty(&self) -> bool {
        self.https.is_none() && self.http.is_none()
    }

    /// The route to `url`.
    pub(crate) fn route(&self, url: &Url) -> Route<'_> {
        let setting = match url.scheme() {
            "https" => self.https.as_ref(),
            // The token may travel in the clear to a loopback host only, and then
            // to that host only.
            "http" if is_loopback(url) => None,
            "http" => self.http.as_ref(),
            _ => None,
        };
        let Some(setting) = setting else {
            return Route::Direct;
        };
        if self.no_proxy.matches(url) {
            return Route::Direct;
        }
        match &setting.proxy {
            Ok(proxy) => Route::Through(proxy),
            Err(why) => Route::Unusable {
                var: setting.var,
                why,
            },
        }
    }

    /// The proxy URL for reqwest (`None`: direct). An unusable setting gives
    /// `None` here; requests check [`Proxies::route`] before they are sent.
    pub(crate) fn proxy_url(&self, url: &Url) -> Option<Url> {
        match self.route(url) {
            Route::Through(proxy) => Some(proxy.url.clone()),
            Route::Direct | Route::Unusable { .. } => None,
        }
    }
}

impl Proxy {
    /// Reads a proxy variable's value; the error never quotes it (it may hold a
    /// password).
    fn parse(value: &str, var: &'static str) -> std::result::Result<Proxy, String> {
        let text = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let parsed = Url::parse(&text).map_err(|e| format!("it is not a valid proxy URL ({e})"))?;
        let default_port = match parsed.scheme() {
            "http" => 1080,
            "https" => 443,
            "socks4" | "socks4a" | "socks5" | "socks5h" => {
                return Err("SOCKS proxies are not supported".to_owned())
            }
            other => return Err(format!("proxies of scheme {other}:// are not supported")),
        };
        let host = match parsed.host() {
            Some(url::Host::Domain("")) | None => {
                return Err("it is not a valid proxy URL (no host)".to_owned())
            }
            Some(host) => host.to_string(),
        };
        // `Url` forgets a port that is its scheme's default (80, 443): look at
        // the text to tell `http://p:80` from `http://p`.
        let port = match parsed.port() {
            Some(port) => port,
            None if has_explicit_port(&text) => parsed.port_or_known_default().unwrap_or(80),
            None => default_port,
        };
        let userinfo = match (parsed.username(), parsed.password()) {
            ("", None) => String::new(),
            (user, None) => format!("{user}@"),
            (user, Some(password)) => format!("{user}:{password}@"),
        };
        let url = Url::parse(&format!("{}://{userinfo}{host}:{port}/", parsed.scheme()))
            .map_err(|e| format!("it is not a valid proxy URL ({e})"))?;
        Ok(Proxy {
            url,
            shown: format!("{host}:{port}"),
            var,
        })
    }
}

/// Whether the authority of `url_text` (`scheme://[userinfo@]host[:port]...`)
/// names a port.
fn has_explicit_port(url_text: &str) -> bool {
    let rest = url_text.split_once("://").map_or(url_text, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let after_host = match host_port.rfind(']') {
        Some(end) => &host_port[end + 1..],
        None => host_port,
    };
    after_host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty())
}

/// The hosts reached without a proxy.
#[derive(Debug, Default, PartialEq, Eq)]
struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// A host name and its subdomains (lower case, no leading or trailing dot).
    Name { name: String, port: Option<u16> },
    /// An address range.
    Net {
        addr: IpAddr,
        bits: u8,
        port: Option<u16>,
    },
}

impl NoProxy {
    fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for token in list
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
        {
            if token == "*" {
                out.all = true;
            } else if let Some(entry) = Entry::parse(token) {
                out.entries.push(entry);
            }
        }
        out
    }

    fn matches(&self, url: &Url) -> bool {
        if self.all {
            return true;
        }
        let port = url.port_or_known_default();
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        let name = url.host_str().unwrap_or("").trim_end_matches('.');
        self.entries.iter().any(|entry| match entry {
            Entry::Name {
                name: want,
                port: p,
            } => {
                ip.is_none()
                    && p.is_none_or(|p| Some(p) == port)
                    && (name.eq_ignore_ascii_case(want)
                        || name.len() > want.len()
                            && name.as_bytes()[name.len() - want.len() - 1] == b'.'
                            && name[name.len() - want.len()..].eq_ignore_ascii_case(want))
            }
            Entry::Net {
                addr,
                bits,
                port: p,
            } => p.is_none_or(|p| Some(p) == port) && ip.is_some_and(|ip| in_net(ip, *addr, *bits)),
        })
    }
}

impl Entry {
    /// One entry of the list; `None` for one that can match nothing.
    fn parse(token: &str) -> Option<Entry> {
        if let Some((addr, bits)) = token.split_once('/') {
            let addr = parse_ip(addr)?;
            let bits: u8 = bits.parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            return (bits <= max).then_some(Entry::Net {
                addr,
                bits,
                port: None,
            });
        }
        if let Some(addr) = parse_ip(token) {
            return Some(Entry::net(addr, None));
        }
        // `host:port`, `1.2.3.4:port` or `[v6]:port`.
        if let Some((host, port)) = token.rsplit_once(':') {
            let port: u16 = port.parse().ok()?;
            if let Some(addr) = parse_ip(host) {
                return Some(Entry::net(addr, Some(port)));
            }
            return Entry::name(host, Some(port));
        }
        Entry::name(token, None)
    }

    fn net(addr: IpAddr, port: Option<u16>) -> Entry {
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        Entry::Net { addr, bits, port }
    }

    fn name(text: &str, port: Option<u16>) -> Option<Entry> {
        let name = text.trim_matches('.');
        (!name.is_empty() && !name.contains(['[', ']', ':'])).then(|| Entry::Name {
            name: name.to_ascii_lowercase(),
            port,
        })
    }
}

/// An IP address, IPv6 with or without brackets.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse().ok()
}

/// Whether `ip` is within `net/bits` (of the same family).
fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Proxies {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Proxies::from_lookup(move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn shown(p: &Proxies, url: &str) -> Option<String> {
        match p.route(&Url::parse(url).unwrap()) {
            Route::Direct => None,
            Route::Through(proxy) => Some(proxy.shown.clone()),
            Route::Unusable { var, .. } => Some(format!("unusable {var}")),
        }
    }

    #[test]
    fn nothing_set_is_direct() {
        let p = env(&[]);
        assert!(p.is_empty());
        assert_eq!(shown(&p, "https://graph.microsoft.com/beta"), None);
    }

    #[test]
    fn variables_in_curls_order() {
        let p = env(&[
            ("HTTPS_PROXY", "upper:1"),
            ("https_proxy", "lower:2"),
            ("ALL_PROXY", "all:3"),
        ]);
        assert_eq!(shown(&p, "https://g.example/"), Some("lower:2".into()));
        let p = env(&[("HTTPS_PROXY", "upper:1"), ("ALL_PROXY", "all:3")]);
        assert_eq!(shown(&p, "https://g.example/"), Some("upper:1".into()));
        let p = env(&[("https_proxy", "  "), ("all_proxy", "all:3")]);
        assert_eq!(shown(&p, "https://g.example/"), Some("all:3".into()));
        // Plain http: lower case only, then all_proxy.
        let p = env(&[("HTTP_PROXY", "upper:1")]);
        assert_eq!(shown(&p, "http://g.example/"), None);
        let p = env(&[("HTTP_PROXY", "upper:1"), ("ALL_PROXY", "all:3")]);
        assert_eq!(shown(&p, "http://g.example/"), Some("all:3".into()));
        let p = env(&[("http_proxy", "lower:2")]);
        assert_eq!(shown(&p, "http://g.example/"), Some("lower:2".into()));
        assert_eq!(shown(&p, "https://g.example/"), None);
    }

    #[test]
    fn loopback_http_is_never_proxied() {
        let p = env(&[
            ("http_proxy", "p:1"),
            ("HTTP_PROXY", "p:1"),
            ("all_proxy", "p:1"),
            ("ALL_PROXY", "p:1"),
            ("https_proxy", "p:1"),
        ]);
        for url in [
            "http://127.0.0.1:8080/beta",
            "http://127.9.9.9/",
            "http://[::1]:9/",
            "http://localhost:1/",
            "http://LOCALHOST/",
        ] {
            assert_eq!(shown(&p, url), None, "{url}");
        }
        // Over TLS the environment decides, as for any host.
        assert_eq!(shown(&p, "https://127.0.0.1:8443/"), Some("p:1".into()));
    }

    #[test]
    fn default_ports_and_schemes() {
        let p = env(&[("https_proxy", "proxy.corp")]);
        assert_eq!(shown(&p, "https://g/"), Some("proxy.corp:1080".into()));
        let p = env(&[("https_proxy", "http://proxy.corp:80")]);
        assert_eq!(shown(&p, "https://g/"), Some("proxy.corp:80".into()));
        let p = env(&[("https_proxy", "https://proxy.corp")]);
        assert_eq!(shown(&p, "https://g/"), Some("proxy.corp:443".into()));
        let p = env(&[("https_proxy", "http://user:secret@[::1]:3128/path")]);
        let Route::Through(proxy) = p.route(&Url::parse("https://g/").unwrap()) else {
            panic!("not proxied");
        };
        assert_eq!(proxy.shown, "[::1]:3128");
        assert_eq!(proxy.url.as_str(), "http://user:secret@[::1]:3128/");
        assert_eq!(proxy.var, "https_proxy");
    }

    #[test]
    fn malformed_or_unsupported_proxies_are_unusable_and_not_quoted() {
        for value in [
            "http://[::1",
            "socks5://user:secret@p:1080",
            "ftp://p:21",
            "http://:3128",
            "http://secret@",
        ] {
            let p = env(&[("HTTPS_PROXY", value)]);
            match p.route(&Url::parse("https://g/").unwrap()) {
                Route::Unusable { var, why } => {
                    assert_eq!(var, "HTTPS_PROXY");
                    assert!(!why.contains("secret"), "{why}");
                }
                other => panic!("{value}: {other:?}"),
            }
        }
    }

    #[test]
    fn no_proxy_forms() {
        let base = [("https_proxy", "p:1")];
        let with = |list: &str| {
            let mut vars = base.to_vec();
            vars.push(("NO_PROXY", list));
            env(&vars)
        };
        let direct = |list: &str, url: &str| shown(&with(list), url).is_none();
        assert!(direct("*", "https://127.0.0.1:8443/"));
        assert!(direct("*", "https://[::1]/"));
        assert!(direct("*", "https://graph.microsoft.com/"));
        assert!(direct("a.example, *", "https://graph.microsoft.com/"));
        assert!(direct("microsoft.com", "https://graph.microsoft.com/"));
        assert!(direct(".microsoft.com", "https://graph.microsoft.com/"));
        assert!(direct(".microsoft.com", "https://microsoft.com/"));
        assert!(direct(
            "GRAPH.microsoft.com.",
            "https://graph.microsoft.com./"
        ));
        assert!(!direct("soft.com", "https://graph.microsoft.com/"));
        assert!(!direct(
            "graph.microsoft.com.evil",
            "https://graph.microsoft.com/"
        ));
        assert!(direct("127.0.0.1", "https://127.0.0.1:8443/"));
        assert!(!direct("127.0.0.2", "https://127.0.0.1:8443/"));
        assert!(direct("127.0.0.0/8", "https://127.3.2.1/"));
        assert!(!direct("10.0.0.0/8", "https://127.3.2.1/"));
        assert!(direct("0.0.0.0/0", "https://192.0.2.1/"));
        assert!(!direct("127.0.0.1/33", "https://127.0.0.1/"));
        assert!(direct("::1", "https://[::1]:8443/"));
        assert!(direct("[::1]", "https://[::1]:8443/"));
        assert!(direct("fd00::/8", "https://[fd12::1]/"));
        assert!(!direct("fd00::/8", "https://[fe80::1]/"));
        assert!(direct("127.0.0.1:8443", "https://127.0.0.1:8443/"));
        assert!(!direct("127.0.0.1:8444", "https://127.0.0.1:8443/"));
        assert!(direct("[::1]:8443", "https://[::1]:8443/"));
        assert!(direct(
            "graph.microsoft.com:443",
            "https://graph.microsoft.com/"
        ));
        assert!(!direct(
            "graph.microsoft.com:8443",
            "https://graph.microsoft.com/"
        ));
        assert!(direct("a.example b.example", "https://b.example/"));
        // A name never matches an address, nor an address a name.
        assert!(!direct("localhost", "https://127.0.0.1/"));
        assert!(!direct("127.0.0.1", "https://localhost/"));
        // Garbage entries match nothing, and do not spoil the others.
        assert!(direct(
            "[bad, /x, :, 1.2.3.4/99, b.example",
            "https://b.example/"
        ));
        // Lower case first, as curl.
        let p = env(&[
            ("https_proxy", "p:1"),
            ("no_proxy", "a.example"),
            ("NO_PROXY", "*"),
        ]);
        assert_eq!(shown(&p, "https://b.example/"), Some("p:1".into()));
    }
}
