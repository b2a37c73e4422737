//! Queues against real peers: SIPp as the carrier (the trunk's `address` is the SIPp UAC's
//! port, so crossbar takes its INVITEs for the trunk's) calling DIDs routed to
//! `queue:support`, SIPp UASes registered as the agents' phones (extensions 201–203) that
//! answer, talk and hang up, agents logging in and pausing from a phone of their own with the
//! feature codes (`*45`, `*47` + reason, `*48`). What the wire and the database show is
//! checked:
//!
//! - 20 callers, 3 agents: every caller is answered by an agent, offered first come first
//!   served within a priority, VIP callers (a second DID whose inbound route has `vip`) ahead
//!   of the normal callers waiting when they came; no agent is offered a caller during its
//!   wrap-up; `crossbar report queues` agrees with the records;
//! - a caller who gives up while nobody is there to answer is `abandoned` in the queue and
//!   opens a callback task for their number, with the DID and the queue;
//! - a waiting caller hears the music on hold (RTP with energy, one stream paced 20 ms), the
//!   position announcement over it, and the music going on after it where it stopped;
//! - an agent paused with a reason is offered no caller until it ends the pause.
//!
//! Each test runs its own server with its own relay port range (tests run in parallel). The
//! prompts are made by the test: the music a tone (so its energy can be measured), the
//! system prompts of queues silence.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crossbar_cdr::{
    CallRecord, Direction, Disposition, EventKind, HangupSide, QueueOutcome, QueueVisit, Stage,
};
use crossbar_sip::Method;
use serde_json::Value;
use support::raw_call::RawCaller;
use support::rtp::{Heard, listen_rtp, mean_spacing, rtp_socket, silence, tone, write_wav};
use support::{
    CROSSBAR, Extension, Phone, Server, Setup, SippProcess, SippRun, free_port, free_port_block,
    spawn_sipp_on, spawn_sipp_with,
};

/// The support line: an inbound route to `queue:support`.
const SUPPORT_DID: &str = "+442079460100";
/// The support line for VIP customers: to the same queue, with `vip = true`.
const VIP_DID: &str = "+442079460101";
/// Who the carrier says is calling in the scenarios with one caller (`uac_carrier*.xml`).
const CALLER: &str = "+447700900123";
/// How long an agent's phone talks before hanging up (`agent_answer_bye.xml`'s `-d`).
const TALK_MS: u64 = 2000;

fn agent(number: &str) -> Extension {
    Extension::new(
        number,
        &format!("agent{number}"),
        &format!("secret-{number}"),
    )
}

fn agents() -> Vec<Extension> {
    ["201", "202", "203"].iter().map(|n| agent(n)).collect()
}

/// The support desk: carrier `carrier_port` (127.0.0.1) is the trunk; both DIDs go to queue
/// `support` (agents 201–203, `queue` its further keys), the VIP one as VIP; `extra` appended.
fn desk_toml(carrier_port: u16, queue: &str, extra: &str) -> String {
    format!(
        r#"
[site]
country = "GB"

[[trunk]]
name = "carrier"
address = "127.0.0.1:{carrier_port}"
options_interval_secs = 0

[[inbound_route]]
name = "support-vip"
trunks = ["carrier"]
dids = ["{VIP_DID}"]
destination = "queue:support"
vip = true

[[inbound_route]]
name = "support"
trunks = ["carrier"]
dids = ["{SUPPORT_DID}"]
destination = "queue:support"

[[queue]]
name = "support"
members = ["201", "202", "203"]
{queue}

[prompts]
dir = "prompts"
default_language = "en"
{extra}
"#
    )
}

/// A setup for the support desk with extensions 201–203, a relay range of its own (long RTP
/// timeout: the SIPp peers send no RTP) and the prompts: `moh` as the music on hold, every
/// system prompt of queues silence (`queue-position` 0.6 s, the others 0.3 s, so a position
/// announcement is 0.9 s).
fn desk(carrier_port: u16, queue: &str, extra: &str, moh: &[i16]) -> Setup {
    let mut setup = Setup::new();
    setup.extensions = agents();
    setup.relay_media(160, 120);
    setup
        .extra_toml
        .push_str(&desk_toml(carrier_port, queue, extra));
    let prompts = setup.dir().join("prompts/en");
    write_wav(&prompts.join("moh.wav"), moh);
    for name in crossbar_switch::PromptLibrary::queue_system_prompts(std::iter::empty()) {
        let secs = if name == "queue-position" { 0.6 } else { 0.3 };
        write_wav(&prompts.join(format!("{name}.wav")), &silence(secs));
    }
    setup
}

/// Music on hold for the tests that do not listen to it: 2 s of 440 Hz at half scale.
fn plain_moh() -> Vec<i16> {
    tone(2.0, 440.0, 16_000.0)
}

/// SIPp UAS `agent_answer_bye.xml` as `extension`'s phone, registered: answers every call,
/// talks [`TALK_MS`], hangs up. `calls`: how many it takes (`None`: until
/// [`SippProcess::finish`]).
fn agent_phone(server: &Server, extension: &Extension, calls: Option<u32>) -> SippProcess {
    let port = free_port();
    let media = free_port_block(4).to_string();
    let talk = TALK_MS.to_string();
    let calls = calls.map(|n| n.to_string());
    let mut args = vec![
        "-trace_msg",
        "-d",
        &talk,
        "-mp",
        &media,
        "-recv_timeout",
        "30000",
        "-timeout",
        "150s",
    ];
    if let Some(calls) = &calls {
        args.extend(["-m", calls]);
    }
    let uas = spawn_sipp_on("agent_answer_bye.xml", server.addr(), port, &args).ready();
    let contact = format!("sip:{}@127.0.0.1:{port}", extension.username);
    let answer = Phone::new(server.addr(), extension.clone()).register(&[&contact], 3600);
    assert_eq!(
        answer.status, 200,
        "REGISTER of {contact} for {}:\n{answer}",
        extension.number
    );
    uas
}

