//! Setting a call up: the caller's authenticated INVITE and where the dial plan sends it →
//! checks (session interval, call limits, SDP) → the relay opened → the first legs placed.
//! Anything refused on the way gets its final response and a record of why.

use std::time::{Instant, SystemTime};

use crossbar_cdr::{Direction, EndReason, EventKind, HangupSide, LegId, LegRole, Party};
use crossbar_proto::endpoint::Identity;
use crossbar_proto::transaction::{Peer, ServerKey};
use crossbar_sdp::SessionDescription;
use crossbar_sip::{HeaderName, Request, Uri};

use super::dialing::Attempt;
use super::{Call, CallSeq, CallerLeg, Phase, SessionTimer, tagged};
use crate::T1;
use crate::core::{CallTimer, Core, Ctx};
use crate::media::Media;

/// An INVITE the endpoint admitted: who is calling and what they sent.
#[derive(Debug)]
pub(crate) struct Admitted {
    pub(crate) key: ServerKey,
    pub(crate) request: Request,
    pub(crate) source: Peer,
    /// Who is calling.
    pub(crate) caller: Identity,
}

/// Where the call goes, as decided before it starts.
#[derive(Debug)]
pub(crate) enum Target {
    /// Every registered contact of an extension, at once.
    Extension { number: String },
    /// Trunks, one after the other (failover), for an outbound call.
    Trunks {
        routed: Routed,
        attempts: Vec<Attempt>,
    },
    /// An incoming call a route took: received where the dial plan sends it
    /// ([`super::inbound`]).
    Inbound(Box<crossbar_routing::RoutedCall>),
    /// A phone dialled a menu's number: crossbar answers and runs the menu (internal).
    Menu { name: String },
    /// A phone dialled a queue agent's feature code (`code`, as dialled): crossbar answers,
    /// applies it and says so (internal).
    AgentFeature {
        code: String,
        feature: crossbar_routing::AgentFeature,
    },
    /// Refused before anything rings: `status` to the caller (with a `Reason` header text
    /// when policy said no), recorded with `reason` after `events` (an incoming call's
    /// trunk and route path).
    Refuse {
        direction: Direction,
        events: Vec<EventKind>,
        routed: Option<Routed>,
        status: u16,
        reason: EndReason,
        explanation: Option<String>,
    },
}

/// How an outbound call was routed, for its record.
#[derive(Debug, Clone)]
pub(crate) struct Routed {
    pub(crate) normalized: String,
    pub(crate) class: crossbar_cdr::DestinationClass,
    pub(crate) route: Option<String>,
    /// The caller ID presented; `None` when withheld.
    pub(crate) caller_id: Option<String>,
}

impl Routed {
    pub(crate) fn event(&self, dialled: &str) -> EventKind {
        EventKind::Routed {
            dialled: dialled.to_owned(),
            normalized: self.normalized.clone(),
            class: self.class,
            route: self.route.clone(),
            caller_id: self.caller_id.clone(),
        }
    }
}

/// The number dialled: the Request-URI's user (or a `tel:` number).
pub(crate) fn dialled(request: &Request) -> String {
    uri_user(&request.uri).unwrap_or_default()
}

/// The user (number) a URI names: a SIP URI's user part, or a `tel:` number.
pub(crate) fn uri_user(uri: &Uri) -> Option<String> {
    match uri {
        Uri::Sip(uri) => uri.user.clone(),
        Uri::Tel(tel) => Some(tel.number.clone()),
        Uri::Other { .. } => None,
    }
}

