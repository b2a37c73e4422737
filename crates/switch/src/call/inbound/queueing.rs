//! A caller waiting in a queue, as the call carries it out. The queue machine
//! (`crate::apps::queue::Queues`, one for every call of the switch) decides; the call does what
//! it asks about itself:
//!
//! - **joined**: crossbar answers the caller (the menu's answer path), the record gets the
//!   stage `queue` and the position, the queue's music on hold loops, keys are heard;
//! - **announcements** (position, estimated wait, the custom one, the callback offer) play
//!   over the music, which starts again after them;
//! - **offers**: a leg to each registered contact of the agent (the ringing code of
//!   extensions), while the caller keeps hearing the music; the agent's answer is put to the
//!   machine, and only its `Connect` re-points the caller's relay to the agent
//!   ([`MediaCommand::Bridge`], no re-INVITE); a failure is reported as an
//!   [`OfferFailure`]; `CancelOffer` cancels (or hangs up) that agent's legs;
//! - **leaving**: a breakout key, the timeout or an empty queue send the caller on to the
//!   destination through the dial plan (or end the call as the machine says: no answer, busy,
//!   unavailable); hanging up while waiting is abandoned (the machine is told before the
//!   record's end); the callback offer taken ends the call politely, and the caller keeps their
//!   place: when their turn comes, the machine's offer (`Offer` with `callback`) is the
//!   switch's, which calls them back (`crate::origination`);
//! - after a connected call ends (either side), the agent's wrap-up starts.
//!
//! What the machine asks about other calls, or about agents (the agent event log), is queued
//! on the switch ([`crate::core::Core::queue_actions`]) and carried out once this call is done.

use std::collections::VecDeque;

use crossbar_cdr::{EndReason, EventKind, QueueOutcome, Stage, StepKind};
use crossbar_media::MediaCommand;
use crossbar_routing::{Target, Unanswered};
use crossbar_sip::Response;

use super::App;
use crate::apps::queue::{OfferFailure, OverflowReason, Priority, QueueAction};
use crate::call::{Call, CallSeq};
use crate::core::Ctx;
use crate::leg::LegState;
use crate::{HeldChange, HeldPlace, SwitchOutput, wall_ms};

/// A caller's stay in a queue.
#[derive(Debug)]
pub(crate) struct InQueue {
    /// The queue's name.
    name: String,
    /// Whether the queue machine has the caller in line (from `Joined` on).
    joined: bool,
    /// The legs offering the caller to agents: (leg index, agent).
    offers: Vec<(usize, String)>,
    /// What the caller hears.
    hearing: Hearing,
}

/// What a waiting caller hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hearing {
    /// Nothing yet (before joining).
    Nothing,
    /// The music on hold, looping.
    Music,
    /// An announcement; the music comes back after it.
    Announcement,
    /// The confirmation of the callback offer; the call ends after it.
    CallbackAccepted,
}

impl InQueue {
    fn new(name: &str) -> InQueue {
        InQueue {
            name: name.to_owned(),
            joined: false,
            offers: Vec::new(),
            hearing: Hearing::Nothing,
        }
    }
}

/// The call the queue machine's `action` is about, if it is about one call.
pub(crate) fn caller_of(action: &QueueAction) -> Option<CallSeq> {
    match action {
        QueueAction::Joined { caller, .. }
        | QueueAction::Offer { caller, .. }
        | QueueAction::CancelOffer { caller, .. }
        | QueueAction::Connect { caller, .. }
        | QueueAction::Announce { caller, .. }
        | QueueAction::Overflow { caller, .. }
        | QueueAction::Abandoned { caller, .. }
        | QueueAction::CallbackAccepted { caller, .. } => Some(*caller),
        // The agent event log and the machine's deadline are the switch's.
        QueueAction::Missed { .. }
        | QueueAction::AgentStateChanged { .. }
        | QueueAction::AgentQueuesChanged { .. }
        | QueueAction::WaitUntil(_) => None,
    }
}

/// How an offer's leg failing with `status` counts for the agent.
pub(crate) fn offer_failure(status: u16) -> OfferFailure {
    match status {
        486 | 600 => OfferFailure::Busy,
        603 => OfferFailure::Rejected,
        // It rang and nobody answered (or the phone said so).
        408 | 480 | 487 => OfferFailure::NoAnswer,
        // No phone registered (404 is not sent by the ringing code), or the leg could not be
        // placed: 503, or anything the phone answered that says it is not reachable.
        _ => OfferFailure::Unreachable,
    }
}

