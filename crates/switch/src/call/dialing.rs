//! The ringing phase: legs placed to the callee's contacts (all at once, RFC 3261 §16.7
//! forking done by a B2BUA) or to trunks (one after the other: failover), their provisional
//! responses relayed to the caller, the first answer taken, failures collected into the
//! caller's final response, and the ring timeout.

use std::time::SystemTime;

use crossbar_cdr::{EndReason, EventKind, HangupSide, LegId, LegRole};
use crossbar_proto::transaction::Peer;
use crossbar_sdp::SessionDescription;
use crossbar_sip::{HeaderName, Method, NameAddr, Request, Response, Uri};

use super::{Call, Phase, Side, tagged};
use crate::core::{CallTimer, Ctx};
use crate::dialog::{self, Hop};
use crate::leg::{Leg, LegState, LegTarget, LegUpdate};

/// One leg to place: where it goes and how its INVITE is addressed.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) target: LegTarget,
    pub(crate) hop: Hop,
    pub(crate) uri: Uri,
    /// `From` without its tag (the leg adds a fresh one).
    pub(crate) from: NameAddr,
    pub(crate) to: NameAddr,
    /// Extra headers (`Privacy`, `P-Asserted-Identity`).
    pub(crate) headers: Vec<(HeaderName, String)>,
}

impl Attempt {
    /// A leg to every registered contact of extension `number`.
    pub(crate) fn to_contacts(
        ctx: &mut Ctx<'_>,
        caller: &str,
        number: &str,
        wall: SystemTime,
    ) -> Vec<Attempt> {
        Attempt::to_contacts_of(ctx.core, caller, number, wall)
    }

    /// [`Attempt::to_contacts`] before there is a call (a call crossbar originates).
    pub(crate) fn to_contacts_of(
        core: &crate::core::Core,
        caller: &str,
        number: &str,
        wall: SystemTime,
    ) -> Vec<Attempt> {
        let host = core.settings.sip_address;
        let unix = crossbar_proto::endpoint::unix_seconds(wall);
        core.endpoint
            .registrar()
            .contacts(number, unix)
            .into_iter()
            .filter_map(|binding| {
                let Ok(uri) = Uri::parse(&binding.contact) else {
                    tracing::warn!(contact = %binding.contact, "registered contact does not parse; leg skipped");
                    return None;
                };
                let at_crossbar = |user: &str| {
                    NameAddr::new(
                        Uri::parse(&format!("sip:{user}@{host}")).unwrap_or_else(|_| uri.clone()),
                    )
                };
                Some(Attempt {
                    target: LegTarget::Contact {
                        number: number.to_owned(),
                        contact: binding.contact.clone(),
                    },
                    hop: Hop::to(reach(&binding.contact, binding.source)),
                    from: at_crossbar(caller),
                    to: at_crossbar(number),
                    uri,
                    headers: Vec::new(),
                })
            })
            .collect()
    }
}

/// Whether a trunk's failure lets the call try the next trunk (issue: outgoing calls):
/// timeouts, server failures and refusals that say nothing about the number do; answers that
/// say the number is wrong, busy, unavailable or declined stop there (RFC 3261 §21.4–21.6),
/// unless a 6xx carries `Retry-After` (the carrier, not the callee, refuses for now).
pub(crate) fn fails_over(status: u16, retry_after: bool) -> bool {
    match status {
        404 | 410 | 480 | 484 | 485 | 486 | 487 => false,
        600..=699 => retry_after,
        _ => true,
    }
}

impl Call {
    /// Sends the INVITE of a new leg toward a callee, with the call's offer for the B side.
    pub(crate) fn place(&mut self, ctx: &mut Ctx<'_>, attempt: Attempt) {
        let offer = self.b_offer.clone();
        self.place_as(ctx, attempt, LegRole::Callee, offer);
    }

