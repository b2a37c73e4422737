//! `crossbar route explain`, the route simulator, on `tests/data/route_explain.toml` (two
//! carriers with small rate decks; 201 may call national numbers, 202 international ones in
//! office hours), against the live state written through crossbar-store into the database
//! the configuration names — or none, before crossbar has created it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crossbar_store::{Store, TrunkStatusRow};
use serde_json::{Value, json};

const CROSSBAR: &str = env!("CARGO_BIN_EXE_crossbar");

/// Friday 2026-11-20T10:00:00Z (10:00 in London).
const FRIDAY_TEN: i64 = 1_795_168_800_000;

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

    /// Runs `work` on the site's database (creating it).
    fn with_store(&self, work: impl AsyncFnOnce(&Store)) {
        let url = format!("sqlite://{}", self.dir.path().join("crossbar.db").display());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async {
                let store = Store::open(&url).await.expect("the database opens");
                work(&store).await;
                store.close().await;
            });
    }

    /// `crossbar route explain --config <this site's file> ARGS...`.
    fn explain(&self, args: &[&str]) -> Output {
        Command::new(CROSSBAR)
            .args(["route", "explain", "--config"])
            .arg(self.config())
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .expect("the crossbar binary runs")
    }

    /// The JSON explanation of a call from `from` to `to` (at `at`, if given).
    fn explain_json(&self, from: &str, to: &str, at: Option<&str>) -> Value {
        let mut args = vec!["--from", from, "--to", to, "--format", "json"];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        serde_json::from_str(&stdout_of(&self.explain(&args))).expect("JSON output")
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

/// `(trunk, number, skipped)` of each attempt, in order.
fn attempts(explanation: &Value) -> Vec<(String, String, Value)> {
    explanation["attempts"]
        .as_array()
        .expect("an array of attempts")
        .iter()
        .map(|a| {
            (
                a["trunk"].as_str().expect("a trunk").to_owned(),
                a["number"].as_str().expect("a number").to_owned(),
                a["skipped"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_national_call_tries_the_cheapest_trunk_first_with_rates_and_costs() {
    let site = Site::new();
    site.with_store(async |_| {});
    let explanation = site.explain_json("201", "020 7946 0000", None);
    assert_eq!(explanation["dialled"], "020 7946 0000");
    assert_eq!(explanation["decision"], "outbound");
    assert_eq!(explanation["allowed"], true);
    assert_eq!(explanation["normalized"], "+442079460000");
    assert_eq!(explanation["class"], "national");
    assert_eq!(explanation["route"], "uk");
    assert_eq!(explanation["reason"], Value::Null);
    assert_eq!(explanation["caller_id"], "+442079460001");
    assert_eq!(explanation["currency"], "GBP");
    // carrier-b first: 0.009/min against carrier-a's 0.012; billed 30/6 with a 0.01 fee.
    assert_eq!(explanation["cost_1min"], 0.019);
    assert_eq!(explanation["cost_5min"], 0.055);
    assert_eq!(
        explanation["attempts"],
        json!([
            {
                "trunk": "carrier-b",
                "number": "02079460000",
                "per_minute": 0.009,
                "connection_fee": 0.01,
                "increment": "30/6",
                "caller_id": "+442079460001",
                "skipped": null
            },
            {
                "trunk": "carrier-a",
                "number": "+442079460000",
                "per_minute": 0.012,
                "connection_fee": 0.0,
                "increment": "60/60",
                "caller_id": "+442079460001",
                "skipped": null
            }
        ])
    );
    // Mobile numbers are cheaper through carrier-a.
    let mobile = site.explain_json("201", "07400 123456", None);
    assert_eq!(mobile["class"], "mobile");
    assert_eq!(
        attempts(&mobile),
        [
            ("carrier-a".into(), "+447400123456".into(), Value::Null),
            ("carrier-b".into(), "07400123456".into(), Value::Null),
        ]
    );
    assert_eq!(mobile["cost_1min"], 0.05);
    assert_eq!(mobile["cost_5min"], 0.25);
}

#[test]
fn an_international_call_from_a_national_class_is_denied_with_its_reason() {
    let site = Site::new();
    let explanation = site.explain_json("201", "00 33 1 23 45 67 89", None);
    assert_eq!(explanation["decision"], "denied");
    assert_eq!(explanation["allowed"], false);
    assert_eq!(explanation["status"], 403);
    assert_eq!(explanation["normalized"], "+33123456789");
    assert_eq!(explanation["class"], "international");
    assert_eq!(explanation["reason_code"], "class_forbids");
    assert_eq!(
        explanation["reason"],
        "class national does not allow international calls"
    );
    assert_eq!(explanation["caller_id"], Value::Null);
    assert_eq!(explanation["attempts"], json!([]));
    assert_eq!(explanation["cost_1min"], Value::Null);
    assert_eq!(explanation["cost_5min"], Value::Null);
}

#[test]
fn a_trunk_reported_down_is_skipped_with_down() {
    let site = Site::new();
    site.with_store(async |store| {
        store
            .record_trunk_status(&TrunkStatusRow {
                trunk: "carrier-b".into(),
                at_ms: FRIDAY_TEN,
                change: "down: health check failed (408)".into(),
                registration: None,
                registered_until_ms: None,
                health: "down".into(),
                health_since_ms: Some(FRIDAY_TEN),
                last_failure: Some("OPTIONS timed out (408)".into()),
                last_failure_at_ms: Some(FRIDAY_TEN),
            })
            .await
            .expect("status recorded");
    });
    let explanation = site.explain_json("201", "020 7946 0000", None);
    assert_eq!(
        attempts(&explanation),
        [
            ("carrier-b".into(), "02079460000".into(), json!("down")),
            ("carrier-a".into(), "+442079460000".into(), Value::Null),
        ]
    );
    // The first usable trunk, carrier-a: 0.012/min, no fee, by the minute.
    assert_eq!(explanation["cost_1min"], 0.012);
    assert_eq!(explanation["cost_5min"], 0.06);
    assert_eq!(explanation["caller_id"], "+442079460001");

    // A blocked extension is denied.
    site.with_store(async |store| {
        store
            .block_extension("201", "31 calls in a minute (cap 30)", FRIDAY_TEN)
            .await
            .expect("201 blocked");
    });
    let explanation = site.explain_json("201", "020 7946 0000", None);
    assert_eq!(explanation["decision"], "denied");
    assert_eq!(explanation["reason_code"], "blocked");
}

#[test]
fn at_is_a_local_time_in_the_site_time_zone() {
    let site = Site::new();
    let international = |at: &str| site.explain_json("202", "00 33 1 23 45 67 89", Some(at));
    let evening = international("2026-12-24T22:00");
    assert_eq!(evening["decision"], "denied");
    assert_eq!(
        evening["reason"],
        "class international allows international calls only mon,tue,wed,thu,fri \
         08:00-18:00; it is thu 22:00 in Europe/London"
    );
    let morning = international("2026-12-24T10:00");
    assert_eq!(morning["decision"], "outbound");
    assert_eq!(
        attempts(&morning),
        [
            ("carrier-b".into(), "0033123456789".into(), Value::Null),
            ("carrier-a".into(), "+33123456789".into(), Value::Null),
        ],
        "the international route tries its trunks in order"
    );
    // With an offset: 07:30 in New York is 12:30 in London in June.
    let offset = international("2026-06-10T07:30:00-04:00");
    assert_eq!(offset["decision"], "outbound");

    let out = site.explain(&["--from", "202", "--to", "999", "--at", "tonight"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("crossbar route explain: --at: `tonight` is not a time"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_table_says_when_and_against_what_the_call_was_routed() {
    let site = Site::new();
    let args = [
        "--from",
        "201",
        "--to",
        "020 7946 0000",
        "--at",
        "2026-11-20T10:00",
    ];
    let out = stdout_of(&site.explain(&args));
    let expected = "\
at          Fri 2026-11-20 10:00:00 GMT
live        no database yet: every trunk up and idle
dialled     020 7946 0000
decision    outbound, route uk
number      +442079460000  national  GB
caller ID   +442079460001
cost        0.0190 GBP for 1 min, 0.0550 GBP for 5 min
attempts    1. carrier-b  02079460000    0.0090/min  fee 0.0100  30/6
            2. carrier-a  +442079460000  0.0120/min  fee 0.0000  60/60
";
    assert_eq!(out, expected);
    assert!(
        !site.dir.path().join("crossbar.db").exists(),
        "the simulator creates no database"
    );

    site.with_store(async |_| {});
    let out = stdout_of(&site.explain(&args));
    assert!(
        out.lines().nth(1).is_some_and(
            |line| line == "live        from the database: trunk health, blocks, calls"
        ),
        "{out}"
    );
}

/// An office whose main number rings the sales group in office hours and 203 otherwise.
const INBOUND: &str = r#"
[[inbound_route]]
name = "main"
dids = ["+441632960000"]
destination = "tc:office-hours"

[[time_condition]]
name = "office-hours"
open = ["mon-fri 09:00-17:30"]
holidays = ["12-25"]
when_open = "group:sales"
when_closed = "ext:203"

[[ring_group]]
name = "sales"
strategy = "hunt"
members = ["202", "201"]
"#;

fn inbound_site() -> Site {
    let site = Site::new();
    let mut config = std::fs::read_to_string(site.config()).expect("config read");
    config.push_str(INBOUND);
    if !config.contains("number = \"203\"") {
        config.push_str("\n[[extension]]\nnumber = \"203\"\nsecret = \"secret-203-long\"\n");
    }
    std::fs::write(site.config(), config).expect("config written");
    site
}

fn kinds_and_results(explanation: &Value) -> Vec<(String, String)> {
    explanation["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap_or_default().to_owned(),
                s["result"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_incoming_call_shows_its_path_through_the_time_condition_to_the_group() {
    let site = inbound_site();
    let out = site.explain(&[
        "--did",
        "01632 960000",
        "--caller",
        "+447700900123",
        "--at",
        "2026-11-20T10:00",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stdout_of(&out));
    let explanation: Value = serde_json::from_str(&stdout_of(&out)).expect("JSON");
    assert_eq!(explanation["route"], "main");
    assert_eq!(explanation["destination"], "group:sales");
    let steps = kinds_and_results(&explanation);
    let kinds: Vec<&str> = steps.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["route", "time_condition", "group"], "{steps:?}");
    assert!(steps[1].1.starts_with("open"), "{steps:?}");
    let members: Vec<&str> = explanation["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["member"].as_str())
        .collect();
    assert_eq!(members, ["ext:202", "ext:201"], "hunt: in the listed order");

    // Christmas Day: closed by the holiday, whatever the hour.
    let out = site.explain(&[
        "--did",
        "+441632960000",
        "--at",
        "2026-12-25T10:00",
        "--format",
        "json",
    ]);
    let explanation: Value = serde_json::from_str(&stdout_of(&out)).expect("JSON");
    assert_eq!(explanation["destination"], "ext:203");
    assert!(
        kinds_and_results(&explanation)[1].1.contains("holiday"),
        "{explanation}"
    );
}

#[test]
fn a_manual_override_in_the_database_closes_the_office_in_the_simulator_too() {
    let site = inbound_site();
    site.with_store(async |store| {
        store
            .set_time_condition_override("office-hours", Some(false), "test", FRIDAY_TEN)
            .await
            .expect("override stored");
    });
    let out = site.explain(&[
        "--did",
        "+441632960000",
        "--at",
        "2026-11-20T10:00",
        "--format",
        "json",
    ]);
    let explanation: Value = serde_json::from_str(&stdout_of(&out)).expect("JSON");
    assert_eq!(explanation["destination"], "ext:203", "{explanation}");
}
