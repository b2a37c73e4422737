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
//!
//! Or it is a **carrier** ([`CarrierLoad`], `--carrier-port`): its SIP socket is the address
//! of one of the server's trunks, and it calls a number the server receives (a DID) from
//! E.164 caller numbers, without digest. The DID may lead to the generator's own callee
//! (`--callee`), or to a menu the server answers itself: then each caller listens to the
//! prompt the server plays, and the report times those streams (loss by sequence gaps,
//! packets late by more than 5 ms on their 20 ms, on the kernel's receive stamps and on the
//! generator's clock), optionally presses a key at the end (RFC 4733) whose option hangs up,
//! and compares with control streams that never leave the generator.
//!
//! ```text
//! crossbar-loadgen --server 127.0.0.1:5360 --carrier-port 5380 --dial +442079460000 \
//!     --calls 1000 --rate 100 --hold 30 --key 1 --control-streams 20
//! ```
//!
//! The carrier's DID may also lead to a **queue** whose agents are the generator's
//! ([`Agents`], `--agents`): the server answers each caller itself and plays music and
//! announcements while it waits (timed as a menu's prompts are), the generator registers
//! the agents as extensions and answers the server's INVITEs as each of them, talks
//! `--talk` seconds and hangs up. An agent is free from its BYE; the report gives how soon
//! the server's next INVITE reached that agent (dispatch), beside the BYE's own round trip.
//! Callers wait until the server ends their call (the agent hung up), at most `--hold`.
//!
//! ```text
//! crossbar-loadgen --server 127.0.0.1:5360 --carrier-port 5380 --dial +442079460001 \
//!     --calls 1000 --rate 100 --hold 300 --agents 100 --agent-first 3000 --talk 3
//! ```

mod arrivals;
mod callee;
mod caller;
mod histogram;
mod media;
mod moments;
mod signalling;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::watch;

pub use crate::arrivals::ArrivalTotals;
use crate::callee::{Answering, Callee};
pub use crate::caller::MenuCaller;
use crate::caller::{Caller, Identity, Plan, packets_in};
use crate::histogram::Histogram;
use crate::media::MediaPlane;
pub use crate::media::{Packets, set_pacing_priority};
pub use crate::moments::Moments;
pub use crate::signalling::Credentials;

/// A non-blocking UDP socket on `ip` and `port` (0: chosen by the kernel) with `buffer`
/// bytes of receive and send buffer, or whatever net.core.{r,w}mem_max grants: the
/// generator's SIP and RTP sockets carry bursts of thousands of datagrams.
pub(crate) fn udp_socket(
    ip: IpAddr,
    port: u16,
    buffer: usize,
) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let address = SocketAddr::new(ip, port);
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

/// Calls from a carrier: the generator is the far end of one of the server's trunks (its SIP
/// socket is the trunk's address, so the server takes its INVITEs as the trunk's, without
/// digest), calling a number the server receives.
#[derive(Debug, Clone)]
pub struct CarrierLoad {
    /// The server's SIP address (UDP).
    pub server: SocketAddr,
    /// The address the generator's SIP and RTP sockets bind to.
    pub bind: IpAddr,
    /// The port of the generator's SIP socket: the trunk's address is `bind:sip_port`.
    pub sip_port: u16,
    /// Callers are this followed by the call's index in six digits (`+4477009` → `+4477009000042`).
    pub caller_prefix: String,
    /// The number called (a DID).
    pub dial: String,
    /// A phone answers: the extension the generator registers and answers as (the DID must
    /// lead to it), with RTP both ways as in [`Load`]. `None`: the server answers itself (a
    /// menu) and plays to the callers.
    pub callee: Option<Credentials>,
    /// How callers behave in the server's menu (without a callee).
    pub menu: MenuCaller,
    /// Queue agents (instead of a callee): the DID leads to a queue they are agents of.
    pub agents: Option<Agents>,
    pub calls: u32,
    /// New calls per second.
    pub rate: f64,
    /// How long each call stays up once answered.
    pub hold: Duration,
    /// RTP; without it the SDP offers the discard port and nothing is sent or timed.
    pub media: bool,
    /// Sockets per side that the calls' RTP shares.
    pub rtp_sockets: usize,
    /// Streams from the generator's sockets to its own, paced and timed as the calls' are,
    /// for as long as the calls last: the generator's own lateness.
    pub control_streams: u32,
    /// Time arrivals on the kernel's receive stamps as well as on the generator's clock.
    pub kernel_stamps: bool,
    /// A progress line on stderr every second.
    pub progress: bool,
}

