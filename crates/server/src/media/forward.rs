//! One relay's task: waits on its four sockets, its control channel and its inactivity
//! deadline; moves packets with one reusable buffer. The frames crossbar's own endpoint plays
//! to the caller are sent by the [pacer](super::pacer), not by this task.
//!
//! # Two loops: relaying, and serving the endpoint
//!
//! Most relays never meet crossbar's endpoint: a call between two phones is relayed from its
//! first packet to its last. So the task runs one of two loops, and the plain one is as lean
//! as relaying was before the endpoint existed:
//! - **relaying** ([`Task::relaying`]) waits on the control channel, the inactivity timer
//!   and the four sockets — no key detector. Per packet it does
//!   `try_recv_from` → [`Relay::on_packet`] (which tests one flag before the relaying rules)
//!   → `try_send_to`; the clock is read once per batch of datagrams read back to back from
//!   one socket (up to [`BATCH`], microseconds apart), not once per packet;
//! - **serving the endpoint** ([`Task::serving`]) hands each of the caller's packets to
//!   the key detector ([`Relay::route`]) and keeps the pacer told where the caller is.
//!
//! A relay starts relaying; the first command that needs the endpoint (`Play`, `Music`,
//! `Listen`) moves it to serving, and `Bridge`, which takes the endpoint away, moves it back. The
//! relay's state, the player (its stream runs on across plays) and the inactivity timer
//! carry over; the switch happens between two waits, so no packet, command
//! or deadline is missed.
//!
//! # Crossbar's own endpoint
//!
//! For a menu or a queue the switch puts crossbar's endpoint in place of side B
//! ([`Control::Play`], [`Control::Music`]) and has it hear the caller's keys
//! ([`Control::Listen`]); all of it lives in this task, so the packet path stays free of
//! locks and allocation:
//! - **mute**: from the first `Play` or `Music` on, nothing from side B reaches the caller,
//!   and the caller's packets are not forwarded to B either (nobody there is meant to hear
//!   the menu's caller; dropping is simplest) — [`Relay::set_endpoint`];
//! - **player**: one [`Player`] per relay (one SSRC, sequence numbers and timestamps running
//!   on across plays and the music), in a [`Stream`] shared with the pacer, which sends its
//!   frames out of side A's RTP socket to side A's latched (or else signalled) address when
//!   they are due. This task changes the player on the switch's commands and tells the
//!   stream where side A is whenever that changes. `Music` sets the background track, which
//!   prompts interrupt and which resumes where it stopped after each (see [`Player`]). While
//!   side A's address is not known (no SDP address and no packet yet, or a re-INVITE took
//!   the SDP address away before the caller sent anything), the player is held: the pacer
//!   does not look at it, so nothing is sent into the void and nothing is skipped; when A's
//!   first packet arrives or an address is set, it goes on from where it was (a play that
//!   was waiting starts from its first frame), its schedule moved as after a stall. What the
//!   player sends counts as activity for the RTP timeout in the B direction
//!   ([`Relay::on_played`], read when the inactivity timer fires), so a caller listening in
//!   silence is not cut off; a caller who is gone is ended by the menu's own timeouts;
//! - **key detector**: after `Listen`, every valid RTP packet from the caller goes through a
//!   [`KeyDetector`]; each key is one [`MediaEvent::Digit`]. It listens while bridged too (a
//!   switch may want feature codes), until `Bridge`;
//! - **`StopPlaying`** stops the play and the music (side B stays muted); **`Bridge`** takes
//!   the endpoint away: the player stops, the music and the detector go, and A and B are
//!   relayed both ways again.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use crossbar_media::{KeyDetector, MediaEvent, Player, Prompt, Relay, Route, Side};
use rand::RngExt;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Sleep;

use super::pacer::{Pacer, SharedStream, Stream, lock};

/// Receive buffer size. Voice RTP is a few hundred octets and video stays under the path MTU;
/// a datagram that fills the whole buffer may have been cut, and is dropped rather than
/// forwarded mangled.
const MAX_PACKET: usize = 4096;

