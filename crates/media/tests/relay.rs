//! The relay state machine on a virtual clock: forwarding, latching, statistics, inactivity.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossbar_media::{
    RELATCH_PACKETS, RELATCH_SILENCE, Relay, RelayId, RelayPlan, Route, Side, SidePlan,
};

const PHONE_A_SDP: &str = "192.168.1.10:4000";
const PHONE_A_NAT: &str = "203.0.113.7:61000";
const PHONE_B: &str = "198.51.100.20:5000";
const PCMU: u8 = 0;
const EVENT_PT: u8 = 101;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn rtp(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, payload_type];
    p.extend_from_slice(&sequence.to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn pcmu(sequence: u16, ssrc: u32) -> Vec<u8> {
    rtp(
        PCMU,
        sequence,
        u32::from(sequence) * 160,
        ssrc,
        &[0xff; 160],
    )
}

/// An RFC 4733 packet: `event`, the E bit, volume 10, `duration`.
fn event(sequence: u16, timestamp: u32, digit: u8, end: bool, duration: u16) -> Vec<u8> {
    let [d1, d2] = duration.to_be_bytes();
    let flags = if end { 0x80 | 10 } else { 10 };
    rtp(EVENT_PT, sequence, timestamp, 0xa, &[digit, flags, d1, d2])
}

fn receiver_report(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 201, 0, 1];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p
}

fn plan(a_rtp: Option<&str>, b_rtp: Option<&str>) -> RelayPlan {
    RelayPlan {
        id: RelayId(7),
        a: SidePlan {
            local_rtp_port: 10_000,
            remote_rtp: a_rtp.map(addr),
            remote_rtcp: None,
        },
        b: SidePlan {
            local_rtp_port: 10_002,
            remote_rtp: b_rtp.map(addr),
            remote_rtcp: None,
        },
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn forwards_rtp_both_ways_to_the_signalled_addresses() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some("192.0.2.1:4000"), Some(PHONE_B)), t0);
    assert_eq!(
        relay.on_packet(t0, Side::A, false, addr("192.0.2.1:4000"), &pcmu(1, 1)),
        Some(addr(PHONE_B))
    );
    assert_eq!(
        relay.on_packet(t0, Side::B, false, addr(PHONE_B), &pcmu(9, 2)),
        Some(addr("192.0.2.1:4000"))
    );
    let stats = relay.stats();
    assert_eq!(stats.a_to_b.packets, 1);
    assert_eq!(stats.a_to_b.bytes, 172);
    assert_eq!(stats.b_to_a.packets, 1);
    assert_eq!(stats.b_to_a.last_packet, Some(t0));
    assert_eq!(stats.a_to_b.dropped, 0);
}

#[test]
fn latches_to_a_nated_source_that_differs_from_the_sdp_address() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    // Before A has sent anything, B's audio goes to the address A's SDP gave.
    assert_eq!(
        relay.on_packet(t0, Side::B, false, addr(PHONE_B), &pcmu(1, 2)),
        Some(addr(PHONE_A_SDP))
    );
    // A's first packet comes through its NAT: it is forwarded and A is latched there.
    assert_eq!(
        relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(1, 1)),
        Some(addr(PHONE_B))
    );
    assert_eq!(relay.rtp_destination(Side::A), Some(addr(PHONE_A_NAT)));
    assert_eq!(
        relay.on_packet(t0 + ms(20), Side::B, false, addr(PHONE_B), &pcmu(2, 2)),
        Some(addr(PHONE_A_NAT))
    );
    // RTCP for A, not latched yet, goes to the NAT's address at RTP port + 1, not to the
    // private SDP address.
    assert_eq!(
        relay.rtcp_destination(Side::A),
        Some(addr("203.0.113.7:61001"))
    );
}

