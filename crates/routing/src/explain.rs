//! The simulator's view of a decision: what `crossbar route explain` prints (as a table with
//! `Display`, as JSON with serde) and `GET /api/route/explain` returns. Built from the very
//! [`Decision`] a live call would get, plus the plan (for the currency).
//!
//! JSON keys: `dialled`, `decision` (`extension`, `menu`, `agent_feature`, `outbound`,
//! `denied`, `no_route`), `extension`, `menu`, `agent_feature` (`pause (lunch)`), `normalized`,
//! `class`, `region`, `route`, `emergency`, `withheld`, `allowed`, `status` (the SIP status of
//! a refusal: 403, 404, 484), `reason` (text), `reason_code`, `trips_block`, `caller_id` (what
//! the first usable attempt presents), `currency`, `cost_1min` and `cost_5min` (a 1- and a
//! 5-minute call on the first usable attempt), and `attempts` (`trunk`, `number`, `per_minute`,
//! `connection_fee`, `increment` as `"60/60"`, `caller_id`, `skipped` as `null` or `"down"`,
//! `"over max_calls (30)"`, `"no rate"`). Amounts are decimal numbers in currency units.

use std::fmt;

use crossbar_cdr::{DestinationClass, Money, Rate};
use serde::{Deserialize, Serialize};

use crate::decision::{Decision, Outbound, TrunkAttempt};
use crate::plan::DialPlan;

/// Which kind of decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Extension,
    Menu,
    AgentFeature,
    Outbound,
    Denied,
    NoRoute,
}

/// A routing decision explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub dialled: String,
    pub decision: DecisionKind,
    /// The extension rung, for [`DecisionKind::Extension`].
    pub extension: Option<String>,
    /// The menu answering, for [`DecisionKind::Menu`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<String>,
    /// What the agent feature code does (`login`, `logout`, `pause`, `pause (lunch)`,
    /// `unpause`), for [`DecisionKind::AgentFeature`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_feature: Option<String>,
    /// E.164, the short code of an emergency call, or the extension number.
    pub normalized: Option<String>,
    pub class: Option<DestinationClass>,
    pub region: Option<String>,
    pub route: Option<String>,
    pub emergency: bool,
    pub withheld: bool,
    /// The call goes somewhere (an extension or out through a route).
    pub allowed: bool,
    /// The SIP status a refused call gets: 403 denied, 404 no route, 484 invalid number.
    pub status: Option<u16>,
    /// Why the call is refused, as a sentence.
    pub reason: Option<String>,
    /// A short code for the reason (`class_forbids`, `no_route`, `not_in_service`, ...).
    pub reason_code: Option<String>,
    /// The denial blocks the extension (a fraud cap).
    pub trips_block: bool,
    /// The caller ID the first usable attempt presents.
    pub caller_id: Option<String>,
    /// `[site] currency` of the amounts.
    pub currency: Option<String>,
    /// Cost of a 1-minute call on the first usable attempt.
    pub cost_1min: Option<f64>,
    /// Cost of a 5-minute call on the first usable attempt.
    pub cost_5min: Option<f64>,
    pub attempts: Vec<AttemptView>,
}

/// One trunk attempt, explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    pub trunk: String,
    pub number: String,
    pub per_minute: Option<f64>,
    pub connection_fee: Option<f64>,
    /// `"60/60"`.
    pub increment: Option<String>,
    pub caller_id: Option<String>,
    /// `null`, or why the trunk is not tried: `"down"`, `"over max_calls (30)"`, `"no rate"`.
    pub skipped: Option<String>,
}

impl DialPlan {
    /// `decision` explained with this plan's currency.
    pub fn explain(&self, decision: &Decision) -> Explanation {
        Explanation::new(self, decision)
    }
}

