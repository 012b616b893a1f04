//! The C ABI's enums. Each is defined once, literally, below: cbindgen copies it
//! (values and doc comments) into the header, and `build.rs` derives from the same
//! text its [`CEnum`] impl (members, names) and, for the enums that mirror a core
//! enum (`teamsop_status`, `teamsop_type`, `teamsop_cloud`), the conversions to and
//! from it, member by member, by name. See CONTRIBUTING.md, "The enums".

use std::ffi::CStr;

use crate::error::ErrorKind;

/// What `build.rs` derives for every `#[repr(C)]` enum of this file.
pub(crate) trait CEnum: Copy + 'static {
    /// Every member, in the order of the definition.
    const ALL: &'static [Self];

    /// The member's value, as C sees it.
    fn raw(self) -> u32;

    /// The member's name, as in C (e.g. `"TEAMSOP_ERR_NOT_FOUND"`); static.
    fn name(self) -> &'static CStr;

    /// The member whose value is `raw`, if any: any `uint32_t` from C is safe here.
    fn from_raw(raw: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|member| member.raw() == raw)
    }
}

/// The result of a call. Stable: values are never renumbered.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum teamsop_result {
    /// Success.
    TEAMSOP_OK = 0,
    /// NULL, empty, non-UTF-8, a bad URL, Location or setting. Nothing was sent.
    TEAMSOP_ERR_INVALID_ARGUMENT = 1,
    /// DNS, connect, TLS, a reset or a truncated body.
    TEAMSOP_ERR_TRANSPORT = 2,
    /// The request timeout, or `teamsop_wait`'s deadline, passed.
    TEAMSOP_ERR_TIMEOUT = 3,
    /// HTTP 401: the token is missing, expired or for another audience.
    TEAMSOP_ERR_UNAUTHORIZED = 4,
    /// HTTP 403: the token lacks a permission.
    TEAMSOP_ERR_FORBIDDEN = 5,
    /// HTTP 404: no such chat, team or operation.
    TEAMSOP_ERR_NOT_FOUND = 6,
    /// HTTP 429 still returned after the retries.
    TEAMSOP_ERR_THROTTLED = 7,
    /// Any other non-2xx status (after the retries, for 503 and 504).
    TEAMSOP_ERR_HTTP = 8,
    /// The body is not a teamsAsyncOperation JSON object.
    TEAMSOP_ERR_PARSE = 9,
    /// The body is larger than the client's cap.
    TEAMSOP_ERR_TOO_LARGE = 10,
    /// `teamsop_wait`'s callback asked to stop.
    TEAMSOP_ERR_CANCELLED = 11,
    /// A bug, caught at the boundary; the process is unharmed.
    TEAMSOP_ERR_INTERNAL = 12,
}

/// Graph's teamsAsyncOperationStatus, plus the library's own `_UNRECOGNIZED` and
/// `_ABSENT`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum teamsop_status {
    /// `invalid`
    TEAMSOP_STATUS_INVALID = 0,
    /// `notStarted`
    TEAMSOP_STATUS_NOT_STARTED = 1,
    /// `inProgress`
    TEAMSOP_STATUS_IN_PROGRESS = 2,
    /// `succeeded`
    TEAMSOP_STATUS_SUCCEEDED = 3,
    /// `failed`
    TEAMSOP_STATUS_FAILED = 4,
    /// `unknownFutureValue`
    TEAMSOP_STATUS_UNKNOWN_FUTURE_VALUE = 5,
    /// A string this version does not know: read `teamsop_operation_status_str`.
    TEAMSOP_STATUS_UNRECOGNIZED = 6,
    /// Not in the response (null, or left out by `$select`), or a NULL operation.
    TEAMSOP_STATUS_ABSENT = 7,
}

/// Graph's teamsAsyncOperationType (beta), plus `_UNRECOGNIZED` and `_ABSENT`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum teamsop_type {
    /// `invalid`
    TEAMSOP_TYPE_INVALID = 0,
    /// `cloneTeam`
    TEAMSOP_TYPE_CLONE_TEAM = 1,
    /// `archiveTeam`
    TEAMSOP_TYPE_ARCHIVE_TEAM = 2,
    /// `unarchiveTeam`
    TEAMSOP_TYPE_UNARCHIVE_TEAM = 3,
    /// `createTeam`
    TEAMSOP_TYPE_CREATE_TEAM = 4,
    /// `unknownFutureValue`
    TEAMSOP_TYPE_UNKNOWN_FUTURE_VALUE = 5,
    /// `teamifyGroup`
    TEAMSOP_TYPE_TEAMIFY_GROUP = 6,
    /// `createChannel`
    TEAMSOP_TYPE_CREATE_CHANNEL = 7,
    /// `createChat`
    TEAMSOP_TYPE_CREATE_CHAT = 8,
    /// `archiveChannel`
    TEAMSOP_TYPE_ARCHIVE_CHANNEL = 9,
    /// `unarchiveChannel`
    TEAMSOP_TYPE_UNARCHIVE_CHANNEL = 10,
    /// A string this version does not know: read `teamsop_operation_type_str`.
    TEAMSOP_TYPE_UNRECOGNIZED = 11,
    /// Not in the response, or a NULL operation.
    TEAMSOP_TYPE_ABSENT = 12,
}

/// National clouds, for `teamsop_client_set_cloud` (passed as `uint32_t` so that
/// any value from C is safe to receive).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum teamsop_cloud {
    /// https://graph.microsoft.com
    TEAMSOP_CLOUD_GLOBAL = 0,
    /// https://graph.microsoft.us (US Government L4, GCC High)
    TEAMSOP_CLOUD_US_GOV = 1,
    /// https://dod-graph.microsoft.us (US Government L5, DoD)
    TEAMSOP_CLOUD_US_GOV_DOD = 2,
    /// https://microsoftgraph.chinacloudapi.cn (operated by 21Vianet)
    TEAMSOP_CLOUD_CHINA = 3,
}

