//! Where an INVITE from a trunk goes: the number called (the DID) and the caller read from
//! the request as the trunk writes them, the dial plan's inbound decision
//! (`crossbar_routing::DialPlan::route_inbound`, the function `crossbar route explain --did`
//! calls) read against the switch's live state, and turned into what the call does —
//! received where the route sends it, or refused and recorded (blocklist: `denied`; no route:
//! `failed` with 404).

use crossbar_cdr::{Direction, EndReason, EventKind};
use crossbar_config::DidSource;
use crossbar_routing::InboundDecision;
use crossbar_sip::{HeaderName, NameAddr, Request};

use crate::call::setup::{Target, dialled, uri_user};

/// The number a trunk's INVITE calls, from where the trunk puts it (`did_from`).
pub(crate) fn did(request: &Request, source: &DidSource) -> String {
    match source {
        DidSource::RequestUri => dialled(request),
        DidSource::To => request
            .headers
            .to()
            .ok()
            .and_then(|to| uri_user(&to.uri))
            .unwrap_or_default(),
        DidSource::Header(name) => request
            .headers
            .get(&HeaderName::from_wire(name))
            .and_then(|value| NameAddr::parse(value.split(',').next().unwrap_or(value)).ok())
            .and_then(|address| uri_user(&address.uri))
            .unwrap_or_else(|| dialled(request)),
    }
}

/// Who is calling: `P-Asserted-Identity` (RFC 3325 §9.1, what a trusted carrier asserts),
/// else `From`. `None` when the caller withholds their identity: `Privacy: id` (RFC 3325
/// §9.3) or header (RFC 3323 §4.2), or an anonymous `From` (RFC 3323 §4.1.1.3).
pub(crate) fn caller(request: &Request) -> Option<String> {
    let privacy = request
        .headers
        .get_all(&HeaderName::Privacy)
        .flat_map(|value| value.split(';'))
        .any(|token| matches!(token.trim().to_ascii_lowercase().as_str(), "id" | "header"));
    let from = request
        .headers
        .from()
        .ok()
        .and_then(|from| uri_user(&from.uri));
    if privacy
        || from
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case("anonymous"))
    {
        return None;
    }
    request
        .headers
        .get(&HeaderName::PAssertedIdentity)
        .and_then(|value| NameAddr::parse(value.split(',').next().unwrap_or(value)).ok())
        .and_then(|address| uri_user(&address.uri))
        .or(from)
}

/// What the call does with `decision`.
pub(crate) fn target(decision: InboundDecision) -> Target {
    match decision {
        InboundDecision::Route(routed) => Target::Inbound(Box::new(routed)),
        InboundDecision::Blocked {
            trunk,
            did,
            caller,
            status,
            steps,
        } => refuse(
            trunk,
            did,
            steps,
            status,
            EndReason::Denied {
                reason: format!("caller {caller} is on the blocklist"),
            },
        ),
        InboundDecision::NoRoute {
            trunk,
            did,
            status,
            steps,
            ..
        } => refuse(trunk, did, steps, status, EndReason::NoRoute),
    }
}

fn refuse(
    trunk: String,
    did: String,
    steps: Vec<crossbar_routing::Step>,
    status: u16,
    reason: EndReason,
) -> Target {
    let mut events = vec![EventKind::Inbound {
        trunk,
        did,
        route: None,
        vip: false,
        language: None,
    }];
    events.extend(steps.into_iter().map(EventKind::from));
    Target::Refuse {
        direction: Direction::Inbound,
        events,
        routed: None,
        status,
        reason,
        explanation: None,
    }
}
