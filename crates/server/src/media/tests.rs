//! The relay IO over real loopback sockets: two plain UDP sockets play the phones.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbar_media::prompt::FRAME_SAMPLES;
use crossbar_media::rtp::RtpPacket;
use crossbar_media::{
    MediaCommand, MediaEvent, PortPool, Prompt, RelayId, RelayPlan, Side, SidePlan,
};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::MediaEngine;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(3);

/// Port pairs for the relays of these tests, below the Linux ephemeral range and spread by
/// process id so that concurrent test runs rarely meet. A pair that turns out to be taken is
/// simply skipped (see `open`).
static PORTS: Mutex<Option<PortPool>> = Mutex::new(None);

fn next_port() -> u16 {
    let mut pool = PORTS.lock().unwrap();
    let pool = pool.get_or_insert_with(|| {
        let base = 20_000 + (std::process::id() % 500) as u16 * 20;
        PortPool::new(base, base + 2_000)
    });
    pool.allocate().expect("enough test ports")
}

fn side(remote_rtp: Option<SocketAddr>, remote_rtcp: Option<SocketAddr>) -> SidePlan {
    SidePlan {
        local_rtp_port: 0,
        remote_rtp,
        remote_rtcp,
    }
}

/// Opens relay `id` on the first free port pairs; returns the plan it was opened with.
async fn open(
    media: &mut MediaEngine,
    events: &mut mpsc::UnboundedReceiver<MediaEvent>,
    id: RelayId,
    a: SidePlan,
    b: SidePlan,
) -> RelayPlan {
    for _ in 0..20 {
        let plan = RelayPlan {
            id,
            a: SidePlan {
                local_rtp_port: next_port(),
                ..a
            },
            b: SidePlan {
                local_rtp_port: next_port(),
                ..b
            },
        };
        media.handle(MediaCommand::Open(plan));
        if opened(events, &plan).await {
            return plan;
        }
    }
    panic!("no free port pairs for the test relay");
}

/// Waits until the relay's task has bound all four ports (`true`) or reported `OpenFailed`
/// (`false`): the task binds B's RTCP port last.
async fn opened(events: &mut mpsc::UnboundedReceiver<MediaEvent>, plan: &RelayPlan) -> bool {
    let last = local(plan.b.local_rtp_port + 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match events.try_recv() {
            Ok(MediaEvent::OpenFailed { .. }) => return false,
            Ok(other) => panic!("unexpected event {other:?}"),
            Err(_) => {}
        }
        if std::net::UdpSocket::bind(last).is_err() {
            return true;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay neither opened nor failed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::new(LOCALHOST, port)
}

async fn phone() -> UdpSocket {
    UdpSocket::bind(local(0)).await.unwrap()
}

fn rtp(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, payload_type];
    p.extend_from_slice(&sequence.to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

async fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 2048];
    let (len, from) = tokio::time::timeout(WAIT, socket.recv_from(&mut buf))
        .await
        .expect("a packet within the wait")
        .unwrap();
    buf.truncate(len);
    (buf, from)
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<MediaEvent>) -> MediaEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event within the wait")
        .expect("the events channel is open")
}

