//! Where an inbound call goes: a [`Destination`] followed through time conditions to a
//! [`Target`] — an extension to ring, a menu to run, a group to ring, a queue to wait in, or
//! the end of the call —
//! with the [`Step`]s of the route path on the way. [`DialPlan::resolve`] is the one place time
//! conditions are decided: the switch calls it for the route's destination, and again whenever
//! a menu key, a menu's failure or an escalation names a new destination; `crossbar route
//! explain` calls the same function.

use std::fmt;
use std::str::FromStr;

use crossbar_cdr::{EventKind, StepKind};
use crossbar_config::{Destination, Escalation};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::live::Live;
use crate::plan::DialPlan;

/// Time conditions followed in a row before the plan gives up (the configuration refuses
/// loops of time conditions; this bounds the walk whatever it is given).
pub const MAX_TIME_CONDITIONS: usize = 16;

/// Where a call ends up once time conditions are decided. Written as destinations are
/// (`ext:201`, `ivr:main`, `group:sales`, `queue:support`, `hangup`), also in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Ring an extension's registered phones, by number.
    Extension(String),
    /// Answer and run a menu ([`DialPlan::ivr`]).
    Ivr(String),
    /// Ring a group's members ([`DialPlan::ring_order`]).
    Group(String),
    /// Wait in a queue for one of its agents.
    Queue(String),
    /// End the call.
    Hangup,
}

impl Target {
    /// The destination written for this target (`ext:201`...).
    pub fn destination(&self) -> Destination {
        match self {
            Target::Extension(n) => Destination::Extension(n.clone()),
            Target::Ivr(n) => Destination::Ivr(n.clone()),
            Target::Group(n) => Destination::Group(n.clone()),
            Target::Queue(n) => Destination::Queue(n.clone()),
            Target::Hangup => Destination::Hangup,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.destination().fmt(f)
    }
}

/// Why a text is not a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a target (ext:NUMBER, ivr:NAME, group:NAME, queue:NAME or hangup)")]
pub struct TargetError(pub String);

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Target, TargetError> {
        if text == "hangup" {
            return Ok(Target::Hangup);
        }
        let (kind, name) = text
            .split_once(':')
            .filter(|(_, name)| !name.is_empty())
            .ok_or_else(|| TargetError(text.to_owned()))?;
        match kind {
            "ext" => Ok(Target::Extension(name.to_owned())),
            "ivr" => Ok(Target::Ivr(name.to_owned())),
            "group" => Ok(Target::Group(name.to_owned())),
            "queue" => Ok(Target::Queue(name.to_owned())),
            _ => Err(TargetError(text.to_owned())),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Target, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One step of an inbound call's route path, in the call record's vocabulary
/// ([`EventKind::Step`]): the route that took the call, a time condition's verdict, a menu
/// entered, a key pressed, a group rung, an escalation, the blocklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    /// What the step is about (`office-hours`, `main`, `sales`).
    pub name: String,
    /// What happened, in words (`open (mon-fri 09:00-17:30)`, `2 → group:sales`).
    pub result: String,
}

impl Step {
    pub fn new(kind: StepKind, name: impl Into<String>, result: impl Into<String>) -> Step {
        Step {
            kind,
            name: name.into(),
            result: result.into(),
        }
    }
}

impl From<Step> for EventKind {
    /// The call record's event for the step.
    fn from(step: Step) -> EventKind {
        EventKind::Step {
            kind: step.kind,
            name: step.name,
            result: step.result,
        }
    }
}

/// A destination followed to where the call goes now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub target: Target,
    /// The time conditions decided on the way (and, when the destination named something
    /// the plan does not have, or time conditions went round a loop, a step saying so).
    pub steps: Vec<Step>,
}

/// Why a destination that rings people did not get the call answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unanswered {
    /// Nobody answered within the ring time.
    NoAnswer,
    /// Every phone was busy (or every member was skipped as busy).
    Busy,
    /// Nothing to ring: no phone registered, no member left.
    Unavailable,
}

impl Unanswered {
    pub fn as_str(self) -> &'static str {
        match self {
            Unanswered::NoAnswer => "no answer",
            Unanswered::Busy => "busy",
            Unanswered::Unavailable => "unavailable",
        }
    }
}

