//! One relay's state machine: where each packet goes, symmetric-RTP latching, statistics and
//! media inactivity.
//!
//! # Latching (symmetric RTP, RFC 4961)
//!
//! A phone behind NAT announces its private address in SDP, but its packets arrive from the
//! NAT's public address, and only packets sent back there reach it. So each side has a
//! *signalled* address (from SDP, a hint) and a *latched* address (where its packets really
//! come from); packets towards a side go to the latched address if there is one, else to the
//! signalled one. A valid RTP packet arriving on a side's RTP port from `from` is accepted, and
//! the side latched to `from`, when:
//!
//! 1. `from` is the signalled RTP address — the SIP dialog vouches for it, so it always wins
//!    (the phone was reachable directly after all, or a re-INVITE moved the media there);
//! 2. the side is not latched yet — the first packet decides (the NAT case);
//! 3. `from` is the latched address.
//!
//! Packets from any other source are dropped (RTP bleed from a previous call on the port, or
//! injection), except that a new source that *persists* takes over: if it sends
//! [`RELATCH_PACKETS`] consecutive packets (same SSRC, consecutive sequence numbers) while the
//! latched source has been silent for [`RELATCH_SILENCE`], the side re-latches to it. That
//! follows a NAT that rebinds mid-call without letting a stray stream steal a live one.
//!
//! A new signalled address ([`Relay::set_remote`] after a re-INVITE) forgets the latch: the side
//! is sent to the new address and latches afresh on its next packet.
//!
//! RTCP latches separately and more loosely (it comes every few seconds, so persistence would
//! take minutes): it is accepted from the signalled RTCP address, from anywhere before the
//! first RTCP packet, from the latched RTCP address, and from the IP of the side's RTP
//! destination (the same host whose NAT mapping changed). Until RTCP is latched it is sent to
//! the signalled RTCP address, or to RTP port + 1 (RFC 3550 §11) — of the latched RTP address
//! if RTP was latched away from the signalled one. RTCP multiplexed on the RTP port (RFC 5761)
//! is recognised, accepted from the RTP source and sent to the other side's RTP destination.
//!
//! # Statistics
//!
//! Per direction ([`FlowStats`]): forwarded RTP packets and octets, forwarded RTCP packets,
//! dropped packets, sequence gaps (RFC 3550 A.3's cumulative loss: a late packet makes up for
//! the gap it left), and RFC 4733 events, counted once per event when its end (E bit) is
//! first seen — the end packet is sent three times (§2.5.1.4) with the same RTP timestamp.
//!
//! # Inactivity
//!
//! If no valid RTP packet is accepted from either side for the RTP timeout, the relay is
//! inactive; [`Relay::handle_timeout`] reports it when the silence reaches the timeout and
//! again every timeout while it lasts, so a switch that had to ignore the first report (the
//! call was still ringing, say) hears again. While a side is on hold ([`Relay::set_hold`])
//! silence is expected and nothing is reported; the silent period starts again when the hold
//! ends, and when a side gets a new address ([`Relay::set_remote`]: an answer or re-INVITE
//! tells a phone where to send, so media may only start now). RTCP does not count as
//! activity: it keeps flowing when the audio path is dead.
//!
//! # Crossbar's own endpoint
//!
//! For a menu, crossbar itself takes side B's place ([`Relay::set_endpoint`]): the caller's
//! packets are still latched, counted and checked, but handed to the endpoint
//! ([`Route::Endpoint`]) instead of forwarded, and side B is muted. What the endpoint plays
//! to the caller counts as activity ([`Relay::on_played`]). Taking the endpoint away relays
//! A and B to each other again, as before.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::rtp::{self, RtcpHeader, RtpPacket, TELEPHONE_EVENT_LEN, TelephoneEvent};
use crate::{RelayId, RelayPlan, Side};

/// The RTP timeout of a relay created without [`Relay::with_rtp_timeout`].
pub const DEFAULT_RTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the latched source must have been silent before another source may take over.
pub const RELATCH_SILENCE: Duration = Duration::from_millis(200);

