//! Two baresip phones call each other through crossbar with audio both ways: 201 dials 202,
//! 202 answers by itself, both send a 440 Hz tone as PCMU for about eight seconds, then
//! 201 hangs up. The relay must have carried about 50 packets a second each way, each
//! phone's own RTCP summary must show it received the other's audio, and the call must be
//! recorded answered.

mod support;

use std::io::Read;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crossbar_cdr::{Direction, Disposition, HangupSide};
use support::{Extension, RelayStats, Setup, free_port, require_program, strip_ansi};

/// How long the call stays up before 201 hangs up.
const TALK: Duration = Duration::from_secs(8);

/// A baresip process with its configuration directory, a console (the `cons` module) on a
/// UDP port for commands, and its output collected when it exits (stdout to a pipe is
/// block-buffered). Killed if dropped while running.
struct Baresip {
    child: Child,
    console_port: u16,
    output: mpsc::Receiver<String>,
    name: String,
}

impl Baresip {
    /// Starts baresip for `account` (a line of its `accounts` file) with `args`
    /// (`-e` commands); it quits by itself after `quit_after` at the latest.
    fn start(
        dir: &Path,
        name: &str,
        account: &str,
        args: &[&str],
        quit_after: Duration,
    ) -> Baresip {
        let baresip = require_program(
            "baresip",
            "run scripts/install-deps.sh (apt-get install baresip)",
        );
        let config = dir.join(name);
        std::fs::create_dir(&config).expect("baresip dir");
        let sip_port = free_port();
        let console_port = free_port();
        // No sound card: a 440 Hz tone as the microphone (ausine only makes 48 kHz stereo;
        // baresip resamples to PCMU's 8 kHz mono), and what is heard goes to an aubridge
        // device that nothing reads. `menu` has the commands (`/dial`, `/hangup`, `/quit`),
        // `cons` takes them over UDP, `rtcpsummary` prints the call's RTP statistics when
        // it ends.
        std::fs::write(
            config.join("config"),
            format!(
                "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\n\
                 module_path /usr/lib/baresip/modules\n\
                 module g711.so\nmodule ausine.so\nmodule aubridge.so\n\
                 module menu.so\nmodule cons.so\nmodule rtcpsummary.so\n\
                 module_app account.so\n\
                 cons_listen 127.0.0.1:{console_port}\n\
                 audio_source ausine,440\naudio_player aubridge,nowhere\n\
                 ausrc_srate 48000\nausrc_channels 2\nauplay_srate 48000\nauplay_channels 2\n"
            ),
        )
        .expect("baresip config");
        std::fs::write(config.join("accounts"), format!("{account}\n")).expect("accounts");
        let mut child = Command::new(baresip)
            .arg("-f")
            .arg(&config)
            .arg("-t")
            .arg(quit_after.as_secs().to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("baresip starts");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            // The status line is redrawn with `\r`; make each redraw a line of its own.
            let text = String::from_utf8_lossy(&bytes).replace('\r', "\n");
            let _ = tx.send(strip_ansi(&text));
        });
        Baresip {
            child,
            console_port,
            output,
            name: name.to_owned(),
        }
    }

    /// Types `command` on the phone's console.
    fn command(&self, command: &str) {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a UDP socket");
        socket
            .send_to(
                format!("{command}\n").as_bytes(),
                (Ipv4Addr::LOCALHOST, self.console_port),
            )
            .expect("the console command is sent");
    }

    /// Asks baresip to quit and returns its output once it has; kills it after `limit`.
    fn quit(mut self, limit: Duration) -> String {
        self.command("/quit");
        match self.output.recv_timeout(limit) {
            Ok(output) => {
                let _ = self.child.wait();
                output
            }
            Err(_) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let output = self.output.recv_timeout(Duration::from_secs(5));
                panic!(
                    "baresip {} did not quit within {limit:?}; output:\n{}",
                    self.name,
                    output.unwrap_or_default()
                );
            }
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `rtcpsummary` line of a call (`EX=BareSip;CS=..;CD=..;PR=..;PS=..;...`): packets
/// received and sent, as the phone's RTCP statistics counted them.
fn rtcp_summary(output: &str, phone: &str) -> (u64, u64) {
    let line = output
        .lines()
        .find(|l| l.contains("EX=BareSip;CS="))
        .unwrap_or_else(|| panic!("{phone} printed no RTCP summary; its output:\n{output}"));
    let field = |name: &str| -> u64 {
        line.split(';')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    (field("PR"), field("PS"))
}

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
