//! What happens to a call, as the switch reports it. Times are wall-clock milliseconds since
//! the Unix epoch (a record must make sense after a restart, so no `Instant`s).

use std::fmt;

use crate::tariff::{DestinationClass, Rate};

/// A call's stable id, the same across every leg, transfer and queue (a UUID v7 string in
/// practice; any unique text works).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
pub struct CallId(pub String);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A leg's id within its call: 0 is the caller's leg (A), 1.. the legs crossbar placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
pub struct LegId(pub u32);

/// DESIGN.md §1 "Direction": kept from the start of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }

    /// The direction named by [`Direction::as_str`]'s text (`inbound`, `outbound`, `internal`).
    pub fn parse(text: &str) -> Option<Direction> {
        [Direction::Inbound, Direction::Outbound, Direction::Internal]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of the call a leg is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum LegRole {
    /// The caller's leg: crossbar is the UAS — or, for a call crossbar originated (a
    /// callback), the UAC of the legs ringing the agent who calls.
    Caller,
    /// A leg crossbar placed toward a target (crossbar is the UAC).
    Callee,
}

impl LegRole {
    pub fn as_str(self) -> &'static str {
        match self {
            LegRole::Caller => "caller",
            LegRole::Callee => "callee",
        }
    }

    /// The role named by [`LegRole::as_str`]'s text (`caller`, `callee`).
    pub fn parse(text: &str) -> Option<LegRole> {
        [LegRole::Caller, LegRole::Callee]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// Someone at one end of a call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Party {
    /// Extension number or E.164 number (as dialled, for a callee).
    pub number: String,
    /// Display name, when known.
    pub name: Option<String>,
}

/// Who ended an answered call, or who gave up on an unanswered one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum HangupSide {
    Caller,
    Callee,
    /// crossbar itself: ring timeout, media timeout, shutdown, error.
    System,
}

impl HangupSide {
    pub fn as_str(self) -> &'static str {
        match self {
            HangupSide::Caller => "caller",
            HangupSide::Callee => "callee",
            HangupSide::System => "system",
        }
    }

    /// The side named by [`HangupSide::as_str`]'s text (`caller`, `callee`, `system`).
    pub fn parse(text: &str) -> Option<HangupSide> {
        [HangupSide::Caller, HangupSide::Callee, HangupSide::System]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

impl fmt::Display for HangupSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call ended. With the leg outcomes before it, this decides the disposition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum EndReason {
    /// BYE after answer (see `hangup_by`).
    Hangup,
    /// The caller sent CANCEL (or BYE) before any answer.
    CallerGaveUp,
    /// Every target failed; the caller got `status` (486/600 busy, 603 declined,
    /// 480/408 not answered, others failed).
    TargetsFailed { status: u16 },
    /// Nobody answered before the ring timeout.
    RingTimeout,
    /// The dialled number is not an extension (the caller got 404).
    NoRoute,
    /// Refused by policy before ringing anyone: the extension's concurrent-call limit,
    /// class of service... (`reason` says which).
    Denied { reason: String },
    /// No RTP in either direction for the media timeout.
    MediaTimeout,
    /// A protocol or transport error (`status` sent to the caller, if any).
    Error { status: Option<u16>, detail: String },
    /// crossbar stopped (or was killed) while the call was up: written at the next start.
    Interrupted,
}

/// One thing that happened to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CallEvent {
    pub call: CallId,
    /// Wall clock, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// What happened (in JSON: flattened into the event, named by its `type`).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum EventKind {
    /// The first INVITE was accepted for processing (after authentication).
    Started {
        direction: Direction,
        caller: Party,
        /// The number dialled (the Request-URI user).
        callee: Party,
        /// The caller's SIP Call-ID, for finding the call in traces.
        sip_call_id: String,
    },
    /// An inbound call: the trunk it came from, the number called (the DID, E.164), the
    /// `[[inbound_route]]` that took it, and what the route says about the caller. Comes right
    /// after `Started`.
    Inbound {
        trunk: String,
        did: String,
        route: Option<String>,
        #[cfg_attr(feature = "serde", serde(default))]
        vip: bool,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        language: Option<String>,
    },
    /// A step on the call's path: a time condition's verdict, a menu entered, a key pressed
    /// in it, a group ringing its members, an escalation — the route path of the record and
    /// of `route explain`.
    Step {
        kind: StepKind,
        /// What the step is about (`office-hours`, `main`, `reception`).
        name: String,
        /// What happened, in words (`open`, `closed (holiday 2026-12-25)`, `2 → group:sales`).
        result: String,
    },
    /// Where the caller now waits: a person's phone ringing, a menu, a queue. Hanging up in a
    /// menu or a queue is `abandoned` (with its stage), while a phone rings `cancelled`.
    Stage {
        stage: Stage,
    },
    /// The caller entered a queue's line at `position` (1: next to be served). Comes with
    /// `Stage { stage: Queue }`; hanging up from here on, before an agent answers, is
    /// `abandoned` with stage `queue`.
    QueueJoined {
        queue: String,
        position: u32,
    },
    /// An agent of the queue was offered the caller: its phone rings (the agent's leg follows
    /// as `LegCreated`). One per offer, so an agent offered twice appears twice.
    QueueOffered {
        queue: String,
        agent: String,
    },
    /// The caller left the queue's line: answered by `agent`, or not (`outcome`). A caller
    /// turned away at the door (`full`, `empty`) leaves without having joined.
    QueueLeft {
        queue: String,
        outcome: QueueOutcome,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        agent: Option<String>,
    },
    /// An outbound call was routed: the number as dialled, normalised to E.164 and
    /// classified, the outbound route that matched and the caller ID it presents. Comes
    /// before the call's trunk legs, or before its `Ended` when the call is denied.
    Routed {
        dialled: String,
        normalized: String,
        class: DestinationClass,
        route: Option<String>,
        /// The caller ID presented to the carrier; `None` when withheld.
        caller_id: Option<String>,
    },
    /// crossbar originated the call to return a missed call (issue 9, callback tasks): it
    /// rang the agent (the caller, on legs of role `caller` that crossbar placed), then dialled
    /// the customer (the callee). Comes right after `Started`. `task`: the callback task the
    /// call works (a dial from the API or the CLI); `None` for a queue's virtual hold, whose
    /// task the switch does not know — `returns` then names the call that took "press 1 to be
    /// called back". `queue`: the queue the callback is for, if any.
    Callback {
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        task: Option<i64>,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        queue: Option<String>,
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        returns: Option<CallId>,
    },
    /// A leg exists: the caller's (id 0) or one crossbar placed to `target`
    /// (an extension's registered contact, or a number through a trunk).
    LegCreated {
        leg: LegId,
        role: LegRole,
        /// Extension number the leg reaches, or the number as sent to the trunk.
        target: String,
        /// The contact URI the leg was sent to (callee legs).
        contact: Option<String>,
        /// The trunk a leg toward a carrier went through.
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        trunk: Option<String>,
        /// What the trunk charges for this number (cost is counted from the leg that answers).
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        rate: Option<Rate>,
    },
    /// A callee leg rings (180, or 183 with early media).
    Ringing {
        leg: LegId,
        early_media: bool,
    },
    /// A callee leg answered (200 to the INVITE, ACKed); the call is answered once. A leg of
    /// role `caller` that crossbar placed (an originated call's agent) answering is that leg's
    /// answer only: the call is answered when its callee does.
    Answered {
        leg: LegId,
    },
    /// A callee leg ended without answering: final `status` (487 when crossbar cancelled
    /// it because another leg answered or the caller gave up).
    LegFailed {
        leg: LegId,
        status: u16,
    },
    /// The party on `leg` put the call on hold / took it off hold (re-INVITE or UPDATE).
    Hold {
        leg: LegId,
    },
    Resume {
        leg: LegId,
    },
    /// The call ended.
    Ended {
        reason: EndReason,
        hangup_by: HangupSide,
        /// The final status the caller got when the call was never answered.
        status: Option<u16>,
    },
}

