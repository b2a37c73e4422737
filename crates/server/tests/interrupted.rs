//! Calls that crossbar stops in the middle of. Killed (SIGKILL) with a call up, crossbar
//! must find the call it lost when it starts again and record it as `interrupted`, leaving
//! the records of finished calls as they were. Stopped (SIGTERM) with a call up, it must
//! end the call — BYE to both phones — and record it as interrupted before it exits. On
//! SQLite and on PostgreSQL.
//!
//! The phones are raw UDP ones (support::raw_call) so that the call is exactly where the
//! test wants it when the signal comes: answered, acknowledged, its answer written.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbar_cdr::{CallRecord, Direction, Disposition, HangupSide};
use crossbar_sip::Method;
use support::raw_call::{RawCallee, RawCaller};
use support::{Extension, Phone, Server, Setup, log_field};

fn alice() -> Extension {
    Extension::new("201", "alice", "alice-secret-201")
}

fn bob() -> Extension {
    Extension::new("202", "bob", "bob-secret-202")
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since.as_millis()).expect("milliseconds fit")
}

/// Registers a raw callee as bob's only contact.
fn bob_answers_at(server: &Server) -> RawCallee {
    let callee = RawCallee::new(server.addr(), "bob");
    let mut phone = Phone::new(server.addr(), bob());
    let answer = phone.register(&[&callee.contact()], 3600);
    assert_eq!(answer.status, 200, "{answer}");
    callee
}

/// Alice calls bob and bob answers; returns both phones with the call up (the 200 ACKed).
fn answered_call(server: &Server, callee: &mut RawCallee) -> RawCaller {
    let mut caller = RawCaller::new(server.addr(), alice());
    let server_addr = server.addr();
    // The caller blocks until its final response; bob answers meanwhile.
    let placing = std::thread::spawn(move || {
        let response = caller.call("202", 40_000);
        (caller, response)
    });
    let invite = callee.ring(Duration::from_secs(10));
    callee.answer(&invite, 40_002);
    let (caller, response) = placing.join().expect("the caller's thread");
    assert_eq!(
        response.status, 200,
        "alice's call to bob at {server_addr}:\n{response}"
    );
    caller
}

/// Waits until the database shows `count` calls in progress, every one of them answered
/// (the answer is written just after it happens).
fn wait_for_answered_in_progress(setup: &Setup, count: usize) {
    let ok = support::wait_until(Duration::from_secs(10), || {
        let stored = setup.records();
        stored.active.len() == count && stored.active.iter().all(|a| a.answered_at_ms.is_some())
    });
    assert!(
        ok,
        "expected {count} answered calls in progress:\n{:#?}",
        setup.records().active
    );
}

fn assert_interrupted_answered(record: &CallRecord) {
    assert!(record.interrupted, "{record:#?}");
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
    assert_eq!(record.answered_by.as_deref(), Some("202"), "{record:#?}");
    assert_eq!(record.hangup_by, HangupSide::System, "{record:#?}");
    assert_eq!(record.direction, Direction::Internal, "{record:#?}");
    assert_eq!(
        (record.caller.number.as_str(), record.callee.number.as_str()),
        ("201", "202"),
        "{record:#?}"
    );
    let answered = record.answered_at_ms.expect("answered");
    assert!(
        record.started_at_ms <= answered && answered <= record.ended_at_ms,
        "{record:#?}"
    );
}

