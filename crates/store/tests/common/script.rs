//! Calls written as the events the switch emits and folded into their records: inbound calls
//! from a trunk that wait in queues, and outbound calls, for the queue, agent and callback
//! tests.

// Each test file compiles this module on its own; not all of them use every helper.
#![allow(dead_code)]

use crossbar_cdr::{
    CallEvent, CallId, CallRecord, DestinationClass, Direction, EndReason, EventKind, HangupSide,
    LegId, LegRole, Party, QueueOutcome, Recorder, RecorderOutput, Stage,
};
use crossbar_store::{ActiveCall, CallChange, Store};

/// The DID the inbound calls come in on.
pub const DID: &str = "+442079460000";

/// The events of one call, on a millisecond clock from its start.
pub struct Script {
    id: CallId,
    start: i64,
    events: Vec<CallEvent>,
    next_leg: u32,
}

impl Script {
    fn new(id: &str, direction: Direction, caller: &str, callee: &str, start: i64) -> Script {
        let mut script = Script {
            id: CallId(id.into()),
            start,
            events: Vec::new(),
            next_leg: 1,
        };
        script.at(
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
        script
    }

    /// A call from `caller` through trunk `carrier-a` to [`DID`], taken by route `main`.
    pub fn inbound(id: &str, caller: &str, start: i64) -> Script {
        let mut script = Script::new(id, Direction::Inbound, caller, DID, start);
        script.at(
            0,
            EventKind::Inbound {
                trunk: "carrier-a".into(),
                did: DID.into(),
                route: Some("main".into()),
                vip: false,
                language: None,
            },
        );
        script
    }

    /// A call from extension `extension` out to `number` (E.164), routed by `default`.
    pub fn outbound(id: &str, extension: &str, number: &str, start: i64) -> Script {
        let mut script = Script::new(id, Direction::Outbound, extension, number, start);
        script.at(
            0,
            EventKind::Routed {
                dialled: number.into(),
                normalized: number.into(),
                class: DestinationClass::Mobile,
                route: Some("default".into()),
                caller_id: Some(DID.into()),
            },
        );
        script
    }

    pub fn at(&mut self, ms: i64, kind: EventKind) -> &mut Script {
        self.events.push(CallEvent {
            call: self.id.clone(),
            at_ms: self.start + ms,
            kind,
        });
        self
    }

    /// The caller joins `queue` at `position` at `ms`.
    pub fn joins(&mut self, ms: i64, queue: &str, position: u32) -> &mut Script {
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
                position,
            },
        )
    }

    /// `agent` of `queue` is offered the caller at `ms`: its phone rings.
    pub fn offered(&mut self, ms: i64, queue: &str, agent: &str) -> &mut Script {
        let leg = self.leg(ms, agent);
        self.at(
            ms,
            EventKind::QueueOffered {
                queue: queue.into(),
                agent: agent.into(),
            },
        )
        .at(
            ms,
            EventKind::Ringing {
                leg,
                early_media: false,
            },
        )
    }

    /// The offer to the last agent offered fails at `ms` (480).
    pub fn offer_failed(&mut self, ms: i64) -> &mut Script {
        let leg = LegId(self.next_leg - 1);
        self.at(ms, EventKind::LegFailed { leg, status: 480 })
    }

    /// The last agent offered answers at `ms`: the caller leaves `queue`.
    pub fn agent_answers(&mut self, ms: i64, queue: &str, agent: &str) -> &mut Script {
        let leg = LegId(self.next_leg - 1);
        self.at(
            ms,
            EventKind::QueueLeft {
                queue: queue.into(),
                outcome: QueueOutcome::Answered,
                agent: Some(agent.into()),
            },
        )
        .at(ms, EventKind::Answered { leg })
    }

    /// The caller leaves `queue` unanswered at `ms` (`timeout`, `breakout`, ...), or is
    /// turned away at the door (`full`, `empty`).
    pub fn leaves(&mut self, ms: i64, queue: &str, outcome: QueueOutcome) -> &mut Script {
        self.at(
            ms,
            EventKind::QueueLeft {
                queue: queue.into(),
                outcome,
                agent: None,
            },
        )
    }

    /// `target` (an extension, or the number through a trunk) answers at `ms`.
    pub fn answered(&mut self, ms: i64, target: &str) -> &mut Script {
        let leg = self.leg(ms, target);
        self.at(ms, EventKind::Answered { leg })
    }

    /// `target` rings from `ms` and fails with `status` at `until_ms`.
    pub fn rings_and_fails(
        &mut self,
        ms: i64,
        target: &str,
        until_ms: i64,
        status: u16,
    ) -> &mut Script {
        let leg = self.leg(ms, target);
        self.at(
            ms,
            EventKind::Ringing {
                leg,
                early_media: false,
            },
        )
        .at(until_ms, EventKind::LegFailed { leg, status })
    }

    fn leg(&mut self, ms: i64, target: &str) -> LegId {
        let leg = LegId(self.next_leg);
        self.next_leg += 1;
        self.at(
            ms,
            EventKind::LegCreated {
                leg,
                role: LegRole::Callee,
                target: target.into(),
                contact: None,
                trunk: None,
                rate: None,
            },
        );
        leg
    }

    /// The call ends at `ms` for `reason`, `hangup_by` that side: its record.
    pub fn ends(&mut self, ms: i64, reason: EndReason, hangup_by: HangupSide) -> CallRecord {
        self.at(
            ms,
            EventKind::Ended {
                reason,
                hangup_by,
                status: None,
            },
        );
        let mut recorder = Recorder::default();
        self.events
            .drain(..)
            .find_map(|e| match recorder.record(e) {
                Some(RecorderOutput::Finished(record)) => Some(*record),
                _ => None,
            })
            .expect("a Started ... Ended script finishes its record")
    }

    /// The caller hangs up at `ms` (after an answer, or giving up before one).
    pub fn caller_hangs_up(&mut self, ms: i64) -> CallRecord {
        self.ends(ms, EndReason::Hangup, HangupSide::Caller)
    }
}

/// The `Started` change of a record's call.
pub fn started(record: &CallRecord) -> CallChange {
    CallChange::Started(ActiveCall {
        id: record.id.clone(),
        sip_call_id: record.sip_call_id.clone(),
        direction: record.direction,
        caller: record.caller.clone(),
        callee: record.callee.clone(),
        started_at_ms: record.started_at_ms,
        answered_at_ms: None,
        answered_by: None,
        trunk: None,
        rate: None,
        outbound: None,
        last_seen_at_ms: record.started_at_ms,
        callback_task: None,
    })
}

/// Stores `records` as one batch of whole calls (each started, then finished), in order.
pub async fn store_records(store: &Store, records: &[CallRecord]) {
    let changes: Vec<CallChange> = records
        .iter()
        .flat_map(|r| [started(r), CallChange::Finished(Box::new(r.clone()))])
        .collect();
    store
        .apply_call_changes(&changes)
        .await
        .expect("store the calls");
}
