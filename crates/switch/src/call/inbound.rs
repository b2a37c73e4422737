//! Receiving an incoming call: the call goes where the dial plan sent it (an extension's
//! phones, a ring group, a menu, or the end) and, when a target goes unanswered, on to its
//! escalation (`on_no_answer`, `on_busy`, `on_unavailable`) until someone answers or a final
//! destination takes it.
//!
//! A menu needs crossbar to answer the caller itself: crossbar's own media endpoint takes the
//! far side of the caller's relay (prompts played, keys heard), and the call is **serving**
//! ([`Phase::Serving`]). Ringing a phone afterwards plays ringback to the caller; the phone's
//! answer re-points the relay to it ([`MediaCommand::Bridge`]) — the caller is not
//! re-INVITEd, and it is then that the call counts as answered.
//!
//! The deciding is done by pure machines — the menu ([`Menu`]) and the ring group
//! ([`GroupRun`]) — and by the dial plan (`resolve`, `escalate`, `ring_order`), the same code
//! `crossbar route explain` runs; this module carries their actions out.

use crossbar_cdr::{EndReason, EventKind, HangupSide, Stage, StepKind};
use crossbar_config::{Destination, Member, RingStrategy};
use crossbar_media::MediaCommand;
use crossbar_routing::{Resolution, Step, Target, Unanswered};
use crossbar_sdp::SessionDescription;
use crossbar_sdp::endpoint::Settled;
use crossbar_sip::{Bytes, HeaderName, Method, Request};

use super::dialing::Attempt;
use super::{Call, Phase, Side, tagged};
use crate::apps::group::{GroupAction, GroupRun, Outcome};
use crate::apps::menu::{Menu, MenuAction};
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
}

impl Receiving {
    pub(crate) fn new(language: String, target: Target) -> Receiving {
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
}

/// Why a ring attempt ended, read from the legs' final statuses.
fn unanswered_of(status: u16) -> Unanswered {
    match status {
        486 | 600 => Unanswered::Busy,
        404 | 480 | 503 => Unanswered::Unavailable,
        _ => Unanswered::NoAnswer,
    }
}

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
            // Queues are configured and checked, but not served yet (issue 9): rather than
            // pretend, the call ends here with 480 and the record says why.
            Target::Queue(name) => {
                tracing::warn!(call = %self.id, queue = %name, "queues are not built yet");
                self.end_unreceived(
                    ctx,
                    480,
                    EndReason::Error {
                        status: Some(480),
                        detail: "queues are not built yet".into(),
                    },
                );
            }
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

    /// Rings every registered contact of extension `number`, for its `no_answer_secs`.
    fn ring_extension(&mut self, ctx: &mut Ctx<'_>, number: &str) {
        ctx.emit(
            &self.id,
            EventKind::Stage {
                stage: Stage::Ringing,
            },
        );
        let status = self.place_extension(ctx, number, None);
        if let Some(status) = status {
            self.unanswered(ctx, unanswered_of(status), status);
            return;
        }
        let target = Target::Extension(number.to_owned());
        let secs = ctx
            .core
            .plan
            .escalation(&target)
            .and_then(|e| e.no_answer_secs);
        let ring = secs.map_or(ctx.settings().ring_timeout, |s| {
            std::time::Duration::from_secs(u64::from(s))
        });
        ctx.arm(CallTimer::Ring, ctx.now + ring);
        self.start_ringback(ctx);
    }

    /// Places legs to extension `number`'s contacts (for group member `member`); the status
    /// its failure counts as when nothing could be placed.
    fn place_extension(
        &mut self,
        ctx: &mut Ctx<'_>,
        number: &str,
        member: Option<&Member>,
    ) -> Option<u16> {
        if ctx.core.load.calls_of(number) >= ctx.settings().max_calls_per_extension {
            tracing::info!(call = %self.id, callee = %number, "callee at its concurrent-call limit");
            return Some(486);
        }
        let caller = self.caller.clone();
        let attempts = Attempt::to_contacts(ctx, &caller, number, ctx.wall);
        if attempts.is_empty() {
            tracing::info!(call = %self.id, callee = %number, "callee not registered");
            return Some(480);
        }
        self.place_all(ctx, attempts, member)
    }

    /// Places `attempts`, noting the member they ring; 503 when none could be sent.
    fn place_all(
        &mut self,
        ctx: &mut Ctx<'_>,
        attempts: Vec<Attempt>,
        member: Option<&Member>,
    ) -> Option<u16> {
        let before = self.legs.len();
        for attempt in attempts {
            self.place(ctx, attempt);
        }
        if let Some(member) = member {
            for index in before..self.legs.len() {
                self.receiving().members.push((index, member.clone()));
            }
        }
        (self.legs.len() == before).then_some(503)
    }

