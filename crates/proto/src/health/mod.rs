//! Whether a trunk's carrier is alive, from OPTIONS probes (RFC 3261 §11) and, optionally,
//! from the outcome of calls, sans-IO: one [`Health`] per trunk, producing OPTIONS requests and
//! consuming their final responses exactly like [`crate::registration::Registration`] does
//! REGISTERs (a transport error is reported as `request.response(408)`; responses are
//! matched to the outstanding OPTIONS by `Call-ID` and `CSeq`). Routing skips a trunk that
//! is [`TrunkHealth::Down`].
//!
//! - **Evidence**: any final response to OPTIONS is a success — 200, but also 404, 405, 403,
//!   481, 501...: the carrier answered, so it is alive — except 408 (no answer: Timer F, or a
//!   transport error reported as 408) and 503 (alive but not taking calls, §21.5.4). The
//!   switch may add call traffic with [`Health::mark_ok`] (an INVITE to the trunk was answered)
//!   and [`Health::mark_failed`] (it timed out).
//! - **Verdict**: `down_after` consecutive failures make the trunk [`TrunkHealth::Down`];
//!   `up_after` consecutive successes make it [`TrunkHealth::Up`]. It starts
//!   [`TrunkHealth::Unknown`] and leaves it by the same counts.
//! - **Cadence**: one OPTIONS at a time. The next one goes a *period* after the previous one
//!   completed (answered or timed out), so probes never overlap and a dead carrier gets a quiet
//!   gap rather than back-to-back retransmission bursts. The period is `interval`, or the fast
//!   period — `interval / 4`, at least 5 s (never more than `interval`) — while the trunk is
//!   down or a failure awaits confirmation, so that both a failure and a recovery are
//!   confirmed quickly.
//! - Every change of [`TrunkHealth`] is reported with its instant ([`Health::poll_change`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbar_sip::{HeaderName, Method, NameAddr, Request, Response, Uri};

use crate::seeded::SeededRng;

/// If no final response is handed back this long after an OPTIONS was sent, it is taken as
/// a 408 (the switch always reports one: Timer F is 32 s with default timers; this only keeps
/// a lost report from stopping the probes for good).
pub const NO_RESPONSE_GUARD: Duration = Duration::from_secs(120);

/// The shortest fast period.
const FAST_FLOOR: Duration = Duration::from_secs(5);

/// How a trunk is probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSettings {
    /// The Request-URI and `To` of the OPTIONS: the carrier (`sip:carrier.example:5060`).
    pub target: Uri,
    /// `From`: crossbar as the carrier knows it.
    pub from: Uri,
    /// The period between probes while the trunk is up (at least 1 s is used).
    pub interval: Duration,
    /// Consecutive failures that make the trunk down (default 2; 0 counts as 1).
    pub down_after: u32,
    /// Consecutive successes that make it up again (default 1; 0 counts as 1).
    pub up_after: u32,
    /// Value of `User-Agent`.
    pub user_agent: String,
}

impl HealthSettings {
    /// Probes of `target` from `from` every `interval`, with the default thresholds.
    pub fn new(target: Uri, from: Uri, interval: Duration, user_agent: &str) -> HealthSettings {
        HealthSettings {
            target,
            from,
            interval,
            down_after: 2,
            up_after: 1,
            user_agent: user_agent.to_owned(),
        }
    }
}

/// What is known about a trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrunkHealth {
    /// Not enough evidence yet.
    Unknown,
    /// The carrier answers; `since` when it was last found up.
    Up { since: Instant },
    /// The carrier does not answer or refuses calls, since `since`. `last_status` is the
    /// status of the latest failure (408, 503), `None` for a failure reported by
    /// [`Health::mark_failed`].
    Down {
        since: Instant,
        last_status: Option<u16>,
    },
}

impl TrunkHealth {
    pub fn is_down(&self) -> bool {
        matches!(self, TrunkHealth::Down { .. })
    }
}

/// A change of [`TrunkHealth`] and when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    pub at: Instant,
    pub health: TrunkHealth,
}

/// The OPTIONS awaiting its final response.
#[derive(Debug, Clone)]
struct Probe {
    call_id: String,
    cseq: u32,
    sent_at: Instant,
}

/// OPTIONS health checks of one trunk. See the [module docs](self).
#[derive(Debug)]
pub struct Health {
    settings: HealthSettings,
    rng: SeededRng,
    cseq: u32,
    health: TrunkHealth,
    changes: VecDeque<HealthChange>,
    probe: Option<Probe>,
    /// When the last probe completed; `None` before the first, which goes at once.
    idle_since: Option<Instant>,
    failures: u32,
    successes: u32,
}

impl Health {
    /// Health checks that send their first OPTIONS at the first [`Health::poll_request`].
    /// `seed` makes the Call-IDs and tags.
    pub fn new(settings: HealthSettings, seed: u64) -> Health {
        Health {
            settings,
            rng: SeededRng::new(seed),
            cseq: 0,
            health: TrunkHealth::Unknown,
            changes: VecDeque::new(),
            probe: None,
            idle_since: None,
            failures: 0,
            successes: 0,
        }
    }