#[tokio::test]
async fn relays_rtp_rtcp_and_events_both_ways_through_the_latched_address() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(30), tx);
    let (phone_a, phone_a_rtcp) = (phone().await, phone().await);
    let (phone_b, phone_b_rtcp) = (phone().await, phone().await);
    // A's SDP names an address nothing answers from (a NATed phone's private address): A is
    // only reachable through latching.
    let a_sdp = local(9);
    let plan = open(
        &mut media,
        &mut events,
        RelayId(1),
        side(Some(a_sdp), None),
        side(
            Some(phone_b.local_addr().unwrap()),
            Some(phone_b_rtcp.local_addr().unwrap()),
        ),
    )
    .await;
    let relay_a = local(plan.a.local_rtp_port);
    let relay_a_rtcp = local(plan.a.local_rtp_port + 1);
    let relay_b = local(plan.b.local_rtp_port);
    let relay_b_rtcp = local(plan.b.local_rtp_port + 1);

    // A → B, to B's signalled address, out of B's side.
    let audio = rtp(0, 1, 160, 0xa, &[0xff; 160]);
    phone_a.send_to(&audio, relay_a).await.unwrap();
    assert_eq!(receive(&phone_b).await, (audio, relay_b));
    // B → A reaches A at the address its packets came from, out of A's side.
    let audio = rtp(0, 7, 160, 0xb, &[0xd5; 160]);
    phone_b.send_to(&audio, relay_b).await.unwrap();
    assert_eq!(receive(&phone_a).await, (audio, relay_a));
    // An RFC 4733 event from A passes unchanged (start, then the end three times).
    for (sequence, flags) in [(2u16, 0x0a), (3, 0x8a), (4, 0x8a), (5, 0x8a)] {
        let event = rtp(101, sequence, 320, 0xa, &[5, flags, 0x01, 0x40]);
        phone_a.send_to(&event, relay_a).await.unwrap();
        assert_eq!(receive(&phone_b).await, (event, relay_b));
    }
    // RTCP, port + 1 to port + 1: A's to B's signalled RTCP address, B's back to where A's
    // came from.
    let report_a = [0x80, 201, 0, 1, 0, 0, 0, 0xa];
    phone_a_rtcp.send_to(&report_a, relay_a_rtcp).await.unwrap();
    assert_eq!(
        receive(&phone_b_rtcp).await,
        (report_a.to_vec(), relay_b_rtcp)
    );
    let report_b = [0x80, 201, 0, 1, 0, 0, 0, 0xb];
    phone_b_rtcp.send_to(&report_b, relay_b_rtcp).await.unwrap();
    assert_eq!(
        receive(&phone_a_rtcp).await,
        (report_b.to_vec(), relay_a_rtcp)
    );
    // Garbage is dropped, and the relay carries on.
    phone_a.send_to(&[1, 2, 3], relay_a).await.unwrap();
    let audio = rtp(0, 8, 320, 0xb, &[0xd5; 160]);
    phone_b.send_to(&audio, relay_b).await.unwrap();
    assert_eq!(receive(&phone_a).await, (audio, relay_a));

    media.handle(MediaCommand::Close { id: RelayId(1) });
    let MediaEvent::Closed { id, stats } = next_event(&mut events).await else {
        panic!("expected Closed");
    };
    assert_eq!(id, RelayId(1));
    assert_eq!(stats.a_to_b.packets, 5);
    assert_eq!(stats.a_to_b.bytes, 172 + 4 * 16);
    assert_eq!(stats.a_to_b.telephone_events, 1);
    assert_eq!(stats.a_to_b.rtcp_packets, 1);
    assert_eq!(stats.a_to_b.dropped, 1);
    assert_eq!(stats.a_to_b.lost, 0);
    assert_eq!(stats.b_to_a.packets, 2);
    assert_eq!(stats.b_to_a.rtcp_packets, 1);
    assert!(media.is_empty());
    // The sockets are gone by the time `Closed` arrives: the ports can be bound again.
    for port in [relay_a, relay_a_rtcp, relay_b, relay_b_rtcp] {
        std::net::UdpSocket::bind(port).unwrap();
    }
}

#[tokio::test]
async fn set_remote_moves_the_far_side_and_hold_is_accepted() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(30), tx);
    let (phone_a, phone_b, phone_b2) = (phone().await, phone().await, phone().await);
    let plan = open(
        &mut media,
        &mut events,
        RelayId(2),
        side(Some(phone_a.local_addr().unwrap()), None),
        // The callee's address is not known yet (no answer).
        side(None, None),
    )
    .await;
    let relay_a = local(plan.a.local_rtp_port);
    let relay_b = local(plan.b.local_rtp_port);
    // The answer arrives; then a re-INVITE moves B to another device.
    media.handle(MediaCommand::SetRemote {
        id: RelayId(2),
        side: Side::B,
        rtp: Some(phone_b.local_addr().unwrap()),
        rtcp: None,
    });
    let audio = rtp(0, 1, 160, 0xa, &[0xff; 160]);
    phone_a.send_to(&audio, relay_a).await.unwrap();
    assert_eq!(receive(&phone_b).await.0, audio);
    media.handle(MediaCommand::SetHold {
        id: RelayId(2),
        on_hold: true,
    });
    media.handle(MediaCommand::SetRemote {
        id: RelayId(2),
        side: Side::B,
        rtp: Some(phone_b2.local_addr().unwrap()),
        rtcp: None,
    });
    let audio = rtp(0, 2, 320, 0xa, &[0xff; 160]);
    phone_a.send_to(&audio, relay_a).await.unwrap();
    assert_eq!(receive(&phone_b2).await, (audio, relay_b));
    // Commands for relays that do not exist are ignored.
    media.handle(MediaCommand::SetHold {
        id: RelayId(99),
        on_hold: false,
    });
    media.handle(MediaCommand::Close { id: RelayId(99) });
    drop(media);
    // Dropping the engine closes its relays.
    assert!(matches!(
        next_event(&mut events).await,
        MediaEvent::Closed { id: RelayId(2), .. }
    ));
}

