//! [`Machine`]s for `crossbar-proto`'s own machines, so its tests and the kit's share one
//! driver: the [`Endpoint`] (the UAS core and registrar), a bare [`Transactions`] layer, and
//! the UAC machines ([`Registration`], [`Health`]) over the client transactions the switch
//! would give them. (The switch's tests wrap `Switch` themselves: this crate cannot depend on
//! it.)

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crossbar_proto::endpoint::{Endpoint, EndpointOutput, SipEvent, Ticket};
use crossbar_proto::health::Health;
use crossbar_proto::registrar::BindingChange;
use crossbar_proto::registration::Registration;
use crossbar_proto::transaction::{
    ClientKey, Event, Output, Peer, TransactionKey, Transactions, Transmit,
};
use crossbar_sip::{HeaderName, Message, Request, Response};

use crate::clock::Clock;
use crate::lab::Machine;

/// crossbar's [`Endpoint`] under test. Binding writes succeed at once unless
/// [`EndpointMachine::holding_writes`], in which case they wait in
/// [`EndpointMachine::pending`] for [`EndpointMachine::persist_all`]. What it hands up to a
/// call layer is kept in [`EndpointMachine::events`].
pub struct EndpointMachine {
    pub endpoint: Endpoint,
    at: Peer,
    hold_writes: bool,
    /// Writes not yet acknowledged (only when holding them).
    pub pending: Vec<(Ticket, Vec<BindingChange>)>,
    pub events: Vec<SipEvent>,
}

