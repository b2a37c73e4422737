//! A scripted carrier: the far end of a trunk, a UAS at one address.
//!
//! It runs a real [`Transactions`] (RFC 3261 §17), so what a carrier's transaction layer
//! does happens as it would: retransmitted requests are absorbed, an INVITE it is slow to
//! answer gets `100 Trying` after 200 ms, its non-2xx finals are retransmitted (Timer G)
//! until the ACK the client transaction sends, a CANCEL is answered 200 (481 when nothing
//! matches) and the INVITE then 487. What it answers is scripted:
//!
//! - **INVITEs**: one [`Script`] per call (by Call-ID), taken in order from a queue, then
//!   the default ([`Script::answer`]). A script is a list of responses and waits:
//!   `[100, 183+SDP, 200+SDP]`, `503`, `486`, an answer after a delay, or
//!   [`Script::silent`] — nothing at all, not even `100`, so the caller's Timer B fires.
//! - **Authentication**: with [`Carrier::with_challenge`] every INVITE is checked by a real
//!   [`Authenticator`]: without valid credentials it is answered 401/407 and the
//!   authenticated retry (same Call-ID) runs the call's script.
//! - **In-dialog requests** (BYE, re-INVITE, UPDATE...): 200 (a re-INVITE with SDP).
//! - **Other requests** (OPTIONS, REGISTER...): a [`Responder`] per method — OPTIONS 200 by
//!   default, anything else 405 — or, for REGISTER, a real registrar ([`Endpoint`]) given
//!   with [`Carrier::with_registrar`].
//!
//! Every request that reaches it is recorded ([`Carrier::received`]), so a test can say
//! that no INVITE reached it. It does not retransmit its own 2xx (§13.3.1.4): the in-memory
//! network loses nothing unless cut.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crossbar_auth::{Authenticator, Outcome, Secret};
use crossbar_proto::endpoint::{Endpoint, EndpointOutput};
use crossbar_proto::transaction::{Event, Output, Peer, ServerKey, Timers, Transactions, Transmit};
use crossbar_sip::{Bytes, HeaderName, Message, Method, Request, Response};

use crate::clock::Clock;
use crate::net::peer;
use crate::sdp::sdp;

/// How a carrier answers a request of one method outside a dialog: `None` never answers.
pub type Responder = Box<dyn FnMut(&Request) -> Option<Response>>;

/// A responder answering every request with `status` (its `To` tagged).
pub fn status(status: u16) -> Responder {
    Box::new(move |request| Some(tagged_response(request, status)))
}

/// A responder that never answers (the client's Timer F decides).
pub fn silence() -> Responder {
    Box::new(|_| None)
}

/// `request`'s response with `status`, its `To` tagged (§8.2.6.2) unless it is a 100.
pub fn tagged_response(request: &Request, status: u16) -> Response {
    let mut response = request.response(status);
    let untagged = response.headers.to().is_ok_and(|to| to.tag().is_none());
    if status > 100 && untagged {
        let to = response.headers.get(&HeaderName::To).unwrap_or_default();
        let tagged = format!("{to};tag=carrier");
        response.headers.set(HeaderName::To, tagged);
    }
    response
}

/// One step of a call's script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send a response to the INVITE; with the carrier's SDP when `sdp`. A final response
    /// ends the script.
    Respond { status: u16, sdp: bool },
    /// Wait this long before the next step.
    Wait(Duration),
}

/// How the carrier answers one call's INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    steps: Vec<Step>,
    silent: bool,
}

impl Script {
    /// No steps: the transaction layer's `100 Trying`, then nothing until a CANCEL.
    pub fn new() -> Script {
        Script::default()
    }

    /// `100`, `180`, `200` with SDP, all at once.
    pub fn answer() -> Script {
        Script::new()
            .respond(100)
            .respond(180)
            .respond_with_sdp(200)
    }

    /// `100`, `183` with SDP (early media), `200` with SDP, all at once.
    pub fn early_media() -> Script {
        Script::new()
            .respond(100)
            .respond_with_sdp(183)
            .respond_with_sdp(200)
    }

