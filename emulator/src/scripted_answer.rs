//! Serving a scripted answer over the connection: its delay, pieces, gzip,
//! odd framing and faults, streamed so that a huge generated body never sits
//! in memory.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    TRANSFER_ENCODING, VARY,
};
use hyper::Response;
use tokio::time::Sleep;

use crate::conn::ConnCtrl;
use crate::graph_format::{self, RequestIds};
use crate::graph_path::Version;
use crate::prepared::{Prepared, PreparedBody};
use crate::response_body::{Abort, RespBody};
use crate::scenario::Fault;

/// Whether an Accept-Encoding value offers gzip (with a q-value above 0).
pub(crate) fn offers_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let named = coding.eq_ignore_ascii_case("gzip")
                || coding.eq_ignore_ascii_case("x-gzip")
                || coding == "*";
            let q_zero = parts.any(|p| {
                let p = p.trim();
                p.get(..2).is_some_and(|k| k.eq_ignore_ascii_case("q="))
                    && p.get(2..)
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
            });
            named && !q_zero
        })
}

fn gzip_all(data: &[u8]) -> Bytes {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 2 + 64), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    Bytes::from(enc.finish().unwrap_or_default())
}

/// Serves a scripted answer. `Err(Abort)` drops the connection (a `reset` fault).
pub(crate) async fn scripted(
    p: Arc<Prepared>,
    request_headers: &HeaderMap,
    version: Version,
    ids: &RequestIds,
    ctrl: &Arc<ConnCtrl>,
) -> Result<Response<RespBody>, Abort> {
    if !p.delay.is_zero() {
        pause(p.delay).await;
    }
    if p.fault == Some(Fault::Reset) {
        ctrl.reset_on_close();
        return Err(Abort);
    }
    let mut headers = p.headers.clone();
    ids.apply(&mut headers);

    let gzip = p.gzip && offers_gzip(request_headers);
    if p.gzip {
        headers.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    // The body as a source of pieces, and its length on the wire when known.
    let (mut source, src_len, wire_len, stream_gzip) = match &p.body {
        PreparedBody::Empty => (Source::Bytes(Bytes::new()), 0, Some(0), false),
        PreparedBody::Generate {
            prefix,
            repeat,
            count,
            suffix,
            len,
        } => {
            let src = Source::generate(prefix, repeat, *count, suffix);
            if gzip && *len > 0 {
                (src, *len, None, true)
            } else {
                (src, *len, Some(*len), false)
            }
        }
        body => {
            let mut b = body.for_version(version).unwrap_or_default();
            if gzip && !b.is_empty() {
                b = gzip_all(&b);
            }
            let n = b.len() as u64;
            (Source::Bytes(b), n, Some(n), false)
        }
    };
    if stream_gzip || (gzip && wire_len != Some(0)) {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    match &p.content_type {
        Some(Some(ct)) => {
            headers.insert(CONTENT_TYPE, ct.clone());
        }
        Some(None) => {
            headers.remove(CONTENT_TYPE);
        }
        None if src_len > 0 && !headers.contains_key(CONTENT_TYPE) => {
            graph_format::set_json_content_type(&mut headers);
        }
        None => {}
    }

    let mid_fault = match p.fault {
        Some(Fault::ResetMidBody) => Some(true),
        Some(Fault::CloseMidBody) => Some(false),
        _ => None,
    };
    // Half the body: on the wire when its length is known, else half the
    // source before compression.
    let mut src_limit = None;
    if mid_fault.is_some() {
        match (&mut source, wire_len) {
            (Source::Bytes(b), Some(n)) => b.truncate((n / 2) as usize),
            (_, Some(n)) => src_limit = Some(n / 2),
            (_, None) => src_limit = Some(src_len / 2),
        }
    }
    let mut exact = None;
    if let Some(n) = p.content_length {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
    } else if p.chunked {
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
    } else if let Some(n) = wire_len {
        if mid_fault.is_none() {
            exact = Some(n);
        } else if n > 0 {
            // Announce the whole body; only half of it will come.
            headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
        }
        // (An empty body cut "in the middle" goes chunked: with a length of 0
        // hyper would finish the answer without ever reaching the cut.)
    }

    let plain = mid_fault.is_none()
        && p.content_length.is_none()
        && !p.chunked
        && p.chunk_size.is_none()
        && p.chunk_delay.is_zero()
        && !stream_gzip;
    let body = match source {
        Source::Bytes(b) if plain => {
            if b.is_empty() {
                RespBody::Empty
            } else {
                RespBody::Full(Some(b))
            }
        }
        source => {
            let chunk = p.chunk_size.unwrap_or(if p.chunk_delay.is_zero() {
                usize::MAX
            } else {
                DEFAULT_TRICKLE_CHUNK
            });
            RespBody::Streamed(Box::pin(ScriptedBody {
                source,
                src_limit,
                gzip: stream_gzip.then(|| GzEncoder::new(Vec::new(), Compression::fast())),
                out: Bytes::new(),
                done: false,
                chunk,
                chunk_delay: p.chunk_delay,
                sleep: None,
                sent: 0,
                declared: p.content_length,
                mid_fault,
                aborting: false,
                exact,
                ctrl: ctrl.clone(),
            }))
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = p.status;
    *resp.headers_mut() = headers;
    Ok(resp)
}

/// The longest pause a scripted answer takes, whatever its `delay_ms` or
/// `chunk_delay_ms` says (up to `u64::MAX` ms): a year is for ever in a test,
/// and `now + a year` is far inside every platform's `Instant` range (tokio
/// would cap near 30 years on its own; this does not rely on it).
pub(crate) const LONGEST_PAUSE: Duration = Duration::from_secs(365 * 24 * 3600);

/// A scripted pause, capped at [`LONGEST_PAUSE`].
pub(crate) fn pause(d: Duration) -> Sleep {
    tokio::time::sleep(d.min(LONGEST_PAUSE))
}

/// Piece size when only `chunk_delay_ms` is given.
const DEFAULT_TRICKLE_CHUNK: usize = 1024;
/// Target size of one generated piece.
const GENERATE_BLOCK: usize = 64 * 1024;
/// How long a cut body waits for hyper to flush before giving up on it.
const ABORT_FALLBACK: Duration = Duration::from_secs(5);

/// Where the bytes of a scripted body come from.
pub(crate) enum Source {
    Bytes(Bytes),
    Generate {
        prefix: Bytes,
        /// `repeat` several times over, sliced (not copied) for each piece.
        block: Bytes,
        repeat_len: usize,
        remaining: u64,
        suffix: Bytes,
    },
}

impl Source {
    fn generate(prefix: &Bytes, repeat: &Bytes, count: u64, suffix: &Bytes) -> Source {
        let per_block = (GENERATE_BLOCK / repeat.len().max(1)).max(1) as u64;
        let reps = per_block.min(count) as usize;
        let block = if repeat.is_empty() {
            Bytes::new()
        } else {
            Bytes::from(repeat.repeat(reps))
        };
        Source::Generate {
            prefix: prefix.clone(),
            block,
            repeat_len: repeat.len(),
            remaining: if repeat.is_empty() { 0 } else { count },
            suffix: suffix.clone(),
        }
    }

    fn next(&mut self) -> Option<Bytes> {
        match self {
            Source::Bytes(b) => (!b.is_empty()).then(|| std::mem::take(b)),
            Source::Generate {
                prefix,
                block,
                repeat_len,
                remaining,
                suffix,
            } => {
                if !prefix.is_empty() {
                    Some(std::mem::take(prefix))
                } else if *remaining > 0 {
                    let per_block = (block.len() / *repeat_len) as u64;
                    let n = per_block.min(*remaining);
                    *remaining -= n;
                    Some(block.slice(..n as usize * *repeat_len))
                } else if !suffix.is_empty() {
                    Some(std::mem::take(suffix))
                } else {
                    None
                }
            }
        }
    }

    fn is_exhausted(&self) -> bool {
        match self {
            Source::Bytes(b) => b.is_empty(),
            Source::Generate {
                prefix,
                remaining,
                suffix,
                ..
            } => prefix.is_empty() && *remaining == 0 && suffix.is_empty(),
        }
    }
}

/// A scripted body: pieces, pauses, streamed gzip, and a cut end.
pub(crate) struct ScriptedBody {
    source: Source,
    /// Source bytes still allowed (a mid-body fault on a streamed gzip body).
    src_limit: Option<u64>,
    gzip: Option<GzEncoder<Vec<u8>>>,
    /// Bytes ready to hand to hyper.
    out: Bytes,
    /// Source and compressor are drained into `out`.
    done: bool,
    chunk: usize,
    chunk_delay: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    /// Bytes handed to hyper so far.
    sent: u64,
    /// A Content-Length announced by the scenario.
    declared: Option<u64>,
    /// `Some(reset?)` for a mid-body fault.
    mid_fault: Option<bool>,
    aborting: bool,
    /// Exact length for hyper's Content-Length, when it may set it.
    exact: Option<u64>,
    ctrl: Arc<ConnCtrl>,
}

impl ScriptedBody {
    /// How the body ends once all its bytes are out: `Some(reset?)` to cut
    /// the connection, `None` for a normal end.
    fn cut(&self) -> Option<bool> {
        if self.mid_fault.is_some() {
            return self.mid_fault;
        }
        // Fewer bytes than announced: the client must see the connection end.
        match self.declared {
            Some(d) if self.sent < d => Some(false),
            _ => None,
        }
    }

    fn is_end(&self) -> bool {
        self.done && self.out.is_empty() && self.cut().is_none()
    }

    fn next_source(&mut self) -> Option<Bytes> {
        if self.src_limit == Some(0) {
            return None;
        }
        let mut piece = self.source.next()?;
        if let Some(left) = &mut self.src_limit {
            if piece.len() as u64 > *left {
                piece.truncate(*left as usize);
            }
            *left -= piece.len() as u64;
        }
        Some(piece)
    }

    /// Fills `out` with the next bytes; sets `done` once nothing is left.
    fn refill(&mut self) {
        let piece = self.next_source();
        let exhausted = piece.is_none() || self.src_limit == Some(0) || self.source.is_exhausted();
        match &mut self.gzip {
            None => self.out = piece.unwrap_or_default(),
            Some(enc) => {
                if let Some(p) = piece {
                    let _ = enc.write_all(&p);
                }
                if !exhausted {
                    // A sync flush per piece keeps bytes flowing: highly
                    // compressible data would otherwise produce nothing for
                    // megabytes, and the client would see a stall.
                    let _ = enc.flush();
                } else if self.mid_fault.is_some() {
                    // Cut short: what was compressed so far, without the trailer.
                    let _ = enc.flush();
                } else {
                    let _ = enc.try_finish();
                }
                self.out = Bytes::from(std::mem::take(enc.get_mut()));
            }
        }
        if exhausted {
            self.done = true;
        }
    }
}

impl Body for ScriptedBody {
    type Data = Bytes;
    type Error = Abort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Abort>>> {
        let this = self.get_mut();
        this.poll(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.is_end()
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

impl ScriptedBody {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Abort>>> {
        loop {
            if let Some(sleep) = &mut self.sleep {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleep = None;
                if self.aborting {
                    // hyper never flushed; end it from here.
                    return Poll::Ready(Some(Err(Abort)));
                }
            }
            if !self.out.is_empty() {
                let n = self.chunk.min(self.out.len());
                let piece = self.out.split_to(n);
                self.sent += n as u64;
                let last = self.done && self.out.is_empty();
                if !self.chunk_delay.is_zero() && !last {
                    self.sleep = Some(Box::pin(pause(self.chunk_delay)));
                }
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            if !self.done {
                self.refill();
                continue;
            }
            return match self.cut() {
                None => Poll::Ready(None),
                Some(reset) => {
                    // Stay pending: hyper flushes what it has, and the flush
                    // then ends the connection (see `ConnIo::poll_flush`).
                    self.ctrl.abort_after_flush(reset);
                    self.aborting = true;
                    self.sleep = Some(Box::pin(tokio::time::sleep(ABORT_FALLBACK)));
                    continue;
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_offers() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            offers_gzip(&m)
        };
        assert!(h("gzip"));
        assert!(h("deflate, GZIP;q=0.5"));
        assert!(h("*"));
        assert!(h("br, gzip"));
        assert!(!h("gzip;q=0"));
        assert!(!h("gzip; q=0.0"));
        assert!(!h("br, deflate"));
        assert!(!h("identity"));
        assert!(!offers_gzip(&HeaderMap::new()));
    }

    #[test]
    fn generate_source_streams_in_blocks() {
        let mut s = Source::generate(
            &Bytes::from_static(b"["),
            &Bytes::from_static(b"abc"),
            100_000,
            &Bytes::from_static(b"]"),
        );
        let mut total = 0usize;
        let mut biggest = 0usize;
        let mut first = None;
        while let Some(p) = s.next() {
            first.get_or_insert_with(|| p.clone());
            total += p.len();
            biggest = biggest.max(p.len());
        }
        assert_eq!(first.unwrap(), Bytes::from_static(b"["));
        assert_eq!(total, 300_002);
        assert!(biggest <= GENERATE_BLOCK);
        assert!(s.is_exhausted());
        let mut empty = Source::generate(&Bytes::new(), &Bytes::new(), 5, &Bytes::new());
        assert!(empty.next().is_none());
    }
}
