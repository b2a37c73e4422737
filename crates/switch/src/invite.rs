//! Setting a call up: the caller's INVITE → legs forked to the callee's contacts →
//! provisional responses, the answer or the failures relayed back (RFC 3261 §13, §16.7
//! for choosing the response when every leg failed), CANCEL and the ring timeout.

use std::time::{Instant, SystemTime};

use crossbar_cdr::{Direction, EndReason, EventKind, HangupSide, LegId, LegRole, Party};
use crossbar_media::{MediaCommand, RelayId, RelayPlan, Side as RelaySide, SidePlan};
use crossbar_proto::transaction::{ClientKey, Peer, ServerKey};
use crossbar_sdp::{OriginState, SessionDescription};
use crossbar_sip::{Bytes, HeaderName, Method, NameAddr, Request, Response, Uri};

use crate::call::{Call, CallSeq, CalleeLeg, CallerLeg, LegState, Media, Phase, Side};
use crate::dialog;
use crate::{CallTimer, Switch, SwitchOutput, T1};

impl Switch {
    /// An authenticated INVITE from extension `caller` (RFC 3261 §13.3).
    pub(crate) fn on_invite(
        &mut self,
        now: Instant,
        wall: SystemTime,
        key: ServerKey,
        request: Request,
        source: Peer,
        caller: String,
    ) {
        let dialled = match &request.uri {
            Uri::Sip(uri) => uri.user.clone().unwrap_or_default(),
            Uri::Tel(tel) => tel.number.clone(),
            Uri::Other { .. } => String::new(),
        };
        let id = self.new_call_id(wall);
        let caller_name = request.headers.from().ok().and_then(|f| f.display.clone());
        let sip_call_id = request.headers.call_id().unwrap_or_default().to_owned();
        self.emit(
            wall,
            &id,
            EventKind::Started {
                direction: Direction::Internal,
                caller: Party {
                    number: caller.clone(),
                    name: caller_name.map(|n| n.trim_matches('"').to_owned()),
                },
                // The extension's number when the dialled user names one (by number or
                // SIP user name), so per-extension views find the call.
                callee: Party {
                    number: self
                        .endpoint
                        .account(&dialled)
                        .map_or_else(|| dialled.clone(), |a| a.number.clone()),
                    name: None,
                },
                sip_call_id,
            },
        );
        let local_tag = self.endpoint.new_tag();
        self.emit(
            wall,
            &id,
            EventKind::LegCreated {
                leg: LegId(0),
                role: LegRole::Caller,
                target: caller.clone(),
                contact: None,
                trunk: None,
                rate: None,
            },
        );
        let reject = |switch: &mut Switch, status: u16, reason: EndReason| {
            let response = tagged(&request, status, &local_tag);
            switch.endpoint.respond(now, key, response);
            switch.emit(
                wall,
                &id,
                EventKind::Ended {
                    reason,
                    hangup_by: HangupSide::System,
                    status: Some(status),
                },
            );
        };

        // RFC 4028 §5: refuse too short a session interval with 422 and our Min-SE.
        let session_expires = session_expires_of(&request);
        if session_expires.is_some_and(|s| s < self.settings.min_session_expires) {
            let mut response = tagged(&request, 422, &local_tag);
            response.headers.push(
                HeaderName::MinSe,
                self.settings.min_session_expires.to_string(),
            );
            self.endpoint.respond(now, key, response);
            let reason = EndReason::Error {
                status: Some(422),
                detail: "session interval too small".into(),
            };
            self.emit(
                wall,
                &id,
                EventKind::Ended {
                    reason,
                    hangup_by: HangupSide::System,
                    status: Some(422),
                },
            );
            return;
        }

        let Some(callee) = self.endpoint.account(&dialled).map(|a| a.number.clone()) else {
            tracing::info!(call = %id, %caller, %dialled, "no such number");
            return reject(self, 404, EndReason::NoRoute);
        };
        if self.calls_of(&caller) >= self.settings.max_calls_per_extension {
            tracing::info!(call = %id, %caller, "caller at its concurrent-call limit");
            let reason = EndReason::Denied {
                reason: format!(
                    "extension {caller} is at its limit of {} calls",
                    self.settings.max_calls_per_extension
                ),
            };
            return reject(self, 403, reason);
        }
        if self.calls_of(&callee) >= self.settings.max_calls_per_extension {
            tracing::info!(call = %id, %callee, "callee at its concurrent-call limit");
            return reject(self, 486, EndReason::TargetsFailed { status: 486 });
        }
        let unix = crossbar_proto::endpoint::unix_seconds(wall);
        let contacts: Vec<(String, Peer)> = self
            .endpoint
            .registrar()
            .contacts(&callee, unix)
            .into_iter()
            .map(|b| (b.contact.clone(), reach(&b.contact, b.source)))
            .collect();
        if contacts.is_empty() {
            tracing::info!(call = %id, %callee, "callee not registered");
            return reject(self, 480, EndReason::TargetsFailed { status: 480 });
        }

        // The caller's offer (RFC 3264): the relay's side A faces it.
        let offer = if request.body.is_empty() {
            None
        } else {
            match SessionDescription::parse(&request.body) {
                Ok(sdp) => Some(sdp),
                Err(error) => {
                    tracing::info!(call = %id, %error, "unreadable SDP offer");
                    return reject(
                        self,
                        400,
                        EndReason::Error {
                            status: Some(400),
                            detail: format!("unreadable SDP: {error}"),
                        },
                    );
                }
            }
        };
        let media = match self.open_relay(wall, offer.as_ref()) {
            Some(media) => media,
            None => {
                tracing::warn!(call = %id, "no free RTP ports");
                return reject(
                    self,
                    503,
                    EndReason::Error {
                        status: Some(503),
                        detail: "no free RTP ports".into(),
                    },
                );
            }
        };
        let mut media = media;
        let b_body = offer.as_ref().map(|sdp| {
            let rewritten = crossbar_sdp::relay_rewrite(
                sdp,
                self.settings.media_address,
                &[media.b_port],
                &mut media.b_origin,
            );
            Bytes::from(rewritten.to_bytes())
        });

        let seq = self.next_call;
        let session_headers: Vec<(HeaderName, String)> = request
            .headers
            .iter()
            .filter(|h| matches!(h.name, HeaderName::SessionExpires | HeaderName::MinSe))
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let mut call = Call {
            id: id.clone(),
            caller: caller.clone(),
            callee: callee.clone(),
            a: CallerLeg {
                invite_key: key,
                invite: request,
                source,
                local_tag,
                final_sent: false,
                ok: None,
                ok_interval: T1,
                ok_deadline: None,
                acked: false,
                dialog: None,
            },
            b: Vec::new(),
            answered: None,
            media: None,
            phase: Phase::Ringing,
            relaying: Vec::new(),
            session_expires: None,
            session_headers,
            session_deadline: None,
            late_ack: None,
            hold: [false, false],
            client_keys: Vec::new(),
            dialog_keys: Vec::new(),
        };
        let relay = media.relay;
        call.media = Some(media);
        self.by_relay.insert(relay, seq);
        self.by_invite.insert(key, seq);
        self.calls.insert(seq, call);
        for party in [&caller, &callee] {
            *self.calls_per_extension.entry(party.clone()).or_default() += 1;
        }
        tracing::info!(call = %id, %caller, %callee, contacts = contacts.len(), "call");

        for (index, (contact, destination)) in contacts.into_iter().enumerate() {
            let leg = LegId(u32::try_from(index + 1).unwrap_or(u32::MAX));
            self.place_leg(now, wall, seq, leg, &contact, destination, b_body.clone());
        }
        let placed = self.calls.get(&seq).map_or(0, |c| c.b.len());
        if placed == 0 {
            self.give_up_ringing(
                now,
                wall,
                seq,
                480,
                EndReason::TargetsFailed { status: 480 },
                HangupSide::System,
            );
            return;
        }
        self.arm(now + self.settings.ring_timeout, seq, CallTimer::Ring);
    }

