//! Incoming calls on the command line — `crossbar report inbound`, `crossbar tc` and
//! `crossbar blocklist`: records, overrides and blocked callers written with crossbar-store
//! into the SQLite database a configuration file names, reported, listed and changed by the
//! binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use crossbar_cdr::{
    CallEvent, CallId, CallRecord, Direction, EndReason, EventKind, HangupSide, LegId, LegRole,
    Party, Recorder, RecorderOutput, Stage, StepKind,
};
use crossbar_store::Store;
use serde_json::{Value, json};

const CROSSBAR: &str = env!("CARGO_BIN_EXE_crossbar");

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const DID: &str = "+442079460000";

/// Folds a call's events (times relative to `start`) into its record.
fn fold(id: &str, start: i64, events: Vec<(i64, EventKind)>) -> CallRecord {
    let call = CallId(id.into());
    let mut recorder = Recorder::default();
    events
        .into_iter()
        .find_map(|(ms, kind)| {
            let event = CallEvent {
                call: call.clone(),
                at_ms: start + ms,
                kind,
            };
            match recorder.record(event) {
                Some(RecorderOutput::Finished(record)) => Some(*record),
                _ => None,
            }
        })
        .expect("the call ends")
}

fn started(direction: Direction, caller: &str, callee: &str, id: &str) -> EventKind {
    EventKind::Started {
        direction,
        caller: Party {
            number: caller.into(),
            name: None,
        },
        callee: Party {
            number: callee.into(),
            name: None,
        },
        sip_call_id: format!("sip-{id}"),
    }
}

fn from_trunk() -> EventKind {
    EventKind::Inbound {
        trunk: "carrier-a".into(),
        did: DID.into(),
        route: Some("main".into()),
        vip: false,
        language: None,
    }
}

fn answered_by(target: &str) -> [EventKind; 2] {
    [
        EventKind::LegCreated {
            leg: LegId(1),
            role: LegRole::Callee,
            target: target.into(),
            contact: None,
            trunk: None,
            rate: None,
        },
        EventKind::Answered { leg: LegId(1) },
    ]
}

fn caller_ends(answered: bool) -> EventKind {
    EventKind::Ended {
        reason: if answered {
            EndReason::Hangup
        } else {
            EndReason::CallerGaveUp
        },
        hangup_by: HangupSide::Caller,
        status: None,
    }
}

/// On 2026-11-21 (UTC): `a` from a trunk to the DID, group `sales` rings, 201 answers after
/// 10 s, ends at 09:02; `b` from a trunk to the DID at 10:00, abandoned in the menu after
/// 30 s; `c` internal 201 → 202 at 10:01, answered after 3 s, ends at 10:02.
fn records() -> Vec<CallRecord> {
    let [leg, answer] = answered_by("201");
    let [leg_c, answer_c] = answered_by("202");
    vec![
        fold(
            "a",
            NINE,
            vec![
                (0, started(Direction::Inbound, "+447700900123", DID, "a")),
                (0, from_trunk()),
                (
                    0,
                    EventKind::Step {
                        kind: StepKind::Group,
                        name: "sales".into(),
                        result: "ringing".into(),
                    },
                ),
                (
                    0,
                    EventKind::Stage {
                        stage: Stage::Ringing,
                    },
                ),
                (10 * SEC, leg),
                (10 * SEC, answer),
                (2 * MIN, caller_ends(true)),
            ],
        ),
        fold(
            "b",
            NINE + 60 * MIN,
            vec![
                (0, started(Direction::Inbound, "+447700900456", DID, "b")),
                (0, from_trunk()),
                (0, EventKind::Stage { stage: Stage::Ivr }),
                (30 * SEC, caller_ends(false)),
            ],
        ),
        fold(
            "c",
            NINE + 61 * MIN,
            vec![
                (0, started(Direction::Internal, "201", "202", "c")),
                (3 * SEC, leg_c),
                (3 * SEC, answer_c),
                (MIN, caller_ends(true)),
            ],
        ),
    ]
}