    /// `100`, then `delay`, then `200` with SDP.
    pub fn answer_after(delay: Duration) -> Script {
        Script::new().respond(100).wait(delay).respond_with_sdp(200)
    }

    /// `100`, then the final `status` (`503`, `486`, `404`...).
    pub fn reject(status: u16) -> Script {
        Script::new().respond(100).respond(status)
    }

    /// Nothing at all, not even `100 Trying`, for any request of the call: the caller's
    /// Timer B fires (§17.1.1.2).
    pub fn silent() -> Script {
        Script {
            steps: Vec::new(),
            silent: true,
        }
    }

    /// Then `status`, without a body.
    pub fn respond(mut self, status: u16) -> Script {
        self.steps.push(Step::Respond { status, sdp: false });
        self
    }

    /// Then `status` with the carrier's SDP.
    pub fn respond_with_sdp(mut self, status: u16) -> Script {
        self.steps.push(Step::Respond { status, sdp: true });
        self
    }

    /// Then a pause.
    pub fn wait(mut self, duration: Duration) -> Script {
        self.steps.push(Step::Wait(duration));
        self
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    pub fn is_silent(&self) -> bool {
        self.silent
    }
}

/// A carrier's digest check of INVITEs.
struct Challenge {
    /// 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`).
    status: u16,
    realm: String,
    /// Started at the first INVITE (its nonces are minted on the lab's wall clock).
    authenticator: Option<Authenticator>,
    username: String,
    secret: String,
}

impl Challenge {
    /// `Ok` when `request` carries valid credentials, else the challenge to answer with.
    fn check(&mut self, clock: &Clock, request: &Request) -> Result<(), Response> {
        let (credentials, challenge) = if self.status == 407 {
            (
                HeaderName::ProxyAuthorization,
                HeaderName::ProxyAuthenticate,
            )
        } else {
            (HeaderName::Authorization, HeaderName::WwwAuthenticate)
        };
        let authenticator = self.authenticator.get_or_insert_with(|| {
            Authenticator::from_seed(
                crossbar_auth::Config::new(&self.realm),
                0x7e57,
                clock.wall(),
            )
            .expect("the default auth config is valid")
        });
        let (username, secret) = (&self.username, &self.secret);
        let outcome = authenticator.verify(
            clock.wall(),
            request.method.as_str(),
            request.headers.get_all(&credentials),
            |user, _| (user == username).then(|| Secret::Password(secret.clone())),
        );
        let stale = match outcome {
            Ok(Outcome::Authenticated(_)) => return Ok(()),
            Ok(other) => other.stale(),
            Err(_) => false,
        };
        let mut response = tagged_response(request, self.status);
        for value in authenticator.challenges(clock.wall(), stale) {
            response.headers.push(challenge.clone(), value);
        }
        Err(response)
    }
}

/// One call the carrier has seen (by Call-ID).
struct CarrierCall {
    script: Script,
    /// Its To tag.
    tag: String,
    /// The INVITE being answered and the steps left, until its final response.
    invite: Option<(ServerKey, Request)>,
    pending: VecDeque<Step>,
    /// When the current [`Step::Wait`] ends.
    resume_at: Option<Instant>,
}

pub struct Carrier {
    at: Peer,
    transactions: Transactions,
    registrar: Option<Endpoint>,
    challenge: Option<Challenge>,
    scripts: VecDeque<Script>,
    default_script: Script,
    calls: HashMap<String, CarrierCall>,
    responders: HashMap<Method, Responder>,
    received: Vec<(Instant, Request)>,
    outbox: Vec<Transmit>,
    media_port: u16,
}

impl Carrier {
    /// A carrier at `at` (`"198.51.100.7:5060"`) that answers every call
    /// ([`Script::answer`]) and OPTIONS with 200.
    pub fn new(at: &str) -> Carrier {
        let at = peer(at);
        let seed = u64::from(at.addr.port()) ^ 0xca77_1e75;
        Carrier {
            at,
            transactions: Transactions::new(Timers::default(), seed),
            registrar: None,
            challenge: None,
            scripts: VecDeque::new(),
            default_script: Script::answer(),
            calls: HashMap::new(),
            responders: HashMap::new(),
            received: Vec::new(),
            outbox: Vec::new(),
            media_port: 30_000,
        }
    }

