//! Calls through the switch on a virtual clock: scripted phones exchange real SIP text with
//! it, and the call events are folded into records by the real recorder, so each test
//! states the disposition a user would see (DESIGN.md §1).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use crossbar_auth::{Algorithm, Authenticator, DigestInput, QopInput, ha1};
use crossbar_cdr::record::{CallRecord, Disposition, Recorder, RecorderOutput};
use crossbar_cdr::{EventKind, HangupSide};
use crossbar_config::Config;
use crossbar_media::MediaCommand;
use crossbar_proto::endpoint::{Account, Endpoint, EndpointSettings};
use crossbar_proto::registrar::RegistrarSettings;
use crossbar_proto::transaction::{Peer, Timers};
use crossbar_routing::DialPlan;
use crossbar_sip::{Bytes, HeaderName, Message, Method, Request, Response};
use crossbar_switch::{Switch, SwitchOutput, SwitchSettings};

const REALM: &str = "crossbar";
const RING: Duration = Duration::from_secs(20);

/// The dial plan of a site with extensions only (201–203 are in the endpoint's directory).
fn dial_plan() -> DialPlan {
    let text = "[[extension]]\nnumber = \"201\"\nsecret = \"secret-201\"\n\
                [[extension]]\nnumber = \"202\"\nsecret = \"secret-202\"\n\
                [[extension]]\nnumber = \"203\"\nsecret = \"secret-203\"\n";
    let config = Config::parse(text, std::path::Path::new("test.toml")).expect("test config");
    DialPlan::compile(&config).expect("test dial plan")
}

fn peer(addr: &str) -> Peer {
    Peer::udp(addr.parse().expect("address"))
}

fn sdp(ip: &str, port: u16, direction: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na={direction}\r\n"
    )
}

/// What identifies a dialog from a phone's side: Call-ID, its From (with its tag) and To
/// (with crossbar's tag).
struct Ids<'a> {
    call_id: &'a str,
    from: &'a str,
    to: &'a str,
}

struct Lab {
    switch: Switch,
    now: Instant,
    wall: SystemTime,
    inbox: HashMap<Peer, Vec<Message>>,
    media: Vec<MediaCommand>,
    recorder: Recorder,
    records: Vec<CallRecord>,
    kinds: Vec<EventKind>,
    sent: u32,
    /// Whether `dial` puts an SDP offer in the INVITE (false: a late offer).
    offer: bool,
}

impl Lab {
    fn new() -> Lab {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut auth_config = crossbar_auth::Config::new(REALM);
        auth_config.algorithms = vec![Algorithm::Md5];
        let auth = Authenticator::from_seed(auth_config, 3, wall).expect("auth config");
        let accounts = ["201", "202", "203"]
            .iter()
            .map(|n| Account {
                number: (*n).into(),
                username: (*n).into(),
                secret: format!("secret-{n}"),
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
            sip_address: "192.0.2.100:5060".parse().expect("address"),
            media_address: "192.0.2.100".parse().expect("address"),
            rtp_ports: (20_000, 20_099),
            ring_timeout: RING,
            max_calls_per_extension: 2,
            min_session_expires: 90,
            user_agent: "crossbar-test".into(),
        };
        Lab {
            switch: Switch::new(endpoint, settings, dial_plan(), &[], 5),
            now: Instant::now(),
            wall,
            inbox: HashMap::new(),
            media: Vec::new(),
            recorder: Recorder::default(),
            records: Vec::new(),
            kinds: Vec::new(),
            sent: 0,
            offer: true,
        }
    }

    fn collect(&mut self) {
        while let Some(output) = self.switch.poll_output() {
            match output {
                SwitchOutput::Transmit(t) => {
                    self.inbox.entry(t.destination).or_default().push(t.message)
                }
                SwitchOutput::Persist { ticket, .. } => {
                    self.switch.persisted(self.now, self.wall, ticket, true);
                }
                SwitchOutput::Media(command) => self.media.push(command),
                SwitchOutput::Call(event) => {
                    self.kinds.push(event.kind.clone());
                    if let Some(RecorderOutput::Finished(record)) = self.recorder.record(event) {
                        self.records.push(*record);
                    }
                }
                SwitchOutput::Trunk(_) | SwitchOutput::Block { .. } => {}
            }
        }
    }

    fn send(&mut self, from: Peer, message: &Message) {
        self.switch
            .handle_datagram(self.now, self.wall, &message.to_bytes(), from);
        self.collect();
    }

    fn send_text(&mut self, from: Peer, text: &str) {
        self.switch
            .handle_datagram(self.now, self.wall, text.as_bytes(), from);
        self.collect();
    }

    fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(at) = self.switch.poll_timeout() {
            if at > until {
                break;
            }
            self.wall += at.saturating_duration_since(self.now);
            self.now = self.now.max(at);
            self.switch.handle_timeout(self.now, self.wall);
            self.collect();
        }
        self.wall += until.saturating_duration_since(self.now);
        self.now = until;
    }