/// `extension` dials the agent feature `code` from a phone of its own (not the registered
/// one): crossbar answers, says what it did and hangs up. Returns when the BYE has come.
fn dial_feature(server: &Server, extension: &Extension, code: &str) {
    let (sink, rtp_port) = rtp_socket();
    let mut phone = RawCaller::new(server.addr(), extension.clone());
    let answer = phone.call(code, rtp_port);
    assert_eq!(
        answer.status, 200,
        "crossbar answers {code} dialled by {}:\n{answer}",
        extension.number
    );
    assert!(
        phone.expect_request(&Method::Bye, Duration::from_secs(15)),
        "crossbar hangs up {code} of {} after its confirmation",
        extension.number
    );
    drop(sink);
}

/// Waits for SIPp to end and asserts `calls` calls succeeded and none failed.
fn succeeded(run: SippRun, calls: u64, what: &str) -> SippRun {
    assert!(
        run.status.success() && run.successful == calls && run.failed == 0,
        "{what}: expected {calls} successful calls:\n{}",
        run.report()
    );
    run
}

/// `crossbar ARGS... --config <the setup's file> --format json`, parsed.
fn crossbar_json(setup: &Setup, args: &[&str]) -> Value {
    let out = Command::new(CROSSBAR)
        .args(args)
        .arg("--config")
        .arg(setup.config_path())
        .args(["--format", "json"])
        .env_remove("RUST_LOG")
        .output()
        .expect("the crossbar binary runs");
    assert!(
        out.status.success(),
        "crossbar {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "crossbar {args:?} printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `crossbar report queues` as JSON over the minutes around now (the whole test).
fn queue_report(setup: &Setup) -> Value {
    let now = jiff::Timestamp::now().as_second();
    let at = |second: i64| {
        jiff::Timestamp::from_second(second)
            .expect("a time near now")
            .to_string()
    };
    let (since, until) = (at(now - 600), at(now + 60));
    crossbar_json(
        setup,
        &["report", "queues", "--since", &since, "--until", &until],
    )
}

/// The report's figures of agent `number`.
fn agent_figures<'a>(report: &'a Value, number: &str) -> &'a Value {
    report["agents"]
        .as_array()
        .expect("the report lists agents")
        .iter()
        .find(|a| a["agent"] == number)
        .unwrap_or_else(|| panic!("agent {number} is not in the report:\n{report:#}"))
}

/// The one queue visit of a queued call.
fn visit(record: &CallRecord) -> &QueueVisit {
    assert_eq!(record.queues.len(), 1, "one queue visit:\n{record:#?}");
    &record.queues[0]
}

