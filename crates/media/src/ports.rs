//! The pool of local RTP/RTCP port pairs.

use std::collections::VecDeque;

/// Even RTP ports of a configured range, each with its RTCP port at +1 (RFC 3550 §11).
///
/// Ports are handed out least-recently-released first, so a port freed by an ended call is
/// reused as late as possible: late packets of the old call (or a phone still sending to it)
/// then rarely reach a new call.
#[derive(Debug, Clone)]
pub struct PortPool {
    /// The lowest even port of the range.
    base: u16,
    free: VecDeque<u16>,
    /// `in_use[(port - base) / 2]`: whether the pair is allocated.
    in_use: Vec<bool>,
}

impl PortPool {
    /// The even ports `p` with `first <= p` and `p + 1 <= last`. An odd `first` is rounded up;
    /// a range too small for one pair gives an empty pool.
    pub fn new(first: u16, last: u16) -> PortPool {
        let base = first.saturating_add(u16::from(!first.is_multiple_of(2)));
        let mut free = VecDeque::new();
        let mut port = base;
        // `port < last`: its RTCP port `port + 1` is in the range too.
        while port < last {
            free.push_back(port);
            match port.checked_add(2) {
                Some(next) => port = next,
                None => break,
            }
        }
        let in_use = vec![false; free.len()];
        PortPool { base, free, in_use }
    }

    /// An even RTP port (its RTCP port is the next one), or `None` if every pair is in use.
    pub fn allocate(&mut self) -> Option<u16> {
        let port = self.free.pop_front()?;
        if let Some(slot) = self.slot(port) {
            self.in_use[slot] = true;
        }
        Some(port)
    }

    /// Gives a pair back. Ports that are not from this pool, or not allocated, are ignored, so
    /// a double release cannot hand one pair to two calls.
    pub fn release(&mut self, rtp_port: u16) {
        let Some(slot) = self.slot(rtp_port) else {
            return;
        };
        if self.in_use[slot] {
            self.in_use[slot] = false;
            self.free.push_back(rtp_port);
        }
    }

    /// Pairs free now.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// Pairs in the range.
    pub fn capacity(&self) -> usize {
        self.in_use.len()
    }

    fn slot(&self, port: u16) -> Option<usize> {
        if port < self.base || !port.is_multiple_of(2) {
            return None;
        }
        let slot = usize::from((port - self.base) / 2);
        (slot < self.in_use.len()).then_some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_even_ports_whose_rtcp_port_is_in_range() {
        let mut pool = PortPool::new(10_001, 10_007);
        assert_eq!(pool.capacity(), 3);
        assert_eq!(pool.allocate(), Some(10_002));
        assert_eq!(pool.allocate(), Some(10_004));
        assert_eq!(pool.allocate(), Some(10_006));
        assert_eq!(pool.allocate(), None);
        // 10_006 + 1 must not exceed `last`.
        let mut pool = PortPool::new(10_000, 10_004);
        assert_eq!(pool.capacity(), 2);
        assert_eq!(pool.allocate(), Some(10_000));
        assert_eq!(pool.allocate(), Some(10_002));
        assert_eq!(pool.allocate(), None);
    }

    #[test]
    fn reuses_the_least_recently_released_port_first() {
        let mut pool = PortPool::new(20_000, 20_009);
        let ports: Vec<u16> = std::iter::from_fn(|| pool.allocate()).collect();
        assert_eq!(ports, [20_000, 20_002, 20_004, 20_006, 20_008]);
        pool.release(20_004);
        pool.release(20_000);
        assert_eq!(pool.allocate(), Some(20_004));
        pool.release(20_002);
        assert_eq!(pool.allocate(), Some(20_000));
        assert_eq!(pool.allocate(), Some(20_002));
        assert_eq!(pool.allocate(), None);
    }

    #[test]
    fn ignores_double_and_foreign_releases() {
        let mut pool = PortPool::new(30_000, 30_003);
        let port = pool.allocate().unwrap();
        pool.release(port);
        pool.release(port);
        pool.release(30_001);
        pool.release(29_998);
        pool.release(40_000);
        assert_eq!(pool.available(), 2);
        assert_eq!(pool.allocate(), Some(30_002));
        assert_eq!(pool.allocate(), Some(30_000));
        assert_eq!(pool.allocate(), None);
    }

    #[test]
    fn empty_and_extreme_ranges() {
        assert_eq!(PortPool::new(5000, 5000).capacity(), 0);
        assert_eq!(PortPool::new(6000, 5000).capacity(), 0);
        let mut top = PortPool::new(65_534, 65_535);
        assert_eq!(top.allocate(), Some(65_534));
        assert_eq!(PortPool::new(65_535, 65_535).capacity(), 0);
        assert_eq!(PortPool::new(0, 65_535).capacity(), 32_768);
    }
}