    /// Messages the switch sent to `to` since the last call.
    fn take(&mut self, to: Peer) -> Vec<Message> {
        self.inbox.remove(&to).unwrap_or_default()
    }

    fn requests(&mut self, to: Peer) -> Vec<Request> {
        self.take(to)
            .into_iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r),
                Message::Response(_) => None,
            })
            .collect()
    }

    fn responses(&mut self, to: Peer) -> Vec<Response> {
        self.take(to)
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) => Some(r),
                Message::Request(_) => None,
            })
            .collect()
    }

    fn statuses(&mut self, to: Peer) -> Vec<u16> {
        self.responses(to).iter().map(|r| r.status).collect()
    }

    fn branch(&mut self) -> String {
        self.sent += 1;
        format!("z9hG4bK-t{}", self.sent)
    }

    /// Registers extension `number` at phone `at` (digest round included).
    fn register(&mut self, number: &str, at: Peer) {
        let text = |branch: &str, cseq: u32, auth: &str| {
            format!(
                "REGISTER sip:192.0.2.100 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{number}@192.0.2.100>;tag=r{number}\r\n\
                 To: <sip:{number}@192.0.2.100>\r\nCall-ID: reg-{number}-{}\r\nCSeq: {cseq} REGISTER\r\n\
                 Contact: <sip:{number}@{}>\r\n{auth}Content-Length: 0\r\n\r\n",
                at.addr, at.addr, at.addr
            )
        };
        let branch = self.branch();
        self.send_text(at, &text(&branch, 1, ""));
        let challenge = self.responses(at).pop().expect("401");
        assert_eq!(challenge.status, 401);
        let authorization = answer(&challenge, HeaderName::WwwAuthenticate, number, "REGISTER");
        let branch = self.branch();
        self.send_text(
            at,
            &text(&branch, 2, &format!("Authorization: {authorization}\r\n")),
        );
        let ok = self.responses(at).pop().expect("200");
        assert_eq!(ok.status, 200, "{ok}");
    }

    /// Caller `from` (extension `number` at `at`) dials `dialled`: INVITE → 407 → ACK →
    /// INVITE with credentials. Returns the authenticated INVITE as sent.
    fn dial(&mut self, number: &str, at: Peer, dialled: &str, extra: &str) -> Request {
        let call_id = format!("call-{}-{}", number, self.sent);
        let body = if self.offer {
            sdp("192.0.2.1", 4000, "sendrecv")
        } else {
            String::new()
        };
        let content_type = if self.offer {
            "Content-Type: application/sdp\r\n"
        } else {
            ""
        };
        let invite = |branch: &str, cseq: u32, auth: &str| {
            format!(
                "INVITE sip:{dialled}@192.0.2.100 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch}\r\n\
                 Max-Forwards: 70\r\nFrom: \"Caller {number}\" <sip:{number}@192.0.2.100>;tag=a{number}\r\n\
                 To: <sip:{dialled}@192.0.2.100>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\n\
                 Contact: <sip:{number}@{}>\r\n{extra}{auth}{content_type}\
                 Content-Length: {}\r\n\r\n{body}",
                at.addr,
                at.addr,
                body.len()
            )
        };
        let branch = self.branch();
        self.send_text(at, &invite(&branch, 1, ""));
        let challenge = self.responses(at).pop().expect("407");
        assert_eq!(challenge.status, 407);
        let to = challenge
            .headers
            .get(&HeaderName::To)
            .expect("To")
            .to_owned();
        self.send_text(
            at,
            &format!(
                "ACK sip:{dialled}@192.0.2.100 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch}\r\n\
                 Max-Forwards: 70\r\nFrom: \"Caller {number}\" <sip:{number}@192.0.2.100>;tag=a{number}\r\n\
                 To: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
                at.addr
            ),
        );
        let authorization = answer(&challenge, HeaderName::ProxyAuthenticate, number, "INVITE");
        let branch = self.branch();
        let text = invite(
            &branch,
            2,
            &format!("Proxy-Authorization: {authorization}\r\n"),
        );
        self.send_text(at, &text);
        match crossbar_sip::parse_datagram(text.as_bytes()).expect("our own INVITE parses") {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!("an INVITE is a request"),
        }
    }

    /// The phone at `at` answers `request` with `status` (and its SDP for 18x/2xx).
    fn reply(&mut self, at: Peer, request: &Request, status: u16, body: Option<String>) {
        let mut response = request.response(status);
        if let Some(to) = response
            .headers
            .0
            .iter_mut()
            .find(|h| h.name == HeaderName::To)
            && !to.value.contains("tag=")
        {
            to.value.push_str(";tag=callee");
        }
        if (101..300).contains(&status) {
            response
                .headers
                .push(HeaderName::Contact, format!("<sip:callee@{}>", at.addr));
        }
        if let Some(body) = body {
            response
                .headers
                .push(HeaderName::ContentType, "application/sdp");
            response.body = Bytes::from(body);
        }
        self.send(at, &Message::Response(response));
    }

    /// The phone at `at` sends `method` in the dialog of a request it received (`received`
    /// is a request crossbar sent to it, e.g. the INVITE or the 200's dialog).
    fn in_dialog(
        &mut self,
        at: Peer,
        dialog: &Ids<'_>,
        method: Method,
        cseq: u32,
        body: Option<String>,
    ) {
        let branch = self.branch();
        let content = match body {
            Some(b) => format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ),
            None => "Content-Length: 0\r\n\r\n".to_owned(),
        };
        let Ids { call_id, from, to } = dialog;
        let text = format!(
            "{method} sip:crossbar@192.0.2.100:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch}\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:phone@{}>\r\n{content}",
            at.addr, at.addr
        );
        self.send_text(at, &text);
    }

    /// The caller at `at` CANCELs its INVITE (§9.1: same branch, Call-ID, From and To as the
    /// INVITE), read from the responses crossbar sent it.
    fn cancel_from(&mut self, at: Peer) {
        let ours = self.responses(at);
        let first = ours.first().expect("a response to the INVITE");
        let via = first.headers.get(&HeaderName::Via).expect("Via");
        let branch = via
            .split("branch=")
            .nth(1)
            .and_then(|b| b.split(';').next())
            .expect("a branch")
            .to_owned();
        let call_id = call_id_of(first);
        self.send_text(
            at,
            &format!(
                "CANCEL sip:202@192.0.2.100 SIP/2.0\r\nVia: SIP/2.0/UDP {};branch={branch}\r\n\
                 Max-Forwards: 70\r\nFrom: \"Caller 201\" <sip:201@192.0.2.100>;tag=a201\r\n\
                 To: <sip:202@192.0.2.100>\r\nCall-ID: {call_id}\r\nCSeq: 2 CANCEL\r\nContent-Length: 0\r\n\r\n",
                at.addr
            ),
        );
    }

    fn record(&self) -> &CallRecord {
        assert_eq!(
            self.records.len(),
            1,
            "one record per call: {:#?}",
            self.records
        );
        &self.records[0]
    }
}

