//! A call crossbar originates: the callback of a missed caller (issue 9, callback tasks), asked
//! for by the API ([`crate::Switch::originate_callback`]) or by a queue whose caller took
//! "press 1 to be called back" when their turn comes (virtual hold).
//!
//! crossbar is the UAC toward both parties, and the call runs on the same machine as every
//! other call, with the agent in the caller's place:
//!
//! 1. **The agent first** ([`Phase::Ringing`]): a leg of role `caller` to every registered
//!    contact of the agent's extension, as for ringing an extension, each with crossbar's own
//!    SDP offer from side A of the call's relay (PCMU, PCMA, telephone-events) and a `From`
//!    showing the customer (`"Callback +447700900123" <sip:+447700900123@crossbar>`), so the
//!    agent knows whom they will speak to. The agent rings for the ring timeout (a queue's
//!    callback: the queue's `agent_ring_secs`, ended by the queue machine); busy, declined or
//!    unanswered ends the call with that disposition, and no trunk is tried.
//! 2. **The agent answers**: the 200 is ACKed, its SDP answer settles side A of the relay, the
//!    agent's dialog becomes the call's caller side ([`Phase::Serving`]): crossbar's player
//!    gives the agent ringback ([`MediaCommand::Play`], repeating) and the customer is dialled
//!    through the outgoing routes decided when the call started — as if the agent had dialled
//!    the number: its class of service, the route's trunks in order with failover — with the
//!    SDP offer from side B in the codec the agent settled on.
//! 3. **The customer answers**: the relay is bridged ([`MediaCommand::Bridge`]); the agent is
//!    not re-INVITEd. From here on it is an answered call like any other: re-INVITEs relayed,
//!    a BYE from either side ends both. The customer busy, unanswered (the ring timeout from
//!    the carrier's first provisional response) or failing on every trunk: crossbar BYEs the
//!    agent and the record says how the customer's leg ended.
//!
//! # The record
//!
//! One outbound call of the agent: caller the agent's extension, callee the customer's number
//! as asked, with its `Routed` event (the caller ID is the DID presented) and a `Callback`
//! event carrying the task. The agent's legs are legs of role `caller`: their ringing and
//! answer are on their leg records, but the call is **answered when the customer answers**.
//! Timings, from `started_at` (the INVITEs to the agent):
//!
//! - `wait` = until the customer answered (the agent's ring time and the customer's);
//! - `ring` = the customer's first ring (180/183 on a trunk leg) until the answer or the end;
//! - `talk` = the customer's answer until the end;
//! - `pdd` = the first INVITE to a trunk until its first ring, as for any outbound call;
//! - the agent's answer time is its leg's `answered_at_ms`.
//!
//! The cost is the answering trunk's rate for the talk time, counted in the agent's outbound
//! usage (fraud caps, daily spend) from when the customer is dialled.

use std::collections::VecDeque;
use std::time::{Instant, SystemTime};

use crossbar_cdr::{CallId, Direction, EndReason, EventKind, HangupSide, LegId, LegRole, Party};
use crossbar_media::MediaCommand;
use crossbar_sdp::SessionDescription;
use crossbar_sdp::endpoint::Settled;
use crossbar_sip::{Bytes, Method, Request, Response};

use super::dialing::{Attempt, best_failure, fails_over};
use super::inbound::offer_failure;
use super::setup::Routed;
use super::{Call, CallSeq, CallerLeg, Phase, SessionTimer, Side};
use crate::apps::queue::QueueAction;
use crate::core::{CallTimer, Core, Ctx, TimerKey};
use crate::leg::{LegState, LegUpdate};
use crate::media::Media;
use crate::origination::OriginateError;

/// A call crossbar is asked to originate (checked already: the agent is an extension, the
/// customer a number the routes take).
#[derive(Debug)]
pub(crate) struct OriginPlan {
    /// The agent's extension number.
    pub(crate) agent: String,
    /// The customer's number as asked: the record's callee, dialled as the agent would.
    pub(crate) customer: String,
    /// The callback task the call works, for the record.
    pub(crate) task: Option<i64>,
    /// The queue the callback is for, for the record.
    pub(crate) queue: Option<String>,
    /// A queue's virtual hold: the queue machine's offer this call carries out.
    pub(crate) held: Option<HeldOffer>,
}

