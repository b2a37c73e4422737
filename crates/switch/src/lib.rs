//! The switch: calls through a B2BUA, sans-IO.
//!
//! [`Switch`] owns the SIP [`Endpoint`] (transactions, registrar, authentication) and a
//! machine per call ([`call`]). It only **demultiplexes**: what the endpoint hands up (an
//! admitted INVITE, a response, an in-dialog request, a CANCEL...) and what the media IO
//! reports is given to the call it belongs to, found through one index; the call acts
//! through a [`Ctx`](core::Ctx) whose effects — messages, relay commands, call events,
//! timers — are queued as [`SwitchOutput`]s.
//!
//! - [`call`]: a call's machine (setup, dialing with forking and failover, the answered
//!   call, in-dialog relaying, ending, and receiving incoming calls: menus, groups, queues);
//! - `apps`: the pure call applications (menu, ring group, and the one queue machine of the
//!   switch that every waiting call and every agent share); `agents`: what the switch says
//!   and is told about queue agents ([`AgentEvent`], [`Switch::agent_login`], ...);
//! - `origination`: calls crossbar places itself — callbacks of missed callers, from the API
//!   ([`Switch::originate_callback`]) or a queue's virtual hold;
//! - [`leg`]: a leg crossbar places (UAC), the same for contacts and trunks;
//! - [`media`]: the call's relay and the SDP each side sees;
//! - [`dialog`]: RFC 3261 §12 dialog state;
//! - `core`: what calls share; `timer`: the one deadline queue.
//!
//! Like the endpoint it takes `now` (timers) and the wall clock (records) as arguments
//! and returns what to do through [`Switch::poll_output`].

mod agents;
mod apps;
pub mod call;
mod core;
pub mod dialog;
mod inbound;
mod leg;
mod live;
mod media;
mod origination;
mod outbound;
mod prompts;
mod queue_view;
mod timer;
mod trunk;
mod usage;

pub use agents::{AgentActivity, AgentEvent, AgentPause, AgentQueue, QueueError};
pub use live::InboundControl;
pub use origination::{CallbackRequest, HeldChange, HeldPlace, OriginateError};
pub use prompts::PromptLibrary;
pub use queue_view::{AgentNow, AgentSnapshot, QueueLine, QueueSnapshot, WaitingCaller};
pub use trunk::TrunkStatus;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use crossbar_cdr::{CallEvent, EndReason, Money};
use crossbar_config::Trunk as TrunkConfig;
use crossbar_media::{MediaCommand, MediaEvent};
use crossbar_proto::endpoint::{Endpoint, EndpointOutput, SipEvent, Ticket};
use crossbar_proto::registrar::{BindingChange, Registrar};
use crossbar_proto::transaction::{ClientKey, Peer, TransactionKey, Transmit};
use crossbar_routing::{Decision, DialPlan, Identity};
use crossbar_sip::{Message, Method, ParseError, Request, Response};

use call::setup::Admitted;
use call::{Call, CallSeq, Side};
use core::{CallTimer, Core, TimerKey};
use trunk::{TrunkAction, Trunks};

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
    /// A trunk's registration or health changed (or its address was looked up).
    Trunk(TrunkStatus),
    /// A fraud cap tripped: `extension` is blocked for outbound calls until an administrator
    /// releases it; keep the block (it must survive a restart) and raise an alert.
    Block {
        extension: String,
        reason: String,
        at_ms: i64,
    },
    /// A round robin group rang a member: it starts at `next` (a position in its member list)
    /// next time; keep it (it must survive a restart, see [`Switch::restore_round_robin`]).
    RoundRobin { group: String, next: usize },
    /// A `round_robin` queue offered a caller: it starts at `next` (a position in its member
    /// order) next time; keep it (see [`Switch::restore_queue_round_robin`]).
    QueueRoundRobin { queue: String, next: usize },
    /// A queue agent's state changed, or it missed an offer: append it to the agent event log
    /// and keep the agent's logins and pause (see [`Switch::restore_agent`]).
    Agent(AgentEvent),
    /// A place in a queue's line for a caller waiting for a callback was kept or given up:
    /// keep it across a restart (see [`Switch::restore_held`]).
    Held(HeldChange),
}

