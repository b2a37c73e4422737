//! `crossbar calls`: records written with crossbar-store into the SQLite database a
//! configuration file names, listed by the binary as a table, CSV and JSON, with filters.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crossbar_cdr::{
    CallEvent, CallId, CallRecord, Direction, EndReason, EventKind, HangupSide, LegId, LegRole,
    Party, Recorder, RecorderOutput,
};
use crossbar_store::Store;

const CROSSBAR: &str = env!("CARGO_BIN_EXE_crossbar");

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const HOUR: i64 = 3_600_000;

fn party(number: &str, name: Option<&str>) -> Party {
    Party {
        number: number.into(),
        name: name.map(str::to_owned),
    }
}

/// Folds a call's events (times relative to `start`) into its record.
fn fold(
    id: &str,
    direction: Direction,
    caller: Party,
    callee: &str,
    start: i64,
    events: Vec<(i64, EventKind)>,
) -> CallRecord {
    let call = CallId(id.into());
    let started = EventKind::Started {
        direction,
        caller,
        callee: party(callee, None),
        sip_call_id: format!("sip-{id}"),
    };
    let mut recorder = Recorder::default();
    std::iter::once((0, started))
        .chain(events)
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

fn callee_leg(target: &str) -> EventKind {
    EventKind::LegCreated {
        leg: LegId(1),
        role: LegRole::Callee,
        target: target.into(),
        contact: None,
        trunk: None,
        rate: None,
    }
}

/// a: 201 → 202 answered (09:00Z); b: +44… → 201 cancelled (10:00Z); c: 201 → +44… denied
/// (11:00Z).
fn records() -> Vec<CallRecord> {
    let ended = |reason, hangup_by, status| EventKind::Ended {
        reason,
        hangup_by,
        status,
    };
    let ringing = EventKind::Ringing {
        leg: LegId(1),
        early_media: false,
    };
    vec![
        fold(
            "a",
            Direction::Internal,
            party("201", Some("Alice")),
            "202",
            NINE,
            vec![
                (10, callee_leg("202")),
                (1_000, ringing.clone()),
                (4_000, EventKind::Answered { leg: LegId(1) }),
                (64_000, ended(EndReason::Hangup, HangupSide::Callee, None)),
            ],
        ),
        fold(
            "b",
            Direction::Inbound,
            party("+442079460001", Some("Smith, \"Jo\"")),
            "201",
            NINE + HOUR,
            vec![
                (10, callee_leg("201")),
                (1_000, ringing),
                (
                    10_000,
                    ended(EndReason::CallerGaveUp, HangupSide::Caller, Some(487)),
                ),
            ],
        ),
        fold(
            "c",
            Direction::Outbound,
            party("201", Some("Alice")),
            "+441632960001",
            NINE + 2 * HOUR,
            vec![(
                20,
                ended(
                    EndReason::Denied {
                        reason: "class of service".into(),
                    },
                    HangupSide::System,
                    Some(403),
                ),
            )],
        ),
    ]
}

/// A directory with `crossbar.toml` (with `site` lines, if any) naming `calls.db` beside it,
/// the database holding [`records`].
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(site: &str) -> Site {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = format!("{site}\n[database]\nurl = \"sqlite://calls.db\"\n");
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

    fn calls(&self, args: &[&str]) -> Output {
        calls(&self.config(), args)
    }
}

fn calls(config: &Path, args: &[&str]) -> Output {
    Command::new(CROSSBAR)
        .arg("calls")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the crossbar binary runs")
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
fn the_table_lists_calls_newest_first_in_aligned_columns() {
    let site = Site::new("");
    let out = stdout_of(&site.calls(&[]));
    let expected = "\
STARTED              DIRECTION  CALL                 DISPOSITION                WAIT  TALK  HANGUP BY  SIP
2026-11-21 11:00:00  outbound   201 → +441632960001  denied (class of service)     -     -  system     403
2026-11-21 10:00:00  inbound    +442079460001 → 201  cancelled                     -     -  caller     487
2026-11-21 09:00:00  internal   201 → 202            answered                   0:04  1:00  callee     -
3 calls
";
    assert_eq!(out, expected);
}

#[test]
fn the_table_says_how_many_calls_a_page_shows_of_all() {
    let site = Site::new("");
    let out = stdout_of(&site.calls(&["--limit", "1", "--offset", "1"]));
    assert_eq!(
        out.lines().collect::<Vec<_>>()[1..],
        [
            "2026-11-21 10:00:00  inbound    +442079460001 → 201  cancelled       -     -  caller     487",
            "1 of 3 calls"
        ]
    );
    let out = stdout_of(&site.calls(&["--extension", "999"]));
    assert_eq!(out, "no calls\n");
}

#[test]
fn csv_has_a_header_row_and_one_row_per_call() {
    let site = Site::new("");
    let out = stdout_of(&site.calls(&["--format", "csv", "--received-by", "201"]));
    let expected = "\
id,started_at,answered_at,ended_at,direction,caller,caller_name,callee,callee_name,disposition,disposition_detail,sip_status,hangup_by,answered_by,wait_secs,ring_secs,talk_secs,hold_secs,queue_wait_secs,interrupted,dialled,normalized_number,destination_class,outbound_route,caller_id,trunk,trunk_attempts,pdd_ms,cost
b,2026-11-21T10:00:00+00:00,,2026-11-21T10:00:10+00:00,inbound,+442079460001,\"Smith, \"\"Jo\"\"\",201,,cancelled,,487,caller,,,9,0,0,0,false,,,,,,,,,
";
    assert_eq!(out, expected);

    let out = stdout_of(&site.calls(&["--format", "csv", "--placed-by", "201"]));
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert_eq!(
        rows[1],
        "c,2026-11-21T11:00:00+00:00,,2026-11-21T11:00:00+00:00,outbound,201,Alice,+441632960001,,\
         denied,class of service,403,system,,,0,0,0,0,false,,,,,,,,,"
    );
    assert_eq!(
        rows[2],
        "a,2026-11-21T09:00:00+00:00,2026-11-21T09:00:04+00:00,2026-11-21T09:01:04+00:00,\
         internal,201,Alice,202,,answered,,,callee,202,4,3,60,0,0,false,,,,,,,,,"
    );
}

#[test]
fn json_is_the_array_of_full_records() {
    let site = Site::new("");
    let out = stdout_of(&site.calls(&["--format", "json", "--disposition", "answered"]));
    let listed: Vec<CallRecord> = serde_json::from_str(&out).expect("a JSON array of records");
    let expected: Vec<CallRecord> = records().into_iter().filter(|r| r.id.0 == "a").collect();
    assert_eq!(listed, expected);

    let out = stdout_of(&site.calls(&[
        "--format",
        "json",
        "--direction",
        "internal",
        "--disposition",
        "busy",
    ]));
    assert_eq!(out, "[]\n");
}

#[test]
fn times_are_shown_and_read_in_the_site_time_zone() {
    let site = Site::new("[site]\ntimezone = \"America/New_York\"\n");
    // 2026-11-21 is EST (UTC−5): the calls started at 04:00, 05:00 and 06:00 local time.
    let out = stdout_of(&site.calls(&["--until", "2026-11-21T05:30"]));
    let started: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.get(..19).unwrap_or(l))
        .collect();
    assert_eq!(
        started,
        ["2026-11-21 05:00:00", "2026-11-21 04:00:00", "2 calls"]
    );
    let out = stdout_of(&site.calls(&["--since", "2026-11-21", "--until", "2026-11-21"]));
    assert!(out.ends_with("\n3 calls\n"), "{out}");
    let out = stdout_of(&site.calls(&["--since", "2026-11-22"]));
    assert_eq!(out, "no calls\n");
}

#[test]
fn a_bad_filter_exits_2_saying_what_is_wrong() {
    let site = Site::new("");
    for (args, message) in [
        (
            &["--direction", "sideways"][..],
            "crossbar calls: --direction: `sideways` is not one of inbound, outbound, internal\n",
        ),
        (
            &["--limit", "5000"][..],
            "crossbar calls: --limit: `5000` is not a whole number from 0 to 1000\n",
        ),
        (
            &["--since", "soon"][..],
            "crossbar calls: --since: `soon` is not a time: expected RFC 3339 \
             (2026-11-21T09:00:00Z), a local date and time (2026-11-21T09:00:00) or a date \
             (2026-11-21)\n",
        ),
    ] {
        let out = site.calls(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), message, "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_missing_database_exits_1_without_creating_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = dir.path().join("crossbar.toml");
    std::fs::write(&config, "[database]\nurl = \"sqlite://none.db\"\n").expect("config written");
    let out = calls(&config, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no database at"), "{stderr}");
    assert!(!dir.path().join("none.db").exists());
}
