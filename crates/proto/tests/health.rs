//! OPTIONS health checks of a trunk (RFC 3261 §11) on a virtual clock, over real client
//! transactions: Timer F decides when a silent carrier has failed a probe.

mod wire;

use std::time::Duration;

use crossbar_proto::health::{Health, HealthSettings, TrunkHealth};
use crossbar_proto::registrar::RegistrarSettings;

use wire::{CarrierAuth, Wire, always, crossbar_carrier, uri};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
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

/// Every change so far, with its instant from the start.
fn changes(wire: &Wire, health: &mut Health) -> Vec<(Duration, TrunkHealth)> {
    std::iter::from_fn(|| health.poll_change())
        .map(|c| (c.at - wire.start(), c.health))
        .collect()
}

#[test]
fn a_silent_carrier_goes_down_is_probed_faster_and_is_up_at_its_first_answer() {
    let carrier = crossbar_carrier(
        wire::wall_at_start(),
        "unused",
        RegistrarSettings::default(),
        &CarrierAuth::default(),
    );
    let mut wire = Wire::new(carrier);
    let mut health = health();
    wire.run_until(&mut health, wire.at(s(20)));
    wire.reachable = false;
    wire.run_until(&mut health, wire.at(s(185)));
    wire.reachable = true;
    wire.run_until(&mut health, wire.at(s(250)));

    // 0: 200. 30: no answer, Timer F at 62 — one failure, not yet down, but the next probe
    // goes at the fast period (7.5 s) to confirm it: 69.5, Timer F at 101.5 — down. Then
    // every 7.5 s after each timeout: 109 (→141), 148.5 (→180.5), 188 answered: up, and
    // back to every 30 s.
    assert_eq!(
        wire.sent_at(),
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
        wire.statuses(),
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
        changes(&wire, &mut health),
        [
            (
                s(0),
                TrunkHealth::Up {
                    since: wire.start()
                }
            ),
            (
                ms(101_500),
                TrunkHealth::Down {
                    since: wire.at(ms(101_500)),
                    last_status: Some(408)
                }
            ),
            (
                s(188),
                TrunkHealth::Up {
                    since: wire.at(s(188))
                }
            ),
        ]
    );
}

#[test]
fn a_carrier_that_answers_404_or_501_is_up() {
    for status in [404, 501] {
        let mut wire = Wire::new(always(status));
        let mut health = health();
        wire.run_until(&mut health, wire.at(s(95)));
        assert_eq!(wire.sent_at(), [s(0), s(30), s(60), s(90)], "{status}");
        assert_eq!(
            changes(&wire, &mut health),
            [(
                s(0),
                TrunkHealth::Up {
                    since: wire.start()
                }
            )],
            "{status}"
        );
    }
}

#[test]
fn a_carrier_answering_503_is_down_until_it_takes_calls_again() {
    let mut wire = Wire::new(always(503));
    let mut health = health();
    wire.run_until(&mut health, wire.at(s(20)));
    wire.carrier = always(200);
    wire.run_until(&mut health, wire.at(s(60)));
    // 503 at 0 and 7.5 (down), 15; 200 at 22.5 (up), then every 30 s.
    assert_eq!(
        wire.sent_at(),
        [s(0), ms(7_500), s(15), ms(22_500), ms(52_500)]
    );
    assert_eq!(
        changes(&wire, &mut health),
        [
            (
                ms(7_500),
                TrunkHealth::Down {
                    since: wire.at(ms(7_500)),
                    last_status: Some(503)
                }
            ),
            (
                ms(22_500),
                TrunkHealth::Up {
                    since: wire.at(ms(22_500))
                }
            ),
        ]
    );
}

#[test]
fn a_timed_out_call_and_a_failed_probe_together_take_the_trunk_down() {
    let mut wire = Wire::new(always(200));
    let mut health = health();
    wire.run_until(&mut health, wire.at(s(10)));
    assert!(matches!(health.health(), TrunkHealth::Up { .. }));
    wire.carrier = wire::Carrier::Scripted(Box::new(|_| None));
    health.mark_failed(wire.now);
    // The failure awaits confirmation: the next probe comes 7.5 s after the last one
    // completed (at 0), i.e. at once; its Timer F at 42 confirms it, and the probes go on
    // at the fast period.
    wire.run_until(&mut health, wire.at(s(50)));
    assert_eq!(wire.sent_at(), [s(0), s(10), ms(49_500)]);
    assert_eq!(
        health.health(),
        &TrunkHealth::Down {
            since: wire.at(s(42)),
            last_status: Some(408)
        }
    );
    health.mark_ok(wire.now);
    assert_eq!(health.health(), &TrunkHealth::Up { since: wire.now });
}
