//! The engine: the one task that owns the [`Switch`] and reads the clock. Producers — socket
//! tasks, the database writers, the media relays — send it [`Input`]s; it feeds them to the
//! switch one at a time and turns the switch's outputs into IO: datagrams and stream writes,
//! binding batches for the writer, relay commands, call events for the record writer.
//!
//! This module is the leaf the producers depend on (they only need [`Input`]); startup lives
//! in `bootstrap`.
//!
//! Beside the switch's outputs, the engine keeps the queues' live view current (a snapshot
//! of the queue machine after anything happens, at most every 250 ms, published when it
//! changed: `live`), turns queue agents' changes into the store's agent log (`agents`), and
//! applies the requests the API and the command line make of it (`requests`).
//!
//! A message that cannot be sent is reported back to the switch as a transport error of its
//! transaction (RFC 3261 §17.1.4, §17.2.4) — a refused TCP connect to a carrier fails the
//! INVITE at once, so the call can move on to the next trunk.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crossbar_cdr::CallEvent;
use crossbar_media::MediaEvent;
use crossbar_proto::endpoint::Ticket;
use crossbar_proto::transaction::{Peer, TransactionKey, Transmit, Transport};
use crossbar_sip::{Message, ParseError};
use crossbar_store::{AgentUpdate, StoredRequest};
use crossbar_switch::{QueueSnapshot, Switch, SwitchOutput, wall_ms};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::agents::AgentLedger;
use crate::live::LivePublisher;
use crate::media::MediaEngine;
use crate::notices::Notice;
use crate::persist;
use crate::requests::{self, Applied};
use crate::transport::tcp;

/// How many inputs may wait for the engine before the socket tasks slow down.
pub const INPUT_QUEUE: usize = 16_384;

/// Something for the engine to handle.
pub enum Input {
    /// A message (or why it is malformed) from a peer; `local`: the UDP socket it came in
    /// on (`None` over a connection).
    Message {
        parsed: Result<Message, ParseError>,
        source: Peer,
        local: Option<SocketAddr>,
    },
    /// A stream connection is up; messages for `peer` go to `writer`.
    ConnectionOpened {
        peer: Peer,
        writer: mpsc::Sender<Vec<u8>>,
    },
    ConnectionClosed {
        peer: Peer,
    },
    /// A connection crossbar opened toward `peer` could not be made.
    ConnectFailed {
        peer: Peer,
        reason: String,
    },
    /// A message of transaction `key` could not be sent.
    TransportError {
        key: TransactionKey,
    },
    /// A batch of binding changes was written (or failed for good).
    Persisted {
        ticket: Ticket,
        ok: bool,
    },
    /// News from a media relay.
    Media(MediaEvent),
    /// A trunk's host was looked up (RFC 3263); empty when it could not be found.
    TrunkResolved {
        trunk: String,
        addresses: Vec<SocketAddr>,
    },
    /// The extensions blocked for outbound calls, as the database holds them now.
    Blocked(HashSet<String>),
    /// Blocked callers and time-condition overrides, as the database holds them now.
    InboundControl(crossbar_switch::InboundControl),
    /// A request from the API or the command line, taken from the database: apply it and
    /// have its outcome written back.
    Request(StoredRequest),
}

/// A message waiting for its connection, with its transaction (to fail if it never opens).
pub struct Waiting {
    bytes: Vec<u8>,
    key: Option<TransactionKey>,
}

/// Peers remembered in [`Engine::flows`] before the table starts again.
const MAX_FLOWS: usize = 100_000;