/// The record's outcome of an overflow.
fn outcome_of(why: OverflowReason) -> QueueOutcome {
    match why {
        OverflowReason::Timeout => QueueOutcome::Timeout,
        OverflowReason::Full => QueueOutcome::Full,
        OverflowReason::Empty => QueueOutcome::Empty,
        OverflowReason::Breakout { .. } => QueueOutcome::Breakout,
    }
}

impl Call {
    /// Whether the caller is in a queue now (joining or waiting).
    pub(crate) fn in_queue(&self) -> bool {
        self.receiving
            .as_deref()
            .is_some_and(|r| matches!(r.app, App::Queue(_)))
    }

    fn queue_mut(&mut self) -> Option<&mut InQueue> {
        match &mut self.receiving.as_deref_mut()?.app {
            App::Queue(queue) => Some(queue),
            _ => None,
        }
    }

    /// The call comes to queue `name`: in line (VIP first when the inbound route says so), or
    /// straight on to where the queue sends callers it does not take.
    pub(super) fn enter_queue(&mut self, ctx: &mut Ctx<'_>, name: &str) {
        if ctx.core.plan.queue(name).is_none() {
            self.go_to(ctx, Target::Hangup);
            return;
        }
        let priority = if self.receiving().vip {
            Priority::Vip
        } else {
            Priority::Normal
        };
        self.receiving().app = App::Queue(InQueue::new(name));
        let (seq, now) = (ctx.seq, ctx.now);
        // A caller waiting here for a callback who calls again takes their place.
        let held = ctx
            .core
            .held
            .iter()
            .find(|(_, held)| held.queue == name && held.customer == self.caller)
            .map(|(held, _)| *held)
            .filter(|_| crossbar_cdr::callbacks::callable(&self.caller));
        let took_over = held.and_then(|held| {
            let actions = ctx.queues().take_over(name, held, seq, now).ok()?;
            tracing::info!(call = %self.id, queue = %name, "a caller waiting for a callback called again: they take their place");
            Some((held, actions))
        });
        let joined = match took_over {
            Some((held, actions)) => {
                self.on_queue(ctx, actions);
                ctx.core.forget_held_if_done(held);
                Ok(())
            }
            None => ctx
                .queues()
                .join(name, seq, priority, now)
                .map(|actions| self.on_queue(ctx, actions)),
        };
        match joined {
            Ok(()) => {}
            Err(error) => {
                tracing::warn!(call = %self.id, queue = %name, %error, "could not join the queue");
                self.receiving().app = App::Idle;
                self.go_to(ctx, Target::Hangup);
            }
        }
    }

    /// Carries out what the queue machine asks about this call, at once and in order (what it
    /// asks in turn too); the rest is queued for the switch.
    pub(crate) fn on_queue(&mut self, ctx: &mut Ctx<'_>, actions: Vec<QueueAction>) {
        let mut work: VecDeque<QueueAction> = actions.into();
        while let Some(action) = work.pop_front() {
            // A callback's offer (and its end) is the switch's: it originates the callback
            // (`crate::origination`), even while this call says its confirmation.
            let held = match &action {
                QueueAction::Offer { callback, .. } => *callback,
                QueueAction::CancelOffer { caller, .. } => ctx.core.held.contains_key(caller),
                _ => false,
            };
            if caller_of(&action) == Some(ctx.seq) && !held {
                work.extend(self.queue_action(ctx, action));
            } else {
                ctx.core.queue_actions.push_back(action);
            }
        }
    }

