//! One record per call: the [`CallRecord`] a call's events fold into, the [`Disposition`]
//! rule of DESIGN.md §1, and the [`Recorder`] that does the folding for many calls at once.
//!
//! The recorder is sans-IO: feed it events in the order the switch emitted them
//! ([`Recorder::record`]); it says when a call starts, when it is first answered and, on its
//! `Ended` event, hands back the finished record. It never reads a clock — every time comes
//! from the events.
//!
//! # Timings
//!
//! Timings are whole seconds, each rounded to the nearest second (half up) from the
//! millisecond difference of its two events, so a call answered for 2.4 s has `talk_secs = 2`
//! and one answered for 0.4 s has `talk_secs = 0` (and is still `answered`: short calls are a
//! report filter, not a disposition). The exact millisecond times stay on the record
//! (`started_at_ms`, `answered_at_ms`, `ended_at_ms`, each leg's times, the timeline).
//! A difference that would be negative (events out of clock order) counts as 0.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::event::{
    CallEvent, CallId, Direction, EndReason, EventKind, HangupSide, LegId, LegRole, Party,
    QueueOutcome, Stage, StepKind,
};
use crate::tariff::{DestinationClass, Money, Rate};

/// DESIGN.md §1 "Disposition": exactly one per call, decided when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Disposition {
    /// A person (extension, agent or external party) answered.
    Answered,
    /// The call ended in voicemail.
    Voicemail,
    /// Targets rang until the ring timeout (or were unavailable: 480/408); nobody answered.
    NoAnswer,
    /// Every target was busy (486/600) or had reached its call limit.
    Busy,
    /// The callee declined (603).
    Rejected,
    /// The caller hung up while a person's phone was ringing, before any answer.
    Cancelled,
    /// The caller hung up while in an IVR menu or waiting in a queue.
    Abandoned,
    /// No route, every trunk failed, or a network/protocol error.
    Failed,
    /// Blocked by policy (class of service, time rule, fraud cap, blocklist, call limit).
    Denied,
}

impl Disposition {
    /// Every disposition, in the order of DESIGN.md §1.
    pub const ALL: [Disposition; 9] = [
        Disposition::Answered,
        Disposition::Voicemail,
        Disposition::NoAnswer,
        Disposition::Busy,
        Disposition::Rejected,
        Disposition::Cancelled,
        Disposition::Abandoned,
        Disposition::Failed,
        Disposition::Denied,
    ];

    /// The name DESIGN.md §1 gives it (`answered`, `no_answer`, ...), as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "answered",
            Disposition::Voicemail => "voicemail",
            Disposition::NoAnswer => "no_answer",
            Disposition::Busy => "busy",
            Disposition::Rejected => "rejected",
            Disposition::Cancelled => "cancelled",
            Disposition::Abandoned => "abandoned",
            Disposition::Failed => "failed",
            Disposition::Denied => "denied",
        }
    }

    /// The disposition named by its [`Disposition::as_str`] text.
    pub fn parse(text: &str) -> Option<Disposition> {
        Disposition::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// DESIGN.md §1 "Timings", in whole seconds (see the module documentation for rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timings {
    /// `started_at` → answered (IVR and queue time included); `None` for unanswered calls.
    pub wait_secs: Option<u32>,
    /// First `Ringing` of any callee leg → answer (or the end, if never answered); 0 if no
    /// callee leg rang.
    pub ring_secs: u32,
    /// Answered → end; 0 for unanswered calls. Hold time is part of it.
    pub talk_secs: u32,
    /// Time the call was on hold: while at least one party held it (a hold still open at
    /// the end is closed there).
    pub hold_secs: u32,
    /// Time spent waiting in queues (0 until queues exist).
    pub queue_wait_secs: u32,
}

/// One leg of a call as it went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LegRecord {
    pub leg: LegId,
    pub role: LegRole,
    /// Extension number (or address) the leg reached; the caller's number for leg 0.
    pub target: String,
    /// The contact URI a callee leg was sent to.
    pub contact: Option<String>,
    /// The trunk a leg toward a carrier went through.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub trunk: Option<String>,
    /// The trunk's rate for the number dialled on this leg.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub rate: Option<Rate>,
    pub created_at_ms: i64,
    /// First 180/183 on this leg.
    pub ringing_at_ms: Option<i64>,
    pub answered_at_ms: Option<i64>,
    /// When the leg failed, or (for legs still up) when the call ended.
    pub ended_at_ms: Option<i64>,
    /// The leg's final SIP status: 200 for a leg that answered, the failure status of a leg
    /// that failed (487 when crossbar cancelled it); for the caller's leg, 200 if the call was
    /// answered, else the status the caller got. `None` when unknown.
    pub final_status: Option<u16>,
}

/// One call, as the caller experienced it (DESIGN.md §1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CallRecord {
    pub id: CallId,
    /// The caller's SIP Call-ID, for finding the call in traces.
    pub sip_call_id: String,
    pub direction: Direction,
    pub caller: Party,
    /// The number dialled.
    pub callee: Party,
    pub started_at_ms: i64,
    /// When the call was first answered.
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: i64,
    pub disposition: Disposition,
    /// What the disposition alone does not say: the policy reason of a `denied` call, why a
    /// call `failed` (`no route`, `media timeout`, `SIP 503`, an error's detail, `interrupted`),
    /// `ring timeout` for a `no_answer` that timed out. `None` when there is nothing to add.
    pub disposition_detail: Option<String>,
    /// The final SIP status the caller got when the call was not answered.
    pub sip_status: Option<u16>,
    /// Who ended an answered call, or who gave up on an unanswered one.
    pub hangup_by: HangupSide,
    /// The extension (leg target) that answered.
    pub answered_by: Option<String>,
    pub timings: Timings,
    /// crossbar stopped (or was killed) while the call was up: the end time is the last time
    /// crossbar knew the call to be up, and the disposition is what was known by then.
    pub interrupted: bool,
    /// How an outbound call was routed, delivered and charged; `None` for calls that never
    /// reached the outbound routes.
    pub outbound: Option<Outbound>,
    /// Where an inbound call came in; `None` for calls not from a trunk.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub inbound: Option<Inbound>,
    /// The route path: time conditions, menus and keys, groups, escalations, in order.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub path: Vec<PathStep>,
    /// Where the caller was when they hung up on an `abandoned` call (`ivr`, `queue`).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub abandoned_stage: Option<Stage>,
    /// Each queue the caller entered (or was turned away from), in order: an overflow from one
    /// queue to another makes two.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub queues: Vec<QueueVisit>,
    /// The callback task a call crossbar originated works (from its `Callback` event); `None`
    /// for every other call, and for a queue's virtual hold callback (see
    /// [`EventKind::Callback`]).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub callback_task: Option<i64>,
    /// Every leg, in the order they were created (the caller's leg first).
    pub legs: Vec<LegRecord>,
    /// Every event of the call, in the order received.
    pub timeline: Vec<CallEvent>,
}

/// The inbound part of a call record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Inbound {
    pub trunk: String,
    /// The number called, E.164.
    pub did: String,
    /// The `[[inbound_route]]` that took it; `None` when none did.
    pub route: Option<String>,
    pub vip: bool,
    pub language: Option<String>,
}

/// A caller's time in one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QueueVisit {
    pub queue: String,
    /// When the caller joined, or was turned away.
    pub joined_at_ms: i64,
    /// The position on entry (1: next to be served); `None` when turned away (`full`, `empty`).
    pub position: Option<u32>,
    /// Joined → left (the end of the call if it ended in the queue).
    pub wait_ms: i64,
    /// The agents offered the caller, in order, one entry per offer.
    pub offered: Vec<String>,
    /// How the caller left; `abandoned` also when the call ended in the queue for another
    /// reason (crossbar stopped: the record says `interrupted`).
    pub outcome: QueueOutcome,
    /// The agent who answered.
    pub agent: Option<String>,
}