/// A directory with `crossbar.toml` — extension 201, `+44900*` on `[inbound] blocklist`,
/// time conditions `office-hours` and `lunch` — naming `crossbar.db` beside it, which holds
/// [`records`].
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = r#"
[database]
url = "sqlite://crossbar.db"

[[extension]]
number = "201"
secret = "secret-of-201"

[inbound]
blocklist = ["+44900*"]

[[time_condition]]
name = "office-hours"
open = ["mon-fri 09:00-17:30"]
when_open = "ext:201"
when_closed = "hangup"

[[time_condition]]
name = "lunch"
open = ["mon-fri 12:00-13:00"]
when_open = "hangup"
when_closed = "ext:201"
"#;
        std::fs::write(dir.path().join("crossbar.toml"), config).expect("config written");
        let site = Site { dir };
        site.with_store(async |store| {
            for record in records() {
                store.call_finished(&record).await.expect("record stored");
            }
        });
        site
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("crossbar.toml")
    }

    /// Runs `work` on the site's database.
    fn with_store<T>(&self, work: impl AsyncFnOnce(&Store) -> T) -> T {
        let url = format!("sqlite://{}", self.dir.path().join("crossbar.db").display());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async {
                let store = Store::open(&url).await.expect("the database opens");
                let result = work(&store).await;
                store.close().await;
                result
            })
    }

    /// `crossbar ARGS... --config <this site's file>`, run as the OS user `alice`.
    fn crossbar(&self, args: &[&str]) -> Output {
        Command::new(CROSSBAR)
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env_remove("RUST_LOG")
            .env("USER", "alice")
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

/// The exit status and stderr of a command that failed, checking it printed nothing.
fn failure_of(out: &Output) -> (Option<i32>, String) {
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        out.status.code(),
        String::from_utf8(out.stderr.clone()).expect("UTF-8 output"),
    )
}

#[test]
fn report_inbound_gives_the_figures_of_the_calls_from_trunks() {
    let site = Site::new();
    let out = stdout_of(&site.crossbar(&[
        "report",
        "inbound",
        "--since",
        "2026-11-21",
        "--until",
        "2026-11-21",
        "--by",
        "group",
    ]));
    // a and b came from a trunk (c is internal): a answered after 10 s, b abandoned in the
    // menu after 30 s (not a short abandon); 1 of 2 answered within 20 s.
    let expected = "\
Inbound calls from 2026-11-21 00:00:00 to 2026-11-22 00:00:00 (UTC), by group
GROUP       OFFERED  ANSWERED  MISSED  ABANDONED  SHORT    ASA  SERVICE LEVEL  PEAK HOUR        MAX CONCURRENT
sales             1         1       0          0      0  10.0s         100.0%  09:00-10:00 (1)               1
(no group)        1         0       1          1      0      -           0.0%  10:00-11:00 (1)               1
total             2         1       1          1      0  10.0s          50.0%  09:00-10:00 (1)               1

abandoned by stage: ringing 0, ivr 1, queue 0
service level: answered within 20 s of the calls offered less short abandons (given up within 5 s); times of day in UTC
";
    assert_eq!(out, expected);

    let out = stdout_of(&site.crossbar(&["report", "inbound", "--format", "csv"]));
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].starts_with(
            "by,key,offered,answered,missed,abandoned,abandoned_ringing,abandoned_ivr,\
             abandoned_queue,short_abandons,asa_secs,queued,avg_queue_wait_secs,\
             answered_within,service_level,peak_hour,peak_hour_offered,max_concurrent,\
             offered_00,"
        ),
        "{}",
        rows[0]
    );
    assert!(
        rows[1]
            .starts_with("total,,2,1,1,1,0,1,0,0,10.0,0,,1,0.5000,9,1,1,0,0,0,0,0,0,0,0,0,1,1,0,"),
        "{}",
        rows[1]
    );
}

