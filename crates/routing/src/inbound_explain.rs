//! The simulator's view of an incoming call: what `crossbar route explain` prints for a call
//! from a trunk (a table with `Display`, JSON with serde). Built from the very
//! [`InboundDecision`] a live call gets, then walked with the pieces the live switch uses on
//! real keys — [`DialPlan::resolve`], [`IvrPlan::choose`] and [`IvrPlan::choose_complete`],
//! [`IvrPlan::after_failure`], [`DialPlan::ring_order`] — so the simulator and the call agree.
//!
//! The walk: the route (or blocklist, or no route), the time conditions decided, each menu
//! entered (its prompt), each key of `digits` applied to the menu the caller is in (an option,
//! a direct-dialled extension, or an invalid key: replay, and after the retries `on_failure`),
//! until the call reaches an extension, a group (its members in ringing order), a queue, the
//! end of the call, or a menu with no keys left (the caller waits there). When the keys end in the
//! middle of an extension's number, the digit timeout is taken to pass.
//!
//! JSON keys: `trunk`, `did`, `caller`, `decision` (`route`, `blocked`, `no_route`), `route`,
//! `status` (403/486/603 blocked, 404 no route; `null` when the call goes on), `vip`,
//! `language`, `digits`, `steps` (`{kind, name, result}`, `kind` one of `route`,
//! `time_condition`, `ivr`, `digit`, `group`, `escalation`, `blocklist`, `queue`), `destination` (`ext:201`,
//! `ivr:main`, `group:sales`, `queue:support`, `hangup`; `null` when refused), `waiting` (the caller waits in
//! the menu `destination` for a key), `members` (for a group: `{member, position, class,
//! skipped}` in ringing order, `member` as `ext:201` or the outside number).

use std::fmt;

use crossbar_cdr::StepKind;
use crossbar_config::{Member, PromptRef};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::destination::{Step, Target};
use crate::group::MemberPlan;
use crate::inbound::InboundDecision;
use crate::live::Live;
use crate::menu::{Choice, IvrPlan};
use crate::plan::DialPlan;

/// The seed a random group is shown with (one possible order among many).
pub const EXPLAIN_SEED: u64 = 0;

/// Which kind of inbound decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundDecisionKind {
    Route,
    Blocked,
    NoRoute,
}

/// An incoming call's path explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundExplanation {
    pub trunk: String,
    pub did: String,
    pub caller: Option<String>,
    pub decision: InboundDecisionKind,
    /// The `[[inbound_route]]` that took the call (`None`: refused, or the trunk's default).
    pub route: Option<String>,
    /// The SIP status of a refused call.
    pub status: Option<u16>,
    pub vip: bool,
    pub language: Option<String>,
    /// The keys the walk applied.
    pub digits: String,
    pub steps: Vec<Step>,
    /// Where the call ends up (`None` when refused).
    pub destination: Option<Target>,
    /// The caller waits in the menu `destination` for a key.
    pub waiting: bool,
    /// The group's members in ringing order, when `destination` is a group.
    pub members: Vec<MemberView>,
}

/// A ring group member, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// `ext:201`, or the outside number.
    pub member: String,
    /// Its place in the group's list (0-based).
    pub position: usize,
    /// The class of service an outside number is called with.
    pub class: Option<String>,
    /// Why it is passed over (`busy`...).
    pub skipped: Option<String>,
}

impl MemberView {
    fn of(plan: &MemberPlan) -> MemberView {
        MemberView {
            member: member_text(&plan.member),
            position: plan.position,
            class: plan.class.clone(),
            skipped: plan.skipped.clone(),
        }
    }
}

fn member_text(member: &Member) -> String {
    match member {
        Member::Extension(number) => format!("ext:{number}"),
        Member::External(number) => number.clone(),
    }
}

fn prompt_text(prompt: &PromptRef) -> String {
    match prompt {
        PromptRef::Named(name) => name.clone(),
        PromptRef::File(path) => path.display().to_string(),
    }
}

