//! OPTIONS health checks of a trunk (RFC 3261 §11) on a virtual clock, over real client
//! transactions: Timer F decides when a silent carrier has failed a probe.

use std::time::Duration;

use crossbar_proto::health::{Health, HealthSettings, TrunkHealth};
use crossbar_proto::transaction::{Timers, Transactions};
use crossbar_sip::{Method, Uri};
use crossbar_testkit::machines::UacMachine;
use crossbar_testkit::{Carrier, Lab, peer, silence, status};

/// crossbar's SIP address, in its `Via`.
const CROSSBAR: &str = "192.0.2.1:5060";
const CARRIER: &str = "198.51.100.7:5060";

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn uri(text: &str) -> Uri {
    Uri::parse(text).expect("test URI")
}

/// Probes every 30 s; down after 2 failures, up after 1 success.
fn health() -> Health {
    Health::new(
        HealthSettings::new(
            uri("sip:198.51.100.7:5060"),
            uri("sip:crossbar@192.0.2.1"),
            s(30),
            "crossbar-test",
        ),
        3,
    )
}

type HealthLab = Lab<UacMachine<Health>>;

/// Probes of `carrier`.
fn lab(carrier: Carrier) -> HealthLab {
    let transactions = Transactions::new(Timers::default(), 5);
    let machine = UacMachine::new(health(), transactions, peer(CROSSBAR), peer(CARRIER));
    let mut lab = Lab::new(machine);
    lab.attach(carrier);
    lab
}

/// A carrier answering every OPTIONS with `status`.
fn always(status_code: u16) -> Carrier {
    Carrier::new(CARRIER).with_answer(Method::Options, status(status_code))
}

/// Every change so far, with its instant from the start.
fn changes(lab: &mut HealthLab) -> Vec<(Duration, TrunkHealth)> {
    let start = lab.clock.start();
    std::iter::from_fn(|| lab.machine.uac.poll_change())
        .map(|c| (c.at - start, c.health))
        .collect()
}

#[test]
fn a_silent_carrier_goes_down_is_probed_faster_and_is_up_at_its_first_answer() {
    let mut lab = lab(Carrier::new(CARRIER));
    lab.run_until(lab.clock.at(s(20)));
    lab.net.cut(peer(CARRIER));
    lab.run_until(lab.clock.at(s(185)));
    lab.net.restore(peer(CARRIER));
    lab.run_until(lab.clock.at(s(250)));

    // 0: 200. 30: no answer, Timer F at 62 — one failure, not yet down, but the next probe
    // goes at the fast period (7.5 s) to confirm it: 69.5, Timer F at 101.5 — down. Then
    // every 7.5 s after each timeout: 109 (→141), 148.5 (→180.5), 188 answered: up, and
    // back to every 30 s.
    assert_eq!(
        lab.machine.sent_at(),
        [
            s(0),
            s(30),
            ms(69_500),
            s(109),
            ms(148_500),
            s(188),
            s(218),
            s(248)
        ]
    );
    assert_eq!(
        lab.machine.statuses(),
        [
            (s(0), 200),
            (s(62), 408),
            (ms(101_500), 408),
            (s(141), 408),
            (ms(180_500), 408),
            (s(188), 200),
            (s(218), 200),
            (s(248), 200),
        ]
    );
    assert_eq!(
        changes(&mut lab),
        [
            (
                s(0),
                TrunkHealth::Up {
                    since: lab.clock.start()
                }
            ),
            (
                ms(101_500),
                TrunkHealth::Down {
                    since: lab.clock.at(ms(101_500)),
                    last_status: Some(408)
                }
            ),
            (
                s(188),
                TrunkHealth::Up {
                    since: lab.clock.at(s(188))
                }
            ),
        ]
    );
}

#[test]
fn a_carrier_that_answers_404_or_501_is_up() {
    for status in [404, 501] {
        let mut lab = lab(always(status));
        lab.run_until(lab.clock.at(s(95)));
        assert_eq!(
            lab.machine.sent_at(),
            [s(0), s(30), s(60), s(90)],
            "{status}"
        );
        assert_eq!(
            changes(&mut lab),
            [(
                s(0),
                TrunkHealth::Up {
                    since: lab.clock.start()
                }
            )],
            "{status}"
        );
    }
}

#[test]
fn a_carrier_answering_503_is_down_until_it_takes_calls_again() {
    let mut lab = lab(always(503));
    lab.run_until(lab.clock.at(s(20)));
    lab.carrier_mut(peer(CARRIER))
        .set_answer(Method::Options, status(200));
    lab.run_until(lab.clock.at(s(60)));
    // 503 at 0 and 7.5 (down), 15; 200 at 22.5 (up), then every 30 s.
    assert_eq!(
        lab.machine.sent_at(),
        [s(0), ms(7_500), s(15), ms(22_500), ms(52_500)]
    );
    assert_eq!(
        changes(&mut lab),
        [
            (
                ms(7_500),
                TrunkHealth::Down {
                    since: lab.clock.at(ms(7_500)),
                    last_status: Some(503)
                }
            ),
            (
                ms(22_500),
                TrunkHealth::Up {
                    since: lab.clock.at(ms(22_500))
                }
            ),
        ]
    );
}

#[test]
fn a_timed_out_call_and_a_failed_probe_together_take_the_trunk_down() {
    let mut lab = lab(always(200));
    lab.run_until(lab.clock.at(s(10)));
    assert!(matches!(lab.machine.uac.health(), TrunkHealth::Up { .. }));
    lab.carrier_mut(peer(CARRIER))
        .set_answer(Method::Options, silence());
    let now = lab.now();
    lab.machine.uac.mark_failed(now);
    // The failure awaits confirmation: the next probe comes 7.5 s after the last one
    // completed (at 0), i.e. at once; its Timer F at 42 confirms it, and the probes go on
    // at the fast period.
    lab.run_until(lab.clock.at(s(50)));
    assert_eq!(lab.machine.sent_at(), [s(0), s(10), ms(49_500)]);
    assert_eq!(
        lab.machine.uac.health(),
        &TrunkHealth::Down {
            since: lab.clock.at(s(42)),
            last_status: Some(408)
        }
    );
    let now = lab.now();
    lab.machine.uac.mark_ok(now);
    assert_eq!(
        lab.machine.uac.health(),
        &TrunkHealth::Up { since: lab.now() }
    );
}
