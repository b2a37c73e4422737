//! crossbar's SIP endpoint, sans-IO: the transaction layer with the UAS core on top
//! (RFC 3261 §8.2) — the checks every request gets, OPTIONS, and REGISTER with digest
//! authentication into the [`Registrar`].
//!
//! The binary feeds it datagrams, framed stream messages and timeouts, with `now` (for
//! timers) and the wall clock (for nonces and binding expiry), and drains
//! [`Endpoint::poll_output`]: messages to send and binding changes to persist. A REGISTER's
//! 200 is held back until [`Endpoint::persisted`] confirms its changes reached the database,
//! so a phone told it is registered stays registered across a restart.

mod admission;
mod checks;

pub use admission::{Identity, TrustedSource};

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use crossbar_auth::{Authenticator, Outcome, Secret};
use crossbar_sip::{HeaderName, Message, Method, ParseError, Request, Response};

use crate::registrar::{Binding, BindingChange, Registrar, RegistrarSettings, with_reason};
use crate::transaction::{
    ClientKey, Event, Output, Peer, ServerKey, Timers, TransactionError, TransactionKey,
    Transactions, Transmit, stateless_response,
};

/// The methods crossbar implements, for `Allow` (§20.5).
pub const ALLOWED_METHODS: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO";

/// What the endpoint needs to know that does not change per request.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    /// Value of `Server` on responses.
    pub server_name: String,
    pub registrar: RegistrarSettings,
    pub timers: Timers,
}

/// One extension as the endpoint sees it: who may authenticate and register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The extension number: bindings are kept under it.
    pub number: String,
    /// The SIP user name the phone authenticates and registers as (often the number).
    pub username: String,
    /// The SIP digest secret.
    pub secret: String,
    /// Per-extension limit on registered contacts.
    pub max_contacts: Option<usize>,
}

/// A batch of binding changes waiting to be written; answer with [`Endpoint::persisted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// What the endpoint hands to the call layer above it (the switch): requests that start or
/// continue calls, and everything about the requests the call layer sent.
#[derive(Debug, Clone, PartialEq)]
pub enum SipEvent {
    /// An out-of-dialog INVITE from an authenticated extension or a trusted trunk; answer it
    /// with [`Endpoint::respond`].
    Invite {
        key: ServerKey,
        request: Request,
        source: Peer,
        /// Who is calling.
        caller: Identity,
    },
    /// A request inside a dialog (its `To` has a tag): BYE, re-INVITE, UPDATE, INFO...
    /// Answer it with [`Endpoint::respond`]; 481 if no dialog matches (§12.2.2).
    InDialog {
        key: ServerKey,
        request: Request,
        source: Peer,
    },
    /// The ACK for a 2xx (it has no transaction of its own, §17.1.1.3).
    Ack { request: Request, source: Peer },
    /// A CANCEL matched INVITE `key` before its final response: answer the INVITE 487.
    Cancelled { key: ServerKey },
    /// The ACK for a non-2xx final to INVITE `key` never came (Timer H).
    AckTimeout { key: ServerKey },
    /// A response to a request sent with [`Endpoint::send_request`].
    Response { key: ClientKey, response: Response },
    /// No final response came (Timer B/F): `response` is the 408 to act on.
    Timeout { key: ClientKey, response: Response },
    /// A message of transaction `key` could not be sent.
    TransportError { key: TransactionKey },
    /// A response matching no transaction, e.g. a 2xx retransmitted after the INVITE
    /// transaction ended (the call layer ACKs it again).
    StrayResponse { response: Response, source: Peer },
}

/// What the run loop must do.
// Outputs are moved through a queue one at a time; boxing the message would cost an
// allocation per message sent for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointOutput {
    /// Send a message.
    Transmit(Transmit),
    /// Write these changes to the database, then call [`Endpoint::persisted`] with `ticket`.
    Persist {
        ticket: Ticket,
        changes: Vec<BindingChange>,
    },
    /// Something for the call layer.
    Sip(SipEvent),
}

/// How often expired bindings are swept out of memory and the database.
const EXPIRY_SWEEP: Duration = Duration::from_secs(30);

/// `Retry-After` on a 500 answered because the database write failed.
const RETRY_AFTER_WRITE_FAILURE: u32 = 5;

