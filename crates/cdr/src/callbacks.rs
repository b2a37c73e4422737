//! Callback tasks (DESIGN.md §2 "callback", issue 9), pure: what a finished call means for the
//! tasks that make sure every missed caller is called back, and when an unanswered callback
//! is tried again. The store keeps the tasks and applies these rules in the transaction that
//! writes the call's record.
//!
//! # Which calls open a task
//!
//! A call **misses** a caller ([`trigger`] gives [`CallbackTrigger::Missed`]) when all of
//! these hold:
//!
//! - it is **inbound** — it came in from a trunk (direction `inbound`; internal callers are
//!   colleagues, not customers);
//! - the caller's **number is known**: an E.164 number or a string of digits (`+` first
//!   allowed). A withheld caller (`anonymous`, `Privacy: id`), or a caller ID that is not a
//!   number (`unknown`, `restricted`, a SIP user name), cannot be called back;
//! - it was **not answered**, and its disposition is one of
//!   - `no_answer`, `busy`, `rejected` — the phones rang, or could not, and nobody took it;
//!   - `cancelled`, `abandoned` — the caller gave up: while a phone rang, in a menu, or
//!     waiting in a queue (short abandons included: DESIGN.md §2 says *every* missed call),
//!     and the caller who took a queue's "press 1 to be called back";
//!   - `voicemail` — a message left is still a caller waiting for an answer (DESIGN.md §2
//!     counts voicemail among the missed calls);
//!   - `failed` — when the call **got past the inbound routes**: a route or the trunk's
//!     default destination took it (its route path goes on beyond the route, it waited in a
//!     queue, or a phone was rung for it) and then a trunk, a phone or crossbar itself
//!     failed. The business meant to serve that caller. A call no route took (404, a number
//!     the site does not answer) opens nothing;
//! - but never `denied`: a caller refused by policy (the blocklist) is not to be called back.
//!
//! The task is for the caller's number, with the DID called and the last queue the caller
//! waited in (if any). While a task for a number is **open**, another miss from that number
//! adds a miss to it rather than opening a second one ([`decide`]).
//!
//! # Which calls complete it
//!
//! A later **answered** call with the number completes its open task
//! ([`CallbackTrigger::Reached`]): an inbound call from it (the customer called again and
//! got through), or an outbound call to it (the number as normalised to E.164 by the
//! outbound routes — a callback from any extension, the task's or not). "Later" is by the
//! answer: a call answered before the task's first miss (one that was already up when the
//! caller tried again) does not complete it. The task records which call completed it and
//! when (the answer). Completion applies whether or not new tasks are being opened.
//!
//! # Times
//!
//! A miss happens when the missed call **ends** (the caller is lost then), so the **time to
//! callback** of a task is its first miss's end → the answer of the call that completed it.

use std::fmt;

use crate::event::{CallId, Direction, LegRole, StepKind};
use crate::record::{CallRecord, Disposition};

/// What a finished call means for callback tasks ([`trigger`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackTrigger {
    /// A caller was missed: open a task for the number, or add a miss to its open one.
    Missed(Miss),
    /// The number was reached: complete its open task.
    Reached(Reach),
}

impl CallbackTrigger {
    /// The number the trigger is about.
    pub fn number(&self) -> &str {
        match self {
            CallbackTrigger::Missed(miss) => &miss.number,
            CallbackTrigger::Reached(reach) => &reach.number,
        }
    }
}

/// A missed call from a number that can be called back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miss {
    /// The caller's number, as the record has it (E.164 when the inbound route could read it).
    pub number: String,
    pub call: CallId,
    /// When the caller was lost: the end of the call (unix milliseconds).
    pub at_ms: i64,
    /// The number the caller called.
    pub did: Option<String>,
    /// The last queue the caller waited in (or was turned away from).
    pub queue: Option<String>,
    pub disposition: Disposition,
}

/// An answered call with a number: inbound from it, or outbound to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub number: String,
    pub call: CallId,
    /// When it was answered (unix milliseconds).
    pub at_ms: i64,
    /// `inbound` (the customer called) or `outbound` (someone called them).
    pub direction: Direction,
}