/// When the caller was offered to an agent, in order: (wall ms, agent).
fn offers(record: &CallRecord) -> Vec<(i64, String)> {
    record
        .timeline
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::QueueOffered { agent, .. } => Some((event.at_ms, agent.clone())),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// 20 callers, 3 agents
// ---------------------------------------------------------------------------------------

/// Normal callers first, then VIP callers arriving while the normal ones wait.
const NORMAL_CALLERS: usize = 14;
const VIP_CALLERS: usize = 6;
const CALLERS: usize = NORMAL_CALLERS + VIP_CALLERS;
/// The queue's `wrap_up_secs`.
const WRAP_UP_MS: i64 = 1000;

/// A queued caller as the records show them.
#[derive(Debug)]
struct Served {
    number: String,
    vip: bool,
    position: u32,
    joined: i64,
    /// The first offer to an agent.
    offered: i64,
    /// The agent answered: the caller left the line.
    answered: i64,
    ended: i64,
    agent: String,
}

/// The carrier's callers, one line each for SIPp's `-inf` (`DID;caller;`): the normal ones
/// `+4477009001NN` to the support DID, then the VIP ones `+4477009002NN` to the VIP DID.
fn callers_csv(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("SEQUENTIAL\n");
    for n in 1..=NORMAL_CALLERS {
        text.push_str(&format!("{SUPPORT_DID};+4477009001{n:02};\n"));
    }
    for n in 1..=VIP_CALLERS {
        text.push_str(&format!("{VIP_DID};+4477009002{n:02};\n"));
    }
    let path = dir.join("callers.csv");
    std::fs::write(&path, text).expect("the callers file can be written");
    path
}

#[test]
fn twenty_callers_are_answered_by_three_agents_first_come_first_served_vips_first_with_wrap_up() {
    let carrier_port = free_port();
    let setup = desk(
        carrier_port,
        "strategy = \"longest_idle\"\nwrap_up_secs = 1\nagent_ring_secs = 15\n",
        "",
        &plain_moh(),
    );
    let server = setup.start();
    let phones: Vec<SippProcess> = agents()
        .iter()
        .map(|a| agent_phone(&server, a, None))
        .collect();
    // Logged in from the last member to the first: 203 has been free the longest, then 202
    // (a `linear` queue would start with 201).
    for agent in agents().iter().rev() {
        dial_feature(&server, agent, "*45");
    }

    // 20 calls, 4 a second: the 14 normal callers in the first 3.5 s, the 6 VIPs after, while
    // most normal callers still wait (3 agents take about 3 s a call).
    let csv = callers_csv(setup.dir());
    let media = free_port_block(4).to_string();
    let carrier = spawn_sipp_with(
        "uac_carrier_queue.xml",
        server.addr(),
        carrier_port,
        &[
            "-inf",
            "callers.csv",
            "-r",
            "4",
            "-m",
            "20",
            "-l",
            "20",
            "-mp",
            &media,
            "-recv_timeout",
            "90000",
            "-timeout",
            "150s",
        ],
        &[&csv],
    );
    let run = carrier.wait(Duration::from_secs(170));
    succeeded(run, CALLERS as u64, "the carrier's 20 callers");
    let mut answered_by_phones = 0;
    for (phone, number) in phones.into_iter().zip(["201", "202", "203"]) {
        let run = phone.finish(Duration::from_secs(20));
        assert!(
            run.status.success() && run.failed == 0,
            "agent {number}'s phone:\n{}",
            run.report()
        );
        answered_by_phones += run.successful;
    }
    assert_eq!(answered_by_phones, CALLERS as u64, "the agents' phones");

    // The 20 queued calls and the 3 logins.
    let stored = setup.wait_for_records(CALLERS + 3, Duration::from_secs(30));
    let (queued, others): (Vec<&CallRecord>, Vec<&CallRecord>) =
        stored.calls.iter().partition(|r| !r.queues.is_empty());
    assert_eq!(queued.len(), CALLERS, "{:#?}", stored.calls);
    assert_eq!(others.len(), 3, "the three logins: {others:#?}");
    for login in &others {
        assert_eq!(login.disposition, Disposition::Answered, "{login:#?}");
        assert_eq!(login.answered_by.as_deref(), Some("*45"), "{login:#?}");
    }

    let mut served: Vec<Served> = queued
        .iter()
        .map(|record| {
            let visit = visit(record);
            let inbound = record.inbound.as_ref().expect("an inbound call");
            let offers = offers(record);
            assert_eq!(record.direction, Direction::Inbound, "{record:#?}");
            assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
            assert_eq!(record.hangup_by, HangupSide::Callee, "{record:#?}");
            assert!(!record.interrupted, "{record:#?}");
            assert_eq!(visit.queue, "support", "{record:#?}");
            assert_eq!(visit.outcome, QueueOutcome::Answered, "{record:#?}");
            let agent = visit.agent.clone().expect("the answering agent");
            assert_eq!(record.answered_by.as_ref(), Some(&agent), "{record:#?}");
            // Every agent answers: one offer per caller, to the agent who answered.
            assert_eq!(visit.offered, std::slice::from_ref(&agent), "{record:#?}");
            assert_eq!(offers.len(), 1, "{record:#?}");
            assert_eq!(
                inbound.vip,
                inbound.did == VIP_DID,
                "VIP by the route: {record:#?}"
            );
            Served {
                number: record.caller.number.clone(),
                vip: inbound.vip,
                position: visit.position.expect("the caller joined"),
                joined: visit.joined_at_ms,
                offered: offers[0].0,
                answered: visit.joined_at_ms + visit.wait_ms,
                ended: record.ended_at_ms,
                agent,
            }
        })
        .collect();
    served.sort_by_key(|s| s.joined);
    let numbers: BTreeSet<&str> = served.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers.len(), CALLERS, "every caller once: {served:#?}");
    assert_eq!(
        served.iter().filter(|s| s.vip).count(),
        VIP_CALLERS,
        "{served:#?}"
    );
    let summary: Vec<String> = served
        .iter()
        .map(|s| {
            format!(
                "{} {} pos {} joined +{} offered +{} answered +{} by {} ended +{}",
                s.number,
                if s.vip { "VIP" } else { "   " },
                s.position,
                s.joined - served[0].joined,
                s.offered - served[0].joined,
                s.answered - served[0].joined,
                s.agent,
                s.ended - served[0].joined
            )
        })
        .collect();
    let summary = summary.join("\n");
    eprintln!("{summary}");

    // Longest idle: the first callers, while every agent is free, go to the agent free the
    // longest first.
    let first: Vec<&str> = served.iter().take(3).map(|s| s.agent.as_str()).collect();
    assert_eq!(
        first,
        ["203", "202", "201"],
        "the first three callers go to the agents in the order they logged in:\n{summary}"
    );
    // First come, first served within each priority: offered in the order they joined (and
    // answered so, give or take the agents' phones answering a few ms apart).
    for vip in [false, true] {
        let line: Vec<&Served> = served.iter().filter(|s| s.vip == vip).collect();
        for pair in line.windows(2) {
            assert!(
                pair[0].offered <= pair[1].offered,
                "{} joined before {} but was offered after:\n{summary}",
                pair[0].number,
                pair[1].number
            );
            assert!(
                pair[0].answered <= pair[1].answered + 1000,
                "{} joined before {} but was answered well after:\n{summary}",
                pair[0].number,
                pair[1].number
            );
        }
    }
    // VIPs ahead: a VIP is offered before every normal caller still waiting (not yet offered)
    // when the VIP came.
    let mut overtaken = 0;
    for vip in served.iter().filter(|s| s.vip) {
        for normal in served.iter().filter(|s| !s.vip) {
            if normal.joined < vip.joined && normal.offered > vip.joined {
                assert!(
                    vip.offered <= normal.offered,
                    "VIP {} came while {} waited but was offered after it:\n{summary}",
                    vip.number,
                    normal.number
                );
                overtaken += 1;
            }
        }
    }
    assert!(
        overtaken > 0,
        "no VIP came while normal callers waited: the test did not try the priority:\n{summary}"
    );
    // The position on joining: behind the callers in line of its priority or higher (VIPs
    // only behind VIPs) — counted from the records, give or take callers who joined or left
    // in the same millisecond.
    for s in &served {
        let ahead = |strict: bool| {
            served
                .iter()
                .filter(|u| u.number != s.number && (u.vip || !s.vip))
                .filter(|u| {
                    if strict {
                        u.joined < s.joined && u.answered > s.joined
                    } else {
                        u.joined <= s.joined && u.answered >= s.joined
                    }
                })
                .count()
        };
        let (least, most) = (ahead(true) + 1, ahead(false) + 1);
        assert!(
            (least..=most).contains(&(s.position as usize)),
            "{} joined at position {}, expected {least}..={most}:\n{summary}",
            s.number,
            s.position
        );
    }
    // Wrap-up: no agent is offered a caller while on a call, nor within wrap_up_secs of the
    // end of its previous call.
    let mut per_agent: BTreeMap<&str, Vec<&Served>> = BTreeMap::new();
    for s in &served {
        per_agent.entry(s.agent.as_str()).or_default().push(s);
    }
    assert_eq!(
        per_agent.keys().copied().collect::<Vec<_>>(),
        ["201", "202", "203"],
        "every agent took callers:\n{summary}"
    );
    for (agent, calls) in &per_agent {
        let mut calls = calls.clone();
        calls.sort_by_key(|s| s.offered);
        for pair in calls.windows(2) {
            let (before, next) = (pair[0], pair[1]);
            assert!(
                next.offered >= before.ended + WRAP_UP_MS - 20,
                "{agent} was offered {} {} ms after its call with {} ended (wrap-up {} ms):\n{summary}",
                next.number,
                next.offered - before.ended,
                before.number,
                WRAP_UP_MS
            );
        }
    }

    // The queue report agrees with the records.
    let report = queue_report(&setup);
    let queue = &report["queues"][0];
    assert_eq!(queue["queue"], "support", "{report:#}");
    assert_eq!(queue["offered"], CALLERS, "{report:#}");
    assert_eq!(queue["answered"], CALLERS, "{report:#}");
    assert_eq!(queue["abandoned"], 0, "{report:#}");
    assert_eq!(queue["joined"], CALLERS, "{report:#}");
    let waits: Vec<i64> = served.iter().map(|s| s.answered - s.joined).collect();
    let asa = waits.iter().sum::<i64>() as f64 / waits.len() as f64 / 1000.0;
    let reported = queue["asa_secs"].as_f64().expect("an ASA");
    assert!(
        (reported - asa).abs() < 0.01,
        "ASA {reported} s reported, {asa} s from the records:\n{report:#}"
    );
    let max = *waits.iter().max().expect("20 waits") as f64 / 1000.0;
    let reported = queue["max_wait_secs"].as_f64().expect("a max wait");
    assert!(
        (reported - max).abs() < 0.01,
        "max wait {reported} s reported, {max} s from the records:\n{report:#}"
    );
    // Per agent: talk time from the records, offers, answers and wrap-up from the agent
    // event log.
    for (agent, calls) in &per_agent {
        let figures = agent_figures(&report, agent);
        let talk_ms: i64 = calls.iter().map(|s| s.ended - s.answered).sum();
        let talk = figures["talk_secs"].as_i64().expect("talk seconds");
        assert!(
            (talk * 1000 - talk_ms).abs() <= 1000 * calls.len() as i64,
            "{agent} talked {talk_ms} ms by the records, {talk} s reported:\n{report:#}"
        );
        assert_eq!(
            (&figures["offers"], &figures["answered"], &figures["missed"]),
            (
                &Value::from(calls.len()),
                &Value::from(calls.len()),
                &Value::from(0)
            ),
            "{agent}'s offers, answers and misses as the records have them: {report:#}"
        );
        let wrap_up = figures["wrap_up_secs"].as_i64().expect("wrap-up seconds");
        assert!(
            (wrap_up - calls.len() as i64).abs() <= 1,
            "{agent} wrapped up {} calls of 1 s, {wrap_up} s reported:\n{report:#}",
            calls.len()
        );
    }
    server.stop();
}