/// Consecutive packets (one SSRC, consecutive sequence numbers) a new source must send to
/// take over a latched side — 100 ms of 20 ms audio.
pub const RELATCH_PACKETS: u16 = 5;

/// A forward jump in sequence numbers at least this big is a restarted sender, not loss
/// (RFC 3550 A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u16 = 3000;

/// A packet this far behind the highest sequence number is late (reordered), not a restart
/// (RFC 3550 A.1 `MAX_MISORDER`).
const MAX_MISORDER: u16 = 100;

/// Counters for one direction of a relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// RTP packets forwarded.
    pub packets: u64,
    /// Octets of those RTP packets (UDP payload: RTP header and payload).
    pub bytes: u64,
    /// RTCP packets forwarded (on the RTCP port, or multiplexed on the RTP port).
    pub rtcp_packets: u64,
    /// Sequence numbers missing from the received RTP stream (RFC 3550 A.3).
    pub lost: u64,
    /// Distinct RFC 4733 events whose end was seen.
    pub telephone_events: u64,
    /// Packets received but not forwarded: malformed, from an unexpected source, or with no
    /// destination known yet on the far side.
    pub dropped: u64,
    /// When the last valid RTP packet was accepted.
    pub last_packet: Option<Instant>,
}

/// Both directions of a relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Received on side A (from the caller), sent out of side B.
    pub a_to_b: FlowStats,
    /// Received on side B (from the callee), sent out of side A.
    pub b_to_a: FlowStats,
}

impl RelayStats {
    /// The direction whose packets arrive on `side`.
    pub fn from_side(&self, side: Side) -> &FlowStats {
        match side {
            Side::A => &self.a_to_b,
            Side::B => &self.b_to_a,
        }
    }
}

/// Where a side's packets come from.
#[derive(Debug, Clone, Copy)]
struct Latch {
    addr: SocketAddr,
    last_seen: Instant,
}

/// A source other than the latched one, and how long it has kept a steady stream.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    addr: SocketAddr,
    ssrc: u32,
    next_sequence: u16,
    packets: u16,
}

/// What the relay knows about one side's phone.
#[derive(Debug, Clone, Copy, Default)]
struct Remote {
    signalled_rtp: Option<SocketAddr>,
    signalled_rtcp: Option<SocketAddr>,
    rtp: Option<Latch>,
    rtcp: Option<SocketAddr>,
    candidate: Option<Candidate>,
}

impl Remote {
    fn rtp_destination(&self) -> Option<SocketAddr> {
        self.rtp.map(|latch| latch.addr).or(self.signalled_rtp)
    }

    fn rtcp_destination(&self) -> Option<SocketAddr> {
        if let Some(latched) = self.rtcp {
            return Some(latched);
        }
        let rtp_moved = matches!(self.rtp, Some(latch) if Some(latch.addr) != self.signalled_rtp);
        if !rtp_moved && let Some(signalled) = self.signalled_rtcp {
            return Some(signalled);
        }
        let rtp = self.rtp_destination()?;
        Some(SocketAddr::new(rtp.ip(), rtp.port().checked_add(1)?))
    }

    fn same_host_as_rtp(&self, from: SocketAddr) -> bool {
        self.rtp_destination()
            .is_some_and(|rtp| rtp.ip() == from.ip())
    }

    /// Applies the latching rules of the module documentation to an RTP packet.
    fn accept_rtp(&mut self, now: Instant, from: SocketAddr, packet: &RtpPacket<'_>) -> bool {
        // Rules 1-3: the signalled address, the first source, the latched source.
        let accepted = match self.rtp {
            None => true,
            Some(latch) => latch.addr == from || Some(from) == self.signalled_rtp,
        };
        if accepted {
            self.rtp = Some(Latch {
                addr: from,
                last_seen: now,
            });
            self.candidate = None;
            return true;
        }
        // Anyone else: a candidate, let in once its stream is steady and the latch silent.
        let candidate = match self.candidate {
            Some(c)
                if c.addr == from
                    && c.ssrc == packet.ssrc
                    && c.next_sequence == packet.sequence =>
            {
                Candidate {
                    next_sequence: packet.sequence.wrapping_add(1),
                    packets: c.packets.saturating_add(1),
                    ..c
                }
            }
            _ => Candidate {
                addr: from,
                ssrc: packet.ssrc,
                next_sequence: packet.sequence.wrapping_add(1),
                packets: 1,
            },
        };
        let silent = self
            .rtp
            .is_none_or(|latch| now.saturating_duration_since(latch.last_seen) >= RELATCH_SILENCE);
        if candidate.packets >= RELATCH_PACKETS && silent {
            self.rtp = Some(Latch {
                addr: from,
                last_seen: now,
            });
            self.candidate = None;
            true
        } else {
            self.candidate = Some(candidate);
            false
        }
    }