/// How much a client logs (API 0.2): each level includes the ones above it.
///
/// Not in the header until a function or callback type uses it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum teamsop_log_level {
    /// A call failed: its result and message.
    TEAMSOP_LOG_ERROR = 1,
    /// A retry (429/503/504/reset): status or fault, attempt, pause.
    TEAMSOP_LOG_WARN = 2,
    /// Each HTTP request sent: method, URL, status, time, request ids.
    TEAMSOP_LOG_INFO = 3,
    /// Re-polls, connections opened or reused, TLS, proxy, pacing, token renewals.
    TEAMSOP_LOG_DEBUG = 4,
}

include!(concat!(env!("OUT_DIR"), "/c_enums.rs"));

impl From<&ErrorKind> for teamsop_result {
    fn from(kind: &ErrorKind) -> Self {
        use teamsop_result::*;
        match kind {
            ErrorKind::InvalidArgument => TEAMSOP_ERR_INVALID_ARGUMENT,
            ErrorKind::Transport => TEAMSOP_ERR_TRANSPORT,
            ErrorKind::Timeout => TEAMSOP_ERR_TIMEOUT,
            ErrorKind::Http { status: 401, .. } => TEAMSOP_ERR_UNAUTHORIZED,
            ErrorKind::Http { status: 403, .. } => TEAMSOP_ERR_FORBIDDEN,
            ErrorKind::Http { status: 404, .. } => TEAMSOP_ERR_NOT_FOUND,
            ErrorKind::Http { status: 429, .. } => TEAMSOP_ERR_THROTTLED,
            ErrorKind::Http { .. } => TEAMSOP_ERR_HTTP,
            ErrorKind::Parse => TEAMSOP_ERR_PARSE,
            ErrorKind::TooLarge { .. } => TEAMSOP_ERR_TOO_LARGE,
            ErrorKind::Cancelled => TEAMSOP_ERR_CANCELLED,
            ErrorKind::Token => TEAMSOP_ERR_UNAUTHORIZED,
            ErrorKind::Internal => TEAMSOP_ERR_INTERNAL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Cloud;
    use crate::model::{OperationType, Status};

    /// Values unique, names unique and spelled as the member, `from_raw` the inverse
    /// of `raw`, and nothing else read as a member.
    fn check<E: CEnum + PartialEq + std::fmt::Debug>(prefix: &str, count: usize) {
        assert_eq!(E::ALL.len(), count);
        for (i, &member) in E::ALL.iter().enumerate() {
            let name = member.name().to_str().unwrap();
            assert_eq!(name, format!("{member:?}"));
            assert!(name.starts_with(prefix), "{name}");
            assert_eq!(E::from_raw(member.raw()), Some(member), "{name}");
            for &other in &E::ALL[i + 1..] {
                assert_ne!(member.raw(), other.raw(), "{name} and {other:?}");
            }
        }
        let max = E::ALL.iter().map(|m| m.raw()).max().unwrap();
        assert_eq!(E::from_raw(max + 1), None);
        assert_eq!(E::from_raw(u32::MAX), None);
    }

    #[test]
    fn every_c_enum_is_consistent() {
        check::<teamsop_result>("TEAMSOP_", 13);
        check::<teamsop_status>("TEAMSOP_STATUS_", 8);
        check::<teamsop_type>("TEAMSOP_TYPE_", 13);
        check::<teamsop_cloud>("TEAMSOP_CLOUD_", 4);
        check::<teamsop_log_level>("TEAMSOP_LOG_", 4);
        assert_eq!(teamsop_log_level::from_raw(0), None);
    }

    #[test]
    fn mirrors_round_trip_with_the_core_enums() {
        for &status in Status::MEMBERS.iter().chain([&Status::Unrecognized]) {
            let c = teamsop_status::from(status);
            assert_eq!(c.to_core(), Some(status));
            if let Some(graph) = status.graph_name() {
                let expect = format!("TEAMSOP_STATUS_{}", screaming_snake(graph));
                assert_eq!(c.name().to_str().unwrap(), expect);
            }
        }
        assert_eq!(teamsop_status::TEAMSOP_STATUS_ABSENT.to_core(), None);
        for &kind in OperationType::MEMBERS
            .iter()
            .chain([&OperationType::Unrecognized])
        {
            let c = teamsop_type::from(kind);
            assert_eq!(c.to_core(), Some(kind));
            if let Some(graph) = kind.graph_name() {
                let expect = format!("TEAMSOP_TYPE_{}", screaming_snake(graph));
                assert_eq!(c.name().to_str().unwrap(), expect);
            }
        }
        assert_eq!(teamsop_type::TEAMSOP_TYPE_ABSENT.to_core(), None);
        for cloud in [Cloud::Global, Cloud::UsGov, Cloud::UsGovDod, Cloud::China] {
            assert_eq!(teamsop_cloud::from(cloud).to_core(), Some(cloud));
        }
        // Graph's numbering is the C numbering.
        assert_eq!(teamsop_status::TEAMSOP_STATUS_FAILED as u32, 4);
        assert_eq!(teamsop_type::TEAMSOP_TYPE_UNARCHIVE_CHANNEL as u32, 10);
    }

    /// `notStarted` → `NOT_STARTED`.
    fn screaming_snake(camel: &str) -> String {
        let mut out = String::new();
        for c in camel.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }
}
