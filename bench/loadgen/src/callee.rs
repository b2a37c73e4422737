//! The answering side: one or more extensions, registered from one UDP socket (each its own
//! Contact, `sip:USER@socket`), that answer every INVITE the server sends them at once (180,
//! then 200 with an SDP answer), start the call's RTP when the ACK arrives and stop it at
//! the BYE.
//!
//! As queue **agents** ([`Answering::hang_up_after`]) they also hang up themselves: each call
//! talks that long, then the agent sends the BYE — from that moment the agent is free, and
//! the time until the server's next INVITE to the same agent is the queue's dispatch time
//! (the realtime clock read just before the BYE's `sendto` → the kernel's receive stamp of
//! the INVITE, `SO_TIMESTAMPNS`: the loopback both ways is in it, the generator's own
//! scheduling after the INVITE arrived is not). The BYE's own round trip (BYE → the
//! server's 200, timed the same way) is measured beside it, as the reference: the server
//! handling one request, no queue decision.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use crossbar_sip::{HeaderName, Message, Method, Request, Response};
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeSpec;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::histogram::Histogram;
use crate::media::{MediaPlane, Side, receive_one};
use crate::signalling::{
    Credentials, T1, T2, TRANSACTION_TIMEOUT, branch, contact_uri, media_destination, parse, sdp,
    token,
};

const TICK: Duration = Duration::from_millis(5);

/// Counts of the answering side.
#[derive(Debug, Default)]
pub struct Tally {
    pub invites: AtomicU64,
    /// 200s never ACKed (given up after 64·T1).
    pub unacknowledged: AtomicU64,
    /// INVITEs without an SDP offer (answered 488: this callee does not do late offer).
    pub without_offer: AtomicU64,
    /// Agents: calls the agent hung up, and those whose BYE the server answered.
    pub hung_up: AtomicU64,
    pub byes_answered: AtomicU64,
    /// Agents: calls the server ended (a BYE to the agent).
    pub ended_by_server: AtomicU64,
    /// Agents: the agent free (its BYE sent, or the server's BYE received) → the server's next
    /// INVITE to that agent, microseconds.
    pub dispatch: Histogram,
    /// Agents: the agent's BYE sent → the server's 200, microseconds.
    pub bye_answered: Histogram,
}

/// How the answering extensions behave.
#[derive(Debug, Clone)]
pub struct Answering {
    /// The extensions, registered before the first call.
    pub users: Vec<Credentials>,
    /// How many RTP packets each call sends.
    pub packets: u32,
    /// Agents: hang up this long after the ACK. `None`: the calls end from the other side.
    pub hang_up_after: Option<Duration>,
}

/// The dialog of an answered call, from the answering side (§12.1.1), for its BYE.
struct Dialog {
    /// The server's Contact: the BYE's Request-URI.
    target: String,
    /// The INVITE's To with our tag (our From), and its From (our To).
    local: String,
    remote: String,
}

struct Answer {
    /// Which of the extensions answered.
    user: usize,
    /// The 200, retransmitted until the ACK (§13.3.1.4).
    ok: Vec<u8>,
    retransmit: Option<(Instant, Duration)>,
    deadline: Instant,
    /// The plane's socket for this call and where crossbar's relay wants our packets,
    /// until the ACK starts the stream.
    media: Option<(usize, SocketAddr)>,
    dialog: Dialog,
    /// Agents: when the agent hangs up (set at the ACK).
    hang_up_at: Option<Instant>,
    /// The agent's BYE, once sent: the request and when it left (realtime, ns).
    bye: Option<(Vec<u8>, u64)>,
}

pub struct Callee {
    socket: UdpSocket,
    local: SocketAddr,
    server: SocketAddr,
    answering: Answering,
    calls: HashMap<String, Answer>,
    answered: u32,
    /// Agents: when each became free (by user index; realtime, ns), until its next INVITE.
    freed_at: HashMap<usize, u64>,
    tally: Arc<Tally>,
    media: Option<Arc<MediaPlane>>,
}

impl Callee {
    pub fn new(
        socket: UdpSocket,
        server: SocketAddr,
        answering: Answering,
        tally: Arc<Tally>,
        media: Option<Arc<MediaPlane>>,
    ) -> std::io::Result<Callee> {
        // The kernel's receive stamps: an INVITE's arrival, not when the generator got to it.
        setsockopt(&socket, sockopt::ReceiveTimestampns, &true).map_err(std::io::Error::from)?;
        Ok(Callee {
            local: socket.local_addr()?,
            socket,
            server,
            answering,
            calls: HashMap::new(),
            answered: 0,
            freed_at: HashMap::new(),
            tally,
            media,
        })
    }

    /// Registers every extension's contact (answering the 401), one after the other.
    pub async fn register(&self) -> anyhow::Result<()> {
        for user in &self.answering.users {
            self.register_one(user).await?;
        }
        Ok(())
    }

