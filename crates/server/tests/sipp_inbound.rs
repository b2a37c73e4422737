//! Incoming calls against real peers: SIPp as the carrier (the trunk's `address` is the SIPp
//! UAC's port, so crossbar takes its INVITEs for the trunk's) calling a DID, SIPp UASes
//! registered as the extensions that answer. The route, the office hours, the menu and the
//! hunt group decide; what the wire and the database show is checked:
//!
//! - in office hours crossbar answers the caller itself and plays the greeting — heard on
//!   the wire by a UDP socket of the test, whose port the caller's SDP offers: audible
//!   G.711, one RTP stream, 20 ms apart — then the key 2, sent as an RFC 4733 event, rings
//!   extension 203, whose answer puts the caller through; the record has the route path;
//! - on a holiday, and under a manual override to closed set through the HTTP API of the
//!   running server, the call goes to the closed destination without a menu;
//! - a hunt group whose first member is busy is answered by the second;
//! - a caller hanging up in the menu is abandoned in the IVR.
//!
//! Each test runs its own server with its own relay port range (tests run in parallel).

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbar_cdr::{CallRecord, Direction, Disposition, HangupSide, Stage, StepKind};
use support::{
    CROSSBAR, Extension, Phone, RelayStats, Server, Setup, SippProcess, SippRun, free_port,
    free_port_block, require_program, shared, spawn_sipp_on, spawn_sipp_with,
};

/// The office's main number: office hours → the menu, else extension 204.
const MAIN_DID: &str = "+442079460000";
/// The sales number: straight to the hunt group (201, then 202).
const SALES_DID: &str = "+442079460001";
/// Who the carrier says is calling (the `From` of the UAC scenarios).
const CALLER: &str = "+447700900123";
/// The site's time zone: holidays are dates there.
const TIMEZONE: &str = "Europe/London";

/// Length of the greeting the test generates: 2 s of 440 Hz, 100 frames of 20 ms.
const GREETING_SECS: u32 = 2;
const GREETING_FRAMES: usize = 100;

fn alice() -> Extension {
    Extension::new("201", "alice", "alice-secret-201")
}

fn bob() -> Extension {
    Extension::new("202", "bob", "bob-secret-202")
}

fn carol() -> Extension {
    Extension::new("203", "carol", "carol-secret-203")
}

fn dave() -> Extension {
    Extension::new("204", "dave", "dave-secret-204")
}

/// The office: carrier `carrier_port` (127.0.0.1) is the trunk; the main number goes to
/// office hours (open all day every day but on `holidays`, MM-DD) → menu `main` (1 → the
/// sales group, 2 → 203, no direct dial, 10 s for a key), closed → 204; the sales number
/// goes to the hunt group 201, 202.
fn office_toml(carrier_port: u16, holidays: &[String]) -> String {
    let holidays: Vec<String> = holidays.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        r#"
[site]
country = "GB"
timezone = "{TIMEZONE}"

[[trunk]]
name = "carrier"
address = "127.0.0.1:{carrier_port}"
options_interval_secs = 0

[[inbound_route]]
name = "main"
trunks = ["carrier"]
dids = ["{MAIN_DID}"]
destination = "tc:office-hours"

[[inbound_route]]
name = "sales"
trunks = ["carrier"]
dids = ["{SALES_DID}"]
destination = "group:sales"

[[time_condition]]
name = "office-hours"
open = ["mon-sun 00:00-24:00"]
holidays = [{holidays}]
when_open = "ivr:main"
when_closed = "ext:204"

[[ivr]]
name = "main"
prompt = "greeting"
options = {{ "1" = "group:sales", "2" = "ext:203" }}
direct_dial = false
timeout_secs = 10
retries = 1
on_failure = "hangup"

[[ring_group]]
name = "sales"
strategy = "hunt"
members = ["201", "202"]
ring_secs = 10

[prompts]
dir = "prompts"
default_language = "en"
"#,
        holidays = holidays.join(", ")
    )
}

