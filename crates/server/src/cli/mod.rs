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
//! ```
//!
//! Each reads the database named by the configuration's `[database]` and shows times in
//! `[site] timezone` (UTC if unset). Exit status: 0 done, 2 for a configuration or an argument
//! that cannot be used, 1 when the database cannot be read or written, or there is nothing to
//! do (`unblock` of an extension that is not blocked).

pub mod alerts;
pub mod calls;
pub mod extension;
pub mod route;
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

/// How a listing other than `crossbar calls` is printed.
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

/// Rows under a header in columns two spaces apart, each as wide as its widest cell; the
/// columns marked in `right` aligned to the right. Trailing spaces are trimmed.
fn table<const N: usize>(header: [&str; N], right: [bool; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i] - cell.chars().count();
            if right[i] {
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

/// `text` with a final newline (pretty JSON ends without one).
fn with_newline(mut text: String) -> String {
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_aligns_columns_to_their_widest_cell() {
        let rows = [
            ["201".to_owned(), "4".to_owned(), "short".to_owned()],
            ["20100".to_owned(), "1234".to_owned(), String::new()],
        ];
        assert_eq!(
            table(["EXT", "N", "NOTE"], [false, true, false], &rows),
            "EXT       N  NOTE\n201       4  short\n20100  1234\n"
        );
    }
}
