//! The relay's packet path: `Relay::on_packet` for 20 ms PCMU (see docs/PERFORMANCE.md,
//! "Media relay packet path").
//!
//! `cargo bench -p crossbar-media -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbar_media::{Relay, RelayId, RelayPlan, Side, SidePlan};

/// 12-octet RTP header + 160 octets of PCMU (20 ms at 8 kHz).
const PACKET_LEN: usize = 172;

fn pcmu(sequence: u16, timestamp: u32, ssrc: u32) -> [u8; PACKET_LEN] {
    let mut packet = [0xffu8; PACKET_LEN];
    packet[0] = 0x80;
    packet[1] = 0;
    packet[2..4].copy_from_slice(&sequence.to_be_bytes());
    packet[4..8].copy_from_slice(&timestamp.to_be_bytes());
    packet[8..12].copy_from_slice(&ssrc.to_be_bytes());
    packet
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a literal socket address")
}

fn relay(now: Instant) -> Relay {
    Relay::new(
        RelayPlan {
            id: RelayId(1),
            a: SidePlan {
                local_rtp_port: 10_000,
                remote_rtp: Some(addr("192.0.2.10:4000")),
                remote_rtcp: None,
            },
            b: SidePlan {
                local_rtp_port: 10_002,
                remote_rtp: Some(addr("198.51.100.20:5000")),
                remote_rtcp: None,
            },
        },
        now,
    )
}

fn packet_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Elements(1));

    // Both directions of a latched call: the steady state of every relayed packet.
    group.bench_function("on_packet PCMU 172 B, latched", |b| {
        let start = Instant::now();
        let mut relay = relay(start);
        let from_a = addr("203.0.113.7:61000");
        let from_b = addr("198.51.100.20:5000");
        let mut packet_a = pcmu(0, 0, 0x1111_1111);
        let mut packet_b = pcmu(0, 0, 0x2222_2222);
        let mut sequence: u16 = 0;
        let mut now = start;
        b.iter(|| {
            sequence = sequence.wrapping_add(1);
            now += Duration::from_millis(10);
            let (side, from, packet) = if sequence.is_multiple_of(2) {
                (Side::A, from_a, &mut packet_a)
            } else {
                (Side::B, from_b, &mut packet_b)
            };
            packet[2..4].copy_from_slice(&(sequence / 2).to_be_bytes());
            black_box(relay.on_packet(now, side, false, from, black_box(&packet[..])))
        });
    });

    // Packets from a source that is not let in: the cost of a flood on a relay port.
    group.bench_function("on_packet PCMU 172 B, foreign source", |b| {
        let start = Instant::now();
        let mut relay = relay(start);
        let latched = pcmu(0, 0, 1);
        relay.on_packet(start, Side::A, false, addr("203.0.113.7:61000"), &latched);
        let foreign = pcmu(7, 0, 2);
        let from = addr("233.252.0.1:9");
        b.iter(|| black_box(relay.on_packet(start, Side::A, false, from, black_box(&foreign))));
    });
    group.finish();
}

criterion_group!(benches, packet_path);
criterion_main!(benches);
