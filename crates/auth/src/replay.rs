//! The nonce-count table: replay protection for `qop=auth` (RFC 7616 §3.4 and §5.13,
//! RFC 2617 §3.2.2 "nonce-count"), and single use of nonces answered without `qop`.
//!
//! Bounded and in memory. Entries are created only when a request *with a valid response*
//! uses a nonce for the first time (so unauthenticated traffic cannot fill it), and leave it
//! when their nonce expires or, if the table is full, oldest first. Once an entry was forced
//! out, the table cannot tell a first use from a replay for nonces at least that old, so those
//! are answered `Stale` (the client re-authenticates with a fresh nonce) — never accepted.
//!
//! "At least that old" is exact for this instance's nonces (their mint sequence number), so a
//! burst of first uses larger than the table only makes nonces that waited unusually long go
//! stale. Nonces of other instances (see `Config::accept_nonces_from_other_instances`) only
//! carry their minting second, a coarser watermark.

use std::collections::{HashMap, VecDeque};

use crate::nonce::TAG_LEN;

/// The highest-count marker for a nonce that may not be used again (qop-less single use).
const SPENT: u64 = u64::MAX;

/// How a request uses its nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceUse {
    /// `qop=auth` with this nonce-count: must exceed every count seen so far.
    Counted(u32),
    /// No `qop`: the nonce may be used only once.
    Once,
}

/// Why the table refused a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The count is not above the highest seen, or a single-use nonce was already used.
    Replay,
    /// The nonce's history may have been evicted; ask for a fresh one.
    Forgotten,
}

#[derive(Debug)]
struct Entry {
    highest: u64,
}

/// Where a nonce stands in minting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Minted {
    /// Minted by this instance, with this sequence number.
    Here { sequence: u64 },
    /// Minted by another instance at this second.
    Elsewhere { issued: u64 },
}

#[derive(Debug)]
struct Queued {
    tag: [u8; TAG_LEN],
    minted: Minted,
    expires: u64,
}

fn raise(watermark: &mut Option<u64>, to: u64) {
    *watermark = Some(watermark.map_or(to, |w| w.max(to)));
}

#[derive(Debug)]
pub(crate) struct NonceCounts {
    entries: HashMap<[u8; TAG_LEN], Entry>,
    /// Insertion (first-use) order; close to expiry order since lifetimes are equal.
    order: VecDeque<Queued>,
    capacity: usize,
    /// Own nonces with a sequence number up to this one, absent from the table, may have been
    /// seen.
    forgotten_through_sequence: Option<u64>,
    /// Other instances' nonces minted up to this second, absent from the table, may have been
    /// seen.
    forgotten_through_second: Option<u64>,
}

