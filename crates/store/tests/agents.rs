//! Queue agents in the store, specified once and run against both backends: their state with
//! the event that changed it, the agent event log, and where round-robin queues start.

#[macro_use]
mod common;

use common::TestDb;
use crossbar_cdr::metrics::Period;
use crossbar_cdr::{AgentEvent, AgentEventKind, CallId};
use crossbar_store::{
    AgentChange, AgentMembership, AgentPause, AgentStates, AgentUpdate, QueuePosition, StoreError,
};

on_both_backends!(
    each_event_is_written_with_the_state_it_changed_and_survives_a_restart,
    a_rejected_update_rolls_back_the_whole_batch,
    the_log_of_a_period_is_read_in_order_for_every_agent_or_one,
    a_report_reads_what_each_agent_was_when_its_period_began,
    queue_positions_are_remembered_across_restarts,
);

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn event(at_ms: i64, agent: &str, queue: Option<&str>, kind: AgentEventKind) -> AgentEvent {
    AgentEvent {
        at_ms,
        agent: agent.into(),
        queue: queue.map(str::to_owned),
        kind,
        call: None,
    }
}

fn member(
    agent: &str,
    queue: &str,
    static_member: bool,
    penalty: u32,
    logged_in: bool,
    since_ms: i64,
) -> AgentMembership {
    AgentMembership {
        agent: agent.into(),
        queue: queue.into(),
        static_member,
        penalty,
        logged_in,
        since_ms,
    }
}

/// `agent` logs in to `queue` at `at_ms`, as a static member or a dynamic one.
fn login(at_ms: i64, agent: &str, queue: &str, static_member: bool, penalty: u32) -> AgentUpdate {
    AgentUpdate {
        event: event(at_ms, agent, Some(queue), AgentEventKind::Login),
        changes: vec![AgentChange::Member(member(
            agent,
            queue,
            static_member,
            penalty,
            true,
            at_ms,
        ))],
    }
}

fn pause(at_ms: i64, agent: &str, reason: Option<&str>) -> AgentUpdate {
    let reason = reason.map(str::to_owned);
    AgentUpdate {
        event: event(
            at_ms,
            agent,
            None,
            AgentEventKind::Pause {
                reason: reason.clone(),
            },
        ),
        changes: vec![AgentChange::Paused(AgentPause {
            agent: agent.into(),
            reason,
            since_ms: at_ms,
        })],
    }
}

async fn each_event_is_written_with_the_state_it_changed_and_survives_a_restart(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.agent_states().await.unwrap(), AgentStates::default());
    store
        .apply_agent_updates(&[
            login(NINE, "201", "support", true, 0),
            login(NINE, "201", "sales", true, 1),
            login(NINE + MIN, "205", "support", false, 2),
            pause(NINE + 2 * MIN, "201", Some("lunch")),
        ])
        .await
        .unwrap();
    let states = store.agent_states().await.unwrap();
    assert_eq!(
        states.members,
        [
            member("201", "sales", true, 1, true, NINE),
            member("201", "support", true, 0, true, NINE),
            member("205", "support", false, 2, true, NINE + MIN),
        ],
        "by agent, then queue"
    );
    let lunch = AgentPause {
        agent: "201".into(),
        reason: Some("lunch".into()),
        since_ms: NINE + 2 * MIN,
    };
    assert_eq!(states.pauses, std::slice::from_ref(&lunch));
    assert_eq!(states.pause_of("201"), Some(&lunch));
    assert_eq!(states.pause_of("205"), None);

    // A restart reads the same state.
    store.close().await;
    let store = db.open().await;
    assert_eq!(store.agent_states().await.unwrap(), states);

    // The dynamic member logs out (its row goes), the static one too (its row stays, logged
    // out), and the pause ends.
    let at = NINE + HOUR;
    store
        .apply_agent_updates(&[
            AgentUpdate {
                event: event(at, "205", Some("support"), AgentEventKind::Logout),
                changes: vec![AgentChange::Left {
                    agent: "205".into(),
                    queue: "support".into(),
                }],
            },
            AgentUpdate {
                event: event(at, "201", None, AgentEventKind::Unpause),
                changes: vec![AgentChange::Unpaused {
                    agent: "201".into(),
                }],
            },
            AgentUpdate {
                event: event(at, "201", Some("sales"), AgentEventKind::Logout),
                changes: vec![AgentChange::Member(member(
                    "201", "sales", true, 1, false, at,
                ))],
            },
        ])
        .await
        .unwrap();
    let states = store.agent_states().await.unwrap();
    assert_eq!(
        states.members,
        [
            member("201", "sales", true, 1, false, at),
            member("201", "support", true, 0, true, NINE),
        ]
    );
    assert!(states.pauses.is_empty());
    // Every update left its event.
    let log = store.agent_events(Period::ALL, None).await.unwrap();
    assert_eq!(log.len(), 7);
    assert_eq!(
        log[3],
        event(
            NINE + 2 * MIN,
            "201",
            None,
            AgentEventKind::Pause {
                reason: Some("lunch".into())
            }
        )
    );
}

async fn a_rejected_update_rolls_back_the_whole_batch(db: TestDb) {
    let store = db.open().await;
    let error = store
        .apply_agent_updates(&[
            login(NINE, "201", "support", true, 0),
            // A pause with an empty reason is refused by the database.
            pause(NINE + MIN, "201", Some("")),
        ])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Rejected { .. }), "{error:?}");
    assert_eq!(store.agent_states().await.unwrap(), AgentStates::default());
    assert!(
        store
            .agent_events(Period::ALL, None)
            .await
            .unwrap()
            .is_empty()
    );
    store.apply_agent_updates(&[]).await.unwrap();
}

