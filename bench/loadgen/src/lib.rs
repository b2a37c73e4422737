//! crossbar-loadgen: calls and RTP through a PBX, for benchmarks where SIPp itself becomes
//! the limit (its pcap player opens a raw socket per call, which every UDP packet on the
//! host then pays for; see docs/BENCHMARKS.md).
//!
//! One process plays both ends: a callee extension that registers and answers everything,
//! and callers (the extensions of a SIPp `users.csv`) that place `--calls` calls at
//! `--rate` per second to the callee's number, answer the 407, hold each call `--hold`
//! seconds with 20 ms PCMU flowing both ways through the server's relay, and hang up.
//!
//! It reports the calls (answered, failed by status), call-setup time (first INVITE → 200,
//! the 407 round included), packets sent and received each way (loss), packets delivered to
//! the wrong call, and how long the relay held each packet (send → receive, one clock).
//!
//! ```text
//! crossbar-loadgen --server 127.0.0.1:5360 --users users.csv --dial 2999 \
//!     --callee uas --callee-password pw-uas-2999 --calls 2000 --rate 200 --hold 30
//! ```

mod callee;
mod caller;
mod histogram;
mod media;
mod signalling;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::callee::Callee;
use crate::caller::{Caller, Plan, packets_in};
use crate::histogram::Histogram;
use crate::media::MediaPlane;
pub use crate::media::Packets;
pub use crate::signalling::Credentials;

/// A non-blocking UDP socket on `ip` (port chosen by the kernel) with `buffer` bytes of
/// receive and send buffer, or whatever net.core.{r,w}mem_max grants: the generator's SIP
/// and RTP sockets carry bursts of thousands of datagrams.
pub(crate) fn udp_socket(ip: IpAddr, buffer: usize) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let address = SocketAddr::new(ip, 0);
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    let _ = socket.set_recv_buffer_size(buffer);
    let _ = socket.set_send_buffer_size(buffer);
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    Ok(socket.into())
}

/// What load to put on the server.
#[derive(Debug, Clone)]
pub struct Load {
    /// The server's SIP address (UDP).
    pub server: SocketAddr,
    /// The address the generator's SIP and RTP sockets bind to.
    pub bind: IpAddr,
    /// The calling extensions, used in turn.
    pub callers: Vec<Credentials>,
    /// The number every call dials: the callee extension's.
    pub dial: String,
    /// The callee extension, registered by the generator before the first call.
    pub callee: Credentials,
    pub calls: u32,
    /// New calls per second.
    pub rate: f64,
    /// How long each call stays up once answered (RTP flows for all of it).
    pub hold: Duration,
    /// RTP both ways; without it the SDP offers the discard port and nothing is sent.
    pub media: bool,
    /// Sockets per side that the calls' RTP shares.
    pub rtp_sockets: usize,
    /// A progress line on stderr every second.
    pub progress: bool,
}

/// Places the calls of `load` and reports on them once the last has ended. Runs on the
/// caller's tokio runtime (multi-threaded, with time and IO).
pub async fn run(load: Load) -> anyhow::Result<Report> {
    anyhow::ensure!(
        load.calls > 0 && load.rate > 0.0 && !load.callers.is_empty(),
        "a load needs calls, a positive rate and callers"
    );
    let epoch = Instant::now();
    let media = if load.media {
        Some(Arc::new(MediaPlane::start(load.bind, load.rtp_sockets)?))
    } else {
        None
    };
    let packets = packets_in(load.hold);
    let callee_tally = Arc::new(callee::Tally::default());
    let callee = Callee::new(
        tokio::net::UdpSocket::from_std(udp_socket(load.bind, 8 << 20)?)?,
        load.server,
        load.callee.clone(),
        packets,
        callee_tally.clone(),
        media.clone(),
    )?;
    callee.register().await?;
    let (done, done_rx) = watch::channel(false);
    let callee_task = tokio::spawn(callee.run(done_rx));

    let tally = Arc::new(caller::Tally::default());
    let plan = Plan {
        server: load.server,
        dial: load.dial.clone(),
        calls: load.calls,
        rate: load.rate,
        hold: load.hold,
        drain: Duration::from_secs(1),
    };
    let caller = Caller::new(
        tokio::net::UdpSocket::from_std(udp_socket(load.bind, 8 << 20)?)?,
        plan,
        load.callers.clone(),
        tally.clone(),
        media.clone(),
    )?;
    let progress = load
        .progress
        .then(|| tokio::spawn(progress(tally.clone(), epoch)));
    caller.run().await;
    if let Some(progress) = progress {
        progress.abort();
    }
    let _ = done.send(true);
    let callee_hung = tokio::time::timeout(Duration::from_secs(5), callee_task)
        .await
        .is_err();
    let totals = match media {
        Some(plane) => {
            let latency = plane.latency.clone();
            let totals = tokio::task::spawn_blocking(move || plane.finish()).await?;
            Some((totals, Quantiles::of(&latency)))
        }
        None => None,
    };
    Ok(Report::of(
        &load,
        &tally,
        &callee_tally,
        totals,
        callee_hung,
        epoch.elapsed(),
    ))
}

