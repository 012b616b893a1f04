//! What a Graph path names: its API version and the kind of resource an
//! operation hangs off.

/// Which kind of resource an operation hangs off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Chat,
    Team,
}

impl Kind {
    /// `chats` or `teams`.
    pub(crate) fn collection(self) -> &'static str {
        match self {
            Kind::Chat => "chats",
            Kind::Team => "teams",
        }
    }
}

/// The Graph API version of a request path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Beta,
    V1,
}

impl Version {
    /// `beta` or `v1.0`.
    pub(crate) fn parse(s: &str) -> Option<Version> {
        match s {
            "beta" => Some(Version::Beta),
            "v1.0" => Some(Version::V1),
            _ => None,
        }
    }

    /// `beta` or `v1.0`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Version::Beta => "beta",
            Version::V1 => "v1.0",
        }
    }
}

/// What a request path names, segments still percent-encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `/{version}/{chats|teams}/{id}/operations/{op}`
    Operation {
        version: Version,
        kind: Kind,
        id: &'a str,
        op: &'a str,
    },
    /// `/{version}/{chats|teams}`: creates one.
    Collection { version: Version, kind: Kind },
    /// `/{version}/$batch` (`$` percent-encoded or not).
    Batch { version: Version },
    /// Anything else.
    Unknown,
}

impl<'a> Route<'a> {
    /// Reads a path (without its query).
    pub(crate) fn parse(path: &'a str) -> Route<'a> {
        let Some(rest) = path.strip_prefix('/') else {
            return Route::Unknown;
        };
        let mut segs = rest.split('/');
        let (Some(ver), second) = (segs.next(), segs.next()) else {
            return Route::Unknown;
        };
        let Some(version) = Version::parse(ver) else {
            return Route::Unknown;
        };
        let Some(second) = second else {
            return Route::Unknown;
        };
        let third = segs.next();
        if third.is_none() && (second == "$batch" || second.eq_ignore_ascii_case("%24batch")) {
            return Route::Batch { version };
        }
        let Some(kind) = Kind::from_collection(second) else {
            return Route::Unknown;
        };
        match (third, segs.next(), segs.next(), segs.next()) {
            (None, ..) => Route::Collection { version, kind },
            (Some(id), Some("operations"), Some(op), None) => Route::Operation {
                version,
                kind,
                id,
                op,
            },
            _ => Route::Unknown,
        }
    }

    /// Whether a request with `method` on this path is an operation GET (a
    /// poll: what the rate limiter and `busiest_second` count). HEAD is one.
    pub(crate) fn is_poll(&self, method: &hyper::Method) -> bool {
        matches!(self, Route::Operation { .. })
            && (method == hyper::Method::GET || method == hyper::Method::HEAD)
    }
}

impl Kind {
    /// The kind of a collection segment, `chats` or `teams`.
    pub(crate) fn from_collection(s: &str) -> Option<Kind> {
        match s {
            "chats" => Some(Kind::Chat),
            "teams" => Some(Kind::Team),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::Method;

    #[test]
    fn routes() {
        assert_eq!(
            Route::parse("/beta/teams/t%201/operations/o"),
            Route::Operation {
                version: Version::Beta,
                kind: Kind::Team,
                id: "t%201",
                op: "o"
            }
        );
        assert_eq!(
            Route::parse("/v1.0/chats"),
            Route::Collection {
                version: Version::V1,
                kind: Kind::Chat
            }
        );
        assert_eq!(
            Route::parse("/v1.0/$batch"),
            Route::Batch {
                version: Version::V1
            }
        );
        assert_eq!(
            Route::parse("/beta/%24BATCH"),
            Route::Batch {
                version: Version::Beta
            }
        );
        for unknown in [
            "",
            "/",
            "/beta",
            "/beta/",
            "/beta/$batch/x",
            "/v2/teams",
            "/beta/users",
            "/beta/teams/t/operations",
            "/beta/teams/t/operations/o/x",
            "/beta/teams/t/members/o",
            "beta/teams",
        ] {
            assert_eq!(Route::parse(unknown), Route::Unknown, "{unknown}");
        }
        let op = Route::parse("/beta/chats/c/operations/o");
        assert!(op.is_poll(&Method::GET) && op.is_poll(&Method::HEAD));
        assert!(!op.is_poll(&Method::POST));
        assert!(!Route::parse("/beta/chats").is_poll(&Method::GET));
    }
}
