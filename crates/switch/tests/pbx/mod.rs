//! The switch as the run loop drives it, for the call tests (`crossbar-testkit` drives it):
//! built from a configuration text — extensions, trunks, classes, routes, rate decks — the
//! way `crossbar run` builds it; binding writes succeed at once, media commands are kept, call
//! events are kept and folded into records by the real recorder, and trunk statuses and
//! blocks are kept for the tests to read.
#![allow(dead_code)] // each test file uses a part of it

use std::time::{Duration, Instant, SystemTime};

use crossbar_auth::{Algorithm, Authenticator};
use crossbar_cdr::EventKind;
use crossbar_cdr::record::{CallRecord, Recorder, RecorderOutput};
use crossbar_config::Config;
use crossbar_media::{MediaCommand, Prompt};
use crossbar_proto::endpoint::{Account, Endpoint, EndpointSettings};
use crossbar_proto::registrar::RegistrarSettings;
use crossbar_proto::transaction::{Peer, Timers, TransactionKey, Transmit};
use crossbar_routing::DialPlan;
use crossbar_switch::{
    AgentEvent, HeldChange, PromptLibrary, Switch, SwitchOutput, SwitchSettings, TrunkStatus,
};
use crossbar_testkit::{Clock, Lab, Machine, peer};

pub const RING: Duration = Duration::from_secs(20);
pub const CROSSBAR: &str = "192.0.2.100:5060";

/// Extensions 201, 202 and 203 (secret `secret-{number}`), nothing else.
pub const EXTENSIONS: &str = r#"
[[extension]]
number = "201"
secret = "secret-201"

[[extension]]
number = "202"
secret = "secret-202"

[[extension]]
number = "203"
secret = "secret-203"
"#;

pub struct Pbx {
    pub switch: Switch,
    pub media: Vec<MediaCommand>,
    pub recorder: Recorder,
    pub records: Vec<CallRecord>,
    pub kinds: Vec<EventKind>,
    pub trunk_statuses: Vec<TrunkStatus>,
    /// Extensions blocked by a fraud cap, with the reason.
    pub blocks: Vec<(String, String)>,
    /// Every message's destination and the local socket it was to leave from.
    pub sent_from: Vec<(Peer, Option<std::net::SocketAddr>)>,
    /// Round robin positions the switch asked to keep.
    pub round_robin: Vec<(String, usize)>,
    /// Round robin positions of queues the switch asked to keep.
    pub queue_round_robin: Vec<(String, usize)>,
    /// The agent event log.
    pub agents: Vec<AgentEvent>,
    /// Places kept for callers waiting for a callback, and given up.
    pub held: Vec<HeldChange>,
}

impl Machine for Pbx {
    fn address(&self) -> Peer {
        peer(CROSSBAR)
    }

    fn deliver(&mut self, clock: &Clock, from: Peer, bytes: &[u8]) {
        self.switch
            .handle_datagram(clock.now(), clock.wall(), bytes, from);
    }

    fn handle_timeout(&mut self, clock: &Clock) {
        self.switch.handle_timeout(clock.now(), clock.wall());
    }

    fn handle_transport_error(&mut self, clock: &Clock, key: TransactionKey) {
        self.switch
            .handle_transport_error(clock.now(), clock.wall(), key);
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.switch.poll_timeout()
    }

    fn collect(&mut self, clock: &Clock) -> Vec<Transmit> {
        let mut out = Vec::new();
        while let Some(output) = self.switch.poll_output() {
            match output {
                SwitchOutput::Transmit(transmit) => {
                    self.sent_from.push((transmit.destination, transmit.local));
                    out.push(transmit);
                }
                SwitchOutput::Persist { ticket, .. } => {
                    self.switch
                        .persisted(clock.now(), clock.wall(), ticket, true);
                }
                SwitchOutput::Media(command) => self.media.push(command),
                SwitchOutput::Call(event) => {
                    self.kinds.push(event.kind.clone());
                    if let Some(RecorderOutput::Finished(record)) = self.recorder.record(event) {
                        self.records.push(*record);
                    }
                }
                SwitchOutput::Trunk(status) => self.trunk_statuses.push(status),
                SwitchOutput::Block {
                    extension, reason, ..
                } => self.blocks.push((extension, reason)),
                SwitchOutput::RoundRobin { group, next } => self.round_robin.push((group, next)),
                SwitchOutput::QueueRoundRobin { queue, next } => {
                    self.queue_round_robin.push((queue, next));
                }
                SwitchOutput::Agent(event) => self.agents.push(event),
                SwitchOutput::Held(change) => self.held.push(change),
            }
        }
        out
    }
}

impl Pbx {
    /// Extensions 201, 202 and 203 only (MD5 digest).
    pub fn new(wall: SystemTime) -> Pbx {
        Pbx::with_config(EXTENSIONS, wall)
    }