/// How long a connection to a peer may take to open before its messages fail.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The switch and the handles its outputs go to.
pub struct Engine {
    pub switch: Switch,
    pub media: MediaEngine,
    /// Each UDP socket with its local address (looked up once, not per datagram).
    pub udp_sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    /// With several UDP sockets: which one each peer last spoke to, so what crossbar sends it
    /// (responses, requests) leaves from there (symmetric signalling).
    pub flows: HashMap<SocketAddr, usize>,
    pub connections: HashMap<Peer, mpsc::Sender<Vec<u8>>>,
    /// Messages waiting for a connection crossbar is opening.
    pub connecting: HashMap<Peer, Vec<Waiting>>,
    pub persist: mpsc::UnboundedSender<persist::Batch>,
    pub records: mpsc::UnboundedSender<CallEvent>,
    pub notices: mpsc::UnboundedSender<Notice>,
    /// For tasks the engine starts (connects, blocked sends) to report back.
    pub inputs: mpsc::Sender<Input>,
    /// `[sip] tcp_incomplete_timeout_secs`, for connections crossbar opens.
    pub tcp_incomplete_timeout: Duration,
    /// What the store was last told of each queue agent.
    pub agents: AgentLedger,
    /// The queues' live view, for the API.
    pub live: LivePublisher,
}

impl Engine {
    /// Feeds the switch inputs and timeouts until `stop` resolves (with what stopped it).
    pub async fn run(
        &mut self,
        inputs: &mut mpsc::Receiver<Input>,
        stop: impl std::future::Future<Output = &'static str>,
    ) -> &'static str {
        let mut stop = std::pin::pin!(stop);
        loop {
            let deadline = self.switch.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let live_due = self.live.due();
            let publish = async {
                match live_due {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                input = inputs.recv() => {
                    // The engine holds a sender itself, so the queue never closes under it.
                    let Some(input) = input else { return "no more inputs" };
                    self.handle(input);
                    // Take whatever else is already waiting before looking at the clock again.
                    for _ in 0..256 {
                        match inputs.try_recv() {
                            Ok(input) => self.handle(input),
                            Err(_) => break,
                        }
                    }
                }
                () = sleep => self.timeout(),
                () = publish => self.publish_live(),
                signal = &mut stop => return signal,
            }
        }
    }

    /// Starts what runs on its own: the trunks' registrations and health checks.
    pub fn start(&mut self) {
        self.switch.start(Instant::now(), SystemTime::now());
        self.drain();
    }

    pub fn handle(&mut self, input: Input) {
        let now = Instant::now();
        let wall = SystemTime::now();
        match input {
            Input::Message {
                parsed,
                source,
                local,
            } => {
                if let Some(local) = local {
                    self.learn_flow(source.addr, local);
                }
                self.switch.handle_message(now, wall, parsed, source);
            }
            Input::ConnectionOpened { peer, writer } => {
                for waiting in self.connecting.remove(&peer).into_iter().flatten() {
                    if writer.try_send(waiting.bytes).is_err() {
                        self.transport_error(waiting.key);
                    }
                }
                self.connections.insert(peer, writer);
            }
            Input::ConnectionClosed { peer } => {
                self.connections.remove(&peer);
                self.switch.handle_connection_lost(now, wall, peer);
            }
            Input::ConnectFailed { peer, reason } => {
                tracing::info!(%peer, %reason, "connection could not be opened");
                for waiting in self.connecting.remove(&peer).into_iter().flatten() {
                    self.transport_error(waiting.key);
                }
            }
            Input::TransportError { key } => {
                self.switch.handle_transport_error(now, wall, key);
            }
            Input::Persisted { ticket, ok } => self.switch.persisted(now, wall, ticket, ok),
            Input::Media(event) => self.switch.handle_media_event(now, wall, event),
            Input::TrunkResolved { trunk, addresses } => {
                self.switch.trunk_resolved(now, wall, &trunk, addresses);
            }
            Input::Blocked(blocked) => self.switch.set_blocked(now, blocked),
            Input::InboundControl(control) => self.switch.set_inbound_control(control),
            Input::Request(request) => self.request(now, wall, &request),
        }
        self.drain();
        self.live.touch();
    }

    pub fn timeout(&mut self) {
        self.switch
            .handle_timeout(Instant::now(), SystemTime::now());
        self.drain();
        self.live.touch();
    }

