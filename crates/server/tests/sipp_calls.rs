//! SIPp as the phones of real calls through crossbar: SIPp's `*_auth.xml` UAC scenarios call
//! extension 2999 (user name `uas`, so `-s uas` dials it), whose contact is a SIPp UAS
//! registered by the test. Each outcome — answered with RTP both ways and a DTMF digit,
//! cancelled, busy, no answer, rejected — must leave SIPp content on both sides and one
//! record per call in the database with the disposition of DESIGN.md §1.
//!
//! Each test runs its own server with its own relay port range (tests run in parallel).

mod support;

use std::time::Duration;

use crossbar_cdr::{CallRecord, Direction, Disposition, HangupSide};
use support::raw_call::RawCallee;
use support::{
    Extension, Phone, RelayStats, Server, Setup, SippProcess, StoredCalls, free_port,
    free_port_block, run_sipp, spawn_sipp_on,
};

/// The callee extension: SIPp's `-s uas` dials its user name.
const UAS_NUMBER: &str = "2999";

fn uas_extension() -> Extension {
    Extension::new(UAS_NUMBER, "uas", "uas-secret-2999")
}

/// A server with SIPp users 1..=20 and the `uas` extension, a relay range of its own, and
/// `calls` as its `[calls]` section.
fn start_pbx(calls: &str) -> (Setup, Server) {
    let mut setup = Setup::with_sipp_users(20);
    setup.extensions.push(uas_extension());
    setup.relay_media(120, 30);
    setup.extra_toml.push_str(&format!("[calls]\n{calls}\n"));
    let server = setup.start();
    (setup, server)
}

/// Registers `contact` for extension 2999 from a socket of its own (same IP as the
/// contact, so crossbar sends to the contact's port).
fn register_uas(server: &Server, contact: &str) {
    let mut phone = Phone::new(server.addr(), uas_extension());
    let answer = phone.register(&[contact], 3600);
    assert_eq!(answer.status, 200, "REGISTER of {contact}:\n{answer}");
}

/// Starts SIPp scenario `scenario` as the UAS for `calls` calls (extra `args` after), on a
/// free port registered as 2999's contact; ready for calls when this returns.
fn start_uas(server: &Server, scenario: &str, calls: u32, args: &[&str]) -> SippProcess {
    let port = free_port();
    let calls = calls.to_string();
    let mut all = vec!["-m", &calls, "-recv_timeout", "30000", "-timeout", "45s"];
    all.extend_from_slice(args);
    let uas = spawn_sipp_on(scenario, server.addr(), port, &all).ready();
    register_uas(server, &format!("sip:uas@127.0.0.1:{port}"));
    uas
}

/// Runs UAC scenario `scenario` for `calls` calls at 5 calls/s, all allowed up at once,
/// with `args` after; asserts SIPp reports every call successful.
fn run_uac(server: &Server, scenario: &str, calls: u32, args: &[&str]) -> support::SippRun {
    let calls_text = calls.to_string();
    let mut all = vec![
        "-s",
        "uas",
        "-inf",
        "users.csv",
        "-r",
        "5",
        "-m",
        &calls_text,
        "-l",
        &calls_text,
        "-recv_timeout",
        "15000",
        "-timeout",
        "40s",
    ];
    all.extend_from_slice(args);
    let run = run_sipp(scenario, server.addr(), &all, Duration::from_secs(50));
    assert!(
        run.status.success() && run.successful == u64::from(calls) && run.failed == 0,
        "UAC {scenario}: expected {calls} successful calls:\n{}",
        run.report()
    );
    run
}

/// Waits for the UAS to end by itself and asserts every one of its `calls` calls succeeded.
fn finish_uas(uas: SippProcess, scenario: &str, calls: u32) {
    let run = uas.wait(Duration::from_secs(50));
    assert!(
        run.status.success() && run.successful == u64::from(calls) && run.failed == 0,
        "UAS {scenario}: expected {calls} successful calls:\n{}",
        run.report()
    );
}

