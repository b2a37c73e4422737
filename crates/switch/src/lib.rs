//! The switch: calls between extensions through a B2BUA, sans-IO.
//!
//! [`Switch`] owns the SIP [`Endpoint`] (transactions, registrar, authentication) and
//! handles what the endpoint hands up: an authenticated INVITE becomes a [`call::Call`]
//! with the caller's leg (A) and one leg per registered contact of the callee (B, forked);
//! provisional responses, the answer, CANCEL, BYE and re-INVITE/UPDATE are relayed
//! between the legs; the SDP of both sides is rewritten so RTP flows through crossbar's
//! relay ([`crossbar_media`]); and every step is reported as a [`CallEvent`] from which
//! the call record is folded.
//!
//! Like the endpoint it takes `now` (timers) and the wall clock (records) as arguments
//! and returns what to do through [`Switch::poll_output`].

pub mod call;
pub mod dialog;
mod invite;
mod relay;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use crossbar_cdr::{CallEvent, CallId, EndReason, EventKind, HangupSide};
use crossbar_media::{MediaCommand, MediaEvent, PortPool, RelayId};
use crossbar_proto::endpoint::{Endpoint, EndpointOutput, SipEvent, Ticket};
use crossbar_proto::registrar::{BindingChange, Registrar};
use crossbar_proto::transaction::{ClientKey, Peer, ServerKey, Transmit};
use crossbar_sip::{HeaderName, Message, Method, ParseError, Request, Response};

use call::{Call, CallSeq, LegState, Phase, Side};

/// What the switch needs to know that does not change per call.
#[derive(Debug, Clone)]
pub struct SwitchSettings {
    /// The address crossbar puts in `Via`, `Contact` and the host of URIs it makes.
    pub sip_address: SocketAddr,
    /// The address of the RTP relay, written into SDP.
    pub media_address: IpAddr,
    /// RTP ports for relays (even ports; RTCP is the next one).
    pub rtp_ports: (u16, u16),
    /// How long callee legs ring before the caller gets 480.
    pub ring_timeout: Duration,
    /// Most calls one extension takes part in at once (placed or received).
    pub max_calls_per_extension: usize,
    /// Smallest `Session-Expires` accepted (RFC 4028 §4 `Min-SE`, at least 90).
    pub min_session_expires: u32,
    /// Value of `User-Agent` on requests crossbar sends.
    pub user_agent: String,
}

/// What the run loop must do.
#[allow(clippy::large_enum_variant)] // moved through a queue one at a time
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchOutput {
    /// Send a SIP message.
    Transmit(Transmit),
    /// Persist registrar binding changes, then call [`Switch::persisted`].
    Persist {
        ticket: Ticket,
        changes: Vec<BindingChange>,
    },
    /// Open, update or close an RTP relay; answer with [`Switch::handle_media_event`].
    Media(MediaCommand),
    /// Something happened to a call (the call record is folded from these).
    Call(CallEvent),
}

/// Timers the switch keeps for its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CallTimer {
    /// The callee legs have rung long enough.
    Ring,
    /// Retransmit the 200 to the caller (§13.3.1.4) or give up waiting for the ACK.
    RetransmitOk,
    /// The RFC 4028 session interval passed without a refresh.
    SessionExpiry,
}

/// The ACK for the caller's 200 must arrive within 64·T1 (§13.3.1.4).
const ACK_WAIT: Duration = Duration::from_secs(32);
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

pub struct Switch {
    endpoint: Endpoint,
    settings: SwitchSettings,
    ports: PortPool,
    calls: HashMap<CallSeq, Call>,
    /// The caller's INVITE transaction → call.
    by_invite: HashMap<ServerKey, CallSeq>,
    /// Client transactions the switch started (callee INVITEs, BYEs, relayed requests).
    by_client: HashMap<ClientKey, CallSeq>,
    /// In-dialog requests find their call by (Call-ID, crossbar's tag).
    by_dialog: HashMap<(String, String), (CallSeq, Side)>,
    by_relay: HashMap<RelayId, CallSeq>,
    /// Calls each extension takes part in now (placed or received, not yet ended).
    calls_per_extension: HashMap<String, usize>,
    /// Ports of every relay until its sockets are closed.
    relay_ports: HashMap<RelayId, [u16; 2]>,
    timers: BinaryHeap<Reverse<(Instant, CallSeq, CallTimer)>>,
    outputs: VecDeque<SwitchOutput>,
    next_call: CallSeq,
    next_relay: u64,
    /// Distinguishes this run's call ids from earlier runs'.
    run_id: u64,
}

