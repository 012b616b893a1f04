//! Operations created while the emulator runs: one by `POST /{version}/teams`
//! or `/chats` (it progresses as it is polled), or many at once by
//! `POST /_emulator/operations` (each progresses by the clock, with a drawn
//! duration and outcome). Kept in creation order with an index by id, so that
//! a GET costs the same among 100,000 as among 10.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::clock;
use crate::graph_format;
use crate::graph_path::Kind;
use crate::operation_spec::{NewOperations, OperationReport, Parent, MAX_OPERATIONS_PER_REQUEST};
use crate::ordered_json::Fields;
use crate::splitmix::SplitMix64;

/// Most created operations held at once (since the start or a reset).
pub(crate) const MAX_CREATED: usize = 1_000_000;
/// Longest `parent_id` accepted.
const MAX_PARENT_ID: usize = 256;

/// How an operation ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed,
    Invalid,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Invalid => "invalid",
        }
    }

    /// The `error` property of an operation that ended so.
    fn error(self) -> Value {
        match self {
            Outcome::Succeeded => Value::Null,
            Outcome::Failed => json!({
                "code": "OperationFailed",
                "message": "The operation failed (an outcome drawn by the emulator)."
            }),
            Outcome::Invalid => json!({
                "code": "InvalidOperation",
                "message": "The operation is invalid (an outcome drawn by the emulator)."
            }),
        }
    }
}

/// When a clock-driven operation changes, in Unix milliseconds.
#[derive(Clone, Copy, Debug)]
struct Timeline {
    visible: i64,
    started: i64,
    ends: i64,
    outcome: Outcome,
}

#[derive(Clone, Copy, Debug)]
enum Progress {
    /// `progress_polls` GETs each of notStarted and inProgress, then succeeded.
    Polls,
    Clock(Timeline),
}

struct Created {
    kind: Kind,
    parent: String,
    op: String,
    operation_type: Option<String>,
    created_unix_ms: i64,
    progress: Progress,
    polls: u64,
    first_terminal_poll: Option<i64>,
}

impl Created {
    fn operation_type(&self) -> &str {
        match (&self.operation_type, self.kind) {
            (Some(t), _) => t,
            (None, Kind::Team) => "createTeam",
            (None, Kind::Chat) => "createChat",
        }
    }

    fn location(&self) -> String {
        format!(
            "/{}('{}')/operations('{}')",
            self.kind.collection(),
            self.parent,
            self.op
        )
    }

    /// Counts a GET and gives the properties it sees, or `None` while the
    /// operation is not visible yet.
    fn poll(&mut self, now: i64, progress_polls: u64) -> Option<Fields> {
        self.polls = self.polls.saturating_add(1);
        let (status, outcome, last_action) = match self.progress {
            Progress::Polls => {
                let status = if self.polls <= progress_polls {
                    "notStarted"
                } else if self.polls <= progress_polls.saturating_mul(2) {
                    "inProgress"
                } else {
                    "succeeded"
                };
                let outcome = (status == "succeeded").then_some(Outcome::Succeeded);
                (status, outcome, now)
            }
            Progress::Clock(t) => {
                if now < t.visible {
                    return None;
                }
                if now < t.started {
                    ("notStarted", None, self.created_unix_ms)
                } else if now < t.ends {
                    ("inProgress", None, t.started)
                } else {
                    (t.outcome.as_str(), Some(t.outcome), t.ends)
                }
            }
        };
        if outcome.is_some() && self.first_terminal_poll.is_none() {
            self.first_terminal_poll = Some(now);
        }
        let succeeded = outcome == Some(Outcome::Succeeded);
        Some(Fields(vec![
            ("id".into(), json!(self.op)),
            ("operationType".into(), json!(self.operation_type())),
            (
                "createdDateTime".into(),
                json!(graph_format::format_unix_ms(self.created_unix_ms, true)),
            ),
            ("status".into(), json!(status)),
            (
                "lastActionDateTime".into(),
                json!(graph_format::format_unix_ms(last_action, true)),
            ),
            (
                "attemptsCount".into(),
                json!(if status == "notStarted" { 0 } else { 1 }),
            ),
            (
                "targetResourceId".into(),
                if succeeded {
                    json!(self.parent)
                } else {
                    Value::Null
                },
            ),
            (
                "targetResourceLocation".into(),
                if succeeded {
                    json!(format!("/{}('{}')", self.kind.collection(), self.parent))
                } else {
                    Value::Null
                },
            ),
            ("error".into(), outcome.map_or(Value::Null, Outcome::error)),
        ]))
    }

