//! The calling side: places calls at a steady rate from many extensions, each INVITE
//! answering the server's 407 with the extension's credentials (RFC 3261 §22.3), ACKs the
//! 200, runs the call's RTP for the hold time, then hangs up with BYE. Everything runs in
//! one task over one UDP socket; the calls are a table keyed by Call-ID.
//!
//! Or it is a **carrier**: its socket is a trunk's address in the server's configuration, so
//! its INVITEs are the trunk's (no digest: the server knows the trunk by its address), each
//! from its own E.164 caller number to the number called (a DID). When the server answers
//! the call itself — a menu — the caller listens to what it plays ([`crate::media`] times
//! the stream), may speak (20 ms frames to the server) and may press a key at the end of the
//! hold (RFC 4733); a key that ends the call there is heard when the server's BYE comes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbar_sip::{HeaderName, Message, Method, Request, Response};
use tokio::net::UdpSocket;

use crate::histogram::Histogram;
use crate::media::{MediaPlane, PTIME, Side, Stream};
use crate::signalling::{
    Credentials, T1, T2, TRANSACTION_TIMEOUT, branch, contact_uri, media_destination, parse, sdp,
    to_tag, token,
};

/// How often the table is swept for calls to start, retransmit or hang up.
const TICK: Duration = Duration::from_millis(5);
/// How long a call may ring before the caller counts it failed.
const RING_LIMIT: Duration = Duration::from_secs(60);

/// What calls to place.
#[derive(Debug, Clone)]
pub struct Plan {
    pub server: SocketAddr,
    /// The number every call dials.
    pub dial: String,
    pub calls: u32,
    /// New calls per second.
    pub rate: f64,
    /// How long each call stays up after its answer; with media, how long RTP flows.
    pub hold: Duration,
    /// With media: how long after the last packet the BYE waits, for packets in flight.
    pub drain: Duration,
    /// Who the callers are.
    pub identity: Identity,
    /// The server answers the calls itself (a menu): how the callers behave in it.
    pub menu: Option<MenuCaller>,
}

/// Who places the calls.
#[derive(Debug, Clone)]
pub enum Identity {
    /// Extensions, with their credentials, used in turn (the server challenges each INVITE).
    Extensions(Vec<Credentials>),
    /// A carrier: callers `{prefix}{index:06}`, never challenged.
    Carrier { prefix: String },
}

/// A caller in a menu crossbar answers.
#[derive(Debug, Clone, Copy)]
pub struct MenuCaller {
    /// The caller sends 20 ms frames for the hold (as a phone does), or nothing.
    pub audio: bool,
    /// Pressed (RFC 4733) at the end of the hold.
    pub key: Option<char>,
    /// How long after the key the caller waits for the server's BYE before it hangs up.
    pub key_wait: Duration,
}

/// Outcome counts, read by the progress line and the report.
#[derive(Debug, Default)]
pub struct Tally {
    pub launched: AtomicU64,
    pub answered: AtomicU64,
    /// Hung up by us and the BYE answered.
    pub completed: AtomicU64,
    /// Ended by a BYE from the server before the caller hung up.
    pub ended_by_server: AtomicU64,
    /// No final response to an INVITE or BYE in time.
    pub timeouts: AtomicU64,
    /// Final failure responses, by status.
    pub failures: Mutex<BTreeMap<u16, u64>>,
    /// First INVITE sent → 200 received (the 407 round included), microseconds.
    pub setup: Histogram,
    /// Keys pressed in a menu, and those the server's BYE followed (the key's option hangs up).
    pub keys_sent: AtomicU64,
    pub keys_heard: AtomicU64,
    /// The key's first packet sent → the server's BYE received, microseconds.
    pub key_to_bye: Histogram,
}

impl Tally {
    pub fn failed(&self) -> u64 {
        self.timeouts.load(Ordering::Relaxed)
            + self
                .failures
                .lock()
                .expect("not poisoned")
                .values()
                .sum::<u64>()
    }
}

enum Phase {
    Inviting { authenticated: bool },
    Answered { hang_up_at: Instant },
    HangingUp,
}

struct Call {
    index: u32,
    user: usize,
    tag: String,
    cseq: u32,
    phase: Phase,
    /// The SDP offer, sent again in the authenticated INVITE.
    offer: String,
    started: Instant,
    /// The request being retransmitted (INVITE, then BYE) and when next.
    request: Vec<u8>,
    retransmit: Option<(Instant, Duration)>,
    deadline: Instant,
    /// With media: the plane's socket this call's RTP goes from.
    rtp_socket: Option<usize>,
    /// Once answered: the callee's tag, its Contact, and the ACK (re-sent on a repeated 200).
    remote_tag: String,
    remote_target: String,
    ack: Vec<u8>,
}