/// The `calls` records, once all are written, checked for what every call here shares:
/// placed by a SIPp user (1001..) to 2999, internal, not interrupted, nothing left in
/// progress.
fn records(setup: &Setup, calls: usize) -> Vec<CallRecord> {
    let StoredCalls { calls: records, .. } = setup.wait_for_records(calls, Duration::from_secs(15));
    assert_eq!(records.len(), calls, "one record per call:\n{records:#?}");
    for record in &records {
        assert_eq!(record.direction, Direction::Internal, "{record:#?}");
        assert_eq!(record.callee.number, UAS_NUMBER, "{record:#?}");
        assert!(
            record.caller.number.starts_with("10"),
            "a SIPp user placed it: {record:#?}"
        );
        assert!(!record.interrupted, "{record:#?}");
    }
    records
}

/// Answered calls with RTP over `transport` (`-t` of the UAC; the UAS is on UDP): the
/// UAC plays PCMU for 2 s and a DTMF digit, the UAS echoes, the UAC hangs up.
fn answered_calls_carry_rtp_both_ways(transport: &str, calls: u32) {
    let (setup, server) = start_pbx("max_calls_per_extension = 50");
    let uas_media = free_port_block(4).to_string();
    let uac_media = free_port_block(4).to_string();
    let uas = start_uas(
        &server,
        "uas_answer.xml",
        calls,
        &["-mp", &uas_media, "-rtp_echo"],
    );
    let run = run_uac(
        &server,
        "uac_call_auth.xml",
        calls,
        &["-t", transport, "-mp", &uac_media, "-d", "2000"],
    );
    finish_uas(uas, "uas_answer.xml", calls);
    eprintln!(
        "{calls} answered calls over -t {transport} in {:?}",
        run.elapsed
    );

    for record in records(&setup, calls as usize) {
        assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
        assert_eq!(record.hangup_by, HangupSide::Caller, "{record:#?}");
        assert_eq!(
            record.answered_by.as_deref(),
            Some(UAS_NUMBER),
            "{record:#?}"
        );
        assert_eq!(record.sip_status, None, "{record:#?}");
        // 2 s of pcap, then the DTMF and 300 ms before the BYE.
        assert!(
            (1..=4).contains(&record.timings.talk_secs),
            "talk time of a 2 s call: {record:#?}"
        );
    }

    // One relay per call, each having forwarded the UAC's audio to the UAS and the echo
    // back, and the DTMF digit.
    let closed = |l: &str| l.contains("relay closed");
    assert!(
        server.wait_for_lines(closed, calls as usize, Duration::from_secs(10)),
        "{} `relay closed` lines for {calls} calls",
        server.count_lines(closed)
    );
    let relays = RelayStats::of(&server);
    assert_eq!(relays.len(), calls as usize, "{relays:#?}");
    for relay in &relays {
        // 2 s of 20 ms packets is 100; the pcap player starts a little after the ACK.
        assert!(
            relay.a_to_b_packets >= 50,
            "the caller's RTP reached the callee through the relay (SIPp's pcap player \
             needs root or CAP_NET_RAW): {relay:?}"
        );
        assert!(
            relay.b_to_a_packets >= 50,
            "the callee's echo reached the caller through the relay: {relay:?}"
        );
        assert!(
            relay.telephone_events >= 1,
            "the DTMF digit was seen: {relay:?}"
        );
    }
    server.stop();
}

#[test]
fn answered_sipp_calls_relay_rtp_both_ways_and_are_recorded_answered() {
    answered_calls_carry_rtp_both_ways("u1", 10);
}

#[test]
fn answered_sipp_calls_over_tcp_are_recorded_answered() {
    answered_calls_carry_rtp_both_ways("t1", 5);
}

#[test]
fn a_caller_hanging_up_while_it_rings_is_recorded_cancelled() {
    let (setup, server) = start_pbx("max_calls_per_extension = 50");
    let calls = 5;
    let uas = start_uas(&server, "uas_noanswer.xml", calls, &[]);
    run_uac(&server, "uac_cancel_auth.xml", calls, &["-d", "2000"]);
    finish_uas(uas, "uas_noanswer.xml", calls);
    for record in records(&setup, calls as usize) {
        assert_eq!(record.disposition, Disposition::Cancelled, "{record:#?}");
        assert_eq!(record.hangup_by, HangupSide::Caller, "{record:#?}");
        assert_eq!(record.sip_status, Some(487), "{record:#?}");
        assert_eq!(record.answered_by, None, "{record:#?}");
        assert_eq!(record.timings.talk_secs, 0, "{record:#?}");
        assert!(
            (1..=4).contains(&record.timings.ring_secs),
            "rang for the 2 s before the CANCEL: {record:#?}"
        );
    }
    server.stop();
}

