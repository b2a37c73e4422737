//! `crossbar alerts`: the alerts crossbar raised (an extension blocked by a fraud cap, ...),
//! newest first.
//!
//! ```text
//! crossbar alerts --config F [--since TIME] [--limit N] [--format table|json]
//! ```
//!
//! `--since` and `--limit` take the values `GET /api/alerts` takes (one parser,
//! `crossbar_api::filter::AlertQuery`), and the JSON form is the API's. Times are shown, and
//! dates and local times in `--since` read, in `[site] timezone` (UTC if unset).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use crossbar_api::control::AlertView;
use crossbar_api::filter::AlertQuery;
use crossbar_store::Alert;
use jiff::tz::TimeZone;

use super::{ListFormat, local_time, with_newline};

/// `crossbar alerts` options.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// The TOML configuration file (its [database] is read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// Alerts raised at or after TIME: 2026-11-21T09:00:00Z, 2026-11-21T09:00 (site time) or
    /// 2026-11-21 (from the start of that day).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// At most this many alerts, newest first (0..=1000).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Runs `crossbar alerts`: exit 0 with the listing, 2 for a bad configuration or option, 1
/// if the database cannot be read.
pub fn run(args: AlertsArgs) -> ExitCode {
    const COMMAND: &str = "crossbar alerts";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let query = AlertQuery {
        since: args.since.clone(),
        limit: Some(args.limit.to_string()),
    };
    let (since_ms, limit) = match query.to_range(&timezone) {
        Ok(range) => range,
        Err(error) => {
            eprintln!("{COMMAND}: --{error}");
            return ExitCode::from(2);
        }
    };
    let listed = super::with_store(&config, |store| async move {
        Ok(store.alerts(since_ms, limit).await?)
    });
    let text = listed.and_then(|alerts| {
        Ok(match args.format {
            ListFormat::Table => table(&alerts, &timezone),
            ListFormat::Json => {
                let views: Vec<AlertView> = alerts.into_iter().map(AlertView::from).collect();
                with_newline(serde_json::to_string_pretty(&views)?)
            }
        })
    });
    super::print_or_fail(COMMAND, text)
}

fn table(alerts: &[Alert], tz: &TimeZone) -> String {
    if alerts.is_empty() {
        return "no alerts\n".to_owned();
    }
    let rows: Vec<[String; 5]> = alerts
        .iter()
        .map(|a| {
            [
                local_time(a.raised_at_ms, tz, false),
                a.kind.as_str().to_owned(),
                a.subject.clone(),
                a.message.clone(),
                a.acknowledged_by.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let mut out = super::table(
        &["RAISED", "KIND", "SUBJECT", "MESSAGE", "ACKNOWLEDGED BY"],
        &[false; 5],
        &rows,
    );
    let noun = if alerts.len() == 1 { "alert" } else { "alerts" };
    writeln!(out, "{} {noun}", alerts.len()).expect("writing to a String");
    out
}
