//! `crossbar tc`: the configuration's time conditions, and forcing one open or closed.
//!
//! ```text
//! crossbar tc list --config F [--format table|json]
//! crossbar tc override NAME open|closed|schedule --config F
//! ```
//!
//! `list` shows every `[[time_condition]]` of the configuration, in its order, with the
//! override in force, if any (the JSON form is `GET /api/time-conditions`'s time conditions).
//! `override` forces time condition NAME open or closed whatever its hours, holidays and
//! exceptions, or (`schedule`) clears the override so they decide again — recording
//! `cli:$USER` as who set it — and says what it replaced, as `PUT
//! /api/time-conditions/{name}/override` does. A name the configuration does not have is
//! refused (exit 2), and nothing is written.
//!
//! Both only touch the database, so they work whether crossbar is running or not: a running
//! crossbar re-reads the overrides every 2 seconds, so an override applies to incoming calls
//! within 2 seconds.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use crossbar_api::time_conditions::{OverrideMode, TimeConditionView, time_condition_views};
use crossbar_store::TimeConditionOverride;
use jiff::tz::TimeZone;

use super::{ListFormat, local_time, with_newline};

/// `crossbar tc` subcommands.
#[derive(Debug, Subcommand)]
pub enum TcCommand {
    /// List the configuration's time conditions and the overrides in force.
    List(ListArgs),
    /// Force a time condition open or closed, or back to its schedule.
    Override(OverrideArgs),
}

/// `crossbar tc list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The TOML configuration file (its [[time_condition]]s are listed, its [database] read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `crossbar tc override` options.
#[derive(Debug, Args)]
pub struct OverrideArgs {
    /// The time condition's name (`[[time_condition]] name`).
    pub name: String,
    /// What to force.
    #[arg(value_enum)]
    pub mode: Mode,
    /// The TOML configuration file (its [database] is written).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// What `crossbar tc override` asks of a time condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Open, whatever the time.
    Open,
    /// Closed, whatever the time.
    Closed,
    /// No override: its hours, holidays and exceptions decide.
    Schedule,
}

impl From<Mode> for OverrideMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Open => OverrideMode::Open,
            Mode::Closed => OverrideMode::Closed,
            Mode::Schedule => OverrideMode::Schedule,
        }
    }
}

/// Runs a `crossbar tc` subcommand.
pub fn run(command: TcCommand) -> ExitCode {
    match command {
        TcCommand::List(args) => list(args),
        TcCommand::Override(args) => set_override(args),
    }
}

fn list(args: ListArgs) -> ExitCode {
    const COMMAND: &str = "crossbar tc list";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let names: Vec<String> = config
        .time_conditions
        .iter()
        .map(|tc| tc.name.clone())
        .collect();
    let overrides = super::with_store(&config, async |store| {
        Ok(store.time_condition_overrides().await?)
    });
    let text = overrides.and_then(|overrides| {
        let views = time_condition_views(&names, &overrides);
        Ok(match args.format {
            ListFormat::Table => list_table(&views, &overrides, &timezone),
            ListFormat::Json => with_newline(serde_json::to_string_pretty(&views)?),
        })
    });
    super::print_or_fail(COMMAND, text)
}

/// An override as words: `forced closed since 2026-11-21 09:00:00 by cli:alice`.
fn forced_text(forced: &TimeConditionOverride, tz: &TimeZone) -> String {
    format!(
        "forced {} since {} by {}",
        forced.forced(),
        local_time(forced.set_at_ms, tz, false),
        forced.set_by
    )
}

fn list_table(
    views: &[TimeConditionView],
    overrides: &[TimeConditionOverride],
    tz: &TimeZone,
) -> String {
    if views.is_empty() {
        return "no time condition in the configuration\n".to_owned();
    }
    let rows: Vec<[String; 3]> = views
        .iter()
        .map(|view| {
            let forced = overrides.iter().find(|o| o.name == view.name);
            [
                view.name.clone(),
                view.mode.to_owned(),
                forced.map_or_else(|| "-".to_owned(), |o| forced_text(o, tz)),
            ]
        })
        .collect();
    let mut out = super::table(&["TIME CONDITION", "MODE", "OVERRIDE"], &[false; 3], &rows);
    let forced = rows.iter().filter(|row| row[2] != "-").count();
    let noun = if views.len() == 1 {
        "time condition"
    } else {
        "time conditions"
    };
    writeln!(out, "{} {noun}, {forced} overridden", views.len()).expect("writing to a String");
    out
}

fn set_override(args: OverrideArgs) -> ExitCode {
    const COMMAND: &str = "crossbar tc override";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let name = args.name.trim().to_owned();
    if !config.time_conditions.iter().any(|tc| tc.name == name) {
        let known: Vec<&str> = config
            .time_conditions
            .iter()
            .map(|tc| tc.name.as_str())
            .collect();
        let known = if known.is_empty() {
            "it has none".to_owned()
        } else {
            format!("it has {}", known.join(", "))
        };
        eprintln!(
            "{COMMAND}: {name} is not a time condition of {} ({known}); nothing changed",
            args.config.display()
        );
        return ExitCode::from(2);
    }
    let timezone = super::site_timezone(COMMAND, &config);
    let mode = OverrideMode::from(args.mode);
    let by = super::operator();
    let previous = super::with_store(&config, |store| {
        let name = name.clone();
        async move {
            Ok(store
                .set_time_condition_override(&name, mode.forced_open(), &by, crate::unix_ms_now())
                .await?)
        }
    });
    match previous {
        Ok(previous) => {
            let now = match mode {
                OverrideMode::Schedule => "follows its schedule".to_owned(),
                forced => format!("forced {forced}"),
            };
            let before =
                previous.map_or_else(|| "no override".to_owned(), |o| forced_text(&o, &timezone));
            println!("{name}: {now} (was: {before})");
            println!("a running crossbar applies it to incoming calls within 2 seconds");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{COMMAND}: {error:#}");
            ExitCode::FAILURE
        }
    }
}
