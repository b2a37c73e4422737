//! The SIP transaction layer (RFC 3261 §17 with RFC 6026's corrections) and the server
//! transport's `Via` rules (§18.2.1, §18.2.2, RFC 3581), sans-IO.
//!
//! [`Transactions`] owns every client and server transaction. The run loop that owns the
//! sockets and the clock drives it (the str0m shape):
//!
//! - inputs: [`Transactions::handle_request`] / [`Transactions::handle_response`] for
//!   parsed messages from the network, [`Transactions::handle_timeout`] when the deadline
//!   from [`Transactions::poll_timeout`] passes, [`Transactions::handle_transport_error`]
//!   when a [`Transmit`] could not be sent;
//! - TU calls: [`Transactions::send_response`], [`Transactions::send_request`],
//!   [`Transactions::cancel`], [`Transactions::transmit`] (stateless sends, such as the
//!   ACK for a 2xx);
//! - outputs: [`Transactions::poll_output`] until `None` after every input — messages to
//!   send ([`Output::Transmit`]) and [`Event`]s for the TU.
//!
//! Time is only ever the `now` passed in; nothing sleeps, nothing reads a clock.
//!
//! ```
//! use std::time::Instant;
//! use crossbar_proto::transaction::{Event, Output, Timers, Transactions};
//!
//! let mut layer = Transactions::new(Timers::default(), 0x5eed);
//! let now = Instant::now();
//! // After any input — handle_request/handle_response for a parsed message, a TU call,
//! // or handle_timeout(now) once poll_timeout's instant has passed — drain the outputs:
//! layer.handle_timeout(now);
//! while let Some(output) = layer.poll_output() {
//!     match output {
//!         Output::Transmit(t) => {
//!             let _bytes = t.message.to_bytes(); // send to t.destination
//!         }
//!         Output::Event(Event::Request { key, request, .. }) => {
//!             let _ = layer.send_response(now, key, request.response(501));
//!         }
//!         Output::Event(_) => {}
//!     }
//! }
//! let _wake_at = layer.poll_timeout(); // sleep until then, or until the next message
//! ```
//!
//! Choices worth knowing:
//!
//! - `100 Trying` for an INVITE goes out after [`Timers::trying`] (200 ms, §17.2.1) unless
//!   the TU responded first; set it to zero to send it at once.
//! - A CANCEL is answered by this layer (§9.2: 200 if it matches a server transaction,
//!   481 if not); if it matched an INVITE that has no final response yet, the TU gets
//!   [`Event::Cancelled`] and should answer the INVITE with 487.
//! - Requests without an RFC 3261 branch (RFC 2543 peers, RFC 4475's "badbranch") are
//!   matched by the RFC 2543 rules of §17.2.3.
//! - Responses matching no client transaction go to the TU as [`Event::StrayResponse`]
//!   (§18.1.2); a UAC core ACKs a stray 2xx retransmission from it.

mod client;
mod error;
mod key;
mod peer;
mod server;
#[cfg(test)]
mod tests;
mod timers;
mod via;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossbar_sip::{HeaderName, Headers, Message, Method, Request, Response};

pub use client::ClientState;
pub use error::{InputError, TransactionError};
pub use key::{ClientKey, MAGIC_COOKIE, ServerKey, TransactionKey};
pub use peer::{Peer, Transport};
pub use server::ServerState;
pub use timers::Timers;

use client::ClientTransaction;
use key::{ClientMatch, SentBy, ServerMatch, TokenSource, rfc3261_branch};
use server::{AckFate, ServerTransaction};
use timers::{Deadlines, Timer, TimerQueue, Wakeup};

/// What the run loop does next: send a message, or hand an event to the TU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Transmit(Transmit),
    Event(Event),
}

