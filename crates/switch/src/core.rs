//! What every call shares: the SIP endpoint, the outputs queue, the timer queue, the indexes
//! that find a call from what arrives, the relay ports and the load counters — and [`Ctx`],
//! the handle a call machine acts through while it handles one input.

use std::collections::{HashMap, VecDeque};
use std::time::{Instant, SystemTime};

use crossbar_cdr::{CallEvent, CallId, EventKind};
use crossbar_media::{MediaCommand, PortPool, RelayId};
use crossbar_proto::endpoint::Endpoint;
use crossbar_proto::transaction::{ClientKey, Peer, ServerKey};
use crossbar_sip::{HeaderName, Message, Method, Request, Response};

use crate::apps::queue::{QueueAction, Queues};
use crate::call::{CallSeq, Side};
use crate::dialog::Hop;
use crate::timer::TimerQueue;
use crate::trunk::Trunks;
use crate::usage::Usage;
use crate::{SwitchOutput, SwitchSettings, wall_ms};

/// A call's timers (one of each at most).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum CallTimer {
    /// The callee legs have rung long enough.
    Ring,
    /// Retransmit the 200 to the caller (§13.3.1.4) or give up waiting for the ACK.
    RetransmitOk,
    /// The RFC 4028 session interval passed without a refresh.
    SessionExpiry,
    /// The call application's wait (a menu's key timeout, a group member's ring time).
    App,
}

impl CallTimer {
    pub(crate) const ALL: [CallTimer; 4] = [
        CallTimer::Ring,
        CallTimer::RetransmitOk,
        CallTimer::SessionExpiry,
        CallTimer::App,
    ];
}

/// What the switch waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKey {
    Call(CallSeq, CallTimer),
    /// The next deadline of a trunk's registration or health checks (by trunk index).
    Trunk(usize),
    /// The queue machine's next deadline ([`Queues::deadline`]): an offer rings out, a
    /// wrap-up ends, a caller times out or hears an announcement.
    Queues,
}

/// Mixed into the switch's seed for the queue machine's `random` strategy.
const QUEUE_SEED: u64 = 0x5155_4555_4553;

/// A dialog as the index knows it: its Call-ID and crossbar's tag in it.
pub(crate) type DialogKey = (String, String);

/// How what arrives finds its call. Each call's own keys are listed under it, so forgetting a
/// call removes exactly its entries.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// The caller's INVITE transaction → call.
    by_invite: HashMap<ServerKey, CallSeq>,
    /// Client transactions calls started (callee INVITEs, BYEs, relayed requests).
    by_client: HashMap<ClientKey, CallSeq>,
    /// In-dialog requests find their call by (Call-ID, crossbar's tag).
    by_dialog: HashMap<DialogKey, (CallSeq, Side)>,
    by_relay: HashMap<RelayId, CallSeq>,
    owned: HashMap<CallSeq, Owned>,
}

#[derive(Debug, Default)]
struct Owned {
    invite: Option<ServerKey>,
    clients: Vec<ClientKey>,
    dialogs: Vec<DialogKey>,
    relay: Option<RelayId>,
}

impl Index {
    pub(crate) fn call_of_invite(&self, key: &ServerKey) -> Option<CallSeq> {
        self.by_invite.get(key).copied()
    }

    pub(crate) fn call_of_client(&self, key: &ClientKey) -> Option<CallSeq> {
        self.by_client.get(key).copied()
    }

    pub(crate) fn call_of_dialog(&self, call_id: &str, tag: &str) -> Option<(CallSeq, Side)> {
        // Looked up per in-dialog message; the owned key avoids a second map keyed by &str.
        self.by_dialog
            .get(&(call_id.to_owned(), tag.to_owned()))
            .copied()
    }

    pub(crate) fn call_of_relay(&self, relay: &RelayId) -> Option<CallSeq> {
        self.by_relay.get(relay).copied()
    }

    pub(crate) fn add_invite(&mut self, seq: CallSeq, key: ServerKey) {
        self.by_invite.insert(key, seq);
        self.owned.entry(seq).or_default().invite = Some(key);
    }

    /// The caller's INVITE transaction is over (no more CANCEL can match it).
    pub(crate) fn remove_invite(&mut self, key: &ServerKey) {
        self.by_invite.remove(key);
    }