#[tokio::test]
async fn inactivity_is_reported_after_the_timeout_but_not_while_on_hold() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(1), tx);
    open(
        &mut media,
        &mut events,
        RelayId(3),
        side(None, None),
        side(None, None),
    )
    .await;
    open(
        &mut media,
        &mut events,
        RelayId(4),
        side(None, None),
        side(None, None),
    )
    .await;
    media.handle(MediaCommand::SetHold {
        id: RelayId(4),
        on_hold: true,
    });
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::Inactive {
            id: RelayId(3),
            idle_secs: 1
        }
    );
    // The held relay, opened at the same moment, stays quiet; relay 3 reports only once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(events.try_recv().is_err());

    media.close_all();
    assert!(media.is_empty());
    let mut closed = Vec::new();
    for _ in 0..2 {
        match next_event(&mut events).await {
            MediaEvent::Closed { id, .. } => closed.push(id),
            other => panic!("unexpected {other:?}"),
        }
    }
    closed.sort();
    assert_eq!(closed, [RelayId(3), RelayId(4)]);
}

#[tokio::test]
async fn a_port_taken_by_another_process_fails_the_open_and_leaves_nothing_bound() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::new(LOCALHOST, Duration::from_secs(30), 0, tx).unwrap();
    // Someone else holds B's RTCP port.
    let (b_port, squatter) = loop {
        let port = next_port();
        if let Ok(socket) = std::net::UdpSocket::bind(local(port + 1)) {
            break (port, socket);
        }
    };
    let a_port = next_port();
    let plan = RelayPlan {
        id: RelayId(5),
        a: SidePlan {
            local_rtp_port: a_port,
            ..side(None, None)
        },
        b: SidePlan {
            local_rtp_port: b_port,
            ..side(None, None)
        },
    };
    media.handle(MediaCommand::Open(plan));
    let MediaEvent::OpenFailed { id, reason } = next_event(&mut events).await else {
        panic!("expected OpenFailed");
    };
    assert_eq!(id, RelayId(5));
    assert!(
        reason.contains(&format!("127.0.0.1:{}", b_port + 1)),
        "{reason}"
    );
    assert!(media.is_empty());
    // The sockets bound before the failure were closed again.
    for port in [a_port, a_port + 1, b_port] {
        std::net::UdpSocket::bind(local(port)).unwrap();
    }
    drop(squatter);

    // Opening the same id twice is refused without touching the open relay.
    let plan = open(
        &mut media,
        &mut events,
        RelayId(6),
        side(None, None),
        side(None, None),
    )
    .await;
    media.handle(MediaCommand::Open(plan));
    assert!(matches!(
        events.try_recv(),
        Ok(MediaEvent::OpenFailed { id: RelayId(6), .. })
    ));
    assert_eq!(media.len(), 1);
}

// Crossbar's own media endpoint: prompts to the caller, the caller's keys, bridging again.

/// A prompt of `frames` frames whose frames all differ.
fn test_prompt(frames: usize) -> Arc<Prompt> {
    let samples: Vec<i16> = (0..frames * FRAME_SAMPLES)
        .map(|i| ((i * 37 % 20_000) as i32 - 10_000) as i16)
        .collect();
    Arc::new(Prompt::from_samples("test/prompt", &samples))
}

