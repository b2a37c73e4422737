//! The IO of RTP/RTCP relaying: binds each relay's four UDP sockets and runs one task per
//! relay around the sans-IO [`crossbar_media::Relay`].
//!
//! The engine task calls [`MediaEngine::handle`] synchronously with the switch's
//! [`MediaCommand`]s. `Open` spawns the relay's task, which binds the sockets itself — so
//! the system calls of four sockets per call stay off the engine thread — and answers a port
//! taken by another process with [`MediaEvent::OpenFailed`]; the other commands go to that
//! task over its control channel (queued there until the sockets are up). Each task owns
//! its `Relay`, its sockets and one receive buffer: the packet path is `try_recv_from` →
//! `Relay::on_packet` → `try_send_to`, with no allocation, no lock and no channel per packet.
//! What the tasks have to say ([`MediaEvent::Inactive`], [`MediaEvent::Closed`], and from
//! crossbar's own media endpoint [`MediaEvent::Digit`] and [`MediaEvent::PlayFinished`])
//! goes back on the events channel. The endpoint (prompt player with its music, key detector:
//! `forward.rs`) lives in the relay's task too, in place of side B; a relay that never
//! needs it runs a loop without it. The players' frames are sent on time by one thread for
//! all relays, the pacer (`pacer.rs`).
//!
//! The relays' tasks run on a runtime of their own (worker threads `crossbar-media`), not
//! on the one of the engine, the SIP transports and the API: with a thousand relays busy,
//! a task of the engine would wait in the workers' queue behind them — a SIP answer held up
//! by media. On separate threads, the kernel's scheduler shares the cores between the two,
//! and the engine's thread, idle most of the time, runs as soon as it is woken.

mod forward;
mod pacer;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crossbar_media::{MediaCommand, MediaEvent, Relay, RelayId, RelayPlan, Side};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::Instrument;

use forward::{Control, Sockets};
use pacer::Pacer;

/// Kernel receive/send buffer asked for on each media socket: a few hundred 20 ms packets,
/// enough to ride out a scheduling hiccup of the relay's task.
const SOCKET_BUFFER: usize = 256 * 1024;

/// The running relays, keyed by the switch's ids.
pub struct MediaEngine {
    /// The IP every relay binds its ports on.
    address: IpAddr,
    rtp_timeout: Duration,
    events: mpsc::UnboundedSender<MediaEvent>,
    relays: HashMap<RelayId, mpsc::UnboundedSender<Control>>,
    /// Sends every relay's prompt and music frames; its thread ends with the engine and the
    /// last relay.
    pacer: Pacer,
    /// Where the relays' tasks run.
    spawner: tokio::runtime::Handle,
    /// The runtime of their own the relays run on (`None` once dropped, and for an engine
    /// on its caller's runtime).
    runtime: Option<tokio::runtime::Runtime>,
    /// Every relay's task holds a clone; the receiver sees the channel close when the last
    /// one has ended (see `Drop`).
    alive: mpsc::Sender<()>,
    all_ended: Option<mpsc::Receiver<()>>,
}

impl MediaEngine {
    /// Relays bind their ports on `address` (the `[media]` address; the unspecified address
    /// works too, it only cannot be advertised) and report inactivity after `rtp_timeout` of
    /// silence both ways. The pacer takes `SCHED_FIFO` priority `pacer_priority` if it may
    /// (0: the normal scheduler). Events go to `events`.
    pub fn new(
        address: IpAddr,
        rtp_timeout: Duration,
        pacer_priority: u8,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> std::io::Result<MediaEngine> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("crossbar-media")
            .build()?;
        let (alive, all_ended) = mpsc::channel(1);
        Ok(MediaEngine {
            address,
            rtp_timeout,
            pacer: Pacer::start(events.clone(), pacer_priority),
            events,
            relays: HashMap::new(),
            spawner: runtime.handle().clone(),
            runtime: Some(runtime),
            alive,
            all_ended: Some(all_ended),
        })
    }

    /// An engine whose relays run on the caller's runtime, for tests: on a current-thread
    /// runtime a relay's task runs only when the test waits, so a command handed over before
    /// a packet is sent is applied before the packet is read — as the tests assume. (On a
    /// runtime of its own the two race, as they do between a phone and crossbar.)
    #[cfg(test)]
    fn on_this_runtime(
        address: IpAddr,
        rtp_timeout: Duration,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> MediaEngine {
        let (alive, all_ended) = mpsc::channel(1);
        MediaEngine {
            address,
            rtp_timeout,
            pacer: Pacer::start(events.clone(), 0),
            events,
            relays: HashMap::new(),
            spawner: tokio::runtime::Handle::current(),
            runtime: None,
            alive,
            all_ended: Some(all_ended),
        }
    }

    /// Carries out one command of the switch.
    pub fn handle(&mut self, command: MediaCommand) {
        match command {
            MediaCommand::Open(plan) => self.open(plan),
            MediaCommand::SetRemote {
                id,
                side,
                rtp,
                rtcp,
            } => self.control(id, Control::SetRemote { side, rtp, rtcp }),
            MediaCommand::SetHold { id, on_hold } => self.control(id, Control::SetHold(on_hold)),
            MediaCommand::SetEventPayloadType { id, payload_type } => {
                self.control(id, Control::SetEventPayloadType(payload_type));
            }
            MediaCommand::Play {
                id,
                prompts,
                repeat,
                payload_type,
            } => self.control(
                id,
                Control::Play {
                    prompts,
                    repeat,
                    payload_type,
                },
            ),
            MediaCommand::Music {
                id,
                music,
                payload_type,
            } => self.control(
                id,
                Control::Music {
                    music,
                    payload_type,
                },
            ),
            MediaCommand::StopPlaying { id } => self.control(id, Control::StopPlaying),
            MediaCommand::Listen { id, payload_type } => {
                self.control(id, Control::Listen(payload_type));
            }
            MediaCommand::Bridge { id } => self.control(id, Control::Bridge),
            MediaCommand::Close { id } => {
                // The task answers with `Closed` once its sockets are gone. If it already
                // ended on its own, it has sent `Closed` then.
                if let Some(control) = self.relays.remove(&id) {
                    let _ = control.send(Control::Close);
                }
            }
        }
    }

    /// Closes every relay; each answers with [`MediaEvent::Closed`] while the events channel
    /// is open. Dropping the engine does the same, then stops the relays' runtime.
    pub fn close_all(&mut self) {
        for (_, control) in self.relays.drain() {
            let _ = control.send(Control::Close);
        }
    }

    /// Relays open (or opening) now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.relays.values().filter(|c| !c.is_closed()).count()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn control(&mut self, id: RelayId, control: Control) {
        match self.relays.get(&id) {
            Some(sender) if sender.send(control).is_ok() => {}
            // A relay that ended on its own has reported `Closed` already.
            Some(_) => {
                self.relays.remove(&id);
            }
            None => tracing::debug!(relay = %id, "command for a relay that is not open"),
        }
    }

