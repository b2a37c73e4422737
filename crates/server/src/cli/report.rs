//! `crossbar report`: the reports of DESIGN.md §2 over the calls stored in the database a
//! configuration file names, as a table (people), CSV (spreadsheets) or JSON (programs).
//!
//! `crossbar report inbound` gives the figures of the calls received in a period — offered,
//! answered, missed, abandoned (by stage), short abandons, ASA, service level, peak hour,
//! max concurrent — in all, or per DID, inbound route or ring group; the calls from trunks,
//! or with `--received` every call received (internal ones included). The figures are
//! `crossbar_cdr::metrics::inbound`'s, the report is made as `GET /api/reports/inbound` makes
//! it (`crossbar_api::reports::inbound`), and the JSON is its answer.
//!
//! `crossbar report queues` gives each queue's figures over a period — offered, answered,
//! abandoned (short abandons apart: given up within `--short-abandon-secs` of joining the
//! queue), ASA, average and max queue wait, service level against the queue's own
//! `service_level_secs`, overflows by reason, callbacks taken — each agent's (offers,
//! answered, missed, talk, wrap-up, login and pause time by reason, occupancy), and the
//! callbacks' (opened, completed, completion rate, mean and 90th percentile time to
//! callback); for every queue or `--queue NAME`. The figures are
//! `crossbar_cdr::metrics::queues`' (defined there), the report is made as
//! `GET /api/reports/queues` makes it (`crossbar_api::queues::queue_report`), and the JSON is
//! its answer. The CSV holds three tables — queues, agents, callbacks — each with its header
//! row, separated by an empty line.
//!
//! `crossbar report outbound` gives the outbound figures of a period — attempts, connected,
//! ASR, ACD, PDD, minutes, cost (by destination class), failovers, failures, unrouted and
//! denied calls (by reason) — in all, or per extension, trunk or destination class. The
//! figures are `crossbar_cdr::metrics::outbound`'s (defined there), the parameters are read
//! as `GET /api/reports/outbound` reads them, and the JSON is the same as its answer. Times
//! are read, and the period shown, in `[site] timezone` (UTC if unset).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use crossbar_api::filter::{InboundReportQuery, QueueReportQuery, ReportQuery};
use crossbar_cdr::DestinationClass;
use crossbar_cdr::metrics::Period;
use crossbar_cdr::metrics::inbound::{
    self, DEFAULT_SERVICE_LEVEL_SECS, DEFAULT_SHORT_ABANDON_SECS, InboundFigures, InboundReport,
};
use crossbar_cdr::metrics::outbound::{
    GroupBy, OutboundFigures, OutboundGroup, OutboundReport, outbound_report,
};
use crossbar_cdr::metrics::queues::{AgentFigures, QueueFigures, QueueReport};
use crossbar_store::TrunkLegs;
use jiff::tz::TimeZone;

use super::{
    duration, field, load_config, local_time, print_or_fail, site_timezone, with_newline,
    with_store,
};

/// `crossbar report` reports.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Incoming calls: offered, answered, missed, abandoned, short abandons, ASA, service
    /// level, peak hour and max concurrent calls, in all or by DID, inbound route or ring
    /// group.
    Inbound(InboundArgs),
    /// Outgoing calls: attempts, connected, ASR, ACD, PDD, minutes, cost, failovers,
    /// failures and denied calls, in all or by extension, trunk or destination class.
    Outbound(OutboundArgs),
    /// Queues: offered, answered, abandoned, ASA, queue wait, service level and overflows per
    /// queue; offers, talk, wrap-up, login and pause time and occupancy per agent; callback
    /// completion and time to callback.
    Queues(QueuesArgs),
}

