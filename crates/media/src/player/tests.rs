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

// Music on hold.

/// The frames of `track` in `law` (0 PCMU, 8 PCMA), in order.
fn frames_of(track: &Prompt, law: u8) -> Vec<Vec<u8>> {
    track
        .encoded(law)
        .chunks(FRAME_SAMPLES)
        .map(<[u8]>::to_vec)
        .collect()
}

/// Every packet follows the one before by one sequence number, 160 timestamp units and
/// 20 ms: one stream with no gap.
fn assert_gapless(packets: &[Sent]) {
    assert_continuous(packets);
    for pair in packets.windows(2) {
        assert_eq!(pair[1].timestamp, pair[0].timestamp.wrapping_add(160));
        assert_eq!(pair[1].at, pair[0].at + FRAME);
    }
}

#[test]
fn music_loops_whenever_nothing_plays_as_one_stream() {
    let t0 = Instant::now();
    let music = prompt("moh", 3, 4);
    let mut player = Player::new(SSRC, 10, 1000);
    player.set_music(Some(music.clone()), 0, t0);
    assert!(player.has_music() && !player.is_playing());
    assert_eq!(player.poll_timeout(), Some(t0));

    let (packets, finished) = run(&mut player, t0 + ms(20 * 7));
    assert!(!finished, "music never finishes");
    assert_eq!(packets.len(), 8);
    assert_gapless(&packets);
    assert_eq!(packets[0].at, t0);
    assert_eq!(packets[0].timestamp, 1000);
    let frames = frames_of(&music, 0);
    for (n, packet) in packets.iter().enumerate() {
        assert_eq!(packet.payload, frames[n % 3], "frame {n}: looped");
        assert_eq!(packet.marker, n == 0);
    }
    assert_eq!(player.poll_timeout(), Some(t0 + ms(160)));
}

#[test]
fn a_prompt_interrupts_the_music_which_then_resumes_where_it_stopped() {
    let t0 = Instant::now();
    let music = prompt("moh", 5, 4);
    let announcement = prompt("position", 2, 5);
    let mut player = Player::new(SSRC, 0, 0);
    // Music in PCMA, the announcement in PCMU: each packet says which.
    player.set_music(Some(music.clone()), 8, t0);
    let (before, _) = run(&mut player, t0 + ms(20 * 6));
    assert_eq!(before.len(), 7, "music frames 0-4, then 0 and 1 again");

    // The announcement, 10 ms after the last music frame went out.
    player.play(vec![announcement.clone()], false, 0, t0 + ms(130));
    assert!(player.is_playing() && player.has_music());
    assert_eq!(
        player.poll_timeout(),
        Some(t0 + ms(140)),
        "on the music's schedule"
    );
    let mut after = Vec::new();
    let mut finished_after = None;
    while let Some(due) = player.poll_timeout() {
        if due > t0 + ms(240) {
            break;
        }
        while let Some(bytes) = player.poll_transmit(due) {
            after.push(read(due, bytes));
        }
        if player.poll_event() == Some(PlayerEvent::Finished) {
            finished_after = Some(after.len());
        }
    }
    assert_eq!(
        finished_after,
        Some(2),
        "finished once, after the announcement's frames"
    );
    assert!(!player.is_playing());

    let stream: Vec<Sent> = before.iter().chain(&after).cloned().collect();
    assert_gapless(&stream);
    let music_frames = frames_of(&music, 8);
    let announced = frames_of(&announcement, 0);
    let heard: Vec<(u8, Vec<u8>)> = after
        .iter()
        .map(|p| (p.payload_type, p.payload.clone()))
        .collect();
    assert_eq!(
        heard,
        [
            (0, announced[0].clone()),
            (0, announced[1].clone()),
            // Music frame 2: the one after the last heard, not the start.
            (8, music_frames[2].clone()),
            (8, music_frames[3].clone()),
            (8, music_frames[4].clone()),
            (8, music_frames[0].clone()),
        ]
    );
    let markers: Vec<bool> = stream.iter().map(|p| p.marker).collect();
    let mut expected = vec![false; stream.len()];
    // The music's start, the announcement's, the music's return.
    for at in [0, 7, 9] {
        expected[at] = true;
    }
    assert_eq!(markers, expected);
}

