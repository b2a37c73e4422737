//! `crossbar report`: the reports of DESIGN.md §2 over the calls stored in the database a
//! configuration file names, as a table (people), CSV (spreadsheets) or JSON (programs).
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
use crossbar_api::filter::ReportQuery;
use crossbar_cdr::DestinationClass;
use crossbar_cdr::metrics::outbound::{
    GroupBy, OutboundFigures, OutboundGroup, OutboundReport, outbound_report,
};
use crossbar_store::TrunkLegs;
use jiff::tz::TimeZone;

use super::{
    duration, field, load_config, local_time, print_or_fail, site_timezone, with_newline,
    with_store,
};

/// `crossbar report` reports.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Outgoing calls: attempts, connected, ASR, ACD, PDD, minutes, cost, failovers,
    /// failures and denied calls, in all or by extension, trunk or destination class.
    Outbound(OutboundArgs),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, then the cost by destination class and the denied calls by reason.
    Table,
    /// One row per group and one for the total, with a header row.
    Csv,
    /// The report as `GET /api/reports/outbound` gives it.
    Json,
}

/// Runs a `crossbar report`: exit 0 with the report, 2 for a bad configuration or parameter,
/// 1 if the database cannot be read.
pub fn run(command: ReportCommand) -> ExitCode {
    match command {
        ReportCommand::Outbound(args) => outbound(args),
    }
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
fn period_text(report: &OutboundReport, tz: &TimeZone) -> String {
    let time = |ms: i64| local_time(ms, tz, false);
    let zone = tz.iana_name().unwrap_or("UTC");
    match (report.period.since_ms, report.period.until_ms) {
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
    let mut out = format!("Outbound calls {}", period_text(report, tz));
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
    }
}