/// One step of a call's route path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PathStep {
    pub at_ms: i64,
    pub kind: StepKind,
    pub name: String,
    pub result: String,
}

/// The outbound part of a call record (issue: outgoing calls).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Outbound {
    /// The number as the user dialled it.
    pub dialled: String,
    /// The number in E.164 (`+441632960001`), or as dialled for emergency short codes.
    pub normalized: String,
    pub class: DestinationClass,
    /// The outbound route that matched.
    pub route: Option<String>,
    /// The caller ID presented; `None` when withheld.
    pub caller_id: Option<String>,
    /// The trunk of the leg that answered, else of the last trunk tried.
    pub trunk: Option<String>,
    /// Trunk legs tried (each failover adds one).
    pub attempts: u32,
    /// Post-dial delay: the first trunk leg's INVITE → the first 180/183 on any trunk leg.
    pub pdd_ms: Option<i64>,
    /// From the rate of the trunk actually used, with its increments and connection fee;
    /// zero when the call was not answered.
    pub cost: Money,
}

impl Outbound {
    /// Failovers: trunk attempts after the first.
    pub fn failovers(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

/// What [`Recorder::record`] learned from one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecorderOutput {
    /// A call began (its first event).
    Started {
        call: CallId,
        started_at_ms: i64,
        direction: Direction,
        caller: Party,
        callee: Party,
        sip_call_id: String,
    },
    /// The call was answered — reported once, at its first answer — with what it takes to
    /// finish its record should crossbar stop before the call ends (talk time and cost up to
    /// the stop).
    Answered {
        call: CallId,
        answered_at_ms: i64,
        /// The target of the leg that answered (an extension number).
        answered_by: Option<String>,
        /// The trunk of the leg that answered, when it went through one.
        trunk: Option<String>,
        /// That leg's rate: what the call costs once its talk time is known.
        rate: Option<Rate>,
        /// The outbound part of the record as known at the answer (routing, trunk, attempts,
        /// post-dial delay); its `cost` is zero, since it depends on when the call ends.
        outbound: Option<Outbound>,
    },
    /// The call was placed for callback task `task` (its [`EventKind::Callback`]): the task
    /// its record counts an attempt on, even should crossbar stop before it ends.
    Callback { call: CallId, task: i64 },
    /// The call ended: its record. The recorder has forgotten the call.
    Finished(Box<CallRecord>),
}

/// Folds the events of every running call into one [`CallRecord`] each.
#[derive(Debug, Default)]
pub struct Recorder {
    calls: HashMap<CallId, CallState>,
    ignored: u64,
}

impl Recorder {
    /// Feeds one event. Events of a call the recorder does not know (no `Started`, or already
    /// ended) and a second `Started` for a running call are ignored (counted in
    /// [`Recorder::ignored`]).
    pub fn record(&mut self, event: CallEvent) -> Option<RecorderOutput> {
        if let EventKind::Started {
            direction,
            caller,
            callee,
            sip_call_id,
        } = &event.kind
        {
            if self.calls.contains_key(&event.call) {
                self.ignored += 1;
                return None;
            }
            let output = RecorderOutput::Started {
                call: event.call.clone(),
                started_at_ms: event.at_ms,
                direction: *direction,
                caller: caller.clone(),
                callee: callee.clone(),
                sip_call_id: sip_call_id.clone(),
            };
            let state = CallState {
                sip_call_id: sip_call_id.clone(),
                direction: *direction,
                caller: caller.clone(),
                callee: callee.clone(),
                started_at_ms: event.at_ms,
                answered: None,
                first_ring_ms: None,
                holding: BTreeSet::new(),
                hold_since_ms: None,
                hold_ms: 0,
                legs: Vec::new(),
                routed: None,
                inbound: None,
                path: Vec::new(),
                queues: Vec::new(),
                stage: None,
                callback_task: None,
                timeline: vec![event.clone()],
            };
            self.calls.insert(event.call, state);
            return Some(output);
        }
        let Some(state) = self.calls.get_mut(&event.call) else {
            self.ignored += 1;
            return None;
        };
        let at = event.at_ms;
        let output = match &event.kind {
            EventKind::Started { .. } => unreachable!("Started was handled above"),
            EventKind::Inbound {
                trunk,
                did,
                route,
                vip,
                language,
            } => {
                state.inbound = Some(Inbound {
                    trunk: trunk.clone(),
                    did: did.clone(),
                    route: route.clone(),
                    vip: *vip,
                    language: language.clone(),
                });
                None
            }
            EventKind::Step { kind, name, result } => {
                state.path.push(PathStep {
                    at_ms: at,
                    kind: *kind,
                    name: name.clone(),
                    result: result.clone(),
                });
                None
            }
            EventKind::Stage { stage } => {
                state.stage = Some(*stage);
                None
            }
            EventKind::Callback { task, .. } => {
                state.callback_task = *task;
                task.map(|task| RecorderOutput::Callback {
                    call: event.call.clone(),
                    task,
                })
            }
            EventKind::QueueJoined { queue, position } => {
                state.queues.push(OpenVisit {
                    visit: QueueVisit {
                        queue: queue.clone(),
                        joined_at_ms: at,
                        position: Some(*position),
                        wait_ms: 0,
                        offered: Vec::new(),
                        outcome: QueueOutcome::Abandoned,
                        agent: None,
                    },
                    left: false,
                });
                None
            }
            EventKind::QueueOffered { queue, agent } => {
                if let Some(open) = state.open_visit(queue) {
                    open.visit.offered.push(agent.clone());
                }
                None
            }
            EventKind::QueueLeft {
                queue,
                outcome,
                agent,
            } => {
                match state.open_visit(queue) {
                    Some(open) => {
                        open.visit.wait_ms = (at - open.visit.joined_at_ms).max(0);
                        open.visit.outcome = *outcome;
                        open.visit.agent.clone_from(agent);
                        open.left = true;
                    }
                    // Turned away at the door: a visit of no time.
                    None => state.queues.push(OpenVisit {
                        visit: QueueVisit {
                            queue: queue.clone(),
                            joined_at_ms: at,
                            position: None,
                            wait_ms: 0,
                            offered: Vec::new(),
                            outcome: *outcome,
                            agent: agent.clone(),
                        },
                        left: true,
                    }),
                }
                None
            }
            EventKind::Routed {
                dialled,
                normalized,
                class,
                route,
                caller_id,
            } => {
                state.routed = Some(Routed {
                    dialled: dialled.clone(),
                    normalized: normalized.clone(),
                    class: *class,
                    route: route.clone(),
                    caller_id: caller_id.clone(),
                });
                None
            }
            EventKind::LegCreated {
                leg,
                role,
                target,
                contact,
                trunk,
                rate,
            } => {
                let record = state.leg(*leg, at);
                record.role = *role;
                record.target.clone_from(target);
                record.contact.clone_from(contact);
                record.trunk.clone_from(trunk);
                record.rate = *rate;
                None
            }
            EventKind::Ringing { leg, .. } => {
                let record = state.leg(*leg, at);
                record.ringing_at_ms.get_or_insert(at);
                if record.role == LegRole::Callee {
                    state.first_ring_ms.get_or_insert(at);
                }
                None
            }
            EventKind::Answered { leg } => {
                let record = state.leg(*leg, at);
                record.answered_at_ms.get_or_insert(at);
                record.final_status = Some(200);
                // The agent of an originated call picking up (a caller leg) is not the
                // call's answer: its callee's is.
                let callee = record.role == LegRole::Callee;
                let target = record.target.clone();
                let (trunk, rate) = (record.trunk.clone(), record.rate);
                if callee && state.answered.is_none() {
                    state.answered = Some((at, *leg));
                    Some(RecorderOutput::Answered {
                        call: event.call.clone(),
                        answered_at_ms: at,
                        answered_by: (!target.is_empty()).then_some(target),
                        trunk,
                        rate,
                        outbound: state.outbound(None),
                    })
                } else {
                    None
                }
            }
            EventKind::LegFailed { leg, status } => {
                let record = state.leg(*leg, at);
                record.final_status = Some(*status);
                record.ended_at_ms.get_or_insert(at);
                None
            }
            EventKind::Hold { leg } => {
                if state.holding.insert(*leg) && state.holding.len() == 1 {
                    state.hold_since_ms = Some(at);
                }
                None
            }
            EventKind::Resume { leg } => {
                if state.holding.remove(leg)
                    && state.holding.is_empty()
                    && let Some(since) = state.hold_since_ms.take()
                {
                    state.hold_ms += (at - since).max(0);
                }
                None
            }
            EventKind::Ended { .. } => None,
        };
        let ended = matches!(event.kind, EventKind::Ended { .. });
        state.timeline.push(event);
        if ended {
            let call = state_key(&state.timeline);
            let (call, state) = self
                .calls
                .remove_entry(&call)
                .expect("the call being recorded is in the map: it was looked up just above");
            return Some(RecorderOutput::Finished(Box::new(state.finish(call))));
        }
        output
    }

