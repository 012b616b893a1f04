//! The listening socket, the accept loop and one task per connection: count it, serve HTTP/1.1 on it
//! with keep-alive (hyper), and close it on stop.

use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_rustls::TlsAcceptor;

use crate::conn::{ConnCtrl, ConnIo};
use crate::graph_answer;
use crate::graph_format::RequestIds;
use crate::response_body::{Abort, RespBody};
use crate::server_state::{State, Stop};
use crate::{control, graph_routes};

/// How long answers in flight may take to finish on a graceful stop.
const GRACE: Duration = Duration::from_secs(2);
/// How long a TLS client may take over its handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Counts live connections, so that a graceful stop can wait for them.
#[derive(Default)]
struct Live {
    count: AtomicUsize,
    idle: Notify,
}

struct LiveGuard(Arc<Live>);

impl Live {
    fn enter(self: &Arc<Self>) -> LiveGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        LiveGuard(self.clone())
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// SIGINT and SIGTERM, registered up front so that a signal sent right after
/// the listening line is already ours.
pub(crate) struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    /// Needs a tokio runtime context.
    pub(crate) fn register() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A signal when there are `signals`; never otherwise.
async fn signal(signals: Option<Signals>) {
    match signals {
        Some(mut s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// Binds the listening socket (non-blocking, for tokio).
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<StdTcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // A restarted emulator can take its port back while old connections of the
    // previous one sit in TIME_WAIT (tests restart servers under a live client).
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    // A deep backlog: benchmarks open many connections at once.
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Serves until a stop is requested.
pub(crate) async fn run(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<TlsAcceptor>,
    signals: Option<Signals>,
) {
    let mut stop = state.stop.subscribe();
    let live = Arc::new(Live::default());
    let sig = signal(signals);
    tokio::pin!(sig);
    let mut signalled = false;
    loop {
        if *stop.borrow_and_update() != Stop::Running {
            break;
        }
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            _ = &mut sig, if !signalled => {
                signalled = true;
                state.request_stop(Stop::Graceful);
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let id = state.recorder.connection_accepted();
                    tokio::spawn(connection(
                        stream,
                        id,
                        state.clone(),
                        tls.clone(),
                        state.stop.subscribe(),
                        live.enter(),
                    ));
                }
                // Out of descriptors and the like: let it pass instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
    drop(listener);
    if *stop.borrow() == Stop::Graceful {
        let _ = tokio::time::timeout(GRACE, live.wait_idle()).await;
    }
}

async fn connection(
    stream: TcpStream,
    id: u64,
    state: Arc<State>,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<Stop>,
    _live: LiveGuard,
) {
    let _ = stream.set_nodelay(true);
    let ctrl = Arc::new(ConnCtrl::new(id));
    let io = ConnIo::new(stream, ctrl.clone());
    let svc = Svc { state, ctrl };
    match tls {
        None => serve(io, svc, stop).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io));
            let accepted = tokio::select! {
                r = handshake => r,
                _ = stop.wait_for(|s| *s != Stop::Running) => return,
            };
            if let Ok(Ok(tls_stream)) = accepted {
                serve(tls_stream, svc, stop).await;
            }
        }
    }
}

async fn serve<I>(io: I, svc: Svc, mut stop: watch::Receiver<Stop>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    loop {
        let now = *stop.borrow_and_update();
        match now {
            Stop::Now => return,
            Stop::Graceful => {
                // Finishes the answer in flight, then closes.
                conn.as_mut().graceful_shutdown();
                let _ = conn.as_mut().await;
                return;
            }
            Stop::Running => {}
        }
        tokio::select! {
            _ = conn.as_mut() => return,
            changed = stop.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// The hyper service of one connection.
#[derive(Clone)]
struct Svc {
    state: Arc<State>,
    ctrl: Arc<ConnCtrl>,
}

type Answer = Result<Response<RespBody>, Abort>;

impl Service<Request<Incoming>> for Svc {
    type Response = Response<RespBody>;
    type Error = Abort;
    type Future = Guarded;

    fn call(&self, req: Request<Incoming>) -> Guarded {
        let state = self.state.clone();
        if control::is_control(req.uri().path()) {
            return Guarded(Box::pin(
                async move { Ok(control::handle(&state, req).await) },
            ));
        }
        let ctrl = self.ctrl.clone();
        let latency = state.latency();
        if latency.is_zero() {
            return Guarded(Box::pin(graph_routes::handle(state, ctrl, req)));
        }
        Guarded(Box::pin(async move {
            // The network's round trip, before anything is read or counted.
            tokio::time::sleep(latency).await;
            graph_routes::handle(state, ctrl, req).await
        }))
    }
}

/// Turns a panic while answering into a 500, so a bug costs one answer,
/// not the connection.
pub(crate) struct Guarded(Pin<Box<dyn Future<Output = Answer> + Send>>);

impl Future for Guarded {
    type Output = Answer;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(p) => p,
            Err(_) => Poll::Ready(Ok(graph_answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "The emulator failed while answering.",
                &RequestIds::new(None),
            ))),
        }
    }
}