#[test]
fn drops_packets_from_an_unexpected_source_once_latched() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(1, 1));
    // Another source, interleaved with the live one: never let in.
    let stray = addr("233.252.0.9:7078");
    for n in 0..20u16 {
        let now = t0 + ms(u64::from(n) * 20);
        assert_eq!(
            relay.on_packet(now, Side::A, false, stray, &pcmu(100 + n, 0x55)),
            None
        );
        assert_eq!(
            relay.on_packet(now, Side::A, false, addr(PHONE_A_NAT), &pcmu(2 + n, 1)),
            Some(addr(PHONE_B))
        );
    }
    assert_eq!(relay.rtp_destination(Side::A), Some(addr(PHONE_A_NAT)));
    let stats = relay.stats();
    assert_eq!(stats.a_to_b.dropped, 20);
    assert_eq!(stats.a_to_b.packets, 21);
    // The stray stream did not disturb loss counting.
    assert_eq!(stats.a_to_b.lost, 0);
}

#[test]
fn a_packet_from_the_signalled_address_takes_the_latch_back() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    // Something else reached A's port first (RTP bleed) and was latched...
    relay.on_packet(t0, Side::A, false, addr("233.252.0.9:7078"), &pcmu(1, 9));
    // ...but the phone's own packets, from the address its SDP gave, win at once.
    assert_eq!(
        relay.on_packet(t0 + ms(5), Side::A, false, addr(PHONE_A_SDP), &pcmu(1, 1)),
        Some(addr(PHONE_B))
    );
    assert_eq!(relay.rtp_destination(Side::A), Some(addr(PHONE_A_SDP)));
}

#[test]
fn relatches_when_a_new_source_persists_after_the_old_one_went_silent() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(1, 1));
    // The NAT rebinds: the same stream now comes from another port.
    let rebound = addr("203.0.113.7:61044");
    let mut now = t0;
    let mut forwarded_at = None;
    for n in 0..10u16 {
        now += ms(20);
        if relay
            .on_packet(now, Side::A, false, rebound, &pcmu(2 + n, 1))
            .is_some()
        {
            forwarded_at = Some(n + 1);
            break;
        }
    }
    // It takes over after RELATCH_SILENCE of silence from the old address, and only once it
    // has sent RELATCH_PACKETS consecutive packets.
    let taken_at = forwarded_at.expect("the rebound source was latched");
    let silence_packets = (RELATCH_SILENCE.as_millis() / 20) as u16;
    assert_eq!(taken_at, RELATCH_PACKETS.max(silence_packets));
    assert_eq!(relay.rtp_destination(Side::A), Some(rebound));
    // The old address is now the foreign one.
    assert_eq!(
        relay.on_packet(now, Side::A, false, addr(PHONE_A_NAT), &pcmu(50, 1)),
        None
    );
}

#[test]
fn a_new_source_needs_a_steady_stream_to_take_over() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(1, 1));
    // Long after the phone went quiet, a source sends scattered sequence numbers: no takeover.
    let stray = addr("233.252.0.9:7078");
    for n in 0..50u16 {
        let now = t0 + Duration::from_secs(1) + ms(u64::from(n) * 20);
        assert_eq!(
            relay.on_packet(now, Side::A, false, stray, &pcmu(n * 7, 0x55)),
            None
        );
    }
    assert_eq!(relay.rtp_destination(Side::A), Some(addr(PHONE_A_NAT)));
}

#[test]
fn set_remote_after_a_reinvite_moves_the_destination_and_forgets_the_latch() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(1, 1));
    // B's phone hands the call to another device by re-INVITE.
    let new_b = addr("198.51.100.99:6000");
    relay.set_remote(t0, Side::B, Some(new_b), None);
    assert_eq!(
        relay.on_packet(t0 + ms(20), Side::A, false, addr(PHONE_A_NAT), &pcmu(2, 1)),
        Some(new_b)
    );
    // A re-INVITE from A to a new address: A's NAT latch is forgotten, A's next packet (from
    // wherever it comes) latches again.
    let new_a = addr("192.168.1.10:4100");
    relay.set_remote(t0, Side::A, Some(new_a), None);
    assert_eq!(relay.rtp_destination(Side::A), Some(new_a));
    let new_a_nat = addr("203.0.113.7:62000");
    assert_eq!(
        relay.on_packet(t0 + ms(40), Side::A, false, new_a_nat, &pcmu(3, 1)),
        Some(new_b)
    );
    assert_eq!(relay.rtp_destination(Side::A), Some(new_a_nat));
    // The same address again (a hold re-INVITE, say) keeps the latch.
    relay.set_remote(t0, Side::A, Some(new_a), None);
    assert_eq!(relay.rtp_destination(Side::A), Some(new_a_nat));
    // No address keeps it too.
    relay.set_remote(t0, Side::A, None, None);
    assert_eq!(relay.rtp_destination(Side::A), Some(new_a_nat));
}

