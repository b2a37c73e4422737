//! Outbound calls on the command line — `crossbar report outbound`, and the outbound side of
//! `crossbar calls`: records written with crossbar-store into the SQLite database a
//! configuration file names, reported and listed by the binary as a table, CSV and JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

use crossbar_cdr::{
    CallEvent, CallId, CallRecord, DestinationClass, Direction, EndReason, EventKind, HangupSide,
    Increment, LegId, LegRole, Party, Rate, Recorder, RecorderOutput,
};
use crossbar_store::Store;
use serde_json::{Value, json};

const CROSSBAR: &str = env!("CARGO_BIN_EXE_crossbar");

/// 2026-11-22T09:00:00Z.
const NINE: i64 = 1_795_338_000_000;
const MINUTE: i64 = 60_000;

fn rate(per_minute: &str, fee: &str, increment: &str) -> Rate {
    Rate {
        per_minute: per_minute.parse().expect("amount"),
        connection_fee: fee.parse().expect("amount"),
        increment: increment.parse::<Increment>().expect("increment"),
    }
}

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

fn routed(dialled: &str, normalized: &str, class: DestinationClass) -> EventKind {
    EventKind::Routed {
        dialled: dialled.into(),
        normalized: normalized.into(),
        class,
        route: Some("default".into()),
        caller_id: Some("+442079460000".into()),
    }
}

fn trunk_leg(leg: u32, number: &str, trunk: &str, rate: Rate) -> EventKind {
    EventKind::LegCreated {
        leg: LegId(leg),
        role: LegRole::Callee,
        target: number.into(),
        contact: None,
        trunk: Some(trunk.into()),
        rate: Some(rate),
    }
}

fn ended(reason: EndReason, hangup_by: HangupSide, status: Option<u16>) -> EventKind {
    EventKind::Ended {
        reason,
        hangup_by,
        status,
    }
}

fn ringing(leg: u32) -> EventKind {
    EventKind::Ringing {
        leg: LegId(leg),
        early_media: false,
    }
}

/// On 2026-11-22 (UTC):
/// `o1` 201 → 01632960001 (national) through carrier-a, rings after 1 s, 90 s of talk at
/// 0.012/min + 0.05 billed 60/60: 0.074;
/// `o2` 201 → 07700900123 (mobile), carrier-a fails (503), carrier-b rings after 1 s, 30 s
/// of talk at 0.06/min billed 1/1: 0.03;
/// `o3` 202 → 01632960002 (national) through carrier-a, rings after 2 s, busy;
/// `o4` 202 → 0033142000000 (international), denied by class of service;
/// `i1` 201 → 202, an internal call.
fn records() -> Vec<CallRecord> {
    use DestinationClass::{International, Mobile, National};
    let a = rate("0.012", "0.05", "60/60");
    let b = rate("0.06", "0", "1/1");
    let hangup = || ended(EndReason::Hangup, HangupSide::Caller, None);
    vec![
        fold(
            "o1",
            NINE,
            vec![
                (0, started(Direction::Outbound, "201", "01632960001", "o1")),
                (5, routed("01632960001", "+441632960001", National)),
                (10, trunk_leg(1, "+441632960001", "carrier-a", a)),
                (1_010, ringing(1)),
                (4_000, EventKind::Answered { leg: LegId(1) }),
                (94_000, hangup()),
            ],
        ),
        fold(
            "o2",
            NINE + MINUTE,
            vec![
                (0, started(Direction::Outbound, "201", "07700900123", "o2")),
                (5, routed("07700900123", "+447700900123", Mobile)),
                (10, trunk_leg(1, "+447700900123", "carrier-a", a)),
                (
                    110,
                    EventKind::LegFailed {
                        leg: LegId(1),
                        status: 503,
                    },
                ),
                (110, trunk_leg(2, "+447700900123", "carrier-b", b)),
                (1_110, ringing(2)),
                (3_000, EventKind::Answered { leg: LegId(2) }),
                (33_000, hangup()),
            ],
        ),
        fold(
            "o3",
            NINE + 2 * MINUTE,
            vec![
                (0, started(Direction::Outbound, "202", "01632960002", "o3")),
                (5, routed("01632960002", "+441632960002", National)),
                (10, trunk_leg(1, "+441632960002", "carrier-a", a)),
                (2_010, ringing(1)),
                (
                    5_000,
                    EventKind::LegFailed {
                        leg: LegId(1),
                        status: 486,
                    },
                ),
                (
                    5_000,
                    ended(
                        EndReason::TargetsFailed { status: 486 },
                        HangupSide::Callee,
                        Some(486),
                    ),
                ),
            ],
        ),
        fold(
            "o4",
            NINE + 3 * MINUTE,
            vec![
                (
                    0,
                    started(Direction::Outbound, "202", "0033142000000", "o4"),
                ),
                (5, routed("0033142000000", "+33142000000", International)),
                (
                    6,
                    ended(
                        EndReason::Denied {
                            reason: "class local may not dial international".into(),
                        },
                        HangupSide::System,
                        Some(403),
                    ),
                ),
            ],
        ),
        fold(
            "i1",
            NINE + 4 * MINUTE,
            vec![
                (0, started(Direction::Internal, "201", "202", "i1")),
                (
                    10,
                    EventKind::LegCreated {
                        leg: LegId(1),
                        role: LegRole::Callee,
                        target: "202".into(),
                        contact: None,
                        trunk: None,
                        rate: None,
                    },
                ),
                (2_000, EventKind::Answered { leg: LegId(1) }),
                (12_000, hangup()),
            ],
        ),
    ]
}

