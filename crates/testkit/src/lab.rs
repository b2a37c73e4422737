//! The driver: one machine under test, the [`Carrier`]s attached at their addresses, the
//! [`Net`] for everyone else, and the [`Clock`]. Messages arrive the instant they are sent
//! (printed and parsed again on the way, as on a real wire) unless a cut loses them; time
//! moves only in [`Lab::run_until`], from deadline to deadline.

use std::time::{Duration, Instant};

use crossbar_proto::transaction::{Peer, TransactionKey, Transmit};
use crossbar_sip::{Message, Method, Request, Response};

use crate::carrier::Carrier;
use crate::clock::Clock;
use crate::net::Net;

/// The system under test, as a run loop sees it (DESIGN.md §3): bytes in, timeouts, and what
/// to send out. Implement it for a wrapper of the machine (orphan rules keep it off foreign
/// types): the wrapper also does what the run loop would with the machine's other outputs —
/// acknowledge database writes, keep call events and media commands for the test to read.
pub trait Machine {
    /// The address the machine sends from and is reached at.
    fn address(&self) -> Peer;

    /// A datagram from `from`.
    fn deliver(&mut self, clock: &Clock, from: Peer, bytes: &[u8]);

    /// The deadline from [`Machine::poll_timeout`] has come.
    fn handle_timeout(&mut self, clock: &Clock);

    /// A message of transaction `key` could not be sent (see [`Net::refuse`]).
    fn handle_transport_error(&mut self, clock: &Clock, key: TransactionKey);

    /// When the machine next wants [`Machine::handle_timeout`].
    fn poll_timeout(&mut self) -> Option<Instant>;

    /// Everything the machine has to send now, oldest first.
    fn collect(&mut self, clock: &Clock) -> Vec<Transmit>;
}

/// A machine on the virtual network. Scripted carriers answer by themselves; whatever goes to
/// any other address waits in [`Lab::net`] for the test (a [`crate::Phone`] reads its replies
/// from there).
pub struct Lab<M> {
    pub clock: Clock,
    pub machine: M,
    pub net: Net,
    carriers: Vec<Carrier>,
}

/// How many rounds of messages one instant may take before the lab calls it a loop.
const MAX_ROUNDS: usize = 10_000;

impl<M: Machine> Lab<M> {
    pub fn new(machine: M) -> Lab<M> {
        Lab::with_clock(Clock::new(), machine)
    }

    pub fn with_clock(clock: Clock, machine: M) -> Lab<M> {
        Lab {
            clock,
            machine,
            net: Net::default(),
            carriers: Vec::new(),
        }
    }

    /// Attaches `carrier` at its address; the one there before (if any) is taken off and
    /// returned (a carrier restart is attaching a new one).
    pub fn attach(&mut self, carrier: Carrier) -> Option<Carrier> {
        let at = carrier.at();
        let old = self
            .carriers
            .iter()
            .position(|c| c.at().addr == at.addr)
            .map(|i| self.carriers.remove(i));
        self.carriers.push(carrier);
        old
    }

    /// The carrier at `at`.
    ///
    /// # Panics
    /// When none is attached there.
    pub fn carrier(&self, at: Peer) -> &Carrier {
        self.carriers
            .iter()
            .find(|c| c.at().addr == at.addr)
            .unwrap_or_else(|| panic!("no carrier at {at}"))
    }