    fn accept_rtcp(&mut self, from: SocketAddr) -> bool {
        let accepted = self.rtcp.is_none_or(|latched| latched == from)
            || Some(from) == self.signalled_rtcp
            || self.same_host_as_rtp(from);
        if accepted {
            self.rtcp = Some(from);
        }
        accepted
    }

    /// RTCP on the RTP port (RFC 5761) is accepted from the RTP source; it does not latch.
    fn accept_muxed_rtcp(&self, from: SocketAddr) -> bool {
        self.rtp.is_none() || Some(from) == self.signalled_rtp || self.same_host_as_rtp(from)
    }
}

/// Sequence-number tracking of one stream (RFC 3550 A.1, simplified).
#[derive(Debug, Clone, Copy)]
struct Sequence {
    ssrc: u32,
    highest: u16,
}

/// One direction: its counters and what they are computed from.
#[derive(Debug, Clone, Copy, Default)]
struct Flow {
    stats: FlowStats,
    sequence: Option<Sequence>,
    /// `(SSRC, RTP timestamp)` of the last event whose end was counted.
    last_event_end: Option<(u32, u32)>,
}

impl Flow {
    fn observe(&mut self, now: Instant, packet: &RtpPacket<'_>, event_payload_type: Option<u8>) {
        self.stats.last_packet = Some(now);
        self.count_sequence(packet);
        if is_telephone_event(packet, event_payload_type)
            && let Some(event) = TelephoneEvent::parse(packet.payload)
            && event.end
        {
            let key = (packet.ssrc, packet.timestamp);
            if self.last_event_end != Some(key) {
                self.last_event_end = Some(key);
                self.stats.telephone_events += 1;
            }
        }
    }

    fn count_sequence(&mut self, packet: &RtpPacket<'_>) {
        let Some(sequence) = self.sequence.as_mut().filter(|s| s.ssrc == packet.ssrc) else {
            // First packet, or a new SSRC (a new source, RFC 3550 §8.2): start over.
            self.sequence = Some(Sequence {
                ssrc: packet.ssrc,
                highest: packet.sequence,
            });
            return;
        };
        let ahead = packet.sequence.wrapping_sub(sequence.highest);
        if ahead == 0 {
            // A duplicate.
        } else if ahead < MAX_DROPOUT {
            self.stats.lost += u64::from(ahead - 1);
            sequence.highest = packet.sequence;
        } else if ahead > u16::MAX - MAX_MISORDER {
            // Late: it fills a gap already counted.
            self.stats.lost = self.stats.lost.saturating_sub(1);
        } else {
            // A jump: the sender restarted its sequence (RFC 3550 A.1).
            sequence.highest = packet.sequence;
        }
    }
}

/// Whether an RTP packet carries an RFC 4733 event. With the negotiated payload type known,
/// exactly those packets; otherwise a dynamic payload type (96–127, RFC 3551 §3) with a payload
/// of exactly one 4-octet event block, which audio codecs in practice never produce.
fn is_telephone_event(packet: &RtpPacket<'_>, event_payload_type: Option<u8>) -> bool {
    match event_payload_type {
        Some(payload_type) => packet.payload_type == payload_type,
        None => {
            (96..=127).contains(&packet.payload_type) && packet.payload.len() == TELEPHONE_EVENT_LEN
        }
    }
}

