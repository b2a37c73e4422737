//! What a receiver learns of one RTP stream from its packets' arrival times: loss from
//! sequence-number gaps (RFC 3550 §A.1 extended sequence numbers, §A.3 expected − received),
//! and **late frames** from the gaps between arrivals.
//!
//! A 20 ms stream whose packets leave on time arrives every 20 ms; a packet is late when it
//! arrives more than [`LATE_BY`] (5 ms) after the 20 ms per sequence number since the packet
//! before it (a lost packet in between is loss, not lateness). Each arrival has two times:
//! the kernel's (`SO_TIMESTAMPNS`: on the loopback, taken while the *sender* is still in its
//! `sendto`, so it times the sender's schedule and nothing of the receiver's) and the
//! receiving thread's own clock read after `recvmsg` (which adds the receiver's scheduling:
//! a receiver short of CPU sees late frames the sender did not send late). Both are counted;
//! the difference is the receiver's own lateness.
//!
//! A jump of the RTP timestamp larger than the sequence numbers account for is counted too:
//! crossbar's player moves its schedule that way when its task stalled for more than three
//! frames (`crossbar_media::player`).

use std::time::Duration;

use crate::histogram::Histogram;

/// One frame of 20 ms audio (8 kHz, 160 samples).
pub const FRAME: Duration = Duration::from_millis(20);
/// How much later than its 20 ms a packet may arrive before it counts as late.
pub const LATE_BY: Duration = Duration::from_millis(5);
const SAMPLES_PER_FRAME: u32 = 160;

/// One stream's arrivals so far.
#[derive(Debug, Clone, Default)]
pub struct Arrivals {
    /// Extended sequence numbers (RFC 3550 §A.1): the first, and the highest seen.
    first: u64,
    highest: u64,
    started: bool,
    pub received: u64,
    /// Packets at or below the highest sequence number seen: duplicates or reordered.
    pub out_of_order: u64,
    /// The previous in-order packet: its sequence number, RTP timestamp and arrival times
    /// (kernel, receiver), nanoseconds.
    last_timestamp: u32,
    last_kernel: u64,
    last_user: u64,
    /// Packets that arrived more than [`LATE_BY`] after their 20 ms, by each clock.
    pub late_kernel: u64,
    pub late_user: u64,
    /// The longest gap between two consecutive packets, nanoseconds, by each clock.
    pub max_gap_kernel: u64,
    pub max_gap_user: u64,
    /// RTP timestamp jumps beyond what the sequence numbers account for.
    pub jumps: u64,
}

impl Arrivals {
    /// A packet with sequence number `seq` and RTP timestamp `timestamp` arrived at
    /// `kernel_ns` (the kernel's stamp) / `user_ns` (the receiver's clock). In-order gaps,
    /// kernel-stamped, go into `gaps` in microseconds. The gap before the packet when it is
    /// late on the kernel's stamp.
    pub fn on_packet(
        &mut self,
        seq: u16,
        timestamp: u32,
        kernel_ns: u64,
        user_ns: u64,
        gaps: &Histogram,
    ) -> Option<u64> {
        self.received += 1;
        if !self.started {
            self.started = true;
            self.first = u64::from(seq);
            self.highest = self.first;
            self.remember(timestamp, kernel_ns, user_ns);
            return None;
        }
        let delta = seq.wrapping_sub(self.highest as u16) as i16;
        if delta <= 0 {
            self.out_of_order += 1;
            return None;
        }
        let advance = delta as u64;
        self.highest += advance;
        // The time these sequence numbers stand for, plus the allowance.
        let due = (FRAME.as_nanos() as u64) * advance;
        let allowed = due + LATE_BY.as_nanos() as u64;
        let gap_kernel = kernel_ns.saturating_sub(self.last_kernel);
        let gap_user = user_ns.saturating_sub(self.last_user);
        let late = gap_kernel > allowed;
        if late {
            self.late_kernel += 1;
        }
        if gap_user > allowed {
            self.late_user += 1;
        }
        if advance == 1 {
            gaps.record(gap_kernel / 1_000);
        }
        self.max_gap_kernel = self.max_gap_kernel.max(gap_kernel);
        self.max_gap_user = self.max_gap_user.max(gap_user);
        let samples = SAMPLES_PER_FRAME.wrapping_mul(advance as u32);
        if timestamp.wrapping_sub(self.last_timestamp) > samples {
            self.jumps += 1;
        }
        self.remember(timestamp, kernel_ns, user_ns);
        late.then_some(gap_kernel)
    }

    fn remember(&mut self, timestamp: u32, kernel_ns: u64, user_ns: u64) {
        self.last_timestamp = timestamp;
        self.last_kernel = kernel_ns;
        self.last_user = user_ns;
    }

    /// Packets the sequence numbers say were sent, first to highest.
    pub fn expected(&self) -> u64 {
        if self.started {
            self.highest - self.first + 1
        } else {
            0
        }
    }

    /// Expected and not received (RFC 3550 §A.3; duplicates can make it negative there, here
    /// they are not counted as received twice).
    pub fn lost(&self) -> u64 {
        self.expected()
            .saturating_sub(self.received - self.out_of_order)
    }
}