    pub(crate) fn add_client(&mut self, seq: CallSeq, key: ClientKey) {
        self.by_client.insert(key, seq);
        self.owned.entry(seq).or_default().clients.push(key);
    }

    /// A client transaction of the call got its final response: nothing more will come.
    pub(crate) fn remove_client(&mut self, key: &ClientKey) {
        self.by_client.remove(key);
    }

    pub(crate) fn add_dialog(&mut self, seq: CallSeq, key: DialogKey, side: Side) {
        let owned = self.owned.entry(seq).or_default();
        if !owned.dialogs.contains(&key) {
            owned.dialogs.push(key.clone());
        }
        self.by_dialog.insert(key, (seq, side));
    }

    pub(crate) fn add_relay(&mut self, seq: CallSeq, relay: RelayId) {
        self.by_relay.insert(relay, seq);
        self.owned.entry(seq).or_default().relay = Some(relay);
    }

    /// The relay's sockets are gone.
    pub(crate) fn remove_relay(&mut self, relay: &RelayId) {
        self.by_relay.remove(relay);
    }

    /// Removes every key of the call but its relay (which is removed when the relay reports
    /// it has closed).
    pub(crate) fn forget(&mut self, seq: CallSeq) {
        let Some(owned) = self.owned.remove(&seq) else {
            return;
        };
        if let Some(key) = owned.invite {
            self.by_invite.remove(&key);
        }
        for key in &owned.clients {
            self.by_client.remove(key);
        }
        for key in &owned.dialogs {
            self.by_dialog.remove(key);
        }
    }
}

/// The RTP port pool and which relay holds which ports until its sockets are closed.
#[derive(Debug)]
pub(crate) struct Relays {
    pub(crate) ports: PortPool,
    held: HashMap<RelayId, [u16; 2]>,
    next: u64,
}

impl Relays {
    pub(crate) fn new(first: u16, last: u16) -> Relays {
        Relays {
            ports: PortPool::new(first, last),
            held: HashMap::new(),
            next: 0,
        }
    }

    /// Two free ports for a new relay.
    pub(crate) fn allocate(&mut self) -> Option<(RelayId, [u16; 2])> {
        let a = self.ports.allocate()?;
        let Some(b) = self.ports.allocate() else {
            self.ports.release(a);
            return None;
        };
        self.next += 1;
        let id = RelayId(self.next);
        self.held.insert(id, [a, b]);
        Some((id, [a, b]))
    }

    /// The relay's sockets are closed: its ports go back to the pool.
    pub(crate) fn release(&mut self, id: RelayId) {
        for port in self.held.remove(&id).into_iter().flatten() {
            self.ports.release(port);
        }
    }

    /// The relay's ports are held by another process: they leave the pool for good rather
    /// than fail the next call the same way.
    pub(crate) fn retire(&mut self, id: RelayId) -> Option<[u16; 2]> {
        self.held.remove(&id)
    }
}

/// Calls each extension takes part in now (placed or received).
#[derive(Debug, Default)]
pub(crate) struct Load {
    per_extension: HashMap<String, usize>,
}

impl Load {
    pub(crate) fn calls_of(&self, number: &str) -> usize {
        self.per_extension.get(number).copied().unwrap_or(0)
    }

    pub(crate) fn add(&mut self, number: &str) {
        *self.per_extension.entry(number.to_owned()).or_default() += 1;
    }

    pub(crate) fn remove(&mut self, number: &str) {
        if let Some(count) = self.per_extension.get_mut(number) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_extension.remove(number);
            }
        }
    }
}

