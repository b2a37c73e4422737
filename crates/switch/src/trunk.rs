//! Trunks as the switch runs them: where each carrier is (its resolved addresses), its
//! registration to the carrier (RFC 3261 §10.2) and OPTIONS health checks — the sans-IO
//! machines of `crossbar_proto` — its load (calls up, calls started in the last second), and
//! who may call in through it (source addresses).
//!
//! Every change of registration or health is reported as a [`TrunkStatus`] with its time,
//! for the log, the database and `crossbar trunks`.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use crossbar_config::{Trunk as TrunkConfig, TrunkTransport};
use crossbar_proto::endpoint::TrustedSource;
use crossbar_proto::health::{Health, HealthSettings, TrunkHealth};
use crossbar_proto::registration::{
    Backoff, Registration, RegistrationSettings, RegistrationState,
};
use crossbar_proto::transaction::{ClientKey, Peer, Transport};
use crossbar_sip::{Request, Response, Uri};

use crate::dialog::Hop;
use crate::wall_ms;

const SECOND: Duration = Duration::from_secs(1);

/// Which of a trunk's machines a request or timer belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Probe {
    Register,
    Options,
}

/// A trunk's state as reported on every change (and read by `crossbar trunks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkStatus {
    pub trunk: String,
    /// When the change happened (wall clock, ms since the Unix epoch).
    pub at_ms: i64,
    /// What changed, in a sentence for the log.
    pub change: String,
    /// `registered`, `registering`, `failed`, `unregistered`; `None` when the trunk does not
    /// register.
    pub registration: Option<&'static str>,
    /// Until when the carrier holds the registration.
    pub registered_until_ms: Option<i64>,
    /// `up`, `down`, `unknown` (no verdict yet), `unchecked` (health checks off).
    pub health: &'static str,
    pub health_since_ms: Option<i64>,
    /// The latest failure (registration refused, carrier not answering, address not found).
    pub last_failure: Option<String>,
    pub last_failure_at_ms: Option<i64>,
}

/// One trunk.
#[derive(Debug)]
pub(crate) struct Trunk {
    pub(crate) config: TrunkConfig,
    /// Where requests go: the carrier's addresses in order of preference (RFC 3263).
    destinations: Vec<SocketAddr>,
    /// The listener its traffic leaves from (`listen`), and the address its `Via` and
    /// `Contact` name.
    local: Option<SocketAddr>,
    sent_by: Option<SocketAddr>,
    registration: Option<Registration>,
    health: Option<Health>,
    /// Calls (legs) up through the trunk now.
    pub(crate) calls: u32,
    /// When the calls of the last second started.
    starts: VecDeque<Instant>,
    last_failure: Option<(i64, String)>,
}

impl Trunk {
    pub(crate) fn transport(&self) -> Transport {
        match self.config.transport {
            TrunkTransport::Udp => Transport::Udp,
            TrunkTransport::Tcp => Transport::Tcp,
        }
    }

    /// Where requests to the carrier go now, and from where, if its address is known.
    pub(crate) fn hop(&self) -> Option<Hop> {
        self.destinations.first().map(|addr| Hop {
            destination: Peer::new(self.transport(), *addr),
            local: self.local,
            sent_by: self.sent_by,
        })
    }

    /// Up for routing: its address is known and health checks (when on) do not say down.
    pub(crate) fn is_up(&self) -> bool {
        !self.destinations.is_empty()
            && !self
                .health
                .as_ref()
                .is_some_and(|health| health.health().is_down())
    }

    /// Calls started through the trunk in the second before `now`.
    pub(crate) fn calls_last_second(&self, now: Instant) -> u32 {
        let count = self
            .starts
            .iter()
            .rev()
            .take_while(|at| now.saturating_duration_since(**at) < SECOND)
            .count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    pub(crate) fn call_started(&mut self, now: Instant) {
        while self
            .starts
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= SECOND)
        {
            self.starts.pop_front();
        }
        self.calls += 1;
        self.starts.push_back(now);
    }

