//! Calls crossbar places itself: callbacks of missed callers (issue 9, callback tasks).
//!
//! [`Switch::originate_callback`] is what the API's and the CLI's "dial this callback task"
//! calls: it rings the agent first, then dials the customer through the outgoing routes, as
//! an outbound call of the agent linked to the task (the call itself:
//! [`crate::call::originated`]). A queue's **virtual hold** does the same without being asked:
//! a caller who took "press 1 to be called back" keeps their place in line, and when their
//! turn comes the queue machine's offer to an agent (an `Offer` with `callback`) has the
//! switch originate the callback — the agent's answer, failure or ring-out is reported to the
//! queue machine as for any offer (so wrap-up, missed offers and auto-pause work), and the
//! customer is dialled from the DID they called.
//!
//! # Caller ID
//!
//! The DID asked for wins: it replaces the caller ID the outgoing routes would present for
//! the agent (the extension's `external_number`, the route's `caller_id`, the trunk's), and a
//! callback is never withheld (an agent's `withhold_caller_id` would hide the very number the
//! customer is to recognise). The trunk's own presentation rules still apply: the `From` host
//! (`from_domain`), `P-Asserted-Identity` for trunks with `asserted_identity`, the number
//! format of the customer's number. Without a DID the agent's usual caller ID is presented.
//!
//! # What is checked, and what is recorded
//!
//! A request crossbar cannot act on is an [`OriginateError`] and leaves no record: an unknown
//! extension, an agent with no registered phone or at its concurrent-call limit, an empty or
//! unroutable customer number (an extension, a menu, an emergency number is not a customer),
//! a malformed DID, an unknown queue, no free RTP ports. What the dial plan refuses *is* a
//! call of the agent, recorded as a phone's would be — `denied` by the agent's class of
//! service (a fraud cap it trips blocks the extension, as a dialled call would), `failed` with
//! no route or no trunk up — and reported as [`OriginateError::Denied`] or
//! [`OriginateError::NoRoute`] with the record's call id. Once the agent's phones ring, every
//! outcome is on the record: the agent busy, declining or not answering, the customer busy or
//! not answering or unreachable, or answered.

use std::time::{Duration, Instant, SystemTime};

use crossbar_cdr::{CallId, EndReason};
use crossbar_routing::{Decision, Identity, NoRouteReason};

use crate::apps::queue::{OfferFailure, Priority};
use crate::call::CallSeq;
use crate::call::originated::{self, HeldOffer, OriginPlan};
use crate::call::setup::{Routed, Target};
use crate::{Switch, SwitchOutput, outbound, wall_ms};

/// A callback to originate ([`Switch::originate_callback`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    /// The agent's extension (its number or SIP user name): rung first.
    pub agent: String,
    /// The customer's number, as the agent would dial it (E.164, or national for the site's
    /// country).
    pub customer: String,
    /// The number presented to the customer as caller ID: the DID they called (E.164).
    /// `None`: the agent's usual caller ID.
    pub did: Option<String>,
    /// The callback task the call works (opaque to the switch; on the record).
    pub task: i64,
    /// The queue the task belongs to, if any (on the record's `Callback` event).
    pub queue: Option<String>,
}

/// Why a callback was not originated. `Denied` and `NoRoute` were recorded (a call of the
/// agent the dial plan refused); the others leave no record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginateError {
    #[error("there is no extension `{0}`")]
    UnknownExtension(String),
    #[error("extension {0} has no registered phone")]
    AgentNotRegistered(String),
    #[error("extension {agent} is on {limit} calls already, its limit")]
    AgentBusy { agent: String, limit: usize },
    #[error("`{number}` is not a number to call back: {reason}")]
    InvalidNumber { number: String, reason: String },
    #[error("`{0}` is not a caller ID to present: E.164 (`+442079460000`) or digits")]
    InvalidCallerId(String),
    #[error("there is no queue named `{0}`")]
    NoSuchQueue(String),
    #[error("no free RTP ports")]
    NoMediaPorts,
    /// The agent's class of service (or a fraud cap, or a block) refuses the number; the call
    /// is recorded `denied`.
    #[error("the callback is denied: {reason} (call {call})")]
    Denied { call: CallId, reason: String },
    /// No outgoing route takes the number, or no trunk of it is up; the call is recorded
    /// `failed`.
    #[error("the callback cannot go out: {reason} (call {call})")]
    NoRoute { call: CallId, reason: String },
}

