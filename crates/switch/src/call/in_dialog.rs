//! Requests inside an answered call: BYE ends it, everything else (re-INVITE and UPDATE for
//! hold/resume and session refreshes, INFO, ...) is relayed to the other side's dialog with
//! its SDP rewritten, and the answer relayed back (RFC 3261 §14, RFC 3311, RFC 4028).

use crossbar_cdr::{EndReason, EventKind, LegId};
use crossbar_media::MediaCommand;
use crossbar_proto::transaction::{ClientKey, ServerKey};
use crossbar_sdp::SessionDescription;
use crossbar_sip::{Bytes, HeaderName, Method, Request, Response};

use super::{Call, Phase, Relaying, Side};
use crate::core::Ctx;
use crate::media::is_sdp;

/// Headers of a relayed request (or response) that belong to the end-to-end exchange
/// rather than to one hop or one dialog.
const END_TO_END: &[HeaderName] = &[
    HeaderName::ContentType,
    HeaderName::ContentDisposition,
    HeaderName::SessionExpires,
    HeaderName::MinSe,
    HeaderName::Supported,
    HeaderName::Require,
    HeaderName::Event,
    HeaderName::SubscriptionState,
    HeaderName::Accept,
    HeaderName::Reason,
];

impl Call {
    /// A request inside one of the call's dialogs (§12.2.2), from `side`.
    pub(crate) fn on_in_dialog(
        &mut self,
        ctx: &mut Ctx<'_>,
        side: Side,
        key: ServerKey,
        request: Request,
    ) {
        match (&request.method, self.phase) {
            (_, Phase::Serving) if side == Side::Caller => self.served_request(ctx, key, request),
            (Method::Bye, Phase::Answered) => {
                ctx.respond(key, request.response(200));
                self.end_answered(ctx, Some(side), EndReason::Hangup);
            }
            (Method::Bye, _) => ctx.respond(key, request.response(200)),
            (_, Phase::Answered) => self.relay_request(ctx, side, key, request),
            // Nothing to relay to before the answer or after the end.
            _ => ctx.respond(key, request.response(481)),
        }
    }

    /// Relays `request` from `side` to the other side's dialog.
    fn relay_request(&mut self, ctx: &mut Ctx<'_>, side: Side, key: ServerKey, request: Request) {
        let offers = matches!(request.method, Method::Invite | Method::Update);
        // RFC 3261 §14.2 / RFC 3311 §5.2: one offer at a time in each direction.
        if offers
            && self
                .relaying
                .iter()
                .any(|r| matches!(r.request.method, Method::Invite | Method::Update))
        {
            ctx.respond(key, request.response(491));
            return;
        }
        if offers && let Some(dialog) = self.dialog_mut(side) {
            dialog.refresh_target(&request.headers);
        }
        let body = self.rewrite_relayed_sdp(ctx, side, &request.body, is_sdp(&request.headers));
        let mut relayed = request.clone();
        relayed.body = body;
        let Some(to_key) =
            self.send_in_dialog(ctx, side.other(), request.method.clone(), Some(&relayed))
        else {
            ctx.respond(key, request.response(500));
            return;
        };
        self.relaying.push(Relaying {
            from_key: key,
            from_side: side,
            to_key,
            request,
        });
    }

    /// Sends `method` (BYE, or a relayed request when `relayed` is given) in the dialog of
    /// `side`; returns the client transaction.
    pub(crate) fn send_in_dialog(
        &mut self,
        ctx: &mut Ctx<'_>,
        side: Side,
        method: Method,
        relayed: Option<&Request>,
    ) -> Option<ClientKey> {
        if method == Method::Bye
            && side == Side::Callee
            && let Some(leg) = self.answered.and_then(|i| self.legs.get_mut(i))
        {
            leg.state = crate::leg::LegState::Ended;
        }
        let dialog = self.dialog_mut(side)?;
        let mut request = dialog.request(method);
        let hop = dialog.hop;
        if let Some(original) = relayed {
            for header in original.headers.iter() {
                if END_TO_END.contains(&header.name) {
                    request.headers.0.push(header.clone());
                }
            }
            request.body = original.body.clone();
        }
        ctx.send(request, hop)
    }