/// Whether `number` can be called back: an E.164 number or digits (`+` first allowed), at
/// least one digit. Withheld callers (`anonymous`) and caller IDs that are not numbers are
/// not.
pub fn callable(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a `failed` inbound call got past the inbound routes (see the module
/// documentation): its route path goes beyond the route step, it waited in a queue, or a
/// phone was rung for it.
fn got_past_the_routes(record: &CallRecord) -> bool {
    record
        .inbound
        .as_ref()
        .is_some_and(|inbound| inbound.route.is_some())
        || record
            .path
            .iter()
            .any(|step| !matches!(step.kind, StepKind::Route | StepKind::Blocklist))
        || !record.queues.is_empty()
        || record.legs.iter().any(|leg| leg.role == LegRole::Callee)
}

/// Whether an unanswered inbound call of `record` missed its caller (module documentation).
fn missed(record: &CallRecord) -> bool {
    match record.disposition {
        Disposition::Answered | Disposition::Denied => false,
        Disposition::NoAnswer
        | Disposition::Busy
        | Disposition::Rejected
        | Disposition::Cancelled
        | Disposition::Abandoned
        | Disposition::Voicemail => true,
        Disposition::Failed => got_past_the_routes(record),
    }
}

/// What the finished call `record` means for callback tasks, if anything (module
/// documentation): a miss of an outside caller, or an answered call with a number.
pub fn trigger(record: &CallRecord) -> Option<CallbackTrigger> {
    let answered = record.disposition == Disposition::Answered;
    match record.direction {
        Direction::Inbound => {
            let number = record.caller.number.trim();
            if !callable(number) {
                return None;
            }
            if answered {
                let at_ms = record.answered_at_ms?;
                return Some(CallbackTrigger::Reached(Reach {
                    number: number.to_owned(),
                    call: record.id.clone(),
                    at_ms,
                    direction: Direction::Inbound,
                }));
            }
            missed(record).then(|| {
                CallbackTrigger::Missed(Miss {
                    number: number.to_owned(),
                    call: record.id.clone(),
                    at_ms: record.ended_at_ms,
                    did: record.inbound.as_ref().map(|i| i.did.clone()),
                    queue: record.queues.last().map(|v| v.queue.clone()),
                    disposition: record.disposition,
                })
            })
        }
        Direction::Outbound => {
            let outbound = record.outbound.as_ref()?;
            let number = outbound.normalized.trim();
            if !answered || !callable(number) {
                return None;
            }
            Some(CallbackTrigger::Reached(Reach {
                number: number.to_owned(),
                call: record.id.clone(),
                at_ms: record.answered_at_ms?,
                direction: Direction::Outbound,
            }))
        }
        Direction::Internal => None,
    }
}

/// A number's open task, as far as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenTask {
    /// When its first miss happened (unix milliseconds).
    pub first_miss_at_ms: i64,
}

/// What to do to the tasks ([`decide`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskChange {
    /// Open a task for the miss's number, the miss its first.
    Open(Miss),
    /// Add the miss to the number's open task.
    AddMiss(Miss),
    /// Complete the number's open task: reached by this call.
    Complete(Reach),
    /// Nothing to do.
    Nothing,
}

/// What `trigger` does given the open task of its number (`open`), if any; new tasks are
/// opened only if `opening` (`[callbacks] enabled`), while misses are added to open tasks and
/// open tasks completed either way.
pub fn decide(trigger: CallbackTrigger, open: Option<OpenTask>, opening: bool) -> TaskChange {
    match (trigger, open) {
        (CallbackTrigger::Missed(miss), Some(_)) => TaskChange::AddMiss(miss),
        (CallbackTrigger::Missed(miss), None) if opening => TaskChange::Open(miss),
        (CallbackTrigger::Missed(_), None) => TaskChange::Nothing,
        (CallbackTrigger::Reached(reach), Some(task)) if reach.at_ms >= task.first_miss_at_ms => {
            TaskChange::Complete(reach)
        }
        (CallbackTrigger::Reached(_), _) => TaskChange::Nothing,
    }
}

