//! `crossbar trunks`: the trunks of `tests/data/route_explain.toml` with the statuses written
//! through crossbar-store (as the switch's writer writes them) into the SQLite database the
//! configuration names.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crossbar_store::{Store, TrunkStatusRow};
use serde_json::{Value, json};

const CROSSBAR: &str = env!("CARGO_BIN_EXE_crossbar");

/// 2026-11-21T09:00:00Z (09:00 in London).
const NINE: i64 = 1_795_251_600_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// A copy of the test configuration and its rate decks in a temporary directory, naming
/// `crossbar.db` beside it.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut config =
            std::fs::read_to_string(data.join("route_explain.toml")).expect("config read");
        config.push_str("\n[database]\nurl = \"sqlite://crossbar.db\"\n");
        std::fs::write(dir.path().join("crossbar.toml"), config).expect("config written");
        std::fs::create_dir(dir.path().join("rates")).expect("rates dir");
        for deck in ["carrier-a.csv", "carrier-b.csv"] {
            std::fs::copy(
                data.join("rates").join(deck),
                dir.path().join("rates").join(deck),
            )
            .expect("deck copied");
        }
        Site { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("crossbar.toml")
    }

    /// Records `statuses` in the site's database (creating it).
    fn record(&self, statuses: &[TrunkStatusRow]) {
        let url = format!("sqlite://{}", self.dir.path().join("crossbar.db").display());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async {
                let store = Store::open(&url).await.expect("the database opens");
                for status in statuses {
                    store
                        .record_trunk_status(status)
                        .await
                        .expect("status recorded");
                }
                store.close().await;
            });
    }

    /// `crossbar trunks ARGS... --config <this site's file>`.
    fn trunks(&self, args: &[&str]) -> Output {
        Command::new(CROSSBAR)
            .arg("trunks")
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env_remove("RUST_LOG")
            .output()
            .expect("the crossbar binary runs")
    }
}

