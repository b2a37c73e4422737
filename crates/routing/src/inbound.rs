//! Incoming calls from trunks: which `[[inbound_route]]` takes a call, or the trunk's default
//! destination, or nothing (404); callers on the blocklist refused first.
//!
//! [`DialPlan::route_inbound`], in order:
//!
//! 1. the number called (the DID, as the trunk sent it: `442079460000`, `+44...`,
//!    `02079460000`) and the caller are normalised to E.164 with the site's numbering (a
//!    number of a possible length counts, even in a range the phone-number library does not
//!    know as allocated; so does anything already written `+` and digits). A caller that is
//!    not a number is kept as sent and matched only by patterns equal to it (a DID too); a
//!    caller that is empty or `anonymous` (RFC 3323 §4.1.1.3 writes withheld callers as
//!    `anonymous@anonymous.invalid`) is withheld, like `None`;
//! 2. the blocklist: `[inbound] blocklist`, then the numbers the database holds
//!    ([`Live::caller_blocked`]) → [`InboundDecision::Blocked`] with `[inbound]
//!    blocked_status` (403 by default). Withheld callers are never on it: a route with
//!    `anonymous = true` decides what they get;
//! 3. the first route in file order whose trunks, DIDs, callers and `anonymous` accept the
//!    call, its destination followed through time conditions ([`DialPlan::resolve`]);
//! 4. else the trunk's `default_destination`, with a step saying so;
//! 5. else [`InboundDecision::NoRoute`], 404 Not Found (RFC 3261 §21.4.5).
//!
//! Patterns (`NumberPattern`): exact (`+442079460000`; one written in national form is
//! normalised when the plan is compiled), prefix (`+4420794600*`; `*` alone takes every number)
//! and range (`+442079460000-+442079460099`, both ends included, numbers of the same length).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crossbar_cdr::StepKind;
use crossbar_config::{Config, Destination, NumberPattern};
use jiff::Timestamp;

use crate::destination::{Step, Target};
use crate::error::PlanError;
use crate::group::{GroupPlan, MemberPlan};
use crate::live::Live;
use crate::menu::IvrPlan;
use crate::numbering::{self, Numbering};
use crate::plan::DialPlan;
use crate::policy::ClassPolicy;
use crate::queue::QueuePlan;
use crate::time_condition::TimeConditionPlan;

/// One incoming call to route: the trunk it came from (as admission recognised it), the
/// number called as the trunk sent it, and the caller's number (`None`: withheld).
#[derive(Debug, Clone, Copy)]
pub struct InboundCall<'a> {
    pub trunk: &'a str,
    pub did: &'a str,
    pub caller: Option<&'a str>,
}

/// What happens to an incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundDecision {
    /// The caller is on the blocklist: refuse the call with `status`.
    Blocked {
        trunk: String,
        /// E.164, or as the trunk sent it when it is not a number.
        did: String,
        /// E.164, or as sent.
        caller: String,
        status: u16,
        /// One [`StepKind::Blocklist`] step.
        steps: Vec<Step>,
    },
    /// A route (or the trunk's default destination) takes the call.
    Route(RoutedCall),
    /// No route takes the call and the trunk has no default destination: refuse it with
    /// `status` (404).
    NoRoute {
        trunk: String,
        did: String,
        caller: Option<String>,
        status: u16,
        /// One [`StepKind::Route`] step saying why.
        steps: Vec<Step>,
    },
}

/// An incoming call a route took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedCall {
    pub trunk: String,
    /// The number called, E.164 (as the trunk sent it when it is not a number).
    pub did: String,
    /// The caller, E.164 or as sent; `None` when withheld.
    pub caller: Option<String>,
    /// The `[[inbound_route]]` that took the call; `None`: the trunk's default destination.
    pub route: Option<String>,
    /// Callers of the route are served first in queues.
    pub vip: bool,
    /// The prompt set the call's menus speak: the route's `language`, else `[prompts]
    /// default_language`.
    pub language: String,
    /// The route's destination as configured.
    pub destination: Destination,
    /// Where it goes now, time conditions decided.
    pub target: Target,
    /// The route step, then the time conditions decided.
    pub steps: Vec<Step>,
}

