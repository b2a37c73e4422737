//! A call as the switch runs it: a machine that owns its legs — the caller's (A, crossbar is
//! the UAS) and the legs crossbar places (B, crossbar is the UAC) — and its relay, and acts
//! only through the [`Ctx`](crate::core::Ctx) it is handed with each input.
//!
//! - [`setup`]: from the caller's INVITE to legs placed (or a refusal);
//! - [`dialing`]: the legs' responses — ringing, the answer, failures, forking and trunk
//!   failover, CANCEL and the ring timeout;
//! - [`inbound`]: receiving an incoming call — where it goes, extensions and groups rung,
//!   escalation, menus with crossbar answering the caller itself;
//! - [`answered`]: the caller's ACK, the 200's retransmission, the session timer;
//! - [`in_dialog`]: requests inside the answered call, relayed to the other side;
//! - [`ending`]: every way a call ends;
//! - [`originated`]: calls crossbar places itself — a callback rings the agent first, then
//!   dials the customer.

mod answered;
mod dialing;
mod ending;
mod in_dialog;
pub(crate) mod inbound;
pub(crate) mod originated;
pub(crate) mod setup;

use std::collections::VecDeque;
use std::time::Duration;

use crossbar_cdr::CallId;
use crossbar_proto::transaction::{Peer, ServerKey};
use crossbar_sip::{Bytes, HeaderName, Request, Response};

use crate::dialog::Dialog;
use crate::leg::Leg;
use crate::media::Media;

pub(crate) use dialing::Attempt;

/// The switch's handle on a call.
pub type CallSeq = u64;

#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) id: CallId,
    /// The calling extension.
    pub(crate) caller: String,
    /// The extension called, for internal calls (its concurrent-call count includes this
    /// call).
    pub(crate) callee: Option<String>,
    pub(crate) a: CallerLeg,
    pub(crate) legs: Vec<Leg>,
    /// Trunk attempts not tried yet, in order (failover).
    pub(crate) next_attempts: VecDeque<Attempt>,
    /// Index into `legs` of the leg that answered, and when.
    pub(crate) answered: Option<usize>,
    pub(crate) answered_at: Option<std::time::Instant>,
    /// The extension whose outbound usage (calls, spend) this call counts in.
    pub(crate) outbound_by: Option<String>,
    pub(crate) media: Media,
    /// The caller's offer rewritten for the B side, sent in every leg's INVITE.
    pub(crate) b_offer: Option<Bytes>,
    pub(crate) phase: Phase,
    /// In-dialog requests being relayed from one side to the other.
    pub(crate) relaying: Vec<Relaying>,
    pub(crate) session: SessionTimer,
    /// Late offer (RFC 3264 §5 with the offer in the callee's 200): the answering leg and
    /// its INVITE CSeq, whose ACK waits for the caller's ACK carrying the answer.
    pub(crate) late_ack: Option<(usize, u32)>,
    /// Both parties' hold state (caller, callee).
    pub(crate) hold: [bool; 2],
    /// An incoming call from a trunk: where it is and what serves it.
    pub(crate) receiving: Option<Box<inbound::Receiving>>,
    /// A call crossbar originated (a callback): its agent, customer and progress.
    pub(crate) origin: Option<Box<originated::Origination>>,
    /// The outside party: the caller of an incoming call, the number (E.164) an outgoing
    /// one dials. Its answer reaches them — the rule that completes their callback task
    /// (`crossbar_cdr::callbacks`), which gives up a place they hold in a queue.
    pub(crate) outside: Option<String>,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// B legs are being tried; the caller has no final response yet. In a call crossbar
    /// originated: the agent's phones ring.
    Ringing,
    /// crossbar answered the caller itself (a menu; ringback while a phone rings after it):
    /// no person has answered yet. In a call crossbar originated: the agent answered and
    /// hears ringback while the customer is dialled.
    Serving,
    /// A callee answered; the caller has the 200.
    Answered,
    /// The call has ended (its record is out); legs are being torn down.
    Ending,
}

/// The caller's leg: crossbar is the UAS — except in a call crossbar originated
/// ([`originated`]), where the caller is the agent crossbar rang (as the UAC, on legs of its
/// own): then there is no INVITE to answer, and the agent's dialog becomes this leg's once the
/// agent answers.
#[derive(Debug)]
pub(crate) struct CallerLeg {
    /// The caller's INVITE transaction; `None` in a call crossbar originated.
    pub(crate) invite_key: Option<ServerKey>,
    /// The INVITE that set up this side: the caller's, or the first one crossbar sent to the
    /// agent of a call it originated.
    pub(crate) invite: Request,
    pub(crate) source: Peer,
    /// The `To` tag crossbar answers the caller with.
    pub(crate) local_tag: String,
    /// Set when the INVITE got its final response.
    pub(crate) final_sent: bool,
    /// The 200 sent to the INVITE, retransmitted until the ACK (§13.3.1.4).
    pub(crate) ok: Option<Response>,
    pub(crate) ok_interval: Duration,
    /// When the 200's retransmissions give up (64·T1 after it was first sent).
    pub(crate) ok_deadline: Option<std::time::Instant>,
    pub(crate) acked: bool,
    pub(crate) dialog: Option<Dialog>,
}

/// RFC 4028 session timer state.
#[derive(Debug, Default)]
pub(crate) struct SessionTimer {
    /// Refresh interval agreed by `Session-Expires`, if any.
    pub(crate) expires: Option<u32>,
    /// `Session-Expires` and `Min-SE` of the caller's INVITE, passed on to the callee.
    pub(crate) headers: Vec<(HeaderName, String)>,
}

/// A request from one side being relayed to the other (re-INVITE, UPDATE, INFO...).
#[derive(Debug)]
pub(crate) struct Relaying {
    /// The request's server transaction on the side it came from.
    pub(crate) from_key: ServerKey,
    pub(crate) from_side: Side,
    /// The client transaction of the copy crossbar sent to the other side.
    pub(crate) to_key: crossbar_proto::transaction::ClientKey,
    /// The request as it came from `from_side` (its answer is built from it).
    pub(crate) request: Request,
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
    pub(crate) fn dialog_mut(&mut self, side: Side) -> Option<&mut Dialog> {
        match side {
            Side::Caller => self.a.dialog.as_mut(),
            Side::Callee => self
                .answered
                .and_then(|i| self.legs.get_mut(i))
                .and_then(|leg| leg.dialog.as_mut()),
        }
    }

    /// B legs still waiting for their final response.
    pub(crate) fn pending_legs(&self) -> usize {
        self.legs
            .iter()
            .filter(|leg| leg.state.is_pending())
            .count()
    }

    /// The call has ended and nothing it started is still outstanding: it can be forgotten.
    pub(crate) fn is_done(&self) -> bool {
        self.phase == Phase::Ending && self.pending_legs() == 0 && self.relaying.is_empty()
    }

    /// The leg whose INVITE transaction is `key`.
    pub(crate) fn leg_of(&self, key: &crossbar_proto::transaction::ClientKey) -> Option<usize> {
        self.legs.iter().position(|leg| leg.key == *key)
    }
}

/// A response to `request` with crossbar's `To` tag.
pub(crate) fn tagged(request: &Request, status: u16, tag: &str) -> Response {
    let mut response = request.response(status);
    if let Some(to) = response
        .headers
        .0
        .iter_mut()
        .find(|h| h.name == HeaderName::To)
        && !to.value.contains(";tag=")
    {
        to.value = format!("{};tag={tag}", to.value);
    }
    response
}