    /// Allocates the two relay ports and asks for the relay to be opened.
    fn open_relay(
        &mut self,
        _wall: SystemTime,
        offer: Option<&SessionDescription>,
    ) -> Option<Media> {
        let a_port = self.ports.allocate()?;
        let Some(b_port) = self.ports.allocate() else {
            self.ports.release(a_port);
            return None;
        };
        self.next_relay += 1;
        let relay = RelayId(self.next_relay);
        let plan = RelayPlan {
            id: relay,
            a: SidePlan {
                local_rtp_port: a_port,
                remote_rtp: offer.and_then(|sdp| sdp.media_destination(0)),
                remote_rtcp: offer.and_then(|sdp| sdp.rtcp_destination(0)),
            },
            b: SidePlan {
                local_rtp_port: b_port,
                remote_rtp: None,
                remote_rtcp: None,
            },
        };
        self.relay_ports.insert(relay, [a_port, b_port]);
        self.outputs
            .push_back(SwitchOutput::Media(MediaCommand::Open(plan)));
        let address = self.settings.media_address;
        let session = self.next_relay ^ (self.run_id << 20);
        Some(Media {
            relay,
            a_port,
            b_port,
            a_origin: OriginState::new(session, address),
            b_origin: OriginState::new(session.wrapping_add(1), address),
        })
    }