/// A place kept in a queue's line for a caller waiting for a callback, as the switch reports
/// it ([`HeldChange`]) and takes it back at start ([`Switch::restore_held`]).
pub use crossbar_cdr::callbacks::HeldPlace;

/// What became of a place kept for a callback: keep it across a restart until it is given
/// up (`SwitchOutput::Held`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldChange {
    /// A caller took the callback offer: their place is kept.
    Kept(HeldPlace),
    /// The place of the caller of `call` is given up: served, reached another way, taken
    /// back in person, impossible to call back, or its queue is gone.
    Released { call: CallId },
}

/// A queue caller waiting for a callback (virtual hold): whom to call back, from which
/// number, and the calls crossbar placed for the queue's offers of them.
#[derive(Debug)]
pub(crate) struct Held {
    /// The caller's number.
    pub(crate) customer: String,
    /// The number they called.
    pub(crate) did: Option<String>,
    pub(crate) queue: String,
    /// The call that took the offer.
    pub(crate) call: CallId,
    /// A call per agent offered the caller now: (agent, call).
    pub(crate) originations: Vec<(String, CallSeq)>,
}

impl Switch {
    /// Puts back in line the callers who were waiting for a callback when crossbar stopped
    /// (`places` as reported by [`HeldChange::Kept`], in the order they joined), before the
    /// first call: their turn is offered as a callback, at once if an agent is free. A place
    /// in a queue the configuration no longer has is given up ([`HeldChange::Released`]).
    /// Returns how many places were restored.
    pub fn restore_held(
        &mut self,
        now: Instant,
        wall: SystemTime,
        places: Vec<HeldPlace>,
    ) -> usize {
        let now_ms = wall_ms(wall);
        let mut restored = 0;
        for place in places {
            let priority = if place.vip {
                Priority::Vip
            } else {
                Priority::Normal
            };
            let waited = u64::try_from(now_ms - place.joined_at_ms).unwrap_or(0);
            let joined_at = now
                .checked_sub(Duration::from_millis(waited))
                .unwrap_or(now);
            let (seq, _) = self.core.new_call(wall);
            let queues = self.core.queues(now, wall);
            match queues.restore_held(&place.queue, seq, priority, joined_at, now) {
                Ok(actions) => {
                    self.core.held.insert(
                        seq,
                        Held {
                            customer: place.customer,
                            did: place.did,
                            queue: place.queue,
                            call: place.call,
                            originations: Vec::new(),
                        },
                    );
                    self.core.queue_actions.extend(actions);
                    restored += 1;
                }
                Err(error) => {
                    tracing::warn!(call = %place.call, queue = %place.queue, %error, "a place kept for a callback is given up");
                    self.core
                        .outputs
                        .push_back(SwitchOutput::Held(HeldChange::Released {
                            call: place.call,
                        }));
                }
            }
        }
        self.drain(now, wall);
        restored
    }

    /// Originates a callback: rings every registered phone of `request.agent` with the
    /// customer's number shown, and once the agent answers, dials the customer through the
    /// outgoing routes (the agent's class of service, trunk failover) presenting
    /// `request.did`, with ringback to the agent until the customer answers. Returns the
    /// call's id (its record comes as for any call: an outbound call of the agent carrying
    /// `callback_task`).
    pub fn originate_callback(
        &mut self,
        now: Instant,
        wall: SystemTime,
        request: CallbackRequest,
    ) -> Result<CallId, OriginateError> {
        let result = self.originate_request(now, wall, request);
        self.drain(now, wall);
        result
    }