fn calls_interrupted_by_kill_and_stop_are_recorded(mut setup: Setup, backend: &str) {
    setup.extensions = vec![alice(), bob()];
    // The raw phones send no RTP: the relay must not end the calls for that.
    setup.relay_media(40, 300);
    let mut server = setup.start();
    let port = server.port;
    let open = server
        .wait_for_line("database open", Duration::from_secs(1))
        .expect("the server logs the database it opened");
    assert!(open.contains(&format!("backend={backend}")), "{open}");
    let mut callee = bob_answers_at(&server);

    // A call that ends normally: alice hangs up after a second.
    let mut first = answered_call(&server, &mut callee);
    std::thread::sleep(Duration::from_secs(1));
    let bye = first.hang_up();
    assert_eq!(bye.status, 200, "{bye}");
    let finished = setup.wait_for_records(1, Duration::from_secs(10)).calls;
    assert_eq!(finished.len(), 1, "{finished:#?}");
    let finished = finished.into_iter().next().expect("one record");
    assert_eq!(finished.disposition, Disposition::Answered, "{finished:#?}");
    assert_eq!(finished.hangup_by, HangupSide::Caller, "{finished:#?}");
    assert!(!finished.interrupted, "{finished:#?}");

    // A call up when crossbar is killed: answered, its answer in the database.
    callee.received.clear();
    let _second = answered_call(&server, &mut callee);
    assert!(
        server.wait_for_lines(
            |l| l.contains(" answered") && l.contains("leg="),
            2,
            Duration::from_secs(5)
        ),
        "the server logs the answer:\n{}",
        server.log_text()
    );
    wait_for_answered_in_progress(&setup, 1);
    // The call talks a while: crossbar notes every second that it is still up.
    std::thread::sleep(Duration::from_millis(2_500));
    let killed_at = now_ms();
    let status = server.kill();
    assert!(!status.success(), "SIGKILL ends the process: {status}");
    drop(server);

    // The restart finds the lost call and records it as interrupted, answered.
    let mut server = setup.start_on(port);
    let recovered = server
        .lines()
        .into_iter()
        .find(|l| l.contains("recorded as interrupted"))
        .unwrap_or_else(|| panic!("no recovery logged:\n{}", server.log_text()));
    assert_eq!(log_field(&recovered, "calls"), Some("1"), "{recovered}");
    assert_eq!(
        server.count_lines(|l| l.contains("call interrupted by the previous stop")),
        1,
        "{}",
        server.log_text()
    );
    let stored = setup.wait_for_records(2, Duration::from_secs(5));
    assert!(stored.active.is_empty(), "{:#?}", stored.active);
    assert_eq!(stored.calls.len(), 2, "{:#?}", stored.calls);
    let unchanged = stored
        .calls
        .iter()
        .find(|r| r.id == finished.id)
        .expect("the finished call's record is still there");
    assert_eq!(
        *unchanged, finished,
        "the finished call's record is unchanged"
    );
    let interrupted = stored
        .calls
        .iter()
        .find(|r| r.id != finished.id)
        .expect("the killed call has a record");
    assert_interrupted_answered(interrupted);
    assert!(
        interrupted.ended_at_ms <= killed_at,
        "the record ends when crossbar last knew the call up, before the kill at \
         {killed_at}: {interrupted:#?}"
    );
    assert!(
        interrupted.ended_at_ms >= killed_at - 2_000,
        "crossbar knew the call up to within a second or two of the kill at {killed_at}: \
         {interrupted:#?}"
    );

    // SIGTERM with a call up: both phones get a BYE, the call is recorded interrupted
    // before crossbar exits.
    // (bob's registration was restored from the database: same contact.)
    callee.received.clear();
    let mut third = answered_call(&server, &mut callee);
    wait_for_answered_in_progress(&setup, 1);
    server.signal("TERM");
    assert!(
        third.expect_request(&Method::Bye, Duration::from_secs(10)),
        "crossbar's BYE reached the caller when stopping:\n{}",
        server.log_text()
    );
    assert!(
        callee.expect_request(&Method::Bye, Duration::from_secs(10)),
        "crossbar's BYE reached the callee when stopping:\n{}",
        server.log_text()
    );
    let status = server
        .wait_exit(support::STOP_TIMEOUT)
        .expect("crossbar exits after SIGTERM");
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        server.log_text()
    );
    let stored = setup.records();
    assert!(stored.active.is_empty(), "{:#?}", stored.active);
    assert_eq!(stored.calls.len(), 3, "{:#?}", stored.calls);
    let stopped = stored
        .calls
        .iter()
        .find(|r| r.sip_call_id == third.call_id)
        .unwrap_or_else(|| panic!("no record of the call up at SIGTERM: {:#?}", stored.calls));
    assert_interrupted_answered(stopped);
    assert!(
        stored.calls.contains(&finished),
        "the first record is still unchanged"
    );
}

#[test]
fn calls_up_at_a_kill_or_a_stop_are_recorded_interrupted_on_sqlite() {
    calls_interrupted_by_kill_and_stop_are_recorded(Setup::new(), "Sqlite");
}

#[test]
fn calls_up_at_a_kill_or_a_stop_are_recorded_interrupted_on_postgresql() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the database setup");
    // Starts a throwaway PostgreSQL server (as the `postgres` user when root) or fails with
    // how to install it; never skips.
    let database = runtime.block_on(crossbar_store::testing::postgres_database());
    let mut setup = Setup::new();
    setup.database_url = database.url.clone();
    calls_interrupted_by_kill_and_stop_are_recorded(setup, "Postgres");
    drop(database);
}
