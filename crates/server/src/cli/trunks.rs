//! `crossbar trunks`: the configuration's SIP trunks with the status a running crossbar last
//! recorded for each, or their change log.
//!
//! ```text
//! crossbar trunks --config F [--format table|json]
//! crossbar trunks --config F --events [--trunk NAME] [--limit N] [--format table|json]
//! ```
//!
//! The listing shows every `[[trunk]]`: its address and transport, its registration (and
//! until when the carrier holds it), its health (and since when), the calls up through it,
//! and its last failure. A trunk crossbar has not run with yet is "never reported" (every
//! trunk is, before crossbar has created its database). `--events` lists the changes newest
//! first, of every trunk or of one. The JSON forms are `GET /api/trunks`'s trunks and
//! `GET /api/trunks/{name}/events`'s events. Times are shown in `[site] timezone` (UTC if
//! unset).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use crossbar_api::trunks::{EventQuery, TrunkEventView, TrunkView, load_trunks, trunk_views};
use crossbar_config::Config;
use crossbar_store::OutboundActivity;
use jiff::tz::TimeZone;

use super::{ListFormat, local_time, with_newline};

/// `crossbar trunks` options.
#[derive(Debug, Args)]
pub struct TrunksArgs {
    /// The TOML configuration file (its [[trunk]]s are listed, its [database] read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// List the trunks' changes, newest first, instead of their status.
    #[arg(long)]
    pub events: bool,
    /// Only this trunk's changes.
    #[arg(long, value_name = "NAME", requires = "events")]
    pub trunk: Option<String>,
    /// At most this many changes (0..=1000).
    #[arg(long, value_name = "N", default_value_t = 50, requires = "events")]
    pub limit: u32,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Runs `crossbar trunks`: exit 0 with the listing, 2 for a bad configuration or option, 1
/// if the database cannot be read.
pub fn run(args: TrunksArgs) -> ExitCode {
    const COMMAND: &str = "crossbar trunks";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let text = if args.events {
        let query = EventQuery {
            limit: Some(args.limit.to_string()),
        };
        let limit = match query.to_limit() {
            Ok(limit) => limit,
            Err(error) => {
                eprintln!("{COMMAND}: --{error}");
                return ExitCode::from(2);
            }
        };
        if let Some(name) = &args.trunk
            && !config.trunks.iter().any(|t| &t.name == name)
        {
            eprintln!(
                "{COMMAND}: {name} is not a trunk of {}",
                args.config.display()
            );
            return ExitCode::from(2);
        }
        events(
            &config,
            args.trunk.as_deref(),
            limit,
            args.format,
            &timezone,
        )
    } else {
        listing(&config, args.format, &timezone)
    };
    match text {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{COMMAND}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn listing(config: &Config, format: ListFormat, tz: &TimeZone) -> anyhow::Result<String> {
    let trunks = if super::missing_database(config).is_some() {
        // crossbar has not run here yet: no trunk ever reported.
        trunk_views(&config.trunks, Vec::new(), &OutboundActivity::default())
    } else {
        super::with_store(config, |store| async move {
            Ok(load_trunks(&store, &config.trunks, crate::unix_ms_now()).await?)
        })?
    };
    Ok(match format {
        ListFormat::Table => trunk_table(&trunks, tz),
        ListFormat::Json => with_newline(serde_json::to_string_pretty(&trunks)?),
    })
}

fn events(
    config: &Config,
    trunk: Option<&str>,
    limit: u32,
    format: ListFormat,
    tz: &TimeZone,
) -> anyhow::Result<String> {
    let events: Vec<TrunkEventView> = if super::missing_database(config).is_some() {
        Vec::new()
    } else {
        super::with_store(config, |store| async move {
            Ok(store.trunk_events(trunk, limit).await?)
        })?
        .into_iter()
        .map(TrunkEventView::from)
        .collect()
    };
    Ok(match format {
        ListFormat::Table => event_table(&events, tz),
        ListFormat::Json => with_newline(serde_json::to_string_pretty(&events)?),
    })
}

fn trunk_table(trunks: &[TrunkView], tz: &TimeZone) -> String {
    if trunks.is_empty() {
        return "no [[trunk]] in the configuration\n".to_owned();
    }
    let time = |ms: i64| local_time(ms, tz, false);
    let rows: Vec<[String; 7]> = trunks
        .iter()
        .map(|trunk| {
            let (registration, health, failure) = match &trunk.status {
                None => (
                    if trunk.registers {
                        "never reported".to_owned()
                    } else {
                        "-".to_owned()
                    },
                    "never reported".to_owned(),
                    "-".to_owned(),
                ),
                Some(status) => {
                    let registration = match (&status.registration, status.registered_until_ms) {
                        (None, _) => "-".to_owned(),
                        (Some(state), Some(until)) => format!("{state} until {}", time(until)),
                        (Some(state), None) => state.clone(),
                    };
                    let health = match status.health_since_ms {
                        Some(since) => format!("{} since {}", status.health, time(since)),
                        None => status.health.clone(),
                    };
                    let failure = match (&status.last_failure, status.last_failure_at_ms) {
                        (None, _) => "-".to_owned(),
                        (Some(text), Some(at)) => format!("{}: {text}", time(at)),
                        (Some(text), None) => text.clone(),
                    };
                    (registration, health, failure)
                }
            };
            [
                trunk.name.clone(),
                trunk.address.clone(),
                trunk.transport.to_owned(),
                registration,
                health,
                trunk.calls.to_string(),
                failure,
            ]
        })
        .collect();
    let mut out = super::table(
        &[
            "TRUNK",
            "ADDRESS",
            "TRANSPORT",
            "REGISTRATION",
            "HEALTH",
            "CALLS",
            "LAST FAILURE",
        ],
        &[false, false, false, false, false, true, false],
        &rows,
    );
    let noun = if trunks.len() == 1 { "trunk" } else { "trunks" };
    writeln!(out, "{} {noun}", trunks.len()).expect("writing to a String");
    out
}

fn event_table(events: &[TrunkEventView], tz: &TimeZone) -> String {
    if events.is_empty() {
        return "no trunk changes recorded\n".to_owned();
    }
    let rows: Vec<[String; 5]> = events
        .iter()
        .map(|e| {
            [
                local_time(e.at_ms, tz, false),
                e.trunk.clone(),
                e.health.clone(),
                e.registration.clone().unwrap_or_else(|| "-".to_owned()),
                e.change.clone(),
            ]
        })
        .collect();
    let mut out = super::table(
        &["TIME", "TRUNK", "HEALTH", "REGISTRATION", "CHANGE"],
        &[false; 5],
        &rows,
    );
    let noun = if events.len() == 1 {
        "change"
    } else {
        "changes"
    };
    writeln!(out, "{} {noun}", events.len()).expect("writing to a String");
    out
}