    /// The switch of configuration `text` (relative paths, e.g. rate decks, from this crate's
    /// directory), with the extensions' accounts, dial plan and trunks.
    pub fn with_config(text: &str, wall: SystemTime) -> Pbx {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crossbar.toml");
        let config = match Config::parse(text, &path) {
            Ok(config) => config,
            Err(errors) => panic!("test configuration: {errors}"),
        };
        let mut auth_config = crossbar_auth::Config::new("crossbar");
        auth_config.algorithms = vec![Algorithm::Md5];
        let auth = Authenticator::from_seed(auth_config, 3, wall).expect("auth config");
        let accounts = config
            .extensions
            .iter()
            .map(|e| Account {
                number: e.number.clone(),
                username: e.username.clone(),
                secret: e.secret.expose().to_owned(),
                max_contacts: None,
            })
            .collect();
        let endpoint = Endpoint::new(
            EndpointSettings {
                server_name: "crossbar-test".into(),
                registrar: RegistrarSettings::default(),
                timers: Timers::default(),
            },
            auth,
            accounts,
            9,
        );
        let settings = SwitchSettings {
            sip_address: CROSSBAR.parse().expect("address"),
            media_address: "192.0.2.100".parse().expect("address"),
            rtp_ports: (20_000, 20_099),
            ring_timeout: RING,
            max_calls_per_extension: 2,
            min_session_expires: 90,
            user_agent: "crossbar-test".into(),
        };
        let plan = DialPlan::compile(&config).expect("test dial plan");
        let mut switch = Switch::new(endpoint, settings, plan, &config.trunks, 5);
        // The menus' prompts (tests/prompts holds short tones); the queues' music and system
        // prompts are synthesised (half a second of silence named after the file); a ringback
        // tone.
        let mut prompts = PromptLibrary::load(&config, |path| {
            if path.exists() {
                Prompt::from_wav(path)
            } else {
                let name = path.with_extension("").display().to_string();
                Ok(Prompt::from_samples(name, &[0; 4000]))
            }
        })
        .unwrap_or_else(|(path, error)| panic!("test prompt {}: {error}", path.display()));
        prompts.set_ringback(Prompt::ringback_gb());
        switch.set_prompts(prompts);
        Pbx {
            switch,
            media: Vec::new(),
            recorder: Recorder::default(),
            records: Vec::new(),
            kinds: Vec::new(),
            trunk_statuses: Vec::new(),
            blocks: Vec::new(),
            sent_from: Vec::new(),
            round_robin: Vec::new(),
            queue_round_robin: Vec::new(),
            held: Vec::new(),
            agents: Vec::new(),
        }
    }

    /// The one call record (panics unless exactly one call has ended).
    pub fn record(&self) -> &CallRecord {
        assert_eq!(
            self.records.len(),
            1,
            "one record per call: {:#?}",
            self.records
        );
        &self.records[0]
    }
}

/// A lab around the switch of `text`, its trunks started.
pub fn lab_with(text: &str) -> Lab<Pbx> {
    let clock = Clock::new();
    let mut lab = Lab::with_clock(clock, Pbx::with_config(text, clock.wall()));
    let (now, wall) = (lab.clock.now(), lab.clock.wall());
    lab.machine.switch.start(now, wall);
    lab.run_for(Duration::ZERO);
    lab
}

/// What the queue and callback tests share: agents' phones, their INVITEs and answers, the
/// relays opened and media events, the agent log.
pub mod agents {
    use super::Pbx;
    use crossbar_media::{MediaCommand, MediaEvent, RelayId};
    use crossbar_sip::{Method, Request};
    use crossbar_switch::AgentActivity;
    use crossbar_testkit::sdp::sdp;
    use crossbar_testkit::{Dialog, Lab, Phone};
    use std::time::Duration;

    pub fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    pub fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Extension `number`'s phone at 192.0.2.1N:5060, registered.
    pub fn phone(lab: &mut Lab<Pbx>, number: &str) -> Phone {
        let last = &number[number.len() - 1..];
        let mut phone = Phone::new(
            number,
            &format!("secret-{number}"),
            &format!("192.0.2.1{last}:5060"),
            "192.0.2.100",
        );
        assert_eq!(phone.register(lab).status, 200);
        phone
    }

    /// The relays opened, in order (one per call).
    pub fn relays(lab: &Lab<Pbx>) -> Vec<RelayId> {
        lab.machine
            .media
            .iter()
            .filter_map(|c| match c {
                MediaCommand::Open(plan) => Some(plan.id),
                _ => None,
            })
            .collect()
    }

    pub fn media_event(lab: &mut Lab<Pbx>, event: MediaEvent) {
        let (now, wall) = (lab.clock.now(), lab.clock.wall());
        lab.machine.switch.handle_media_event(now, wall, event);
        lab.run_for(ms(1));
    }

    /// The INVITEs `phone` got since its inbox was last taken.
    pub fn invites(lab: &mut Lab<Pbx>, phone: &Phone) -> Vec<Request> {
        lab.requests(phone.at)
            .into_iter()
            .filter(|r| r.method == Method::Invite)
            .collect()
    }

    /// The one INVITE `phone` got, which it answers 180 at once.
    pub fn rings(lab: &mut Lab<Pbx>, phone: &Phone) -> Request {
        let got = invites(lab, phone);
        assert_eq!(got.len(), 1, "{} got one INVITE: {got:#?}", phone.number);
        let invite = got.into_iter().next().expect("one INVITE");
        phone.reply(lab, &invite, 180, None);
        lab.run_for(ms(10));
        invite
    }

    /// `phone` answers `invite` (SDP on `port`): returns its dialog.
    pub fn answers(lab: &mut Lab<Pbx>, phone: &Phone, invite: &Request, port: u16) -> Dialog {
        phone.reply(
            lab,
            invite,
            200,
            Some(sdp(&phone.at.addr.ip().to_string(), port, "sendrecv")),
        );
        lab.run_for(ms(10));
        phone.dialog_as_callee(invite)
    }

    /// The agent event log of `agent`: its activities.
    pub fn activities(lab: &Lab<Pbx>, agent: &str) -> Vec<AgentActivity> {
        lab.machine
            .agents
            .iter()
            .filter(|e| e.agent == agent)
            .map(|e| e.activity.clone())
            .collect()
    }
}
