//! One deadline queue for everything the switch waits for, keyed by what the deadline is
//! for (a call's ring timeout, its session timer, a trunk's next registration...).
//!
//! Arming a key again replaces its deadline; cancelling forgets it. Replaced and cancelled
//! entries stay in the heap until they come up and are skipped, so arming and cancelling are
//! O(log n) and O(1) with no search.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct TimerQueue<K> {
    heap: BinaryHeap<Reverse<(Instant, K)>>,
    /// The deadline in force for each armed key.
    armed: HashMap<K, Instant>,
}

impl<K: Copy + Ord + Hash> TimerQueue<K> {
    pub(crate) fn new() -> TimerQueue<K> {
        TimerQueue {
            heap: BinaryHeap::new(),
            armed: HashMap::new(),
        }
    }

    /// Arms `key` at `at`, replacing the deadline it had.
    pub(crate) fn arm(&mut self, key: K, at: Instant) {
        if self.armed.insert(key, at) != Some(at) {
            self.heap.push(Reverse((at, key)));
        }
    }

    pub(crate) fn cancel(&mut self, key: K) {
        self.armed.remove(&key);
    }

    /// The deadline of `key`, if armed.
    pub(crate) fn deadline(&self, key: K) -> Option<Instant> {
        self.armed.get(&key).copied()
    }

    /// The earliest deadline in force.
    pub(crate) fn next(&mut self) -> Option<Instant> {
        self.skip_stale();
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// The next key due at `now` (deadline ≤ now), disarmed; `None` when nothing is due.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<K> {
        self.skip_stale();
        let Reverse((at, key)) = *self.heap.peek()?;
        if at > now {
            return None;
        }
        self.heap.pop();
        self.armed.remove(&key);
        Some(key)
    }

    /// Drops heap entries whose key was re-armed or cancelled since.
    fn skip_stale(&mut self) {
        while let Some(Reverse((at, key))) = self.heap.peek() {
            if self.armed.get(key) == Some(at) {
                return;
            }
            self.heap.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn keys_fire_in_deadline_order_and_rearming_replaces_the_deadline() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut queue = TimerQueue::new();
        queue.arm(1, at(10));
        queue.arm(2, at(5));
        queue.arm(1, at(3));
        queue.arm(3, at(7));
        queue.cancel(3);
        assert_eq!(queue.next(), Some(at(3)));
        assert_eq!(queue.pop_due(at(2)), None);
        assert_eq!(queue.pop_due(at(20)), Some(1));
        assert_eq!(queue.pop_due(at(20)), Some(2));
        // 1's old deadline (10) and cancelled 3 never fire.
        assert_eq!(queue.pop_due(at(20)), None);
        assert_eq!(queue.next(), None);
    }

    #[test]
    fn arming_the_same_deadline_twice_fires_once() {
        let t0 = Instant::now();
        let mut queue = TimerQueue::new();
        queue.arm(7, t0);
        queue.arm(7, t0);
        assert_eq!(queue.pop_due(t0), Some(7));
        assert_eq!(queue.pop_due(t0), None);
        assert_eq!(queue.deadline(7), None);
    }
}