/// Starts the call for `invite` going to `target`; `None` when it was refused (answered and
/// recorded already).
pub(crate) fn start(
    core: &mut Core,
    now: Instant,
    wall: SystemTime,
    invite: Admitted,
    target: Target,
) -> Option<(CallSeq, Call)> {
    let Admitted {
        key,
        request,
        source,
        caller: identity,
    } = invite;
    // The caller's number on the record: the extension, or what a carrier says is calling
    // (as the inbound route read it).
    let caller = match (&identity, &target) {
        (_, Target::Inbound(routed)) => routed
            .caller
            .clone()
            .unwrap_or_else(|| "anonymous".to_owned()),
        (Identity::Extension(number), _) => number.clone(),
        (Identity::Trunk(_), _) => request
            .headers
            .from()
            .ok()
            .and_then(|from| uri_user(&from.uri))
            .unwrap_or_default(),
    };
    let (seq, id) = core.new_call(wall);
    let mut ctx = core.ctx(now, wall, seq);
    let dialled = dialled(&request);
    let direction = match &target {
        Target::Extension { .. } | Target::Menu { .. } | Target::AgentFeature { .. } => {
            Direction::Internal
        }
        Target::Trunks { .. } => Direction::Outbound,
        Target::Inbound(_) => Direction::Inbound,
        Target::Refuse { direction, .. } => *direction,
    };
    let outbound = matches!(target, Target::Trunks { .. });
    let outside = match &target {
        Target::Inbound(_) => Some(caller.clone()),
        Target::Trunks { routed, .. } => Some(routed.normalized.clone()),
        _ => None,
    };
    let callee_number = match &target {
        Target::Extension { number } => number.clone(),
        Target::Inbound(routed) => routed.did.clone(),
        _ => dialled.clone(),
    };
    let caller_name = request.headers.from().ok().and_then(|f| f.display.clone());
    ctx.emit(
        &id,
        EventKind::Started {
            direction,
            caller: Party {
                number: caller.clone(),
                name: caller_name.map(|n| n.trim_matches('"').to_owned()),
            },
            callee: Party {
                number: callee_number,
                name: None,
            },
            sip_call_id: request.headers.call_id().unwrap_or_default().to_owned(),
        },
    );
    ctx.emit(
        &id,
        EventKind::LegCreated {
            leg: LegId(0),
            role: LegRole::Caller,
            target: caller.clone(),
            contact: None,
            trunk: match &identity {
                Identity::Trunk(name) => Some(name.clone()),
                Identity::Extension(_) => None,
            },
            rate: None,
        },
    );
    let local_tag = ctx.new_tag();
    let refuse = |ctx: &mut Ctx<'_>, status: u16, reason: EndReason, text: Option<&str>| {
        let mut response = tagged(&request, status, &local_tag);
        if let Some(text) = text {
            // RFC 3326: why, for the phone's display and the carrier-facing logs.
            let text = text.replace(['"', '\\', '\r', '\n'], " ");
            response.headers.push(
                HeaderName::Reason,
                format!("SIP;cause={status};text=\"{text}\""),
            );
        }
        ctx.respond(key, response);
        ctx.emit(
            &id,
            EventKind::Ended {
                reason,
                hangup_by: HangupSide::System,
                status: Some(status),
            },
        );
    };

    let routed = match &target {
        Target::Trunks { routed, .. } => Some(routed),
        Target::Refuse { routed, .. } => routed.as_ref(),
        Target::Extension { .. }
        | Target::Inbound(_)
        | Target::Menu { .. }
        | Target::AgentFeature { .. } => None,
    };
    if let Some(routed) = routed {
        ctx.emit(&id, routed.event(&dialled));
    }
    let path = match &target {
        Target::Refuse { events, .. } => events.clone(),
        Target::Inbound(routed) => inbound_events(routed),
        _ => Vec::new(),
    };
    for kind in path {
        ctx.emit(&id, kind);
    }

    // RFC 4028 §5: refuse too short a session interval with 422 and our Min-SE.
    let min_se = ctx.settings().min_session_expires;
    if session_expires_of(&request).is_some_and(|s| s < min_se) {
        let mut response = tagged(&request, 422, &local_tag);
        response.headers.push(HeaderName::MinSe, min_se.to_string());
        ctx.respond(key, response);
        let reason = EndReason::Error {
            status: Some(422),
            detail: "session interval too small".into(),
        };
        ctx.emit(
            &id,
            EventKind::Ended {
                reason,
                hangup_by: HangupSide::System,
                status: Some(422),
            },
        );
        return None;
    }

    let limit = ctx.settings().max_calls_per_extension;
    let caller_at_limit =
        matches!(identity, Identity::Extension(_)) && ctx.core.load.calls_of(&caller) >= limit;
    let refuse_caller_at_limit = |ctx: &mut Ctx<'_>| {
        tracing::info!(call = %id, %caller, "caller at its concurrent-call limit");
        let reason = EndReason::Denied {
            reason: format!("extension {caller} is at its limit of {limit} calls"),
        };
        refuse(ctx, 403, reason, None);
    };
    let mut received = None;
    // The number an incoming call came to, for calling the caller back from it.
    let mut did = None;
    let mut feature = None;
    let (callee, first_attempts, next_attempts) = match target {
        Target::Refuse {
            status,
            reason,
            explanation,
            ..
        } => {
            tracing::info!(call = %id, %caller, %dialled, status, ?reason, "call refused");
            refuse(&mut ctx, status, reason, explanation.as_deref());
            return None;
        }
        _ if caller_at_limit => {
            refuse_caller_at_limit(&mut ctx);
            return None;
        }
        Target::Extension { number } => {
            if ctx.core.load.calls_of(&number) >= limit {
                tracing::info!(call = %id, callee = %number, "callee at its concurrent-call limit");
                refuse(
                    &mut ctx,
                    486,
                    EndReason::TargetsFailed { status: 486 },
                    None,
                );
                return None;
            }
            let attempts = Attempt::to_contacts(&mut ctx, &caller, &number, wall);
            if attempts.is_empty() {
                tracing::info!(call = %id, callee = %number, "callee not registered");
                refuse(
                    &mut ctx,
                    480,
                    EndReason::TargetsFailed { status: 480 },
                    None,
                );
                return None;
            }
            (Some(number), attempts, Vec::new())
        }
        Target::Inbound(routed) => {
            did = Some(routed.did.clone());
            received = Some((routed.language, routed.target, routed.vip));
            (None, Vec::new(), Vec::new())
        }
        Target::Menu { name } => {
            let language = ctx.core.plan.default_language().to_owned();
            received = Some((language, crossbar_routing::Target::Ivr(name), false));
            (None, Vec::new(), Vec::new())
        }
        Target::AgentFeature {
            code,
            feature: asked,
        } => {
            let language = ctx.core.plan.default_language().to_owned();
            received = Some((language, crossbar_routing::Target::Hangup, false));
            feature = Some((code, asked));
            (None, Vec::new(), Vec::new())
        }
        Target::Trunks { attempts, .. } => {
            let mut attempts = attempts.into_iter();
            let Some(first) = attempts.next() else {
                refuse(
                    &mut ctx,
                    503,
                    EndReason::Error {
                        status: Some(503),
                        detail: "no trunk available".into(),
                    },
                    None,
                );
                return None;
            };
            (None, vec![first], attempts.collect())
        }
    };

    // The caller's offer (RFC 3264): the relay's side A faces it.
    let offer = if request.body.is_empty() {
        None
    } else {
        match SessionDescription::parse(&request.body) {
            Ok(sdp) => Some(sdp),
            Err(error) => {
                tracing::info!(call = %id, %error, "unreadable SDP offer");
                let reason = EndReason::Error {
                    status: Some(400),
                    detail: format!("unreadable SDP: {error}"),
                };
                refuse(&mut ctx, 400, reason, None);
                return None;
            }
        }
    };
    let Some(mut media) = Media::open(ctx.core, offer.as_ref()) else {
        tracing::warn!(call = %id, "no free RTP ports");
        let reason = EndReason::Error {
            status: Some(503),
            detail: "no free RTP ports".into(),
        };
        refuse(&mut ctx, 503, reason, None);
        return None;
    };
    let address = ctx.settings().media_address;
    let b_offer = offer
        .as_ref()
        .map(|sdp| media.rewrite_for_other_side(address, super::Side::Caller, sdp));
    let session_headers = request
        .headers
        .iter()
        .filter(|h| matches!(h.name, HeaderName::SessionExpires | HeaderName::MinSe))
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    ctx.core.index.add_invite(seq, key);
    ctx.core.index.add_relay(seq, media.relay);
    if !matches!(identity, Identity::Trunk(_)) {
        ctx.load_add(&caller);
    }
    if let Some(callee) = &callee {
        ctx.load_add(callee);
    }
    tracing::info!(call = %id, %caller, callee = callee.as_deref().unwrap_or(&dialled), legs = first_attempts.len(), "call");
    let mut call = Call {
        id,
        caller,
        callee,
        a: CallerLeg {
            invite_key: Some(key),
            invite: request,
            source,
            local_tag,
            final_sent: false,
            ok: None,
            ok_interval: T1,
            ok_deadline: None,
            acked: false,
            dialog: None,
        },
        legs: Vec::new(),
        next_attempts: next_attempts.into(),
        answered: None,
        answered_at: None,
        outbound_by: None,
        media,
        b_offer,
        phase: Phase::Ringing,
        relaying: Vec::new(),
        session: SessionTimer {
            expires: None,
            headers: session_headers,
        },
        late_ack: None,
        hold: [false, false],
        receiving: received.as_ref().map(|(language, target, vip)| {
            let mut receiving =
                super::inbound::Receiving::new(language.clone(), target.clone(), *vip);
            receiving.did = did;
            Box::new(receiving)
        }),
        origin: None,
        outside,
    };
    if let Some((code, asked)) = feature {
        call.agent_feature(&mut ctx, &code, asked);
        return Some((seq, call));
    }
    if let Some((_, target, _)) = received {
        call.go_to(&mut ctx, target);
        return Some((seq, call));
    }
    if outbound && let Identity::Extension(number) = &identity {
        ctx.core.usage.started(number, now, wall);
        call.outbound_by = Some(number.clone());
    }
    for attempt in first_attempts {
        call.place(&mut ctx, attempt);
    }
    if call.legs.is_empty() {
        call.after_leg_failure(&mut ctx);
    } else if call.legs.iter().all(|leg| leg.target.trunk().is_none()) {
        // Extensions ring from now; a trunk's number from its first provisional response.
        let ring = ctx.settings().ring_timeout;
        ctx.arm(CallTimer::Ring, now + ring);
    }
    Some((seq, call))
}

/// The record's first events of an incoming call a route took: the trunk, DID and route,
/// then the path so far (the route, the time conditions decided).
fn inbound_events(routed: &crossbar_routing::RoutedCall) -> Vec<EventKind> {
    let mut events = vec![EventKind::Inbound {
        trunk: routed.trunk.clone(),
        did: routed.did.clone(),
        route: routed.route.clone(),
        vip: routed.vip,
        language: Some(routed.language.clone()),
    }];
    events.extend(routed.steps.iter().cloned().map(EventKind::from));
    events
}

/// `Session-Expires` of a request (RFC 4028 §4), in seconds.
fn session_expires_of(request: &Request) -> Option<u32> {
    request
        .headers
        .get(&HeaderName::SessionExpires)
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.trim().parse().ok())
}
