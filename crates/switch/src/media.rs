//! A call's media: the relay that anchors it (one port toward each side) and the SDP each
//! side is shown (RFC 3264: crossbar's address and port in place of the other party's, with
//! crossbar's own origin line and version per side, §8).

use std::net::IpAddr;

use crossbar_media::{MediaCommand, RelayId, RelayPlan, Side as RelaySide, SidePlan};
use crossbar_sdp::endpoint::Settled;
use crossbar_sdp::{OriginState, SessionDescription};
use crossbar_sip::Bytes;

use crate::call::Side;
use crate::core::Core;

/// The call's relay.
#[derive(Debug)]
pub(crate) struct Media {
    pub(crate) relay: RelayId,
    pub(crate) a_port: u16,
    pub(crate) b_port: u16,
    /// crossbar's SDP origin toward each side (RFC 3264 §8: versions per leg).
    a_origin: OriginState,
    b_origin: OriginState,
}

impl Media {
    /// Allocates two relay ports and asks for the relay to be opened, side A toward the
    /// caller's offer (if it made one). `None` when the port pool is exhausted.
    pub(crate) fn open(core: &mut Core, offer: Option<&SessionDescription>) -> Option<Media> {
        let (relay, [a_port, b_port]) = core.relays.allocate()?;
        let plan = RelayPlan {
            id: relay,
            a: SidePlan {
                local_rtp_port: a_port,
                remote_rtp: offer.and_then(|sdp| sdp.media_destination(0)),
                remote_rtcp: offer.and_then(|sdp| sdp.rtcp_destination(0)),
            },
            b: SidePlan {
                local_rtp_port: b_port,
                remote_rtp: None,
                remote_rtcp: None,
            },
        };
        core.outputs
            .push_back(crate::SwitchOutput::Media(MediaCommand::Open(plan)));
        let address = core.settings.media_address;
        let session = relay.0 ^ (core.run_id() << 20);
        Some(Media {
            relay,
            a_port,
            b_port,
            a_origin: OriginState::new(session, address),
            b_origin: OriginState::new(session.wrapping_add(1), address),
        })
    }

    /// `sdp` from `from_side`, rewritten for the other side: the relay's address, the port
    /// facing the other side, crossbar's origin toward it.
    pub(crate) fn rewrite_for_other_side(
        &mut self,
        address: IpAddr,
        from_side: Side,
        sdp: &SessionDescription,
    ) -> Bytes {
        let rewritten = match from_side {
            Side::Caller => {
                crossbar_sdp::relay_rewrite(sdp, address, &[self.b_port], &mut self.b_origin)
            }
            Side::Callee => {
                crossbar_sdp::relay_rewrite(sdp, address, &[self.a_port], &mut self.a_origin)
            }
        };
        Bytes::from(rewritten.to_bytes())
    }

    /// crossbar's answer to the caller's `offer` when crossbar itself answers (a menu):
    /// side A's port, one G.711 codec and telephone-events. `None` without G.711 audio.
    pub(crate) fn answer_caller(
        &mut self,
        address: IpAddr,
        offer: &SessionDescription,
    ) -> Option<(Bytes, Settled)> {
        let (sdp, settled) =
            crossbar_sdp::endpoint::answer(offer, address, self.a_port, &mut self.a_origin)?;
        Some((Bytes::from(sdp.to_bytes()), settled))
    }

    /// crossbar's offer to a caller who made none (PCMU, PCMA, telephone-events), on side A.
    pub(crate) fn offer_caller(&mut self, address: IpAddr) -> Bytes {
        let sdp = crossbar_sdp::endpoint::offer(
            address,
            self.a_port,
            Settled::DEFAULT,
            true,
            &mut self.a_origin,
        );
        Bytes::from(sdp.to_bytes())
    }

    /// The offer toward phones once the caller's audio is `settled` (side B), so whoever
    /// answers speaks the codec the caller already has.
    pub(crate) fn offer_callee(&mut self, address: IpAddr, settled: Settled) -> Bytes {
        let sdp =
            crossbar_sdp::endpoint::offer(address, self.b_port, settled, false, &mut self.b_origin);
        Bytes::from(sdp.to_bytes())
    }

    /// Where the relay's side facing `side` sends: the address in that side's SDP.
    pub(crate) fn set_remote(&self, side: Side, sdp: &SessionDescription) -> MediaCommand {
        MediaCommand::SetRemote {
            id: self.relay,
            side: relay_side(side),
            rtp: sdp.media_destination(0),
            rtcp: sdp.rtcp_destination(0),
        }
    }
}

fn relay_side(side: Side) -> RelaySide {
    match side {
        Side::Caller => RelaySide::A,
        Side::Callee => RelaySide::B,
    }
}

/// Whether a message's body is SDP (`Content-Type: application/sdp`).
pub(crate) fn is_sdp(headers: &crossbar_sip::Headers) -> bool {
    headers.content_type().is_some_and(|value| {
        value
            .split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/sdp"))
    })
}