    /// Rings group `name`'s members in the order the dial plan gives.
    fn ring_group(&mut self, ctx: &mut Ctx<'_>, name: &str) {
        let Some(group) = ctx.core.plan.ring_group(name).cloned() else {
            self.go_to(ctx, Target::Hangup);
            return;
        };
        let seed = ctx.seq ^ crate::wall_ms(ctx.wall).cast_unsigned();
        let order = {
            let live = ctx.core.live(ctx.now, ctx.wall);
            ctx.core.plan.ring_order(name, &live, seed)
        };
        let mut rung = Vec::new();
        let mut skipped = Vec::new();
        for member in &order {
            match &member.skipped {
                None => rung.push(member.member.clone()),
                Some(why) => skipped.push(format!("{} ({why})", member.member)),
            }
        }
        let mut result = format!(
            "{}: {}",
            group.strategy.as_str(),
            if rung.is_empty() {
                "nobody to ring".to_owned()
            } else {
                rung.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
        if !skipped.is_empty() {
            result.push_str(&format!("; passed over {}", skipped.join(", ")));
        }
        ctx.emit(
            &self.id,
            EventKind::Step {
                kind: StepKind::Group,
                name: name.to_owned(),
                result,
            },
        );
        if group.strategy == RingStrategy::RoundRobin
            && let Some(first) = order.iter().find(|m| m.skipped.is_none())
        {
            let next = (first.position + 1) % order.len().max(1);
            ctx.core.round_robin.insert(name.to_owned(), next);
            ctx.core.outputs.push_back(crate::SwitchOutput::RoundRobin {
                group: name.to_owned(),
                next,
            });
        }
        ctx.emit(
            &self.id,
            EventKind::Stage {
                stage: Stage::Ringing,
            },
        );
        let (run, actions) = GroupRun::start(
            group.strategy,
            rung,
            group.ring_secs,
            // The whole group's time; `[calls] ring_timeout_secs` unless it says otherwise.
            Some(group.escalation.no_answer_secs.unwrap_or_else(|| {
                u32::try_from(ctx.settings().ring_timeout.as_secs()).unwrap_or(u32::MAX)
            })),
            ctx.now,
        );
        self.receiving().app = App::Group(run);
        self.group_actions(ctx, actions);
        if matches!(self.receiving().app, App::Group(_)) {
            self.start_ringback(ctx);
        }
    }

    /// Carries out what the group asks (and what its members' immediate failures lead to).
    fn group_actions(&mut self, ctx: &mut Ctx<'_>, actions: Vec<GroupAction>) {
        let mut queue: std::collections::VecDeque<GroupAction> = actions.into();
        while let Some(action) = queue.pop_front() {
            match action {
                GroupAction::Ring(members) => {
                    let mut failures = Vec::new();
                    for member in members {
                        let failed = match &member {
                            Member::Extension(number) => {
                                self.place_extension(ctx, number, Some(&member))
                            }
                            Member::External(number) => self.place_external(ctx, number, &member),
                        };
                        if let Some(status) = failed {
                            failures.push(status);
                        }
                    }
                    for status in failures {
                        if let App::Group(run) = &mut self.receiving().app {
                            queue.extend(run.member_failed(ctx.now, status));
                        }
                    }
                }
                GroupAction::CancelRinging => {
                    let first = self.receiving().first_leg;
                    for leg in self.legs.iter_mut().skip(first) {
                        if leg.state.is_live() {
                            leg.cancel(ctx);
                        }
                    }
                    self.next_attempts.clear();
                }
                GroupAction::WaitUntil(at) => ctx.arm(CallTimer::App, at),
                GroupAction::GiveUp(outcome) => {
                    let (why, status) = match outcome {
                        Outcome::Busy => (Unanswered::Busy, 486),
                        Outcome::Unavailable => (Unanswered::Unavailable, 480),
                        Outcome::NoAnswer => (Unanswered::NoAnswer, 480),
                    };
                    self.unanswered(ctx, why, status);
                    return;
                }
            }
        }
    }

    /// An external member: a leg through the outgoing routes, as the group's class allows.
    fn place_external(&mut self, ctx: &mut Ctx<'_>, number: &str, member: &Member) -> Option<u16> {
        let decision = {
            let live = ctx.core.live(ctx.now, ctx.wall);
            let group = match &self.receiving.as_deref().map(|r| &r.target) {
                Some(Target::Group(name)) => name.clone(),
                _ => String::new(),
            };
            ctx.core
                .plan
                .route_member(&group, number, self.presented_caller(), at(ctx), &live)
        };
        let routing = crate::outbound::target(decision, &ctx.core.trunks);
        let super::setup::Target::Trunks { attempts, .. } = routing.target else {
            tracing::info!(call = %self.id, %number, "external member cannot be called");
            return Some(403);
        };
        let mut attempts = attempts.into_iter();
        let first = attempts.next()?;
        let failed = self.place_all(ctx, vec![first], Some(member));
        if failed.is_none() {
            // Failover through the member's other trunks (one member rings at a time).
            self.next_attempts.extend(attempts);
        }
        failed
    }

    /// The caller's number, for external members of groups that present it.
    fn presented_caller(&self) -> Option<&str> {
        (self.caller != "anonymous").then_some(self.caller.as_str())
    }

    /// A leg of the current target failed (`was_live`: it was still wanted).
    pub(crate) fn received_leg_failed(
        &mut self,
        ctx: &mut Ctx<'_>,
        index: usize,
        status: u16,
        retry_after: bool,
        was_live: bool,
    ) {
        if !matches!(self.phase, Phase::Ringing | Phase::Serving) || self.answered.is_some() {
            return;
        }
        if !was_live || index < self.receiving().first_leg {
            return;
        }
        if !self.next_attempts.is_empty()
            && super::dialing::fails_over(status, retry_after)
            && self.pending_live_legs() == 0
        {
            self.fail_over(ctx);
            return;
        }
        self.next_attempts.clear();
        let member = self
            .receiving()
            .members
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, m)| m.clone());
        if let Some(member) = member {
            let receiving = self.receiving.as_deref().expect("received");
            let still_ringing = receiving
                .members
                .iter()
                .any(|(i, m)| *m == member && self.legs[*i].state.is_live());
            if still_ringing {
                return;
            }
            let actions = match &mut self.receiving().app {
                App::Group(run) => run.member_failed(ctx.now, status),
                _ => Vec::new(),
            };
            self.group_actions(ctx, actions);
            return;
        }
        if self.pending_live_legs() > 0 {
            return;
        }
        let first = self.receiving().first_leg;
        let statuses: Vec<u16> = self
            .legs
            .iter()
            .skip(first)
            .filter_map(|leg| match leg.state {
                crate::leg::LegState::Failed(status) => Some(status),
                _ => None,
            })
            .collect();
        let status = super::dialing::best_failure(&statuses);
        self.unanswered(ctx, unanswered_of(status), status);
    }

