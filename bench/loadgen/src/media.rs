//! RTP: one stream per call side, sending 20 ms PCMU packets (RFC 3551 §4.5.14: 160 bytes
//! of payload, timestamp +160) to crossbar's relay and counting what comes back from the
//! other side of the call. Each packet carries its send time, so the receiver measures how
//! long the relay held it.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::oneshot;

use crate::histogram::Histogram;

/// RFC 3551 PCMU at 8 kHz, 20 ms per packet.
pub const PTIME: Duration = Duration::from_millis(20);
const SAMPLES_PER_PACKET: u32 = 160;
const RTP_HEADER: usize = 12;
/// Send time, nanoseconds since the run's epoch, in the first payload bytes.
const STAMP: usize = 8;
const PACKET: usize = RTP_HEADER + SAMPLES_PER_PACKET as usize;

/// Which side of the call a stream belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Caller,
    Callee,
}

/// Packet counts for one direction of every call.
#[derive(Debug, Default)]
pub struct Direction {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// Packets from another SSRC than the first one this stream received: media of some
    /// other call (or of a previous one) delivered to it.
    pub crossed: AtomicU64,
}

/// What every stream adds to at its end (counts) and per packet (latency).
#[derive(Debug)]
pub struct MediaStats {
    /// Caller → callee (sent by callers, received by callees).
    pub forward: Direction,
    /// Callee → caller.
    pub backward: Direction,
    /// Send → receive through the relay, microseconds.
    pub latency: Histogram,
    /// The SSRC each receiving stream locked on, to check no stream reached two receivers.
    pub locked: Mutex<Vec<u32>>,
    /// Streams that received nothing at all.
    pub silent: AtomicU64,
    pub epoch: Instant,
}

impl MediaStats {
    pub fn new(epoch: Instant) -> MediaStats {
        MediaStats {
            forward: Direction::default(),
            backward: Direction::default(),
            latency: Histogram::new(),
            locked: Mutex::new(Vec::new()),
            silent: AtomicU64::new(0),
            epoch,
        }
    }
}

/// One call side's RTP: sends `packets` packets every [`PTIME`] to the relay it is
/// connected to, receives until `stop`, then adds its counts to `stats`.
pub struct Stream {
    pub socket: UdpSocket,
    pub side: Side,
    pub ssrc: u32,
    pub packets: u32,
}

impl Stream {
    /// A socket on `ip`, port chosen by the kernel, for an SDP offer or answer.
    pub fn bind(ip: std::net::IpAddr) -> std::io::Result<UdpSocket> {
        let socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
        socket.set_nonblocking(true)?;
        UdpSocket::from_std(socket)
    }

    pub async fn run(
        self,
        relay: SocketAddr,
        stats: std::sync::Arc<MediaStats>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let Stream {
            socket,
            side,
            ssrc,
            packets,
        } = self;
        if socket.connect(relay).await.is_err() {
            return;
        }
        let (sending, receiving) = match side {
            Side::Caller => (&stats.forward, &stats.backward),
            Side::Callee => (&stats.backward, &stats.forward),
        };
        let mut packet = [0u8; PACKET];
        packet[0] = 0x80; // V=2
        packet[1] = 0; // PT 0, PCMU
        packet[8..12].copy_from_slice(&ssrc.to_be_bytes());
        packet[RTP_HEADER + STAMP..].fill(0xff); // µ-law silence
        let mut buf = [0u8; 2048];
        let mut tick = tokio::time::interval(PTIME);
        let (mut sent, mut received, mut crossed) = (0u32, 0u64, 0u64);
        let mut locked: Option<u32> = None;
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => break,
                result = socket.recv(&mut buf) => {
                    let Ok(len) = result else { continue };
                    if len < RTP_HEADER + STAMP {
                        continue;
                    }
                    let from = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
                    if *locked.get_or_insert(from) != from {
                        crossed += 1;
                        continue;
                    }
                    received += 1;
                    let mut stamp = [0u8; STAMP];
                    stamp.copy_from_slice(&buf[RTP_HEADER..RTP_HEADER + STAMP]);
                    let sent_ns = u64::from_be_bytes(stamp);
                    let now_ns = u64::try_from(stats.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    stats.latency.record(now_ns.saturating_sub(sent_ns) / 1_000);
                }
                _ = tick.tick(), if sent < packets => {
                    let seq = sent as u16; // wraps, as RTP sequence numbers do
                    packet[2..4].copy_from_slice(&seq.to_be_bytes());
                    packet[4..8].copy_from_slice(&(sent.wrapping_mul(SAMPLES_PER_PACKET)).to_be_bytes());
                    let now_ns = u64::try_from(stats.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    packet[RTP_HEADER..RTP_HEADER + STAMP].copy_from_slice(&now_ns.to_be_bytes());
                    // A failed send is a packet sent and lost: the receiver will not see it.
                    let _ = socket.send(&packet).await;
                    sent += 1;
                }
            }
        }
        sending.sent.fetch_add(u64::from(sent), Ordering::Relaxed);
        receiving.received.fetch_add(received, Ordering::Relaxed);
        receiving.crossed.fetch_add(crossed, Ordering::Relaxed);
        match locked {
            Some(ssrc) => stats.locked.lock().expect("not poisoned").push(ssrc),
            None => {
                stats.silent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
