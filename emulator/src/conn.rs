//! The TCP stream under hyper, with a handle that lets a response break the
//! connection for real: an orderly close (FIN) or a reset (RST, through
//! SO_LINGER 0) once what hyper buffered has reached the socket.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const NONE: u8 = 0;
const CLOSE: u8 = 1;
const RESET: u8 = 2;

/// Shared between a connection's stream and the responses served on it.
#[derive(Debug)]
pub(crate) struct ConnCtrl {
    /// The connection number (1 for the first accepted).
    pub id: u64,
    /// Set by a response body that wants the connection to end right after
    /// the next flush (everything written so far is then in the socket).
    abort: AtomicU8,
    /// Close with RST rather than FIN.
    reset: AtomicBool,
}

impl ConnCtrl {
    pub(crate) fn new(id: u64) -> ConnCtrl {
        ConnCtrl {
            id,
            abort: AtomicU8::new(NONE),
            reset: AtomicBool::new(false),
        }
    }

    /// Ends the connection once what is buffered is flushed: with a RST when
    /// `reset`, with a FIN otherwise.
    pub(crate) fn abort_after_flush(&self, reset: bool) {
        self.abort
            .store(if reset { RESET } else { CLOSE }, Ordering::Release);
    }

    /// Makes the coming close a RST (the caller then ends the connection).
    pub(crate) fn reset_on_close(&self) {
        self.reset.store(true, Ordering::Release);
    }
}

/// A TCP stream that honours its [`ConnCtrl`].
pub(crate) struct ConnIo {
    stream: TcpStream,
    ctrl: Arc<ConnCtrl>,
}

impl ConnIo {
    pub(crate) fn new(stream: TcpStream, ctrl: Arc<ConnCtrl>) -> ConnIo {
        ConnIo { stream, ctrl }
    }
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.ctrl.reset.load(Ordering::Acquire) {
            // Linger 0: close() discards unsent data and sends a RST.
            let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // hyper (and rustls) call this only once their own buffers are written
        // to the socket, so the bytes of the cut answer are all out.
        match this.ctrl.abort.load(Ordering::Acquire) {
            NONE => Pin::new(&mut this.stream).poll_flush(cx),
            mode => {
                if mode == RESET {
                    this.ctrl.reset_on_close();
                }
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "scripted fault",
                )))
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