/// Many streams' arrivals added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArrivalTotals {
    pub streams: u64,
    pub received: u64,
    pub expected: u64,
    pub lost: u64,
    pub out_of_order: u64,
    pub late_kernel: u64,
    pub late_user: u64,
    /// Streams with at least one late packet (kernel-stamped).
    pub late_streams: u64,
    pub jumps: u64,
    /// The longest gap in any stream, microseconds, by each clock.
    pub max_gap_kernel_us: u64,
    pub max_gap_user_us: u64,
}

impl ArrivalTotals {
    pub fn add(&mut self, stream: &Arrivals) {
        self.streams += 1;
        self.received += stream.received;
        self.expected += stream.expected();
        self.lost += stream.lost();
        self.out_of_order += stream.out_of_order;
        self.late_kernel += stream.late_kernel;
        self.late_user += stream.late_user;
        self.late_streams += u64::from(stream.late_kernel > 0);
        self.jumps += stream.jumps;
        self.max_gap_kernel_us = self.max_gap_kernel_us.max(stream.max_gap_kernel / 1_000);
        self.max_gap_user_us = self.max_gap_user_us.max(stream.max_gap_user / 1_000);
    }

    pub fn merge(&mut self, other: &ArrivalTotals) {
        self.streams += other.streams;
        self.received += other.received;
        self.expected += other.expected;
        self.lost += other.lost;
        self.out_of_order += other.out_of_order;
        self.late_kernel += other.late_kernel;
        self.late_user += other.late_user;
        self.late_streams += other.late_streams;
        self.jumps += other.jumps;
        self.max_gap_kernel_us = self.max_gap_kernel_us.max(other.max_gap_kernel_us);
        self.max_gap_user_us = self.max_gap_user_us.max(other.max_gap_user_us);
    }

    /// Lost packets, percent of those expected.
    pub fn loss(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            self.lost as f64 / self.expected as f64 * 100.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Feeds `(seq, timestamp, arrival ms)` with the same time on both clocks.
    fn stream(packets: &[(u16, u32, u64)]) -> Arrivals {
        let gaps = Histogram::new();
        let mut arrivals = Arrivals::default();
        for &(seq, ts, at) in packets {
            arrivals.on_packet(seq, ts, at * MS, at * MS, &gaps);
        }
        arrivals
    }

    #[test]
    fn a_stream_on_time_has_no_late_frame_and_no_loss() {
        let packets: Vec<_> = (0..100u16)
            .map(|i| (i, u32::from(i) * 160, u64::from(i) * 20))
            .collect();
        let s = stream(&packets);
        assert_eq!((s.received, s.expected(), s.lost()), (100, 100, 0));
        assert_eq!((s.late_kernel, s.late_user, s.jumps), (0, 0, 0));
        assert_eq!(s.max_gap_kernel, 20 * MS);
    }

    #[test]
    fn a_packet_more_than_5_ms_behind_its_20_ms_is_late_and_the_catch_up_is_not() {
        // The third packet leaves 6 ms late, the fourth on time (4 ms after it).
        let s = stream(&[(0, 0, 0), (1, 160, 20), (2, 320, 46), (3, 480, 60)]);
        assert_eq!(s.late_kernel, 1);
        assert_eq!(s.max_gap_kernel, 26 * MS);
        // 25 ms exactly is not late.
        let s = stream(&[(0, 0, 0), (1, 160, 25)]);
        assert_eq!(s.late_kernel, 0);
    }

    #[test]
    fn a_lost_packet_is_loss_not_lateness() {
        let s = stream(&[(0, 0, 0), (1, 160, 20), (3, 480, 60), (4, 640, 80)]);
        assert_eq!((s.expected(), s.lost(), s.late_kernel), (5, 1, 0));
    }

    #[test]
    fn sequence_numbers_wrap_and_duplicates_are_not_counted_twice() {
        let s = stream(&[
            (65_534, 0, 0),
            (65_535, 160, 20),
            (0, 320, 40),
            (0, 320, 41),
            (1, 480, 60),
        ]);
        assert_eq!((s.expected(), s.lost(), s.out_of_order), (4, 0, 1));
    }

    #[test]
    fn a_timestamp_jump_after_a_stall_is_counted() {
        let s = stream(&[(0, 0, 0), (1, 160, 20), (2, 160 + 800, 120)]);
        assert_eq!((s.jumps, s.late_kernel), (1, 1));
    }

    #[test]
    fn the_receivers_clock_counts_its_own_lateness_apart_from_the_kernels() {
        let gaps = Histogram::new();
        let mut s = Arrivals::default();
        // Sent every 20 ms (kernel), read by a receiver that slept 30 ms once.
        for (i, user) in [0u64, 20, 70, 71, 80].into_iter().enumerate() {
            let i16 = i as u16;
            s.on_packet(
                i16,
                u32::from(i16) * 160,
                i as u64 * 20 * MS,
                user * MS,
                &gaps,
            );
        }
        assert_eq!((s.late_kernel, s.late_user), (0, 1));
        assert_eq!(gaps.count(), 4);
    }
}