/// A message to send. `key` names the transaction it belongs to, so that a failure to send
/// can be reported with [`Transactions::handle_transport_error`]; `None` for stateless sends.
/// `local` names the local socket (a listen address) to send from when the sender chose one
/// ([`Transactions::send_request_from`]: a trunk reached through its own listener); `None`
/// leaves it to the run loop (the socket the destination last spoke to, else one of its
/// address family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: Peer,
    pub message: Message,
    pub key: Option<TransactionKey>,
    pub local: Option<SocketAddr>,
}

/// Something the TU must know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A request that matched no transaction opened server transaction `key` (§17.2.3);
    /// answer it with [`Transactions::send_response`]. Retransmissions are absorbed and
    /// never appear here. The top `Via` carries `received`/`rport` (§18.2.1).
    Request {
        key: ServerKey,
        request: Request,
        source: Peer,
    },
    /// An ACK no transaction absorbed: the ACK for a 2xx, arriving on its own branch
    /// (§17.2.3 gives unmatched requests to the core) or matching an INVITE server
    /// transaction in Accepted (RFC 6026 §7.1).
    Ack { request: Request, source: Peer },
    /// A CANCEL matched INVITE server transaction `key` before its final response. The
    /// CANCEL was answered 200 (§9.2); the TU should now answer the INVITE with 487.
    Cancelled {
        key: ServerKey,
        request: Request,
        source: Peer,
    },
    /// A response for client transaction `key`: provisionals, the final response, and in
    /// Accepted every 2xx retransmission (RFC 6026 §7.2), each of which the TU ACKs.
    Response { key: ClientKey, response: Response },
    /// Timer B or F fired: no final response arrived (§17.1.1.2, §17.1.2.2). §8.1.3.1 says
    /// to treat it as a 408; `response` is that 408, built from the request.
    Timeout { key: ClientKey, response: Response },
    /// Timer H fired: the ACK for a non-2xx final never came (§17.2.1).
    AckTimeout { key: ServerKey },
    /// A message of transaction `key` could not be sent (§17.1.4, §17.2.4).
    TransportError { key: TransactionKey },
    /// A response that matched no client transaction (§18.1.2).
    StrayResponse { response: Response, source: Peer },
    /// Transaction `key` terminated and was removed; the key is no longer valid. (Not
    /// reported for the CANCEL server transactions this layer answers itself.)
    Terminated { key: TransactionKey },
}

/// Whether a transaction lives on after an input.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Terminate,
}

/// What a machine can do while it handles one input: send, tell the TU, arm its timers.
pub(crate) struct Context<'a> {
    pub(crate) now: Instant,
    pub(crate) timers: &'a Timers,
    key: TransactionKey,
    /// The local socket the transaction's messages leave from, if chosen.
    local: Option<SocketAddr>,
    outputs: &'a mut VecDeque<Output>,
    queue: &'a mut TimerQueue,
}

impl Context<'_> {
    pub(crate) fn transmit(&mut self, destination: Peer, message: Message) {
        self.outputs.push_back(Output::Transmit(Transmit {
            destination,
            message,
            key: Some(self.key),
            local: self.local,
        }));
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    /// Arms `timer` to fire `after` from now (never, if that is past the end of time).
    pub(crate) fn arm(&mut self, deadlines: &mut Deadlines, timer: Timer, after: Duration) {
        let Some(at) = self.now.checked_add(after) else {
            deadlines.clear(timer);
            return;
        };
        deadlines.set(timer, at);
        self.queue.push(Wakeup {
            at,
            key: self.key,
            timer,
        });
    }

    /// Arms a wait-then-terminate timer (D, I, J, K), or terminates at once when it is zero
    /// (reliable transports).
    pub(crate) fn linger(
        &mut self,
        deadlines: &mut Deadlines,
        timer: Timer,
        after: Duration,
    ) -> Flow {
        if after.is_zero() {
            Flow::Terminate
        } else {
            self.arm(deadlines, timer, after);
            Flow::Continue
        }
    }
}