    fn originate_request(
        &mut self,
        now: Instant,
        wall: SystemTime,
        request: CallbackRequest,
    ) -> Result<CallId, OriginateError> {
        let CallbackRequest {
            agent,
            customer,
            did,
            task,
            queue,
        } = request;
        if let Some(queue) = &queue
            && self.core.plan.queue(queue).is_none()
        {
            return Err(OriginateError::NoSuchQueue(queue.clone()));
        }
        let plan = OriginPlan {
            agent,
            customer,
            task: Some(task),
            queue,
            held: None,
        };
        self.originate(now, wall, plan, did.as_deref())
            .map(|(_, id)| id)
    }

    /// A queue's offer of held caller `caller` to `agent` (ringing until `until`): the
    /// callback is originated; when it cannot be, the queue machine hears why — the agent
    /// unreachable or busy (the caller waits for another offer), or the caller impossible to
    /// call back (their place is given up).
    pub(crate) fn call_back_held(
        &mut self,
        now: Instant,
        wall: SystemTime,
        caller: CallSeq,
        agent: String,
        until: Instant,
    ) {
        let Some(held) = self.core.held.get(&caller) else {
            tracing::warn!(%agent, "a callback's offer for a caller the switch does not hold; the place is given up");
            let actions = self.core.queues(now, wall).caller_left(caller, now);
            self.core.queue_actions.extend(actions);
            return;
        };
        let did = held.did.clone();
        let plan = OriginPlan {
            agent: agent.clone(),
            customer: held.customer.clone(),
            task: None,
            queue: Some(held.queue.clone()),
            held: Some(HeldOffer {
                caller,
                returns: held.call.clone(),
                until,
            }),
        };
        let Err(error) = self.originate(now, wall, plan, did.as_deref()) else {
            return;
        };
        let failure = match &error {
            OriginateError::AgentBusy { .. } => Some(OfferFailure::Busy),
            OriginateError::UnknownExtension(_)
            | OriginateError::AgentNotRegistered(_)
            | OriginateError::NoMediaPorts => Some(OfferFailure::Unreachable),
            OriginateError::InvalidNumber { .. }
            | OriginateError::InvalidCallerId(_)
            | OriginateError::NoSuchQueue(_)
            | OriginateError::Denied { .. }
            | OriginateError::NoRoute { .. } => None,
        };
        let queues = self.core.queues(now, wall);
        let actions = match failure {
            Some(failure) => {
                tracing::info!(%agent, %error, "a callback's offer could not ring the agent");
                queues.agent_failed(caller, &agent, failure, now)
            }
            None => {
                tracing::info!(%agent, %error, "the caller waiting for a callback cannot be called back; the place is given up");
                queues.caller_left(caller, now)
            }
        };
        self.core.queue_actions.extend(actions);
        self.core.forget_held_if_done(caller);
    }