/// Queue agents: extensions the generator registers and answers as; each call talks `talk`
/// (RTP both ways, with media), then the agent hangs up.
#[derive(Debug, Clone)]
pub struct Agents {
    pub users: Vec<Credentials>,
    pub talk: Duration,
}

/// Either kind of load, as one run carries it out.
struct Scenario {
    server: SocketAddr,
    bind: IpAddr,
    sip_port: u16,
    identity: Identity,
    dial: String,
    /// The generator's answering extensions: a callee, or queue agents.
    answering: Option<Answering>,
    /// What comes back to the callers is the generator's own stamped packets (a callee's),
    /// not the server's (a menu's or a queue's).
    stamped: bool,
    /// The calls go to a queue served by the generator's agents.
    queue: bool,
    menu: Option<MenuCaller>,
    calls: u32,
    rate: f64,
    hold: Duration,
    media: bool,
    rtp_sockets: usize,
    control_streams: u32,
    kernel_stamps: bool,
    progress: bool,
}

/// Places the calls of `load` and reports on them once the last has ended. Runs on the
/// caller's tokio runtime (multi-threaded, with time and IO). Arrivals are timed on the
/// generator's clock (see [`run_timed`]).
pub async fn run(load: Load) -> anyhow::Result<Report> {
    run_timed(load, false).await
}

/// [`run`], timing arrivals on the kernel's receive stamps too (`kernel_stamps`): `recvmsg`
/// with `SO_TIMESTAMPNS` instead of `recvfrom`, which costs the generator more per packet.
pub async fn run_timed(load: Load, kernel_stamps: bool) -> anyhow::Result<Report> {
    anyhow::ensure!(
        !load.callers.is_empty(),
        "a load from extensions needs callers"
    );
    run_scenario(Scenario {
        server: load.server,
        bind: load.bind,
        sip_port: 0,
        identity: Identity::Extensions(load.callers),
        dial: load.dial,
        answering: Some(Answering {
            users: vec![load.callee],
            packets: packets_in(load.hold),
            hang_up_after: None,
        }),
        stamped: true,
        queue: false,
        menu: None,
        calls: load.calls,
        rate: load.rate,
        hold: load.hold,
        media: load.media,
        rtp_sockets: load.rtp_sockets,
        control_streams: 0,
        kernel_stamps,
        progress: load.progress,
    })
    .await
}

/// Places the calls of a carrier's `load` and reports on them once the last has ended (see
/// [`run`]).
pub async fn run_carrier(load: CarrierLoad) -> anyhow::Result<Report> {
    let stamped = load.callee.is_some();
    let queue = load.agents.is_some();
    let menu = (!stamped).then_some(load.menu);
    let answering = match (load.callee, load.agents) {
        (Some(callee), _) => Some(Answering {
            users: vec![callee],
            packets: packets_in(load.hold),
            hang_up_after: None,
        }),
        (None, Some(agents)) => Some(Answering {
            users: agents.users,
            packets: packets_in(agents.talk),
            hang_up_after: Some(agents.talk),
        }),
        (None, None) => None,
    };
    run_scenario(Scenario {
        server: load.server,
        bind: load.bind,
        sip_port: load.sip_port,
        identity: Identity::Carrier {
            prefix: load.caller_prefix,
        },
        dial: load.dial,
        answering,
        stamped,
        queue,
        menu,
        calls: load.calls,
        rate: load.rate,
        hold: load.hold,
        media: load.media,
        rtp_sockets: load.rtp_sockets,
        control_streams: load.control_streams,
        kernel_stamps: load.kernel_stamps,
        progress: load.progress,
    })
    .await
}