/// A queue machine's offer of a caller waiting for a callback to an agent.
#[derive(Debug, Clone)]
pub(crate) struct HeldOffer {
    /// The caller as the queue machine knows it (the call that took the offer, now ended).
    pub(crate) caller: CallSeq,
    /// That call's id, for the record.
    pub(crate) returns: CallId,
    /// When the queue ends the offer unanswered (`agent_ring_secs`).
    pub(crate) until: Instant,
}

/// What a call crossbar originated carries.
#[derive(Debug)]
pub(crate) struct Origination {
    pub(crate) agent: String,
    held: Option<HeldOffer>,
    /// The trunk attempts to the customer, tried once the agent answers.
    customer: VecDeque<Attempt>,
    /// crossbar's SDP toward the agent (its offer; given again to a session refresh).
    offer: Bytes,
    /// The agent's leg that answered.
    agent_leg: Option<usize>,
    /// Legs from this index dial the customer (none before the agent answers).
    first_customer_leg: usize,
    /// The status the agent's phones failed with (what a queue's offer counts as).
    agent_status: Option<u16>,
    /// The queue machine knows how its offer ended (or ended it itself).
    offer_over: bool,
    /// The queue connected the agent: its wrap-up starts when the call ends.
    queue_call: bool,
}

/// Starts the call of `plan`: the agent's phones ring; the customer is dialled through
/// `attempts` (routed as `routed`) once the agent answers.
pub(crate) fn start(
    core: &mut Core,
    now: Instant,
    wall: SystemTime,
    plan: OriginPlan,
    routed: &Routed,
    attempts: Vec<Attempt>,
) -> Result<(CallSeq, Call), OriginateError> {
    let limit = core.settings.max_calls_per_extension;
    if core.load.calls_of(&plan.agent) >= limit {
        return Err(OriginateError::AgentBusy {
            agent: plan.agent,
            limit,
        });
    }
    // The agent's phones show whom the agent will speak to.
    let mut to_agent = Attempt::to_contacts_of(core, &routed.normalized, &plan.agent, wall);
    if to_agent.is_empty() {
        return Err(OriginateError::AgentNotRegistered(plan.agent));
    }
    for attempt in &mut to_agent {
        attempt.from.display = Some(format!("Callback {}", routed.normalized));
    }
    let Some(mut media) = Media::open(core, None) else {
        return Err(OriginateError::NoMediaPorts);
    };
    let (seq, id) = core.new_call(wall);
    if let Some(held) = &plan.held
        && let Some(entry) = core.held.get_mut(&held.caller)
    {
        entry.originations.push((plan.agent.clone(), seq));
    }
    let mut ctx = core.ctx(now, wall, seq);
    let host = ctx.settings().sip_address;
    emit_start(
        &mut ctx,
        &id,
        &plan,
        Some(routed),
        format!("{id}-1@{}", host.ip()),
    );
    let address = ctx.settings().media_address;
    // RFC 3264 §5: crossbar offers to the agent, from side A of the relay.
    let offer = media.offer_caller(address);
    ctx.core.index.add_relay(seq, media.relay);
    ctx.load_add(&plan.agent);
    tracing::info!(call = %id, agent = %plan.agent, customer = %plan.customer, "originating a callback: ringing the agent");
    let first = &to_agent[0];
    let mut call = Call {
        id,
        caller: plan.agent.clone(),
        callee: None,
        a: CallerLeg {
            invite_key: None,
            invite: Request::new(Method::Invite, first.uri.clone()),
            source: first.hop.destination,
            local_tag: ctx.new_tag(),
            // Nothing to answer: crossbar is the UAC toward the agent.
            final_sent: true,
            ok: None,
            ok_interval: crate::T1,
            ok_deadline: None,
            acked: true,
            dialog: None,
        },
        legs: Vec::new(),
        next_attempts: VecDeque::new(),
        answered: None,
        answered_at: None,
        outbound_by: None,
        media,
        b_offer: None,
        phase: Phase::Ringing,
        relaying: Vec::new(),
        session: SessionTimer::default(),
        late_ack: None,
        hold: [false, false],
        receiving: None,
        origin: Some(Box::new(Origination {
            agent: plan.agent,
            held: plan.held,
            customer: attempts.into(),
            offer: offer.clone(),
            agent_leg: None,
            first_customer_leg: usize::MAX,
            agent_status: None,
            offer_over: false,
            queue_call: false,
        })),
        outside: Some(routed.normalized.clone()),
    };
    for attempt in to_agent {
        call.place_as(&mut ctx, attempt, LegRole::Caller, Some(offer.clone()));
    }
    let Some(first) = call.legs.first() else {
        if let Some(origin) = call.origin.as_deref_mut() {
            origin.agent_status = Some(503);
        }
        let reason = EndReason::Error {
            status: Some(503),
            detail: "the agent's phone could not be reached".into(),
        };
        call.give_up_ringing(&mut ctx, 503, reason, HangupSide::System);
        return Ok((seq, call));
    };
    call.a.invite = first.invite.clone();
    if call.origin.as_deref().is_some_and(|o| o.held.is_none()) {
        // A queue's offer rings for the queue's time, which the queue machine keeps.
        let ring = ctx.settings().ring_timeout;
        ctx.arm(CallTimer::Ring, now + ring);
    }
    Ok((seq, call))
}

