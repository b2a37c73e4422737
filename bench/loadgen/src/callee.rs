//! The answering side: one extension, registered from its own UDP socket, that answers
//! every INVITE the server sends it at once (180, then 200 with an SDP answer), starts the
//! call's RTP when the ACK arrives and stops it at the BYE.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use crossbar_sip::{HeaderName, Message, Method, Request};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::media::{MediaPlane, Side};
use crate::signalling::{
    Credentials, T1, T2, TRANSACTION_TIMEOUT, branch, media_destination, parse, sdp, token,
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
}

struct Answer {
    /// The 200, retransmitted until the ACK (§13.3.1.4).
    ok: Vec<u8>,
    retransmit: Option<(Instant, Duration)>,
    deadline: Instant,
    /// The plane's socket for this call and where crossbar's relay wants our packets,
    /// until the ACK starts the stream.
    media: Option<(usize, SocketAddr)>,
}

pub struct Callee {
    socket: UdpSocket,
    local: SocketAddr,
    server: SocketAddr,
    user: Credentials,
    /// How many RTP packets each call sends.
    packets: u32,
    calls: HashMap<String, Answer>,
    answered: u32,
    tally: Arc<Tally>,
    media: Option<Arc<MediaPlane>>,
}

impl Callee {
    pub fn new(
        socket: UdpSocket,
        server: SocketAddr,
        user: Credentials,
        packets: u32,
        tally: Arc<Tally>,
        media: Option<Arc<MediaPlane>>,
    ) -> std::io::Result<Callee> {
        Ok(Callee {
            local: socket.local_addr()?,
            socket,
            server,
            user,
            packets,
            calls: HashMap::new(),
            answered: 0,
            tally,
            media,
        })
    }

    /// Registers the extension's contact (answering the 401), before any call.
    pub async fn register(&self) -> anyhow::Result<()> {
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
                user = self.user.username,
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
                    credentials = Some(self.user.answer(&response, "REGISTER", &uri).context(
                        "the registration challenge carries no usable Digest challenge",
                    )?);
                }
                status => bail!(
                    "the server answered the REGISTER of {} with {status}",
                    self.user.username
                ),
            }
        }
        bail!("the server challenged the authenticated REGISTER again: wrong password?")
    }

    async fn final_response(&self, call_id: &str) -> anyhow::Result<crossbar_sip::Response> {
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
        loop {
            tokio::select! {
                received = self.socket.recv_from(&mut buf) => {
                    if let Ok((len, from)) = received
                        && let Some(Message::Request(request)) = parse(&buf[..len])
                    {
                        self.on_request(request, from).await;
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

    async fn on_request(&mut self, request: Request, from: SocketAddr) {
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
                    self.answer(call_id, &request, from).await;
                }
            }
            Method::Ack => {
                if let Some(answer) = self.calls.get_mut(&call_id) {
                    answer.retransmit = None;
                    answer.deadline = Instant::now() + Duration::from_secs(24 * 3600);
                    if let (Some(plane), Some((socket, relay))) = (&self.media, answer.media.take())
                    {
                        // Callers' SSRCs are even, callees' odd.
                        let ssrc = self.answered.wrapping_mul(2).wrapping_add(1);
                        self.answered += 1;
                        plane.send(Side::Callee, socket, relay, ssrc, self.packets);
                    }
                }
            }
            method => {
                let mut ok = Vec::new();
                Message::Response(request.response(200)).encode(&mut ok);
                self.send(&ok, from).await;
                if method == Method::Bye {
                    self.calls.remove(&call_id);
                }
            }
        }
    }

    async fn answer(&mut self, call_id: String, invite: &Request, from: SocketAddr) {
        self.tally.invites.fetch_add(1, Ordering::Relaxed);
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
        let tag = token("a");
        let to = invite.headers.get(&HeaderName::To).unwrap_or_default();
        let to = format!("{to};tag={tag}");
        let mut ringing = invite.response(180);
        ringing.headers.set(HeaderName::To, to.clone());
        let mut ok = invite.response(200);
        ok.headers.set(HeaderName::To, to);
        ok.headers.push(
            HeaderName::Contact,
            format!("<sip:{}@{}>", self.user.username, self.local),
        );
        ok.headers
            .push(HeaderName::ContentType, "application/sdp".to_owned());
        ok.body = sdp(answer_at).into_bytes().into();
        let (mut ringing_bytes, mut ok_bytes) = (Vec::new(), Vec::new());
        Message::Response(ringing).encode(&mut ringing_bytes);
        Message::Response(ok).encode(&mut ok_bytes);
        self.send(&ringing_bytes, from).await;
        self.send(&ok_bytes, from).await;
        let now = Instant::now();
        self.calls.insert(
            call_id,
            Answer {
                ok: ok_bytes,
                retransmit: Some((now + T1, T1)),
                deadline: now + TRANSACTION_TIMEOUT,
                media: socket.map(|s| (s, relay)),
            },
        );
    }

    /// Retransmits unacknowledged 200s (T1 doubling to T2) and gives up after 64·T1.
    async fn sweep(&mut self, now: Instant) {
        let mut sends = Vec::new();
        let mut lost = Vec::new();
        for (call_id, answer) in &mut self.calls {
            if now >= answer.deadline {
                lost.push(call_id.clone());
            } else if let Some((at, interval)) = answer.retransmit
                && now >= at
            {
                let interval = (interval * 2).min(T2);
                answer.retransmit = Some((now + interval, interval));
                sends.push(answer.ok.clone());
            }
        }
        for datagram in sends {
            self.send(&datagram, self.server).await;
        }
        for call_id in lost {
            self.calls.remove(&call_id);
            self.tally.unacknowledged.fetch_add(1, Ordering::Relaxed);
        }
    }
}
