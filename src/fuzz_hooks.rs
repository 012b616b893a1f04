//! Entry points for the fuzz targets (`fuzz/`) into code no public function
//! reaches with arbitrary bytes alone. Built only with `--cfg fuzzing`.

use reqwest::StatusCode;

use crate::batch::wire;
use crate::client::{claims_of, read_answer, Answer};
use crate::error::Trace;

/// Reads `body` as a `$batch` answer, then each inner response as a single GET's
/// answer. `None` when it is not a `$batch` answer; otherwise, per response whose
/// id could be read, whether it read as an operation.
pub fn batch_answer(body: &[u8]) -> Option<Vec<bool>> {
    let answers = wire::decode(body).ok()?;
    Some(
        answers
            .into_iter()
            .map(|inner| {
                let Ok(inner) = inner.answer else {
                    return false;
                };
                let status = StatusCode::from_u16(inner.status).unwrap_or(StatusCode::BAD_GATEWAY);
                let content_type = inner.header("content-type").map(str::to_owned);
                let answer = Answer {
                    status,
                    content_type: content_type.as_deref(),
                    body: inner.body,
                };
                read_answer(answer, None, &mut Trace::default()).is_ok()
            })
            .collect(),
    )
}

/// The decoded claims of a `WWW-Authenticate` value (see `client::challenge`).
pub fn claims_challenge(www_authenticate: &str) -> Option<String> {
    claims_of(www_authenticate)
}
