//! The dial plan: compiled once per configuration (re)load, then asked for one decision per
//! call by both the switch and `crossbar route explain`, so the simulator cannot disagree with
//! a live call.
//!
//! The decision, in order:
//!
//! 1. who is calling: a carrier (inbound routes are not configured yet: 404) or nobody known
//!    (denied); then an extension's number or SIP user name dialled → [`Decision::Extension`],
//!    a menu's number → [`Decision::Menu`], a queue agent's feature code →
//!    [`Decision::AgentFeature`];
//! 2. the privacy prefix is removed (the call is withheld), and the outside-line code when it
//!    stands before an external number;
//! 3. emergency numbers go out at once, whatever the caller's class, block or caps;
//! 4. the number is normalised to E.164 and classified (484 when it cannot be);
//! 5. class of service ([`crate::policy`]: 403 when it says no);
//! 6. the first `[[outbound_route]]` that accepts the number (404 when none does), its trunks
//!    ordered by its strategy, each with its rate, the number as the trunk wants it, and the
//!    caller ID it presents; trunks that are down or over their limits stay in the list,
//!    marked skipped.

use std::collections::HashMap;

use crossbar_cdr::{DestinationClass, Rate};
use crossbar_config::{Config, Escalation, NumberFormat, Strategy};
use jiff::Timestamp;
use jiff::tz::{TimeZone, TimeZoneDatabase};

use crate::decision::{Decision, Denial, NoRoute, NoRouteReason, Outbound, Skip, TrunkAttempt};
use crate::error::PlanError;
use crate::inbound::InboundPlan;
use crate::live::{ExtensionUsage, Live};
use crate::numbering::{self, Number, NumberProblem, Numbering};
use crate::policy::{ClassPolicy, ClassSet, DenyReason};
use crate::rates::RateTable;

/// One call to route: who is calling and what they dialled (the user part of the
/// Request-URI).
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub caller: &'a Identity,
    pub dialled: &'a str,
}

/// Who is calling, as admission established it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// An authenticated extension, by its number (its SIP user name is accepted too).
    Extension(String),
    /// A carrier, by trunk name (recognised by address or credentials).
    Trunk(String),
    /// Nobody crossbar knows.
    Unknown,
}

/// The outbound dial plan compiled from a [`Config`].
#[derive(Debug)]
pub struct DialPlan {
    pub(crate) numbering: Numbering,
    /// `[site] timezone`, resolved.
    pub(crate) zone: Option<(String, TimeZone)>,
    currency: Option<String>,
    outside_line: Option<String>,
    privacy_prefix: Option<String>,
    pub(crate) extensions: Vec<ExtensionPlan>,
    /// Every extension's number and user name → index in `extensions`.
    pub(crate) extension_names: HashMap<String, usize>,
    classes: Vec<ClassPolicy>,
    trunks: Vec<TrunkPlan>,
    routes: Vec<RoutePlan>,
    /// Emergency calls: `[site] emergency_trunk`, then the trunks of the routes that carry
    /// them, each once.
    emergency_trunks: Vec<usize>,
    /// The first route that carries emergency calls.
    emergency_route: Option<usize>,
    /// Inbound routes, the blocklist, time conditions, menus and ring groups.
    pub(crate) inbound: InboundPlan,
    /// The agents' feature codes, in force on a site with queues.
    agents: Option<crossbar_config::Agents>,
}

#[derive(Debug)]
pub(crate) struct ExtensionPlan {
    pub number: String,
    class: Option<usize>,
    external_number: Option<String>,
    withhold_caller_id: bool,
    pub escalation: Escalation,
}

#[derive(Debug)]
struct TrunkPlan {
    name: String,
    number_format: NumberFormat,
    strip: usize,
    prepend: String,
    caller_id: Option<String>,
    max_calls: Option<u32>,
    max_cps: Option<u32>,
    rates: RateTable,
}

#[derive(Debug)]
struct RoutePlan {
    name: String,
    patterns: Vec<Pattern>,
    classes: ClassSet,
    strategy: Strategy,
    trunks: Vec<usize>,
    caller_id: Option<String>,
}

/// A route's `match` entry on E.164 numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// `+44*` (`+44`), `*` (empty: everything).
    Prefix(String),
    /// `+441632960001`.
    Exact(String),
}