/// The state machine of one relay. See the module documentation for the rules.
#[derive(Debug, Clone)]
pub struct Relay {
    id: RelayId,
    local_rtp_ports: [u16; 2],
    /// Indexed by [`Side`]: the phone on that side.
    remotes: [Remote; 2],
    /// Indexed by the side packets arrive on.
    flows: [Flow; 2],
    rtp_timeout: Duration,
    /// Start of the current silent period: the last accepted RTP packet, the creation of the
    /// relay, the end of a hold, or a new remote address.
    last_activity: Instant,
    on_hold: bool,
    /// When inactivity was last reported in the current silent period.
    inactive_reported: Option<Instant>,
    event_payload_type: Option<u8>,
    /// Crossbar's own media endpoint is in place of side B ([`Relay::set_endpoint`]).
    endpoint: bool,
}

/// What to do with a packet a relay received ([`Relay::route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Send it, unchanged, out of the other side's port of the same kind, to this address.
    Forward(SocketAddr),
    /// A valid RTP packet from the caller, for crossbar's own endpoint (its key detector).
    Endpoint,
    /// Drop it.
    Drop,
}

impl Relay {
    pub fn new(plan: RelayPlan, now: Instant) -> Relay {
        let remote = |side: Side| Remote {
            signalled_rtp: plan.side(side).remote_rtp,
            signalled_rtcp: plan.side(side).remote_rtcp,
            ..Remote::default()
        };
        Relay {
            id: plan.id,
            local_rtp_ports: [plan.a.local_rtp_port, plan.b.local_rtp_port],
            remotes: [remote(Side::A), remote(Side::B)],
            flows: [Flow::default(); 2],
            rtp_timeout: DEFAULT_RTP_TIMEOUT,
            last_activity: now,
            on_hold: false,
            inactive_reported: None,
            event_payload_type: None,
            endpoint: false,
        }
    }

    /// Sets how long both directions may be silent before the relay is inactive.
    pub fn with_rtp_timeout(mut self, rtp_timeout: Duration) -> Relay {
        self.rtp_timeout = rtp_timeout;
        self
    }

    pub fn id(&self) -> RelayId {
        self.id
    }

    pub fn local_rtp_port(&self, side: Side) -> u16 {
        self.local_rtp_ports[side.index()]
    }

    /// A datagram arrived on `side`'s RTP port (`rtcp == false`) or RTCP port. Returns where to
    /// send it, unchanged, out of the other side's port of the same kind; `None` drops it
    /// (malformed, an unexpected source, the far side's address is not known yet, or it is
    /// for crossbar's endpoint: see [`Relay::route`]).
    ///
    /// This is the packet path of every relayed call: while crossbar's endpoint is not in
    /// place it costs one test of a flag more than relaying did before the endpoint existed.
    /// `now` only dates the packet (latching, statistics, inactivity), so an IO loop may read
    /// the clock once for a batch of packets read back to back and pass the same `now` for
    /// each.
    #[inline]
    pub fn on_packet(
        &mut self,
        now: Instant,
        side: Side,
        rtcp: bool,
        from: SocketAddr,
        packet: &[u8],
    ) -> Option<SocketAddr> {
        if self.endpoint {
            // Nothing is forwarded while the endpoint is in place.
            self.for_endpoint(now, side, rtcp, from, packet);
            return None;
        }
        self.relayed(now, side, rtcp, from, packet)
    }

    /// [`Relay::on_packet`], telling apart a packet dropped from one accepted for crossbar's
    /// own endpoint (only while [`Relay::set_endpoint`] is on: a valid RTP packet from the
    /// caller's accepted source, for the key detector). The IO loop that serves the endpoint
    /// calls this one; plain relaying calls [`Relay::on_packet`].
    pub fn route(
        &mut self,
        now: Instant,
        side: Side,
        rtcp: bool,
        from: SocketAddr,
        packet: &[u8],
    ) -> Route {
        if self.endpoint {
            return self.for_endpoint(now, side, rtcp, from, packet);
        }
        match self.relayed(now, side, rtcp, from, packet) {
            Some(to) => Route::Forward(to),
            None => Route::Drop,
        }
    }

