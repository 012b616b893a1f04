//! PEM certificates, decoded fast. A system bundle holds a hundred-odd roots in
//! about 200 KiB of base64; a constant-time decoder (what rustls' PEM reader uses,
//! rightly, for keys) spends most of a cold process's instructions on it. Trust
//! anchors are public, so a table-driven decoder does here.

use rustls_pki_types::CertificateDer;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// Why a `CERTIFICATE` section could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PemError {
    /// A `BEGIN CERTIFICATE` line without its `END` line.
    Unterminated,
    /// Something other than base64 and white space between the two lines, or
    /// base64 that does not decode (bad padding, truncated).
    BadBase64,
    /// The section decodes to nothing.
    Empty,
}

impl std::fmt::Display for PemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PemError::Unterminated => "a certificate has no END line",
            PemError::BadBase64 => "a certificate is not valid base64",
            PemError::Empty => "a certificate is empty",
        })
    }
}

/// Every `CERTIFICATE` section of `data`, in order; other sections (keys,
/// `TRUSTED CERTIFICATE`) and text between sections are skipped.
pub(crate) fn certificates(
    data: &[u8],
) -> impl Iterator<Item = Result<CertificateDer<'static>, PemError>> + '_ {
    let mut rest = data;
    std::iter::from_fn(move || {
        let start = find(rest, BEGIN)?;
        let body = &rest[start + BEGIN.len()..];
        let Some(end) = find(body, END) else {
            rest = &[];
            return Some(Err(PemError::Unterminated));
        };
        rest = &body[end + END.len()..];
        Some(decode_base64(&body[..end]).map(CertificateDer::from))
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// 0..=63 for the base64 alphabet, SKIP for white space, BAD for the rest ('=' included).
const SKIP: u8 = 0xFE;
const BAD: u8 = 0xFF;
const TABLE: [u8; 256] = {
    let mut t = [BAD; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t[b' ' as usize] = SKIP;
    t[b'\t' as usize] = SKIP;
    t[b'\r' as usize] = SKIP;
    t[b'\n' as usize] = SKIP;
    t
};

/// Standard base64 with optional `=` padding (only at the end), white space ignored.
fn decode_base64(text: &[u8]) -> Result<Vec<u8>, PemError> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    // Sextets of the group being read when it is not read whole (across a line end).
    let mut group = [0u8; 4];
    let mut held = 0usize;
    let mut padding = 0usize;
    let mut i = 0;
    while i < text.len() {
        // Fast path: whole groups of four symbols (PEM lines are 64 symbols long,
        // so every line is read this way), until anything else.
        if held == 0 && padding == 0 {
            for quad in text[i..].chunks_exact(4) {
                let (a, b, c, d) = (
                    TABLE[usize::from(quad[0])],
                    TABLE[usize::from(quad[1])],
                    TABLE[usize::from(quad[2])],
                    TABLE[usize::from(quad[3])],
                );
                if (a | b | c | d) >= 64 {
                    break;
                }
                out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d]);
                i += 4;
            }
            if i == text.len() {
                break;
            }
        }
        let symbol = text[i];
        i += 1;
        match TABLE[usize::from(symbol)] {
            SKIP => {}
            _ if symbol == b'=' => padding += 1,
            v if v < 64 && padding == 0 => {
                group[held] = v;
                held += 1;
                if held == 4 {
                    let [a, b, c, d] = group;
                    out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d]);
                    held = 0;
                }
            }
            _ => return Err(PemError::BadBase64),
        }
    }
    // A final partial group: 2 symbols give a byte, 3 give two; the bits past them
    // must be zero, and padding, if any, must complete the group.
    let [a, b, c, _] = group;
    match held {
        0 => {}
        2 if b & 0x0F == 0 => out.push(a << 2 | b >> 4),
        3 if c & 0x03 == 0 => out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2]),
        _ => return Err(PemError::BadBase64),
    }
    if padding != 0 && (held == 0 || held + padding != 4) {
        return Err(PemError::BadBase64);
    }
    if out.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(pem: &str) -> Result<Vec<u8>, PemError> {
        let mut all = certificates(pem.as_bytes());
        let first = all.next().expect("a section");
        assert!(all.next().is_none());
        first.map(|c| c.as_ref().to_vec())
    }

    fn wrap(body: &str) -> String {
        format!(
            "{}\n{body}\n{}\n",
            "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
        )
    }

    #[test]
    fn decodes_every_padding_form() {
        assert_eq!(one(&wrap("TWFu")).unwrap(), b"Man");
        assert_eq!(one(&wrap("TWE=")).unwrap(), b"Ma");
        assert_eq!(one(&wrap("TQ==")).unwrap(), b"M");
        assert_eq!(one(&wrap("TWE")).unwrap(), b"Ma");
        assert_eq!(one(&wrap("TQ")).unwrap(), b"M");
        assert_eq!(one(&wrap("TW\r\nFu TW\tE=")).unwrap(), b"ManMa");
    }

    #[test]
    fn refuses_what_is_not_base64() {
        for body in [
            "not base64!",
            "TQ=x",
            "TWFuT",
            "TR==",
            "TQ=",
            "T===",
            "TWFu=",
            "=",
            "-",
        ] {
            assert!(one(&wrap(body)).is_err(), "{body:?}");
        }
        assert_eq!(one(&wrap("")), Err(PemError::Empty));
        assert_eq!(
            one("-----BEGIN CERTIFICATE-----\nTWFu\n"),
            Err(PemError::Unterminated)
        );
    }

    #[test]
    fn agrees_with_rustls_on_a_real_bundle() {
        use rustls_pki_types::pem::PemObject;
        let Ok(bundle) = std::fs::read("/etc/ssl/certs/ca-certificates.crt") else {
            return; // no system bundle on this machine: the cases above still hold
        };
        let ours: Vec<_> = certificates(&bundle).map(Result::unwrap).collect();
        let theirs: Vec<_> = CertificateDer::pem_slice_iter(&bundle)
            .map(Result::unwrap)
            .collect();
        assert!(!ours.is_empty());
        assert_eq!(ours, theirs);
    }

    #[test]
    fn skips_other_sections_and_text() {
        let text = format!(
            "junk - with -- dashes\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}{}",
            wrap("TWFu"),
            wrap("TWE=")
        );
        let all: Vec<_> = certificates(text.as_bytes()).map(Result::unwrap).collect();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].as_ref(), b"Ma");
    }
}