impl InboundDecision {
    /// The steps of the route path so far.
    pub fn steps(&self) -> &[Step] {
        match self {
            InboundDecision::Blocked { steps, .. } | InboundDecision::NoRoute { steps, .. } => {
                steps
            }
            InboundDecision::Route(routed) => &routed.steps,
        }
    }

    /// The SIP status a refused call gets (`None`: the call goes on).
    pub fn status(&self) -> Option<u16> {
        match self {
            InboundDecision::Blocked { status, .. } | InboundDecision::NoRoute { status, .. } => {
                Some(*status)
            }
            InboundDecision::Route(_) => None,
        }
    }

    pub fn trunk(&self) -> &str {
        match self {
            InboundDecision::Blocked { trunk, .. } | InboundDecision::NoRoute { trunk, .. } => {
                trunk
            }
            InboundDecision::Route(routed) => &routed.trunk,
        }
    }

    /// The number called, normalised.
    pub fn did(&self) -> &str {
        match self {
            InboundDecision::Blocked { did, .. } | InboundDecision::NoRoute { did, .. } => did,
            InboundDecision::Route(routed) => &routed.did,
        }
    }

    /// The caller, normalised; `None` when withheld.
    pub fn caller(&self) -> Option<&str> {
        match self {
            InboundDecision::Blocked { caller, .. } => Some(caller),
            InboundDecision::NoRoute { caller, .. } => caller.as_deref(),
            InboundDecision::Route(routed) => routed.caller.as_deref(),
        }
    }
}

/// A number as routing compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Read {
    /// `+` and digits.
    E164(String),
    /// Not a number crossbar could normalise: kept as sent.
    AsSent(String),
}

impl Read {
    fn text(&self) -> &str {
        match self {
            Read::E164(text) | Read::AsSent(text) => text,
        }
    }

    fn into_text(self) -> String {
        match self {
            Read::E164(text) | Read::AsSent(text) => text,
        }
    }
}

/// `+` and 1 to 15 digits, the first not 0: the shape of an E.164 number (ITU-T E.164 §6),
/// whether or not the numbering plan knows the range.
fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

fn read(numbering: &Numbering, text: &str) -> Read {
    let trimmed = text.trim();
    let Some(cleaned) = numbering::clean(trimmed) else {
        return Read::AsSent(trimmed.to_owned());
    };
    match numbering.to_e164(&cleaned) {
        Some(e164) => Read::E164(e164),
        None if is_e164(&cleaned) => Read::E164(cleaned),
        None => Read::AsSent(trimmed.to_owned()),
    }
}

/// A `NumberPattern` compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NumberMatch {
    /// E.164, or a text that is not a number (matched by equality only).
    Exact(String),
    /// `+` and digits; empty: every number.
    Prefix(String),
    Range {
        from: String,
        to: String,
    },
}

impl NumberMatch {
    fn compile(
        pattern: &NumberPattern,
        numbering: &Numbering,
        key: &str,
    ) -> Result<NumberMatch, PlanError> {
        let invalid = |message: String| PlanError::InvalidValue {
            key: key.to_owned(),
            message,
        };
        match pattern {
            NumberPattern::Exact(text) => match read(numbering, text) {
                Read::AsSent(text) if text.is_empty() => Err(invalid(
                    "an empty number matches nothing (write `*` for every number)".to_owned(),
                )),
                read => Ok(NumberMatch::Exact(read.into_text())),
            },
            NumberPattern::Prefix(text) => {
                let body = text.strip_suffix('*').unwrap_or(text);
                if body.is_empty() || body == "+" {
                    return Ok(NumberMatch::Prefix(String::new()));
                }
                let digits_ok = body
                    .strip_prefix('+')
                    .is_some_and(|d| d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit()));
                if !digits_ok {
                    return Err(invalid(format!(
                        "`{text}` is not a prefix of E.164 numbers (e.g. +4420794600*)"
                    )));
                }
                Ok(NumberMatch::Prefix(body.to_owned()))
            }
            NumberPattern::Range { from, to } => {
                if !is_e164(from) || !is_e164(to) || from.len() != to.len() || from > to {
                    return Err(invalid(format!(
                        "`{from}-{to}` is not a range of E.164 numbers of the same length, \
                         lowest first (e.g. +442079460000-+442079460099)"
                    )));
                }
                Ok(NumberMatch::Range {
                    from: from.clone(),
                    to: to.clone(),
                })
            }
        }
    }

    fn accepts(&self, number: &Read) -> bool {
        match (self, number) {
            (NumberMatch::Exact(text), number) => text == number.text(),
            (NumberMatch::Prefix(prefix), Read::E164(e164)) => e164.starts_with(prefix.as_str()),
            (NumberMatch::Range { from, to }, Read::E164(e164)) => {
                e164.len() == from.len() && from.as_str() <= e164.as_str() && e164 <= to
            }
            (_, Read::AsSent(_)) => false,
        }
    }
}