/// One RFC 4733 key press as a phone sends it: start, update, end three times.
fn key_press(event: u8, sequence: u16, timestamp: u32) -> Vec<Vec<u8>> {
    [
        (0x0a, 160u16),
        (0x0a, 320),
        (0x8a, 480),
        (0x8a, 480),
        (0x8a, 480),
    ]
    .iter()
    .enumerate()
    .map(|(n, &(flags, duration))| {
        let [d1, d2] = duration.to_be_bytes();
        let mut p = rtp(
            101,
            sequence + n as u16,
            timestamp,
            0xa,
            &[event, flags, d1, d2],
        );
        if n == 0 {
            p[1] |= 0x80;
        }
        p
    })
    .collect()
}

/// Reads what arrives within `quiet`, until nothing does.
async fn drain(socket: &UdpSocket, quiet: Duration) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 2048];
    while let Ok(Ok((len, _))) = tokio::time::timeout(quiet, socket.recv_from(&mut buf)).await {
        packets.push(buf[..len].to_vec());
    }
    packets
}

#[tokio::test]
async fn play_paces_the_prompts_to_the_caller_every_20_ms_as_one_stream_with_side_b_muted() {
    let (tx, mut events) = mpsc::unbounded_channel();
    // As crossbar runs it: the relays on a runtime of their own, the frames from the pacer.
    let mut media = MediaEngine::new(LOCALHOST, Duration::from_secs(30), 0, tx).unwrap();
    let (phone_a, phone_b) = (phone().await, phone().await);
    let plan = open(
        &mut media,
        &mut events,
        RelayId(10),
        side(Some(phone_a.local_addr().unwrap()), None),
        side(Some(phone_b.local_addr().unwrap()), None),
    )
    .await;
    let (relay_a, relay_b) = (local(plan.a.local_rtp_port), local(plan.b.local_rtp_port));
    // Two prompts, 51 frames: 50 intervals.
    let prompts = vec![test_prompt(30), test_prompt(21)];
    let audio: Vec<u8> = prompts.iter().flat_map(|p| p.ulaw.clone()).collect();
    media.handle(MediaCommand::Play {
        id: RelayId(10),
        prompts,
        repeat: false,
        payload_type: 0,
    });

    let mut arrivals = Vec::new();
    let mut packets = Vec::new();
    for n in 0..51 {
        if n == 5 {
            // The callee talks meanwhile: the caller does not hear it.
            phone_b
                .send_to(&rtp(0, 1, 160, 0xb, &[0x11; 160]), relay_b)
                .await
                .unwrap();
        }
        let (packet, from) = receive(&phone_a).await;
        arrivals.push(std::time::Instant::now());
        assert_eq!(from, relay_a, "out of side A's RTP socket");
        packets.push(packet);
    }
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlayFinished { id: RelayId(10) }
    );
    assert!(
        drain(&phone_a, Duration::from_millis(100)).await.is_empty(),
        "nothing after the last frame, nothing from side B"
    );

    let parsed: Vec<_> = packets
        .iter()
        .map(|p| RtpPacket::parse(p).unwrap())
        .collect();
    for (n, p) in parsed.iter().enumerate() {
        assert_eq!(p.payload_type, 0);
        assert_eq!(
            p.marker,
            n == 0,
            "the marker bit on the play's first packet only"
        );
        assert_eq!(p.ssrc, parsed[0].ssrc);
        assert_eq!(p.sequence, parsed[0].sequence.wrapping_add(n as u16));
        assert_eq!(
            p.timestamp,
            parsed[0].timestamp.wrapping_add(160 * n as u32)
        );
        assert_eq!(
            p.payload,
            &audio[n * FRAME_SAMPLES..(n + 1) * FRAME_SAMPLES],
            "frame {n}"
        );
    }
    // Wall-clock spacing, loosely: the mean over 50 intervals (a loaded machine delays single
    // packets, not the schedule).
    let mean = (arrivals[50] - arrivals[0]) / 50;
    assert!(
        mean >= Duration::from_millis(18) && mean <= Duration::from_millis(22),
        "packets {mean:?} apart on average"
    );

    // The next play runs on the same stream, its timestamp advanced by the pause (at least
    // the 100 ms of quiet above).
    media.handle(MediaCommand::Play {
        id: RelayId(10),
        prompts: vec![test_prompt(1)],
        repeat: false,
        payload_type: 8,
    });
    let (next, from) = receive(&phone_a).await;
    assert_eq!(from, relay_a);
    let next = RtpPacket::parse(&next).unwrap();
    let last = &parsed[50];
    assert!(next.marker);
    assert_eq!(next.payload_type, 8);
    assert_eq!(next.ssrc, last.ssrc);
    assert_eq!(next.sequence, last.sequence.wrapping_add(1));
    let advanced = next.timestamp.wrapping_sub(last.timestamp);
    assert!(
        (800..80_000).contains(&advanced),
        "timestamp advanced by {advanced}"
    );
    assert_eq!(next.payload, &test_prompt(1).alaw[..]);
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlayFinished { id: RelayId(10) }
    );
}