async fn progress(tally: Arc<caller::Tally>, epoch: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let answered = tally.answered.load(Ordering::Relaxed);
        let ended =
            tally.completed.load(Ordering::Relaxed) + tally.ended_by_server.load(Ordering::Relaxed);
        eprintln!(
            "t={:>4.0}s launched={} answered={} up={} ended={} failed={}",
            epoch.elapsed().as_secs_f64(),
            tally.launched.load(Ordering::Relaxed),
            answered,
            answered.saturating_sub(ended),
            ended,
            tally.failed(),
        );
    }
}

/// Quantiles of a histogram, in its unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quantiles {
    pub samples: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Quantiles {
    fn of(h: &Histogram) -> Quantiles {
        Quantiles {
            samples: h.count(),
            p50: h.quantile(0.5),
            p90: h.quantile(0.9),
            p99: h.quantile(0.99),
            p999: h.quantile(0.999),
            max: h.max(),
        }
    }

    fn show(&self, divisor: f64, unit: &str) -> String {
        if self.samples == 0 {
            return "no samples".to_owned();
        }
        let v = |x: u64| x as f64 / divisor;
        format!(
            "{} samples, p50 {:.1} {unit}, p90 {:.1} {unit}, p99 {:.1} {unit}, p99.9 {:.1} {unit}, max {:.1} {unit}",
            self.samples,
            v(self.p50),
            v(self.p90),
            v(self.p99),
            v(self.p999),
            v(self.max),
        )
    }
}

/// What a load run saw.
#[derive(Debug, Clone)]
pub struct Report {
    pub rate: f64,
    pub media: bool,
    pub placed: u64,
    pub answered: u64,
    /// Hung up by the generator, BYE answered.
    pub completed: u64,
    pub ended_by_server: u64,
    /// Final failure responses, by status (0: the generator could not set the call up).
    pub failures: BTreeMap<u16, u64>,
    pub timeouts: u64,
    /// INVITEs that reached the callee.
    pub invites: u64,
    pub unacknowledged: u64,
    pub without_offer: u64,
    /// The callee still had calls up 5 s after the last caller hung up.
    pub callee_hung: bool,
    /// First INVITE → 200, microseconds.
    pub setup: Quantiles,
    /// Caller → callee.
    pub forward: Packets,
    /// Callee → caller.
    pub backward: Packets,
    /// Streams started, and relay ports that sent something back (one per stream when
    /// every stream got through).
    pub streams: u64,
    pub sources: u64,
    /// Streams (SSRCs) that reached us from more than one relay port: one call's media
    /// delivered to another.
    pub shared: u64,
    /// How far behind schedule the generator sent at worst: when this is more than a few
    /// milliseconds, the generator was short of CPU and the figures describe it too.
    pub max_pacing_lag: Duration,
    /// Send → receive through the relay, microseconds.
    pub latency: Quantiles,
    pub elapsed: Duration,
}

