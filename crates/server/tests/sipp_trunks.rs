//! Outbound calls against real peers: SIPp as the extensions placing calls and as two
//! carriers (UAS on two ports, one refusing with 503), and a second crossbar as a carrier
//! with a real registrar (digest) and OPTIONS. What the extension, the carriers and the
//! database see is checked: failover within the call, both attempts and the cost on the
//! record, a denied call that reaches no carrier, a fraud cap that blocks the extension across
//! a restart until released, and a trunk that registers, refreshes, goes down and comes back.

mod support;

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use crossbar_cdr::{DestinationClass, Direction, Disposition, Money};
use support::{
    CROSSBAR, Extension, Server, Setup, SippRun, free_port, free_port_block, run_sipp,
    spawn_sipp_on, wait_until,
};

/// A London number as an extension dials it, and as carriers get it.
const LONDON: &str = "02079460000";
const LONDON_E164: &str = "+442079460000";

/// The site, its classes and a least-cost route over two UDP carriers at `a` and `b`
/// (127.0.0.1 ports): A is cheaper for UK numbers. No health checks (SIPp's scenarios take
/// INVITEs only).
fn outbound_toml(a: u16, b: u16) -> String {
    format!(
        r#"
[site]
country = "GB"
timezone = "Europe/London"
currency = "GBP"

[[class]]
name = "national"
allow = ["emergency", "internal", "local", "national", "mobile", "toll_free"]

[[class]]
name = "capped"
allow = ["emergency", "internal", "local", "national", "mobile", "toll_free", "international"]
max_calls_per_minute = 3

[[trunk]]
name = "carrier-a"
address = "127.0.0.1:{a}"
options_interval_secs = 0

[[trunk]]
name = "carrier-b"
address = "127.0.0.1:{b}"
options_interval_secs = 0

[[rate]]
trunk = "carrier-a"
prefix = "+44"
per_minute = 0.010

[[rate]]
trunk = "carrier-b"
prefix = "+44"
per_minute = 0.020
connection_fee = 0.05
increment = "1/1"

[[outbound_route]]
name = "uk"
match = ["+44*"]
strategy = "least_cost"
trunks = ["carrier-a", "carrier-b"]
caller_id = "+442079460999"

[[outbound_route]]
name = "world"
strategy = "least_cost"
trunks = ["carrier-a"]
"#
    )
}

/// A server with SIPp users 1 (class national) and 2 (class capped) and two carriers.
fn start_pbx(a: u16, b: u16) -> (Setup, Server) {
    let mut setup = Setup::new();
    setup.extensions = vec![
        Extension::sipp_user(1).with("class = \"national\""),
        Extension::sipp_user(2).with("class = \"capped\""),
    ];
    setup.relay_media(40, 30);
    setup.extra_toml.push_str(&outbound_toml(a, b));
    let server = setup.start();
    (setup, server)
}

/// An injection file with SIPp user `n` only, so every call of a run is that user's.
fn user_file(setup: &Setup, n: u32) -> String {
    let path = setup.dir().join(format!("user{n}.csv"));
    std::fs::write(
        &path,
        format!("SEQUENTIAL\nuser{n:04};[authentication username=user{n:04} password=pw{n:04}]\n"),
    )
    .expect("the injection file can be written");
    path.display().to_string()
}

/// SIPp user `n` places `calls` calls to `dialled` with `scenario` at 10 calls/s.
fn dial(
    setup: &Setup,
    server: &Server,
    n: u32,
    scenario: &str,
    dialled: &str,
    calls: u32,
) -> SippRun {
    let users = user_file(setup, n);
    let calls = calls.to_string();
    let media = free_port_block(4).to_string();
    run_sipp(
        scenario,
        server.addr(),
        &[
            "-s",
            dialled,
            "-inf",
            &users,
            "-r",
            "10",
            "-m",
            &calls,
            "-l",
            &calls,
            "-mp",
            &media,
            "-recv_timeout",
            "15000",
            "-timeout",
            "40s",
        ],
        Duration::from_secs(50),
    )
}

