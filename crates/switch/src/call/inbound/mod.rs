//! Receiving an incoming call: the call goes where the dial plan sent it (an extension's
//! phones, a ring group, a menu, or the end) and, when a target goes unanswered, on to its
//! escalation (`on_no_answer`, `on_busy`, `on_unavailable`) until someone answers or a final
//! destination takes it.
//!
//! A menu needs crossbar to answer the caller itself: crossbar's own media endpoint takes the
//! far side of the caller's relay (prompts played, keys heard), and the call is **serving**
//! ([`Phase::Serving`]). Ringing a phone afterwards plays ringback to the caller; the phone's
//! answer re-points the relay to it ([`crossbar_media::MediaCommand::Bridge`]) — the caller is
//! not re-INVITEd, and it is then that the call counts as answered.
//!
//! The deciding is done by pure machines — the menu ([`Menu`]), the ring group ([`GroupRun`])
//! and the queues (`crate::apps::queue::Queues`, one for every call) — and by the dial plan
//! (`resolve`, `escalate`, `ring_order`), the same code `crossbar route explain` runs; this
//! module carries their actions out: here, where the call goes and its escalation;
//! [`ringing`], extensions and groups; [`serving`], crossbar answering the caller, menus and
//! the re-pointing to the phone; [`queueing`], waiting in a queue with music and
//! announcements, offered to agents, connected, or gone on; [`feature`], the queue agents'
//! feature codes dialled from a phone.

use crossbar_cdr::{EndReason, EventKind, HangupSide, StepKind};
use crossbar_config::{Destination, Member};
use crossbar_routing::{Resolution, Step, Target, Unanswered};
use crossbar_sdp::endpoint::Settled;
use crossbar_sip::Bytes;

use super::{Call, Phase};
use crate::apps::group::GroupRun;
use crate::apps::menu::Menu;
use crate::core::{CallTimer, Ctx, TimerKey};
use crate::leg::LegTarget;

/// How many destinations one call may pass through (escalations and menu choices): a bound
/// on loops a configuration can still make (`on_no_answer` back to the same group).
const MAX_DESTINATIONS: u32 = 32;

/// What an incoming call carries while crossbar receives it.
#[derive(Debug)]
pub(crate) struct Receiving {
    /// The prompt set the call's menus speak.
    pub(crate) language: String,
    /// Where the call is now.
    pub(crate) target: Target,
    pub(crate) app: App,
    /// The caller's audio, once crossbar answered it: codec and telephone-event type.
    pub(crate) settled: Option<Settled>,
    /// crossbar's answer to the caller's offer (given again to a session refresh).
    pub(crate) answer_sdp: Option<Bytes>,
    /// Legs below this index were placed for earlier targets: their endings change nothing.
    pub(crate) first_leg: usize,
    /// The group member each leg of the current group rings.
    pub(crate) members: Vec<(usize, Member)>,
    /// Destinations followed so far (bounded by [`MAX_DESTINATIONS`]).
    pub(crate) followed: u32,
    /// Ringback is playing to the caller.
    pub(crate) ringback: bool,
    /// The inbound route marked the caller VIP: served first in queues.
    pub(crate) vip: bool,
    /// The queue agent who answered the call (its wrap-up starts when the call ends).
    pub(crate) agent: Option<String>,
    /// The number the call came to (from a trunk): the caller is called back from it.
    pub(crate) did: Option<String>,
}

impl Receiving {
    pub(crate) fn new(language: String, target: Target, vip: bool) -> Receiving {
        Receiving {
            language,
            target,
            app: App::Idle,
            settled: None,
            answer_sdp: None,
            first_leg: 0,
            members: Vec::new(),
            followed: 0,
            ringback: false,
            vip,
            agent: None,
            did: None,
        }
    }
}

/// The call application at work.
#[derive(Debug)]
pub(crate) enum App {
    /// Ringing an extension, or between destinations.
    Idle,
    Menu(Menu),
    Group(GroupRun),
    /// Waiting in a queue (the queue machine, shared by every call, decides).
    Queue(InQueue),
    /// A queue agent's feature code: its confirmation plays, then crossbar hangs up.
    Feature,
}

/// Why a ring attempt ended, read from the legs' final statuses.
fn unanswered_of(status: u16) -> Unanswered {
    match status {
        486 | 600 => Unanswered::Busy,
        404 | 480 | 503 => Unanswered::Unavailable,
        _ => Unanswered::NoAnswer,
    }
}

mod feature;
mod queueing;
mod ringing;
mod serving;

pub(crate) use queueing::{InQueue, caller_of, offer_failure};

impl Call {
    fn receiving(&mut self) -> &mut Receiving {
        self.receiving
            .as_deref_mut()
            .expect("only incoming calls are received")
    }

    /// The call goes to `target` (the steps that led there are on the record already).
    pub(crate) fn go_to(&mut self, ctx: &mut Ctx<'_>, target: Target) {
        if matches!(self.phase, Phase::Answered | Phase::Ending) {
            return;
        }
        ctx.core
            .timers
            .cancel(TimerKey::Call(ctx.seq, CallTimer::App));
        ctx.core
            .timers
            .cancel(TimerKey::Call(ctx.seq, CallTimer::Ring));
        let first_leg = self.legs.len();
        let receiving = self.receiving();
        receiving.followed += 1;
        let too_many = receiving.followed > MAX_DESTINATIONS;
        receiving.target = target.clone();
        receiving.app = App::Idle;
        receiving.first_leg = first_leg;
        receiving.members.clear();
        if too_many {
            tracing::warn!(call = %self.id, "the call went through too many destinations");
            ctx.emit(
                &self.id,
                EventKind::Step {
                    kind: StepKind::Route,
                    name: target.to_string(),
                    result: format!("more than {MAX_DESTINATIONS} destinations: the call ends"),
                },
            );
            self.end_unreceived(ctx, 480, EndReason::TargetsFailed { status: 480 });
            return;
        }
        match target {
            Target::Extension(number) => self.ring_extension(ctx, &number),
            Target::Group(name) => self.ring_group(ctx, &name),
            Target::Ivr(name) => self.enter_menu(ctx, &name),
            Target::Queue(name) => self.enter_queue(ctx, &name),
            Target::Hangup => {
                tracing::info!(call = %self.id, "destination hangup");
                self.end_unreceived(
                    ctx,
                    480,
                    EndReason::Error {
                        status: Some(480),
                        detail: "the call reached the destination hangup".into(),
                    },
                );
            }
        }
    }