#[tokio::test]
async fn a_play_goes_to_the_callers_latched_address_not_the_signalled_one() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(30), tx);
    // A's SDP names another socket (the private address of a phone behind NAT).
    let (phone_a, signalled) = (phone().await, phone().await);
    let plan = open(
        &mut media,
        &mut events,
        RelayId(13),
        side(Some(signalled.local_addr().unwrap()), None),
        side(None, None),
    )
    .await;
    let relay_a = local(plan.a.local_rtp_port);
    phone_a
        .send_to(&rtp(0, 1, 160, 0xa, &[0xff; 160]), relay_a)
        .await
        .unwrap();
    // Let the relay's task take the packet (and latch) before the play starts.
    tokio::time::sleep(Duration::from_millis(50)).await;
    media.handle(MediaCommand::Play {
        id: RelayId(13),
        prompts: vec![test_prompt(3)],
        repeat: false,
        payload_type: 0,
    });
    for _ in 0..3 {
        assert_eq!(receive(&phone_a).await.1, relay_a);
    }
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlayFinished { id: RelayId(13) }
    );
    assert!(
        drain(&signalled, Duration::from_millis(50))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn listen_reports_each_key_once_and_bridge_relays_both_ways_again() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(30), tx);
    let (phone_a, phone_b) = (phone().await, phone().await);
    let plan = open(
        &mut media,
        &mut events,
        RelayId(11),
        side(Some(phone_a.local_addr().unwrap()), None),
        side(Some(phone_b.local_addr().unwrap()), None),
    )
    .await;
    let (relay_a, relay_b) = (local(plan.a.local_rtp_port), local(plan.b.local_rtp_port));
    media.handle(MediaCommand::Listen {
        id: RelayId(11),
        payload_type: 101,
    });
    media.handle(MediaCommand::Play {
        id: RelayId(11),
        prompts: vec![test_prompt(5)],
        repeat: true,
        payload_type: 0,
    });
    // The first prompt packet shows both commands were carried out (they are in order).
    receive(&phone_a).await;

    // 1, 2, then 1 again (a new event: a new timestamp), each five packets.
    let mut sequence = 1;
    for (event, timestamp) in [(1u8, 1600u32), (2, 4800), (1, 8000)] {
        for packet in key_press(event, sequence, timestamp) {
            phone_a.send_to(&packet, relay_a).await.unwrap();
        }
        sequence += 5;
    }
    let mut digits = String::new();
    for _ in 0..3 {
        match next_event(&mut events).await {
            MediaEvent::Digit { id, digit } => {
                assert_eq!(id, RelayId(11));
                digits.push(digit);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(digits, "121");
    // Nothing of the caller's reached side B while the menu had the call.
    assert!(drain(&phone_b, Duration::from_millis(50)).await.is_empty());

    media.handle(MediaCommand::Bridge { id: RelayId(11) });
    // Once the bridge is in place, the callee is heard and the prompt has stopped. (A packet
    // sent before the task took the command may still be muted: retry until it is through.)
    let from_b = rtp(0, 1, 160, 0xb, &[0x22; 160]);
    let mut heard = false;
    for _ in 0..20 {
        phone_b.send_to(&from_b, relay_b).await.unwrap();
        if drain(&phone_a, Duration::from_millis(50))
            .await
            .contains(&from_b)
        {
            heard = true;
            break;
        }
    }
    assert!(heard, "side B reaches the caller after Bridge");
    assert!(drain(&phone_a, Duration::from_millis(100)).await.is_empty());
    let from_a = rtp(0, 100, 16000, 0xa, &[0x33; 160]);
    phone_a.send_to(&from_a, relay_a).await.unwrap();
    assert_eq!(receive(&phone_b).await, (from_a, relay_b));
    // The detector is gone with the endpoint; a repeating play never reports finished.
    for packet in key_press(5, 200, 32000) {
        phone_a.send_to(&packet, relay_a).await.unwrap();
    }
    assert_eq!(drain(&phone_b, Duration::from_millis(100)).await.len(), 5);
    assert!(events.try_recv().is_err());
}

#[tokio::test]
async fn a_play_waits_for_the_callers_address_keeps_the_call_alive_and_stops_on_request() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(1), tx);
    let phone_a = phone().await;
    // Nothing is known about the caller's address.
    let plan = open(
        &mut media,
        &mut events,
        RelayId(12),
        side(None, None),
        side(None, None),
    )
    .await;
    let relay_a = local(plan.a.local_rtp_port);
    media.handle(MediaCommand::Play {
        id: RelayId(12),
        prompts: vec![test_prompt(2)],
        repeat: true,
        payload_type: 0,
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The caller's first packet tells where it is: the prompt starts.
    phone_a
        .send_to(&rtp(0, 1, 160, 0xa, &[0xff; 160]), relay_a)
        .await
        .unwrap();
    let (first, from) = receive(&phone_a).await;
    assert_eq!(from, relay_a);
    assert!(RtpPacket::parse(&first).unwrap().marker);
    for _ in 0..3 {
        assert_eq!(receive(&phone_a).await.1, relay_a);
    }
    // The caller stays silent for longer than the RTP timeout: the prompt keeps the call
    // alive.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(events.try_recv().is_err(), "no Inactive while playing");

    media.handle(MediaCommand::StopPlaying { id: RelayId(12) });
    tokio::time::sleep(Duration::from_millis(50)).await;
    drain(&phone_a, Duration::from_millis(1)).await;
    assert!(drain(&phone_a, Duration::from_millis(100)).await.is_empty());
    // Stopped, not finished; and now the silence is real.
    assert!(matches!(
        next_event(&mut events).await,
        MediaEvent::Inactive {
            id: RelayId(12),
            ..
        }
    ));
}

#[tokio::test]
async fn listening_without_a_play_hears_keys_while_relaying_and_bridge_ends_it() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(30), tx);
    let (phone_a, phone_b) = (phone().await, phone().await);
    let plan = open(
        &mut media,
        &mut events,
        RelayId(14),
        side(Some(phone_a.local_addr().unwrap()), None),
        side(Some(phone_b.local_addr().unwrap()), None),
    )
    .await;
    let (relay_a, relay_b) = (local(plan.a.local_rtp_port), local(plan.b.local_rtp_port));
    // Plain relaying first.
    let audio = rtp(0, 1, 160, 0xa, &[0xff; 160]);
    phone_a.send_to(&audio, relay_a).await.unwrap();
    assert_eq!(receive(&phone_b).await, (audio, relay_b));

    // A switch listening for feature codes on a bridged call: the keys are heard and still
    // relayed, and the callee still reaches the caller.
    media.handle(MediaCommand::Listen {
        id: RelayId(14),
        payload_type: 101,
    });
    // Let the task take the command (nothing in the stream shows it has).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let press = key_press(7, 2, 1600);
    for packet in &press {
        phone_a.send_to(packet, relay_a).await.unwrap();
    }
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::Digit {
            id: RelayId(14),
            digit: '7'
        }
    );
    assert_eq!(drain(&phone_b, Duration::from_millis(100)).await, press);
    let from_b = rtp(0, 2, 320, 0xb, &[0xd5; 160]);
    phone_b.send_to(&from_b, relay_b).await.unwrap();
    assert_eq!(receive(&phone_a).await, (from_b, relay_a));

    // `Bridge` takes the detector away; relaying goes on.
    media.handle(MediaCommand::Bridge { id: RelayId(14) });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let press = key_press(3, 7, 3200);
    for packet in &press {
        phone_a.send_to(packet, relay_a).await.unwrap();
    }
    assert_eq!(drain(&phone_b, Duration::from_millis(100)).await, press);
    assert!(events.try_recv().is_err(), "no key heard after Bridge");
    media.handle(MediaCommand::Close { id: RelayId(14) });
    let MediaEvent::Closed { id, stats } = next_event(&mut events).await else {
        panic!("expected Closed");
    };
    assert_eq!(id, RelayId(14));
    assert_eq!(stats.a_to_b.packets, 11);
    assert_eq!(stats.b_to_a.packets, 1);
}