#[test]
fn far_side_unknown_drops_until_its_address_is_set() {
    let t0 = Instant::now();
    // The callee has not answered yet: B's address is unknown.
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), None), t0);
    assert_eq!(
        relay.on_packet(t0, Side::A, false, addr(PHONE_A_SDP), &pcmu(1, 1)),
        None
    );
    relay.set_remote(t0, Side::B, Some(addr(PHONE_B)), None);
    assert_eq!(
        relay.on_packet(t0 + ms(20), Side::A, false, addr(PHONE_A_SDP), &pcmu(2, 1)),
        Some(addr(PHONE_B))
    );
    let stats = relay.stats().a_to_b;
    assert_eq!((stats.packets, stats.dropped, stats.lost), (1, 1, 0));
}

#[test]
fn rtcp_goes_from_port_to_port_and_latches_separately() {
    let t0 = Instant::now();
    let mut plan = plan(Some(PHONE_A_SDP), Some(PHONE_B));
    plan.b.remote_rtcp = Some(addr("198.51.100.20:5005"));
    let mut relay = Relay::new(plan, t0);
    // B's RTCP goes to A's RTP address + 1 while A is unlatched.
    assert_eq!(
        relay.on_packet(
            t0,
            Side::B,
            true,
            addr("198.51.100.20:5005"),
            &receiver_report(2)
        ),
        Some(addr("192.168.1.10:4001"))
    );
    // A's RTCP goes to B's `a=rtcp` address.
    let a_rtcp_nat = addr("203.0.113.7:61001");
    assert_eq!(
        relay.on_packet(t0, Side::A, true, a_rtcp_nat, &receiver_report(1)),
        Some(addr("198.51.100.20:5005"))
    );
    // A's RTCP latched: B's next report follows it.
    assert_eq!(
        relay.on_packet(
            t0,
            Side::B,
            true,
            addr("198.51.100.20:5005"),
            &receiver_report(2)
        ),
        Some(a_rtcp_nat)
    );
    // RTCP from elsewhere than A's host is dropped; the same host on a new port is followed.
    relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(1, 1));
    assert_eq!(
        relay.on_packet(
            t0,
            Side::A,
            true,
            addr("233.252.0.9:7079"),
            &receiver_report(9)
        ),
        None
    );
    let moved = addr("203.0.113.7:61999");
    assert_eq!(
        relay.on_packet(t0, Side::A, true, moved, &receiver_report(1)),
        Some(addr("198.51.100.20:5005"))
    );
    assert_eq!(relay.rtcp_destination(Side::A), Some(moved));
    // A short or wrong-version RTCP packet is dropped.
    assert_eq!(
        relay.on_packet(t0, Side::A, true, moved, &[0x80, 201, 0]),
        None
    );
    assert_eq!(
        relay.on_packet(t0, Side::A, true, moved, &[0x40, 201, 0, 1, 0, 0, 0, 1]),
        None
    );
    let stats = relay.stats();
    assert_eq!(stats.a_to_b.rtcp_packets, 2);
    assert_eq!(stats.b_to_a.rtcp_packets, 2);
    assert_eq!(stats.a_to_b.dropped, 3);
    // RTCP is not RTP: no RTP packets counted for it.
    assert_eq!(stats.b_to_a.packets, 0);
}