    /// The carrier at `at`, to change its script or look into its registrar.
    ///
    /// # Panics
    /// When none is attached there.
    pub fn carrier_mut(&mut self, at: Peer) -> &mut Carrier {
        self.carriers
            .iter_mut()
            .find(|c| c.at().addr == at.addr)
            .unwrap_or_else(|| panic!("no carrier at {at}"))
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// `message`, printed, arrives at the machine from `from`; then everything it causes at
    /// this instant happens.
    pub fn send(&mut self, from: Peer, message: &Message) {
        self.send_bytes(from, &message.to_bytes());
    }

    /// SIP text from `from` (a phone's scripted request or reply).
    pub fn send_text(&mut self, from: Peer, text: &str) {
        self.send_bytes(from, text.as_bytes());
    }

    pub fn send_bytes(&mut self, from: Peer, bytes: &[u8]) {
        if self.net.is_reachable(from) {
            self.machine.deliver(&self.clock, from, bytes);
        } else {
            self.net.lose();
        }
        self.pump();
    }

    /// Moves messages until nothing more happens at this instant: the machine's output to
    /// the carriers and the inboxes, the carriers' output back to the machine. Call it after
    /// poking the machine directly (a media event, a shutdown).
    ///
    /// # Panics
    /// When messages never stop flowing at one instant.
    pub fn pump(&mut self) {
        for _ in 0..MAX_ROUNDS {
            let mut moved = false;
            for transmit in self.machine.collect(&self.clock) {
                moved = true;
                self.route_from_machine(transmit);
            }
            let mut replies = Vec::new();
            for carrier in &mut self.carriers {
                let from = carrier.at();
                replies.extend(carrier.collect(&self.clock).into_iter().map(|t| (from, t)));
            }
            for (from, transmit) in replies {
                moved = true;
                self.route_from_carrier(from, transmit);
            }
            if !moved {
                return;
            }
        }
        panic!(
            "messages keep flowing at {:?}: a loop between the machine and a carrier",
            self.clock.elapsed()
        );
    }

    /// Runs everything due up to `until`, deadline by deadline (each machine woken only at
    /// its own), then moves the clock there.
    ///
    /// # Panics
    /// When `until` is in the past, or a machine keeps asking to be woken at an instant that
    /// has passed without getting past it.
    pub fn run_until(&mut self, until: Instant) {
        assert!(
            until >= self.clock.now(),
            "the virtual clock only moves forward"
        );
        self.pump();
        let mut rounds_now = 0;
        while let Some(next) = self.next_deadline().filter(|next| *next <= until) {
            if next <= self.clock.now() {
                rounds_now += 1;
                assert!(
                    rounds_now < MAX_ROUNDS,
                    "a machine wants to wake at {:?} but never gets past it",
                    self.clock.elapsed()
                );
            } else {
                rounds_now = 0;
                self.clock.advance_to(next);
            }
            let now = self.clock.now();
            if self.machine.poll_timeout().is_some_and(|at| at <= now) {
                self.machine.handle_timeout(&self.clock);
            }
            for carrier in &mut self.carriers {
                if carrier.poll_timeout().is_some_and(|at| at <= now) {
                    carrier.handle_timeout(&self.clock);
                }
            }
            self.pump();
        }
        self.clock.advance_to(until);
    }

    /// Runs everything due in the next `duration` (see [`Lab::run_until`]).
    pub fn run_for(&mut self, duration: Duration) {
        let until = self.clock.now() + duration;
        self.run_until(until);
    }

    /// What `to` got since it was last taken (see [`Net::take`]).
    pub fn take(&mut self, to: Peer) -> Vec<Message> {
        self.net.take(to)
    }

    /// See [`Net::requests`].
    pub fn requests(&mut self, to: Peer) -> Vec<Request> {
        self.net.requests(to)
    }

    /// See [`Net::responses`].
    pub fn responses(&mut self, to: Peer) -> Vec<Response> {
        self.net.responses(to)
    }

    /// See [`Net::statuses`].
    pub fn statuses(&mut self, to: Peer) -> Vec<u16> {
        self.net.statuses(to)
    }

    /// See [`Net::request`].
    pub fn request(&mut self, to: Peer, method: Method) -> Request {
        self.net.request(to, method)
    }

    fn next_deadline(&mut self) -> Option<Instant> {
        let machine = self.machine.poll_timeout();
        let carriers = self.carriers.iter_mut().filter_map(Carrier::poll_timeout);
        machine.into_iter().chain(carriers).min()
    }

    fn route_from_machine(&mut self, transmit: Transmit) {
        let to = transmit.destination;
        if self.net.refuses(to) {
            if let Some(key) = transmit.key {
                self.machine.handle_transport_error(&self.clock, key);
            }
            return;
        }
        // Over the transport it was sent on: a TCP send arrives on a TCP connection.
        let from = Peer::new(to.transport, self.machine.address().addr);
        if !self.net.is_reachable(to) || !self.net.is_reachable(from) {
            self.net.lose();
            return;
        }
        let message = over_the_wire(&transmit.message, "the machine");
        match self.carriers.iter_mut().find(|c| c.at().addr == to.addr) {
            Some(carrier) => carrier.receive(&self.clock, from, message),
            None => self.net.deliver(to, message),
        }
    }

    fn route_from_carrier(&mut self, at: Peer, transmit: Transmit) {
        let to = transmit.destination;
        let from = Peer::new(to.transport, at.addr);
        if !self.net.is_reachable(to) || !self.net.is_reachable(from) {
            self.net.lose();
            return;
        }
        if to.addr == self.machine.address().addr {
            self.machine
                .deliver(&self.clock, from, &transmit.message.to_bytes());
        } else {
            let message = over_the_wire(&transmit.message, "a carrier");
            self.net.deliver(to, message);
        }
    }
}

/// `message` printed and parsed again, as its recipient would see it.
fn over_the_wire(message: &Message, sender: &str) -> Message {
    let bytes = message.to_bytes();
    crossbar_sip::parse_datagram(&bytes).unwrap_or_else(|e| {
        panic!(
            "{sender} sent a message that does not parse ({e}):\n{}",
            String::from_utf8_lossy(&bytes)
        )
    })
}