/// `crossbar report queues` options.
#[derive(Debug, Args)]
pub struct QueuesArgs {
    /// The TOML configuration file (its [database] is read, its [[queue]] thresholds used).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// Queue calls that began at or after TIME: 2026-11-21T09:00:00Z, 2026-11-21T09:00
    /// (site time) or 2026-11-21 (from the start of that day).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Queue calls that began before TIME (same forms; a date includes that whole day).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this queue: its calls, its agents' time and its callback tasks.
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    /// Given up within SECS of joining the queue is a short abandon, left out of the service
    /// level.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SHORT_ABANDON_SECS)]
    pub short_abandon_secs: u32,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `crossbar report outbound` options.
#[derive(Debug, Args)]
pub struct OutboundArgs {
    /// The TOML configuration file (its [database] is read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// Calls started at or after TIME: 2026-11-21T09:00:00Z, 2026-11-21T09:00 (site time)
    /// or 2026-11-21 (from the start of that day).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Calls started before TIME (same forms; a date includes that whole day).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Figures per extension (the caller), per trunk (each trunk leg an attempt) or per
    /// destination class, besides the total.
    #[arg(long, value_name = "GROUP")]
    pub by: Option<String>,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `crossbar report inbound` options.
#[derive(Debug, Args)]
pub struct InboundArgs {
    /// The TOML configuration file (its [database] is read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// Calls started at or after TIME: 2026-11-21T09:00:00Z, 2026-11-21T09:00 (site time)
    /// or 2026-11-21 (from the start of that day).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Calls started before TIME (same forms; a date includes that whole day).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Figures per DID (the number called), per inbound route or per ring group (the one a
    /// call reached last), besides the total.
    #[arg(long, value_name = "GROUP")]
    pub by: Option<String>,
    /// Count every call received, internal ones included, not only the calls from trunks.
    #[arg(long)]
    pub received: bool,
    /// Answered within SECS counts for the service level.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SERVICE_LEVEL_SECS)]
    pub service_level_secs: u32,
    /// Given up within SECS of the start is a short abandon, left out of the service level.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SHORT_ABANDON_SECS)]
    pub short_abandon_secs: u32,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, then the figures of the total that do not fit in them.
    Table,
    /// One row per group and one for the total, with a header row.
    Csv,
    /// The report as `GET /api/reports/inbound`, `/outbound` or `/queues` gives it.
    Json,
}

/// Runs a `crossbar report`: exit 0 with the report, 2 for a bad configuration or parameter,
/// 1 if the database cannot be read.
pub fn run(command: ReportCommand) -> ExitCode {
    match command {
        ReportCommand::Inbound(args) => inbound(args),
        ReportCommand::Outbound(args) => outbound(args),
        ReportCommand::Queues(args) => queues(args),
    }
}

fn queues(args: QueuesArgs) -> ExitCode {
    const COMMAND: &str = "crossbar report queues";
    let config = match load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = site_timezone(COMMAND, &config);
    let query = QueueReportQuery {
        since: args.since.clone(),
        until: args.until.clone(),
        queue: args.queue.clone(),
        short_abandon_secs: Some(args.short_abandon_secs.to_string()),
    };
    let (period, options) = match query.to_report(&timezone, &config.queues) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{COMMAND}: --{}", option_error(&error.0));
            return ExitCode::from(2);
        }
    };
    let now_ms = crate::unix_ms_now();
    let report = with_store(&config, async |store| {
        Ok(crossbar_api::queues::queue_report(&store, period, &options, now_ms).await?)
    });
    let text = report.and_then(|report| {
        render_queues(&report, args.format, &timezone).context("formatting the report")
    });
    print_or_fail(COMMAND, text)
}

fn render_queues(report: &QueueReport, format: Format, tz: &TimeZone) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => queues_table(report, tz),
        Format::Csv => queues_csv(report),
        Format::Json => with_newline(serde_json::to_string_pretty(report)?),
    })
}

/// Whole seconds as `m:ss` or `h:mm:ss`.
fn secs_duration(secs: u64) -> String {
    duration(u32::try_from(secs).unwrap_or(u32::MAX))
}

