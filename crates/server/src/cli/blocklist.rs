//! `crossbar blocklist`: the callers refused on every trunk — the configuration's
//! `[inbound] blocklist` and the patterns kept in the database — and adding and removing the
//! latter.
//!
//! ```text
//! crossbar blocklist list --config F [--format table|json]
//! crossbar blocklist add PATTERN [--note TEXT] --config F
//! crossbar blocklist remove PATTERN --config F
//! ```
//!
//! A pattern is an E.164 number (`+442079460000`), a prefix (`+4420794600*`) or a range
//! (`+442079460000-+442079460099`), read as `[inbound] blocklist` reads them. `list` shows
//! the configuration's patterns, then the database's (the JSON form is `GET
//! /api/blocklist`'s entries). `add` records `cli:$USER` as who added the pattern; adding one
//! the database already holds, or removing one it does not, changes nothing and exits 1 (a
//! pattern of the configuration is removed from the file). A pattern that cannot be read
//! exits 2.
//!
//! All only touch the database, so they work whether crossbar is running or not: a running
//! crossbar re-reads the blocklist every 2 seconds, so a change applies to incoming calls
//! within 2 seconds.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use crossbar_api::blocklist::{BlocklistEntry, blocklist_entries, note, parse_pattern};
use crossbar_config::NumberPattern;
use crossbar_store::BlockedCaller;
use jiff::tz::TimeZone;

use super::{ListFormat, local_time, with_newline};

/// `crossbar blocklist` subcommands.
#[derive(Debug, Subcommand)]
pub enum BlocklistCommand {
    /// List the blocked caller patterns: the configuration's, then the database's.
    List(ListArgs),
    /// Block the callers a pattern matches (kept in the database).
    Add(AddArgs),
    /// Remove a pattern from the database's blocklist.
    Remove(RemoveArgs),
}

/// `crossbar blocklist list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The TOML configuration file (its [inbound] blocklist is listed, its [database] read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `crossbar blocklist add` options.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// +442079460000 (a number), +4420794600* (a prefix) or +442079460000-+442079460099.
    pub pattern: String,
    /// Why, for people.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// The TOML configuration file (its [database] is written).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `crossbar blocklist remove` options.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The pattern as `crossbar blocklist list` shows it.
    pub pattern: String,
    /// The TOML configuration file (its [database] is written).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Runs a `crossbar blocklist` subcommand.
pub fn run(command: BlocklistCommand) -> ExitCode {
    match command {
        BlocklistCommand::List(args) => list(args),
        BlocklistCommand::Add(args) => add(args),
        BlocklistCommand::Remove(args) => remove(args),
    }
}

fn list(args: ListArgs) -> ExitCode {
    const COMMAND: &str = "crossbar blocklist list";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let stored = super::with_store(&config, async |store| Ok(store.blocked_callers().await?));
    let text = stored.and_then(|stored| {
        let entries = blocklist_entries(&config.inbound.blocklist, &stored);
        Ok(match args.format {
            ListFormat::Table => list_table(&entries, &timezone),
            ListFormat::Json => with_newline(serde_json::to_string_pretty(&entries)?),
        })
    });
    super::print_or_fail(COMMAND, text)
}

fn list_table(entries: &[BlocklistEntry], tz: &TimeZone) -> String {
    if entries.is_empty() {
        return "the blocklist is empty\n".to_owned();
    }
    let dash = || "-".to_owned();
    let rows: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                e.pattern.clone(),
                e.source.to_owned(),
                e.added_at_ms
                    .map_or_else(dash, |ms| local_time(ms, tz, false)),
                e.added_by.clone().unwrap_or_else(dash),
                e.note.clone().unwrap_or_else(dash),
            ]
        })
        .collect();
    let mut out = super::table(
        &["PATTERN", "SOURCE", "ADDED", "BY", "NOTE"],
        &[false; 5],
        &rows,
    );
    let noun = if entries.len() == 1 {
        "pattern"
    } else {
        "patterns"
    };
    writeln!(out, "{} {noun}", entries.len()).expect("writing to a String");
    out
}

/// `text` as a pattern, or the error printed and exit status 2.
fn pattern_or_exit(command: &str, text: &str) -> Result<NumberPattern, ExitCode> {
    parse_pattern(text).map_err(|error| {
        eprintln!("{command}: {error}");
        ExitCode::from(2)
    })
}

/// Who added a pattern, and when, as words.
fn added_text(blocked: &BlockedCaller, tz: &TimeZone) -> String {
    format!(
        "added {} by {}",
        local_time(blocked.added_at_ms, tz, false),
        blocked.added_by
    )
}

fn add(args: AddArgs) -> ExitCode {
    const COMMAND: &str = "crossbar blocklist add";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let pattern = match pattern_or_exit(COMMAND, &args.pattern) {
        Ok(pattern) => pattern,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let by = super::operator();
    let note = note(args.note.as_deref()).map(str::to_owned);
    let outcome = super::with_store(&config, |store| {
        let pattern = pattern.clone();
        async move {
            let added = store
                .add_blocked_caller(&pattern, note.as_deref(), &by, crate::unix_ms_now())
                .await?;
            let stored = store.blocked_callers().await?;
            Ok((added, stored.into_iter().find(|b| b.pattern == pattern)))
        }
    });
    match outcome {
        Ok((true, _)) => {
            println!("blocked callers matching {pattern}");
            println!("a running crossbar refuses them within 2 seconds");
            ExitCode::SUCCESS
        }
        Ok((false, existing)) => {
            let since =
                existing.map_or_else(String::new, |b| format!(" ({})", added_text(&b, &timezone)));
            eprintln!("{COMMAND}: {pattern} is already in the blocklist{since}; nothing added");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{COMMAND}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn remove(args: RemoveArgs) -> ExitCode {
    const COMMAND: &str = "crossbar blocklist remove";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let pattern = match pattern_or_exit(COMMAND, &args.pattern) {
        Ok(pattern) => pattern,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let removed = super::with_store(&config, |store| {
        let pattern = pattern.clone();
        async move { Ok(store.remove_blocked_caller(&pattern).await?) }
    });
    match removed {
        Ok(Some(blocked)) => {
            println!(
                "removed {pattern} from the blocklist ({})",
                added_text(&blocked, &timezone)
            );
            println!("a running crossbar lets them call in again within 2 seconds");
            ExitCode::SUCCESS
        }
        Ok(None) if config.inbound.blocklist.contains(&pattern) => {
            eprintln!(
                "{COMMAND}: {pattern} is in [inbound] blocklist of {}: remove it there",
                args.config.display()
            );
            ExitCode::FAILURE
        }
        Ok(None) => {
            eprintln!("{COMMAND}: {pattern} is not in the blocklist; nothing removed");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{COMMAND}: {error:#}");
            ExitCode::FAILURE
        }
    }
}
