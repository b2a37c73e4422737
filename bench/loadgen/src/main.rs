//! The `crossbar-loadgen` command: see the library's documentation.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use crossbar_loadgen::{Credentials, Load};

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
    /// The callers: a SIPp injection file whose lines carry `username=... password=...`.
    #[arg(long)]
    users: PathBuf,
    /// The number every call dials: the callee extension's.
    #[arg(long)]
    dial: String,
    /// The callee's SIP user name.
    #[arg(long)]
    callee: String,
    /// The callee's password.
    #[arg(long)]
    callee_password: String,
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
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.hold >= 0.0 && args.hold.is_finite()) {
        bail!("--hold must be a number of seconds, not negative");
    }
    let text = std::fs::read_to_string(&args.users)
        .with_context(|| format!("reading {}", args.users.display()))?;
    let callers = Credentials::from_sipp_csv(&text);
    if callers.is_empty() {
        bail!(
            "{}: no `username=... password=...` lines",
            args.users.display()
        );
    }
    let load = Load {
        server: args.server,
        bind: args.bind,
        callers,
        dial: args.dial,
        callee: Credentials {
            username: args.callee,
            password: args.callee_password,
        },
        calls: args.calls,
        rate: args.rate,
        hold: Duration::from_secs_f64(args.hold),
        media: !args.no_media,
        rtp_sockets: args.rtp_sockets,
        progress: true,
    };
    let report = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(crossbar_loadgen::run(load))?;
    println!("{report}");
    Ok(())
}
