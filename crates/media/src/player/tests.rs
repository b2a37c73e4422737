use std::sync::Arc;
use std::time::{Duration, Instant};

use audio_codec_algorithms::{decode_alaw, decode_ulaw};

use super::*;
use crate::rtp::RtpPacket;

const SSRC: u32 = 0x1234_5678;

/// A packet the player sent, read back, with when it went out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    at: Instant,
    marker: bool,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

/// Drives the player like its task does: wakes at each `poll_timeout` until `until`, sends
/// what is due. Returns the packets and whether the play reported that it finished.
fn run(player: &mut Player, until: Instant) -> (Vec<Sent>, bool) {
    let mut sent = Vec::new();
    let mut finished = false;
    while let Some(due) = player.poll_timeout() {
        if due > until {
            break;
        }
        while let Some(bytes) = player.poll_transmit(due) {
            sent.push(read(due, bytes));
        }
        finished |= player.poll_event() == Some(PlayerEvent::Finished);
    }
    (sent, finished)
}

fn read(at: Instant, bytes: &[u8]) -> Sent {
    assert_eq!(bytes.len(), PACKET_LEN);
    let rtp = RtpPacket::parse(bytes).unwrap();
    Sent {
        at,
        marker: rtp.marker,
        payload_type: rtp.payload_type,
        sequence: rtp.sequence,
        timestamp: rtp.timestamp,
        ssrc: rtp.ssrc,
        payload: rtp.payload.to_vec(),
    }
}