    /// How many calls have started and not yet ended.
    pub fn in_progress(&self) -> usize {
        self.calls.len()
    }

    /// How many events were ignored: for calls never started or already ended, or a repeated
    /// `Started`.
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// Ends every call still in progress as `Interrupted` by the system at `at_ms` (crossbar
    /// is stopping and nothing will end them otherwise), returning their records ordered by
    /// call id. The recorder is empty afterwards.
    pub fn interrupt_all(&mut self, at_ms: i64) -> Vec<CallRecord> {
        let mut calls: Vec<CallId> = self.calls.keys().cloned().collect();
        calls.sort();
        calls
            .into_iter()
            .filter_map(|call| {
                let ended = CallEvent {
                    call,
                    at_ms,
                    kind: EventKind::Ended {
                        reason: EndReason::Interrupted,
                        hangup_by: HangupSide::System,
                        status: None,
                    },
                };
                match self.record(ended) {
                    Some(RecorderOutput::Finished(record)) => Some(*record),
                    _ => None,
                }
            })
            .collect()
    }
}

/// The call id of a timeline (every event of a timeline has the same one).
fn state_key(timeline: &[CallEvent]) -> CallId {
    timeline
        .first()
        .map(|e| e.call.clone())
        .expect("a call's timeline starts with its Started event")
}

/// A running call, as known so far.
#[derive(Debug)]
struct CallState {
    sip_call_id: String,
    direction: Direction,
    caller: Party,
    callee: Party,
    started_at_ms: i64,
    /// First answer: when, and on which leg.
    answered: Option<(i64, LegId)>,
    first_ring_ms: Option<i64>,
    /// Legs currently holding the call.
    holding: BTreeSet<LegId>,
    /// When `holding` last became non-empty.
    hold_since_ms: Option<i64>,
    /// Closed hold intervals so far.
    hold_ms: i64,
    legs: Vec<LegRecord>,
    /// The `Routed` event of an outbound call.
    routed: Option<Routed>,
    inbound: Option<Inbound>,
    path: Vec<PathStep>,
    queues: Vec<OpenVisit>,
    /// Where the caller waits now.
    stage: Option<Stage>,
    callback_task: Option<i64>,
    timeline: Vec<CallEvent>,
}

/// A queue visit while the call runs: `left_at_ms` and `outcome` are set when it ends.
#[derive(Debug)]
struct OpenVisit {
    visit: QueueVisit,
    left: bool,
}

/// What a `Routed` event said.
#[derive(Debug)]
struct Routed {
    dialled: String,
    normalized: String,
    class: DestinationClass,
    route: Option<String>,
    caller_id: Option<String>,
}

impl CallState {
    /// The visit to `queue` the caller is still in.
    fn open_visit(&mut self, queue: &str) -> Option<&mut OpenVisit> {
        self.queues
            .iter_mut()
            .rev()
            .find(|open| !open.left && open.visit.queue == queue)
    }

    /// The leg `id`, created on first mention (a leg the switch did not announce with
    /// `LegCreated` is still recorded: leg 0 as the caller's, others as callee legs).
    fn leg(&mut self, id: LegId, at: i64) -> &mut LegRecord {
        let index = match self.legs.iter().position(|l| l.leg == id) {
            Some(index) => index,
            None => {
                let (role, target) = if id.0 == 0 {
                    (LegRole::Caller, self.caller.number.clone())
                } else {
                    (LegRole::Callee, String::new())
                };
                self.legs.push(LegRecord {
                    leg: id,
                    role,
                    target,
                    contact: None,
                    trunk: None,
                    rate: None,
                    created_at_ms: at,
                    ringing_at_ms: None,
                    answered_at_ms: None,
                    ended_at_ms: None,
                    final_status: None,
                });
                self.legs.len() - 1
            }
        };
        &mut self.legs[index]
    }

    /// The outbound part of the record, for a call that was routed out: costed if the call
    /// ended at `ended_at_ms`, zero-cost while it is still up (`None`).
    fn outbound(&self, ended_at_ms: Option<i64>) -> Option<Outbound> {
        let routed = self.routed.as_ref()?;
        let trunk_legs: Vec<&LegRecord> = self.legs.iter().filter(|l| l.trunk.is_some()).collect();
        let answered_leg = self
            .answered
            .and_then(|(_, id)| trunk_legs.iter().find(|l| l.leg == id).copied());
        let used = answered_leg.or(trunk_legs.last().copied());
        let first_invite = trunk_legs.first().map(|l| l.created_at_ms);
        let first_ring = trunk_legs.iter().filter_map(|l| l.ringing_at_ms).min();
        let talk_ms = answered_leg
            .and(self.answered)
            .zip(ended_at_ms)
            .map(|((at, _), ended)| u64::try_from(ended - at).unwrap_or(0));
        Some(Outbound {
            dialled: routed.dialled.clone(),
            normalized: routed.normalized.clone(),
            class: routed.class,
            route: routed.route.clone(),
            caller_id: routed.caller_id.clone(),
            trunk: used.and_then(|l| l.trunk.clone()),
            attempts: u32::try_from(trunk_legs.len()).unwrap_or(u32::MAX),
            pdd_ms: first_invite
                .zip(first_ring)
                .map(|(sent, rang)| (rang - sent).max(0)),
            cost: match (answered_leg.and_then(|l| l.rate), talk_ms) {
                (Some(rate), Some(talk_ms)) => rate.cost(Some(talk_ms)),
                _ => Money::ZERO,
            },
        })
    }

