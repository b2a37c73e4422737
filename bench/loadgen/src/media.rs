//! RTP for every call: 20 ms PCMU packets (RFC 3551 §4.5.14: 160 bytes of payload,
//! timestamp +160) sent to crossbar's relay from each side of each call, and what comes
//! back counted per stream. Each packet carries its send time, so the receiver measures how
//! long the relay held it.
//!
//! The generator must cost less than what it measures, so it does not copy a phone's
//! shape (a socket, a timer and a task per stream): each side has a few sockets shared by
//! all its calls, one thread per side paces every stream's packets, and one thread per socket
//! receives, telling streams apart by the relay port they come from. crossbar's work is
//! the same either way: one socket per call side, one receive and one send per packet.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::histogram::Histogram;

/// RFC 3551 PCMU at 8 kHz, 20 ms per packet.
pub const PTIME: Duration = Duration::from_millis(20);
const SAMPLES_PER_PACKET: u32 = 160;
const RTP_HEADER: usize = 12;
/// Send time, nanoseconds since the plane's epoch, in the first payload bytes.
const STAMP: usize = 8;
const PACKET: usize = RTP_HEADER + SAMPLES_PER_PACKET as usize;
/// The pacing thread's step: streams are spread over the 20 slots of a packet interval,
/// so packets leave evenly rather than in one burst every 20 ms.
const SLOT: Duration = Duration::from_millis(1);
const SLOTS: usize = 20;
/// How long a receiving thread sleeps once its socket is empty. Receivers poll rather than
/// block: a thread blocked on the socket would be woken for nearly every packet, and that
/// wake-up is paid by the sender — crossbar. The cost: a packet's measured time through
/// the relay includes up to this much waiting in the generator's socket.
const RECEIVE_POLL: Duration = Duration::from_micros(500);

/// Which side of the call a stream belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Caller = 0,
    Callee = 1,
}

/// RTP packets of one direction of every call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Packets {
    pub sent: u64,
    pub received: u64,
    /// Received from a relay port after it had sent another stream: media of some other
    /// call delivered to this one.
    pub crossed: u64,
}

impl Packets {
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    /// Lost packets, percent of those sent.
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost() as f64 / self.sent as f64 * 100.0
        }
    }
}

/// What the plane saw once every stream has ended.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Caller → callee.
    pub forward: Packets,
    /// Callee → caller.
    pub backward: Packets,
    /// Streams started, and relay ports that sent us something.
    pub streams: u64,
    pub sources: u64,
    /// Streams (by SSRC) that reached more than one relay port's receiver.
    pub shared: u64,
    /// How far behind schedule the generator's packets left at worst.
    pub max_pacing_lag: Duration,
}

struct Start {
    socket: usize,
    relay: SocketAddr,
    ssrc: u32,
    packets: u32,
}

/// One receiving socket's view, per relay port it heard from.
#[derive(Default)]
struct Heard {
    /// Relay port → (the SSRC it first sent, packets from it).
    sources: HashMap<SocketAddr, (u32, u64)>,
    crossed: u64,
}

/// The pacing and receiving threads, by side.
struct Threads {
    pacing: Vec<(Side, JoinHandle<Paced>)>,
    receiving: Vec<(Side, JoinHandle<Heard>)>,
}

/// What a pacing thread did: packets sent, and how far behind its schedule it fell at
/// worst (a generator that falls behind measures itself, not the relay).
#[derive(Debug, Default)]
struct Paced {
    sent: u64,
    max_lag: Duration,
}

pub struct MediaPlane {
    /// Each side's sockets' addresses, for the SDP (the pacing threads own the sockets).
    addresses: [Vec<SocketAddr>; 2],
    starts: [mpsc::Sender<Start>; 2],
    started: AtomicU64,
    stop: Arc<AtomicBool>,
    threads: Mutex<Option<Threads>>,
    pub latency: Arc<Histogram>,
}

impl MediaPlane {
    /// `per_side` sockets on `ip` for each side, a pacing thread and a receiving thread per
    /// socket.
    pub fn start(ip: IpAddr, per_side: usize) -> std::io::Result<MediaPlane> {
        let epoch = Instant::now();
        let latency = Arc::new(Histogram::new());
        let stop = Arc::new(AtomicBool::new(false));
        let mut sockets: [Vec<Arc<UdpSocket>>; 2] = [Vec::new(), Vec::new()];
        let mut addresses: [Vec<SocketAddr>; 2] = [Vec::new(), Vec::new()];
        let mut receivers = Vec::new();
        for side in [Side::Caller, Side::Callee] {
            for _ in 0..per_side.max(1) {
                // Thousands of streams share each socket.
                let socket = Arc::new(crate::udp_socket(ip, 16 << 20)?);
                addresses[side as usize].push(socket.local_addr()?);
                sockets[side as usize].push(socket.clone());
                let (stop, latency) = (stop.clone(), latency.clone());
                let thread = std::thread::Builder::new()
                    .name(format!("rtp-recv-{side:?}"))
                    .spawn(move || receive(&socket, epoch, &latency, &stop))?;
                receivers.push((side, thread));
            }
        }
        let mut pacing = Vec::new();
        let mut starts = Vec::new();
        for side in [Side::Caller, Side::Callee] {
            let (start, queue) = mpsc::channel();
            starts.push(start);
            let side_sockets = sockets[side as usize].clone();
            let stop = stop.clone();
            let thread = std::thread::Builder::new()
                .name(format!("rtp-send-{side:?}"))
                .spawn(move || pace(&side_sockets, &queue, epoch, &stop))?;
            pacing.push((side, thread));
        }
        let starts: [mpsc::Sender<Start>; 2] = starts.try_into().expect("one per side");
        Ok(MediaPlane {
            addresses,
            starts,
            started: AtomicU64::new(0),
            stop,
            threads: Mutex::new(Some(Threads {
                pacing,
                receiving: receivers,
            })),
            latency,
        })
    }