#[test]
fn report_inbound_received_as_json_is_the_api_report() {
    let site = Site::new();
    let out = stdout_of(&site.crossbar(&[
        "report",
        "inbound",
        "--received",
        "--by",
        "did",
        "--service-level-secs",
        "5",
        "--format",
        "json",
    ]));
    let report: Value = serde_json::from_str(&out).expect("a JSON report");
    assert_eq!(
        (
            &report["received"],
            &report["by"],
            &report["service_level_secs"],
            &report["timezone"]
        ),
        (&json!(true), &json!("did"), &json!(5), &json!("UTC"))
    );
    let total = &report["total"];
    // c, internal, counts too: answered after 3 s, the only one within 5 s.
    assert_eq!(
        (
            &total["offered"],
            &total["answered"],
            &total["answered_within"]
        ),
        (&json!(3), &json!(2), &json!(1))
    );
    assert_eq!(total["asa_secs"], 6.5);
    let keys: Vec<&Value> = report["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| &g["key"])
        .collect();
    assert_eq!(keys, [&json!(DID), &Value::Null]);
}

#[test]
fn a_bad_report_inbound_option_exits_2_naming_it() {
    let site = Site::new();
    for (args, message) in [
        (
            &["--by", "trunk"][..],
            "crossbar report inbound: --by: `trunk` is not one of did, route, group\n",
        ),
        (
            &["--short-abandon-secs", "90000"][..],
            "crossbar report inbound: --short-abandon-secs: `90000` is not a whole number of \
             seconds from 0 to 86400\n",
        ),
    ] {
        let out = site.crossbar(&[&["report", "inbound"][..], args].concat());
        assert_eq!(failure_of(&out), (Some(2), message.to_owned()), "{args:?}");
    }
}

#[test]
fn tc_override_forces_a_time_condition_until_set_back_to_its_schedule() {
    let site = Site::new();
    let out = stdout_of(&site.crossbar(&["tc", "list"]));
    assert_eq!(
        out,
        "\
TIME CONDITION  MODE      OVERRIDE
office-hours    schedule  -
lunch           schedule  -
2 time conditions, 0 overridden
"
    );

    let out = stdout_of(&site.crossbar(&["tc", "override", "office-hours", "closed"]));
    assert_eq!(
        out,
        "office-hours: forced closed (was: no override)\n\
         a running crossbar applies it to incoming calls within 2 seconds\n"
    );
    let stored = site.with_store(async |store| {
        store
            .time_condition_overrides()
            .await
            .expect("overrides read")
    });
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0].name.as_str(),
            stored[0].open,
            stored[0].set_by.as_str()
        ),
        ("office-hours", false, "cli:alice")
    );
    let set_at = stored[0].set_at_ms;

    let out = stdout_of(&site.crossbar(&["tc", "list", "--format", "json"]));
    let listed: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        listed,
        json!([
            {
                "name": "office-hours",
                "mode": "closed",
                "override": { "forced": "closed", "set_at_ms": set_at, "set_by": "cli:alice" },
            },
            { "name": "lunch", "mode": "schedule", "override": null },
        ])
    );

    let out = stdout_of(&site.crossbar(&["tc", "override", "office-hours", "schedule"]));
    assert!(
        out.starts_with("office-hours: follows its schedule (was: forced closed since "),
        "{out}"
    );
    assert!(
        out.ends_with(
            " by cli:alice)\na running crossbar applies it to incoming calls within 2 seconds\n"
        ),
        "{out}"
    );
    assert!(site.with_store(async |store| {
        store
            .time_condition_overrides()
            .await
            .expect("overrides read")
            .is_empty()
    }));
}

#[test]
fn tc_override_of_an_unknown_time_condition_exits_2_and_changes_nothing() {
    let site = Site::new();
    let out = site.crossbar(&["tc", "override", "night", "open"]);
    assert_eq!(
        failure_of(&out),
        (
            Some(2),
            format!(
                "crossbar tc override: night is not a time condition of {} (it has \
                 office-hours, lunch); nothing changed\n",
                site.config().display()
            )
        )
    );
    let out = site.crossbar(&["tc", "override", "lunch", "shut"]);
    let (code, stderr) = failure_of(&out);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("invalid value 'shut'"), "{stderr}");
    assert!(site.with_store(async |store| {
        store
            .time_condition_overrides()
            .await
            .expect("overrides read")
            .is_empty()
    }));
}