    async fn register_one(&self, user: &Credentials) -> anyhow::Result<()> {
        let uri = format!("sip:{}", self.server);
        let call_id = token("reg");
        let mut credentials = None;
        for cseq in 1..=2 {
            let authorization = credentials
                .as_ref()
                .map(|(name, value): &(&str, String)| format!("{name}: {value}\r\n"))
                .unwrap_or_default();
            let register = format!(
                "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{user}@{server}>;tag={tag}\r\n\
                 To: <sip:{user}@{server}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n\
                 Contact: <sip:{user}@{local}>\r\nExpires: 3600\r\n{authorization}\
                 Content-Length: 0\r\n\r\n",
                local = self.local,
                branch = branch(),
                user = user.username,
                server = self.server,
                tag = token("t"),
            );
            self.socket
                .send_to(register.as_bytes(), self.server)
                .await?;
            let response = self.final_response(&call_id).await?;
            match response.status {
                200..=299 => return Ok(()),
                401 | 407 if credentials.is_none() => {
                    credentials = Some(user.answer(&response, "REGISTER", &uri).context(
                        "the registration challenge carries no usable Digest challenge",
                    )?);
                }
                status => bail!(
                    "the server answered the REGISTER of {} with {status}",
                    user.username
                ),
            }
        }
        bail!(
            "the server challenged the authenticated REGISTER of {} again: wrong password?",
            user.username
        )
    }

