//! Registering to a carrier's registrar as a UAC (RFC 3261 §10.2), sans-IO: one
//! [`Registration`] per trunk that must register, producing REGISTER requests and consuming
//! their final responses. It never touches transactions, sockets or clocks: the switch sends
//! what [`Registration::poll_request`] returns in a client transaction (adding the top `Via`)
//! and hands back the final response of that transaction — the 408 the transaction layer
//! synthesizes on Timer F, or a 408 of its own for a transport error (build it with
//! `request.response(408)` from the request it sent: responses are matched to the
//! outstanding REGISTER by `Call-ID` and `CSeq`).
//!
//! Driving it (the str0m shape): after creating it and after every input
//! ([`Registration::handle_response`], [`Registration::handle_timeout`],
//! [`Registration::unregister`]), take [`Registration::poll_request`] until `None` and
//! [`Registration::poll_change`] until `None`; call [`Registration::handle_timeout`] when
//! [`Registration::poll_timeout`]'s instant has passed.
//!
//! The rules it follows:
//!
//! - **One binding, one Call-ID**: every REGISTER for the binding has the same `Call-ID`, and
//!   `CSeq` goes up by one for each, retries with credentials included (§10.2.4, §8.1.3.5).
//!   Only one REGISTER is outstanding at a time (§10.2: not before the previous one has a
//!   final response or timed out); responses to any other are ignored.
//! - **Digest** (§22.2, RFC 7616): the first REGISTER has no credentials. A 401/407 is
//!   answered once per nonce: a second 401 to credentials that answered a challenge of this
//!   same attempt is a failure (wrong password, no loop), unless it says `stale=true` with a
//!   new nonce, which is answered. The last challenge is kept and answered again, with the
//!   nonce count incremented, on each refresh; when the registrar rejects those kept
//!   credentials (its nonce expired, it restarted with a new key), the new challenge is a
//!   fresh round, not a failure.
//! - **Expiry**: a 2xx grants the `expires` of *our* contact in its `Contact` list, else its
//!   `Expires`, else what was asked. The refresh goes at half the grant, at least 5 s before
//!   expiry ([`refresh_after`] says why).
//! - **423** (§10.3 step 7): retried at once with the `Min-Expires` value, which is asked
//!   from then on.
//! - **Failures** (403, 404, 5xx, a 408 from Timer F, a challenge that cannot be answered...):
//!   [`RegistrationState::Failed`] and a retry after [`Backoff`] (30 s doubling to 30 min,
//!   minus a little seeded jitter, reset by a success). A `Retry-After` (e.g. on 503) is
//!   honoured instead, up to the back-off ceiling, and does not advance the back-off. The kept
//!   challenge is dropped, so the retry starts a clean round.
//! - **Unregister** (§10.2.2): `Expires: 0` for our contact, sent only when the registrar may
//!   hold a binding; whatever its outcome, the machine then stops.

mod backoff;
mod reply;

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crossbar_auth::{Answer, DigestChallenge};
use crossbar_sip::{HeaderName, Method, NameAddr, Request, Response, Uri};

pub use backoff::Backoff;
pub use reply::{granted_expiry, refresh_after, same_uri};

use crate::endpoint::ALLOWED_METHODS;
use crate::seeded::SeededRng;

/// How many REGISTERs one attempt may take (no credentials, the answer, a stale retry, a 423
/// retry, and one spare) before it counts as a failure: a registrar cannot keep the machine
/// in a loop.
const MAX_ROUNDS: u32 = 5;

/// If no final response is handed back this long after a REGISTER was sent, it is taken as a
/// 408. The switch always reports one (Timer F: 32 s with default timers); this only keeps a
/// lost report from stopping the registration for good.
pub const NO_RESPONSE_GUARD: Duration = Duration::from_secs(120);

/// What a trunk registers with. `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationSettings {
    /// The Request-URI: `sip:domain`, the registrar's domain (§10.2).
    pub registrar: Uri,
    /// The address-of-record, in `To` and `From`: `sip:username@domain`.
    pub aor: Uri,
    /// crossbar's contact for this trunk (`sip:username@crossbar-ip:port`).
    pub contact: Uri,
    /// Digest credentials.
    pub username: String,
    pub secret: String,
    /// The expiry asked for, in seconds (3600 by default in the configuration).
    pub expires_secs: u32,
    /// Value of `User-Agent`.
    pub user_agent: String,
    /// Waits between failed attempts.
    pub backoff: Backoff,
}