/// Every client and server transaction of one SIP endpoint, keyed by RFC 3261 §17.1.3 and
/// §17.2.3, and the queue of their timers.
#[derive(Debug)]
pub struct Transactions {
    timers: Timers,
    servers: HashMap<ServerKey, ServerTransaction>,
    server_index: HashMap<ServerMatch, ServerKey>,
    clients: HashMap<ClientKey, ClientTransaction>,
    client_index: HashMap<ClientMatch, ClientKey>,
    /// CANCELs waiting for their INVITE's first provisional response (§9.1), by INVITE.
    deferred_cancels: HashMap<ClientKey, ClientKey>,
    queue: TimerQueue,
    outputs: VecDeque<Output>,
    next_key: u64,
    tokens: TokenSource,
}

impl Transactions {
    /// An empty table. `seed` makes the branches and tags this layer generates; the run
    /// loop passes a random one, tests a fixed one.
    pub fn new(timers: Timers, seed: u64) -> Transactions {
        Transactions {
            timers,
            servers: HashMap::new(),
            server_index: HashMap::new(),
            clients: HashMap::new(),
            client_index: HashMap::new(),
            deferred_cancels: HashMap::new(),
            queue: TimerQueue::default(),
            outputs: VecDeque::new(),
            next_key: 0,
            tokens: TokenSource::new(seed),
        }
    }

    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// A new RFC 3261 branch (`z9hG4bK` + 16 hex digits), e.g. for the ACK of a 2xx.
    pub fn new_branch(&mut self) -> String {
        format!("{MAGIC_COOKIE}{}", self.tokens.next_token())
    }

    /// A new tag for `From`/`To` (§19.3).
    pub fn new_tag(&mut self) -> String {
        self.tokens.next_token()
    }

