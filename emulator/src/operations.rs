//! The operations the emulator knows: the preloaded ones (fixed) and the ones
//! created by `POST /beta/teams` / `POST /beta/chats`, which progress as polled.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};

use crate::graph_format;
use crate::graph_path::{Kind, Version};
use crate::ordered_json::Fields;

/// The body of Graph's documentation example, served byte for byte.
pub(crate) const SEED_BODY: &[u8] = include_bytes!("../../tests/fixtures/seed-operation.json");
/// The chat of the seed operation.
pub(crate) const SEED_CHAT: &str = "19:c253a29b5f694b55a6baad8e83510af7@thread.v2";
/// The seed operation id.
pub(crate) const SEED_OP: &str = "2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4";
/// The preloaded team.
pub(crate) const TEAM: &str = "8b081ef6-4792-4def-b2c9-c363a1bf41d5";

/// Why a GET of an operation has no 200 answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GetError {
    NotFound,
    /// `$select` named a property the resource does not have.
    UnknownProperty(String),
}

/// Characters escaped in a key inside `@odata.context`, as Graph does for chat ids.
const KEY_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b':')
    .add(b'@')
    .add(b'\'')
    .add(b'/')
    .add(b'?')
    .add(b'#')
    .add(b'%');

fn context(version: Version, kind: Kind, resource: &str) -> String {
    format!(
        "https://graph.microsoft.com/{}/$metadata#{}('{}')/operations/$entity",
        version.as_str(),
        kind.collection(),
        utf8_percent_encode(resource, KEY_ESCAPE)
    )
}

/// A preloaded operation.
struct Preloaded {
    /// Properties without `@odata.context` (it depends on the version asked),
    /// except for the seed, whose body is fixed.
    fields: Fields,
    /// Rendered bodies for beta and v1.0 (the same bytes for the seed).
    beta: Bytes,
    v1: Bytes,
    /// The seed keeps its own `@odata.context`.
    fixed: bool,
    kind: Kind,
    resource: String,
}

impl Preloaded {
    fn new(kind: Kind, resource: &str, fields: Vec<(String, Value)>) -> Preloaded {
        let fields = Fields(fields);
        let with = |v| {
            let mut f = vec![(
                "@odata.context".to_owned(),
                Value::from(context(v, kind, resource)),
            )];
            f.extend(fields.0.iter().cloned());
            Fields(f).render()
        };
        Preloaded {
            beta: with(Version::Beta),
            v1: with(Version::V1),
            fields,
            fixed: false,
            kind,
            resource: resource.to_owned(),
        }
    }

    fn seed() -> Preloaded {
        let fields: Fields = serde_json::from_slice(SEED_BODY).unwrap_or_default();
        let body = Bytes::from_static(SEED_BODY);
        Preloaded {
            fields,
            beta: body.clone(),
            v1: body,
            fixed: true,
            kind: Kind::Chat,
            resource: SEED_CHAT.to_owned(),
        }
    }

    fn body(&self, v: Version) -> Bytes {
        match v {
            Version::Beta => self.beta.clone(),
            Version::V1 => self.v1.clone(),
        }
    }

    fn select(&self, v: Version, names: &[String]) -> Result<Bytes, GetError> {
        if self.fixed {
            return Ok(self
                .fields
                .select(names)
                .map_err(GetError::UnknownProperty)?
                .render());
        }
        let mut f = vec![(
            "@odata.context".to_owned(),
            Value::from(context(v, self.kind, &self.resource)),
        )];
        f.extend(
            self.fields
                .select(names)
                .map_err(GetError::UnknownProperty)?
                .0,
        );
        Ok(Fields(f).render())
    }
}

/// An operation created by a POST; its status follows the number of GETs.
#[derive(Clone, Debug)]
struct Created {
    created: String,
    polls: u64,
}

/// All operations, keyed by operation id (unique here) so that a lookup
/// borrows the request's id instead of allocating a key.
pub(crate) struct OperationStore {
    preloaded: HashMap<String, Preloaded>,
    created: Mutex<HashMap<String, (Kind, String, Created)>>,
    progress_polls: u64,
}