/// Datagrams read from one socket before looking at the others again, so a flood on one port
/// cannot starve the rest of the relay.
const BATCH: usize = 64;

/// What the engine tells a running relay.
#[derive(Debug)]
pub(super) enum Control {
    SetRemote {
        side: Side,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
    },
    SetHold(bool),
    SetEventPayloadType(Option<u8>),
    Play {
        prompts: Vec<Arc<Prompt>>,
        repeat: bool,
        payload_type: u8,
    },
    Music {
        music: Option<Arc<Prompt>>,
        payload_type: u8,
    },
    StopPlaying,
    Listen(u8),
    Bridge,
    Close,
}

/// Crossbar's own media endpoint in one relay (see the module documentation).
#[derive(Default)]
struct Endpoint {
    /// Created by the first `Play` or `Music`, kept for the relay's life so its stream runs
    /// on. Most relays never play, and carry one pointer for it.
    stream: Option<SharedStream>,
    detector: Option<KeyDetector>,
    /// Side A's address as last told to the stream.
    told: Option<SocketAddr>,
}

impl Endpoint {
    /// Whether the relay needs the serving loop: the endpoint is in place of side B (it
    /// plays, or may play, to the caller), or a detector listens for keys. The player only
    /// sounds while the endpoint is in place (`Play` and `Music` put it there, `Bridge` stops
    /// it).
    fn in_use(&self, relay: &Relay) -> bool {
        relay.has_endpoint() || self.detector.is_some()
    }
}

/// Now on tokio's clock, as the `std` instant the sans-IO machines take: the timers the task
/// sleeps on and the deadlines the machines compute read one clock.
pub(super) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// A relay's four sockets.
pub(super) struct Sockets {
    /// Shared with the pacer, which sends the player's frames from it.
    pub a_rtp: Arc<UdpSocket>,
    pub a_rtcp: UdpSocket,
    pub b_rtp: UdpSocket,
    pub b_rtcp: UdpSocket,
}

impl Sockets {
    /// The first socket found readable — the four in random order, so a flood on one
    /// cannot keep the others waiting: which side, whether RTCP, and the readiness.
    async fn readable(&self) -> (Side, bool, std::io::Result<()>) {
        tokio::select! {
            ready = self.a_rtp.readable() => (Side::A, false, ready),
            ready = self.a_rtcp.readable() => (Side::A, true, ready),
            ready = self.b_rtp.readable() => (Side::B, false, ready),
            ready = self.b_rtcp.readable() => (Side::B, true, ready),
        }
    }

    fn get(&self, side: Side, rtcp: bool) -> &UdpSocket {
        match (side, rtcp) {
            (Side::A, false) => &self.a_rtp,
            (Side::A, true) => &self.a_rtcp,
            (Side::B, false) => &self.b_rtp,
            (Side::B, true) => &self.b_rtcp,
        }
    }
}

/// Which loop a relay's task runs (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Relaying,
    Serving,
    Closed,
}

/// Everything a relay's task owns, whichever loop it runs.
struct Task {
    relay: Relay,
    sockets: Sockets,
    control: mpsc::UnboundedReceiver<Control>,
    events: mpsc::UnboundedSender<MediaEvent>,
    buf: Vec<u8>,
    endpoint: Endpoint,
    pacer: Pacer,
    /// Where the inactivity timer is armed; `None` while on hold.
    deadline: Option<Instant>,
}