async fn run_scenario(load: Scenario) -> anyhow::Result<Report> {
    anyhow::ensure!(
        load.calls > 0 && load.rate > 0.0,
        "a load needs calls and a positive rate"
    );
    let epoch = Instant::now();
    let media = if load.media {
        // What comes back carries the generator's send stamps only when a phone of the
        // generator's sends it; a menu's prompts and a queue's music are crossbar's.
        let plane = MediaPlane::start(
            load.bind,
            load.rtp_sockets,
            load.stamped,
            load.kernel_stamps,
        )?;
        if load.control_streams > 0 {
            let lasts = Duration::from_secs_f64(f64::from(load.calls) / load.rate) + load.hold;
            plane.start_control(load.control_streams, packets_in(lasts));
        }
        Some(Arc::new(plane))
    } else {
        None
    };
    let callee_tally = Arc::new(callee::Tally::default());
    let (done, done_rx) = watch::channel(false);
    let callee_task = match &load.answering {
        Some(answering) => {
            let callee = Callee::new(
                tokio::net::UdpSocket::from_std(udp_socket(load.bind, 0, 8 << 20)?)?,
                load.server,
                answering.clone(),
                callee_tally.clone(),
                media.clone(),
            )?;
            callee.register().await?;
            Some(tokio::spawn(callee.run(done_rx)))
        }
        None => None,
    };

    let tally = Arc::new(caller::Tally::default());
    let plan = Plan {
        server: load.server,
        dial: load.dial.clone(),
        calls: load.calls,
        rate: load.rate,
        hold: load.hold,
        drain: Duration::from_secs(1),
        identity: load.identity.clone(),
        menu: load.menu,
    };
    let socket = udp_socket(load.bind, load.sip_port, 8 << 20).map_err(|error| {
        anyhow::anyhow!(
            "binding the callers' SIP socket on {}:{}: {error}",
            load.bind,
            load.sip_port
        )
    })?;
    let caller = Caller::new(
        tokio::net::UdpSocket::from_std(socket)?,
        plan,
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
    let callee_hung = match callee_task {
        Some(task) => tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .is_err(),
        None => false,
    };
    let totals = match media {
        Some(plane) => {
            let histograms = [
                plane.latency.clone(),
                plane.transit.clone(),
                plane.gaps.clone(),
                plane.control_gaps.clone(),
            ];
            let totals = tokio::task::spawn_blocking(move || plane.finish()).await?;
            Some((totals, histograms.map(|h| Quantiles::of(&h))))
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
    /// The calls came from a carrier (a trunk's address, no digest).
    pub carrier: bool,
    /// The server answered the calls itself (a menu, or a queue): `backward` is what it
    /// played.
    pub menu: bool,
    /// The calls went to a queue served by the generator's agents.
    pub queue: bool,
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
    /// Agents: calls they hung up, those whose BYE the server answered, those the server
    /// ended.
    pub agent_hung_up: u64,
    pub agent_byes_answered: u64,
    pub agent_ended_by_server: u64,
    /// Agents: free (BYE sent or received) → the next INVITE to the same agent, µs.
    pub dispatch: Quantiles,
    /// Agents: BYE sent → the server's 200, µs.
    pub bye_answered: Quantiles,
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
    /// The generator's `sendto` → crossbar's `sendto` of the same packet (the kernel's
    /// receive stamp): the time crossbar held relayed packets, microseconds.
    pub transit: Quantiles,
    /// The streams the callees and the callers received, timed (loss by sequence gaps,
    /// late packets).
    pub forward_arrivals: ArrivalTotals,
    pub backward_arrivals: ArrivalTotals,
    /// Gaps between consecutive packets of a received stream (kernel stamps), microseconds.
    pub gaps: Quantiles,
    /// The control streams: packets sent, what arrived, and their gaps.
    pub control_sent: u64,
    pub control: ArrivalTotals,
    pub control_gaps: Quantiles,
    /// In a menu: keys pressed, keys the server's BYE followed, and how soon.
    pub keys_sent: u64,
    pub keys_heard: u64,
    pub key_to_bye: Quantiles,
    /// When frames were late (kernel stamps): what the callers heard, what the callees heard
    /// (relayed), the control streams, the generator's own pacing.
    pub late_moments: Moments,
    pub relayed_late_moments: Moments,
    pub control_late_moments: Moments,
    pub pacing_late_moments: Moments,
    pub elapsed: Duration,
}

impl Report {
    fn of(
        load: &Scenario,
        tally: &caller::Tally,
        callee: &callee::Tally,
        media: Option<(media::Totals, [Quantiles; 4])>,
        callee_hung: bool,
        elapsed: Duration,
    ) -> Report {
        let (totals, [latency, transit, gaps, control_gaps]) = media.unwrap_or_default();
        Report {
            rate: load.rate,
            media: load.media,
            carrier: matches!(load.identity, Identity::Carrier { .. }),
            menu: load.menu.is_some(),
            queue: load.queue,
            placed: tally.launched.load(Ordering::Relaxed),
            answered: tally.answered.load(Ordering::Relaxed),
            completed: tally.completed.load(Ordering::Relaxed),
            ended_by_server: tally.ended_by_server.load(Ordering::Relaxed),
            failures: tally.failures.lock().expect("not poisoned").clone(),
            timeouts: tally.timeouts.load(Ordering::Relaxed),
            invites: callee.invites.load(Ordering::Relaxed),
            unacknowledged: callee.unacknowledged.load(Ordering::Relaxed),
            without_offer: callee.without_offer.load(Ordering::Relaxed),
            agent_hung_up: callee.hung_up.load(Ordering::Relaxed),
            agent_byes_answered: callee.byes_answered.load(Ordering::Relaxed),
            agent_ended_by_server: callee.ended_by_server.load(Ordering::Relaxed),
            dispatch: Quantiles::of(&callee.dispatch),
            bye_answered: Quantiles::of(&callee.bye_answered),
            callee_hung,
            setup: Quantiles::of(&tally.setup),
            forward: totals.forward,
            backward: totals.backward,
            streams: totals.streams,
            sources: totals.sources,
            shared: totals.shared,
            max_pacing_lag: totals.max_pacing_lag,
            latency,
            transit,
            forward_arrivals: totals.forward_arrivals,
            backward_arrivals: totals.backward_arrivals,
            gaps,
            control_sent: totals.control_sent,
            control: totals.control,
            control_gaps,
            keys_sent: tally.keys_sent.load(Ordering::Relaxed),
            keys_heard: tally.keys_heard.load(Ordering::Relaxed),
            key_to_bye: Quantiles::of(&tally.key_to_bye),
            late_moments: totals.late_moments,
            relayed_late_moments: totals.relayed_late_moments,
            control_late_moments: totals.control_late_moments,
            pacing_late_moments: totals.pacing_late_moments,
            elapsed,
        }
    }

    /// Calls that failed: a failure response or no response in time.
    pub fn failed(&self) -> u64 {
        self.failures.values().sum::<u64>() + self.timeouts
    }

    /// One `key=value` line for scripts.
    pub fn result_line(&self) -> String {
        let arrivals = |name: &str, a: &ArrivalTotals| {
            format!(
                " {name}_streams={} {name}_expected={} {name}_lost={} {name}_late={} \
                 {name}_late_user={} {name}_late_streams={} {name}_jumps={} \
                 {name}_max_gap_us={} {name}_max_gap_user_us={}",
                a.streams,
                a.expected,
                a.lost,
                a.late_kernel,
                a.late_user,
                a.late_streams,
                a.jumps,
                a.max_gap_kernel_us,
                a.max_gap_user_us,
            )
        };
        let mut line = self.calls_line();
        line.push_str(&arrivals("fwd", &self.forward_arrivals));
        line.push_str(&arrivals("back", &self.backward_arrivals));
        line.push_str(&arrivals("control", &self.control));
        line.push_str(&format!(
            " control_sent={} gap_p50_us={} gap_p99_us={} gap_p999_us={} gap_max_us={} \
             control_gap_p99_us={} control_gap_max_us={} keys_sent={} keys_heard={} \
             key_to_bye_p50_us={} key_to_bye_p99_us={} key_to_bye_max_us={} \
             agent_invites={} agent_hung_up={} agent_byes_answered={} agent_ended_by_server={} \
             dispatch_samples={} dispatch_p50_us={} dispatch_p99_us={} dispatch_p999_us={} \
             dispatch_max_us={} agent_bye_p50_us={} agent_bye_p99_us={} agent_bye_max_us={}",
            self.control_sent,
            self.gaps.p50,
            self.gaps.p99,
            self.gaps.p999,
            self.gaps.max,
            self.control_gaps.p99,
            self.control_gaps.max,
            self.keys_sent,
            self.keys_heard,
            self.key_to_bye.p50,
            self.key_to_bye.p99,
            self.key_to_bye.max,
            self.invites,
            self.agent_hung_up,
            self.agent_byes_answered,
            self.agent_ended_by_server,
            self.dispatch.samples,
            self.dispatch.p50,
            self.dispatch.p99,
            self.dispatch.p999,
            self.dispatch.max,
            self.bye_answered.p50,
            self.bye_answered.p99,
            self.bye_answered.max,
        ));
        line
    }

    fn calls_line(&self) -> String {
        format!(
            "result calls={} answered={} failed={} ended_by_server={} setup_p50_us={} \
             setup_p99_us={} setup_max_us={} fwd_sent={} fwd_received={} back_sent={} \
             back_received={} crossed={} shared={} latency_p50_us={} latency_p99_us={} \
             latency_p999_us={} latency_max_us={} transit_p50_us={} transit_p99_us={} \
             transit_p999_us={} transit_max_us={} pacing_lag_max_us={} elapsed_s={:.1}",
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
            self.transit.p50,
            self.transit.p99,
            self.transit.p999,
            self.transit.max,
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
            "setup (first INVITE -> 200{}): {}",
            if self.carrier {
                ""
            } else {
                ", 407 round included"
            },
            self.setup.show(1_000.0, "ms")
        )?;
        if self.media && self.menu {
            let a = &self.backward_arrivals;
            writeln!(
                f,
                "{} heard: {} streams, {} packets of {} expected, {} lost ({:.4} %), \
                 {} late by > 5 ms on the kernel's stamps ({} streams), {} on the generator's \
                 clock; longest gap {:.1} ms (generator's clock {:.1} ms); {} schedule jumps",
                if self.queue {
                    "queue music and announcements"
                } else {
                    "menu prompts"
                },
                a.streams,
                a.received,
                a.expected,
                a.lost,
                a.loss(),
                a.late_kernel,
                a.late_streams,
                a.late_user,
                a.max_gap_kernel_us as f64 / 1_000.0,
                a.max_gap_user_us as f64 / 1_000.0,
                a.jumps,
            )?;
            writeln!(
                f,
                "gaps between prompt packets (kernel stamps): {}",
                self.gaps.show(1.0, "us")
            )?;
            if self.queue {
                writeln!(
                    f,
                    "agents: {} INVITEs, {} calls hung up by the agent ({} BYEs answered), {} \
                     ended by the server; the agents' voice reached the callers in {} packets, \
                     the callers' reached the agents in {}",
                    self.invites,
                    self.agent_hung_up,
                    self.agent_byes_answered,
                    self.agent_ended_by_server,
                    self.backward.crossed,
                    self.forward.received,
                )?;
                writeln!(
                    f,
                    "relay transit, the callers' voice to the agents (the generator's sendto -> \
                     crossbar's, kernel stamps): {}",
                    self.transit.show(1.0, "us")
                )?;
                writeln!(
                    f,
                    "agent free -> next INVITE to that agent: {}",
                    self.dispatch.show(1_000.0, "ms")
                )?;
                writeln!(
                    f,
                    "agent's BYE -> the server's 200 (reference): {}",
                    self.bye_answered.show(1_000.0, "ms")
                )?;
            }
            writeln!(
                f,
                "callers: {} frames sent to the server; keys: {} pressed, {} followed by the \
                 server's BYE; key -> BYE: {}",
                self.forward.sent,
                self.keys_sent,
                self.keys_heard,
                self.key_to_bye.show(1_000.0, "ms"),
            )?;
        }
        if self.media && self.control.streams > 0 {
            let c = &self.control;
            writeln!(
                f,
                "control streams (generator to itself): {} streams, {} sent, {} received, {} \
                 lost, {} late on the kernel's stamps, {} on the generator's clock; longest gap \
                 {:.1} ms (generator's clock {:.1} ms); gaps p99 {:.1} ms",
                c.streams,
                self.control_sent,
                c.received,
                c.lost,
                c.late_kernel,
                c.late_user,
                c.max_gap_kernel_us as f64 / 1_000.0,
                c.max_gap_user_us as f64 / 1_000.0,
                self.control_gaps.p99 as f64 / 1_000.0,
            )?;
        }
        if self.media && !self.menu {
            for (name, p, a) in [
                ("caller -> callee", self.forward, &self.forward_arrivals),
                ("callee -> caller", self.backward, &self.backward_arrivals),
            ] {
                writeln!(
                    f,
                    "rtp {name} arrivals: {} late by > 5 ms on the kernel's stamps ({} streams), \
                     {} on the generator's clock; longest gap {:.1} ms",
                    a.late_kernel,
                    a.late_streams,
                    a.late_user,
                    a.max_gap_kernel_us as f64 / 1_000.0,
                )?;
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
            writeln!(
                f,
                "relay transit (the generator's sendto -> crossbar's, kernel stamps): {}",
                self.transit.show(1.0, "us")
            )?;
        }
        write!(
            f,
            "{}{}{}{}",
            self.late_moments.lines("heard"),
            self.relayed_late_moments.lines("relayed"),
            self.control_late_moments.lines("control"),
            self.pacing_late_moments.lines("pacing"),
        )?;
        write!(f, "{}", self.result_line())
    }
}
