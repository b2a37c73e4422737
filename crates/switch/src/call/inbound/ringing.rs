//! Ringing for an incoming call: an extension's phones, a ring group's members in the order
//! the dial plan gives (an outside member through the outgoing routes), and what their
//! failures mean for the group and the call's escalation.

use crossbar_cdr::{EventKind, Stage, StepKind};
use crossbar_config::{Member, RingStrategy};
use crossbar_routing::{Target, Unanswered};

use super::{App, unanswered_of};
use crate::apps::group::{GroupAction, GroupRun, Outcome};
use crate::call::dialing::Attempt;
use crate::call::{Call, Phase};
use crate::core::{CallTimer, Ctx};

impl Call {
    /// Rings every registered contact of extension `number`, for its `no_answer_secs`.
    pub(super) fn ring_extension(&mut self, ctx: &mut Ctx<'_>, number: &str) {
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
    pub(super) fn place_extension(
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
    pub(super) fn place_all(
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
    pub(super) fn ring_group(&mut self, ctx: &mut Ctx<'_>, name: &str) {
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
    pub(super) fn group_actions(&mut self, ctx: &mut Ctx<'_>, actions: Vec<GroupAction>) {
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
    pub(super) fn place_external(
        &mut self,
        ctx: &mut Ctx<'_>,
        number: &str,
        member: &Member,
    ) -> Option<u16> {
        let decision = {
            let live = ctx.core.live(ctx.now, ctx.wall);
            let group = match &self.receiving.as_deref().map(|r| &r.target) {
                Some(Target::Group(name)) => name.clone(),
                _ => String::new(),
            };
            ctx.core.plan.route_member(
                &group,
                number,
                self.presented_caller(),
                super::at(ctx),
                &live,
            )
        };
        let routing = crate::outbound::target(decision, &ctx.core.trunks);
        let crate::call::setup::Target::Trunks { attempts, .. } = routing.target else {
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
    pub(super) fn presented_caller(&self) -> Option<&str> {
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
        if self.in_queue() {
            self.queue_leg_failed(ctx, index, status);
            return;
        }
        if !self.next_attempts.is_empty()
            && crate::call::dialing::fails_over(status, retry_after)
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
        let status = crate::call::dialing::best_failure(&statuses);
        self.unanswered(ctx, unanswered_of(status), status);
    }

    /// The extension's ring time passed.
    pub(crate) fn received_ring_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.unanswered(ctx, Unanswered::NoAnswer, 480);
    }
}
