//! The operations the emulator knows, as a GET finds them: the preloaded ones
//! (fixed) and the ones created while it runs (see `created`).

use std::sync::Mutex;

use bytes::Bytes;
use serde_json::Value;

use crate::created::CreatedSet;
use crate::graph_format;
use crate::graph_path::{Kind, Version};
use crate::operation_spec::{NewOperations, OperationReport};
use crate::ordered_json::Fields;
use crate::preloaded::PreloadedSet;

pub(crate) use crate::preloaded::{SEED_BODY, SEED_CHAT, SEED_OP, TEAM};

/// Why a GET of an operation has no 200 answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GetError {
    NotFound,
    /// `$select` named a property the resource does not have.
    UnknownProperty(String),
}

/// All operations.
pub(crate) struct OperationStore {
    preloaded: PreloadedSet,
    created: Mutex<CreatedSet>,
    progress_polls: u64,
}

impl OperationStore {
    pub(crate) fn new(progress_polls: u32) -> OperationStore {
        OperationStore {
            preloaded: PreloadedSet::new(),
            created: Mutex::new(CreatedSet::default()),
            progress_polls: u64::from(progress_polls),
        }
    }

    fn created(&self) -> std::sync::MutexGuard<'_, CreatedSet> {
        self.created.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The body of a preloaded operation named like a scenario's `operation`
    /// (`seed`, `team:ID:OP`, `chat:ID:OP`).
    pub(crate) fn reference(&self, reference: &str, v: Version) -> Option<Bytes> {
        self.preloaded.reference(reference, v)
    }

    /// A GET of `/{version}/{chats|teams}/{id}/operations/{op}` (ids decoded).
    pub(crate) fn get(
        &self,
        kind: Kind,
        v: Version,
        id: &str,
        op: &str,
        select: Option<&[String]>,
    ) -> Result<Bytes, GetError> {
        if let Some(p) = self.preloaded.lookup(kind, id, op) {
            return match select {
                Some(names) => p.select(v, names).map_err(GetError::UnknownProperty),
                None => Ok(p.body(v)),
            };
        }
        let fields = self
            .created()
            .poll(kind, id, op, self.progress_polls)
            .ok_or(GetError::NotFound)?;
        let fields = match select {
            Some(names) => fields.select(names).map_err(GetError::UnknownProperty)?,
            None => fields,
        };
        let mut all = vec![(
            "@odata.context".to_owned(),
            Value::from(graph_format::operation_context(v, kind, id)),
        )];
        all.extend(fields.0);
        Ok(Fields(all).render())
    }

    /// Creates a team or chat and its operation, which progresses as polled;
    /// returns their ids, or `None` when too many operations are held.
    pub(crate) fn create(&self, kind: Kind) -> Option<(String, String)> {
        self.created().create_polled(kind)
    }

    /// Creates operations that progress by the clock; returns their Locations.
    pub(crate) fn create_many(
        &self,
        spec: &NewOperations,
        now_unix_ms: i64,
    ) -> Result<Vec<String>, String> {
        self.created().create_timed(spec, now_unix_ms)
    }

    /// Every created operation, in creation order.
    pub(crate) fn reports(&self) -> Vec<OperationReport> {
        self.created().reports()
    }

    /// Forgets the created operations.
    pub(crate) fn reset(&self) {
        self.created().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(b: &Bytes) -> String {
        let v: Value = serde_json::from_slice(b).unwrap();
        v["status"].as_str().unwrap().to_owned()
    }

    #[test]
    fn seed_is_byte_exact_for_both_versions() {
        let s = OperationStore::new(1);
        let b = s
            .get(Kind::Chat, Version::V1, SEED_CHAT, SEED_OP, None)
            .unwrap();
        assert_eq!(&b[..], SEED_BODY);
        assert_eq!(&s.reference("seed", Version::Beta).unwrap()[..], SEED_BODY);
    }

    #[test]
    fn select_keeps_order_and_context() {
        let s = OperationStore::new(1);
        let names = vec!["STATUS".to_owned(), "id".to_owned()];
        let b = s
            .get(Kind::Chat, Version::Beta, SEED_CHAT, SEED_OP, Some(&names))
            .unwrap();
        let text = std::str::from_utf8(&b).unwrap();
        assert!(text.starts_with(
            r#"{"@odata.context":"https://graph.microsoft.com/beta/$metadata#chats('19%3Ac253"#
        ));
        assert!(text.ends_with(r#"","id":"2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4","status":"succeeded"}"#));
        let bad = vec!["nope".to_owned()];
        assert_eq!(
            s.get(Kind::Chat, Version::Beta, SEED_CHAT, SEED_OP, Some(&bad)),
            Err(GetError::UnknownProperty("nope".into()))
        );
    }

    #[test]
    fn team_ops_and_references() {
        let s = OperationStore::new(1);
        let b = s
            .get(Kind::Team, Version::V1, TEAM, "archive-failed", None)
            .unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["error"]["code"], "Conflict");
        assert!(v["@odata.context"].as_str().unwrap().contains("/v1.0/"));
        assert!(s
            .reference(&format!("team:{TEAM}:create-succeeded"), Version::Beta)
            .is_some());
        assert!(s
            .reference(&format!("chat:{SEED_CHAT}:{SEED_OP}"), Version::Beta)
            .is_some());
        assert!(s.reference("team:x:y", Version::Beta).is_none());
        assert!(s.reference("bogus", Version::Beta).is_none());
        assert_eq!(
            s.get(Kind::Team, Version::V1, TEAM, "nope", None),
            Err(GetError::NotFound)
        );
    }

    #[test]
    fn created_progression() {
        for n in [0u32, 1, 3] {
            let s = OperationStore::new(n);
            let (id, op) = s.create(Kind::Chat).unwrap();
            assert!(id.starts_with("19:") && id.ends_with("@thread.v2"));
            let mut seen = vec![];
            for _ in 0..(2 * n + 2) {
                seen.push(status(
                    &s.get(Kind::Chat, Version::Beta, &id, &op, None).unwrap(),
                ));
            }
            let n = n as usize;
            assert!(seen[..n].iter().all(|s| s == "notStarted"), "{seen:?}");
            assert!(seen[n..2 * n].iter().all(|s| s == "inProgress"), "{seen:?}");
            assert!(seen[2 * n..].iter().all(|s| s == "succeeded"), "{seen:?}");
            s.reset();
            assert_eq!(
                s.get(Kind::Chat, Version::Beta, &id, &op, None),
                Err(GetError::NotFound)
            );
        }
    }
}