/// Writes the greeting into the setup's `prompts/en/`: a 440 Hz tone at half scale, 8 kHz
/// 16-bit mono, made by sox (deterministic, and loud enough to tell from silence).
fn write_greeting(setup: &Setup) {
    let sox = require_program(
        "sox",
        "install sox with scripts/install-deps.sh (Debian package sox)",
    );
    let dir = setup.dir().join("prompts/en");
    std::fs::create_dir_all(&dir).expect("the prompts directory can be created");
    let out = Command::new(sox)
        .args(["-n", "-r", "8000", "-b", "16", "-c", "1"])
        .arg(dir.join("greeting.wav"))
        .args([
            "synth",
            &GREETING_SECS.to_string(),
            "sine",
            "440",
            "vol",
            "0.5",
        ])
        .output()
        .expect("sox runs");
    assert!(
        out.status.success(),
        "sox made no greeting: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A setup for the office with extensions 201–204, a relay range of its own and the
/// greeting, the carrier at `carrier_port`; `extra` appended (an `[http]` section).
fn office(carrier_port: u16, holidays: &[String], extra: &str) -> Setup {
    let mut setup = Setup::new();
    setup.extensions = vec![alice(), bob(), carol(), dave()];
    setup.relay_media(40, 30);
    setup
        .extra_toml
        .push_str(&office_toml(carrier_port, holidays));
    setup.extra_toml.push_str(extra);
    write_greeting(&setup);
    setup
}

/// SIPp UAS `scenario` for one call (`args` after), registered as `extension`'s contact;
/// ready.
fn phone(server: &Server, extension: &Extension, scenario: &str, args: &[&str]) -> SippProcess {
    let port = free_port();
    let media = free_port_block(4).to_string();
    let mut all = vec![
        "-m",
        "1",
        "-mp",
        &media,
        "-recv_timeout",
        "30000",
        "-timeout",
        "40s",
    ];
    all.extend_from_slice(args);
    let uas = spawn_sipp_on(scenario, server.addr(), port, &all).ready();
    let contact = format!("sip:{}@127.0.0.1:{port}", extension.username);
    let answer = Phone::new(server.addr(), extension.clone()).register(&[&contact], 3600);
    assert_eq!(
        answer.status, 200,
        "REGISTER of {contact} for {}:\n{answer}",
        extension.number
    );
    uas
}

/// The carrier's call: SIPp UAC `scenario` from `carrier_port` (the trunk's address) to
/// `did`, with `args` after and `files` in its working directory.
fn carrier_call(
    server: &Server,
    carrier_port: u16,
    scenario: &str,
    did: &str,
    args: &[&str],
    files: &[&Path],
) -> SippProcess {
    let media = free_port_block(4).to_string();
    let mut all = vec![
        "-s",
        did,
        "-m",
        "1",
        "-mp",
        &media,
        "-recv_timeout",
        "15000",
        "-timeout",
        "30s",
    ];
    all.extend_from_slice(args);
    spawn_sipp_with(scenario, server.addr(), carrier_port, &all, files)
}

/// Waits for SIPp to end by itself and asserts its one call succeeded.
fn succeeded(sipp: SippProcess, what: &str) -> SippRun {
    let run = sipp.wait(Duration::from_secs(45));
    assert!(
        run.status.success() && run.successful == 1 && run.failed == 0,
        "{what}: expected one successful call:\n{}",
        run.report()
    );
    run
}

/// The one call record, once written; every call here is the carrier's, inbound.
fn the_record(setup: &Setup) -> CallRecord {
    let stored = setup.wait_for_records(1, Duration::from_secs(15));
    assert_eq!(stored.calls.len(), 1, "one record:\n{:#?}", stored.calls);
    let record = stored.calls.into_iter().next().expect("one record");
    assert_eq!(record.direction, Direction::Inbound, "{record:#?}");
    assert_eq!(record.caller.number, CALLER, "{record:#?}");
    assert!(!record.interrupted, "{record:#?}");
    let inbound = record.inbound.as_ref().expect("the inbound part is stored");
    assert_eq!(inbound.trunk, "carrier", "{record:#?}");
    record
}

/// The route path as (kind, name, result).
fn path(record: &CallRecord) -> Vec<(StepKind, &str, &str)> {
    record
        .path
        .iter()
        .map(|s| (s.kind, s.name.as_str(), s.result.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// What crossbar plays, heard on the wire
// ---------------------------------------------------------------------------------------

/// One RTP packet as it arrived.
#[derive(Debug, Clone)]
struct Heard {
    at: Instant,
    marker: bool,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

impl Heard {
    /// An RTP packet (RFC 3550 §5.1: version 2, no CSRC or extension from crossbar's player).
    fn parse(at: Instant, bytes: &[u8]) -> Option<Heard> {
        if bytes.len() < 12 || bytes[0] >> 6 != 2 {
            return None;
        }
        let csrcs = usize::from(bytes[0] & 0x0f);
        let start = 12 + 4 * csrcs;
        Some(Heard {
            at,
            marker: bytes[1] & 0x80 != 0,
            payload_type: bytes[1] & 0x7f,
            sequence: u16::from_be_bytes([bytes[2], bytes[3]]),
            timestamp: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            ssrc: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            payload: bytes.get(start..)?.to_vec(),
        })
    }

    /// The RMS level of the payload as G.711 µ-law, in 16-bit linear units.
    fn rms(&self) -> f64 {
        if self.payload.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .payload
            .iter()
            .map(|&u| f64::from(ulaw_to_linear(u)).powi(2))
            .sum();
        (sum / self.payload.len() as f64).sqrt()
    }
}

/// ITU-T G.711 µ-law to 16-bit linear.
fn ulaw_to_linear(ulaw: u8) -> i16 {
    let ulaw = !ulaw;
    let exponent = (ulaw >> 4) & 0x07;
    let mantissa = i16::from(ulaw & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if ulaw & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Collects the RTP packets arriving on `socket` in a thread: from the first one until
/// `quiet` passes without another (the prompt has ended), or `limit` passes in all.
fn listen_rtp(socket: UdpSocket, quiet: Duration, limit: Duration) -> JoinHandle<Vec<Heard>> {
    std::thread::spawn(move || {
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("a non-zero timeout is accepted");
        let started = Instant::now();
        let mut heard: Vec<Heard> = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            let now = Instant::now();
            let done = match heard.last() {
                Some(last) => now.duration_since(last.at) >= quiet,
                None => false,
            };
            if done || now.duration_since(started) >= limit {
                return heard;
            }
            match socket.recv_from(&mut buf) {
                Ok((len, _)) => {
                    if let Some(packet) = Heard::parse(Instant::now(), &buf[..len]) {
                        heard.push(packet);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("RTP receive failed: {e}"),
            }
        }
    })
}

/// `count` consecutive packets of one stream: the same SSRC, sequence numbers up by one and
/// timestamps by 160 (one 20 ms frame at 8 kHz, RFC 3551 §4.5.14) from packet to packet.
fn assert_one_continuous_stream(packets: &[Heard]) {
    for pair in packets.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(b.ssrc, a.ssrc, "one RTP source: {a:?} then {b:?}");
        assert_eq!(
            b.sequence,
            a.sequence.wrapping_add(1),
            "sequence numbers continue (none lost, none repeated): {} then {}",
            a.sequence,
            b.sequence
        );
        assert_eq!(
            b.timestamp,
            a.timestamp.wrapping_add(160),
            "timestamps go up by 160 per packet: {} then {} (sequence {})",
            a.timestamp,
            b.timestamp,
            b.sequence
        );
    }
}

/// The caller's RTP, made by the shared generator (`gen_pcap.py OUTDIR SECONDS DIGIT`) into
/// `dir`: the key 2 as an RFC 4733 event (`dtmf_2_pt101.pcap`) and 1 s of PCMU
/// (`pcmu_1s.pcap`).
fn caller_pcaps(dir: &Path) -> [PathBuf; 2] {
    let python = require_program("python3", "install python3 (shared/sipp/gen_pcap.py)");
    let out_dir = dir.join("pcap-made");
    let out = Command::new(python)
        .arg(shared("sipp/gen_pcap.py"))
        .arg(&out_dir)
        .args(["1", "2"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "gen_pcap.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ["dtmf_2_pt101.pcap", "pcmu_1s.pcap"].map(|name| {
        let pcap = out_dir.join(name);
        assert!(pcap.is_file(), "gen_pcap.py made no {}", pcap.display());
        pcap
    })
}

#[test]
fn in_office_hours_the_caller_hears_the_greeting_and_the_key_2_puts_them_through_to_203() {
    let carrier_port = free_port();
    let setup = office(carrier_port, &[], "");
    let server = setup.start();
    let carol = phone(&server, &carol(), "uas_answer.xml", &["-rtp_echo"]);

    let receiver = UdpSocket::bind("127.0.0.1:0").expect("the RTP receiver binds");
    let rtp_port = receiver
        .local_addr()
        .expect("a bound socket has an address")
        .port()
        .to_string();
    let listening = listen_rtp(
        receiver,
        Duration::from_millis(1000),
        Duration::from_secs(15),
    );
    let [digit, audio] = caller_pcaps(setup.dir());
    // The greeting lasts 2 s from crossbar's 200; the caller keys 2 after 3.5 s. Any
    // request crossbar sent the caller (a re-INVITE) would fail SIPp's call.
    let caller = carrier_call(
        &server,
        carrier_port,
        "uac_carrier_menu.xml",
        MAIN_DID,
        &["-key", "rtp_port", &rtp_port, "-d", "3500"],
        &[&digit, &audio],
    );
    let heard = listening.join().expect("the RTP receiver does not panic");
    succeeded(caller, "the carrier's call");
    succeeded(carol, "203 answering");

    // The greeting on the wire: the first play (a later one starts with the marker bit).
    assert!(!heard.is_empty(), "crossbar played nothing to the caller");
    assert!(heard[0].marker, "a play starts with the marker bit");
    let end = heard
        .iter()
        .skip(1)
        .position(|p| p.marker)
        .map_or(heard.len(), |i| i + 1);
    let greeting = &heard[..end];
    let summary = format!(
        "{} packets heard, {} in the greeting",
        heard.len(),
        greeting.len()
    );
    assert!(
        (GREETING_FRAMES - 5..=GREETING_FRAMES).contains(&greeting.len()),
        "the 2 s greeting is {GREETING_FRAMES} frames: {summary}"
    );
    assert!(
        greeting
            .iter()
            .all(|p| p.payload_type == 0 && p.payload.len() == 160),
        "PCMU (the caller's first codec), 160 octets per packet: {summary}"
    );
    assert_one_continuous_stream(greeting);
    // Audible: a half-scale tone is ~11 600 RMS; silence in µ-law is 0 to 8.
    let loud = greeting.iter().filter(|p| p.rms() > 2000.0).count();
    assert!(
        loud * 10 >= GREETING_FRAMES * 9,
        "{loud} of {} packets carry the tone (RMS > 2000); levels: {:?}",
        greeting.len(),
        greeting.iter().map(|p| p.rms().round()).collect::<Vec<_>>()
    );
    // Paced at 20 ms: the mean over the whole greeting (no per-packet timing on a loaded
    // machine).
    let span = greeting[greeting.len() - 1].at - greeting[0].at;
    let mean = span / u32::try_from(greeting.len() - 1).expect("a hundred packets");
    assert!(
        (Duration::from_millis(18)..=Duration::from_millis(22)).contains(&mean),
        "mean packet spacing {mean:?} over {} packets",
        greeting.len()
    );

    eprintln!(
        "greeting: {summary}, {loud} loud, mean spacing {mean:?}, first rms {:.0}",
        greeting[0].rms()
    );

    let record = the_record(&setup);
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
    assert_eq!(record.answered_by.as_deref(), Some("203"), "{record:#?}");
    assert_eq!(record.hangup_by, HangupSide::Caller, "{record:#?}");
    let inbound = record.inbound.as_ref().expect("inbound part");
    assert_eq!(inbound.did, MAIN_DID);
    assert_eq!(inbound.route.as_deref(), Some("main"));
    let path = path(&record);
    assert_eq!(path.len(), 4, "{path:#?}");
    assert_eq!(
        (path[0].0, path[0].1),
        (StepKind::Route, "main"),
        "{path:#?}"
    );
    assert_eq!(
        (path[1].0, path[1].1),
        (StepKind::TimeCondition, "office-hours"),
        "{path:#?}"
    );
    assert!(path[1].2.starts_with("open"), "{path:#?}");
    assert_eq!(path[2], (StepKind::Ivr, "main", "entered"), "{path:#?}");
    assert_eq!(
        path[3],
        (StepKind::Digit, "main", "2 → ext:203"),
        "{path:#?}"
    );

    // Put through by re-pointing the relay: the caller's second of audio (50 packets, after
    // the key's 8) reached 203 and 203's echo came back.
    assert!(
        server
            .wait_for_line("relay closed", Duration::from_secs(10))
            .is_some(),
        "the relay closes"
    );
    let relays = RelayStats::of(&server);
    assert_eq!(relays.len(), 1, "{relays:#?}");
    assert!(relays[0].telephone_events >= 1, "{relays:#?}");
    assert!(
        relays[0].a_to_b_packets >= 8 + 40 && relays[0].b_to_a_packets >= 40,
        "the caller's PCMU reached 203 and its echo came back: {relays:#?}"
    );
    server.stop();
}

/// Today and tomorrow in the site's time zone, as MM-DD (tomorrow too, so a test that runs
/// across midnight still calls on a holiday).
fn today_and_tomorrow() -> Vec<String> {
    let zone = jiff::tz::TimeZone::get(TIMEZONE).expect("the time zone database has London");
    let today = jiff::Timestamp::now().to_zoned(zone).date();
    let tomorrow = today.tomorrow().expect("tomorrow is a date");
    [today, tomorrow]
        .iter()
        .map(|d| format!("{:02}-{:02}", d.month(), d.day()))
        .collect()
}

/// A call to the main number while the office is closed: 204 answers, no menu (the caller
/// hears 204 ringing, no menu on the path).
fn a_call_goes_to_the_closed_destination(setup: &Setup, server: &Server, carrier_port: u16) {
    let dave = phone(server, &dave(), "uas_answer.xml", &[]);
    let caller = carrier_call(
        server,
        carrier_port,
        "uac_carrier.xml",
        MAIN_DID,
        &["-d", "1000", "-trace_msg"],
        &[],
    );
    let run = succeeded(caller, "the carrier's call");
    succeeded(dave, "204 answering");
    let messages = run.trace("messages");
    assert!(
        messages.contains("SIP/2.0 180"),
        "204's ringing reaches the caller: crossbar did not answer it itself:\n{messages}"
    );
    let record = the_record(setup);
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
    assert_eq!(record.answered_by.as_deref(), Some("204"), "{record:#?}");
    let path = path(&record);
    assert!(
        path.iter().all(|s| s.0 != StepKind::Ivr),
        "no menu: {path:#?}"
    );
}

#[test]
fn on_a_holiday_the_main_number_goes_to_the_closed_destination_without_the_menu() {
    let carrier_port = free_port();
    let holidays = today_and_tomorrow();
    let setup = office(carrier_port, &holidays, "");
    let server = setup.start();
    a_call_goes_to_the_closed_destination(&setup, &server, carrier_port);
    let record = the_record(&setup);
    let path = path(&record);
    assert_eq!(path.len(), 2, "{path:#?}");
    assert_eq!(
        (path[0].0, path[0].1),
        (StepKind::Route, "main"),
        "{path:#?}"
    );
    assert_eq!(
        (path[1].0, path[1].1),
        (StepKind::TimeCondition, "office-hours"),
        "{path:#?}"
    );
    assert!(
        path[1].2.starts_with("closed (holiday"),
        "closed for today's holiday ({holidays:?}): {path:#?}"
    );
    server.stop();
}

/// `crossbar token new NAME`: the token and its `[http] tokens` entry.
fn new_token(name: &str) -> (String, String) {
    let out = Command::new(CROSSBAR)
        .args(["token", "new", name])
        .output()
        .expect("the crossbar binary runs");
    assert!(out.status.success(), "crossbar token new failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut indented = text.lines().filter_map(|l| l.strip_prefix("    "));
    let token = indented.next().expect("the token, indented").to_owned();
    let entry = indented.next().expect("the entry, indented").to_owned();
    (token, entry)
}

/// One HTTP/1.1 request to `addr` (connection closed after it): the status and the body.
fn http(addr: SocketAddr, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    support::api_text(addr, token, method, path, Some(body))
}

#[test]
fn a_manual_override_to_closed_through_the_api_sends_the_main_number_to_the_closed_destination() {
    let carrier_port = free_port();
    let http_port = free_port();
    let (token, entry) = new_token("inbound-test");
    let setup = office(
        carrier_port,
        &[],
        &format!("\n[http]\nlisten = \"127.0.0.1:{http_port}\"\ntokens = [{entry}]\n"),
    );
    let server = setup.start();
    let api: SocketAddr = ([127, 0, 0, 1], http_port).into();
    let (status, body) = http(
        api,
        "PUT",
        "/api/time-conditions/office-hours/override",
        &token,
        r#"{"mode": "closed"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""mode":"closed""#), "{body}");
    // The server reads the overrides every 2 s.
    std::thread::sleep(Duration::from_millis(3000));

    a_call_goes_to_the_closed_destination(&setup, &server, carrier_port);
    let record = the_record(&setup);
    let path = path(&record);
    assert_eq!(
        path[1],
        (StepKind::TimeCondition, "office-hours", "closed (override)"),
        "{path:#?}"
    );
    server.stop();
}

#[test]
fn a_hunt_group_whose_first_member_is_busy_is_answered_by_the_second() {
    let carrier_port = free_port();
    let setup = office(carrier_port, &[], "");
    let server = setup.start();
    let alice = phone(&server, &alice(), "uas_busy.xml", &[]);
    let bob = phone(&server, &bob(), "uas_answer.xml", &[]);
    let caller = carrier_call(
        &server,
        carrier_port,
        "uac_carrier.xml",
        SALES_DID,
        &["-d", "1000"],
        &[],
    );
    succeeded(caller, "the carrier's call");
    succeeded(alice, "201 busy");
    succeeded(bob, "202 answering");

    let record = the_record(&setup);
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
    assert_eq!(record.answered_by.as_deref(), Some("202"), "{record:#?}");
    assert_eq!(
        record.inbound.as_ref().and_then(|i| i.route.as_deref()),
        Some("sales")
    );
    let path = path(&record);
    let group: Vec<(&str, &str)> = path
        .iter()
        .filter(|s| s.0 == StepKind::Group)
        .map(|s| (s.1, s.2))
        .collect();
    assert_eq!(
        group,
        [("sales", "hunt: 201, 202"), ("sales", "answered by 202")],
        "{path:#?}"
    );
    let callees: Vec<(&str, Option<u16>)> = record
        .legs
        .iter()
        .skip(1)
        .map(|l| (l.target.as_str(), l.final_status))
        .collect();
    assert_eq!(
        callees,
        [("201", Some(486)), ("202", Some(200))],
        "{record:#?}"
    );
    server.stop();
}

#[test]
fn a_caller_hanging_up_in_the_menu_is_recorded_abandoned_in_the_ivr() {
    let carrier_port = free_port();
    let setup = office(carrier_port, &[], "");
    let server = setup.start();
    let caller = carrier_call(
        &server,
        carrier_port,
        "uac_carrier.xml",
        MAIN_DID,
        &["-d", "2000"],
        &[],
    );
    succeeded(caller, "the carrier's call");

    let record = the_record(&setup);
    assert_eq!(record.disposition, Disposition::Abandoned, "{record:#?}");
    assert_eq!(record.abandoned_stage, Some(Stage::Ivr), "{record:#?}");
    assert_eq!(record.hangup_by, HangupSide::Caller, "{record:#?}");
    assert_eq!(record.answered_by, None, "{record:#?}");
    let path = path(&record);
    assert!(
        path.contains(&(StepKind::Ivr, "main", "entered")),
        "{path:#?}"
    );
    assert!(
        path.iter().all(|s| s.0 != StepKind::Digit),
        "no key: {path:#?}"
    );
    server.stop();
}
