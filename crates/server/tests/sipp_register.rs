//! SIPp as the phones: 1,000 users register with digest authentication (REGISTER -> 401 ->
//! REGISTER with credentials -> 200), over UDP and over TCP, against a real `crossbar run`.
//! Every call must succeed, and the server must have created exactly one binding per user —
//! checked in its log and, after a restart, in what it reloads from the database.

mod support;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use support::{Extension, Phone, Setup, bindings, log_field, run_sipp};

const USERS: u32 = 1_000;

/// Registers all users with SIPp's `register_auth.xml` over `transport` (`-t` value) and
/// checks the outcome.
fn thousand_users_register(transport: &str) {
    // One SIPp run at a time: two debug-build servers and two SIPps at 500 calls/s each on
    // a 2-core CI machine would measure the machine, not the server.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let setup = Setup::with_sipp_users(USERS);
    let server = setup.start();
    let users = USERS.to_string();
    let run = run_sipp(
        "register_auth.xml",
        server.addr(),
        &[
            "-inf",
            "users.csv",
            "-t",
            transport,
            "-r",
            "500",
            "-m",
            &users,
            "-l",
            &users,
            "-recv_timeout",
            "10000",
            "-timeout",
            "60s",
        ],
        Duration::from_secs(90),
    );
    eprintln!(
        "sipp -t {transport}: {} successful, {} failed in {:?}",
        run.successful, run.failed, run.elapsed
    );
    assert!(
        run.status.success() && run.successful == u64::from(USERS) && run.failed == 0,
        "expected {USERS} successful registrations and none failed over {transport}:\n{}",
        run.report()
    );
    let transport_name = if transport.starts_with('t') {
        "(TCP)"
    } else {
        "(UDP)"
    };
    assert!(
        run.screen.contains(transport_name),
        "SIPp did not run over {transport_name}:\n{}",
        run.screen
    );

    // One `registered` line per user, for each of the 1,000 extensions exactly once.
    let is_registered = |l: &str| l.contains(" registered ") && l.contains("extension=");
    assert!(
        server.wait_for_lines(is_registered, USERS as usize, Duration::from_secs(10)),
        "the server logged {} `registered` lines, expected {USERS}",
        server.count_lines(is_registered)
    );
    let lines = server.lines();
    let registered: Vec<&String> = lines.iter().filter(|l| is_registered(l)).collect();
    assert_eq!(
        registered.len(),
        USERS as usize,
        "more `registered` lines than users"
    );
    let extensions: BTreeSet<u32> = registered
        .iter()
        .map(|l| {
            log_field(l, "extension")
                .and_then(|e| e.parse().ok())
                .unwrap_or_else(|| panic!("no extension number in {l}"))
        })
        .collect();
    let expected: BTreeSet<u32> = (1001..=1000 + USERS).collect();
    assert_eq!(extensions, expected, "every extension registered once");
    let wrong_transport: Vec<&&String> = registered
        .iter()
        .filter(|l| {
            let source = log_field(l, "source").unwrap_or_default();
            !source.starts_with(if transport.starts_with('t') {
                "TCP:"
            } else {
                "UDP:"
            })
        })
        .collect();
    assert!(
        wrong_transport.is_empty(),
        "bindings from the wrong transport: {wrong_transport:?}"
    );

    // The bindings were committed: a restarted server reloads all of them, and an
    // authenticated query lists the contact SIPp registered.
    let port = server.port;
    server.stop();
    let server = setup.start_on(port);
    let restored = server
        .wait_for_line("registrations restored", Duration::from_secs(5))
        .expect("the server logs what it restored");
    assert_eq!(
        log_field(&restored, "restored"),
        Some(USERS.to_string().as_str()),
        "{restored}"
    );
    let mut phone = Phone::new(server.addr(), Extension::sipp_user(USERS));
    let answer = phone.query();
    assert_eq!(answer.status, 200, "{answer}");
    let listed = bindings(&answer);
    assert_eq!(listed.len(), 1, "{answer}");
    let (uri, expires) = &listed[0];
    assert!(
        uri.starts_with(&format!("sip:user{USERS:04}@127.0.0.1:")),
        "the binding is SIPp's contact: {uri}"
    );
    assert!(
        (3000..=3600).contains(expires),
        "SIPp asked for 3600 s a few seconds ago: {expires}"
    );
    server.stop();
}

#[test]
fn thousand_sipp_users_register_with_digest_over_udp() {
    thousand_users_register("u1");
}

#[test]
fn thousand_sipp_users_register_with_digest_over_tcp() {
    thousand_users_register("t1");
}