#[test]
fn music_set_during_a_play_waits_for_its_end_and_a_repeating_play_keeps_it_waiting() {
    let t0 = Instant::now();
    let (music, greeting, tone) = (prompt("moh", 4, 4), prompt("g", 2, 5), prompt("t", 1, 6));
    let mut player = Player::new(SSRC, 0, 0);
    player.play(vec![greeting.clone()], false, 0, t0);
    player.poll_transmit(t0).unwrap();
    player.set_music(Some(music.clone()), 0, t0 + ms(5));
    assert_eq!(player.poll_timeout(), Some(t0 + ms(20)), "the play goes on");
    let (packets, finished) = run(&mut player, t0 + ms(60));
    assert!(finished);
    let payloads: Vec<Vec<u8>> = packets.iter().map(|p| p.payload.clone()).collect();
    let music_frames = frames_of(&music, 0);
    assert_eq!(
        payloads,
        [
            frames_of(&greeting, 0)[1].clone(),
            music_frames[0].clone(),
            music_frames[1].clone()
        ]
    );
    assert!(packets[1].marker);

    // A repeating play sounds until something else is asked for; the music waits.
    player.play(vec![tone.clone()], true, 0, t0 + ms(65));
    let (looped, finished) = run(&mut player, t0 + ms(400));
    assert!(!finished);
    assert!(looped.iter().all(|p| p.payload == tone.ulaw));
    assert!(player.has_music());
    player.stop();
    assert!(!player.has_music() && !player.is_playing());
    assert_eq!(player.poll_timeout(), None);
}

#[test]
fn the_same_track_keeps_its_place_another_starts_from_the_top_and_none_silences() {
    let t0 = Instant::now();
    let (first, second) = (prompt("moh/a", 5, 4), prompt("moh/b", 5, 7));
    let mut player = Player::new(SSRC, 0, 0);
    player.set_music(Some(first.clone()), 0, t0);
    let (mut packets, _) = run(&mut player, t0 + ms(40));
    assert_eq!(packets.len(), 3);
    // The same track again (a queue re-sending its music): nothing changes.
    player.set_music(Some(first.clone()), 0, t0 + ms(50));
    packets.extend(run(&mut player, t0 + ms(60)).0);
    // Another track: from its first frame, with the marker, on the running schedule.
    player.set_music(Some(second.clone()), 0, t0 + ms(70));
    packets.extend(run(&mut player, t0 + ms(100)).0);
    assert_gapless(&packets);
    let payloads: Vec<Vec<u8>> = packets.iter().map(|p| p.payload.clone()).collect();
    let (a, b) = (frames_of(&first, 0), frames_of(&second, 0));
    assert_eq!(
        payloads,
        [
            a[0].clone(),
            a[1].clone(),
            a[2].clone(),
            a[3].clone(),
            b[0].clone(),
            b[1].clone()
        ]
    );
    let markers: Vec<bool> = packets.iter().map(|p| p.marker).collect();
    assert_eq!(markers, [true, false, false, false, true, false]);

    // No music: silence, and a later track starts after the pause, from its top.
    player.set_music(None, 0, t0 + ms(110));
    assert_eq!(player.poll_timeout(), None);
    player.set_music(Some(second.clone()), 0, t0 + ms(1100));
    let (again, _) = run(&mut player, t0 + ms(1100));
    assert_eq!(again.len(), 1);
    assert!(again[0].marker);
    assert_eq!(again[0].payload, b[0]);
    assert_eq!(again[0].sequence, packets[5].sequence.wrapping_add(1));
    // 1000 ms after the last frame was due (100 ms): 8000 samples.
    assert_eq!(again[0].timestamp, packets[5].timestamp.wrapping_add(8000));
    // A track without audio is no music.
    player.set_music(Some(Arc::new(Prompt::silence(0))), 0, t0 + ms(1110));
    assert!(!player.has_music());
    assert_eq!(player.poll_timeout(), None);
}

#[test]
fn a_play_without_audio_finishes_at_once_and_the_music_sounds_on() {
    let t0 = Instant::now();
    let music = prompt("moh", 4, 4);
    let mut player = Player::new(SSRC, 0, 0);
    player.set_music(Some(music.clone()), 0, t0);
    let (mut packets, _) = run(&mut player, t0 + ms(20));
    player.play(vec![], false, 0, t0 + ms(30));
    assert_eq!(player.poll_event(), Some(PlayerEvent::Finished));
    assert_eq!(player.poll_timeout(), Some(t0 + ms(40)));
    packets.extend(run(&mut player, t0 + ms(40)).0);
    assert_gapless(&packets);
    assert_eq!(packets[2].payload, frames_of(&music, 0)[2]);
    assert!(!packets[2].marker, "the music was never interrupted");
}

#[test]
fn stop_silences_the_play_and_the_music_and_forgets_the_music() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    player.set_music(Some(prompt("moh", 4, 4)), 0, t0);
    player.play(vec![prompt("p", 3, 5)], false, 0, t0);
    run(&mut player, t0 + ms(20));
    player.stop();
    assert_eq!(player.poll_timeout(), None);
    assert_eq!(player.poll_event(), None);
    // A later play ends in silence: no music comes back.
    player.play(vec![prompt("q", 1, 6)], false, 0, t0 + ms(100));
    let (packets, finished) = run(&mut player, t0 + ms(1000));
    assert!(finished);
    assert_eq!(packets.len(), 1);
    assert_eq!(player.poll_timeout(), None);
}