impl Explanation {
    pub fn new(plan: &DialPlan, decision: &Decision) -> Explanation {
        let mut explanation = Explanation {
            dialled: String::new(),
            decision: DecisionKind::Outbound,
            extension: None,
            menu: None,
            agent_feature: None,
            normalized: None,
            class: None,
            region: None,
            route: None,
            emergency: false,
            withheld: false,
            allowed: false,
            status: None,
            reason: None,
            reason_code: None,
            trips_block: false,
            caller_id: None,
            currency: plan.currency().map(str::to_owned),
            cost_1min: None,
            cost_5min: None,
            attempts: Vec::new(),
        };
        match decision {
            Decision::Extension { number } => Explanation {
                dialled: number.clone(),
                decision: DecisionKind::Extension,
                extension: Some(number.clone()),
                normalized: Some(number.clone()),
                class: Some(DestinationClass::Internal),
                allowed: true,
                ..explanation
            },
            Decision::Menu { name } => Explanation {
                decision: DecisionKind::Menu,
                menu: Some(name.clone()),
                class: Some(DestinationClass::Internal),
                allowed: true,
                ..explanation
            },
            Decision::AgentFeature { code, feature } => Explanation {
                dialled: code.clone(),
                decision: DecisionKind::AgentFeature,
                agent_feature: Some(feature.to_string()),
                class: Some(DestinationClass::Internal),
                allowed: true,
                ..explanation
            },
            Decision::Outbound(outbound) => {
                explanation.fill_outbound(outbound);
                explanation
            }
            Decision::Denied(denial) => Explanation {
                dialled: denial.dialled.clone(),
                decision: DecisionKind::Denied,
                normalized: denial.normalized.clone(),
                class: denial.class,
                status: Some(403),
                reason: Some(denial.reason.to_string()),
                reason_code: Some(denial.reason.code().to_owned()),
                trips_block: denial.reason.trips_block(),
                ..explanation
            },
            Decision::NoRoute(no_route) => Explanation {
                dialled: no_route.dialled.clone(),
                decision: DecisionKind::NoRoute,
                normalized: no_route.normalized.clone(),
                class: no_route.class,
                status: Some(no_route.status()),
                reason: Some(no_route.to_string()),
                reason_code: Some(no_route.reason.code().to_owned()),
                ..explanation
            },
        }
    }

    /// Builds the view of an extension call from the dialled string too (a
    /// [`Decision::Extension`] carries only the number).
    pub fn with_dialled(mut self, dialled: &str) -> Explanation {
        dialled.clone_into(&mut self.dialled);
        self
    }

    fn fill_outbound(&mut self, outbound: &Outbound) {
        self.dialled.clone_from(&outbound.dialled);
        self.normalized = Some(outbound.normalized.clone());
        self.class = Some(outbound.class);
        self.region.clone_from(&outbound.region);
        self.route.clone_from(&outbound.route);
        self.emergency = outbound.emergency;
        self.withheld = outbound.withheld;
        self.allowed = true;
        let first = outbound.usable().next();
        self.caller_id = first.and_then(|a| a.caller_id.clone());
        let cost = |secs: u64| {
            first
                .and_then(|a| a.rate)
                .map(|rate| rate.cost(Some(secs * 1000)).as_f64())
        };
        self.cost_1min = cost(60);
        self.cost_5min = cost(300);
        self.attempts = outbound.attempts.iter().map(AttemptView::of).collect();
    }
}

impl AttemptView {
    fn of(attempt: &TrunkAttempt) -> AttemptView {
        let rate: Option<&Rate> = attempt.rate.as_ref();
        AttemptView {
            trunk: attempt.trunk.clone(),
            number: attempt.number.clone(),
            per_minute: rate.map(|r| r.per_minute.as_f64()),
            connection_fee: rate.map(|r| r.connection_fee.as_f64()),
            increment: rate.map(|r| r.increment.to_string()),
            caller_id: attempt.caller_id.clone(),
            skipped: attempt.skipped.map(|s| s.to_string()),
        }
    }
}

/// An amount as the table shows it (exact, four decimals or more).
fn amount(value: f64) -> String {
    Money::from_f64(value).map_or_else(|| value.to_string(), |m| m.to_string())
}