    /// Sends one callee leg's INVITE to a registered contact.
    #[allow(clippy::too_many_arguments)]
    fn place_leg(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        leg: LegId,
        contact: &str,
        destination: Peer,
        body: Option<Bytes>,
    ) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        let Ok(target) = Uri::parse(contact) else {
            tracing::warn!(%contact, "registered contact does not parse; leg skipped");
            return;
        };
        let host = self.settings.sip_address;
        let caller_from = call.a.invite.headers.from().ok();
        let mut from = NameAddr::new(
            Uri::parse(&format!("sip:{}@{host}", call.caller)).unwrap_or_else(|_| target.clone()),
        );
        from.display = caller_from.and_then(|f| f.display);
        from.params.set("tag", Some(self.endpoint.new_tag()));
        let to = NameAddr::new(
            Uri::parse(&format!("sip:{}@{host}", call.callee)).unwrap_or_else(|_| target.clone()),
        );
        let max_forwards = call
            .a
            .invite
            .headers
            .max_forwards()
            .ok()
            .flatten()
            .map_or(70, |mf| mf.saturating_sub(1));
        let session_headers = call.session_headers.clone();
        let id = call.id.clone();
        let call_id = format!("{}-{}@{}", id, leg.0, host.ip());

        let mut request = Request::new(Method::Invite, target);
        request
            .headers
            .push(HeaderName::MaxForwards, max_forwards.to_string());
        request.headers.push(HeaderName::From, from.to_string());
        request.headers.push(HeaderName::To, to.to_string());
        request.headers.push(HeaderName::CallId, call_id.clone());
        request.headers.push(HeaderName::CSeq, "1 INVITE");
        request
            .headers
            .push(HeaderName::Contact, self.contact_value());
        request
            .headers
            .push(HeaderName::Allow, crossbar_proto::endpoint::ALLOWED_METHODS);
        if !session_headers.is_empty() {
            request.headers.push(HeaderName::Supported, "timer");
        }
        for (name, value) in session_headers {
            request.headers.push(name, value);
        }
        if let Some(body) = body {
            request
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            request.body = body;
        }
        let request = self.with_via(request, destination);
        let request = self.add_identity(request);
        let invite = request.clone();
        let from_tag = invite
            .headers
            .from()
            .ok()
            .and_then(|f| f.tag().map(str::to_owned))
            .unwrap_or_default();
        match self.endpoint.send_request(now, request, destination) {
            Ok(key) => {
                self.index_client(seq, key);
                self.index_dialog(seq, (call_id, from_tag), Side::Callee);
                if let Some(call) = self.calls.get_mut(&seq) {
                    call.b.push(CalleeLeg {
                        leg,
                        key,
                        invite,
                        destination,
                        contact: contact.to_owned(),
                        state: LegState::Trying,
                        dialog: None,
                    });
                }
                self.emit(
                    wall,
                    &id,
                    EventKind::LegCreated {
                        leg,
                        role: LegRole::Callee,
                        target: self
                            .calls
                            .get(&seq)
                            .map(|c| c.callee.clone())
                            .unwrap_or_default(),
                        contact: Some(contact.to_owned()),
                        trunk: None,
                        rate: None,
                    },
                );
            }
            Err(error) => tracing::warn!(%error, "callee leg not sent"),
        }
    }

    /// A response on one of the call's client transactions.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        key: ClientKey,
        response: Response,
    ) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        if let Some(index) = call.b.iter().position(|leg| leg.key == key) {
            self.on_leg_response(now, wall, seq, index, response);
        } else if call.relaying.iter().any(|r| r.to_key == key) {
            self.on_relayed_response(now, wall, seq, key, response);
        } else if response.status >= 200 {
            // The answer to a BYE crossbar sent: nothing more to do.
            self.by_client.remove(&key);
            self.forget_if_done(seq);
        }
    }

    fn on_leg_response(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        index: usize,
        response: Response,
    ) {
        let status = response.status;
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        let id = call.id.clone();
        let leg_id = call.b[index].leg;
        match status {
            100 => {}
            101..=199 => {
                if call.phase != Phase::Ringing || !call.b[index].state.is_pending() {
                    return;
                }
                if call.b[index].state == LegState::Trying {
                    call.b[index].state = LegState::Ringing;
                }
                let early_media = !response.body.is_empty();
                if early_media {
                    self.learn_callee_media(seq, &response);
                }
                // Relay the provisional to the caller with crossbar's tag and SDP.
                let mut provisional = self.response_for_caller(seq, status, &response);
                provisional.reason = response.reason.clone();
                if let Some(call) = self.calls.get(&seq) {
                    let key = call.a.invite_key;
                    self.endpoint.respond(now, key, provisional);
                }
                if matches!(status, 180 | 183) {
                    self.emit(
                        wall,
                        &id,
                        EventKind::Ringing {
                            leg: leg_id,
                            early_media,
                        },
                    );
                }
            }
            200..=299 => self.on_leg_answered(now, wall, seq, index, response),
            _ => {
                call.b[index].state = LegState::Failed(status);
                self.by_client.remove(&call.b[index].key);
                self.emit(
                    wall,
                    &id,
                    EventKind::LegFailed {
                        leg: leg_id,
                        status,
                    },
                );
                self.after_leg_failure(now, wall, seq);
            }
        }
    }

    /// A callee answered. The first answer wins: it is ACKed, the other legs are
    /// cancelled, and the caller gets the 200 (with crossbar's SDP).
    fn on_leg_answered(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        index: usize,
        response: Response,
    ) {
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        let leg = &mut call.b[index];
        let Some(dialog) = dialog::from_response(&leg.invite, &response, leg.destination) else {
            tracing::warn!("2xx without a usable dialog; ignored");
            return;
        };
        let cseq = leg.invite.headers.cseq().map(|c| c.seq).unwrap_or(1);
        let already = leg.dialog.is_some();
        leg.dialog = Some(dialog.clone());
        // A late offer (the caller's INVITE had no SDP): the winning callee's 200 carries the
        // offer, and its ACK must carry the answer, which comes in the caller's ACK.
        let wins = call.phase == Phase::Ringing && call.answered.is_none();
        let late_offer = call.a.invite.body.is_empty() && (wins || call.late_ack.is_some());
        if !late_offer {
            // Every 2xx (first or retransmitted) is ACKed (§13.2.2.4).
            let ack = self.with_via(dialog.ack(cseq), dialog.destination);
            self.endpoint
                .transmit(dialog.destination, crossbar_sip::Message::Request(ack));
        } else if !already {
            call.late_ack = Some((index, cseq));
        }
        if already {
            return;
        }
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        if call.phase != Phase::Ringing || call.answered.is_some() {
            // Answered after the caller gave up or another leg won (the CANCEL/200
            // race, §9.1): this leg is hung up at once.
            call.b[index].state = LegState::Ended;
            self.bye_leg(now, seq, index);
            self.forget_if_done(seq);
            return;
        }
        call.b[index].state = LegState::Answered;
        call.answered = Some(index);
        let id = call.id.clone();
        let leg_id = call.b[index].leg;
        let callee_dialog_key = (dialog.call_id.clone(), dialog.local_tag.clone());
        self.index_dialog(seq, callee_dialog_key, Side::Callee);
        self.learn_callee_media(seq, &response);

        // Cancel the other legs still ringing.
        let others: Vec<(usize, ClientKey)> = self.calls[&seq]
            .b
            .iter()
            .enumerate()
            .filter(|(i, leg)| *i != index && leg.state.is_pending())
            .map(|(i, leg)| (i, leg.key))
            .collect();
        for (i, key) in others {
            if self.endpoint.cancel(now, key).is_ok()
                && let Some(call) = self.calls.get_mut(&seq)
            {
                call.b[i].state = LegState::Cancelling;
            }
        }

        // The session interval the callee agreed to (RFC 4028 §7.2), passed to the caller.
        let session = response
            .headers
            .get(&HeaderName::SessionExpires)
            .map(str::to_owned);
        let mut ok = self.response_for_caller(seq, 200, &response);
        if let Some(value) = &session {
            ok.headers.push(HeaderName::SessionExpires, value.clone());
            ok.headers.push(HeaderName::Require, "timer");
        }
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        call.phase = Phase::Answered;
        call.a.final_sent = true;
        call.a.dialog = dialog::from_request(&call.a.invite, &call.a.local_tag, call.a.source);
        let caller_dialog_key = call
            .a
            .dialog
            .as_ref()
            .map(|d| (d.call_id.clone(), d.local_tag.clone()));
        call.a.ok = Some(ok.clone());
        call.a.ok_deadline = Some(now + crate::ACK_WAIT);
        call.session_expires = session
            .as_deref()
            .and_then(|v| v.split(';').next())
            .and_then(|v| v.trim().parse().ok());
        let key = call.a.invite_key;
        let interval = call.a.ok_interval;
        if let Some(dialog_key) = caller_dialog_key {
            self.index_dialog(seq, dialog_key, Side::Caller);
        }
        self.endpoint.respond(now, key, ok);
        self.arm(now + interval, seq, CallTimer::RetransmitOk);
        self.restart_session_timer(now, seq);
        tracing::info!(call = %id, leg = leg_id.0, "answered");
        self.emit(wall, &id, EventKind::Answered { leg: leg_id });
    }

    /// (Re)arms the RFC 4028 session timer: the call ends if no refresh succeeds within the
    /// interval (§10: the refresher sends one by half of it; crossbar waits the whole of it).
    pub(crate) fn restart_session_timer(&mut self, now: Instant, seq: CallSeq) {
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        if let Some(secs) = call.session_expires {
            let at = now + std::time::Duration::from_secs(u64::from(secs));
            call.session_deadline = Some(at);
            self.arm(at, seq, CallTimer::SessionExpiry);
        }
    }

    /// After a callee leg failed: if none is left and nobody answered, the caller gets the
    /// best final response (§16.7: 6xx first, then the most telling 4xx/5xx).
    fn after_leg_failure(&mut self, now: Instant, wall: SystemTime, seq: CallSeq) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        if call.phase == Phase::Ending {
            self.forget_if_done(seq);
            return;
        }
        if call.phase != Phase::Ringing || call.pending_legs() > 0 {
            return;
        }
        let statuses: Vec<u16> = call
            .b
            .iter()
            .filter_map(|leg| match leg.state {
                LegState::Failed(status) => Some(status),
                _ => None,
            })
            .collect();
        let status = best_failure(&statuses);
        self.give_up_ringing(
            now,
            wall,
            seq,
            status,
            EndReason::TargetsFailed { status },
            HangupSide::Callee,
        );
    }

    /// The caller sent CANCEL (§9.2): 487 to its INVITE, CANCEL to every ringing leg.
    pub(crate) fn caller_gave_up(&mut self, now: Instant, wall: SystemTime, seq: CallSeq) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        if call.phase != Phase::Ringing {
            return;
        }
        tracing::info!(call = %call.id, "caller cancelled");
        self.give_up_ringing(
            now,
            wall,
            seq,
            487,
            EndReason::CallerGaveUp,
            HangupSide::Caller,
        );
    }

    /// Ends an unanswered call: the caller gets `status` (unless it already has a final
    /// response), every pending leg is cancelled.
    pub(crate) fn give_up_ringing(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        status: u16,
        reason: EndReason,
        hangup_by: HangupSide,
    ) {
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        let pending: Vec<(usize, ClientKey)> = call
            .b
            .iter()
            .enumerate()
            .filter(|(_, leg)| matches!(leg.state, LegState::Trying | LegState::Ringing))
            .map(|(i, leg)| (i, leg.key))
            .collect();
        let respond = !call.a.final_sent;
        call.a.final_sent = true;
        let response = tagged(&call.a.invite, status, &call.a.local_tag);
        let key = call.a.invite_key;
        for (i, leg_key) in pending {
            if self.endpoint.cancel(now, leg_key).is_ok()
                && let Some(call) = self.calls.get_mut(&seq)
            {
                call.b[i].state = LegState::Cancelling;
            }
        }
        if respond {
            self.endpoint.respond(now, key, response);
        }
        self.finish(wall, seq, reason, hangup_by, Some(status));
    }

    /// Fails a call for a local reason (e.g. the relay could not open).
    pub(crate) fn fail_call(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        status: u16,
        detail: String,
    ) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        let reason = EndReason::Error {
            status: Some(status),
            detail,
        };
        match call.phase {
            Phase::Ringing => {
                self.give_up_ringing(now, wall, seq, status, reason, HangupSide::System)
            }
            Phase::Answered => self.end_answered(now, wall, seq, None, reason),
            Phase::Ending => {}
        }
    }

    /// The callee's SDP (in a 18x or the 200): where side B of the relay sends.
    fn learn_callee_media(&mut self, seq: CallSeq, response: &Response) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        let (Some(media), Ok(sdp)) = (
            call.media.as_ref(),
            SessionDescription::parse(&response.body),
        ) else {
            return;
        };
        self.outputs
            .push_back(SwitchOutput::Media(MediaCommand::SetRemote {
                id: media.relay,
                side: RelaySide::B,
                rtp: sdp.media_destination(0),
                rtcp: sdp.rtcp_destination(0),
            }));
    }

    /// A response for the caller built from a callee's: crossbar's tag, contact and SDP.
    fn response_for_caller(
        &mut self,
        seq: CallSeq,
        status: u16,
        from_callee: &Response,
    ) -> Response {
        let contact = self.contact_value();
        let address = self.settings.media_address;
        let Some(call) = self.calls.get_mut(&seq) else {
            return Response::new(status);
        };
        let mut response = tagged(&call.a.invite, status, &call.a.local_tag);
        response.headers.push(HeaderName::Contact, contact);
        response
            .headers
            .push(HeaderName::Allow, crossbar_proto::endpoint::ALLOWED_METHODS);
        if let (Some(media), Ok(sdp)) = (
            call.media.as_mut(),
            SessionDescription::parse(&from_callee.body),
        ) && !from_callee.body.is_empty()
        {
            let rewritten =
                crossbar_sdp::relay_rewrite(&sdp, address, &[media.a_port], &mut media.a_origin);
            response
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            response.body = Bytes::from(rewritten.to_bytes());
        }
        response
    }

    /// BYE to callee leg `index` (one that answered too late).
    fn bye_leg(&mut self, now: Instant, seq: CallSeq, index: usize) {
        let Some(dialog) = self
            .calls
            .get_mut(&seq)
            .and_then(|call| call.b.get_mut(index))
            .and_then(|leg| leg.dialog.as_mut())
        else {
            return;
        };
        let request = dialog.request(Method::Bye);
        let destination = dialog.destination;
        let request = self.with_via(request, destination);
        let request = self.add_identity(request);
        match self.endpoint.send_request(now, request, destination) {
            Ok(key) => self.index_client(seq, key),
            Err(error) => tracing::warn!(%error, "BYE to a late leg not sent"),
        }
    }

    /// Calls an extension takes part in now.
    fn calls_of(&self, number: &str) -> usize {
        self.calls_per_extension.get(number).copied().unwrap_or(0)
    }
}

