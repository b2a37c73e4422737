//! Registrations survive the server: phones register over UDP with digest authentication,
//! the server is stopped (SIGTERM) or killed (SIGKILL, while phones are registering) and
//! started again on the same database, and authenticated REGISTER queries (no Contact) must
//! list the same contacts with their remaining expiry. On SQLite and on PostgreSQL.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{Extension, Phone, Setup, bindings, log_field};

/// Users 1 and 2 register before the clean restart; users 3.. register one after another
/// while the server is killed.
const USERS: u32 = 200;

/// A contact URI of user `n`, device `device`.
fn contact(n: u32, device: u32) -> String {
    format!("sip:user{n:04}@127.0.0.1:{}", 41_000 + n * 10 + device)
}

/// Asserts that `phone`'s query lists exactly `expected` (contact, requested expiry), each
/// with a remaining expiry no longer than requested and no shorter than the time since
/// `registered_at` allows (one second of rounding).
fn assert_bindings(phone: &mut Phone, expected: &[(String, u32)], registered_at: Instant) {
    let answer = phone.query();
    assert_eq!(
        answer.status, 200,
        "query of {}:\n{answer}",
        phone.extension.username
    );
    let mut listed = bindings(&answer);
    listed.sort();
    let mut wanted = expected.to_vec();
    wanted.sort();
    let uris = |list: &[(String, u32)]| list.iter().map(|(u, _)| u.clone()).collect::<Vec<_>>();
    assert_eq!(
        uris(&listed),
        uris(&wanted),
        "{}'s bindings after the restart:\n{answer}",
        phone.extension.username
    );
    let elapsed = u32::try_from(registered_at.elapsed().as_secs()).expect("seconds fit") + 1;
    for ((uri, left), (_, requested)) in listed.iter().zip(&wanted) {
        assert!(
            *left <= *requested && *left + elapsed >= *requested,
            "{uri}: {left} s left of {requested} s requested {elapsed} s ago"
        );
    }
}

fn registrations_survive_restarts(setup: Setup, backend: &str) {
    let server = setup.start();
    let port = server.port;
    let open = server
        .wait_for_line("database open", Duration::from_secs(1))
        .expect("the server logs the database it opened");
    assert!(open.contains(&format!("backend={backend}")), "{open}");

    // Before a clean stop: two devices for user 1 (an hour), one for user 2 (ten minutes).
    let mut phone1 = Phone::new(server.addr(), Extension::sipp_user(1));
    let mut phone2 = Phone::new(server.addr(), Extension::sipp_user(2));
    let user1 = vec![(contact(1, 1), 3600), (contact(1, 2), 3600)];
    let user2 = vec![(contact(2, 1), 600)];
    let registered_at = Instant::now();
    let answer = phone1.register(&[&user1[0].0, &user1[1].0], 3600);
    assert_eq!(answer.status, 200, "{answer}");
    assert_eq!(bindings(&answer).len(), 2, "{answer}");
    let answer = phone2.register(&[&user2[0].0], 600);
    assert_eq!(answer.status, 200, "{answer}");

    // SIGTERM (asserts exit 0 and `stopped`), then the same database again.
    server.stop();
    let server = setup.start_on(port);
    let restored = server
        .wait_for_line("registrations restored", Duration::from_secs(5))
        .expect("the server logs what it restored");
    assert_eq!(log_field(&restored, "restored"), Some("3"), "{restored}");
    assert_bindings(&mut phone1, &user1, registered_at);
    assert_bindings(&mut phone2, &user2, registered_at);

    // kill -9 while phones register one after another: every binding whose 200 arrived
    // before the kill was committed, so it is back after the restart.
    let (done_tx, done_rx) = mpsc::channel::<(u32, bool)>();
    let addr = server.addr();
    let second_round_at = Instant::now();
    let registering = std::thread::spawn(move || {
        for n in 3..=USERS {
            let mut phone = Phone::new(addr, Extension::sipp_user(n));
            phone.timeout = Duration::from_secs(1);
            let c = contact(n, 1);
            let ok = phone
                .try_register(&[&c], Some(3600))
                .is_some_and(|r| r.status == 200);
            let _ = done_tx.send((n, ok));
            if !ok {
                return;
            }
        }
    });
    let mut acknowledged = Vec::new();
    let mut server = server;
    while acknowledged.len() < 10 {
        let (n, ok) = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("registrations are answered before the kill");
        assert!(
            ok,
            "user {n} was refused before the kill:\n{}",
            server.log_text()
        );
        acknowledged.push(n);
    }
    let status = server.kill();
    assert!(!status.success(), "SIGKILL ends the process: {status}");
    registering.join().expect("the registering thread ends");
    // Acknowledgements that raced with the kill count too; the first failure is the
    // registration in flight at the kill, which may or may not have been committed.
    let mut in_flight = None;
    for (n, ok) in done_rx.try_iter() {
        if ok {
            acknowledged.push(n);
        } else {
            in_flight = Some(n);
        }
    }
    let in_flight = in_flight.expect("the registration after the kill fails");

    let server = setup.start_on(port);
    let restored = server
        .wait_for_line("registrations restored", Duration::from_secs(5))
        .expect("the server logs what it restored");
    let restored: usize = log_field(&restored, "restored")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {restored}"));
    // The three of the first round, every acknowledged one, perhaps the one in flight.
    let committed = 3 + acknowledged.len();
    assert!(
        restored == committed || restored == committed + 1,
        "{restored} bindings restored after the kill; {committed} were acknowledged"
    );
    for &n in &acknowledged {
        let mut phone = Phone::new(server.addr(), Extension::sipp_user(n));
        assert_bindings(&mut phone, &[(contact(n, 1), 3600)], second_round_at);
    }
    // Users never sent have nothing: the database holds what was committed, no more.
    for n in (in_flight + 1)..=USERS {
        let mut phone = Phone::new(server.addr(), Extension::sipp_user(n));
        assert_bindings(&mut phone, &[], second_round_at);
    }
    // And the first round is still there.
    phone1.set_server(server.addr());
    phone2.set_server(server.addr());
    assert_bindings(&mut phone1, &user1, registered_at);
    assert_bindings(&mut phone2, &user2, registered_at);
    eprintln!(
        "{} registrations acknowledged before the kill, user {in_flight} in flight",
        acknowledged.len()
    );
    server.stop();
}

#[test]
fn registrations_survive_sigterm_and_sigkill_on_sqlite() {
    registrations_survive_restarts(Setup::with_sipp_users(USERS), "Sqlite");
}

#[test]
fn registrations_survive_sigterm_and_sigkill_on_postgresql() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the database setup");
    // Starts a throwaway PostgreSQL server (as the `postgres` user when root) or fails with
    // how to install it; never skips.
    let database = runtime.block_on(crossbar_store::testing::postgres_database());
    let mut setup = Setup::with_sipp_users(USERS);
    setup.database_url = database.url;
    registrations_survive_restarts(setup, "Postgres");
}