impl fmt::Display for NumberMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberMatch::Exact(text) => f.write_str(text),
            NumberMatch::Prefix(prefix) => write!(f, "{prefix}*"),
            NumberMatch::Range { from, to } => write!(f, "{from}-{to}"),
        }
    }
}

#[derive(Debug, Clone)]
struct InboundRoutePlan {
    name: String,
    trunks: Vec<String>,
    dids: Vec<NumberMatch>,
    callers: Vec<NumberMatch>,
    anonymous: Option<bool>,
    destination: Destination,
    language: Option<String>,
    vip: bool,
}

impl InboundRoutePlan {
    fn accepts(&self, trunk: &str, did: &Read, caller: Option<&Read>) -> bool {
        (self.trunks.is_empty() || self.trunks.iter().any(|t| t == trunk))
            && (self.dids.is_empty() || self.dids.iter().any(|p| p.accepts(did)))
            && (self.callers.is_empty()
                || caller.is_some_and(|c| self.callers.iter().any(|p| p.accepts(c))))
            && self
                .anonymous
                .is_none_or(|anonymous| anonymous == caller.is_none())
    }
}

/// The inbound half of the plan.
#[derive(Debug, Default)]
pub(crate) struct InboundPlan {
    routes: Vec<InboundRoutePlan>,
    blocklist: Vec<NumberMatch>,
    blocked_status: u16,
    /// Trunk name → its `default_destination`.
    trunk_defaults: HashMap<String, Destination>,
    pub time_conditions: Vec<TimeConditionPlan>,
    pub time_condition_names: HashMap<String, usize>,
    pub ivrs: Vec<IvrPlan>,
    pub ivr_names: HashMap<String, usize>,
    /// A menu's `number` → its index in `ivrs`.
    pub ivr_numbers: HashMap<String, usize>,
    pub groups: Vec<GroupPlan>,
    pub group_names: HashMap<String, usize>,
    pub queues: Vec<QueuePlan>,
    /// Queue name → its index in `queues`.
    pub queue_names: HashMap<String, usize>,
    default_language: String,
}

/// What destinations may name, to check references when compiling.
struct Names<'a> {
    extensions: &'a HashMap<String, usize>,
    time_conditions: &'a HashMap<String, usize>,
    ivrs: &'a HashMap<String, usize>,
    groups: &'a HashMap<String, usize>,
    queues: &'a HashMap<String, usize>,
}

impl Names<'_> {
    fn check(&self, destination: &Destination, key: String) -> Result<(), PlanError> {
        let (known, kind) = match destination {
            Destination::Extension(n) => (self.extensions.contains_key(n), "extension"),
            Destination::Ivr(n) => (self.ivrs.contains_key(n), "menu (ivr)"),
            Destination::Group(n) => (self.groups.contains_key(n), "ring group"),
            Destination::Queue(n) => (self.queues.contains_key(n), "queue"),
            Destination::TimeCondition(n) => {
                (self.time_conditions.contains_key(n), "time condition")
            }
            Destination::Hangup => (true, ""),
        };
        if known {
            Ok(())
        } else {
            Err(PlanError::UnknownReference {
                key,
                kind,
                name: destination.name().unwrap_or_default().to_owned(),
            })
        }
    }
}

fn index_by_name<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (i, name) in names.enumerate() {
        index.entry(name.to_owned()).or_insert(i);
    }
    index
}