    /// Applies a request from the API or the command line, writes what it changed of its
    /// agent, then its outcome (with the agent's new state when it was done).
    fn request(&mut self, now: Instant, wall: SystemTime, stored: &StoredRequest) {
        let (applied, agent) = match stored.request() {
            Ok(request) => (
                requests::apply(&mut self.switch, now, wall, &request),
                request.agent().map(str::to_owned),
            ),
            Err(error) => (Applied::Invalid(error), None),
        };
        self.drain();
        let at_ms = wall_ms(wall);
        let result = match (&applied, agent) {
            (Applied::Done, Some(agent)) => {
                let snapshot = self.switch.queue_snapshot(now, wall);
                let view = self.live.view(&snapshot, wall);
                // Published at once (whatever the throttle); what the request did is in the
                // store before the outcome (its agent events went to the notice writer with
                // the drain above): whoever reads `done` reads the change everywhere.
                self.publish(snapshot, now, wall);
                view.agent(&agent)
                    .and_then(|agent| serde_json::to_string(agent).ok())
            }
            _ => applied.call_result().map(|result| result.to_string()),
        };
        tracing::info!(
            id = stored.id,
            kind = %stored.kind,
            arguments = %stored.arguments,
            by = %stored.requested_by,
            outcome = %applied.outcome(),
            error = applied.error().unwrap_or(""),
            "request applied"
        );
        let notice = Notice::RequestDone {
            id: stored.id,
            at_ms,
            outcome: applied.outcome(),
            result,
            error: applied.error().map(str::to_owned),
        };
        if let Err(error) = self.notices.send(notice) {
            tracing::error!(notice = ?error.0, "notice writer is gone; request outcome not written");
        }
    }

    /// Takes a snapshot of the queues and publishes it when it changed (the agent log and
    /// state are written from the switch's agent events, not from snapshots).
    pub fn publish_live(&mut self) {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let snapshot = self.switch.queue_snapshot(now, wall);
        self.publish(snapshot, now, wall);
    }

    /// Publishes `snapshot` (taken at `now`) if it changed.
    fn publish(&mut self, snapshot: QueueSnapshot, now: Instant, wall: SystemTime) {
        if self.live.changed(&snapshot, now) {
            self.live.publish(snapshot, wall);
        }
    }

    /// Hands agent updates to the notice writer.
    fn send_agents(&mut self, updates: Vec<AgentUpdate>) {
        if updates.is_empty() {
            return;
        }
        if let Err(error) = self.notices.send(Notice::Agents(updates)) {
            tracing::error!(notice = ?error.0, "notice writer is gone; agent updates not written");
        }
    }

    fn drain(&mut self) {
        while let Some(output) = self.switch.poll_output() {
            match output {
                SwitchOutput::Transmit(transmit) => self.transmit(transmit),
                SwitchOutput::Persist { ticket, changes } => {
                    if self
                        .persist
                        .send(persist::Batch { ticket, changes })
                        .is_err()
                    {
                        tracing::error!("database writer is gone; registration not persisted");
                        let (now, wall) = (Instant::now(), SystemTime::now());
                        self.switch.persisted(now, wall, ticket, false);
                    }
                }
                SwitchOutput::Media(command) => self.media.handle(command),
                SwitchOutput::Call(event) => {
                    if self.records.send(event).is_err() {
                        tracing::error!("call record writer is gone; call event lost");
                    }
                }
                SwitchOutput::Trunk(status) => {
                    tracing::info!(trunk = %status.trunk, health = status.health, registration = status.registration.unwrap_or("-"), "trunk: {}", status.change);
                    if self.notices.send(Notice::Trunk(status)).is_err() {
                        tracing::error!("notice writer is gone; trunk status not written");
                    }
                }
                SwitchOutput::Block {
                    extension,
                    reason,
                    at_ms,
                } => {
                    let notice = Notice::Blocked {
                        extension,
                        reason,
                        at_ms,
                    };
                    if let Err(error) = self.notices.send(notice) {
                        tracing::error!(notice = ?error.0, "notice writer is gone; block not written");
                    }
                }
                SwitchOutput::RoundRobin { group, next } => {
                    let notice = Notice::RoundRobin {
                        group,
                        next,
                        at_ms: crossbar_switch::wall_ms(SystemTime::now()),
                    };
                    if let Err(error) = self.notices.send(notice) {
                        tracing::error!(notice = ?error.0, "notice writer is gone; ring group position not written");
                    }
                }
                SwitchOutput::QueueRoundRobin { queue, next } => {
                    let notice = Notice::QueueRoundRobin {
                        queue,
                        next,
                        at_ms: wall_ms(SystemTime::now()),
                    };
                    if let Err(error) = self.notices.send(notice) {
                        tracing::error!(notice = ?error.0, "notice writer is gone; queue position not written");
                    }
                }
                SwitchOutput::Agent(event) => {
                    tracing::debug!(
                        agent = %event.agent,
                        activity = ?event.activity,
                        logged_in = ?event.logged_in,
                        paused = ?event.paused,
                        at_ms = event.at_ms,
                        "queue agent"
                    );
                    let updates = self.agents.on_event(&event);
                    self.send_agents(updates);
                }
                SwitchOutput::Held(change) => {
                    tracing::debug!(?change, "place kept for a callback");
                    if let Err(error) = self.notices.send(Notice::Held(change)) {
                        tracing::error!(notice = ?error.0, "notice writer is gone; a place kept for a callback not written");
                    }
                }
            }
        }
    }

