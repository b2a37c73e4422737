//! A baresip phone calls a menu and chooses with a key (issue 8): extension 201 dials 500, the
//! number of menu `main`; crossbar answers the call itself and plays the menu's one-second
//! prompt; once the prompt has played, 201 sends the key `2` (baresip sends RFC 4733
//! telephone-events); option `2` is `ext:203`, a SIPp UAS that answers and echoes the audio.
//! The phone must have heard the prompt first, the relay must carry the call both ways once
//! 203 answered, and the call must be recorded as an internal call, answered by 203, whose
//! path went through the menu and the key.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crossbar_cdr::{Direction, Disposition, HangupSide, StepKind};
use support::baresip::Baresip;
use support::{
    Extension, Phone, RelayStats, Setup, free_port, free_port_block, log_field, require_program,
    spawn_sipp_on,
};

/// The prompt's tone: far from the 440 Hz baresip sends (and 203 echoes back) and from the
/// 425 Hz ringback, so what the phone heard can be told apart.
const PROMPT_HZ: u32 = 1000;

/// How long the call stays up after 203 answered, before 201 hangs up.
const TALK: Duration = Duration::from_secs(3);

/// Generous waits for a debug build on a loaded two-core machine.
const STEP: Duration = Duration::from_secs(20);

/// `prompts/en/greeting.wav` under `dir`: one second of a `PROMPT_HZ` sine, 8 kHz 16-bit
/// mono, made with sox.
fn write_prompt(dir: &Path) {
    let sox = require_program("sox", "run scripts/install-deps.sh (apt-get install sox)");
    let language = dir.join("prompts/en");
    std::fs::create_dir_all(&language).expect("the prompt directory can be made");
    let output = Command::new(sox)
        .args(["-n", "-r", "8000", "-b", "16", "-c", "1"])
        .arg(language.join("greeting.wav"))
        .args(["synth", "1", "sine", &PROMPT_HZ.to_string(), "vol", "0.5"])
        .output()
        .expect("sox runs");
    assert!(
        output.status.success(),
        "sox failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether `line` is the media task's report of key `digit` (it hears RFC 4733 events only;
/// a SIP INFO key would not show here).
fn is_key(line: &str, digit: &str) -> bool {
    line.contains(" key ") && log_field(line, "digit") == Some(digit)
}

/// The position of the first log line satisfying `matches`.
fn position(lines: &[String], matches: impl Fn(&str) -> bool) -> Option<usize> {
    lines.iter().position(|l| matches(l))
}

/// A WAV file's samples (16-bit PCM, the first channel) and sample rate.
fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let bytes = std::fs::read(path).expect("the dump is readable");
    assert!(
        bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE",
        "{} is not a WAV file",
        path.display()
    );
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut at = 12;
    let mut format = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = usize::try_from(u32_at(at + 4)).expect("a chunk size fits");
        let body = at + 8;
        if id == b"fmt " {
            let (code, channels, rate, bits) = (
                u16_at(body),
                u16_at(body + 2),
                u32_at(body + 4),
                u16_at(body + 14),
            );
            assert_eq!((code, bits), (1, 16), "{}: not 16-bit PCM", path.display());
            format = Some((usize::from(channels), rate));
        } else if id == b"data" {
            let (channels, rate) = format.expect("`fmt ` comes before `data`");
            // A file not closed cleanly may say 0 (or too much): take what is there.
            let end = if size == 0 || body + size > bytes.len() {
                bytes.len()
            } else {
                body + size
            };
            let samples = bytes[body..end]
                .chunks_exact(2 * channels)
                .map(|frame| i16::from_le_bytes([frame[0], frame[1]]))
                .collect();
            return (samples, rate);
        }
        at = body + size + (size & 1);
    }
    panic!("{} has no data chunk", path.display());
}

/// One 20 ms frame of what the phone heard: loud enough to be a tone, and its frequency
/// (from the zero crossings).
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Where the frame starts in the dump.
    offset_ms: usize,
    rms: f64,
    hz: f64,
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ms: {} Hz (RMS {:.0})",
            self.offset_ms, self.hz, self.rms
        )
    }
}

/// `frames`, one a line.
fn listed<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> String {
    frames.into_iter().map(|f| format!("\n  {f}")).collect()
}

fn frames(samples: &[i16], rate: u32) -> Vec<Frame> {
    let size = usize::try_from(rate / 50).expect("fits");
    samples
        .chunks_exact(size)
        .enumerate()
        .map(|(index, frame)| {
            let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            let crossings = frame
                .windows(2)
                .filter(|w| (w[0] < 0) != (w[1] < 0))
                .count();
            Frame {
                offset_ms: index * 20,
                rms: (energy / size as f64).sqrt(),
                hz: crossings as f64 * 50.0 / 2.0,
            }
        })
        .collect()
}