#[test]
fn a_play_ordered_while_the_music_is_overdue_takes_the_overdue_slot_without_a_timestamp_jump() {
    let t0 = Instant::now();
    let music = prompt("moh", 5, 4);
    let mut player = Player::new(SSRC, 0, 0);
    player.set_music(Some(music), 0, t0);
    let (before, _) = run(&mut player, t0 + ms(40));
    assert_eq!(before.len(), 3, "music frames at 0, 20 and 40 ms");
    // The task is late: at 67 ms the music's frame of 60 ms has not gone out, and the
    // announcement is ordered then.
    let announcement = prompt("position", 2, 5);
    player.play(vec![announcement.clone()], false, 0, t0 + ms(67));
    assert_eq!(player.poll_timeout(), Some(t0 + ms(60)), "the overdue slot");
    let first = read(t0 + ms(67), player.poll_transmit(t0 + ms(67)).unwrap());
    assert!(player.poll_transmit(t0 + ms(67)).is_none());
    assert!(first.marker);
    assert_eq!(first.payload, frames_of(&announcement, 0)[0]);
    assert_eq!(first.timestamp, before[2].timestamp + 160, "no jump");
    assert_eq!(first.sequence, before[2].sequence + 1);
    // And on from there on the grid: the next frame is due at 80 ms.
    assert_eq!(player.poll_timeout(), Some(t0 + ms(80)));
}

// Phases.

#[test]
fn a_phased_stream_starts_on_its_grid_and_keeps_to_it_across_a_silence() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    // The grid: t0 + 7 ms + n·20 ms.
    player.set_phase(t0 + ms(7));
    player.play(vec![prompt("p", 3, 1)], false, 0, t0 + ms(10));
    // Put off from 10 ms to the grid's next instant, 27 ms.
    assert_eq!(player.poll_timeout(), Some(t0 + ms(27)));
    assert!(player.poll_transmit(t0 + ms(26)).is_none());
    let (first, finished) = run(&mut player, t0 + ms(1000));
    assert!(finished);
    let times: Vec<Instant> = first.iter().map(|p| p.at).collect();
    assert_eq!(times, [t0 + ms(27), t0 + ms(47), t0 + ms(67)]);
    assert_eq!(first[0].timestamp, 0);
    assert!(first[0].marker);

    // A play after a silence, ordered between two instants of the grid, waits for the next.
    player.play(vec![prompt("q", 2, 2)], false, 0, t0 + ms(200));
    assert_eq!(player.poll_timeout(), Some(t0 + ms(207)));
    let (again, _) = run(&mut player, t0 + ms(1000));
    assert_continuous(&[first[2].clone(), again[0].clone()]);
    assert!(again[0].marker);
    // 140 ms after the last frame (due at 67 ms): a whole number of frames.
    assert_eq!(again[0].timestamp, 320 + 140 * 8);
    assert_eq!(again[1].at, t0 + ms(227));

    // Ordered exactly on an instant of the grid, it is not put off.
    player.play(vec![prompt("r", 1, 3)], false, 0, t0 + ms(407));
    assert_eq!(player.poll_timeout(), Some(t0 + ms(407)));
}

#[test]
fn a_phase_before_or_after_now_gives_the_same_grid() {
    let t0 = Instant::now();
    let mut early = Player::new(SSRC, 0, 0);
    early.set_phase(t0 + ms(3));
    let mut late = Player::new(SSRC, 0, 0);
    late.set_phase(t0 + ms(3) + ms(20 * 50));
    for player in [&mut early, &mut late] {
        player.set_music(Some(prompt("m", 4, 1)), 0, t0 + ms(100));
        assert_eq!(player.poll_timeout(), Some(t0 + ms(103)));
    }
}

#[test]
fn a_phased_stream_moved_by_a_stall_lands_back_on_its_grid() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    player.set_phase(t0);
    player.play(vec![prompt("p", 10, 1)], false, 0, t0);
    player.poll_transmit(t0).unwrap();
    // Frame 1 was due at 20 ms; at 509 ms it is far behind: it goes now, counted as due at
    // the grid's last instant, 500 ms, and the next is due on the grid.
    let now = t0 + ms(509);
    let late = read(now, player.poll_transmit(now).unwrap());
    assert!(player.poll_transmit(now).is_none(), "no burst");
    assert_eq!(late.timestamp, 4000);
    assert_eq!(late.sequence, 1);
    assert_eq!(player.poll_timeout(), Some(t0 + ms(520)));
    let next = read(t0 + ms(520), player.poll_transmit(t0 + ms(520)).unwrap());
    assert_eq!(next.timestamp, 4160);
}

#[test]
fn a_stream_sounding_when_given_a_phase_keeps_its_schedule_until_it_starts_again() {
    let t0 = Instant::now();
    let mut player = Player::new(SSRC, 0, 0);
    player.set_music(Some(prompt("m", 4, 1)), 0, t0);
    player.poll_transmit(t0).unwrap();
    player.set_phase(t0 + ms(5));
    assert_eq!(player.poll_timeout(), Some(t0 + ms(20)));
    // An announcement takes the music's next slot, not the grid's.
    player.play(vec![prompt("p", 1, 2)], false, 0, t0 + ms(10));
    assert_eq!(player.poll_timeout(), Some(t0 + ms(20)));
}
