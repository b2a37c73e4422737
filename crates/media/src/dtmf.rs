//! Keys the caller presses (DTMF), sans-IO: RFC 4733 telephone-events in the RTP stream, and
//! the SIP INFO bodies some phones send instead.
//!
//! # RFC 4733 events
//!
//! A key press is one *event*: a series of RTP packets of the negotiated `telephone-event`
//! payload type sharing one RTP timestamp (the event's start, §2.5.1.2), the first with the
//! marker bit, then updates with a growing duration, then the end (E bit) sent three times
//! (§2.5.1.4). [`KeyDetector`] reports the key on the first packet of an event it has not
//! seen — a new RTP timestamp — so it reports at once (not 100 ms later at the end) and
//! still reports an event whose first packets were lost; the updates and the repeated ends
//! of that event are not reported again. A packet whose timestamp is older than the event
//! already reported (reordered, or a late retransmission) is ignored; a new SSRC starts
//! afresh. Events 0–15 are the DTMF keys (§3.2: `0`–`9`, `*` = 10, `#` = 11, `A`–`D` =
//! 12–15); other events (flash, tones) are not keys.
//!
//! An event longer than the 16-bit duration field (about 8 s at 8 kHz) is split into
//! segments with new timestamps (§2.5.2.1) and would be reported again: a key is not held
//! that long in a menu.
//!
//! # SIP INFO
//!
//! [`key_from_info`] reads the two bodies in use: `application/dtmf-relay` (Cisco's
//! `Signal=5` / `Duration=160` lines) and `application/dtmf` (a body that is the key alone,
//! as in the RFC 2976-era drafts).

use crate::rtp::{RtpPacket, TelephoneEvent};

/// The key of an RFC 4733 §3.2 DTMF event code (0–15).
pub fn key_of_event(event: u8) -> Option<char> {
    Some(match event {
        0..=9 => char::from(b'0' + event),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + event - 12),
        _ => return None,
    })
}

/// The RFC 4733 §3.2 event code of a key (`0`–`9`, `*`, `#`, `A`–`D`, lower case too).
pub fn event_of_key(key: char) -> Option<u8> {
    Some(match key {
        '0'..='9' => key as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => key as u8 - b'A' + 12,
        'a'..='d' => key as u8 - b'a' + 12,
        _ => return None,
    })
}

/// Detects keys in one RTP stream's RFC 4733 events. See the module documentation.
#[derive(Debug, Clone)]
pub struct KeyDetector {
    payload_type: u8,
    /// SSRC and RTP timestamp of the last event reported.
    last: Option<(u32, u32)>,
}

impl KeyDetector {
    /// Detects events of `payload_type`, the one negotiated for `telephone-event/8000`.
    pub fn new(payload_type: u8) -> KeyDetector {
        KeyDetector {
            payload_type,
            last: None,
        }
    }

    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// Looks at one RTP packet; returns the key if it starts a new key event. Anything that
    /// is not RTP, or of another payload type, or not a key, is ignored.
    pub fn on_rtp(&mut self, packet: &[u8]) -> Option<char> {
        let rtp = RtpPacket::parse(packet).ok()?;
        if rtp.payload_type != self.payload_type {
            return None;
        }
        let event = TelephoneEvent::parse(rtp.payload)?;
        if let Some((ssrc, timestamp)) = self.last
            && ssrc == rtp.ssrc
            // Serial-number order (RFC 3550 §5.1 timestamps wrap): not newer is old news.
            && (rtp.timestamp.wrapping_sub(timestamp) as i32) <= 0
        {
            return None;
        }
        let key = key_of_event(event.event)?;
        self.last = Some((rtp.ssrc, rtp.timestamp));
        Some(key)
    }
}

/// Why a SIP INFO body carries no key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("content type {0:?} does not carry DTMF (application/dtmf-relay or application/dtmf)")]
    ContentType(String),
    #[error("the body is not text")]
    NotText,
    #[error("no `Signal=` line in the application/dtmf-relay body")]
    NoSignal,
    #[error("{0:?} is not a DTMF key")]
    NotAKey(String),
}

/// The key of a SIP INFO request's body, given its `Content-Type` (parameters and case are
/// ignored).
///
/// - `application/dtmf-relay`: lines `Signal=5` and `Duration=160` (`Key=value`, names
///   case-insensitive, spaces around `=` tolerated); the key is `Signal`, a key character or
///   the event code 10–15 some phones send for `*`, `#`, `A`–`D`.
/// - `application/dtmf`: the key alone (`5`, `#`), or its event code (`11`).
pub fn key_from_info(content_type: &str, body: &[u8]) -> Result<char, InfoError> {
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let text = std::str::from_utf8(body).map_err(|_| InfoError::NotText)?;
    match media_type.as_str() {
        "application/dtmf-relay" => {
            let signal = text
                .lines()
                .filter_map(|line| line.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("signal"))
                .map(|(_, value)| value.trim())
                .ok_or(InfoError::NoSignal)?;
            parse_key(signal)
        }
        "application/dtmf" => parse_key(text.trim()),
        _ => Err(InfoError::ContentType(content_type.to_owned())),
    }
}

/// A key written as itself (`5`, `*`, `a`) or as its event code (`10`–`15`).
fn parse_key(value: &str) -> Result<char, InfoError> {
    let not_a_key = || InfoError::NotAKey(value.to_owned());
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(key), None) => {
            let event = event_of_key(key).ok_or_else(not_a_key)?;
            key_of_event(event).ok_or_else(not_a_key)
        }
        _ => value
            .parse::<u8>()
            .ok()
            .and_then(key_of_event)
            .ok_or_else(not_a_key),
    }
}

#[cfg(test)]
mod tests;