#[test]
fn rtcp_multiplexed_on_the_rtp_port_is_relayed_rtp_port_to_rtp_port() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(1, 1));
    assert_eq!(
        relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &receiver_report(1)),
        Some(addr(PHONE_B))
    );
    let stats = relay.stats().a_to_b;
    assert_eq!((stats.packets, stats.rtcp_packets), (1, 1));
    // It did not disturb the sequence tracking.
    relay.on_packet(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(2, 1));
    assert_eq!(relay.stats().a_to_b.lost, 0);
}

#[test]
fn counts_sequence_gaps_across_the_wraparound() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    let from = addr(PHONE_A_SDP);
    // 65533, 65534, (65535 lost), 0, (1, 2 lost), 3, 4.
    for sequence in [65_533u16, 65_534, 0, 3, 4] {
        relay.on_packet(t0, Side::A, false, from, &pcmu(sequence, 1));
    }
    assert_eq!(relay.stats().a_to_b.lost, 3);
    // A duplicate changes nothing; a late packet fills its gap.
    relay.on_packet(t0, Side::A, false, from, &pcmu(4, 1));
    relay.on_packet(t0, Side::A, false, from, &pcmu(2, 1));
    assert_eq!(relay.stats().a_to_b.lost, 2);
    // A big jump is a restarted sender, not loss; neither is a new SSRC.
    relay.on_packet(t0, Side::A, false, from, &pcmu(30_000, 1));
    relay.on_packet(t0, Side::A, false, from, &pcmu(30_001, 1));
    relay.on_packet(t0, Side::A, false, from, &pcmu(9, 2));
    relay.on_packet(t0, Side::A, false, from, &pcmu(10, 2));
    let stats = relay.stats().a_to_b;
    assert_eq!(stats.lost, 2);
    assert_eq!(stats.packets, 11);
    // The other direction is untouched.
    assert_eq!(relay.stats().b_to_a, Default::default());
}

#[test]
fn one_telephone_event_is_counted_once_however_many_packets_carry_it() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    let from = addr(PHONE_A_SDP);
    // Digit 5: start, two updates, then the end packet three times (RFC 4733 §2.5.1.4), all
    // with the event's start timestamp.
    let mut sequence = 100;
    let mut send = |relay: &mut Relay, timestamp, digit, end, duration| {
        sequence += 1;
        let packet = event(sequence, timestamp, digit, end, duration);
        relay.on_packet(t0, Side::A, false, from, &packet)
    };
    for (end, duration) in [
        (false, 160),
        (false, 320),
        (false, 480),
        (true, 640),
        (true, 640),
        (true, 640),
    ] {
        // Every event packet passes through unchanged to B.
        assert_eq!(
            send(&mut relay, 8000, 5, end, duration),
            Some(addr(PHONE_B))
        );
    }
    assert_eq!(relay.stats().a_to_b.telephone_events, 1);
    // Digit 5 again, a new event with its own timestamp, then `#`.
    for (end, duration) in [(false, 160), (true, 320), (true, 320), (true, 320)] {
        send(&mut relay, 16_000, 5, end, duration);
    }
    for (end, duration) in [(false, 160), (true, 320), (true, 320), (true, 320)] {
        send(&mut relay, 24_000, 11, end, duration);
    }
    let stats = relay.stats().a_to_b;
    assert_eq!(stats.telephone_events, 3);
    assert_eq!(stats.packets, 14);
    assert_eq!(stats.lost, 0);
}

#[test]
fn the_negotiated_event_payload_type_decides_what_is_an_event() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    let from = addr(PHONE_A_SDP);
    relay.set_event_payload_type(Some(96));
    // PT 101 is not the negotiated one: not counted.
    relay.on_packet(t0, Side::A, false, from, &event(1, 800, 1, true, 320));
    assert_eq!(relay.stats().a_to_b.telephone_events, 0);
    let mut packet = event(2, 1600, 1, true, 320);
    packet[1] = 96;
    relay.on_packet(t0, Side::A, false, from, &packet);
    assert_eq!(relay.stats().a_to_b.telephone_events, 1);
    // Audio (PCMU, 160 octets) is never an event, with or without the negotiated type.
    relay.set_event_payload_type(None);
    relay.on_packet(t0, Side::A, false, from, &pcmu(3, 0xa));
    assert_eq!(relay.stats().a_to_b.telephone_events, 1);
}