/// A prompt of `frames` frames whose samples are all different.
fn prompt(name: &str, frames: usize, seed: i16) -> Arc<Prompt> {
    let samples: Vec<i16> = (0..frames * FRAME_SAMPLES)
        .map(|i| ((i as i32 * 97 + i32::from(seed) * 1000) % 30000 - 15000) as i16)
        .collect();
    Arc::new(Prompt::from_samples(name, &samples))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn assert_continuous(packets: &[Sent]) {
    for pair in packets.windows(2) {
        assert_eq!(
            pair[1].sequence,
            pair[0].sequence.wrapping_add(1),
            "{pair:?}"
        );
        assert_eq!(pair[1].ssrc, SSRC);
    }
}

#[test]
fn two_prompts_then_a_second_play_make_one_continuous_stream_paced_every_20_ms() {
    let t0 = Instant::now();
    let (first, second) = (prompt("first", 3, 1), prompt("second", 2, 2));
    let mut player = Player::new(SSRC, 65534, 4_000_000_000);
    player.play(vec![first.clone(), second.clone()], false, 0, t0);
    assert_eq!(player.poll_timeout(), Some(t0));

    let (packets, finished) = run(&mut player, t0 + ms(10_000));
    assert!(finished);
    assert!(!player.is_playing());
    assert_eq!(packets.len(), 5);
    assert_continuous(&packets);
    for (n, packet) in packets.iter().enumerate() {
        // Frame n at start + n·20 ms, timestamp + 160 each, across the prompt boundary;
        // sequence numbers wrap.
        assert_eq!(packet.at, t0 + ms(20 * n as u64));
        assert_eq!(
            packet.timestamp,
            4_000_000_000u32.wrapping_add(160 * n as u32)
        );
        assert_eq!(packet.sequence, 65534u16.wrapping_add(n as u16));
        assert_eq!(packet.marker, n == 0);
        assert_eq!(packet.payload_type, 0);
    }
    let audio: Vec<u8> = packets.iter().flat_map(|p| p.payload.clone()).collect();
    assert_eq!(audio, [first.ulaw.clone(), second.ulaw.clone()].concat());
    assert_eq!(player.poll_event(), None);

    // A second play a second after the last frame was due: the marker again, the sequence
    // runs on, the timestamp has advanced by the pause.
    let last = packets.last().unwrap().clone();
    let t1 = last.at + ms(1000);
    player.play(vec![second.clone()], false, 8, t1);
    let (again, finished) = run(&mut player, t1 + ms(10_000));
    assert!(finished);
    assert_eq!(again.len(), 2);
    assert!(again[0].marker && !again[1].marker);
    assert_eq!(again[0].at, t1);
    assert_eq!(again[1].at, t1 + ms(20));
    assert_eq!(again[0].sequence, last.sequence.wrapping_add(1));
    assert_eq!(again[0].timestamp, last.timestamp.wrapping_add(8000));
    assert_eq!(again[1].timestamp, last.timestamp.wrapping_add(8160));
    assert_eq!(again[0].payload_type, 8);
    assert_eq!(
        [again[0].payload.clone(), again[1].payload.clone()].concat(),
        second.alaw
    );
}

#[test]
fn the_payload_decodes_back_to_the_prompts_samples_in_both_laws() {
    let t0 = Instant::now();
    let samples: Vec<i16> = (0..800)
        .map(|i| (12000.0 * (i as f32 * 0.07).sin()) as i16)
        .collect();
    let prompt = Arc::new(Prompt::from_samples("sine", &samples));
    for (payload_type, decode) in [(0u8, decode_ulaw as fn(u8) -> i16), (8, decode_alaw)] {
        let mut player = Player::new(SSRC, 0, 0);
        player.play(vec![prompt.clone()], false, payload_type, t0);
        let (packets, _) = run(&mut player, t0 + ms(1000));
        let decoded: Vec<i16> = packets
            .iter()
            .flat_map(|p| p.payload.iter().map(|&c| decode(c)))
            .collect();
        assert_eq!(decoded.len(), 800);
        for (&d, &s) in decoded.iter().zip(&samples) {
            let error = (i32::from(d) - i32::from(s)).abs();
            assert!(error <= i32::from(s).abs() / 32 + 16, "{d} for {s}");
        }
    }
}

#[test]
fn a_late_wake_up_sends_the_overdue_frames_at_once_keeping_the_schedule() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    player.play(vec![prompt("p", 10, 1)], false, 0, t0);
    let first = read(t0, player.poll_transmit(t0).unwrap());
    assert!(player.poll_transmit(t0).is_none());
    assert_eq!(player.poll_timeout(), Some(t0 + ms(20)));
    // Woken 50 ms late: frames due at 20 and 40 (late) and 60 (due later) ...
    let now = t0 + ms(70);
    let mut burst = vec![first];
    while let Some(bytes) = player.poll_transmit(now) {
        burst.push(read(now, bytes));
    }
    assert_eq!(burst.len(), 4);
    assert_continuous(&burst);
    let timestamps: Vec<u32> = burst.iter().map(|p| p.timestamp).collect();
    assert_eq!(timestamps, [0, 160, 320, 480]);
    // ... and the next is still due on the original schedule.
    assert_eq!(player.poll_timeout(), Some(t0 + ms(80)));
}

#[test]
fn a_stall_longer_than_the_burst_moves_the_schedule_and_counts_as_a_pause() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    player.play(vec![prompt("p", 10, 1)], false, 0, t0);
    player.poll_transmit(t0).unwrap();
    // Frame 1 was due at 20 ms; at 500 ms it is 480 ms late, more than MAX_LATE_FRAMES.
    let now = t0 + ms(500);
    let late = read(now, player.poll_transmit(now).unwrap());
    assert!(player.poll_transmit(now).is_none(), "no burst");
    // Its timestamp is that of 500 ms after the start: the receiver's clock stays right.
    assert_eq!(late.timestamp, 4000);
    assert!(!late.marker);
    assert_eq!(late.sequence, 1);
    assert_eq!(player.poll_timeout(), Some(now + ms(20)));
    let next = read(now + ms(20), player.poll_transmit(now + ms(20)).unwrap());
    assert_eq!(next.timestamp, 4160);
    // No audio was skipped: frame 2 of the prompt.
    assert_eq!(next.payload, &player_prompt_frame(&player, 2)[..]);
}

