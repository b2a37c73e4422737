//! An in-memory wire between one of crossbar's UAC machines ([`Registration`], [`Health`])
//! and a carrier, on a virtual clock — shared by `tests/registration.rs` and
//! `tests/health.rs`.
//!
//! The test owns what the switch would own: a client [`Transactions`] that sends the
//! machine's requests (with crossbar's top `Via`) and hands back each transaction's final
//! response, or the 408 of Timer F. The carrier is crossbar's own [`Endpoint`] (registrar and
//! OPTIONS) or a script. Messages arrive the instant they are sent unless the carrier is made
//! unreachable, in which case everything to and from it is lost; time moves only in
//! [`Wire::run_until`], from deadline to deadline.

// Each test crate uses part of the wire.
#![allow(dead_code)]

use std::time::{Duration, Instant, SystemTime};

use crossbar_auth::{Algorithm, Authenticator, ServerKey};
use crossbar_proto::endpoint::{Account, Endpoint, EndpointOutput, EndpointSettings};
use crossbar_proto::health::Health;
use crossbar_proto::registrar::RegistrarSettings;
use crossbar_proto::registration::Registration;
use crossbar_proto::transaction::{Event, Output, Peer, Timers, Transactions};
use crossbar_sip::{HeaderName, Message, Request, Response, Uri};

/// crossbar's SIP address, in its `Via` and contacts.
pub const CROSSBAR: &str = "192.0.2.1:5060";
/// The carrier's.
pub const CARRIER: &str = "198.51.100.7:5060";
/// The carrier's realm and domain.
pub const REALM: &str = "carrier.example";
/// The wall clock at the start of every test.
pub const WALL_START_UNIX: u64 = 1_800_000_000;

/// A machine that sends requests and consumes their final responses.
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

/// How a scripted carrier answers a request: `None` never answers.
pub type Script = Box<dyn FnMut(&Request) -> Option<Response>>;

pub enum Carrier {
    /// crossbar's own endpoint playing the carrier's registrar.
    Crossbar(Box<Endpoint>),
    Scripted(Script),
}

/// A carrier that answers every request with `status`.
pub fn always(status: u16) -> Carrier {
    Carrier::Scripted(Box::new(move |request| Some(answer(request, status))))
}

/// `request`'s response with `status`, its `To` tagged (§8.2.6.2).
pub fn answer(request: &Request, status: u16) -> Response {
    let mut response = request.response(status);
    let to = response.headers.get(&HeaderName::To).unwrap_or_default();
    let tagged = format!("{to};tag=carrier");
    response.headers.set(HeaderName::To, tagged);
    response
}

/// How the carrier's registrar authenticates: its nonce key and this run's instance.
pub struct CarrierAuth {
    pub key_seed: u64,
    /// How long its nonces live (crossbar's default is 300 s).
    pub nonce_lifetime: Duration,
}

impl Default for CarrierAuth {
    fn default() -> CarrierAuth {
        CarrierAuth {
            key_seed: 7,
            nonce_lifetime: Duration::from_secs(300),
        }
    }
}

/// crossbar's endpoint as the carrier: account `trunk` (extension 9000) with `secret`,
/// started at `wall` (a restart is a new one, later).
pub fn crossbar_carrier(
    wall: SystemTime,
    secret: &str,
    registrar: RegistrarSettings,
    auth: &CarrierAuth,
) -> Carrier {
    let mut config = crossbar_auth::Config::new(REALM);
    config.algorithms = vec![Algorithm::Sha256, Algorithm::Md5];
    config.nonce_lifetime = auth.nonce_lifetime;
    let authenticator =
        Authenticator::new(config, &ServerKey::from_seed(auth.key_seed), [3; 32], wall)
            .expect("valid auth config");
    let settings = EndpointSettings {
        server_name: "carrier".into(),
        registrar,
        timers: Timers::default(),
    };
    let accounts = vec![trunk_account(secret)];
    Carrier::Crossbar(Box::new(Endpoint::new(
        settings,
        authenticator,
        accounts,
        11,
    )))
}