#[test]
fn becomes_inactive_after_the_timeout_with_no_rtp_either_way() {
    let t0 = Instant::now();
    let timeout = Duration::from_secs(30);
    let mut relay =
        Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0).with_rtp_timeout(timeout);
    assert_eq!(relay.poll_timeout(), Some(t0 + timeout));
    // Audio one way only keeps it alive.
    let from = addr(PHONE_B);
    for n in 0..100u16 {
        let now = t0 + Duration::from_secs(u64::from(n));
        relay.on_packet(now, Side::B, false, from, &pcmu(n, 2));
        assert_eq!(relay.handle_timeout(now), None);
    }
    let last = t0 + Duration::from_secs(99);
    assert_eq!(relay.poll_timeout(), Some(last + timeout));
    assert_eq!(relay.handle_timeout(last + timeout - ms(1)), None);
    // RTCP alone does not count as media.
    relay.on_packet(last + ms(10_000), Side::B, true, from, &receiver_report(2));
    assert_eq!(relay.handle_timeout(last + timeout), Some(timeout));
    // Not again until another timeout has passed; then again, while the silence lasts (a
    // report ignored while the call was ringing is not the last one).
    let reported = last + timeout;
    assert_eq!(relay.poll_timeout(), Some(reported + timeout));
    assert_eq!(relay.handle_timeout(reported + ms(5000)), None);
    assert_eq!(
        relay.is_inactive(reported + ms(5000)),
        Some(timeout + ms(5000))
    );
    assert_eq!(
        relay.handle_timeout(reported + timeout),
        Some(timeout + timeout)
    );
    // Media comes back: a new silent period starts.
    let back = reported + timeout + ms(6000);
    relay.on_packet(back, Side::A, false, addr(PHONE_A_SDP), &pcmu(1, 1));
    assert_eq!(relay.is_inactive(back), None);
    assert_eq!(relay.poll_timeout(), Some(back + timeout));
    assert_eq!(relay.handle_timeout(back + timeout), Some(timeout));
}

#[test]
fn a_new_remote_address_restarts_the_silent_period() {
    let t0 = Instant::now();
    let timeout = Duration::from_secs(30);
    // The relay opens when the INVITE arrives; the callee answers 40 s later.
    let mut relay = Relay::new(plan(Some(PHONE_A_SDP), None), t0).with_rtp_timeout(timeout);
    assert_eq!(relay.handle_timeout(t0 + timeout), Some(timeout));
    let answered = t0 + Duration::from_secs(40);
    relay.set_remote(answered, Side::B, Some(addr(PHONE_B)), None);
    assert_eq!(relay.is_inactive(answered + ms(1)), None);
    assert_eq!(relay.poll_timeout(), Some(answered + timeout));
    assert_eq!(relay.handle_timeout(answered + timeout), Some(timeout));
}

#[test]
fn no_inactivity_while_on_hold() {
    let t0 = Instant::now();
    let timeout = Duration::from_secs(30);
    let mut relay =
        Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0).with_rtp_timeout(timeout);
    relay.set_hold(t0 + Duration::from_secs(10), true);
    assert!(relay.on_hold());
    assert_eq!(relay.poll_timeout(), None);
    let later = t0 + Duration::from_secs(600);
    assert_eq!(relay.is_inactive(later), None);
    assert_eq!(relay.handle_timeout(later), None);
    // Off hold, the silent period starts anew.
    relay.set_hold(later, false);
    assert_eq!(relay.poll_timeout(), Some(later + timeout));
    assert_eq!(relay.handle_timeout(later + timeout - ms(1)), None);
    assert_eq!(relay.handle_timeout(later + timeout), Some(timeout));
}

