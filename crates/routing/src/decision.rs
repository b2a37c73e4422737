//! What [`crate::DialPlan::route`] decides, and why.

use std::fmt;

use crossbar_cdr::{DestinationClass, Rate};

use crate::numbering::NumberProblem;
use crate::policy::DenyReason;

/// The one routing decision for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The dialled string names an extension (its number or SIP user name): ring it.
    Extension { number: String },
    /// The dialled string is a menu's `number`: crossbar answers and runs menu `name` (an
    /// internal call).
    Menu { name: String },
    /// The dialled string is a queue agent's feature code (`[agents]`, on a site with
    /// queues): crossbar answers, applies `feature` to the calling extension's agent state,
    /// says so and hangs up (an internal call). `code` is the string as dialled, cleaned.
    AgentFeature {
        code: String,
        feature: crate::agents::AgentFeature,
    },
    /// An outbound call: try the attempts in order.
    Outbound(Outbound),
    /// Policy said no: the switch answers 403 with the reason in a `Reason` header
    /// (RFC 3326) and records the call as `denied`; if [`DenyReason::trips_block`], it blocks
    /// the extension.
    Denied(Denial),
    /// No number, or no way to it: 484 (invalid or incomplete number) or 404, see
    /// [`NoRoute::status`].
    NoRoute(NoRoute),
}

/// An outbound call and the trunks to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// As the caller dialled it.
    pub dialled: String,
    /// E.164 (`+441632960001`), or the short code for an emergency call (`999`).
    pub normalized: String,
    pub class: DestinationClass,
    /// ISO 3166-1 alpha-2 country of the number; `None` for emergency short codes and
    /// non-geographic numbers (`+800`).
    pub region: Option<String>,
    /// The `[[outbound_route]]` that carries the call; for an emergency call, the first route
    /// that carries emergency calls (if any: the emergency trunk needs none).
    pub route: Option<String>,
    pub emergency: bool,
    /// The caller ID is withheld (the extension's `withhold_caller_id`, or the privacy
    /// prefix). Never for emergency calls: emergency services need a number to call back.
    pub withheld: bool,
    /// In the order to try; skipped ones are included (with why), in their place.
    pub attempts: Vec<TrunkAttempt>,
}

impl Outbound {
    /// The attempts not skipped, in order.
    pub fn usable(&self) -> impl Iterator<Item = &TrunkAttempt> {
        self.attempts.iter().filter(|a| a.skipped.is_none())
    }
}

/// One trunk to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkAttempt {
    pub trunk: String,
    /// The number as sent to this trunk (Request-URI and `To` user part): its
    /// `number_format`, then `strip` leading characters removed, then `prepend` added.
    pub number: String,
    /// What the trunk charges for the number (longest matching prefix of its deck).
    pub rate: Option<Rate>,
    /// The number presented as caller ID through this trunk: the extension's
    /// `external_number`, else the route's `caller_id`, else the trunk's; `None` when
    /// withheld or none is set (never the internal extension number).
    pub caller_id: Option<String>,
    /// Why this trunk is not tried, if it is not.
    pub skipped: Option<Skip>,
}

/// Why a trunk of the route is not tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Its health checks fail.
    Down,
    /// It already carries `limit` calls (`max_calls`).
    OverMaxCalls { limit: u32 },
    /// `limit` calls started through it in the last second (`max_cps`).
    OverMaxCps { limit: u32 },
    /// `least_cost` and the trunk has no rate for the number.
    NoRate,
}

impl fmt::Display for Skip {
    /// Short texts for tables and JSON: `down`, `over max_calls (30)`, `no rate`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Down => f.write_str("down"),
            Skip::OverMaxCalls { limit } => write!(f, "over max_calls ({limit})"),
            Skip::OverMaxCps { limit } => write!(f, "over max_cps ({limit})"),
            Skip::NoRate => f.write_str("no rate"),
        }
    }
}

/// A call policy denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: DenyReason,
    pub dialled: String,
    /// When the number was normalised before the denial.
    pub normalized: Option<String>,
    pub class: Option<DestinationClass>,
}

/// A call that has nowhere to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRoute {
    pub reason: NoRouteReason,
    pub dialled: String,
    pub normalized: Option<String>,
    pub class: Option<DestinationClass>,
}

/// Why a call has nowhere to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRouteReason {
    /// The dialled string is not a number that can be routed.
    Number(NumberProblem),
    /// No `[[outbound_route]]` accepts the number.
    NoMatchingRoute,
    /// An emergency call, and no trunk carries emergency calls (no `[site] emergency_trunk`
    /// and no route for them).
    NoEmergencyTrunk,
    /// A call from a carrier: inbound routes are not configured in this version.
    InboundNotConfigured,
}

impl NoRoute {
    /// The SIP final response: 484 Address Incomplete (RFC 3261 §21.4.22) for a number that
    /// is invalid or incomplete, else 404 Not Found (§21.4.5).
    pub fn status(&self) -> u16 {
        match self.reason {
            NoRouteReason::Number(NumberProblem::NotANumber) => 404,
            NoRouteReason::Number(_) => 484,
            NoRouteReason::NoMatchingRoute
            | NoRouteReason::NoEmergencyTrunk
            | NoRouteReason::InboundNotConfigured => 404,
        }
    }
}

impl NoRouteReason {
    /// A short stable code for records, metrics and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            NoRouteReason::Number(problem) => problem.code(),
            NoRouteReason::NoMatchingRoute => "no_matching_route",
            NoRouteReason::NoEmergencyTrunk => "no_emergency_trunk",
            NoRouteReason::InboundNotConfigured => "inbound_not_configured",
        }
    }
}

impl fmt::Display for NoRoute {
    /// A sentence for the `Reason` header, the call record and `crossbar route explain`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            NoRouteReason::Number(problem) => write!(f, "{} {problem}", self.dialled),
            NoRouteReason::NoMatchingRoute => write!(
                f,
                "no outbound route accepts {} ({})",
                self.normalized.as_deref().unwrap_or(&self.dialled),
                self.class.map_or("unclassified", DestinationClass::as_str)
            ),
            NoRouteReason::NoEmergencyTrunk => write!(
                f,
                "no trunk carries emergency calls to {}: set [site] emergency_trunk",
                self.dialled
            ),
            NoRouteReason::InboundNotConfigured => f.write_str("inbound routes are not configured"),
        }
    }
}
