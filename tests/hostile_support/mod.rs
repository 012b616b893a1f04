//! Shared by the `hostile_*` tests: a server that answers with exact bytes (for
//! what the emulator will not send: lying or repeated lengths, folded headers), a
//! small forward proxy that records what it receives, and the C ABI driven the way
//! a C program drives it (`teamsop_get*`, `teamsop_wait`, `teamsop_last_*`).

#![allow(dead_code)] // each test binary uses a different part

use std::ffi::{c_char, CStr, CString};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use teamsop::ffi::*;

// ------------------------------------------------------------- raw server

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// Numbers the TCP connections in the order accepted, from 1.
    pub connection: usize,
    /// The request line.
    pub line: String,
    /// The header lines, as sent.
    pub headers: Vec<(String, String)>,
}

impl RawRequest {
    /// The request target (path and query, or absolute form through a proxy).
    pub fn target(&self) -> &str {
        self.line.split(' ').nth(1).unwrap_or("")
    }

    /// Every value of a header (name without regard to case).
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// What the server writes back, and whether it then closes the connection.
pub struct RawReply {
    pub bytes: Vec<u8>,
    pub close: bool,
}

impl RawReply {
    /// A complete response: status line, `headers` (each `Name: value`, written
    /// as given), then `body` with no length header unless `headers` has one.
    pub fn new(status: &str, headers: &[&str], body: &[u8]) -> RawReply {
        let mut bytes = format!("HTTP/1.1 {status}\r\n").into_bytes();
        for h in headers {
            bytes.extend_from_slice(h.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(body);
        RawReply {
            bytes,
            close: false,
        }
    }

    /// A JSON answer with a correct Content-Length.
    pub fn json(status: &str, extra_headers: &[&str], body: &str) -> RawReply {
        let length = format!("Content-Length: {}", body.len());
        let mut headers = vec!["Content-Type: application/json", length.as_str()];
        headers.extend_from_slice(extra_headers);
        RawReply::new(status, &headers, body.as_bytes())
    }

    /// The same, then a close (FIN).
    pub fn closing(mut self) -> RawReply {
        self.close = true;
        self
    }
}

type Handler = dyn Fn(&RawRequest) -> RawReply + Send + Sync;

/// A loopback server whose answers are exact bytes chosen by a handler.
pub struct RawServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<RawRequest>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl RawServer {
    pub fn start(handler: impl Fn(&RawRequest) -> RawReply + Send + Sync + 'static) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let accept = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            thread::spawn(move || {
                let connections = AtomicUsize::new(0);
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let n = connections.fetch_add(1, Ordering::SeqCst) + 1;
                    let (requests, handler) = (Arc::clone(&requests), Arc::clone(&handler));
                    thread::spawn(move || serve(stream, n, &requests, &*handler));
                }
            })
        };
        RawServer {
            addr,
            requests,
            stop,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<RawRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request head (`None` when the peer closed first).
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    Some(head)
}

fn parse_head(head: &[u8], connection: usize) -> RawRequest {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or("").to_owned();
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
        .collect();
    RawRequest {
        connection,
        line,
        headers,
    }
}

fn serve(mut stream: TcpStream, n: usize, requests: &Mutex<Vec<RawRequest>>, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    while let Some(head) = read_head(&mut stream) {
        let request = parse_head(&head, n);
        requests.lock().unwrap().push(request.clone());
        let reply = handler(&request);
        if stream.write_all(&reply.bytes).is_err() {
            return;
        }
        if reply.close {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

// ---------------------------------------------------------- forward proxy

/// What the proxy does with a CONNECT.
#[derive(Clone, Copy, Debug)]
pub enum ConnectMode {
    /// Opens the tunnel and relays bytes both ways.
    Tunnel,
    /// Answers with this status and closes.
    Refuse(u16),
}

/// A forward proxy on loopback that records every request head it receives.
/// Plain requests (absolute form) are answered by the proxy itself with a
/// complete operation, so a client that went through it would succeed: the
/// record, not the result, says where a request went.
pub struct ForwardProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<RawRequest>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl ForwardProxy {
    pub fn start(mode: ConnectMode) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            thread::spawn(move || {
                let mut n = 0;
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    n += 1;
                    let seen = Arc::clone(&seen);
                    thread::spawn(move || proxy_one(stream, n, mode, &seen));
                }
            })
        };
        ForwardProxy {
            addr,
            seen,
            stop,
            accept: Some(accept),
        }
    }

    /// `127.0.0.1:PORT`
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request head received (CONNECTs and plain requests).
    pub fn seen(&self) -> Vec<RawRequest> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// The operation a proxy answers plain requests with.
pub const PROXY_ANSWER: &str = r#"{"id":"from-the-proxy","status":"succeeded"}"#;

fn proxy_one(mut client: TcpStream, n: usize, mode: ConnectMode, seen: &Mutex<Vec<RawRequest>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(20)));
    while let Some(head) = read_head(&mut client) {
        let request = parse_head(&head, n);
        seen.lock().unwrap().push(request.clone());
        if !request.line.starts_with("CONNECT ") {
            let reply = RawReply::json("200 OK", &[], PROXY_ANSWER);
            if client.write_all(&reply.bytes).is_err() {
                return;
            }
            continue;
        }
        match mode {
            ConnectMode::Refuse(status) => {
                let _ = client.write_all(
                    format!("HTTP/1.1 {status} Refused\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                );
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            ConnectMode::Tunnel => {
                let Ok(upstream) = TcpStream::connect(request.target()) else {
                    let _ =
                        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
                    return;
                };
                let _ = client.set_read_timeout(None);
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .is_err()
                {
                    return;
                }
                relay(client, upstream);
                return;
            }
        }
    }
}

/// Copies bytes both ways until either side closes.
fn relay(a: TcpStream, b: TcpStream) {
    let (mut a_read, mut b_write) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let there = thread::spawn(move || {
        let _ = std::io::copy(&mut a_read, &mut b_write);
        let _ = b_write.shutdown(Shutdown::Write);
    });
    let (mut b_read, mut a_write) = (b, a);
    let _ = std::io::copy(&mut b_read, &mut a_write);
    let _ = a_write.shutdown(Shutdown::Write);
    let _ = there.join();
}

// ------------------------------------------------------------- the C ABI

/// What a call through the C ABI gave: its result and the `teamsop_last_*`
/// state (when it failed), or the operation's id (when it succeeded).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: teamsop_result,
    pub message: String,
    pub http_status: i32,
    pub graph_code: Option<String>,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub op_id: Option<String>,
}

impl Outcome {
    /// Everything the library let the caller see, as one string.
    pub fn everything(&self) -> String {
        format!("{self:?}")
    }
}

fn opt_text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: the library's NUL-terminated strings, valid until the next
        // failing call on this thread; copied at once.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Reads the result of a call that wrote `*out`, then frees the operation.
fn outcome(result: teamsop_result, op: *mut teamsop_operation) -> Outcome {
    let ok = result == teamsop_result::TEAMSOP_OK;
    assert_eq!(ok, !op.is_null(), "out is set exactly on TEAMSOP_OK");
    // SAFETY: `op` is NULL or an operation from the library, freed here once.
    let op_id = if ok {
        let id = opt_text(unsafe { teamsop_operation_id(op) });
        unsafe { teamsop_free(op) };
        id
    } else {
        None
    };
    Outcome {
        result,
        message: if ok {
            String::new()
        } else {
            opt_text(teamsop_last_error_message()).unwrap_or_default()
        },
        http_status: if ok { 0 } else { teamsop_last_http_status() },
        graph_code: if ok {
            None
        } else {
            opt_text(teamsop_last_graph_code())
        },
        request_id: if ok {
            None
        } else {
            opt_text(teamsop_last_request_id())
        },
        client_request_id: if ok {
            None
        } else {
            opt_text(teamsop_last_client_request_id())
        },
        op_id,
    }
}

/// A `teamsop_client *`, freed on drop.
pub struct CClient(*mut teamsop_client);

impl CClient {
    /// `teamsop_client_new(token)`, pointed at `base_url`, with `timeout_ms`.
    pub fn new(token: &str, base_url: &str, timeout_ms: u32) -> CClient {
        let token = CString::new(token).unwrap();
        // SAFETY: a valid NUL-terminated string.
        let client = unsafe { teamsop_client_new(token.as_ptr()) };
        assert!(!client.is_null(), "teamsop_client_new");
        let c = CClient(client);
        assert_eq!(c.set_base_url(base_url), teamsop_result::TEAMSOP_OK);
        // SAFETY: a live client.
        unsafe {
            assert_eq!(
                teamsop_client_set_timeout_ms(c.0, timeout_ms),
                teamsop_result::TEAMSOP_OK
            );
            assert_eq!(
                teamsop_client_set_poll_interval_ms(c.0, 20),
                teamsop_result::TEAMSOP_OK
            );
        }
        c
    }

    pub fn raw(&self) -> *mut teamsop_client {
        self.0
    }

    pub fn set_base_url(&self, base_url: &str) -> teamsop_result {
        let base = CString::new(base_url).unwrap();
        // SAFETY: a live client and a valid string.
        unsafe { teamsop_client_set_base_url(self.0, base.as_ptr()) }
    }

    pub fn set_max_retries(&self, n: u32) {
        // SAFETY: a live client.
        assert_eq!(
            unsafe { teamsop_client_set_max_retries(self.0, n) },
            teamsop_result::TEAMSOP_OK
        );
    }

    pub fn set_max_body_bytes(&self, n: usize) {
        // SAFETY: a live client.
        assert_eq!(
            unsafe { teamsop_client_set_max_body_bytes(self.0, n) },
            teamsop_result::TEAMSOP_OK
        );
    }

    pub fn set_ca_file(&self, path: &std::path::Path) {
        let path = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a live client and a valid string.
        assert_eq!(
            unsafe { teamsop_client_set_ca_file(self.0, path.as_ptr()) },
            teamsop_result::TEAMSOP_OK
        );
    }

    /// `teamsop_get` (a chat's operation).
    pub fn get(&self, chat: &str, op: &str) -> Outcome {
        let (chat, op_id) = (CString::new(chat).unwrap(), CString::new(op).unwrap());
        let mut out = ptr::null_mut();
        // SAFETY: a live client, valid strings and out-pointer.
        let r = unsafe { teamsop_get(self.0, chat.as_ptr(), op_id.as_ptr(), &mut out) };
        outcome(r, out)
    }

    /// `teamsop_get_team_operation`.
    pub fn get_team(&self, team: &str, op: &str) -> Outcome {
        let (team, op_id) = (CString::new(team).unwrap(), CString::new(op).unwrap());
        let mut out = ptr::null_mut();
        // SAFETY: a live client, valid strings and out-pointer.
        let r =
            unsafe { teamsop_get_team_operation(self.0, team.as_ptr(), op_id.as_ptr(), &mut out) };
        outcome(r, out)
    }

    /// `teamsop_get_location`.
    pub fn get_location(&self, location: &str) -> Outcome {
        let location = CString::new(location).unwrap();
        let mut out = ptr::null_mut();
        // SAFETY: a live client, a valid string and out-pointer.
        let r = unsafe { teamsop_get_location(self.0, location.as_ptr(), &mut out) };
        outcome(r, out)
    }

    /// `teamsop_wait` with no callback.
    pub fn wait(&self, location: &str, timeout_ms: u32) -> Outcome {
        let location = CString::new(location).unwrap();
        let mut out = ptr::null_mut();
        // SAFETY: a live client, a valid string and out-pointer; no callback.
        let r = unsafe {
            teamsop_wait(
                self.0,
                location.as_ptr(),
                timeout_ms,
                None,
                ptr::null_mut(),
                &mut out,
            )
        };
        outcome(r, out)
    }
}

impl Drop for CClient {
    fn drop(&mut self) {
        // SAFETY: the client from teamsop_client_new, freed once.
        unsafe { teamsop_client_free(self.0) };
    }
}

/// A team operation's Location for `teamsop_get_location` / `teamsop_wait`.
pub fn team_location(team: &str, op: &str) -> String {
    format!("/teams('{team}')/operations('{op}')")
}
