//! A leg crossbar places (crossbar is the UAC): one INVITE toward a registered contact of an
//! extension or toward a carrier through a trunk. The same machine serves forking to every
//! contact of an extension and trying trunks one after the other: it sends the INVITE, reads
//! the responses into [`LegUpdate`]s for its call, cancels (§9.1), answers a carrier's digest
//! challenge once (§22.2), and hangs up a 2xx that comes after the call no longer wants it
//! (the CANCEL/200 race of §9.1, or a late answer after failover moved on).

use crossbar_auth::{Answer, DigestChallenge};
use crossbar_cdr::{LegId, Rate};
use crossbar_proto::transaction::ClientKey;
use crossbar_sip::{HeaderName, Method, Request, Response};

use crate::core::Ctx;
use crate::dialog::{self, Dialog, Hop};

/// Where a leg goes.
#[derive(Debug, Clone)]
pub(crate) enum LegTarget {
    /// A registered contact of extension `number`.
    Contact { number: String, contact: String },
    /// A number through a trunk.
    Trunk {
        trunk: String,
        number: String,
        rate: Option<Rate>,
        /// Digest credentials for the carrier's challenges.
        credentials: Option<(String, String)>,
    },
}

impl LegTarget {
    /// What the call record names as the leg's target: the extension, or the number sent.
    pub(crate) fn name(&self) -> &str {
        match self {
            LegTarget::Contact { number, .. } | LegTarget::Trunk { number, .. } => number,
        }
    }