/// A carrier: SIPp `scenario` (a UAS) on `port` for `calls` calls, ready.
fn carrier(server: &Server, scenario: &str, port: u16, calls: u32) -> support::SippProcess {
    let calls = calls.to_string();
    let media = free_port_block(4).to_string();
    spawn_sipp_on(
        scenario,
        server.addr(),
        port,
        &[
            "-m",
            &calls,
            "-mp",
            &media,
            "-recv_timeout",
            "30000",
            "-timeout",
            "45s",
        ],
    )
    .ready()
}

fn assert_all_successful(run: &SippRun, calls: u64, what: &str) {
    assert!(
        run.successful == calls && run.failed == 0,
        "{what}: expected {calls} successful calls:\n{}",
        run.report()
    );
}

#[test]
fn a_call_fails_over_from_a_carrier_answering_503_to_one_that_answers_and_is_costed() {
    let (a, b) = (free_port(), free_port());
    let (setup, server) = start_pbx(a, b);
    let refusing = carrier(&server, "uas_unavailable.xml", a, 1);
    let answering = carrier(&server, "uas_answer.xml", b, 1);
    let run = dial(&setup, &server, 1, "uac_basic_auth.xml", LONDON, 1);
    assert_all_successful(&run, 1, "the extension's call");
    assert_all_successful(
        &refusing.wait(Duration::from_secs(50)),
        1,
        "carrier A (503)",
    );
    assert_all_successful(&answering.wait(Duration::from_secs(50)), 1, "carrier B");

    let stored = setup.wait_for_records(1, Duration::from_secs(15));
    let record = &stored.calls[0];
    assert_eq!(record.direction, Direction::Outbound, "{record:#?}");
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
    let out = record
        .outbound
        .as_ref()
        .expect("the outbound part is stored");
    assert_eq!(out.normalized, LONDON_E164);
    assert_eq!(out.class, DestinationClass::National);
    assert_eq!(out.trunk.as_deref(), Some("carrier-b"));
    assert_eq!(out.attempts, 2, "both attempts are on the record");
    let attempts: Vec<(Option<&str>, Option<u16>)> = record
        .legs
        .iter()
        .filter(|l| l.trunk.is_some())
        .map(|l| (l.trunk.as_deref(), l.final_status))
        .collect();
    assert_eq!(
        attempts,
        [
            (Some("carrier-a"), Some(503)),
            (Some("carrier-b"), Some(200))
        ]
    );
    // SIPp holds the call for its default 0 s after the ACK; B bills per second with a 0.05
    // connection fee: at least the fee, at most fee + 5 s at 0.02/min.
    let fee: Money = "0.05".parse().expect("amount");
    let most: Money = "0.0517".parse().expect("amount");
    assert!(out.cost >= fee && out.cost <= most, "cost {}", out.cost);
    server.stop();
}

#[test]
fn an_international_number_from_a_national_class_is_refused_403_and_no_carrier_hears_of_it() {
    let (a, b) = (free_port(), free_port());
    let carrier_a = UdpSocket::bind(("127.0.0.1", a)).expect("carrier A's port");
    let carrier_b = UdpSocket::bind(("127.0.0.1", b)).expect("carrier B's port");
    let (setup, server) = start_pbx(a, b);
    let run = dial(
        &setup,
        &server,
        1,
        "uac_denied_auth.xml",
        "0033142685300",
        1,
    );
    assert_all_successful(&run, 1, "a 403 with its Reason");
    for (name, socket) in [("A", &carrier_a), ("B", &carrier_b)] {
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
        let mut buf = [0u8; 2048];
        assert!(
            socket.recv(&mut buf).is_err(),
            "carrier {name} received something"
        );
    }
    let stored = setup.wait_for_records(1, Duration::from_secs(15));
    let record = &stored.calls[0];
    assert_eq!(record.disposition, Disposition::Denied, "{record:#?}");
    assert_eq!(record.sip_status, Some(403));
    assert!(
        record
            .disposition_detail
            .as_deref()
            .is_some_and(|d| d.contains("international")),
        "{record:#?}"
    );
    assert_eq!(
        record.outbound.as_ref().map(|o| o.class),
        Some(DestinationClass::International)
    );
    server.stop();
}

