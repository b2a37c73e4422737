//! crossbar's dial plan, pure: no IO, no clock.
//!
//! [`DialPlan::compile`] turns a [`crossbar_config::Config`] into a plan once per (re)load.
//! Both the switch and `crossbar route explain` ask it, so the simulator cannot disagree with a
//! live call.
//!
//! Outgoing calls: [`DialPlan::route`] makes the one routing decision for a call — an
//! extension, an outbound call with its ordered trunk attempts, a policy denial, or no route;
//! [`Explanation`] is the simulator's (and the API's) view of a decision.
//!
//! Incoming calls: [`DialPlan::route_inbound`] refuses blocked callers and finds the inbound
//! route (or the trunk's default destination); [`DialPlan::resolve`] follows a destination
//! through time conditions to a [`Target`] — called again by the switch whenever a menu key,
//! a menu's failure or an escalation ([`DialPlan::escalate`]) names a new destination;
//! [`IvrPlan::choose`] reads the keys pressed in a menu; [`DialPlan::ring_order`] orders a
//! ring group's members. Each returns the [`Step`]s of the call's route path in the call
//! record's vocabulary. [`InboundExplanation`] walks the same functions with given keys.
//! [`DialPlan::queue`] gives a queue's compiled settings ([`QueuePlan`]) to the switch's
//! queue machine ([`DialPlan::queues`]: all of them); [`Decision::AgentFeature`] is a queue
//! agent's feature code dialled from its phone ([`agents`]).
//!
//! Modules follow the domain: [`numbering`] (normalise to E.164, classify, emergency
//! numbers, the phone-number library behind it), [`rates`] (per-trunk rate decks, longest
//! prefix), [`policy`] (class of service and fraud caps), [`live`] (the trunk, extension and
//! inbound state a decision reads), `plan` (compile and route), [`decision`] (what route
//! returns), [`explain`]; [`inbound`] (routes and the blocklist), `time_condition`,
//! [`destination`] (resolve, escalate, targets and steps), [`menu`], [`group`], [`queue`] and
//! [`inbound_explain`].

pub mod agents;
pub mod decision;
pub mod destination;
mod error;
pub mod explain;
pub mod group;
pub mod inbound;
pub mod inbound_explain;
pub mod live;
pub mod menu;
pub mod numbering;
mod plan;
pub mod policy;
pub mod queue;
pub mod rates;
mod time_condition;

pub use agents::AgentFeature;
pub use decision::{Decision, Denial, NoRoute, NoRouteReason, Outbound, Skip, TrunkAttempt};
pub use destination::{MAX_TIME_CONDITIONS, Resolution, Step, Target, TargetError, Unanswered};
pub use error::PlanError;
pub use explain::{AttemptView, DecisionKind, Explanation};
pub use group::{GroupPlan, MemberPlan};
pub use inbound::{InboundCall, InboundDecision, RoutedCall};
pub use inbound_explain::{EXPLAIN_SEED, InboundDecisionKind, InboundExplanation, MemberView};
pub use live::{ExtensionUsage, Idle, Live, TrunkLoad};
pub use menu::{Choice, IvrPlan};
pub use numbering::NumberProblem;
pub use plan::{Attempt, DialPlan, Identity};
pub use policy::{DenyReason, FraudCap};
pub use queue::QueuePlan;
