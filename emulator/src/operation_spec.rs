//! Operations created on request (`POST /_emulator/operations`): how many,
//! under what, how long each runs and how it ends; and the report of each one
//! (`GET /_emulator/operations`). The serde model only; `operations` runs them.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Most operations one request may create.
pub const MAX_OPERATIONS_PER_REQUEST: u32 = 1_000_000;

/// What a set of operations hangs off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parent {
    /// Team operations (`/teams('ID')/operations('OP')`).
    #[default]
    Team,
    /// Chat operations (`/chats('19:…@thread.v2')/operations('OP')`).
    Chat,
}

/// How long operations run: each one draws its duration uniformly in
/// `min..=max` milliseconds. In JSON, a number `n` is `{"min": n, "max": n}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DurationRange {
    /// Shortest, in milliseconds.
    pub min: u64,
    /// Longest, in milliseconds (at least `min`).
    pub max: u64,
}

impl DurationRange {
    /// Exactly `ms` milliseconds.
    pub fn fixed(ms: u64) -> Self {
        DurationRange { min: ms, max: ms }
    }

    /// Uniform in `min..=max` milliseconds.
    pub fn between(min: u64, max: u64) -> Self {
        DurationRange { min, max }
    }
}

impl<'de> Deserialize<'de> for DurationRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DurationRange;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(r#"milliseconds, or {"min": a, "max": b}"#)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationRange, E> {
                Ok(DurationRange::fixed(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<DurationRange, A::Error> {
                let (mut min, mut max) = (None, None);
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "min" => min = Some(m.next_value::<u64>()?),
                        "max" => max = Some(m.next_value::<u64>()?),
                        other => return Err(de::Error::unknown_field(other, &["min", "max"])),
                    }
                }
                match (min, max) {
                    (Some(min), Some(max)) => Ok(DurationRange { min, max }),
                    (None, _) => Err(de::Error::missing_field("min")),
                    (_, None) => Err(de::Error::missing_field("max")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// How operations end, as weights: each operation draws its outcome with
/// probability `weight / sum of weights`. Fields left out weigh 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcomes {
    /// Weight of `succeeded`.
    #[serde(default)]
    pub succeeded: u32,
    /// Weight of `failed` (with an `error` object).
    #[serde(default)]
    pub failed: u32,
    /// Weight of `invalid` (with an `error` object).
    #[serde(default)]
    pub invalid: u32,
}

impl Default for Outcomes {
    /// All succeed.
    fn default() -> Self {
        Outcomes {
            succeeded: 1,
            failed: 0,
            invalid: 0,
        }
    }
}

/// Operations to create at once, each progressing by wall-clock time from its
/// creation (not by polls): `notStarted` for the first quarter of its duration,
/// then `inProgress`, then its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOperations {
    /// How many, 1 to [`MAX_OPERATIONS_PER_REQUEST`].
    pub count: u32,
    /// Teams or chats (default teams).
    #[serde(default)]
    pub parent: Parent,
    /// Every operation under this team or chat; by default each gets a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// How long each runs (default 0: already ended when first seen).
    #[serde(default)]
    pub duration_ms: DurationRange,
    /// How they end (default all succeed).
    #[serde(default)]
    pub outcome: Outcomes,
    /// Seed of the draws of durations and outcomes (SplitMix64): the same seed
    /// gives the same durations and outcomes, in creation order.
    #[serde(default)]
    pub seed: u64,
    /// A GET answers 404 for this long after creation (Graph's late visibility).
    #[serde(default)]
    pub not_visible_ms: u64,
    /// `operationType` (default `createTeam` / `createChat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
}

impl NewOperations {
    /// `count` team operations of duration 0 that succeed.
    pub fn new(count: u32) -> Self {
        NewOperations {
            count,
            parent: Parent::Team,
            parent_id: None,
            duration_ms: DurationRange::default(),
            outcome: Outcomes::default(),
            seed: 0,
            not_visible_ms: 0,
            operation_type: None,
        }
    }

    /// Sets how many.
    pub fn with_count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// Chat operations instead.
    pub fn chats(mut self) -> Self {
        self.parent = Parent::Chat;
        self
    }

    /// All under this team or chat.
    pub fn with_parent_id(mut self, id: impl Into<String>) -> Self {
        self.parent_id = Some(id.into());
        self
    }

    /// Durations drawn from this range.
    pub fn with_duration(mut self, range: DurationRange) -> Self {
        self.duration_ms = range;
        self
    }

    /// Outcome weights.
    pub fn with_outcomes(mut self, succeeded: u32, failed: u32, invalid: u32) -> Self {
        self.outcome = Outcomes {
            succeeded,
            failed,
            invalid,
        };
        self
    }

    /// Seed of the draws.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// 404 for this long after creation.
    pub fn with_not_visible_ms(mut self, ms: u64) -> Self {
        self.not_visible_ms = ms;
        self
    }

    /// Sets `operationType`.
    pub fn with_operation_type(mut self, ty: impl Into<String>) -> Self {
        self.operation_type = Some(ty.into());
        self
    }
}

/// One created operation, as `GET /_emulator/operations` reports it. Times are
/// Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationReport {
    /// Its Location, in Graph's form: `/teams('ID')/operations('OP')`.
    pub location: String,
    /// `team` or `chat`.
    pub parent: Parent,
    /// The team or chat id.
    pub parent_id: String,
    /// The operation id.
    pub id: String,
    /// `operationType`.
    pub operation_type: String,
    /// `time` (created by `POST /_emulator/operations`: progresses by the
    /// clock) or `polls` (created by `POST /{version}/teams|chats`: progresses
    /// as polled, `--progress-polls`).
    pub progress: String,
    /// When it was created.
    pub created_unix_ms: i64,
    /// From when a GET finds it (before: 404).
    pub visible_unix_ms: i64,
    /// When it turns `inProgress` (`None` for `polls`).
    pub started_unix_ms: Option<i64>,
    /// When it reaches its outcome (`None` for `polls`).
    pub ends_unix_ms: Option<i64>,
    /// `succeeded`, `failed` or `invalid`.
    pub outcome: String,
    /// GETs of it that reached it (404s while not visible included; 429s of
    /// the rate limiter and scripted answers excluded).
    pub polls: u64,
    /// The first time a GET was answered with its outcome.
    pub first_terminal_poll_unix_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_forms() {
        let n: NewOperations = serde_json::from_str(
            r#"{"count": 3, "parent": "chat", "duration_ms": {"min": 5, "max": 9},
                "outcome": {"succeeded": 90, "failed": 9, "invalid": 1}, "seed": 7, "not_visible_ms": 10}"#,
        )
        .unwrap();
        assert_eq!(
            n,
            NewOperations::new(3)
                .chats()
                .with_duration(DurationRange::between(5, 9))
                .with_outcomes(90, 9, 1)
                .with_seed(7)
                .with_not_visible_ms(10)
        );
        let fixed: NewOperations =
            serde_json::from_str(r#"{"count": 1, "duration_ms": 250, "outcome": {"failed": 1}}"#)
                .unwrap();
        assert_eq!(fixed.duration_ms, DurationRange::fixed(250));
        assert_eq!(
            fixed.outcome,
            Outcomes {
                succeeded: 0,
                failed: 1,
                invalid: 0
            }
        );
        assert_eq!(fixed.parent, Parent::Team);
        for bad in [
            r#"{"count": 1, "duration_ms": {"min": 1}}"#,
            r#"{"count": 1, "duration_ms": {"min": 1, "max": 2, "avg": 1}}"#,
            r#"{"count": 1, "duration_ms": -1}"#,
            r#"{"count": 1, "duration_ms": "5"}"#,
            r#"{"count": 1, "outcome": {"maybe": 1}}"#,
            r#"{"count": 1, "parent": "group"}"#,
            r#"{"count": -1}"#,
            r#"{"parent": "team"}"#,
            r#"{"count": 1, "colour": "red"}"#,
        ] {
            assert!(serde_json::from_str::<NewOperations>(bad).is_err(), "{bad}");
        }
        let back: NewOperations =
            serde_json::from_str(&serde_json::to_string(&n).unwrap()).unwrap();
        assert_eq!(back, n);
    }
}
