//! The system's trusted roots, read from one place: the bundle file when there is
//! one, a directory of certificates otherwise (what `update-ca-certificates`,
//! `update-ca-trust` and the BSDs keep, corporate roots included).
//!
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` (a `:`-separated list) replace the search,
//! as in OpenSSL. Roots read once are kept for the process; a failure to read them
//! (no free file descriptor, say) is not: the next handshake tries again.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use once_cell::sync::OnceCell;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

use super::pem;

/// Where Linux distributions and the BSDs keep their bundle (the list OpenSSL's
/// probing uses), the most common first.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Gentoo, Arch, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // RHEL, CentOS
    "/etc/ssl/cert.pem",                  // Alpine, OpenBSD, macOS
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/certs/ca-certificates.crt",     // Solaris
    "/usr/local/share/certs/ca-root-nss.crt", // FreeBSD
    "/usr/local/etc/openssl/cert.pem",    // Homebrew
    "/opt/local/etc/openssl/cert.pem",    // MacPorts
    "/usr/local/ssl/cert.pem",
    "/etc/openssl/certs/ca-certificates.crt", // NetBSD
];

/// Directories of certificates, for systems with no bundle.
const DIRECTORIES: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/etc/openssl/certs",
    "/usr/local/share/certs",
    "/system/etc/security/cacerts", // Android
];

/// Why the system's roots could not be had; its text completes "the system's
/// trusted roots could not be read (…)".
#[derive(Debug, Clone)]
pub(crate) struct RootsUnavailable {
    detail: String,
}

impl fmt::Display for RootsUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the system's trusted roots could not be read ({})",
            self.detail
        )
    }
}

impl std::error::Error for RootsUnavailable {}

impl RootsUnavailable {
    fn io(path: &Path, err: &io::Error) -> RootsUnavailable {
        RootsUnavailable {
            detail: format!("{}: {}", path.display(), io_text(err)),
        }
    }
}

/// An I/O error's text without the "(os error N)" tail.
fn io_text(err: &io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(cut) if text.ends_with(')') => text[..cut].to_owned(),
        _ => text,
    }
}

/// The system's roots: read on the first call that succeeds, then kept.
pub(crate) fn system() -> Result<Arc<RootCertStore>, RootsUnavailable> {
    static ROOTS: OnceCell<Arc<RootCertStore>> = OnceCell::new();
    ROOTS
        .get_or_try_init(|| {
            let certs = read(&Sources::from_env())?;
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(certs);
            Ok(Arc::new(store))
        })
        .cloned()
}

/// Where to look, from the environment.
struct Sources {
    file: Option<PathBuf>,
    dirs: Vec<PathBuf>,
}

impl Sources {
    fn from_env() -> Sources {
        let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Sources::new(set("SSL_CERT_FILE"), set("SSL_CERT_DIR"))
    }

    fn new(file: Option<OsString>, dirs: Option<OsString>) -> Sources {
        if file.is_none() && dirs.is_none() {
            return Sources {
                file: None,
                dirs: Vec::new(),
            };
        }
        Sources {
            file: file.map(PathBuf::from),
            dirs: dirs
                .map(|d| {
                    std::env::split_paths(&d)
                        .filter(|p| !p.as_os_str().is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn uses_defaults(&self) -> bool {
        self.file.is_none() && self.dirs.is_empty()
    }
}

/// The certificates the sources name (duplicates removed), or why none could be read.
fn read(sources: &Sources) -> Result<Vec<CertificateDer<'static>>, RootsUnavailable> {
    let mut certs = Vec::new();
    let mut read_a_directory = !sources.dirs.is_empty();
    if sources.uses_defaults() {
        // `metadata` needs no file descriptor: a bundle that exists but cannot be
        // opened is an error, not a reason to try the directory.
        if let Some(bundle) = BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
            read_file(bundle, &mut certs)?;
        } else if let Some(dir) = DIRECTORIES.iter().map(Path::new).find(|p| p.is_dir()) {
            read_dir(dir, &mut certs)?;
            read_a_directory = true;
        } else {
            return Err(RootsUnavailable {
                detail: format!(
                    "no bundle and no certificate directory on this system; set SSL_CERT_FILE (looked for {} and {})",
                    BUNDLES[0], DIRECTORIES[0]
                ),
            });
        }
    } else {
        if let Some(file) = &sources.file {
            read_file(file, &mut certs)?;
        }
        for dir in &sources.dirs {
            read_dir(dir, &mut certs)?;
        }
    }
    if read_a_directory {
        // A directory names each root twice on Debian-like systems (its name and
        // its hash). Order means nothing in a root store.
        certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        certs.dedup_by(|a, b| a.as_ref() == b.as_ref());
    }
    if certs.is_empty() {
        let place = match (&sources.file, sources.dirs.first()) {
            (Some(f), _) => f.display().to_string(),
            (None, Some(d)) => d.display().to_string(),
            (None, None) => "the system's bundle".to_owned(),
        };
        return Err(RootsUnavailable {
            detail: format!("{place}: no certificate found"),
        });
    }
    Ok(certs)
}

fn read_file(
    path: &Path,
    certs: &mut Vec<CertificateDer<'static>>,
) -> Result<(), RootsUnavailable> {
    let data = std::fs::read(path).map_err(|e| RootsUnavailable::io(path, &e))?;
    // A section that does not decode is skipped, as OpenSSL skips it.
    certs.extend(pem::certificates(&data).filter_map(Result::ok));
    Ok(())
}

/// Every file of `dir` holding PEM certificates.
fn read_dir(dir: &Path, certs: &mut Vec<CertificateDer<'static>>) -> Result<(), RootsUnavailable> {
    let entries = std::fs::read_dir(dir).map_err(|e| RootsUnavailable::io(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| RootsUnavailable::io(dir, &e))?;
        let path = entry.path();
        match std::fs::read(&path) {
            Ok(data) => certs.extend(pem::certificates(&data).filter_map(Result::ok)),
            // Out of descriptors or memory: the set would be incomplete, so fail
            // (and try again at the next handshake) rather than trust a part of it.
            Err(e) if is_resource_shortage(&e) => return Err(RootsUnavailable::io(&path, &e)),
            // A sub-directory, a dangling link, a file we may not read: not a root.
            Err(_) => {}
        }
    }
    Ok(())
}

fn is_resource_shortage(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::ENOBUFS)
    ) || err.kind() == io::ErrorKind::OutOfMemory
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("teamsop-roots-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn pem_of(der: &[u8]) -> String {
        // Not a real certificate (read() keeps what decodes), and unpadded base64.
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut b64 = String::new();
        for chunk in der.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                b64.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n")
    }

    #[test]
    fn the_file_and_every_directory_named_are_read_without_duplicates() {
        let dir = temp_dir("env");
        let file = dir.join("bundle.pem");
        std::fs::write(&file, format!("{}{}", pem_of(b"one"), pem_of(b"two"))).unwrap();
        let certs_dir = dir.join("certs");
        std::fs::create_dir(&certs_dir).unwrap();
        std::fs::write(certs_dir.join("a.pem"), pem_of(b"two")).unwrap();
        std::fs::write(certs_dir.join("b.0"), pem_of(b"three")).unwrap();
        std::fs::write(certs_dir.join("README"), "not a certificate").unwrap();
        std::fs::create_dir(certs_dir.join("sub")).unwrap();
        let sources = Sources::new(Some(file.clone().into()), Some(certs_dir.clone().into()));
        let mut got: Vec<Vec<u8>> = read(&sources).unwrap().iter().map(|c| c.to_vec()).collect();
        got.sort();
        assert_eq!(
            got,
            vec![b"one".to_vec(), b"three".to_vec(), b"two".to_vec()]
        );

        // The file alone, when only it is named.
        let only_file = Sources::new(Some(file.into()), None);
        assert_eq!(read(&only_file).unwrap().len(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unreadable_or_empty_source_says_which_and_why() {
        let dir = temp_dir("bad");
        let missing = dir.join("missing.pem");
        let e = read(&Sources::new(Some(missing.clone().into()), None)).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("the system's trusted roots could not be read (")
                && text.contains(&missing.display().to_string())
                && text.contains("No such file or directory")
                && !text.contains("os error"),
            "{text}"
        );
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "nothing\n").unwrap();
        let e = read(&Sources::new(Some(empty.into()), None)).unwrap_err();
        assert!(e.to_string().contains("no certificate found"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn empty_variables_mean_the_defaults() {
        assert!(Sources::new(None, None).uses_defaults());
        assert!(Sources::new(None, Some(":".into())).uses_defaults());
        assert!(!Sources::new(Some("/x".into()), None).uses_defaults());
    }
}