fn queues_table(report: &QueueReport, tz: &TimeZone) -> String {
    const HEADER: [&str; 12] = [
        "QUEUE",
        "OFFERED",
        "ANSWERED",
        "ABANDONED",
        "SHORT",
        "ASA",
        "AVG WAIT",
        "MAX WAIT",
        "T",
        "SERVICE LEVEL",
        "OVERFLOWED",
        "CALLBACKS",
    ];
    const RIGHT: [bool; 12] = [
        false, true, true, true, true, true, true, true, true, true, true, true,
    ];
    let mut out = format!("Queue calls {}", period_text(&report.period, tz));
    if let Some(queue) = &report.queue {
        write!(out, ", queue {queue}").expect("writing to a String");
    }
    out.push('\n');
    let row = |label: String, threshold: String, f: &QueueFigures| -> Vec<String> {
        vec![
            label,
            f.offered.to_string(),
            f.answered.to_string(),
            f.abandoned.to_string(),
            f.short_abandons.to_string(),
            mean_secs(f.asa_secs),
            mean_secs(f.avg_wait_secs),
            mean_secs(f.max_wait_secs),
            threshold,
            percent(f.service_level),
            f.overflowed_total.to_string(),
            f.callbacks_taken.to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = report
        .queues
        .iter()
        .map(|q| {
            row(
                q.queue.clone(),
                format!("{}s", q.service_level_secs),
                &q.figures,
            )
        })
        .collect();
    rows.push(row("total".to_owned(), String::new(), &report.total));
    out.push_str(&super::table(&HEADER, &RIGHT, &rows));
    let o = &report.total.overflowed;
    writeln!(
        out,
        "overflowed: timeout {}, full {}, empty {}, breakout {}",
        o.timeout, o.full, o.empty, o.breakout
    )
    .expect("writing to a String");

    out.push('\n');
    if report.agents.is_empty() {
        out.push_str("no agent activity\n");
    } else {
        const AGENT_HEADER: [&str; 9] = [
            "AGENT",
            "OFFERS",
            "ANSWERED",
            "MISSED",
            "TALK",
            "WRAP-UP",
            "LOGIN",
            "PAUSE",
            "OCCUPANCY",
        ];
        const AGENT_RIGHT: [bool; 9] = [false, true, true, true, true, true, true, true, true];
        let rows: Vec<Vec<String>> = report.agents.iter().map(agent_row).collect();
        out.push_str(&super::table(&AGENT_HEADER, &AGENT_RIGHT, &rows));
        let pauses: Vec<String> = report
            .agents
            .iter()
            .filter(|a| !a.pause_secs_by_reason.is_empty())
            .map(|a| {
                let reasons: Vec<String> = a
                    .pause_secs_by_reason
                    .iter()
                    .map(|(reason, secs)| format!("{reason} {}", secs_duration(*secs)))
                    .collect();
                format!("{} ({})", a.agent, reasons.join(", "))
            })
            .collect();
        if !pauses.is_empty() {
            writeln!(out, "pause by reason: {}", pauses.join("; ")).expect("writing to a String");
        }
    }

    let c = &report.callbacks;
    let time = |secs: Option<f64>| {
        secs.map_or_else(
            || "-".to_owned(),
            |s| duration(s.round().clamp(0.0, f64::from(u32::MAX)) as u32),
        )
    };
    out.push('\n');
    writeln!(
        out,
        "callbacks: opened {}, completed {} ({}), open {}, cancelled {}, unreached {}; \
         time to callback: mean {}, 90th percentile {}",
        c.opened,
        c.completed,
        percent(c.completion_rate),
        c.open,
        c.cancelled,
        c.unreached,
        time(c.mean_secs_to_callback),
        time(c.p90_secs_to_callback),
    )
    .expect("writing to a String");
    writeln!(
        out,
        "service level: answered within the queue's T of the calls offered less short abandons \
         (given up within {} s of joining); occupancy: talk / (login - pause)",
        report.short_abandon_secs
    )
    .expect("writing to a String");
    out
}

fn agent_row(a: &AgentFigures) -> Vec<String> {
    vec![
        a.agent.clone(),
        a.offers.to_string(),
        a.answered.to_string(),
        a.missed.to_string(),
        secs_duration(a.talk_secs),
        secs_duration(a.wrap_up_secs),
        secs_duration(a.login_secs),
        secs_duration(a.pause_secs),
        percent(a.occupancy),
    ]
}

fn queues_csv(report: &QueueReport) -> String {
    let opt =
        |v: Option<f64>, decimals: usize| v.map_or_else(String::new, |v| format!("{v:.decimals$}"));
    let mut out = String::from(
        "queue,service_level_secs,offered,answered,abandoned,short_abandons,asa_secs,joined,\
         avg_wait_secs,max_wait_secs,answered_within,service_level,overflowed_timeout,\
         overflowed_full,overflowed_empty,overflowed_breakout,callbacks_taken\n",
    );
    let mut line = |key: &str, threshold: Option<u32>, f: &QueueFigures| {
        let cells = [
            key.to_owned(),
            threshold.map(|t| t.to_string()).unwrap_or_default(),
            f.offered.to_string(),
            f.answered.to_string(),
            f.abandoned.to_string(),
            f.short_abandons.to_string(),
            opt(f.asa_secs, 1),
            f.joined.to_string(),
            opt(f.avg_wait_secs, 1),
            opt(f.max_wait_secs, 1),
            f.answered_within.to_string(),
            opt(f.service_level, 4),
            f.overflowed.timeout.to_string(),
            f.overflowed.full.to_string(),
            f.overflowed.empty.to_string(),
            f.overflowed.breakout.to_string(),
            f.callbacks_taken.to_string(),
        ];
        let fields: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    };
    for q in &report.queues {
        line(&q.queue, Some(q.service_level_secs), &q.figures);
    }
    line("total", None, &report.total);

    out.push_str(
        "\nagent,offers,answered,missed,talk_secs,wrap_up_secs,login_secs,pause_secs,\
         occupancy,pause_by_reason\n",
    );
    for a in &report.agents {
        let reasons: Vec<String> = a
            .pause_secs_by_reason
            .iter()
            .map(|(reason, secs)| format!("{reason}: {secs}"))
            .collect();
        let cells = [
            a.agent.clone(),
            a.offers.to_string(),
            a.answered.to_string(),
            a.missed.to_string(),
            a.talk_secs.to_string(),
            a.wrap_up_secs.to_string(),
            a.login_secs.to_string(),
            a.pause_secs.to_string(),
            opt(a.occupancy, 4),
            reasons.join("; "),
        ];
        let fields: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }

    let c = &report.callbacks;
    out.push_str(
        "\nopened,completed,open,cancelled,unreached,completion_rate,mean_secs_to_callback,\
         p90_secs_to_callback\n",
    );
    let cells = [
        c.opened.to_string(),
        c.completed.to_string(),
        c.open.to_string(),
        c.cancelled.to_string(),
        c.unreached.to_string(),
        opt(c.completion_rate, 4),
        opt(c.mean_secs_to_callback, 1),
        opt(c.p90_secs_to_callback, 1),
    ];
    out.push_str(&cells.join(","));
    out.push('\n');
    out
}

fn outbound(args: OutboundArgs) -> ExitCode {
    const COMMAND: &str = "crossbar report outbound";
    let config = match load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = site_timezone(COMMAND, &config);
    let query = ReportQuery {
        since: args.since.clone(),
        until: args.until.clone(),
        by: args.by.clone(),
    };
    let (period, by) = match query.to_report(&timezone) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{COMMAND}: --{error}");
            return ExitCode::from(2);
        }
    };
    let legs = match by {
        Some(GroupBy::Trunk) => TrunkLegs::Include,
        _ => TrunkLegs::Omit,
    };
    let report = with_store(&config, async |store| {
        let calls = store.outbound_calls(period, legs).await?;
        Ok(outbound_report(&calls, period, by))
    });
    let text = report.and_then(|report| {
        render(&report, args.format, &timezone).context("formatting the report")
    });
    print_or_fail(COMMAND, text)
}

