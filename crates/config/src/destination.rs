//! Destinations: where a call goes next, written as typed references — `ext:201`, `ivr:main`,
//! `group:reception`, `tc:office-hours`, `hangup` (and, in later versions, `queue:...`,
//! `voicemail:...`). Every reference must name something that exists, and following them from
//! any inbound route must reach a final destination (an extension, a group, `hangup`) without
//! going round a loop of time conditions: both are configuration errors.

use std::fmt;

/// A typed reference to where a call goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// Ring an extension's registered phones (`ext:201`).
    Extension(String),
    /// Answer and run a menu (`ivr:main`).
    Ivr(String),
    /// Ring a group's members (`group:reception`).
    Group(String),
    /// Decide by the time of day, the holidays and any manual override (`tc:office-hours`).
    TimeCondition(String),
    /// End the call (`hangup`).
    Hangup,
}

impl Destination {
    /// The kind, as written before the colon.
    pub fn kind(&self) -> &'static str {
        match self {
            Destination::Extension(_) => "ext",
            Destination::Ivr(_) => "ivr",
            Destination::Group(_) => "group",
            Destination::TimeCondition(_) => "tc",
            Destination::Hangup => "hangup",
        }
    }

    /// The name after the colon (`None` for `hangup`).
    pub fn name(&self) -> Option<&str> {
        match self {
            Destination::Extension(n)
            | Destination::Ivr(n)
            | Destination::Group(n)
            | Destination::TimeCondition(n) => Some(n),
            Destination::Hangup => None,
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{}:{name}", self.kind()),
            None => f.write_str(self.kind()),
        }
    }
}

/// What happens when a destination that rings people does not get an answer: after
/// `no_answer_secs` with nobody answering (`on_no_answer`), when every phone is busy
/// (`on_busy`), when nothing is registered to ring (`on_unavailable`). Unset: the call ends
/// there with that outcome (no answer, busy, unavailable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Escalation {
    /// How long it rings before `on_no_answer` (default: `[calls] ring_timeout_secs`).
    pub no_answer_secs: Option<u32>,
    pub on_no_answer: Option<Destination>,
    pub on_busy: Option<Destination>,
    pub on_unavailable: Option<Destination>,
}