/// Records a callback the routes refused before anything rang (`denied` by the agent's class
/// of service, no route, no trunk): its start, its routing as far as it went, its end with
/// `status` (what a phone dialling it would have got) and `reason`.
pub(crate) fn record_refused(
    core: &mut Core,
    now: Instant,
    wall: SystemTime,
    plan: &OriginPlan,
    routed: Option<&Routed>,
    status: u16,
    reason: EndReason,
) -> CallId {
    let (seq, id) = core.new_call(wall);
    let mut ctx = core.ctx(now, wall, seq);
    let sip_call_id = format!("{id}@{}", ctx.settings().sip_address.ip());
    emit_start(&mut ctx, &id, plan, routed, sip_call_id);
    tracing::info!(call = %id, agent = %plan.agent, customer = %plan.customer, status, ?reason, "callback refused");
    ctx.emit(
        &id,
        EventKind::Ended {
            reason,
            hangup_by: HangupSide::System,
            status: Some(status),
        },
    );
    id
}

/// The record's first events of a call crossbar originates: `Started` (outbound, from the
/// agent to the customer), `Callback`, `Routed`.
fn emit_start(
    ctx: &mut Ctx<'_>,
    id: &CallId,
    plan: &OriginPlan,
    routed: Option<&Routed>,
    sip_call_id: String,
) {
    ctx.emit(
        id,
        EventKind::Started {
            direction: Direction::Outbound,
            caller: Party {
                number: plan.agent.clone(),
                name: None,
            },
            callee: Party {
                number: plan.customer.clone(),
                name: None,
            },
            sip_call_id,
        },
    );
    ctx.emit(
        id,
        EventKind::Callback {
            task: plan.task,
            queue: plan.queue.clone(),
            returns: plan.held.as_ref().map(|h| h.returns.clone()),
        },
    );
    if let Some(routed) = routed {
        ctx.emit(id, routed.event(&plan.customer));
    }
}

impl Call {
    fn origin_mut(&mut self) -> Option<&mut Origination> {
        self.origin.as_deref_mut()
    }

    /// Whether leg `index` rings (or rang) the agent of a call crossbar originated.
    pub(crate) fn is_agent_leg(&self, index: usize) -> bool {
        self.origin
            .as_deref()
            .is_some_and(|o| index < o.first_customer_leg)
    }

    /// A call crossbar originated whose agent has not answered yet.
    pub(crate) fn awaits_agent(&self) -> bool {
        self.origin.is_some() && self.phase == Phase::Ringing
    }

    /// The leg of the caller's side on the record: 0, or the agent's leg that answered.
    pub(crate) fn caller_leg_id(&self) -> LegId {
        self.origin
            .as_deref()
            .and_then(|o| o.agent_leg)
            .and_then(|index| self.legs.get(index))
            .map_or(LegId(0), |leg| leg.id)
    }

