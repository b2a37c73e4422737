//! Queue agents' events (issue 9): the log of what each agent did and when — logged in and
//! out, paused and why, was offered callers, answered or missed them, wrapped up — as the
//! switch's queue machine reports it. The store keeps the log; the queue report
//! ([`crate::metrics::queues`]) reads login, pause and wrap-up time from it.
//!
//! # The rules of the log
//!
//! - **Login and logout** name the queue (`queue: Some`): an agent that logs in to every
//!   queue it is a member of (the login feature code) has one event per queue. A `logout`
//!   without a queue logs the agent out of every queue; a `login` without one stands for
//!   "every queue" (what a report filtered by queue counts for each).
//! - **Pauses are the agent's**, whatever the queue (the queue machine pauses an agent, not a
//!   membership): a `pause` or `unpause` event's queue, if any, is not read. A pause carries
//!   its reason — one of `[agents] pause_reasons` (`lunch`), [`AUTO_PAUSE_REASON`] for the
//!   queue's `auto_pause_after`, or none (the pause code alone). A second `pause` while paused
//!   changes the reason from then on.
//! - **Offers**: `offered` when the agent's phone starts ringing with a caller of `queue`,
//!   then `answered` or `missed` (busy, no answer, declined, unreachable, or the ring time
//!   over — not an offer withdrawn because another agent answered the caller first, as with
//!   `ring_all`, nor because the caller left). Each names the caller's call.
//! - **After a queue call**: `call_end` when it ends, then `wrap_up_start` and `wrap_up_end`
//!   around the queue's `wrap_up_secs` (none when it is 0).
//!
//! Times are wall-clock unix milliseconds, like the call records'.

use std::fmt;

use crate::event::CallId;

/// The pause reason of an agent paused by its queue after `auto_pause_after` unanswered
/// offers in a row. Configured reason names cannot hold a `:`, so it never clashes with one.
pub const AUTO_PAUSE_REASON: &str = "auto:unanswered";

/// One thing an agent did, or that happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AgentEvent {
    /// Wall clock, unix milliseconds.
    pub at_ms: i64,
    /// The agent's extension number.
    pub agent: String,
    /// The queue it is about; `None` for the agent as a whole (see the module documentation).
    pub queue: Option<String>,
    /// What happened (in JSON: flattened into the event, named by its `kind`).
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub kind: AgentEventKind,
    /// The caller's call, for offers, answers, misses and call ends.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub call: Option<CallId>,
}

/// What an [`AgentEvent`] says happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "kind", rename_all = "snake_case")
)]
pub enum AgentEventKind {
    /// Logged in to `queue` (or to every queue: `None`).
    Login,
    /// Logged out of `queue` (or of every queue: `None`).
    Logout,
    /// Paused: offered nothing until `unpause`; `reason` as the module documentation says.
    Pause {
        #[cfg_attr(
            feature = "serde",
            serde(default, skip_serializing_if = "Option::is_none")
        )]
        reason: Option<String>,
    },
    /// The pause is over.
    Unpause,
    /// The agent's phone rings with a caller of `queue`.
    Offered,
    /// The agent answered the caller it was offered.
    Answered,
    /// The offer ended unanswered by the agent (see the module documentation).
    Missed,
    /// The agent's call from `queue` ended.
    CallEnd,
    /// Wrap-up after a call from `queue` began: no offer until it ends.
    WrapUpStart,
    /// Wrap-up is over.
    WrapUpEnd,
}