fn stdout_of(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn registered(at_ms: i64) -> TrunkStatusRow {
    TrunkStatusRow {
        trunk: "carrier-a".into(),
        at_ms,
        change: "registered (for 3600 s)".into(),
        registration: Some("registered".into()),
        registered_until_ms: Some(at_ms + HOUR),
        health: "up".into(),
        health_since_ms: Some(at_ms - MINUTE),
        last_failure: None,
        last_failure_at_ms: None,
    }
}

fn down(at_ms: i64) -> TrunkStatusRow {
    // Registered two minutes before, and now failing its health checks.
    TrunkStatusRow {
        at_ms,
        change: "down: health check failed (408)".into(),
        health: "down".into(),
        health_since_ms: Some(at_ms),
        last_failure: Some("OPTIONS timed out (408)".into()),
        last_failure_at_ms: Some(at_ms),
        ..registered(at_ms - 2 * MINUTE)
    }
}

/// carrier-a registered at 09:00 and went down at 09:05; carrier-b never reported.
fn reported_site() -> Site {
    let site = Site::new();
    site.record(&[registered(NINE), down(NINE + 5 * MINUTE)]);
    site
}

#[test]
fn before_crossbar_ran_every_trunk_is_never_reported() {
    let site = Site::new();
    let out = stdout_of(&site.trunks(&[]));
    let expected = "\
TRUNK      ADDRESS                     TRANSPORT  REGISTRATION    HEALTH          CALLS  LAST FAILURE
carrier-a  sip.carrier-a.example:5060  udp        never reported  never reported      0  -
carrier-b  [2001:db8::5060]:5060       tcp        -               never reported      0  -
2 trunks
";
    assert_eq!(out, expected);
    assert!(
        !site.dir.path().join("crossbar.db").exists(),
        "listing creates no database"
    );
    assert_eq!(
        stdout_of(&site.trunks(&["--events"])),
        "no trunk changes recorded\n"
    );
}

#[test]
fn trunks_show_registration_health_calls_and_last_failure_in_site_time() {
    let site = reported_site();
    let out = stdout_of(&site.trunks(&[]));
    let expected = "\
TRUNK      ADDRESS                     TRANSPORT  REGISTRATION                          HEALTH                          CALLS  LAST FAILURE
carrier-a  sip.carrier-a.example:5060  udp        registered until 2026-11-21 10:03:00  down since 2026-11-21 09:05:00      0  2026-11-21 09:05:00: OPTIONS timed out (408)
carrier-b  [2001:db8::5060]:5060       tcp        -                                     never reported                      0  -
2 trunks
";
    assert_eq!(out, expected);
}

#[test]
fn trunks_as_json_are_the_api_form() {
    let site = reported_site();
    let out = stdout_of(&site.trunks(&["--format", "json"]));
    let trunks: Value = serde_json::from_str(&out).expect("JSON output");
    assert_eq!(
        trunks,
        json!([
            {
                "name": "carrier-a",
                "address": "sip.carrier-a.example:5060",
                "transport": "udp",
                "registers": true,
                "health_checks": true,
                "calls": 0,
                "status": {
                    "at_ms": NINE + 5 * MINUTE,
                    "change": "down: health check failed (408)",
                    "registration": "registered",
                    "registered_until_ms": NINE + 3 * MINUTE + HOUR,
                    "health": "down",
                    "health_since_ms": NINE + 5 * MINUTE,
                    "last_failure": "OPTIONS timed out (408)",
                    "last_failure_at_ms": NINE + 5 * MINUTE,
                }
            },
            {
                "name": "carrier-b",
                "address": "[2001:db8::5060]:5060",
                "transport": "tcp",
                "registers": false,
                "health_checks": false,
                "calls": 0,
                "status": null
            }
        ])
    );
}

#[test]
fn events_list_the_changes_newest_first_of_every_trunk_or_one() {
    let site = reported_site();
    site.record(&[TrunkStatusRow {
        trunk: "carrier-b".into(),
        at_ms: NINE + 7 * MINUTE,
        change: "started (health checks off)".into(),
        registration: None,
        registered_until_ms: None,
        health: "unchecked".into(),
        health_since_ms: None,
        last_failure: None,
        last_failure_at_ms: None,
    }]);
    let out = stdout_of(&site.trunks(&["--events"]));
    let expected = "\
TIME                 TRUNK      HEALTH     REGISTRATION  CHANGE
2026-11-21 09:07:00  carrier-b  unchecked  -             started (health checks off)
2026-11-21 09:05:00  carrier-a  down       registered    down: health check failed (408)
2026-11-21 09:00:00  carrier-a  up         registered    registered (for 3600 s)
3 changes
";
    assert_eq!(out, expected);

    let out = stdout_of(&site.trunks(&["--events", "--trunk", "carrier-a", "--limit", "1"]));
    let expected = "\
TIME                 TRUNK      HEALTH  REGISTRATION  CHANGE
2026-11-21 09:05:00  carrier-a  down    registered    down: health check failed (408)
1 change
";
    assert_eq!(out, expected);

    let out = stdout_of(&site.trunks(&["--events", "--trunk", "carrier-b", "--format", "json"]));
    let events: Value = serde_json::from_str(&out).expect("JSON output");
    let events = events.as_array().expect("an array");
    assert_eq!(events.len(), 1);
    assert!(events[0]["id"].is_i64());
    assert_eq!(events[0]["trunk"], "carrier-b");
    assert_eq!(events[0]["at_ms"], NINE + 7 * MINUTE);
    assert_eq!(events[0]["change"], "started (health checks off)");
    assert_eq!(events[0]["health"], "unchecked");
    assert_eq!(events[0]["registration"], Value::Null);
}

#[test]
fn events_of_a_trunk_not_configured_or_options_without_events_are_refused() {
    let site = reported_site();
    let out = site.trunks(&["--events", "--trunk", "carrier-z"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("crossbar trunks: carrier-z is not a trunk of "),
        "{stderr}"
    );

    let out = site.trunks(&["--trunk", "carrier-a"]);
    assert_eq!(out.status.code(), Some(2), "--trunk needs --events");
    let out = site.trunks(&["--events", "--limit", "1001"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "crossbar trunks: --limit: `1001` is not a whole number from 0 to 1000\n"
    );
}
