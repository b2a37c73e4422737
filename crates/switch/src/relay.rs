//! Requests inside an answered call: BYE ends it, everything else (re-INVITE and UPDATE for
//! hold/resume and session refreshes, INFO, ...) is relayed to the other side's dialog with
//! its SDP rewritten, and the answer relayed back (RFC 3261 §14, RFC 3311, RFC 4028).

use std::time::{Instant, SystemTime};

use crossbar_cdr::{EndReason, EventKind, LegId};
use crossbar_media::{MediaCommand, Side as RelaySide};
use crossbar_proto::transaction::{ClientKey, Peer, ServerKey};
use crossbar_sdp::SessionDescription;
use crossbar_sip::{Bytes, HeaderName, Message, Method, Request, Response};

use crate::call::{CallSeq, Phase, Relaying, Side};
use crate::{Switch, SwitchOutput};

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

impl Switch {
    /// A request inside one of the call's dialogs (§12.2.2).
    pub(crate) fn on_in_dialog(
        &mut self,
        now: Instant,
        wall: SystemTime,
        key: ServerKey,
        request: Request,
        _source: Peer,
    ) {
        let Some((seq, side)) = self.dialog_of(&request) else {
            self.endpoint.respond(now, key, request.response(481));
            return;
        };
        let phase = self.calls.get(&seq).map(|c| c.phase);
        match (&request.method, phase) {
            (Method::Bye, Some(Phase::Answered)) => {
                self.endpoint.respond(now, key, request.response(200));
                self.end_answered(now, wall, seq, Some(side), EndReason::Hangup);
            }
            (Method::Bye, _) => self.endpoint.respond(now, key, request.response(200)),
            (_, Some(Phase::Answered)) => self.relay_request(now, wall, seq, side, key, request),
            // Nothing to relay to before the answer or after the end.
            _ => self.endpoint.respond(now, key, request.response(481)),
        }
    }

    /// Relays `request` from `side` to the other side's dialog.
    fn relay_request(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        side: Side,
        key: ServerKey,
        request: Request,
    ) {
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        let offers = matches!(request.method, Method::Invite | Method::Update);
        // RFC 3261 §14.2 / RFC 3311 §5.2: one offer at a time in each direction.
        if offers
            && call
                .relaying
                .iter()
                .any(|r| matches!(r.request.method, Method::Invite | Method::Update))
        {
            self.endpoint.respond(now, key, request.response(491));
            return;
        }
        if offers && let Some(dialog) = call.dialog_mut(side) {
            dialog.refresh_target(&request.headers);
        }
        let body =
            self.rewrite_relayed_sdp(wall, seq, side, &request.body, is_sdp(&request.headers));
        let Some(to_key) = self.send_relayed(now, seq, side.other(), &request, body) else {
            self.endpoint.respond(now, key, request.response(500));
            return;
        };
        if let Some(call) = self.calls.get_mut(&seq) {
            call.relaying.push(Relaying {
                from_key: key,
                from_side: side,
                to_key,
                request,
            });
        }
    }

    /// Sends `original`'s method and end-to-end headers in the dialog of `side`.
    fn send_relayed(
        &mut self,
        now: Instant,
        seq: CallSeq,
        side: Side,
        original: &Request,
        body: Bytes,
    ) -> Option<ClientKey> {
        let mut relayed = original.clone();
        relayed.body = body;
        self.send_in_dialog(now, seq, side, original.method.clone(), Some(&relayed))
    }

    /// The final (or provisional) answer to a relayed request, relayed back.
    pub(crate) fn on_relayed_response(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        key: ClientKey,
        response: Response,
    ) {
        if response.status < 200 {
            return;
        }
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        let Some(index) = call.relaying.iter().position(|r| r.to_key == key) else {
            return;
        };
        let relaying = call.relaying.remove(index);
        self.by_client.remove(&key);
        let to_side = relaying.from_side.other();
        let success = (200..300).contains(&response.status);
        if success && relaying.request.method == Method::Invite {
            // crossbar ACKs the 2xx of the side it sent the re-INVITE to itself (§13.2.2.4);
            // the originator's ACK to crossbar's own 200 is absorbed.
            let cseq = response.headers.cseq().map(|c| c.seq).unwrap_or(0);
            if let Some(dialog) = self.calls.get_mut(&seq).and_then(|c| c.dialog_mut(to_side)) {
                dialog.refresh_target(&response.headers);
                let (ack, destination) = (dialog.ack(cseq), dialog.destination);
                let ack = self.with_via(ack, destination);
                self.endpoint.transmit(destination, Message::Request(ack));
            }
        }
        let body = if success {
            self.rewrite_relayed_sdp(
                wall,
                seq,
                to_side,
                &response.body,
                is_sdp(&response.headers),
            )
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
            back.headers.push(HeaderName::Contact, self.contact_value());
            self.restart_session_timer(now, seq);
        }
        back.body = body;
        self.endpoint.respond(now, relaying.from_key, back);
        self.forget_if_done(seq);
    }

    /// Rewrites an SDP body coming from `from_side` for the other side: relay address and
    /// the other side's port; learns `from_side`'s media address and hold state on the way.
    pub(crate) fn rewrite_relayed_sdp(
        &mut self,
        wall: SystemTime,
        seq: CallSeq,
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
        let address = self.settings.media_address;
        let Some(call) = self.calls.get_mut(&seq) else {
            return body.clone();
        };
        let Some(media) = call.media.as_mut() else {
            return body.clone();
        };
        let relay_side = match from_side {
            Side::Caller => RelaySide::A,
            Side::Callee => RelaySide::B,
        };
        let relay = media.relay;
        let rewritten = match from_side {
            Side::Caller => {
                crossbar_sdp::relay_rewrite(&sdp, address, &[media.b_port], &mut media.b_origin)
            }
            Side::Callee => {
                crossbar_sdp::relay_rewrite(&sdp, address, &[media.a_port], &mut media.a_origin)
            }
        };
        // Hold (RFC 3264 §8.4): sendonly/inactive (or c=0.0.0.0) from one party.
        let holding = sdp.is_hold(0);
        let was = std::mem::replace(&mut call.hold[from_side.index()], holding);
        let any_hold = call.hold.iter().any(|h| *h);
        let id = call.id.clone();
        let leg = match from_side {
            Side::Caller => LegId(0),
            Side::Callee => call
                .answered
                .and_then(|i| call.b.get(i))
                .map_or(LegId(1), |l| l.leg),
        };
        self.outputs
            .push_back(SwitchOutput::Media(MediaCommand::SetRemote {
                id: relay,
                side: relay_side,
                rtp: sdp.media_destination(0),
                rtcp: sdp.rtcp_destination(0),
            }));
        self.outputs
            .push_back(SwitchOutput::Media(MediaCommand::SetHold {
                id: relay,
                on_hold: any_hold,
            }));
        if holding != was {
            let kind = if holding {
                EventKind::Hold { leg }
            } else {
                EventKind::Resume { leg }
            };
            self.emit(wall, &id, kind);
        }
        Bytes::from(rewritten.to_bytes())
    }
}

/// Copies the end-to-end headers and body of `original` into `request` (a new request in
/// the other dialog).
pub(crate) fn copy_relayed_headers(original: &Request, request: &mut Request) {
    for header in original.headers.iter() {
        if END_TO_END.contains(&header.name) {
            request.headers.0.push(header.clone());
        }
    }
    request.body = original.body.clone();
}

pub(crate) fn is_sdp(headers: &crossbar_sip::Headers) -> bool {
    headers.content_type().is_some_and(|value| {
        value
            .split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/sdp"))
    })
}
