//! RTP for every call: 20 ms PCMU packets (RFC 3551 §4.5.14: 160 bytes of payload,
//! timestamp +160) sent to crossbar's relay from each side of each call, and what comes
//! back counted per stream. Each packet carries its send time, so the receiver measures how
//! long the relay held it. Every stream received is also timed ([`crate::arrivals`]: loss by
//! sequence gaps, late frames by the gaps between arrivals, on the kernel's receive stamps
//! and on the receiver's own clock), which is what a stream crossbar itself plays — a menu's
//! prompts — is measured by. A stream may end with an RFC 4733 key, and the plane can run
//! *control* streams from its own sockets to its own sockets: paced and received exactly as
//! the others, but through no server, so their late frames are the generator's own.
//!
//! The generator must cost less than what it measures, so it does not copy a phone's
//! shape (a socket, a timer and a task per stream): each side has a few sockets shared by
//! all its calls, one thread per side paces every stream's packets, and one thread per socket
//! receives, telling streams apart by the relay port they come from. crossbar's work is
//! the same either way: one socket per call side, one receive and one send per packet.

use std::collections::{HashMap, HashSet};
use std::io::IoSliceMut;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use nix::sys::time::TimeSpec;

use crate::arrivals::{ArrivalTotals, Arrivals, LATE_BY};
use crate::histogram::Histogram;
use crate::moments::Moments;

/// RFC 3551 PCMU at 8 kHz, 20 ms per packet.
pub const PTIME: Duration = Duration::from_millis(20);
const SAMPLES_PER_PACKET: u32 = 160;
const RTP_HEADER: usize = 12;
/// Send time, nanoseconds since the Unix epoch (the wall clock, as the kernel's receive
/// stamps are), in the first payload bytes.
const STAMP: usize = 8;
const PACKET: usize = RTP_HEADER + SAMPLES_PER_PACKET as usize;
/// The pacing thread's step: streams are spread over the 20 slots of a packet interval,
/// so packets leave evenly rather than in one burst every 20 ms.
const SLOT: Duration = Duration::from_millis(1);
const SLOTS: usize = 20;
/// How long a receiving thread sleeps once its socket is empty. Receivers poll rather than
/// block: a thread blocked on the socket would be woken for nearly every packet, and that
/// wake-up is paid by the sender — crossbar. The cost: a packet's measured time through
/// the relay includes up to this much waiting in the generator's socket (the arrival gaps
/// on the kernel's stamps do not).
const RECEIVE_POLL: Duration = Duration::from_micros(500);

/// RFC 4733 §2.3: the telephone-event payload type the generator offers (101), packets of
/// one key sent (three updates, then the end packet three times, §2.5.1.4), and the volume.
const EVENT_PAYLOAD_TYPE: u8 = 101;
const KEY_PACKETS: u32 = 6;
const KEY_VOLUME: u8 = 10;

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
    /// Callee → caller (with a menu: what crossbar played to the callers).
    pub backward: Packets,
    /// The streams received by callees and by callers, timed.
    pub forward_arrivals: ArrivalTotals,
    pub backward_arrivals: ArrivalTotals,
    /// The control streams (own socket to own socket): packets sent, and their arrivals.
    pub control_sent: u64,
    pub control: ArrivalTotals,
    /// Streams started, and relay ports that sent us something.
    pub streams: u64,
    pub sources: u64,
    /// Streams (by SSRC) that reached more than one relay port's receiver.
    pub shared: u64,
    /// How far behind schedule the generator's packets left at worst.
    pub max_pacing_lag: Duration,
    /// When frames were late (kernel stamps only): those the callers received (crossbar's
    /// own, with a menu or a queue), those the callees received (relayed), the control
    /// streams', and the generator's own pacing falling behind by more than 5 ms.
    pub late_moments: Moments,
    pub relayed_late_moments: Moments,
    pub control_late_moments: Moments,
    pub pacing_late_moments: Moments,
}

/// A stream to send.
#[derive(Debug, Clone, Copy)]
pub struct Stream {
    /// Which of the side's sockets it leaves from.
    pub socket: usize,
    pub to: SocketAddr,
    pub ssrc: u32,
    /// 20 ms frames of audio.
    pub packets: u32,
    /// Send the frames (`false`: a caller that stays silent; the key still comes at the end).
    pub audio: bool,
    /// A key (RFC 4733) after the last frame.
    pub key: Option<char>,
    /// A control stream: to one of the plane's own sockets, counted apart.
    pub control: bool,
}