impl AgentEventKind {
    /// The kind's name, as stored and printed (`login`, `pause`, `wrap_up_start`...).
    pub fn as_str(&self) -> &'static str {
        match self {
            AgentEventKind::Login => "login",
            AgentEventKind::Logout => "logout",
            AgentEventKind::Pause { .. } => "pause",
            AgentEventKind::Unpause => "unpause",
            AgentEventKind::Offered => "offered",
            AgentEventKind::Answered => "answered",
            AgentEventKind::Missed => "missed",
            AgentEventKind::CallEnd => "call_end",
            AgentEventKind::WrapUpStart => "wrap_up_start",
            AgentEventKind::WrapUpEnd => "wrap_up_end",
        }
    }

    /// Every kind's name, in the order of the enum.
    pub const NAMES: [&'static str; 10] = [
        "login",
        "logout",
        "pause",
        "unpause",
        "offered",
        "answered",
        "missed",
        "call_end",
        "wrap_up_start",
        "wrap_up_end",
    ];

    /// The kind named `name` ([`AgentEventKind::as_str`]), with `reason` for a pause (not
    /// read for the others).
    pub fn parse(name: &str, reason: Option<String>) -> Option<AgentEventKind> {
        Some(match name {
            "login" => AgentEventKind::Login,
            "logout" => AgentEventKind::Logout,
            "pause" => AgentEventKind::Pause { reason },
            "unpause" => AgentEventKind::Unpause,
            "offered" => AgentEventKind::Offered,
            "answered" => AgentEventKind::Answered,
            "missed" => AgentEventKind::Missed,
            "call_end" => AgentEventKind::CallEnd,
            "wrap_up_start" => AgentEventKind::WrapUpStart,
            "wrap_up_end" => AgentEventKind::WrapUpEnd,
            _ => return None,
        })
    }

    /// The pause reason, for a `pause`.
    pub fn reason(&self) -> Option<&str> {
        match self {
            AgentEventKind::Pause { reason } => reason.as_deref(),
            _ => None,
        }
    }

    /// Whether the kind changes what an agent is — logged in or out, paused or not, in
    /// wrap-up or not — rather than counting something that happened (offers, answers,
    /// misses, call ends).
    pub fn changes_state(&self) -> bool {
        !matches!(
            self,
            AgentEventKind::Offered
                | AgentEventKind::Answered
                | AgentEventKind::Missed
                | AgentEventKind::CallEnd
        )
    }
}

impl fmt::Display for AgentEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            Some(reason) => write!(f, "pause ({reason})"),
            None => f.write_str(self.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_parse_back_and_a_pause_keeps_its_reason() {
        let kinds = [
            AgentEventKind::Login,
            AgentEventKind::Logout,
            AgentEventKind::Pause {
                reason: Some("lunch".into()),
            },
            AgentEventKind::Unpause,
            AgentEventKind::Offered,
            AgentEventKind::Answered,
            AgentEventKind::Missed,
            AgentEventKind::CallEnd,
            AgentEventKind::WrapUpStart,
            AgentEventKind::WrapUpEnd,
        ];
        let names: Vec<&str> = kinds.iter().map(AgentEventKind::as_str).collect();
        assert_eq!(names, AgentEventKind::NAMES);
        for kind in kinds {
            let reason = kind.reason().map(str::to_owned);
            assert_eq!(AgentEventKind::parse(kind.as_str(), reason), Some(kind));
        }
        assert_eq!(AgentEventKind::parse("Login", None), None);
        assert_eq!(
            AgentEventKind::parse("unpause", Some("ignored".into())),
            Some(AgentEventKind::Unpause)
        );
        assert_eq!(
            AgentEventKind::Pause {
                reason: Some(AUTO_PAUSE_REASON.into())
            }
            .to_string(),
            "pause (auto:unanswered)"
        );
        assert_eq!(AgentEventKind::Pause { reason: None }.to_string(), "pause");
    }

    #[test]
    fn only_logins_pauses_and_wrap_ups_change_an_agents_state() {
        assert!(AgentEventKind::Logout.changes_state());
        assert!(AgentEventKind::Pause { reason: None }.changes_state());
        assert!(AgentEventKind::WrapUpEnd.changes_state());
        assert!(!AgentEventKind::Offered.changes_state());
        assert!(!AgentEventKind::CallEnd.changes_state());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn an_event_reads_as_json_with_its_kind_flattened() {
        let event = AgentEvent {
            at_ms: 1_795_251_600_000,
            agent: "201".into(),
            queue: None,
            kind: AgentEventKind::Pause {
                reason: Some("lunch".into()),
            },
            call: None,
        };
        let json = serde_json::to_value(&event).expect("an event serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "at_ms": 1_795_251_600_000_i64,
                "agent": "201",
                "queue": null,
                "kind": "pause",
                "reason": "lunch",
            })
        );
        let back: AgentEvent = serde_json::from_value(json).expect("and deserialises");
        assert_eq!(back, event);
    }
}