/// The carrier's account for crossbar's trunk.
pub fn trunk_account(secret: &str) -> Account {
    Account {
        number: "9000".into(),
        username: "trunk".into(),
        secret: secret.into(),
        max_contacts: None,
    }
}

/// The wall clock when a wire starts.
pub fn wall_at_start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(WALL_START_UNIX)
}

pub fn uri(text: &str) -> Uri {
    Uri::parse(text).expect("test URI")
}

pub fn peer(address: &str) -> Peer {
    Peer::udp(address.parse().expect("test address"))
}

pub struct Wire {
    start: Instant,
    pub now: Instant,
    client: Transactions,
    pub carrier: Carrier,
    /// When false, every message to and from the carrier is lost.
    pub reachable: bool,
    /// The requests the machine sent, as sent (with `Via`), and when (from the start).
    pub sent: Vec<(Duration, Request)>,
    /// The final responses handed to the machine (Timer F's 408 included), and when.
    pub answered: Vec<(Duration, Response)>,
}

impl Wire {
    pub fn new(carrier: Carrier) -> Wire {
        let start = Instant::now();
        Wire {
            start,
            now: start,
            client: Transactions::new(Timers::default(), 5),
            carrier,
            reachable: true,
            sent: Vec::new(),
            answered: Vec::new(),
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    /// The instant `offset` after the start.
    pub fn at(&self, offset: Duration) -> Instant {
        self.start + offset
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The wall clock, moving with the virtual one from [`wall_at_start`].
    pub fn wall(&self) -> SystemTime {
        wall_at_start() + self.elapsed()
    }

    pub fn unix(&self) -> i64 {
        i64::try_from(WALL_START_UNIX + self.elapsed().as_secs()).expect("small")
    }

    /// The carrier's endpoint (when it is crossbar's).
    pub fn endpoint(&mut self) -> &mut Endpoint {
        match &mut self.carrier {
            Carrier::Crossbar(endpoint) => endpoint,
            Carrier::Scripted(_) => panic!("the carrier is scripted"),
        }
    }

    /// The live bindings the carrier holds for crossbar's trunk.
    pub fn carrier_bindings(&mut self) -> Vec<String> {
        let now_unix = self.unix();
        self.endpoint()
            .registrar()
            .contacts("9000", now_unix)
            .into_iter()
            .map(|b| b.contact.clone())
            .collect()
    }

    /// The statuses handed to the machine, and when.
    pub fn statuses(&self) -> Vec<(Duration, u16)> {
        self.answered
            .iter()
            .map(|(at, response)| (*at, response.status))
            .collect()
    }

    /// When (from the start) each request the machine sent went.
    pub fn sent_at(&self) -> Vec<Duration> {
        self.sent.iter().map(|(at, _)| *at).collect()
    }

    /// Runs everything due up to `until`, deadline by deadline, then moves the clock there.
    pub fn run_until(&mut self, uac: &mut impl Uac, until: Instant) {
        assert!(until >= self.now, "the virtual clock only moves forward");
        self.pump(uac);
        loop {
            let endpoint_deadline = match &mut self.carrier {
                Carrier::Crossbar(endpoint) => endpoint.poll_timeout(),
                Carrier::Scripted(_) => None,
            };
            let next = [
                uac.poll_timeout(),
                self.client.poll_timeout(),
                endpoint_deadline,
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|next| *next <= until) else {
                break;
            };
            let before = (self.sent.len(), self.answered.len());
            let stuck = next <= self.now;
            self.now = self.now.max(next);
            uac.handle_timeout(self.now);
            self.client.handle_timeout(self.now);
            let wall = self.wall();
            if let Carrier::Crossbar(endpoint) = &mut self.carrier {
                endpoint.handle_timeout(self.now, wall);
            }
            self.pump(uac);
            assert!(
                !(stuck
                    && before == (self.sent.len(), self.answered.len())
                    && uac.poll_timeout().is_some_and(|t| t <= self.now)),
                "the machine wants to wake at {:?} but does nothing then",
                self.elapsed()
            );
        }
        self.now = until;
    }

    pub fn run_for(&mut self, uac: &mut impl Uac, duration: Duration) {
        let until = self.now + duration;
        self.run_until(uac, until);
    }

    /// Moves messages until nothing more happens at this instant: the carrier's output to
    /// crossbar, crossbar's transaction output (to the carrier or to the machine), then the
    /// machine's new requests — polled only once the transaction queue is empty, so the
    /// output right after a send is that send.
    fn pump(&mut self, uac: &mut impl Uac) {
        loop {
            let mut moved = self.carrier_output();
            while let Some(output) = self.client.poll_output() {
                moved = true;
                match output {
                    Output::Transmit(transmit) => self.deliver_to_carrier(transmit.message),
                    Output::Event(Event::Response { response, .. }) if response.status >= 200 => {
                        uac.handle_response(self.now, &response);
                        self.answered.push((self.elapsed(), response));
                    }
                    Output::Event(Event::Timeout { response, .. }) => {
                        uac.handle_response(self.now, &response);
                        self.answered.push((self.elapsed(), response));
                    }
                    Output::Event(Event::TransportError { key }) => {
                        panic!("nothing fails to send in memory: {key}")
                    }
                    Output::Event(_) => {}
                }
            }
            while let Some(mut request) = uac.poll_request(self.now) {
                moved = true;
                request
                    .headers
                    .push_front(HeaderName::Via, format!("SIP/2.0/UDP {CROSSBAR};rport"));
                let key = self.client.send_request(self.now, request, peer(CARRIER));
                let key = key.expect("the machine's requests are well formed");
                let sent = self.client.poll_output();
                let Some(Output::Transmit(transmit)) = sent else {
                    panic!("transaction {key} sent nothing: {sent:?}")
                };
                let Message::Request(as_sent) = &transmit.message else {
                    panic!("a request was sent")
                };
                self.sent.push((self.elapsed(), as_sent.clone()));
                self.deliver_to_carrier(transmit.message);
            }
            if !moved {
                break;
            }
        }
    }

    /// Delivers what crossbar's endpoint (as the carrier) sent; its database writes succeed
    /// at once. Whether anything moved.
    fn carrier_output(&mut self) -> bool {
        let wall = self.wall();
        let Carrier::Crossbar(endpoint) = &mut self.carrier else {
            return false;
        };
        let mut responses = Vec::new();
        let mut moved = false;
        while let Some(output) = endpoint.poll_output() {
            moved = true;
            match output {
                EndpointOutput::Transmit(transmit) => match transmit.message {
                    Message::Response(response) => responses.push(response),
                    Message::Request(request) => {
                        panic!("the carrier sends no requests here: {request}")
                    }
                },
                EndpointOutput::Persist { ticket, .. } => {
                    endpoint.persisted(self.now, wall, ticket, true);
                }
                EndpointOutput::Sip(event) => panic!("no call layer here: {event:?}"),
            }
        }
        for response in responses {
            self.deliver_to_crossbar(response, peer(CARRIER));
        }
        moved
    }

    fn deliver_to_carrier(&mut self, message: Message) {
        if !self.reachable {
            return;
        }
        let wall = self.wall();
        match &mut self.carrier {
            Carrier::Crossbar(endpoint) => {
                endpoint.handle_message(self.now, wall, Ok(message), peer(CROSSBAR));
            }
            Carrier::Scripted(script) => {
                let Message::Request(request) = message else {
                    return;
                };
                if let Some(response) = script(&request) {
                    self.deliver_to_crossbar(response, peer(CARRIER));
                }
            }
        }
    }

    fn deliver_to_crossbar(&mut self, response: Response, from: Peer) {
        if !self.reachable {
            return;
        }
        self.client
            .handle_response(self.now, response, from)
            .expect("the carrier's responses match crossbar's transactions");
    }
}
