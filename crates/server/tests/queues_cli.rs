//! Queues on the command line — `crossbar report queues`, `crossbar callbacks` and
//! `crossbar agent list`: records and agent updates written with crossbar-store into the
//! SQLite database a configuration file names, reported, listed and changed by the binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use crossbar_cdr::{
    AgentEvent, AgentEventKind, CallEvent, CallId, CallRecord, Direction, EndReason, EventKind,
    HangupSide, LegId, LegRole, Party, QueueOutcome, Recorder, RecorderOutput, Stage,
};
use crossbar_store::{AgentChange, AgentMembership, AgentPause, AgentUpdate, Store};
use serde_json::{Value, json};

const CROSSBAR: &str = env!("CARGO_BIN_EXE_crossbar");

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DID: &str = "+442079460000";
const CUSTOMER: &str = "+447700900123";
const OTHER: &str = "+447700900456";

/// A call from `caller` through a trunk that waits in `support` from its start: answered by
/// `agent` after `answer_secs`, or given up; ends after `end_secs`.
fn queued(
    id: &str,
    caller: &str,
    start: i64,
    agent: Option<(&str, i64)>,
    end_secs: i64,
) -> CallRecord {
    let call = CallId(id.into());
    let at = |ms: i64, kind: EventKind| CallEvent {
        call: call.clone(),
        at_ms: start + ms,
        kind,
    };
    let mut events = vec![
        at(
            0,
            EventKind::Started {
                direction: Direction::Inbound,
                caller: Party {
                    number: caller.into(),
                    name: None,
                },
                callee: Party {
                    number: DID.into(),
                    name: None,
                },
                sip_call_id: format!("sip-{id}"),
            },
        ),
        at(
            0,
            EventKind::Inbound {
                trunk: "carrier-a".into(),
                did: DID.into(),
                route: Some("main".into()),
                vip: false,
                language: None,
            },
        ),
        at(
            0,
            EventKind::Stage {
                stage: Stage::Queue,
            },
        ),
        at(
            0,
            EventKind::QueueJoined {
                queue: "support".into(),
                position: 1,
            },
        ),
    ];
    if let Some((agent, secs)) = agent {
        events.extend([
            at(
                secs * SEC,
                EventKind::QueueOffered {
                    queue: "support".into(),
                    agent: agent.into(),
                },
            ),
            at(
                secs * SEC,
                EventKind::LegCreated {
                    leg: LegId(1),
                    role: LegRole::Callee,
                    target: agent.into(),
                    contact: None,
                    trunk: None,
                    rate: None,
                },
            ),
            at(
                secs * SEC,
                EventKind::QueueLeft {
                    queue: "support".into(),
                    outcome: QueueOutcome::Answered,
                    agent: Some(agent.into()),
                },
            ),
            at(secs * SEC, EventKind::Answered { leg: LegId(1) }),
        ]);
    }
    events.push(at(
        end_secs * SEC,
        EventKind::Ended {
            reason: EndReason::Hangup,
            hangup_by: HangupSide::Caller,
            status: None,
        },
    ));
    let mut recorder = Recorder::default();
    events
        .into_iter()
        .find_map(|e| match recorder.record(e) {
            Some(RecorderOutput::Finished(record)) => Some(*record),
            _ => None,
        })
        .expect("the call ends")
}

/// c1 answered by 201 after 12 s (talk 108 s); c2 from the customer given up after 40 s; c3
/// from another number given up after 3 s (short); at 10:00 the customer calls again and 201
/// answers: the customer's callback task completes, the other's stays open.
fn records() -> Vec<CallRecord> {
    vec![
        queued("c1", "+447700900001", NINE, Some(("201", 12)), 120),
        queued("c2", CUSTOMER, NINE + 5 * MIN, None, 40),
        queued("c3", OTHER, NINE + 6 * MIN, None, 3),
        queued("c5", CUSTOMER, NINE + HOUR, Some(("201", 5)), 60),
    ]
}

/// 201 logged in to support at 08:00 and paused for lunch at 09:30.
fn agent_updates() -> Vec<AgentUpdate> {
    vec![
        AgentUpdate {
            event: AgentEvent {
                at_ms: NINE - HOUR,
                agent: "201".into(),
                queue: Some("support".into()),
                kind: AgentEventKind::Login,
                call: None,
            },
            changes: vec![AgentChange::Member(AgentMembership {
                agent: "201".into(),
                queue: "support".into(),
                static_member: true,
                penalty: 0,
                logged_in: true,
                since_ms: NINE - HOUR,
            })],
        },
        AgentUpdate {
            event: AgentEvent {
                at_ms: NINE + 30 * MIN,
                agent: "201".into(),
                queue: None,
                kind: AgentEventKind::Pause {
                    reason: Some("lunch".into()),
                },
                call: None,
            },
            changes: vec![AgentChange::Paused(AgentPause {
                agent: "201".into(),
                reason: Some("lunch".into()),
                since_ms: NINE + 30 * MIN,
            })],
        },
    ]
}