impl InboundPlan {
    /// Compiles the inbound sections. `extension_names` maps every extension's number and
    /// user name to its index; `classes` are the compiled classes in file order.
    pub fn compile(
        config: &Config,
        numbering: &Numbering,
        has_time_zone: bool,
        extension_names: &HashMap<String, usize>,
        classes: &[ClassPolicy],
    ) -> Result<InboundPlan, PlanError> {
        let time_condition_names =
            index_by_name(config.time_conditions.iter().map(|t| t.name.as_str()));
        let ivr_names = index_by_name(config.ivrs.iter().map(|i| i.name.as_str()));
        let group_names = index_by_name(config.ring_groups.iter().map(|g| g.name.as_str()));
        let queue_names = index_by_name(config.queues.iter().map(|q| q.name.as_str()));
        let names = Names {
            extensions: extension_names,
            time_conditions: &time_condition_names,
            ivrs: &ivr_names,
            groups: &group_names,
            queues: &queue_names,
        };

        let mut routes = Vec::with_capacity(config.inbound_routes.len());
        for (index, route) in config.inbound_routes.iter().enumerate() {
            let key = |field: &str| format!("inbound_route[{}].{field}", index + 1);
            for trunk in &route.trunks {
                if !config.trunks.iter().any(|t| &t.name == trunk) {
                    return Err(PlanError::UnknownReference {
                        key: key("trunks"),
                        kind: "trunk",
                        name: trunk.clone(),
                    });
                }
            }
            let patterns = |list: &[NumberPattern], field: &str| {
                list.iter()
                    .map(|p| NumberMatch::compile(p, numbering, &key(field)))
                    .collect::<Result<Vec<_>, _>>()
            };
            names.check(&route.destination, key("destination"))?;
            routes.push(InboundRoutePlan {
                name: route.name.clone(),
                trunks: route.trunks.clone(),
                dids: patterns(&route.dids, "dids")?,
                callers: patterns(&route.callers, "callers")?,
                anonymous: route.anonymous,
                destination: route.destination.clone(),
                language: route.language.clone(),
                vip: route.vip,
            });
        }

        let blocklist = config
            .inbound
            .blocklist
            .iter()
            .map(|p| NumberMatch::compile(p, numbering, "inbound.blocklist"))
            .collect::<Result<Vec<_>, _>>()?;
        let blocked_status = config.inbound.blocked_status;
        if !(400..=699).contains(&blocked_status) {
            return Err(PlanError::InvalidValue {
                key: "inbound.blocked_status".to_owned(),
                message: format!(
                    "{blocked_status} is not a SIP status that refuses a call (400 to 699)"
                ),
            });
        }

        let mut trunk_defaults = HashMap::new();
        for (index, trunk) in config.trunks.iter().enumerate() {
            if let Some(destination) = &trunk.default_destination {
                names.check(
                    destination,
                    format!("trunk[{}].default_destination", index + 1),
                )?;
                trunk_defaults.insert(trunk.name.clone(), destination.clone());
            }
        }

        let mut time_conditions = Vec::with_capacity(config.time_conditions.len());
        for (index, condition) in config.time_conditions.iter().enumerate() {
            let key = format!("time_condition[{}]", index + 1);
            if !has_time_zone {
                return Err(PlanError::NeedsTimeZone {
                    key: format!("{key}.open"),
                });
            }
            names.check(&condition.when_open, format!("{key}.when_open"))?;
            names.check(&condition.when_closed, format!("{key}.when_closed"))?;
            time_conditions.push(TimeConditionPlan::compile(condition, &key)?);
        }

        let mut numbers: Vec<String> = config.extensions.iter().map(|e| e.number.clone()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let numbers: Arc<[String]> = numbers.into();
        let mut ivrs = Vec::with_capacity(config.ivrs.len());
        for (index, ivr) in config.ivrs.iter().enumerate() {
            let key = |field: &str| format!("ivr[{}].{field}", index + 1);
            for (_, destination) in &ivr.options {
                names.check(destination, key("options"))?;
            }
            names.check(&ivr.on_failure, key("on_failure"))?;
            ivrs.push(IvrPlan::compile(ivr, Arc::clone(&numbers)));
        }

        let mut groups = Vec::with_capacity(config.ring_groups.len());
        for (index, group) in config.ring_groups.iter().enumerate() {
            let key = |field: &str| format!("ring_group[{}].{field}", index + 1);
            for member in &group.members {
                if let crossbar_config::Member::Extension(number) = member {
                    names.check(&Destination::Extension(number.clone()), key("members"))?;
                }
            }
            let class = match &group.class {
                Some(name) => Some(
                    config
                        .classes
                        .iter()
                        .position(|c| &c.name == name)
                        .ok_or_else(|| PlanError::UnknownReference {
                            key: key("class"),
                            kind: "class",
                            name: name.clone(),
                        })?,
                ),
                None => None,
            };
            check_escalation(&names, &group.escalation, &key("escalation"))?;
            groups.push(GroupPlan::compile(group, class, classes, numbering));
        }

        let mut queues = Vec::with_capacity(config.queues.len());
        for (index, queue) in config.queues.iter().enumerate() {
            let key = |field: &str| format!("queue[{}].{field}", index + 1);
            for member in &queue.members {
                names.check(
                    &Destination::Extension(member.extension.clone()),
                    key("members"),
                )?;
            }
            for (field, destination) in [
                ("on_timeout", &queue.on_timeout),
                ("on_full", &queue.on_full),
                ("on_empty", &queue.on_empty),
            ] {
                if let Some(destination) = destination {
                    names.check(destination, key(field))?;
                }
            }
            for (_, destination) in &queue.breakout {
                names.check(destination, key("breakout"))?;
            }
            queues.push(QueuePlan::compile(queue));
        }

        for (index, extension) in config.extensions.iter().enumerate() {
            check_escalation(
                &names,
                &extension.escalation,
                &format!("extension[{}].escalation", index + 1),
            )?;
        }

        Ok(InboundPlan {
            routes,
            blocklist,
            blocked_status,
            trunk_defaults,
            time_conditions,
            time_condition_names,
            ivr_numbers: config
                .ivrs
                .iter()
                .enumerate()
                .filter_map(|(i, ivr)| ivr.number.clone().map(|n| (n, i)))
                .collect(),
            ivrs,
            ivr_names,
            groups,
            group_names,
            queues,
            queue_names,
            default_language: config.prompts.default_language.clone(),
        })
    }
}

fn check_escalation(
    names: &Names<'_>,
    escalation: &crossbar_config::Escalation,
    key: &str,
) -> Result<(), PlanError> {
    for (field, destination) in [
        ("on_no_answer", &escalation.on_no_answer),
        ("on_busy", &escalation.on_busy),
        ("on_unavailable", &escalation.on_unavailable),
    ] {
        if let Some(destination) = destination {
            names.check(destination, format!("{key}.{field}"))?;
        }
    }
    Ok(())
}

/// A caller who gave no number: none, empty, or `anonymous` in any case.
fn withheld(caller: Option<&str>) -> bool {
    caller.is_none_or(|c| c.trim().is_empty() || c.trim().eq_ignore_ascii_case("anonymous"))
}

impl DialPlan {
    /// The decision for an incoming call (see the module): blocked, routed (to where time
    /// conditions send it at `at`), or no route.
    pub fn route_inbound(
        &self,
        call: &InboundCall<'_>,
        at: Timestamp,
        live: &dyn Live,
    ) -> InboundDecision {
        let inbound = &self.inbound;
        let did = read(&self.numbering, call.did);
        let caller = if withheld(call.caller) {
            None
        } else {
            call.caller.map(|c| read(&self.numbering, c))
        };

        if let Some(number) = &caller {
            let listed = inbound.blocklist.iter().find(|p| p.accepts(number));
            if listed.is_some() || live.caller_blocked(number.text()) {
                let status = inbound.blocked_status;
                let result = match listed {
                    Some(pattern) => format!("blocked by [inbound] blocklist {pattern}: {status}"),
                    None => format!("blocked by the blocklist in the database: {status}"),
                };
                return InboundDecision::Blocked {
                    trunk: call.trunk.to_owned(),
                    did: did.into_text(),
                    caller: number.text().to_owned(),
                    status,
                    steps: vec![Step::new(StepKind::Blocklist, number.text(), result)],
                };
            }
        }

        let from = caller.as_ref().map_or("anonymous", Read::text);
        let (route, destination, route_step) = match inbound
            .routes
            .iter()
            .find(|r| r.accepts(call.trunk, &did, caller.as_ref()))
        {
            Some(route) => (
                Some(route),
                &route.destination,
                Step::new(
                    StepKind::Route,
                    route.name.as_str(),
                    format!(
                        "{} from {from} via {} → {}",
                        did.text(),
                        call.trunk,
                        route.destination
                    ),
                ),
            ),
            None => match inbound.trunk_defaults.get(call.trunk) {
                Some(destination) => (
                    None,
                    destination,
                    Step::new(
                        StepKind::Route,
                        call.trunk,
                        format!(
                            "no inbound route takes {} from {from}: default_destination of \
                             trunk {} → {destination}",
                            did.text(),
                            call.trunk
                        ),
                    ),
                ),
                None => {
                    let result = format!(
                        "no inbound route takes {} from {from} via {}, and the trunk has no \
                         default_destination: 404",
                        did.text(),
                        call.trunk
                    );
                    return InboundDecision::NoRoute {
                        trunk: call.trunk.to_owned(),
                        steps: vec![Step::new(StepKind::Route, did.text(), result)],
                        did: did.into_text(),
                        caller: caller.map(Read::into_text),
                        status: 404,
                    };
                }
            },
        };
        let resolution = self.resolve(destination, at, live);
        let mut steps = Vec::with_capacity(1 + resolution.steps.len());
        steps.push(route_step);
        steps.extend(resolution.steps);
        InboundDecision::Route(RoutedCall {
            trunk: call.trunk.to_owned(),
            did: did.into_text(),
            caller: caller.map(Read::into_text),
            route: route.map(|r| r.name.clone()),
            vip: route.is_some_and(|r| r.vip),
            language: route
                .and_then(|r| r.language.clone())
                .unwrap_or_else(|| inbound.default_language.clone()),
            destination: destination.clone(),
            target: resolution.target,
            steps,
        })
    }