pub struct Caller {
    socket: UdpSocket,
    local: SocketAddr,
    plan: Plan,
    request_uri: String,
    calls: HashMap<String, Call>,
    tally: Arc<Tally>,
    media: Option<Arc<MediaPlane>>,
}

impl Caller {
    pub fn new(
        socket: UdpSocket,
        plan: Plan,
        tally: Arc<Tally>,
        media: Option<Arc<MediaPlane>>,
    ) -> std::io::Result<Caller> {
        let local = socket.local_addr()?;
        Ok(Caller {
            request_uri: format!("sip:{}@{}", plan.dial, plan.server),
            socket,
            local,
            plan,
            calls: HashMap::new(),
            tally,
            media,
        })
    }

    /// Places every call of the plan and returns when the last has ended.
    pub async fn run(mut self) {
        let start = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        let mut buf = vec![0u8; 65_536];
        let mut launched = 0u32;
        while launched < self.plan.calls || !self.calls.is_empty() {
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    if let Ok((len, _)) = received
                        && let Some(message) = parse(&buf[..len])
                    {
                        self.on_message(message).await;
                    }
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    let due = (now.duration_since(start).as_secs_f64() * self.plan.rate) as u64;
                    while u64::from(launched) < due.min(u64::from(self.plan.calls)) {
                        self.place(launched, now).await;
                        launched += 1;
                    }
                    self.sweep(now).await;
                }
            }
        }
    }

    async fn place(&mut self, index: u32, now: Instant) {
        let (rtp_socket, offer_at) = match &self.media {
            Some(plane) => {
                let (socket, address) = plane.socket_for(Side::Caller, index);
                (Some(socket), address)
            }
            // Signalling only: the discard port, where nothing is listening.
            None => (None, SocketAddr::new(self.local.ip(), 9)),
        };
        let user = match &self.plan.identity {
            Identity::Extensions(users) => index as usize % users.len(),
            Identity::Carrier { .. } => index as usize,
        };
        let call_id = token("call");
        let offer = sdp(offer_at);
        let mut call = Call {
            index,
            offer: String::new(),
            user,
            tag: token("t"),
            cseq: 0,
            phase: Phase::Inviting {
                authenticated: false,
            },
            started: now,
            request: Vec::new(),
            retransmit: None,
            deadline: now + TRANSACTION_TIMEOUT,
            rtp_socket,
            remote_tag: String::new(),
            remote_target: String::new(),
            ack: Vec::new(),
        };
        self.invite(&call_id, &mut call, &offer, None, now).await;
        call.offer = offer;
        self.calls.insert(call_id, call);
        self.tally.launched.fetch_add(1, Ordering::Relaxed);
    }

    /// The caller's user part: the extension's user name, or the carrier's caller number.
    fn user(&self, call: &Call) -> String {
        match &self.plan.identity {
            Identity::Extensions(users) => users[call.user].username.clone(),
            Identity::Carrier { prefix } => format!("{prefix}{:06}", call.user),
        }
    }

    fn from(&self, call: &Call) -> String {
        let host = match self.plan.identity {
            Identity::Extensions(_) => self.plan.server.to_string(),
            Identity::Carrier { .. } => self.local.ip().to_string(),
        };
        format!("<sip:{}@{host}>;tag={}", self.user(call), call.tag)
    }

    async fn invite(
        &self,
        call_id: &str,
        call: &mut Call,
        body: &str,
        credentials: Option<(&str, String)>,
        now: Instant,
    ) {
        call.cseq += 1;
        let via = format!("SIP/2.0/UDP {};branch={};rport", self.local, branch());
        let authorization = credentials
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .unwrap_or_default();
        call.request = format!(
            "INVITE {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\n\
             To: <{uri}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\n\
             Contact: <sip:{user}@{local}>\r\n{authorization}User-Agent: crossbar-loadgen\r\n\
             Content-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{body}",
            uri = self.request_uri,
            from = self.from(call),
            cseq = call.cseq,
            user = self.user(call),
            local = self.local,
            len = body.len(),
        )
        .into_bytes();
        call.retransmit = Some((now + T1, T1));
        call.deadline = now + TRANSACTION_TIMEOUT;
        self.send(&call.request).await;
    }

    async fn send(&self, datagram: &[u8]) {
        if let Err(error) = self.socket.send_to(datagram, self.plan.server).await {
            eprintln!("loadgen: SIP send failed: {error}");
        }
    }

    async fn on_message(&mut self, message: Message) {
        match message {
            Message::Response(response) => self.on_response(response).await,
            Message::Request(request) => self.on_request(request).await,
        }
    }

    async fn on_request(&mut self, request: Request) {
        if request.method == Method::Ack {
            return;
        }
        let mut ok = Vec::new();
        Message::Response(request.response(200)).encode(&mut ok);
        self.send(&ok).await;
        if request.method == Method::Bye
            && let Some(call_id) = request.headers.call_id()
            && let Some(call) = self.calls.remove(call_id)
        {
            self.tally.ended_by_server.fetch_add(1, Ordering::Relaxed);
            // The call is over: so is what the caller was saying (a queue's caller talks
            // until the agent hangs up).
            if let Some(plane) = &self.media {
                plane.stop(Side::Caller, ssrc_of(call.index));
            }
            // In a menu, a BYE after the key is the key heard (its option hangs up).
            if let (Some(plane), Some(_)) = (&self.media, self.plan.menu.and_then(|m| m.key))
                && let Some(pressed) = plane.key_sent(ssrc_of(call.index))
            {
                self.tally.keys_heard.fetch_add(1, Ordering::Relaxed);
                let waited = Instant::now().saturating_duration_since(pressed);
                self.tally
                    .key_to_bye
                    .record(u64::try_from(waited.as_micros()).unwrap_or(u64::MAX));
            }
        }
    }

    async fn on_response(&mut self, response: Response) {
        let Some(call_id) = response.headers.call_id().map(str::to_owned) else {
            return;
        };
        let Ok(cseq) = response.headers.cseq() else {
            return;
        };
        let Some(mut call) = self.calls.remove(&call_id) else {
            return;
        };
        let now = Instant::now();
        let keep = match (&call.phase, cseq.method) {
            (Phase::Inviting { authenticated }, Method::Invite) if cseq.seq == call.cseq => {
                let authenticated = *authenticated;
                self.on_invite_response(&call_id, &mut call, &response, authenticated, now)
                    .await
            }
            // A repeated failure response to an earlier INVITE: its ACK was lost.
            (_, Method::Invite) if response.status >= 300 => {
                self.ack_failure(&call_id, &call, &response).await;
                true
            }
            // A repeated 200: the ACK was lost (§13.2.2.4).
            (Phase::Answered { .. } | Phase::HangingUp, Method::Invite) => {
                self.send(&call.ack).await;
                true
            }
            (Phase::HangingUp, Method::Bye) if response.status >= 200 => {
                self.tally.completed.fetch_add(1, Ordering::Relaxed);
                false
            }
            _ => true,
        };
        if keep {
            self.calls.insert(call_id, call);
        }
    }

    /// A response to the current INVITE; returns whether the call goes on.
    async fn on_invite_response(
        &mut self,
        call_id: &str,
        call: &mut Call,
        response: &Response,
        authenticated: bool,
        now: Instant,
    ) -> bool {
        match response.status {
            100..=199 => {
                // Timer A stops; the call may ring.
                call.retransmit = None;
                call.deadline = now + RING_LIMIT;
                true
            }
            200..=299 => {
                self.answered(call_id, call, response, now).await;
                true
            }
            401 | 407
                if !authenticated && matches!(self.plan.identity, Identity::Extensions(_)) =>
            {
                self.ack_failure(call_id, call, response).await;
                let Identity::Extensions(users) = &self.plan.identity else {
                    unreachable!("matched just above");
                };
                let user = &users[call.user];
                let Some(credentials) = user.answer(response, "INVITE", &self.request_uri) else {
                    eprintln!("loadgen: a {} without a usable challenge", response.status);
                    self.fail(response.status);
                    return false;
                };
                call.phase = Phase::Inviting {
                    authenticated: true,
                };
                let offer = std::mem::take(&mut call.offer);
                self.invite(call_id, call, &offer, Some(credentials), now)
                    .await;
                true
            }
            status => {
                self.ack_failure(call_id, call, response).await;
                self.fail(status);
                false
            }
        }
    }

    async fn answered(
        &mut self,
        call_id: &str,
        call: &mut Call,
        response: &Response,
        now: Instant,
    ) {
        let setup = now.duration_since(call.started);
        self.tally
            .setup
            .record(u64::try_from(setup.as_micros()).unwrap_or(u64::MAX));
        self.tally.answered.fetch_add(1, Ordering::Relaxed);
        call.remote_tag = to_tag(response).unwrap_or_default();
        call.remote_target =
            contact_uri(&response.headers).unwrap_or_else(|| self.request_uri.clone());
        call.ack = self.in_dialog(call_id, call, "ACK", call.cseq);
        self.send(&call.ack).await;
        call.retransmit = None;
        let mut hang_up_at = now + self.plan.hold;
        if let (Some(plane), Some(socket)) = (&self.media, call.rtp_socket)
            && let Some(relay) = media_destination(&response.body)
        {
            let ssrc = ssrc_of(call.index);
            match self.plan.menu {
                Some(menu) => {
                    plane.send_stream(
                        Side::Caller,
                        Stream {
                            socket,
                            to: relay,
                            ssrc,
                            packets: packets_in(self.plan.hold),
                            audio: menu.audio,
                            key: menu.key,
                            control: false,
                        },
                    );
                    if menu.key.is_some() {
                        self.tally.keys_sent.fetch_add(1, Ordering::Relaxed);
                        hang_up_at += menu.key_wait;
                    }
                }
                None => {
                    plane.send(
                        Side::Caller,
                        socket,
                        relay,
                        ssrc,
                        packets_in(self.plan.hold),
                    );
                    hang_up_at += self.plan.drain;
                }
            }
        }
        call.phase = Phase::Answered { hang_up_at };
    }

    /// The ACK of a non-2xx final response: the INVITE's Via and CSeq number (as the
    /// response carries them back, so a repeated response to an earlier INVITE is ACKed
    /// right too) and the response's To (§17.1.1.3).
    async fn ack_failure(&self, call_id: &str, call: &Call, response: &Response) {
        let header = |name| response.headers.get(&name).unwrap_or_default();
        let (via, to) = (header(HeaderName::Via), header(HeaderName::To));
        let cseq = response.headers.cseq().map_or(call.cseq, |c| c.seq);
        let ack = format!(
            "ACK {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n",
            uri = self.request_uri,
            from = self.from(call),
        );
        self.send(ack.as_bytes()).await;
    }

    /// A request within the answered dialog (§12.2.1.1): to the callee's Contact, with its
    /// tag.
    fn in_dialog(&self, call_id: &str, call: &Call, method: &str, cseq: u32) -> Vec<u8> {
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: <{uri}>;tag={remote_tag}\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            target = call.remote_target,
            local = self.local,
            branch = branch(),
            from = self.from(call),
            uri = self.request_uri,
            remote_tag = call.remote_tag,
        )
        .into_bytes()
    }

    /// Hangs up the calls whose time is up, retransmits what is unanswered, gives up on
    /// what timed out.
    async fn sweep(&mut self, now: Instant) {
        let mut ended = Vec::new();
        let mut sends = Vec::new();
        let due: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, call)| matches!(call.phase, Phase::Answered { hang_up_at } if now >= hang_up_at))
            .map(|(call_id, _)| call_id.clone())
            .collect();
        for call_id in due {
            let Some(mut call) = self.calls.remove(&call_id) else {
                continue;
            };
            call.cseq += 1;
            call.request = self.in_dialog(&call_id, &call, "BYE", call.cseq);
            call.retransmit = Some((now + T1, T1));
            call.deadline = now + TRANSACTION_TIMEOUT;
            call.phase = Phase::HangingUp;
            self.send(&call.request).await;
            self.calls.insert(call_id, call);
        }
        for (call_id, call) in &mut self.calls {
            if matches!(call.phase, Phase::Answered { .. }) {
                continue;
            }
            if now >= call.deadline {
                ended.push(call_id.clone());
                continue;
            }
            if let Some((at, interval)) = call.retransmit
                && now >= at
            {
                let interval = match call.phase {
                    Phase::Inviting { .. } => interval * 2,
                    _ => (interval * 2).min(T2),
                };
                call.retransmit = Some((now + interval, interval));
                sends.push(call.request.clone());
            }
        }
        for datagram in sends {
            self.send(&datagram).await;
        }
        for call_id in ended {
            if let Some(call) = self.calls.remove(&call_id) {
                eprintln!(
                    "loadgen: call {} ({call_id}) timed out in {}",
                    call.index,
                    match call.phase {
                        Phase::Inviting { .. } => "its INVITE",
                        _ => "its BYE",
                    }
                );
                self.tally.timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn fail(&self, status: u16) {
        *self
            .tally
            .failures
            .lock()
            .expect("not poisoned")
            .entry(status)
            .or_default() += 1;
    }
}

/// A caller's SSRC: even (callees' are odd).
fn ssrc_of(index: u32) -> u32 {
    index.wrapping_mul(2)
}

/// How many 20 ms packets fill `hold`.
pub fn packets_in(hold: Duration) -> u32 {
    u32::try_from(hold.as_millis() / PTIME.as_millis()).unwrap_or(u32::MAX)
}