    /// Answers the next calls with `scripts`, one per call in order (then the default).
    pub fn with_calls(mut self, scripts: impl IntoIterator<Item = Script>) -> Carrier {
        self.scripts.extend(scripts);
        self
    }

    /// Answers calls beyond the queued scripts with `script`.
    pub fn with_default_call(mut self, script: Script) -> Carrier {
        self.default_script = script;
        self
    }

    /// Challenges every INVITE without valid credentials with `status` (401 or 407) for
    /// `username`/`secret` in `realm` (RFC 3261 §22.2–22.3, with the digest algorithms of
    /// [`crossbar_auth::Config::new`]).
    ///
    /// # Panics
    /// When `status` is neither 401 nor 407.
    pub fn with_challenge(
        mut self,
        status: u16,
        realm: &str,
        username: &str,
        secret: &str,
    ) -> Carrier {
        assert!(
            matches!(status, 401 | 407),
            "a digest challenge is a 401 or a 407, not {status}"
        );
        self.challenge = Some(Challenge {
            status,
            realm: realm.to_owned(),
            authenticator: None,
            username: username.to_owned(),
            secret: secret.to_owned(),
        });
        self
    }

    /// Answers requests of `method` outside a dialog with `responder`.
    pub fn with_answer(mut self, method: Method, responder: Responder) -> Carrier {
        self.set_answer(method, responder);
        self
    }

    /// Answers REGISTER with `endpoint`, a real registrar: its writes succeed at once.
    pub fn with_registrar(mut self, endpoint: Endpoint) -> Carrier {
        self.registrar = Some(endpoint);
        self
    }

    /// Changes how requests of `method` outside a dialog are answered from now on.
    pub fn set_answer(&mut self, method: Method, responder: Responder) {
        self.responders.insert(method, responder);
    }

    /// Queues `script` for a later call.
    pub fn queue_call(&mut self, script: Script) {
        self.scripts.push_back(script);
    }

    pub fn at(&self) -> Peer {
        self.at
    }

    /// Its registrar.
    ///
    /// # Panics
    /// When it has none.
    pub fn endpoint(&mut self) -> &mut Endpoint {
        self.registrar
            .as_mut()
            .unwrap_or_else(|| panic!("the carrier at {} has no registrar", self.at))
    }

    /// Every request that reached it, in order, with when (retransmissions and ACKs
    /// included).
    pub fn received(&self) -> &[(Instant, Request)] {
        &self.received
    }

    /// The requests with `method` that reached it.
    pub fn requests(&self, method: &Method) -> Vec<&Request> {
        self.received
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r.method == *method)
            .collect()
    }

    /// A message from `from` arrives (the [`crate::Lab`] calls this).
    ///
    /// # Panics
    /// When its transaction layer refuses the message: the machine sent something broken.
    pub fn receive(&mut self, clock: &Clock, from: Peer, message: Message) {
        let now = clock.now();
        match message {
            Message::Request(request) => {
                self.received.push((now, request.clone()));
                if request.method == Method::Register
                    && let Some(registrar) = &mut self.registrar
                {
                    registrar.handle_message(
                        now,
                        clock.wall(),
                        Ok(Message::Request(request)),
                        from,
                    );
                    return;
                }
                if self.is_silent_for(&request) {
                    return;
                }
                if let Err(error) = self.transactions.handle_request(now, request, from) {
                    panic!("the carrier at {} refuses a request: {error}", self.at);
                }
            }
            Message::Response(response) => {
                if let Err(error) = self.transactions.handle_response(now, response, from) {
                    panic!("the carrier at {} refuses a response: {error}", self.at);
                }
            }
        }
        self.drain(clock);
    }