    /// The record of the call, whose last timeline event is its `Ended`.
    fn finish(mut self, id: CallId) -> CallRecord {
        let Some(CallEvent {
            at_ms: ended_at_ms,
            kind:
                EventKind::Ended {
                    reason,
                    hangup_by,
                    status,
                },
            ..
        }) = self.timeline.last().cloned()
        else {
            unreachable!("finish is only called once the Ended event is in the timeline")
        };
        if let Some(since) = self.hold_since_ms.take() {
            self.hold_ms += (ended_at_ms - since).max(0);
        }
        let answered_at_ms = self.answered.map(|(at, _)| at);
        let answered_by = self.answered.and_then(|(_, leg)| {
            self.legs
                .iter()
                .find(|l| l.leg == leg)
                .map(|l| l.target.clone())
                .filter(|t| !t.is_empty())
        });
        let callee_statuses: Vec<Option<u16>> = self
            .legs
            .iter()
            .filter(|l| l.role == LegRole::Callee)
            .map(|l| l.final_status)
            .collect();
        let outcome = decide(
            answered_at_ms.is_some(),
            &reason,
            hangup_by,
            status,
            &callee_statuses,
            self.stage,
        );
        let abandoned_stage = (outcome.disposition == Disposition::Abandoned)
            .then_some(self.stage)
            .flatten();
        for leg in &mut self.legs {
            leg.ended_at_ms.get_or_insert(ended_at_ms);
            if leg.role == LegRole::Caller && leg.final_status.is_none() {
                leg.final_status = if answered_at_ms.is_some() {
                    Some(200)
                } else {
                    outcome.sip_status
                };
            }
        }
        // A visit still open at the end ended there: the caller hung up waiting (abandoned,
        // the outcome it was opened with) or crossbar stopped.
        let queues: Vec<QueueVisit> = std::mem::take(&mut self.queues)
            .into_iter()
            .map(|mut open| {
                if !open.left {
                    open.visit.wait_ms = (ended_at_ms - open.visit.joined_at_ms).max(0);
                }
                open.visit
            })
            .collect();
        let queue_wait_ms: i64 = queues.iter().map(|v| v.wait_ms).sum();
        let ring_until = answered_at_ms.unwrap_or(ended_at_ms);
        let timings = Timings {
            wait_secs: answered_at_ms.map(|at| secs(at - self.started_at_ms)),
            ring_secs: self.first_ring_ms.map_or(0, |rang| secs(ring_until - rang)),
            talk_secs: answered_at_ms.map_or(0, |at| secs(ended_at_ms - at)),
            hold_secs: secs(self.hold_ms),
            queue_wait_secs: secs(queue_wait_ms),
        };
        let outbound = self.outbound(Some(ended_at_ms));
        CallRecord {
            id,
            sip_call_id: self.sip_call_id,
            direction: self.direction,
            caller: self.caller,
            callee: self.callee,
            started_at_ms: self.started_at_ms,
            answered_at_ms,
            ended_at_ms,
            disposition: outcome.disposition,
            disposition_detail: outcome.detail,
            sip_status: outcome.sip_status,
            hangup_by,
            answered_by,
            timings,
            interrupted: reason == EndReason::Interrupted,
            outbound,
            inbound: self.inbound,
            path: self.path,
            abandoned_stage,
            queues,
            callback_task: self.callback_task,
            legs: self.legs,
            timeline: self.timeline,
        }
    }
}

/// Milliseconds to whole seconds, rounded half up; negative counts as 0.
fn secs(ms: i64) -> u32 {
    let rounded = (ms.max(0) + 500) / 1000;
    u32::try_from(rounded).unwrap_or(u32::MAX)
}

/// How a call ended, as stored on its record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    disposition: Disposition,
    detail: Option<String>,
    sip_status: Option<u16>,
}