#[test]
fn a_baresip_phone_calls_a_menu_and_reaches_the_extension_its_key_chooses() {
    let mut setup = Setup::new();
    setup.extensions = vec![
        Extension::new("201", "201", "alice-secret-201"),
        Extension::new("203", "203", "carol-secret-203"),
    ];
    setup.relay_media(20, 30);
    // The media task's debug lines say when the prompt finished and which key it heard.
    setup.log_level = "info,crossbar::media=debug".to_owned();
    write_prompt(setup.dir());
    // No direct dial: `2` chooses at once. The wait for a key is long, and no retry: the key
    // comes once the prompt has played, whatever the machine's load.
    setup.extra_toml.push_str(
        "[prompts]\ndir = \"prompts\"\ndefault_language = \"en\"\n\n\
         [[ivr]]\nname = \"main\"\nnumber = \"500\"\nprompt = \"greeting\"\n\
         options = { \"2\" = \"ext:203\" }\ndirect_dial = false\ntimeout_secs = 30\n\
         retries = 0\n\n",
    );
    let server = setup.start();
    let registrar = format!("127.0.0.1:{}", server.port);

    // 203: a SIPp UAS answering one call and echoing its RTP, registered by the test.
    let uas_port = free_port();
    let uas_media = free_port_block(4).to_string();
    let uas = spawn_sipp_on(
        "uas_answer.xml",
        server.addr(),
        uas_port,
        &[
            "-m",
            "1",
            "-recv_timeout",
            "60000",
            "-timeout",
            "90s",
            "-mp",
            &uas_media,
            "-rtp_echo",
        ],
    )
    .ready();
    let contact = format!("sip:203@127.0.0.1:{uas_port}");
    let registered = Phone::new(
        server.addr(),
        Extension::new("203", "203", "carol-secret-203"),
    )
    .register(&[&contact], 3600);
    assert_eq!(registered.status, 200, "REGISTER of 203:\n{registered}");

    // 201: baresip, dumping what it hears (the `sndfile` module writes each call's decoded
    // audio, `dump-...-dec.wav`, in `snd_path`).
    let phones = tempfile::tempdir().expect("a temp dir for the phone");
    let dumps = phones.path().join("dumps");
    std::fs::create_dir(&dumps).expect("the dump dir can be made");
    let caller = Baresip::start(
        phones.path(),
        "201",
        &format!("<sip:201@{registrar};transport=udp>;auth_pass=alice-secret-201"),
        &format!("module sndfile.so\nsnd_path {}\n", dumps.display()),
        &[],
        Duration::from_secs(120),
    );
    assert!(
        server.wait_for_lines(
            |l| l.contains(" registered ") && l.contains("extension=201 "),
            1,
            STEP
        ),
        "201 did not register:\n{}",
        server.log_text()
    );
    caller.command("/dial 500");
    let wait = |needle: &str, what: &str| {
        assert!(
            server.wait_for_line(needle, STEP).is_some(),
            "{what}:\n{}",
            server.log_text()
        );
    };
    wait(
        "answered by crossbar",
        "crossbar did not answer 201's call to the menu",
    );
    wait("play finished", "the menu's prompt did not finish playing");

    // The key, sent only now: the prompt has been played in full.
    caller.command("/sndcode 2");
    assert!(
        server.wait_for_lines(|l| is_key(l, "2"), 1, STEP),
        "the menu did not hear the key 2 as a telephone-event:\n{}",
        server.log_text()
    );
    assert!(
        server.wait_for_lines(
            |l| l.contains(" answered ") && log_field(l, "leg").is_some(),
            1,
            STEP
        ),
        "203 did not answer:\n{}",
        server.log_text()
    );
    let up = Instant::now();
    std::thread::sleep(TALK);
    caller.command("/hangup");
    assert!(
        server.wait_for_lines(
            |l| l.contains("relay closed") && log_field(l, "relay").is_some(),
            1,
            STEP
        ),
        "the call did not end after 201 hung up:\n{}",
        server.log_text()
    );
    let talked = up.elapsed();
    let caller_output = caller.quit(Duration::from_secs(20));
    let uas_run = uas.wait(Duration::from_secs(100));
    assert!(
        uas_run.status.success() && uas_run.successful == 1 && uas_run.failed == 0,
        "203 (SIPp) did not answer one call successfully:\n{}",
        uas_run.report()
    );

    // crossbar's side: the prompt played in full before the key came, as one RFC 4733 key,
    // then the relay went back to relaying both ways.
    let lines = server.lines();
    let finished = position(&lines, |l| l.contains("play finished"));
    let key = position(&lines, |l| is_key(l, "2"));
    let bridged = position(&lines, |l| l.contains("bridged: relaying both ways"));
    assert!(
        matches!((finished, key, bridged), (Some(f), Some(k), Some(b)) if f < k && k < b),
        "expected the prompt to finish ({finished:?}), then the key ({key:?}), then the \
         bridge ({bridged:?}):\n{}",
        server.log_text()
    );
    assert_eq!(
        server.count_lines(|l| l.contains(" key ") && log_field(l, "digit").is_some()),
        1,
        "the menu heard exactly one key:\n{}",
        server.log_text()
    );
    // baresip's side: its audio stream received RTP (the prompt: nothing else sends to it
    // before the key) before it sent the key.
    let said = |what: &str| caller_output.lines().position(|l| l.contains(what));
    let receiving = said("incoming rtp for 'audio' established");
    let sent_key = said("send DTMF digit: '2'");
    assert!(
        receiving.is_some() && sent_key.is_some() && receiving < sent_key,
        "baresip did not say it received RTP ({receiving:?}) before it sent the key \
         ({sent_key:?}); its output:\n{caller_output}"
    );

    // After 203 answered, 201's audio went to 203 and came back (SIPp echoes it).
    let relays = RelayStats::of(&server);
    assert_eq!(relays.len(), 1, "{relays:?}");
    let relay = &relays[0];
    eprintln!("{relay:?}, talked {talked:?}");
    assert!(
        relay.a_to_b_packets > 50 && relay.b_to_a_packets > 50,
        "audio went both ways once bridged: {relay:?}\n201:\n{caller_output}"
    );

    // The phone's side: the first thing it heard was the prompt's tone, most of its second
    // (0.9 s in practice: the last few frames seem to be still in baresip's jitter buffer
    // when the echo from 203, another SSRC, takes over the stream).
    let dump = std::fs::read_dir(&dumps)
        .expect("the dump dir is readable")
        .map(|entry| entry.expect("a dump entry").path())
        .find(|path| path.to_string_lossy().ends_with("-dec.wav"))
        .unwrap_or_else(|| {
            panic!(
                "baresip wrote no dump of what it heard in {}; its output:\n{caller_output}",
                dumps.display()
            )
        });
    let (samples, rate) = read_wav(&dump);
    let heard: Vec<Frame> = frames(&samples, rate)
        .into_iter()
        .filter(|f| f.rms > 1000.0)
        .collect();
    let is_prompt = |f: &Frame| (f.hz - f64::from(PROMPT_HZ)).abs() < 100.0;
    let prompt_frames = heard.iter().filter(|f| is_prompt(f)).count();
    eprintln!(
        "201 heard {} ms of audio ({rate} Hz), {} ms of it the prompt's tone; the first \
         frame and the first after the prompt:{}",
        heard.len() * 20,
        prompt_frames * 20,
        listed(
            heard
                .first()
                .into_iter()
                .chain(heard.iter().find(|f| !is_prompt(f)))
        ),
    );
    let first = &heard[..heard.len().min(25)];
    assert!(
        first.len() == 25 && first.iter().all(is_prompt),
        "the first 0.5 s 201 heard was not the {PROMPT_HZ} Hz prompt:{}",
        listed(first)
    );
    assert!(
        (25..=55).contains(&prompt_frames),
        "201 heard {prompt_frames} frames of the one-second prompt"
    );

    // The record: an internal call to the menu's number, answered by 203 after the menu and
    // the key.
    let stored = setup.wait_for_records(1, STEP);
    assert_eq!(stored.calls.len(), 1, "{:#?}", stored.calls);
    let record = &stored.calls[0];
    assert_eq!(record.direction, Direction::Internal, "{record:#?}");
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
    assert_eq!(
        (record.caller.number.as_str(), record.callee.number.as_str()),
        ("201", "500"),
        "{record:#?}"
    );
    assert_eq!(record.answered_by.as_deref(), Some("203"), "{record:#?}");
    assert_eq!(record.hangup_by, HangupSide::Caller, "{record:#?}");
    assert!(record.inbound.is_none(), "{record:#?}");
    assert!(!record.interrupted, "{record:#?}");
    let talk = u32::try_from(talked.as_secs()).expect("seconds fit");
    assert!(
        record.timings.talk_secs + 2 >= talk && record.timings.talk_secs <= talk + 2,
        "talked for {talked:?} after 203 answered: {record:#?}"
    );
    let path: Vec<(StepKind, &str, &str)> = record
        .path
        .iter()
        .map(|s| (s.kind, s.name.as_str(), s.result.as_str()))
        .collect();
    assert_eq!(
        path,
        [
            (StepKind::Ivr, "main", "entered"),
            (StepKind::Digit, "main", "2 → ext:203"),
        ],
        "{record:#?}"
    );
    server.stop();
}