impl DialPlan {
    /// `decision` explained: the path walked with `digits` pressed in the menus on the way
    /// (see the module), time conditions read at `at`, groups ordered with `live` (a random
    /// group with [`EXPLAIN_SEED`]).
    pub fn explain_inbound(
        &self,
        decision: &InboundDecision,
        digits: &str,
        at: Timestamp,
        live: &dyn Live,
    ) -> InboundExplanation {
        let mut explanation = InboundExplanation {
            trunk: decision.trunk().to_owned(),
            did: decision.did().to_owned(),
            caller: decision.caller().map(str::to_owned),
            decision: InboundDecisionKind::Route,
            route: None,
            status: decision.status(),
            vip: false,
            language: None,
            digits: digits.to_owned(),
            steps: decision.steps().to_vec(),
            destination: None,
            waiting: false,
            members: Vec::new(),
        };
        let routed = match decision {
            InboundDecision::Blocked { .. } => {
                explanation.decision = InboundDecisionKind::Blocked;
                return explanation;
            }
            InboundDecision::NoRoute { .. } => {
                explanation.decision = InboundDecisionKind::NoRoute;
                return explanation;
            }
            InboundDecision::Route(routed) => routed,
        };
        explanation.route.clone_from(&routed.route);
        explanation.vip = routed.vip;
        explanation.language = Some(routed.language.clone());

        let mut keys = digits.chars();
        let mut target = routed.target.clone();
        loop {
            match &target {
                Target::Ivr(name) => {
                    let Some(menu) = self.ivr(name) else {
                        // `resolve` only returns menus the plan has.
                        target = Target::Hangup;
                        continue;
                    };
                    match self.walk_menu(menu, &mut keys, at, live, &mut explanation.steps) {
                        Some(next) => target = next,
                        None => {
                            explanation.waiting = true;
                            break;
                        }
                    }
                }
                Target::Group(name) => {
                    let order = self.ring_order(name, live, EXPLAIN_SEED);
                    if let Some(group) = self.ring_group(name) {
                        let ringing = order.iter().filter(|m| m.skipped.is_none()).count();
                        explanation.steps.push(Step::new(
                            StepKind::Group,
                            name.as_str(),
                            format!(
                                "{} {ringing} of {} members, {} s{}",
                                strategy_words(group.strategy),
                                order.len(),
                                group.ring_secs,
                                if group.strategy == crossbar_config::RingStrategy::RingAll {
                                    ""
                                } else {
                                    " each"
                                }
                            ),
                        ));
                    }
                    explanation.members = order.iter().map(MemberView::of).collect();
                    break;
                }
                Target::Queue(name) => {
                    // Who answers depends on who is logged in, free and idle when the call
                    // comes: the simulator says how the queue chooses and among whom, and
                    // where the caller goes when nobody answers.
                    if let Some(queue) = self.queue(name) {
                        explanation.steps.push(Step::new(
                            StepKind::Queue,
                            name.as_str(),
                            queue_words(queue),
                        ));
                    }
                    break;
                }
                Target::Extension(_) | Target::Hangup => break,
            }
        }
        explanation.destination = Some(target);
        explanation
    }

    /// The caller in `menu`, pressing `keys`: where they go, or `None` when the keys run out
    /// with the caller still in the menu.
    fn walk_menu(
        &self,
        menu: &IvrPlan,
        keys: &mut std::str::Chars<'_>,
        at: Timestamp,
        live: &dyn Live,
        steps: &mut Vec<Step>,
    ) -> Option<Target> {
        steps.push(Step::new(
            StepKind::Ivr,
            menu.name.as_str(),
            format!("entered: prompt {}", prompt_text(&menu.prompt)),
        ));
        let mut failures = 0;
        let mut pressed = String::new();
        loop {
            let (choice, timed_out) = match keys.next() {
                Some(key) => {
                    pressed.push(key);
                    (menu.choose(&pressed), false)
                }
                None if pressed.is_empty() => {
                    let then = match menu.retries {
                        0 => format!("then {}", menu.on_failure),
                        1 => format!("replayed once, then {}", menu.on_failure),
                        n => format!("replayed {n} times, then {}", menu.on_failure),
                    };
                    steps.push(Step::new(
                        StepKind::Ivr,
                        menu.name.as_str(),
                        format!(
                            "waiting for a key (after {} s without one: {then})",
                            menu.timeout_secs
                        ),
                    ));
                    return None;
                }
                None => (menu.choose_complete(&pressed), true),
            };
            let after = if timed_out {
                format!(" (no key within {} s)", menu.digit_timeout_secs)
            } else {
                String::new()
            };
            match choice {
                Choice::NeedMore => continue,
                Choice::Destination(destination) => {
                    steps.push(Step::new(
                        StepKind::Digit,
                        menu.name.as_str(),
                        format!("{pressed}{after} → {destination}"),
                    ));
                    let resolution = self.resolve(&destination, at, live);
                    steps.extend(resolution.steps);
                    return Some(resolution.target);
                }
                Choice::Extension(number) => {
                    steps.push(Step::new(
                        StepKind::Digit,
                        menu.name.as_str(),
                        format!("{pressed}{after} → ext:{number} (direct dial)"),
                    ));
                    let resolution =
                        self.resolve(&crossbar_config::Destination::Extension(number), at, live);
                    steps.extend(resolution.steps);
                    return Some(resolution.target);
                }
                Choice::Invalid => {
                    failures += 1;
                    match menu.after_failure(failures) {
                        None => {
                            let prompt =
                                menu.invalid_prompt.as_ref().map_or_else(String::new, |p| {
                                    format!("prompt {}, ", prompt_text(p))
                                });
                            steps.push(Step::new(
                                StepKind::Digit,
                                menu.name.as_str(),
                                format!(
                                    "{pressed}{after}: invalid; {prompt}replay {failures} of {}",
                                    menu.retries
                                ),
                            ));
                            pressed.clear();
                        }
                        Some(destination) => {
                            steps.push(Step::new(
                                StepKind::Digit,
                                menu.name.as_str(),
                                format!(
                                    "{pressed}{after}: invalid; no replays left → {destination}"
                                ),
                            ));
                            let resolution = self.resolve(destination, at, live);
                            steps.extend(resolution.steps);
                            return Some(resolution.target);
                        }
                    }
                }
            }
        }
    }
}

