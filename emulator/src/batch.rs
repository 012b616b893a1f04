//! `POST /{version}/$batch`: each request inside is answered as the same
//! request sent alone would be (the limiter, then scenarios, then the routes;
//! the token is the `$batch`'s), and the answers go back together, in an
//! order shuffled by a seeded generator.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use hyper::header::HeaderMap;
use hyper::{Method, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::auth;
use crate::batch_request::InnerRequest;
use crate::graph_answer::Answer;
use crate::graph_format::{RequestIds, CLIENT_REQUEST_ID};
use crate::graph_path::{Route, Version};
use crate::inner_answer::InnerAnswer;
use crate::rate_limit::RateLimitScope;
use crate::recorder::{Counter, InnerRecord, RecordRef};
use crate::resources;
use crate::response_body::RespBody;
use crate::scripted_answer::pause;
use crate::server_state::State;

/// Notes the requests of a well-formed `$batch` as received: counted,
/// recorded (pointing at the `$batch` entry) and, for operation GETs, metered.
/// Done whatever the `$batch` is then answered (a scenario, a 401, ...): the
/// client sent them.
pub(crate) fn received(
    state: &State,
    requests: &[InnerRequest],
    batch: Option<RecordRef>,
    connection: u64,
) {
    let rec = &state.recorder;
    rec.count(Counter::InnerRequests, requests.len() as u64);
    let polls = requests
        .iter()
        .filter(|r| Route::parse(r.target.path()).is_poll(&r.method))
        .count();
    rec.polls_received(polls as u64);
    let entries: Vec<InnerRecord<'_>> = requests
        .iter()
        .map(|r| InnerRecord {
            id: &r.id,
            method: r.method.as_str(),
            path: r.target.as_str(),
            headers: &r.headers,
        })
        .collect();
    rec.inner_received(batch, connection, &entries);
}

/// Answers a well-formed `$batch` whose token passed.
pub(crate) async fn answer(
    state: &State,
    headers: &HeaderMap,
    requests: Vec<InnerRequest>,
    version: Version,
    ids: &RequestIds,
) -> Response<RespBody> {
    let token = match auth::credential(headers) {
        auth::Credential::Bearer(t) => t,
        _ => "",
    };
    let polls = requests
        .iter()
        .filter(|r| Route::parse(r.target.path()).is_poll(&r.method))
        .count();
    let scope = state.limiter.scope();
    if scope == RateLimitScope::Batch {
        let n = u32::try_from(polls).unwrap_or(u32::MAX);
        if let Err(retry_after) = state.limiter.admit(token, n) {
            state.recorder.count(Counter::Throttled, 1);
            return Answer::throttled(retry_after, ids).into_response();
        }
    }

    let mut answers = Vec::with_capacity(requests.len());
    let mut wait = Duration::ZERO;
    for r in &requests {
        let inner_ids = RequestIds::new(r.header(CLIENT_REQUEST_ID.as_str()));
        let path = r.target.path();
        let route = Route::parse(path);
        let throttled = if scope == RateLimitScope::Inner && route.is_poll(&r.method) {
            state.limiter.admit(token, 1).err()
        } else {
            None
        };
        let a = if let Some(retry_after) = throttled {
            InnerAnswer::routed(Answer::throttled(retry_after, &inner_ids))
        } else {
            let decoded = percent_decode_str(path).decode_utf8_lossy();
            match state.scripts.answer(&r.method, path, &decoded) {
                Some(p) => {
                    state.recorder.count(Counter::InnerScripted, 1);
                    let (a, w) = InnerAnswer::scripted(&p, version, &inner_ids);
                    wait = wait.max(w);
                    a
                }
                None => InnerAnswer::routed(resources::answer(
                    state,
                    &r.method,
                    route,
                    r.target.query(),
                    &inner_ids,
                )),
            }
        };
        let a = if r.method == Method::HEAD {
            a.without_body()
        } else {
            a
        };
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            state.recorder.count(Counter::Throttled, 1);
        }
        answers.push(a);
    }
    if !wait.is_zero() {
        // Inner delays overlap: the answer waits for the slowest.
        pause(wait).await;
    }

    let mut order: Vec<usize> = (0..answers.len()).collect();
    state.shuffle(&mut order);
    let mut out = BytesMut::with_capacity(512 * answers.len() + 16);
    out.put_slice(b"{\"responses\":[");
    for (k, &i) in order.iter().enumerate() {
        if k > 0 {
            out.put_u8(b',');
        }
        answers[i].write(&requests[i].id, &mut out);
    }
    out.put_slice(b"]}");
    Answer::json(StatusCode::OK, out.freeze(), ids).into_response()
}