    /// crossbar's SDP toward an originated call's agent (what a session refresh gets back
    /// while crossbar serves the agent).
    pub(crate) fn originated_sdp(&self) -> Option<Bytes> {
        self.origin.as_deref().map(|o| o.offer.clone())
    }

    /// A response on the INVITE of agent leg `index`.
    pub(crate) fn on_agent_leg_response(
        &mut self,
        ctx: &mut Ctx<'_>,
        index: usize,
        response: &Response,
    ) {
        let wanted = self.awaits_agent();
        let Some(leg) = self.legs.get_mut(index) else {
            return;
        };
        let leg_id = leg.id;
        // crossbar made the offer: the agent's 200 has the answer, ACKed at once.
        match leg.on_response(ctx, response, wanted, false) {
            LegUpdate::Nothing | LegUpdate::Reissued | LegUpdate::AnsweredTooLate => {}
            LegUpdate::Provisional => {
                if matches!(response.status, 180 | 183) {
                    let early_media = !response.body.is_empty();
                    ctx.emit(
                        &self.id,
                        EventKind::Ringing {
                            leg: leg_id,
                            early_media,
                        },
                    );
                }
            }
            LegUpdate::Answered => self.agent_answered(ctx, index, response),
            LegUpdate::Failed(status) => {
                ctx.emit(
                    &self.id,
                    EventKind::LegFailed {
                        leg: leg_id,
                        status,
                    },
                );
                if wanted && self.pending_live_legs() == 0 {
                    self.agent_unanswered(ctx);
                }
            }
        }
    }

    /// Every phone of the agent failed (busy, declined, unavailable): the call ends, nothing
    /// was dialled.
    fn agent_unanswered(&mut self, ctx: &mut Ctx<'_>) {
        let statuses: Vec<u16> = self
            .legs
            .iter()
            .filter_map(|leg| match leg.state {
                LegState::Failed(status) => Some(status),
                _ => None,
            })
            .collect();
        let status = best_failure(&statuses);
        if let Some(origin) = self.origin_mut() {
            origin.agent_status = Some(status);
        }
        tracing::info!(call = %self.id, caller = %self.caller, status, "the agent did not answer the callback");
        self.give_up_ringing(
            ctx,
            status,
            EndReason::TargetsFailed { status },
            HangupSide::Caller,
        );
    }

    /// The agent answered on leg `index`: its other phones stop ringing; a queue's offer is
    /// answered; the agent's dialog becomes the caller's side, its SDP answer settles side A,
    /// it hears ringback, and the customer is dialled.
    fn agent_answered(&mut self, ctx: &mut Ctx<'_>, index: usize, response: &Response) {
        for (i, leg) in self.legs.iter_mut().enumerate() {
            if i != index {
                leg.cancel(ctx);
            }
        }
        ctx.core
            .timers
            .cancel(TimerKey::Call(ctx.seq, CallTimer::Ring));
        let leg_id = self.legs[index].id;
        // On the agent's leg record only: the call is answered when the customer is.
        ctx.emit(&self.id, EventKind::Answered { leg: leg_id });
        if !self.queue_connects_agent(ctx) {
            tracing::info!(call = %self.id, "the agent answered after the queue ended its offer; hanging up");
            let leg = &mut self.legs[index];
            leg.state = LegState::Ended;
            leg.bye(ctx);
            let reason = self.called_off_reason(ctx.now);
            self.finish(ctx, reason, HangupSide::System, None);
            return;
        }
        tracing::info!(call = %self.id, agent = %self.caller, "the agent answered the callback: dialling the customer");
        let Some(dialog) = self.legs[index].dialog.clone() else {
            return;
        };
        ctx.index_dialog(
            (dialog.call_id.clone(), dialog.local_tag.clone()),
            Side::Caller,
        );
        self.a.source = dialog.hop.destination;
        self.a.dialog = Some(dialog);
        let settled = match SessionDescription::parse(&response.body) {
            Ok(answer) => {
                let command = self.media.set_remote(Side::Caller, &answer);
                ctx.media(command);
                crossbar_sdp::endpoint::settled_by_answer(&answer)
            }
            Err(error) => {
                tracing::warn!(call = %self.id, %error, "the agent's answer has no readable SDP; the relay latches");
                None
            }
        }
        .unwrap_or(Settled::DEFAULT);
        self.phase = Phase::Serving;
        if let Some(ringback) = ctx.core.prompts.as_ref().and_then(|p| p.ringback()) {
            ctx.media(MediaCommand::Play {
                id: self.media.relay,
                prompts: vec![ringback],
                repeat: true,
                payload_type: settled.payload_type,
            });
        }
        let address = ctx.settings().media_address;
        self.b_offer = Some(self.media.offer_callee(address, settled));
        ctx.core.usage.started(&self.caller, ctx.now, ctx.wall);
        self.outbound_by = Some(self.caller.clone());
        let first_customer_leg = self.legs.len();
        let Some(origin) = self.origin_mut() else {
            return;
        };
        origin.agent_leg = Some(index);
        origin.first_customer_leg = first_customer_leg;
        let attempts = std::mem::take(&mut origin.customer);
        self.next_attempts = attempts;
        self.dial_customer(ctx);
    }

