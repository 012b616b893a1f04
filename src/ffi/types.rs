//! The types of the C ABI: opaque handles, result codes, Graph's enums, clouds and
//! the wait callback.

use std::ffi::c_void;

use crate::endpoint::Cloud;
use crate::error::ErrorKind;
use crate::model::{OperationType, Status};

/// A Graph client: token, base URL, timeouts, retries and a connection pool.
///
/// Opaque. Create with `teamsop_client_new`, free with `teamsop_client_free`.
/// May be used from any number of threads at once, setters included.
pub struct teamsop_client {
    _private: [u8; 0],
}

/// One teamsAsyncOperation as received. Opaque and immutable.
///
/// Returned by `teamsop_get`, `teamsop_get_team_operation`,
/// `teamsop_get_location`, `teamsop_wait` and `teamsop_parse`; free with
/// `teamsop_free`. May be read from any thread, but must not be freed while
/// another thread reads it.
pub struct teamsop_operation {
    _private: [u8; 0],
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

/// Called by `teamsop_wait` after every poll that received an operation, the
/// terminal one included, on the thread that called `teamsop_wait`.
///
/// `current` is borrowed for the duration of the call only: do not free it or keep
/// it. Return true to keep waiting, false to stop (`teamsop_wait` then returns
/// `TEAMSOP_ERR_CANCELLED`). The callback must not throw (C++) or `longjmp` out.
pub type teamsop_poll_fn =
    Option<unsafe extern "C" fn(current: *const teamsop_operation, user_data: *mut c_void) -> bool>;

/// Returned by the `*_unix_ms` accessors when the time is absent or unparseable.
pub const TEAMSOP_NO_TIME: i64 = i64::MIN;

impl teamsop_result {
    pub(crate) const ALL: [teamsop_result; 13] = [
        teamsop_result::TEAMSOP_OK,
        teamsop_result::TEAMSOP_ERR_INVALID_ARGUMENT,
        teamsop_result::TEAMSOP_ERR_TRANSPORT,
        teamsop_result::TEAMSOP_ERR_TIMEOUT,
        teamsop_result::TEAMSOP_ERR_UNAUTHORIZED,
        teamsop_result::TEAMSOP_ERR_FORBIDDEN,
        teamsop_result::TEAMSOP_ERR_NOT_FOUND,
        teamsop_result::TEAMSOP_ERR_THROTTLED,
        teamsop_result::TEAMSOP_ERR_HTTP,
        teamsop_result::TEAMSOP_ERR_PARSE,
        teamsop_result::TEAMSOP_ERR_TOO_LARGE,
        teamsop_result::TEAMSOP_ERR_CANCELLED,
        teamsop_result::TEAMSOP_ERR_INTERNAL,
    ];

    /// The code's name, NUL-terminated, as a static string.
    pub(crate) fn name(self) -> &'static str {
        use teamsop_result::*;
        match self {
            TEAMSOP_OK => "TEAMSOP_OK\0",
            TEAMSOP_ERR_INVALID_ARGUMENT => "TEAMSOP_ERR_INVALID_ARGUMENT\0",
            TEAMSOP_ERR_TRANSPORT => "TEAMSOP_ERR_TRANSPORT\0",
            TEAMSOP_ERR_TIMEOUT => "TEAMSOP_ERR_TIMEOUT\0",
            TEAMSOP_ERR_UNAUTHORIZED => "TEAMSOP_ERR_UNAUTHORIZED\0",
            TEAMSOP_ERR_FORBIDDEN => "TEAMSOP_ERR_FORBIDDEN\0",
            TEAMSOP_ERR_NOT_FOUND => "TEAMSOP_ERR_NOT_FOUND\0",
            TEAMSOP_ERR_THROTTLED => "TEAMSOP_ERR_THROTTLED\0",
            TEAMSOP_ERR_HTTP => "TEAMSOP_ERR_HTTP\0",
            TEAMSOP_ERR_PARSE => "TEAMSOP_ERR_PARSE\0",
            TEAMSOP_ERR_TOO_LARGE => "TEAMSOP_ERR_TOO_LARGE\0",
            TEAMSOP_ERR_CANCELLED => "TEAMSOP_ERR_CANCELLED\0",
            TEAMSOP_ERR_INTERNAL => "TEAMSOP_ERR_INTERNAL\0",
        }
    }
}

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

impl From<Option<Status>> for teamsop_status {
    fn from(status: Option<Status>) -> Self {
        use teamsop_status::*;
        match status {
            None => TEAMSOP_STATUS_ABSENT,
            Some(Status::Invalid) => TEAMSOP_STATUS_INVALID,
            Some(Status::NotStarted) => TEAMSOP_STATUS_NOT_STARTED,
            Some(Status::InProgress) => TEAMSOP_STATUS_IN_PROGRESS,
            Some(Status::Succeeded) => TEAMSOP_STATUS_SUCCEEDED,
            Some(Status::Failed) => TEAMSOP_STATUS_FAILED,
            Some(Status::UnknownFutureValue) => TEAMSOP_STATUS_UNKNOWN_FUTURE_VALUE,
            Some(Status::Unrecognized) => TEAMSOP_STATUS_UNRECOGNIZED,
        }
    }
}

impl From<Option<OperationType>> for teamsop_type {
    fn from(kind: Option<OperationType>) -> Self {
        use teamsop_type::*;
        match kind {
            None => TEAMSOP_TYPE_ABSENT,
            Some(OperationType::Invalid) => TEAMSOP_TYPE_INVALID,
            Some(OperationType::CloneTeam) => TEAMSOP_TYPE_CLONE_TEAM,
            Some(OperationType::ArchiveTeam) => TEAMSOP_TYPE_ARCHIVE_TEAM,
            Some(OperationType::UnarchiveTeam) => TEAMSOP_TYPE_UNARCHIVE_TEAM,
            Some(OperationType::CreateTeam) => TEAMSOP_TYPE_CREATE_TEAM,
            Some(OperationType::UnknownFutureValue) => TEAMSOP_TYPE_UNKNOWN_FUTURE_VALUE,
            Some(OperationType::TeamifyGroup) => TEAMSOP_TYPE_TEAMIFY_GROUP,
            Some(OperationType::CreateChannel) => TEAMSOP_TYPE_CREATE_CHANNEL,
            Some(OperationType::CreateChat) => TEAMSOP_TYPE_CREATE_CHAT,
            Some(OperationType::ArchiveChannel) => TEAMSOP_TYPE_ARCHIVE_CHANNEL,
            Some(OperationType::UnarchiveChannel) => TEAMSOP_TYPE_UNARCHIVE_CHANNEL,
            Some(OperationType::Unrecognized) => TEAMSOP_TYPE_UNRECOGNIZED,
        }
    }
}

impl teamsop_cloud {
    /// The cloud for a value received from C, if it names one.
    pub(crate) fn from_raw(raw: u32) -> Option<Cloud> {
        match raw {
            0 => Some(Cloud::Global),
            1 => Some(Cloud::UsGov),
            2 => Some(Cloud::UsGovDod),
            3 => Some(Cloud::China),
            _ => None,
        }
    }
}