    fn report(&self) -> OperationReport {
        let (progress, visible, started, ends, outcome) = match self.progress {
            Progress::Polls => (
                "polls",
                self.created_unix_ms,
                None,
                None,
                Outcome::Succeeded,
            ),
            Progress::Clock(t) => ("time", t.visible, Some(t.started), Some(t.ends), t.outcome),
        };
        OperationReport {
            location: self.location(),
            parent: match self.kind {
                Kind::Team => Parent::Team,
                Kind::Chat => Parent::Chat,
            },
            parent_id: self.parent.clone(),
            id: self.op.clone(),
            operation_type: self.operation_type().to_owned(),
            progress: progress.to_owned(),
            created_unix_ms: self.created_unix_ms,
            visible_unix_ms: visible,
            started_unix_ms: started,
            ends_unix_ms: ends,
            outcome: outcome.as_str().to_owned(),
            polls: self.polls,
            first_terminal_poll_unix_ms: self.first_terminal_poll,
        }
    }
}

/// A new team or chat id, and an operation id shaped like Graph's for it.
fn new_ids(kind: Kind) -> (String, String) {
    match kind {
        Kind::Team => (graph_format::guid(), graph_format::guid()),
        Kind::Chat => (new_chat_id(), new_chat_op_id()),
    }
}

fn new_chat_id() -> String {
    format!("19:{}@thread.v2", graph_format::guid().replace('-', ""))
}

fn new_chat_op_id() -> String {
    format!(
        "{}-{}-{}",
        graph_format::guid(),
        graph_format::guid(),
        graph_format::guid()
    )
}

/// A parent id that fits in a Location: visible ASCII, without the
/// characters that would end or escape a segment or a quoted key.
fn check_parent_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_PARENT_ID {
        return Err(format!("parent_id must be 1 to {MAX_PARENT_ID} bytes"));
    }
    if id
        .bytes()
        .any(|b| !(0x21..=0x7e).contains(&b) || b"'/\\?#%".contains(&b))
    {
        return Err("parent_id: visible ASCII only, without ' / \\ ? # %".to_owned());
    }
    Ok(())
}

/// Draws a duration uniformly in `min..=max`.
fn draw_duration(rng: &mut SplitMix64, min: u64, max: u64) -> u64 {
    let r = rng.next_u64();
    match (max - min).checked_add(1) {
        Some(span) => min + r % span,
        None => r, // the whole u64 range
    }
}

/// The created operations.
#[derive(Default)]
pub(crate) struct CreatedSet {
    list: Vec<Created>,
    /// Operation id to its place in `list`.
    index: HashMap<String, usize>,
}

impl CreatedSet {
    fn push(&mut self, c: Created) {
        self.index.insert(c.op.clone(), self.list.len());
        self.list.push(c);
    }

    /// An operation id not in use (a clash of random ids is all but
    /// impossible; this makes it impossible).
    fn fresh_op_id(&self, kind: Kind) -> String {
        loop {
            let op = match kind {
                Kind::Team => graph_format::guid(),
                Kind::Chat => new_chat_op_id(),
            };
            if !self.index.contains_key(&op) {
                return op;
            }
        }
    }

    /// One operation that progresses as polled; `None` when the set is full.
    pub(crate) fn create_polled(&mut self, kind: Kind) -> Option<(String, String)> {
        if self.list.len() >= MAX_CREATED {
            return None;
        }
        let (parent, mut op) = new_ids(kind);
        if self.index.contains_key(&op) {
            op = self.fresh_op_id(kind);
        }
        self.push(Created {
            kind,
            parent: parent.clone(),
            op: op.clone(),
            operation_type: None,
            created_unix_ms: clock::unix_ms_now(),
            progress: Progress::Polls,
            polls: 0,
            first_terminal_poll: None,
        });
        Some((parent, op))
    }

