//! crossbar-media: RTP/RTCP relaying for the B2BUA, sans-IO.
//!
//! A call relayed by crossbar has a **relay** with two sides: side [`Side::A`] faces the
//! caller's phone, side [`Side::B`] the callee's. Each side has a local RTP port (even) and
//! RTCP port (RTP + 1) on crossbar's media address. What arrives on one side's RTP (RTCP)
//! port leaves through the other side's RTP (RTCP) port towards that side's remote address;
//! RFC 4733 telephone-events are RTP packets like any other and pass unchanged.
//!
//! This crate decides and counts; it owns no socket and reads no clock:
//! - [`PortPool`] hands out the local port pairs;
//! - the switch speaks to the media IO with [`MediaCommand`]s and hears back
//!   [`MediaEvent`]s;
//! - [`Relay`] is one relay's state machine: fed `(now, side, from, bytes)`, it answers where
//!   to send the packet, latches each side to its phone's real address (symmetric RTP,
//!   RFC 4961), counts [`RelayStats`] and detects media inactivity — with no allocation and no
//!   lock on the packet path;
//! - [`rtp`] holds the allocation-free packet views;
//! - crossbar's own media endpoint, which takes side B's place for menus
//!   ([`Relay::set_endpoint`]): [`Player`] sends [`Prompt`]s to the caller as paced RTP,
//!   over looping background music ([`MediaCommand::Music`], music on hold, resumed where
//!   it stopped after each prompt), [`KeyDetector`] hears the caller's keys (RFC 4733),
//!   [`dtmf::key_from_info`] reads them from SIP INFO bodies.

pub mod dtmf;
pub mod player;
mod ports;
pub mod prompt;
mod relay;
pub mod rtp;

use std::net::SocketAddr;
use std::sync::Arc;

pub use dtmf::KeyDetector;
pub use player::{FRAME, Player, PlayerEvent};
pub use ports::PortPool;
pub use prompt::{Prompt, PromptError};
pub use relay::{
    DEFAULT_RTP_TIMEOUT, FlowStats, RELATCH_PACKETS, RELATCH_SILENCE, Relay, RelayStats, Route,
};

/// Identifies a relay; chosen by the switch, unique among open relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelayId(pub u64);

impl std::fmt::Display for RelayId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "relay-{}", self.0)
    }
}

/// One side of a relay: `A` faces the caller's phone, `B` the callee's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    A,
    B,
}

impl Side {
    /// The side packets arriving on this one are sent out of.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// What to open for a call: both sides' local ports and what the SDP says about the phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayPlan {
    pub id: RelayId,
    pub a: SidePlan,
    pub b: SidePlan,
}

impl RelayPlan {
    pub fn side(&self, side: Side) -> &SidePlan {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }
}

/// One side of a [`RelayPlan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SidePlan {
    /// Even local RTP port from the [`PortPool`]; RTCP uses `local_rtp_port + 1`.
    pub local_rtp_port: u16,
    /// The phone's RTP address from its SDP (`c=` + `m=` port), if known yet. A hint: the
    /// relay latches to where the phone's packets really come from.
    pub remote_rtp: Option<SocketAddr>,
    /// The phone's RTCP address (`a=rtcp:`, RFC 3605), if given; otherwise RTP port + 1.
    pub remote_rtcp: Option<SocketAddr>,
}

/// What the switch asks of the media IO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaCommand {
    /// Bind the four sockets and start relaying. Answered by [`MediaEvent::OpenFailed`] if a
    /// port cannot be bound; success is silent.
    Open(RelayPlan),
    /// New SDP for one side (answer, re-INVITE): see [`Relay::set_remote`].
    SetRemote {
        id: RelayId,
        side: Side,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
    },
    /// A side is on hold (`sendonly`/`inactive`, RFC 3264 §8.4): silence is expected, so the
    /// inactivity timeout is suspended until `on_hold` is false again.
    SetHold { id: RelayId, on_hold: bool },
    /// The dynamic payload type negotiated for `telephone-event` (RFC 4733 §7.1.1), so the
    /// relay counts exactly those packets as events; `None` falls back to the heuristic of
    /// [`Relay::set_event_payload_type`].
    SetEventPayloadType {
        id: RelayId,
        payload_type: Option<u8>,
    },
    /// Put crossbar's own media endpoint in place of side B — the caller (side A) hears
    /// `prompts`, one after the other (again from the first while `repeat`), as RTP of
    /// `payload_type` (0 PCMU, 8 PCMA) paced every 20 ms, with one SSRC and sequence numbers
    /// and timestamps that run on across prompts and across later `Play`s; nothing from side
    /// B reaches the caller meanwhile. Answered by [`MediaEvent::PlayFinished`] when the last
    /// prompt of a non-repeating play has gone out. A new `Play` replaces the current one; a
    /// play interrupts the music, if any, which resumes after it (see `Music`).
    Play {
        id: RelayId,
        prompts: Vec<Arc<Prompt>>,
        repeat: bool,
        payload_type: u8,
    },
    /// Set the caller's background music (music on hold): crossbar's endpoint takes side B's
    /// place, as for `Play`, and the caller hears `music`, looped, as RTP of `payload_type`,
    /// whenever no `Play` sounds — at once if nothing plays, else when the play ends. A
    /// `Play` interrupts the music; when a non-repeating play has finished
    /// ([`MediaEvent::PlayFinished`] as always), the music goes on from the frame after the
    /// last one the caller heard, not from its start, with the same SSRC and sequence numbers
    /// and timestamps that run on without a gap (so a queue's announcements come and go over
    /// one piece of music). A repeating `Play` keeps the music waiting until a later
    /// non-repeating play ends. The same track again (the same `Arc`) keeps its place;
    /// another starts from its beginning; `None` removes the music (silence once the current
    /// play, if any, ends; the endpoint stays in place). `StopPlaying` and `Bridge` remove it
    /// too. See [`Player`] for the stream's rules.
    Music {
        id: RelayId,
        music: Option<Arc<Prompt>>,
        payload_type: u8,
    },
    /// Stop playing and remove the music (the caller hears nothing; the endpoint stays in
    /// place of side B).
    StopPlaying { id: RelayId },
    /// Detect the caller's keys: RFC 4733 telephone-events of `payload_type` arriving on side
    /// A, each reported once ([`MediaEvent::Digit`]) however many packets carry it.
    Listen { id: RelayId, payload_type: u8 },
    /// Take crossbar's endpoint away: relay sides A and B to each other again (a menu put the
    /// caller through to a phone). The play, the music and the key detector go with it. The
    /// caller is not re-INVITEd: only the far side changes.
    Bridge { id: RelayId },
    /// Stop relaying and release the sockets; answered by [`MediaEvent::Closed`].
    Close { id: RelayId },
}

/// What the media IO reports back to the switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// The relay could not be opened (a port is taken by another process, ...). Nothing is
    /// left open; the switch releases the ports and may retry with others.
    OpenFailed { id: RelayId, reason: String },
    /// No RTP arrived in either direction for the RTP timeout, and no side is on hold; the
    /// switch ends the call ("media timeout"). Sent again every RTP timeout while the silence
    /// lasts, so a report ignored while the call was still ringing is not the last one.
    Inactive { id: RelayId, idle_secs: u64 },
    /// The relay is closed, with its final statistics.
    Closed { id: RelayId, stats: RelayStats },
    /// The caller pressed a key (`0`–`9`, `*`, `#`, `A`–`D`), detected by a `Listen`.
    Digit { id: RelayId, digit: char },
    /// The last prompt of a non-repeating `Play` has been sent.
    PlayFinished { id: RelayId },
}
