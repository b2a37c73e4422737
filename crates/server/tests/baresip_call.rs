//! Two baresip phones call each other through crossbar with audio both ways: 201 dials 202,
//! 202 answers by itself, both send a 440 Hz tone as PCMU for about eight seconds, then
//! 201 hangs up. The relay must have carried about 50 packets a second each way, each
//! phone's own RTCP summary must show it received the other's audio, and the call must be
//! recorded answered.

mod support;

use std::time::{Duration, Instant};

use crossbar_cdr::{Direction, Disposition, HangupSide};
use support::baresip::{Baresip, rtcp_summary};
use support::{Extension, RelayStats, Setup};

/// How long the call stays up before 201 hangs up.
const TALK: Duration = Duration::from_secs(8);

#[test]
fn two_baresip_phones_talk_through_the_relay_both_ways() {
    let mut setup = Setup::new();
    setup.extensions = vec![
        Extension::new("201", "201", "alice-secret-201"),
        Extension::new("202", "202", "bob-secret-202"),
    ];
    setup.relay_media(20, 30);
    let server = setup.start();
    let registrar = format!("127.0.0.1:{}", server.port);
    let phones = tempfile::tempdir().expect("a temp dir for the phones");
    let is_registered = |number: &str| {
        let needle = format!("extension={number} ");
        move |l: &str| l.contains(" registered ") && l.contains(&needle)
    };

    // 202 answers every call by itself.
    let callee = Baresip::start(
        phones.path(),
        "202",
        &format!("<sip:202@{registrar};transport=udp>;auth_pass=bob-secret-202;answermode=auto"),
        "",
        &[],
        Duration::from_secs(40),
    );
    assert!(
        server.wait_for_lines(is_registered("202"), 1, Duration::from_secs(10)),
        "202 did not register:\n{}",
        server.log_text()
    );

    // 201 dials 202 as soon as it runs.
    let caller = Baresip::start(
        phones.path(),
        "201",
        &format!("<sip:201@{registrar};transport=udp>;auth_pass=alice-secret-201"),
        "",
        &["-e", "/dial 202"],
        Duration::from_secs(40),
    );
    let answered = server.wait_for_line(" answered ", Duration::from_secs(15));
    assert!(
        answered.is_some(),
        "the call was not answered:\n{}",
        server.log_text()
    );
    let up = Instant::now();
    std::thread::sleep(TALK);
    caller.command("/hangup");
    assert!(
        server
            .wait_for_line("relay closed", Duration::from_secs(10))
            .is_some(),
        "the call did not end after 201 hung up:\n{}",
        server.log_text()
    );
    let talked = up.elapsed();
    let caller_output = caller.quit(Duration::from_secs(15));
    let callee_output = callee.quit(Duration::from_secs(15));

    // The relay carried ~50 packets/s each way (20 ms of PCMU each).
    let relays = RelayStats::of(&server);
    assert_eq!(relays.len(), 1, "{relays:?}");
    let relay = &relays[0];
    eprintln!("{relay:?} in {talked:?}");
    assert!(
        relay.a_to_b_packets > 100 && relay.b_to_a_packets > 100,
        "audio went both ways through the relay: {relay:?}\n201:\n{caller_output}\n202:\n{callee_output}"
    );
    assert_eq!(
        (relay.a_to_b_lost, relay.b_to_a_lost),
        (0, 0),
        "nothing lost on loopback: {relay:?}"
    );

    // Each phone's RTCP statistics (updated every few seconds, so behind the relay's
    // count) show that it received the other's audio and sent its own.
    for (phone, output) in [("201", &caller_output), ("202", &callee_output)] {
        let (received, sent) = rtcp_summary(output, phone);
        eprintln!("{phone}: RTCP summary: {received} packets received, {sent} sent");
        assert!(
            received > 100 && sent > 100,
            "{phone} received {received} and sent {sent} RTP packets; output:\n{output}"
        );
    }

    let stored = setup.wait_for_records(1, Duration::from_secs(10));
    assert_eq!(stored.calls.len(), 1, "{:#?}", stored.calls);
    let record = &stored.calls[0];
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
    assert_eq!(record.direction, Direction::Internal, "{record:#?}");
    assert_eq!(
        (record.caller.number.as_str(), record.callee.number.as_str()),
        ("201", "202"),
        "{record:#?}"
    );
    assert_eq!(record.answered_by.as_deref(), Some("202"), "{record:#?}");
    assert_eq!(record.hangup_by, HangupSide::Caller, "{record:#?}");
    assert!(!record.interrupted, "{record:#?}");
    let talk = u32::try_from(talked.as_secs()).expect("seconds fit");
    assert!(
        record.timings.talk_secs + 2 >= talk && record.timings.talk_secs <= talk + 2,
        "talked for {talked:?}: {record:#?}"
    );
    server.stop();
}