fn strategy_words(strategy: crossbar_config::RingStrategy) -> &'static str {
    match strategy {
        crossbar_config::RingStrategy::RingAll => "ring all:",
        crossbar_config::RingStrategy::Hunt => "hunt:",
        crossbar_config::RingStrategy::RoundRobin => "round robin:",
        crossbar_config::RingStrategy::Random => "random:",
    }
}

/// What the simulator says of a queue: `waits for an agent (longest idle) of 202, 203
/// (penalty 1: 204), at most 300 s, then ext:201`.
fn queue_words(queue: &crate::QueuePlan) -> String {
    let mut tiers: Vec<u32> = queue.members.iter().map(|m| m.penalty).collect();
    tiers.sort_unstable();
    tiers.dedup();
    let tier = |penalty: u32| {
        queue
            .members
            .iter()
            .filter(|m| m.penalty == penalty)
            .map(|m| m.extension.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut words = format!(
        "waits for an agent ({})",
        queue.strategy.as_str().replace('_', " ")
    );
    match tiers.split_first() {
        None => words.push_str(", agents log in at run time"),
        Some((first, rest)) => {
            words.push_str(&format!(" of {}", tier(*first)));
            for penalty in rest {
                words.push_str(&format!(" (penalty {penalty}: {})", tier(*penalty)));
            }
        }
    }
    match (&queue.max_wait_secs, &queue.on_timeout) {
        (Some(secs), Some(next)) => words.push_str(&format!(", at most {secs} s, then {next}")),
        (Some(secs), None) => words.push_str(&format!(", at most {secs} s")),
        (None, _) => {}
    }
    if let Some(empty) = &queue.on_empty {
        words.push_str(&format!("; nobody logged in: {empty}"));
    }
    words
}

/// A few aligned lines for `crossbar route explain` (table output).
impl fmt::Display for InboundExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LABEL: usize = 11;
        writeln!(f, "{:LABEL$} {}", "trunk", self.trunk)?;
        writeln!(f, "{:LABEL$} {}", "did", self.did)?;
        writeln!(
            f,
            "{:LABEL$} {}",
            "caller",
            self.caller.as_deref().unwrap_or("anonymous")
        )?;
        let decision = match self.decision {
            InboundDecisionKind::Route => {
                let mut line = match &self.route {
                    Some(route) => format!("route {route}"),
                    None => "the trunk's default destination".to_owned(),
                };
                if let Some(language) = &self.language {
                    line.push_str(&format!(", language {language}"));
                }
                if self.vip {
                    line.push_str(", vip");
                }
                line
            }
            InboundDecisionKind::Blocked => format!("blocked ({})", self.status.unwrap_or(403)),
            InboundDecisionKind::NoRoute => format!("no route ({})", self.status.unwrap_or(404)),
        };
        writeln!(f, "{:LABEL$} {decision}", "decision")?;
        if !self.digits.is_empty() {
            writeln!(f, "{:LABEL$} {}", "digits", self.digits)?;
        }
        let kind_width = self
            .steps
            .iter()
            .map(|s| s.kind.as_str().len())
            .max()
            .unwrap_or(0);
        let name_width = self.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for (index, step) in self.steps.iter().enumerate() {
            let label = if index == 0 { "path" } else { "" };
            writeln!(
                f,
                "{label:LABEL$} {}. {:kw$}  {:nw$}  {}",
                index + 1,
                step.kind.as_str(),
                step.name,
                step.result,
                kw = kind_width,
                nw = name_width,
            )?;
        }
        if let Some(destination) = &self.destination {
            let waiting = if self.waiting {
                "  (waiting for a key)"
            } else {
                ""
            };
            writeln!(f, "{:LABEL$} {destination}{waiting}", "destination")?;
        }
        let member_width = self.members.iter().map(|m| m.member.len()).max();
        for (index, member) in self.members.iter().enumerate() {
            let label = if index == 0 { "members" } else { "" };
            let class = member
                .class
                .as_deref()
                .map_or_else(String::new, |c| format!("  class {c}"));
            let skipped = member
                .skipped
                .as_deref()
                .map_or_else(String::new, |s| format!("  skipped: {s}"));
            let line = format!(
                "{}. {:mw$}{class}{skipped}",
                index + 1,
                member.member,
                mw = member_width.unwrap_or(0),
            );
            writeln!(f, "{label:LABEL$} {}", line.trim_end())?;
        }
        Ok(())
    }
}