/// A few aligned lines for `crossbar route explain` (table output).
impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LABEL: usize = 11;
        writeln!(f, "{:LABEL$} {}", "dialled", self.dialled)?;
        let decision = match (self.decision, &self.reason) {
            (DecisionKind::Extension, _) => format!(
                "extension {}",
                self.extension.as_deref().unwrap_or_default()
            ),
            (DecisionKind::Menu, _) => {
                format!("menu {}", self.menu.as_deref().unwrap_or_default())
            }
            (DecisionKind::AgentFeature, _) => format!(
                "queue agent feature: {}",
                self.agent_feature.as_deref().unwrap_or_default()
            ),
            (DecisionKind::Outbound, _) if self.emergency => match &self.route {
                Some(route) => format!("emergency call, route {route}"),
                None => "emergency call".to_owned(),
            },
            (DecisionKind::Outbound, _) => format!(
                "outbound, route {}",
                self.route.as_deref().unwrap_or("none")
            ),
            (DecisionKind::Denied, reason) => format!(
                "denied ({}): {}",
                self.status.unwrap_or(403),
                reason.as_deref().unwrap_or_default()
            ),
            (DecisionKind::NoRoute, reason) => format!(
                "no route ({}): {}",
                self.status.unwrap_or(404),
                reason.as_deref().unwrap_or_default()
            ),
        };
        writeln!(f, "{:LABEL$} {decision}", "decision")?;
        if self.trips_block {
            writeln!(
                f,
                "{:LABEL$} the extension is blocked for outbound calls",
                ""
            )?;
        }
        if let Some(normalized) = &self.normalized {
            let mut line = normalized.clone();
            if let Some(class) = self.class {
                line.push_str("  ");
                line.push_str(class.as_str());
            }
            if let Some(region) = &self.region {
                line.push_str("  ");
                line.push_str(region);
            }
            writeln!(f, "{:LABEL$} {line}", "number")?;
        }
        if self.decision == DecisionKind::Outbound {
            let caller_id = match (&self.caller_id, self.withheld) {
                (_, true) => "withheld",
                (Some(number), false) => number.as_str(),
                (None, false) => "none set",
            };
            writeln!(f, "{:LABEL$} {caller_id}", "caller ID")?;
            let currency = self
                .currency
                .as_deref()
                .map_or_else(String::new, |c| format!(" {c}"));
            if let (Some(one), Some(five)) = (self.cost_1min, self.cost_5min) {
                writeln!(
                    f,
                    "{:LABEL$} {}{currency} for 1 min, {}{currency} for 5 min",
                    "cost",
                    amount(one),
                    amount(five)
                )?;
            }
            let trunk_width = self.attempts.iter().map(|a| a.trunk.len()).max();
            let number_width = self.attempts.iter().map(|a| a.number.len()).max();
            for (index, attempt) in self.attempts.iter().enumerate() {
                let label = if index == 0 { "attempts" } else { "" };
                let rate = match (attempt.per_minute, attempt.connection_fee) {
                    (Some(per_minute), Some(fee)) => format!(
                        "{}/min  fee {}  {}",
                        amount(per_minute),
                        amount(fee),
                        attempt.increment.as_deref().unwrap_or_default()
                    ),
                    _ => "-".to_owned(),
                };
                let skipped = attempt
                    .skipped
                    .as_deref()
                    .map_or_else(String::new, |s| format!("  skipped: {s}"));
                writeln!(
                    f,
                    "{label:LABEL$} {}. {:tw$}  {:nw$}  {rate}{skipped}",
                    index + 1,
                    attempt.trunk,
                    attempt.number,
                    tw = trunk_width.unwrap_or(0),
                    nw = number_width.unwrap_or(0),
                )?;
            }
            if self.attempts.is_empty() {
                writeln!(f, "{:LABEL$} none", "attempts")?;
            }
        }
        Ok(())
    }
}