/// A directory with `crossbar.toml` — extensions 201 and 202, queue `support` (201, and 202
/// with penalty 1; T = 30 s) — naming `crossbar.db` beside it, which holds [`records`] and
/// [`agent_updates`].
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

[[extension]]
number = "202"
secret = "secret-of-202"

[[queue]]
name = "support"
members = ["201", { extension = "202", penalty = 1 }]
service_level_secs = 30
"#;
        std::fs::write(dir.path().join("crossbar.toml"), config).expect("config written");
        let site = Site { dir };
        site.with_store(async |store| {
            for record in records() {
                store.call_finished(&record).await.expect("record stored");
            }
            store
                .apply_agent_updates(&agent_updates())
                .await
                .expect("agents stored");
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

const PERIOD: [&str; 4] = [
    "--since",
    "2026-11-21T09:00:00Z",
    "--until",
    "2026-11-21T10:00:00Z",
];

#[test]
fn report_queues_gives_each_queue_its_agents_and_the_callbacks() {
    let site = Site::new();
    let mut args = vec!["report", "queues"];
    args.extend(PERIOD);
    let out = stdout_of(&site.crossbar(&args));
    // c1 answered after 12 s (within T = 30 s); c2 given up after 40 s; c3 after 3 s, a
    // short abandon: 1 of (3 − 1). 201 was logged in the whole hour, paused the last half,
    // and talked 108 s: 108 / 1,800. The customer's miss (c2 ended 09:05:40) was answered
    // again at 10:00:05.
    let expected = "\
Queue calls from 2026-11-21 09:00:00 to 2026-11-21 10:00:00 (UTC)
QUEUE    OFFERED  ANSWERED  ABANDONED  SHORT    ASA  AVG WAIT  MAX WAIT    T  SERVICE LEVEL  OVERFLOWED  CALLBACKS
support        3         1          2      1  12.0s     18.3s     40.0s  30s          50.0%           0          0
total          3         1          2      1  12.0s     18.3s     40.0s               50.0%           0          0
overflowed: timeout 0, full 0, empty 0, breakout 0

AGENT  OFFERS  ANSWERED  MISSED  TALK  WRAP-UP    LOGIN  PAUSE  OCCUPANCY
201         0         0       0  1:48     0:00  1:00:00  30:00       6.0%
pause by reason: 201 (lunch 30:00)

callbacks: opened 2, completed 1 (50.0%), open 1, cancelled 0, unreached 0; time to callback: mean 54:25, 90th percentile 54:25
service level: answered within the queue's T of the calls offered less short abandons (given up within 5 s of joining); occupancy: talk / (login - pause)
";
    assert_eq!(out, expected);
}

#[test]
fn report_queues_as_json_is_the_api_report_and_as_csv_three_tables() {
    let site = Site::new();
    let mut args = vec!["report", "queues", "--queue", "support", "--format", "json"];
    args.extend(PERIOD);
    let report: Value =
        serde_json::from_str(&stdout_of(&site.crossbar(&args))).expect("a JSON report");
    assert_eq!(report["queue"], "support");
    assert_eq!(report["queues"][0]["service_level_secs"], 30);
    assert_eq!(report["total"]["service_level"], 0.5);
    assert_eq!(
        report["agents"][0]["pause_secs_by_reason"],
        json!({ "lunch": 1_800 })
    );
    assert_eq!(report["callbacks"]["mean_secs_to_callback"], 3_265.0);

    let mut args = vec![
        "report",
        "queues",
        "--format",
        "csv",
        "--short-abandon-secs",
        "2",
    ];
    args.extend(PERIOD);
    let out = stdout_of(&site.crossbar(&args));
    let blocks: Vec<&str> = out.split("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{out}");
    assert_eq!(
        blocks[0],
        "queue,service_level_secs,offered,answered,abandoned,short_abandons,asa_secs,joined,\
         avg_wait_secs,max_wait_secs,answered_within,service_level,overflowed_timeout,\
         overflowed_full,overflowed_empty,overflowed_breakout,callbacks_taken\n\
         support,30,3,1,2,0,12.0,3,18.3,40.0,1,0.3333,0,0,0,0,0\n\
         total,,3,1,2,0,12.0,3,18.3,40.0,1,0.3333,0,0,0,0,0"
    );
    assert_eq!(
        blocks[1],
        "agent,offers,answered,missed,talk_secs,wrap_up_secs,login_secs,pause_secs,occupancy,\
         pause_by_reason\n201,0,0,0,108,0,3600,1800,0.0600,lunch: 1800"
    );
    assert_eq!(
        blocks[2],
        "opened,completed,open,cancelled,unreached,completion_rate,mean_secs_to_callback,\
         p90_secs_to_callback\n2,1,1,0,0,0.5000,3265.0,3265.0\n"
    );
}

#[test]
fn a_bad_report_option_exits_2_naming_it() {
    let site = Site::new();
    let (code, stderr) = failure_of(&site.crossbar(&[
        "report",
        "queues",
        "--since",
        "2026-11-22",
        "--until",
        "2026-11-20",
    ]));
    assert_eq!(code, Some(2));
    assert_eq!(stderr, "crossbar report queues: --since: is after until\n");
}

#[test]
fn callbacks_list_shows_the_open_tasks_and_assign_and_cancel_change_them() {
    let site = Site::new();
    let out = stdout_of(&site.crossbar(&["callbacks", "list"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("ID  NUMBER         STATE  FIRST MISSED         MISSES  QUEUE"),
        "{out}"
    );
    assert!(
        lines[1].contains(OTHER) && lines[1].contains("2026-11-21 09:06:03"),
        "{out}"
    );
    assert_eq!(lines[2], "1 task");

    let tasks: Value = serde_json::from_str(&stdout_of(&site.crossbar(&[
        "callbacks",
        "list",
        "--state",
        "all",
        "--format",
        "json",
    ])))
    .expect("JSON tasks");
    let summary: Vec<(&str, &str)> = tasks
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| {
            (
                t["number"].as_str().unwrap_or_default(),
                t["state"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(summary, [(OTHER, "open"), (CUSTOMER, "completed")]);
    let open_id = tasks[0]["id"].as_i64().expect("an id").to_string();
    let done_id = tasks[1]["id"].as_i64().expect("an id").to_string();

    let out = stdout_of(&site.crossbar(&["callbacks", "assign", &open_id, "--agent", "202"]));
    assert_eq!(
        out,
        format!("assigned callback task {open_id} ({OTHER}, open): agent 202\n")
    );
    let csv =
        stdout_of(&site.crossbar(&["callbacks", "list", "--agent", "202", "--format", "csv"]));
    assert!(
        csv.lines().nth(1).is_some_and(|row| row.contains(",202,,")),
        "{csv}"
    );

    let (code, stderr) =
        failure_of(&site.crossbar(&["callbacks", "assign", &open_id, "--agent", "999"]));
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "crossbar callbacks assign: --agent: 999 is not an extension of the configuration\n"
    );
    let (code, stderr) = failure_of(&site.crossbar(&["callbacks", "assign", &open_id]));
    assert_eq!(code, Some(2), "{stderr}");

    let out = stdout_of(&site.crossbar(&["callbacks", "cancel", &open_id]));
    assert_eq!(
        out,
        format!("cancelled callback task {open_id} ({OTHER}, cancelled): agent 202\n")
    );
    let (code, stderr) = failure_of(&site.crossbar(&["callbacks", "cancel", &done_id]));
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr,
        format!(
            "crossbar callbacks cancel: callback task {done_id} is completed: only an open task \
             can be changed\n"
        )
    );
    let (code, _) = failure_of(&site.crossbar(&["callbacks", "cancel", "999"]));
    assert_eq!(code, Some(1));
    let cancelled = site.with_store(async |store| {
        store
            .callback_tasks(
                &crossbar_store::CallbackFilter::default(),
                crossbar_store::Page::default(),
            )
            .await
            .expect("the tasks are readable")
    });
    assert_eq!(cancelled[0].closed_by.as_deref(), Some("cli:alice"));
    assert_eq!(
        stdout_of(&site.crossbar(&["callbacks", "list"])),
        "no callback task\n"
    );
    let (code, stderr) = failure_of(&site.crossbar(&["callbacks", "list", "--state", "done"]));
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "crossbar callbacks list: --state: `done` is not one of open, completed, cancelled, \
         unreached, all\n"
    );
}

#[test]
fn agent_list_shows_the_configured_members_with_their_stored_state() {
    let site = Site::new();
    let out = stdout_of(&site.crossbar(&["agent", "list"]));
    let expected = "\
AGENT  QUEUE    MEMBER  PENALTY  STATE       SINCE                PAUSED
201    support  static        0  logged in   2026-11-21 08:00:00  lunch since 2026-11-21 09:30:00
202    support  static        1  logged out  -                    -
";
    assert_eq!(out, expected);
    let agents: Value = serde_json::from_str(&stdout_of(
        &site.crossbar(&["agent", "list", "--format", "json"]),
    ))
    .expect("JSON agents");
    assert_eq!(agents[0]["pause_reason"], "lunch");
    assert_eq!(agents[1]["since_ms"], Value::Null);
}
