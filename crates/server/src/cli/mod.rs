//! Subcommands that work on what crossbar stored, without starting it, and make API tokens.
//!
//! ```text
//! crossbar calls --config F [filters] [--format table|csv|json]   # call history
//! crossbar extension blocked --config F [--format table|json]     # extensions blocked by a fraud cap
//! crossbar extension unblock 201 --config F                       # release 201's block
//! crossbar alerts --config F [--since T] [--limit N] [--format table|json]
//! crossbar trunks --config F [--format table|json]                # trunks and their status
//! crossbar trunks --config F --events [--trunk NAME] [--limit N]  # their changes
//! crossbar route explain --config F --from 201 --to NUMBER [--at T] [--format table|json]
//! crossbar token new NAME                                         # a token for [http] tokens
//! crossbar report outbound --config F [--since T] [--until T] [--by extension|trunk|class]
//!     [--format table|csv|json]                                   # outbound figures
//! crossbar report inbound --config F [--since T] [--until T] [--by did|route|group]
//!     [--received] [--format table|csv|json]                      # inbound figures
//! crossbar report queues --config F [--since T] [--until T] [--queue NAME]
//!     [--format table|csv|json]                                   # queue, agent, callback figures
//! crossbar callbacks list --config F [--state open|completed|all] [--format table|csv|json]
//! crossbar callbacks assign ID --agent 201|--queue NAME|--nobody --config F
//! crossbar callbacks cancel ID --config F                         # close a task by hand
//! crossbar agent list --config F [--format table|json]            # queue agents and their state
//! crossbar agent login|logout 201 [--queue NAME] [--penalty N] --config F  # via the running crossbar
//! crossbar agent pause 201 [--reason R] --config F; crossbar agent unpause 201 --config F
//! crossbar tc list --config F [--format table|json]               # time conditions, overrides
//! crossbar tc override NAME open|closed|schedule --config F       # force one, or clear it
//! crossbar blocklist list --config F [--format table|json]        # the caller blocklist
//! crossbar blocklist add PATTERN [--note TEXT] --config F         # block callers
//! crossbar blocklist remove PATTERN --config F                    # unblock them
//! ```
//!
//! Each reads the database named by the configuration's `[database]` and shows times in
//! `[site] timezone` (UTC if unset). Exit status: 0 done, 2 for a configuration or an argument
//! that cannot be used, 1 when the database cannot be read or written, or there is nothing to
//! do (`unblock` of an extension that is not blocked, `blocklist add` of a pattern already
//! there, `blocklist remove` of one that is not, `callbacks assign` or `cancel` of a task that
//! is not open, an agent change the switch refuses); `crossbar agent login|logout|pause|unpause`
//! exit 3 when no running crossbar took the request within 2 s.

pub mod agent;
pub mod alerts;
pub mod blocklist;
pub mod callbacks;
pub mod calls;
pub mod extension;
pub mod report;
pub mod route;
pub mod tc;
pub mod token;
pub mod trunks;

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::ValueEnum;
use crossbar_config::{Config, Database};
use crossbar_store::Store;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// How a listing without a CSV form (`crossbar extension blocked`, `crossbar alerts`) is
/// printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for reading.
    Table,
    /// A JSON array, in the API's form.
    Json,
}

/// The configuration at `path`; on errors, prints them and says `command` did nothing, and
/// gives exit status 2.
fn load_config(command: &str, path: &Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|errors| {
        eprintln!("{errors}");
        eprintln!("{command}: {} error(s) in the configuration", errors.len());
        ExitCode::from(2)
    })
}

/// `[site] timezone`, or UTC (saying so on stderr if the name is unknown to this system).
fn site_timezone(command: &str, config: &Config) -> TimeZone {
    match &config.site.timezone {
        None => TimeZone::UTC,
        Some(name) => match TimeZone::get(name.as_str()) {
            Ok(tz) => tz,
            Err(error) => {
                eprintln!("{command}: time zone {name}: {error}; showing UTC");
                TimeZone::UTC
            }
        },
    }
}