/// Runs the relay until it is closed (or its engine goes away), then drops the sockets and
/// reports [`MediaEvent::Closed`] — in that order, so the switch may reuse the ports at once.
pub(super) async fn run(
    relay: Relay,
    sockets: Sockets,
    control: mpsc::UnboundedReceiver<Control>,
    events: mpsc::UnboundedSender<MediaEvent>,
    pacer: Pacer,
) {
    // The inactivity timer is armed at the relay's deadline and only moved when it fires or
    // a command changes the relay: packets push the deadline later, and re-arming a timer
    // per packet would cost a timer-wheel update (and its lock) each time. Firing early is
    // harmless: `handle_timeout` reports only real silence, and the timer is re-armed.
    let deadline = relay.poll_timeout();
    let inactivity = tokio::time::sleep_until(deadline.unwrap_or_else(now).into());
    tokio::pin!(inactivity);
    let mut task = Task {
        relay,
        sockets,
        control,
        events,
        buf: vec![0u8; MAX_PACKET],
        endpoint: Endpoint::default(),
        pacer,
        deadline,
    };
    let mut mode = Mode::Relaying;
    while mode != Mode::Closed {
        mode = match mode {
            Mode::Relaying => task.relaying(inactivity.as_mut()).await,
            Mode::Serving => task.serving(inactivity.as_mut()).await,
            Mode::Closed => Mode::Closed,
        };
        tracing::trace!(?mode, "relay task loop");
    }
    let Task {
        relay,
        sockets,
        events,
        endpoint,
        ..
    } = task;
    let stats = relay.stats();
    // The pacer lets go of side A's socket first, so the ports are free once `Closed` is out.
    if let Some(stream) = endpoint.stream {
        lock(&stream).close();
    }
    drop(sockets);
    tracing::debug!(?stats, "relay closed");
    let _ = events.send(MediaEvent::Closed {
        id: relay.id(),
        stats,
    });
}

impl Task {
    /// Relays A and B to each other until a command needs the endpoint (`Mode::Serving`) or
    /// the relay closes: sockets, commands and inactivity, nothing else.
    async fn relaying(&mut self, mut inactivity: Pin<&mut Sleep>) -> Mode {
        loop {
            let ready = tokio::select! {
                // Commands first: one that moves a side must apply to the packets that
                // arrived with it.
                biased;
                command = self.control.recv() => match command {
                    Some(Control::Close) | None => return Mode::Closed,
                    Some(command) => {
                        self.apply(command);
                        self.rearm(inactivity.as_mut());
                        if self.endpoint.in_use(&self.relay) {
                            return Mode::Serving;
                        }
                        continue;
                    }
                },
                () = inactivity.as_mut(), if self.deadline.is_some() => {
                    self.inactivity_fired(inactivity.as_mut());
                    continue;
                }
                ready = self.sockets.readable() => ready,
            };
            let (side, rtcp, ready) = ready;
            if let Err(error) = ready {
                // Readiness only fails if the socket's reactor is gone: the runtime is
                // stopping.
                tracing::warn!(%error, "media socket failed; closing the relay");
                return Mode::Closed;
            }
            forward(&mut self.relay, &self.sockets, side, rtcp, &mut self.buf);
        }
    }

    /// Serves crossbar's endpoint — the key detector, and the caller's address for the
    /// player's stream — besides relaying, until `Bridge` takes it away (`Mode::Relaying`)
    /// or the relay closes.
    async fn serving(&mut self, mut inactivity: Pin<&mut Sleep>) -> Mode {
        self.tell_destination();
        loop {
            let ready = tokio::select! {
                // Commands first: one that moves a side must apply to the packets that
                // arrived with it.
                biased;
                command = self.control.recv() => match command {
                    Some(Control::Close) | None => return Mode::Closed,
                    Some(command) => {
                        self.apply(command);
                        self.rearm(inactivity.as_mut());
                        if !self.endpoint.in_use(&self.relay) {
                            return Mode::Relaying;
                        }
                        continue;
                    }
                },
                () = inactivity.as_mut(), if self.deadline.is_some() => {
                    self.inactivity_fired(inactivity.as_mut());
                    continue;
                }
                ready = self.sockets.readable() => ready,
            };
            let (side, rtcp, ready) = ready;
            if let Err(error) = ready {
                tracing::warn!(%error, "media socket failed; closing the relay");
                return Mode::Closed;
            }
            self.hear(side, rtcp);
            if side == Side::A && !rtcp {
                // The caller's packets may have told where it is (its first one, or a new
                // latch).
                self.tell_destination();
            }
        }
    }