    /// Sends the INVITE of a new leg in `role` (a caller leg: the agent of a call crossbar
    /// originated), with `offer` as its SDP.
    pub(crate) fn place_as(
        &mut self,
        ctx: &mut Ctx<'_>,
        attempt: Attempt,
        role: LegRole,
        offer: Option<crossbar_sip::Bytes>,
    ) {
        let leg_id = LegId(u32::try_from(self.legs.len() + 1).unwrap_or(u32::MAX));
        let host = ctx.settings().sip_address;
        let Attempt {
            target,
            hop,
            uri,
            mut from,
            to,
            headers,
        } = attempt;
        if from.display.is_none() && matches!(target, LegTarget::Contact { .. }) {
            from.display = self.a.invite.headers.from().ok().and_then(|f| f.display);
        }
        let from_tag = ctx.new_tag();
        from.params.set("tag", Some(from_tag.clone()));
        let max_forwards = self
            .a
            .invite
            .headers
            .max_forwards()
            .ok()
            .flatten()
            .map_or(70, |mf| mf.saturating_sub(1));
        let call_id = format!("{}-{}@{}", self.id, leg_id.0, host.ip());

        let mut request = Request::new(Method::Invite, uri);
        request
            .headers
            .push(HeaderName::MaxForwards, max_forwards.to_string());
        request.headers.push(HeaderName::From, from.to_string());
        request.headers.push(HeaderName::To, to.to_string());
        request.headers.push(HeaderName::CallId, call_id.clone());
        request.headers.push(HeaderName::CSeq, "1 INVITE");
        // Where the far end reaches crossbar: the listener the leg leaves from.
        let contact = format!("<sip:crossbar@{}>", hop.sent_by.unwrap_or(host));
        request.headers.push(HeaderName::Contact, contact);
        request
            .headers
            .push(HeaderName::Allow, crossbar_proto::endpoint::ALLOWED_METHODS);
        if !self.session.headers.is_empty() {
            request.headers.push(HeaderName::Supported, "timer");
        }
        for (name, value) in self.session.headers.iter().chain(&headers) {
            request.headers.push(name.clone(), value.clone());
        }
        if let Some(body) = offer {
            request
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            request.body = body;
        }
        let (contact, trunk, rate) = match &target {
            LegTarget::Contact { contact, .. } => (Some(contact.clone()), None, None),
            LegTarget::Trunk { trunk, rate, .. } => {
                (Some(request.uri.to_string()), Some(trunk.clone()), *rate)
            }
        };
        let name = target.name().to_owned();
        let Some(leg) = Leg::place(ctx, leg_id, target, request, hop) else {
            tracing::warn!(call = %self.id, leg = leg_id.0, "leg not sent");
            return;
        };
        ctx.index_dialog((call_id, from_tag), Side::Callee);
        let mut leg = leg;
        if let Some(trunk) = trunk
            .as_deref()
            .and_then(|name| ctx.core.trunks.get_mut(name))
        {
            trunk.call_started(ctx.now);
            leg.on_trunk = true;
        }
        self.legs.push(leg);
        ctx.emit(
            &self.id,
            EventKind::LegCreated {
                leg: leg_id,
                role,
                target: name,
                contact,
                trunk,
                rate,
            },
        );
    }

    /// A response on the INVITE of leg `index`.
    pub(crate) fn on_leg_response(&mut self, ctx: &mut Ctx<'_>, index: usize, response: Response) {
        if self.is_agent_leg(index) {
            self.on_agent_leg_response(ctx, index, &response);
            return;
        }
        let wanted =
            matches!(self.phase, Phase::Ringing | Phase::Serving) && self.answered.is_none();
        // Serving, crossbar made the legs' offer itself.
        let late_offer = self.a.invite.body.is_empty() && self.phase != Phase::Serving;
        let Some(leg) = self.legs.get_mut(index) else {
            return;
        };
        let leg_id = leg.id;
        let was_live = leg.state.is_live();
        match leg.on_response(ctx, &response, wanted, late_offer) {
            LegUpdate::Nothing | LegUpdate::Reissued => {}
            LegUpdate::AnsweredTooLate => {}
            LegUpdate::Provisional => self.relay_provisional(ctx, index, &response),
            LegUpdate::Answered if self.in_queue() => {
                self.queue_leg_answered(ctx, index, &response);
            }
            LegUpdate::Answered => self.take_answer(ctx, index, &response),
            LegUpdate::Failed(status) => {
                self.release_trunk(ctx, index);
                ctx.emit(
                    &self.id,
                    EventKind::LegFailed {
                        leg: leg_id,
                        status,
                    },
                );
                let retry_after = response.headers.contains(&HeaderName::RetryAfter);
                if self.receiving.is_some() {
                    self.received_leg_failed(ctx, index, status, retry_after, was_live);
                } else if self.origin.is_some() {
                    self.customer_leg_failed(ctx, status, retry_after);
                } else {
                    self.after_leg_failure_with(ctx, status, retry_after);
                }
            }
        }
        // An originated call dials the customer while crossbar serves the agent.
        let dialling =
            self.phase == Phase::Ringing || (self.phase == Phase::Serving && self.origin.is_some());
        if matches!(response.status, 100..=199)
            && dialling
            && self.receiving.is_none()
            && self.legs.get(index).is_some_and(|leg| leg.state.is_live())
            && self.legs[index].target.trunk().is_some()
            && ctx
                .core
                .timers
                .deadline(crate::core::TimerKey::Call(ctx.seq, CallTimer::Ring))
                .is_none()
        {
            // A trunk's number rings from the carrier's first provisional response on.
            let ring = ctx.settings().ring_timeout;
            ctx.arm(CallTimer::Ring, ctx.now + ring);
        }
    }

