//! `crossbar-stall-probe`: whether the machine itself stopped. One thread per CPU, pinned to
//! it and at the highest real-time priority (SCHED_FIFO 99), wakes every millisecond on an
//! absolute schedule; a wake-up more than `--threshold-ms` late means nothing of lower
//! priority could have run on that CPU then either — not crossbar's pacer (SCHED_FIFO 20),
//! not the generator (SCHED_FIFO 10). When both CPUs' probes are late at once and the
//! hypervisor's steal counter (`/proc/stat`) rose, the virtual machine was not running.
//!
//! Prints `probe cpus=N threshold_ms=T` first, then, as they happen (so stopping it by its
//! pid loses nothing):
//!   `stall cpu=N at=SECONDS.MILLIS late_ms=X` — at: when the late wake-up came (wall clock)
//!   `steal cpu=N at=SECONDS.MILLIS ticks=D` — the CPU's steal time rose by D ticks
//!     (USER_HZ, 10 ms each) since the sample 10 ms before

use std::io::Write as _;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use clap::Parser;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::sys::time::TimeSpec;
use nix::time::{ClockId, ClockNanosleepFlags, clock_gettime, clock_nanosleep};
use nix::unistd::Pid;

#[derive(Debug, Parser)]
#[command(
    name = "crossbar-stall-probe",
    about = "Tells when each CPU stopped running"
)]
struct Args {
    /// How late a wake-up must be to be printed, milliseconds.
    #[arg(long, default_value_t = 3.0)]
    threshold_ms: f64,
    /// The SCHED_FIFO priority of the probes.
    #[arg(long, default_value_t = 99)]
    priority: u8,
}

enum Seen {
    Stall { cpu: usize, at: u64, late: u64 },
    Steal { cpu: usize, at: u64, ticks: u64 },
}

const PERIOD_NS: u64 = 1_000_000;
const STEAL_EVERY: Duration = Duration::from_millis(10);

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cpus = std::thread::available_parallelism()?.get();
    let threshold = (args.threshold_ms * 1e6) as u64;
    let (seen, printing) = mpsc::channel();
    for cpu in 0..cpus {
        let seen = seen.clone();
        let priority = args.priority;
        std::thread::Builder::new()
            .name(format!("probe-{cpu}"))
            .spawn(move || probe(cpu, priority, threshold, &seen))?;
    }
    std::thread::Builder::new()
        .name("steal".into())
        .spawn(move || watch_steal(cpus, &seen))?;
    let stdout = std::io::stdout();
    writeln!(
        stdout.lock(),
        "probe cpus={cpus} threshold_ms={}",
        args.threshold_ms
    )?;
    for event in printing {
        let mut out = stdout.lock();
        match event {
            Seen::Stall { cpu, at, late } => writeln!(
                out,
                "stall cpu={cpu} at={} late_ms={:.1}",
                seconds(at),
                late as f64 / 1e6
            ),
            Seen::Steal { cpu, at, ticks } => {
                writeln!(out, "steal cpu={cpu} at={} ticks={ticks}", seconds(at))
            }
        }?;
        out.flush()?;
    }
    Ok(())
}

fn seconds(ns: u64) -> String {
    format!(
        "{}.{:03}",
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 1_000_000
    )
}

fn probe(cpu: usize, priority: u8, threshold: u64, seen: &mpsc::Sender<Seen>) {
    if let Err(error) = pin(cpu, priority) {
        eprintln!("stall-probe: cpu {cpu}: {error:#}");
        return;
    }
    let mut next = monotonic();
    loop {
        next += PERIOD_NS;
        let due = TimeSpec::from(Duration::from_nanos(next));
        let _ = clock_nanosleep(
            ClockId::CLOCK_MONOTONIC,
            ClockNanosleepFlags::TIMER_ABSTIME,
            &due,
        );
        let now = monotonic();
        let late = now.saturating_sub(next);
        if late > threshold {
            let _ = seen.send(Seen::Stall {
                cpu,
                at: wall(),
                late,
            });
        }
        if late > PERIOD_NS {
            next = now; // start again from here rather than run the missed wake-ups
        }
    }
}

fn pin(cpu: usize, priority: u8) -> anyhow::Result<()> {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let mut set = CpuSet::new();
    set.set(cpu).context("no such CPU")?;
    sched_setaffinity(Pid::from_raw(0), &set).context("pinning")?;
    let value = ThreadPriorityValue::try_from(priority).map_err(anyhow::Error::msg)?;
    if let Err(error) = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    ) {
        bail!("SCHED_FIFO {priority} refused (run as root): {error}");
    }
    Ok(())
}

/// Every 10 ms, each CPU's steal ticks from `/proc/stat`; a rise is reported.
fn watch_steal(cpus: usize, seen: &mpsc::Sender<Seen>) {
    let mut before = steal_ticks(cpus);
    loop {
        std::thread::sleep(STEAL_EVERY);
        let now = steal_ticks(cpus);
        let at = wall();
        for (cpu, (&was, &is)) in before.iter().zip(&now).enumerate() {
            if is > was {
                let _ = seen.send(Seen::Steal {
                    cpu,
                    at,
                    ticks: is - was,
                });
            }
        }
        before = now;
    }
}

/// The eighth value of each `cpuN` line of `/proc/stat` (proc(5)): steal.
fn steal_ticks(cpus: usize) -> Vec<u64> {
    let mut ticks = vec![0; cpus];
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return ticks;
    };
    for line in stat.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(cpu) = fields
            .next()
            .and_then(|name| name.strip_prefix("cpu"))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if let (Some(slot), Some(steal)) = (ticks.get_mut(cpu), fields.nth(7)) {
            *slot = steal.parse().unwrap_or(0);
        }
    }
    ticks
}

fn monotonic() -> u64 {
    let now = clock_gettime(ClockId::CLOCK_MONOTONIC).unwrap_or(TimeSpec::new(0, 0));
    u64::try_from(Duration::from(now).as_nanos()).unwrap_or(u64::MAX)
}

fn wall() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}