/// An `Authorization`/`Proxy-Authorization` value answering the challenge.
fn answer(challenge: &Response, header: HeaderName, user: &str, method: &str) -> String {
    let value = challenge.headers.get(&header).expect("challenge header");
    let param = |name: &str| {
        let start = value.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        value[start..].split('"').next().expect("quote").to_owned()
    };
    let (nonce, opaque) = (param("nonce"), param("opaque"));
    let uri = "sip:192.0.2.100";
    let input = DigestInput {
        algorithm: Algorithm::Md5,
        nonce: &nonce,
        uri,
        qop: Some(QopInput {
            qop: "auth",
            nc: "00000001",
            cnonce: "abc",
        }),
    };
    let response = input.response(
        &ha1(Algorithm::Md5, user, REALM, &format!("secret-{user}")),
        method,
    );
    format!(
        "Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=MD5, cnonce=\"abc\", opaque=\"{opaque}\", qop=auth, nc=00000001"
    )
}

/// Alice (201) calls Bob (202), who is registered; returns (lab, alice, bob, Bob's INVITE).
fn ringing_call() -> (Lab, Peer, Peer, Request) {
    let mut lab = Lab::new();
    let (alice, bob) = (peer("192.0.2.1:5060"), peer("192.0.2.2:5060"));
    lab.register("202", bob);
    lab.dial("201", alice, "202", "");
    let invite = lab.requests(bob).pop().expect("Bob's phone gets an INVITE");
    assert_eq!(invite.method, Method::Invite);
    (lab, alice, bob, invite)
}

