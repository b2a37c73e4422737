//! `crossbar calls`: list call records from the database named by a configuration file, as an
//! aligned table (people), CSV (spreadsheets) or JSON (programs: the full records).
//!
//! The filters are the API's (`crossbar_api::filter`), so the command line and
//! `GET /api/calls` accept the same values with the same errors. Times are shown, and dates
//! and local times in `--since`/`--until` are read, in `[site] timezone` (UTC if unset).
//!
//! An outbound call's normalised number, destination class, trunk and cost show in extra
//! table columns (when the page has outbound calls), in the CSV's last columns (with the
//! number as dialled, the route, the caller ID, the trunk attempts and the post-dial delay)
//! and in the JSON records' `outbound`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use crossbar_api::filter::CallQuery;
use crossbar_cdr::CallRecord;
use jiff::tz::TimeZone;

use super::{duration, field, local_time, with_newline};

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
    const COMMAND: &str = "crossbar calls";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
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
            eprintln!("{COMMAND}: --{error}");
            return ExitCode::from(2);
        }
    };
    let listed = super::with_store(&config, async |store| {
        let records = store.calls(&filter, page).await?;
        let total = store.count_calls(&filter).await?;
        Ok((records, total))
    });
    let text = listed.and_then(|(records, total)| {
        render(&records, total, args.format, &timezone).context("formatting the calls")
    });
    super::print_or_fail(COMMAND, text)
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
        Format::Json => with_newline(serde_json::to_string_pretty(records)?),
    })
}

fn table(records: &[CallRecord], total: u64, tz: &TimeZone) -> String {
    if records.is_empty() {
        return if total == 0 {
            "no calls\n".to_owned()
        } else {
            format!("no calls on this page ({total} in all)\n")
        };
    }
    const HEADER: [&str; 12] = [
        "STARTED",
        "DIRECTION",
        "CALL",
        "DISPOSITION",
        "WAIT",
        "TALK",
        "HANGUP BY",
        "SIP",
        "NUMBER",
        "CLASS",
        "TRUNK",
        "COST",
    ];
    /// Columns aligned to the right (durations, amounts).
    const RIGHT: [bool; 12] = [
        false, false, false, false, true, true, false, false, false, false, false, true,
    ];
    let rows: Vec<Vec<String>> = records
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
            let out = r.outbound.as_ref();
            let or_dash = |text: Option<String>| text.unwrap_or_else(|| "-".to_owned());
            vec![
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
                or_dash(out.map(|o| o.normalized.clone())),
                or_dash(out.map(|o| o.class.as_str().to_owned())),
                or_dash(out.and_then(|o| o.trunk.clone())),
                or_dash(out.map(|o| o.cost.to_string())),
            ]
        })
        .collect();
    // A page without outbound calls keeps to the columns every call has.
    let columns = if records.iter().any(|r| r.outbound.is_some()) {
        HEADER.len()
    } else {
        8
    };
    let mut out = super::table(&HEADER[..columns], &RIGHT, &rows);
    let shown = rows.len() as u64;
    let noun = if total == 1 { "call" } else { "calls" };
    if shown == total {
        writeln!(out, "{total} {noun}").expect("writing to a String");
    } else {
        writeln!(out, "{shown} of {total} {noun}").expect("writing to a String");
    }
    out
}

fn csv(records: &[CallRecord], tz: &TimeZone) -> String {
    const HEADER: &str = "id,started_at,answered_at,ended_at,direction,caller,caller_name,\
         callee,callee_name,disposition,disposition_detail,sip_status,hangup_by,answered_by,\
         wait_secs,ring_secs,talk_secs,hold_secs,queue_wait_secs,interrupted,dialled,\
         normalized_number,destination_class,outbound_route,caller_id,trunk,trunk_attempts,\
         pdd_ms,cost";
    let mut out = String::from(HEADER);
    out.push('\n');
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in records {
        let t = &r.timings;
        let o = r.outbound.as_ref();
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
            opt(o.map(|o| o.dialled.clone())),
            opt(o.map(|o| o.normalized.clone())),
            opt(o.map(|o| o.class.as_str().to_owned())),
            opt(o.and_then(|o| o.route.clone())),
            opt(o.and_then(|o| o.caller_id.clone())),
            opt(o.and_then(|o| o.trunk.clone())),
            opt(o.map(|o| o.attempts.to_string())),
            opt(o.and_then(|o| o.pdd_ms).map(|ms| ms.to_string())),
            opt(o.map(|o| o.cost.to_string())),
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}