impl Switch {
    pub fn new(endpoint: Endpoint, settings: SwitchSettings, seed: u64) -> Switch {
        let (first, last) = settings.rtp_ports;
        Switch {
            endpoint,
            ports: PortPool::new(first, last),
            settings,
            calls: HashMap::new(),
            by_invite: HashMap::new(),
            by_client: HashMap::new(),
            by_dialog: HashMap::new(),
            by_relay: HashMap::new(),
            relay_ports: HashMap::new(),
            calls_per_extension: HashMap::new(),
            timers: BinaryHeap::new(),
            outputs: VecDeque::new(),
            next_call: 0,
            next_relay: 0,
            run_id: seed,
        }
    }

    pub fn registrar(&self) -> &Registrar {
        self.endpoint.registrar()
    }

    /// One UDP datagram.
    pub fn handle_datagram(&mut self, now: Instant, wall: SystemTime, bytes: &[u8], source: Peer) {
        self.endpoint.handle_datagram(now, wall, bytes, source);
        self.drain(now, wall);
    }

    /// One message from a stream (or why it is malformed).
    pub fn handle_message(
        &mut self,
        now: Instant,
        wall: SystemTime,
        parsed: Result<Message, ParseError>,
        source: Peer,
    ) {
        self.endpoint.handle_message(now, wall, parsed, source);
        self.drain(now, wall);
    }