impl DialPlan {
    /// Follows `destination` through time conditions (read at `at` in `[site] timezone`, with
    /// the overrides of `live`) to where the call goes now. A name the plan does not have
    /// (impossible for destinations taken from the compiled configuration), and a loop of
    /// time conditions or more than [`MAX_TIME_CONDITIONS`] of them in a row, end the call
    /// ([`Target::Hangup`]) with a step saying why.
    pub fn resolve(&self, destination: &Destination, at: Timestamp, live: &dyn Live) -> Resolution {
        let inbound = &self.inbound;
        let mut steps = Vec::new();
        let mut followed: Vec<usize> = Vec::new();
        let mut current = destination;
        loop {
            let target = match current {
                Destination::TimeCondition(name) => {
                    let Some(&index) = inbound.time_condition_names.get(name.as_str()) else {
                        steps.push(Step::new(
                            StepKind::TimeCondition,
                            name.as_str(),
                            "no such time condition: the call ends",
                        ));
                        return Resolution {
                            target: Target::Hangup,
                            steps,
                        };
                    };
                    if followed.contains(&index) || followed.len() >= MAX_TIME_CONDITIONS {
                        let mut chain: Vec<&str> = followed
                            .iter()
                            .map(|&i| inbound.time_conditions[i].name.as_str())
                            .collect();
                        chain.push(name);
                        let result = if followed.contains(&index) {
                            format!(
                                "loop of time conditions ({}): the call ends",
                                chain.join(" → ")
                            )
                        } else {
                            format!(
                                "more than {MAX_TIME_CONDITIONS} time conditions in a row: the \
                                 call ends"
                            )
                        };
                        steps.push(Step::new(StepKind::TimeCondition, name.as_str(), result));
                        return Resolution {
                            target: Target::Hangup,
                            steps,
                        };
                    }
                    followed.push(index);
                    let condition = &inbound.time_conditions[index];
                    let verdict = match &self.zone {
                        Some((_, zone)) => condition.verdict(at, zone, live),
                        // Compile refuses time conditions without a time zone.
                        None => crate::time_condition::Verdict {
                            open: false,
                            why: "no [site] timezone".to_owned(),
                        },
                    };
                    steps.push(Step::new(
                        StepKind::TimeCondition,
                        name.as_str(),
                        verdict.to_string(),
                    ));
                    current = if verdict.open {
                        &condition.when_open
                    } else {
                        &condition.when_closed
                    };
                    continue;
                }
                Destination::Extension(number) => match self.extension_names.get(number.as_str()) {
                    Some(&index) => Target::Extension(self.extensions[index].number.clone()),
                    None => {
                        steps.push(Step::new(
                            StepKind::Route,
                            current.to_string(),
                            format!("no extension {number}: the call ends"),
                        ));
                        Target::Hangup
                    }
                },
                Destination::Ivr(name) => {
                    if inbound.ivr_names.contains_key(name.as_str()) {
                        Target::Ivr(name.clone())
                    } else {
                        steps.push(Step::new(
                            StepKind::Ivr,
                            name.as_str(),
                            "no such menu: the call ends",
                        ));
                        Target::Hangup
                    }
                }
                Destination::Group(name) => {
                    if inbound.group_names.contains_key(name.as_str()) {
                        Target::Group(name.clone())
                    } else {
                        steps.push(Step::new(
                            StepKind::Group,
                            name.as_str(),
                            "no such ring group: the call ends",
                        ));
                        Target::Hangup
                    }
                }
                Destination::Queue(name) => {
                    if inbound.queue_names.contains_key(name.as_str()) {
                        Target::Queue(name.clone())
                    } else {
                        steps.push(Step::new(
                            StepKind::Route,
                            current.to_string(),
                            "no such queue: the call ends",
                        ));
                        Target::Hangup
                    }
                }
                Destination::Hangup => Target::Hangup,
            };
            return Resolution { target, steps };
        }
    }

    /// What happens when `target` (an extension or a group) does not get the call answered:
    /// its `escalation` (an extension's, or the group's). `None` for menus, queues (whose
    /// overflows are their own: `on_timeout`, `on_full`, `on_empty`) and hangup.
    pub fn escalation(&self, target: &Target) -> Option<&Escalation> {
        match target {
            Target::Extension(number) => self
                .extension_names
                .get(number.as_str())
                .map(|&index| &self.extensions[index].escalation),
            Target::Group(name) => self.ring_group(name).map(|group| &group.escalation),
            Target::Ivr(_) | Target::Queue(_) | Target::Hangup => None,
        }
    }

    /// Where the call goes after `target` went `why` (unanswered, busy, unavailable): its
    /// escalation's destination, resolved at `at`, behind an [`StepKind::Escalation`] step.
    /// `None`: no escalation for that outcome, the call ends with it.
    pub fn escalate(
        &self,
        target: &Target,
        why: Unanswered,
        at: Timestamp,
        live: &dyn Live,
    ) -> Option<Resolution> {
        let escalation = self.escalation(target)?;
        let next = match why {
            Unanswered::NoAnswer => escalation.on_no_answer.as_ref(),
            Unanswered::Busy => escalation.on_busy.as_ref(),
            Unanswered::Unavailable => escalation.on_unavailable.as_ref(),
        }?;
        let mut resolution = self.resolve(next, at, live);
        let name = match target {
            Target::Extension(n) | Target::Ivr(n) | Target::Group(n) | Target::Queue(n) => {
                n.clone()
            }
            Target::Hangup => "hangup".to_owned(),
        };
        resolution.steps.insert(
            0,
            Step::new(
                StepKind::Escalation,
                name,
                format!("{} → {next}", why.as_str()),
            ),
        );
        Some(resolution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_back_from_their_text() {
        for target in [
            Target::Extension("201".to_owned()),
            Target::Ivr("main".to_owned()),
            Target::Group("sales".to_owned()),
            Target::Queue("support".to_owned()),
            Target::Hangup,
        ] {
            assert_eq!(target.to_string().parse::<Target>(), Ok(target));
        }
        for bad in ["ext:", "queue:", "tc:office", "voicemail:201", "201", ""] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }
}
