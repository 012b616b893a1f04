//! The body type of every answer, and the error that drops a connection on
//! purpose.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// The error a service returns to make hyper drop the connection without
/// answering (used with [`ConnCtrl::reset_on_close`](crate::conn::ConnCtrl::reset_on_close)
/// for a RST).
#[derive(Debug)]
pub(crate) struct Abort;

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection aborted on purpose")
    }
}

impl StdError for Abort {}

/// A body streamed piece by piece (a scripted one with pauses, gzip or a cut).
pub(crate) type StreamedBody = Pin<Box<dyn Body<Data = Bytes, Error = Abort> + Send>>;

/// The body of every answer.
pub(crate) enum RespBody {
    Empty,
    Full(Option<Bytes>),
    Streamed(StreamedBody),
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = Abort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Abort>>> {
        match self.get_mut() {
            RespBody::Empty => Poll::Ready(None),
            RespBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            RespBody::Streamed(s) => s.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RespBody::Empty => true,
            RespBody::Full(b) => b.is_none(),
            RespBody::Streamed(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RespBody::Empty => SizeHint::with_exact(0),
            RespBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            RespBody::Streamed(s) => s.size_hint(),
        }
    }
}