    /// Many operations that progress by the clock; their Locations.
    pub(crate) fn create_timed(
        &mut self,
        spec: &NewOperations,
        now: i64,
    ) -> Result<Vec<String>, String> {
        if spec.count == 0 || spec.count > MAX_OPERATIONS_PER_REQUEST {
            return Err(format!("count must be 1 to {MAX_OPERATIONS_PER_REQUEST}"));
        }
        let (min, max) = (spec.duration_ms.min, spec.duration_ms.max);
        if min > max {
            return Err("duration_ms: min is above max".to_owned());
        }
        let o = spec.outcome;
        let total = u64::from(o.succeeded) + u64::from(o.failed) + u64::from(o.invalid);
        if total == 0 {
            return Err("outcome: the weights add up to 0".to_owned());
        }
        if let Some(id) = &spec.parent_id {
            check_parent_id(id)?;
        }
        let count = spec.count as usize;
        if self.list.len().saturating_add(count) > MAX_CREATED {
            return Err(format!(
                "at most {MAX_CREATED} created operations are held; DELETE /_emulator/operations or reset"
            ));
        }
        let kind = match spec.parent {
            Parent::Team => Kind::Team,
            Parent::Chat => Kind::Chat,
        };
        let mut rng = SplitMix64::new(spec.seed);
        let mut locations = Vec::with_capacity(count);
        self.list.reserve(count);
        self.index.reserve(count);
        for _ in 0..count {
            let duration = draw_duration(&mut rng, min, max);
            let r = rng.next_u64() % total;
            let outcome = if r < u64::from(o.succeeded) {
                Outcome::Succeeded
            } else if r < u64::from(o.succeeded) + u64::from(o.failed) {
                Outcome::Failed
            } else {
                Outcome::Invalid
            };
            let parent = match (&spec.parent_id, kind) {
                (Some(id), _) => id.clone(),
                (None, Kind::Team) => graph_format::guid(),
                (None, Kind::Chat) => new_chat_id(),
            };
            let op = self.fresh_op_id(kind);
            let c = Created {
                kind,
                parent,
                op,
                operation_type: spec.operation_type.clone(),
                created_unix_ms: now,
                progress: Progress::Clock(Timeline {
                    visible: clock::unix_ms_after(now, spec.not_visible_ms),
                    started: clock::unix_ms_after(now, duration / 4),
                    ends: clock::unix_ms_after(now, duration),
                    outcome,
                }),
                polls: 0,
                first_terminal_poll: None,
            };
            locations.push(c.location());
            self.push(c);
        }
        Ok(locations)
    }

    /// A GET of the operation `op` of `parent` (ids decoded): its properties,
    /// or `None` when there is no such operation or it is not visible yet.
    pub(crate) fn poll(
        &mut self,
        kind: Kind,
        parent: &str,
        op: &str,
        progress_polls: u64,
    ) -> Option<Fields> {
        let &i = self.index.get(op)?;
        let c = &mut self.list[i];
        if c.kind != kind || c.parent != parent {
            return None;
        }
        c.poll(clock::unix_ms_now(), progress_polls)
    }

    /// Every created operation, in creation order.
    pub(crate) fn reports(&self) -> Vec<OperationReport> {
        self.list.iter().map(Created::report).collect()
    }