    pub(crate) fn call_ended(&mut self) {
        self.calls = self.calls.saturating_sub(1);
    }

    /// The host of URIs toward the carrier: `host[:port]` as configured.
    pub(crate) fn host_port(&self) -> String {
        let host = if self.config.host.contains(':') && !self.config.host.starts_with('[') {
            format!("[{}]", self.config.host)
        } else {
            self.config.host.clone()
        };
        match self.config.port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }

    /// `sip:{user}@host[:port]` toward the carrier, with `;transport=tcp` over TCP.
    pub(crate) fn uri(&self, user: &str) -> Option<Uri> {
        let transport = match self.config.transport {
            TrunkTransport::Udp => "",
            TrunkTransport::Tcp => ";transport=tcp",
        };
        Uri::parse(&format!("sip:{user}@{}{transport}", self.host_port())).ok()
    }

    /// The domain of `From` (and `P-Asserted-Identity`) toward the carrier.
    pub(crate) fn caller_domain(&self) -> String {
        self.config
            .from_domain
            .clone()
            .unwrap_or_else(|| self.host_port())
    }

    /// Digest credentials for the carrier's challenges to INVITEs.
    pub(crate) fn credentials(&self) -> Option<(String, String)> {
        if let Some(auth) = &self.config.auth {
            return Some((auth.username.clone(), auth.secret.expose().to_owned()));
        }
        self.config
            .register
            .as_ref()
            .map(|r| (r.username.clone(), r.secret.expose().to_owned()))
    }

    /// The trunk's status, as of `now`/`wall`.
    fn status(&self, now: Instant, wall: SystemTime, change: String) -> TrunkStatus {
        let at_ms = wall_ms(wall);
        let to_ms = |instant: Instant| {
            let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            if instant >= now {
                at_ms.saturating_add(ms(instant - now))
            } else {
                at_ms.saturating_sub(ms(now - instant))
            }
        };
        let (registration, registered_until_ms) =
            match self.registration.as_ref().map(Registration::state) {
                None => (None, None),
                Some(RegistrationState::Registered { expires_at, .. }) => {
                    (Some("registered"), Some(to_ms(*expires_at)))
                }
                Some(RegistrationState::Registering) => (Some("registering"), None),
                Some(RegistrationState::Failed { .. }) => (Some("failed"), None),
                Some(RegistrationState::Unregistered | RegistrationState::Unregistering) => {
                    (Some("unregistered"), None)
                }
            };
        let (health, health_since_ms) = match self.health.as_ref().map(Health::health) {
            None => ("unchecked", None),
            Some(TrunkHealth::Unknown) => ("unknown", None),
            Some(TrunkHealth::Up { since }) => ("up", Some(to_ms(*since))),
            Some(TrunkHealth::Down { since, .. }) => ("down", Some(to_ms(*since))),
        };
        TrunkStatus {
            trunk: self.config.name.clone(),
            at_ms,
            change,
            registration,
            registered_until_ms,
            health,
            health_since_ms,
            last_failure: self.last_failure.as_ref().map(|(_, text)| text.clone()),
            last_failure_at_ms: self.last_failure.as_ref().map(|(at, _)| *at),
        }
    }
}

/// Every trunk, and the requests their machines have out.
#[derive(Debug, Default)]
pub(crate) struct Trunks {
    list: Vec<Trunk>,
    by_name: HashMap<String, usize>,
    /// Requests trunk machines have out: whose, and the request (to answer it with a 408
    /// when it could not be sent).
    by_client: HashMap<ClientKey, (usize, Probe, Request)>,
}

/// What the switch must do for a trunk machine: send a request, report a status.
#[derive(Debug)]
pub(crate) enum TrunkAction {
    Send {
        trunk: usize,
        probe: Probe,
        request: Request,
        hop: Hop,
    },
    Status(TrunkStatus),
}