// ---------------------------------------------------------------------------------------
// Abandoned: a callback task
// ---------------------------------------------------------------------------------------

#[test]
fn a_caller_giving_up_in_the_queue_is_abandoned_there_and_opens_a_callback_task() {
    let carrier_port = free_port();
    // Nobody logged in, but callers join anyway.
    let setup = desk(carrier_port, "join_empty = true\n", "", &plain_moh());
    let server = setup.start();
    let media = free_port_block(4).to_string();
    let caller = spawn_sipp_with(
        "uac_carrier.xml",
        server.addr(),
        carrier_port,
        &[
            "-s",
            SUPPORT_DID,
            "-m",
            "1",
            "-d",
            "4000",
            "-mp",
            &media,
            "-recv_timeout",
            "15000",
            "-timeout",
            "30s",
        ],
        &[],
    );
    succeeded(
        caller.wait(Duration::from_secs(45)),
        1,
        "the caller waiting 4 s",
    );

    let stored = setup.wait_for_records(1, Duration::from_secs(15));
    let record = &stored.calls[0];
    assert_eq!(record.caller.number, CALLER, "{record:#?}");
    assert_eq!(record.disposition, Disposition::Abandoned, "{record:#?}");
    assert_eq!(record.abandoned_stage, Some(Stage::Queue), "{record:#?}");
    assert_eq!(record.hangup_by, HangupSide::Caller, "{record:#?}");
    assert_eq!(record.answered_by, None, "{record:#?}");
    let visit = visit(record);
    assert_eq!(visit.queue, "support");
    assert_eq!(visit.outcome, QueueOutcome::Abandoned, "{record:#?}");
    assert_eq!(visit.position, Some(1), "{record:#?}");
    assert!(visit.offered.is_empty(), "{record:#?}");
    assert!(
        (3000..15_000).contains(&visit.wait_ms),
        "waited the 4 s: {record:#?}"
    );

    let tasks = crossbar_json(&setup, &["callbacks", "list"]);
    let tasks = tasks.as_array().expect("a list of tasks");
    assert_eq!(tasks.len(), 1, "one open task: {tasks:#?}");
    let task = &tasks[0];
    assert_eq!(task["number"], CALLER, "{task:#}");
    assert_eq!(task["state"], "open", "{task:#}");
    assert_eq!(task["did"], SUPPORT_DID, "{task:#}");
    assert_eq!(task["queue"], "support", "{task:#}");
    assert_eq!(task["misses"], 1, "{task:#}");

    let report = queue_report(&setup);
    let queue = &report["queues"][0];
    assert_eq!(
        (&queue["offered"], &queue["answered"], &queue["abandoned"]),
        (&Value::from(1), &Value::from(0), &Value::from(1)),
        "{report:#}"
    );
    assert_eq!(
        queue["short_abandons"],
        u64::from(visit.wait_ms <= 5000),
        "a short abandon when within 5 s of joining: {report:#}"
    );
    assert_eq!(report["callbacks"]["opened"], 1, "{report:#}");
    assert_eq!(report["callbacks"]["open"], 1, "{report:#}");
    server.stop();
}

