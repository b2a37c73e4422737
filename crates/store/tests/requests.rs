//! Requests to the running engine (`switch_requests`), specified once and run against both
//! backends: submitted, taken in order by one engine only, finished with their outcome,
//! expired when no engine takes them in time, failed when crossbar stopped holding them.

#[macro_use]
mod common;

use common::TestDb;
use crossbar_store::{RequestOutcome, StoreError, StoredRequest, SwitchRequest};

on_both_backends!(
    a_request_is_taken_once_in_order_and_finished_with_its_outcome,
    two_engines_never_take_the_same_request,
    a_request_no_engine_took_in_time_expires,
    a_request_taken_when_crossbar_stopped_fails_at_the_next_start,
    finished_requests_are_pruned_but_ids_are_never_reused,
    a_callback_dial_reads_back_and_an_unknown_kind_says_so,
);

/// 2026-11-21T09:00:00Z.
const NINE: i64 = 1_795_251_600_000;
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;

fn login(agent: &str, queue: Option<&str>) -> SwitchRequest {
    SwitchRequest::AgentLogin {
        agent: agent.into(),
        queue: queue.map(str::to_owned),
        penalty: None,
    }
}

fn pause(agent: &str, reason: &str) -> SwitchRequest {
    SwitchRequest::AgentPause {
        agent: agent.into(),
        reason: Some(reason.into()),
    }
}

fn requests(taken: &[StoredRequest]) -> Vec<SwitchRequest> {
    taken
        .iter()
        .map(|r| r.request().expect("a readable request"))
        .collect()
}

async fn a_request_is_taken_once_in_order_and_finished_with_its_outcome(db: TestDb) {
    let store = db.open().await;
    let first = store
        .submit_switch_request(
            &login("201", Some("support")),
            "token:ops",
            NINE,
            NINE + MIN,
        )
        .await
        .unwrap();
    let second = store
        .submit_switch_request(&pause("201", "lunch"), "cli:alice", NINE + SEC, NINE + MIN)
        .await
        .unwrap();
    assert!(second > first);
    let pending = store.switch_request(first).await.unwrap().expect("stored");
    assert_eq!(pending.state(), "pending");
    assert_eq!(pending.requested_by, "token:ops");
    assert_eq!(
        pending.arguments,
        r#"{"agent":"201","penalty":null,"queue":"support"}"#
    );

    // Taken oldest first, as many as asked.
    let taken = store
        .take_switch_requests("node-a", NINE + 2 * SEC, 1)
        .await
        .unwrap();
    assert_eq!(requests(&taken), [login("201", Some("support"))]);
    assert_eq!(taken[0].id, first);
    assert_eq!(taken[0].taken_at_ms, Some(NINE + 2 * SEC));
    assert_eq!(taken[0].taken_by.as_deref(), Some("node-a"));
    assert_eq!(taken[0].state(), "taken");
    let taken = store
        .take_switch_requests("node-a", NINE + 3 * SEC, 10)
        .await
        .unwrap();
    assert_eq!(requests(&taken), [pause("201", "lunch")]);
    assert!(
        store
            .take_switch_requests("node-a", NINE + 4 * SEC, 10)
            .await
            .unwrap()
            .is_empty(),
        "a request is taken once"
    );

    let result = r#"{"agent":"201","state":"available"}"#;
    assert!(
        store
            .finish_switch_request(
                first,
                NINE + 5 * SEC,
                RequestOutcome::Done,
                Some(result),
                None
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_switch_request(
                second,
                NINE + 5 * SEC,
                RequestOutcome::Refused,
                None,
                Some("agent 201 is not logged in")
            )
            .await
            .unwrap()
    );
    // A second finish changes nothing.
    assert!(
        !store
            .finish_switch_request(first, NINE + 6 * SEC, RequestOutcome::Failed, None, None)
            .await
            .unwrap()
    );
    let done = store.switch_request(first).await.unwrap().expect("stored");
    assert_eq!(done.outcome, Some(RequestOutcome::Done));
    assert_eq!(done.state(), "done");
    assert_eq!(done.done_at_ms, Some(NINE + 5 * SEC));
    assert_eq!(done.result.as_deref(), Some(result));
    let refused = store.switch_request(second).await.unwrap().expect("stored");
    assert_eq!(refused.outcome, Some(RequestOutcome::Refused));
    assert_eq!(refused.error.as_deref(), Some("agent 201 is not logged in"));
    assert_eq!(store.switch_request(second + 100).await.unwrap(), None);

    // Only a taken request can be finished.
    let third = store
        .submit_switch_request(&login("202", None), "token:ops", NINE, NINE + MIN)
        .await
        .unwrap();
    assert!(
        !store
            .finish_switch_request(third, NINE, RequestOutcome::Done, None, None)
            .await
            .unwrap()
    );
    // A request says who asked for it.
    let error = store
        .submit_switch_request(&login("", None), "", NINE, NINE + MIN)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Rejected { .. }), "{error:?}");
}