impl Trunks {
    /// The trunks of the configuration; `contact_host` is crossbar's SIP address (contacts
    /// and the `From` of health checks) and `advertised_ip` the IP that stands for a
    /// listener on an unspecified address (`0.0.0.0:5080`).
    pub(crate) fn new(
        configs: &[TrunkConfig],
        contact_host: SocketAddr,
        advertised_ip: IpAddr,
        user_agent: &str,
        seed: u64,
    ) -> Trunks {
        let mut trunks = Trunks::default();
        for (index, config) in configs.iter().enumerate() {
            let seed = seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut trunk = Trunk {
                config: config.clone(),
                destinations: Vec::new(),
                local: config.listen,
                sent_by: config.listen.map(|listen| {
                    if listen.ip().is_unspecified() {
                        SocketAddr::new(advertised_ip, listen.port())
                    } else {
                        listen
                    }
                }),
                registration: None,
                health: None,
                calls: 0,
                starts: VecDeque::new(),
                last_failure: None,
            };
            // A literal IP address needs no lookup.
            if let Ok(ip) = config.host.trim_matches(['[', ']']).parse::<IpAddr>() {
                trunk.destinations = vec![SocketAddr::new(ip, config.port.unwrap_or(5060))];
            }
            let contact_host = trunk.sent_by.unwrap_or(contact_host);
            if let Some(register) = &config.register {
                let domain = register.domain.clone().unwrap_or_else(|| trunk.host_port());
                let uri = |text: String| Uri::parse(&text).ok();
                let settings = (|| {
                    Some(RegistrationSettings {
                        registrar: uri(format!("sip:{domain}"))?,
                        aor: uri(format!("sip:{}@{domain}", register.username))?,
                        contact: uri(format!("sip:{}@{contact_host}", register.username))?,
                        username: register.username.clone(),
                        secret: register.secret.expose().to_owned(),
                        expires_secs: register.expires_secs,
                        user_agent: user_agent.to_owned(),
                        backoff: Backoff::default(),
                    })
                })();
                match settings {
                    Some(settings) => trunk.registration = Some(Registration::new(settings, seed)),
                    None => {
                        tracing::warn!(trunk = %config.name, "registration URIs do not parse; not registering")
                    }
                }
            }
            if config.options_interval_secs > 0 {
                let target = Uri::parse(&format!("sip:{}", trunk.host_port())).ok();
                let from = Uri::parse(&format!("sip:crossbar@{contact_host}")).ok();
                if let (Some(target), Some(from)) = (target, from) {
                    let interval = Duration::from_secs(u64::from(config.options_interval_secs));
                    let settings = HealthSettings::new(target, from, interval, user_agent);
                    trunk.health = Some(Health::new(settings, seed.rotate_left(17)));
                }
            }
            trunks.by_name.insert(config.name.clone(), index);
            trunks.list.push(trunk);
        }
        trunks
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Trunk> {
        self.by_name.get(name).map(|i| &self.list[*i])
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Trunk> {
        self.by_name.get(name).map(|i| &mut self.list[*i])
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Which trunk machine sent client transaction `key`.
    pub(crate) fn owner_of(&self, key: &ClientKey) -> Option<(usize, Probe)> {
        self.by_client
            .get(key)
            .map(|(trunk, probe, _)| (*trunk, *probe))
    }

    pub(crate) fn sent(&mut self, key: ClientKey, trunk: usize, probe: Probe, request: Request) {
        self.by_client.insert(key, (trunk, probe, request));
    }

    /// A trunk machine's request could not be sent (no connection to the carrier): it hears
    /// a 408, as if the carrier never answered.
    pub(crate) fn on_unsent(
        &mut self,
        now: Instant,
        wall: SystemTime,
        key: &ClientKey,
        actions: &mut Vec<TrunkAction>,
    ) {
        let Some((_, _, request)) = self.by_client.get(key) else {
            return;
        };
        let mut response = request.response(408);
        response.reason = "Request Timeout (transport error)".into();
        self.on_response(now, wall, key, &response, actions);
    }

    /// The trunk's addresses were looked up (or the lookup failed: empty).
    pub(crate) fn resolved(
        &mut self,
        now: Instant,
        wall: SystemTime,
        name: &str,
        addresses: Vec<SocketAddr>,
        actions: &mut Vec<TrunkAction>,
    ) {
        let Some(&index) = self.by_name.get(name) else {
            return;
        };
        let trunk = &mut self.list[index];
        if trunk.destinations == addresses {
            return;
        }
        let change = if addresses.is_empty() {
            let text = format!("the address of {} could not be found", trunk.config.host);
            trunk.last_failure = Some((wall_ms(wall), text.clone()));
            text
        } else {
            let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            format!("{} is at {}", trunk.config.host, list.join(", "))
        };
        trunk.destinations = addresses;
        actions.push(TrunkAction::Status(trunk.status(now, wall, change)));
        self.poll(now, wall, index, actions);
    }

    /// Drives every machine of trunk `index`: due timeouts, requests to send, changes.
    pub(crate) fn poll(
        &mut self,
        now: Instant,
        wall: SystemTime,
        index: usize,
        actions: &mut Vec<TrunkAction>,
    ) {
        let trunk = &mut self.list[index];
        let hop = trunk.hop();
        let mut changes = Vec::new();
        if let Some(registration) = trunk.registration.as_mut() {
            if registration.poll_timeout().is_some_and(|at| at <= now) {
                registration.handle_timeout(now);
            }
            while let Some(request) = registration.poll_request(now) {
                match hop {
                    Some(hop) => actions.push(TrunkAction::Send {
                        trunk: index,
                        probe: Probe::Register,
                        request,
                        hop,
                    }),
                    None => registration.handle_response(now, &unresolved(&request)),
                }
            }
            while let Some(change) = registration.poll_change() {
                changes.push(describe_registration(&change.state, now));
            }
        }
        if let Some(health) = trunk.health.as_mut() {
            if health.poll_timeout().is_some_and(|at| at <= now) {
                health.handle_timeout(now);
            }
            while let Some(request) = health.poll_request(now) {
                match hop {
                    Some(hop) => actions.push(TrunkAction::Send {
                        trunk: index,
                        probe: Probe::Options,
                        request,
                        hop,
                    }),
                    None => health.handle_response(now, &unresolved(&request)),
                }
            }
            while let Some(change) = health.poll_change() {
                changes.push(describe_health(&change.health));
            }
        }
        for (text, failure) in changes {
            if failure {
                trunk.last_failure = Some((wall_ms(wall), text.clone()));
            }
            actions.push(TrunkAction::Status(trunk.status(now, wall, text)));
        }
    }

    /// The final response (or the 408 of Timer F) to a trunk machine's request.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        wall: SystemTime,
        key: &ClientKey,
        response: &Response,
        actions: &mut Vec<TrunkAction>,
    ) {
        if response.status < 200 {
            return;
        }
        let Some((index, probe, _)) = self.by_client.remove(key) else {
            return;
        };
        let trunk = &mut self.list[index];
        match probe {
            Probe::Register => {
                if let Some(registration) = trunk.registration.as_mut() {
                    registration.handle_response(now, response);
                }
            }
            Probe::Options => {
                if let Some(health) = trunk.health.as_mut() {
                    health.handle_response(now, response);
                }
            }
        }
        self.poll(now, wall, index, actions);
    }

    /// A call through the trunk was answered (`ok`) or got no answer at all from the
    /// carrier (timeout, transport error): evidence for its health.
    pub(crate) fn call_evidence(
        &mut self,
        now: Instant,
        wall: SystemTime,
        name: &str,
        ok: bool,
        actions: &mut Vec<TrunkAction>,
    ) {
        let Some(&index) = self.by_name.get(name) else {
            return;
        };
        if let Some(health) = self.list[index].health.as_mut() {
            if ok {
                health.mark_ok(now);
            } else {
                health.mark_failed(now);
            }
        }
        self.poll(now, wall, index, actions);
    }

    /// The earliest deadline of every trunk machine, with whose it is.
    pub(crate) fn deadlines(&self) -> impl Iterator<Item = (usize, Instant)> + '_ {
        self.list.iter().enumerate().filter_map(|(index, trunk)| {
            let register = trunk
                .registration
                .as_ref()
                .and_then(Registration::poll_timeout);
            let health = trunk.health.as_ref().and_then(Health::poll_timeout);
            match (register, health) {
                (Some(a), Some(b)) => Some((index, a.min(b))),
                (a, b) => a.or(b).map(|at| (index, at)),
            }
        })
    }

    /// Unregisters every trunk (crossbar is stopping).
    pub(crate) fn unregister_all(
        &mut self,
        now: Instant,
        wall: SystemTime,
        actions: &mut Vec<TrunkAction>,
    ) {
        for index in 0..self.list.len() {
            if let Some(registration) = self.list[index].registration.as_mut() {
                registration.unregister(now);
            }
            self.poll(now, wall, index, actions);
        }
    }

    /// Every trunk's status now.
    pub(crate) fn statuses(&self, now: Instant, wall: SystemTime) -> Vec<TrunkStatus> {
        self.list
            .iter()
            .map(|trunk| trunk.status(now, wall, String::new()))
            .collect()
    }

    /// Where each trunk's requests come from: its configured blocks (any port) and its
    /// resolved addresses (their port).
    pub(crate) fn trusted_sources(&self) -> Vec<TrustedSource> {
        let mut sources = Vec::new();
        for trunk in &self.list {
            for block in &trunk.config.inbound_addresses {
                sources.push(TrustedSource {
                    trunk: trunk.config.name.clone(),
                    address: block.address,
                    prefix_len: block.prefix_len,
                    port: None,
                    contact_user: None,
                });
            }
            for address in &trunk.destinations {
                sources.push(TrustedSource {
                    trunk: trunk.config.name.clone(),
                    address: address.ip(),
                    prefix_len: if address.is_ipv4() { 32 } else { 128 },
                    port: Some(address.port()),
                    contact_user: None,
                });
                // Calls on crossbar's registration: to the contact it registered, from the
                // carrier's address on any port (its media gateways' signalling ports vary).
                if let Some(register) = &trunk.config.register {
                    sources.push(TrustedSource {
                        trunk: trunk.config.name.clone(),
                        address: address.ip(),
                        prefix_len: if address.is_ipv4() { 32 } else { 128 },
                        port: None,
                        contact_user: Some(register.username.clone()),
                    });
                }
            }
        }
        sources
    }
}

/// The answer a trunk machine gets for a request that had nowhere to go.
fn unresolved(request: &Request) -> Response {
    let mut response = request.response(503);
    response.reason = "Trunk Address Not Resolved".into();
    response
}

/// A registration change in words, and whether it is a failure.
fn describe_registration(state: &RegistrationState, now: Instant) -> (String, bool) {
    match state {
        RegistrationState::Registered { expires_at, .. } => (
            format!(
                "registered (for {} s)",
                expires_at.saturating_duration_since(now).as_secs()
            ),
            false,
        ),
        RegistrationState::Registering => ("registering".to_owned(), false),
        RegistrationState::Failed {
            status,
            reason,
            retry_at,
        } => (
            format!(
                "registration failed: {status} {reason}; retrying in {} s",
                retry_at.saturating_duration_since(now).as_secs()
            ),
            true,
        ),
        RegistrationState::Unregistering => ("unregistering".to_owned(), false),
        RegistrationState::Unregistered => ("unregistered".to_owned(), false),
    }
}

/// A health change in words, and whether it is a failure.
fn describe_health(health: &TrunkHealth) -> (String, bool) {
    match health {
        TrunkHealth::Unknown => ("health unknown".to_owned(), false),
        TrunkHealth::Up { .. } => ("up: the carrier answers".to_owned(), false),
        TrunkHealth::Down {
            last_status: Some(status),
            ..
        } => (format!("down: health check failed ({status})"), true),
        TrunkHealth::Down { .. } => ("down: calls to it get no answer".to_owned(), true),
    }
}