impl NonceCounts {
    pub fn new(capacity: usize) -> Self {
        NonceCounts {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            forgotten_through_sequence: None,
            forgotten_through_second: None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn forget_front(&mut self) {
        if let Some(q) = self.order.pop_front() {
            self.entries.remove(&q.tag);
            match q.minted {
                Minted::Here { sequence } => raise(&mut self.forgotten_through_sequence, sequence),
                Minted::Elsewhere { issued } => raise(&mut self.forgotten_through_second, issued),
            }
        }
    }

    /// Drops entries whose nonce has expired (they would be answered `Stale` anyway).
    pub fn purge_expired(&mut self, now: u64) {
        while self.order.front().is_some_and(|q| q.expires <= now) {
            self.forget_front();
        }
    }

    /// Records `use_` of the nonce `tag` (minted at `minted`, valid until `expires`) if it is
    /// not a replay.
    pub fn record(
        &mut self,
        tag: [u8; TAG_LEN],
        minted: Minted,
        expires: u64,
        now: u64,
        use_: NonceUse,
    ) -> Result<(), Refused> {
        self.purge_expired(now);
        let count = match use_ {
            NonceUse::Counted(nc) => u64::from(nc),
            NonceUse::Once => SPENT,
        };
        if let Some(entry) = self.entries.get_mut(&tag) {
            return match use_ {
                NonceUse::Counted(_) if count > entry.highest => {
                    entry.highest = count;
                    Ok(())
                }
                _ => Err(Refused::Replay),
            };
        }
        let forgotten = match minted {
            Minted::Here { sequence } => self
                .forgotten_through_sequence
                .is_some_and(|w| sequence <= w),
            Minted::Elsewhere { issued } => {
                self.forgotten_through_second.is_some_and(|w| issued <= w)
            }
        };
        if forgotten {
            return Err(Refused::Forgotten);
        }
        if count == 0 {
            // nc starts at 00000001 (RFC 7616 §3.4); 0 is never above "nothing seen".
            return Err(Refused::Replay);
        }
        self.entries.insert(tag, Entry { highest: count });
        self.order.push_back(Queued {
            tag,
            minted,
            expires,
        });
        while self.entries.len() > self.capacity {
            self.forget_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: u8) -> [u8; TAG_LEN] {
        [n; TAG_LEN]
    }

    fn here(sequence: u64) -> Minted {
        Minted::Here { sequence }
    }

    #[test]
    fn counts_must_increase_per_nonce() {
        let mut t = NonceCounts::new(10);
        assert_eq!(
            t.record(tag(1), here(100), 400, 100, NonceUse::Counted(1)),
            Ok(())
        );
        assert_eq!(
            t.record(tag(1), here(100), 400, 101, NonceUse::Counted(1)),
            Err(Refused::Replay)
        );
        assert_eq!(
            t.record(tag(1), here(100), 400, 101, NonceUse::Counted(3)),
            Ok(())
        );
        assert_eq!(
            t.record(tag(1), here(100), 400, 101, NonceUse::Counted(2)),
            Err(Refused::Replay)
        );
        // Another nonce has its own count.
        assert_eq!(
            t.record(tag(2), here(100), 400, 101, NonceUse::Counted(1)),
            Ok(())
        );
        assert_eq!(
            t.record(tag(3), here(100), 400, 101, NonceUse::Counted(0)),
            Err(Refused::Replay)
        );
    }

    #[test]
    fn single_use_nonces_are_spent_by_any_use() {
        let mut t = NonceCounts::new(10);
        assert_eq!(
            t.record(tag(1), here(100), 400, 100, NonceUse::Once),
            Ok(())
        );
        assert_eq!(
            t.record(tag(1), here(100), 400, 100, NonceUse::Once),
            Err(Refused::Replay)
        );
        assert_eq!(
            t.record(tag(1), here(100), 400, 100, NonceUse::Counted(u32::MAX)),
            Err(Refused::Replay)
        );
        assert_eq!(
            t.record(tag(2), here(100), 400, 100, NonceUse::Counted(5)),
            Ok(())
        );
        assert_eq!(
            t.record(tag(2), here(100), 400, 100, NonceUse::Once),
            Err(Refused::Replay)
        );
    }

    #[test]
    fn expired_entries_leave_the_table() {
        let mut t = NonceCounts::new(10);
        for n in 0..5 {
            assert_eq!(
                t.record(tag(n), here(100), 400, 100, NonceUse::Counted(1)),
                Ok(())
            );
        }
        assert_eq!(t.len(), 5);
        t.purge_expired(400);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_full_table_forgets_the_oldest_and_refuses_nonces_that_old() {
        let mut t = NonceCounts::new(3);
        for n in 0..3u8 {
            let issued = 100 + u64::from(n);
            assert_eq!(
                t.record(
                    tag(n),
                    here(issued),
                    issued + 300,
                    110,
                    NonceUse::Counted(1)
                ),
                Ok(())
            );
        }
        // A fourth nonce evicts the first (issued at 100).
        assert_eq!(
            t.record(tag(3), here(103), 403, 110, NonceUse::Counted(1)),
            Ok(())
        );
        assert_eq!(t.len(), 3);
        // The evicted nonce cannot be replayed: its history is gone, so it is forgotten → stale.
        assert_eq!(
            t.record(tag(0), here(100), 400, 111, NonceUse::Counted(1)),
            Err(Refused::Forgotten)
        );
        // A never-seen nonce issued after the eviction watermark is fine.
        assert_eq!(
            t.record(tag(9), here(104), 404, 111, NonceUse::Counted(1)),
            Ok(())
        );
        // Kept entries still work.
        assert_eq!(
            t.record(tag(3), here(103), 403, 111, NonceUse::Counted(2)),
            Ok(())
        );
    }

    #[test]
    fn a_burst_larger_than_the_table_within_one_second_keeps_fresh_nonces_usable() {
        let mut t = NonceCounts::new(100);
        // 1000 nonces minted and used in the same second, in order.
        for sequence in 0..1000u64 {
            let tag = {
                let mut tag = [0u8; TAG_LEN];
                tag[..8].copy_from_slice(&sequence.to_be_bytes());
                tag
            };
            assert_eq!(
                t.record(tag, here(sequence), 400, 100, NonceUse::Counted(1)),
                Ok(()),
                "sequence {sequence}"
            );
        }
        assert_eq!(t.len(), 100);
        // An evicted one cannot come back.
        assert_eq!(
            t.record([0; TAG_LEN], here(0), 400, 100, NonceUse::Counted(2)),
            Err(Refused::Forgotten)
        );
    }

    #[test]
    fn other_instances_nonces_are_forgotten_by_second() {
        let mut t = NonceCounts::new(1);
        let elsewhere = |issued| Minted::Elsewhere { issued };
        assert_eq!(
            t.record(tag(1), elsewhere(100), 400, 100, NonceUse::Counted(1)),
            Ok(())
        );
        assert_eq!(
            t.record(tag(2), elsewhere(101), 401, 101, NonceUse::Counted(1)),
            Ok(())
        );
        // tag(1) was evicted: other instances' nonces from second 100 are forgotten...
        assert_eq!(
            t.record(tag(3), elsewhere(100), 400, 101, NonceUse::Counted(1)),
            Err(Refused::Forgotten)
        );
        // ...but this instance's nonces are tracked separately.
        assert_eq!(
            t.record(tag(4), here(0), 400, 101, NonceUse::Counted(1)),
            Ok(())
        );
    }
}