/// The SQLite file the configuration names, if it does not exist: crossbar has not run with
/// this configuration yet.
fn missing_database(config: &Config) -> Option<&Path> {
    match &config.database {
        Database::Sqlite { path } if !path.exists() => Some(path),
        _ => None,
    }
}

/// Opens the configuration's database, runs `work` on it and closes it. A SQLite file that
/// does not exist is an error (crossbar has not run there yet), not a new empty database.
fn with_store<T, F, Fut>(config: &Config, work: F) -> anyhow::Result<T>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    if let Some(path) = missing_database(config) {
        anyhow::bail!(
            "no database at {} (crossbar has not run with this configuration yet)",
            path.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = Store::open(&config.database.url())
            .await
            .with_context(|| format!("opening the database {:?}", config.database))?;
        let result = work(store.clone()).await;
        store.close().await;
        result
    })
}

/// Prints `output` and gives exit status 0, or says why `command` failed and gives 1.
fn print_or_fail(command: &str, output: anyhow::Result<String>) -> ExitCode {
    match output {
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

/// Who makes a change from the command line, as the store records it: `cli:$USER` (or
/// `$LOGNAME`), else `cli`.
fn operator() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|user| !user.trim().is_empty())
        .map_or_else(|| "cli".to_owned(), |user| format!("cli:{}", user.trim()))
}

/// A time in `tz` as `2026-11-21 09:00:00` (or `%Y-%m-%dT%H:%M:%S%:z` with `offset`).
fn local_time(ms: i64, tz: &TimeZone, offset: bool) -> String {
    let format = if offset {
        "%Y-%m-%dT%H:%M:%S%:z"
    } else {
        "%Y-%m-%d %H:%M:%S"
    };
    match Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.to_zoned(tz.clone()).strftime(format).to_string(),
        Err(_) => format!("@{ms}ms"),
    }
}

/// Seconds as `m:ss`, or `h:mm:ss` from an hour.
fn duration(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Rows under a header in columns two spaces apart, each as wide as its widest cell; the
/// columns marked in `right` aligned to the right. Trailing spaces are trimmed. Only as many
/// columns as the header has are shown.
fn table<R: AsRef<[String]>>(header: &[&str], right: &[bool], rows: &[R]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row.as_ref()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let lines = std::iter::once(header.as_slice()).chain(rows.iter().map(AsRef::as_ref));
    for row in lines {
        let mut line = String::new();
        for (i, cell) in row.iter().take(columns).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i] - cell.chars().count();
            if right.get(i).copied().unwrap_or(false) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// `text` with a final newline (pretty JSON ends without one).
fn with_newline(mut text: String) -> String {
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_minutes_and_seconds_or_hours() {
        assert_eq!(duration(0), "0:00");
        assert_eq!(duration(59), "0:59");
        assert_eq!(duration(61), "1:01");
        assert_eq!(duration(3_600 + 62), "1:01:02");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(field("201"), "201");
        assert_eq!(field("Smith, Jane"), "\"Smith, Jane\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn a_table_aligns_columns_to_their_widest_cell() {
        let rows = [
            ["201".to_owned(), "4".to_owned(), "short".to_owned()],
            ["20100".to_owned(), "1234".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["EXT", "N", "NOTE"], &[false, true, false], &rows),
            "EXT       N  NOTE\n201       4  short\n20100  1234\n"
        );
    }

    #[test]
    fn a_table_shows_only_the_columns_of_its_header() {
        let rows = [
            vec![
                "a".to_owned(),
                "1".to_owned(),
                String::new(),
                "hidden".to_owned(),
            ],
            vec!["long".to_owned(), "100".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["NAME", "N", "X"], &[false, true, false], &rows),
            "NAME    N  X\na       1\nlong  100\n"
        );
    }
}