    /// A queue's offer answered: whether the queue machine connects the agent (else the
    /// offer had ended already). Calls not from a queue always connect.
    fn queue_connects_agent(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let agent = self.caller.clone();
        let Some(origin) = self.origin.as_deref_mut() else {
            return true;
        };
        let Some(held) = origin.held.clone() else {
            return true;
        };
        origin.offer_over = true;
        let now = ctx.now;
        let mut actions = ctx.queues().agent_answered(held.caller, &agent, now);
        let connect = actions.iter().position(|action| {
            matches!(action, QueueAction::Connect { caller, agent: answering, .. }
                if *caller == held.caller && *answering == agent)
        });
        let connected = match connect {
            Some(at) => {
                actions.remove(at);
                origin.queue_call = true;
                true
            }
            None => {
                // The refusal is this call's own end.
                actions.retain(|action| {
                    !matches!(action, QueueAction::CancelOffer { caller, agent: offered }
                        if *caller == held.caller && *offered == agent)
                });
                false
            }
        };
        // About the held caller (other agents' offers) and the agent log: the switch's.
        ctx.core.queue_actions.extend(actions);
        connected
    }

    /// Places the next trunk attempt to the customer (and the next, if that one cannot be
    /// sent); with none left, the call fails.
    fn dial_customer(&mut self, ctx: &mut Ctx<'_>) {
        ctx.core
            .timers
            .cancel(TimerKey::Call(ctx.seq, CallTimer::Ring));
        while let Some(attempt) = self.next_attempts.pop_front() {
            let before = self.legs.len();
            self.place(ctx, attempt);
            if self.legs.len() > before {
                return;
            }
        }
        tracing::info!(call = %self.id, "no trunk to the customer could be reached");
        self.end_dialling(
            ctx,
            EndReason::Error {
                status: Some(503),
                detail: "no trunk to the customer could be reached".into(),
            },
            HangupSide::System,
            Some(503),
        );
    }

    /// A leg dialling the customer failed with `status`: the next trunk when the failure
    /// allows it (as for any outbound call), else — once no leg is left — the call ends with
    /// the customer's failure and the agent is hung up.
    pub(crate) fn customer_leg_failed(
        &mut self,
        ctx: &mut Ctx<'_>,
        status: u16,
        retry_after: bool,
    ) {
        if self.phase != Phase::Serving || self.answered.is_some() {
            return;
        }
        let Some(first) = self.origin.as_deref().map(|o| o.first_customer_leg) else {
            return;
        };
        let live = |call: &Call| {
            call.legs
                .iter()
                .skip(first)
                .filter(|leg| leg.state.is_live())
                .count()
        };
        if !self.next_attempts.is_empty() && fails_over(status, retry_after) {
            if live(self) == 0 {
                tracing::info!(call = %self.id, status, "failing over to the next trunk to the customer");
                self.dial_customer(ctx);
            }
            return;
        }
        if live(self) > 0 {
            return;
        }
        let statuses: Vec<u16> = self
            .legs
            .iter()
            .skip(first)
            .filter_map(|leg| match leg.state {
                LegState::Failed(status) => Some(status),
                _ => None,
            })
            .collect();
        let status = best_failure(&statuses);
        tracing::info!(call = %self.id, status, "the customer was not reached; hanging up the agent");
        self.end_dialling(
            ctx,
            EndReason::TargetsFailed { status },
            HangupSide::Callee,
            Some(status),
        );
    }