    /// A packet while A and B are relayed to each other.
    #[inline]
    fn relayed(
        &mut self,
        now: Instant,
        side: Side,
        rtcp: bool,
        from: SocketAddr,
        packet: &[u8],
    ) -> Option<SocketAddr> {
        let here = side.index();
        let there = side.other().index();
        if rtcp || rtp::is_muxed_rtcp(packet) {
            let accepted = RtcpHeader::parse(packet).is_ok()
                && if rtcp {
                    self.remotes[here].accept_rtcp(from)
                } else {
                    self.remotes[here].accept_muxed_rtcp(from)
                };
            let destination = match (accepted, rtcp) {
                (false, _) => None,
                (true, true) => self.remotes[there].rtcp_destination(),
                (true, false) => self.remotes[there].rtp_destination(),
            };
            let stats = &mut self.flows[here].stats;
            match destination {
                Some(_) => stats.rtcp_packets += 1,
                None => stats.dropped += 1,
            }
            return destination;
        }

        let accepted = match RtpPacket::parse(packet) {
            Ok(parsed) if self.remotes[here].accept_rtp(now, from, &parsed) => {
                self.flows[here].observe(now, &parsed, self.event_payload_type);
                true
            }
            _ => false,
        };
        let destination = if accepted {
            self.last_activity = now;
            self.inactive_reported = None;
            self.remotes[there].rtp_destination()
        } else {
            None
        };
        let stats = &mut self.flows[here].stats;
        match destination {
            Some(_) => {
                stats.packets += 1;
                stats.bytes += packet.len() as u64;
            }
            None => stats.dropped += 1,
        }
        destination
    }

    /// A packet while crossbar's endpoint is in place of side B: latched and counted, never
    /// forwarded (see [`Relay::set_endpoint`]).
    fn for_endpoint(
        &mut self,
        now: Instant,
        side: Side,
        rtcp: bool,
        from: SocketAddr,
        packet: &[u8],
    ) -> Route {
        let here = side.index();
        if rtcp || rtp::is_muxed_rtcp(packet) {
            // Latched as usual (the endpoint may be taken away again), sent nowhere.
            if RtcpHeader::parse(packet).is_ok() {
                if rtcp {
                    self.remotes[here].accept_rtcp(from);
                } else {
                    self.remotes[here].accept_muxed_rtcp(from);
                }
            }
            self.flows[here].stats.dropped += 1;
            return Route::Drop;
        }
        let accepted = match RtpPacket::parse(packet) {
            Ok(parsed) if self.remotes[here].accept_rtp(now, from, &parsed) => {
                self.flows[here].observe(now, &parsed, self.event_payload_type);
                true
            }
            _ => false,
        };
        let stats = &mut self.flows[here].stats;
        match (accepted, side) {
            (true, Side::A) => {
                self.last_activity = now;
                self.inactive_reported = None;
                stats.packets += 1;
                stats.bytes += packet.len() as u64;
                Route::Endpoint
            }
            // Muted: side B is not in the call while the endpoint is, and nobody listens to
            // it, so its packets are no activity either.
            (true, Side::B) | (false, _) => {
                stats.dropped += 1;
                Route::Drop
            }
        }
    }

    /// Puts crossbar's own media endpoint in place of side B (`true`), or takes it away
    /// (`false`: A and B are relayed to each other again). While it is in place:
    /// - valid RTP from side A (the caller) is [`Route::Endpoint`]: latched, counted in
    ///   `a_to_b` as delivered (`packets`, `bytes`) and as activity, and not forwarded;
    /// - RTP from side B is not forwarded (the caller hears only the endpoint): counted as
    ///   `dropped` in `b_to_a`, and not as activity — nobody is listening to side B;
    /// - RTCP is not forwarded either way (the endpoint sends no reports): `dropped`;
    /// - what the endpoint plays counts as activity ([`Relay::on_played`]).
    ///
    /// The silent period restarts at `now`.
    pub fn set_endpoint(&mut self, now: Instant, endpoint: bool) {
        if self.endpoint != endpoint {
            self.last_activity = now;
            self.inactive_reported = None;
        }
        self.endpoint = endpoint;
    }