#[test]
fn a_callee_answering_486_is_recorded_busy() {
    let (setup, server) = start_pbx("max_calls_per_extension = 50");
    let calls = 5;
    let uas = start_uas(&server, "uas_busy.xml", calls, &[]);
    run_uac(&server, "uac_expect_failure_auth.xml", calls, &[]);
    finish_uas(uas, "uas_busy.xml", calls);
    for record in records(&setup, calls as usize) {
        assert_eq!(record.disposition, Disposition::Busy, "{record:#?}");
        assert_eq!(record.hangup_by, HangupSide::Callee, "{record:#?}");
        assert_eq!(record.sip_status, Some(486), "{record:#?}");
        assert_eq!(record.answered_by, None, "{record:#?}");
        assert_eq!(record.timings.talk_secs, 0, "{record:#?}");
    }
    server.stop();
}

#[test]
fn a_callee_that_never_answers_gets_cancelled_at_the_ring_timeout_and_is_recorded_no_answer() {
    let (setup, server) = start_pbx("ring_timeout_secs = 3\nmax_calls_per_extension = 50");
    let calls = 3;
    let uas = start_uas(&server, "uas_noanswer.xml", calls, &[]);
    let run = run_uac(
        &server,
        "uac_expect_failure_auth.xml",
        calls,
        &["-trace_msg"],
    );
    // The UAS saw crossbar's CANCEL (its scenario ends only on one).
    finish_uas(uas, "uas_noanswer.xml", calls);
    let messages = run.trace("messages");
    assert_eq!(
        messages.matches("SIP/2.0 480").count(),
        calls as usize,
        "the caller got one 480 per call:\n{messages}"
    );
    for record in records(&setup, calls as usize) {
        assert_eq!(record.disposition, Disposition::NoAnswer, "{record:#?}");
        assert_eq!(record.hangup_by, HangupSide::System, "{record:#?}");
        assert_eq!(
            record.disposition_detail.as_deref(),
            Some("ring timeout"),
            "{record:#?}"
        );
        assert_eq!(record.sip_status, Some(480), "{record:#?}");
        assert_eq!(record.answered_by, None, "{record:#?}");
        assert!(
            (2..=4).contains(&record.timings.ring_secs),
            "rang for the 3 s ring timeout: {record:#?}"
        );
    }
    server.stop();
}

#[test]
fn a_callee_declining_with_603_is_recorded_rejected() {
    let (setup, server) = start_pbx("max_calls_per_extension = 50");
    let mut callee = RawCallee::new(server.addr(), "uas");
    register_uas(&server, &callee.contact());
    let uac = spawn_sipp_on(
        "uac_expect_failure_auth.xml",
        server.addr(),
        free_port(),
        &[
            "-s",
            "uas",
            "-inf",
            "users.csv",
            "-m",
            "1",
            "-trace_msg",
            "-recv_timeout",
            "15000",
            "-timeout",
            "30s",
        ],
    );
    let invite = callee.ring(Duration::from_secs(15));
    callee.decline(&invite, 603);
    let run = uac.wait(Duration::from_secs(40));
    assert!(
        run.status.success() && run.successful == 1,
        "the caller accepts the 603:\n{}",
        run.report()
    );
    let messages = run.trace("messages");
    assert!(
        messages.contains("SIP/2.0 603"),
        "the caller got the 603:\n{messages}"
    );
    let records = records(&setup, 1);
    let record = &records[0];
    assert_eq!(record.disposition, Disposition::Rejected, "{record:#?}");
    assert_eq!(record.hangup_by, HangupSide::Callee, "{record:#?}");
    assert_eq!(record.sip_status, Some(603), "{record:#?}");
    assert_eq!(record.answered_by, None, "{record:#?}");
    server.stop();
}
