//! The pending operations of a batch, and the order they are due in: soonest
//! first, and among those due at the same time, the one waiting longest. An
//! operation taken out to be polled stays stored (under its key) until it is
//! put back with a new due time or removed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Where an entry is stored; stable while it is pending.
pub(crate) type Key = u32;

/// An entry taken out of the due order, with its place in it (to put it back as
/// it was, see [`Queue::restore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Taken {
    pub key: Key,
    due: Instant,
    seq: u64,
}

pub(crate) struct Queue<T> {
    slots: Vec<Option<T>>,
    free: Vec<Key>,
    /// (due, sequence, key): the sequence breaks ties first-come first-served.
    due: BinaryHeap<Reverse<(Instant, u64, Key)>>,
    next_seq: u64,
    len: usize,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            slots: Vec::new(),
            free: Vec::new(),
            due: BinaryHeap::new(),
            next_seq: 0,
            len: 0,
        }
    }
}

impl<T> Queue<T> {
    /// Entries stored (due or taken out).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Stores `item`, due at `due`. `None` when the queue holds as many entries as
    /// a key can name.
    pub(crate) fn push(&mut self, item: T, due: Instant) -> Option<Key> {
        let key = match self.free.pop() {
            Some(key) => {
                self.slots[key as usize] = Some(item);
                key
            }
            None => {
                let key = Key::try_from(self.slots.len()).ok()?;
                self.slots.push(Some(item));
                key
            }
        };
        self.len += 1;
        self.schedule(key, due);
        Some(key)
    }

    /// Makes the stored entry `key` due at `due` (after it was taken out).
    pub(crate) fn schedule(&mut self, key: Key, due: Instant) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.due.push(Reverse((due, seq, key)));
    }

    /// When the soonest entry is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.due.peek().map(|Reverse((due, _, _))| *due)
    }

    /// Takes out up to `max` entries due by `now`, soonest first, keeping only those
    /// `fits` accepts together with the first one taken (e.g. the same Graph
    /// version); the others stay due as they were.
    pub(crate) fn take_due(
        &mut self,
        now: Instant,
        max: usize,
        fits: impl Fn(&T, &T) -> bool,
    ) -> Vec<Taken> {
        let mut taken: Vec<Taken> = Vec::new();
        let mut passed_over = Vec::new();
        while taken.len() < max {
            let Some(&Reverse((due, seq, key))) = self.due.peek() else {
                break;
            };
            if due > now {
                break;
            }
            self.due.pop();
            let accept = match taken.first() {
                None => true,
                Some(first) => fits(self.get(first.key), self.get(key)),
            };
            if accept {
                taken.push(Taken { key, due, seq });
            } else {
                passed_over.push(Reverse((due, seq, key)));
            }
        }
        self.due.extend(passed_over);
        taken
    }

    /// Puts entries taken out back where they were in the due order.
    pub(crate) fn restore(&mut self, taken: &[Taken]) {
        self.due
            .extend(taken.iter().map(|t| Reverse((t.due, t.seq, t.key))));
    }

    /// The stored entry `key`.
    pub(crate) fn get(&self, key: Key) -> &T {
        self.slots[key as usize]
            .as_ref()
            .expect("a key names a stored entry")
    }

    /// The stored entry `key`, to change it.
    pub(crate) fn get_mut(&mut self, key: Key) -> &mut T {
        self.slots[key as usize]
            .as_mut()
            .expect("a key names a stored entry")
    }

    /// Removes the entry `key`, which must have been taken out (not due).
    pub(crate) fn remove(&mut self, key: Key) -> T {
        let item = self.slots[key as usize]
            .take()
            .expect("a key names a stored entry");
        self.free.push(key);
        self.len -= 1;
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(super) fn keys(taken: Vec<Taken>) -> Vec<Key> {
        taken.into_iter().map(|t| t.key).collect()
    }

    #[test]
    fn restored_entries_keep_their_place() {
        let t0 = Instant::now();
        let mut q = Queue::default();
        let a = q.push("a", t0).unwrap();
        let b = q.push("b", t0).unwrap();
        let taken = q.take_due(t0, 1, |_, _| true);
        assert_eq!(keys(taken.clone()), [a]);
        q.restore(&taken);
        assert_eq!(keys(q.take_due(t0, 2, |_, _| true)), [a, b]);
    }

    #[test]
    fn soonest_first_then_first_come() {
        let t0 = Instant::now();
        let mut q = Queue::default();
        let late = q.push("late", t0 + Duration::from_secs(5)).unwrap();
        let a = q.push("a", t0).unwrap();
        let b = q.push("b", t0).unwrap();
        assert_eq!(q.next_due(), Some(t0));
        assert_eq!(keys(q.take_due(t0, 10, |_, _| true)), [a, b]);
        assert_eq!(q.next_due(), Some(t0 + Duration::from_secs(5)));
        assert!(q.take_due(t0, 10, |_, _| true).is_empty());
        q.schedule(a, t0 + Duration::from_secs(1));
        assert_eq!(
            keys(q.take_due(t0 + Duration::from_secs(9), 1, |_, _| true)),
            [a]
        );
        assert_eq!(q.remove(b), "b");
        assert_eq!(q.len(), 2);
        // A freed slot is reused.
        let c = q.push("c", t0).unwrap();
        assert_eq!(c, b);
        assert_eq!(*q.get(late), "late");
    }

    #[test]
    fn groups_keep_those_that_fit_and_leave_the_rest_due() {
        let t0 = Instant::now();
        let mut q = Queue::default();
        let ks: Vec<Key> = ["beta1", "v1.0a", "beta2", "v1.0b", "beta3"]
            .into_iter()
            .map(|s| q.push(s, t0).unwrap())
            .collect();
        let same = |a: &&str, b: &&str| a[..2] == b[..2];
        assert_eq!(
            super::tests::keys(q.take_due(t0, 20, same)),
            [ks[0], ks[2], ks[4]]
        );
        assert_eq!(super::tests::keys(q.take_due(t0, 20, same)), [ks[1], ks[3]]);
        assert!(q.take_due(t0, 20, same).is_empty());
    }

    #[test]
    fn many_entries_stay_ordered() {
        let t0 = Instant::now();
        let mut q = Queue::default();
        for i in 0..10_000u64 {
            q.push(i, t0 + Duration::from_millis((i * 7919) % 1000))
                .unwrap();
        }
        let mut last = t0;
        let mut count = 0;
        while let Some(due) = q.next_due() {
            assert!(due >= last);
            last = due;
            for taken in q.take_due(due, 20, |_, _| true) {
                q.remove(taken.key);
                count += 1;
            }
        }
        assert_eq!(count, 10_000);
        assert_eq!(q.len(), 0);
    }
}
