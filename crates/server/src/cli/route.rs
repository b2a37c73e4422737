//! `crossbar route explain`: the route simulator. What would happen to a call from an
//! extension to a number — allowed or denied and why, the number normalised and classified,
//! the trunks in the order they would be tried (with their rates, and those skipped with
//! why), the caller ID presented and what one and five minutes would cost.
//!
//! ```text
//! crossbar route explain --config F --from 201 --to "020 7946 0000" [--at 2026-12-24T22:00]
//!                        [--format table|json]
//! ```
//!
//! And for a call coming in from a trunk, the path it would take — the inbound route, each
//! time condition and why it is open or closed at that instant, the menu and the option the
//! `--digits` choose, the group and its members in ringing order
//! (`crossbar_routing::DialPlan::route_inbound` and `explain_inbound`, what the switch runs):
//!
//! ```text
//! crossbar route explain --config F --did +441632960000 --caller +447700900123
//!                        [--trunk carrier-a] [--digits 2] [--at 2026-12-25T10:00]
//!                        [--format table|json]
//! ```
//!
//! Without `--trunk` the call comes from the first `[[trunk]]`; without `--caller` the
//! caller is withheld. The JSON has at least `route`, `steps` (`{kind, name, result}`) and
//! `destination`.
//!
//! The decision is the dial plan's own (`crossbar_routing::DialPlan::route`, which the
//! switch calls for live calls) against the live state in the configuration's database, read
//! as `GET /api/route/explain` reads it (`crossbar_api::route::StoredLive`): trunks reported
//! down are skipped, blocked extensions denied, and limits and fraud caps count the calls
//! the database holds. Before crossbar has created its database, every trunk is up and
//! idle. `--at` is a local time in `[site] timezone` (RFC 3339 with an offset, or a date,
//! also accepted); the default is now. The JSON form is the API's.
//!
//! Exit status: 0 with the explanation, whatever the decision; 2 for a configuration, a dial
//! plan or an option that cannot be used; 1 if the database cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use crossbar_api::route::{StoredLive, call_time, explain, explain_inbound};
use crossbar_routing::{DialPlan, Idle, InboundCall};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{ListFormat, with_newline};

/// `crossbar route` subcommands.
#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Show how a call would be routed: allowed or not and why, the trunks in order with
    /// their rates, the caller ID and the cost.
    Explain(ExplainArgs),
}

/// `crossbar route explain` options.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The TOML configuration file (its dial plan is compiled, its [database] read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// The calling extension's number (a call placed by a phone).
    #[arg(
        long,
        value_name = "EXTENSION",
        requires = "to",
        required_unless_present = "did"
    )]
    pub from: Option<String>,
    /// The number dialled, as the phone would send it ("020 7946 0000", "9 00 33 1 23 45 67
    /// 89", "999", "202").
    #[arg(long, value_name = "NUMBER", requires = "from")]
    pub to: Option<String>,
    /// The number called on a trunk (an incoming call), as the trunk would send it.
    #[arg(long, value_name = "NUMBER", conflicts_with_all = ["from", "to"])]
    pub did: Option<String>,
    /// Who calls in (default: withheld).
    #[arg(long, value_name = "NUMBER", requires = "did")]
    pub caller: Option<String>,
    /// The trunk the call comes from (default: the first [[trunk]]).
    #[arg(long, value_name = "NAME", requires = "did")]
    pub trunk: Option<String>,
    /// Keys the caller presses in the menus on the way, in order ("2", "1201").
    #[arg(long, value_name = "KEYS", default_value = "", requires = "did")]
    pub digits: String,
    /// When: 2026-12-24T22:00 (site time), 2026-12-24T22:00:00Z or 2026-12-24; default now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Runs a `crossbar route` subcommand.
pub fn run(command: RouteCommand) -> ExitCode {
    match command {
        RouteCommand::Explain(args) => explain_call(args),
    }
}

fn explain_call(args: ExplainArgs) -> ExitCode {
    const COMMAND: &str = "crossbar route explain";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let plan = match DialPlan::compile(&config) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("{COMMAND}: {}: {error}", args.config.display());
            return ExitCode::from(2);
        }
    };
    let zone = plan.time_zone().cloned().unwrap_or(TimeZone::UTC);
    let at = match call_time(args.at.as_deref(), &zone, crate::unix_ms_now()) {
        Ok(at) => at,
        Err(error) => {
            eprintln!("{COMMAND}: --at: {error}");
            return ExitCode::from(2);
        }
    };
    if let Some(did) = args.did.as_deref() {
        let trunk = match args
            .trunk
            .clone()
            .or_else(|| config.trunks.first().map(|t| t.name.clone()))
        {
            Some(trunk) if config.trunks.iter().any(|t| t.name == trunk) => trunk,
            Some(trunk) => {
                eprintln!("{COMMAND}: --trunk: no [[trunk]] is named `{trunk}`");
                return ExitCode::from(2);
            }
            None => {
                eprintln!("{COMMAND}: the configuration has no [[trunk]] to call in from");
                return ExitCode::from(2);
            }
        };
        let call = InboundCall {
            trunk: &trunk,
            did,
            caller: args.caller.as_deref(),
        };
        let digits = args.digits.as_str();
        let (plan, zone) = (&plan, &zone);
        let explained = match super::missing_database(&config) {
            Some(_) => Ok((explain_inbound(plan, &call, digits, at, &Idle), false)),
            None => super::with_store(&config, |store| async move {
                let live = StoredLive::load(&store, at, zone).await?;
                Ok((explain_inbound(plan, &call, digits, at, &live), true))
            }),
        };
        let text = explained.and_then(|(explanation, from_database)| {
            Ok(match args.format {
                ListFormat::Table => table(&explanation, at, zone, from_database),
                ListFormat::Json => with_newline(serde_json::to_string_pretty(&explanation)?),
            })
        });
        return print_or_fail(COMMAND, text);
    }
    let (Some(from), Some(to)) = (args.from.as_deref(), args.to.as_deref()) else {
        eprintln!("{COMMAND}: give --from and --to (a call placed), or --did (a call received)");
        return ExitCode::from(2);
    };
    let from = from.trim();
    let (plan, zone) = (&plan, &zone);
    let explained = match super::missing_database(&config) {
        Some(_) => Ok((explain(plan, from, to, at, &Idle), false)),
        None => super::with_store(&config, |store| async move {
            let live = StoredLive::load(&store, at, zone).await?;
            Ok((explain(plan, from, to, at, &live), true))
        }),
    };
    let text = explained.and_then(|(explanation, from_database)| {
        Ok(match args.format {
            ListFormat::Table => table(&explanation, at, zone, from_database),
            ListFormat::Json => with_newline(serde_json::to_string_pretty(&explanation)?),
        })
    });
    print_or_fail(COMMAND, text)
}

fn print_or_fail(command: &str, text: anyhow::Result<String>) -> ExitCode {
    match text {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{command}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The explanation's own lines under when the call is simulated and what live state it
/// was routed against.
fn table(
    explanation: &dyn std::fmt::Display,
    at: Timestamp,
    zone: &TimeZone,
    from_database: bool,
) -> String {
    let when = at
        .to_zoned(zone.clone())
        .strftime("%a %Y-%m-%d %H:%M:%S %Z");
    let live = if from_database {
        "from the database: trunk health, blocks, calls"
    } else {
        "no database yet: every trunk up and idle"
    };
    format!("{:11} {when}\n{:11} {live}\n{explanation}", "at", "live")
}