// ---------------------------------------------------------------------------------------
// Music on hold
// ---------------------------------------------------------------------------------------

/// The music's steps: 8 of 0.5 s (25 frames), a 440 Hz tone louder at each.
const MUSIC_STEPS: usize = 8;
const STEP_AMPLITUDE: f64 = 3000.0;

/// 4 s of music whose loudness says where in it a frame is: step `k` (0.5 s) is a 440 Hz
/// tone at amplitude `(k + 1) · 3000`.
fn stepped_moh() -> Vec<i16> {
    (0..MUSIC_STEPS)
        .flat_map(|k| tone(0.5, 440.0, (k + 1) as f64 * STEP_AMPLITUDE))
        .collect()
}

/// The step of the music a frame is from, by its loudness (the RMS of a sine is its
/// amplitude ÷ √2); `None` for silence.
fn music_step(packet: &Heard) -> Option<usize> {
    let level = packet.rms() * std::f64::consts::SQRT_2 / STEP_AMPLITUDE;
    (level > 0.5).then(|| (level.round() as usize).clamp(1, MUSIC_STEPS) - 1)
}

#[test]
fn a_waiting_caller_hears_the_music_and_after_the_position_announcement_the_music_goes_on() {
    let carrier_port = free_port();
    // Nobody logged in: the caller waits; the position is said on joining and every 4 s.
    let setup = desk(
        carrier_port,
        "join_empty = true\nannounce_position_secs = 4\n",
        "",
        &stepped_moh(),
    );
    let server = setup.start();
    let (receiver, rtp_port) = rtp_socket();
    let listening = listen_rtp(
        receiver,
        Duration::from_millis(1500),
        Duration::from_secs(30),
    );
    let rtp_port = rtp_port.to_string();
    let caller = spawn_sipp_with(
        "uac_carrier_listen.xml",
        server.addr(),
        carrier_port,
        &[
            "-s",
            SUPPORT_DID,
            "-key",
            "rtp_port",
            &rtp_port,
            "-m",
            "1",
            "-d",
            "7000",
            "-recv_timeout",
            "15000",
            "-timeout",
            "30s",
        ],
        &[],
    );
    let heard = listening.join().expect("the RTP receiver does not panic");
    succeeded(
        caller.wait(Duration::from_secs(45)),
        1,
        "the caller listening 7 s",
    );

    // What was heard, frame by frame: `.` silence (the announcement), the music's step else.
    let shape: String = heard
        .iter()
        .map(|p| match music_step(p) {
            None if p.rms() < 100.0 => '.',
            None => '?',
            Some(step) => char::from(b'0' + step as u8),
        })
        .collect();
    let summary = format!("{} packets: {shape}", heard.len());
    eprintln!("{summary}");
    assert!(
        heard.len() >= 280,
        "7 s of listening is about 350 frames: {summary}"
    );
    assert!(heard[0].marker, "the stream starts with the marker bit");
    assert!(
        heard
            .iter()
            .all(|p| p.payload_type == 0 && p.payload.len() == 160),
        "PCMU (the caller's first codec), 160 octets per packet: {summary}"
    );
    // One stream: one SSRC, no packet lost or repeated, the timestamps going up by 160 (one
    // 20 ms frame at 8 kHz, RFC 3551 §4.5.14) from packet to packet — by the time between
    // at a new start (an announcement, the music coming back: the marker bit, RFC 3551 §4.1)
    // or after crossbar stalled (a gap on the wire).
    for pair in heard.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert_eq!(b.ssrc, a.ssrc, "one RTP source: {a:?} then {b:?}");
        assert_eq!(
            b.sequence,
            a.sequence.wrapping_add(1),
            "sequence numbers go on: {} then {}",
            a.sequence,
            b.sequence
        );
        let step = b.timestamp.wrapping_sub(a.timestamp);
        let restart = b.marker || b.at - a.at > Duration::from_millis(40);
        assert!(
            step == 160 || (restart && (160..8000).contains(&step)),
            "timestamps go up by 160 a packet but at a new start: {} then {} (sequence {}, \
             marker {}, {:?} apart)",
            a.timestamp,
            b.timestamp,
            b.sequence,
            b.marker,
            b.at - a.at
        );
    }
    let spacing = mean_spacing(&heard);
    assert!(
        (Duration::from_millis(18)..=Duration::from_millis(22)).contains(&spacing),
        "mean packet spacing {spacing:?} over {} packets",
        heard.len()
    );
    assert!(
        !shape.contains('?'),
        "every frame is the music or the (silent) announcement: {summary}"
    );

    // Music with energy, announcements over it, and the music again after each: runs of
    // music and of silence.
    let mut runs: Vec<(bool, usize, usize)> = Vec::new(); // (music, first, length)
    for (i, p) in heard.iter().enumerate() {
        let music = music_step(p).is_some();
        match runs.last_mut() {
            Some((m, _, len)) if *m == music => *len += 1,
            _ => runs.push((music, i, 1)),
        }
    }
    let music_frames: usize = runs.iter().filter(|r| r.0).map(|r| r.2).sum();
    assert!(
        music_frames >= 200,
        "most of the wait is music: {music_frames} frames: {summary}"
    );
    // "You are caller number one" (`queue-position`, 30 frames, and `num-1`, 15), on joining
    // and 4 s later, whole: the music does not cut them short.
    let announcements: Vec<usize> = runs.iter().filter(|r| !r.0).map(|r| r.2).collect();
    assert!(
        announcements.len() >= 2 && announcements.iter().all(|&frames| frames == 45),
        "the position on joining and 4 s later, 45 frames each, not {announcements:?}: {summary}"
    );
    let last = runs.last().expect("frames were heard");
    assert!(
        last.0 && last.2 >= 50,
        "the music goes on after the last announcement until the caller hangs up: {summary}"
    );
    // The music resumes where the announcement cut it: from the frame after the last one
    // heard, so the same step (or the next) — not from its start.
    let steps: Vec<Option<usize>> = heard.iter().map(music_step).collect();
    let mut resumed = 0;
    for window in runs.windows(3) {
        let [(true, _, _), (false, gap, _), (true, after, _)] = *window else {
            continue;
        };
        let before = steps[gap - 1].expect("music before the announcement");
        let after = steps[after].expect("music after the announcement");
        assert!(
            after == before || after == (before + 1) % MUSIC_STEPS,
            "the music was at step {before} when the announcement began and at {after} after \
             it: {summary}"
        );
        resumed += 1;
    }
    assert!(
        resumed >= 1,
        "the music was interrupted and resumed at least once: {summary}"
    );
    // Within the music, the steps follow each other: it plays on, looping.
    for pair in steps.windows(2) {
        if let [Some(a), Some(b)] = *pair {
            assert!(
                b == a || b == (a + 1) % MUSIC_STEPS,
                "the music went from step {a} to {b}: {summary}"
            );
        }
    }

    let stored = setup.wait_for_records(1, Duration::from_secs(15));
    let record = &stored.calls[0];
    assert_eq!(record.disposition, Disposition::Abandoned, "{record:#?}");
    assert_eq!(record.abandoned_stage, Some(Stage::Queue), "{record:#?}");
    server.stop();
}