pub struct Endpoint {
    settings: EndpointSettings,
    transactions: Transactions,
    auth: Authenticator,
    registrar: Registrar,
    /// Accounts by SIP user name.
    accounts: HashMap<String, Account>,
    /// SIP user name by extension number, for AORs written with the number.
    usernames: HashMap<String, String>,
    /// Where trunks' requests come from (IP authentication).
    trusted: Vec<TrustedSource>,
    /// Responses held until their ticket's changes are persisted.
    held: HashMap<Ticket, (ServerKey, Response)>,
    next_ticket: u64,
    outputs: VecDeque<EndpointOutput>,
    next_sweep: Option<Instant>,
}

impl Endpoint {
    pub fn new(
        settings: EndpointSettings,
        auth: Authenticator,
        accounts: Vec<Account>,
        seed: u64,
    ) -> Endpoint {
        let mut endpoint = Endpoint {
            transactions: Transactions::new(settings.timers, seed),
            registrar: Registrar::new(settings.registrar),
            settings,
            auth,
            accounts: HashMap::new(),
            usernames: HashMap::new(),
            trusted: Vec::new(),
            held: HashMap::new(),
            next_ticket: 0,
            outputs: VecDeque::new(),
            next_sweep: None,
        };
        endpoint.set_accounts(accounts);
        endpoint
    }

    /// Loads the bindings read back from the database at start.
    pub fn restore_bindings(&mut self, wall: SystemTime, bindings: Vec<Binding>) {
        self.registrar.restore(unix_seconds(wall), bindings);
    }

    pub fn registrar(&self) -> &Registrar {
        &self.registrar
    }

    /// Replaces the extension directory (configuration reload).
    pub fn set_accounts(&mut self, accounts: Vec<Account>) {
        self.usernames = accounts
            .iter()
            .map(|a| (a.number.clone(), a.username.clone()))
            .collect();
        self.accounts = accounts
            .into_iter()
            .map(|a| (a.username.clone(), a))
            .collect();
    }

    /// Replaces the addresses trunks are trusted at (configuration, and each time a trunk's
    /// host resolves anew).
    pub fn set_trusted_sources(&mut self, trusted: Vec<TrustedSource>) {
        self.trusted = trusted;
    }

    /// The account an address-of-record's user part names: by user name, else by number.
    fn account_of(&self, user: &str) -> Option<&Account> {
        self.accounts.get(user).or_else(|| {
            self.usernames
                .get(user)
                .and_then(|username| self.accounts.get(username))
        })
    }

    /// One UDP datagram from `source` (RFC 3261 §18.3: one message per datagram).
    pub fn handle_datagram(&mut self, now: Instant, wall: SystemTime, bytes: &[u8], source: Peer) {
        let parsed = crossbar_sip::parse_datagram(bytes);
        self.handle_message(now, wall, parsed, source);
    }

    /// One message (or the reason it is malformed) from `source`.
    pub fn handle_message(
        &mut self,
        now: Instant,
        wall: SystemTime,
        parsed: Result<Message, ParseError>,
        source: Peer,
    ) {
        match parsed {
            Ok(Message::Request(request)) => {
                tracing::trace!(%source, method = %request.method, "request");
                if let Err(error) = self.transactions.handle_request(now, request, source) {
                    tracing::debug!(%source, %error, "request dropped");
                }
            }
            Ok(Message::Response(response)) => {
                tracing::trace!(%source, status = response.status, "response");
                if let Err(error) = self.transactions.handle_response(now, response, source) {
                    tracing::debug!(%source, %error, "response dropped");
                }
            }
            Err(error) => self.reject_malformed(error, source),
        }
        self.drain_transactions(now, wall);
    }

