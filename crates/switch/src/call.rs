//! A call as the switch holds it while it runs: the caller's leg (A), the legs placed to
//! the callee's contacts (B), the relay between them, and where the call stands.

use std::time::Instant;

use crossbar_cdr::{CallId, LegId};
use crossbar_media::RelayId;
use crossbar_proto::transaction::{ClientKey, Peer, ServerKey};
use crossbar_sdp::OriginState;
use crossbar_sip::{Request, Response};

use crate::dialog::Dialog;

/// The switch's handle on a call.
pub type CallSeq = u64;

#[derive(Debug)]
pub struct Call {
    pub id: CallId,
    pub caller: String,
    pub callee: String,
    pub a: CallerLeg,
    pub b: Vec<CalleeLeg>,
    /// Index into `b` of the leg that answered.
    pub answered: Option<usize>,
    pub media: Option<Media>,
    pub phase: Phase,
    /// An in-dialog request being relayed from one side to the other.
    pub relaying: Vec<Relaying>,
    /// Session refresh interval agreed by RFC 4028 `Session-Expires`, if any.
    pub session_expires: Option<u32>,
    /// `Session-Expires` and `Min-SE` of the caller's INVITE, passed on to the callee.
    pub session_headers: Vec<(crossbar_sip::HeaderName, String)>,
    /// The latest session-timer deadline; older timer entries for the call are stale.
    pub session_deadline: Option<Instant>,
    /// Late offer (RFC 3264 §5 with the offer in the callee's 200): the answering leg and
    /// its INVITE CSeq, whose ACK waits for the caller's ACK carrying the answer.
    pub late_ack: Option<(usize, u32)>,
    /// Both parties' hold state (caller, callee).
    pub hold: [bool; 2],
    /// Every client transaction and dialog the switch indexed for this call, so forgetting
    /// the call removes exactly its entries.
    pub client_keys: Vec<ClientKey>,
    pub dialog_keys: Vec<(String, String)>,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// B legs are being tried.
    Ringing,
    /// A callee answered; the caller has the 200.
    Answered,
    /// The call has ended (its record is out); legs are being torn down.
    Ending,
}

/// The caller's leg: crossbar is the UAS.
#[derive(Debug)]
pub struct CallerLeg {
    pub invite_key: ServerKey,
    pub invite: Request,
    pub source: Peer,
    /// The `To` tag crossbar answers the caller with.
    pub local_tag: String,
    /// Set when the INVITE got its final response.
    pub final_sent: bool,
    /// The 200 sent to the INVITE, retransmitted until the ACK (§13.3.1.4).
    pub ok: Option<Response>,
    pub ok_interval: std::time::Duration,
    pub ok_deadline: Option<Instant>,
    pub acked: bool,
    pub dialog: Option<Dialog>,
}

/// A leg crossbar placed to one of the callee's contacts: crossbar is the UAC.
#[derive(Debug)]
pub struct CalleeLeg {
    pub leg: LegId,
    pub key: ClientKey,
    /// The INVITE sent (for the dialog, the ACK and the CANCEL).
    pub invite: Request,
    pub destination: Peer,
    pub contact: String,
    pub state: LegState,
    pub dialog: Option<Dialog>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegState {
    Trying,
    Ringing,
    Answered,
    /// CANCEL sent; waiting for the 487 (or a 2xx that crossed it).
    Cancelling,
    /// BYE sent or received.
    Ended,
    Failed(u16),
}

impl LegState {
    /// Still waiting for a final response to its INVITE.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            LegState::Trying | LegState::Ringing | LegState::Cancelling
        )
    }
}

/// The call's relay: one port on each side.
#[derive(Debug)]
pub struct Media {
    pub relay: RelayId,
    pub a_port: u16,
    pub b_port: u16,
    /// crossbar's SDP origin toward each side (RFC 3264 §8: versions per leg).
    pub a_origin: OriginState,
    pub b_origin: OriginState,
}

/// A request from one side being relayed to the other (re-INVITE, UPDATE, INFO...).
#[derive(Debug)]
pub struct Relaying {
    /// The request's server transaction on the side it came from.
    pub from_key: ServerKey,
    pub from_side: Side,
    /// The client transaction of the copy crossbar sent to the other side.
    pub to_key: ClientKey,
    /// The request as it came from `from_side` (its answer is built from it).
    pub request: Request,
}

/// A side of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Caller,
    Callee,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Caller => Side::Callee,
            Side::Callee => Side::Caller,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Side::Caller => 0,
            Side::Callee => 1,
        }
    }
}

impl Call {
    /// The dialog of `side`, once the call is answered.
    pub fn dialog_mut(&mut self, side: Side) -> Option<&mut Dialog> {
        match side {
            Side::Caller => self.a.dialog.as_mut(),
            Side::Callee => self
                .answered
                .and_then(|i| self.b.get_mut(i))
                .and_then(|leg| leg.dialog.as_mut()),
        }
    }

    /// B legs still waiting for their final response.
    pub fn pending_legs(&self) -> usize {
        self.b.iter().filter(|leg| leg.state.is_pending()).count()
    }
}