// ---------------------------------------------------------------------------------------
// An agent's pause
// ---------------------------------------------------------------------------------------

#[test]
fn an_agent_paused_with_a_reason_is_offered_no_caller_until_the_pause_ends() {
    let carrier_port = free_port();
    let setup = desk(
        carrier_port,
        "",
        "\n[agents]\npause_reasons = { \"1\" = \"lunch\", \"2\" = \"training\" }\n",
        &plain_moh(),
    );
    let server = setup.start();
    let alice = agent("201");
    let phone = agent_phone(&server, &alice, Some(1));
    dial_feature(&server, &alice, "*45");
    dial_feature(&server, &alice, "*471");
    // What `crossbar agent list` shows of 201 now (checked at the end).
    let listed_in_pause = crossbar_json(&setup, &["agent", "list"]);

    let csv = setup.dir().join("caller.csv");
    std::fs::write(&csv, format!("SEQUENTIAL\n{SUPPORT_DID};{CALLER};\n"))
        .expect("the callers file can be written");
    let media = free_port_block(4).to_string();
    let caller = spawn_sipp_with(
        "uac_carrier_queue.xml",
        server.addr(),
        carrier_port,
        &[
            "-inf",
            "caller.csv",
            "-m",
            "1",
            "-mp",
            &media,
            "-recv_timeout",
            "60000",
            "-timeout",
            "90s",
        ],
        &[&csv],
    );
    assert!(
        server
            .wait_for_line("joined the queue", Duration::from_secs(15))
            .is_some(),
        "the caller joins the queue (201 is logged in, paused)"
    );
    // 201 is the only agent, paused: the caller waits, nobody is offered it.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        server.count_lines(|l| l.contains("offered to an agent")),
        0,
        "no offer while 201 is paused:\n{}",
        server.log_text()
    );
    dial_feature(&server, &alice, "*48");

    succeeded(
        caller.wait(Duration::from_secs(100)),
        1,
        "the caller, answered by 201 after its pause",
    );
    let rang = succeeded(
        phone.wait(Duration::from_secs(160)),
        1,
        "201's phone answering",
    );
    // The agent's phone shows who is calling.
    let messages = rang.trace("messages");
    let from = messages
        .lines()
        .find(|l| l.starts_with("From:"))
        .unwrap_or_else(|| panic!("201's phone got no INVITE:\n{messages}"));
    assert!(
        from.contains(CALLER),
        "the offer shows the caller's number: {from}"
    );

    // The queued call and the three feature calls.
    let stored = setup.wait_for_records(4, Duration::from_secs(15));
    let feature = |code: &str| {
        stored
            .calls
            .iter()
            .find(|r| r.answered_by.as_deref() == Some(code))
            .unwrap_or_else(|| panic!("no record of {code}: {:#?}", stored.calls))
    };
    let paused_at = feature("*471").answered_at_ms.expect("answered");
    let unpaused_at = feature("*48").answered_at_ms.expect("answered");
    let record = stored
        .calls
        .iter()
        .find(|r| !r.queues.is_empty())
        .expect("the queued call");
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");
    assert_eq!(record.answered_by.as_deref(), Some("201"), "{record:#?}");
    let visit = visit(record);
    assert_eq!(
        visit.offered,
        ["201"],
        "one offer, after the pause: {record:#?}"
    );
    let offered = offers(record);
    assert!(
        offered[0].0 >= unpaused_at,
        "201 was offered the caller at {} before its pause ended at {unpaused_at}: {record:#?}",
        offered[0].0
    );
    assert!(
        visit.joined_at_ms > paused_at && visit.wait_ms >= 4000,
        "the caller waited out the pause: {record:#?}"
    );

    let report = queue_report(&setup);
    let queue = &report["queues"][0];
    assert_eq!(
        (&queue["offered"], &queue["answered"]),
        (&Value::from(1), &Value::from(1)),
        "{report:#}"
    );
    let figures = agent_figures(&report, "201");
    assert_eq!(
        (&figures["offers"], &figures["answered"]),
        (&Value::from(1), &Value::from(1)),
        "201 was offered one caller and answered it: {report:#}"
    );
    let lunch = figures["pause_secs_by_reason"]["lunch"]
        .as_i64()
        .unwrap_or_else(|| panic!("a pause for lunch: {report:#}"));
    let paused_secs = (unpaused_at - paused_at) / 1000;
    assert!(
        (lunch - paused_secs).abs() <= 1,
        "paused for lunch {paused_secs} s by the records, {lunch} s reported: {report:#}"
    );
    // The agent's state is kept: in the pause, 201 was logged in to the queue, paused for
    // lunch.
    let support = listed_in_pause
        .as_array()
        .expect("a list of agents")
        .iter()
        .find(|a| a["agent"] == "201" && a["queue"] == "support")
        .unwrap_or_else(|| panic!("201 in support: {listed_in_pause:#}"));
    assert_eq!(
        (
            &support["logged_in"],
            &support["paused"],
            &support["pause_reason"]
        ),
        (
            &Value::from(true),
            &Value::from(true),
            &Value::from("lunch")
        ),
        "{listed_in_pause:#}"
    );
    server.stop();
}