#[test]
fn blocklist_patterns_are_added_listed_and_removed() {
    let site = Site::new();
    let out = stdout_of(&site.crossbar(&[
        "blocklist",
        "add",
        "+447700900123",
        "--note",
        "calls every night",
    ]));
    assert_eq!(
        out,
        "blocked callers matching +447700900123\n\
         a running crossbar refuses them within 2 seconds\n"
    );
    stdout_of(&site.crossbar(&["blocklist", "add", " +4416329600* "]));

    let out = site.crossbar(&["blocklist", "add", "+447700900123"]);
    let (code, stderr) = failure_of(&out);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with(
            "crossbar blocklist add: +447700900123 is already in the blocklist (added "
        ),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(" by cli:alice); nothing added\n"),
        "{stderr}"
    );

    let out = stdout_of(&site.crossbar(&["blocklist", "list", "--format", "json"]));
    let listed: Vec<Value> = serde_json::from_str(&out).expect("a JSON array");
    let summary: Vec<(&Value, &Value, &Value, &Value)> = listed
        .iter()
        .map(|e| (&e["pattern"], &e["source"], &e["added_by"], &e["note"]))
        .collect();
    assert_eq!(
        summary,
        [
            (
                &json!("+44900*"),
                &json!("configuration"),
                &Value::Null,
                &Value::Null
            ),
            (
                &json!("+4416329600*"),
                &json!("database"),
                &json!("cli:alice"),
                &Value::Null
            ),
            (
                &json!("+447700900123"),
                &json!("database"),
                &json!("cli:alice"),
                &json!("calls every night")
            ),
        ]
    );
    let out = stdout_of(&site.crossbar(&["blocklist", "list"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[0].starts_with("PATTERN        SOURCE         ADDED"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("+44900*        configuration  -"),
        "{out}"
    );
    assert!(
        lines[3].ends_with("  cli:alice  calls every night"),
        "{out}"
    );
    assert_eq!(lines[4], "3 patterns");

    let out = stdout_of(&site.crossbar(&["blocklist", "remove", "+447700900123"]));
    assert!(
        out.starts_with("removed +447700900123 from the blocklist (added "),
        "{out}"
    );
    assert!(
        out.ends_with(
            " by cli:alice)\na running crossbar lets them call in again within 2 seconds\n"
        ),
        "{out}"
    );
    let stored = site.with_store(async |store| store.blocked_callers().await.expect("read"));
    let stored: Vec<String> = stored.iter().map(|b| b.pattern.to_string()).collect();
    assert_eq!(stored, ["+4416329600*"]);
}

#[test]
fn blocklist_changes_that_cannot_be_made_say_why() {
    let site = Site::new();
    let config = site.config().display().to_string();
    for (args, code, message) in [
        (
            &["blocklist", "remove", "+447700900123"][..],
            1,
            "crossbar blocklist remove: +447700900123 is not in the blocklist; nothing removed\n"
                .to_owned(),
        ),
        (
            &["blocklist", "remove", "+44900*"][..],
            1,
            format!(
                "crossbar blocklist remove: +44900* is in [inbound] blocklist of {config}: \
                 remove it there\n"
            ),
        ),
        (
            &["blocklist", "add", "07700 900123"][..],
            2,
            "crossbar blocklist add: pattern: `07700 900123` is not a number pattern: it must \
             start with `+` and the country code; use an E.164 number (+442079460000), a \
             prefix ending in `*` (+4420794601*), or a range of numbers of the same length \
             (+442079460200-+442079460299)\n"
                .to_owned(),
        ),
    ] {
        let out = site.crossbar(args);
        assert_eq!(failure_of(&out), (Some(code), message), "{args:?}");
    }
    assert!(
        site.with_store(async |store| { store.blocked_callers().await.expect("read").is_empty() })
    );
}