/// DESIGN.md §1: the disposition of a call from whether it was answered, why it ended (and by
/// whom), the final status the caller got (`status`) and each callee leg's final status.
///
/// The caller giving up before an answer is `cancelled` while a person's phone rings, and
/// `abandoned` while in a menu or a queue (`stage`); `voicemail` waits for its event.
fn decide(
    answered: bool,
    reason: &EndReason,
    hangup_by: HangupSide,
    status: Option<u16>,
    callee_statuses: &[Option<u16>],
    stage: Option<Stage>,
) -> Outcome {
    let outcome = |disposition, detail: Option<&str>, sip_status| Outcome {
        disposition,
        detail: detail.map(str::to_owned),
        sip_status,
    };
    if answered {
        // A person answered: whatever happened afterwards (media timeout, an error, a
        // shutdown), the call was answered. Answered calls carry no caller status.
        return outcome(Disposition::Answered, None, None);
    }
    let is_busy = |s: u16| s == 486 || s == 600;
    let gave_up = match stage {
        Some(Stage::Ivr | Stage::Queue) => Disposition::Abandoned,
        Some(Stage::Ringing) | None => Disposition::Cancelled,
    };
    match reason {
        EndReason::CallerGaveUp => outcome(gave_up, None, status),
        // A BYE without an answer can only be the caller giving up (no callee leg had a
        // dialog to send one in); from anyone else it is a malfunction.
        EndReason::Hangup if hangup_by == HangupSide::Caller => outcome(gave_up, None, status),
        EndReason::Hangup => outcome(Disposition::Failed, Some("hangup before answer"), status),
        EndReason::TargetsFailed { status: failed } => {
            let sip_status = status.or(Some(*failed));
            let every_target_busy = !callee_statuses.is_empty()
                && callee_statuses.iter().all(|s| s.is_some_and(is_busy));
            if every_target_busy || is_busy(*failed) {
                outcome(Disposition::Busy, None, sip_status)
            } else {
                match failed {
                    603 => outcome(Disposition::Rejected, None, sip_status),
                    480 | 408 => outcome(Disposition::NoAnswer, None, sip_status),
                    other => Outcome {
                        disposition: Disposition::Failed,
                        detail: Some(format!("SIP {other}")),
                        sip_status,
                    },
                }
            }
        }
        EndReason::RingTimeout => outcome(Disposition::NoAnswer, Some("ring timeout"), status),
        EndReason::NoRoute => outcome(Disposition::Failed, Some("no route"), status.or(Some(404))),
        EndReason::Denied { reason } => Outcome {
            disposition: Disposition::Denied,
            detail: Some(reason.clone()),
            sip_status: status,
        },
        EndReason::MediaTimeout => outcome(Disposition::Failed, Some("media timeout"), status),
        EndReason::Error {
            status: error_status,
            detail,
        } => Outcome {
            disposition: Disposition::Failed,
            detail: Some(detail.clone()),
            sip_status: status.or(*error_status),
        },
        EndReason::Interrupted => outcome(Disposition::Failed, Some("interrupted"), status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_000_000_000;

    /// Builds the events of one call on a millisecond clock relative to `T0`.
    struct Script {
        call: CallId,
        events: Vec<CallEvent>,
    }

    impl Script {
        fn new(id: &str) -> Script {
            let mut script = Script {
                call: CallId(id.into()),
                events: Vec::new(),
            };
            script.at(
                0,
                EventKind::Started {
                    direction: Direction::Internal,
                    caller: Party {
                        number: "201".into(),
                        name: Some("Alice".into()),
                    },
                    callee: Party {
                        number: "202".into(),
                        name: None,
                    },
                    sip_call_id: format!("sip-{id}"),
                },
            );
            script.at(
                0,
                EventKind::LegCreated {
                    leg: LegId(0),
                    role: LegRole::Caller,
                    target: "201".into(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            );
            script
        }

        fn at(&mut self, ms: i64, kind: EventKind) -> &mut Script {
            self.events.push(CallEvent {
                call: self.call.clone(),
                at_ms: T0 + ms,
                kind,
            });
            self
        }

        fn leg(&mut self, ms: i64, leg: u32, target: &str) -> &mut Script {
            self.at(
                ms,
                EventKind::LegCreated {
                    leg: LegId(leg),
                    role: LegRole::Callee,
                    target: target.into(),
                    contact: Some(format!("sip:{target}@192.0.2.{leg}")),
                    trunk: None,
                    rate: None,
                },
            )
        }

        fn ringing(&mut self, ms: i64, leg: u32) -> &mut Script {
            self.at(
                ms,
                EventKind::Ringing {
                    leg: LegId(leg),
                    early_media: false,
                },
            )
        }

        fn answered(&mut self, ms: i64, leg: u32) -> &mut Script {
            self.at(ms, EventKind::Answered { leg: LegId(leg) })
        }

        fn failed(&mut self, ms: i64, leg: u32, status: u16) -> &mut Script {
            self.at(
                ms,
                EventKind::LegFailed {
                    leg: LegId(leg),
                    status,
                },
            )
        }

        fn ended(
            &mut self,
            ms: i64,
            reason: EndReason,
            hangup_by: HangupSide,
            status: Option<u16>,
        ) -> &mut Script {
            self.at(
                ms,
                EventKind::Ended {
                    reason,
                    hangup_by,
                    status,
                },
            )
        }

        /// What a fresh recorder reports for every event so far, in order.
        fn outputs(&self) -> Vec<RecorderOutput> {
            let mut recorder = Recorder::default();
            self.events
                .clone()
                .into_iter()
                .filter_map(|e| recorder.record(e))
                .collect()
        }

        /// Feeds every event to a fresh recorder; the last must finish the call.
        fn record(&self) -> CallRecord {
            let mut recorder = Recorder::default();
            let mut finished = None;
            for event in self.events.clone() {
                assert!(finished.is_none(), "an event after the call finished");
                if let Some(RecorderOutput::Finished(record)) = recorder.record(event) {
                    finished = Some(*record);
                }
            }
            assert_eq!(recorder.in_progress(), 0);
            assert_eq!(recorder.ignored(), 0);
            finished.expect("the script ends the call")
        }
    }

    fn unanswered(reason: EndReason, status: Option<u16>, leg_status: Option<u16>) -> CallRecord {
        let mut s = Script::new("c1");
        s.leg(10, 1, "202").ringing(100, 1);
        if let Some(leg_status) = leg_status {
            s.failed(5_000, 1, leg_status);
        }
        s.ended(5_000, reason, HangupSide::System, status);
        s.record()
    }

    #[test]
    fn an_answered_call_is_answered_with_exact_wait_ring_talk_and_answered_by() {
        let mut s = Script::new("c1");
        s.leg(20, 1, "202")
            .ringing(1_000, 1)
            .answered(6_000, 1)
            .ended(66_000, EndReason::Hangup, HangupSide::Callee, None);
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.disposition_detail, None);
        assert_eq!(r.sip_status, None);
        assert_eq!(r.answered_by.as_deref(), Some("202"));
        assert_eq!(r.hangup_by, HangupSide::Callee);
        assert_eq!(r.started_at_ms, T0);
        assert_eq!(r.answered_at_ms, Some(T0 + 6_000));
        assert_eq!(r.ended_at_ms, T0 + 66_000);
        assert_eq!(
            r.timings,
            Timings {
                wait_secs: Some(6),
                ring_secs: 5,
                talk_secs: 60,
                hold_secs: 0,
                queue_wait_secs: 0,
            }
        );
        assert!(!r.interrupted);
        assert_eq!(r.sip_call_id, "sip-c1");
        assert_eq!(r.timeline.len(), 6);
        assert_eq!(r.legs.len(), 2);
        assert_eq!(
            r.legs[1],
            LegRecord {
                leg: LegId(1),
                role: LegRole::Callee,
                target: "202".into(),
                contact: Some("sip:202@192.0.2.1".into()),
                trunk: None,
                rate: None,
                created_at_ms: T0 + 20,
                ringing_at_ms: Some(T0 + 1_000),
                answered_at_ms: Some(T0 + 6_000),
                ended_at_ms: Some(T0 + 66_000),
                final_status: Some(200),
            }
        );
        assert_eq!(r.legs[0].final_status, Some(200));
        assert_eq!(r.legs[0].ended_at_ms, Some(T0 + 66_000));
    }

    #[test]
    fn a_two_second_answered_call_is_answered_with_talk_2() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202").answered(300, 1).ended(
            2_300,
            EndReason::Hangup,
            HangupSide::Caller,
            None,
        );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.timings.talk_secs, 2);
        assert_eq!(r.timings.wait_secs, Some(0));
        assert_eq!(r.timings.ring_secs, 0, "no leg rang");
    }

    #[test]
    fn timings_round_to_the_nearest_second_half_up() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202")
            .ringing(400, 1)
            .answered(1_900, 1) // wait 1.9 → 2, ring 1.5 → 2
            .ended(3_349, EndReason::Hangup, HangupSide::Caller, None); // talk 1.449 → 1
        let t = s.record().timings;
        assert_eq!(t.wait_secs, Some(2));
        assert_eq!(t.ring_secs, 2);
        assert_eq!(t.talk_secs, 1);
    }

    #[test]
    fn hold_sums_hold_to_resume_intervals_and_closes_an_open_hold_at_the_end() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202")
            .answered(1_000, 1)
            .at(10_000, EventKind::Hold { leg: LegId(0) })
            .at(15_000, EventKind::Resume { leg: LegId(0) })
            // Both sides hold, overlapping: the call is on hold from 20 s until both resume.
            .at(20_000, EventKind::Hold { leg: LegId(1) })
            .at(22_000, EventKind::Hold { leg: LegId(0) })
            .at(25_000, EventKind::Resume { leg: LegId(1) })
            .at(27_000, EventKind::Resume { leg: LegId(0) })
            // A resume without hold changes nothing; a repeated hold does not restart it.
            .at(28_000, EventKind::Resume { leg: LegId(1) })
            .at(30_000, EventKind::Hold { leg: LegId(1) })
            .at(31_000, EventKind::Hold { leg: LegId(1) })
            .ended(33_000, EndReason::Hangup, HangupSide::Callee, None);
        let t = s.record().timings;
        assert_eq!(t.hold_secs, 5 + 7 + 3);
        assert_eq!(t.talk_secs, 32, "hold time is part of talk time");
    }

    #[test]
    fn ring_time_counts_from_the_first_ringing_leg_until_answer() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202")
            .leg(0, 2, "203")
            .ringing(2_000, 2)
            .ringing(3_000, 1)
            .answered(9_000, 1)
            .failed(9_010, 2, 487)
            .ended(10_000, EndReason::Hangup, HangupSide::Caller, None);
        let r = s.record();
        assert_eq!(r.timings.ring_secs, 7);
        assert_eq!(r.answered_by.as_deref(), Some("202"));
        assert_eq!(r.legs[2].final_status, Some(487));
        assert_eq!(r.legs[2].ended_at_ms, Some(T0 + 9_010));
    }

    #[test]
    fn caller_giving_up_while_ringing_is_cancelled_with_ring_time_to_the_end() {
        let mut s = Script::new("c1");
        s.leg(10, 1, "202")
            .ringing(1_000, 1)
            .failed(8_000, 1, 487)
            .ended(
                8_000,
                EndReason::CallerGaveUp,
                HangupSide::Caller,
                Some(487),
            );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Cancelled);
        assert_eq!(r.hangup_by, HangupSide::Caller);
        assert_eq!(r.sip_status, Some(487));
        assert_eq!(r.legs[0].final_status, Some(487));
        assert_eq!(
            r.timings,
            Timings {
                wait_secs: None,
                ring_secs: 7,
                talk_secs: 0,
                hold_secs: 0,
                queue_wait_secs: 0,
            }
        );
        assert_eq!(r.answered_at_ms, None);
        assert_eq!(r.answered_by, None);
    }

    #[test]
    fn target_failure_statuses_map_to_busy_rejected_no_answer_or_failed() {
        let cases = [
            (486, Disposition::Busy, None),
            (600, Disposition::Busy, None),
            (603, Disposition::Rejected, None),
            (480, Disposition::NoAnswer, None),
            (408, Disposition::NoAnswer, None),
            (503, Disposition::Failed, Some("SIP 503")),
            (404, Disposition::Failed, Some("SIP 404")),
        ];
        for (status, disposition, detail) in cases {
            let r = unanswered(
                EndReason::TargetsFailed { status },
                Some(status),
                Some(status),
            );
            assert_eq!(r.disposition, disposition, "status {status}");
            assert_eq!(r.disposition_detail.as_deref(), detail, "status {status}");
            assert_eq!(r.sip_status, Some(status), "status {status}");
        }
    }

    #[test]
    fn every_target_busy_is_busy_whatever_status_the_caller_got() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202")
            .leg(0, 2, "203")
            .failed(100, 1, 486)
            .failed(200, 2, 600)
            .ended(
                200,
                EndReason::TargetsFailed { status: 480 },
                HangupSide::System,
                Some(480),
            );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Busy);
        assert_eq!(r.sip_status, Some(480));
    }

    #[test]
    fn one_busy_target_among_others_is_decided_by_the_status() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202")
            .leg(0, 2, "203")
            .failed(100, 1, 486)
            .failed(200, 2, 480)
            .ended(
                200,
                EndReason::TargetsFailed { status: 480 },
                HangupSide::System,
                Some(480),
            );
        assert_eq!(s.record().disposition, Disposition::NoAnswer);
    }

    #[test]
    fn targets_failed_without_a_separate_status_keeps_the_failure_status() {
        let r = unanswered(EndReason::TargetsFailed { status: 502 }, None, Some(502));
        assert_eq!(r.disposition, Disposition::Failed);
        assert_eq!(r.sip_status, Some(502));
    }

    #[test]
    fn ring_timeout_is_no_answer() {
        let r = unanswered(EndReason::RingTimeout, Some(480), Some(487));
        assert_eq!(r.disposition, Disposition::NoAnswer);
        assert_eq!(r.disposition_detail.as_deref(), Some("ring timeout"));
        assert_eq!(r.sip_status, Some(480));
        assert_eq!(r.timings.ring_secs, 5);
        assert_eq!(r.hangup_by, HangupSide::System);
    }

    #[test]
    fn no_route_is_failed_with_404() {
        let mut s = Script::new("c1");
        s.ended(5, EndReason::NoRoute, HangupSide::System, None);
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Failed);
        assert_eq!(r.disposition_detail.as_deref(), Some("no route"));
        assert_eq!(r.sip_status, Some(404));
        assert_eq!(r.legs.len(), 1);
        assert_eq!(r.legs[0].final_status, Some(404));
    }

    fn routed(s: &mut Script, ms: i64) {
        s.at(
            ms,
            EventKind::Routed {
                dialled: "01632960001".into(),
                normalized: "+441632960001".into(),
                class: DestinationClass::National,
                route: Some("uk".into()),
                caller_id: Some("+442079460000".into()),
            },
        );
    }

    fn trunk_leg(s: &mut Script, ms: i64, leg: u32, trunk: &str, per_minute: &str) {
        s.at(
            ms,
            EventKind::LegCreated {
                leg: LegId(leg),
                role: LegRole::Callee,
                target: "+441632960001".into(),
                contact: Some(format!("sip:+441632960001@{trunk}.example")),
                trunk: Some(trunk.into()),
                rate: Some(Rate {
                    per_minute: per_minute.parse().expect("amount"),
                    connection_fee: "0.01".parse().expect("amount"),
                    increment: crate::tariff::Increment::PER_MINUTE,
                }),
            },
        );
    }

    #[test]
    fn an_outbound_call_is_charged_at_the_rate_of_the_trunk_that_answered() {
        let mut s = Script::new("c1");
        routed(&mut s, 10);
        trunk_leg(&mut s, 20, 1, "carrier-a", "0.01");
        s.failed(150, 1, 503);
        trunk_leg(&mut s, 151, 2, "carrier-b", "0.02");
        s.ringing(1_151, 2).answered(3_000, 2);
        s.ended(93_000, EndReason::Hangup, HangupSide::Caller, None);
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Answered);
        let out = r
            .outbound
            .expect("an outbound call has its routing on the record");
        assert_eq!(out.normalized, "+441632960001");
        assert_eq!(out.class, DestinationClass::National);
        assert_eq!(out.trunk.as_deref(), Some("carrier-b"));
        assert_eq!((out.attempts, out.failovers()), (2, 1));
        // Post-dial delay from the first INVITE (20 ms) to the first ringing (1,151 ms).
        assert_eq!(out.pdd_ms, Some(1_131));
        // 90 s of talk → 2 minutes at 0.02 + 0.01 connection fee.
        assert_eq!(out.cost, "0.05".parse().expect("amount"));
        assert_eq!(r.legs[1].trunk.as_deref(), Some("carrier-a"));
    }

    /// A callback crossbar originated for task 7: the agent 201 (leg 0, a caller leg crossbar
    /// placed) rings from 100 ms and answers at 4 s; the customer's trunk leg is placed at
    /// 4.01 s, rings at 5 s and answers at 12 s.
    fn callback_script() -> Script {
        let mut s = Script::new("cb");
        s.at(
            0,
            EventKind::Callback {
                task: Some(7),
                queue: None,
                returns: None,
            },
        );
        s.ringing(100, 0).answered(4_000, 0);
        routed(&mut s, 4_005);
        trunk_leg(&mut s, 4_010, 1, "carrier-a", "0.01");
        s.ringing(5_000, 1);
        s
    }

    #[test]
    fn an_originated_call_is_answered_when_its_callee_answers_not_when_its_agent_does() {
        let mut s = callback_script();
        let early = s.outputs();
        assert!(
            !early
                .iter()
                .any(|o| matches!(o, RecorderOutput::Answered { .. })),
            "the agent picking up is not the call's answer: {early:?}"
        );
        s.answered(12_000, 1);
        s.ended(72_000, EndReason::Hangup, HangupSide::Callee, None);
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.callback_task, Some(7));
        assert_eq!(r.answered_at_ms, Some(T0 + 12_000));
        assert_eq!(r.answered_by.as_deref(), Some("+441632960001"));
        assert_eq!(r.timings.wait_secs, Some(12));
        assert_eq!(
            r.timings.ring_secs, 7,
            "the customer's ringing, not the agent's"
        );
        assert_eq!(r.timings.talk_secs, 60);
        let agent = &r.legs[0];
        assert_eq!(agent.role, LegRole::Caller);
        assert_eq!(agent.answered_at_ms, Some(T0 + 4_000));
        assert_eq!(agent.final_status, Some(200));
        let out = r.outbound.expect("routed out");
        assert_eq!((out.attempts, out.pdd_ms), (1, Some(990)));
    }

    #[test]
    fn a_callback_whose_agent_is_busy_is_busy_with_no_trunk_attempt() {
        let mut s = Script::new("cb");
        s.at(
            0,
            EventKind::Callback {
                task: Some(7),
                queue: None,
                returns: None,
            },
        );
        routed(&mut s, 0);
        s.failed(300, 0, 486);
        s.ended(
            300,
            EndReason::TargetsFailed { status: 486 },
            HangupSide::Caller,
            Some(486),
        );
        let outputs = s.outputs();
        assert_eq!(
            outputs[1],
            RecorderOutput::Callback {
                call: CallId("cb".into()),
                task: 7
            },
            "the task is reported while the call is up: {outputs:?}"
        );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Busy);
        assert_eq!(r.callback_task, Some(7));
        assert_eq!(r.outbound.map(|o| o.attempts), Some(0));
    }

    #[test]
    fn the_answer_of_an_outbound_call_carries_its_trunk_rate_and_routing() {
        let mut s = Script::new("c1");
        routed(&mut s, 10);
        trunk_leg(&mut s, 20, 1, "carrier-a", "0.01");
        s.failed(150, 1, 503);
        trunk_leg(&mut s, 151, 2, "carrier-b", "0.02");
        s.ringing(1_151, 2).answered(3_000, 2);
        let answer = s
            .outputs()
            .into_iter()
            .find(|o| matches!(o, RecorderOutput::Answered { .. }))
            .expect("the answer is reported");
        let RecorderOutput::Answered {
            answered_by,
            trunk,
            rate,
            outbound,
            ..
        } = answer
        else {
            unreachable!("found by its variant")
        };
        assert_eq!(answered_by.as_deref(), Some("+441632960001"));
        assert_eq!(trunk.as_deref(), Some("carrier-b"));
        assert_eq!(
            rate.map(|r| r.per_minute),
            Some("0.02".parse().expect("amount"))
        );
        let out = outbound.expect("routed out");
        assert_eq!(out.trunk.as_deref(), Some("carrier-b"));
        assert_eq!((out.attempts, out.pdd_ms), (2, Some(1_131)));
        assert_eq!(out.cost, Money::ZERO, "not known before the end");
    }

    #[test]
    fn an_unanswered_or_denied_outbound_call_costs_nothing() {
        let mut s = Script::new("c1");
        routed(&mut s, 10);
        trunk_leg(&mut s, 20, 1, "carrier-a", "0.01");
        s.failed(5_000, 1, 486);
        s.ended(
            5_000,
            EndReason::TargetsFailed { status: 486 },
            HangupSide::Callee,
            Some(486),
        );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Busy);
        let out = r.outbound.expect("routed");
        assert_eq!((out.cost, out.attempts, out.pdd_ms), (Money::ZERO, 1, None));

        let mut s = Script::new("c2");
        routed(&mut s, 10);
        s.ended(
            11,
            EndReason::Denied {
                reason: "class national may not dial international".into(),
            },
            HangupSide::System,
            Some(403),
        );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Denied);
        let out = r.outbound.expect("routed");
        assert_eq!((out.attempts, out.trunk), (0, None));
    }

    #[test]
    fn hanging_up_in_a_menu_is_abandoned_and_while_a_phone_rings_cancelled() {
        let mut s = Script::new("c1");
        s.at(
            5,
            EventKind::Inbound {
                trunk: "carrier-a".into(),
                did: "+442079460000".into(),
                route: Some("main".into()),
                vip: false,
                language: Some("en".into()),
            },
        );
        s.at(
            6,
            EventKind::Step {
                kind: StepKind::TimeCondition,
                name: "office-hours".into(),
                result: "open".into(),
            },
        );
        s.at(7, EventKind::Stage { stage: Stage::Ivr });
        s.ended(9_000, EndReason::Hangup, HangupSide::Caller, None);
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Abandoned);
        assert_eq!(r.abandoned_stage, Some(Stage::Ivr));
        assert_eq!(
            r.inbound.as_ref().map(|i| i.did.as_str()),
            Some("+442079460000")
        );
        assert_eq!(r.path.len(), 1);
        assert_eq!(r.path[0].result, "open");

        let mut s = Script::new("c2");
        s.at(7, EventKind::Stage { stage: Stage::Ivr });
        s.at(
            8,
            EventKind::Stage {
                stage: Stage::Ringing,
            },
        );
        s.leg(9, 1, "202").ringing(10, 1);
        s.ended(
            4_000,
            EndReason::CallerGaveUp,
            HangupSide::Caller,
            Some(487),
        );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Cancelled);
        assert_eq!(r.abandoned_stage, None);
    }

    #[test]
    fn a_queued_call_keeps_its_position_offers_wait_and_who_answered() {
        let queue = |name: &str| name.to_string();
        let mut s = Script::new("c1");
        s.at(
            5,
            EventKind::Stage {
                stage: Stage::Queue,
            },
        );
        s.at(
            5,
            EventKind::QueueJoined {
                queue: queue("support"),
                position: 3,
            },
        );
        s.at(
            20_000,
            EventKind::QueueOffered {
                queue: queue("support"),
                agent: "201".into(),
            },
        );
        s.leg(20_001, 1, "201").ringing(20_050, 1);
        s.failed(35_000, 1, 480);
        s.at(
            40_000,
            EventKind::QueueOffered {
                queue: queue("support"),
                agent: "202".into(),
            },
        );
        s.leg(40_001, 2, "202").ringing(40_050, 2);
        s.at(
            42_005,
            EventKind::QueueLeft {
                queue: queue("support"),
                outcome: QueueOutcome::Answered,
                agent: Some("202".into()),
            },
        );
        s.answered(42_005, 2);
        s.ended(100_000, EndReason::Hangup, HangupSide::Callee, None);
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.answered_by.as_deref(), Some("202"));
        assert_eq!(r.timings.queue_wait_secs, 42);
        assert_eq!(
            r.queues,
            vec![QueueVisit {
                queue: queue("support"),
                joined_at_ms: T0 + 5,
                position: Some(3),
                wait_ms: 42_000,
                offered: vec!["201".into(), "202".into()],
                outcome: QueueOutcome::Answered,
                agent: Some("202".into()),
            }]
        );
    }

    #[test]
    fn hanging_up_in_a_queue_is_abandoned_there_and_a_turned_away_caller_has_a_visit_of_no_time() {
        let mut s = Script::new("c1");
        s.at(
            10,
            EventKind::QueueLeft {
                queue: "sales".into(),
                outcome: QueueOutcome::Full,
                agent: None,
            },
        );
        s.at(
            10,
            EventKind::Stage {
                stage: Stage::Queue,
            },
        );
        s.at(
            10,
            EventKind::QueueJoined {
                queue: "support".into(),
                position: 1,
            },
        );
        s.ended(4_010, EndReason::Hangup, HangupSide::Caller, None);
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Abandoned);
        assert_eq!(r.abandoned_stage, Some(Stage::Queue));
        assert_eq!(r.timings.queue_wait_secs, 4);
        let outcomes: Vec<(&str, Option<u32>, i64, QueueOutcome)> = r
            .queues
            .iter()
            .map(|v| (v.queue.as_str(), v.position, v.wait_ms, v.outcome))
            .collect();
        assert_eq!(
            outcomes,
            vec![
                ("sales", None, 0, QueueOutcome::Full),
                ("support", Some(1), 4_000, QueueOutcome::Abandoned),
            ]
        );
    }

    #[test]
    fn denied_keeps_the_policy_reason() {
        let mut s = Script::new("c1");
        s.ended(
            5,
            EndReason::Denied {
                reason: "call limit".into(),
            },
            HangupSide::System,
            Some(486),
        );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Denied);
        assert_eq!(r.disposition_detail.as_deref(), Some("call limit"));
        assert_eq!(r.sip_status, Some(486));
    }

    #[test]
    fn media_timeout_before_answer_is_failed_and_after_answer_answered() {
        let r = unanswered(EndReason::MediaTimeout, Some(500), None);
        assert_eq!(r.disposition, Disposition::Failed);
        assert_eq!(r.disposition_detail.as_deref(), Some("media timeout"));

        let mut s = Script::new("c2");
        s.leg(0, 1, "202").answered(1_000, 1).ended(
            31_000,
            EndReason::MediaTimeout,
            HangupSide::System,
            None,
        );
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Answered);
        assert_eq!(r.timings.talk_secs, 30);
        assert_eq!(r.hangup_by, HangupSide::System);
    }

    #[test]
    fn a_hangup_before_answer_is_cancelled_from_the_caller_and_failed_otherwise() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202").ringing(100, 1).ended(
            3_000,
            EndReason::Hangup,
            HangupSide::Caller,
            Some(487),
        );
        assert_eq!(s.record().disposition, Disposition::Cancelled);
        let mut s = Script::new("c2");
        s.ended(3_000, EndReason::Hangup, HangupSide::System, Some(500));
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Failed);
        assert_eq!(
            r.disposition_detail.as_deref(),
            Some("hangup before answer")
        );
    }

    #[test]
    fn an_error_is_failed_with_its_status_and_detail() {
        let r = unanswered(
            EndReason::Error {
                status: Some(500),
                detail: "transport error".into(),
            },
            None,
            None,
        );
        assert_eq!(r.disposition, Disposition::Failed);
        assert_eq!(r.disposition_detail.as_deref(), Some("transport error"));
        assert_eq!(r.sip_status, Some(500));
    }

    #[test]
    fn interrupted_before_answer_is_failed_and_flagged() {
        let r = unanswered(EndReason::Interrupted, None, None);
        assert_eq!(r.disposition, Disposition::Failed);
        assert_eq!(r.disposition_detail.as_deref(), Some("interrupted"));
        assert!(r.interrupted);
        assert_eq!(r.sip_status, None);
    }

    #[test]
    fn interrupted_after_answer_is_answered_and_flagged() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202")
            .answered(2_000, 1)
            .at(4_000, EventKind::Hold { leg: LegId(1) })
            .ended(12_000, EndReason::Interrupted, HangupSide::System, None);
        let r = s.record();
        assert_eq!(r.disposition, Disposition::Answered);
        assert!(r.interrupted);
        assert_eq!(r.timings.talk_secs, 10);
        assert_eq!(r.timings.hold_secs, 8);
        assert_eq!(r.hangup_by, HangupSide::System);
    }

    #[test]
    fn the_recorder_reports_start_first_answer_and_finish_and_forgets_the_call() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202")
            .leg(0, 2, "203")
            .answered(1_000, 2)
            .answered(1_500, 1)
            .ended(2_000, EndReason::Hangup, HangupSide::Caller, None);
        let mut recorder = Recorder::default();
        let outputs: Vec<_> = s
            .events
            .clone()
            .into_iter()
            .filter_map(|e| recorder.record(e))
            .collect();
        assert_eq!(outputs.len(), 3);
        assert_eq!(
            outputs[0],
            RecorderOutput::Started {
                call: CallId("c1".into()),
                started_at_ms: T0,
                direction: Direction::Internal,
                caller: Party {
                    number: "201".into(),
                    name: Some("Alice".into()),
                },
                callee: Party {
                    number: "202".into(),
                    name: None,
                },
                sip_call_id: "sip-c1".into(),
            }
        );
        assert_eq!(
            outputs[1],
            RecorderOutput::Answered {
                call: CallId("c1".into()),
                answered_at_ms: T0 + 1_000,
                answered_by: Some("203".into()),
                trunk: None,
                rate: None,
                outbound: None,
            }
        );
        let RecorderOutput::Finished(record) = &outputs[2] else {
            panic!("the last output is the record: {:?}", outputs[2]);
        };
        assert_eq!(record.answered_by.as_deref(), Some("203"));
        assert_eq!(recorder.in_progress(), 0);
        // Anything after the end is about a call the recorder no longer knows.
        let late = s.events[3].clone();
        assert_eq!(recorder.record(late), None);
        assert_eq!(recorder.ignored(), 1);
    }

    #[test]
    fn events_of_an_unknown_call_and_a_repeated_start_are_ignored() {
        let mut recorder = Recorder::default();
        let s = Script::new("c1");
        let stray = CallEvent {
            call: CallId("nobody".into()),
            at_ms: T0,
            kind: EventKind::Answered { leg: LegId(1) },
        };
        assert_eq!(recorder.record(stray), None);
        assert!(recorder.record(s.events[0].clone()).is_some());
        assert_eq!(recorder.record(s.events[0].clone()), None);
        assert_eq!(recorder.in_progress(), 1);
        assert_eq!(recorder.ignored(), 2);
    }

    #[test]
    fn calls_interleave_independently() {
        let mut a = Script::new("a");
        a.leg(0, 1, "202").answered(1_000, 1).ended(
            5_000,
            EndReason::Hangup,
            HangupSide::Caller,
            None,
        );
        let mut b = Script::new("b");
        b.leg(0, 1, "203").ringing(500, 1).ended(
            3_000,
            EndReason::CallerGaveUp,
            HangupSide::Caller,
            Some(487),
        );
        let mut events: Vec<CallEvent> = a.events.iter().chain(&b.events).cloned().collect();
        events.sort_by_key(|e| e.at_ms);
        let mut recorder = Recorder::default();
        let mut records: Vec<CallRecord> = events
            .into_iter()
            .filter_map(|e| match recorder.record(e) {
                Some(RecorderOutput::Finished(r)) => Some(*r),
                _ => None,
            })
            .collect();
        records.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].disposition, Disposition::Answered);
        assert_eq!(records[0].timeline.len(), a.events.len());
        assert_eq!(records[1].disposition, Disposition::Cancelled);
        assert_eq!(records[1].timeline.len(), b.events.len());
    }

    #[test]
    fn interrupt_all_ends_every_running_call_as_interrupted() {
        let mut recorder = Recorder::default();
        let mut a = Script::new("a");
        a.leg(0, 1, "202").answered(1_000, 1);
        let b = Script::new("b");
        for e in a.events.iter().chain(&b.events) {
            recorder.record(e.clone());
        }
        let records = recorder.interrupt_all(T0 + 61_000);
        assert_eq!(recorder.in_progress(), 0);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].id, CallId("a".into()));
        assert_eq!(records[0].disposition, Disposition::Answered);
        assert_eq!(records[0].timings.talk_secs, 60);
        assert!(records[0].interrupted);
        assert_eq!(records[1].disposition, Disposition::Failed);
        assert!(records[1].interrupted);
        assert_eq!(records[1].hangup_by, HangupSide::System);
    }

    #[test]
    fn disposition_names_are_the_design_names_and_parse_back() {
        let names: Vec<&str> = Disposition::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(
            names,
            [
                "answered",
                "voicemail",
                "no_answer",
                "busy",
                "rejected",
                "cancelled",
                "abandoned",
                "failed",
                "denied"
            ]
        );
        for d in Disposition::ALL {
            assert_eq!(Disposition::parse(d.as_str()), Some(d));
        }
        assert_eq!(Disposition::parse("Answered"), None);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn a_record_round_trips_through_json() {
        let mut s = Script::new("c1");
        s.leg(0, 1, "202").ringing(100, 1).answered(1_000, 1).ended(
            5_000,
            EndReason::Hangup,
            HangupSide::Caller,
            None,
        );
        let record = s.record();
        let json = serde_json::to_value(&record).expect("a record serialises");
        assert_eq!(json["disposition"], "answered");
        assert_eq!(json["direction"], "internal");
        assert_eq!(json["timeline"][0]["type"], "started");
        assert_eq!(json["timeline"][0]["call"], "c1");
        assert!(json.get("callback_task").is_none(), "absent when none");
        let back: CallRecord = serde_json::from_value(json).expect("and deserialises");
        assert_eq!(back, record);

        let mut s = callback_script();
        s.answered(12_000, 1);
        s.ended(72_000, EndReason::Hangup, HangupSide::Callee, None);
        let record = s.record();
        let json = serde_json::to_value(&record).expect("a record serialises");
        assert_eq!(json["callback_task"], 7);
        assert_eq!(json["timeline"][2]["type"], "callback");
        assert_eq!(json["timeline"][2]["task"], 7);
        let back: CallRecord = serde_json::from_value(json).expect("and deserialises");
        assert_eq!(back, record);
    }
}
