//! Call records, pure: the [`CallEvent`] vocabulary the switch emits while a call runs, and
//! how the events of one call fold into one [`CallRecord`] (DESIGN.md §1: one record per
//! call as the caller experiences it, with its legs, its timeline, one disposition and
//! its timings).

pub mod event;

pub use event::{
    CallEvent, CallId, Direction, EndReason, EventKind, HangupSide, LegId, LegRole, Party,
};