/// What a side's pacing thread is told.
enum Pacing {
    Start(Stream),
    /// The stream of this SSRC ends now (its call ended before its last packet).
    Stop(u32),
}

/// One receiving socket's view, per relay port it heard from. Each receiving thread keeps
/// its own histograms (merged at the end): threads adding to shared counters would trade
/// the cache lines of the busiest buckets for every packet.
#[derive(Default)]
struct Heard {
    /// Relay port → the SSRC it first sent, and that stream's arrivals.
    sources: HashMap<SocketAddr, (u32, Arrivals)>,
    crossed: u64,
    /// Control streams, by (source, SSRC).
    control: HashMap<(SocketAddr, u32), Arrivals>,
    latency: Histogram,
    transit: Histogram,
    gaps: Histogram,
    control_gaps: Histogram,
    moments: Moments,
    control_moments: Moments,
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
    control_sent: u64,
    max_lag: Duration,
    late_moments: Moments,
}

/// What every receiving thread shares.
struct Receiving {
    epoch: Instant,
    /// Record each packet's time through the relay from its send stamp: the packets that come
    /// back are the generator's own (relayed calls), not crossbar's (a menu's prompts).
    stamped: bool,
    /// Read the kernel's receive stamps (`recvmsg`); otherwise arrivals are timed on the
    /// generator's clock alone (`recvfrom`, cheaper).
    kernel_stamps: bool,
    /// The plane's own sockets: what comes from them is a control stream.
    own: HashSet<SocketAddr>,
    stop: Arc<AtomicBool>,
}

pub struct MediaPlane {
    /// Each side's sockets' addresses, for the SDP (the pacing threads own the sockets).
    addresses: [Vec<SocketAddr>; 2],
    starts: [mpsc::Sender<Pacing>; 2],
    started: AtomicU64,
    stop: Arc<AtomicBool>,
    threads: Mutex<Option<Threads>>,
    pub latency: Arc<Histogram>,
    /// Time through the relay on the kernel's clock alone, µs: from the generator's `sendto`
    /// (its send stamp, read just before) to the kernel's receive stamp, taken on the
    /// loopback in crossbar's own `sendto` — how long crossbar held the packet, none of the
    /// generator's receiving in it.
    pub transit: Arc<Histogram>,
    /// Gaps between consecutive packets of the received streams (kernel stamps), µs.
    pub gaps: Arc<Histogram>,
    /// The same for the control streams.
    pub control_gaps: Arc<Histogram>,
    /// When each stream's key went out, by SSRC.
    keys: Arc<Mutex<HashMap<u32, Instant>>>,
}

impl MediaPlane {
    /// `per_side` sockets on `ip` for each side, a pacing thread per side and a receiving
    /// thread per socket. `stamped`: what comes back is the generator's own packets, whose
    /// send stamps give the time through the relay. `kernel_stamps`: time arrivals on the
    /// kernel's receive stamps too.
    pub fn start(
        ip: IpAddr,
        per_side: usize,
        stamped: bool,
        kernel_stamps: bool,
    ) -> std::io::Result<MediaPlane> {
        let epoch = Instant::now();
        let latency = Arc::new(Histogram::new());
        let transit = Arc::new(Histogram::new());
        let gaps = Arc::new(Histogram::new());
        let control_gaps = Arc::new(Histogram::new());
        let stop = Arc::new(AtomicBool::new(false));
        let keys = Arc::new(Mutex::new(HashMap::new()));
        let mut sockets: [Vec<Arc<UdpSocket>>; 2] = [Vec::new(), Vec::new()];
        let mut addresses: [Vec<SocketAddr>; 2] = [Vec::new(), Vec::new()];
        for side in [Side::Caller, Side::Callee] {
            for _ in 0..per_side.max(1) {
                // Thousands of streams share each socket.
                let socket = Arc::new(crate::udp_socket(ip, 0, 16 << 20)?);
                if kernel_stamps {
                    // The kernel's receive stamps (the gaps between arrivals are timed on
                    // them).
                    setsockopt(socket.as_ref(), sockopt::ReceiveTimestampns, &true)
                        .map_err(std::io::Error::from)?;
                }
                addresses[side as usize].push(socket.local_addr()?);
                sockets[side as usize].push(socket);
            }
        }
        let shared = Arc::new(Receiving {
            epoch,
            stamped,
            kernel_stamps,
            own: addresses.iter().flatten().copied().collect(),
            stop: stop.clone(),
        });
        let mut receivers = Vec::new();
        for side in [Side::Caller, Side::Callee] {
            for socket in &sockets[side as usize] {
                let (socket, shared) = (socket.clone(), shared.clone());
                let thread = std::thread::Builder::new()
                    .name(format!("rtp-recv-{side:?}"))
                    .spawn(move || receive(&socket, side, &shared))?;
                receivers.push((side, thread));
            }
        }
        let mut pacing = Vec::new();
        let mut starts = Vec::new();
        for side in [Side::Caller, Side::Callee] {
            let (start, queue) = mpsc::channel();
            starts.push(start);
            let side_sockets = sockets[side as usize].clone();
            let (stop, keys) = (stop.clone(), keys.clone());
            let thread = std::thread::Builder::new()
                .name(format!("rtp-send-{side:?}"))
                .spawn(move || {
                    take_pacing_priority();
                    pace(&side_sockets, &queue, &stop, &keys)
                })?;
            pacing.push((side, thread));
        }
        let starts: [mpsc::Sender<Pacing>; 2] = starts.try_into().expect("one per side");
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
            transit,
            gaps,
            control_gaps,
            keys,
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
        self.send_stream(
            side,
            Stream {
                socket,
                to: relay,
                ssrc,
                packets,
                audio: true,
                key: None,
                control: false,
            },
        );
    }