    /// The ring timeout of a call crossbar originated: the agent's (not from a queue), or the
    /// customer's (from the carrier's first provisional response).
    pub(crate) fn originated_ring_timeout(&mut self, ctx: &mut Ctx<'_>) {
        match self.phase {
            Phase::Ringing => {
                tracing::info!(call = %self.id, "the agent did not answer the callback in time");
                if let Some(origin) = self.origin_mut() {
                    origin.agent_status = Some(480);
                }
                self.give_up_ringing(ctx, 480, EndReason::RingTimeout, HangupSide::System);
            }
            Phase::Serving => {
                tracing::info!(call = %self.id, "the customer did not answer in time; hanging up the agent");
                self.end_dialling(ctx, EndReason::RingTimeout, HangupSide::System, Some(480));
            }
            Phase::Answered | Phase::Ending => {}
        }
    }

    /// The queue machine ended the offer this call carries out (the agent rang for the
    /// queue's time, paused or logged out, or the caller waiting for the callback was
    /// dropped): the agent's phones stop ringing and the call ends.
    pub(crate) fn offer_called_off(&mut self, ctx: &mut Ctx<'_>) {
        let Some(origin) = self.origin_mut() else {
            return;
        };
        origin.offer_over = true;
        if self.phase != Phase::Ringing {
            return;
        }
        let reason = self.called_off_reason(ctx.now);
        let status = if reason == EndReason::RingTimeout {
            480
        } else {
            487
        };
        tracing::info!(call = %self.id, ?reason, "the queue ended the callback's offer");
        self.give_up_ringing(ctx, status, reason, HangupSide::System);
    }

    /// Why a queue's offer ended before the agent's answer: it rang out (`no_answer`), or the
    /// agent's side gave it up (`cancelled`).
    fn called_off_reason(&self, now: Instant) -> EndReason {
        let rung_out = self
            .origin
            .as_deref()
            .and_then(|o| o.held.as_ref())
            .is_some_and(|held| now >= held.until);
        if rung_out {
            EndReason::RingTimeout
        } else {
            EndReason::CallerGaveUp
        }
    }

    /// Ends the call while the customer is being dialled: the legs still ringing are
    /// cancelled, the agent hung up.
    fn end_dialling(
        &mut self,
        ctx: &mut Ctx<'_>,
        reason: EndReason,
        hangup_by: HangupSide,
        status: Option<u16>,
    ) {
        for leg in &mut self.legs {
            leg.cancel(ctx);
        }
        self.next_attempts.clear();
        self.send_in_dialog(ctx, Side::Caller, Method::Bye, None);
        self.finish(ctx, reason, hangup_by, status);
    }

    /// A call crossbar originated for a queue has ended: the queue machine hears how the
    /// offer ended if it does not know yet (the agent's failure), or that the agent's call is
    /// over (its wrap-up starts); the switch forgets the offer.
    pub(crate) fn origination_ended(&mut self, ctx: &mut Ctx<'_>) {
        let Some(origin) = self.origin.as_deref_mut() else {
            return;
        };
        let Some(held) = origin.held.clone() else {
            return;
        };
        let agent = origin.agent.clone();
        let now = ctx.now;
        let actions = if std::mem::take(&mut origin.queue_call) {
            ctx.queues().agent_call_ended(&agent, now)
        } else if !std::mem::replace(&mut origin.offer_over, true) {
            let failure = offer_failure(origin.agent_status.unwrap_or(503));
            ctx.queues().agent_failed(held.caller, &agent, failure, now)
        } else {
            Vec::new()
        };
        ctx.core.queue_actions.extend(actions);
        let seq = ctx.seq;
        ctx.core.origination_ended(held.caller, seq);
    }
}
