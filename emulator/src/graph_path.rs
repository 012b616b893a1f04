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
