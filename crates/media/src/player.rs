//! The prompt player of crossbar's own media endpoint, sans-IO: turns a list of [`Prompt`]s
//! into RTP packets (RFC 3550 §5.1) paced every 20 ms, over background music if there is
//! some.
//!
//! # The stream
//!
//! One player is one RTP source for the whole life of a relay: its SSRC never changes, its
//! sequence numbers go up by one per packet and its timestamps by 160 per 20 ms frame
//! (8 kHz, RFC 3551 §4.5.14), across the prompts of a play, across plays and across the
//! music. Between plays (after [`Player::stop`], or a play that ended with no music to go
//! back to) the timestamp advances by the time that passed, so the receiver's clock stays
//! right; the first packet of each play, and of the music each time it starts or resumes,
//! has the marker bit set (RFC 3551 §4.1: where a receiver may resize its jitter buffer). A
//! new play starts at once, but never sooner than 20 ms after the last packet, so packets on
//! the wire are never closer than one frame. A play that replaces another, or interrupts the
//! music, takes the running stream's next frame slot, whenever the command arrives: its
//! timestamp is exactly one frame on from the last packet's.
//!
//! # Music
//!
//! [`Player::set_music`] gives the player one track of background music (music on hold). It
//! sounds, looped, whenever no play does: at once if nothing plays, else when the play ends.
//! A play interrupts it and the music remembers where it was: when a non-repeating play has
//! finished (reported as always), the music goes on from the frame after the last one heard,
//! on the play's schedule — no gap, no jump in the timestamps — rather than from its start.
//! So a queue's position announcements come and go over one piece of music that never
//! restarts. Setting the same track again (the same `Arc`) keeps its place; another track
//! starts from its beginning; `None` removes it. [`Player::stop`] stops both the play and the
//! music, and forgets the music.
//!
//! # Pacing
//!
//! A player may be given a phase ([`Player::set_phase`]): an instant its frames fall on,
//! modulo 20 ms. Every start of the stream (its first frame, and the first after a silence)
//! is then put off to the next instant of that grid — at most 19 ms — so a sender that
//! paces many players can give each its own share of the 20 ms cycle instead of sending
//! all frames of the callers who arrived together at once.
//!
//! Frame *n* of a play is due at `start + n·20 ms` — computed from the start, never from when
//! the previous packet went out, so the stream does not drift when the caller of
//! [`Player::poll_transmit`] wakes up late. A caller that wakes up late gets the overdue
//! frames back to back, up to [`MAX_LATE_FRAMES`] of them (60 ms, which a receiver's jitter
//! buffer absorbs). If it is further behind (its task stalled, or it held the player back
//! while the phone's address was unknown), the schedule moves: the overdue frame goes out now
//! and the rest follow 20 ms apart from there (on the phase's grid: from its instant just
//! before now), with the timestamp advanced by the stall as across a pause — audio is not skipped, and a burst never floods the phone.
//!
//! Building a packet copies 160 octets into a buffer the player owns: no allocation per
//! packet.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::prompt::{FRAME_SAMPLES, Prompt, SAMPLE_RATE};
use crate::rtp::RTP_HEADER_LEN;

/// One frame of audio: 20 ms.
pub const FRAME: Duration = Duration::from_millis(20);

/// Overdue frames sent back to back before the schedule is moved instead (see the module
/// documentation).
pub const MAX_LATE_FRAMES: u32 = 3;

/// Length of every packet the player sends: the RTP fixed header and one G.711 frame.
pub const PACKET_LEN: usize = RTP_HEADER_LEN + FRAME_SAMPLES;

/// What a player has to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerEvent {
    /// The last frame of a non-repeating play has been sent.
    Finished,
}

/// The play in progress.
#[derive(Debug, Clone)]
struct Play {
    prompts: Vec<Arc<Prompt>>,
    repeat: bool,
    payload_type: u8,
    /// Which frame of which prompt is next.
    prompt: usize,
    frame: usize,
}

impl Play {
    /// The first prompt from `from` on that has audio.
    fn audible_from(&self, from: usize) -> Option<usize> {
        (from..self.prompts.len()).find(|&i| self.prompts[i].frames() > 0)
    }
}

/// The background music (see the module documentation).
#[derive(Debug, Clone)]
struct Music {
    /// At least one frame long.
    track: Arc<Prompt>,
    payload_type: u8,
    /// The next frame of the track: where it goes on after a play.
    frame: usize,
}

/// When the stream's next frame is due, while it sounds.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    due: Instant,
    /// The next packet's RTP timestamp.
    timestamp: u32,
    /// The next packet starts a play or the music: it carries the marker bit.
    first: bool,
}

/// The last packet sent: when it was due and its timestamp.
#[derive(Debug, Clone, Copy)]
struct Sent {
    due: Instant,
    timestamp: u32,
}