    /// One action of the queue machine about this call; what the machine answers to what is
    /// reported back.
    fn queue_action(&mut self, ctx: &mut Ctx<'_>, action: QueueAction) -> Vec<QueueAction> {
        let Some(queue) = self.queue_mut() else {
            // The call has left the queue (a stale offer): make sure the machine knows.
            if let QueueAction::Offer { .. } = action {
                let (seq, now) = (ctx.seq, ctx.now);
                return ctx.queues().caller_left(seq, now);
            }
            return Vec::new();
        };
        let name = queue.name.clone();
        match action {
            QueueAction::Joined { position, .. } => self.joined(ctx, &name, position),
            QueueAction::Announce { what, .. } => {
                if queue.hearing == Hearing::CallbackAccepted {
                    return Vec::new();
                }
                let language = self.receiving().language.clone();
                let prompts = ctx
                    .core
                    .prompts
                    .as_ref()
                    .map(|library| library.announcement(&language, &what))
                    .unwrap_or_default();
                if prompts.is_empty() {
                    return Vec::new();
                }
                if let Some(queue) = self.queue_mut() {
                    queue.hearing = Hearing::Announcement;
                }
                self.play(ctx, prompts, false);
                Vec::new()
            }
            QueueAction::Offer { agent, .. } => {
                if !queue.joined {
                    // Not answered into the queue (it could not be): not offered either.
                    let (seq, now) = (ctx.seq, ctx.now);
                    return ctx.queues().caller_left(seq, now);
                }
                self.offer(ctx, &name, &agent)
            }
            QueueAction::CancelOffer { agent, .. } => {
                self.cancel_offer(ctx, &agent);
                Vec::new()
            }
            // Taken where the agent's answer is (`queue_leg_answered`).
            QueueAction::Connect { .. } => Vec::new(),
            QueueAction::Overflow {
                destination, why, ..
            } => {
                self.left_queue(ctx, &name, outcome_of(why), None);
                tracing::info!(call = %self.id, queue = %name, outcome = outcome_of(why).as_str(), "left the queue");
                match destination {
                    Some(destination) => self.follow_destination(ctx, &destination),
                    None => {
                        let (why, status) = match why {
                            OverflowReason::Full => (Unanswered::Busy, 486),
                            OverflowReason::Empty => (Unanswered::Unavailable, 480),
                            OverflowReason::Timeout | OverflowReason::Breakout { .. } => {
                                (Unanswered::NoAnswer, 480)
                            }
                        };
                        self.unanswered(ctx, why, status);
                    }
                }
                Vec::new()
            }
            QueueAction::Abandoned { waited, short, .. } => {
                tracing::info!(call = %self.id, queue = %name, waited_secs = waited.as_secs(), short, "abandoned in the queue");
                self.left_queue(ctx, &name, QueueOutcome::Abandoned, None);
                Vec::new()
            }
            QueueAction::CallbackAccepted { position, .. } => {
                // The caller keeps their place: when their turn comes, the queue's offer to an
                // agent (`Offer` with `callback`) has the switch call them back, from the
                // number they called. The call ends after the confirmation.
                tracing::info!(call = %self.id, queue = %name, position, "callback offer taken");
                let did = self.receiving().did.clone();
                let (joined_at, priority) = ctx
                    .core
                    .queues_built()
                    .and_then(|queues| queues.joined(ctx.seq))
                    .unwrap_or((ctx.now, Priority::Normal));
                let waited = ctx.now.saturating_duration_since(joined_at).as_millis();
                ctx.core
                    .outputs
                    .push_back(SwitchOutput::Held(HeldChange::Kept(HeldPlace {
                        call: self.id.clone(),
                        queue: name.clone(),
                        customer: self.caller.clone(),
                        did: did.clone(),
                        vip: priority == Priority::Vip,
                        joined_at_ms: wall_ms(ctx.wall) - i64::try_from(waited).unwrap_or(0),
                    })));
                ctx.core.held.insert(
                    ctx.seq,
                    crate::origination::Held {
                        customer: self.caller.clone(),
                        did,
                        queue: name.clone(),
                        call: self.id.clone(),
                        originations: Vec::new(),
                    },
                );
                self.record_left(ctx, &name, QueueOutcome::Callback, None);
                self.cancel_offers(ctx);
                if let Some(queue) = self.queue_mut() {
                    queue.hearing = Hearing::CallbackAccepted;
                }
                let language = self.receiving().language.clone();
                let prompt = ctx.core.prompts.as_ref().and_then(|library| {
                    library.named(&language, crate::prompts::CALLBACK_ACCEPTED)
                });
                // No music after the confirmation: the call ends when it has played.
                self.set_music(ctx, None);
                match prompt {
                    Some(prompt) => self.play(ctx, vec![prompt], false),
                    None => self.end_answered(ctx, None, EndReason::CallerGaveUp),
                }
                Vec::new()
            }
            QueueAction::Missed { .. }
            | QueueAction::AgentStateChanged { .. }
            | QueueAction::AgentQueuesChanged { .. }
            | QueueAction::WaitUntil(_) => Vec::new(),
        }
    }