fn inbound(args: InboundArgs) -> ExitCode {
    const COMMAND: &str = "crossbar report inbound";
    let config = match load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = site_timezone(COMMAND, &config);
    let query = InboundReportQuery {
        since: args.since.clone(),
        until: args.until.clone(),
        by: args.by.clone(),
        received: Some(args.received.to_string()),
        service_level_secs: Some(args.service_level_secs.to_string()),
        short_abandon_secs: Some(args.short_abandon_secs.to_string()),
    };
    let (period, by, options) = match query.to_report(&timezone) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{COMMAND}: --{}", option_error(&error.0));
            return ExitCode::from(2);
        }
    };
    let report = with_store(&config, async |store| {
        Ok(crossbar_api::reports::inbound(&store, period, by, &options, &timezone).await?)
    });
    let text = report.and_then(|report| {
        render_inbound(&report, args.format, &timezone).context("formatting the report")
    });
    print_or_fail(COMMAND, text)
}

fn render_inbound(report: &InboundReport, format: Format, tz: &TimeZone) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => inbound_table(report, tz),
        Format::Csv => inbound_csv(report),
        Format::Json => with_newline(serde_json::to_string_pretty(report)?),
    })
}

/// A parameter's error as the command line names it: `short_abandon_secs: ...` becomes
/// `short-abandon-secs: ...` (the value quoted after the name is left as typed).
fn option_error(message: &str) -> String {
    match message.split_once(':') {
        Some((name, rest)) => format!("{}:{rest}", name.replace('_', "-")),
        None => message.to_owned(),
    }
}