/// A music track of `frames` frames, none equal to another or to a frame of `test_prompt`.
fn test_music(frames: usize) -> Arc<Prompt> {
    let samples: Vec<i16> = (0..frames * FRAME_SAMPLES)
        .map(|i| ((i * 53 % 24_000) as i32 - 12_000) as i16)
        .collect();
    Arc::new(Prompt::from_samples("test/music", &samples))
}

fn frames(prompt: &Prompt) -> Vec<&[u8]> {
    prompt.ulaw.chunks(FRAME_SAMPLES).collect()
}

#[tokio::test]
async fn music_resumes_where_a_prompt_interrupted_it_and_stop_and_bridge_end_it() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(30), tx);
    let (phone_a, phone_b) = (phone().await, phone().await);
    let plan = open(
        &mut media,
        &mut events,
        RelayId(15),
        side(Some(phone_a.local_addr().unwrap()), None),
        side(Some(phone_b.local_addr().unwrap()), None),
    )
    .await;
    let (relay_a, relay_b) = (local(plan.a.local_rtp_port), local(plan.b.local_rtp_port));
    let (music, announcement) = (test_music(10), test_prompt(3));
    let (music_frames, announced) = (frames(&music), frames(&announcement));
    let mut all = music_frames.clone();
    all.extend(&announced);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 13, "every frame tells where it comes from");

    media.handle(MediaCommand::Music {
        id: RelayId(15),
        music: Some(music.clone()),
        payload_type: 0,
    });
    // Looped: twelve frames of a ten-frame track.
    let mut stream = Vec::new();
    for _ in 0..12 {
        let (packet, from) = receive(&phone_a).await;
        assert_eq!(from, relay_a);
        stream.push(packet);
    }
    // An announcement interrupts it; the music goes on afterwards.
    media.handle(MediaCommand::Play {
        id: RelayId(15),
        prompts: vec![announcement.clone()],
        repeat: false,
        payload_type: 0,
    });
    let mut after_announcement = None;
    while after_announcement.is_none_or(|start| stream.len() < start + 4) {
        let (packet, _) = receive(&phone_a).await;
        let payload = RtpPacket::parse(&packet).unwrap().payload.to_vec();
        stream.push(packet);
        if payload == announced[2] {
            after_announcement = Some(stream.len());
        }
    }
    assert_eq!(
        next_event(&mut events).await,
        MediaEvent::PlayFinished { id: RelayId(15) }
    );

    let parsed: Vec<_> = stream
        .iter()
        .map(|p| RtpPacket::parse(p).unwrap())
        .collect();
    // Music frames 0..m (looped), the announcement, then the music from frame m on.
    let m = after_announcement.unwrap() - 3;
    assert!(m >= 12, "the music played until the announcement");
    let mut expected: Vec<&[u8]> = (0..m).map(|n| music_frames[n % 10]).collect();
    expected.extend(&announced);
    expected.extend((m..m + 4).map(|n| music_frames[n % 10]));
    let heard: Vec<&[u8]> = parsed.iter().map(|p| p.payload).collect();
    assert_eq!(heard, expected);
    for (n, p) in parsed.iter().enumerate() {
        assert_eq!(p.ssrc, parsed[0].ssrc, "one stream");
        assert_eq!(p.sequence, parsed[0].sequence.wrapping_add(n as u16));
        assert_eq!(
            p.timestamp,
            parsed[0].timestamp.wrapping_add(160 * n as u32),
            "no gap between the music and the announcement"
        );
        assert_eq!(
            p.marker,
            n == 0 || n == m || n == m + 3,
            "the marker where the music starts, the announcement starts, the music resumes"
        );
    }

    // StopPlaying silences the music too, and nothing is reported.
    media.handle(MediaCommand::StopPlaying { id: RelayId(15) });
    tokio::time::sleep(Duration::from_millis(50)).await;
    drain(&phone_a, Duration::from_millis(1)).await;
    assert!(drain(&phone_a, Duration::from_millis(100)).await.is_empty());
    assert!(events.try_recv().is_err());
    // It forgot the music: set again, it starts from its top.
    media.handle(MediaCommand::Music {
        id: RelayId(15),
        music: Some(music.clone()),
        payload_type: 0,
    });
    let (packet, _) = receive(&phone_a).await;
    let first = RtpPacket::parse(&packet).unwrap();
    assert!(first.marker);
    assert_eq!(first.payload, music_frames[0]);
    assert_eq!(first.ssrc, parsed[0].ssrc);

    // Bridge takes the music away: the callee is heard, and only the callee.
    media.handle(MediaCommand::Bridge { id: RelayId(15) });
    let from_b = rtp(0, 1, 160, 0xb, &[0x22; 160]);
    let mut heard = false;
    for _ in 0..20 {
        phone_b.send_to(&from_b, relay_b).await.unwrap();
        if drain(&phone_a, Duration::from_millis(50))
            .await
            .contains(&from_b)
        {
            heard = true;
            break;
        }
    }
    assert!(heard, "side B reaches the caller after Bridge");
    assert!(drain(&phone_a, Duration::from_millis(100)).await.is_empty());
    assert!(events.try_recv().is_err());
}