#[test]
fn a_burst_past_the_fraud_cap_blocks_the_extension_across_a_restart_until_released() {
    let (a, b) = (free_port(), free_port());
    let (setup, server) = start_pbx(a, b);
    let answering = carrier(&server, "uas_answer.xml", a, 3);
    // Five calls at once from user 2 (3 a minute allowed): three go out, two are refused.
    let burst = dial(&setup, &server, 2, "uac_basic_auth.xml", LONDON, 5);
    assert_eq!(
        (burst.successful, burst.failed),
        (3, 2),
        "three calls answered, two refused:\n{}",
        burst.report()
    );
    assert_all_successful(&answering.wait(Duration::from_secs(50)), 3, "carrier A");
    assert!(
        server
            .wait_for_line("fraud cap tripped", Duration::from_secs(5))
            .is_some(),
        "the block is logged"
    );

    // After a restart, a minute later in spirit (the cap would allow a call): still blocked.
    let port = server.addr().port();
    server.stop();
    let server = setup.start_on(port);
    let refused = dial(&setup, &server, 2, "uac_denied_auth.xml", LONDON, 1);
    assert_all_successful(
        &refused,
        1,
        "the blocked extension is refused after the restart",
    );

    // Released from the command line, while crossbar runs: it may call again within 2 s.
    let unblock = Command::new(CROSSBAR)
        .args(["extension", "unblock", "1002", "--config"])
        .arg(setup.config_path())
        .output()
        .expect("crossbar extension unblock runs");
    assert!(
        unblock.status.success(),
        "{}",
        String::from_utf8_lossy(&unblock.stderr)
    );
    std::thread::sleep(Duration::from_secs(3));
    let answering = carrier(&server, "uas_answer.xml", a, 1);
    let released = dial(&setup, &server, 2, "uac_basic_auth.xml", LONDON, 1);
    assert_all_successful(&released, 1, "the released extension's call");
    assert_all_successful(&answering.wait(Duration::from_secs(50)), 1, "carrier A");

    let stored = setup.wait_for_records(7, Duration::from_secs(15));
    let denied = stored
        .calls
        .iter()
        .filter(|r| r.disposition == Disposition::Denied)
        .count();
    assert_eq!(denied, 3, "two in the burst, one after the restart");
    server.stop();
}

/// The carrier side of the registration test: a crossbar with extension `pbx` (the trunk's
/// account at the carrier), a 60 s minimum expiry, on TCP and UDP.
fn carrier_pbx() -> Setup {
    let mut setup = Setup::new();
    setup.extensions = vec![Extension::new("7000", "pbx", "pbx-trunk-secret")];
    setup
        .extra_toml
        .push_str("[registrar]\nmin_expires = 60\nmax_expires = 60\ndefault_expires = 60\n");
    setup
}