    /// Ends every call still up, with BYE to both sides, before crossbar stops.
    pub fn shut_down(&mut self) {
        self.switch.shut_down(Instant::now(), SystemTime::now());
        self.drain();
        // Calls and wrap-ups cut short end in the agent log now (logins and pauses are kept:
        // they are restored at the next start).
        let updates = self.agents.close_all(wall_ms(SystemTime::now()));
        self.send_agents(updates);
        self.media.close_all();
    }

    /// Reports a failed send to the switch (it is handled with the next inputs, in order).
    fn transport_error(&mut self, key: Option<TransactionKey>) {
        let Some(key) = key else {
            return;
        };
        if self.inputs.try_send(Input::TransportError { key }).is_err() {
            // The queue is full: tell the switch now rather than lose the failure.
            self.switch
                .handle_transport_error(Instant::now(), SystemTime::now(), key);
        }
    }

    fn transmit(&mut self, transmit: Transmit) {
        let bytes = transmit.message.to_bytes();
        let destination = transmit.destination;
        tracing::trace!(%destination, message = %String::from_utf8_lossy(&bytes), "send");
        match destination.transport {
            Transport::Udp => {
                self.send_datagram(destination.addr, bytes, transmit.key, transmit.local);
            }
            Transport::Tcp => match self.connections.get(&destination) {
                Some(writer) => {
                    if writer.try_send(bytes).is_err() {
                        tracing::warn!(%destination, "connection too slow or closed; message dropped");
                        self.transport_error(transmit.key);
                    }
                }
                None => self.connect_then_send(destination, bytes, transmit.key, transmit.local),
            },
            other => {
                tracing::debug!(transport = %other, "transport not served; message dropped");
                self.transport_error(transmit.key);
            }
        }
    }

    /// Opens a connection to `destination` (a carrier over TCP, or a phone whose
    /// connection is gone) and sends `bytes` once it is up.
    fn connect_then_send(
        &mut self,
        destination: Peer,
        bytes: Vec<u8>,
        key: Option<TransactionKey>,
        local: Option<SocketAddr>,
    ) {
        let waiting = self.connecting.entry(destination).or_default();
        let first = waiting.is_empty();
        waiting.push(Waiting { bytes, key });
        if first {
            tracing::debug!(%destination, "opening a connection");
            tokio::spawn(tcp::connect(
                destination,
                local.map(|l| l.ip()),
                self.inputs.clone(),
                CONNECT_TIMEOUT,
                self.tcp_incomplete_timeout,
            ));
        }
    }

