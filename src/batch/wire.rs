//! Graph JSON batching on the wire: the body of `POST {root}/{version}/$batch`
//! and the reading of its answer, each inner response turned back into what a
//! single GET would have received (status, headers, body bytes).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Most requests Graph takes in one `$batch`.
pub(crate) const MAX_REQUESTS: usize = 20;

/// The `User-Agent` of a single GET (`http/lane.rs`), which each inner GET carries too.
const USER_AGENT: &str = concat!("libteamsop/", env!("CARGO_PKG_VERSION"));

/// One GET inside a `$batch`.
pub(crate) struct InnerRequest<'a> {
    /// Unique within the batch.
    pub id: u32,
    /// Relative to the version root, e.g. `/teams/ID/operations/OP?$select=status`.
    pub url: &'a str,
    pub client_request_id: &'a str,
}

#[derive(Serialize)]
struct WireRequests<'a> {
    requests: Vec<WireRequest<'a>>,
}

#[derive(Serialize)]
struct WireRequest<'a> {
    id: String,
    method: &'static str,
    url: &'a str,
    headers: WireHeaders<'a>,
}

/// The headers a single GET sends, but `Authorization` (which goes on the `$batch`).
#[derive(Serialize)]
struct WireHeaders<'a> {
    #[serde(rename = "Accept")]
    accept: &'static str,
    #[serde(rename = "Prefer")]
    prefer: &'static str,
    #[serde(rename = "User-Agent")]
    user_agent: &'static str,
    #[serde(rename = "client-request-id")]
    client_request_id: &'a str,
}

/// The JSON body of a `$batch` of `requests`.
pub(crate) fn encode(requests: &[InnerRequest<'_>]) -> Vec<u8> {
    let wire = WireRequests {
        requests: requests
            .iter()
            .map(|r| WireRequest {
                id: r.id.to_string(),
                method: "GET",
                url: r.url,
                headers: WireHeaders {
                    accept: "application/json",
                    prefer: "include-unknown-enum-members",
                    user_agent: USER_AGENT,
                    client_request_id: r.client_request_id,
                },
            })
            .collect(),
    };
    serde_json::to_vec(&wire).expect("strings and numbers always serialize")
}

/// One inner response, as a single GET would have had it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InnerAnswer {
    pub id: String,
    pub status: u16,
    /// Header names lowercased; values as sent (strings only).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl InnerAnswer {
    /// A header's value, by lowercase name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One element of `responses`: the answer to the request `id`, or why it
/// cannot be read (a status that is no HTTP status, headers that are not an
/// object), which ends that request's operation as a body it cannot read would.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Inner {
    pub id: String,
    pub answer: Result<InnerAnswer, String>,
}

#[derive(Deserialize)]
struct WireAnswer<'a> {
    #[serde(borrow)]
    responses: Vec<&'a RawValue>,
}

/// Each member kept raw: one response that is odd spoils only itself.
#[derive(Deserialize)]
struct WireResponse<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    status: Option<&'a RawValue>,
    #[serde(default, borrow)]
    headers: Option<&'a RawValue>,
    #[serde(default, borrow)]
    body: Option<&'a RawValue>,
}

/// Graph sends ids as strings; a number is read as its decimal text.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireId<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Number(u64),
}