/// The ACK for the caller's 200 must arrive within 64·T1 (§13.3.1.4).
const ACK_WAIT: Duration = Duration::from_secs(32);
const T1: Duration = Duration::from_millis(500);
const T2: Duration = Duration::from_secs(4);

pub struct Switch {
    core: Core,
    calls: HashMap<CallSeq, Call>,
}

impl Switch {
    /// A switch routing calls with `plan`, over the trunks of the configuration. Trunks whose
    /// host is a name have no address until [`Switch::trunk_resolved`] gives one.
    pub fn new(
        endpoint: Endpoint,
        settings: SwitchSettings,
        plan: DialPlan,
        trunks: &[TrunkConfig],
        seed: u64,
    ) -> Switch {
        let trunks = Trunks::new(
            trunks,
            settings.sip_address,
            settings.media_address,
            &settings.user_agent,
            seed,
        );
        let mut switch = Switch {
            core: Core::new(endpoint, settings, plan, trunks, seed),
            calls: HashMap::new(),
        };
        switch.trust_trunk_sources();
        switch
    }

    /// Starts the trunks' registrations and health checks.
    pub fn start(&mut self, now: Instant, wall: SystemTime) {
        for index in 0..self.core.trunks.len() {
            self.poll_trunk(now, wall, index);
        }
        self.drain(now, wall);
    }

    /// A trunk's host was looked up (RFC 3263): its addresses in order of preference, empty
    /// when the lookup failed.
    pub fn trunk_resolved(
        &mut self,
        now: Instant,
        wall: SystemTime,
        trunk: &str,
        addresses: Vec<SocketAddr>,
    ) {
        let mut actions = Vec::new();
        self.core
            .trunks
            .resolved(now, wall, trunk, addresses, &mut actions);
        self.trunk_actions(now, actions);
        self.trust_trunk_sources();
        self.rearm_trunks();
        self.drain(now, wall);
    }

    /// Every trunk's status now (for the API).
    pub fn trunk_statuses(&self, now: Instant, wall: SystemTime) -> Vec<TrunkStatus> {
        self.core.trunks.statuses(now, wall)
    }

    /// The extensions blocked for outbound calls, as the database holds them (a release by
    /// the API or the CLI takes effect here).
    pub fn set_blocked(&mut self, now: Instant, blocked: HashSet<String>) {
        self.core.usage.set_blocked(blocked, now);
    }

    /// The prompts menus play (loaded by the binary from [`PromptLibrary::files`]).
    pub fn set_prompts(&mut self, prompts: PromptLibrary) {
        self.core.prompts = Some(prompts);
    }

    /// Blocked callers and time-condition overrides as the database holds them (a change
    /// through the API or the CLI takes effect here).
    pub fn set_inbound_control(&mut self, control: InboundControl) {
        self.core.inbound = control;
    }

    /// Where a round robin group starts, as kept before a restart.
    pub fn restore_round_robin(&mut self, group: &str, next: usize) {
        self.core.round_robin.insert(group.to_owned(), next);
    }

    /// Today's outbound calls and spend of an extension, from the database after a restart.
    pub fn restore_usage(
        &mut self,
        wall: SystemTime,
        extension: &str,
        calls_today: u32,
        spend_today: Money,
    ) {
        self.core
            .usage
            .restore(extension, calls_today, spend_today, wall);
    }

    /// The routing decision for a call from `caller` to `dialled` right now, against the
    /// switch's live state — what `GET /api/route/explain` shows.
    pub fn route(
        &self,
        now: Instant,
        wall: SystemTime,
        caller: &Identity,
        dialled: &str,
    ) -> Decision {
        let live = self.core.live(now, wall);
        let at = jiff::Timestamp::try_from(wall).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        self.core
            .plan
            .route(&crossbar_routing::Attempt { caller, dialled }, at, &live)
    }