    /// Whether crossbar's endpoint is in place of side B.
    pub fn has_endpoint(&self) -> bool {
        self.endpoint
    }

    /// The endpoint sent a packet to side A at `at` (now, or when the pacer last sent one).
    /// It counts as activity: a caller listening to a menu in silence (a phone that
    /// suppresses silence sends nothing) is not a dead call. A caller who is really gone is
    /// ended by the menu's own timeouts (no key pressed: goodbye and hang up), not by the RTP
    /// timeout. An `at` before the last activity changes nothing.
    pub fn on_played(&mut self, at: Instant) {
        if self.endpoint && at > self.last_activity {
            self.last_activity = at;
            self.inactive_reported = None;
        }
    }

    /// New SDP addresses for `side` (an answer, a re-INVITE). They replace the signalled ones.
    /// If the RTP address changes to a new address, the side's latches are forgotten: packets
    /// go to the new address until the phone's packets show where it really is. `None` (no
    /// address, e.g. a hold with `c=0.0.0.0`) keeps the latches. The silent period restarts at
    /// `now`.
    pub fn set_remote(
        &mut self,
        now: Instant,
        side: Side,
        rtp: Option<SocketAddr>,
        rtcp: Option<SocketAddr>,
    ) {
        self.last_activity = now;
        self.inactive_reported = None;
        let remote = &mut self.remotes[side.index()];
        let moved = rtp.is_some() && rtp != remote.signalled_rtp;
        let rtcp_moved = moved || (rtcp.is_some() && rtcp != remote.signalled_rtcp);
        if moved {
            remote.rtp = None;
            remote.candidate = None;
        }
        if rtcp_moved {
            remote.rtcp = None;
        }
        remote.signalled_rtp = rtp;
        remote.signalled_rtcp = rtcp;
    }

    /// Suspends (`true`) or resumes the inactivity timeout; the silent period restarts at
    /// `now` when a hold ends.
    pub fn set_hold(&mut self, now: Instant, on_hold: bool) {
        if self.on_hold && !on_hold {
            self.last_activity = now;
            self.inactive_reported = None;
        }
        self.on_hold = on_hold;
    }

    pub fn on_hold(&self) -> bool {
        self.on_hold
    }

    /// Which packets count as RFC 4733 events: the negotiated payload type, or `None` for
    /// a dynamic payload type carrying exactly one 4-octet event block.
    pub fn set_event_payload_type(&mut self, payload_type: Option<u8>) {
        self.event_payload_type = payload_type;
    }

    /// Where RTP for `side`'s phone is sent now.
    pub fn rtp_destination(&self, side: Side) -> Option<SocketAddr> {
        self.remotes[side.index()].rtp_destination()
    }

    /// Where RTCP for `side`'s phone is sent now.
    pub fn rtcp_destination(&self, side: Side) -> Option<SocketAddr> {
        self.remotes[side.index()].rtcp_destination()
    }

    pub fn stats(&self) -> RelayStats {
        RelayStats {
            a_to_b: self.flows[Side::A.index()].stats,
            b_to_a: self.flows[Side::B.index()].stats,
        }
    }

    /// How long both directions have been silent, if that is at least the RTP timeout and no
    /// side is on hold.
    pub fn is_inactive(&self, now: Instant) -> Option<Duration> {
        if self.on_hold {
            return None;
        }
        let idle = now.saturating_duration_since(self.last_activity);
        (idle >= self.rtp_timeout).then_some(idle)
    }

    /// When [`Relay::handle_timeout`] has something to report, if no RTP arrives before;
    /// `None` while on hold.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.on_hold {
            return None;
        }
        let since = self.inactive_reported.unwrap_or(self.last_activity);
        Some(since + self.rtp_timeout)
    }

    /// The idle time, when the silence has reached the RTP timeout, and again each further
    /// RTP timeout while it lasts.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Duration> {
        let idle = self.is_inactive(now)?;
        if let Some(reported) = self.inactive_reported
            && now.saturating_duration_since(reported) < self.rtp_timeout
        {
            return None;
        }
        self.inactive_reported = Some(now);
        Some(idle)
    }
}