/// Where a callback task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum TaskState {
    /// The caller has not been reached yet.
    Open,
    /// An answered call with the number completed it.
    Completed,
    /// Someone closed it by hand.
    Cancelled,
    /// Closed after `[callbacks] max_attempts` unanswered attempts, without reaching the
    /// caller.
    Unreached,
}

impl TaskState {
    pub const ALL: [TaskState; 4] = [
        TaskState::Open,
        TaskState::Completed,
        TaskState::Cancelled,
        TaskState::Unreached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Open => "open",
            TaskState::Completed => "completed",
            TaskState::Cancelled => "cancelled",
            TaskState::Unreached => "unreached",
        }
    }

    pub fn parse(text: &str) -> Option<TaskState> {
        TaskState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How unanswered callbacks are tried again (`[callbacks] retry_schedule_secs` and
/// `max_attempts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    /// After unanswered attempt `n` (1-based), the next one is made automatically
    /// `waits_secs[n - 1]` seconds later; past the end of the list, by hand only.
    pub waits_secs: Vec<u32>,
    /// The most attempts on one task; after that many unanswered ones it is `unreached`.
    pub max_attempts: u32,
}

/// What follows an unanswered callback attempt ([`RetrySchedule::after_unanswered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    /// Try again automatically at this time (unix milliseconds).
    At(i64),
    /// No automatic attempt is scheduled: the task waits for someone to try by hand.
    ByHand,
    /// That was the last attempt allowed: the task is `unreached`.
    GiveUp,
}

impl RetrySchedule {
    /// What follows the unanswered attempt number `attempt` (1-based: the task's attempts so
    /// far, this one included) made at `at_ms`.
    pub fn after_unanswered(&self, attempt: u32, at_ms: i64) -> NextAttempt {
        if attempt >= self.max_attempts {
            return NextAttempt::GiveUp;
        }
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        match self.waits_secs.get(index) {
            Some(wait) if attempt >= 1 => {
                NextAttempt::At(at_ms.saturating_add(i64::from(*wait) * 1_000))
            }
            _ => NextAttempt::ByHand,
        }
    }
}

