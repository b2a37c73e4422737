//! Which free agents a caller is offered to: the tier first, then the queue's strategy.
//!
//! The candidates are the queue's agents that are logged in to it and free
//! ([`AgentState::Available`](super::agents::AgentState::Available)), in the queue's member
//! order (static members as listed, dynamic ones after, in login order). Only the lowest
//! penalty among them is offered (a higher tier only when no lower one is free); within it,
//! agents who already left this caller unanswered come last — they are tried again only when
//! every other free agent of the tier has been. Then:
//!
//! - `ring_all`: all of them;
//! - `longest_idle`: the one free the longest (ties: member order);
//! - `round_robin`: the first at or after the queue's remembered position, going round;
//! - `fewest_calls`: the one who answered the fewest calls from this queue today (ties: the
//!   longest idle, then member order);
//! - `random`: one drawn from the queue machine's seeded generator;
//! - `linear`: the first in member order.

use std::time::Instant;

use crossbar_config::QueueStrategy;

/// A free agent the caller may be offered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate<'a> {
    pub(crate) extension: &'a str,
    /// Its place in the queue's member order.
    pub(crate) order: usize,
    pub(crate) penalty: u32,
    pub(crate) idle_since: Instant,
    pub(crate) answered_today: u32,
    /// It already left this caller unanswered.
    pub(crate) tried: bool,
}

/// The candidates to offer the caller to (indexes into `candidates`); empty when there is
/// none. `round_robin_next` is the queue's remembered position and `members` the length of
/// its member list.
pub(crate) fn choose(
    strategy: QueueStrategy,
    candidates: &[Candidate<'_>],
    round_robin_next: usize,
    members: usize,
    rng: &mut SplitMix64,
) -> Vec<usize> {
    let Some(tier) = candidates.iter().map(|c| c.penalty).min() else {
        return Vec::new();
    };
    let in_tier = |c: &Candidate<'_>| c.penalty == tier;
    let fresh = candidates.iter().any(|c| in_tier(c) && !c.tried);
    let pool: Vec<usize> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| in_tier(c) && (!fresh || !c.tried))
        .map(|(i, _)| i)
        .collect();
    let best_by = |key: &dyn Fn(&Candidate<'_>) -> (u64, Instant, usize)| {
        pool.iter().copied().min_by_key(|&i| key(&candidates[i]))
    };
    let chosen = match strategy {
        QueueStrategy::RingAll => return pool,
        QueueStrategy::LongestIdle => best_by(&|c| (0, c.idle_since, c.order)),
        QueueStrategy::FewestCalls => {
            best_by(&|c| (u64::from(c.answered_today), c.idle_since, c.order))
        }
        QueueStrategy::Linear => pool.iter().copied().min_by_key(|&i| candidates[i].order),
        QueueStrategy::RoundRobin => {
            let members = members.max(1);
            let start = round_robin_next % members;
            pool.iter()
                .copied()
                .min_by_key(|&i| (candidates[i].order + members - start) % members)
        }
        QueueStrategy::Random => {
            let count = u64::try_from(pool.len()).expect("an agent count fits in u64");
            (count > 0).then(|| {
                let drawn = usize::try_from(rng.next() % count).expect("below an agent count");
                pool[drawn]
            })
        }
    };
    chosen.into_iter().collect()
}

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): the queue machine's only randomness, from the seed it is given.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