#[test]
fn malformed_and_short_packets_are_dropped_without_panic() {
    let t0 = Instant::now();
    let mut relay = Relay::new(plan(None, Some(PHONE_B)), t0);
    let from = addr(PHONE_A_NAT);
    let valid = pcmu(1, 1);
    // Shorter than any RTCP header.
    let mut garbage: Vec<Vec<u8>> = (0..8).map(|n| valid[..n].to_vec()).collect();
    garbage.push(vec![0x00; 172]); // version 0
    garbage.push(vec![0xff; 172]); // version 3, everything set
    garbage.push(vec![0x80, 0xc8]); // RTCP-looking, too short
    for packet in &garbage {
        for rtcp in [false, true] {
            assert_eq!(relay.on_packet(t0, Side::A, rtcp, from, packet), None);
        }
    }
    // Broken RTP headers behind a valid first octet (on the RTCP port only the RTCP header
    // is checked, so these are not sent there).
    let mut broken_rtp: Vec<Vec<u8>> = (8..12).map(|n| valid[..n].to_vec()).collect();
    broken_rtp.extend([
        vec![0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], // CSRCs missing
        vec![0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9], // extension too long
        vec![0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff], // padding too long
    ]);
    for packet in &broken_rtp {
        assert_eq!(relay.on_packet(t0, Side::A, false, from, packet), None);
    }
    // Nothing was latched from garbage, and nothing counted as media.
    assert_eq!(relay.rtp_destination(Side::A), None);
    assert_eq!(relay.stats().a_to_b.last_packet, None);
    assert_eq!(
        relay.stats().a_to_b.dropped,
        2 * garbage.len() as u64 + broken_rtp.len() as u64
    );
    assert_eq!(
        relay.is_inactive(t0 + Duration::from_secs(30)),
        Some(Duration::from_secs(30))
    );
    // Every possible first two octets on a short packet, for good measure.
    for first in 0..=255u8 {
        for second in 0..=255u8 {
            let _ = relay.on_packet(t0, Side::B, false, addr(PHONE_B), &[first, second, 0, 0]);
            let _ = relay.on_packet(t0, Side::B, true, addr(PHONE_B), &[first, second, 0, 0]);
        }
    }
    // A valid packet still goes through.
    assert_eq!(
        relay.on_packet(t0, Side::A, false, from, &valid),
        Some(addr(PHONE_B))
    );
}

#[test]
fn relay_reports_its_identity_and_ports() {
    let relay = Relay::new(plan(None, None), Instant::now());
    assert_eq!(relay.id(), RelayId(7));
    assert_eq!(relay.local_rtp_port(Side::A), 10_000);
    assert_eq!(relay.local_rtp_port(Side::B), 10_002);
    assert_eq!(Side::A.other(), Side::B);
    assert_eq!(relay.rtp_destination(Side::B), None);
    assert_eq!(relay.rtcp_destination(Side::B), None);
}

#[test]
fn the_endpoint_takes_the_callers_packets_mutes_side_b_and_bridging_restores_relaying() {
    let t0 = Instant::now();
    let mut relay =
        Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0).with_rtp_timeout(ms(1000));
    relay.set_endpoint(t0, true);
    assert!(relay.has_endpoint());
    // The caller's packets latch and go to the endpoint, not to B.
    assert_eq!(
        relay.route(t0, Side::A, false, addr(PHONE_A_NAT), &pcmu(1, 0xa)),
        Route::Endpoint
    );
    assert_eq!(relay.rtp_destination(Side::A), Some(addr(PHONE_A_NAT)));
    // A stray source is still dropped, not handed to the endpoint.
    assert_eq!(
        relay.route(t0, Side::A, false, addr("192.0.2.99:1"), &pcmu(2, 0xb)),
        Route::Drop
    );
    // B is muted, and RTCP goes nowhere.
    assert_eq!(
        relay.route(t0, Side::B, false, addr(PHONE_B), &pcmu(1, 0xc)),
        Route::Drop
    );
    assert_eq!(
        relay.route(
            t0,
            Side::A,
            true,
            addr("203.0.113.7:61001"),
            &receiver_report(0xa)
        ),
        Route::Drop
    );
    let stats = relay.stats();
    assert_eq!((stats.a_to_b.packets, stats.a_to_b.dropped), (1, 2));
    assert_eq!((stats.b_to_a.packets, stats.b_to_a.dropped), (0, 1));

    // B's packets are not activity; what the endpoint plays is.
    relay.on_packet(t0 + ms(900), Side::B, false, addr(PHONE_B), &pcmu(2, 0xc));
    assert_eq!(relay.poll_timeout(), Some(t0 + ms(1000)));
    relay.on_played(t0 + ms(900));
    assert_eq!(relay.handle_timeout(t0 + ms(1000)), None);
    assert_eq!(relay.poll_timeout(), Some(t0 + ms(1900)));

    // Bridged again: both ways relayed as before.
    relay.set_endpoint(t0 + ms(1000), false);
    assert_eq!(
        relay.on_packet(
            t0 + ms(1000),
            Side::A,
            false,
            addr(PHONE_A_NAT),
            &pcmu(3, 0xa)
        ),
        Some(addr(PHONE_B))
    );
    assert_eq!(
        relay.on_packet(t0 + ms(1000), Side::B, false, addr(PHONE_B), &pcmu(3, 0xc)),
        Some(addr(PHONE_A_NAT))
    );
    // Without the endpoint, playing is no activity.
    relay.on_played(t0 + ms(1500));
    assert_eq!(relay.poll_timeout(), Some(t0 + ms(2000)));
}