    pub fn persisted(&mut self, now: Instant, wall: SystemTime, ticket: Ticket, ok: bool) {
        self.endpoint.persisted(now, wall, ticket, ok);
        self.drain(now, wall);
    }

    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        self.endpoint.handle_timeout(now, wall);
        while let Some(Reverse((at, seq, timer))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            self.on_timer(now, wall, seq, timer, at);
        }
        self.drain(now, wall);
    }

    pub fn handle_media_event(&mut self, now: Instant, wall: SystemTime, event: MediaEvent) {
        match event {
            MediaEvent::OpenFailed { id, reason } => {
                // One of its ports is held by another process: they are retired from the
                // pool rather than handed to the next call (which would fail the same way).
                if let Some(ports) = self.relay_ports.remove(&id) {
                    tracing::warn!(?ports, "relay ports in use elsewhere; no longer used");
                }
                if let Some(seq) = self.by_relay.get(&id).copied() {
                    tracing::warn!(%reason, "relay could not open");
                    let detail = format!("media relay: {reason}");
                    self.fail_call(now, wall, seq, 503, detail);
                }
            }
            MediaEvent::Inactive { id, idle_secs } => {
                if let Some(seq) = self.by_relay.get(&id).copied() {
                    tracing::info!(idle_secs, "no RTP; ending the call");
                    self.end_answered(now, wall, seq, None, EndReason::MediaTimeout);
                }
            }
            MediaEvent::Closed { id, stats } => {
                tracing::info!(
                    relay = id.0,
                    a_to_b_packets = stats.a_to_b.packets,
                    b_to_a_packets = stats.b_to_a.packets,
                    a_to_b_lost = stats.a_to_b.lost,
                    b_to_a_lost = stats.b_to_a.lost,
                    telephone_events =
                        stats.a_to_b.telephone_events + stats.b_to_a.telephone_events,
                    "relay closed"
                );
                self.by_relay.remove(&id);
                self.release_relay(id);
            }
        }
        self.drain(now, wall);
    }

    /// Returns a relay's ports to the pool once its sockets are gone, so a new call cannot
    /// collide with them.
    fn release_relay(&mut self, id: RelayId) {
        for port in self.relay_ports.remove(&id).into_iter().flatten() {
            self.ports.release(port);
        }
    }

    /// crossbar is stopping: every call still up is ended — BYE to both sides of answered
    /// calls, 503 to callers still ringing — and recorded as interrupted.
    pub fn shut_down(&mut self, now: Instant, wall: SystemTime) {
        let mut seqs: Vec<CallSeq> = self.calls.keys().copied().collect();
        seqs.sort_unstable();
        for seq in seqs {
            match self.calls.get(&seq).map(|c| c.phase) {
                Some(Phase::Ringing) => self.give_up_ringing(
                    now,
                    wall,
                    seq,
                    503,
                    EndReason::Interrupted,
                    HangupSide::System,
                ),
                Some(Phase::Answered) => {
                    self.end_answered(now, wall, seq, None, EndReason::Interrupted);
                }
                Some(Phase::Ending) | None => {}
            }
        }
        self.drain(now, wall);
    }

    pub fn poll_output(&mut self) -> Option<SwitchOutput> {
        self.outputs.pop_front()
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let own = self.timers.peek().map(|Reverse((at, _, _))| *at);
        match (self.endpoint.poll_timeout(), own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Moves the endpoint's outputs out, handling the events meant for calls.
    fn drain(&mut self, now: Instant, wall: SystemTime) {
        self.endpoint.flush(now, wall);
        while let Some(output) = self.endpoint.poll_output() {
            match output {
                EndpointOutput::Transmit(t) => self.outputs.push_back(SwitchOutput::Transmit(t)),
                EndpointOutput::Persist { ticket, changes } => self
                    .outputs
                    .push_back(SwitchOutput::Persist { ticket, changes }),
                EndpointOutput::Sip(event) => self.on_sip(now, wall, event),
            }
            self.endpoint.flush(now, wall);
        }
    }

    fn on_sip(&mut self, now: Instant, wall: SystemTime, event: SipEvent) {
        match event {
            SipEvent::Invite {
                key,
                request,
                source,
                caller,
            } => self.on_invite(now, wall, key, request, source, caller),
            SipEvent::InDialog {
                key,
                request,
                source,
            } => self.on_in_dialog(now, wall, key, request, source),
            SipEvent::Ack { request, source } => self.on_ack(now, wall, &request, source),
            SipEvent::Cancelled { key } => {
                if let Some(seq) = self.by_invite.get(&key).copied() {
                    self.caller_gave_up(now, wall, seq);
                }
            }
            SipEvent::AckTimeout { key } => {
                self.by_invite.remove(&key);
            }
            SipEvent::Response { key, response } => {
                if let Some(seq) = self.by_client.get(&key).copied() {
                    self.on_response(now, wall, seq, key, response);
                }
            }
            SipEvent::Timeout { key, response } => {
                if let Some(seq) = self.by_client.get(&key).copied() {
                    self.on_response(now, wall, seq, key, response);
                }
            }
            SipEvent::TransportError { key } => {
                tracing::debug!(%key, "transport error on a call's transaction");
            }
            SipEvent::StrayResponse { response, source } => {
                self.on_stray_response(&response, source);
            }
        }
    }

    fn on_timer(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        timer: CallTimer,
        at: Instant,
    ) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        match timer {
            CallTimer::Ring => {
                if call.phase == Phase::Ringing {
                    tracing::info!(call = %call.id, "ring timeout");
                    self.give_up_ringing(
                        now,
                        wall,
                        seq,
                        480,
                        EndReason::RingTimeout,
                        HangupSide::System,
                    );
                }
            }
            CallTimer::RetransmitOk => self.retransmit_ok(now, wall, seq),
            CallTimer::SessionExpiry => {
                if call.session_deadline == Some(at) && call.phase == Phase::Answered {
                    tracing::info!(call = %call.id, "session expired without a refresh (RFC 4028)");
                    let reason = EndReason::Error {
                        status: None,
                        detail: "session timer expired".into(),
                    };
                    self.end_answered(now, wall, seq, None, reason);
                }
            }
        }
    }

    fn arm(&mut self, at: Instant, seq: CallSeq, timer: CallTimer) {
        self.timers.push(Reverse((at, seq, timer)));
    }

    fn emit(&mut self, wall: SystemTime, call: &CallId, kind: EventKind) {
        self.outputs.push_back(SwitchOutput::Call(CallEvent {
            call: call.clone(),
            at_ms: wall_ms(wall),
            kind,
        }));
    }

    fn new_call_id(&mut self, wall: SystemTime) -> CallId {
        self.next_call += 1;
        CallId(format!(
            "{:012x}-{:08x}-{:06x}",
            wall_ms(wall),
            self.run_id & 0xffff_ffff,
            self.next_call & 0xff_ffff
        ))
    }

    /// The 200 to the caller is retransmitted with doubling intervals until the ACK
    /// (§13.3.1.4); with no ACK after 64·T1 the call is ended with BYE on both sides.
    fn retransmit_ok(&mut self, now: Instant, wall: SystemTime, seq: CallSeq) {
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        if call.a.acked || call.phase != Phase::Answered {
            return;
        }
        let Some(deadline) = call.a.ok_deadline else {
            return;
        };
        if now >= deadline {
            tracing::info!(call = %call.id, "no ACK for the 200; ending the call");
            let reason = EndReason::Error {
                status: None,
                detail: "caller never acknowledged the answer".into(),
            };
            self.end_answered(now, wall, seq, None, reason);
            return;
        }
        let (Some(ok), destination) = (call.a.ok.clone(), call.a.source) else {
            return;
        };
        call.a.ok_interval = (call.a.ok_interval * 2).min(T2);
        let next = now + call.a.ok_interval;
        self.endpoint.transmit(destination, Message::Response(ok));
        self.arm(next, seq, CallTimer::RetransmitOk);
    }

    /// The caller's ACK for the 200 (or for a relayed re-INVITE's 200).
    fn on_ack(&mut self, _now: Instant, wall: SystemTime, request: &Request, _source: Peer) {
        let Some((seq, Side::Caller)) = self.dialog_of(request) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        call.a.acked = true;
        // Late offer: the caller's ACK carries the answer, which the callee's ACK carries on.
        let Some((index, cseq)) = call.late_ack.take() else {
            return;
        };
        let body = self.rewrite_relayed_sdp(
            wall,
            seq,
            Side::Caller,
            &request.body,
            relay::is_sdp(&request.headers),
        );
        let Some(dialog) = self
            .calls
            .get(&seq)
            .and_then(|call| call.b.get(index))
            .and_then(|leg| leg.dialog.as_ref())
        else {
            return;
        };
        let (mut ack, destination) = (dialog.ack(cseq), dialog.destination);
        if !body.is_empty() {
            ack.headers.push(HeaderName::ContentType, "application/sdp");
            ack.body = body;
        }
        let ack = self.with_via(ack, destination);
        self.endpoint.transmit(destination, Message::Request(ack));
    }

    /// A 2xx that matched no transaction: the retransmission of a callee's 200 whose
    /// INVITE transaction has ended; ACK it again (§13.2.2.4).
    fn on_stray_response(&mut self, response: &Response, _source: Peer) {
        if !(200..300).contains(&response.status) {
            return;
        }
        let Ok(cseq) = response.headers.cseq() else {
            return;
        };
        if cseq.method != Method::Invite {
            return;
        }
        let Some(call_id) = response.headers.call_id() else {
            return;
        };
        let Some(tag) = response
            .headers
            .from()
            .ok()
            .and_then(|f| f.tag().map(str::to_owned))
        else {
            return;
        };
        let Some((seq, Side::Callee)) = self.by_dialog.get(&(call_id.to_owned(), tag)).copied()
        else {
            return;
        };
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        let leg = call
            .b
            .iter()
            .find(|leg| leg.dialog.as_ref().is_some_and(|d| d.call_id == call_id));
        let Some((ack, destination)) = leg
            .and_then(|leg| leg.dialog.as_ref())
            .map(|dialog| (dialog.ack(cseq.seq), dialog.destination))
        else {
            return;
        };
        let ack = self.with_via(ack, destination);
        self.endpoint.transmit(destination, Message::Request(ack));
    }

    /// Which call and side an in-dialog request belongs to: its Call-ID and its `To` tag
    /// (crossbar's tag in that dialog).
    fn dialog_of(&self, request: &Request) -> Option<(CallSeq, Side)> {
        let call_id = request.headers.call_id()?.to_owned();
        let tag = request.headers.to().ok()?.tag()?.to_owned();
        self.by_dialog.get(&(call_id, tag)).copied()
    }

    /// Adds crossbar's top `Via` to a request it originates.
    fn with_via(&mut self, mut request: Request, destination: Peer) -> Request {
        let branch = self.endpoint.new_branch();
        request.headers.push_front(
            HeaderName::Via,
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                destination.transport.via_token(),
                self.settings.sip_address
            ),
        );
        request
    }

    /// Ends an answered call: BYE to both sides (except `from`, which sent its own), the
    /// relay closed, the record's last event emitted.
    fn end_answered(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        from: Option<Side>,
        reason: EndReason,
    ) {
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        if call.phase == Phase::Ending {
            return;
        }
        if call.phase == Phase::Ringing {
            let by = match from {
                Some(Side::Caller) => HangupSide::Caller,
                _ => HangupSide::System,
            };
            let status = if matches!(reason, EndReason::CallerGaveUp) {
                487
            } else {
                500
            };
            self.give_up_ringing(now, wall, seq, status, reason, by);
            return;
        }
        for side in [Side::Caller, Side::Callee] {
            if Some(side) != from {
                self.send_in_dialog(now, seq, side, Method::Bye, None);
            }
        }
        let hangup_by = match from {
            Some(Side::Caller) => HangupSide::Caller,
            Some(Side::Callee) => HangupSide::Callee,
            None => HangupSide::System,
        };
        self.finish(wall, seq, reason, hangup_by, None);
    }

    /// The call is over: close the relay, emit `Ended`, forget what no longer matters.
    fn finish(
        &mut self,
        wall: SystemTime,
        seq: CallSeq,
        reason: EndReason,
        hangup_by: HangupSide,
        status: Option<u16>,
    ) {
        let Some(call) = self.calls.get_mut(&seq) else {
            return;
        };
        if call.phase == Phase::Ending {
            return;
        }
        call.phase = Phase::Ending;
        let id = call.id.clone();
        let parties = [call.caller.clone(), call.callee.clone()];
        for party in parties {
            if let Some(count) = self.calls_per_extension.get_mut(&party) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.calls_per_extension.remove(&party);
                }
            }
        }
        let Some(call) = self.calls.get(&seq) else {
            return;
        };
        if let Some(media) = call.media.as_ref() {
            self.outputs
                .push_back(SwitchOutput::Media(MediaCommand::Close { id: media.relay }));
        }
        tracing::info!(call = %id, ?reason, hangup_by = hangup_by.as_str(), "call ended");
        self.emit(
            wall,
            &id,
            EventKind::Ended {
                reason,
                hangup_by,
                status,
            },
        );
        self.forget_if_done(seq);
    }

    /// Drops a call once it has ended and no leg waits for a final response.
    fn forget_if_done(&mut self, seq: CallSeq) {
        let done = self.calls.get(&seq).is_some_and(|c| {
            c.phase == Phase::Ending && c.pending_legs() == 0 && c.relaying.is_empty()
        });
        if !done {
            return;
        }
        if let Some(call) = self.calls.remove(&seq) {
            self.by_invite.remove(&call.a.invite_key);
            for key in &call.client_keys {
                self.by_client.remove(key);
            }
            for key in &call.dialog_keys {
                self.by_dialog.remove(key);
            }
        }
    }

    /// Indexes a client transaction the call started.
    fn index_client(&mut self, seq: CallSeq, key: ClientKey) {
        self.by_client.insert(key, seq);
        if let Some(call) = self.calls.get_mut(&seq) {
            call.client_keys.push(key);
        }
    }

    /// Indexes one of the call's dialogs by (Call-ID, crossbar's tag).
    fn index_dialog(&mut self, seq: CallSeq, key: (String, String), side: Side) {
        if let Some(call) = self.calls.get_mut(&seq)
            && !call.dialog_keys.contains(&key)
        {
            call.dialog_keys.push(key.clone());
        }
        self.by_dialog.insert(key, (seq, side));
    }

    /// Sends `method` (BYE, or a relayed request when `relayed` is given) in the dialog of
    /// `side`; returns the client transaction.
    fn send_in_dialog(
        &mut self,
        now: Instant,
        seq: CallSeq,
        side: Side,
        method: Method,
        relayed: Option<&Request>,
    ) -> Option<ClientKey> {
        let call = self.calls.get_mut(&seq)?;
        let dialog = call.dialog_mut(side)?;
        let mut request = dialog.request(method.clone());
        let destination = dialog.destination;
        let answered_leg = match side {
            Side::Callee => call.answered.and_then(|i| call.b.get_mut(i)),
            Side::Caller => None,
        };
        if method == Method::Bye
            && let Some(leg) = answered_leg
        {
            leg.state = LegState::Ended;
        }
        if let Some(original) = relayed {
            relay::copy_relayed_headers(original, &mut request);
        }
        let request = self.with_via(request, destination);
        let request = self.add_identity(request);
        match self.endpoint.send_request(now, request, destination) {
            Ok(key) => {
                self.index_client(seq, key);
                Some(key)
            }
            Err(error) => {
                tracing::warn!(%error, "in-dialog request not sent");
                None
            }
        }
    }

    /// `User-Agent` and the contact crossbar is reachable at.
    fn add_identity(&self, mut request: Request) -> Request {
        if !request.headers.contains(&HeaderName::Contact)
            && matches!(request.method, Method::Invite | Method::Update)
        {
            request
                .headers
                .push(HeaderName::Contact, self.contact_value());
        }
        request
            .headers
            .push(HeaderName::UserAgent, self.settings.user_agent.clone());
        request
    }

    fn contact_value(&self) -> String {
        format!("<sip:crossbar@{}>", self.settings.sip_address)
    }
}

/// Milliseconds since the Unix epoch.
pub fn wall_ms(wall: SystemTime) -> i64 {
    wall.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
