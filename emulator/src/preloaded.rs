//! The operations preloaded at start: the seed of Graph's documentation
//! (served byte for byte) and three team operations, one per outcome.

use std::collections::HashMap;

use bytes::Bytes;
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

/// A preloaded operation.
pub(crate) struct Preloaded {
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
                Value::from(graph_format::operation_context(v, kind, resource)),
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

    /// Its body for a version.
    pub(crate) fn body(&self, v: Version) -> Bytes {
        match v {
            Version::Beta => self.beta.clone(),
            Version::V1 => self.v1.clone(),
        }
    }

    /// Its body with only the `$select`ed properties; `Err` names one it
    /// does not have.
    pub(crate) fn select(&self, v: Version, names: &[String]) -> Result<Bytes, String> {
        if self.fixed {
            return Ok(self.fields.select(names)?.render());
        }
        let mut f = vec![(
            "@odata.context".to_owned(),
            Value::from(graph_format::operation_context(
                v,
                self.kind,
                &self.resource,
            )),
        )];
        f.extend(self.fields.select(names)?.0);
        Ok(Fields(f).render())
    }
}

/// The preloaded operations, keyed by operation id (unique among them).
pub(crate) struct PreloadedSet(HashMap<String, Preloaded>);

impl PreloadedSet {
    pub(crate) fn new() -> PreloadedSet {
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
        PreloadedSet(preloaded)
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

    /// The operation `op` of `id`, if preloaded.
    pub(crate) fn lookup(&self, kind: Kind, id: &str, op: &str) -> Option<&Preloaded> {
        self.0
            .get(op)
            .filter(|p| p.kind == kind && p.resource == id)
    }
}
