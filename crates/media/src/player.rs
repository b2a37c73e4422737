//! The prompt player of crossbar's own media endpoint, sans-IO: turns a list of [`Prompt`]s
//! into RTP packets (RFC 3550 §5.1) paced every 20 ms.
//!
//! # The stream
//!
//! One player is one RTP source for the whole life of a relay: its SSRC never changes, its
//! sequence numbers go up by one per packet and its timestamps by 160 per 20 ms frame
//! (8 kHz, RFC 3551 §4.5.14), across the prompts of a play and across plays. Between plays
//! (after [`Player::stop`], or a play that ended) the timestamp advances by the time that
//! passed, so the receiver's clock stays right; the first packet of each play has the marker
//! bit set (RFC 3551 §4.1: the first packet after a silence, where a receiver may resize its
//! jitter buffer). A new play starts at once, but never sooner than 20 ms after the last
//! packet, so packets on the wire are never closer than one frame.
//!
//! # Pacing
//!
//! Frame *n* of a play is due at `start + n·20 ms` — computed from the start, never from when
//! the previous packet went out, so the stream does not drift when the caller of
//! [`Player::poll_transmit`] wakes up late. A caller that wakes up late gets the overdue
//! frames back to back, up to [`MAX_LATE_FRAMES`] of them (60 ms, which a receiver's jitter
//! buffer absorbs). If it is further behind (its task stalled), the schedule moves: the
//! overdue frame goes out now and the rest follow 20 ms apart from there, with the timestamp
//! advanced by the stall as across a pause — audio is not skipped, and a burst never floods
//! the phone.
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
    /// When the next frame is due, and its RTP timestamp.
    due: Instant,
    timestamp: u32,
    /// Which frame of which prompt is next.
    prompt: usize,
    frame: usize,
    /// The next packet is the play's first: it carries the marker bit.
    first: bool,
}

impl Play {
    /// The first prompt from `from` on that has audio.
    fn audible_from(&self, from: usize) -> Option<usize> {
        (from..self.prompts.len()).find(|&i| self.prompts[i].frames() > 0)
    }
}

/// The last packet sent: when it was due and its timestamp.
#[derive(Debug, Clone, Copy)]
struct Sent {
    due: Instant,
    timestamp: u32,
}

/// Plays prompts as one RTP stream. See the module documentation.
#[derive(Debug, Clone)]
pub struct Player {
    ssrc: u32,
    /// Sequence number of the next packet.
    sequence: u16,
    /// Timestamp of the first packet ever, until there is one.
    first_timestamp: u32,
    last: Option<Sent>,
    play: Option<Play>,
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
            play: None,
            finished: false,
            packet: [0; PACKET_LEN],
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Plays `prompts` one after the other (from the first again while `repeat`) as RTP of
    /// `payload_type` (0 PCMU, 8 PCMA), replacing what is playing. The first frame is due at
    /// `now` (or 20 ms after the last packet sent, if that is later). A play with no audio
    /// at all ends at once: reported [`PlayerEvent::Finished`] unless it repeats, in which
    /// case it is the same as [`Player::stop`].
    pub fn play(
        &mut self,
        prompts: Vec<Arc<Prompt>>,
        repeat: bool,
        payload_type: u8,
        now: Instant,
    ) {
        let (due, timestamp) = match self.last {
            None => (now, self.first_timestamp),
            Some(last) => {
                let due = now.max(last.due + FRAME);
                (due, last.timestamp.wrapping_add(samples(due - last.due)))
            }
        };
        let mut play = Play {
            prompts,
            repeat,
            payload_type: payload_type & 0x7f,
            due,
            timestamp,
            prompt: 0,
            frame: 0,
            first: true,
        };
        self.finished = false;
        match play.audible_from(0) {
            Some(prompt) => {
                play.prompt = prompt;
                self.play = Some(play);
            }
            None => {
                self.play = None;
                self.finished = !repeat;
            }
        }
    }

    /// Stops playing; nothing is reported. The next play starts with the marker bit.
    pub fn stop(&mut self) {
        self.play = None;
        self.finished = false;
    }

    pub fn is_playing(&self) -> bool {
        self.play.is_some()
    }

    /// When the next frame is due; `None` when not playing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.play.as_ref().map(|play| play.due)
    }

    /// The next RTP packet, if a frame is due at `now`; call again until `None`. The bytes
    /// are valid until the next call.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<&[u8]> {
        let play = self.play.as_mut()?;
        if play.due > now {
            return None;
        }
        let late = now - play.due;
        if late > FRAME * MAX_LATE_FRAMES {
            // Stalled: this frame goes now, the timestamp counts the stall as a pause.
            play.timestamp = play.timestamp.wrapping_add(samples(late));
            play.due = now;
        }
        let prompt = &play.prompts[play.prompt];
        let offset = play.frame * FRAME_SAMPLES;
        let audio = &prompt.encoded(play.payload_type)[offset..offset + FRAME_SAMPLES];

        // RFC 3550 §5.1: V=2, no padding, extension or CSRC; marker, payload type,
        // sequence number, timestamp, SSRC.
        let packet = &mut self.packet;
        packet[0] = 0x80;
        packet[1] = (u8::from(play.first) << 7) | play.payload_type;
        packet[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        packet[4..8].copy_from_slice(&play.timestamp.to_be_bytes());
        packet[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        packet[RTP_HEADER_LEN..].copy_from_slice(audio);

        self.last = Some(Sent {
            due: play.due,
            timestamp: play.timestamp,
        });
        self.sequence = self.sequence.wrapping_add(1);
        play.first = false;
        play.due += FRAME;
        play.timestamp = play.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        play.frame += 1;
        let mut ended = false;
        if play.frame == prompt.frames() {
            play.frame = 0;
            match play.audible_from(play.prompt + 1) {
                Some(next) => play.prompt = next,
                None if play.repeat => {
                    play.prompt = play.audible_from(0).expect(
                        "a play only starts with an audible prompt, and prompts do not change",
                    );
                }
                None => ended = true,
            }
        }
        if ended {
            self.play = None;
            self.finished = true;
        }
        Some(&self.packet)
    }

    /// [`PlayerEvent::Finished`] once after the last frame of a non-repeating play went out.
    pub fn poll_event(&mut self) -> Option<PlayerEvent> {
        std::mem::take(&mut self.finished).then_some(PlayerEvent::Finished)
    }
}

/// RTP timestamp units (8 kHz samples) in `elapsed`, wrapping like the timestamp itself.
fn samples(elapsed: Duration) -> u32 {
    (elapsed.as_nanos() * u128::from(SAMPLE_RATE) / 1_000_000_000) as u32
}

#[cfg(test)]
mod tests;