    /// Follows `resolution` (steps, then its target).
    fn follow(&mut self, ctx: &mut Ctx<'_>, resolution: Resolution) {
        for step in resolution.steps {
            emit_step(ctx, &self.id, step);
        }
        self.go_to(ctx, resolution.target);
    }

    /// Follows `destination` (time conditions decided now).
    fn follow_destination(&mut self, ctx: &mut Ctx<'_>, destination: &Destination) {
        let resolution = {
            let live = ctx.core.live(ctx.now, ctx.wall);
            ctx.core.plan.resolve(destination, at(ctx), &live)
        };
        self.follow(ctx, resolution);
    }

    /// The current target did not get the call answered: its escalation, or the end.
    pub(crate) fn unanswered(&mut self, ctx: &mut Ctx<'_>, why: Unanswered, status: u16) {
        if matches!(self.phase, Phase::Answered | Phase::Ending) {
            return;
        }
        self.stop_ringing(ctx);
        let target = self.receiving().target.clone();
        tracing::info!(call = %self.id, %target, why = why.as_str(), "unanswered");
        let escalation = {
            let live = ctx.core.live(ctx.now, ctx.wall);
            ctx.core.plan.escalate(&target, why, at(ctx), &live)
        };
        match escalation {
            Some(resolution) => self.follow(ctx, resolution),
            None => {
                let reason = match why {
                    Unanswered::NoAnswer => EndReason::RingTimeout,
                    Unanswered::Busy | Unanswered::Unavailable => {
                        EndReason::TargetsFailed { status }
                    }
                };
                self.end_unreceived(ctx, status, reason);
            }
        }
    }

    /// Cancels the legs still ringing for the current target, and its waits.
    fn stop_ringing(&mut self, ctx: &mut Ctx<'_>) {
        ctx.core
            .timers
            .cancel(TimerKey::Call(ctx.seq, CallTimer::App));
        ctx.core
            .timers
            .cancel(TimerKey::Call(ctx.seq, CallTimer::Ring));
        for leg in &mut self.legs {
            if leg.state.is_live() {
                leg.cancel(ctx);
            }
        }
        self.next_attempts.clear();
    }

    /// Nobody will answer: the caller gets `status` (or, served by crossbar already, a BYE).
    fn end_unreceived(&mut self, ctx: &mut Ctx<'_>, status: u16, reason: EndReason) {
        match self.phase {
            Phase::Ringing => self.give_up_ringing(ctx, status, reason, HangupSide::System),
            Phase::Serving => self.end_answered(ctx, None, reason),
            Phase::Answered | Phase::Ending => {}
        }
    }

    /// The application's wait ran out.
    pub(crate) fn app_timeout(&mut self, ctx: &mut Ctx<'_>) {
        let Some(receiving) = self.receiving.as_deref_mut() else {
            return;
        };
        match &mut receiving.app {
            App::Menu(menu) => {
                let actions = menu.timeout(ctx.now);
                self.menu_actions(ctx, actions);
            }
            App::Group(run) => {
                let actions = run.timeout(ctx.now);
                self.group_actions(ctx, actions);
            }
            // The queue machine's waits are the switch's (`TimerKey::Queues`).
            App::Queue(_) | App::Feature | App::Idle => {}
        }
    }

    /// A leg answered while crossbar served the caller, or any leg of an incoming call: the
    /// application is done; the callee's calls count.
    pub(crate) fn received_answer(&mut self, ctx: &mut Ctx<'_>, index: usize) {
        ctx.core
            .timers
            .cancel(TimerKey::Call(ctx.seq, CallTimer::App));
        let Some(receiving) = self.receiving.as_deref_mut() else {
            return;
        };
        if let App::Group(run) = &mut receiving.app {
            run.answered();
            let member = receiving
                .members
                .iter()
                .find(|(i, _)| *i == index)
                .map(|(_, m)| m.to_string());
            if let (Target::Group(name), Some(member)) = (&receiving.target, member) {
                ctx.emit(
                    &self.id,
                    EventKind::Step {
                        kind: StepKind::Group,
                        name: name.clone(),
                        result: format!("answered by {member}"),
                    },
                );
            }
        }
        receiving.app = App::Idle;
        if let Some(LegTarget::Contact { number, .. }) = self.legs.get(index).map(|l| &l.target)
            && self.callee.is_none()
        {
            ctx.load_add(number);
            self.callee = Some(number.clone());
        }
    }
}

/// The wall clock as routing reads it.
fn at(ctx: &Ctx<'_>) -> jiff::Timestamp {
    jiff::Timestamp::try_from(ctx.wall).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// A step of the route path onto the record.
pub(crate) fn emit_step(ctx: &mut Ctx<'_>, call: &crossbar_cdr::CallId, step: Step) {
    ctx.emit(call, step.into());
}