/// Plays prompts, over looping music, as one RTP stream. See the module documentation.
#[derive(Debug, Clone)]
pub struct Player {
    ssrc: u32,
    /// Sequence number of the next packet.
    sequence: u16,
    /// Timestamp of the first packet ever, until there is one.
    first_timestamp: u32,
    last: Option<Sent>,
    /// An instant on the grid every start of the stream falls on (see the module
    /// documentation); `None`: a start is due at once.
    phase: Option<Instant>,
    /// `Some` exactly while a play or the music sounds.
    schedule: Option<Schedule>,
    play: Option<Play>,
    music: Option<Music>,
    finished: bool,
    packet: [u8; PACKET_LEN],
}

impl Player {
    /// A player sending as `ssrc`, its first packet numbered `sequence` with timestamp
    /// `timestamp` (both should be random, RFC 3550 §5.1).
    pub fn new(ssrc: u32, sequence: u16, timestamp: u32) -> Player {
        Player {
            ssrc,
            sequence,
            first_timestamp: timestamp,
            last: None,
            phase: None,
            schedule: None,
            play: None,
            music: None,
            finished: false,
            packet: [0; PACKET_LEN],
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Puts every later start of the stream on the grid of `phase` (`phase` + n·20 ms): the
    /// first frame of a start is due at the first instant of that grid from when it would
    /// have been due (see the module documentation). A stream sounding now keeps its
    /// schedule until it next starts.
    pub fn set_phase(&mut self, phase: Instant) {
        self.phase = Some(phase);
    }

    /// The first instant of the phase's grid at or after `at` (`at` itself without a phase).
    fn on_phase(&self, at: Instant) -> Instant {
        self.phase
            .map_or(at, |phase| on_grid(phase, at, Rounding::Up))
    }

    /// A new start of the stream at `now`: the first frame is due then, or 20 ms after the
    /// last packet sent if that is later, put off to the phase's grid, with the timestamp
    /// advanced by the time between.
    fn start(&self, now: Instant) -> Schedule {
        let (due, timestamp) = match self.last {
            None => (self.on_phase(now), self.first_timestamp),
            Some(last) => {
                let due = self.on_phase(now.max(last.due + FRAME));
                (due, last.timestamp.wrapping_add(samples(due - last.due)))
            }
        };
        Schedule {
            due,
            timestamp,
            first: true,
        }
    }

    /// Plays `prompts` one after the other (from the first again while `repeat`) as RTP of
    /// `payload_type` (0 PCMU, 8 PCMA), replacing what is playing and interrupting the music,
    /// which keeps its place (see the module documentation). The first frame is due at `now`
    /// (or 20 ms after the last packet sent, if that is later). A play with no audio at all
    /// ends at once: reported [`PlayerEvent::Finished`] unless it repeats; the music, if
    /// any, sounds on.
    pub fn play(
        &mut self,
        prompts: Vec<Arc<Prompt>>,
        repeat: bool,
        payload_type: u8,
        now: Instant,
    ) {
        let mut play = Play {
            prompts,
            repeat,
            payload_type: payload_type & 0x7f,
            prompt: 0,
            frame: 0,
        };
        self.finished = false;
        match play.audible_from(0) {
            Some(prompt) => {
                play.prompt = prompt;
                self.play = Some(play);
                self.schedule = Some(match self.schedule {
                    // The stream sounds: the play takes its next slot, even when that slot
                    // is overdue (the command came while its caller was late), so the
                    // timestamps run on by exactly one frame; a new start would count the
                    // lateness as a pause.
                    Some(running) => Schedule {
                        first: true,
                        ..running
                    },
                    None => self.start(now),
                });
            }
            None => {
                self.finished = !repeat;
                if self.play.take().is_some() {
                    self.after_play();
                }
            }
        }
    }

    /// Sets the background music: `track`, looped, as RTP of `payload_type`, whenever no
    /// play sounds (see the module documentation). `None`, or a track without audio, removes
    /// it. The same track again keeps its place; another starts from its first frame — at
    /// `now` (or 20 ms after the last packet) if nothing sounded, else on the running
    /// schedule.
    pub fn set_music(&mut self, track: Option<Arc<Prompt>>, payload_type: u8, now: Instant) {
        let payload_type = payload_type & 0x7f;
        let Some(track) = track.filter(|track| track.frames() > 0) else {
            self.music = None;
            if self.play.is_none() {
                self.schedule = None;
            }
            return;
        };
        if let Some(music) = self.music.as_mut()
            && Arc::ptr_eq(&music.track, &track)
        {
            music.payload_type = payload_type;
            return;
        }
        self.music = Some(Music {
            track,
            payload_type,
            frame: 0,
        });
        if self.play.is_none() {
            match self.schedule.as_mut() {
                // Another track in place of the one sounding.
                Some(schedule) => schedule.first = true,
                None => self.schedule = Some(self.start(now)),
            }
        }
    }

    /// A play ended or was taken away: the music goes on where it was, on the same schedule,
    /// or the stream falls silent.
    fn after_play(&mut self) {
        match (self.music.is_some(), self.schedule.as_mut()) {
            (true, Some(schedule)) => schedule.first = true,
            (true, None) => {}
            (false, _) => self.schedule = None,
        }
    }

    /// Stops playing and the music, and forgets the music; nothing is reported. The next
    /// play starts with the marker bit.
    pub fn stop(&mut self) {
        self.play = None;
        self.music = None;
        self.schedule = None;
        self.finished = false;
    }

    /// Whether a play (prompts, not the music) is in progress.
    pub fn is_playing(&self) -> bool {
        self.play.is_some()
    }

    /// Whether background music is set (sounding now, or waiting for a play to end).
    pub fn has_music(&self) -> bool {
        self.music.is_some()
    }

    /// When the next frame is due; `None` when neither a play nor the music sounds.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.schedule.map(|schedule| schedule.due)
    }

    /// The next RTP packet, if a frame is due at `now`; call again until `None`. The bytes
    /// are valid until the next call.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<&[u8]> {
        let schedule = self.schedule.as_mut()?;
        if schedule.due > now {
            return None;
        }
        let late = now - schedule.due;
        if late > FRAME * MAX_LATE_FRAMES {
            // Stalled: this frame goes now (due at the phase's last instant, so the next ones
            // are on its grid again), the timestamp counts the stall as a pause.
            let due = self
                .phase
                .map_or(now, |phase| on_grid(phase, now, Rounding::Down));
            schedule.timestamp = schedule.timestamp.wrapping_add(samples(due - schedule.due));
            schedule.due = due;
        }
        let mut play_ended = false;
        let (audio, payload_type) = if let Some(play) = self.play.as_mut() {
            let prompt = &play.prompts[play.prompt];
            let offset = play.frame * FRAME_SAMPLES;
            let audio = &prompt.encoded(play.payload_type)[offset..offset + FRAME_SAMPLES];
            play.frame += 1;
            if play.frame == prompt.frames() {
                play.frame = 0;
                match play.audible_from(play.prompt + 1) {
                    Some(next) => play.prompt = next,
                    None if play.repeat => {
                        play.prompt = play.audible_from(0).expect(
                            "a play only starts with an audible prompt, and prompts do not \
                             change",
                        );
                    }
                    None => play_ended = true,
                }
            }
            (audio, play.payload_type)
        } else {
            let music = self
                .music
                .as_mut()
                .expect("the stream sounds only while a play or the music is set");
            let offset = music.frame * FRAME_SAMPLES;
            let audio = &music.track.encoded(music.payload_type)[offset..offset + FRAME_SAMPLES];
            music.frame = (music.frame + 1) % music.track.frames();
            (audio, music.payload_type)
        };

        // RFC 3550 §5.1: V=2, no padding, extension or CSRC; marker, payload type,
        // sequence number, timestamp, SSRC.
        let packet = &mut self.packet;
        packet[0] = 0x80;
        packet[1] = (u8::from(schedule.first) << 7) | payload_type;
        packet[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        packet[4..8].copy_from_slice(&schedule.timestamp.to_be_bytes());
        packet[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        packet[RTP_HEADER_LEN..].copy_from_slice(audio);

        self.last = Some(Sent {
            due: schedule.due,
            timestamp: schedule.timestamp,
        });
        self.sequence = self.sequence.wrapping_add(1);
        schedule.first = false;
        schedule.due += FRAME;
        schedule.timestamp = schedule.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        if play_ended {
            self.play = None;
            self.finished = true;
            self.after_play();
        }
        Some(&self.packet)
    }

    /// [`PlayerEvent::Finished`] once after the last frame of a non-repeating play went out.
    pub fn poll_event(&mut self) -> Option<PlayerEvent> {
        std::mem::take(&mut self.finished).then_some(PlayerEvent::Finished)
    }
}

/// Which way [`on_grid`] rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rounding {
    /// To the first instant of the grid at or after the given one.
    Up,
    /// To the last instant of the grid at or before it.
    Down,
}

/// The instant of the grid `phase` + n·[`FRAME`] (n of either sign) nearest to `at` on the
/// side `rounding` says; `at` itself if that instant is not representable.
fn on_grid(phase: Instant, at: Instant, rounding: Rounding) -> Instant {
    let frame = FRAME.as_nanos();
    let frames = |nanos: u128| Duration::from_nanos((nanos * frame) as u64);
    if at >= phase {
        let since = (at - phase).as_nanos();
        let n = match rounding {
            Rounding::Up => since.div_ceil(frame),
            Rounding::Down => since / frame,
        };
        phase.checked_add(frames(n)).unwrap_or(at)
    } else {
        let before = (phase - at).as_nanos();
        let n = match rounding {
            Rounding::Up => before / frame,
            Rounding::Down => before.div_ceil(frame),
        };
        phase.checked_sub(frames(n)).unwrap_or(at)
    }
}

/// RTP timestamp units (8 kHz samples) in `elapsed`, wrapping like the timestamp itself.
fn samples(elapsed: Duration) -> u32 {
    (elapsed.as_nanos() * u128::from(SAMPLE_RATE) / 1_000_000_000) as u32
}

#[cfg(test)]
mod tests;