    pub fn settings(&self) -> &HealthSettings {
        &self.settings
    }

    pub fn health(&self) -> &TrunkHealth {
        &self.health
    }

    /// The next change of health, oldest first.
    pub fn poll_change(&mut self) -> Option<HealthChange> {
        self.changes.pop_front()
    }

    /// The period to the next probe now: `interval`, or the fast period while the trunk is
    /// down or a failure awaits confirmation.
    pub fn period(&self) -> Duration {
        let interval = self.settings.interval.max(Duration::from_secs(1));
        if self.failures > 0 || self.health.is_down() {
            (interval / 4).max(FAST_FLOOR).min(interval)
        } else {
            interval
        }
    }

    /// When the next OPTIONS is due, or the guard on the outstanding one. `None` before the
    /// first (call [`Health::poll_request`] after creating it).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.probe {
            Some(probe) => Some(probe.sent_at + NO_RESPONSE_GUARD),
            None => self.idle_since.map(|idle| idle + self.period()),
        }
    }

    /// An OPTIONS unanswered for [`NO_RESPONSE_GUARD`] is taken as a 408.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self
            .probe
            .take_if(|probe| probe.sent_at + NO_RESPONSE_GUARD <= now)
            .is_some()
        {
            tracing::warn!(target = %self.settings.target, "no final response reported to OPTIONS; taken as 408");
            self.idle_since = Some(now);
            self.evidence(now, false, Some(408));
        }
    }

    /// The OPTIONS to send now, if one is due: complete but for the top `Via`.
    pub fn poll_request(&mut self, now: Instant) -> Option<Request> {
        if self.probe.is_some()
            || self
                .idle_since
                .is_some_and(|idle| idle + self.period() > now)
        {
            return None;
        }
        self.cseq = self.cseq.wrapping_add(1);
        let call_id = self.rng.call_id();
        let mut request = Request::new(Method::Options, self.settings.target.clone());
        let headers = &mut request.headers;
        headers.push(HeaderName::MaxForwards, "70");
        let mut from = NameAddr::new(self.settings.from.clone());
        from.params.set("tag", Some(self.rng.token()));
        headers.push(HeaderName::From, from.to_string());
        headers.push(
            HeaderName::To,
            NameAddr::new(self.settings.target.clone()).to_string(),
        );
        headers.push(HeaderName::CallId, call_id.clone());
        headers.push(HeaderName::CSeq, format!("{} OPTIONS", self.cseq));
        headers.push(HeaderName::Accept, "application/sdp");
        headers.push(HeaderName::UserAgent, self.settings.user_agent.clone());
        self.probe = Some(Probe {
            call_id,
            cseq: self.cseq,
            sent_at: now,
        });
        Some(request)
    }

    /// The final response to the outstanding OPTIONS (a 408 for Timer F or a transport
    /// error). Provisional responses and responses to any other request are ignored.
    pub fn handle_response(&mut self, now: Instant, response: &Response) {
        if response.status < 200 {
            return;
        }
        let matches = self.probe.as_ref().is_some_and(|probe| {
            response.headers.call_id() == Some(probe.call_id.as_str())
                && response
                    .headers
                    .cseq()
                    .is_ok_and(|c| c.seq == probe.cseq && c.method == Method::Options)
        });
        if self.probe.take_if(|_| matches).is_none() {
            tracing::debug!(
                status = response.status,
                "response to no outstanding OPTIONS ignored"
            );
            return;
        }
        self.idle_since = Some(now);
        let alive = !matches!(response.status, 408 | 503);
        tracing::trace!(target = %self.settings.target, status = response.status, alive, "OPTIONS answered");
        self.evidence(now, alive, Some(response.status));
    }

    /// A call through the trunk was answered (any final response from the carrier but 503):
    /// as good as a successful probe.
    pub fn mark_ok(&mut self, now: Instant) {
        self.evidence(now, true, None);
    }

    /// A call through the trunk got no answer (its INVITE timed out): as bad as a failed probe.
    pub fn mark_failed(&mut self, now: Instant) {
        self.evidence(now, false, None);
    }

    fn evidence(&mut self, now: Instant, alive: bool, status: Option<u16>) {
        let next = if alive {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            match self.health {
                TrunkHealth::Up { .. } => None,
                _ if self.successes >= self.settings.up_after.max(1) => {
                    Some(TrunkHealth::Up { since: now })
                }
                _ => None,
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            match self.health {
                TrunkHealth::Down { since, .. } => Some(TrunkHealth::Down {
                    since,
                    last_status: status,
                }),
                _ if self.failures >= self.settings.down_after.max(1) => Some(TrunkHealth::Down {
                    since: now,
                    last_status: status,
                }),
                _ => None,
            }
        };
        if let Some(health) = next.filter(|h| *h != self.health) {
            match &health {
                TrunkHealth::Down { last_status, .. } => {
                    tracing::warn!(target = %self.settings.target, ?last_status, "trunk down");
                }
                _ => tracing::info!(target = %self.settings.target, "trunk up"),
            }
            self.health = health.clone();
            self.changes.push_back(HealthChange { at: now, health });
        }
    }
}

#[cfg(test)]
mod tests;