impl fmt::Debug for RegistrationSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationSettings")
            .field("registrar", &self.registrar)
            .field("aor", &self.aor)
            .field("contact", &self.contact)
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .field("expires_secs", &self.expires_secs)
            .field("user_agent", &self.user_agent)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// Where the registration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not registered and not trying: before the first REGISTER, and after
    /// [`Registration::unregister`] has finished.
    Unregistered,
    /// A REGISTER is on its way and no binding is known to be in place.
    Registering,
    /// The registrar holds our binding until `expires_at`. Refreshes extend `expires_at` and
    /// keep `since`, the instant this run of successful registrations began.
    Registered { since: Instant, expires_at: Instant },
    /// The last attempt failed with `status` (`reason`: the reason phrase, or why a challenge
    /// was not answered); the next one is sent at `retry_at`.
    Failed {
        status: u16,
        reason: String,
        retry_at: Instant,
    },
    /// The REGISTER with `Expires: 0` is on its way.
    Unregistering,
}

/// A change of [`RegistrationState`] and when it happened, for the switch to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationChange {
    pub at: Instant,
    pub state: RegistrationState,
}

/// What the machine is working towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Register,
    Unregister,
    /// Unregistered for good: nothing more is sent.
    Stopped,
}

/// When the next REGISTER goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// A new attempt (initial, refresh, retry), at the instant or at once.
    Attempt(Option<Instant>),
    /// The same attempt continues at once (answering a challenge, a 423).
    Continue,
}

/// The challenge kept for answering.
#[derive(Debug, Clone)]
struct Kept {
    challenge: DigestChallenge,
    /// From a 407: answer in `Proxy-Authorization`.
    proxy: bool,
    /// Requests answered with this nonce so far (the next `nc` is one more).
    uses: u32,
    /// Received during the current attempt (rather than kept from an earlier one).
    fresh: bool,
}

/// The REGISTER awaiting its final response.
#[derive(Debug, Clone)]
struct InFlight {
    cseq: u32,
    sent_at: Instant,
    expires: u32,
    unregister: bool,
    /// The nonce its credentials answered, and whether that challenge came in this attempt.
    answered: Option<(String, bool)>,
}

/// Registration of one trunk to its carrier's registrar. See the [module docs](self).
#[derive(Debug)]
pub struct Registration {
    settings: RegistrationSettings,
    /// The Request-URI as printed, also the digest `uri` (§22.4).
    request_uri: String,
    call_id: String,
    from_tag: String,
    cseq: u32,
    rng: SeededRng,
    /// The expiry asked for; raised by a 423.
    expires: u32,
    state: RegistrationState,
    changes: VecDeque<RegistrationChange>,
    goal: Goal,
    next: Option<Next>,
    in_flight: Option<InFlight>,
    kept: Option<Kept>,
    /// REGISTERs sent in the current attempt.
    rounds: u32,
    /// Consecutive failures counted by the back-off.
    failures: u32,
    /// Until when the registrar may hold our binding (a 2xx's grant, or what was asked when
    /// a REGISTER's outcome is unknown): decides whether unregistering needs a request.
    maybe_bound_until: Option<Instant>,
    /// The instant of the latest input, for [`Registration::poll_timeout`] when a request is
    /// ready at once.
    last_input: Option<Instant>,
}

impl Registration {
    /// A registration that sends its first REGISTER at the first
    /// [`Registration::poll_request`]. `seed` makes the Call-ID, tag, cnonces and jitter
    /// (random in the server, fixed in tests).
    pub fn new(settings: RegistrationSettings, seed: u64) -> Registration {
        let mut rng = SeededRng::new(seed);
        let call_id = rng.call_id();
        let from_tag = rng.token();
        Registration {
            request_uri: settings.registrar.to_string(),
            expires: settings.expires_secs,
            settings,
            call_id,
            from_tag,
            cseq: 0,
            rng,
            state: RegistrationState::Unregistered,
            changes: VecDeque::new(),
            goal: Goal::Register,
            next: Some(Next::Attempt(None)),
            in_flight: None,
            kept: None,
            rounds: 0,
            failures: 0,
            maybe_bound_until: None,
            last_input: None,
        }
    }

    pub fn settings(&self) -> &RegistrationSettings {
        &self.settings
    }

    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    /// The `Call-ID` every REGISTER of this binding carries.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The next state change, oldest first.
    pub fn poll_change(&mut self) -> Option<RegistrationChange> {
        self.changes.pop_front()
    }