// ---------------------------------------------------------------------------------------
// Calling back
// ---------------------------------------------------------------------------------------

/// The customer of `uac_carrier_callback.xml`.
const CUSTOMER: &str = "+442079460123";

const TOKEN: &str = "sipp-queue-callback-token-4Rt8yUq2ZxW9pLm3";

/// `method path` with `body` and the ops token on the HTTP API at `api`: status and JSON.
fn http(api: std::net::SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    support::api_request(api, TOKEN, method, path, body)
}

/// The support desk of the callback tests: agents 201 and 202 may call national numbers
/// through the carrier (the outgoing route), the API on its own port with [`TOKEN`], and
/// `callbacks` (a `[callbacks]` section, or nothing).
fn callback_desk(carrier_port: u16, callbacks: &str) -> (Setup, std::net::SocketAddr) {
    let (http, api) = support::api_section(TOKEN);
    let extra = format!(
        "\n[[class]]\nname = \"national\"\nallow = [\"internal\", \"national\"]\n\
         \n[[outbound_route]]\nname = \"all\"\ntrunks = [\"carrier\"]\n{http}{callbacks}"
    );
    let mut setup = desk(carrier_port, "join_empty = true\n", &extra, &plain_moh());
    setup.extensions[0] = agent("201").with("class = \"national\"");
    setup.extensions[1] = agent("202").with("class = \"national\"");
    (setup, api)
}

/// The customer ([`CUSTOMER`], a number that can be called back — the other tests' caller
/// is a drama number, not a valid one to dial) gives up in the queue: the id of the task it
/// opens.
fn customer_gives_up(setup: &Setup, server: &Server, carrier_port: u16) -> i64 {
    let media = free_port_block(4).to_string();
    let caller = spawn_sipp_with(
        "uac_carrier_callback.xml",
        server.addr(),
        carrier_port,
        &[
            "-s",
            SUPPORT_DID,
            "-m",
            "1",
            "-d",
            "1000",
            "-mp",
            &media,
            "-recv_timeout",
            "15000",
            "-timeout",
            "30s",
        ],
        &[],
    );
    succeeded(
        caller.wait(Duration::from_secs(45)),
        1,
        "the caller giving up",
    );
    setup.wait_for_records(1, Duration::from_secs(15));
    let tasks = crossbar_json(setup, &["callbacks", "list"]);
    tasks[0]["id"].as_i64().expect("an open task")
}