    pub fn dial_plan(&self) -> &DialPlan {
        &self.core.plan
    }

    pub fn registrar(&self) -> &Registrar {
        self.core.endpoint.registrar()
    }

    /// One UDP datagram.
    pub fn handle_datagram(&mut self, now: Instant, wall: SystemTime, bytes: &[u8], source: Peer) {
        self.core.endpoint.handle_datagram(now, wall, bytes, source);
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
        self.core.endpoint.handle_message(now, wall, parsed, source);
        self.drain(now, wall);
    }

    /// A [`Transmit`] of transaction `key` could not be sent (no connection, a refused
    /// connect, a failed write): the transaction fails, and a call waiting on it moves on.
    pub fn handle_transport_error(&mut self, now: Instant, wall: SystemTime, key: TransactionKey) {
        self.core.endpoint.handle_transport_error(now, wall, key);
        self.drain(now, wall);
    }

    /// The connection to `peer` closed: what was sent over it and is still unanswered fails
    /// at once (a call moves on to its next trunk, a trunk's health check fails).
    pub fn handle_connection_lost(&mut self, now: Instant, wall: SystemTime, peer: Peer) {
        self.core.endpoint.handle_connection_lost(now, wall, peer);
        self.drain(now, wall);
    }

    pub fn persisted(&mut self, now: Instant, wall: SystemTime, ticket: Ticket, ok: bool) {
        self.core.endpoint.persisted(now, wall, ticket, ok);
        self.drain(now, wall);
    }

    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        self.core.endpoint.handle_timeout(now, wall);
        while let Some(key) = self.core.timers.pop_due(now) {
            match key {
                TimerKey::Call(seq, timer) => {
                    self.with_call(now, wall, seq, |call, ctx| match timer {
                        CallTimer::Ring => call.ring_timeout(ctx),
                        CallTimer::RetransmitOk => call.retransmit_ok(ctx),
                        CallTimer::SessionExpiry => call.session_expired(ctx),
                        CallTimer::App => call.app_timeout(ctx),
                    });
                }
                TimerKey::Trunk(index) => self.poll_trunk(now, wall, index),
                TimerKey::Queues => {
                    let actions = self.core.queues(now, wall).timeout(now);
                    self.core.queue_actions.extend(actions);
                    self.run_queue_actions(now, wall);
                }
            }
        }
        self.drain(now, wall);
    }

    pub fn handle_media_event(&mut self, now: Instant, wall: SystemTime, event: MediaEvent) {
        match event {
            MediaEvent::OpenFailed { id, reason } => {
                // One of its ports is held by another process: they are retired from the
                // pool rather than handed to the next call (which would fail the same way).
                if let Some(ports) = self.core.relays.retire(id) {
                    tracing::warn!(?ports, "relay ports in use elsewhere; no longer used");
                }
                if let Some(seq) = self.core.index.call_of_relay(&id) {
                    tracing::warn!(%reason, "relay could not open");
                    let detail = format!("media relay: {reason}");
                    self.with_call(now, wall, seq, |call, ctx| call.fail(ctx, 503, detail));
                }
            }
            MediaEvent::Inactive { id, idle_secs } => {
                if let Some(seq) = self.core.index.call_of_relay(&id) {
                    self.with_call(now, wall, seq, |call, ctx| {
                        // Nothing flows before the agent of a call crossbar originated answers.
                        if !call.awaits_agent() {
                            tracing::info!(idle_secs, "no RTP; ending the call");
                            call.end_answered(ctx, None, EndReason::MediaTimeout);
                        }
                    });
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
                self.core.index.remove_relay(&id);
                self.core.relays.release(id);
            }
            MediaEvent::Digit { id, digit } => {
                if let Some(seq) = self.core.index.call_of_relay(&id) {
                    self.with_call(now, wall, seq, |call, ctx| call.on_key(ctx, digit));
                }
            }
            MediaEvent::PlayFinished { id } => {
                if let Some(seq) = self.core.index.call_of_relay(&id) {
                    self.with_call(now, wall, seq, |call, ctx| call.on_play_finished(ctx));
                }
            }
        }
        self.drain(now, wall);
    }

    /// crossbar is stopping: every call still up is ended — BYE to both sides of answered
    /// calls, 503 to callers still ringing — and recorded as interrupted.
    pub fn shut_down(&mut self, now: Instant, wall: SystemTime) {
        let mut seqs: Vec<CallSeq> = self.calls.keys().copied().collect();
        seqs.sort_unstable();
        for seq in seqs {
            self.with_call(now, wall, seq, |call, ctx| call.shut_down(ctx));
        }
        let mut actions = Vec::new();
        self.core.trunks.unregister_all(now, wall, &mut actions);
        self.trunk_actions(now, actions);
        self.drain(now, wall);
    }

    pub fn poll_output(&mut self) -> Option<SwitchOutput> {
        self.core.outputs.pop_front()
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let own = self.core.timers.next();
        match (self.core.endpoint.poll_timeout(), own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs `f` on call `seq` with its context; forgets the call once it is done.
    fn with_call<R>(
        &mut self,
        now: Instant,
        wall: SystemTime,
        seq: CallSeq,
        f: impl FnOnce(&mut Call, &mut core::Ctx<'_>) -> R,
    ) -> Option<R> {
        let call = self.calls.get_mut(&seq)?;
        let mut ctx = self.core.ctx(now, wall, seq);
        let result = f(call, &mut ctx);
        if call.is_done() {
            self.calls.remove(&seq);
            self.core.index.forget(seq);
        }
        if !self.core.trunk_actions.is_empty() {
            let actions = std::mem::take(&mut self.core.trunk_actions);
            self.trunk_actions(now, actions);
            self.rearm_trunks();
        }
        Some(result)
    }

    /// Moves the endpoint's outputs out, handing the events meant for calls to them, and
    /// carries out what the queue machine asked meanwhile; then re-arms the machine's
    /// deadline.
    fn drain(&mut self, now: Instant, wall: SystemTime) {
        loop {
            self.core.endpoint.flush(now, wall);
            while let Some(output) = self.core.endpoint.poll_output() {
                match output {
                    EndpointOutput::Transmit(t) => {
                        self.core.outputs.push_back(SwitchOutput::Transmit(t));
                    }
                    EndpointOutput::Persist { ticket, changes } => self
                        .core
                        .outputs
                        .push_back(SwitchOutput::Persist { ticket, changes }),
                    EndpointOutput::Sip(event) => self.on_sip(now, wall, event),
                }
                self.core.endpoint.flush(now, wall);
            }
            if self.core.queue_actions.is_empty() {
                break;
            }
            self.run_queue_actions(now, wall);
        }
        self.rearm_queues();
    }

    /// Arms the queue machine's next deadline (or forgets it when it has none).
    fn rearm_queues(&mut self) {
        let deadline = self.core.queues_built().and_then(|q| q.deadline());
        match deadline {
            Some(at) => self.core.timers.arm(TimerKey::Queues, at),
            None => self.core.timers.cancel(TimerKey::Queues),
        }
    }

    fn on_sip(&mut self, now: Instant, wall: SystemTime, event: SipEvent) {
        match event {
            SipEvent::Invite {
                key,
                request,
                source,
                caller,
            } => {
                let identity = outbound::identity(&caller);
                let routing = match &identity {
                    Identity::Trunk(trunk) => outbound::Routing {
                        target: self.receive(now, wall, trunk, &request),
                        block: None,
                    },
                    _ => {
                        let dialled = call::setup::dialled(&request);
                        let decision = self.route(now, wall, &identity, &dialled);
                        outbound::target(decision, &self.core.trunks)
                    }
                };
                if let (Some(reason), Identity::Extension(number)) = (routing.block, identity) {
                    self.block(now, wall, &number, reason);
                }
                let invite = Admitted {
                    key,
                    request,
                    source,
                    caller,
                };
                if let Some((seq, call)) =
                    call::setup::start(&mut self.core, now, wall, invite, routing.target)
                {
                    self.calls.insert(seq, call);
                    // A call whose every leg failed at once is over already.
                    self.with_call(now, wall, seq, |_, _| ());
                }
            }
            SipEvent::InDialog {
                key,
                request,
                source: _,
            } => match self.dialog_of(&request) {
                Some((seq, side)) => {
                    self.with_call(now, wall, seq, |call, ctx| {
                        call.on_in_dialog(ctx, side, key, request);
                    });
                }
                None => self.core.endpoint.respond(now, key, request.response(481)),
            },
            SipEvent::Ack { request, source: _ } => {
                if let Some((seq, Side::Caller)) = self.dialog_of(&request) {
                    self.with_call(now, wall, seq, |call, ctx| {
                        call.on_caller_ack(ctx, &request)
                    });
                }
            }
            SipEvent::Cancelled { key } => {
                if let Some(seq) = self.core.index.call_of_invite(&key) {
                    self.with_call(now, wall, seq, |call, ctx| call.caller_gave_up(ctx));
                }
            }
            SipEvent::AckTimeout { key } => self.core.index.remove_invite(&key),
            SipEvent::Response { key, response } => {
                self.on_response(now, wall, key, response, false)
            }
            SipEvent::Timeout { key, response } => self.on_response(now, wall, key, response, true),
            SipEvent::TransportError { key } => {
                let TransactionKey::Client(key) = key else {
                    return;
                };
                if let Some(seq) = self.core.index.call_of_client(&key) {
                    tracing::info!(%key, "a call's request could not be sent");
                    self.with_call(now, wall, seq, |call, ctx| {
                        if let Some(index) = call.leg_of(&key) {
                            call.on_leg_silence(ctx, index, None);
                        }
                    });
                } else if self.core.trunks.owner_of(&key).is_some() {
                    // Nothing reached the carrier: the trunk machine hears a 408.
                    let mut actions = Vec::new();
                    self.core.trunks.on_unsent(now, wall, &key, &mut actions);
                    self.trunk_actions(now, actions);
                    self.rearm_trunks();
                }
            }
            SipEvent::StrayResponse {
                response,
                source: _,
            } => self.on_stray_response(now, wall, &response),
        }
    }

    /// Where an INVITE from `trunk` goes: its DID and caller read as the trunk writes them,
    /// the dial plan's inbound decision against the live state.
    fn receive(
        &self,
        now: Instant,
        wall: SystemTime,
        trunk: &str,
        request: &Request,
    ) -> call::setup::Target {
        let did_from = self
            .core
            .trunks
            .get(trunk)
            .map(|t| t.config.did_from.clone())
            .unwrap_or_default();
        let did = inbound::did(request, &did_from);
        let caller = inbound::caller(request);
        let live = self.core.live(now, wall);
        let at = jiff::Timestamp::try_from(wall).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let decision = self.core.plan.route_inbound(
            &crossbar_routing::InboundCall {
                trunk,
                did: &did,
                caller: caller.as_deref(),
            },
            at,
            &live,
        );
        tracing::info!(%trunk, %did, caller = caller.as_deref().unwrap_or("withheld"), "incoming call");
        inbound::target(decision)
    }

    /// A response on a client transaction of a call or a trunk machine; `timeout`: the 408
    /// of Timer B/F, nothing came back.
    fn on_response(
        &mut self,
        now: Instant,
        wall: SystemTime,
        key: ClientKey,
        response: Response,
        timeout: bool,
    ) {
        let Some(seq) = self.core.index.call_of_client(&key) else {
            if self.core.trunks.owner_of(&key).is_some() {
                let mut actions = Vec::new();
                self.core
                    .trunks
                    .on_response(now, wall, &key, &response, &mut actions);
                self.trunk_actions(now, actions);
                self.rearm_trunks();
            }
            return;
        };
        self.with_call(now, wall, seq, |call, ctx| {
            if let Some(index) = call.leg_of(&key) {
                if timeout {
                    call.on_leg_silence(ctx, index, Some(response));
                } else {
                    call.on_leg_response(ctx, index, response);
                }
            } else if call.is_relaying(&key) {
                call.on_relayed_response(ctx, key, response);
            } else if response.status >= 200 {
                // The answer to a BYE crossbar sent: nothing more to do.
                ctx.done_with(&key);
            }
        });
    }

    /// A 2xx that matched no transaction: the retransmission of a callee's 200 whose
    /// INVITE transaction has ended; ACK it again (§13.2.2.4) — and hang it up if the call
    /// had given the leg up (a late answer after failover).
    fn on_stray_response(&mut self, now: Instant, wall: SystemTime, response: &Response) {
        if !(200..300).contains(&response.status) {
            return;
        }
        let Ok(cseq) = response.headers.cseq() else {
            return;
        };
        if cseq.method != Method::Invite {
            return;
        }
        let (Some(call_id), Some(tag)) = (
            response.headers.call_id(),
            response
                .headers
                .from()
                .ok()
                .and_then(|f| f.tag().map(str::to_owned)),
        ) else {
            return;
        };
        // Callee legs, and the agent's leg of a call crossbar originated (the caller's side).
        let Some((seq, _)) = self.core.index.call_of_dialog(call_id, &tag) else {
            return;
        };
        self.with_call(now, wall, seq, |call, ctx| {
            call.on_stray_answer(ctx, response)
        });
    }

    /// Drives trunk `index`'s machines and carries out what they ask.
    fn poll_trunk(&mut self, now: Instant, wall: SystemTime, index: usize) {
        let mut actions = Vec::new();
        self.core.trunks.poll(now, wall, index, &mut actions);
        self.trunk_actions(now, actions);
        self.rearm_trunks();
    }

    /// Sends the trunk machines' requests and reports their changes.
    fn trunk_actions(&mut self, now: Instant, actions: Vec<TrunkAction>) {
        for action in actions {
            match action {
                TrunkAction::Send {
                    trunk,
                    probe,
                    request,
                    hop,
                } => {
                    let request = self.core.with_via(request, hop);
                    match self.core.endpoint.send_request_from(
                        now,
                        request.clone(),
                        hop.destination,
                        hop.local,
                    ) {
                        Ok(key) => self.core.trunks.sent(key, trunk, probe, request),
                        Err(error) => tracing::warn!(%error, "trunk request not sent"),
                    }
                }
                TrunkAction::Status(status) => {
                    self.core.outputs.push_back(SwitchOutput::Trunk(status));
                }
            }
        }
    }

    /// Re-arms each trunk's timer at its machines' next deadline.
    fn rearm_trunks(&mut self) {
        let deadlines: Vec<(usize, Instant)> = self.core.trunks.deadlines().collect();
        for index in 0..self.core.trunks.len() {
            match deadlines.iter().find(|(i, _)| *i == index) {
                Some((_, at)) => self.core.timers.arm(TimerKey::Trunk(index), *at),
                None => self.core.timers.cancel(TimerKey::Trunk(index)),
            }
        }
    }

    /// Tells the endpoint where trunks' requests come from (their blocks and addresses).
    fn trust_trunk_sources(&mut self) {
        let sources = self.core.trunks.trusted_sources();
        self.core.endpoint.set_trusted_sources(sources);
    }

    /// Which call and side an in-dialog request belongs to: its Call-ID and its `To` tag
    /// (crossbar's tag in that dialog).
    fn dialog_of(&self, request: &Request) -> Option<(CallSeq, Side)> {
        let call_id = request.headers.call_id()?;
        let to = request.headers.to().ok()?;
        let tag = to.tag()?;
        self.core.index.call_of_dialog(call_id, tag)
    }
}

/// Milliseconds since the Unix epoch.
pub fn wall_ms(wall: SystemTime) -> i64 {
    wall.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