/// Mean seconds with one decimal: `17.5s`.
fn mean_secs(secs: Option<f64>) -> String {
    secs.map_or_else(|| "-".to_owned(), |s| format!("{s:.1}s"))
}

/// The peak hour as `10:00-11:00 (3)`.
fn peak_hour(figures: &InboundFigures) -> String {
    figures.peak_hour.map_or_else(
        || "-".to_owned(),
        |p| {
            format!(
                "{:02}:00-{:02}:00 ({})",
                p.hour,
                (p.hour + 1) % 24,
                p.offered
            )
        },
    )
}

fn inbound_table(report: &InboundReport, tz: &TimeZone) -> String {
    const HEADER: [&str; 10] = [
        "",
        "OFFERED",
        "ANSWERED",
        "MISSED",
        "ABANDONED",
        "SHORT",
        "ASA",
        "SERVICE LEVEL",
        "PEAK HOUR",
        "MAX CONCURRENT",
    ];
    const RIGHT: [bool; 10] = [false, true, true, true, true, true, true, true, false, true];
    let calls = if report.received {
        "Calls received (internal ones included)"
    } else {
        "Inbound calls"
    };
    let mut out = format!("{calls} {}", period_text(&report.period, tz));
    if let Some(by) = report.by {
        write!(out, ", by {by}").expect("writing to a String");
    }
    out.push('\n');
    let row = |label: String, f: &InboundFigures| -> Vec<String> {
        vec![
            label,
            f.offered.to_string(),
            f.answered.to_string(),
            f.missed.to_string(),
            f.abandoned.to_string(),
            f.short_abandons.to_string(),
            mean_secs(f.asa_secs),
            percent(f.service_level),
            peak_hour(f),
            f.max_concurrent.to_string(),
        ]
    };
    let no_key = match report.by {
        Some(inbound::GroupBy::Did) => "(no DID)",
        Some(inbound::GroupBy::Route) => "(no route)",
        Some(inbound::GroupBy::Group) => "(no group)",
        None => "(none)",
    };
    let mut rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| {
            row(
                g.key.clone().unwrap_or_else(|| no_key.to_owned()),
                &g.figures,
            )
        })
        .collect();
    rows.push(row("total".to_owned(), &report.total));
    let mut header = HEADER;
    let by_name = report.by.map(|by| by.as_str().to_uppercase());
    header[0] = by_name.as_deref().unwrap_or("");
    out.push_str(&super::table(&header, &RIGHT, &rows));

    let total = &report.total;
    let stage = &total.abandoned_by_stage;
    out.push('\n');
    writeln!(
        out,
        "abandoned by stage: ringing {}, ivr {}, queue {}",
        stage.ringing, stage.ivr, stage.queue
    )
    .expect("writing to a String");
    if total.queued > 0 {
        writeln!(
            out,
            "queued: {}, average wait {}",
            total.queued,
            mean_secs(total.avg_queue_wait_secs)
        )
        .expect("writing to a String");
    }
    writeln!(
        out,
        "service level: answered within {} s of the calls offered less short abandons \
         (given up within {} s); times of day in {}",
        report.service_level_secs, report.short_abandon_secs, report.timezone
    )
    .expect("writing to a String");
    out
}