    /// Remembers that `peer` spoke to the UDP socket at `local` (only with several sockets:
    /// with one there is nothing to choose).
    fn learn_flow(&mut self, peer: SocketAddr, local: SocketAddr) {
        if self.udp_sockets.len() < 2 {
            return;
        }
        let Some(index) = self.udp_sockets.iter().position(|(addr, _)| *addr == local) else {
            return;
        };
        if self.flows.len() >= MAX_FLOWS && !self.flows.contains_key(&peer) {
            // Scanners can spray from many addresses: forget them all rather than grow.
            self.flows.clear();
        }
        self.flows.insert(peer, index);
    }

    /// The UDP socket a datagram to `to` leaves from (see [`choose_socket`]).
    fn socket_for(&self, to: SocketAddr, local: Option<SocketAddr>) -> Option<Arc<UdpSocket>> {
        let addresses: Vec<SocketAddr> = self.udp_sockets.iter().map(|(addr, _)| *addr).collect();
        if let Some(local) = local
            && !addresses.contains(&local)
        {
            tracing::warn!(%local, "no UDP socket listens there; sending from another");
        }
        let index = choose_socket(&addresses, &self.flows, to, local)?;
        self.udp_sockets
            .get(index)
            .map(|(_, socket)| socket.clone())
    }

    fn send_datagram(
        &mut self,
        to: SocketAddr,
        bytes: Vec<u8>,
        key: Option<TransactionKey>,
        local: Option<SocketAddr>,
    ) {
        let socket = self.socket_for(to, local);
        let Some(socket) = socket else {
            tracing::debug!(%to, "no udp socket; datagram dropped");
            self.transport_error(key);
            return;
        };
        match socket.try_send_to(&bytes, to) {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                let inputs = self.inputs.clone();
                tokio::spawn(async move {
                    if let Err(error) = socket.send_to(&bytes, to).await {
                        tracing::debug!(%to, %error, "udp send failed");
                        if let Some(key) = key {
                            let _ = inputs.send(Input::TransportError { key }).await;
                        }
                    }
                });
            }
            Err(error) => {
                tracing::debug!(%to, %error, "udp send failed");
                self.transport_error(key);
            }
        }
    }
}

/// Which of the UDP sockets (by their local addresses) a datagram to `to` leaves from: the
/// one the sender chose (`local`), else the one `to` last spoke to (`flows`), else the first
/// of `to`'s address family, else the first.
fn choose_socket(
    sockets: &[SocketAddr],
    flows: &HashMap<SocketAddr, usize>,
    to: SocketAddr,
    local: Option<SocketAddr>,
) -> Option<usize> {
    local
        .and_then(|local| sockets.iter().position(|addr| *addr == local))
        .or_else(|| flows.get(&to).copied().filter(|i| *i < sockets.len()))
        .or_else(|| {
            sockets
                .iter()
                .position(|addr| addr.is_ipv4() == to.is_ipv4())
        })
        .or_else(|| (!sockets.is_empty()).then_some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("socket address")
    }

    #[test]
    fn a_datagram_leaves_from_the_chosen_socket_else_where_its_peer_spoke_else_by_family() {
        let sockets = [
            addr("0.0.0.0:5060"),
            addr("0.0.0.0:5080"),
            addr("[::]:5060"),
        ];
        let carrier = addr("198.51.100.7:5060");
        let mut flows = HashMap::new();
        assert_eq!(choose_socket(&sockets, &flows, carrier, None), Some(0));
        assert_eq!(
            choose_socket(&sockets, &flows, addr("[2001:db8::1]:5060"), None),
            Some(2)
        );
        // The carrier spoke to :5080: answers and requests to it leave from there.
        flows.insert(carrier, 1);
        assert_eq!(choose_socket(&sockets, &flows, carrier, None), Some(1));
        // A sender's choice wins; one that names no socket falls back.
        assert_eq!(
            choose_socket(&sockets, &flows, carrier, Some(addr("0.0.0.0:5060"))),
            Some(0)
        );
        assert_eq!(
            choose_socket(&sockets, &flows, carrier, Some(addr("0.0.0.0:9999"))),
            Some(1)
        );
        assert_eq!(choose_socket(&[], &flows, carrier, None), None);
    }
}