    /// In line at `position`: crossbar answers the caller (if it has not), the record says
    /// where the caller waits, the music starts.
    fn joined(&mut self, ctx: &mut Ctx<'_>, name: &str, position: usize) -> Vec<QueueAction> {
        if !self.answer_caller(ctx) {
            tracing::info!(call = %self.id, "the caller offers no G.711 audio: no queue");
            self.receiving().app = App::Idle;
            let (seq, now) = (ctx.seq, ctx.now);
            let left = ctx.queues().caller_left(seq, now);
            self.on_queue(ctx, left);
            self.end_unreceived(
                ctx,
                488,
                EndReason::Error {
                    status: Some(488),
                    detail: "no G.711 audio for the queue".into(),
                },
            );
            return Vec::new();
        }
        self.receiving().ringback = false;
        if let Some(queue) = self.queue_mut() {
            queue.joined = true;
        }
        tracing::info!(call = %self.id, queue = %name, position, "joined the queue");
        ctx.emit(
            &self.id,
            EventKind::Stage {
                stage: Stage::Queue,
            },
        );
        ctx.emit(
            &self.id,
            EventKind::Step {
                kind: StepKind::Queue,
                name: name.to_owned(),
                result: format!("joined at position {position}"),
            },
        );
        ctx.emit(
            &self.id,
            EventKind::QueueJoined {
                queue: name.to_owned(),
                position: u32::try_from(position).unwrap_or(u32::MAX),
            },
        );
        self.play_music(ctx);
        Vec::new()
    }

    /// The queue's music on hold, looping (its `moh`, else the prompt `moh`; the ringing tone
    /// when neither is loaded), as the relay's background music ([`MediaCommand::Music`]):
    /// announcements interrupt it and it resumes where it stopped, by itself, after each.
    fn play_music(&mut self, ctx: &mut Ctx<'_>) {
        let Some(queue) = self.queue_mut() else {
            return;
        };
        queue.hearing = Hearing::Music;
        let name = queue.name.clone();
        let language = self.receiving().language.clone();
        let moh = ctx.core.plan.queue(&name).and_then(|plan| plan.moh.clone());
        let music = ctx.core.prompts.as_ref().and_then(|library| {
            library
                .moh(&language, moh.as_ref())
                .or_else(|| library.ringback())
        });
        match music {
            Some(music) => self.set_music(ctx, Some(music)),
            None => ctx.media(MediaCommand::StopPlaying {
                id: self.media.relay,
            }),
        }
    }

    /// Sets (or with `None` takes away) the music the caller hears whenever nothing plays.
    fn set_music(
        &mut self,
        ctx: &mut Ctx<'_>,
        music: Option<std::sync::Arc<crossbar_media::Prompt>>,
    ) {
        let payload_type = self.receiving().settled.map_or(0, |s| s.payload_type);
        ctx.media(MediaCommand::Music {
            id: self.media.relay,
            music,
            payload_type,
        });
    }

    /// Plays `prompts` to the caller (replacing what plays).
    fn play(
        &mut self,
        ctx: &mut Ctx<'_>,
        prompts: Vec<std::sync::Arc<crossbar_media::Prompt>>,
        repeat: bool,
    ) {
        let payload_type = self.receiving().settled.map_or(0, |s| s.payload_type);
        ctx.media(MediaCommand::Play {
            id: self.media.relay,
            prompts,
            repeat,
            payload_type,
        });
    }

    /// Offers the caller to `agent`: the record says so, every registered contact of the
    /// agent rings (until the machine ends the offer) while the caller hears the music.
    fn offer(&mut self, ctx: &mut Ctx<'_>, name: &str, agent: &str) -> Vec<QueueAction> {
        ctx.emit(
            &self.id,
            EventKind::QueueOffered {
                queue: name.to_owned(),
                agent: agent.to_owned(),
            },
        );
        self.round_robin_moved(ctx, name);
        let before = self.legs.len();
        if let Some(status) = self.place_extension(ctx, agent, None) {
            tracing::info!(call = %self.id, %agent, status, "the agent could not be rung");
            let (seq, now) = (ctx.seq, ctx.now);
            return ctx
                .queues()
                .agent_failed(seq, agent, offer_failure(status), now);
        }
        tracing::info!(call = %self.id, queue = %name, %agent, "offered to an agent");
        let placed: Vec<(usize, String)> = (before..self.legs.len())
            .map(|index| (index, agent.to_owned()))
            .collect();
        if let Some(queue) = self.queue_mut() {
            queue.offers.extend(placed);
        }
        Vec::new()
    }

