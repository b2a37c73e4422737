//! A lock-free histogram of microsecond values: exact below 1,024 µs, then 64 buckets per
//! power of two (within 1.6 %), up to about 18 minutes. Many tasks record into it at once.

use std::sync::atomic::{AtomicU64, Ordering};

const EXACT: u64 = 1_024;
const EXACT_BITS: u32 = 10;
const SUB_BITS: u32 = 6;
const POWERS: u32 = 30;
const BUCKETS: usize = EXACT as usize + ((POWERS as usize) << SUB_BITS);

#[derive(Debug)]
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn record(&self, micros: u64) {
        self.buckets[index(micros)].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds every value `other` holds.
    pub fn add(&self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter().zip(other.buckets.iter()) {
            let n = theirs.load(Ordering::Relaxed);
            if n > 0 {
                mine.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The value at quantile `q` (0..=1): the upper bound of the bucket holding it.
    pub fn quantile(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        // The rank of the q-th value, 1-based: ceil(q * total), at least 1.
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed);
            if seen >= rank {
                return upper_bound(i);
            }
        }
        upper_bound(BUCKETS - 1)
    }

    pub fn max(&self) -> u64 {
        self.buckets
            .iter()
            .rposition(|b| b.load(Ordering::Relaxed) > 0)
            .map_or(0, upper_bound)
    }
}

fn index(micros: u64) -> usize {
    if micros < EXACT {
        return micros as usize;
    }
    let power = 63 - micros.leading_zeros(); // ≥ EXACT_BITS
    let sub = (micros >> (power - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    let slot = (((power - EXACT_BITS) as u64) << SUB_BITS) + sub;
    (EXACT + slot).min(BUCKETS as u64 - 1) as usize
}

fn upper_bound(index: usize) -> u64 {
    let index = index as u64;
    if index < EXACT {
        return index;
    }
    let slot = index - EXACT;
    let power = (slot >> SUB_BITS) as u32 + EXACT_BITS;
    let sub = slot & ((1 << SUB_BITS) - 1);
    let width = 1u64 << (power - SUB_BITS);
    (1u64 << power) + (sub + 1) * width - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_that_bounds_it_closely() {
        for v in (0..5_000).chain([65_535, 1_000_000, 123_456_789, u64::from(u32::MAX)]) {
            let bound = upper_bound(index(v));
            assert!(bound >= v, "{v} -> {bound}");
            assert!(bound - v <= v / 60, "{v} -> {bound}: more than 1.6 % above");
        }
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let h = Histogram::new();
        for v in 1..=1_000 {
            h.record(v);
        }
        assert_eq!(h.count(), 1_000);
        assert_eq!(h.quantile(0.5), 500);
        assert_eq!(h.quantile(0.99), 990);
        assert_eq!(h.quantile(1.0), 1_000);
        assert_eq!(h.max(), 1_000);
        assert_eq!(Histogram::new().quantile(0.5), 0);
    }
}