/// A place kept in a queue's line for a caller waiting for a callback (the queue's "press 1
/// to be called back", virtual hold): the caller has hung up and the agent their turn reaches
/// calls them back. The switch reports each place kept; the store keeps it across a restart
/// while the caller's task is open, and the switch puts the caller back in line at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPlace {
    /// The call that took the callback offer.
    pub call: CallId,
    pub queue: String,
    /// The number to call back.
    pub customer: String,
    /// The number the caller called: presented when calling back.
    pub did: Option<String>,
    /// Served before normal callers (the inbound route's `vip`).
    pub vip: bool,
    /// When the caller joined the queue (unix milliseconds): the place's order.
    pub joined_at_ms: i64,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::event::{
        CallEvent, EndReason, EventKind, HangupSide, LegId, Party, QueueOutcome, Stage,
    };
    use crate::metrics::record_of;
    use crate::tariff::DestinationClass;

    /// 2026-11-21T09:00:00Z.
    const NINE: i64 = 1_795_251_600_000;
    const SEC: i64 = 1_000;
    const MIN: i64 = 60 * SEC;
    const HOUR_MS: i64 = 60 * MIN;
    const CUSTOMER: &str = "+447700900123";
    const DID: &str = "+442079460000";

    /// Builds the events of one call.
    struct Call {
        id: CallId,
        start: i64,
        events: Vec<CallEvent>,
    }

    impl Call {
        fn new(id: &str, direction: Direction, caller: &str, callee: &str, start: i64) -> Call {
            let mut call = Call {
                id: CallId(id.into()),
                start,
                events: Vec::new(),
            };
            call.at(
                0,
                EventKind::Started {
                    direction,
                    caller: Party {
                        number: caller.into(),
                        name: None,
                    },
                    callee: Party {
                        number: callee.into(),
                        name: None,
                    },
                    sip_call_id: format!("sip-{id}"),
                },
            );
            call
        }

        /// From `caller` through a trunk to [`DID`], taken by route `main`.
        fn inbound(id: &str, caller: &str, start: i64) -> Call {
            let mut call = Call::new(id, Direction::Inbound, caller, DID, start);
            call.at(
                0,
                EventKind::Inbound {
                    trunk: "carrier-a".into(),
                    did: DID.into(),
                    route: Some("main".into()),
                    vip: false,
                    language: None,
                },
            )
            .at(
                0,
                EventKind::Step {
                    kind: StepKind::Route,
                    name: "main".into(),
                    result: "caller matched".into(),
                },
            );
            call
        }

        /// From extension 201 out to `number`.
        fn outbound(id: &str, number: &str, start: i64) -> Call {
            let mut call = Call::new(id, Direction::Outbound, "201", number, start);
            call.at(
                0,
                EventKind::Routed {
                    dialled: number.into(),
                    normalized: number.into(),
                    class: DestinationClass::Mobile,
                    route: Some("default".into()),
                    caller_id: Some(DID.into()),
                },
            );
            call
        }

        fn at(&mut self, ms: i64, kind: EventKind) -> &mut Call {
            self.events.push(CallEvent {
                call: self.id.clone(),
                at_ms: self.start + ms,
                kind,
            });
            self
        }

        fn waits_in(&mut self, ms: i64, queue: &str) -> &mut Call {
            self.at(
                ms,
                EventKind::Stage {
                    stage: Stage::Queue,
                },
            )
            .at(
                ms,
                EventKind::QueueJoined {
                    queue: queue.into(),
                    position: 1,
                },
            )
        }

        fn answered(&mut self, ms: i64) -> &mut Call {
            self.at(
                ms,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target: "202".into(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            )
            .at(ms, EventKind::Answered { leg: LegId(1) })
        }

        fn ends(&mut self, ms: i64, reason: EndReason) -> CallRecord {
            self.at(
                ms,
                EventKind::Ended {
                    reason,
                    hangup_by: HangupSide::Caller,
                    status: None,
                },
            );
            record_of(self.events.clone())
        }
    }

    /// A caller who gives up after waiting 40 s in queue `support`.
    fn abandoned(id: &str, caller: &str, start: i64) -> CallRecord {
        Call::inbound(id, caller, start)
            .waits_in(0, "support")
            .ends(40 * SEC, EndReason::Hangup)
    }

    fn answered_inbound(id: &str, caller: &str, start: i64) -> CallRecord {
        Call::inbound(id, caller, start)
            .answered(5 * SEC)
            .ends(MIN, EndReason::Hangup)
    }

    fn answered_outbound(id: &str, number: &str, start: i64) -> CallRecord {
        Call::outbound(id, number, start)
            .answered(10 * SEC)
            .ends(2 * MIN, EndReason::Hangup)
    }

    #[test]
    fn an_abandoned_caller_is_missed_with_the_did_and_the_queue() {
        let record = abandoned("c1", CUSTOMER, NINE);
        assert_eq!(
            trigger(&record),
            Some(CallbackTrigger::Missed(Miss {
                number: CUSTOMER.into(),
                call: CallId("c1".into()),
                at_ms: NINE + 40 * SEC,
                did: Some(DID.into()),
                queue: Some("support".into()),
                disposition: Disposition::Abandoned,
            }))
        );
    }

    #[test]
    fn every_unanswered_disposition_but_denied_misses_the_caller() {
        let ended = |reason: EndReason| {
            let mut call = Call::inbound("c1", CUSTOMER, NINE);
            call.at(
                0,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target: "202".into(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            );
            call.at(
                0,
                EventKind::Stage {
                    stage: Stage::Ringing,
                },
            );
            call.ends(20 * SEC, reason)
        };
        let cases = [
            (EndReason::RingTimeout, Disposition::NoAnswer),
            (EndReason::TargetsFailed { status: 486 }, Disposition::Busy),
            (
                EndReason::TargetsFailed { status: 603 },
                Disposition::Rejected,
            ),
            (EndReason::CallerGaveUp, Disposition::Cancelled),
            (EndReason::MediaTimeout, Disposition::Failed),
            (EndReason::Interrupted, Disposition::Failed),
        ];
        for (reason, disposition) in cases {
            let record = ended(reason.clone());
            assert_eq!(record.disposition, disposition, "{reason:?}");
            assert!(
                matches!(trigger(&record), Some(CallbackTrigger::Missed(_))),
                "{disposition} after {reason:?} misses the caller"
            );
        }
        let mut voicemail = ended(EndReason::RingTimeout);
        voicemail.disposition = Disposition::Voicemail;
        assert!(matches!(
            trigger(&voicemail),
            Some(CallbackTrigger::Missed(_))
        ));
        // A caller who took "press 1 to be called back" is missed too.
        let mut call = Call::inbound("c2", CUSTOMER, NINE);
        call.waits_in(0, "support").at(
            90 * SEC,
            EventKind::QueueLeft {
                queue: "support".into(),
                outcome: QueueOutcome::Callback,
                agent: None,
            },
        );
        let took_callback = call.ends(90 * SEC, EndReason::CallerGaveUp);
        assert!(matches!(
            trigger(&took_callback),
            Some(CallbackTrigger::Missed(Miss { queue: Some(q), .. })) if q == "support"
        ));
    }

    #[test]
    fn a_denied_caller_and_a_call_no_route_took_open_nothing() {
        let mut blocked = Call::new("c1", Direction::Inbound, CUSTOMER, DID, NINE);
        blocked
            .at(
                0,
                EventKind::Inbound {
                    trunk: "carrier-a".into(),
                    did: DID.into(),
                    route: None,
                    vip: false,
                    language: None,
                },
            )
            .at(
                0,
                EventKind::Step {
                    kind: StepKind::Blocklist,
                    name: "blocklist".into(),
                    result: "caller blocked".into(),
                },
            );
        let blocked = blocked.ends(
            0,
            EndReason::Denied {
                reason: "caller is on the blocklist".into(),
            },
        );
        assert_eq!(blocked.disposition, Disposition::Denied);
        assert_eq!(trigger(&blocked), None);

        let mut unrouted = Call::new("c2", Direction::Inbound, CUSTOMER, DID, NINE);
        unrouted
            .at(
                0,
                EventKind::Inbound {
                    trunk: "carrier-a".into(),
                    did: "+442079469999".into(),
                    route: None,
                    vip: false,
                    language: None,
                },
            )
            .at(
                0,
                EventKind::Step {
                    kind: StepKind::Route,
                    name: "+442079469999".into(),
                    result: "no route".into(),
                },
            );
        let unrouted = unrouted.ends(0, EndReason::NoRoute);
        assert_eq!(unrouted.disposition, Disposition::Failed);
        assert_eq!(trigger(&unrouted), None);
    }

    #[test]
    fn a_withheld_or_unreadable_caller_cannot_be_called_back() {
        for caller in ["anonymous", "", "unknown", "+", "alice", "+44 7700 900123"] {
            assert_eq!(
                trigger(&abandoned("c1", caller, NINE)),
                None,
                "caller {caller:?}"
            );
        }
        assert!(callable("07700900123"));
        assert!(callable(CUSTOMER));
        assert!(!callable("anonymous"));
    }

    #[test]
    fn internal_calls_neither_open_nor_complete_tasks() {
        let missed = Call::new("c1", Direction::Internal, "201", "202", NINE)
            .ends(10 * SEC, EndReason::RingTimeout);
        assert_eq!(trigger(&missed), None);
        let answered = Call::new("c2", Direction::Internal, "201", "202", NINE)
            .answered(SEC)
            .ends(MIN, EndReason::Hangup);
        assert_eq!(trigger(&answered), None);
    }

    #[test]
    fn answered_calls_reach_the_caller_inbound_and_the_callee_outbound() {
        assert_eq!(
            trigger(&answered_inbound("c1", CUSTOMER, NINE)),
            Some(CallbackTrigger::Reached(Reach {
                number: CUSTOMER.into(),
                call: CallId("c1".into()),
                at_ms: NINE + 5 * SEC,
                direction: Direction::Inbound,
            }))
        );
        assert_eq!(
            trigger(&answered_outbound("c2", CUSTOMER, NINE)),
            Some(CallbackTrigger::Reached(Reach {
                number: CUSTOMER.into(),
                call: CallId("c2".into()),
                at_ms: NINE + 10 * SEC,
                direction: Direction::Outbound,
            }))
        );
        // An unanswered callback reaches nobody.
        let unanswered =
            Call::outbound("c3", CUSTOMER, NINE).ends(30 * SEC, EndReason::RingTimeout);
        assert_eq!(trigger(&unanswered), None);
    }

    /// The open tasks by number, each with its misses; and the completed ones.
    #[derive(Default)]
    struct Tasks {
        open: BTreeMap<String, (i64, Vec<CallId>)>,
        completed: Vec<(String, Vec<CallId>, CallId, i64)>,
    }

    impl Tasks {
        /// Applies the rules to `record` as the store does.
        fn finish(&mut self, record: &CallRecord, opening: bool) -> TaskChange {
            let Some(trigger) = trigger(record) else {
                return TaskChange::Nothing;
            };
            let open = self.open.get(trigger.number()).map(|(first, _)| OpenTask {
                first_miss_at_ms: *first,
            });
            let change = decide(trigger, open, opening);
            match &change {
                TaskChange::Open(miss) => {
                    self.open
                        .insert(miss.number.clone(), (miss.at_ms, vec![miss.call.clone()]));
                }
                TaskChange::AddMiss(miss) => {
                    let task = self.open.get_mut(&miss.number).expect("the task is open");
                    task.1.push(miss.call.clone());
                }
                TaskChange::Complete(reach) => {
                    let (_, misses) = self.open.remove(&reach.number).expect("the task is open");
                    self.completed.push((
                        reach.number.clone(),
                        misses,
                        reach.call.clone(),
                        reach.at_ms,
                    ));
                }
                TaskChange::Nothing => {}
            }
            change
        }
    }

    fn ids(calls: &[&str]) -> Vec<CallId> {
        calls.iter().map(|c| CallId((*c).into())).collect()
    }

    #[test]
    fn a_second_miss_from_the_same_number_adds_to_its_open_task() {
        let mut tasks = Tasks::default();
        assert!(matches!(
            tasks.finish(&abandoned("m1", CUSTOMER, NINE), true),
            TaskChange::Open(_)
        ));
        assert!(matches!(
            tasks.finish(&abandoned("m2", CUSTOMER, NINE + 10 * MIN), true),
            TaskChange::AddMiss(_)
        ));
        // Another number has its own task.
        assert!(matches!(
            tasks.finish(&abandoned("m3", "+447700900456", NINE + 11 * MIN), true),
            TaskChange::Open(_)
        ));
        assert_eq!(tasks.open.len(), 2);
        assert_eq!(tasks.open[CUSTOMER], (NINE + 40 * SEC, ids(&["m1", "m2"])));
    }

    #[test]
    fn a_later_inbound_call_answered_completes_the_task() {
        let mut tasks = Tasks::default();
        tasks.finish(&abandoned("m1", CUSTOMER, NINE), true);
        let change = tasks.finish(&answered_inbound("c2", CUSTOMER, NINE + HOUR_MS), true);
        assert!(matches!(
            change,
            TaskChange::Complete(Reach {
                direction: Direction::Inbound,
                ..
            })
        ));
        assert_eq!(
            tasks.completed,
            [(
                CUSTOMER.to_owned(),
                ids(&["m1"]),
                CallId("c2".into()),
                NINE + HOUR_MS + 5 * SEC
            )]
        );
        // A new miss after completion opens a new task.
        assert!(matches!(
            tasks.finish(&abandoned("m3", CUSTOMER, NINE + 2 * HOUR_MS), true),
            TaskChange::Open(_)
        ));
    }

    #[test]
    fn an_answered_callback_out_to_the_number_completes_the_task() {
        let mut tasks = Tasks::default();
        tasks.finish(&abandoned("m1", CUSTOMER, NINE), true);
        // Unanswered callbacks and calls to other numbers change nothing.
        let unanswered =
            Call::outbound("o1", CUSTOMER, NINE + MIN).ends(30 * SEC, EndReason::RingTimeout);
        assert_eq!(tasks.finish(&unanswered, true), TaskChange::Nothing);
        assert_eq!(
            tasks.finish(
                &answered_outbound("o2", "+447700900999", NINE + 2 * MIN),
                true
            ),
            TaskChange::Nothing
        );
        let change = tasks.finish(&answered_outbound("o3", CUSTOMER, NINE + 3 * MIN), true);
        assert!(matches!(
            change,
            TaskChange::Complete(Reach {
                direction: Direction::Outbound,
                ..
            })
        ));
        assert!(tasks.open.is_empty());
        assert_eq!(tasks.completed[0].2, CallId("o3".into()));
    }

    #[test]
    fn a_call_answered_before_the_miss_does_not_complete_the_task() {
        // A long call answered at 09:00:05 and a second attempt missed at 09:01 that ends
        // first: the answer came before the miss.
        let mut tasks = Tasks::default();
        tasks.finish(&abandoned("m1", CUSTOMER, NINE + 20 * SEC), true);
        let long = Call::inbound("c1", CUSTOMER, NINE)
            .answered(5 * SEC)
            .ends(30 * MIN, EndReason::Hangup);
        assert_eq!(tasks.finish(&long, true), TaskChange::Nothing);
        assert_eq!(tasks.open.len(), 1);
    }

    #[test]
    fn with_opening_off_misses_open_nothing_but_open_tasks_go_on() {
        let mut tasks = Tasks::default();
        assert_eq!(
            tasks.finish(&abandoned("m1", CUSTOMER, NINE), false),
            TaskChange::Nothing
        );
        tasks.finish(&abandoned("m2", CUSTOMER, NINE), true);
        assert!(matches!(
            tasks.finish(&abandoned("m3", CUSTOMER, NINE + MIN), false),
            TaskChange::AddMiss(_)
        ));
        assert!(matches!(
            tasks.finish(&answered_inbound("c4", CUSTOMER, NINE + 2 * MIN), false),
            TaskChange::Complete(_)
        ));
    }

    #[test]
    fn unanswered_attempts_are_retried_on_schedule_then_by_hand_then_given_up() {
        let schedule = RetrySchedule {
            waits_secs: vec![300, 1_800],
            max_attempts: 4,
        };
        assert_eq!(
            schedule.after_unanswered(1, NINE),
            NextAttempt::At(NINE + 300 * SEC)
        );
        assert_eq!(
            schedule.after_unanswered(2, NINE),
            NextAttempt::At(NINE + 1_800 * SEC)
        );
        assert_eq!(schedule.after_unanswered(3, NINE), NextAttempt::ByHand);
        assert_eq!(schedule.after_unanswered(4, NINE), NextAttempt::GiveUp);
        assert_eq!(schedule.after_unanswered(9, NINE), NextAttempt::GiveUp);
        let by_hand = RetrySchedule {
            waits_secs: vec![],
            max_attempts: 3,
        };
        assert_eq!(by_hand.after_unanswered(1, NINE), NextAttempt::ByHand);
        assert_eq!(by_hand.after_unanswered(0, NINE), NextAttempt::ByHand);
    }

    #[test]
    fn task_state_names_parse_back() {
        for state in TaskState::ALL {
            assert_eq!(TaskState::parse(state.as_str()), Some(state));
        }
        assert_eq!(TaskState::parse("done"), None);
    }
}