/// The answered call of `ringing_call`, with Alice's ACK sent; returns the 200 Alice got.
fn answered_call() -> (Lab, Peer, Peer, Request, Response) {
    let (mut lab, alice, bob, invite) = ringing_call();
    lab.reply(bob, &invite, 180, None);
    lab.advance(Duration::from_secs(3));
    lab.reply(bob, &invite, 200, Some(sdp("192.0.2.2", 5000, "sendrecv")));
    let ok = lab
        .responses(alice)
        .into_iter()
        .find(|r| r.status == 200)
        .expect("Alice gets the 200");
    let to = ok.headers.get(&HeaderName::To).expect("To").to_owned();
    lab.in_dialog(
        alice,
        &Ids {
            call_id: &call_id_of(&ok),
            from: "\"Caller 201\" <sip:201@192.0.2.100>;tag=a201",
            to: &to,
        },
        Method::Ack,
        2,
        None,
    );
    (lab, alice, bob, invite, ok)
}

fn call_id_of(response: &Response) -> String {
    response.headers.call_id().expect("Call-ID").to_owned()
}

#[test]
fn the_callee_gets_an_invite_with_the_relay_sdp_and_the_callers_codecs() {
    let (lab, _alice, _bob, invite) = ringing_call();
    let body = String::from_utf8_lossy(&invite.body).into_owned();
    assert!(body.contains("c=IN IP4 192.0.2.100"), "{body}");
    assert!(
        !body.contains("192.0.2.1\r\n"),
        "the caller's address is hidden: {body}"
    );
    assert!(
        body.contains("m=audio 2000"),
        "a relay port from the range: {body}"
    );
    assert!(
        body.contains("a=rtpmap:0 PCMU/8000") && body.contains("a=rtpmap:101 telephone-event/8000")
    );
    assert!(body.contains("a=fmtp:101 0-15"));
    assert!(
        matches!(lab.media.first(), Some(MediaCommand::Open(plan)) if plan.a.remote_rtp == Some("192.0.2.1:4000".parse().expect("addr")))
    );
    let from = invite.headers.from().expect("From");
    assert!(
        from.display
            .as_deref()
            .is_some_and(|d| d.contains("Caller 201")),
        "{from:?}"
    );
    assert_eq!(
        from.uri.to_string(),
        "sip:201@192.0.2.100:5060",
        "the caller's extension"
    );
}