    /// The extension's ring time passed.
    pub(crate) fn received_ring_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.unanswered(ctx, Unanswered::NoAnswer, 480);
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
            App::Idle => {}
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
            ctx.core.load.add(number);
            self.callee = Some(number.clone());
        }
    }

    /// Answered by a phone while crossbar served the caller: the relay's far side becomes
    /// the phone (no re-INVITE of the caller), and the call is answered.
    pub(crate) fn bridge_served(&mut self, ctx: &mut Ctx<'_>, index: usize) {
        ctx.media(MediaCommand::Bridge {
            id: self.media.relay,
        });
        if let Some(receiving) = self.receiving.as_deref_mut() {
            receiving.ringback = false;
        }
        self.received_answer(ctx, index);
    }

    /// While crossbar serves the caller, a phone ringing plays ringback to them.
    pub(crate) fn start_ringback(&mut self, ctx: &mut Ctx<'_>) {
        if self.phase != Phase::Serving {
            return;
        }
        let receiving = self.receiving();
        if receiving.ringback {
            return;
        }
        let payload_type = receiving.settled.map_or(0, |s| s.payload_type);
        let Some(ringback) = ctx.core.prompts.as_ref().and_then(|p| p.ringback()) else {
            ctx.media(MediaCommand::StopPlaying {
                id: self.media.relay,
            });
            return;
        };
        self.receiving().ringback = true;
        ctx.media(MediaCommand::Play {
            id: self.media.relay,
            prompts: vec![ringback],
            repeat: true,
            payload_type,
        });
    }

    /// Enters menu `name`: crossbar answers the caller (if it has not yet), listens for keys
    /// and plays the greeting.
    fn enter_menu(&mut self, ctx: &mut Ctx<'_>, name: &str) {
        let Some(plan) = ctx.core.plan.ivr(name).cloned() else {
            self.go_to(ctx, Target::Hangup);
            return;
        };
        if !self.answer_caller(ctx) {
            tracing::info!(call = %self.id, "the caller offers no G.711 audio: no menu");
            self.end_unreceived(
                ctx,
                488,
                EndReason::Error {
                    status: Some(488),
                    detail: "no G.711 audio for the menu".into(),
                },
            );
            return;
        }
        ctx.emit(&self.id, EventKind::Stage { stage: Stage::Ivr });
        ctx.emit(
            &self.id,
            EventKind::Step {
                kind: StepKind::Ivr,
                name: name.to_owned(),
                result: "entered".to_owned(),
            },
        );
        self.receiving().ringback = false;
        let (menu, actions) = Menu::start(plan);
        self.receiving().app = App::Menu(menu);
        self.menu_actions(ctx, actions);
    }

    /// crossbar answers the caller itself: 200 with its own SDP (one G.711 codec and
    /// telephone-events), the caller's dialog set up, the call serving. `false` when the
    /// caller's offer has no G.711 audio.
    fn answer_caller(&mut self, ctx: &mut Ctx<'_>) -> bool {
        match self.phase {
            Phase::Serving => return true,
            Phase::Ringing => {}
            Phase::Answered | Phase::Ending => return false,
        }
        let address = ctx.settings().media_address;
        let (body, settled) = if self.a.invite.body.is_empty() {
            // Late offer (RFC 3264 §5): crossbar offers; the ACK brings the answer.
            (self.media.offer_caller(address), Settled::DEFAULT)
        } else {
            let Ok(offer) = SessionDescription::parse(&self.a.invite.body) else {
                return false;
            };
            let Some(answered) = self.media.answer_caller(address, &offer) else {
                return false;
            };
            answered
        };
        let mut ok = tagged(&self.a.invite, 200, &self.a.local_tag);
        ok.headers.push(HeaderName::Contact, ctx.contact_value());
        ok.headers
            .push(HeaderName::Allow, crossbar_proto::endpoint::ALLOWED_METHODS);
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        ok.body = body.clone();
        self.phase = Phase::Serving;
        self.a.final_sent = true;
        self.a.dialog =
            crate::dialog::from_request(&self.a.invite, &self.a.local_tag, self.a.source);
        if let Some(dialog) = &self.a.dialog {
            ctx.index_dialog(
                (dialog.call_id.clone(), dialog.local_tag.clone()),
                Side::Caller,
            );
        }
        self.a.ok = Some(ok.clone());
        self.a.ok_deadline = Some(ctx.now + crate::ACK_WAIT);
        ctx.respond(self.a.invite_key, ok);
        ctx.arm(CallTimer::RetransmitOk, ctx.now + self.a.ok_interval);
        self.b_offer = Some(self.media.offer_callee(address, settled));
        if let Some(payload_type) = settled.telephone_event {
            ctx.media(MediaCommand::Listen {
                id: self.media.relay,
                payload_type,
            });
        }
        let receiving = self.receiving();
        receiving.settled = Some(settled);
        receiving.answer_sdp = Some(body);
        tracing::info!(call = %self.id, "answered by crossbar");
        true
    }

    /// The caller's ACK to crossbar's own 200 carries the answer to a late offer.
    pub(crate) fn served_ack(&mut self, ctx: &mut Ctx<'_>, request: &Request) {
        if request.body.is_empty() {
            return;
        }
        let Ok(answer) = SessionDescription::parse(&request.body) else {
            return;
        };
        let command = self.media.set_remote(Side::Caller, &answer);
        ctx.media(command);
        if let Some(settled) = crossbar_sdp::endpoint::settled_by_answer(&answer) {
            let address = ctx.settings().media_address;
            self.b_offer = Some(self.media.offer_callee(address, settled));
            self.receiving().settled = Some(settled);
            if let Some(payload_type) = settled.telephone_event {
                ctx.media(MediaCommand::Listen {
                    id: self.media.relay,
                    payload_type,
                });
            }
        }
    }

    /// A request from the caller while crossbar serves them: BYE ends the call (abandoned in
    /// a menu, cancelled while a phone rings), INFO may carry a key (`application/dtmf-relay`),
    /// a session refresh gets crossbar's answer again.
    pub(crate) fn served_request(
        &mut self,
        ctx: &mut Ctx<'_>,
        key: crossbar_proto::transaction::ServerKey,
        request: Request,
    ) {
        match request.method {
            Method::Bye => {
                ctx.respond(key, request.response(200));
                self.end_answered(ctx, Some(Side::Caller), EndReason::Hangup);
            }
            Method::Info => {
                let content_type = request.headers.content_type().unwrap_or_default();
                let pressed = crossbar_media::dtmf::key_from_info(content_type, &request.body);
                ctx.respond(key, request.response(200));
                if let Ok(pressed) = pressed {
                    self.on_key(ctx, pressed);
                }
            }
            Method::Invite | Method::Update => {
                let mut ok = request.response(200);
                ok.headers.push(HeaderName::Contact, ctx.contact_value());
                if let Some(sdp) = self.receiving().answer_sdp.clone()
                    && !request.body.is_empty()
                {
                    ok.headers.push(HeaderName::ContentType, "application/sdp");
                    ok.body = sdp;
                }
                ctx.respond(key, ok);
            }
            _ => ctx.respond(key, request.response(200)),
        }
    }

    /// The caller pressed `key` (RFC 4733 event or SIP INFO).
    pub(crate) fn on_key(&mut self, ctx: &mut Ctx<'_>, key: char) {
        if self.phase != Phase::Serving {
            return;
        }
        let Some(receiving) = self.receiving.as_deref_mut() else {
            return;
        };
        if let App::Menu(menu) = &mut receiving.app {
            tracing::debug!(call = %self.id, %key, "key");
            let actions = menu.key(ctx.now, key);
            self.menu_actions(ctx, actions);
        }
    }

    /// The prompt playing to the caller ended.
    pub(crate) fn on_play_finished(&mut self, ctx: &mut Ctx<'_>) {
        let Some(receiving) = self.receiving.as_deref_mut() else {
            return;
        };
        if let App::Menu(menu) = &mut receiving.app {
            let actions = menu.prompt_finished(ctx.now);
            self.menu_actions(ctx, actions);
        }
    }

    /// Carries out what the menu asks.
    fn menu_actions(&mut self, ctx: &mut Ctx<'_>, actions: Vec<MenuAction>) {
        let mut queue: std::collections::VecDeque<MenuAction> = actions.into();
        while let Some(action) = queue.pop_front() {
            let menu_name = match &self.receiving().app {
                App::Menu(menu) => menu.name().to_owned(),
                _ => return,
            };
            match action {
                MenuAction::Play(refs) => {
                    let receiving = self.receiving();
                    let language = receiving.language.clone();
                    let payload_type = receiving.settled.map_or(0, |s| s.payload_type);
                    let prompts: Vec<_> = refs
                        .iter()
                        .filter_map(|prompt| {
                            let found = ctx
                                .core
                                .prompts
                                .as_ref()
                                .and_then(|library| library.get(&language, prompt));
                            if found.is_none() {
                                tracing::warn!(?prompt, %language, "prompt not loaded");
                            }
                            found
                        })
                        .collect();
                    if prompts.is_empty() {
                        // Nothing to play: the menu waits for keys at once.
                        if let App::Menu(menu) = &mut self.receiving().app {
                            queue.extend(menu.prompt_finished(ctx.now));
                        }
                        continue;
                    }
                    ctx.media(MediaCommand::Play {
                        id: self.media.relay,
                        prompts,
                        repeat: false,
                        payload_type,
                    });
                }
                MenuAction::StopPlaying => ctx.media(MediaCommand::StopPlaying {
                    id: self.media.relay,
                }),
                MenuAction::WaitUntil(at) => ctx.arm(CallTimer::App, at),
                MenuAction::Go { destination, keys } => {
                    let result = if keys.is_empty() {
                        format!("no choice → {destination}")
                    } else {
                        format!("{keys} → {destination}")
                    };
                    ctx.emit(
                        &self.id,
                        EventKind::Step {
                            kind: StepKind::Digit,
                            name: menu_name,
                            result,
                        },
                    );
                    self.follow_destination(ctx, &destination);
                    return;
                }
                MenuAction::Dial { number } => {
                    ctx.emit(
                        &self.id,
                        EventKind::Step {
                            kind: StepKind::Digit,
                            name: menu_name,
                            result: format!("{number} → ext:{number}"),
                        },
                    );
                    self.go_to(ctx, Target::Extension(number));
                    return;
                }
            }
        }
    }
}

/// The wall clock as routing reads it.
fn at(ctx: &Ctx<'_>) -> jiff::Timestamp {
    jiff::Timestamp::try_from(ctx.wall).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// A step of the route path onto the record.
pub(crate) fn emit_step(ctx: &mut Ctx<'_>, call: &crossbar_cdr::CallId, step: Step) {
    ctx.emit(
        call,
        EventKind::Step {
            kind: step.kind,
            name: step.name,
            result: step.result,
        },
    );
}
