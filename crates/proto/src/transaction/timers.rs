//! Timer values (RFC 3261 §17 and Table 4 of Appendix A; RFC 6026 §8.11 for L and M) and
//! the deadline queue the transaction table is woken from.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::time::{Duration, Instant};

use super::key::TransactionKey;

/// The configurable base values; every transaction timer derives from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate (default 500 ms): first retransmission interval, and `64*T1` is the
    /// lifetime of Timers B, F, H, J, L and M.
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE final
    /// responses (default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (default 5 s): Timers I and K.
    pub t4: Duration,
    /// Timer D, how long an INVITE client transaction absorbs retransmitted non-2xx finals
    /// over an unreliable transport; at least 32 s (§17.1.1.2).
    pub d: Duration,
    /// How long an INVITE server transaction waits for the TU's first response before
    /// sending `100 Trying` itself (§17.2.1: "200 ms"). Zero sends it at once.
    pub trying: Duration,
}

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            d: Duration::from_secs(32),
            trying: Duration::from_millis(200),
        }
    }
}

impl Timers {
    /// `64*T1`: Timers B, F, H, J (unreliable), L and M.
    pub fn transaction_lifetime(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// The transaction timers by their RFC letter, plus the `100 Trying` delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// INVITE client: request retransmission (unreliable only).
    A,
    /// INVITE client: transaction timeout in Calling.
    B,
    /// INVITE client: wait in Completed for retransmitted non-2xx finals.
    D,
    /// Non-INVITE client: request retransmission (unreliable only).
    E,
    /// Non-INVITE client: transaction timeout.
    F,
    /// INVITE server: final response retransmission (unreliable only).
    G,
    /// INVITE server: wait for the ACK of a non-2xx final.
    H,
    /// INVITE server: wait in Confirmed for retransmitted ACKs.
    I,
    /// Non-INVITE server: wait in Completed for retransmitted requests.
    J,
    /// Non-INVITE client: wait in Completed for retransmitted responses.
    K,
    /// INVITE server (RFC 6026): wait in Accepted for retransmitted INVITEs and 2xx ACKs.
    L,
    /// INVITE client (RFC 6026): wait in Accepted for retransmitted 2xx responses.
    M,
    /// INVITE server: send `100 Trying` if the TU has not responded (§17.2.1).
    Trying,
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Trying => f.write_str("Trying"),
            other => write!(f, "Timer {other:?}"),
        }
    }
}

/// The armed timers of one transaction. A timer fires only if the queue entry still
/// matches the instant stored here, so re-arming or clearing needs no queue removal.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deadlines(Vec<(Timer, Instant)>);

impl Deadlines {
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.0.iter().find(|(t, _)| *t == timer).map(|(_, at)| *at)
    }

    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        match self.0.iter_mut().find(|(t, _)| *t == timer) {
            Some(slot) => slot.1 = at,
            None => self.0.push((timer, at)),
        }
    }

    pub(crate) fn clear(&mut self, timer: Timer) {
        self.0.retain(|(t, _)| *t != timer);
    }

    pub(crate) fn clear_all(&mut self) {
        self.0.clear();
    }
}

/// One scheduled wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Wakeup {
    pub(crate) at: Instant,
    pub(crate) key: TransactionKey,
    pub(crate) timer: Timer,
}

/// Every armed timer of every transaction, earliest first. Entries whose transaction is
/// gone or was re-armed are stale and skipped when they surface.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue(BinaryHeap<Reverse<Wakeup>>);

impl TimerQueue {
    pub(crate) fn push(&mut self, wakeup: Wakeup) {
        self.0.push(Reverse(wakeup));
    }

    pub(crate) fn peek(&self) -> Option<Wakeup> {
        self.0.peek().map(|Reverse(w)| *w)
    }

    pub(crate) fn pop(&mut self) -> Option<Wakeup> {
        self.0.pop().map(|Reverse(w)| w)
    }

    /// The earliest wake-up due at `now`, removed from the queue.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Wakeup> {
        match self.peek() {
            Some(w) if w.at <= now => self.pop(),
            _ => None,
        }
    }
}