/// What kind of step of a call's path (see [`EventKind::Step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum StepKind {
    /// The inbound route that matched (or the trunk's default destination).
    Route,
    /// A time condition's verdict.
    TimeCondition,
    /// A menu answered the call or replayed.
    Ivr,
    /// A key pressed in a menu and where it led.
    Digit,
    /// A ring group rang members.
    Group,
    /// No answer, busy or unavailable led to the next destination.
    Escalation,
    /// The call was refused by the blocklist.
    Blocklist,
    /// A queue took the caller (the simulator: its strategy and agents; a live call: the
    /// position on joining).
    Queue,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Route => "route",
            StepKind::TimeCondition => "time_condition",
            StepKind::Ivr => "ivr",
            StepKind::Digit => "digit",
            StepKind::Group => "group",
            StepKind::Escalation => "escalation",
            StepKind::Blocklist => "blocklist",
            StepKind::Queue => "queue",
        }
    }
}

/// How a caller left a queue (see [`EventKind::QueueLeft`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum QueueOutcome {
    /// An agent answered.
    Answered,
    /// The caller hung up while waiting.
    Abandoned,
    /// `max_wait_secs` ran out: on to `on_timeout`.
    Timeout,
    /// `max_callers` were waiting: on to `on_full` without joining.
    Full,
    /// No agent logged in: on to `on_empty` (at the door, or when the last agent left).
    Empty,
    /// The caller pressed a breakout key.
    Breakout,
    /// The caller took "press 1 to be called back": the call ends, the place is kept.
    Callback,
}

impl QueueOutcome {
    pub const ALL: [QueueOutcome; 7] = [
        QueueOutcome::Answered,
        QueueOutcome::Abandoned,
        QueueOutcome::Timeout,
        QueueOutcome::Full,
        QueueOutcome::Empty,
        QueueOutcome::Breakout,
        QueueOutcome::Callback,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueOutcome::Answered => "answered",
            QueueOutcome::Abandoned => "abandoned",
            QueueOutcome::Timeout => "timeout",
            QueueOutcome::Full => "full",
            QueueOutcome::Empty => "empty",
            QueueOutcome::Breakout => "breakout",
            QueueOutcome::Callback => "callback",
        }
    }

    pub fn parse(text: &str) -> Option<QueueOutcome> {
        QueueOutcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// The caller went to another destination (timeout, full, empty, breakout).
    pub fn is_overflow(self) -> bool {
        matches!(
            self,
            QueueOutcome::Timeout
                | QueueOutcome::Full
                | QueueOutcome::Empty
                | QueueOutcome::Breakout
        )
    }
}

/// Where a caller waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Stage {
    /// A person's phone rings (hanging up is `cancelled`).
    Ringing,
    /// In a menu (hanging up is `abandoned`, stage `ivr`).
    Ivr,
    /// Waiting in a queue (hanging up is `abandoned`, stage `queue`).
    Queue,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Ringing => "ringing",
            Stage::Ivr => "ivr",
            Stage::Queue => "queue",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        [Stage::Ringing, Stage::Ivr, Stage::Queue]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}