    /// Whether `key` is the transaction of a request the call is relaying.
    pub(crate) fn is_relaying(&self, key: &ClientKey) -> bool {
        self.relaying.iter().any(|r| r.to_key == *key)
    }

    /// The final answer to a relayed request, relayed back (provisionals are not).
    pub(crate) fn on_relayed_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: ClientKey,
        response: Response,
    ) {
        if response.status < 200 {
            return;
        }
        let Some(index) = self.relaying.iter().position(|r| r.to_key == key) else {
            return;
        };
        let relaying = self.relaying.remove(index);
        ctx.done_with(&key);
        let to_side = relaying.from_side.other();
        let success = (200..300).contains(&response.status);
        if success && relaying.request.method == Method::Invite {
            // crossbar ACKs the 2xx of the side it sent the re-INVITE to itself (§13.2.2.4);
            // the originator's ACK to crossbar's own 200 is absorbed.
            let cseq = response.headers.cseq().map(|c| c.seq).unwrap_or(0);
            if let Some(dialog) = self.dialog_mut(to_side) {
                dialog.refresh_target(&response.headers);
                let (ack, hop) = (dialog.ack(cseq), dialog.hop);
                ctx.ack(ack, hop);
            }
        }
        let body = if success {
            self.rewrite_relayed_sdp(ctx, to_side, &response.body, is_sdp(&response.headers))
        } else {
            Bytes::new()
        };
        let mut back = relaying.request.response(response.status);
        back.reason = response.reason.clone();
        for header in response.headers.iter() {
            if END_TO_END.contains(&header.name) {
                if header.name == HeaderName::ContentType && body.is_empty() {
                    continue;
                }
                back.headers.0.push(header.clone());
            }
        }
        if success && matches!(relaying.request.method, Method::Invite | Method::Update) {
            back.headers.push(HeaderName::Contact, ctx.contact_value());
            self.restart_session_timer(ctx);
        }
        back.body = body;
        ctx.respond(relaying.from_key, back);
    }

    /// Rewrites an SDP body coming from `from_side` for the other side: relay address and
    /// the other side's port; learns `from_side`'s media address and hold state on the way.
    pub(crate) fn rewrite_relayed_sdp(
        &mut self,
        ctx: &mut Ctx<'_>,
        from_side: Side,
        body: &Bytes,
        sdp_body: bool,
    ) -> Bytes {
        if body.is_empty() || !sdp_body {
            return body.clone();
        }
        let Ok(sdp) = SessionDescription::parse(body) else {
            return body.clone();
        };
        let address = ctx.settings().media_address;
        let rewritten = self.media.rewrite_for_other_side(address, from_side, &sdp);
        // Hold (RFC 3264 §8.4): sendonly/inactive (or c=0.0.0.0) from one party.
        let holding = sdp.is_hold(0);
        let was = std::mem::replace(&mut self.hold[from_side.index()], holding);
        let any_hold = self.hold.iter().any(|h| *h);
        let leg = match from_side {
            Side::Caller => self.caller_leg_id(),
            Side::Callee => self
                .answered
                .and_then(|i| self.legs.get(i))
                .map_or(LegId(1), |l| l.id),
        };
        let command = self.media.set_remote(from_side, &sdp);
        ctx.media(command);
        ctx.media(MediaCommand::SetHold {
            id: self.media.relay,
            on_hold: any_hold,
        });
        if holding != was {
            let kind = if holding {
                EventKind::Hold { leg }
            } else {
                EventKind::Resume { leg }
            };
            ctx.emit(&self.id, kind);
        }
        rewritten
    }
}