    /// When [`Registration::handle_timeout`] or [`Registration::poll_request`] has work: the
    /// next refresh or retry, the expiry of a binding whose refresh is still out, the guard on
    /// an unanswered REGISTER. `None` before the first input (call `poll_request` after
    /// creating it) and once stopped.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let send = match self.next {
            Some(Next::Attempt(Some(at))) => Some(at),
            Some(Next::Attempt(None) | Next::Continue) => self.last_input,
            None => None,
        };
        let guard = self
            .in_flight
            .as_ref()
            .map(|f| f.sent_at + NO_RESPONSE_GUARD);
        let lapse = match (&self.state, &self.in_flight) {
            (RegistrationState::Registered { expires_at, .. }, Some(_)) => Some(*expires_at),
            _ => None,
        };
        [send, guard, lapse].into_iter().flatten().min()
    }

    /// Time has reached `now`: a binding whose refresh is still unanswered at its expiry has
    /// lapsed ([`RegistrationState::Registering`]); a REGISTER unanswered for
    /// [`NO_RESPONSE_GUARD`] is taken as a 408.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_input = Some(now);
        if let RegistrationState::Registered { expires_at, .. } = self.state
            && expires_at <= now
            && self.in_flight.is_some()
        {
            tracing::info!(registrar = %self.request_uri, "binding lapsed while its refresh is out");
            self.set_state(now, RegistrationState::Registering);
        }
        let unanswered = self
            .in_flight
            .take_if(|in_flight| in_flight.sent_at + NO_RESPONSE_GUARD <= now);
        if let Some(in_flight) = unanswered {
            tracing::warn!(registrar = %self.request_uri, cseq = in_flight.cseq, "no final response reported; taken as 408");
            let mut timeout = Response::new(408);
            timeout.reason.push_str(" (no response reported)");
            self.conclude(now, &timeout, &in_flight);
        }
    }

    /// The REGISTER to send now, if any: complete but for the top `Via`, which the sender
    /// adds with its branch (§8.1.1.7).
    pub fn poll_request(&mut self, now: Instant) -> Option<Request> {
        self.last_input = Some(now);
        if self.in_flight.is_some() || self.goal == Goal::Stopped {
            return None;
        }
        match self.next? {
            Next::Attempt(Some(at)) if at > now => return None,
            Next::Attempt(_) => {
                // A new attempt: challenges kept from earlier ones are answered, but their
                // rejection is not the credentials' fault.
                self.rounds = 0;
                if let Some(kept) = &mut self.kept {
                    kept.fresh = false;
                }
            }
            Next::Continue => {}
        }
        self.next = None;
        let unregister = self.goal == Goal::Unregister;
        let expires = if unregister { 0 } else { self.expires };
        self.cseq = self.cseq.wrapping_add(1);
        self.rounds += 1;
        let mut request = self.register_request(expires);
        let mut answered = None;
        if let Some(kept) = &mut self.kept {
            kept.uses += 1;
            let cnonce = self.rng.token();
            let credentials = kept.challenge.authorization(&Answer {
                method: "REGISTER",
                uri: &self.request_uri,
                username: &self.settings.username,
                password: &self.settings.secret,
                cnonce: &cnonce,
                nonce_count: kept.uses,
            });
            let header = if kept.proxy {
                HeaderName::ProxyAuthorization
            } else {
                HeaderName::Authorization
            };
            request.headers.push(header, credentials);
            answered = Some((kept.challenge.nonce.clone(), kept.fresh));
        }
        self.in_flight = Some(InFlight {
            cseq: self.cseq,
            sent_at: now,
            expires,
            unregister,
            answered,
        });
        tracing::debug!(registrar = %self.request_uri, cseq = self.cseq, expires, "REGISTER");
        if unregister {
            self.set_state(now, RegistrationState::Unregistering);
        } else if !matches!(self.state, RegistrationState::Registered { .. }) {
            self.set_state(now, RegistrationState::Registering);
        }
        Some(request)
    }

    /// The final response to the last REGISTER (a 408 for Timer F or a transport error).
    /// Provisional responses and responses to any other request are ignored.
    pub fn handle_response(&mut self, now: Instant, response: &Response) {
        self.last_input = Some(now);
        if response.status < 200 {
            return;
        }
        let matches = self.in_flight.as_ref().is_some_and(|in_flight| {
            response.headers.call_id() == Some(self.call_id.as_str())
                && response
                    .headers
                    .cseq()
                    .is_ok_and(|c| c.seq == in_flight.cseq && c.method == Method::Register)
        });
        let Some(in_flight) = self.in_flight.take_if(|_| matches) else {
            tracing::debug!(
                status = response.status,
                "response to no outstanding REGISTER ignored"
            );
            return;
        };
        tracing::debug!(registrar = %self.request_uri, cseq = in_flight.cseq, status = response.status, "REGISTER answered");
        self.conclude(now, response, &in_flight);
    }

    /// Acts on the final response to `in_flight`.
    fn conclude(&mut self, now: Instant, response: &Response, in_flight: &InFlight) {
        match response.status {
            200..=299 if in_flight.unregister => {
                self.maybe_bound_until = None;
                self.stop(now);
            }
            200..=299 => self.registered(now, response, in_flight),
            401 | 407 => self.challenged(now, response, in_flight),
            423 if !in_flight.unregister => self.too_brief(now, response, in_flight),
            status => {
                if status == 408 && !in_flight.unregister {
                    // The registrar may have bound us and its answer got lost.
                    let asked = now + Duration::from_secs(u64::from(in_flight.expires));
                    self.maybe_bound_until = self.maybe_bound_until.max(Some(asked));
                }
                let retry_after = reply::retry_after(response);
                self.failed(now, in_flight, status, &response.reason, retry_after);
            }
        }
        if self.goal == Goal::Unregister && !in_flight.unregister {
            // unregister() came while this REGISTER was out (§10.2: one at a time).
            self.begin_unregister(now);
        }
    }

    /// Removes our binding (§10.2.2: `Expires: 0`), at shutdown or when the trunk is removed.
    /// Sent only if the registrar may hold a binding; if a REGISTER is out, after its final
    /// response. Afterwards the machine stays [`RegistrationState::Unregistered`] and sends
    /// nothing more.
    pub fn unregister(&mut self, now: Instant) {
        self.last_input = Some(now);
        if self.goal != Goal::Register {
            return;
        }
        self.goal = Goal::Unregister;
        if self.in_flight.is_none() {
            self.begin_unregister(now);
        }
    }

    fn begin_unregister(&mut self, now: Instant) {
        if self.maybe_bound_until.is_some_and(|until| until > now) {
            self.next = Some(Next::Attempt(None));
        } else {
            self.stop(now);
        }
    }

    fn stop(&mut self, now: Instant) {
        self.goal = Goal::Stopped;
        self.next = None;
        self.kept = None;
        self.set_state(now, RegistrationState::Unregistered);
    }

    /// A 2xx to a REGISTER with our contact (§10.2.4).
    fn registered(&mut self, now: Instant, response: &Response, in_flight: &InFlight) {
        let granted =
            reply::granted_expiry(response, &self.settings.contact).unwrap_or(in_flight.expires);
        if granted == 0 {
            let reason = format!("{} (registrar kept no binding)", response.reason);
            self.failed(now, in_flight, response.status, &reason, None);
            return;
        }
        let expires_at = now + Duration::from_secs(u64::from(granted));
        self.maybe_bound_until = Some(expires_at);
        self.failures = 0;
        let since = match self.state {
            RegistrationState::Registered { since, .. } => since,
            _ => now,
        };
        tracing::info!(registrar = %self.request_uri, granted, "registered");
        self.next = Some(Next::Attempt(Some(now + refresh_after(granted))));
        self.set_state(now, RegistrationState::Registered { since, expires_at });
    }

    /// A 401 or 407 (§22.2, RFC 7616 §3.3): answer it, once per nonce.
    fn challenged(&mut self, now: Instant, response: &Response, in_flight: &InFlight) {
        let Some(challenge) = reply::usable_challenge(response) else {
            let reason = format!(
                "{} (no digest challenge crossbar can answer)",
                response.reason
            );
            return self.failed(now, in_flight, response.status, &reason, None);
        };
        let refusal = match &in_flight.answered {
            // No credentials, or credentials kept from an earlier attempt: a new round.
            None | Some((_, false)) => None,
            // Credentials answering this attempt's challenge were refused.
            Some((nonce, true)) if challenge.stale && challenge.nonce != *nonce => None,
            Some((nonce, true)) if challenge.nonce == *nonce => {
                Some("the same nonce was challenged again")
            }
            Some(_) => Some("credentials rejected"),
        };
        if let Some(why) = refusal {
            let reason = format!("{} ({why})", response.reason);
            return self.failed(now, in_flight, response.status, &reason, None);
        }
        if self.rounds >= MAX_ROUNDS {
            let reason = format!("{} (too many rounds)", response.reason);
            return self.failed(now, in_flight, response.status, &reason, None);
        }
        tracing::debug!(registrar = %self.request_uri, stale = challenge.stale, "answering challenge");
        // The same nonce again keeps its count: a nonce count never goes back (RFC 7616 §3.4).
        let uses = self
            .kept
            .as_ref()
            .filter(|kept| kept.challenge.nonce == challenge.nonce)
            .map_or(0, |kept| kept.uses);
        self.kept = Some(Kept {
            challenge,
            proxy: response.status == 407,
            uses,
            fresh: true,
        });
        self.next = Some(Next::Continue);
    }

    /// 423 Interval Too Brief (§10.3 step 7): ask again at once with `Min-Expires`.
    fn too_brief(&mut self, now: Instant, response: &Response, in_flight: &InFlight) {
        match reply::min_expires(response) {
            Some(min) if min > in_flight.expires && self.rounds < MAX_ROUNDS => {
                tracing::info!(registrar = %self.request_uri, asked = in_flight.expires, min, "expiry raised to the registrar's minimum");
                self.expires = min;
                self.next = Some(Next::Continue);
            }
            _ => {
                let reason = format!("{} (no usable Min-Expires)", response.reason);
                self.failed(now, in_flight, response.status, &reason, None);
            }
        }
    }

    /// The attempt failed: retry after the back-off, or `retry_after` when the registrar
    /// named one (capped at the back-off ceiling, at least 1 s). A failed un-REGISTER is not
    /// retried: the machine stops.
    fn failed(
        &mut self,
        now: Instant,
        in_flight: &InFlight,
        status: u16,
        reason: &str,
        retry_after: Option<Duration>,
    ) {
        self.kept = None;
        if in_flight.unregister {
            tracing::info!(registrar = %self.request_uri, status, reason, "unregistration failed; giving up");
            return self.stop(now);
        }
        if self.goal != Goal::Register {
            // unregister() is waiting for this REGISTER; no retry.
            return;
        }
        let delay = match retry_after {
            Some(wait) => wait
                .min(self.settings.backoff.ceiling)
                .max(Duration::from_secs(1)),
            None => {
                self.failures = self.failures.saturating_add(1);
                let draw = self.rng.next_u64();
                self.settings.backoff.delay(self.failures, draw)
            }
        };
        let retry_at = now + delay;
        tracing::warn!(registrar = %self.request_uri, status, reason, retry_in = ?delay, "registration failed");
        self.next = Some(Next::Attempt(Some(retry_at)));
        self.set_state(
            now,
            RegistrationState::Failed {
                status,
                reason: reason.to_owned(),
                retry_at,
            },
        );
    }

    fn set_state(&mut self, now: Instant, state: RegistrationState) {
        if self.state != state {
            self.state = state.clone();
            self.changes
                .push_back(RegistrationChange { at: now, state });
        }
    }

    /// A REGISTER for our binding (§10.2), without `Via` and credentials.
    fn register_request(&self, expires: u32) -> Request {
        let mut request = Request::new(Method::Register, self.settings.registrar.clone());
        let headers = &mut request.headers;
        headers.push(HeaderName::MaxForwards, "70");
        let mut from = NameAddr::new(self.settings.aor.clone());
        from.params.set("tag", Some(self.from_tag.clone()));
        headers.push(HeaderName::From, from.to_string());
        headers.push(
            HeaderName::To,
            NameAddr::new(self.settings.aor.clone()).to_string(),
        );
        headers.push(HeaderName::CallId, self.call_id.clone());
        headers.push(HeaderName::CSeq, format!("{} REGISTER", self.cseq));
        let mut contact = NameAddr::new(self.settings.contact.clone());
        contact.params.set("expires", Some(expires.to_string()));
        headers.push(HeaderName::Contact, contact.to_string());
        headers.push(HeaderName::Expires, expires.to_string());
        headers.push(HeaderName::Allow, ALLOWED_METHODS);
        headers.push(HeaderName::UserAgent, self.settings.user_agent.clone());
        request
    }
}

#[cfg(test)]
mod tests;