impl Pattern {
    fn compile(text: &str) -> Option<Pattern> {
        let (body, wildcard) = match text.strip_suffix('*') {
            Some(body) => (body, true),
            None => (text, false),
        };
        let shape_ok = match body.strip_prefix('+') {
            Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
            None => body.is_empty() && wildcard,
        };
        match (shape_ok, wildcard) {
            (false, _) => None,
            (true, true) => Some(Pattern::Prefix(body.to_owned())),
            (true, false) if body.len() > 1 => Some(Pattern::Exact(body.to_owned())),
            (true, false) => None,
        }
    }

    fn accepts(&self, e164: &str) -> bool {
        match self {
            Pattern::Prefix(prefix) => e164.starts_with(prefix.as_str()),
            Pattern::Exact(number) => e164 == number,
        }
    }

    /// `*` or `+*`: every number.
    fn is_catch_all(&self) -> bool {
        matches!(self, Pattern::Prefix(p) if p.is_empty() || p == "+")
    }
}

impl RoutePlan {
    fn accepts(&self, number: &Number) -> bool {
        (self.classes.is_empty() || self.classes.contains(number.class))
            && (self.patterns.is_empty() || self.patterns.iter().any(|p| p.accepts(&number.e164)))
    }

    /// A route carries emergency calls when it names the `emergency` class, or when it takes
    /// every number (no classes, and no patterns or a catch-all one): emergency short codes
    /// are not E.164, so other patterns cannot match them.
    fn carries_emergency(&self) -> bool {
        self.classes.contains(DestinationClass::Emergency)
            || (self.classes.is_empty()
                && (self.patterns.is_empty() || self.patterns.iter().any(Pattern::is_catch_all)))
    }
}

impl DialPlan {
    /// Compiles `config`, resolving `[site] timezone` in the system time zone database (or
    /// the one built in when the system has none). This reads the database once; routing
    /// itself does no IO.
    pub fn compile(config: &Config) -> Result<DialPlan, PlanError> {
        DialPlan::compile_with(config, jiff::tz::db())
    }