    async fn final_response(&self, call_id: &str) -> anyhow::Result<Response> {
        let mut buf = vec![0u8; 65_536];
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let len = tokio::time::timeout_at(deadline.into(), self.socket.recv(&mut buf))
                .await
                .context("no response to the REGISTER within 5 s: is the server up?")??;
            if let Some(Message::Response(response)) = parse(&buf[..len])
                && response.headers.call_id() == Some(call_id)
                && response.status >= 200
            {
                return Ok(response);
            }
        }
    }

    /// Answers calls until `done` turns true and no call is left.
    pub async fn run(mut self, mut done: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(TICK);
        let mut buf = vec![0u8; 65_536];
        let mut cmsg = nix::cmsg_space!(TimeSpec);
        loop {
            tokio::select! {
                received = self.socket.async_io(Interest::READABLE, || {
                    receive_one(&self.socket, &mut buf, &mut cmsg).map_err(std::io::Error::from)
                }) => {
                    let Ok((len, Some(from), stamp)) = received else {
                        continue;
                    };
                    let at = stamp.unwrap_or_else(realtime_ns);
                    match parse(&buf[..len]) {
                        Some(Message::Request(request)) => self.on_request(request, from, at).await,
                        Some(Message::Response(response)) => self.on_response(&response, at),
                        None => {}
                    }
                }
                _ = tick.tick() => self.sweep(Instant::now()).await,
                _ = done.changed() => {}
            }
            if *done.borrow() && self.calls.is_empty() {
                return;
            }
        }
    }

    async fn send(&self, datagram: &[u8], to: SocketAddr) {
        if let Err(error) = self.socket.send_to(datagram, to).await {
            eprintln!("loadgen: SIP send failed: {error}");
        }
    }

    /// A request from the server, received at `at` (realtime, ns).
    async fn on_request(&mut self, request: Request, from: SocketAddr, at: u64) {
        let Some(call_id) = request.headers.call_id().map(str::to_owned) else {
            return;
        };
        match request.method.clone() {
            Method::Invite => {
                if let Some(answer) = self.calls.get(&call_id) {
                    // A retransmitted INVITE: the 200 again.
                    let ok = answer.ok.clone();
                    self.send(&ok, from).await;
                } else {
                    self.answer(call_id, &request, from, at).await;
                }
            }
            Method::Ack => {
                if let Some(answer) = self.calls.get_mut(&call_id) {
                    let now = Instant::now();
                    answer.retransmit = None;
                    answer.deadline = now + Duration::from_secs(24 * 3600);
                    answer.hang_up_at = self.answering.hang_up_after.map(|talk| now + talk);
                    if let (Some(plane), Some((socket, relay))) = (&self.media, answer.media.take())
                    {
                        // Callers' SSRCs are even, callees' odd.
                        let ssrc = self.answered.wrapping_mul(2).wrapping_add(1);
                        self.answered += 1;
                        plane.send(Side::Callee, socket, relay, ssrc, self.answering.packets);
                    }
                }
            }
            method => {
                let mut ok = Vec::new();
                Message::Response(request.response(200)).encode(&mut ok);
                self.send(&ok, from).await;
                if method == Method::Bye
                    && let Some(answer) = self.calls.remove(&call_id)
                    && answer.bye.is_none()
                {
                    self.tally.ended_by_server.fetch_add(1, Ordering::Relaxed);
                    self.freed_at.insert(answer.user, at);
                }
            }
        }
    }

    /// The server's answer to an agent's BYE, received at `at` (realtime, ns).
    fn on_response(&mut self, response: &Response, at: u64) {
        let Some(call_id) = response.headers.call_id() else {
            return;
        };
        if response.status < 200
            || !response
                .headers
                .cseq()
                .is_ok_and(|cseq| cseq.method == Method::Bye)
        {
            return;
        }
        if let Some(answer) = self.calls.remove(call_id)
            && let Some((_, sent)) = answer.bye
        {
            self.tally.byes_answered.fetch_add(1, Ordering::Relaxed);
            self.tally
                .bye_answered
                .record(at.saturating_sub(sent) / 1_000);
        }
    }

    async fn answer(&mut self, call_id: String, invite: &Request, from: SocketAddr, at: u64) {
        let now = Instant::now();
        self.tally.invites.fetch_add(1, Ordering::Relaxed);
        let user = invite
            .uri
            .as_sip()
            .and_then(|uri| uri.user.as_deref())
            .and_then(|name| self.answering.users.iter().position(|u| u.username == name))
            .unwrap_or(0);
        if let Some(freed) = self.freed_at.remove(&user) {
            self.tally.dispatch.record(at.saturating_sub(freed) / 1_000);
        }
        let Some(relay) = media_destination(&invite.body) else {
            self.tally.without_offer.fetch_add(1, Ordering::Relaxed);
            let mut refusal = Vec::new();
            Message::Response(invite.response(488)).encode(&mut refusal);
            self.send(&refusal, from).await;
            return;
        };
        let invites = self.tally.invites.load(Ordering::Relaxed);
        let (answer_at, socket) = match &self.media {
            Some(plane) => {
                let (socket, address) = plane.socket_for(Side::Callee, invites as u32);
                (address, Some(socket))
            }
            None => (SocketAddr::new(self.local.ip(), 9), None),
        };
        let username = &self.answering.users[user].username;
        let tag = token("a");
        let header = |name| invite.headers.get(&name).unwrap_or_default().to_owned();
        let to = format!("{};tag={tag}", header(HeaderName::To));
        let dialog = Dialog {
            target: contact_uri(&invite.headers).unwrap_or_else(|| format!("sip:{}", self.server)),
            local: to.clone(),
            remote: header(HeaderName::From),
        };
        let mut ringing = invite.response(180);
        ringing.headers.set(HeaderName::To, to.clone());
        let mut ok = invite.response(200);
        ok.headers.set(HeaderName::To, to);
        ok.headers.push(
            HeaderName::Contact,
            format!("<sip:{username}@{}>", self.local),
        );
        ok.headers
            .push(HeaderName::ContentType, "application/sdp".to_owned());
        ok.body = sdp(answer_at).into_bytes().into();
        let (mut ringing_bytes, mut ok_bytes) = (Vec::new(), Vec::new());
        Message::Response(ringing).encode(&mut ringing_bytes);
        Message::Response(ok).encode(&mut ok_bytes);
        self.send(&ringing_bytes, from).await;
        self.send(&ok_bytes, from).await;
        self.calls.insert(
            call_id,
            Answer {
                user,
                ok: ok_bytes,
                retransmit: Some((now + T1, T1)),
                deadline: now + TRANSACTION_TIMEOUT,
                media: socket.map(|s| (s, relay)),
                dialog,
                hang_up_at: None,
                bye: None,
            },
        );
    }

    /// The agent's BYE for an answered call (§15.1.1): to the server's Contact, within the
    /// dialog the 200 made.
    fn bye(&self, call_id: &str, dialog: &Dialog) -> Vec<u8> {
        format!(
            "BYE {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
            target = dialog.target,
            local = self.local,
            branch = branch(),
            from = dialog.local,
            to = dialog.remote,
        )
        .into_bytes()
    }

    /// Hangs up the agents' calls whose talk is over; retransmits unacknowledged 200s (T1
    /// doubling to T2) and unanswered BYEs; gives up on either after 64·T1.
    async fn sweep(&mut self, now: Instant) {
        let mut sends = Vec::new();
        let mut lost = Vec::new();
        let due: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, a)| a.bye.is_none() && a.hang_up_at.is_some_and(|at| now >= at))
            .map(|(call_id, _)| call_id.clone())
            .collect();
        for call_id in due {
            let bye = self.bye(&call_id, &self.calls[&call_id].dialog);
            // Free from the moment the BYE leaves.
            let sent = realtime_ns();
            self.send(&bye, self.server).await;
            let answer = self.calls.get_mut(&call_id).expect("listed just above");
            answer.bye = Some((bye, sent));
            answer.retransmit = Some((now + T1, T1));
            answer.deadline = now + TRANSACTION_TIMEOUT;
            let user = answer.user;
            self.freed_at.insert(user, sent);
            self.tally.hung_up.fetch_add(1, Ordering::Relaxed);
        }
        for (call_id, answer) in &mut self.calls {
            if now >= answer.deadline {
                lost.push(call_id.clone());
            } else if let Some((at, interval)) = answer.retransmit
                && now >= at
            {
                let interval = (interval * 2).min(T2);
                answer.retransmit = Some((now + interval, interval));
                sends.push(match &answer.bye {
                    Some((bye, _)) => bye.clone(),
                    None => answer.ok.clone(),
                });
            }
        }
        for datagram in sends {
            self.send(&datagram, self.server).await;
        }
        for call_id in lost {
            if let Some(answer) = self.calls.remove(&call_id)
                && answer.bye.is_none()
            {
                self.tally.unacknowledged.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The realtime clock, ns since the epoch: the clock of the kernel's receive stamps.
fn realtime_ns() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
