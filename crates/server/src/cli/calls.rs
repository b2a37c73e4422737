//! `crossbar calls`: list call records from the database named by a configuration file, as an
//! aligned table (people), CSV (spreadsheets) or JSON (programs: the full records).
//!
//! The filters are the API's (`crossbar_api::filter`), so the command line and
//! `GET /api/calls` accept the same values with the same errors. Times are shown, and dates
//! and local times in `--since`/`--until` are read, in `[site] timezone` (UTC if unset).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use crossbar_api::filter::CallQuery;
use crossbar_cdr::CallRecord;
use crossbar_config::{Config, Database};
use crossbar_store::{CallFilter, Page, Store};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// `crossbar calls` options.
#[derive(Debug, Args)]
pub struct CallsArgs {
    /// The TOML configuration file (its [database] is read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// Calls this extension took part in: placed, dialled or answered.
    #[arg(long, value_name = "N")]
    pub extension: Option<String>,
    /// Calls this extension received: dialled or answered.
    #[arg(long, value_name = "N")]
    pub received_by: Option<String>,
    /// Calls this extension (or number) placed.
    #[arg(long, value_name = "N")]
    pub placed_by: Option<String>,
    /// inbound, outbound or internal.
    #[arg(long, value_name = "DIRECTION")]
    pub direction: Option<String>,
    /// answered, voicemail, no_answer, busy, rejected, cancelled, abandoned, failed or denied.
    #[arg(long, value_name = "D")]
    pub disposition: Option<String>,
    /// Outbound calls carried by this trunk (the one that answered, else the last tried).
    #[arg(long, value_name = "NAME")]
    pub trunk: Option<String>,
    /// Outbound calls to numbers of this destination class: emergency, internal, local,
    /// national, mobile, toll_free, premium or international.
    #[arg(long, value_name = "CLASS")]
    pub class: Option<String>,
    /// Calls started at or after TIME: 2026-11-21T09:00:00Z, 2026-11-21T09:00 (site time)
    /// or 2026-11-21 (from the start of that day).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Calls started before TIME (same forms; a date includes that whole day).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// At most this many calls, newest first (0..=1000).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    /// Skip this many of the newest calls first.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: u64,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for reading.
    Table,
    /// One row per call with a header row.
    Csv,
    /// An array of the full records (legs and timeline included).
    Json,
}

/// Runs `crossbar calls`: exit 0 with the listing, 2 for a bad configuration or filter, 1 if
/// the database cannot be read.
pub fn run(args: CallsArgs) -> ExitCode {
    let config = match Config::load(&args.config) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "crossbar calls: {} error(s) in the configuration",
                errors.len()
            );
            return ExitCode::from(2);
        }
    };
    let timezone = match &config.site.timezone {
        None => TimeZone::UTC,
        Some(name) => match TimeZone::get(name.as_str()) {
            Ok(tz) => tz,
            Err(error) => {
                eprintln!("crossbar calls: time zone {name}: {error}; showing UTC");
                TimeZone::UTC
            }
        },
    };
    let query = CallQuery {
        extension: args.extension.clone(),
        received_by: args.received_by.clone(),
        placed_by: args.placed_by.clone(),
        direction: args.direction.clone(),
        disposition: args.disposition.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        limit: Some(args.limit.to_string()),
        offset: Some(args.offset.to_string()),
        view: None,
        trunk: args.trunk.clone(),
        class: args.class.clone(),
    };
    let (filter, page) = match query.to_filter(&timezone) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("crossbar calls: --{error}");
            return ExitCode::from(2);
        }
    };
    match list(&config, &filter, page).and_then(|(records, total)| {
        render(&records, total, args.format, &timezone).context("formatting the calls")
    }) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("crossbar calls: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The page of records and the total the filter selects.
fn list(
    config: &Config,
    filter: &CallFilter,
    page: Page,
) -> anyhow::Result<(Vec<CallRecord>, u64)> {
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
        let records = store.calls(filter, page).await?;
        let total = store.count_calls(filter).await?;
        store.close().await;
        Ok((records, total))
    })
}

