//! One relay's task: waits on its four sockets, its control channel and its inactivity
//! deadline, and moves packets with one reusable buffer.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Instant;

use crossbar_media::{MediaEvent, Relay, Side};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

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
    Close,
}

/// A relay's four sockets.
pub(super) struct Sockets {
    pub a_rtp: UdpSocket,
    pub a_rtcp: UdpSocket,
    pub b_rtp: UdpSocket,
    pub b_rtcp: UdpSocket,
}

impl Sockets {
    fn get(&self, side: Side, rtcp: bool) -> &UdpSocket {
        match (side, rtcp) {
            (Side::A, false) => &self.a_rtp,
            (Side::A, true) => &self.a_rtcp,
            (Side::B, false) => &self.b_rtp,
            (Side::B, true) => &self.b_rtcp,
        }
    }
}

/// Runs the relay until it is closed (or its engine goes away), then drops the sockets and
/// reports [`MediaEvent::Closed`] — in that order, so the switch may reuse the ports at once.
pub(super) async fn run(
    mut relay: Relay,
    sockets: Sockets,
    mut control: mpsc::UnboundedReceiver<Control>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let mut buf = vec![0u8; MAX_PACKET];
    // The inactivity timer is armed at the relay's deadline and only moved when it fires or
    // a command changes the relay: packets push the deadline later, and re-arming a timer
    // per packet would cost a timer-wheel update (and its lock) each time. Firing early is
    // harmless: `handle_timeout` reports only real silence, and the timer is re-armed.
    let mut deadline = relay.poll_timeout();
    let inactivity = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now).into());
    tokio::pin!(inactivity);
    loop {
        let ready = tokio::select! {
            command = control.recv() => match command {
                Some(Control::Close) | None => break,
                Some(command) => {
                    apply(&mut relay, command);
                    rearm(&relay, &mut deadline, inactivity.as_mut());
                    continue;
                }
            },
            () = inactivity.as_mut(), if deadline.is_some() => {
                if let Some(idle) = relay.handle_timeout(Instant::now()) {
                    tracing::info!(idle_secs = idle.as_secs(), "no RTP either way");
                    let _ = events.send(MediaEvent::Inactive {
                        id: relay.id(),
                        idle_secs: idle.as_secs(),
                    });
                }
                rearm(&relay, &mut deadline, inactivity.as_mut());
                continue;
            }
            ready = sockets.a_rtp.readable() => (Side::A, false, ready),
            ready = sockets.a_rtcp.readable() => (Side::A, true, ready),
            ready = sockets.b_rtp.readable() => (Side::B, false, ready),
            ready = sockets.b_rtcp.readable() => (Side::B, true, ready),
        };
        let (side, rtcp, ready) = ready;
        if let Err(error) = ready {
            // Readiness only fails if the socket's reactor is gone: the runtime is stopping.
            tracing::warn!(%error, "media socket failed; closing the relay");
            break;
        }
        forward(&mut relay, &sockets, side, rtcp, &mut buf);
    }
    let stats = relay.stats();
    drop(sockets);
    tracing::debug!(?stats, "relay closed");
    let _ = events.send(MediaEvent::Closed {
        id: relay.id(),
        stats,
    });
}

/// Points the inactivity timer at the relay's current deadline (none while on hold).
fn rearm(
    relay: &Relay,
    deadline: &mut Option<Instant>,
    timer: std::pin::Pin<&mut tokio::time::Sleep>,
) {
    *deadline = relay.poll_timeout();
    if let Some(at) = *deadline {
        timer.reset(at.into());
    }
}

fn apply(relay: &mut Relay, command: Control) {
    match command {
        Control::SetRemote { side, rtp, rtcp } => {
            tracing::debug!(?side, ?rtp, ?rtcp, "remote address");
            relay.set_remote(Instant::now(), side, rtp, rtcp);
        }
        Control::SetHold(on_hold) => {
            tracing::debug!(on_hold, "hold");
            relay.set_hold(Instant::now(), on_hold);
        }
        Control::SetEventPayloadType(payload_type) => relay.set_event_payload_type(payload_type),
        Control::Close => {}
    }
}

/// Reads what is waiting on one socket (up to [`BATCH`] datagrams) and sends each packet the
/// relay accepts out of the other side's socket of the same kind. A full send buffer drops
/// the packet, as the network would: the relay never waits on one phone.
fn forward(relay: &mut Relay, sockets: &Sockets, side: Side, rtcp: bool, buf: &mut [u8]) {
    let socket = sockets.get(side, rtcp);
    let out = sockets.get(side.other(), rtcp);
    for _ in 0..BATCH {
        let (len, from) = match socket.try_recv_from(buf) {
            Ok(received) => received,
            Err(error) if error.kind() == ErrorKind::WouldBlock => return,
            Err(error) => {
                // An ICMP error from an earlier send (port unreachable) can surface here; it
                // says nothing about this socket.
                tracing::trace!(%error, "media receive error");
                continue;
            }
        };
        if len == buf.len() {
            tracing::trace!(%from, "oversized datagram dropped");
            continue;
        }
        let packet = &buf[..len];
        let Some(to) = relay.on_packet(Instant::now(), side, rtcp, from, packet) else {
            continue;
        };
        if let Err(error) = out.try_send_to(packet, to) {
            tracing::trace!(%error, %to, "media packet not sent");
        }
    }
}