#[test]
fn a_trunk_registers_to_a_real_registrar_refreshes_goes_down_with_it_and_comes_back() {
    let carrier_setup = carrier_pbx();
    let carrier = carrier_setup.start();
    let carrier_port = carrier.addr().port();
    let mut setup = Setup::new();
    setup.extensions = vec![Extension::sipp_user(1).with("class = \"national\"")];
    setup.extra_toml.push_str(&format!(
        r#"
[site]
country = "GB"
timezone = "Europe/London"

[[class]]
name = "national"
allow = ["emergency", "internal", "local", "national", "mobile", "toll_free"]

[[trunk]]
name = "carrier"
address = "127.0.0.1:{carrier_port}"
transport = "tcp"
register = {{ username = "pbx", secret = "pbx-trunk-secret", expires = 60 }}
options_interval_secs = 5

[[outbound_route]]
name = "all"
trunks = ["carrier"]
"#
    ));
    let server = setup.start();
    let registered = |server: &Server| {
        server.count_lines(|l| l.contains("trunk=carrier") && l.contains("registered (for"))
    };
    assert!(
        wait_until(Duration::from_secs(10), || registered(&server) >= 1),
        "the trunk registers:\n{}",
        server.log_text()
    );
    assert!(
        carrier
            .wait_for_line("registered extension=7000", Duration::from_secs(5))
            .is_some(),
        "the carrier holds the binding:\n{}",
        carrier.log_text()
    );
    // Refreshed at half of the 60 s granted.
    assert!(
        wait_until(Duration::from_secs(40), || registered(&server) >= 2),
        "the registration is refreshed:\n{}",
        server.log_text()
    );

    // The carrier stops: the trunk goes down (connections refused), calls skip it.
    carrier.stop();
    assert!(
        server
            .wait_for_line("down:", Duration::from_secs(30))
            .is_some(),
        "the trunk is marked down:\n{}",
        server.log_text()
    );
    let run = dial(&setup, &server, 1, "uac_expect_failure_auth.xml", LONDON, 1);
    // No trunk: 503, which uac_expect_failure does not list: SIPp fails the call, and the
    // record says why.
    assert_eq!(run.successful, 0, "{}", run.report());
    let stored = setup.wait_for_records(1, Duration::from_secs(15));
    let record = &stored.calls[0];
    assert_eq!(record.disposition, Disposition::Failed, "{record:#?}");
    assert!(
        record
            .disposition_detail
            .as_deref()
            .is_some_and(|d| d.contains("carrier down")),
        "{record:#?}"
    );

    // The carrier comes back on the same port: up again, registered again.
    let carrier = carrier_setup.start_on(carrier_port);
    assert!(
        server
            .wait_for_line("up: the carrier answers", Duration::from_secs(30))
            .is_some(),
        "the trunk comes back up:\n{}",
        server.log_text()
    );
    let before = registered(&server);
    assert!(
        wait_until(Duration::from_secs(45), || registered(&server) > before),
        "the trunk registers again after the carrier's restart:\n{}",
        server.log_text()
    );
    server.stop();
    carrier.stop();
}

#[test]
fn a_trunk_with_its_own_listener_reaches_its_carrier_from_that_port() {
    let carrier = UdpSocket::bind("127.0.0.1:0").expect("the carrier's socket");
    let carrier_port = carrier.local_addr().expect("address").port();
    let trunk_port = free_port();
    let mut setup = Setup::new();
    setup.extensions = vec![Extension::sipp_user(1).with("class = \"national\"")];
    setup.more_udp = vec![format!("127.0.0.1:{trunk_port}").parse().expect("address")];
    setup.extra_toml.push_str(&format!(
        r#"
[site]
country = "GB"

[[class]]
name = "national"
allow = ["emergency", "internal", "local", "national", "mobile", "toll_free"]

[[trunk]]
name = "carrier"
address = "127.0.0.1:{carrier_port}"
listen = "127.0.0.1:{trunk_port}"
options_interval_secs = 0

[[outbound_route]]
name = "all"
trunks = ["carrier"]
"#
    ));
    let server = setup.start();
    let uac = support::spawn_sipp_on(
        "uac_expect_failure_auth.xml",
        server.addr(),
        free_port(),
        &[
            "-s",
            LONDON,
            "-inf",
            &user_file(&setup, 1),
            "-m",
            "1",
            "-recv_timeout",
            "10000",
            "-timeout",
            "20s",
        ],
    );
    carrier
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    let (len, from) = carrier
        .recv_from(&mut buf)
        .expect("the INVITE reaches the carrier");
    let text = String::from_utf8_lossy(&buf[..len]).into_owned();
    assert!(text.starts_with("INVITE sip:+442079460000@"), "{text}");
    assert_eq!(from.port(), trunk_port, "sent from the trunk's listener");
    let via = text.lines().find(|l| l.starts_with("Via:")).expect("a Via");
    assert!(via.contains(&format!("127.0.0.1:{trunk_port}")), "{via}");
    drop(uac);
    server.stop();
}