    pub(crate) fn clear(&mut self) {
        *self = CreatedSet::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation_spec::DurationRange;

    fn status(f: &Fields) -> String {
        f.0.iter()
            .find(|(k, _)| k == "status")
            .and_then(|(_, v)| v.as_str())
            .unwrap()
            .to_owned()
    }

    fn ids(location: &str) -> (String, String) {
        let parts: Vec<&str> = location.split('\'').collect();
        (parts[1].to_owned(), parts[3].to_owned())
    }

    #[test]
    fn timed_operations_follow_the_clock() {
        let mut set = CreatedSet::default();
        let now = clock::unix_ms_now();
        let spec = NewOperations::new(1)
            .with_duration(DurationRange::fixed(400))
            .with_outcomes(0, 1, 0)
            .with_not_visible_ms(50);
        let locs = set.create_timed(&spec, now).unwrap();
        let (team, op) = ids(&locs[0]);
        assert!(locs[0].starts_with("/teams('"));
        let c = &mut set.list[0];
        assert!(c.poll(now + 49, 0).is_none(), "not visible yet");
        assert_eq!(status(&c.poll(now + 50, 0).unwrap()), "notStarted");
        assert_eq!(status(&c.poll(now + 100, 0).unwrap()), "inProgress");
        assert_eq!(status(&c.poll(now + 399, 0).unwrap()), "inProgress");
        assert_eq!(c.first_terminal_poll, None);
        let done = c.poll(now + 400, 0).unwrap();
        assert_eq!(status(&done), "failed");
        let err = &done.0.iter().find(|(k, _)| k == "error").unwrap().1;
        assert_eq!(err["code"], "OperationFailed");
        assert_eq!(c.first_terminal_poll, Some(now + 400));
        c.poll(now + 500, 0);
        assert_eq!(c.first_terminal_poll, Some(now + 400));
        let r = &set.reports()[0];
        assert_eq!((r.polls, r.outcome.as_str()), (6, "failed"));
        assert_eq!(r.ends_unix_ms, Some(now + 400));
        assert_eq!(r.started_unix_ms, Some(now + 100));
        assert_eq!(r.visible_unix_ms, now + 50);
        assert_eq!(
            (r.parent_id.as_str(), r.id.as_str()),
            (team.as_str(), op.as_str())
        );
        // Looked up by id, and only under its own parent and kind (by the
        // real clock now: this one is visible at once).
        let locs = set.create_timed(&NewOperations::new(1), now).unwrap();
        let (team, op) = ids(&locs[0]);
        assert!(set.poll(Kind::Team, &team, &op, 0).is_some());
        assert!(set.poll(Kind::Chat, &team, &op, 0).is_none());
        assert!(set.poll(Kind::Team, "other", &op, 0).is_none());
    }

    #[test]
    fn draws_are_seeded() {
        let spec = NewOperations::new(1000)
            .chats()
            .with_duration(DurationRange::between(100, 5000))
            .with_outcomes(90, 9, 1)
            .with_seed(7);
        let draw = |spec: &NewOperations| {
            let mut set = CreatedSet::default();
            set.create_timed(spec, 0).unwrap();
            set.reports()
                .into_iter()
                .map(|r| (r.ends_unix_ms.unwrap(), r.outcome))
                .collect::<Vec<_>>()
        };
        let a = draw(&spec);
        assert_eq!(a, draw(&spec));
        assert_ne!(a, draw(&spec.clone().with_seed(8)));
        assert!(a.iter().all(|(e, _)| (100..=5000).contains(e)));
        let failed = a.iter().filter(|(_, o)| o == "failed").count();
        let invalid = a.iter().filter(|(_, o)| o == "invalid").count();
        assert!((50..140).contains(&failed), "{failed}");
        assert!((1..30).contains(&invalid), "{invalid}");
        let mut set = CreatedSet::default();
        let locs = set.create_timed(&spec, 0).unwrap();
        assert!(
            locs[0].starts_with("/chats('19:") && locs[0].contains("@thread.v2')/operations('")
        );
        let distinct: std::collections::HashSet<_> = locs.iter().collect();
        assert_eq!(distinct.len(), 1000);
    }

    #[test]
    fn extremes_and_refusals() {
        let mut set = CreatedSet::default();
        let all = NewOperations::new(3).with_duration(DurationRange::between(0, u64::MAX));
        set.create_timed(&all, i64::MAX - 5).unwrap();
        for r in set.reports() {
            assert!(r.ends_unix_ms.unwrap() >= i64::MAX - 5);
        }
        set.list[0].poll(i64::MAX, 0).unwrap();
        for (spec, want) in [
            (NewOperations::new(0), "count"),
            (NewOperations::new(MAX_OPERATIONS_PER_REQUEST + 1), "count"),
            (
                NewOperations::new(1).with_duration(DurationRange::between(5, 4)),
                "min",
            ),
            (NewOperations::new(1).with_outcomes(0, 0, 0), "weights"),
            (NewOperations::new(1).with_parent_id("a'b"), "parent_id"),
            (NewOperations::new(1).with_parent_id(""), "parent_id"),
            (
                NewOperations::new(1).with_parent_id("x".repeat(300)),
                "parent_id",
            ),
        ] {
            let e = set.create_timed(&spec, 0).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let shared = NewOperations::new(2)
            .with_parent_id("19:abc@thread.v2")
            .chats();
        let locs = set.create_timed(&shared, 0).unwrap();
        assert!(locs
            .iter()
            .all(|l| l.starts_with("/chats('19:abc@thread.v2')/operations('")));
        set.clear();
        assert!(set.reports().is_empty());
    }

    #[test]
    fn polled_operations() {
        let mut set = CreatedSet::default();
        let (team, op) = set.create_polled(Kind::Team).unwrap();
        let seen: Vec<String> = (0..4)
            .map(|_| status(&set.poll(Kind::Team, &team, &op, 1).unwrap()))
            .collect();
        assert_eq!(seen, ["notStarted", "inProgress", "succeeded", "succeeded"]);
        let r = &set.reports()[0];
        assert_eq!((r.progress.as_str(), r.polls), ("polls", 4));
        assert!(r.first_terminal_poll_unix_ms.is_some());
    }
}