#[test]
fn an_answered_call_relays_ringing_answer_and_bye_and_is_recorded_answered() {
    let (mut lab, alice, bob, _invite, ok) = answered_call();
    let body = String::from_utf8_lossy(&ok.body).into_owned();
    assert!(
        body.contains("c=IN IP4 192.0.2.100"),
        "Alice sees the relay: {body}"
    );
    // Bob got the ACK for his 200.
    assert!(lab.requests(bob).iter().any(|r| r.method == Method::Ack));
    assert!(lab.media.iter().any(
        |c| matches!(c, MediaCommand::SetRemote { rtp: Some(addr), .. } if addr.port() == 5000)
    ));

    lab.advance(Duration::from_secs(42));
    let to = ok.headers.get(&HeaderName::To).expect("To").to_owned();
    lab.in_dialog(
        alice,
        &Ids {
            call_id: &call_id_of(&ok),
            from: "<sip:201@192.0.2.100>;tag=a201",
            to: &to,
        },
        Method::Bye,
        3,
        None,
    );
    assert_eq!(lab.statuses(alice), [200]);
    let bye = lab.requests(bob).pop().expect("Bob gets a BYE");
    assert_eq!(bye.method, Method::Bye);
    lab.reply(bob, &bye, 200, None);

    let record = lab.record();
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.hangup_by, HangupSide::Caller);
    assert_eq!(record.timings.talk_secs, 42);
    assert_eq!(record.timings.wait_secs, Some(3));
    assert_eq!(record.answered_by.as_deref(), Some("202"));
    assert!(
        lab.media
            .iter()
            .any(|c| matches!(c, MediaCommand::Close { .. }))
    );
}

#[test]
fn the_callee_hanging_up_is_recorded_as_the_callee_hanging_up() {
    let (mut lab, alice, bob, invite, _ok) = answered_call();
    let from = invite.headers.get(&HeaderName::To).expect("To").to_owned() + ";tag=callee";
    let to = invite
        .headers
        .get(&HeaderName::From)
        .expect("From")
        .to_owned();
    let call_id = invite.headers.call_id().expect("Call-ID").to_owned();
    lab.in_dialog(
        bob,
        &Ids {
            call_id: &call_id,
            from: &from,
            to: &to,
        },
        Method::Bye,
        1,
        None,
    );
    assert_eq!(lab.statuses(bob), [200]);
    assert!(lab.requests(alice).iter().any(|r| r.method == Method::Bye));
    assert_eq!(lab.record().hangup_by, HangupSide::Callee);
    assert_eq!(lab.record().disposition, Disposition::Answered);
}

#[test]
fn busy_is_relayed_and_recorded_busy() {
    let (mut lab, alice, bob, invite) = ringing_call();
    lab.reply(bob, &invite, 486, None);
    assert!(lab.statuses(alice).contains(&486));
    assert_eq!(lab.record().disposition, Disposition::Busy);
    assert_eq!(lab.record().sip_status, Some(486));
}

#[test]
fn a_decline_is_recorded_rejected() {
    let (mut lab, alice, bob, invite) = ringing_call();
    lab.reply(bob, &invite, 603, None);
    assert!(lab.statuses(alice).contains(&603));
    assert_eq!(lab.record().disposition, Disposition::Rejected);
}

#[test]
fn ringing_past_the_ring_timeout_cancels_the_callee_and_is_recorded_no_answer() {
    let (mut lab, alice, bob, invite) = ringing_call();
    lab.reply(bob, &invite, 180, None);
    assert!(lab.statuses(alice).contains(&180));
    lab.advance(RING + Duration::from_secs(1));
    let cancel = lab
        .requests(bob)
        .into_iter()
        .find(|r| r.method == Method::Cancel)
        .expect("CANCEL");
    lab.reply(bob, &cancel, 200, None);
    lab.reply(bob, &invite, 487, None);
    assert!(lab.statuses(alice).contains(&480));
    let record = lab.record();
    assert_eq!(record.disposition, Disposition::NoAnswer);
    assert_eq!(
        record.timings.ring_secs, 20,
        "rang from the 180 to the timeout"
    );
}

