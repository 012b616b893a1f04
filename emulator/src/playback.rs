//! The loaded scenarios at run time: which one matches a request, and which of
//! its answers is next (in order, or drawn from its seeded generator).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hyper::Method;

use crate::prepared::{Compiled, PathMatch, Prepared};
use crate::scenario::After;
use crate::splitmix::SplitMix64;

struct Entry {
    scenario: Arc<Compiled>,
    /// Requests answered from `responses` so far.
    used: u64,
    rng: SplitMix64,
    /// Load order, so that the latest wins a tie.
    order: u64,
}

impl Entry {
    fn new(scenario: Arc<Compiled>, order: u64) -> Entry {
        let seed = scenario.random.as_ref().map_or(0, |r| r.1);
        Entry {
            scenario,
            used: 0,
            rng: SplitMix64::new(seed),
            order,
        }
    }

    /// How well this entry matches, higher is more specific; `None`: no match.
    fn rank(&self, method: &Method, raw: &str, decoded: &str) -> Option<(u8, usize, bool, u64)> {
        if let Some(m) = &self.scenario.method {
            if m != method {
                return None;
            }
        }
        let has_method = self.scenario.method.is_some();
        match &self.scenario.path {
            PathMatch::Exact(p) if raw == p || decoded == p => {
                Some((1, p.len(), has_method, self.order))
            }
            PathMatch::Prefix(p)
                if raw.starts_with(p.as_str()) || decoded.starts_with(p.as_str()) =>
            {
                Some((0, p.len(), has_method, self.order))
            }
            _ => None,
        }
    }

    fn next(&mut self) -> Option<Arc<Prepared>> {
        let s = &self.scenario;
        if let Some((percent, _, choices)) = &s.random {
            if self.rng.next_percent() < *percent {
                let i = (self.rng.next_u64() % choices.len() as u64) as usize;
                return Some(choices[i].clone());
            }
        }
        let n = s.responses.len() as u64;
        if n == 0 {
            return None;
        }
        let i = self.used;
        self.used = self.used.saturating_add(1);
        if i < n {
            return Some(s.responses[i as usize].clone());
        }
        match s.after {
            After::RepeatLast => s.responses.last().cloned(),
            After::Cycle => Some(s.responses[(i % n) as usize].clone()),
            After::Fallthrough => None,
        }
    }
}

/// The scenarios in force.
pub(crate) struct ScriptSet {
    /// Lets the common case (no scenarios) skip the lock.
    any: AtomicBool,
    inner: Mutex<Inner>,
    /// The scenarios given at start, restored by a reset.
    initial: Vec<Arc<Compiled>>,
}

struct Inner {
    entries: Vec<Entry>,
    next_order: u64,
}