impl OperationStore {
    pub(crate) fn new(progress_polls: u32) -> OperationStore {
        let mut preloaded = HashMap::new();
        let mut put = |p: Preloaded, op: &str| {
            preloaded.insert(op.to_owned(), p);
        };
        put(Preloaded::seed(), SEED_OP);
        let team_op = |id: &str, ty: &str, status: &str, extra: Vec<(&str, Value)>| {
            let mut f: Vec<(String, Value)> = vec![
                ("id".into(), json!(id)),
                ("operationType".into(), json!(ty)),
                (
                    "createdDateTime".into(),
                    json!("2024-01-15T10:00:00.0000000Z"),
                ),
                ("status".into(), json!(status)),
                (
                    "lastActionDateTime".into(),
                    json!("2024-01-15T10:00:05.0000000Z"),
                ),
                ("attemptsCount".into(), json!(1)),
                ("targetResourceId".into(), Value::Null),
                ("targetResourceLocation".into(), Value::Null),
                ("error".into(), Value::Null),
            ];
            for (k, v) in extra {
                if let Some(slot) = f.iter_mut().find(|(n, _)| n == k) {
                    slot.1 = v;
                }
            }
            Preloaded::new(Kind::Team, TEAM, f)
        };
        put(
            team_op("clone-in-progress", "cloneTeam", "inProgress", vec![]),
            "clone-in-progress",
        );
        put(
            team_op(
                "archive-failed",
                "archiveTeam",
                "failed",
                vec![(
                    "error",
                    json!({"code": "Conflict", "message": "The team is already archived."}),
                )],
            ),
            "archive-failed",
        );
        put(
            team_op(
                "create-succeeded",
                "createTeam",
                "succeeded",
                vec![
                    ("targetResourceId", json!(TEAM)),
                    ("targetResourceLocation", json!(format!("/teams('{TEAM}')"))),
                ],
            ),
            "create-succeeded",
        );
        OperationStore {
            preloaded,
            created: Mutex::new(HashMap::new()),
            progress_polls: u64::from(progress_polls),
        }
    }

    /// The body of a preloaded operation named like a scenario's `operation`:
    /// `seed`, `team:ID:OP` or `chat:ID:OP` (a chat id has colons of its own,
    /// so the operation id is what follows the last one).
    pub(crate) fn reference(&self, reference: &str, v: Version) -> Option<Bytes> {
        if reference == "seed" {
            return self
                .lookup(Kind::Chat, SEED_CHAT, SEED_OP)
                .map(|p| p.body(v));
        }
        let (kind, rest) = if let Some(rest) = reference.strip_prefix("team:") {
            (Kind::Team, rest)
        } else if let Some(rest) = reference.strip_prefix("chat:") {
            (Kind::Chat, rest)
        } else {
            return None;
        };
        let (id, op) = rest.rsplit_once(':')?;
        self.lookup(kind, id, op).map(|p| p.body(v))
    }

    fn lookup(&self, kind: Kind, id: &str, op: &str) -> Option<&Preloaded> {
        self.preloaded
            .get(op)
            .filter(|p| p.kind == kind && p.resource == id)
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
        if let Some(p) = self.lookup(kind, id, op) {
            return match select {
                Some(names) => p.select(v, names),
                None => Ok(p.body(v)),
            };
        }
        let fields = {
            let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
            let Some((_, _, c)) = created
                .get_mut(op)
                .filter(|(k, r, _)| *k == kind && r == id)
            else {
                return Err(GetError::NotFound);
            };
            c.polls += 1;
            created_fields(kind, id, op, c, self.progress_polls)
        };
        let fields = match select {
            Some(names) => fields.select(names).map_err(GetError::UnknownProperty)?,
            None => fields,
        };
        let mut all = vec![(
            "@odata.context".to_owned(),
            Value::from(context(v, kind, id)),
        )];
        all.extend(fields.0);
        Ok(Fields(all).render())
    }

    /// Creates a team or chat and its operation; returns their ids.
    pub(crate) fn create(&self, kind: Kind) -> (String, String) {
        let (id, op) = match kind {
            Kind::Team => (graph_format::guid(), graph_format::guid()),
            Kind::Chat => (
                format!("19:{}@thread.v2", graph_format::guid().replace('-', "")),
                format!(
                    "{}-{}-{}",
                    graph_format::guid(),
                    graph_format::guid(),
                    graph_format::guid()
                ),
            ),
        };
        let c = Created {
            created: graph_format::utc_now(true),
            polls: 0,
        };
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(op.clone(), (kind, id.clone(), c));
        (id, op)
    }

    /// Forgets the created operations.
    pub(crate) fn reset(&self) {
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// The properties of a created operation after `c.polls` GETs: `progress_polls`
/// answers each of notStarted and inProgress, then succeeded.
fn created_fields(kind: Kind, id: &str, op: &str, c: &Created, progress_polls: u64) -> Fields {
    let status = if c.polls <= progress_polls {
        "notStarted"
    } else if c.polls <= progress_polls.saturating_mul(2) {
        "inProgress"
    } else {
        "succeeded"
    };
    let done = status == "succeeded";
    let ty = match kind {
        Kind::Team => "createTeam",
        Kind::Chat => "createChat",
    };
    Fields(vec![
        ("id".into(), json!(op)),
        ("operationType".into(), json!(ty)),
        ("createdDateTime".into(), json!(c.created)),
        ("status".into(), json!(status)),
        (
            "lastActionDateTime".into(),
            json!(graph_format::utc_now(true)),
        ),
        (
            "attemptsCount".into(),
            json!(if status == "notStarted" { 0 } else { 1 }),
        ),
        (
            "targetResourceId".into(),
            if done { json!(id) } else { Value::Null },
        ),
        (
            "targetResourceLocation".into(),
            if done {
                json!(format!("/{}('{}')", kind.collection(), id))
            } else {
                Value::Null
            },
        ),
        ("error".into(), Value::Null),
    ])
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
            let (id, op) = s.create(Kind::Chat);
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