#[test]
fn the_caller_cancelling_while_ringing_is_recorded_cancelled() {
    let (mut lab, alice, bob, invite) = ringing_call();
    lab.reply(bob, &invite, 180, None);
    lab.advance(Duration::from_secs(5));
    lab.cancel_from(alice);
    let statuses = lab.statuses(alice);
    assert!(
        statuses.contains(&200) && statuses.contains(&487),
        "{statuses:?}"
    );
    let cancel = lab
        .requests(bob)
        .into_iter()
        .find(|r| r.method == Method::Cancel)
        .expect("CANCEL to Bob");
    lab.reply(bob, &cancel, 200, None);
    lab.reply(bob, &invite, 487, None);
    let record = lab.record();
    assert_eq!(record.disposition, Disposition::Cancelled);
    assert_eq!(record.hangup_by, HangupSide::Caller);
}

#[test]
fn a_200_crossing_the_callers_cancel_is_acked_and_hung_up() {
    let (mut lab, alice, bob, invite) = ringing_call();
    lab.reply(bob, &invite, 180, None);
    lab.cancel_from(alice);
    let _cancel = lab.requests(bob);
    let to_cancel = lab.statuses(alice);
    assert!(
        to_cancel.contains(&200) && to_cancel.contains(&487),
        "{to_cancel:?}"
    );
    // Bob answered before his phone saw the CANCEL.
    lab.reply(bob, &invite, 200, Some(sdp("192.0.2.2", 5000, "sendrecv")));
    let to_bob = lab.requests(bob);
    assert!(to_bob.iter().any(|r| r.method == Method::Ack), "{to_bob:?}");
    assert!(to_bob.iter().any(|r| r.method == Method::Bye), "{to_bob:?}");
    assert!(
        lab.responses(alice).is_empty(),
        "Alice never gets the late answer"
    );
    assert_eq!(lab.record().disposition, Disposition::Cancelled);
}

#[test]
fn a_number_that_is_no_extension_gets_404_and_is_recorded_failed() {
    let mut lab = Lab::new();
    let alice = peer("192.0.2.1:5060");
    lab.dial("201", alice, "999", "");
    assert!(lab.statuses(alice).contains(&404));
    assert_eq!(lab.record().disposition, Disposition::Failed);
}

#[test]
fn an_unregistered_extension_gets_480_and_is_recorded_no_answer() {
    let mut lab = Lab::new();
    let alice = peer("192.0.2.1:5060");
    lab.dial("201", alice, "203", "");
    assert!(lab.statuses(alice).contains(&480));
    assert_eq!(lab.record().disposition, Disposition::NoAnswer);
}

#[test]
fn every_registered_contact_rings_and_the_others_are_cancelled_when_one_answers() {
    let mut lab = Lab::new();
    let (alice, desk, mobile) = (
        peer("192.0.2.1:5060"),
        peer("192.0.2.2:5060"),
        peer("192.0.2.3:5060"),
    );
    lab.register("202", desk);
    lab.register("202", mobile);
    lab.dial("201", alice, "202", "");
    let desk_invite = lab.requests(desk).pop().expect("desk rings");
    let mobile_invite = lab.requests(mobile).pop().expect("mobile rings");
    lab.reply(mobile, &mobile_invite, 180, None);
    lab.reply(
        desk,
        &desk_invite,
        200,
        Some(sdp("192.0.2.2", 5000, "sendrecv")),
    );
    let cancel = lab
        .requests(mobile)
        .into_iter()
        .find(|r| r.method == Method::Cancel);
    assert!(cancel.is_some(), "the mobile leg is cancelled");
    assert!(lab.statuses(alice).contains(&200));
}