    /// Checks `plan`, routes its customer number as a call of the agent and starts the call
    /// (or records the refusal).
    fn originate(
        &mut self,
        now: Instant,
        wall: SystemTime,
        mut plan: OriginPlan,
        did: Option<&str>,
    ) -> Result<(CallSeq, CallId), OriginateError> {
        let agent = match self.core.endpoint.account(plan.agent.trim()) {
            Some(account) => account.number.clone(),
            None => return Err(OriginateError::UnknownExtension(plan.agent)),
        };
        plan.agent = agent;
        plan.customer = plan.customer.trim().to_owned();
        let invalid = |plan: &OriginPlan, reason: &str| OriginateError::InvalidNumber {
            number: plan.customer.clone(),
            reason: reason.to_owned(),
        };
        if plan.customer.is_empty() {
            return Err(invalid(&plan, "it is empty"));
        }
        let did = match did.map(str::trim) {
            Some(did) if !is_caller_id(did) => {
                return Err(OriginateError::InvalidCallerId(did.to_owned()));
            }
            other => other,
        };
        let limit = self.core.settings.max_calls_per_extension;
        if self.core.load.calls_of(&plan.agent) >= limit {
            return Err(OriginateError::AgentBusy {
                agent: plan.agent,
                limit,
            });
        }
        let unix = crossbar_proto::endpoint::unix_seconds(wall);
        if self
            .core
            .endpoint
            .registrar()
            .contacts(&plan.agent, unix)
            .is_empty()
        {
            return Err(OriginateError::AgentNotRegistered(plan.agent));
        }

        let identity = Identity::Extension(plan.agent.clone());
        let decision = self.route(now, wall, &identity, &plan.customer);
        let decision = match decision {
            Decision::Outbound(outbound) if outbound.emergency => {
                return Err(invalid(&plan, "an emergency number is not called back"));
            }
            Decision::Outbound(mut outbound) => {
                if let Some(did) = did {
                    // The DID wins over the agent's, the route's and the trunk's caller ID.
                    outbound.withheld = false;
                    for attempt in &mut outbound.attempts {
                        attempt.caller_id = Some(did.to_owned());
                    }
                }
                Decision::Outbound(outbound)
            }
            Decision::NoRoute(no_route) if matches!(no_route.reason, NoRouteReason::Number(_)) => {
                return Err(invalid(&plan, &no_route.to_string()));
            }
            Decision::Extension { .. } => {
                return Err(invalid(
                    &plan,
                    "it is an extension, not a customer's number",
                ));
            }
            Decision::Menu { .. } | Decision::AgentFeature { .. } => {
                return Err(invalid(&plan, "it is a feature of crossbar, not a number"));
            }
            refused @ (Decision::Denied(_) | Decision::NoRoute(_)) => refused,
        };
        let routing = outbound::target(decision, &self.core.trunks);
        if let Some(reason) = routing.block {
            self.block(now, wall, &plan.agent, reason);
        }
        match routing.target {
            Target::Trunks { routed, attempts } => {
                let (seq, call) =
                    originated::start(&mut self.core, now, wall, plan, &routed, attempts)?;
                let id = call.id.clone();
                self.calls.insert(seq, call);
                // A call whose every leg failed at once is over already.
                self.with_call(now, wall, seq, |_, _| ());
                Ok((seq, id))
            }
            Target::Refuse {
                routed,
                status,
                reason,
                ..
            } => Err(self.refuse(now, wall, &plan, routed.as_ref(), status, reason)),
            Target::Extension { .. }
            | Target::Inbound(_)
            | Target::Menu { .. }
            | Target::AgentFeature { .. } => Err(invalid(&plan, "it is not a number")),
        }
    }

    /// Records the callback the dial plan refused; the error saying so.
    fn refuse(
        &mut self,
        now: Instant,
        wall: SystemTime,
        plan: &OriginPlan,
        routed: Option<&Routed>,
        status: u16,
        reason: EndReason,
    ) -> OriginateError {
        let text = match &reason {
            EndReason::Denied { reason } => reason.clone(),
            EndReason::Error { detail, .. } => detail.clone(),
            EndReason::NoRoute => "no outgoing route takes the number".to_owned(),
            other => format!("{other:?}"),
        };
        let denied = matches!(reason, EndReason::Denied { .. });
        let call =
            originated::record_refused(&mut self.core, now, wall, plan, routed, status, reason);
        if denied {
            OriginateError::Denied { call, reason: text }
        } else {
            OriginateError::NoRoute { call, reason: text }
        }
    }

    /// A fraud cap tripped by `extension`'s call: it is blocked for outbound calls (once).
    pub(crate) fn block(
        &mut self,
        now: Instant,
        wall: SystemTime,
        extension: &str,
        reason: String,
    ) {
        if self.core.usage.block(extension, now) {
            tracing::warn!(%extension, %reason, "fraud cap tripped: extension blocked for outbound calls");
            self.core.outputs.push_back(SwitchOutput::Block {
                extension: extension.to_owned(),
                reason,
                at_ms: wall_ms(wall),
            });
        }
    }
}

/// Whether `text` can be presented as a caller ID: E.164 or plain digits (at most 15).
fn is_caller_id(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_caller_id;

    #[test]
    fn a_caller_id_is_e164_or_digits() {
        assert!(is_caller_id("+442079460600"));
        assert!(is_caller_id("02079460600"));
        for bad in ["", "+", "+44 20", "sip:x@y", "+4420794606001234"] {
            assert!(!is_caller_id(bad), "{bad}");
        }
    }
}
