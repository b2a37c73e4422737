//! What several API test files share: call records scripted from their events.
#![allow(dead_code)] // each test file uses a part of it

use crossbar_cdr::{
    CallEvent, CallId, CallRecord, Direction, EndReason, EventKind, HangupSide, LegId, LegRole,
    Party, QueueOutcome, Recorder, RecorderOutput, Stage,
};

/// The DID the scripted calls come in on.
pub const DID: &str = "+442079460000";

/// A call from a trunk, its events relative to its start.
pub struct Script {
    id: CallId,
    start: i64,
    events: Vec<CallEvent>,
}

impl Script {
    pub fn inbound(id: &str, caller: &str, start: i64) -> Script {
        let mut script = Script {
            id: CallId(id.into()),
            start,
            events: Vec::new(),
        };
        script
            .at(
                0,
                EventKind::Started {
                    direction: Direction::Inbound,
                    caller: Party {
                        number: caller.into(),
                        name: None,
                    },
                    callee: Party {
                        number: DID.into(),
                        name: None,
                    },
                    sip_call_id: format!("sip-{id}"),
                },
            )
            .at(
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

    pub fn at(&mut self, ms: i64, kind: EventKind) -> &mut Script {
        self.events.push(CallEvent {
            call: self.id.clone(),
            at_ms: self.start + ms,
            kind,
        });
        self
    }

    pub fn joins(&mut self, ms: i64, queue: &str) -> &mut Script {
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

    /// `agent` of `queue` answers at `ms`.
    pub fn answered_by(&mut self, ms: i64, queue: &str, agent: &str) -> &mut Script {
        self.at(
            ms,
            EventKind::QueueOffered {
                queue: queue.into(),
                agent: agent.into(),
            },
        )
        .at(
            ms,
            EventKind::LegCreated {
                leg: LegId(1),
                role: LegRole::Callee,
                target: agent.into(),
                contact: None,
                trunk: None,
                rate: None,
            },
        )
        .at(
            ms,
            EventKind::QueueLeft {
                queue: queue.into(),
                outcome: QueueOutcome::Answered,
                agent: Some(agent.into()),
            },
        )
        .at(ms, EventKind::Answered { leg: LegId(1) })
    }

    pub fn ends(&mut self, ms: i64) -> CallRecord {
        self.at(
            ms,
            EventKind::Ended {
                reason: EndReason::Hangup,
                hangup_by: HangupSide::Caller,
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
}