/// Reads a `$batch` answer: one [`Inner`] for each element of `responses`
/// whose `id` can be read (a string or a number; the others are left out, as
/// answers to no request). `Err` says why the whole is not a `$batch` answer
/// (not JSON, or no `responses` array).
pub(crate) fn decode(body: &[u8]) -> Result<Vec<Inner>, String> {
    // From text: reading bytes, serde_json would not check the UTF-8 of what it
    // skips (unknown members), and a body that is not UTF-8 is not JSON.
    let text = std::str::from_utf8(body).map_err(|e| {
        format!(
            "the $batch answer is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    // serde's derived structs would also read a JSON array, by position.
    if !is_object(text) {
        return Err("the $batch answer is not a JSON object".to_owned());
    }
    let wire: WireAnswer<'_> =
        serde_json::from_str(text).map_err(|e| format!("the $batch answer is not one: {e}"))?;
    Ok(wire.responses.into_iter().filter_map(inner).collect())
}

fn is_object(json: &str) -> bool {
    json.trim_start().starts_with('{')
}

fn inner(raw: &RawValue) -> Option<Inner> {
    // An element that is not an object names no request (an array would be read
    // by position).
    if !is_object(raw.get()) {
        return None;
    }
    let wire: WireResponse<'_> = serde_json::from_str(raw.get()).ok()?;
    let id = match serde_json::from_str::<WireId<'_>>(wire.id?.get()).ok()? {
        WireId::Text(text) => text.into_owned(),
        WireId::Number(n) => n.to_string(),
    };
    let answer = inner_answer(&id, &wire);
    Some(Inner { id, answer })
}

fn inner_answer(id: &str, wire: &WireResponse<'_>) -> Result<InnerAnswer, String> {
    let status = wire
        .status
        .and_then(|raw| serde_json::from_str::<u16>(raw.get()).ok())
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(|| {
            format!("the $batch answer for request {id} has no HTTP status (a number 100 to 999)")
        })?;
    let headers: Vec<(String, String)> = match wire.headers {
        None => Vec::new(),
        Some(raw) if raw.get() == "null" => Vec::new(),
        Some(raw) => serde_json::from_str::<BTreeMap<Cow<'_, str>, &RawValue>>(raw.get())
            .map_err(|_| {
                format!("the headers of the $batch answer for request {id} are not an object")
            })?
            .into_iter()
            .filter_map(|(name, value)| {
                let value: String = serde_json::from_str(value.get()).ok()?;
                Some((name.to_ascii_lowercase(), value))
            })
            .collect(),
    };
    let content_type = headers
        .iter()
        .find(|(n, _)| n == "content-type")
        .map(|(_, v)| v.as_str());
    let body = match wire.body {
        None => Vec::new(),
        Some(raw) if raw.get() == "null" => Vec::new(),
        Some(raw) => body_bytes(raw, content_type),
    };
    Ok(InnerAnswer {
        id: id.to_owned(),
        status,
        headers,
        body,
    })
}

/// A JSON body stays as sent; a string under a non-JSON Content-Type is the
/// base64 of the bytes (Graph's rule), or, failing that, the string itself.
fn body_bytes(raw: &RawValue, content_type: Option<&str>) -> Vec<u8> {
    let text = raw.get();
    let is_json_type = content_type.is_none_or(|ct| {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        essence == "application/json" || essence.ends_with("+json")
    });
    if !is_json_type && text.starts_with('"') {
        if let Ok(s) = serde_json::from_str::<String>(text) {
            return crate::base64::decode(&s).unwrap_or_else(|| s.into_bytes());
        }
    }
    text.as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_graph_batch_requests() {
        let body = encode(&[
            InnerRequest {
                id: 1,
                url: "/teams/t/operations/o",
                client_request_id: "c1",
            },
            InnerRequest {
                id: 2,
                url: "/chats/19:a%20b@thread.v2/operations/o?$select=status",
                client_request_id: "c\"2",
            },
        ]);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["requests"][0]["id"], "1");
        assert_eq!(v["requests"][0]["method"], "GET");
        assert_eq!(v["requests"][0]["url"], "/teams/t/operations/o");
        assert_eq!(v["requests"][0]["headers"]["Accept"], "application/json");
        assert_eq!(
            v["requests"][0]["headers"]["Prefer"],
            "include-unknown-enum-members"
        );
        assert_eq!(v["requests"][1]["headers"]["client-request-id"], "c\"2");
        assert_eq!(
            v["requests"][0]["headers"]["User-Agent"],
            concat!("libteamsop/", env!("CARGO_PKG_VERSION"))
        );
        assert!(v["requests"][0]["headers"].get("Authorization").is_none());
    }

    #[test]
    fn decodes_answers_in_any_order() {
        let answer = br#"{"responses":[
            {"id":"2","status":404,"headers":{"Content-Type":"application/json","request-id":"r2"},
             "body":{"error":{"code":"NotFound","message":"gone"}}},
            {"id":"1","status":200,"headers":{"Retry-After":"3"},"body":{"id":"o","status":"succeeded"}},
            {"id":3,"status":200,"headers":{"Content-Type":"text/plain"},"body":"aGVsbG8="},
            {"id":"4","status":204}
        ]}"#;
        let answers: Vec<InnerAnswer> = decode(answer)
            .unwrap()
            .into_iter()
            .map(|i| i.answer.unwrap())
            .collect();
        assert_eq!(answers.len(), 4);
        assert_eq!(answers[0].id, "2");
        assert_eq!(answers[0].status, 404);
        assert_eq!(answers[0].header("request-id"), Some("r2"));
        assert_eq!(
            answers[0].body,
            br#"{"error":{"code":"NotFound","message":"gone"}}"#
        );
        assert_eq!(answers[1].header("retry-after"), Some("3"));
        assert_eq!(answers[1].body, br#"{"id":"o","status":"succeeded"}"#);
        assert_eq!(answers[2].id, "3");
        assert_eq!(answers[2].body, b"hello");
        assert!(answers[3].body.is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_batch_answer() {
        for bad in [
            &b""[..],
            b"<html>",
            b"{}",
            b"[]",
            b"{\"responses\":{}}",
            b"{\"responses\":null}",
            b"{\"responses\":[1,2",
            b"{\"responses\":[],\"x\":\"\xff\"}",
            b"[[]]",
        ] {
            assert!(decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn an_odd_response_spoils_only_itself() {
        let answer = br#"{"responses":[
            5, "x", null, ["7",200], {"status":200}, {"id":null,"status":200}, {"id":{"a":1},"status":200},
            {"id":"1"},
            {"id":"2","status":"200"},
            {"id":"3","status":99999},
            {"id":"4","status":42},
            {"id":"5","status":200,"headers":[1]},
            {"id":"6","status":200,"headers":{"Retry-After":7,"request-id":"r"},"body":{"status":"failed"}}
        ]}"#;
        let inner = decode(answer).unwrap();
        let ids: Vec<&str> = inner.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
        for i in &inner[..5] {
            let why = i.answer.as_ref().unwrap_err();
            assert!(why.contains(&format!("request {}", i.id)), "{why}");
        }
        assert!(inner[2]
            .answer
            .as_ref()
            .unwrap_err()
            .contains("no HTTP status"));
        let six = inner[5].answer.as_ref().unwrap();
        assert_eq!(six.status, 200);
        // A header that is not a string is left out, the others kept.
        assert_eq!(six.header("retry-after"), None);
        assert_eq!(six.header("request-id"), Some("r"));
    }
}
