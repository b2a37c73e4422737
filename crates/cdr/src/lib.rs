//! Call records, pure: the [`CallEvent`] vocabulary the switch emits while a call runs, and
//! how the events of one call fold into one [`CallRecord`] (DESIGN.md §1: one record per
//! call as the caller experiences it, with its legs, its timeline, one disposition and
//! its timings), and the [`metrics`] the reports and the dashboard compute from the records
//! (DESIGN.md §2). Besides calls: queue agents' events ([`agent`]), read by the queue report,
//! and the rules of callback tasks ([`callbacks`]): which calls open one, which complete it.
//!
//! Feature `serde`: `Serialize`/`Deserialize` for every event and record type (enums as their
//! snake_case names, `CallId`/`LegId` as plain values, events and end reasons tagged by
//! `type`).

pub mod agent;
pub mod callbacks;
pub mod event;
pub mod metrics;
pub mod record;
pub mod tariff;

pub use agent::{AgentEvent, AgentEventKind};
pub use event::{
    CallEvent, CallId, Direction, EndReason, EventKind, HangupSide, LegId, LegRole, Party,
    QueueOutcome, Stage, StepKind,
};
pub use record::{
    CallRecord, Disposition, Inbound, LegRecord, PathStep, QueueVisit, Recorder, RecorderOutput,
    Timings,
};
pub use tariff::{DestinationClass, Increment, Money, Rate};