async fn two_engines_never_take_the_same_request(db: TestDb) {
    let store = db.open().await;
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(
            store
                .submit_switch_request(
                    &login(&format!("{}", 200 + n), None),
                    "cli",
                    NINE,
                    NINE + MIN,
                )
                .await
                .unwrap(),
        );
    }
    let other = db.open().await;
    let (a, b) = tokio::join!(
        async {
            let mut got = Vec::new();
            for _ in 0..20 {
                got.extend(store.take_switch_requests("node-a", NINE, 3).await.unwrap());
            }
            got
        },
        async {
            let mut got = Vec::new();
            for _ in 0..20 {
                got.extend(other.take_switch_requests("node-b", NINE, 3).await.unwrap());
            }
            got
        }
    );
    let mut taken: Vec<i64> = a.iter().chain(&b).map(|r| r.id).collect();
    taken.sort_unstable();
    assert_eq!(taken, ids, "every request taken exactly once");
    assert!(a.iter().all(|r| r.taken_by.as_deref() == Some("node-a")));
    assert!(b.iter().all(|r| r.taken_by.as_deref() == Some("node-b")));
    // Each engine's share comes in order.
    assert!(a.windows(2).all(|w| w[0].id < w[1].id));
    assert!(b.windows(2).all(|w| w[0].id < w[1].id));
}

async fn a_request_no_engine_took_in_time_expires(db: TestDb) {
    let store = db.open().await;
    let stale = store
        .submit_switch_request(&login("201", None), "cli:bob", NINE, NINE + MIN)
        .await
        .unwrap();
    let fresh = store
        .submit_switch_request(&login("202", None), "cli:bob", NINE + MIN, NINE + 2 * MIN)
        .await
        .unwrap();
    // crossbar starts 90 s later: the first has expired, the second is still wanted.
    let taken = store
        .take_switch_requests("node-a", NINE + 90 * SEC, 10)
        .await
        .unwrap();
    assert_eq!(taken.iter().map(|r| r.id).collect::<Vec<_>>(), [fresh]);
    let expired = store.switch_request(stale).await.unwrap().expect("stored");
    assert_eq!(expired.outcome, Some(RequestOutcome::Expired));
    assert_eq!(expired.done_at_ms, Some(NINE + 90 * SEC));
    assert_eq!(
        expired.error.as_deref(),
        Some("no running crossbar took the request before it expired")
    );
}

async fn a_request_taken_when_crossbar_stopped_fails_at_the_next_start(db: TestDb) {
    let store = db.open().await;
    let held = store
        .submit_switch_request(&login("201", None), "cli", NINE, NINE + MIN)
        .await
        .unwrap();
    let recent = store
        .submit_switch_request(&login("202", None), "cli", NINE, NINE + 5 * MIN)
        .await
        .unwrap();
    store.take_switch_requests("node-a", NINE, 1).await.unwrap();
    store
        .take_switch_requests("node-b", NINE + 3 * MIN, 1)
        .await
        .unwrap();
    // At node-a's next start, with a minute's margin: its own request is failed; node-b's,
    // taken a moment ago, is left to node-b.
    let failed = store
        .fail_unfinished_switch_requests(NINE + 2 * MIN, NINE + 3 * MIN)
        .await
        .unwrap();
    assert_eq!(failed, 1);
    let held = store.switch_request(held).await.unwrap().expect("stored");
    assert_eq!(held.outcome, Some(RequestOutcome::Failed));
    assert_eq!(
        held.error.as_deref(),
        Some("crossbar stopped before the request was finished")
    );
    let recent = store.switch_request(recent).await.unwrap().expect("stored");
    assert_eq!(recent.state(), "taken");
}

async fn finished_requests_are_pruned_but_ids_are_never_reused(db: TestDb) {
    let store = db.open().await;
    let old = store
        .submit_switch_request(&login("201", None), "cli", NINE, NINE + MIN)
        .await
        .unwrap();
    let open = store
        .submit_switch_request(&login("202", None), "cli", NINE, NINE + 10 * MIN)
        .await
        .unwrap();
    store.take_switch_requests("node", NINE, 1).await.unwrap();
    store
        .finish_switch_request(old, NINE + SEC, RequestOutcome::Done, Some("{}"), None)
        .await
        .unwrap();
    assert_eq!(store.prune_switch_requests(NINE + MIN).await.unwrap(), 1);
    assert_eq!(store.switch_request(old).await.unwrap(), None);
    assert!(
        store.switch_request(open).await.unwrap().is_some(),
        "a request not finished stays"
    );
    // Even the newest pruned: the next id is still a new one.
    store.take_switch_requests("node", NINE, 1).await.unwrap();
    store
        .finish_switch_request(open, NINE + SEC, RequestOutcome::Done, Some("{}"), None)
        .await
        .unwrap();
    store.prune_switch_requests(NINE + MIN).await.unwrap();
    store.close().await;
    let store = db.open().await;
    let next = store
        .submit_switch_request(&login("203", None), "cli", NINE, NINE + MIN)
        .await
        .unwrap();
    assert!(next > open, "{next} after {open}");
}

async fn a_callback_dial_reads_back_and_an_unknown_kind_says_so(db: TestDb) {
    let store = db.open().await;
    let id = store
        .submit_switch_request(
            &SwitchRequest::CallbackDial {
                task: 12,
                agent: "201".into(),
                customer: "+442079460001".into(),
                did: Some("+442079460000".into()),
                queue: Some("support".into()),
            },
            "token:ops",
            NINE,
            NINE + MIN,
        )
        .await
        .unwrap();
    let taken = store.take_switch_requests("node", NINE, 10).await.unwrap();
    assert_eq!(taken[0].id, id);
    assert_eq!(taken[0].kind, "callback_dial");
    assert_eq!(
        taken[0].request(),
        Ok(SwitchRequest::CallbackDial {
            task: 12,
            agent: "201".into(),
            customer: "+442079460001".into(),
            did: Some("+442079460000".into()),
            queue: Some("support".into()),
        })
    );
    let mut unknown = taken[0].clone();
    unknown.kind = "agent_transfer".into();
    assert_eq!(
        unknown.request(),
        Err("unknown request kind `agent_transfer`".to_owned())
    );
}