impl EndpointMachine {
    pub fn new(endpoint: Endpoint, at: Peer) -> EndpointMachine {
        EndpointMachine {
            endpoint,
            at,
            hold_writes: false,
            pending: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Keeps binding writes pending until [`EndpointMachine::persist_all`].
    pub fn holding_writes(mut self) -> EndpointMachine {
        self.hold_writes = true;
        self
    }

    /// Reports every pending write as done (`ok`) or failed; `Lab::pump` then sends what
    /// they released.
    pub fn persist_all(&mut self, clock: &Clock, ok: bool) {
        for (ticket, _) in std::mem::take(&mut self.pending) {
            self.endpoint
                .persisted(clock.now(), clock.wall(), ticket, ok);
        }
    }
}

impl Machine for EndpointMachine {
    fn address(&self) -> Peer {
        self.at
    }

    fn deliver(&mut self, clock: &Clock, from: Peer, bytes: &[u8]) {
        self.endpoint
            .handle_datagram(clock.now(), clock.wall(), bytes, from);
    }

    fn handle_timeout(&mut self, clock: &Clock) {
        self.endpoint.handle_timeout(clock.now(), clock.wall());
    }

    fn handle_transport_error(&mut self, clock: &Clock, key: TransactionKey) {
        self.endpoint
            .handle_transport_error(clock.now(), clock.wall(), key);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.endpoint.poll_timeout()
    }

    fn collect(&mut self, clock: &Clock) -> Vec<Transmit> {
        let mut out = Vec::new();
        while let Some(output) = self.endpoint.poll_output() {
            match output {
                EndpointOutput::Transmit(transmit) => out.push(transmit),
                EndpointOutput::Persist { ticket, changes } => {
                    if self.hold_writes {
                        self.pending.push((ticket, changes));
                    } else {
                        self.endpoint
                            .persisted(clock.now(), clock.wall(), ticket, true);
                    }
                }
                EndpointOutput::Sip(event) => self.events.push(event),
            }
        }
        out
    }
}

/// A bare [`Transactions`] layer under test, driven by hand (`send_request`, `transmit`,
/// `cancel`, `send_response`); every [`Event`] it emits is kept in order.
pub struct TransactionsMachine {
    pub transactions: Transactions,
    at: Peer,
    pub events: Vec<Event>,
}

impl TransactionsMachine {
    pub fn new(transactions: Transactions, at: Peer) -> TransactionsMachine {
        TransactionsMachine {
            transactions,
            at,
            events: Vec::new(),
        }
    }

    /// The events so far (they are taken).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// The statuses of the responses handed up so far, Timer B/F's 408s included (the
    /// events are taken).
    pub fn statuses(&mut self) -> Vec<u16> {
        self.take_events()
            .into_iter()
            .filter_map(|event| match event {
                Event::Response { response, .. } | Event::Timeout { response, .. } => {
                    Some(response.status)
                }
                _ => None,
            })
            .collect()
    }
}

impl Machine for TransactionsMachine {
    fn address(&self) -> Peer {
        self.at
    }

    fn deliver(&mut self, clock: &Clock, from: Peer, bytes: &[u8]) {
        let result = match crossbar_sip::parse_datagram(bytes) {
            Ok(Message::Request(request)) => {
                self.transactions.handle_request(clock.now(), request, from)
            }
            Ok(Message::Response(response)) => {
                self.transactions
                    .handle_response(clock.now(), response, from)
            }
            Err(error) => panic!("{from} sent a message that does not parse: {error}"),
        };
        if let Err(error) = result {
            panic!("the transaction layer refuses what {from} sent: {error}");
        }
    }

    fn handle_timeout(&mut self, clock: &Clock) {
        self.transactions.handle_timeout(clock.now());
    }

    fn handle_transport_error(&mut self, clock: &Clock, key: TransactionKey) {
        self.transactions.handle_transport_error(clock.now(), key);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.transactions.poll_timeout()
    }

    fn collect(&mut self, _clock: &Clock) -> Vec<Transmit> {
        let mut out = Vec::new();
        while let Some(output) = self.transactions.poll_output() {
            match output {
                Output::Transmit(transmit) => out.push(transmit),
                Output::Event(event) => self.events.push(event),
            }
        }
        out
    }
}

/// A machine that sends requests and consumes their final responses — what the switch does
/// for it is [`UacMachine`]'s job here.
pub trait Uac {
    fn poll_request(&mut self, now: Instant) -> Option<Request>;
    fn handle_response(&mut self, now: Instant, response: &Response);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_timeout(&self) -> Option<Instant>;
}

impl Uac for Registration {
    fn poll_request(&mut self, now: Instant) -> Option<Request> {
        Registration::poll_request(self, now)
    }
    fn handle_response(&mut self, now: Instant, response: &Response) {
        Registration::handle_response(self, now, response);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Registration::handle_timeout(self, now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Registration::poll_timeout(self)
    }
}

impl Uac for Health {
    fn poll_request(&mut self, now: Instant) -> Option<Request> {
        Health::poll_request(self, now)
    }
    fn handle_response(&mut self, now: Instant, response: &Response) {
        Health::handle_response(self, now, response);
    }
    fn handle_timeout(&mut self, now: Instant) {
        Health::handle_timeout(self, now);
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Health::poll_timeout(self)
    }
}

/// A [`Uac`] with the client transactions the switch gives it (`crossbar_proto`'s crate
/// docs): each request it polls goes out in a new client transaction to `destination`, with
/// crossbar's top `Via`; each transaction's final response — or the 408 of its Timer F —
/// goes back to it, and a failed send becomes a 408 built from the request, as the switch
/// does. What was sent and answered is kept, with when (from the clock's start).
pub struct UacMachine<U> {
    pub uac: U,
    pub transactions: Transactions,
    at: Peer,
    destination: Peer,
    /// The requests sent, as sent (with `Via`), and when.
    pub sent: Vec<(Duration, Request)>,
    /// The final responses handed to the machine (Timer F's 408 included), and when.
    pub answered: Vec<(Duration, Response)>,
    /// The requests whose final response has not come, by transaction.
    outstanding: HashMap<ClientKey, Request>,
}

impl<U: Uac> UacMachine<U> {
    /// `uac` at `at`, sending to `destination` in `transactions`.
    pub fn new(uac: U, transactions: Transactions, at: Peer, destination: Peer) -> UacMachine<U> {
        UacMachine {
            uac,
            transactions,
            at,
            destination,
            sent: Vec::new(),
            answered: Vec::new(),
            outstanding: HashMap::new(),
        }
    }

    /// The statuses handed to the machine, and when.
    pub fn statuses(&self) -> Vec<(Duration, u16)> {
        self.answered
            .iter()
            .map(|(at, response)| (*at, response.status))
            .collect()
    }

    /// When each request went.
    pub fn sent_at(&self) -> Vec<Duration> {
        self.sent.iter().map(|(at, _)| *at).collect()
    }

    fn answer(&mut self, clock: &Clock, response: Response) {
        self.uac.handle_response(clock.now(), &response);
        self.answered.push((clock.elapsed(), response));
    }
}

impl<U: Uac> Machine for UacMachine<U> {
    fn address(&self) -> Peer {
        self.at
    }

    fn deliver(&mut self, clock: &Clock, from: Peer, bytes: &[u8]) {
        let response = match crossbar_sip::parse_datagram(bytes) {
            Ok(Message::Response(response)) => response,
            Ok(Message::Request(request)) => {
                panic!(
                    "a UAC machine takes no requests ({from} sent {})",
                    request.method
                )
            }
            Err(error) => panic!("{from} sent a message that does not parse: {error}"),
        };
        if let Err(error) = self
            .transactions
            .handle_response(clock.now(), response, from)
        {
            panic!("{from}'s response matches none of crossbar's transactions: {error}");
        }
    }

    fn handle_timeout(&mut self, clock: &Clock) {
        self.uac.handle_timeout(clock.now());
        self.transactions.handle_timeout(clock.now());
    }

    fn handle_transport_error(&mut self, clock: &Clock, key: TransactionKey) {
        self.transactions.handle_transport_error(clock.now(), key);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        [self.uac.poll_timeout(), self.transactions.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The transaction layer's output first (responses go to the machine), then the
    /// machine's new requests — polled only once that queue is empty, so the output right
    /// after a send is that send.
    fn collect(&mut self, clock: &Clock) -> Vec<Transmit> {
        let mut out = Vec::new();
        loop {
            let mut moved = false;
            while let Some(output) = self.transactions.poll_output() {
                moved = true;
                match output {
                    Output::Transmit(transmit) => out.push(transmit),
                    Output::Event(Event::Response { key, response }) if response.status >= 200 => {
                        self.outstanding.remove(&key);
                        self.answer(clock, response);
                    }
                    Output::Event(Event::Timeout { key, response }) => {
                        self.outstanding.remove(&key);
                        self.answer(clock, response);
                    }
                    Output::Event(Event::TransportError {
                        key: TransactionKey::Client(key),
                    }) => {
                        // What the switch does: a 408 of its own, from the request sent.
                        if let Some(request) = self.outstanding.remove(&key) {
                            self.answer(clock, request.response(408));
                        }
                    }
                    Output::Event(_) => {}
                }
            }
            while let Some(mut request) = self.uac.poll_request(clock.now()) {
                moved = true;
                request.headers.push_front(
                    HeaderName::Via,
                    format!("SIP/2.0/UDP {};rport", self.at.addr),
                );
                let key = self
                    .transactions
                    .send_request(clock.now(), request, self.destination)
                    .expect("the machine's requests are well formed");
                let sent = self.transactions.poll_output();
                let Some(Output::Transmit(transmit)) = sent else {
                    panic!("transaction {key} sent nothing: {sent:?}")
                };
                let Message::Request(as_sent) = &transmit.message else {
                    panic!("transaction {key} sent a response")
                };
                self.sent.push((clock.elapsed(), as_sent.clone()));
                self.outstanding.insert(key, as_sent.clone());
                out.push(transmit);
            }
            if !moved {
                return out;
            }
        }
    }
}