#[test]
fn hold_and_resume_are_relayed_and_recorded() {
    let (mut lab, alice, bob, _invite, ok) = answered_call();
    let to = ok.headers.get(&HeaderName::To).expect("To").to_owned();
    let call_id = call_id_of(&ok);
    let from = "\"Caller 201\" <sip:201@192.0.2.100>;tag=a201";
    lab.advance(Duration::from_secs(10));
    lab.in_dialog(
        alice,
        &Ids {
            call_id: &call_id,
            from,
            to: &to,
        },
        Method::Invite,
        3,
        Some(sdp("192.0.2.1", 4000, "sendonly")),
    );
    let reinvite = lab
        .requests(bob)
        .into_iter()
        .find(|r| r.method == Method::Invite)
        .expect("re-INVITE to Bob");
    assert!(String::from_utf8_lossy(&reinvite.body).contains("a=sendonly"));
    lab.reply(
        bob,
        &reinvite,
        200,
        Some(sdp("192.0.2.2", 5000, "recvonly")),
    );
    assert!(lab.statuses(alice).contains(&200));
    assert!(
        lab.media
            .iter()
            .any(|c| matches!(c, MediaCommand::SetHold { on_hold: true, .. }))
    );

    lab.advance(Duration::from_secs(15));
    lab.in_dialog(
        alice,
        &Ids {
            call_id: &call_id,
            from,
            to: &to,
        },
        Method::Invite,
        4,
        Some(sdp("192.0.2.1", 4000, "sendrecv")),
    );
    let resume = lab
        .requests(bob)
        .into_iter()
        .find(|r| r.method == Method::Invite)
        .expect("resume");
    lab.reply(bob, &resume, 200, Some(sdp("192.0.2.2", 5000, "sendrecv")));
    lab.advance(Duration::from_secs(5));
    lab.in_dialog(
        alice,
        &Ids {
            call_id: &call_id,
            from,
            to: &to,
        },
        Method::Bye,
        5,
        None,
    );
    let record = lab.record();
    assert_eq!(record.disposition, Disposition::Answered);
    assert_eq!(record.timings.hold_secs, 15);
    assert!(
        lab.kinds
            .iter()
            .any(|k| matches!(k, EventKind::Hold { .. }))
    );
    assert!(
        lab.kinds
            .iter()
            .any(|k| matches!(k, EventKind::Resume { .. }))
    );
}

#[test]
fn an_extension_at_its_call_limit_is_busy_for_new_calls() {
    let mut lab = Lab::new();
    let (alice, bob, carol) = (
        peer("192.0.2.1:5060"),
        peer("192.0.2.2:5060"),
        peer("192.0.2.3:5060"),
    );
    lab.register("202", bob);
    lab.dial("201", alice, "202", "");
    lab.dial("203", carol, "202", "");
    lab.dial("201", alice, "202", "");
    // Bob is in two calls (the limit): the third caller hears busy.
    assert!(lab.statuses(alice).contains(&486));
    assert!(
        lab.records
            .iter()
            .any(|r| r.disposition == Disposition::Busy)
    );
}

#[test]
fn a_session_interval_below_min_se_gets_422() {
    let mut lab = Lab::new();
    let (alice, bob) = (peer("192.0.2.1:5060"), peer("192.0.2.2:5060"));
    lab.register("202", bob);
    lab.dial(
        "201",
        alice,
        "202",
        "Session-Expires: 30\r\nSupported: timer\r\n",
    );
    let responses = lab.responses(alice);
    let refused = responses.iter().find(|r| r.status == 422).expect("422");
    assert_eq!(refused.headers.get(&HeaderName::MinSe), Some("90"));
}

#[test]
fn a_call_whose_session_is_never_refreshed_is_ended_after_the_interval() {
    let mut lab = Lab::new();
    let (alice, bob) = (peer("192.0.2.1:5060"), peer("192.0.2.2:5060"));
    lab.register("202", bob);
    lab.dial(
        "201",
        alice,
        "202",
        "Session-Expires: 120;refresher=uac\r\nSupported: timer\r\n",
    );
    let invite = lab.requests(bob).pop().expect("INVITE");
    assert_eq!(
        invite.headers.get(&HeaderName::SessionExpires),
        Some("120;refresher=uac")
    );
    let mut ok = invite.response(200);
    if let Some(to) = ok.headers.0.iter_mut().find(|h| h.name == HeaderName::To) {
        to.value.push_str(";tag=callee");
    }
    ok.headers
        .push(HeaderName::Contact, "<sip:callee@192.0.2.2:5060>");
    ok.headers
        .push(HeaderName::SessionExpires, "120;refresher=uac");
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    ok.body = Bytes::from(sdp("192.0.2.2", 5000, "sendrecv"));
    lab.send(bob, &Message::Response(ok));
    let answer = lab
        .responses(alice)
        .into_iter()
        .find(|r| r.status == 200)
        .expect("200");
    assert_eq!(
        answer.headers.get(&HeaderName::SessionExpires),
        Some("120;refresher=uac")
    );
    lab.advance(Duration::from_secs(121));
    assert!(lab.requests(bob).iter().any(|r| r.method == Method::Bye));
    assert!(lab.requests(alice).iter().any(|r| r.method == Method::Bye));
    assert_eq!(lab.record().disposition, Disposition::Answered);
}