impl ScriptSet {
    pub(crate) fn new(initial: Vec<Arc<Compiled>>) -> ScriptSet {
        let set = ScriptSet {
            any: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                entries: Vec::new(),
                next_order: 0,
            }),
            initial,
        };
        set.reset();
        set
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds scenarios; one for the same path (or prefix) and method as an
    /// earlier one replaces it.
    pub(crate) fn add(&self, list: Vec<Arc<Compiled>>) {
        let mut inner = self.lock();
        for s in list {
            let order = inner.next_order;
            inner.next_order += 1;
            let entry = Entry::new(s, order);
            match inner.entries.iter_mut().find(|e| {
                e.scenario.path == entry.scenario.path && e.scenario.method == entry.scenario.method
            }) {
                Some(slot) => *slot = entry,
                None => inner.entries.push(entry),
            }
        }
        self.any.store(!inner.entries.is_empty(), Ordering::Release);
    }

    /// Removes every scenario.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        self.any.store(false, Ordering::Release);
    }

    /// Back to the scenarios given at start, with fresh counters and generators.
    pub(crate) fn reset(&self) {
        self.clear();
        self.add(self.initial.clone());
    }

    /// The answer scripted for this request, if any: the most specific matching
    /// scenario decides (exact path before prefix, longer prefix first, one
    /// with a method before one without, the latest loaded first).
    pub(crate) fn answer(
        &self,
        method: &Method,
        raw: &str,
        decoded: &str,
    ) -> Option<Arc<Prepared>> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut inner = self.lock();
        let best = inner
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.rank(method, raw, decoded).map(|r| (r, i)))
            .max()?
            .1;
        inner.entries[best].next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::OperationStore;
    use crate::prepared::compile;
    use crate::scenario::Scenario;

    fn set(json: &str) -> ScriptSet {
        let store = OperationStore::new(1);
        let list = Scenario::from_json(json)
            .unwrap()
            .iter()
            .map(|s| Arc::new(compile(s, &store).unwrap()))
            .collect();
        ScriptSet::new(list)
    }

    fn statuses(s: &ScriptSet, path: &str, n: usize) -> Vec<u16> {
        (0..n)
            .map(|_| {
                s.answer(&Method::GET, path, path)
                    .map_or(0, |p| p.status.as_u16())
            })
            .collect()
    }

    #[test]
    fn sequences_and_after() {
        let s = set(
            r#"[{"path": "/r", "responses": [{"status": 201}, {"status": 202}]},
                {"path": "/c", "responses": [{"status": 201}, {"status": 202}], "after": "cycle"},
                {"path": "/f", "responses": [{"status": 201}, {"status": 202}], "after": "fallthrough"}]"#,
        );
        assert_eq!(statuses(&s, "/r", 4), [201, 202, 202, 202]);
        assert_eq!(statuses(&s, "/c", 5), [201, 202, 201, 202, 201]);
        assert_eq!(statuses(&s, "/f", 4), [201, 202, 0, 0]);
        assert_eq!(statuses(&s, "/other", 1), [0]);
        s.reset();
        assert_eq!(statuses(&s, "/r", 1), [201]);
        s.clear();
        assert_eq!(statuses(&s, "/r", 1), [0]);
        s.reset();
        assert_eq!(statuses(&s, "/r", 1), [201]);
    }

    #[test]
    fn specificity_and_replacement() {
        let s = set(r#"[{"path_prefix": "/a", "responses": [{"status": 201}]},
                {"path_prefix": "/a/b", "responses": [{"status": 202}]},
                {"path": "/a/b/c", "responses": [{"status": 203}]},
                {"path": "/a/b/c", "method": "POST", "responses": [{"status": 204}]}]"#);
        assert_eq!(statuses(&s, "/a/x", 1), [201]);
        assert_eq!(statuses(&s, "/a/b/x", 1), [202]);
        assert_eq!(statuses(&s, "/a/b/c", 1), [203]);
        let p = s.answer(&Method::POST, "/a/b/c", "/a/b/c").unwrap();
        assert_eq!(p.status.as_u16(), 204);
        let store = OperationStore::new(1);
        let newer = compile(
            &Scenario::from_json(r#"{"path": "/a/b/c", "responses": [{"status": 205}]}"#).unwrap()
                [0],
            &store,
        )
        .unwrap();
        s.add(vec![Arc::new(newer)]);
        assert_eq!(statuses(&s, "/a/b/c", 1), [205]);
        // Decoded paths match too.
        assert_eq!(
            s.answer(&Method::GET, "/a%2Fb/c", "/a/b/c")
                .map(|p| p.status.as_u16()),
            Some(205)
        );
    }

    #[test]
    fn random_is_seeded() {
        let json = r#"{"path": "/r", "random": {"percent": 30, "seed": 7, "responses": [{"status": 500}, {"status": 503}]},
                       "responses": [{"status": 200}]}"#;
        let a = statuses(&set(json), "/r", 1000);
        let b = statuses(&set(json), "/r", 1000);
        assert_eq!(a, b);
        let faults = a.iter().filter(|s| **s != 200).count();
        assert!((200..400).contains(&faults), "{faults}");
        assert!(a.contains(&500) && a.contains(&503));
        let other = statuses(
            &set(&json.replace("\"seed\": 7", "\"seed\": 8")),
            "/r",
            1000,
        );
        assert_ne!(a, other);
        // Without `responses`, the normal routes answer the rest.
        let only = set(
            r#"{"path": "/r", "random": {"percent": 50, "seed": 1, "responses": [{"status": 500}]}}"#,
        );
        let v = statuses(&only, "/r", 100);
        assert!(v.contains(&0) && v.contains(&500));
    }
}