fn inbound_csv(report: &InboundReport) -> String {
    let mut out = String::from(
        "by,key,offered,answered,missed,abandoned,abandoned_ringing,abandoned_ivr,\
         abandoned_queue,short_abandons,asa_secs,queued,avg_queue_wait_secs,answered_within,\
         service_level,peak_hour,peak_hour_offered,max_concurrent",
    );
    for hour in 0..24 {
        write!(out, ",offered_{hour:02}").expect("writing to a String");
    }
    out.push('\n');
    let opt =
        |v: Option<f64>, decimals: usize| v.map_or_else(String::new, |v| format!("{v:.decimals$}"));
    let mut line = |by: &str, key: Option<&str>, f: &InboundFigures| {
        let mut cells = vec![
            by.to_owned(),
            key.unwrap_or_default().to_owned(),
            f.offered.to_string(),
            f.answered.to_string(),
            f.missed.to_string(),
            f.abandoned.to_string(),
            f.abandoned_by_stage.ringing.to_string(),
            f.abandoned_by_stage.ivr.to_string(),
            f.abandoned_by_stage.queue.to_string(),
            f.short_abandons.to_string(),
            opt(f.asa_secs, 1),
            f.queued.to_string(),
            opt(f.avg_queue_wait_secs, 1),
            f.answered_within.to_string(),
            opt(f.service_level, 4),
            f.peak_hour.map(|p| p.hour.to_string()).unwrap_or_default(),
            f.peak_hour
                .map(|p| p.offered.to_string())
                .unwrap_or_default(),
            f.max_concurrent.to_string(),
        ];
        cells.extend(f.offered_by_hour.iter().map(ToString::to_string));
        let fields: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    };
    if let Some(by) = report.by {
        for group in &report.groups {
            line(by.as_str(), group.key.as_deref(), &group.figures);
        }
    }
    line("total", None, &report.total);
    out
}

fn render(report: &OutboundReport, format: Format, tz: &TimeZone) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => table(report, tz),
        Format::Csv => csv(report),
        Format::Json => with_newline(serde_json::to_string_pretty(report)?),
    })
}

/// What a group without a key holds, by grouping.
fn no_key(by: Option<GroupBy>) -> &'static str {
    match by {
        Some(GroupBy::Trunk) => "(no trunk)",
        Some(GroupBy::Class) => "(not routed)",
        Some(GroupBy::Extension) | None => "(none)",
    }
}

/// `0.6667` as `66.7%`.
fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// Mean seconds as `m:ss` (rounded to the second).
fn mean_duration(secs: Option<f64>) -> String {
    secs.map_or_else(
        || "-".to_owned(),
        |s| duration(s.round().clamp(0.0, f64::from(u32::MAX)) as u32),
    )
}

/// Mean milliseconds as seconds with one decimal: `1.2s`.
fn mean_delay(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".to_owned(), |ms| format!("{:.1}s", ms / 1000.0))
}

/// The period as a phrase: `from A to B (zone)`, `since A (zone)`, `before B (zone)` or
/// `(all stored)`.
fn period_text(period: &Period, tz: &TimeZone) -> String {
    let time = |ms: i64| local_time(ms, tz, false);
    let zone = tz.iana_name().unwrap_or("UTC");
    match (period.since_ms, period.until_ms) {
        (Some(since), Some(until)) => format!("from {} to {} ({zone})", time(since), time(until)),
        (Some(since), None) => format!("since {} ({zone})", time(since)),
        (None, Some(until)) => format!("before {} ({zone})", time(until)),
        (None, None) => "(all stored)".to_owned(),
    }
}

