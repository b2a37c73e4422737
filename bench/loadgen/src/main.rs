//! The `crossbar-loadgen` command: see the library's documentation.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use crossbar_loadgen::{Agents, CarrierLoad, Credentials, Load, MenuCaller};

#[derive(Debug, Parser)]
#[command(
    name = "crossbar-loadgen",
    about = "Calls and RTP through a PBX, measured"
)]
struct Args {
    /// The server's SIP address (UDP).
    #[arg(long, default_value = "127.0.0.1:5060")]
    server: SocketAddr,
    /// The address the load generator's SIP and RTP sockets bind to.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// The callers: a SIPp injection file whose lines carry `username=... password=...`
    /// (extensions; not with --carrier-port).
    #[arg(long, required_unless_present = "carrier_port")]
    users: Option<PathBuf>,
    /// The number every call dials: the callee extension's, or the DID a carrier calls.
    #[arg(long)]
    dial: String,
    /// The callee's SIP user name: the generator registers it and answers its calls. Without
    /// it (carrier only) the server answers the calls itself: a menu.
    #[arg(
        long,
        required_unless_present = "carrier_port",
        requires = "callee_password"
    )]
    callee: Option<String>,
    /// The callee's password.
    #[arg(long, requires = "callee")]
    callee_password: Option<String>,
    /// Be a carrier: the callers' SIP socket binds this port, the address of a trunk in the
    /// server's configuration; calls come from E.164 numbers, without digest.
    #[arg(long)]
    carrier_port: Option<u16>,
    /// A carrier's callers: this prefix and the call's index in six digits.
    #[arg(long, default_value = "+4477009")]
    caller_prefix: String,
    /// A carrier's DID leads to a queue: the generator registers this many agents
    /// (extensions --agent-first, the next number, ...) and answers the server's INVITEs as
    /// them. Callers wait until the server ends their call, at most --hold.
    #[arg(long, requires = "carrier_port", conflicts_with = "callee")]
    agents: Option<u32>,
    /// The first agent's extension number.
    #[arg(long, default_value_t = 3000)]
    agent_first: u32,
    /// Each agent's password is this followed by its extension number.
    #[arg(long, default_value = "secret-")]
    agent_secret_prefix: String,
    /// Seconds an agent talks (RTP both ways) before it hangs up.
    #[arg(long, default_value_t = 3.0)]
    talk: f64,
    /// In a menu: the callers send no audio (only the key, if any).
    #[arg(long)]
    silent: bool,
    /// In a menu: the key each caller presses at the end of the hold (RFC 4733); its option
    /// should hang up, and the server's BYE is then counted as the key heard.
    #[arg(long)]
    key: Option<char>,
    /// In a menu: seconds to wait for the server's BYE after the key before hanging up.
    #[arg(long, default_value_t = 5.0)]
    key_wait: f64,
    /// Control streams: 20 ms streams from the generator's sockets to its own, for as long
    /// as the calls last, timed as the calls' are (the generator's own lateness).
    #[arg(long, default_value_t = 0)]
    control_streams: u32,
    /// What arrivals are timed on: "kernel" (the kernel's receive stamps, `recvmsg`, and the
    /// generator's clock) or "generator" (the generator's clock alone, `recvfrom`: cheaper).
    /// Default: kernel for a carrier's calls, generator for extensions' (relayed calls).
    #[arg(long, value_parser = ["kernel", "generator"])]
    arrival_stamps: Option<String>,
    /// How many calls to place.
    #[arg(long, default_value_t = 100)]
    calls: u32,
    /// New calls per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds each call stays up once answered (RTP flows for all of it).
    #[arg(long, default_value_t = 30.0)]
    hold: f64,
    /// Signalling only: offer the discard port and send no RTP.
    #[arg(long)]
    no_media: bool,
    /// Sockets per side shared by the calls' RTP (one receiving thread each).
    #[arg(long, default_value_t = 2)]
    rtp_sockets: usize,
    /// Worker threads for the signalling (RTP has threads of its own).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// SCHED_FIFO priority of the RTP pacing threads (1-99; needs root or CAP_SYS_NICE), so
    /// the control streams measure the machine rather than a busy generator; 0: the normal
    /// scheduler.
    #[arg(long, default_value_t = 0)]
    pacing_priority: u8,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    crossbar_loadgen::set_pacing_priority(args.pacing_priority);
    if !(args.hold >= 0.0 && args.hold.is_finite()) {
        bail!("--hold must be a number of seconds, not negative");
    }
    if !(args.key_wait >= 0.0 && args.key_wait.is_finite()) {
        bail!("--key-wait must be a number of seconds, not negative");
    }
    if !(args.talk >= 0.0 && args.talk.is_finite()) {
        bail!("--talk must be a number of seconds, not negative");
    }
    if let Some(key) = args.key
        && !matches!(key, '0'..='9' | '*' | '#' | 'A'..='D')
    {
        bail!("--key {key}: a key is 0-9, *, #, or A-D");
    }
    let callee = match (args.callee, args.callee_password) {
        (Some(username), Some(password)) => Some(Credentials { username, password }),
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let report = if let Some(sip_port) = args.carrier_port {
        let load = CarrierLoad {
            server: args.server,
            bind: args.bind,
            sip_port,
            caller_prefix: args.caller_prefix,
            dial: args.dial,
            callee,
            menu: MenuCaller {
                audio: !args.silent,
                key: args.key,
                key_wait: Duration::from_secs_f64(args.key_wait),
            },
            agents: args.agents.map(|n| Agents {
                users: (args.agent_first..args.agent_first.saturating_add(n))
                    .map(|number| Credentials {
                        username: number.to_string(),
                        password: format!("{}{number}", args.agent_secret_prefix),
                    })
                    .collect(),
                talk: Duration::from_secs_f64(args.talk),
            }),
            calls: args.calls,
            rate: args.rate,
            hold: Duration::from_secs_f64(args.hold),
            media: !args.no_media,
            rtp_sockets: args.rtp_sockets,
            control_streams: args.control_streams,
            kernel_stamps: args.arrival_stamps.as_deref() != Some("generator"),
            progress: true,
        };
        runtime.block_on(crossbar_loadgen::run_carrier(load))?
    } else {
        let users = args.users.context("--users: the callers")?;
        let text = std::fs::read_to_string(&users)
            .with_context(|| format!("reading {}", users.display()))?;
        let callers = Credentials::from_sipp_csv(&text);
        if callers.is_empty() {
            bail!("{}: no `username=... password=...` lines", users.display());
        }
        let load = Load {
            server: args.server,
            bind: args.bind,
            callers,
            dial: args.dial,
            callee: callee.context("--callee and --callee-password: the answering extension")?,
            calls: args.calls,
            rate: args.rate,
            hold: Duration::from_secs_f64(args.hold),
            media: !args.no_media,
            rtp_sockets: args.rtp_sockets,
            progress: true,
        };
        let kernel_stamps = args.arrival_stamps.as_deref() == Some("kernel");
        runtime.block_on(crossbar_loadgen::run_timed(load, kernel_stamps))?
    };
    println!("{report}");
    Ok(())
}