    /// When it next has something to do: a transaction timer, its registrar's, the end of
    /// a scripted wait.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let waits = self
            .calls
            .values()
            .filter(|c| c.invite.is_some())
            .filter_map(|c| c.resume_at);
        let registrar = self.registrar.as_mut().and_then(Endpoint::poll_timeout);
        waits
            .chain(self.transactions.poll_timeout())
            .chain(registrar)
            .min()
    }

    pub fn handle_timeout(&mut self, clock: &Clock) {
        let now = clock.now();
        self.transactions.handle_timeout(now);
        if let Some(registrar) = &mut self.registrar
            && registrar.poll_timeout().is_some_and(|at| at <= now)
        {
            registrar.handle_timeout(now, clock.wall());
        }
        let due: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, c)| c.invite.is_some() && c.resume_at.is_some_and(|at| at <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for call_id in due {
            if let Some(call) = self.calls.get_mut(&call_id) {
                call.resume_at = None;
            }
            self.run_script(clock, &call_id);
        }
        self.drain(clock);
    }

    /// What it has to send, oldest first (the [`crate::Lab`] calls this).
    pub fn collect(&mut self, clock: &Clock) -> Vec<Transmit> {
        self.drain(clock);
        if let Some(registrar) = &mut self.registrar {
            while let Some(output) = registrar.poll_output() {
                match output {
                    EndpointOutput::Transmit(transmit) => self.outbox.push(transmit),
                    EndpointOutput::Persist { ticket, .. } => {
                        registrar.persisted(clock.now(), clock.wall(), ticket, true);
                    }
                    EndpointOutput::Sip(event) => {
                        panic!("the carrier's registrar handles REGISTER only: {event:?}")
                    }
                }
            }
        }
        std::mem::take(&mut self.outbox)
    }

    /// Whether `request` belongs to a call whose script is silence. A new call (an INVITE
    /// outside a dialog with an unseen Call-ID) takes its script here.
    fn is_silent_for(&mut self, request: &Request) -> bool {
        let Some(call_id) = request.headers.call_id() else {
            return false;
        };
        if request.method == Method::Invite
            && !in_dialog(request)
            && !self.calls.contains_key(call_id)
        {
            let script = self
                .scripts
                .pop_front()
                .unwrap_or_else(|| self.default_script.clone());
            let tag = format!("carrier-{}", self.calls.len() + 1);
            self.calls.insert(
                call_id.to_owned(),
                CarrierCall {
                    script,
                    tag,
                    invite: None,
                    pending: VecDeque::new(),
                    resume_at: None,
                },
            );
        }
        self.calls
            .get(call_id)
            .is_some_and(|call| call.script.is_silent())
    }

    fn drain(&mut self, clock: &Clock) {
        while let Some(output) = self.transactions.poll_output() {
            match output {
                Output::Transmit(transmit) => self.outbox.push(transmit),
                Output::Event(event) => self.on_event(clock, event),
            }
        }
    }

    fn on_event(&mut self, clock: &Clock, event: Event) {
        match event {
            Event::Request { key, request, .. } => self.on_request(clock, key, request),
            Event::Cancelled { key, .. } => {
                let cancelled = self
                    .calls
                    .values_mut()
                    .find(|c| c.invite.as_ref().is_some_and(|(k, _)| *k == key));
                if let Some(call) = cancelled
                    && let Some((key, invite)) = call.invite.take()
                {
                    call.pending.clear();
                    let mut response = invite.response(487);
                    tag(&mut response, &call.tag);
                    self.respond(clock, key, response);
                }
            }
            // ACKs (for 2xx, or after Timer H) and the rest need nothing from a carrier.
            _ => {}
        }
    }

    fn on_request(&mut self, clock: &Clock, key: ServerKey, request: Request) {
        if in_dialog(&request) {
            let mut response = request.response(200);
            if request.method == Method::Invite {
                response.headers.push(HeaderName::Contact, self.contact());
                self.add_sdp(&mut response);
            }
            self.respond(clock, key, response);
            return;
        }
        if request.method == Method::Invite {
            self.on_invite(clock, key, request);
            return;
        }
        let answer = match self.responders.get_mut(&request.method) {
            Some(responder) => responder(&request),
            None => Some(default_response(&request)),
        };
        if let Some(response) = answer {
            self.respond(clock, key, response);
        }
    }

    fn on_invite(&mut self, clock: &Clock, key: ServerKey, request: Request) {
        if let Some(challenge) = &mut self.challenge
            && let Err(response) = challenge.check(clock, &request)
        {
            self.respond(clock, key, response);
            return;
        }
        let call_id = request
            .headers
            .call_id()
            .expect("the transaction layer took a request with a Call-ID")
            .to_owned();
        let Some(call) = self.calls.get_mut(&call_id) else {
            panic!("a call's script is taken when its INVITE arrives");
        };
        call.pending = call.script.steps().iter().cloned().collect();
        call.resume_at = None;
        call.invite = Some((key, request));
        self.run_script(clock, &call_id);
    }

    /// Runs the call's steps until a wait that has not ended or the final response.
    fn run_script(&mut self, clock: &Clock, call_id: &str) {
        while let Some((key, mut response, sdp)) = self.next_response(clock.now(), call_id) {
            if (101..300).contains(&response.status) {
                response.headers.push(HeaderName::Contact, self.contact());
            }
            if sdp {
                self.add_sdp(&mut response);
            }
            self.respond(clock, key, response);
        }
    }

    /// The call's next response (and whether it carries SDP), passing the waits that have
    /// ended; `None` while it waits or when its script is done.
    fn next_response(
        &mut self,
        now: Instant,
        call_id: &str,
    ) -> Option<(ServerKey, Response, bool)> {
        let call = self.calls.get_mut(call_id)?;
        loop {
            if call.resume_at.is_some() {
                return None;
            }
            let (key, invite) = call.invite.as_ref()?;
            let key = *key;
            match call.pending.pop_front()? {
                Step::Wait(duration) => call.resume_at = Some(now + duration),
                Step::Respond { status, sdp } => {
                    let mut response = invite.response(status);
                    tag(&mut response, &call.tag);
                    if status >= 200 {
                        call.invite = None;
                        call.pending.clear();
                    }
                    return Some((key, response, sdp));
                }
            }
        }
    }

    fn respond(&mut self, clock: &Clock, key: ServerKey, response: Response) {
        if let Err(error) = self.transactions.send_response(clock.now(), key, response) {
            panic!("the carrier at {} could not respond: {error}", self.at);
        }
    }

    fn contact(&self) -> String {
        format!("<sip:carrier@{}>", self.at.addr)
    }

    fn add_sdp(&self, response: &mut Response) {
        let body = sdp(&self.at.addr.ip().to_string(), self.media_port, "sendrecv");
        response
            .headers
            .push(HeaderName::ContentType, "application/sdp");
        response.body = Bytes::from(body);
    }
}

/// What a carrier answers a method nobody scripted: OPTIONS 200 (§11.2), a BYE outside any
/// dialog 481 (§15.1.2), anything else 405.
fn default_response(request: &Request) -> Response {
    match request.method {
        Method::Options => {
            let mut response = tagged_response(request, 200);
            response
                .headers
                .push(HeaderName::Allow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
            response
        }
        Method::Bye => tagged_response(request, 481),
        _ => {
            let mut response = tagged_response(request, 405);
            response
                .headers
                .push(HeaderName::Allow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
            response
        }
    }
}

/// Adds `tag` to the `To` of a response above 100 that has none.
fn tag(response: &mut Response, tag: &str) {
    if response.status > 100 && response.headers.to().is_ok_and(|to| to.tag().is_none()) {
        let to = response.headers.get(&HeaderName::To).unwrap_or_default();
        let tagged = format!("{to};tag={tag}");
        response.headers.set(HeaderName::To, tagged);
    }
}

/// A request is inside a dialog when its `To` carries a tag (§12.2).
fn in_dialog(request: &Request) -> bool {
    request.headers.to().is_ok_and(|to| to.tag().is_some())
}