fn player_prompt_frame(player: &Player, frame: usize) -> Vec<u8> {
    let play = player.play.as_ref().unwrap();
    play.prompts[0].ulaw[frame * FRAME_SAMPLES..(frame + 1) * FRAME_SAMPLES].to_vec()
}

#[test]
fn a_repeating_play_loops_until_stopped_and_never_reports_finished() {
    let t0 = Instant::now();
    let tone = prompt("tone", 2, 3);
    let mut player = Player::new(SSRC, 100, 0);
    player.play(
        vec![tone.clone(), Arc::new(Prompt::silence(20))],
        true,
        0,
        t0,
    );
    let (packets, finished) = run(&mut player, t0 + ms(20 * 8));
    assert!(!finished);
    assert_eq!(packets.len(), 9);
    assert_continuous(&packets);
    assert_eq!(packets.iter().filter(|p| p.marker).count(), 1);
    // tone, tone, silence, tone, tone, silence, ...
    assert_eq!(packets[3].payload, packets[0].payload);
    assert_eq!(packets[2].payload, vec![crate::prompt::ULAW_SILENCE; 160]);
    assert_eq!(packets[8].timestamp, 8 * 160);
    player.stop();
    assert!(!player.is_playing());
    assert_eq!(player.poll_timeout(), None);
    assert!(player.poll_transmit(t0 + ms(10_000)).is_none());
    assert_eq!(player.poll_event(), None);
}

#[test]
fn a_new_play_replaces_the_current_one_no_sooner_than_a_frame_after_the_last_packet() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    player.play(vec![prompt("long", 50, 1)], false, 0, t0);
    let first = read(t0, player.poll_transmit(t0).unwrap());
    // Replaced 5 ms later: the new play's first frame waits for 20 ms after the last one.
    let short = prompt("short", 1, 2);
    player.play(vec![short.clone()], false, 0, t0 + ms(5));
    assert_eq!(player.poll_timeout(), Some(t0 + ms(20)));
    let (packets, finished) = run(&mut player, t0 + ms(1000));
    assert!(finished);
    assert_eq!(packets.len(), 1);
    assert!(packets[0].marker);
    assert_eq!(packets[0].sequence, first.sequence + 1);
    assert_eq!(packets[0].timestamp, 160);
    assert_eq!(packets[0].payload, short.ulaw);
}

#[test]
fn a_play_without_audio_finishes_at_once_unless_it_repeats() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    player.play(vec![], false, 0, t0);
    assert_eq!(player.poll_event(), Some(PlayerEvent::Finished));
    assert_eq!(player.poll_event(), None);
    player.play(vec![Arc::new(Prompt::silence(0))], true, 0, t0);
    assert!(!player.is_playing());
    assert_eq!(player.poll_event(), None);
    // Empty prompts among others are skipped.
    player.play(
        vec![
            Arc::new(Prompt::silence(0)),
            prompt("p", 1, 1),
            Arc::new(Prompt::silence(0)),
        ],
        false,
        0,
        t0,
    );
    let (packets, finished) = run(&mut player, t0 + ms(1000));
    assert_eq!(packets.len(), 1);
    assert!(finished);
}

#[test]
fn stopping_reports_nothing_and_the_next_play_starts_with_the_marker() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    player.play(vec![prompt("p", 5, 1)], false, 0, t0);
    let (packets, _) = run(&mut player, t0 + ms(20));
    assert_eq!(packets.len(), 2);
    player.stop();
    assert_eq!(player.poll_event(), None);
    player.play(vec![prompt("q", 1, 2)], false, 0, t0 + ms(100));
    let (again, finished) = run(&mut player, t0 + ms(1000));
    assert!(finished);
    assert!(again[0].marker);
    assert_eq!(again[0].sequence, 2);
    // 80 ms after the last frame (due at 20 ms): 640 samples later.
    assert_eq!(again[0].timestamp, 160 + 640);
}