    /// A `round_robin` queue's next position, for the store to keep.
    fn round_robin_moved(&mut self, ctx: &mut Ctx<'_>, name: &str) {
        let round_robin = ctx
            .core
            .plan
            .queue(name)
            .is_some_and(|plan| plan.strategy == crossbar_config::QueueStrategy::RoundRobin);
        if !round_robin {
            return;
        }
        if let Some(next) = ctx.queues().round_robin_next(name) {
            ctx.core
                .outputs
                .push_back(crate::SwitchOutput::QueueRoundRobin {
                    queue: name.to_owned(),
                    next,
                });
        }
    }

    /// Ends the legs offering the caller to `agent`: CANCEL while they ring, BYE to one that
    /// answered too late.
    fn cancel_offer(&mut self, ctx: &mut Ctx<'_>, agent: &str) {
        let Some(queue) = self.queue_mut() else {
            return;
        };
        let mut legs = Vec::new();
        queue.offers.retain(|(index, offered)| {
            if offered == agent {
                legs.push(*index);
                false
            } else {
                true
            }
        });
        for index in legs {
            self.end_offer_leg(ctx, index);
        }
    }

    /// Ends every leg offering the caller.
    fn cancel_offers(&mut self, ctx: &mut Ctx<'_>) {
        let legs: Vec<usize> = self
            .queue_mut()
            .map(|queue| queue.offers.drain(..).map(|(index, _)| index).collect())
            .unwrap_or_default();
        for index in legs {
            self.end_offer_leg(ctx, index);
        }
    }

    fn end_offer_leg(&mut self, ctx: &mut Ctx<'_>, index: usize) {
        let answered = self.answered;
        let Some(leg) = self.legs.get_mut(index) else {
            return;
        };
        if leg.state.is_live() {
            leg.cancel(ctx);
        } else if leg.state == LegState::Answered && answered != Some(index) {
            leg.state = LegState::Ended;
            leg.bye(ctx);
        }
    }

    /// The record hears the caller left `name` (`outcome`, answered by `agent`): a step of the
    /// route path and the queue visit's end.
    fn record_left(
        &self,
        ctx: &mut Ctx<'_>,
        name: &str,
        outcome: QueueOutcome,
        agent: Option<String>,
    ) {
        ctx.emit(
            &self.id,
            EventKind::Step {
                kind: StepKind::Queue,
                name: name.to_owned(),
                result: match &agent {
                    Some(agent) => format!("answered by {agent}"),
                    None => outcome.as_str().to_owned(),
                },
            },
        );
        ctx.emit(
            &self.id,
            EventKind::QueueLeft {
                queue: name.to_owned(),
                outcome,
                agent,
            },
        );
    }

    /// The caller has left the queue (`outcome`): the record says so, the call is no longer
    /// in it.
    fn left_queue(
        &mut self,
        ctx: &mut Ctx<'_>,
        name: &str,
        outcome: QueueOutcome,
        agent: Option<String>,
    ) {
        self.record_left(ctx, name, outcome, agent);
        self.cancel_offers(ctx);
        // On to another destination: the music must not come back between its prompts (an
        // agent's answer bridges, which takes it away anyway).
        if outcome != QueueOutcome::Answered && self.queue_mut().is_some_and(|q| q.joined) {
            self.set_music(ctx, None);
        }
        self.receiving().app = App::Idle;
    }