async fn the_log_of_a_period_is_read_in_order_for_every_agent_or_one(db: TestDb) {
    let store = db.open().await;
    let offered = |at: i64, agent: &str, kind: AgentEventKind| AgentUpdate {
        event: AgentEvent {
            call: Some(CallId("c1".into())),
            ..event(at, agent, Some("support"), kind)
        },
        changes: vec![],
    };
    store
        .apply_agent_updates(&[
            login(NINE - MIN, "201", "support", true, 0),
            login(NINE, "202", "support", true, 0),
            offered(NINE + MIN, "201", AgentEventKind::Offered),
            offered(NINE + MIN + 15_000, "201", AgentEventKind::Missed),
            offered(NINE + 2 * MIN, "202", AgentEventKind::Offered),
            offered(NINE + 2 * MIN + 3_000, "202", AgentEventKind::Answered),
            offered(NINE + HOUR, "202", AgentEventKind::CallEnd),
        ])
        .await
        .unwrap();
    let period = Period {
        since_ms: Some(NINE),
        until_ms: Some(NINE + HOUR),
    };
    let kinds = |events: &[AgentEvent]| -> Vec<(String, &'static str)> {
        events
            .iter()
            .map(|e| (e.agent.clone(), e.kind.as_str()))
            .collect()
    };
    let all = store.agent_events(period, None).await.unwrap();
    assert_eq!(
        kinds(&all),
        [
            ("202".into(), "login"),
            ("201".into(), "offered"),
            ("201".into(), "missed"),
            ("202".into(), "offered"),
            ("202".into(), "answered"),
        ]
    );
    assert_eq!(all[1].call, Some(CallId("c1".into())));
    let of_201 = store.agent_events(period, Some("201")).await.unwrap();
    assert_eq!(
        kinds(&of_201),
        [("201".into(), "offered"), ("201".into(), "missed")]
    );
}

async fn a_report_reads_what_each_agent_was_when_its_period_began(db: TestDb) {
    let store = db.open().await;
    let wrap = |at: i64, agent: &str, kind: AgentEventKind| AgentUpdate {
        event: event(at, agent, Some("support"), kind),
        changes: vec![],
    };
    let logout = |at: i64, agent: &str, queue: &str| AgentUpdate {
        event: event(at, agent, Some(queue), AgentEventKind::Logout),
        changes: vec![],
    };
    store
        .apply_agent_updates(&[
            // Yesterday: 201 logs in twice to support (the second counts) and once to sales,
            // then out of sales; pauses, unpauses, pauses for training; wraps up.
            login(NINE - 20 * HOUR, "201", "support", true, 0),
            login(NINE - 19 * HOUR, "201", "support", true, 0),
            login(NINE - 19 * HOUR, "201", "sales", true, 0),
            logout(NINE - 18 * HOUR, "201", "sales"),
            pause(NINE - 17 * HOUR, "201", Some("lunch")),
            AgentUpdate {
                event: event(NINE - 16 * HOUR, "201", None, AgentEventKind::Unpause),
                changes: vec![],
            },
            pause(NINE - HOUR, "201", Some("training")),
            wrap(NINE - 2 * HOUR, "201", AgentEventKind::WrapUpStart),
            wrap(NINE - 2 * HOUR + MIN, "201", AgentEventKind::WrapUpEnd),
            // 202 logged in and out before the period: only its logout is read.
            login(NINE - 3 * HOUR, "202", "support", true, 0),
            logout(NINE - 2 * HOUR, "202", "support"),
            // In the period.
            AgentUpdate {
                event: event(NINE + MIN, "201", None, AgentEventKind::Unpause),
                changes: vec![],
            },
            // After it.
            logout(NINE + 2 * HOUR, "201", "support"),
        ])
        .await
        .unwrap();
    let period = Period {
        since_ms: Some(NINE),
        until_ms: Some(NINE + HOUR),
    };
    let read: Vec<(i64, &str, Option<&str>, String)> = store
        .agent_events_for_report(period)
        .await
        .unwrap()
        .iter()
        .map(|e| {
            (
                (e.at_ms - NINE) / MIN,
                if e.agent == "201" { "201" } else { "202" },
                e.queue
                    .as_deref()
                    .map(|q| if q == "support" { "support" } else { "sales" }),
                e.kind.to_string(),
            )
        })
        .collect();
    let expected: Vec<(i64, &str, Option<&str>, String)> = vec![
        (-19 * 60, "201", Some("support"), "login".into()),
        (-18 * 60, "201", Some("sales"), "logout".into()),
        (-2 * 60, "202", Some("support"), "logout".into()),
        (-2 * 60 + 1, "201", Some("support"), "wrap_up_end".into()),
        (-60, "201", None, "pause (training)".into()),
        (1, "201", None, "unpause".into()),
    ];
    assert_eq!(read, expected);
    // Without a start, the whole log up to the end.
    let all = store
        .agent_events_for_report(Period {
            since_ms: None,
            until_ms: Some(NINE + HOUR),
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 12);
}

async fn queue_positions_are_remembered_across_restarts(db: TestDb) {
    let store = db.open().await;
    assert!(store.queue_positions().await.unwrap().is_empty());
    store.set_queue_position("support", 2, NINE).await.unwrap();
    store.set_queue_position("sales", 0, NINE).await.unwrap();
    store
        .set_queue_position("support", 1, NINE + MIN)
        .await
        .unwrap();
    store.close().await;
    let store = db.open().await;
    assert_eq!(
        store.queue_positions().await.unwrap(),
        [
            QueuePosition {
                queue: "sales".into(),
                next: 0,
                updated_at_ms: NINE,
            },
            QueuePosition {
                queue: "support".into(),
                next: 1,
                updated_at_ms: NINE + MIN,
            },
        ]
    );
}
