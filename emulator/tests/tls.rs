//! HTTPS: the CA written out, a rustls client trusting it, faults through TLS.

mod common;

use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use teamsop_emulator::{Config, Emulator, Fault, Scenario, ScriptedResponse};

type TlsConn = Conn<StreamOwned<ClientConnection, TcpStream>>;

fn client_config(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn connect(emu: &Emulator, config: Arc<ClientConfig>, name: &str) -> TlsConn {
    let tcp = TcpStream::connect(emu.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let tls = ClientConnection::new(config, name).unwrap();
    Conn::new(StreamOwned::new(tls, tcp))
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("teamsop-emu-{}-{name}", std::process::id()))
}

#[test]
fn https_with_the_written_ca() {
    let ca_path = temp_path("ca.pem");
    let emu = Emulator::start(Config::default().tls(true).ca_out(&ca_path)).unwrap();
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let pem = std::fs::read_to_string(&ca_path).unwrap();
    let _ = std::fs::remove_file(&ca_path);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(Some(pem.clone()), emu.ca_pem());

    let config = client_config(&pem);
    for name in ["127.0.0.1", "localhost"] {
        let mut c = connect(&emu, config.clone(), name);
        for _ in 0..3 {
            let r = c.get(&seed_path("beta"));
            assert_eq!(r.status, 200);
            assert_eq!(r.body, seed_fixture());
        }
    }
    assert_eq!(emu.stats().connections, 2, "keep-alive over TLS");
}

#[test]
fn another_ca_is_refused() {
    let emu = Emulator::start(Config::default().tls(true)).unwrap();
    let other = Emulator::start(Config::default().tls(true)).unwrap();
    let mut c = connect(&emu, client_config(&other.ca_pem().unwrap()), "127.0.0.1");
    let err = c.request("GET", &seed_path("beta"), &[], None).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    // Plain HTTP to a TLS port gets no HTTP answer either.
    let mut plain = Conn::open(emu.addr());
    plain.send("GET", "/", &[], None).unwrap();
    let (raw, _) = plain.read_raw_to_end();
    assert!(!raw.starts_with(b"HTTP/1.1 200"));
}

#[test]
fn faults_through_tls() {
    let emu = Emulator::start(Config::default().tls(true)).unwrap();
    emu.add_scenario(Scenario::path("/reset").respond(ScriptedResponse::fault(Fault::Reset)));
    emu.add_scenario(
        Scenario::path("/close-mid")
            .respond(ScriptedResponse::fault(Fault::CloseMidBody).with_body("y".repeat(100))),
    );
    let config = client_config(&emu.ca_pem().unwrap());
    let mut c = connect(&emu, config.clone(), "localhost");
    c.send("GET", "/reset", &[], None).unwrap();
    let (raw, end) = c.read_raw_to_end();
    assert!(raw.is_empty());
    assert_eq!(end, End::Reset);

    let mut c = connect(&emu, config, "localhost");
    c.send("GET", "/close-mid", &[], None).unwrap();
    let (raw, end) = c.read_raw_to_end();
    // No close_notify: rustls reports the cut as an unexpected EOF.
    assert_eq!(end, End::Other(std::io::ErrorKind::UnexpectedEof));
    let (status, _, body) = split_raw(&raw);
    assert_eq!(status, 200);
    assert_eq!(body.len(), 50);
}

#[test]
fn ca_out_needs_tls() {
    let err = Emulator::start(Config::default().ca_out(temp_path("never.pem"))).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