    /// A leg offering the caller answered: the machine decides whether it connects (the
    /// relay's far side becomes the agent's phone, no re-INVITE) or came too late (hung up).
    pub(crate) fn queue_leg_answered(
        &mut self,
        ctx: &mut Ctx<'_>,
        index: usize,
        response: &Response,
    ) {
        let Some(queue) = self.queue_mut() else {
            return;
        };
        let name = queue.name.clone();
        let agent = queue
            .offers
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, agent)| agent.clone());
        let Some(agent) = agent else {
            // Not a leg of an offer in force: hang it up.
            if let Some(leg) = self.legs.get_mut(index) {
                leg.state = LegState::Ended;
                leg.bye(ctx);
            }
            return;
        };
        let (seq, now) = (ctx.seq, ctx.now);
        let mut actions = ctx.queues().agent_answered(seq, &agent, now);
        let connect = actions.iter().position(|action| {
            matches!(action, QueueAction::Connect { caller, agent: answering, .. }
                if *caller == ctx.seq && *answering == agent)
        });
        match connect {
            Some(at) => {
                actions.remove(at);
                tracing::info!(call = %self.id, queue = %name, %agent, "answered by an agent");
                // The other offers' legs are cancelled by the answer itself.
                if let Some(queue) = self.queue_mut() {
                    queue.offers.clear();
                }
                self.record_left(ctx, &name, QueueOutcome::Answered, Some(agent.clone()));
                let receiving = self.receiving();
                receiving.app = App::Idle;
                receiving.agent = Some(agent);
                self.take_answer(ctx, index, response);
            }
            None => {
                if let Some(leg) = self.legs.get_mut(index) {
                    leg.state = LegState::Ended;
                    leg.bye(ctx);
                }
            }
        }
        self.on_queue(ctx, actions);
    }

    /// A leg offering the caller failed with `status` (while still wanted): once none of the
    /// agent's legs rings any more, the machine hears how the offer ended.
    pub(crate) fn queue_leg_failed(&mut self, ctx: &mut Ctx<'_>, index: usize, status: u16) {
        let Some(queue) = self.queue_mut() else {
            return;
        };
        let Some(at) = queue.offers.iter().position(|(i, _)| *i == index) else {
            return;
        };
        let (_, agent) = queue.offers.remove(at);
        let others: Vec<usize> = queue
            .offers
            .iter()
            .filter(|(_, offered)| *offered == agent)
            .map(|(i, _)| *i)
            .collect();
        let still_ringing = others
            .iter()
            .any(|i| self.legs.get(*i).is_some_and(|leg| leg.state.is_live()));
        if still_ringing {
            return;
        }
        let failure = offer_failure(status);
        tracing::info!(call = %self.id, %agent, status, ?failure, "the agent did not answer");
        let (seq, now) = (ctx.seq, ctx.now);
        let actions = ctx.queues().agent_failed(seq, &agent, failure, now);
        self.on_queue(ctx, actions);
    }

    /// The caller pressed `key` while waiting.
    pub(crate) fn queue_key(&mut self, ctx: &mut Ctx<'_>, key: char) {
        let Some(queue) = self.queue_mut() else {
            return;
        };
        if !queue.joined || queue.hearing == Hearing::CallbackAccepted {
            return;
        }
        tracing::debug!(call = %self.id, %key, "key in the queue");
        let (seq, now) = (ctx.seq, ctx.now);
        let actions = ctx.queues().key(seq, key, now);
        self.on_queue(ctx, actions);
    }

    /// What played to the waiting caller ended: the music again after an announcement, the
    /// end of the call after the callback confirmation.
    pub(crate) fn queue_play_finished(&mut self, ctx: &mut Ctx<'_>) {
        let Some(queue) = self.queue_mut() else {
            return;
        };
        match queue.hearing {
            // The relay resumes the music by itself where the announcement cut it.
            Hearing::Announcement => queue.hearing = Hearing::Music,
            Hearing::CallbackAccepted => {
                self.end_answered(ctx, None, EndReason::CallerGaveUp);
            }
            Hearing::Music | Hearing::Nothing => {}
        }
    }

    /// The call is ending while in a queue: the machine hears the caller left (abandoned; the
    /// record's visit ends before the call does). A caller who took the callback offer keeps
    /// their place.
    pub(crate) fn leave_queue_at_end(&mut self, ctx: &mut Ctx<'_>) {
        let Some(queue) = self.queue_mut() else {
            return;
        };
        if queue.hearing == Hearing::CallbackAccepted {
            self.receiving().app = App::Idle;
            return;
        }
        let (seq, now) = (ctx.seq, ctx.now);
        let actions = ctx.queues().caller_left(seq, now);
        self.on_queue(ctx, actions);
        if self.in_queue() {
            // The machine did not have the caller in line (it never joined).
            self.cancel_offers(ctx);
            self.receiving().app = App::Idle;
        }
    }

    /// A call answered by a queue's agent has ended: its wrap-up starts.
    pub(crate) fn end_agent_call(&mut self, ctx: &mut Ctx<'_>) {
        let Some(agent) = self
            .receiving
            .as_deref_mut()
            .and_then(|receiving| receiving.agent.take())
        else {
            return;
        };
        let now = ctx.now;
        let actions = ctx.queues().agent_call_ended(&agent, now);
        self.on_queue(ctx, actions);
    }
}