    /// The next output, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest instant [`Transactions::handle_timeout`] has work to do.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(wakeup) = self.queue.peek() {
            if self.is_armed(&wakeup) {
                return Some(wakeup.at);
            }
            self.queue.pop();
        }
        None
    }

    pub fn server_state(&self, key: ServerKey) -> Option<ServerState> {
        self.servers.get(&key).map(|tx| tx.state)
    }

    pub fn client_state(&self, key: ClientKey) -> Option<ClientState> {
        self.clients.get(&key).map(|tx| tx.state)
    }

    /// How many transactions are alive (server and client).
    pub fn len(&self) -> usize {
        self.servers.len() + self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A request from the network. Its top `Via` is stamped (§18.2.1), then it is matched
    /// (§17.2.3): a retransmission is absorbed (re-sending the latest response), an ACK
    /// goes to its INVITE transaction, a CANCEL is answered (§9.2), anything else opens a
    /// server transaction and becomes [`Event::Request`]. Unknown methods are non-INVITE.
    pub fn handle_request(
        &mut self,
        now: Instant,
        mut request: Request,
        source: Peer,
    ) -> Result<(), InputError> {
        let top_via = via::stamp_received(&mut request.headers, source).map_err(InputError::Via)?;
        let respond_to = via::response_destination(&top_via, source);
        let matcher = ServerMatch::of_request(&request, &top_via)?;
        match request.method {
            Method::Ack => self.on_ack(now, request, source, matcher),
            Method::Cancel => self.on_cancel(now, request, source, matcher, respond_to),
            _ => {
                if let Some(key) = self.server_index.get(&matcher).copied() {
                    tracing::trace!(%key, "request retransmission absorbed");
                    self.with_server(now, key, |tx, ctx| tx.on_retransmission(ctx));
                } else {
                    let key = self.open_server(now, matcher, &request, respond_to);
                    tracing::debug!(%key, method = %request.method, %source, "server transaction");
                    self.outputs.push_back(Output::Event(Event::Request {
                        key,
                        request,
                        source,
                    }));
                }
            }
        }
        Ok(())
    }

    /// A response from the network, matched to a client transaction by its top `Via`
    /// branch and `CSeq` method (§17.1.3).
    pub fn handle_response(
        &mut self,
        now: Instant,
        response: Response,
        source: Peer,
    ) -> Result<(), InputError> {
        if !(100..=699).contains(&response.status) {
            return Err(InputError::Status(response.status));
        }
        let top_via = response.headers.top_via().map_err(InputError::Via)?;
        let cseq = response.headers.cseq().map_err(InputError::CSeq)?;
        let key = rfc3261_branch(&top_via).and_then(|branch| {
            self.client_index
                .get(&ClientMatch {
                    branch: branch.to_owned(),
                    method: cseq.method,
                })
                .copied()
        });
        let Some(key) = key else {
            tracing::debug!(status = response.status, %source, "stray response");
            self.outputs
                .push_back(Output::Event(Event::StrayResponse { response, source }));
            return Ok(());
        };
        if self
            .clients
            .get(&key)
            .is_some_and(|tx| tx.sent_by != SentBy::of(&top_via))
        {
            return Err(InputError::SentByMismatch);
        }
        let flow = self.with_client(now, key, |tx, ctx| tx.on_response(ctx, response));
        self.after_client_input(now, key, flow);
        Ok(())
    }

    /// Fires every timer due at `now`: retransmissions, timeouts, the end of wait states.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(wakeup) = self.queue.pop_due(now) {
            if !self.is_armed(&wakeup) {
                continue;
            }
            let timer = wakeup.timer;
            match wakeup.key {
                TransactionKey::Server(key) => {
                    let flow = self.with_server(now, key, |tx, ctx| {
                        tx.deadlines.clear(timer);
                        tx.on_timer(ctx, timer)
                    });
                    self.after_server_input(key, flow);
                }
                TransactionKey::Client(key) => {
                    let flow = self.with_client(now, key, |tx, ctx| {
                        tx.deadlines.clear(timer);
                        tx.on_timer(ctx, timer)
                    });
                    self.after_client_input(now, key, flow);
                }
            }
        }
    }

    /// The run loop could not send a [`Transmit`] of transaction `key` (e.g. ICMP
    /// unreachable, connection refused): the TU is told and the transaction ends (§17.1.4,
    /// §17.2.4), except an INVITE server transaction in Accepted (RFC 6026 §7.1).
    /// The connection to `peer` closed. Every client transaction sent over it that has no
    /// final response yet fails as on a transport error (§17.1.4): its answer would have come
    /// back over that connection, and waiting for Timer B/F (32 s) would only delay the TU
    /// moving on (a call to the next trunk). Nothing happens for datagram transports.
    pub fn handle_connection_lost(&mut self, now: Instant, peer: Peer) {
        if !peer.is_reliable() {
            return;
        }
        let mut lost: Vec<ClientKey> = self
            .clients
            .iter()
            .filter(|(_, tx)| tx.destination == peer && !tx.is_final())
            .map(|(key, _)| *key)
            .collect();
        lost.sort_unstable();
        for key in lost {
            self.handle_transport_error(now, key.into());
        }
    }

    pub fn handle_transport_error(&mut self, now: Instant, key: TransactionKey) {
        match key {
            TransactionKey::Server(key) => {
                let flow = self.with_server(now, key, |tx, ctx| tx.on_transport_error(ctx));
                self.after_server_input(key, flow);
            }
            TransactionKey::Client(key) => {
                let flow = self.with_client(now, key, |tx, ctx| tx.on_transport_error(ctx));
                self.after_client_input(now, key, flow);
            }
        }
    }

    /// The TU's response for server transaction `key`, sent to where §18.2.2 says. INVITE:
    /// 1xx keep Proceeding, 2xx moves to Accepted (and may be repeated there, RFC 6026),
    /// 3xx-6xx move to Completed and are retransmitted (Timer G) until the ACK.
    /// Non-INVITE: 1xx moves to Proceeding, a final to Completed.
    pub fn send_response(
        &mut self,
        now: Instant,
        key: ServerKey,
        response: Response,
    ) -> Result<(), TransactionError> {
        let result = self
            .with_server(now, key, |tx, ctx| tx.on_response(ctx, response))
            .ok_or(TransactionError::Unknown(key.into()))?;
        self.after_server_input(key, Some(result?));
        Ok(())
    }

    /// Sends `request` to `destination` in a new client transaction and returns its key.
    ///
    /// The request must have a top `Via` with the TU's sent-by; this layer writes the
    /// transport of `destination` into it and, unless it already has an RFC 3261 branch,
    /// a new branch (§8.1.1.7, §18.1.1). ACKs are not transactions: see
    /// [`TransactionError::Ack`].
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        destination: Peer,
    ) -> Result<ClientKey, TransactionError> {
        self.send_request_from(now, request, destination, None)
    }

    /// [`Transactions::send_request`] from local socket `local` (a listen address): every
    /// message of the transaction (retransmissions, its CANCEL, the ACK of a non-2xx final)
    /// leaves from it.
    pub fn send_request_from(
        &mut self,
        now: Instant,
        mut request: Request,
        destination: Peer,
        local: Option<SocketAddr>,
    ) -> Result<ClientKey, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::Ack);
        }
        let mut top_via = request.headers.top_via().map_err(TransactionError::Via)?;
        let cseq = request.headers.cseq().map_err(TransactionError::CSeq)?;
        top_via.transport = destination.transport.via_token().to_owned();
        let branch = match rfc3261_branch(&top_via) {
            Some(branch) => branch.to_owned(),
            None => {
                let branch = self.new_branch();
                top_via.params.set("branch", Some(branch.clone()));
                branch
            }
        };
        via::replace_top_via(&mut request.headers, &top_via).map_err(TransactionError::Via)?;
        let matcher = ClientMatch {
            branch,
            method: request.method.clone(),
        };
        if self.client_index.contains_key(&matcher) {
            return Err(TransactionError::DuplicateBranch(matcher.branch));
        }
        let key = ClientKey(self.next_key());
        tracing::debug!(%key, method = %request.method, %destination, "client transaction");
        let mut ctx = Context {
            now,
            timers: &self.timers,
            key: key.into(),
            local,
            outputs: &mut self.outputs,
            queue: &mut self.queue,
        };
        let mut tx = ClientTransaction::start(
            &mut ctx,
            key,
            matcher.clone(),
            request,
            top_via,
            cseq.seq,
            destination,
        );
        tx.local = local;
        self.client_index.insert(matcher, key);
        self.clients.insert(key, tx);
        Ok(key)
    }

    /// Cancels INVITE client transaction `invite` (§9.1): a CANCEL with the INVITE's branch
    /// goes to the same destination in its own non-INVITE client transaction, whose key is
    /// returned (its 200 or 481 arrives as [`Event::Response`]; the INVITE itself should
    /// then end with 487). If no provisional response has arrived yet, the CANCEL waits for
    /// one; if a final response comes first, the CANCEL is dropped and its key reported
    /// [`Event::Terminated`]. Calling it again while the CANCEL waits returns the same key.
    pub fn cancel(
        &mut self,
        now: Instant,
        invite: ClientKey,
    ) -> Result<ClientKey, TransactionError> {
        let tx = self
            .clients
            .get(&invite)
            .ok_or(TransactionError::Unknown(invite.into()))?;
        let refuse = |reason| TransactionError::NotCancellable {
            key: invite,
            state: Some(tx.state),
            reason,
        };
        if !tx.is_invite() {
            return Err(refuse("only INVITE transactions are cancelled"));
        }
        if tx.is_final() {
            return Err(refuse("a final response has arrived"));
        }
        if let Some(&cancel) = self.deferred_cancels.get(&invite) {
            return Ok(cancel);
        }
        let matcher = ClientMatch {
            branch: tx.matcher.branch.clone(),
            method: Method::Cancel,
        };
        if self.client_index.contains_key(&matcher) {
            return Err(refuse("a CANCEL is already in progress"));
        }
        let cancel = ClientKey(self.next_key());
        if self.client_state(invite) == Some(ClientState::Calling) {
            tracing::debug!(%invite, %cancel, "CANCEL waits for a provisional response");
            self.deferred_cancels.insert(invite, cancel);
        } else {
            self.start_cancel(now, invite, cancel);
        }
        Ok(cancel)
    }

    /// Queues a message outside any transaction: the ACK for a 2xx (§13.2.2.4), a
    /// retransmitted 2xx after the server transaction ended, a stateless response.
    pub fn transmit(&mut self, destination: Peer, message: Message) {
        self.transmit_from(destination, message, None);
    }

    /// [`Transactions::transmit`] from local socket `local`.
    pub fn transmit_from(
        &mut self,
        destination: Peer,
        message: Message,
        local: Option<SocketAddr>,
    ) {
        self.outputs.push_back(Output::Transmit(Transmit {
            destination,
            message,
            key: None,
            local,
        }));
    }

    fn next_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    fn is_armed(&self, wakeup: &Wakeup) -> bool {
        let deadlines = match wakeup.key {
            TransactionKey::Server(key) => self.servers.get(&key).map(|tx| &tx.deadlines),
            TransactionKey::Client(key) => self.clients.get(&key).map(|tx| &tx.deadlines),
        };
        deadlines.and_then(|d| d.get(wakeup.timer)) == Some(wakeup.at)
    }

    /// Runs `f` on server transaction `key` with a context; `None` if it does not exist.
    fn with_server<R>(
        &mut self,
        now: Instant,
        key: ServerKey,
        f: impl FnOnce(&mut ServerTransaction, &mut Context<'_>) -> R,
    ) -> Option<R> {
        let tx = self.servers.get_mut(&key)?;
        let mut ctx = Context {
            now,
            timers: &self.timers,
            key: key.into(),
            local: None,
            outputs: &mut self.outputs,
            queue: &mut self.queue,
        };
        Some(f(tx, &mut ctx))
    }

    fn with_client<R>(
        &mut self,
        now: Instant,
        key: ClientKey,
        f: impl FnOnce(&mut ClientTransaction, &mut Context<'_>) -> R,
    ) -> Option<R> {
        let tx = self.clients.get_mut(&key)?;
        let mut ctx = Context {
            now,
            timers: &self.timers,
            key: key.into(),
            local: tx.local,
            outputs: &mut self.outputs,
            queue: &mut self.queue,
        };
        Some(f(tx, &mut ctx))
    }

    fn open_server(
        &mut self,
        now: Instant,
        matcher: ServerMatch,
        request: &Request,
        respond_to: Peer,
    ) -> ServerKey {
        let key = ServerKey(self.next_key());
        let mut ctx = Context {
            now,
            timers: &self.timers,
            key: key.into(),
            local: None,
            outputs: &mut self.outputs,
            queue: &mut self.queue,
        };
        let tx = ServerTransaction::start(&mut ctx, key, matcher.clone(), request, respond_to);
        self.server_index.insert(matcher, key);
        self.servers.insert(key, tx);
        key
    }

    fn after_server_input(&mut self, key: ServerKey, flow: Option<Flow>) {
        if flow != Some(Flow::Terminate) {
            return;
        }
        let Some(tx) = self.servers.remove(&key) else {
            return;
        };
        if self.server_index.get(&tx.matcher) == Some(&key) {
            self.server_index.remove(&tx.matcher);
        }
        tracing::debug!(%key, "server transaction terminated");
        if tx.announced {
            self.outputs
                .push_back(Output::Event(Event::Terminated { key: key.into() }));
        }
    }

    /// Removes a terminated client transaction, and starts or drops a CANCEL waiting for
    /// this INVITE's first provisional response (§9.1).
    fn after_client_input(&mut self, now: Instant, key: ClientKey, flow: Option<Flow>) {
        if flow == Some(Flow::Terminate)
            && let Some(tx) = self.clients.remove(&key)
        {
            if self.client_index.get(&tx.matcher) == Some(&key) {
                self.client_index.remove(&tx.matcher);
            }
            tracing::debug!(%key, "client transaction terminated");
            self.outputs
                .push_back(Output::Event(Event::Terminated { key: key.into() }));
        }
        let Some(&cancel) = self.deferred_cancels.get(&key) else {
            return;
        };
        match self.client_state(key) {
            Some(ClientState::Calling) => {}
            Some(ClientState::Proceeding) => {
                self.deferred_cancels.remove(&key);
                self.start_cancel(now, key, cancel);
            }
            _ => {
                // §9.1: a final response makes the CANCEL pointless; it is never sent.
                self.deferred_cancels.remove(&key);
                self.outputs
                    .push_back(Output::Event(Event::Terminated { key: cancel.into() }));
            }
        }
    }

    fn start_cancel(&mut self, now: Instant, invite: ClientKey, cancel: ClientKey) {
        let Some(invite_tx) = self.clients.get(&invite) else {
            return;
        };
        let request = invite_tx.cancel_request();
        let matcher = ClientMatch {
            branch: invite_tx.matcher.branch.clone(),
            method: Method::Cancel,
        };
        let destination = invite_tx.destination;
        let local = invite_tx.local;
        let started = request.headers.top_via().and_then(|via| {
            let cseq = request.headers.cseq()?;
            Ok((via, cseq.seq))
        });
        let Ok((top_via, seq)) = started else {
            return;
        };
        tracing::debug!(%invite, %cancel, "CANCEL sent");
        let mut ctx = Context {
            now,
            timers: &self.timers,
            key: cancel.into(),
            local,
            outputs: &mut self.outputs,
            queue: &mut self.queue,
        };
        let mut tx = ClientTransaction::start(
            &mut ctx,
            cancel,
            matcher.clone(),
            request,
            top_via,
            seq,
            destination,
        );
        tx.local = local;
        self.client_index.insert(matcher, cancel);
        self.clients.insert(cancel, tx);
    }

    /// An ACK (§17.2.3: it matches the INVITE transaction). Absorbed in Completed and
    /// Confirmed; in Accepted, or matching nothing, it is the 2xx's ACK and goes to the TU.
    fn on_ack(&mut self, now: Instant, request: Request, source: Peer, matcher: ServerMatch) {
        let target = match &matcher {
            ServerMatch::Branch { .. } => self.server_index.get(&matcher).copied(),
            ServerMatch::Legacy(ack) => self
                .servers
                .values()
                .find(|tx| match &tx.matcher {
                    ServerMatch::Legacy(invite) => {
                        ack.acknowledges(invite, response_to_tag(tx.last_response()).as_deref())
                    }
                    ServerMatch::Branch { .. } => false,
                })
                .map(|tx| tx.key),
        };
        let fate = match target {
            Some(key) => {
                let outcome = self.with_server(now, key, |tx, ctx| {
                    if tx.is_invite() {
                        tx.on_ack(ctx)
                    } else {
                        (AckFate::ToTu, Flow::Continue)
                    }
                });
                let (fate, flow) = outcome.unwrap_or((AckFate::ToTu, Flow::Continue));
                self.after_server_input(key, Some(flow));
                fate
            }
            None => AckFate::ToTu,
        };
        if fate == AckFate::ToTu {
            self.outputs
                .push_back(Output::Event(Event::Ack { request, source }));
        }
    }

    /// A CANCEL (§9.2): its own non-INVITE server transaction, answered here with 200 if
    /// it matches a server transaction (by the rules of §17.2.3 with the method ignored)
    /// and 481 if not. An INVITE it catches before the final response is reported with
    /// [`Event::Cancelled`].
    fn on_cancel(
        &mut self,
        now: Instant,
        request: Request,
        source: Peer,
        matcher: ServerMatch,
        respond_to: Peer,
    ) {
        if let Some(key) = self.server_index.get(&matcher).copied() {
            self.with_server(now, key, |tx, ctx| tx.on_retransmission(ctx));
            return;
        }
        let target = self
            .server_index
            .get(&matcher.with_method(Method::Invite))
            .copied()
            .or_else(|| {
                self.servers
                    .values()
                    .find(|tx| {
                        *tx.matcher.method() != Method::Cancel && tx.matcher.same_request(&matcher)
                    })
                    .map(|tx| tx.key)
            });
        let target = target.and_then(|key| self.servers.get(&key));
        let (status, tag) = match target {
            // §9.2: the To tags of the CANCEL's response and the INVITE's should agree.
            Some(tx) => (200, response_to_tag(tx.last_response())),
            None => (481, None),
        };
        let cancelled = target
            .filter(|tx| tx.is_invite() && !tx.is_final())
            .map(|tx| tx.key);
        let mut response = request.response(status);
        let tag = tag.unwrap_or_else(|| self.new_tag());
        add_to_tag(&mut response.headers, &tag);

        let key = self.open_server(now, matcher, &request, respond_to);
        if let Some(tx) = self.servers.get_mut(&key) {
            tx.announced = false;
        }
        tracing::debug!(%key, status, ?cancelled, "CANCEL answered");
        let flow = self
            .with_server(now, key, |tx, ctx| tx.on_response(ctx, response))
            .and_then(Result::ok);
        self.after_server_input(key, flow);
        if let Some(key) = cancelled {
            self.outputs.push_back(Output::Event(Event::Cancelled {
                key,
                request,
                source,
            }));
        }
    }
}

/// A response to a request that got no transaction (§8.2.7, §18.2.2), e.g. a 400 for a
/// request that failed to parse (use [`crossbar_sip::ParseError::headers`]) or a 503
/// under overload. Returns where to send it and the response, which copies `Via`, `From`,
/// `To`, `Call-ID`, `CSeq` and `Timestamp`, with the top `Via` stamped (§18.2.1) and a `To`
/// tag derived from the request (the same for its retransmissions) when `To` has none.
/// Send it with [`Transactions::transmit`].
pub fn stateless_response(
    headers: &Headers,
    source: Peer,
    status: u16,
) -> Result<(Peer, Response), InputError> {
    let mut headers = headers.clone();
    let top_via = via::stamp_received(&mut headers, source).map_err(InputError::Via)?;
    let destination = via::response_destination(&top_via, source);
    let mut response = Response::for_request(&headers, status);
    if status > 100 {
        let tag = key::derived_tag(&[
            headers.call_id().unwrap_or_default(),
            headers.get(&HeaderName::From).unwrap_or_default(),
            headers.get(&HeaderName::CSeq).unwrap_or_default(),
            top_via.branch().unwrap_or_default(),
        ]);
        add_to_tag(&mut response.headers, &tag);
    }
    Ok((destination, response))
}

/// The tag of the `To` in `response`, if any.
fn response_to_tag(response: Option<&Response>) -> Option<String> {
    let to = response?.headers.to().ok()?;
    to.tag().map(str::to_owned)
}

/// Appends `;tag=` to a `To` that parses and has no tag (§8.2.6.2).
fn add_to_tag(headers: &mut Headers, tag: &str) {
    let untagged = headers.to().is_ok_and(|to| to.tag().is_none());
    if !untagged {
        return;
    }
    if let Some(line) = headers.0.iter_mut().find(|h| h.name == HeaderName::To) {
        line.value = format!("{};tag={tag}", line.value);
    }
}