    /// The socket a call's side uses (by a number of the caller's choosing), and its
    /// address for the SDP.
    pub fn socket_for(&self, side: Side, n: u32) -> (usize, SocketAddr) {
        let addresses = &self.addresses[side as usize];
        let index = n as usize % addresses.len();
        (index, addresses[index])
    }

    /// Starts a stream of `packets` packets from `socket` of `side` to `relay`.
    pub fn send(&self, side: Side, socket: usize, relay: SocketAddr, ssrc: u32, packets: u32) {
        self.started.fetch_add(1, Ordering::Relaxed);
        let _ = self.starts[side as usize].send(Start {
            socket,
            relay,
            ssrc,
            packets,
        });
    }

    /// Stops the threads (streams still sending are cut short) and adds up.
    pub fn finish(&self) -> Totals {
        self.stop.store(true, Ordering::Relaxed);
        let Some(threads) = self.threads.lock().expect("not poisoned").take() else {
            return Totals::default();
        };
        let mut totals = Totals {
            streams: self.started.load(Ordering::Relaxed),
            ..Totals::default()
        };
        for (side, thread) in threads.pacing {
            let paced = thread.join().unwrap_or_default();
            match side {
                Side::Caller => totals.forward.sent = paced.sent,
                Side::Callee => totals.backward.sent = paced.sent,
            }
            totals.max_pacing_lag = totals.max_pacing_lag.max(paced.max_lag);
        }
        let mut locked = Vec::new();
        for (side, thread) in threads.receiving {
            let heard = thread.join().unwrap_or_default();
            // A caller-side socket receives what callees sent.
            let direction = match side {
                Side::Caller => &mut totals.backward,
                Side::Callee => &mut totals.forward,
            };
            direction.crossed += heard.crossed;
            for (ssrc, received) in heard.sources.values() {
                direction.received += received;
                locked.push(*ssrc);
            }
        }
        totals.sources = locked.len() as u64;
        locked.sort_unstable();
        let before = locked.len();
        locked.dedup();
        totals.shared = (before - locked.len()) as u64;
        totals
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

struct Sending {
    socket: usize,
    relay: SocketAddr,
    ssrc: u32,
    next: u32,
    packets: u32,
}

/// A side's pacing thread: every [`SLOT`], one packet for each stream of that slot.
fn pace(
    sockets: &[Arc<UdpSocket>],
    queue: &mpsc::Receiver<Start>,
    epoch: Instant,
    stop: &AtomicBool,
) -> Paced {
    let mut slots: Vec<Vec<Sending>> = (0..SLOTS).map(|_| Vec::new()).collect();
    let mut paced = Paced::default();
    let mut packet = [0u8; PACKET];
    packet[0] = 0x80; // V=2
    packet[1] = 0; // PT 0, PCMU
    packet[RTP_HEADER + STAMP..].fill(0xff); // µ-law silence
    let mut step = 0usize;
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for start in queue.try_iter() {
            // The stream's first packet goes out in the next slot; its slot is then fixed.
            slots[step % SLOTS].push(Sending {
                socket: start.socket,
                relay: start.relay,
                ssrc: start.ssrc,
                next: 0,
                packets: start.packets,
            });
        }
        let slot = &mut slots[step % SLOTS];
        let mut i = 0;
        while i < slot.len() {
            let stream = &mut slot[i];
            let seq = stream.next as u16; // wraps, as RTP sequence numbers do
            packet[2..4].copy_from_slice(&seq.to_be_bytes());
            packet[4..8]
                .copy_from_slice(&stream.next.wrapping_mul(SAMPLES_PER_PACKET).to_be_bytes());
            packet[8..12].copy_from_slice(&stream.ssrc.to_be_bytes());
            packet[RTP_HEADER..RTP_HEADER + STAMP]
                .copy_from_slice(&nanos_since(epoch).to_be_bytes());
            // A failed send is a packet sent and lost: the receiver will not see it.
            let _ = sockets[stream.socket].send_to(&packet, stream.relay);
            paced.sent += 1;
            stream.next += 1;
            if stream.next >= stream.packets {
                slot.swap_remove(i);
            } else {
                i += 1;
            }
        }
        step += 1;
        next += SLOT;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            paced.max_lag = paced.max_lag.max(now - next);
        }
    }
    paced
}

/// A receiving thread: counts packets per relay port, checks each port keeps sending the
/// same stream, and records each packet's time through the relay.
fn receive(socket: &UdpSocket, epoch: Instant, latency: &Histogram, stop: &AtomicBool) -> Heard {
    let mut heard = Heard::default();
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(RECEIVE_POLL);
                continue;
            }
            Err(_) => continue, // an ICMP error from an earlier send
        };
        if len < RTP_HEADER + STAMP {
            continue;
        }
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        let (locked, count) = heard.sources.entry(from).or_insert((ssrc, 0));
        if *locked != ssrc {
            heard.crossed += 1;
            continue;
        }
        *count += 1;
        let mut stamp = [0u8; STAMP];
        stamp.copy_from_slice(&buf[RTP_HEADER..RTP_HEADER + STAMP]);
        let held = nanos_since(epoch).saturating_sub(u64::from_be_bytes(stamp));
        latency.record(held / 1_000);
    }
    heard
}