fn render(
    records: &[CallRecord],
    total: u64,
    format: Format,
    tz: &TimeZone,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Table => table(records, total, tz),
        Format::Csv => csv(records, tz),
        Format::Json => {
            let mut json = serde_json::to_string_pretty(records)?;
            json.push('\n');
            json
        }
    })
}

/// `started_at` in `tz` as `2026-11-21 09:00:00` (or `%Y-%m-%dT%H:%M:%S%:z` with `offset`).
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

fn table(records: &[CallRecord], total: u64, tz: &TimeZone) -> String {
    if records.is_empty() {
        return if total == 0 {
            "no calls\n".to_owned()
        } else {
            format!("no calls on this page ({total} in all)\n")
        };
    }
    const HEADER: [&str; 8] = [
        "STARTED",
        "DIRECTION",
        "CALL",
        "DISPOSITION",
        "WAIT",
        "TALK",
        "HANGUP BY",
        "SIP",
    ];
    /// Columns aligned to the right (durations).
    const RIGHT: [bool; 8] = [false, false, false, false, true, true, false, false];
    let rows: Vec<[String; 8]> = records
        .iter()
        .map(|r| {
            let answered = r.answered_at_ms.is_some();
            let mut disposition = r.disposition.as_str().to_owned();
            match (&r.disposition_detail, r.interrupted) {
                (Some(detail), _) => {
                    write!(disposition, " ({detail})").expect("writing to a String")
                }
                (None, true) => disposition.push_str(" (interrupted)"),
                (None, false) => {}
            }
            [
                local_time(r.started_at_ms, tz, false),
                r.direction.as_str().to_owned(),
                format!("{} → {}", r.caller.number, r.callee.number),
                disposition,
                r.timings.wait_secs.map_or_else(|| "-".to_owned(), duration),
                if answered {
                    duration(r.timings.talk_secs)
                } else {
                    "-".to_owned()
                },
                r.hangup_by.as_str().to_owned(),
                r.sip_status
                    .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            ]
        })
        .collect();
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i] - cell.chars().count();
            if RIGHT[i] {
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
    let shown = rows.len() as u64;
    let noun = if total == 1 { "call" } else { "calls" };
    if shown == total {
        writeln!(out, "{total} {noun}").expect("writing to a String");
    } else {
        writeln!(out, "{shown} of {total} {noun}").expect("writing to a String");
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

fn csv(records: &[CallRecord], tz: &TimeZone) -> String {
    const HEADER: &str = "id,started_at,answered_at,ended_at,direction,caller,caller_name,\
         callee,callee_name,disposition,disposition_detail,sip_status,hangup_by,answered_by,\
         wait_secs,ring_secs,talk_secs,hold_secs,queue_wait_secs,interrupted";
    let mut out = String::from(HEADER);
    out.push('\n');
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in records {
        let t = &r.timings;
        let cells = [
            r.id.0.clone(),
            local_time(r.started_at_ms, tz, true),
            opt(r.answered_at_ms.map(|ms| local_time(ms, tz, true))),
            local_time(r.ended_at_ms, tz, true),
            r.direction.as_str().to_owned(),
            r.caller.number.clone(),
            opt(r.caller.name.clone()),
            r.callee.number.clone(),
            opt(r.callee.name.clone()),
            r.disposition.as_str().to_owned(),
            opt(r.disposition_detail.clone()),
            opt(r.sip_status.map(|s| s.to_string())),
            r.hangup_by.as_str().to_owned(),
            opt(r.answered_by.clone()),
            opt(t.wait_secs.map(|s| s.to_string())),
            t.ring_secs.to_string(),
            t.talk_secs.to_string(),
            t.hold_secs.to_string(),
            t.queue_wait_secs.to_string(),
            r.interrupted.to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
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
}