    pub(crate) fn trunk(&self) -> Option<&str> {
        match self {
            LegTarget::Trunk { trunk, .. } => Some(trunk),
            LegTarget::Contact { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegState {
    Trying,
    Ringing,
    Answered,
    /// CANCEL sent (the transaction layer holds it until a provisional response, §9.1);
    /// waiting for the final response.
    Cancelling,
    /// BYE sent or received.
    Ended,
    Failed(u16),
}

impl LegState {
    /// Still waiting for a final response to its INVITE.
    pub(crate) fn is_pending(self) -> bool {
        matches!(
            self,
            LegState::Trying | LegState::Ringing | LegState::Cancelling
        )
    }

    /// Still wanted by the call: ringing or trying, not being given up.
    pub(crate) fn is_live(self) -> bool {
        matches!(self, LegState::Trying | LegState::Ringing)
    }
}

/// What a response on the leg means to its call.
#[derive(Debug)]
pub(crate) enum LegUpdate {
    /// Nothing the call must act on (a 100, a retransmission, a leg already given up).
    Nothing,
    /// 101–199 on a live leg.
    Provisional,
    /// A 2xx on a live leg: the dialog is confirmed (and ACKed, unless `late_offer`).
    Answered,
    /// A 2xx on a leg the call no longer wants: it was ACKed and hung up.
    AnsweredTooLate,
    /// A final failure (or the leg's cancellation completing).
    Failed(u16),
    /// The carrier challenged; the INVITE went again with credentials on a new transaction.
    Reissued,
}

#[derive(Debug)]
pub(crate) struct Leg {
    pub(crate) id: LegId,
    pub(crate) key: ClientKey,
    /// The INVITE sent (for the dialog, the ACK, the CANCEL and a challenge's retry).
    pub(crate) invite: Request,
    pub(crate) hop: Hop,
    pub(crate) target: LegTarget,
    pub(crate) state: LegState,
    pub(crate) dialog: Option<Dialog>,
    /// Whether the leg counts in its trunk's calls (until it is over).
    pub(crate) on_trunk: bool,
    /// Whether the carrier's challenge was answered already (one round only).
    challenged: bool,
}

impl Leg {
    /// Sends the INVITE; `None` if the transaction layer refused it.
    pub(crate) fn place(
        ctx: &mut Ctx<'_>,
        id: LegId,
        target: LegTarget,
        invite: Request,
        hop: Hop,
    ) -> Option<Leg> {
        let key = ctx.send(invite.clone(), hop)?;
        Some(Leg {
            id,
            key,
            invite,
            hop,
            target,
            state: LegState::Trying,
            dialog: None,
            on_trunk: false,
            challenged: false,
        })
    }

    pub(crate) fn call_id(&self) -> &str {
        self.invite.headers.call_id().unwrap_or_default()
    }

    /// A response on the leg's INVITE transaction. `wanted` says whether the call would still
    /// take an answer from this leg; `late_offer` that the ACK for a 2xx must wait for the
    /// caller's answer (RFC 3264 §5: the offer is in the 200).
    pub(crate) fn on_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        response: &Response,
        wanted: bool,
        late_offer: bool,
    ) -> LegUpdate {
        match response.status {
            100..=199 => {
                if response.status == 100 || !self.state.is_live() {
                    return LegUpdate::Nothing;
                }
                if self.state == LegState::Trying {
                    self.state = LegState::Ringing;
                }
                LegUpdate::Provisional
            }
            200..=299 => self.on_success(ctx, response, wanted, late_offer),
            401 | 407 if !self.challenged && self.state.is_live() => {
                match self.answer_challenge(ctx, response) {
                    Some(()) => LegUpdate::Reissued,
                    None => self.fail(ctx, response.status),
                }
            }
            status => {
                if !self.state.is_pending() {
                    return LegUpdate::Nothing;
                }
                self.fail(ctx, status)
            }
        }
    }

    fn fail(&mut self, ctx: &mut Ctx<'_>, status: u16) -> LegUpdate {
        self.state = LegState::Failed(status);
        ctx.done_with(&self.key);
        LegUpdate::Failed(status)
    }

    /// A 2xx: the dialog is confirmed. Every 2xx (first or retransmitted) is ACKed
    /// (§13.2.2.4), except the first one of a late offer whose ACK waits for the caller's.
    fn on_success(
        &mut self,
        ctx: &mut Ctx<'_>,
        response: &Response,
        wanted: bool,
        late_offer: bool,
    ) -> LegUpdate {
        let Some(dialog) = dialog::from_response(&self.invite, response, self.hop) else {
            tracing::warn!("2xx without a usable dialog; ignored");
            return LegUpdate::Nothing;
        };
        let cseq = self.invite_cseq();
        let already = self.dialog.is_some();
        self.dialog = Some(dialog.clone());
        let take = wanted && !already && self.state.is_live();
        if !(take && late_offer) {
            ctx.ack(dialog.ack(cseq), dialog.hop);
        }
        if already {
            return LegUpdate::Nothing;
        }
        if !take {
            // Answered after the caller gave up, another leg won, or the call moved on to
            // another trunk: this leg is hung up at once.
            self.state = LegState::Ended;
            self.bye(ctx);
            return LegUpdate::AnsweredTooLate;
        }
        self.state = LegState::Answered;
        LegUpdate::Answered
    }

    pub(crate) fn invite_cseq(&self) -> u32 {
        self.invite.headers.cseq().map(|c| c.seq).unwrap_or(1)
    }

    /// Gives the leg up while it has no final response: CANCEL (sent by the transaction
    /// layer once a provisional response says the far end has the INVITE, §9.1).
    pub(crate) fn cancel(&mut self, ctx: &mut Ctx<'_>) {
        if self.state.is_live() {
            self.state = LegState::Cancelling;
            ctx.cancel(self.key);
        }
    }

    /// BYE in the leg's dialog (a leg answered too late, or the end of the call).
    pub(crate) fn bye(&mut self, ctx: &mut Ctx<'_>) {
        let Some(dialog) = self.dialog.as_mut() else {
            return;
        };
        let request = dialog.request(Method::Bye);
        let hop = dialog.hop;
        ctx.send(request, hop);
    }

    /// Re-sends the INVITE with credentials for the carrier's challenge (RFC 3261 §22.2;
    /// RFC 7616 §3.4): same Call-ID and tags, the next CSeq, a new transaction.
    fn answer_challenge(&mut self, ctx: &mut Ctx<'_>, response: &Response) -> Option<()> {
        let LegTarget::Trunk {
            credentials: Some((username, secret)),
            ..
        } = &self.target
        else {
            return None;
        };
        let (challenge_header, credentials_header) = if response.status == 407 {
            (
                HeaderName::ProxyAuthenticate,
                HeaderName::ProxyAuthorization,
            )
        } else {
            (HeaderName::WwwAuthenticate, HeaderName::Authorization)
        };
        let challenge = response
            .headers
            .get_all(&challenge_header)
            .find_map(|value| DigestChallenge::parse(value).ok().flatten())?;
        let uri = self.invite.uri.to_string();
        let cnonce = ctx.new_tag();
        let authorization = challenge.authorization(&Answer {
            method: "INVITE",
            uri: &uri,
            username,
            password: secret,
            cnonce: &cnonce,
            nonce_count: 1,
        });
        let mut invite = self.invite.clone();
        invite.headers.remove(&HeaderName::Via);
        invite.headers.remove(&credentials_header);
        invite.headers.remove(&HeaderName::UserAgent);
        let cseq = self.invite_cseq() + 1;
        invite
            .headers
            .set(HeaderName::CSeq, format!("{cseq} INVITE"));
        invite.headers.push(credentials_header, authorization);
        self.challenged = true;
        let key = ctx.send(invite.clone(), self.hop)?;
        let old = std::mem::replace(&mut self.key, key);
        ctx.done_with(&old);
        // Keep the request as sent, Via aside, for the ACK/CANCEL of the new transaction.
        self.invite = invite;
        Some(())
    }
}
