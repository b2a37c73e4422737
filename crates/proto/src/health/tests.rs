//! The verdict and cadence rules with hand-made responses; the probes over transactions on a
//! virtual clock are in `tests/health.rs`.

use std::time::{Duration, Instant};

use crossbar_sip::{HeaderName, Uri};

use super::*;

fn settings(interval_secs: u64) -> HealthSettings {
    HealthSettings::new(
        Uri::parse("sip:carrier.example:5060").expect("URI"),
        Uri::parse("sip:crossbar@192.0.2.1").expect("URI"),
        Duration::from_secs(interval_secs),
        "crossbar-test",
    )
}

fn secs(start: Instant, s: u64) -> Instant {
    start + Duration::from_secs(s)
}

/// Sends the due OPTIONS at `now` and answers it with `status` at once.
fn probe(health: &mut Health, now: Instant, status: u16) {
    let request = health.poll_request(now).expect("a probe is due");
    health.handle_response(now, &request.response(status));
}

#[test]
fn the_options_request_asks_the_carrier_what_it_supports() {
    let start = Instant::now();
    let mut health = Health::new(settings(30), 1);
    let request = health.poll_request(start).expect("first probe at once");
    assert_eq!(request.method, Method::Options);
    assert_eq!(request.uri.to_string(), "sip:carrier.example:5060");
    let h = &request.headers;
    assert!(!h.contains(&HeaderName::Via));
    assert_eq!(h.get(&HeaderName::MaxForwards), Some("70"));
    assert_eq!(h.get(&HeaderName::CSeq), Some("1 OPTIONS"));
    assert!(h.from().expect("From").tag().is_some());
    assert_eq!(
        h.to().expect("To").uri.to_string(),
        "sip:carrier.example:5060"
    );
    assert_eq!(h.get(&HeaderName::Accept), Some("application/sdp"));
    assert_eq!(h.get(&HeaderName::UserAgent), Some("crossbar-test"));
    assert!(health.poll_request(start).is_none(), "one probe at a time");
}

#[test]
fn any_answer_but_408_and_503_means_the_carrier_is_alive() {
    for (status, alive) in [
        (200, true),
        (403, true),
        (404, true),
        (405, true),
        (481, true),
        (500, true),
        (501, true),
        (603, true),
        (408, false),
        (503, false),
    ] {
        let start = Instant::now();
        let mut health = Health::new(
            HealthSettings {
                down_after: 1,
                ..settings(30)
            },
            1,
        );
        probe(&mut health, start, status);
        let expected = if alive {
            TrunkHealth::Up { since: start }
        } else {
            TrunkHealth::Down {
                since: start,
                last_status: Some(status),
            }
        };
        assert_eq!(health.health(), &expected, "{status}");
    }
}

#[test]
fn the_fast_period_is_a_quarter_of_the_interval_but_at_least_five_seconds() {
    let start = Instant::now();
    let fast = |interval| {
        let mut health = Health::new(settings(interval), 1);
        health.mark_failed(start);
        health.period()
    };
    assert_eq!(fast(60), Duration::from_secs(15));
    assert_eq!(fast(30), Duration::from_millis(7_500));
    assert_eq!(fast(12), Duration::from_secs(5));
    assert_eq!(
        fast(3),
        Duration::from_secs(3),
        "never slower than the interval"
    );
    assert_eq!(Health::new(settings(0), 1).period(), Duration::from_secs(1));
}

#[test]
fn thresholds_count_consecutive_evidence_only() {
    let start = Instant::now();
    let mut health = Health::new(
        HealthSettings {
            down_after: 3,
            up_after: 2,
            ..settings(30)
        },
        1,
    );
    health.mark_ok(secs(start, 1));
    assert_eq!(health.health(), &TrunkHealth::Unknown);
    health.mark_ok(secs(start, 2));
    assert_eq!(
        health.health(),
        &TrunkHealth::Up {
            since: secs(start, 2)
        }
    );
    health.mark_failed(secs(start, 3));
    health.mark_failed(secs(start, 4));
    health.mark_ok(secs(start, 5));
    health.mark_failed(secs(start, 6));
    health.mark_failed(secs(start, 7));
    assert!(
        !health.health().is_down(),
        "a success in between resets the count"
    );
    health.mark_failed(secs(start, 8));
    assert_eq!(
        health.health(),
        &TrunkHealth::Down {
            since: secs(start, 8),
            last_status: None
        }
    );
    health.mark_ok(secs(start, 9));
    assert!(health.health().is_down(), "up_after is 2");
    health.mark_ok(secs(start, 10));
    assert_eq!(
        health.health(),
        &TrunkHealth::Up {
            since: secs(start, 10)
        }
    );
    let at: Vec<u64> = std::iter::from_fn(|| health.poll_change())
        .map(|c| (c.at - start).as_secs())
        .collect();
    assert_eq!(at, [2, 8, 10]);
}

#[test]
fn a_different_failure_while_down_is_reported_and_a_repeated_one_is_not() {
    let start = Instant::now();
    let mut health = Health::new(
        HealthSettings {
            down_after: 1,
            ..settings(30)
        },
        1,
    );
    probe(&mut health, start, 408);
    let next = health.poll_timeout().expect("next probe");
    assert_eq!(next, start + Duration::from_millis(7_500));
    probe(&mut health, next, 408);
    let next = health.poll_timeout().expect("next probe");
    probe(&mut health, next, 503);
    let changes: Vec<TrunkHealth> = std::iter::from_fn(|| health.poll_change())
        .map(|c| c.health)
        .collect();
    assert_eq!(
        changes,
        [
            TrunkHealth::Down {
                since: start,
                last_status: Some(408)
            },
            TrunkHealth::Down {
                since: start,
                last_status: Some(503)
            },
        ]
    );
}

#[test]
fn responses_to_other_probes_and_provisionals_are_ignored() {
    let start = Instant::now();
    let mut health = Health::new(settings(30), 1);
    let request = health.poll_request(start).expect("probe");
    health.handle_response(start, &request.response(100));
    let mut other = request.response(200);
    other.headers.set(HeaderName::CallId, "another");
    health.handle_response(start, &other);
    assert_eq!(health.health(), &TrunkHealth::Unknown);
    assert_eq!(health.poll_timeout(), Some(start + NO_RESPONSE_GUARD));
}

#[test]
fn an_unreported_outcome_is_taken_as_a_408_after_the_guard() {
    let start = Instant::now();
    let mut health = Health::new(
        HealthSettings {
            down_after: 1,
            ..settings(30)
        },
        1,
    );
    health.poll_request(start).expect("probe");
    health.handle_timeout(start + NO_RESPONSE_GUARD);
    assert_eq!(
        health.health(),
        &TrunkHealth::Down {
            since: start + NO_RESPONSE_GUARD,
            last_status: Some(408)
        }
    );
    assert_eq!(
        health.poll_timeout(),
        Some(start + NO_RESPONSE_GUARD + Duration::from_millis(7_500))
    );
}

#[test]
fn call_evidence_moves_the_next_probe_to_the_fast_period() {
    let start = Instant::now();
    let mut health = Health::new(settings(60), 1);
    probe(&mut health, start, 200);
    assert_eq!(health.poll_timeout(), Some(secs(start, 60)));
    health.mark_failed(secs(start, 5));
    assert_eq!(
        health.poll_timeout(),
        Some(secs(start, 15)),
        "a failure awaiting confirmation is probed at the fast period"
    );
    health.mark_ok(secs(start, 6));
    assert_eq!(health.poll_timeout(), Some(secs(start, 60)));
}