    /// A 18x from a live leg: relayed to the caller with crossbar's tag and SDP.
    fn relay_provisional(&mut self, ctx: &mut Ctx<'_>, index: usize, response: &Response) {
        let early_media = !response.body.is_empty();
        if early_media {
            self.learn_callee_media(ctx, response);
        }
        if self.phase == Phase::Serving {
            // The caller has crossbar's answer: they hear ringback from crossbar.
            if matches!(response.status, 180 | 183) {
                let leg = self.legs[index].id;
                ctx.emit(&self.id, EventKind::Ringing { leg, early_media });
            }
            self.start_ringback(ctx);
            return;
        }
        let mut provisional = self.response_for_caller(ctx, response.status, response);
        provisional.reason = response.reason.clone();
        if let Some(key) = self.a.invite_key {
            ctx.respond(key, provisional);
        }
        if matches!(response.status, 180 | 183) {
            let leg = self.legs[index].id;
            ctx.emit(&self.id, EventKind::Ringing { leg, early_media });
        }
    }

    /// The first answer wins: the other legs are cancelled, and the caller gets the 200
    /// (with crossbar's SDP).
    pub(crate) fn take_answer(&mut self, ctx: &mut Ctx<'_>, index: usize, response: &Response) {
        let leg = &self.legs[index];
        let leg_id = leg.id;
        let Some(dialog) = leg.dialog.clone() else {
            return;
        };
        if self.a.invite.body.is_empty() && self.phase != Phase::Serving {
            self.late_ack = Some((index, leg.invite_cseq()));
        }
        self.answered = Some(index);
        self.answered_at = Some(ctx.now);
        if let Some(trunk) = self.legs[index].target.trunk().map(str::to_owned) {
            ctx.trunk_evidence(&trunk, true);
        }
        ctx.index_dialog(
            (dialog.call_id.clone(), dialog.local_tag.clone()),
            Side::Callee,
        );
        self.learn_callee_media(ctx, response);
        for (i, leg) in self.legs.iter_mut().enumerate() {
            if i != index {
                leg.cancel(ctx);
            }
        }
        self.next_attempts.clear();
        if self.phase == Phase::Serving {
            // crossbar answered the caller already: the relay's far side becomes the phone.
            self.phase = Phase::Answered;
            self.bridge_served(ctx, index);
            ctx.core
                .timers
                .cancel(crate::core::TimerKey::Call(ctx.seq, CallTimer::Ring));
            tracing::info!(call = %self.id, leg = leg_id.0, "answered");
            ctx.emit(&self.id, EventKind::Answered { leg: leg_id });
            self.outside_answered(ctx);
            return;
        }
        if self.receiving.is_some() {
            self.received_answer(ctx, index);
        }

        // The session interval the callee agreed to (RFC 4028 §7.2), passed to the caller.
        let session = response
            .headers
            .get(&HeaderName::SessionExpires)
            .map(str::to_owned);
        let mut ok = self.response_for_caller(ctx, 200, response);
        if let Some(value) = &session {
            ok.headers.push(HeaderName::SessionExpires, value.clone());
            ok.headers.push(HeaderName::Require, "timer");
        }
        self.phase = Phase::Answered;
        self.a.final_sent = true;
        self.a.dialog = dialog::from_request(&self.a.invite, &self.a.local_tag, self.a.source);
        if let Some(caller_dialog) = &self.a.dialog {
            ctx.index_dialog(
                (
                    caller_dialog.call_id.clone(),
                    caller_dialog.local_tag.clone(),
                ),
                Side::Caller,
            );
        }
        self.a.ok = Some(ok.clone());
        self.a.ok_deadline = Some(ctx.now + crate::ACK_WAIT);
        self.session.expires = session
            .as_deref()
            .and_then(|v| v.split(';').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(key) = self.a.invite_key {
            ctx.respond(key, ok);
        }
        ctx.arm(CallTimer::RetransmitOk, ctx.now + self.a.ok_interval);
        ctx.core
            .timers
            .cancel(crate::core::TimerKey::Call(ctx.seq, CallTimer::Ring));
        self.restart_session_timer(ctx);
        tracing::info!(call = %self.id, leg = leg_id.0, "answered");
        ctx.emit(&self.id, EventKind::Answered { leg: leg_id });
        self.outside_answered(ctx);
    }

    /// The call is answered: its outside party is reached (see [`Core::outside_reached`]).
    ///
    /// [`Core::outside_reached`]: crate::core::Core::outside_reached
    fn outside_answered(&self, ctx: &mut Ctx<'_>) {
        if let Some(number) = &self.outside {
            let (now, wall, seq) = (ctx.now, ctx.wall, ctx.seq);
            ctx.core.outside_reached(now, wall, number, seq);
        }
    }

    /// After a leg failed: the next trunk if the failure allows it, else — once no leg is
    /// left and nobody answered — the caller gets the best final response (§16.7: 6xx
    /// first, then the most telling 4xx/5xx).
    pub(crate) fn after_leg_failure(&mut self, ctx: &mut Ctx<'_>) {
        self.after_leg_failure_with(ctx, 0, false);
    }

    fn after_leg_failure_with(&mut self, ctx: &mut Ctx<'_>, status: u16, retry_after: bool) {
        if self.receiving.is_some() {
            // Every attempt of an incoming call's target could not be sent.
            if self.pending_live_legs() == 0 && self.next_attempts.is_empty() {
                let status = if status == 0 { 503 } else { status };
                self.unanswered(ctx, crossbar_routing::Unanswered::Unavailable, status);
            }
            return;
        }
        if self.phase != Phase::Ringing || self.answered.is_some() {
            return;
        }
        if !self.next_attempts.is_empty() && (status == 0 || fails_over(status, retry_after)) {
            if self.pending_live_legs() == 0 {
                self.fail_over(ctx);
            }
            return;
        }
        if self.pending_live_legs() > 0 {
            return;
        }
        let statuses: Vec<u16> = self
            .legs
            .iter()
            .filter_map(|leg| match leg.state {
                LegState::Failed(status) => Some(status),
                _ => None,
            })
            .collect();
        let status = best_failure(&statuses);
        self.give_up_ringing(
            ctx,
            status,
            EndReason::TargetsFailed { status },
            HangupSide::Callee,
        );
    }

    /// The leg no longer counts in its trunk's calls.
    pub(crate) fn release_trunk(&mut self, ctx: &mut Ctx<'_>, index: usize) {
        let Some(leg) = self.legs.get_mut(index) else {
            return;
        };
        if !std::mem::take(&mut leg.on_trunk) {
            return;
        }
        if let Some(trunk) = leg
            .target
            .trunk()
            .and_then(|name| ctx.core.trunks.get_mut(name))
        {
            trunk.call_ended();
        }
    }

    /// Legs still trying or ringing (not being given up).
    pub(crate) fn pending_live_legs(&self) -> usize {
        self.legs.iter().filter(|leg| leg.state.is_live()).count()
    }

    /// Places the next trunk attempt (and the next, if that one cannot be sent).
    pub(crate) fn fail_over(&mut self, ctx: &mut Ctx<'_>) {
        ctx.core
            .timers
            .cancel(crate::core::TimerKey::Call(ctx.seq, CallTimer::Ring));
        while let Some(attempt) = self.next_attempts.pop_front() {
            tracing::info!(call = %self.id, trunk = attempt.target.trunk().unwrap_or(""), "failing over");
            let before = self.legs.len();
            self.place(ctx, attempt);
            if self.legs.len() > before {
                return;
            }
        }
        self.after_leg_failure(ctx);
    }

    /// The INVITE of leg `index` got no final response in time (Timer B: `response` is the
    /// transaction layer's 408) or could not be sent (`None`: a 503 for the leg). Nothing came
    /// back from the far end, which says something about a trunk's health.
    pub(crate) fn on_leg_silence(
        &mut self,
        ctx: &mut Ctx<'_>,
        index: usize,
        response: Option<Response>,
    ) {
        let Some(leg) = self.legs.get(index) else {
            return;
        };
        if let Some(trunk) = leg.target.trunk().map(str::to_owned) {
            ctx.trunk_evidence(&trunk, false);
        }
        let response = response.unwrap_or_else(|| {
            let mut response = leg.invite.response(503);
            response.reason = "Service Unavailable (transport error)".into();
            response
        });
        self.on_leg_response(ctx, index, response);
    }

    /// A 2xx to one of the call's INVITEs after its transaction ended: the retransmission of
    /// an answer is ACKed again (§13.2.2.4); the first 2xx of a leg the call gave up (its
    /// transaction timed out and the call failed over, or ended) is ACKed and hung up.
    pub(crate) fn on_stray_answer(&mut self, ctx: &mut Ctx<'_>, response: &Response) {
        let call_id = response.headers.call_id().unwrap_or_default();
        let Some(leg) = self.legs.iter_mut().find(|leg| leg.call_id() == call_id) else {
            return;
        };
        let cseq = response.headers.cseq().map(|c| c.seq).unwrap_or(1);
        if let Some(dialog) = &leg.dialog {
            ctx.ack(dialog.ack(cseq), dialog.hop);
            return;
        }
        let Some(dialog) = dialog::from_response(&leg.invite, response, leg.hop) else {
            return;
        };
        tracing::info!(call = %self.id, leg = leg.id.0, "an answer after the leg was given up; hanging it up");
        ctx.ack(dialog.ack(cseq), dialog.hop);
        leg.dialog = Some(dialog);
        leg.state = LegState::Ended;
        leg.bye(ctx);
    }

    /// The caller sent CANCEL (§9.2): 487 to its INVITE, CANCEL to every ringing leg.
    pub(crate) fn caller_gave_up(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase != Phase::Ringing {
            return;
        }
        tracing::info!(call = %self.id, "caller cancelled");
        self.give_up_ringing(ctx, 487, EndReason::CallerGaveUp, HangupSide::Caller);
    }

    /// The ring timeout passed with nobody answering.
    pub(crate) fn ring_timeout(&mut self, ctx: &mut Ctx<'_>) {
        if self.origin.is_some() {
            self.originated_ring_timeout(ctx);
            return;
        }
        if self.receiving.is_some() {
            self.received_ring_timeout(ctx);
            return;
        }
        if self.phase == Phase::Ringing {
            tracing::info!(call = %self.id, "ring timeout");
            self.give_up_ringing(ctx, 480, EndReason::RingTimeout, HangupSide::System);
        }
    }

    /// The callee's SDP (in a 18x or the 200): where side B of the relay sends.
    fn learn_callee_media(&mut self, ctx: &mut Ctx<'_>, response: &Response) {
        if let Ok(sdp) = SessionDescription::parse(&response.body) {
            let command = self.media.set_remote(Side::Callee, &sdp);
            ctx.media(command);
        }
    }

    /// A response for the caller built from a callee's: crossbar's tag, contact and SDP.
    fn response_for_caller(
        &mut self,
        ctx: &Ctx<'_>,
        status: u16,
        from_callee: &Response,
    ) -> Response {
        let mut response = tagged(&self.a.invite, status, &self.a.local_tag);
        response
            .headers
            .push(HeaderName::Contact, ctx.contact_value());
        response
            .headers
            .push(HeaderName::Allow, crossbar_proto::endpoint::ALLOWED_METHODS);
        if !from_callee.body.is_empty()
            && let Ok(sdp) = SessionDescription::parse(&from_callee.body)
        {
            let address = ctx.settings().media_address;
            response
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            response.body = self
                .media
                .rewrite_for_other_side(address, Side::Callee, &sdp);
        }
        response
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

/// The response the caller gets when every callee leg failed (§16.7 step 6, simplified
/// for a PBX): any 6xx wins; then busy (486) over unavailable; then the lowest class.
pub(crate) fn best_failure(statuses: &[u16]) -> u16 {
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
    use super::{best_failure, fails_over};

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

    #[test]
    fn failover_follows_server_and_timeout_failures_but_not_number_failures() {
        for status in [408, 500, 502, 503, 504, 403, 488] {
            assert!(fails_over(status, false), "{status}");
        }
        for status in [404, 484, 486, 480, 603, 600] {
            assert!(!fails_over(status, false), "{status}");
        }
        assert!(fails_over(603, true), "a 6xx with Retry-After");
    }
}
