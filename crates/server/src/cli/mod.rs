//! Subcommands that read what crossbar stored, without starting it.

pub mod calls;
pub mod report;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use crossbar_config::{Config, Database};
use crossbar_store::Store;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The configuration at `path`, or (its errors printed, prefixed by `command`) the exit code
/// of a bad configuration: 2.
fn load_config(path: &Path, command: &str) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|errors| {
        eprintln!("{errors}");
        eprintln!("{command}: {} error(s) in the configuration", errors.len());
        ExitCode::from(2)
    })
}

/// `[site] timezone`, or UTC if unset or unknown to this system (said on stderr).
fn site_timezone(config: &Config, command: &str) -> TimeZone {
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

/// Runs `read` on the database the configuration names, on a runtime of its own. A SQLite
/// file that does not exist yet is an error, not a new empty database.
fn read_store<T>(
    config: &Config,
    read: impl AsyncFnOnce(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let Database::Sqlite { path } = &config.database
        && !path.exists()
    {
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
        let result = read(&store).await;
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

/// Seconds as `m:ss`, or `h:mm:ss` from an hour.
fn duration(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Rows under a header, each column as wide as its widest cell (two spaces apart), those
/// marked in `right` aligned to the right; trailing blanks trimmed. Only as many columns as
/// the header has are shown.
fn aligned(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
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
    fn columns_are_aligned_left_or_right_and_lines_trimmed() {
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
            aligned(&["NAME", "N", "X"], &[false, true, false], &rows),
            "NAME    N  X\na       1\nlong  100\n"
        );
    }
}