    /// [`DialPlan::compile`] with time zones from `zones`.
    pub fn compile_with(config: &Config, zones: &TimeZoneDatabase) -> Result<DialPlan, PlanError> {
        let site = &config.site;
        let zone = match &site.timezone {
            Some(name) => {
                let zone = zones
                    .get(name.as_str())
                    .map_err(|e| PlanError::UnknownTimeZone {
                        key: "site.timezone".to_owned(),
                        name: name.to_string(),
                        message: e.to_string(),
                    })?;
                Some((name.to_string(), zone))
            }
            None => None,
        };
        let numbering = Numbering::compile(site)?;
        let outside_line = dial_code(site.outside_line.as_deref(), "site.outside_line")?;
        let privacy_prefix = dial_code(site.privacy_prefix.as_deref(), "site.privacy_prefix")?;

        let mut classes = Vec::with_capacity(config.classes.len());
        for (index, class) in config.classes.iter().enumerate() {
            let policy = ClassPolicy::compile(class);
            if policy.has_time_rules() && zone.is_none() {
                return Err(PlanError::NeedsTimeZone {
                    key: format!("class[{}].time_rules", index + 1),
                });
            }
            classes.push(policy);
        }

        let mut extensions = Vec::with_capacity(config.extensions.len());
        let mut extension_names = HashMap::with_capacity(config.extensions.len() * 2);
        for (index, extension) in config.extensions.iter().enumerate() {
            let key = |field: &str| format!("extension[{}].{field}", index + 1);
            let class = match &extension.class {
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
            for (field, name) in [
                ("number", &extension.number),
                ("username", &extension.username),
            ] {
                if numbering.is_emergency(name) {
                    return Err(PlanError::EmergencyNumberTaken {
                        key: key(field),
                        number: name.clone(),
                    });
                }
                extension_names.insert(name.clone(), index);
            }
            extensions.push(ExtensionPlan {
                number: extension.number.clone(),
                class,
                external_number: extension.external_number.clone(),
                withhold_caller_id: extension.withhold_caller_id,
                escalation: extension.escalation.clone(),
            });
        }

        let mut trunks = Vec::with_capacity(config.trunks.len());
        for (index, trunk) in config.trunks.iter().enumerate() {
            let key = |field: &str| format!("trunk[{}].{field}", index + 1);
            if trunk.number_format != NumberFormat::E164 && !numbering.has_country() {
                return Err(PlanError::NeedsCountry {
                    key: key("number_format"),
                });
            }
            let rates = RateTable::compile(&trunk.rates).map_err(|bad| PlanError::InvalidValue {
                key: key("rates"),
                message: format!(
                    "prefix `{}` is not the start of an E.164 number (up to 15 digits, e.g. 4420)",
                    bad.0
                ),
            })?;
            trunks.push(TrunkPlan {
                name: trunk.name.clone(),
                number_format: trunk.number_format,
                strip: usize::try_from(trunk.strip).unwrap_or(usize::MAX),
                prepend: trunk.prepend.clone(),
                caller_id: trunk.caller_id.clone(),
                max_calls: trunk.max_calls,
                max_cps: trunk.max_cps,
                rates,
            });
        }
        let trunk_index = |name: &str, key: String| {
            trunks
                .iter()
                .position(|t| t.name == name)
                .ok_or_else(|| PlanError::UnknownReference {
                    key,
                    kind: "trunk",
                    name: name.to_owned(),
                })
        };

        let mut routes = Vec::with_capacity(config.outbound_routes.len());
        for (index, route) in config.outbound_routes.iter().enumerate() {
            let key = |field: &str| format!("outbound_route[{}].{field}", index + 1);
            let patterns = route
                .patterns
                .iter()
                .map(|text| {
                    Pattern::compile(text).ok_or_else(|| PlanError::InvalidValue {
                        key: key("match"),
                        message: format!(
                            "`{text}` is not a pattern on E.164 numbers \
                             (`+44*` for a prefix, `+441632960001` for one number, `*` for all)"
                        ),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let route_trunks = route
                .trunks
                .iter()
                .map(|name| trunk_index(name, key("trunks")))
                .collect::<Result<Vec<_>, _>>()?;
            routes.push(RoutePlan {
                name: route.name.clone(),
                patterns,
                classes: ClassSet::of(&route.classes),
                strategy: route.strategy,
                trunks: route_trunks,
                caller_id: route.caller_id.clone(),
            });
        }

        let mut emergency_trunks = Vec::new();
        if let Some(name) = &site.emergency_trunk {
            emergency_trunks.push(trunk_index(name, "site.emergency_trunk".to_owned())?);
        }
        let emergency_route = routes.iter().position(RoutePlan::carries_emergency);
        for route in routes.iter().filter(|r| r.carries_emergency()) {
            for trunk in &route.trunks {
                if !emergency_trunks.contains(trunk) {
                    emergency_trunks.push(*trunk);
                }
            }
        }

        let inbound = InboundPlan::compile(
            config,
            &numbering,
            zone.is_some(),
            &extension_names,
            &classes,
        )?;

        Ok(DialPlan {
            numbering,
            zone,
            currency: site.currency.clone(),
            outside_line,
            privacy_prefix,
            extensions,
            extension_names,
            classes,
            trunks,
            routes,
            emergency_trunks,
            emergency_route,
            inbound,
            agents: (!config.queues.is_empty()).then(|| config.agents.clone()),
        })
    }

    /// The queue agents' feature codes (`[agents]`); `None` on a site without queues, where
    /// they are not in force.
    pub fn agent_codes(&self) -> Option<&crossbar_config::Agents> {
        self.agents.as_ref()
    }

    /// The emergency numbers in force: `[site] emergency_numbers`, else the country's.
    pub fn emergency_numbers(&self) -> &[String] {
        self.numbering.emergency_numbers()
    }

    /// `[site] currency`, for showing amounts.
    pub fn currency(&self) -> Option<&str> {
        self.currency.as_deref()
    }

    /// `[site] timezone`, resolved.
    pub fn time_zone(&self) -> Option<&TimeZone> {
        self.zone.as_ref().map(|(_, zone)| zone)
    }

    /// The one routing decision. `at` is the wall-clock time of the call (time rules read it
    /// in `[site] timezone`); `live` is the state of trunks and of the caller.
    pub fn route(&self, attempt: &Attempt<'_>, at: Timestamp, live: &dyn Live) -> Decision {
        let dialled = attempt.dialled;
        let caller = match attempt.caller {
            Identity::Trunk(_) => {
                return no_route(dialled, NoRouteReason::InboundNotConfigured, None);
            }
            Identity::Unknown => return denied(dialled, DenyReason::UnknownCaller, None),
            Identity::Extension(id) => match self.extension_names.get(id.as_str()) {
                Some(&index) => &self.extensions[index],
                None => return denied(dialled, DenyReason::UnknownCaller, None),
            },
        };
        if let Some(&index) = self.extension_names.get(dialled) {
            return Decision::Extension {
                number: self.extensions[index].number.clone(),
            };
        }
        let Some(cleaned) = numbering::clean(dialled) else {
            return no_route(
                dialled,
                NoRouteReason::Number(NumberProblem::NotANumber),
                None,
            );
        };
        if let Some(&index) = self.extension_names.get(cleaned.as_str()) {
            return Decision::Extension {
                number: self.extensions[index].number.clone(),
            };
        }
        if let Some(&index) = self.inbound.ivr_numbers.get(cleaned.as_str()) {
            return Decision::Menu {
                name: self.inbound.ivrs[index].name.clone(),
            };
        }
        if let Some(feature) = self
            .agents
            .as_ref()
            .and_then(|agents| crate::agents::feature(agents, &cleaned))
        {
            return Decision::AgentFeature {
                code: cleaned,
                feature,
            };
        }

        // The privacy prefix, then the outside line (the privacy prefix may follow it).
        let mut privacy = false;
        let mut rest = cleaned.as_str();
        if let Some(after) = strip_code(rest, self.privacy_prefix.as_deref()) {
            privacy = true;
            rest = after;
        }
        let mut external = strip_code(rest, self.outside_line.as_deref());
        if !privacy
            && let Some(after) =
                external.and_then(|e| strip_code(e, self.privacy_prefix.as_deref()))
        {
            privacy = true;
            external = Some(after);
        }

        for code in [Some(rest), external].into_iter().flatten() {
            if self.numbering.is_emergency(code) {
                return self.emergency(caller, dialled, code, live);
            }
        }

        // A site with no way out: any other number is simply not found.
        if self.routes.is_empty() {
            return no_route(dialled, NoRouteReason::NoMatchingRoute, None);
        }

        // With an outside-line code in front, the number behind it first; the whole string
        // when that is not a number (an outside-line digit that was part of the number).
        let normalised = match external {
            Some(external) => self
                .numbering
                .normalise(external)
                .or_else(|problem| self.numbering.normalise(rest).map_err(|_| problem)),
            None => self.numbering.normalise(rest),
        };
        let number = match normalised {
            Ok(number) => number,
            Err(problem) => return no_route(dialled, NoRouteReason::Number(problem), None),
        };

        if let Err(reason) = self.admit(caller, &number, at, live) {
            return denied(dialled, reason, Some(&number));
        }

        let Some(route) = self.routes.iter().find(|r| r.accepts(&number)) else {
            return no_route(dialled, NoRouteReason::NoMatchingRoute, Some(&number));
        };
        let withheld = privacy || caller.withhold_caller_id;
        let attempts = self.trunk_attempts(route, &number, caller, withheld, live);
        Decision::Outbound(Outbound {
            dialled: dialled.to_owned(),
            normalized: number.e164,
            class: number.class,
            region: number.region,
            route: Some(route.name.clone()),
            emergency: false,
            withheld,
            attempts,
        })
    }

    /// How ring group `group` reaches its external member `number`: through the outgoing
    /// routes like a call of an extension of the member's class (issue: a member is an
    /// outbound leg), presenting `caller` (the incoming caller) when the group says
    /// `present_caller`, else the route's or the trunk's caller ID. A number that is not an
    /// external member nobody is refused the group gets [`NoRouteReason::NoMatchingRoute`].
    pub fn route_member(
        &self,
        group: &str,
        number: &str,
        caller: Option<&str>,
        at: Timestamp,
        live: &dyn Live,
    ) -> Decision {
        let Some(plan) = self.ring_group(group) else {
            return no_route(number, NoRouteReason::NoMatchingRoute, None);
        };
        let Some(class_name) = plan.member_class(number) else {
            return no_route(number, NoRouteReason::NoMatchingRoute, None);
        };
        let class = self.classes.iter().position(|c| c.name() == class_name);
        let normalised = numbering::clean(number)
            .ok_or(NumberProblem::NotANumber)
            .and_then(|cleaned| self.numbering.normalise(&cleaned));
        let number_read = match normalised {
            Ok(n) => n,
            Err(problem) => return no_route(number, NoRouteReason::Number(problem), None),
        };
        let member = ExtensionPlan {
            number: format!("group:{group}"),
            class,
            external_number: caller.filter(|_| plan.present_caller).map(str::to_owned),
            withhold_caller_id: false,
            escalation: Escalation::default(),
        };
        // The class's destinations and time rules; a group has no usage caps of its own.
        if let Some(index) = class
            && let Err(reason) = self.classes[index].admit(
                number_read.class,
                number_read.region.as_deref(),
                at,
                self.zone.as_ref(),
                &ExtensionUsage::default(),
            )
        {
            return denied(number, reason, Some(&number_read));
        }
        let Some(route) = self.routes.iter().find(|r| r.accepts(&number_read)) else {
            return no_route(number, NoRouteReason::NoMatchingRoute, Some(&number_read));
        };
        let attempts = self.trunk_attempts(route, &number_read, &member, false, live);
        Decision::Outbound(Outbound {
            dialled: number.to_owned(),
            normalized: number_read.e164,
            class: number_read.class,
            region: number_read.region,
            route: Some(route.name.clone()),
            emergency: false,
            withheld: false,
            attempts,
        })
    }

    /// Class of service for a non-emergency call ([`crate::policy`]).
    fn admit(
        &self,
        caller: &ExtensionPlan,
        number: &Number,
        at: Timestamp,
        live: &dyn Live,
    ) -> Result<(), DenyReason> {
        let usage = live.extension(&caller.number);
        if usage.blocked {
            return Err(DenyReason::Blocked);
        }
        let Some(class) = caller.class else {
            return Err(DenyReason::NoClass);
        };
        self.classes[class].admit(
            number.class,
            number.region.as_deref(),
            at,
            self.zone.as_ref(),
            &usage,
        )
    }

    fn trunk_attempts(
        &self,
        route: &RoutePlan,
        number: &Number,
        caller: &ExtensionPlan,
        withheld: bool,
        live: &dyn Live,
    ) -> Vec<TrunkAttempt> {
        let mut order: Vec<(usize, Option<Rate>)> = route
            .trunks
            .iter()
            .map(|&t| (t, self.trunks[t].rates.lookup(number.digits())))
            .collect();
        if route.strategy == Strategy::LeastCost {
            // Stable: equal rates and fees keep the listed order; no rate goes last.
            order.sort_by_key(|(_, rate)| match rate {
                Some(rate) => (false, rate.per_minute, rate.connection_fee),
                None => (true, Default::default(), Default::default()),
            });
        }
        let mut formatted: [Option<String>; 3] = [None, None, None];
        order
            .into_iter()
            .map(|(t, rate)| {
                let trunk = &self.trunks[t];
                let written = formatted[format_slot(trunk.number_format)]
                    .get_or_insert_with(|| self.numbering.format(number, trunk.number_format));
                let skipped = if route.strategy == Strategy::LeastCost && rate.is_none() {
                    Some(Skip::NoRate)
                } else {
                    live_skip(trunk, live)
                };
                TrunkAttempt {
                    trunk: trunk.name.clone(),
                    number: trunk.apply_strip_and_prepend(written),
                    rate,
                    caller_id: caller_id(withheld, caller, Some(route), trunk),
                    skipped,
                }
            })
            .collect()
    }

    /// An emergency call: always allowed from every extension; the emergency trunk first,
    /// then the trunks of the routes that carry emergency calls; trunks that are down go
    /// last but none is skipped (limits do not apply). The short code is sent as dialled,
    /// behind the trunk's `prepend` (a tech prefix the carrier needs); `number_format` and
    /// `strip` are for E.164 numbers and are not applied to it.
    fn emergency(
        &self,
        caller: &ExtensionPlan,
        dialled: &str,
        code: &str,
        live: &dyn Live,
    ) -> Decision {
        if self.emergency_trunks.is_empty() {
            return Decision::NoRoute(NoRoute {
                reason: NoRouteReason::NoEmergencyTrunk,
                dialled: dialled.to_owned(),
                normalized: Some(code.to_owned()),
                class: Some(DestinationClass::Emergency),
            });
        }
        let route = self.emergency_route.map(|r| &self.routes[r]);
        let (mut up, mut down): (Vec<usize>, Vec<usize>) = self
            .emergency_trunks
            .iter()
            .partition(|&&t| live.trunk(&self.trunks[t].name).up);
        up.append(&mut down);
        let attempts = up
            .into_iter()
            .map(|t| {
                let trunk = &self.trunks[t];
                TrunkAttempt {
                    trunk: trunk.name.clone(),
                    number: format!("{}{code}", trunk.prepend),
                    rate: None,
                    caller_id: caller_id(false, caller, route, trunk),
                    skipped: None,
                }
            })
            .collect();
        Decision::Outbound(Outbound {
            dialled: dialled.to_owned(),
            normalized: code.to_owned(),
            class: DestinationClass::Emergency,
            region: None,
            route: route.map(|r| r.name.clone()),
            emergency: true,
            withheld: false,
            attempts,
        })
    }
}

impl TrunkPlan {
    fn apply_strip_and_prepend(&self, written: &str) -> String {
        let kept = written
            .char_indices()
            .nth(self.strip)
            .map_or("", |(at, _)| &written[at..]);
        let mut number = String::with_capacity(self.prepend.len() + kept.len());
        number.push_str(&self.prepend);
        number.push_str(kept);
        number
    }
}

fn format_slot(format: NumberFormat) -> usize {
    match format {
        NumberFormat::E164 => 0,
        NumberFormat::National => 1,
        NumberFormat::International => 2,
    }
}

fn live_skip(trunk: &TrunkPlan, live: &dyn Live) -> Option<Skip> {
    let load = live.trunk(&trunk.name);
    if !load.up {
        Some(Skip::Down)
    } else if let Some(limit) = trunk.max_calls
        && load.calls >= limit
    {
        Some(Skip::OverMaxCalls { limit })
    } else if let Some(limit) = trunk.max_cps
        && load.calls_last_second >= limit
    {
        Some(Skip::OverMaxCps { limit })
    } else {
        None
    }
}

/// The extension's external number, else the route's caller ID, else the trunk's; nothing
/// when withheld. Never the internal extension number.
fn caller_id(
    withheld: bool,
    caller: &ExtensionPlan,
    route: Option<&RoutePlan>,
    trunk: &TrunkPlan,
) -> Option<String> {
    if withheld {
        return None;
    }
    caller
        .external_number
        .as_ref()
        .or(route.and_then(|r| r.caller_id.as_ref()))
        .or(trunk.caller_id.as_ref())
        .cloned()
}

/// `text` without the dial code `code` in front, if it is there and something follows it.
fn strip_code<'t>(text: &'t str, code: Option<&str>) -> Option<&'t str> {
    text.strip_prefix(code?).filter(|rest| !rest.is_empty())
}

/// An access code such as `9`, `141` or `*67`: digits, `*` and `#`.
fn dial_code(code: Option<&str>, key: &str) -> Result<Option<String>, PlanError> {
    match code {
        None => Ok(None),
        Some(code)
            if !code.is_empty()
                && code
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#') =>
        {
            Ok(Some(code.to_owned()))
        }
        Some(code) => Err(PlanError::InvalidValue {
            key: key.to_owned(),
            message: format!("`{code}` is not a dial code (digits, * and #, e.g. 9 or 141)"),
        }),
    }
}

fn denied(dialled: &str, reason: DenyReason, number: Option<&Number>) -> Decision {
    Decision::Denied(Denial {
        reason,
        dialled: dialled.to_owned(),
        normalized: number.map(|n| n.e164.clone()),
        class: number.map(|n| n.class),
    })
}

fn no_route(dialled: &str, reason: NoRouteReason, number: Option<&Number>) -> Decision {
    Decision::NoRoute(NoRoute {
        reason,
        dialled: dialled.to_owned(),
        normalized: number.map(|n| n.e164.clone()),
        class: number.map(|n| n.class),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<DialPlan>();
        shareable::<Decision>();
    }

    #[test]
    fn patterns_are_prefixes_with_a_star_and_exact_otherwise() {
        let prefix = Pattern::compile("+44*").expect("valid");
        assert!(prefix.accepts("+441632960001"));
        assert!(!prefix.accepts("+33123456789"));
        let exact = Pattern::compile("+441632960001").expect("valid");
        assert!(exact.accepts("+441632960001"));
        assert!(!exact.accepts("+4416329600012"));
        assert!(Pattern::compile("*").expect("valid").is_catch_all());
        assert!(Pattern::compile("+*").expect("valid").is_catch_all());
        for bad in ["44*", "+44x*", "+", "", "+4*4"] {
            assert_eq!(Pattern::compile(bad), None, "{bad}");
        }
    }

    #[test]
    fn strip_removes_leading_characters_before_prepend() {
        let trunk = TrunkPlan {
            name: "t".to_owned(),
            number_format: NumberFormat::International,
            strip: 2,
            prepend: "1234#".to_owned(),
            caller_id: None,
            max_calls: None,
            max_cps: None,
            rates: RateTable::default(),
        };
        assert_eq!(
            trunk.apply_strip_and_prepend("00441632960001"),
            "1234#441632960001"
        );
        assert_eq!(trunk.apply_strip_and_prepend("0"), "1234#");
    }
}