    /// The deadline from [`Endpoint::poll_timeout`] has passed.
    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        self.transactions.handle_timeout(now);
        if self.next_sweep.is_none_or(|at| at <= now) {
            self.next_sweep = Some(now + EXPIRY_SWEEP);
            self.auth.purge_expired(wall);
            let removed = self.registrar.expire(unix_seconds(wall));
            if !removed.is_empty() {
                self.persist(removed);
            }
        }
        self.drain_transactions(now, wall);
    }

    /// A message of transaction `key` could not be sent (RFC 3261 §17.1.4, §17.2.4): the
    /// transaction ends and the call layer hears of it ([`SipEvent::TransportError`]).
    pub fn handle_transport_error(&mut self, now: Instant, wall: SystemTime, key: TransactionKey) {
        self.transactions.handle_transport_error(now, key);
        self.drain_transactions(now, wall);
    }

    /// The connection to `peer` closed: the requests sent over it and still unanswered fail
    /// (see [`Transactions::handle_connection_lost`]).
    pub fn handle_connection_lost(&mut self, now: Instant, wall: SystemTime, peer: Peer) {
        self.transactions.handle_connection_lost(now, peer);
        self.drain_transactions(now, wall);
    }

    /// The outcome of writing a [`EndpointOutput::Persist`] batch. On success the held
    /// response goes out; on failure the phone is told 500 with `Retry-After`, so it tries
    /// again rather than believing a registration that would not survive a restart.
    pub fn persisted(&mut self, now: Instant, wall: SystemTime, ticket: Ticket, ok: bool) {
        if let Some((key, response)) = self.held.remove(&ticket) {
            let response = if ok {
                response
            } else {
                let mut failed = Response::new(500);
                failed.headers = response.headers.clone();
                failed.headers.remove(&HeaderName::Contact);
                failed.headers.remove(&HeaderName::Date);
                failed.headers.push(
                    HeaderName::RetryAfter,
                    RETRY_AFTER_WRITE_FAILURE.to_string(),
                );
                failed
            };
            self.respond(now, key, response);
        }
        self.drain_transactions(now, wall);
    }

    pub fn poll_output(&mut self) -> Option<EndpointOutput> {
        self.outputs.pop_front()
    }

    /// The next instant [`Endpoint::handle_timeout`] must be called.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let transactions = self.transactions.poll_timeout();
        match (transactions, self.next_sweep) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A request that did not parse gets 400 (or 505) statelessly when its headers allow
    /// a response to be routed (§8.2, §16.3); a malformed response is dropped (§18.1.2).
    fn reject_malformed(&mut self, error: ParseError, source: Peer) {
        let (true, Some(headers)) = (error.is_request, error.headers.as_ref()) else {
            tracing::debug!(%source, %error, "malformed message dropped");
            return;
        };
        // Never answer an ACK (§17.2.1: ACKs get no response).
        let is_ack = headers
            .get(&HeaderName::CSeq)
            .is_some_and(|cseq| cseq.trim_end().ends_with("ACK"));
        if is_ack {
            return;
        }
        match stateless_response(headers, source, error.kind.status()) {
            Ok((destination, mut response)) => {
                tracing::debug!(%source, %error, status = response.status, "malformed request");
                // The reason phrase says what was wrong, for whoever reads the trace.
                response.reason = format!("{} ({})", response.reason, error.kind);
                response.reason.retain(|c| c != '\r' && c != '\n');
                self.decorate(&mut response);
                self.outputs.push_back(EndpointOutput::Transmit(Transmit {
                    destination,
                    message: Message::Response(response),
                    key: None,
                    local: None,
                }));
            }
            Err(error) => tracing::debug!(%source, %error, "malformed request dropped"),
        }
    }

    fn drain_transactions(&mut self, now: Instant, wall: SystemTime) {
        while let Some(output) = self.transactions.poll_output() {
            match output {
                Output::Transmit(transmit) => {
                    self.outputs.push_back(EndpointOutput::Transmit(transmit));
                }
                Output::Event(event) => self.on_event(now, wall, event),
            }
        }
    }

    fn on_event(&mut self, now: Instant, wall: SystemTime, event: Event) {
        match event {
            Event::Request {
                key,
                request,
                source,
            } => self.on_request(now, wall, key, request, source),
            Event::Cancelled { key, .. } => self.up(SipEvent::Cancelled { key }),
            Event::Ack { request, source } => self.up(SipEvent::Ack { request, source }),
            Event::Response { key, response } => self.up(SipEvent::Response { key, response }),
            Event::Timeout { key, response } => self.up(SipEvent::Timeout { key, response }),
            Event::AckTimeout { key } => self.up(SipEvent::AckTimeout { key }),
            Event::TransportError { key } => self.up(SipEvent::TransportError { key }),
            Event::StrayResponse { response, source } => {
                self.up(SipEvent::StrayResponse { response, source });
            }
            Event::Terminated { .. } => {}
        }
    }

    fn up(&mut self, event: SipEvent) {
        self.outputs.push_back(EndpointOutput::Sip(event));
    }

    fn on_request(
        &mut self,
        now: Instant,
        wall: SystemTime,
        key: ServerKey,
        request: Request,
        source: Peer,
    ) {
        if let Some(response) = checks::reject(&request) {
            self.respond(now, key, response);
            return;
        }
        match request.method {
            Method::Options => {
                let response = checks::options_response(&request);
                self.respond(now, key, response);
            }
            Method::Register => self.on_register(now, wall, key, &request, source),
            // A request inside a dialog belongs to the call layer (§12.2.2).
            _ if in_dialog(&request) => self.up(SipEvent::InDialog {
                key,
                request,
                source,
            }),
            Method::Invite if let Some(trunk) = self.trunk_at(source, &request) => {
                let caller = Identity::Trunk(trunk.to_owned());
                self.up(SipEvent::Invite {
                    key,
                    request,
                    source,
                    caller,
                });
            }
            Method::Invite => match self.authenticate(wall, &request, 407) {
                Err(challenge) => self.respond(now, key, challenge),
                Ok(user) => {
                    let Some(caller) = self.accounts.get(&user).map(|a| a.number.clone()) else {
                        // Authenticated against an account that a reload just removed.
                        self.respond(now, key, request.response(403));
                        return;
                    };
                    self.up(SipEvent::Invite {
                        key,
                        request,
                        source,
                        caller: Identity::Extension(caller),
                    });
                }
            },
            // BYE and the like outside any dialog (§12.2.2 / §15.1.2).
            _ => self.respond(now, key, request.response(481)),
        }
    }

    /// The trunk a request from `source` belongs to, by its address (and, for a call on a
    /// registration, the contact it is for).
    fn trunk_at(&self, source: Peer, request: &Request) -> Option<&str> {
        let user = match &request.uri {
            crossbar_sip::Uri::Sip(uri) => uri.user.as_deref(),
            _ => None,
        };
        self.trusted
            .iter()
            .find(|t| t.admits(source.addr, user))
            .map(|t| t.trunk.as_str())
    }

    fn on_register(
        &mut self,
        now: Instant,
        wall: SystemTime,
        key: ServerKey,
        request: &Request,
        source: Peer,
    ) {
        let aor_user = match Registrar::address_of_record(request) {
            Ok(user) => user,
            Err(response) => return self.respond(now, key, response),
        };
        let user = match self.authenticate(wall, request, 401) {
            Ok(user) => user,
            Err(challenge) => return self.respond(now, key, challenge),
        };
        // §10.3 step 4: an extension may change only its own bindings.
        let account = self
            .account_of(&aor_user)
            .filter(|account| account.username == user);
        let Some(account) = account else {
            tracing::info!(%user, aor = %aor_user, %source, "registration for another AOR refused");
            let response = with_reason(request.response(403), "Not Your AOR");
            return self.respond(now, key, response);
        };
        let (aor, max_contacts) = (account.number.clone(), account.max_contacts);
        let registration =
            self.registrar
                .register(unix_seconds(wall), request, source, &aor, max_contacts);
        if registration.response.status == 200 {
            for change in &registration.changes {
                match change {
                    BindingChange::Upsert(b) => tracing::info!(
                        extension = %b.aor, contact = %b.contact, expires = b.remaining(unix_seconds(wall)),
                        %source, "registered"
                    ),
                    BindingChange::Remove { aor, contact } => {
                        tracing::info!(extension = %aor, %contact, %source, "unregistered");
                    }
                    BindingChange::RemoveAll { aor } => {
                        tracing::info!(extension = %aor, %source, "unregistered all contacts");
                    }
                }
            }
        } else {
            tracing::info!(extension = %aor, status = registration.response.status, %source, "registration refused");
        }
        if registration.changes.is_empty() {
            self.respond(now, key, registration.response);
        } else {
            let ticket = self.persist(registration.changes);
            self.held.insert(ticket, (key, registration.response));
        }
    }

    /// Digest authentication (RFC 3261 §22.4 with RFC 7616/8760). `Err` is the challenge to
    /// send: 401 with `WWW-Authenticate` or 407 with `Proxy-Authenticate`. An unknown user
    /// gets exactly what a wrong password gets: a fresh challenge.
    fn authenticate(
        &mut self,
        wall: SystemTime,
        request: &Request,
        challenge_status: u16,
    ) -> Result<String, Response> {
        let (credentials_header, challenge_header) = if challenge_status == 407 {
            (
                HeaderName::ProxyAuthorization,
                HeaderName::ProxyAuthenticate,
            )
        } else {
            (HeaderName::Authorization, HeaderName::WwwAuthenticate)
        };
        let accounts = &self.accounts;
        let outcome = self.auth.verify(
            wall,
            request.method.as_str(),
            request.headers.get_all(&credentials_header),
            |user, _hash| {
                accounts
                    .get(user)
                    .map(|account| Secret::Password(account.secret.clone()))
            },
        );
        let stale = match outcome {
            Ok(Outcome::Authenticated(who)) => return Ok(who.username),
            Ok(outcome) => {
                if !matches!(outcome, Outcome::NoCredentials) {
                    tracing::info!(method = %request.method, ?outcome, "authentication failed");
                }
                outcome.stale()
            }
            Err(error) => {
                tracing::info!(method = %request.method, %error, "malformed credentials");
                false
            }
        };
        let mut response = request.response(challenge_status);
        for challenge in self.auth.challenges(wall, stale) {
            response.headers.push(challenge_header.clone(), challenge);
        }
        Err(response)
    }

    fn persist(&mut self, changes: Vec<BindingChange>) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.outputs
            .push_back(EndpointOutput::Persist { ticket, changes });
        ticket
    }

    /// Sends `response` in server transaction `key` (with crossbar's `Server` header and,
    /// §8.2.6.2, a `To` tag when it has none).
    pub fn respond(&mut self, now: Instant, key: ServerKey, response: Response) {
        self.respond_to_key(now, key, response);
    }

    /// Sends `request` in a new client transaction (see [`Transactions::send_request`]).
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        destination: Peer,
    ) -> Result<ClientKey, TransactionError> {
        self.transactions.send_request(now, request, destination)
    }

    /// [`Endpoint::send_request`] from local socket `local` (see [`Transactions::send_request_from`]).
    pub fn send_request_from(
        &mut self,
        now: Instant,
        request: Request,
        destination: Peer,
        local: Option<std::net::SocketAddr>,
    ) -> Result<ClientKey, TransactionError> {
        self.transactions
            .send_request_from(now, request, destination, local)
    }

    /// Sends a message outside any transaction from local socket `local` (the ACK for a 2xx
    /// in a dialog reached through a chosen listener).
    pub fn transmit_from(
        &mut self,
        destination: Peer,
        message: Message,
        local: Option<std::net::SocketAddr>,
    ) {
        self.transactions.transmit_from(destination, message, local);
    }

    /// CANCELs INVITE client transaction `invite` (§9.1).
    pub fn cancel(
        &mut self,
        now: Instant,
        invite: ClientKey,
    ) -> Result<ClientKey, TransactionError> {
        self.transactions.cancel(now, invite)
    }

    /// Sends a message outside any transaction: the ACK for a 2xx (§13.2.2.4).
    pub fn transmit(&mut self, destination: Peer, message: Message) {
        self.transactions.transmit(destination, message);
    }

    /// A fresh `To`/`From` tag.
    pub fn new_tag(&mut self) -> String {
        self.transactions.new_tag()
    }

    /// A fresh RFC 3261 branch (`z9hG4bK...`).
    pub fn new_branch(&mut self) -> String {
        self.transactions.new_branch()
    }

    /// Whether `number` is an extension, and its account.
    pub fn account(&self, number_or_user: &str) -> Option<&Account> {
        self.account_of(number_or_user)
    }

    /// Moves outputs queued by the transaction layer (after calls such as
    /// [`Endpoint::respond`]) to [`Endpoint::poll_output`].
    pub fn flush(&mut self, now: Instant, wall: SystemTime) {
        self.drain_transactions(now, wall);
    }

    fn respond_to_key(&mut self, now: Instant, key: ServerKey, mut response: Response) {
        self.decorate(&mut response);
        // §8.2.6.2: a UAS adds a tag to the To of every response but 100 (the transaction
        // layer re-sends this same response, tag included, on retransmissions).
        if response.status > 100 && response.headers.to().is_ok_and(|to| to.tag().is_none()) {
            let tag = self.transactions.new_tag();
            if let Some(to) = response
                .headers
                .0
                .iter_mut()
                .find(|h| h.name == HeaderName::To)
            {
                to.value = format!("{};tag={tag}", to.value);
            }
        }
        if let Err(error) = self.transactions.send_response(now, key, response) {
            tracing::debug!(%key, %error, "response not sent");
        }
    }

    /// Headers every response of crossbar carries.
    fn decorate(&self, response: &mut Response) {
        if !response.headers.contains(&HeaderName::Server) {
            response
                .headers
                .push(HeaderName::Server, self.settings.server_name.clone());
        }
        if matches!(response.status, 405 | 501) && !response.headers.contains(&HeaderName::Allow) {
            response.headers.push(HeaderName::Allow, ALLOWED_METHODS);
        }
    }
}

/// A request is inside a dialog when its `To` carries a tag (§12.2).
fn in_dialog(request: &Request) -> bool {
    request.headers.to().is_ok_and(|to| to.tag().is_some())
}

/// Seconds since the Unix epoch (0 for a clock set before 1970).
pub fn unix_seconds(wall: SystemTime) -> i64 {
    wall.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