#[test]
fn a_dialled_callback_task_rings_the_agent_then_the_customer_from_the_did_and_completes() {
    let carrier_port = free_port();
    let (setup, api) = callback_desk(carrier_port, "");
    let server = setup.start();
    let task = customer_gives_up(&setup, &server, carrier_port);

    // Agent 201's phone answers; the carrier (the trunk's address) answers.
    let phone = agent_phone(&server, &agent("201"), Some(1));
    let carrier_media = free_port_block(4).to_string();
    let carrier = support::spawn_sipp_on(
        "uas_answer.xml",
        server.addr(),
        carrier_port,
        &[
            "-trace_msg",
            "-m",
            "1",
            "-mp",
            &carrier_media,
            "-recv_timeout",
            "30000",
            "-timeout",
            "45s",
        ],
    )
    .ready();
    let (status, dialled) = http(
        api,
        "POST",
        &format!("/api/callbacks/{task}/dial"),
        Some(r#"{"agent": "201"}"#),
    );
    assert_eq!(status, 200, "{dialled:#}");
    let call = dialled["call"].as_str().expect("the call's id").to_owned();
    assert_eq!(dialled["request"]["state"], "done", "{dialled:#}");

    let agent_run = succeeded(phone.wait(Duration::from_secs(60)), 1, "agent 201");
    let carrier_run = succeeded(carrier.wait(Duration::from_secs(60)), 1, "the carrier");
    let agent_invite = agent_run.trace("messages");
    let from = agent_invite
        .lines()
        .find(|l| l.starts_with("From:") || l.starts_with("f:"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        from.contains(&CUSTOMER[3..]),
        "201's phone shows the customer's number: {from}\n{agent_invite}"
    );
    let carrier_invite = carrier_run.trace("messages");
    let from = carrier_invite
        .lines()
        .find(|l| l.starts_with("From:") || l.starts_with("f:"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        from.contains(&SUPPORT_DID[3..]),
        "the customer sees the DID they called: {from}\n{carrier_invite}"
    );

    let stored = setup.wait_for_records(2, Duration::from_secs(20));
    let record = stored
        .calls
        .iter()
        .find(|r| r.id.0 == call)
        .unwrap_or_else(|| panic!("the callback {call} is recorded: {stored:#?}"));
    assert_eq!(record.direction, Direction::Outbound, "{record:#?}");
    assert_eq!(record.callback_task, Some(task), "{record:#?}");
    assert_eq!(record.disposition, Disposition::Answered, "{record:#?}");

    let (status, after) = http(api, "GET", &format!("/api/callbacks/{task}"), None);
    assert_eq!(status, 200, "{after:#}");
    assert_eq!(after["state"], "completed", "{after:#}");
    assert_eq!(after["attempts"], 1, "{after:#}");
    assert_eq!(after["completed_by_call"], call.as_str(), "{after:#}");
    // Dialled again: not open any more, nothing asked (the CLI exits 1).
    let again = Command::new(CROSSBAR)
        .args([
            "callbacks",
            "dial",
            &task.to_string(),
            "--agent",
            "201",
            "--config",
        ])
        .arg(setup.config_path())
        .env_remove("RUST_LOG")
        .output()
        .expect("the crossbar binary runs");
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    server.stop();
}

/// The carrier as the customer's network for one call: `scenario` (a SIPp UAS) on the
/// trunk's address.
fn customer_network(server: &Server, carrier_port: u16, scenario: &str) -> SippProcess {
    let media = free_port_block(4).to_string();
    support::spawn_sipp_on(
        scenario,
        server.addr(),
        carrier_port,
        &[
            "-trace_msg",
            "-m",
            "1",
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

#[test]
fn a_queues_callback_task_left_unanswered_is_dialled_again_by_crossbar_with_a_free_agent_of_the_queue()
 {
    let carrier_port = free_port();
    // New tasks go to the queue; after an unanswered attempt crossbar tries again 3 s later.
    let (setup, api) = callback_desk(
        carrier_port,
        "\n[callbacks]\nretry_schedule_secs = [3]\nmax_attempts = 3\nassign_to = \"support\"\n",
    );
    let server = setup.start();
    let task = customer_gives_up(&setup, &server, carrier_port);
    let tasks = crossbar_json(&setup, &["callbacks", "list"]);
    assert_eq!(tasks[0]["assigned_queue"], "support", "{tasks:#}");

    // The first attempt, by hand with 201 (not an agent logged in): the customer's line is
    // busy. 201's phone answers; crossbar hangs it up when the customer's leg fails.
    let phone_201 = agent_phone(&server, &agent("201"), Some(1));
    let busy = customer_network(&server, carrier_port, "uas_busy.xml");
    let (status, dialled) = http(
        api,
        "POST",
        &format!("/api/callbacks/{task}/dial"),
        Some(r#"{"agent": "201"}"#),
    );
    assert_eq!(status, 200, "{dialled:#}");
    let first = dialled["call"].as_str().expect("the call's id").to_owned();
    busy.wait(Duration::from_secs(30));
    // The answering network for the next attempt, before crossbar makes it.
    let answering = customer_network(&server, carrier_port, "uas_answer.xml");
    let _ = phone_201.wait(Duration::from_secs(30));

    // 202 logs in to the queue and is free: crossbar's own attempt goes to 202's phone.
    let phone_202 = agent_phone(&server, &agent("202"), Some(1));
    let (status, login) = http(api, "POST", "/api/agents/202/login", Some("{}"));
    assert_eq!(status, 200, "{login:#}");
    succeeded(
        phone_202.wait(Duration::from_secs(60)),
        1,
        "agent 202 taking crossbar's attempt",
    );
    succeeded(
        answering.wait(Duration::from_secs(60)),
        1,
        "the customer answering crossbar's attempt",
    );

    let stored = setup.wait_for_records(3, Duration::from_secs(20));
    let first = stored
        .calls
        .iter()
        .find(|r| r.id.0 == first)
        .unwrap_or_else(|| panic!("the first attempt {first} is recorded: {stored:#?}"));
    assert_eq!(first.callback_task, Some(task), "{first:#?}");
    assert_ne!(first.disposition, Disposition::Answered, "{first:#?}");
    let retry = stored
        .calls
        .iter()
        .find(|r| r.callback_task == Some(task) && r.id != first.id)
        .unwrap_or_else(|| panic!("crossbar's attempt is recorded: {stored:#?}"));
    assert_eq!(retry.direction, Direction::Outbound, "{retry:#?}");
    assert_eq!(retry.caller.number, "202", "{retry:#?}");
    assert_eq!(retry.disposition, Disposition::Answered, "{retry:#?}");

    let (status, after) = http(api, "GET", &format!("/api/callbacks/{task}"), None);
    assert_eq!(status, 200, "{after:#}");
    assert_eq!(after["state"], "completed", "{after:#}");
    assert_eq!(after["attempts"], 2, "{after:#}");
    server.stop();
}
