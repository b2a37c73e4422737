//! Prompts: audio crossbar plays to callers (menus, announcements, ringback), held as 8 kHz
//! mono samples and encoded once into both G.711 laws (RFC 3551 §4.5.14: PCMU is payload type
//! 0, PCMA 8), so playing one costs a copy per 20 ms frame.

/// Samples per 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// A prompt ready to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What it is called in logs (`en/greeting`).
    pub name: String,
    /// µ-law bytes, one per sample, padded with silence to whole 20 ms frames.
    pub ulaw: Vec<u8>,
    /// A-law bytes, the same samples.
    pub alaw: Vec<u8>,
}

impl Prompt {
    /// The encoded audio for `payload_type` (0 PCMU, 8 PCMA; anything else: PCMU).
    pub fn encoded(&self, payload_type: u8) -> &[u8] {
        if payload_type == 8 {
            &self.alaw
        } else {
            &self.ulaw
        }
    }

    /// How many 20 ms frames it lasts.
    pub fn frames(&self) -> usize {
        self.ulaw.len() / FRAME_SAMPLES
    }
}