/// A directory with `crossbar.toml` naming `calls.db` beside it, the database holding
/// [`records`].
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = "[database]\nurl = \"sqlite://calls.db\"\n";
        std::fs::write(dir.path().join("crossbar.toml"), config).expect("config written");
        let url = format!("sqlite://{}", dir.path().join("calls.db").display());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let store = Store::open(&url).await.expect("the database opens");
            for record in records() {
                store.call_finished(&record).await.expect("record stored");
            }
            store.close().await;
        });
        Site { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("crossbar.toml")
    }

    fn run(&self, command: &[&str], args: &[&str]) -> Output {
        Command::new(CROSSBAR)
            .args(command)
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .expect("the crossbar binary runs")
    }

    fn report(&self, args: &[&str]) -> String {
        stdout_of(&self.run(&["report", "outbound"], args))
    }

    fn calls(&self, args: &[&str]) -> String {
        stdout_of(&self.run(&["calls"], args))
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

#[test]
fn the_table_gives_the_outbound_figures_of_the_period() {
    let site = Site::new();
    let out = site.report(&["--since", "2026-11-22", "--until", "2026-11-22"]);
    // o1, o2 and o3 were offered to the network and o1 and o2 answered (ASR 2/3); talk
    // 90 + 30 s; PDD (1 + 1.1 + 2 s) / 3; o2 failed over once; o4 was denied.
    let expected = "\
Outbound calls from 2026-11-22 00:00:00 to 2026-11-23 00:00:00 (UTC)
       ATTEMPTS  CONNECTED    ASR   ACD   PDD  MINUTES    COST  FAILOVERS  FAILURES  UNROUTED  DENIED
total         3          2  66.7%  1:00  1.4s      2.0  0.1040          1         0         0       1

cost by destination class: national 0.0740, mobile 0.0300
denied by reason: class local may not dial international: 1
";
    assert_eq!(out, expected);
    let out = site.report(&["--since", "2026-11-23"]);
    assert_eq!(
        out,
        "\
Outbound calls since 2026-11-23 00:00:00 (UTC)
       ATTEMPTS  CONNECTED  ASR  ACD  PDD  MINUTES    COST  FAILOVERS  FAILURES  UNROUTED  DENIED
total         0          0    -    -    -      0.0  0.0000          0         0         0       0
"
    );
}

#[test]
fn by_trunk_each_trunk_leg_is_an_attempt_of_its_trunk() {
    let site = Site::new();
    let out = site.report(&["--by", "trunk"]);
    // carrier-a: o1 answered, o2's first leg failed (503) and failed over, o3 was busy (the
    // callee's doing, not a trunk failure).
    let expected = "\
Outbound calls (all stored), by trunk
TRUNK       ATTEMPTS  CONNECTED     ASR   ACD   PDD  MINUTES    COST  FAILOVERS  FAILURES  UNROUTED  DENIED
carrier-a          3          1   33.3%  1:30  1.5s      1.5  0.0740          1         1         0       0
carrier-b          1          1  100.0%  0:30  1.0s      0.5  0.0300          0         0         0       0
(no trunk)         0          0       -     -     -      0.0  0.0000          0         0         0       1
total              3          2   66.7%  1:00  1.4s      2.0  0.1040          1         0         0       1

cost by destination class: national 0.0740, mobile 0.0300
denied by reason: class local may not dial international: 1
";
    assert_eq!(out, expected);
}

#[test]
fn json_is_the_report_the_api_gives() {
    let site = Site::new();
    let out = site.report(&["--by", "extension", "--format", "json"]);
    let report: Value = serde_json::from_str(&out).expect("a JSON report");
    assert_eq!(
        report["period"],
        json!({ "since_ms": null, "until_ms": null })
    );
    assert_eq!(report["by"], "extension");
    assert_eq!(
        report["total"],
        json!({
            "attempts": 3,
            "connected": 2,
            "asr": 2.0 / 3.0,
            "acd_secs": 60.0,
            "avg_pdd_ms": 4_100.0 / 3.0,
            "talk_secs": 120,
            "minutes": 2.0,
            "cost_micros": 104_000,
            "cost_micros_by_class": { "national": 74_000, "mobile": 30_000 },
            "failovers": 1,
            "failures": 0,
            "unrouted": 0,
            "denied": 1,
            "denied_by_reason": { "class local may not dial international": 1 }
        })
    );
    let groups = report["groups"].as_array().expect("groups");
    let rows: Vec<(&Value, &Value, &Value, &Value, &Value)> = groups
        .iter()
        .map(|g| {
            (
                &g["key"],
                &g["attempts"],
                &g["asr"],
                &g["avg_pdd_ms"],
                &g["denied"],
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                &json!("201"),
                &json!(2),
                &json!(1.0),
                &json!(1_050.0),
                &json!(0)
            ),
            (
                &json!("202"),
                &json!(1),
                &json!(0.0),
                &json!(2_000.0),
                &json!(1)
            ),
        ]
    );
}

#[test]
fn csv_has_a_row_per_group_and_one_for_the_total() {
    let site = Site::new();
    let out = site.report(&["--by", "class", "--format", "csv"]);
    let expected = "\
by,key,attempts,connected,asr,acd_secs,avg_pdd_ms,talk_secs,minutes,cost,failovers,failures,unrouted,denied,cost_emergency,cost_internal,cost_local,cost_national,cost_mobile,cost_toll_free,cost_premium,cost_international,denied_by_reason
class,international,0,0,,,,0,0.00,0.0000,0,0,0,1,,,,,,,,,class local may not dial international: 1
class,mobile,1,1,1.0000,30.0,1100,30,0.50,0.0300,1,0,0,0,,,,,0.0300,,,,
class,national,2,1,0.5000,90.0,1500,90,1.50,0.0740,0,0,0,0,,,,0.0740,,,,,
total,,3,2,0.6667,60.0,1367,120,2.00,0.1040,1,0,0,1,,,,0.0740,0.0300,,,,class local may not dial international: 1
";
    assert_eq!(out, expected);
}

#[test]
fn a_bad_parameter_exits_2_saying_what_is_wrong() {
    let site = Site::new();
    let out = site.run(&["report", "outbound"], &["--by", "route"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "crossbar report outbound: --by: `route` is not one of extension, trunk, class\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn calls_show_the_number_class_trunk_and_cost_of_outbound_calls() {
    let site = Site::new();
    let out = site.calls(&["--trunk", "carrier-a"]);
    let expected = "\
STARTED              DIRECTION  CALL               DISPOSITION  WAIT  TALK  HANGUP BY  SIP  NUMBER         CLASS     TRUNK        COST
2026-11-22 09:02:00  outbound   202 → 01632960002  busy            -     -  callee     486  +441632960002  national  carrier-a  0.0000
2026-11-22 09:00:00  outbound   201 → 01632960001  answered     0:04  1:30  caller     -    +441632960001  national  carrier-a  0.0740
2 calls
";
    assert_eq!(out, expected);
    // A page without outbound calls keeps to the columns every call has.
    let out = site.calls(&["--direction", "internal"]);
    assert!(
        out.starts_with(
            "STARTED              DIRECTION  CALL       DISPOSITION  WAIT  TALK  HANGUP BY  SIP\n"
        ),
        "{out}"
    );

    let out = site.calls(&["--class", "mobile", "--format", "csv"]);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows[0].ends_with(
            ",interrupted,dialled,normalized_number,destination_class,outbound_route,caller_id,\
             trunk,trunk_attempts,pdd_ms,cost"
        ),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].ends_with(
            ",false,07700900123,+447700900123,mobile,default,+442079460000,carrier-b,2,1100,0.0300"
        ),
        "{}",
        rows[1]
    );

    let out = site.calls(&["--class", "international", "--format", "json"]);
    let listed: Vec<CallRecord> = serde_json::from_str(&out).expect("a JSON array of records");
    let expected: Vec<CallRecord> = records().into_iter().filter(|r| r.id.0 == "o4").collect();
    assert_eq!(listed, expected);

    let out = site.run(&["calls"], &["--class", "landline"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("crossbar calls: --class: `landline` is not one of emergency, "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
