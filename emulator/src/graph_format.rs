//! What makes an answer look like Microsoft Graph's: GUIDs, timestamps, the
//! headers every answer carries and the error body.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::graph_path::{Kind, Version};

/// Graph's Content-Type for JSON answers.
pub(crate) const JSON_CONTENT_TYPE: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A fixed diagnostic header, shaped like Graph's.
pub(crate) const AGS_DIAGNOSTIC: &str = r#"{"ServerInfo":{"DataCenter":"West Europe","Slice":"E","Ring":"5","ScaleUnit":"001","RoleInstance":"AM1PEPF00000001","ADSiteName":"AMS"}}"#;

pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
pub(crate) static CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");
pub(crate) static AGS_DIAGNOSTIC_NAME: HeaderName = HeaderName::from_static("x-ms-ags-diagnostic");

/// A random (version 4) GUID, lowercase, hyphenated.
pub(crate) fn guid() -> String {
    let mut v = fastrand::u128(..);
    // Version 4 and the RFC 4122 variant, so it parses as a real GUID anywhere.
    v = (v & !(0xF << 76)) | (0x4 << 76);
    v = (v & !(0x3 << 62)) | (0x2 << 62);
    let s = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// The ids of one answer: a fresh `request-id`, and the caller's
/// `client-request-id` or, like Graph, the request id when it sent none.
#[derive(Clone, Debug)]
pub(crate) struct RequestIds {
    pub request_id: String,
    pub client_request_id: String,
}

impl RequestIds {
    pub(crate) fn new(client_request_id: Option<&str>) -> RequestIds {
        let request_id = guid();
        let client_request_id = client_request_id
            .map(str::to_owned)
            .unwrap_or_else(|| request_id.clone());
        RequestIds {
            request_id,
            client_request_id,
        }
    }

    /// Adds `request-id`, `client-request-id` and `x-ms-ags-diagnostic`,
    /// leaving any already present (a scenario's own headers win).
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        if !headers.contains_key(&REQUEST_ID) {
            if let Ok(v) = HeaderValue::from_str(&self.request_id) {
                headers.insert(REQUEST_ID.clone(), v);
            }
        }
        if !headers.contains_key(&CLIENT_REQUEST_ID) {
            if let Ok(v) = HeaderValue::from_str(&self.client_request_id) {
                headers.insert(CLIENT_REQUEST_ID.clone(), v);
            }
        }
        if !headers.contains_key(&AGS_DIAGNOSTIC_NAME) {
            headers.insert(
                AGS_DIAGNOSTIC_NAME.clone(),
                HeaderValue::from_static(AGS_DIAGNOSTIC),
            );
        }
    }
}

/// Sets Graph's JSON Content-Type.
pub(crate) fn set_json_content_type(headers: &mut HeaderMap) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
}

/// Graph's error body:
/// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`,
/// written by hand to keep Graph's property order.
pub(crate) fn error_body(code: &str, message: &str, ids: &RequestIds) -> String {
    format!(
        r#"{{"error":{{"code":{},"message":{},"innerError":{{"date":"{}","request-id":{},"client-request-id":{}}}}}}}"#,
        json_str(code),
        json_str(message),
        utc_now(false),
        json_str(&ids.request_id),
        json_str(&ids.client_request_id),
    )
}

/// A JSON string literal.
pub(crate) fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS` (Graph's innerError date) or,
/// with `precise`, `YYYY-MM-DDTHH:MM:SS.fffffffZ` (its resource timestamps).
pub(crate) fn utc_now(precise: bool) -> String {
    format_utc(SystemTime::now(), precise)
}

/// Formats a time in Unix milliseconds like [`utc_now`] (before the epoch:
/// the epoch; past what the system clock holds: the epoch too).
pub(crate) fn format_unix_ms(ms: i64, precise: bool) -> String {
    let d = Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    format_utc(UNIX_EPOCH.checked_add(d).unwrap_or(UNIX_EPOCH), precise)
}

/// Characters escaped in a key inside `@odata.context`, as Graph does for chat ids.
const KEY_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b':')
    .add(b'@')
    .add(b'\'')
    .add(b'/')
    .add(b'?')
    .add(b'#')
    .add(b'%');

/// The `@odata.context` of an operation of `resource` (a team or chat id).
pub(crate) fn operation_context(version: Version, kind: Kind, resource: &str) -> String {
    format!(
        "https://graph.microsoft.com/{}/$metadata#{}('{}')/operations/$entity",
        version.as_str(),
        kind.collection(),
        utf8_percent_encode(resource, KEY_ESCAPE)
    )
}

/// Formats a time like [`utc_now`].
pub(crate) fn format_utc(t: SystemTime, precise: bool) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    if precise {
        let ticks = d.subsec_nanos() / 100;
        format!("{y:04}-{m:02}-{day:02}T{hh:02}:{mm:02}:{ss:02}.{ticks:07}Z")
    } else {
        format!("{y:04}-{m:02}-{day:02}T{hh:02}:{mm:02}:{ss:02}")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn guid_shape() {
        let g = guid();
        assert_eq!(g.len(), 36);
        let parts: Vec<&str> = g.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(g.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_ne!(guid(), guid());
    }

    #[test]
    fn dates() {
        let t = UNIX_EPOCH + Duration::new(1_622_150_621, 908_545_300);
        assert_eq!(format_utc(t, true), "2021-05-27T21:23:41.9085453Z");
        assert_eq!(format_utc(t, false), "2021-05-27T21:23:41");
        assert_eq!(format_utc(UNIX_EPOCH, false), "1970-01-01T00:00:00");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(format_utc(leap, false), "2000-02-29T00:00:00");
        assert_eq!(
            format_unix_ms(1_622_150_621_908, true),
            "2021-05-27T21:23:41.9080000Z"
        );
        assert_eq!(format_unix_ms(-5, false), "1970-01-01T00:00:00");
        // The largest time in milliseconds formats without panicking.
        assert!(!format_unix_ms(i64::MAX, true).is_empty());
    }

    #[test]
    fn error_body_is_graph_shaped() {
        let ids = RequestIds::new(Some("c\"1"));
        let body = error_body("NotFound", "gone", &ids);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "NotFound");
        assert_eq!(v["error"]["message"], "gone");
        assert_eq!(v["error"]["innerError"]["client-request-id"], "c\"1");
        assert_eq!(
            v["error"]["innerError"]["request-id"],
            ids.request_id.as_str()
        );
        assert!(body
            .starts_with(r#"{"error":{"code":"NotFound","message":"gone","innerError":{"date":""#));
    }
}