    /// Points the inactivity timer at the relay's current deadline (none while on hold).
    fn rearm(&mut self, timer: Pin<&mut Sleep>) {
        self.deadline = self.relay.poll_timeout();
        if let Some(at) = self.deadline {
            timer.reset(at.into());
        }
    }

    /// The inactivity timer fired: reports real silence, and re-arms.
    fn inactivity_fired(&mut self, timer: Pin<&mut Sleep>) {
        if let Some(sent) = self
            .endpoint
            .stream
            .as_ref()
            .and_then(|stream| lock(stream).last_sent())
        {
            self.relay.on_played(sent);
        }
        if let Some(idle) = self.relay.handle_timeout(now()) {
            tracing::info!(idle_secs = idle.as_secs(), "no RTP either way");
            let _ = self.events.send(MediaEvent::Inactive {
                id: self.relay.id(),
                idle_secs: idle.as_secs(),
            });
        }
        self.rearm(timer);
    }

    /// Tells the player's stream where side A is now, if that changed: the pacer sends
    /// there, and goes on with a player it held while the address was unknown.
    fn tell_destination(&mut self) {
        let to = self.relay.rtp_destination(Side::A);
        if to == self.endpoint.told {
            return;
        }
        self.endpoint.told = to;
        if let Some(stream) = self.endpoint.stream.as_ref() {
            let mut locked = lock(stream);
            locked.set_destination(to);
            self.pacer.schedule(stream, &mut locked);
        }
    }

    /// The player's stream, made at the first `Play` or `Music`.
    fn stream(&mut self) -> SharedStream {
        let (id, to) = (self.relay.id(), self.relay.rtp_destination(Side::A));
        let socket = &self.sockets.a_rtp;
        let pacer = &self.pacer;
        let endpoint = &mut self.endpoint;
        let stream = endpoint.stream.get_or_insert_with(|| {
            // RFC 3550 §5.1: SSRC, first sequence number and timestamp are random.
            let mut rng = rand::rng();
            let player = Player::new(rng.random(), rng.random(), rng.random());
            let stream = Stream::shared(id, player, Arc::clone(socket), pacer);
            lock(&stream).set_destination(to);
            endpoint.told = to;
            stream
        });
        Arc::clone(stream)
    }

    fn apply(&mut self, command: Control) {
        let now = now();
        let relay = &mut self.relay;
        match command {
            Control::SetRemote { side, rtp, rtcp } => {
                tracing::debug!(?side, ?rtp, ?rtcp, "remote address");
                relay.set_remote(now, side, rtp, rtcp);
                self.tell_destination();
            }
            Control::SetHold(on_hold) => {
                tracing::debug!(on_hold, "hold");
                relay.set_hold(now, on_hold);
            }
            Control::SetEventPayloadType(payload_type) => {
                relay.set_event_payload_type(payload_type);
            }
            Control::Play {
                prompts,
                repeat,
                payload_type,
            } => {
                let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
                tracing::debug!(?names, repeat, payload_type, "play");
                relay.set_endpoint(now, true);
                if relay.rtp_destination(Side::A).is_none() {
                    tracing::debug!("side A's address is not known yet: the play waits for it");
                }
                let stream = self.stream();
                let mut locked = lock(&stream);
                locked.play(prompts, repeat, payload_type, now);
                // A play without audio has finished already.
                locked.report_finished(&self.events);
                self.pacer.schedule(&stream, &mut locked);
            }
            Control::Music {
                music,
                payload_type,
            } => {
                let name = music.as_ref().map(|track| track.name.as_str());
                tracing::debug!(?name, payload_type, "music");
                if music.is_some() {
                    relay.set_endpoint(now, true);
                    let stream = self.stream();
                    let mut locked = lock(&stream);
                    locked.set_music(music, payload_type, now);
                    self.pacer.schedule(&stream, &mut locked);
                } else if let Some(stream) = self.endpoint.stream.as_ref() {
                    lock(stream).set_music(None, payload_type, now);
                }
            }
            Control::StopPlaying => {
                tracing::debug!("stop playing");
                self.stop_player();
            }
            Control::Listen(payload_type) => {
                tracing::debug!(payload_type, "listening for keys");
                self.endpoint.detector = Some(KeyDetector::new(payload_type));
            }
            Control::Bridge => {
                tracing::debug!("bridged: relaying both ways again");
                relay.set_endpoint(now, false);
                self.endpoint.detector = None;
                self.stop_player();
            }
            Control::Close => {}
        }
    }

