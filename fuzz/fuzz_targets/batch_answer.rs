//! Bytes → a `$batch` answer (Graph JSON batching), each inner response read as a
//! single GET's answer would be; and the same bytes as a `WWW-Authenticate` value
//! whose CAE claims challenge is decoded. Hostile servers write both.
//!
//! Checks: no panic; when the answer decodes, at most one inner result for each
//! response whose id an independent reading (serde_json's `Value`, where it reads
//! the text) finds to be a string or a number; decoded claims are non-empty text
//! without NUL.

#![no_main]

use libfuzzer_sys::fuzz_target;
use teamsop::fuzz_hooks::{batch_answer, claims_challenge};

fuzz_target!(|data: &[u8]| {
    if let Some(results) = batch_answer(data) {
        // serde_json's Value refuses escapes the grammar allows (a lone surrogate,
        // say) that the library keeps raw: compare only when it reads the text.
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
            let responses = value["responses"]
                .as_array()
                .expect("a decoded $batch answer has a responses array");
            // At most the responses whose id can be read (a string, or a number
            // kept as its text); the others answer no request and are left out, as
            // is one the library finds malformed where `Value` is lenient (a
            // repeated member, whose last copy `Value` keeps).
            let named = responses
                .iter()
                .filter(|r| r.get("id").is_some_and(|id| id.is_string() || id.is_u64()))
                .count();
            assert!(results.len() <= named, "{} results, {named} named", results.len());
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(claims) = claims_challenge(text) {
            assert!(!claims.is_empty());
            assert!(!claims.contains('\0'));
        }
    }
});