    /// Starts `stream` from `side`.
    pub fn send_stream(&self, side: Side, stream: Stream) {
        if !stream.control {
            self.started.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self.starts[side as usize].send(Pacing::Start(stream));
    }

    /// Ends the stream `ssrc` of `side` before its last packet (its call has ended); nothing
    /// when it has ended already.
    pub fn stop(&self, side: Side, ssrc: u32) {
        let _ = self.starts[side as usize].send(Pacing::Stop(ssrc));
    }

    /// `count` control streams of `packets` frames each, from the callee side's sockets to
    /// the caller side's: paced and received as every other stream, through no server.
    pub fn start_control(&self, count: u32, packets: u32) {
        for i in 0..count {
            let (socket, _) = self.socket_for(Side::Callee, i);
            let (_, to) = self.socket_for(Side::Caller, i);
            self.send_stream(
                Side::Callee,
                Stream {
                    socket,
                    to,
                    ssrc: 0xC000_0000 | i,
                    packets,
                    audio: true,
                    key: None,
                    control: true,
                },
            );
        }
    }

    /// When the key at the end of stream `ssrc` went out, if it has.
    pub fn key_sent(&self, ssrc: u32) -> Option<Instant> {
        self.keys.lock().expect("not poisoned").get(&ssrc).copied()
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
            totals.control_sent += paced.control_sent;
            totals.max_pacing_lag = totals.max_pacing_lag.max(paced.max_lag);
            totals.pacing_late_moments.merge(&paced.late_moments);
        }
        let mut locked = Vec::new();
        for (side, thread) in threads.receiving {
            let heard = thread.join().unwrap_or_default();
            // A caller-side socket receives what callees (or crossbar's menus) sent.
            let (direction, arrivals) = match side {
                Side::Caller => (&mut totals.backward, &mut totals.backward_arrivals),
                Side::Callee => (&mut totals.forward, &mut totals.forward_arrivals),
            };
            direction.crossed += heard.crossed;
            self.latency.add(&heard.latency);
            self.transit.add(&heard.transit);
            self.gaps.add(&heard.gaps);
            self.control_gaps.add(&heard.control_gaps);
            match side {
                Side::Caller => totals.late_moments.merge(&heard.moments),
                Side::Callee => totals.relayed_late_moments.merge(&heard.moments),
            }
            totals.control_late_moments.merge(&heard.control_moments);
            for (ssrc, stream) in heard.sources.values() {
                direction.received += stream.received;
                arrivals.add(stream);
                locked.push(*ssrc);
            }
            for stream in heard.control.values() {
                totals.control.add(stream);
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

/// Now on the wall clock, as the kernel's receive stamps are.
fn wall_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

struct Sending {
    stream: Stream,
    /// Frames gone (sent, or passed in silence), then key packets gone.
    next: u32,
    key_packets: u32,
}

impl Sending {
    fn done(&self) -> bool {
        self.next >= self.stream.packets
            && (self.stream.key.is_none() || self.key_packets >= KEY_PACKETS)
    }
}

/// RFC 4733 §3.2: the event codes of the keys.
fn event_of(key: char) -> u8 {
    match key {
        '0'..='9' => key as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => key as u8 - b'A' + 12,
        _ => 0,
    }
}

/// A side's pacing thread: every [`SLOT`], one packet for each stream of that slot.
/// The `SCHED_FIFO` priority the pacing threads take (0: none); set once, at start.
static PACING_PRIORITY: std::sync::OnceLock<u8> = std::sync::OnceLock::new();

/// Sets the pacing threads' `SCHED_FIFO` priority (0: the normal scheduler); before the
/// first media plane starts.
pub fn set_pacing_priority(priority: u8) {
    let _ = PACING_PRIORITY.set(priority);
}

/// Puts the calling pacing thread under `SCHED_FIFO` at the priority set, if any.
fn take_pacing_priority() {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let priority = PACING_PRIORITY.get().copied().unwrap_or(0);
    if priority == 0 {
        return;
    }
    let taken = ThreadPriorityValue::try_from(priority)
        .map_err(|reason| reason.to_string())
        .and_then(|value| {
            set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Crossplatform(value),
                ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
            )
            .map_err(|error| error.to_string())
        });
    if let Err(error) = taken {
        eprintln!("loadgen: pacing at normal priority, SCHED_FIFO {priority} refused: {error}");
    }
}

fn pace(
    sockets: &[Arc<UdpSocket>],
    queue: &mpsc::Receiver<Pacing>,
    stop: &AtomicBool,
    keys: &Mutex<HashMap<u32, Instant>>,
) -> Paced {
    let mut slots: Vec<Vec<Sending>> = (0..SLOTS).map(|_| Vec::new()).collect();
    let mut paced = Paced::default();
    let mut packet = [0u8; PACKET];
    packet[0] = 0x80; // V=2
    packet[1] = 0; // PT 0, PCMU
    packet[RTP_HEADER + STAMP..].fill(0xff); // µ-law silence
    let mut event = [0u8; RTP_HEADER + 4];
    event[0] = 0x80;
    let mut step = 0usize;
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for command in queue.try_iter() {
            match command {
                // The stream's first packet goes out in the next slot; its slot is then fixed.
                Pacing::Start(stream) => slots[step % SLOTS].push(Sending {
                    stream,
                    next: 0,
                    key_packets: 0,
                }),
                Pacing::Stop(ssrc) => {
                    for slot in &mut slots {
                        slot.retain(|s| s.stream.ssrc != ssrc || s.stream.control);
                    }
                }
            }
        }
        let slot = &mut slots[step % SLOTS];
        let mut i = 0;
        while i < slot.len() {
            let sending = &mut slot[i];
            let stream = sending.stream;
            if sending.next < stream.packets {
                if stream.audio {
                    let seq = sending.next as u16; // wraps, as RTP sequence numbers do
                    packet[2..4].copy_from_slice(&seq.to_be_bytes());
                    packet[4..8].copy_from_slice(
                        &sending.next.wrapping_mul(SAMPLES_PER_PACKET).to_be_bytes(),
                    );
                    packet[8..12].copy_from_slice(&stream.ssrc.to_be_bytes());
                    packet[RTP_HEADER..RTP_HEADER + STAMP]
                        .copy_from_slice(&wall_nanos().to_be_bytes());
                    // A failed send is a packet sent and lost: the receiver will not see it.
                    let _ = sockets[stream.socket].send_to(&packet, stream.to);
                    if stream.control {
                        paced.control_sent += 1;
                    } else {
                        paced.sent += 1;
                    }
                }
                sending.next += 1;
            } else if let Some(key) = stream.key {
                // RFC 4733 §2.5.1: one event, its timestamp the event's start, the marker
                // on the first packet, the duration growing, the end bit on the last three.
                let n = sending.key_packets;
                if n == 0 {
                    keys.lock()
                        .expect("not poisoned")
                        .insert(stream.ssrc, Instant::now());
                }
                let seq = sending.next.wrapping_add(n) as u16;
                event[1] = (u8::from(n == 0) << 7) | EVENT_PAYLOAD_TYPE;
                event[2..4].copy_from_slice(&seq.to_be_bytes());
                event[4..8]
                    .copy_from_slice(&sending.next.wrapping_mul(SAMPLES_PER_PACKET).to_be_bytes());
                event[8..12].copy_from_slice(&stream.ssrc.to_be_bytes());
                let end = n >= KEY_PACKETS / 2;
                let duration = (n.min(KEY_PACKETS / 2 - 1) + 1) as u16 * SAMPLES_PER_PACKET as u16;
                event[RTP_HEADER] = event_of(key);
                event[RTP_HEADER + 1] = (u8::from(end) << 7) | KEY_VOLUME;
                event[RTP_HEADER + 2..].copy_from_slice(&duration.to_be_bytes());
                let _ = sockets[stream.socket].send_to(&event, stream.to);
                sending.key_packets += 1;
            }
            if sending.done() {
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
            let lag = now - next;
            paced.max_lag = paced.max_lag.max(lag);
            if lag > LATE_BY {
                paced.late_moments.record(
                    wall_nanos(),
                    u64::try_from(lag.as_nanos()).unwrap_or(u64::MAX),
                );
            }
        }
    }
    paced
}

/// One datagram: its length, where from, and the kernel's receive stamp (ns, realtime
/// clock), if it gave one.
pub(crate) fn receive_one(
    socket: &impl AsRawFd,
    buf: &mut [u8],
    cmsg: &mut [u8],
) -> Result<(usize, Option<SocketAddr>, Option<u64>), Errno> {
    let mut iov = [IoSliceMut::new(buf)];
    let message =
        recvmsg::<SockaddrStorage>(socket.as_raw_fd(), &mut iov, Some(cmsg), MsgFlags::empty())?;
    let stamp = message.cmsgs().ok().and_then(|mut messages| {
        messages.find_map(|m| match m {
            ControlMessageOwned::ScmTimestampns(ts) => Some(nanos_of(ts)),
            _ => None,
        })
    });
    let from = message.address.and_then(|a| address_of(&a));
    Ok((message.bytes, from, stamp))
}

fn nanos_of(ts: TimeSpec) -> u64 {
    u64::try_from(ts.tv_sec()).unwrap_or(0) * 1_000_000_000
        + u64::try_from(ts.tv_nsec()).unwrap_or(0)
}

fn address_of(storage: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = storage.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    storage
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}

/// A receiving thread: counts packets per relay port, checks each port keeps sending the
/// same stream, times every stream's arrivals, and (relayed calls) records each packet's
/// time through the relay.
fn receive(socket: &UdpSocket, side: Side, shared: &Receiving) -> Heard {
    // What reaches a callee through the relay is always the generator's own (a caller's);
    // what reaches a caller is only when the callee is the generator's too.
    let relayed_own = side == Side::Callee || shared.stamped;
    let mut heard = Heard::default();
    let mut buf = [0u8; 2048];
    let mut cmsg = nix::cmsg_space!(TimeSpec);
    while !shared.stop.load(Ordering::Relaxed) {
        let received = if shared.kernel_stamps {
            receive_one(socket, &mut buf, &mut cmsg)
        } else {
            socket
                .recv_from(&mut buf)
                .map(|(len, from)| (len, Some(from), None))
                .map_err(|error| Errno::from_raw(error.raw_os_error().unwrap_or(0)))
        };
        let (len, from, stamp) = match received {
            Ok((len, Some(from), stamp)) => (len, from, stamp),
            Ok(_) => continue,
            Err(Errno::EAGAIN) => {
                std::thread::sleep(RECEIVE_POLL);
                continue;
            }
            Err(_) => continue, // an ICMP error from an earlier send
        };
        let user = nanos_since(shared.epoch);
        let kernel = stamp.unwrap_or(user);
        if len < RTP_HEADER {
            continue;
        }
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let timestamp = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        if shared.own.contains(&from) {
            let late = heard.control.entry((from, ssrc)).or_default().on_packet(
                seq,
                timestamp,
                kernel,
                user,
                &heard.control_gaps,
            );
            if let (Some(gap), Some(wall)) = (late, stamp) {
                heard.control_moments.record(wall, gap);
            }
            continue;
        }
        let (locked, arrivals) = heard
            .sources
            .entry(from)
            .or_insert((ssrc, Arrivals::default()));
        if *locked != ssrc {
            heard.crossed += 1;
            continue;
        }
        let late = arrivals.on_packet(seq, timestamp, kernel, user, &heard.gaps);
        if let (Some(gap), Some(wall)) = (late, stamp) {
            heard.moments.record(wall, gap);
        }
        if relayed_own && len >= RTP_HEADER + STAMP {
            let mut sent = [0u8; STAMP];
            sent.copy_from_slice(&buf[RTP_HEADER..RTP_HEADER + STAMP]);
            let sent = u64::from_be_bytes(sent);
            if shared.stamped {
                heard
                    .latency
                    .record(wall_nanos().saturating_sub(sent) / 1_000);
            }
            if let Some(wall) = stamp {
                heard.transit.record(wall.saturating_sub(sent) / 1_000);
            }
        }
    }
    heard
}
