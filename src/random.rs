//! Random values that need no cryptographic strength: `client-request-id` GUIDs
//! and retry jitter. Seeded by the standard library's per-process random keys.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use once_cell::sync::Lazy;

static KEYS: Lazy<RandomState> = Lazy::new(RandomState::new);
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 64 random-looking bits, different on every call.
pub(crate) fn random_u64() -> u64 {
    let mut h = KEYS.build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    // A child of fork() starts with its parent's keys and counter: without
    // this, both would send the same request ids. (0 until a fork: no cost.)
    let salt = crate::http::fork::process_salt();
    if salt != 0 {
        h.write_u64(salt);
    }
    h.finish()
}

/// A version-4 GUID in Graph's lowercase form.
pub(crate) fn new_guid() -> String {
    let hi = (random_u64() & !0xf000) | 0x4000; // version 4 in bits 12..16
    let lo = (random_u64() & !(0xc000 << 48)) | (0x8000 << 48); // RFC 4122 variant
    let bits = (u128::from(hi) << 64) | u128::from(lo);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        let nibble = (bits >> (124 - 4 * i)) & 0xf;
        out.push(char::from(HEX[nibble as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_well_formed_and_distinct() {
        let a = new_guid();
        let b = new_guid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }
}