#[test]
fn media_inactivity_ends_an_answered_call_with_bye_to_both_sides() {
    let (mut lab, alice, bob, _invite, _ok) = answered_call();
    let relay = lab
        .media
        .iter()
        .find_map(|c| match c {
            MediaCommand::Open(plan) => Some(plan.id),
            _ => None,
        })
        .expect("a relay");
    let (now, wall) = (lab.now, lab.wall);
    lab.switch.handle_media_event(
        now,
        wall,
        crossbar_media::MediaEvent::Inactive {
            id: relay,
            idle_secs: 30,
        },
    );
    lab.collect();
    assert!(lab.requests(bob).iter().any(|r| r.method == Method::Bye));
    assert!(lab.requests(alice).iter().any(|r| r.method == Method::Bye));
    assert_eq!(lab.record().hangup_by, HangupSide::System);
}

#[test]
fn shutting_down_ends_calls_with_bye_and_records_them_interrupted() {
    let (mut lab, alice, bob, _invite, _ok) = answered_call();
    let (now, wall) = (lab.now, lab.wall);
    lab.switch.shut_down(now, wall);
    lab.collect();
    assert!(lab.requests(bob).iter().any(|r| r.method == Method::Bye));
    assert!(lab.requests(alice).iter().any(|r| r.method == Method::Bye));
    let record = lab.record();
    assert!(record.interrupted);
    assert_eq!(record.disposition, Disposition::Answered);
}

#[test]
fn a_late_offer_is_answered_in_the_callers_ack_and_carried_to_the_callee() {
    let mut lab = Lab::new();
    lab.offer = false;
    let (alice, bob) = (peer("192.0.2.1:5060"), peer("192.0.2.2:5060"));
    lab.register("202", bob);
    lab.dial("201", alice, "202", "");
    let invite = lab.requests(bob).pop().expect("INVITE");
    assert!(invite.body.is_empty(), "no offer to pass on");
    lab.reply(bob, &invite, 200, Some(sdp("192.0.2.2", 5000, "sendrecv")));
    assert!(
        !lab.requests(bob).iter().any(|r| r.method == Method::Ack),
        "Bob's ACK waits for Alice's answer"
    );
    let ok = lab
        .responses(alice)
        .into_iter()
        .find(|r| r.status == 200)
        .expect("200");
    assert!(
        String::from_utf8_lossy(&ok.body).contains("c=IN IP4 192.0.2.100"),
        "Bob's offer, relayed"
    );
    let to = ok.headers.get(&HeaderName::To).expect("To").to_owned();
    let call_id = call_id_of(&ok);
    let ids = Ids {
        call_id: &call_id,
        from: "\"Caller 201\" <sip:201@192.0.2.100>;tag=a201",
        to: &to,
    };
    lab.in_dialog(
        alice,
        &ids,
        Method::Ack,
        2,
        Some(sdp("192.0.2.1", 4000, "sendrecv")),
    );
    let ack = lab
        .requests(bob)
        .into_iter()
        .find(|r| r.method == Method::Ack)
        .expect("Bob's ACK, with the answer");
    let answer = String::from_utf8_lossy(&ack.body).into_owned();
    assert!(
        answer.contains("c=IN IP4 192.0.2.100") && answer.contains("m=audio 2000"),
        "{answer}"
    );
    assert!(lab.media.iter().any(
        |c| matches!(c, MediaCommand::SetRemote { rtp: Some(addr), .. } if addr.port() == 4000)
    ));
}