    /// Stops the play and the music (the pacer drops a silent stream when it next comes up).
    fn stop_player(&mut self) {
        if let Some(stream) = self.endpoint.stream.as_ref() {
            lock(stream).stop();
        }
    }

    /// [`forward`] for the serving loop: the same, and the caller's RTP goes through the key
    /// detector while one listens.
    fn hear(&mut self, side: Side, rtcp: bool) {
        let socket = self.sockets.get(side, rtcp);
        let out = self.sockets.get(side.other(), rtcp);
        let listening = side == Side::A && !rtcp;
        let now = now();
        for _ in 0..BATCH {
            let (len, from) = match receive(socket, &mut self.buf) {
                Received::Datagram(len, from) => (len, from),
                Received::Skipped => continue,
                Received::Empty => return,
            };
            let packet = &self.buf[..len];
            let route = self.relay.route(now, side, rtcp, from, packet);
            if let Route::Forward(to) = route
                && let Err(error) = out.try_send_to(packet, to)
            {
                tracing::trace!(%error, %to, "media packet not sent");
            }
            if listening
                && route != Route::Drop
                && let Some(detector) = self.endpoint.detector.as_mut()
                && let Some(digit) = detector.on_rtp(packet)
            {
                tracing::debug!(%digit, "key");
                let _ = self.events.send(MediaEvent::Digit {
                    id: self.relay.id(),
                    digit,
                });
            }
        }
    }
}

/// What one read from a socket gave.
enum Received {
    /// A datagram of this length is in the buffer, from this source.
    Datagram(usize, SocketAddr),
    /// Nothing usable: a receive error (an ICMP error from an earlier send — port
    /// unreachable — can surface here; it says nothing about this socket), or a datagram
    /// that filled the whole buffer (it may have been cut, and is not forwarded mangled).
    Skipped,
    /// Nothing waiting.
    Empty,
}

#[inline]
fn receive(socket: &UdpSocket, buf: &mut [u8]) -> Received {
    match socket.try_recv_from(buf) {
        Ok((len, from)) if len == buf.len() => {
            tracing::trace!(%from, "oversized datagram dropped");
            Received::Skipped
        }
        Ok((len, from)) => Received::Datagram(len, from),
        Err(error) if error.kind() == ErrorKind::WouldBlock => Received::Empty,
        Err(error) => {
            tracing::trace!(%error, "media receive error");
            Received::Skipped
        }
    }
}

/// Reads what is waiting on one socket (up to [`BATCH`] datagrams) and sends each packet the
/// relay accepts out of the other side's socket of the same kind. A full send buffer drops
/// the packet, as the network would: the relay never waits on one phone. The clock is read
/// once for the batch: its datagrams are read back to back, microseconds apart, and `now`
/// only dates them for latching, statistics and inactivity.
fn forward(relay: &mut Relay, sockets: &Sockets, side: Side, rtcp: bool, buf: &mut [u8]) {
    let socket = sockets.get(side, rtcp);
    let out = sockets.get(side.other(), rtcp);
    let now = now();
    for _ in 0..BATCH {
        let (len, from) = match receive(socket, buf) {
            Received::Datagram(len, from) => (len, from),
            Received::Skipped => continue,
            Received::Empty => return,
        };
        let packet = &buf[..len];
        let Some(to) = relay.on_packet(now, side, rtcp, from, packet) else {
            continue;
        };
        if let Err(error) = out.try_send_to(packet, to) {
            tracing::trace!(%error, %to, "media packet not sent");
        }
    }
}