/// Everything calls share; owned by the [`Switch`](crate::Switch) beside its calls.
pub(crate) struct Core {
    pub(crate) endpoint: Endpoint,
    pub(crate) settings: SwitchSettings,
    pub(crate) outputs: VecDeque<SwitchOutput>,
    pub(crate) timers: TimerQueue<TimerKey>,
    pub(crate) index: Index,
    pub(crate) relays: Relays,
    pub(crate) load: Load,
    pub(crate) plan: crossbar_routing::DialPlan,
    pub(crate) trunks: Trunks,
    pub(crate) usage: Usage,
    /// What trunk machines asked for while a call ran (carried out by the switch after it).
    pub(crate) trunk_actions: Vec<crate::trunk::TrunkAction>,
    /// Blocked callers and time-condition overrides from the database.
    pub(crate) inbound: crate::live::InboundControl,
    /// Where each round robin group starts next.
    pub(crate) round_robin: HashMap<String, usize>,
    pub(crate) prompts: Option<crate::prompts::PromptLibrary>,
    /// The one queue machine of the site: every queue, the callers waiting in them and the
    /// agents they share. Built from the dial plan's queues on first use (it needs `now`).
    queues: Option<Queues>,
    /// The local date the queues' calls answered today are counted for (`fewest_calls`).
    queue_day: Option<jiff::civil::Date>,
    /// What the queue machine asked for that concerns another call than the one acting, or
    /// no call (the agent event log): carried out by the switch once the acting call is done.
    pub(crate) queue_actions: VecDeque<QueueAction>,
    /// Queue callers waiting for a callback (virtual hold), by the queue machine's key (their
    /// ended call's): whom to call back, and the calls crossbar placed for the queue's offers.
    pub(crate) held: HashMap<CallSeq, crate::origination::Held>,
    next_call: CallSeq,
    /// Distinguishes this run's call ids from earlier runs'.
    run_id: u64,
}

impl Core {
    pub(crate) fn new(
        endpoint: Endpoint,
        settings: SwitchSettings,
        plan: crossbar_routing::DialPlan,
        trunks: Trunks,
        run_id: u64,
    ) -> Core {
        let (first, last) = settings.rtp_ports;
        let zone = plan.time_zone().cloned().unwrap_or(jiff::tz::TimeZone::UTC);
        Core {
            endpoint,
            settings,
            outputs: VecDeque::new(),
            timers: TimerQueue::new(),
            index: Index::default(),
            relays: Relays::new(first, last),
            load: Load::default(),
            plan,
            trunks,
            usage: Usage::new(zone),
            trunk_actions: Vec::new(),
            inbound: crate::live::InboundControl::default(),
            round_robin: HashMap::new(),
            prompts: None,
            queues: None,
            queue_day: None,
            queue_actions: VecDeque::new(),
            held: HashMap::new(),
            next_call: 0,
            run_id,
        }
    }