/// Where requests for a registered contact go. Over a connection (TCP/TLS) they reuse the
/// phone's own connection. Over UDP: when the contact names the IP the REGISTER came from,
/// there is no NAT in between and the contact's port is the phone's listening port (a
/// phone may register from another socket, or a third party may register it); otherwise
/// (a private address behind NAT, a host name) the REGISTER's source is the only address
/// known to reach the phone (symmetric signalling, as RFC 3581 does for responses).
fn reach(contact: &str, source: Peer) -> Peer {
    if source.is_reliable() {
        return source;
    }
    let Ok(Uri::Sip(uri)) = Uri::parse(contact) else {
        return source;
    };
    let ip = match &uri.host {
        crossbar_sip::Host::V4(ip) => std::net::IpAddr::V4(*ip),
        crossbar_sip::Host::V6(ip) => std::net::IpAddr::V6(*ip),
        crossbar_sip::Host::Name(_) => return source,
    };
    let udp = uri
        .params
        .value("transport")
        .is_none_or(|t| t.eq_ignore_ascii_case("udp"));
    if ip == source.addr.ip() && udp {
        let port = uri.port.unwrap_or(5060);
        Peer::new(source.transport, std::net::SocketAddr::new(ip, port))
    } else {
        source
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

/// `Session-Expires` of a request (RFC 4028 §4), in seconds.
fn session_expires_of(request: &Request) -> Option<u32> {
    request
        .headers
        .get(&HeaderName::SessionExpires)
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.trim().parse().ok())
}

/// The response the caller gets when every callee leg failed (§16.7 step 6, simplified
/// for a PBX): any 6xx wins; then busy (486) over unavailable; then the lowest class.
fn best_failure(statuses: &[u16]) -> u16 {
    if let Some(global) = statuses.iter().find(|s| (600..700).contains(*s)) {
        return *global;
    }
    if statuses.contains(&486) {
        return 486;
    }
    let unanswered = statuses.iter().all(|s| matches!(s, 408 | 480 | 487));
    if unanswered {
        return 480;
    }
    statuses
        .iter()
        .copied()
        .filter(|s| !matches!(s, 408 | 480 | 487))
        .min()
        .unwrap_or(480)
}

#[cfg(test)]
mod tests {
    use super::best_failure;

    #[test]
    fn contacts_are_reached_directly_unless_behind_nat_or_over_a_connection() {
        use crossbar_proto::transaction::Peer;
        let udp = |a: &str| Peer::udp(a.parse().expect("addr"));
        let source = udp("192.0.2.10:40000");
        // Same IP: the contact's own port.
        assert_eq!(
            super::reach("sip:201@192.0.2.10:5062", source),
            udp("192.0.2.10:5062")
        );
        assert_eq!(
            super::reach("sip:201@192.0.2.10", source),
            udp("192.0.2.10:5060")
        );
        // Private address behind NAT, or a name: the source.
        assert_eq!(super::reach("sip:201@10.0.0.5:5060", source), source);
        assert_eq!(super::reach("sip:201@phone.example", source), source);
        // TCP: the phone's connection.
        let tcp = Peer::tcp("192.0.2.10:40001".parse().expect("addr"));
        assert_eq!(
            super::reach("sip:201@192.0.2.10:5060;transport=tcp", tcp),
            tcp
        );
    }

    #[test]
    fn the_best_failure_prefers_global_then_busy_then_unanswered() {
        assert_eq!(best_failure(&[486, 603]), 603);
        assert_eq!(best_failure(&[480, 486]), 486);
        assert_eq!(best_failure(&[408, 480]), 480);
        assert_eq!(best_failure(&[404, 480]), 404);
        assert_eq!(best_failure(&[]), 480);
    }
}
