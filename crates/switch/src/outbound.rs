//! Where an admitted INVITE goes: the dial plan's decision (`crossbar_routing`, the same
//! function `crossbar route explain` calls) read against the switch's live state, and turned
//! into what the call machine does — ring an extension's contacts, try trunks in order with
//! the number, caller ID and credentials each one wants, or refuse with the reason.

use crossbar_cdr::{Direction, EndReason};
use crossbar_proto::endpoint::Identity as Caller;
use crossbar_routing::{Decision, Identity, NoRouteReason, Outbound, TrunkAttempt};
use crossbar_sip::{HeaderName, NameAddr, Uri};

use crate::call::Attempt;
use crate::call::setup::{Routed, Target};
use crate::leg::LegTarget;
use crate::trunk::Trunks;

/// The dial plan's identity for who is calling.
pub(crate) fn identity(caller: &Caller) -> Identity {
    match caller {
        Caller::Extension(number) => Identity::Extension(number.clone()),
        Caller::Trunk(name) => Identity::Trunk(name.clone()),
    }
}

/// A decision made into a target, and whether it blocks the caller (a fraud cap tripped).
pub(crate) struct Routing {
    pub(crate) target: Target,
    pub(crate) block: Option<String>,
}

/// What the call does with `decision`.
pub(crate) fn target(decision: Decision, trunks: &Trunks) -> Routing {
    match decision {
        Decision::Extension { number } => Routing {
            target: Target::Extension { number },
            block: None,
        },
        Decision::Menu { name } => Routing {
            target: Target::Menu { name },
            block: None,
        },
        Decision::AgentFeature { code, feature } => Routing {
            target: Target::AgentFeature { code, feature },
            block: None,
        },
        Decision::Outbound(outbound) => Routing {
            target: outbound_target(outbound, trunks),
            block: None,
        },
        Decision::Denied(denial) => {
            let text = denial.reason.to_string();
            let routed = denial
                .normalized
                .clone()
                .zip(denial.class)
                .map(|(normalized, class)| Routed {
                    normalized,
                    class,
                    route: None,
                    caller_id: None,
                });
            Routing {
                block: denial.reason.trips_block().then(|| text.clone()),
                target: Target::Refuse {
                    events: Vec::new(),
                    direction: Direction::Outbound,
                    routed,
                    status: 403,
                    reason: EndReason::Denied {
                        reason: text.clone(),
                    },
                    explanation: Some(text),
                },
            }
        }
        Decision::NoRoute(no_route) => {
            let status = no_route.status();
            let text = no_route.to_string();
            let reason = if status == 404 {
                EndReason::NoRoute
            } else {
                EndReason::Error {
                    status: Some(status),
                    detail: text.clone(),
                }
            };
            let inbound = matches!(no_route.reason, NoRouteReason::InboundNotConfigured);
            let direction = if inbound {
                Direction::Inbound
            } else if no_route.normalized.is_some() {
                Direction::Outbound
            } else {
                Direction::Internal
            };
            let routed =
                no_route
                    .normalized
                    .clone()
                    .zip(no_route.class)
                    .map(|(normalized, class)| Routed {
                        normalized,
                        class,
                        route: None,
                        caller_id: None,
                    });
            Routing {
                target: Target::Refuse {
                    events: Vec::new(),
                    direction,
                    routed,
                    status,
                    reason,
                    explanation: Some(text),
                },
                block: None,
            }
        }
    }
}

/// Trunk attempts for an outbound call, or a refusal when none can be tried.
fn outbound_target(outbound: Outbound, trunks: &Trunks) -> Target {
    let attempts: Vec<Attempt> = outbound
        .usable()
        .filter_map(|attempt| trunk_attempt(attempt, outbound.withheld, trunks))
        .collect();
    let routed = Routed {
        normalized: outbound.normalized.clone(),
        class: outbound.class,
        route: outbound.route.clone(),
        caller_id: outbound.usable().next().and_then(|a| a.caller_id.clone()),
    };
    if attempts.is_empty() {
        let why: Vec<String> = outbound
            .attempts
            .iter()
            .map(|a| match &a.skipped {
                Some(skip) => format!("{} {skip}", a.trunk),
                None => format!("{} has no address", a.trunk),
            })
            .collect();
        let detail = if why.is_empty() {
            "no trunk carries the route".to_owned()
        } else {
            format!("no trunk available: {}", why.join(", "))
        };
        return Target::Refuse {
            events: Vec::new(),
            direction: Direction::Outbound,
            routed: Some(routed),
            status: 503,
            reason: EndReason::Error {
                status: Some(503),
                detail: detail.clone(),
            },
            explanation: Some(detail),
        };
    }
    Target::Trunks { routed, attempts }
}

/// The leg toward one trunk: its address, the number as it wants it, the caller ID headers
/// (RFC 3323 privacy, RFC 3325 asserted identity) and its credentials. `None` when its
/// address is not known.
fn trunk_attempt(attempt: &TrunkAttempt, withheld: bool, trunks: &Trunks) -> Option<Attempt> {
    let trunk = trunks.get(&attempt.trunk)?;
    let hop = trunk.hop()?;
    let uri = trunk.uri(&attempt.number)?;
    let to =
        NameAddr::new(Uri::parse(&format!("sip:{}@{}", attempt.number, trunk.host_port())).ok()?);
    let domain = trunk.caller_domain();
    let mut headers = Vec::new();
    let from = if withheld {
        // RFC 3323 §4.1.1.3: an anonymous From, and Privacy asks the carrier to hide the rest.
        headers.push((HeaderName::Privacy, "id".to_owned()));
        let mut from = NameAddr::new(Uri::parse("sip:anonymous@anonymous.invalid").ok()?);
        from.display = Some("Anonymous".to_owned());
        from
    } else {
        let user = attempt
            .caller_id
            .clone()
            .or_else(|| trunk.config.register.as_ref().map(|r| r.username.clone()))
            .unwrap_or_else(|| "anonymous".to_owned());
        let uri = Uri::parse(&format!("sip:{user}@{domain}")).ok()?;
        if trunk.config.asserted_identity
            && let Some(number) = &attempt.caller_id
        {
            headers.push((
                HeaderName::PAssertedIdentity,
                format!("<sip:{number}@{domain}>"),
            ));
        }
        NameAddr::new(uri)
    };
    Some(Attempt {
        target: LegTarget::Trunk {
            trunk: attempt.trunk.clone(),
            number: attempt.number.clone(),
            rate: attempt.rate,
            credentials: trunk.credentials(),
        },
        hop,
        uri,
        from,
        to,
        headers,
    })
}