    /// The live state routing reads, now.
    pub(crate) fn live(&self, now: Instant, wall: SystemTime) -> crate::live::LiveState<'_> {
        crate::live::LiveState {
            trunks: &self.trunks,
            usage: &self.usage,
            load: &self.load,
            inbound: &self.inbound,
            round_robin: &self.round_robin,
            now,
            wall,
        }
    }

    pub(crate) fn run_id(&self) -> u64 {
        self.run_id
    }

    /// The queue machine, built at the first use from the dial plan's queues (its randomness
    /// seeded from the switch's seed), every static agent told whether it is on a call; told
    /// when a new local day (`[site] timezone`) starts.
    pub(crate) fn queues(&mut self, now: Instant, wall: SystemTime) -> &mut Queues {
        let today = jiff::Timestamp::try_from(wall).ok().map(|at| {
            let zone = self
                .plan
                .time_zone()
                .cloned()
                .unwrap_or(jiff::tz::TimeZone::UTC);
            at.to_zoned(zone).date()
        });
        if let (Some(queues), Some(day), Some(today)) =
            (self.queues.as_mut(), self.queue_day, today)
            && day != today
        {
            queues.new_day();
        }
        if today.is_some() {
            self.queue_day = today;
        }
        if self.queues.is_none() {
            let plans: Vec<_> = self.plan.queues().cloned().collect();
            let mut queues = Queues::new(plans, self.run_id ^ QUEUE_SEED, now);
            let busy: Vec<String> = queues
                .agents()
                .filter(|(agent, _)| self.load.calls_of(agent) > 0)
                .map(|(agent, _)| agent.to_owned())
                .collect();
            for agent in busy {
                // Nobody is logged in yet: nothing can follow.
                let _ = queues.agent_busy(&agent, true, now);
            }
            self.queues = Some(queues);
        }
        self.queues
            .as_mut()
            .expect("invariant: the queue machine was built above")
    }

    /// The queue machine if it has been built (nothing waits in a queue before).
    pub(crate) fn queues_built(&self) -> Option<&Queues> {
        self.queues.as_ref()
    }

    /// Tells the queue machine whether `agent`'s phone is on a call (any call: its own, one
    /// to it, one from a queue), as the load counts it; what that causes is queued.
    pub(crate) fn sync_agent_busy(&mut self, agent: &str, now: Instant) {
        let busy = self.load.calls_of(agent) > 0;
        let Some(queues) = self.queues.as_mut() else {
            return;
        };
        if queues.is_agent(agent) {
            let actions = queues.agent_busy(agent, busy, now);
            self.queue_actions.extend(actions);
        }
    }

    /// The call `seq` crossbar placed for a queue's offer of held caller `caller` has ended;
    /// the caller is forgotten once the queue machine no longer has them and no call for
    /// them is running.
    pub(crate) fn origination_ended(&mut self, caller: CallSeq, seq: CallSeq) {
        let Some(held) = self.held.get_mut(&caller) else {
            return;
        };
        held.originations.retain(|(_, call)| *call != seq);
        self.forget_held_if_done(caller);
    }

    /// Forgets held caller `caller` once nothing refers to it any more.
    pub(crate) fn forget_held_if_done(&mut self, caller: CallSeq) {
        let waiting = self
            .queues
            .as_ref()
            .is_some_and(|q| q.position(caller).is_some());
        if !waiting
            && self
                .held
                .get(&caller)
                .is_some_and(|held| held.originations.is_empty())
            && let Some(held) = self.held.remove(&caller)
        {
            self.outputs
                .push_back(SwitchOutput::Held(crate::HeldChange::Released {
                    call: held.call,
                }));
        }
    }

    /// Outside number `number` answered call `by`: a caller holding a place in a queue to be
    /// called back on that number leaves the line. The answer completes their callback task
    /// (`crossbar_cdr::callbacks`: the customer called again and got through, or someone
    /// called them), so their turn would ring an agent for a call already made. The place
    /// `by` is itself the callback of left the line when the agent answered.
    pub(crate) fn outside_reached(
        &mut self,
        now: Instant,
        wall: SystemTime,
        number: &str,
        by: CallSeq,
    ) {
        if self.held.is_empty() || !crossbar_cdr::callbacks::callable(number) {
            return;
        }
        let holding: Vec<CallSeq> = self
            .held
            .iter()
            .filter(|(_, held)| {
                held.customer == number && !held.originations.iter().any(|(_, call)| *call == by)
            })
            .map(|(caller, _)| *caller)
            .collect();
        for caller in holding {
            tracing::info!(customer = %number, queue = %self.held[&caller].queue, "a caller waiting for a callback was reached by another call: their place is given up");
            let actions = self.queues(now, wall).caller_left(caller, now);
            self.queue_actions.extend(actions);
            self.forget_held_if_done(caller);
        }
    }

    /// A handle for the call `seq` (or the call about to be created with it).
    pub(crate) fn ctx(&mut self, now: Instant, wall: SystemTime, seq: CallSeq) -> Ctx<'_> {
        Ctx {
            now,
            wall,
            seq,
            core: self,
        }
    }

    /// The next call's handle and its stable id.
    pub(crate) fn new_call(&mut self, wall: SystemTime) -> (CallSeq, CallId) {
        self.next_call += 1;
        let id = CallId(format!(
            "{:012x}-{:08x}-{:06x}",
            wall_ms(wall),
            self.run_id & 0xffff_ffff,
            self.next_call & 0xff_ffff
        ));
        (self.next_call, id)
    }

    pub(crate) fn contact_value(&self) -> String {
        format!("<sip:crossbar@{}>", self.settings.sip_address)
    }

    /// Adds crossbar's top `Via` to a request it originates along `hop`.
    pub(crate) fn with_via(&mut self, mut request: Request, hop: Hop) -> Request {
        let branch = self.endpoint.new_branch();
        request.headers.push_front(
            HeaderName::Via,
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                hop.destination.transport.via_token(),
                hop.sent_by.unwrap_or(self.settings.sip_address)
            ),
        );
        request
    }

    /// `User-Agent` and, for target refreshes, the contact crossbar is reachable at along
    /// `hop`.
    pub(crate) fn with_identity(&self, mut request: Request, hop: Hop) -> Request {
        if !request.headers.contains(&HeaderName::Contact)
            && matches!(request.method, Method::Invite | Method::Update)
        {
            let at = hop.sent_by.unwrap_or(self.settings.sip_address);
            request
                .headers
                .push(HeaderName::Contact, format!("<sip:crossbar@{at}>"));
        }
        request
            .headers
            .push(HeaderName::UserAgent, self.settings.user_agent.clone());
        request
    }
}