#[test]
fn on_packet_and_route_decide_alike_with_and_without_the_endpoint() {
    // The plain relaying path (`on_packet`) and the endpoint's (`route`) are two entries to
    // one set of rules: fed the same packets, two relays end up in the same state.
    let t0 = Instant::now();
    let fresh = || Relay::new(plan(Some(PHONE_A_SDP), Some(PHONE_B)), t0);
    let (mut plain, mut routed) = (fresh(), fresh());
    let (a_rtcp, b_rtcp) = (addr("203.0.113.7:61001"), addr("198.51.100.20:5001"));
    let key = event(2, 320, 5, true, 480);
    let packets: Vec<(Side, bool, SocketAddr, Vec<u8>)> = vec![
        (Side::A, false, addr(PHONE_A_NAT), pcmu(1, 0xa)),
        (Side::B, false, addr(PHONE_B), pcmu(1, 0xc)),
        (Side::A, false, addr("192.0.2.99:1"), pcmu(9, 0xb)),
        (Side::A, true, a_rtcp, receiver_report(0xa)),
        (Side::B, true, b_rtcp, receiver_report(0xc)),
        (Side::A, false, addr(PHONE_A_NAT), vec![0x80, 0]),
        (Side::A, false, addr(PHONE_A_NAT), key),
    ];
    for (round, endpoint) in [false, true, false].into_iter().enumerate() {
        let now = t0 + ms(100 * round as u64);
        plain.set_endpoint(now, endpoint);
        routed.set_endpoint(now, endpoint);
        for (n, (side, rtcp, from, packet)) in packets.iter().enumerate() {
            let at = now + ms(n as u64);
            let to = plain.on_packet(at, *side, *rtcp, *from, packet);
            let route = routed.route(at, *side, *rtcp, *from, packet);
            match route {
                Route::Forward(expected) => assert_eq!(to, Some(expected)),
                Route::Endpoint | Route::Drop => assert_eq!(to, None),
            }
            if endpoint {
                assert_eq!(to, None, "nothing forwarded while the endpoint is in");
            }
        }
        assert_eq!(plain.stats(), routed.stats(), "round {round}");
        assert_eq!(plain.poll_timeout(), routed.poll_timeout());
        for side in [Side::A, Side::B] {
            assert_eq!(plain.rtp_destination(side), routed.rtp_destination(side));
            assert_eq!(plain.rtcp_destination(side), routed.rtcp_destination(side));
        }
    }
    // Relayed in the first and last rounds: A's audio and event, B's audio, both RTCP.
    assert_eq!(plain.stats().a_to_b.packets, 2 + 2 + 2);
    assert_eq!(plain.stats().a_to_b.rtcp_packets, 2);
}