#[tokio::test]
async fn the_player_is_held_while_the_callers_address_is_unknown_and_goes_on_where_it_was() {
    let (tx, mut events) = mpsc::unbounded_channel();
    let mut media = MediaEngine::on_this_runtime(LOCALHOST, Duration::from_secs(30), tx);
    let phone_a = phone().await;
    let a = phone_a.local_addr().unwrap();
    let plan = open(
        &mut media,
        &mut events,
        RelayId(16),
        side(Some(a), None),
        side(None, None),
    )
    .await;
    let relay_a = local(plan.a.local_rtp_port);
    let music = test_music(10);
    let music_frames = frames(&music);
    media.handle(MediaCommand::Music {
        id: RelayId(16),
        music: Some(music.clone()),
        payload_type: 0,
    });
    let mut heard = Vec::new();
    for _ in 0..3 {
        heard.push(receive(&phone_a).await.0);
    }
    // A re-INVITE takes the caller's address away before the caller sent anything.
    media.handle(MediaCommand::SetRemote {
        id: RelayId(16),
        side: Side::A,
        rtp: None,
        rtcp: None,
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    heard.extend(drain(&phone_a, Duration::from_millis(1)).await);
    assert!(drain(&phone_a, Duration::from_millis(200)).await.is_empty());
    // The address is back: the music goes on from the next frame, the pause in the
    // timestamps.
    media.handle(MediaCommand::SetRemote {
        id: RelayId(16),
        side: Side::A,
        rtp: Some(a),
        rtcp: None,
    });
    let (packet, from) = receive(&phone_a).await;
    assert_eq!(from, relay_a);
    let last = RtpPacket::parse(heard.last().unwrap()).unwrap();
    let next = RtpPacket::parse(&packet).unwrap();
    assert_eq!(next.payload, music_frames[heard.len() % 10]);
    assert_eq!(next.sequence, last.sequence.wrapping_add(1));
    let advanced = next.timestamp.wrapping_sub(last.timestamp);
    assert!(
        (1600..80_000).contains(&advanced),
        "timestamp advanced by {advanced}: the 250 ms held"
    );
}