/// What a call machine acts through while it handles one input: it sends and answers SIP,
/// arms its timers, commands its relay, reports its events — all queued as outputs of the
/// switch, nothing done directly.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) wall: SystemTime,
    pub(crate) seq: CallSeq,
    pub(crate) core: &'a mut Core,
}

impl Ctx<'_> {
    pub(crate) fn settings(&self) -> &SwitchSettings {
        &self.core.settings
    }

    pub(crate) fn emit(&mut self, call: &CallId, kind: EventKind) {
        self.core.outputs.push_back(SwitchOutput::Call(CallEvent {
            call: call.clone(),
            at_ms: wall_ms(self.wall),
            kind,
        }));
    }

    /// Answers the server transaction `key`.
    pub(crate) fn respond(&mut self, key: ServerKey, response: Response) {
        self.core.endpoint.respond(self.now, key, response);
    }

    /// Sends a request of the call along `hop` in a new client transaction (with crossbar's
    /// `Via`, `User-Agent` and contact) and indexes the transaction under the call.
    pub(crate) fn send(&mut self, request: Request, hop: Hop) -> Option<ClientKey> {
        let request = self.core.with_via(request, hop);
        let request = self.core.with_identity(request, hop);
        match self
            .core
            .endpoint
            .send_request_from(self.now, request, hop.destination, hop.local)
        {
            Ok(key) => {
                self.core.index.add_client(self.seq, key);
                Some(key)
            }
            Err(error) => {
                tracing::warn!(%error, "request not sent");
                None
            }
        }
    }

    /// Sends the ACK for a 2xx (§13.2.2.4: outside any transaction, with a fresh branch).
    pub(crate) fn ack(&mut self, ack: Request, hop: Hop) {
        let ack = self.core.with_via(ack, hop);
        self.core
            .endpoint
            .transmit_from(hop.destination, Message::Request(ack), hop.local);
    }

    /// Re-sends a message outside any transaction (the 200 to the caller until its ACK).
    pub(crate) fn retransmit(&mut self, destination: Peer, message: Message) {
        self.core.endpoint.transmit(destination, message);
    }

    /// CANCELs the INVITE client transaction `key` (§9.1); whether the CANCEL went out.
    pub(crate) fn cancel(&mut self, key: ClientKey) -> bool {
        self.core.endpoint.cancel(self.now, key).is_ok()
    }

    pub(crate) fn arm(&mut self, timer: CallTimer, at: Instant) {
        self.core.timers.arm(TimerKey::Call(self.seq, timer), at);
    }

    /// The queue machine (see [`Core::queues`]).
    pub(crate) fn queues(&mut self) -> &mut Queues {
        self.core.queues(self.now, self.wall)
    }

    /// `number` takes part in one more call; an agent is busy from its first.
    pub(crate) fn load_add(&mut self, number: &str) {
        self.core.load.add(number);
        if self.core.load.calls_of(number) == 1 {
            self.core.sync_agent_busy(number, self.now);
        }
    }

    /// `number` takes part in one call less; an agent is free again after its last.
    pub(crate) fn load_remove(&mut self, number: &str) {
        self.core.load.remove(number);
        if self.core.load.calls_of(number) == 0 {
            self.core.sync_agent_busy(number, self.now);
        }
    }

    pub(crate) fn media(&mut self, command: MediaCommand) {
        self.core.outputs.push_back(SwitchOutput::Media(command));
    }

    pub(crate) fn index_dialog(&mut self, key: DialogKey, side: Side) {
        self.core.index.add_dialog(self.seq, key, side);
    }

    pub(crate) fn done_with(&mut self, key: &ClientKey) {
        self.core.index.remove_client(key);
    }

    pub(crate) fn new_tag(&mut self) -> String {
        self.core.endpoint.new_tag()
    }

    pub(crate) fn contact_value(&self) -> String {
        self.core.contact_value()
    }

    /// A call through `trunk` was answered (`ok`) or got no answer from the carrier: evidence
    /// for the trunk's health.
    pub(crate) fn trunk_evidence(&mut self, trunk: &str, ok: bool) {
        let core = &mut *self.core;
        core.trunks
            .call_evidence(self.now, self.wall, trunk, ok, &mut core.trunk_actions);
    }
}