    /// The prompt set of calls whose route names no language (`[prompts]
    /// default_language`), and of internal calls to a menu.
    pub fn default_language(&self) -> &str {
        &self.inbound.default_language
    }

    /// The menu `name`.
    pub fn ivr(&self, name: &str) -> Option<&IvrPlan> {
        let index = *self.inbound.ivr_names.get(name)?;
        self.inbound.ivrs.get(index)
    }

    /// The ring group `name`.
    pub fn ring_group(&self, name: &str) -> Option<&GroupPlan> {
        let index = *self.inbound.group_names.get(name)?;
        self.inbound.groups.get(index)
    }

    /// The queue `name`.
    pub fn queue(&self, name: &str) -> Option<&QueuePlan> {
        let index = *self.inbound.queue_names.get(name)?;
        self.inbound.queues.get(index)
    }

    /// Every queue, in file order (what the switch's queue machine is built from).
    pub fn queues(&self) -> impl Iterator<Item = &QueuePlan> {
        self.inbound.queues.iter()
    }

    /// The members of the group `name` in the order to ring them, passed-over ones marked
    /// ([`GroupPlan::ring_order`]); `seed` orders a random group. Empty for an unknown group.
    pub fn ring_order(&self, group: &str, live: &dyn Live, seed: u64) -> Vec<MemberPlan> {
        self.ring_group(group)
            .map(|g| g.ring_order(live, seed))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_of_e164_is_a_plus_and_up_to_fifteen_digits() {
        assert!(is_e164("+442079460000"));
        assert!(is_e164("+1"));
        assert!(!is_e164("+"));
        assert!(!is_e164("+0442079460000"));
        assert!(!is_e164("442079460000"));
        assert!(!is_e164("+4420794600001234"));
    }

    #[test]
    fn a_range_takes_numbers_of_its_length_between_its_ends() {
        let range = NumberMatch::Range {
            from: "+442079460000".to_owned(),
            to: "+442079460099".to_owned(),
        };
        let e164 = |t: &str| Read::E164(t.to_owned());
        assert!(range.accepts(&e164("+442079460000")));
        assert!(range.accepts(&e164("+442079460099")));
        assert!(range.accepts(&e164("+442079460050")));
        assert!(!range.accepts(&e164("+442079460100")));
        assert!(!range.accepts(&e164("+44207946005")));
        assert!(!range.accepts(&e164("+4420794600500")));
        assert!(!range.accepts(&Read::AsSent("+442079460050".to_owned())));
    }
}