fn table(report: &OutboundReport, tz: &TimeZone) -> String {
    const HEADER: [&str; 12] = [
        "",
        "ATTEMPTS",
        "CONNECTED",
        "ASR",
        "ACD",
        "PDD",
        "MINUTES",
        "COST",
        "FAILOVERS",
        "FAILURES",
        "UNROUTED",
        "DENIED",
    ];
    const RIGHT: [bool; 12] = [
        false, true, true, true, true, true, true, true, true, true, true, true,
    ];
    let mut out = format!("Outbound calls {}", period_text(&report.period, tz));
    if let Some(by) = report.by {
        write!(out, ", by {by}").expect("writing to a String");
    }
    out.push('\n');
    let row = |label: String, f: &OutboundFigures| -> Vec<String> {
        vec![
            label,
            f.attempts.to_string(),
            f.connected.to_string(),
            percent(f.asr),
            mean_duration(f.acd_secs),
            mean_delay(f.avg_pdd_ms),
            format!("{:.1}", f.minutes),
            f.cost.to_string(),
            f.failovers.to_string(),
            f.failures.to_string(),
            f.unrouted.to_string(),
            f.denied.to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|OutboundGroup { key, figures }| {
            let label = key.clone().unwrap_or_else(|| no_key(report.by).to_owned());
            row(label, figures)
        })
        .collect();
    rows.push(row("total".to_owned(), &report.total));
    let mut header = HEADER;
    let by_name = report.by.map(|by| by.as_str().to_uppercase());
    header[0] = by_name.as_deref().unwrap_or("");
    out.push_str(&super::table(&header, &RIGHT, &rows));

    let total = &report.total;
    if !total.cost_by_class.is_empty() || !total.denied_by_reason.is_empty() {
        out.push('\n');
    }
    if !total.cost_by_class.is_empty() {
        let classes: Vec<String> = DestinationClass::ALL
            .iter()
            .filter_map(|c| Some(format!("{c} {}", total.cost_by_class.get(c)?)))
            .collect();
        writeln!(out, "cost by destination class: {}", classes.join(", "))
            .expect("writing to a String");
    }
    if !total.denied_by_reason.is_empty() {
        let reasons: Vec<String> = total
            .denied_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        writeln!(out, "denied by reason: {}", reasons.join(", ")).expect("writing to a String");
    }
    out
}

fn csv(report: &OutboundReport) -> String {
    let mut header = String::from(
        "by,key,attempts,connected,asr,acd_secs,avg_pdd_ms,talk_secs,minutes,cost,failovers,\
         failures,unrouted,denied",
    );
    for class in DestinationClass::ALL {
        write!(header, ",cost_{class}").expect("writing to a String");
    }
    header.push_str(",denied_by_reason\n");
    let mut out = header;
    let opt =
        |v: Option<f64>, decimals: usize| v.map_or_else(String::new, |v| format!("{v:.decimals$}"));
    let mut line = |by: &str, key: Option<&str>, f: &OutboundFigures| {
        let mut cells = vec![
            by.to_owned(),
            key.unwrap_or_default().to_owned(),
            f.attempts.to_string(),
            f.connected.to_string(),
            opt(f.asr, 4),
            opt(f.acd_secs, 1),
            opt(f.avg_pdd_ms, 0),
            f.talk_secs.to_string(),
            format!("{:.2}", f.minutes),
            f.cost.to_string(),
            f.failovers.to_string(),
            f.failures.to_string(),
            f.unrouted.to_string(),
            f.denied.to_string(),
        ];
        cells.extend(DestinationClass::ALL.iter().map(|c| {
            f.cost_by_class
                .get(c)
                .map(ToString::to_string)
                .unwrap_or_default()
        }));
        let reasons: Vec<String> = f
            .denied_by_reason
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        cells.push(reasons.join("; "));
        let fields: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    };
    if let Some(by) = report.by {
        for group in &report.groups {
            line(by.as_str(), group.key.as_deref(), &group.figures);
        }
    }
    line("total", None, &report.total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_means_read_as_people_expect() {
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(percent(None), "-");
        assert_eq!(mean_duration(Some(89.6)), "1:30");
        assert_eq!(mean_delay(Some(1_033.3)), "1.0s");
        assert_eq!(mean_delay(None), "-");
        assert_eq!(mean_secs(Some(17.46)), "17.5s");
    }

    #[test]
    fn a_parameter_error_names_the_option_as_typed() {
        assert_eq!(
            option_error("short_abandon_secs: `90000` is not a whole number"),
            "short-abandon-secs: `90000` is not a whole number"
        );
        assert_eq!(
            option_error("by: `queue_x` is not one of did, route, group"),
            "by: `queue_x` is not one of did, route, group"
        );
    }
}