    fn open(&mut self, plan: RelayPlan) {
        let id = plan.id;
        if self.relays.get(&id).is_some_and(|c| !c.is_closed()) {
            // A switch bug; the open relay is left alone.
            tracing::error!(relay = %id, "relay opened twice");
            self.fail(id, format!("{id} is already open"));
            return;
        }
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let span = tracing::info_span!("relay", id = plan.id.0);
        let (address, rtp_timeout, events) = (self.address, self.rtp_timeout, self.events.clone());
        let pacer = self.pacer.clone();
        let alive = self.alive.clone();
        let task = async move {
            let sockets = match bind_plan(address, &plan) {
                Ok(sockets) => sockets,
                Err(reason) => {
                    tracing::warn!(relay = %id, %reason, "relay not opened");
                    // The control channel closes before the event goes out, so whoever sees
                    // `OpenFailed` also sees the relay gone.
                    drop(control_rx);
                    let _ = events.send(MediaEvent::OpenFailed { id, reason });
                    return;
                }
            };
            tracing::debug!(
                a = plan.a.local_rtp_port,
                b = plan.b.local_rtp_port,
                a_remote = ?plan.a.remote_rtp,
                b_remote = ?plan.b.remote_rtp,
                "relay open"
            );
            let relay = Relay::new(plan, forward::now()).with_rtp_timeout(rtp_timeout);
            forward::run(relay, sockets, control_rx, events, pacer).await;
            drop(alive);
        };
        self.spawner.spawn(task.instrument(span));
        self.relays.insert(id, control_tx);
    }

    fn fail(&self, id: RelayId, reason: String) {
        let _ = self.events.send(MediaEvent::OpenFailed { id, reason });
    }
}

/// How long a dropped engine's relays have to close (and report it) before their runtime
/// stops anyway.
const CLOSING_GRACE: Duration = Duration::from_secs(2);

impl Drop for MediaEngine {
    /// Closes every relay and, on a thread of its own (the engine may be dropped in an async
    /// context, where a runtime must not block), waits until their tasks have ended — each
    /// reporting [`MediaEvent::Closed`] — before it stops their runtime.
    fn drop(&mut self) {
        self.close_all();
        let (Some(runtime), Some(mut all_ended)) = (self.runtime.take(), self.all_ended.take())
        else {
            return;
        };
        // Only the tasks' clones keep the channel open now.
        let (alive, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.alive, alive));
        let stopping = std::thread::Builder::new()
            .name("crossbar-media-stop".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = tokio::time::timeout(CLOSING_GRACE, all_ended.recv()).await;
                });
            });
        if let Err(error) = stopping {
            tracing::warn!(%error, "media relays not closed: no thread to stop them");
        }
    }
}

/// Binds the four sockets of a plan on `address`; on any failure those already bound are
/// closed.
fn bind_plan(address: IpAddr, plan: &RelayPlan) -> Result<Sockets, String> {
    let bind_side = |side: Side| -> Result<(UdpSocket, UdpSocket), String> {
        let rtp_port = plan.side(side).local_rtp_port;
        let Some(rtcp_port) = rtp_port.checked_add(1) else {
            return Err(format!(
                "RTP port {rtp_port} leaves no room for its RTCP port"
            ));
        };
        Ok((
            bind(SocketAddr::new(address, rtp_port))?,
            bind(SocketAddr::new(address, rtcp_port))?,
        ))
    };
    let (a_rtp, a_rtcp) = bind_side(Side::A)?;
    let (b_rtp, b_rtcp) = bind_side(Side::B)?;
    Ok(Sockets {
        a_rtp: a_rtp.into(),
        a_rtcp,
        b_rtp,
        b_rtcp,
    })
}

/// A non-blocking UDP socket on `addr`. No `SO_REUSEADDR`: a port another process (or another
/// relay) holds must fail to bind here rather than be shared and have its packets stolen.
fn bind(addr: SocketAddr) -> Result<UdpSocket, String> {
    let socket = (|| {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        // Larger buffers are a wish: the kernel caps them at net.core.[rw]mem_max.
        let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
        let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        UdpSocket::from_std(socket.into())
    })();
    socket.map_err(|error| format!("binding udp {addr}: {error}"))
}
