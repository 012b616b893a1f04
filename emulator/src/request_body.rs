//! Reading a request's body, up to a limit: shared by the Graph routes and the
//! control endpoints.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Incoming};

/// Why a body could not be read.
pub(crate) enum ReadError {
    /// Longer than the limit.
    TooLarge,
    /// The connection failed while reading it.
    Failed,
}

/// Reads a request body of at most `limit` bytes.
pub(crate) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, ReadError> {
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ReadError::TooLarge),
        Err(_) => Err(ReadError::Failed),
    }
}