impl Report {
    fn of(
        load: &Load,
        tally: &caller::Tally,
        callee: &callee::Tally,
        media: Option<(media::Totals, Quantiles)>,
        callee_hung: bool,
        elapsed: Duration,
    ) -> Report {
        let (totals, latency) = media.unwrap_or_default();
        Report {
            rate: load.rate,
            media: load.media,
            placed: tally.launched.load(Ordering::Relaxed),
            answered: tally.answered.load(Ordering::Relaxed),
            completed: tally.completed.load(Ordering::Relaxed),
            ended_by_server: tally.ended_by_server.load(Ordering::Relaxed),
            failures: tally.failures.lock().expect("not poisoned").clone(),
            timeouts: tally.timeouts.load(Ordering::Relaxed),
            invites: callee.invites.load(Ordering::Relaxed),
            unacknowledged: callee.unacknowledged.load(Ordering::Relaxed),
            without_offer: callee.without_offer.load(Ordering::Relaxed),
            callee_hung,
            setup: Quantiles::of(&tally.setup),
            forward: totals.forward,
            backward: totals.backward,
            streams: totals.streams,
            sources: totals.sources,
            shared: totals.shared,
            max_pacing_lag: totals.max_pacing_lag,
            latency,
            elapsed,
        }
    }

    /// Calls that failed: a failure response or no response in time.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum::<u64>() + self.timeouts
    }

    /// One `key=value` line for scripts.
    pub fn result_line(&self) -> String {
        format!(
            "result calls={} answered={} failed={} ended_by_server={} setup_p50_us={} \
             setup_p99_us={} setup_max_us={} fwd_sent={} fwd_received={} back_sent={} \
             back_received={} crossed={} shared={} latency_p50_us={} latency_p99_us={} \
             latency_p999_us={} latency_max_us={} pacing_lag_max_us={} elapsed_s={:.1}",
            self.placed,
            self.answered,
            self.failed(),
            self.ended_by_server,
            self.setup.p50,
            self.setup.p99,
            self.setup.max,
            self.forward.sent,
            self.forward.received,
            self.backward.sent,
            self.backward.received,
            self.forward.crossed + self.backward.crossed,
            self.shared,
            self.latency.p50,
            self.latency.p99,
            self.latency.p999,
            self.latency.max,
            self.max_pacing_lag.as_micros(),
            self.elapsed.as_secs_f64(),
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failures = if self.failures.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = self
                .failures
                .iter()
                .map(|(status, n)| format!("{n}x {status}"))
                .collect();
            format!(" ({})", list.join(", "))
        };
        writeln!(
            f,
            "calls: {} placed at {}/s, {} answered, {} hung up by us, {} ended by the server, \
             {} failed{failures}, {} timed out; callee: {} INVITEs, {} 200s never ACKed, \
             {} without an offer{}",
            self.placed,
            self.rate,
            self.answered,
            self.completed,
            self.ended_by_server,
            self.failed(),
            self.timeouts,
            self.invites,
            self.unacknowledged,
            self.without_offer,
            if self.callee_hung {
                "; the callee still had calls up 5 s after the last hang-up"
            } else {
                ""
            },
        )?;
        writeln!(
            f,
            "setup (first INVITE -> 200, 407 round included): {}",
            self.setup.show(1_000.0, "ms")
        )?;
        if self.media {
            for (name, p) in [
                ("caller -> callee", self.forward),
                ("callee -> caller", self.backward),
            ] {
                writeln!(
                    f,
                    "rtp {name}: {} sent, {} received, {} lost ({:.4} %), {} from another call",
                    p.sent,
                    p.received,
                    p.lost(),
                    p.loss(),
                    p.crossed
                )?;
            }
            writeln!(
                f,
                "rtp streams: {} started, {} relay ports sent something back, {} streams came from two ports; the generator's packets left up to {:.1} ms late",
                self.streams,
                self.sources,
                self.shared,
                self.max_pacing_lag.as_secs_f64() * 1_000.0
            )?;
            writeln!(
                f,
                "relay latency (send -> receive): {}",
                self.latency.show(1.0, "us")
            )?;
        }
        write!(f, "{}", self.result_line())
    }
}
