//! SDP for calls crossbar answers itself (menus, announcements) — where crossbar is the media
//! endpoint, not a relay between two phones: the answer to a caller's offer (RFC 3264 §6),
//! choosing one G.711 codec and keeping RFC 4733 telephone-events; and the offer crossbar
//! makes when the caller made none, or toward a phone once the caller's codec is settled.

use std::net::IpAddr;

use crate::model::{Attribute, Connection, MediaDescription, SessionDescription, Timing};
use crate::relay::OriginState;

/// The audio crossbar and a caller settled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// 0 (PCMU) or 8 (PCMA) — the payload type the caller offered it as.
    pub payload_type: u8,
    /// `true` for A-law (PCMA), `false` for µ-law (PCMU).
    pub alaw: bool,
    /// The telephone-event payload type (RFC 4733 §7.1.1), when the caller offered one.
    pub telephone_event: Option<u8>,
}

impl Settled {
    /// What crossbar offers when the caller offered nothing: PCMU, PCMA and telephone-event
    /// 101 — with the codec chosen, the first of them.
    pub const DEFAULT: Settled = Settled {
        payload_type: 0,
        alaw: false,
        telephone_event: Some(101),
    };
}

/// The answer to `offer` for crossbar's own endpoint on `address`:`port`: the first audio
/// stream gets the offer's first G.711 codec (µ-law or A-law, static or dynamic payload type)
/// and its telephone-event if any, `sendrecv` unless the offer says otherwise; every other
/// stream is refused (port 0, RFC 3264 §6). `None` when the offer has no G.711 audio.
pub fn answer(
    offer: &SessionDescription,
    address: IpAddr,
    port: u16,
    origin: &mut OriginState,
) -> Option<(SessionDescription, Settled)> {
    let index = offer
        .media
        .iter()
        .position(|m| m.media.eq_ignore_ascii_case("audio") && m.port != 0)?;
    let audio = &offer.media[index];
    let settled = settle(offer, index)?;
    let mut media = Vec::with_capacity(offer.media.len());
    for (i, m) in offer.media.iter().enumerate() {
        if i == index {
            let direction = match offer.direction(i).as_str() {
                "sendonly" => "recvonly",
                "recvonly" => "sendonly",
                "inactive" => "inactive",
                _ => "sendrecv",
            };
            media.push(audio_description(
                &audio.proto,
                port,
                settled,
                direction,
                offer,
                i,
            ));
        } else {
            media.push(MediaDescription {
                media: m.media.clone(),
                port: 0,
                port_count: None,
                proto: m.proto.clone(),
                formats: m.formats.iter().take(1).cloned().collect(),
                info: None,
                connection: None,
                bandwidths: Vec::new(),
                key: None,
                attributes: Vec::new(),
            });
        }
    }
    Some((session(address, media, origin), settled))
}

/// crossbar's offer for its own endpoint on `address`:`port` with the audio of `settled`
/// (toward a phone once the caller's codec is settled; or, with [`Settled::DEFAULT`] and
/// `with_alternative`, to a caller that made no offer: PCMU, PCMA and telephone-event).
pub fn offer(
    address: IpAddr,
    port: u16,
    settled: Settled,
    with_alternative: bool,
    origin: &mut OriginState,
) -> SessionDescription {
    let mut description = MediaDescription {
        media: "audio".into(),
        port,
        port_count: None,
        proto: "RTP/AVP".into(),
        formats: vec![settled.payload_type.to_string()],
        info: None,
        connection: None,
        bandwidths: Vec::new(),
        key: None,
        attributes: vec![Attribute::with_value(
            "rtpmap",
            format!("{} {}/8000", settled.payload_type, codec_name(settled.alaw)),
        )],
    };
    if with_alternative {
        let (pt, alaw) = if settled.alaw { (0, false) } else { (8, true) };
        description.formats.push(pt.to_string());
        description.attributes.push(Attribute::with_value(
            "rtpmap",
            format!("{pt} {}/8000", codec_name(alaw)),
        ));
    }
    if let Some(te) = settled.telephone_event {
        description.formats.push(te.to_string());
        description.attributes.push(Attribute::with_value(
            "rtpmap",
            format!("{te} telephone-event/8000"),
        ));
        description
            .attributes
            .push(Attribute::with_value("fmtp", format!("{te} 0-16")));
    }
    description
        .attributes
        .push(Attribute::with_value("ptime", "20"));
    description.attributes.push(Attribute::property("sendrecv"));
    session(address, vec![description], origin)
}

/// The codec an answer to crossbar's own offer settled on (the first G.711 of its audio).
pub fn settled_by_answer(answer: &SessionDescription) -> Option<Settled> {
    let index = answer
        .media
        .iter()
        .position(|m| m.media.eq_ignore_ascii_case("audio") && m.port != 0)?;
    settle(answer, index)
}

/// The first G.711 format of media `index`, and its telephone-event.
fn settle(sdp: &SessionDescription, index: usize) -> Option<Settled> {
    let media = sdp.media.get(index)?;
    let telephone_event = sdp.telephone_event_pt(index);
    media.formats.iter().find_map(|format| {
        let pt: u8 = format.parse().ok()?;
        let name = match sdp.rtpmap(index, pt) {
            Some(map) => map
                .split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase(),
            None if pt == 0 => "PCMU".to_owned(),
            None if pt == 8 => "PCMA".to_owned(),
            None => return None,
        };
        match name.as_str() {
            "PCMU" => Some(Settled {
                payload_type: pt,
                alaw: false,
                telephone_event,
            }),
            "PCMA" => Some(Settled {
                payload_type: pt,
                alaw: true,
                telephone_event,
            }),
            _ => None,
        }
    })
}

fn codec_name(alaw: bool) -> &'static str {
    if alaw { "PCMA" } else { "PCMU" }
}

fn audio_description(
    proto: &str,
    port: u16,
    settled: Settled,
    direction: &str,
    offer: &SessionDescription,
    index: usize,
) -> MediaDescription {
    let mut formats = vec![settled.payload_type.to_string()];
    let mut attributes = vec![Attribute::with_value(
        "rtpmap",
        format!("{} {}/8000", settled.payload_type, codec_name(settled.alaw)),
    )];
    if let Some(te) = settled.telephone_event {
        formats.push(te.to_string());
        attributes.push(Attribute::with_value(
            "rtpmap",
            format!("{te} telephone-event/8000"),
        ));
        let events = offer.media[index]
            .attributes
            .iter()
            .find(|a| {
                a.name.eq_ignore_ascii_case("fmtp")
                    && a.value
                        .as_deref()
                        .is_some_and(|v| v.split_whitespace().next() == Some(&te.to_string()))
            })
            .and_then(|a| a.value.clone())
            .unwrap_or_else(|| format!("{te} 0-15"));
        attributes.push(Attribute::with_value("fmtp", events));
    }
    attributes.push(Attribute::with_value("ptime", "20"));
    attributes.push(Attribute::property(direction));
    MediaDescription {
        media: "audio".into(),
        port,
        port_count: None,
        proto: proto.to_owned(),
        formats,
        info: None,
        connection: None,
        bandwidths: Vec::new(),
        key: None,
        attributes,
    }
}

fn session(
    address: IpAddr,
    media: Vec<MediaDescription>,
    origin: &mut OriginState,
) -> SessionDescription {
    let mut sdp = SessionDescription {
        version: 0,
        origin: origin.origin(),
        session_name: "crossbar".into(),
        info: None,
        uri: None,
        emails: Vec::new(),
        phones: Vec::new(),
        connection: Some(Connection::from_ip(address)),
        bandwidths: Vec::new(),
        times: vec![Timing {
            value: "0 0".into(),
            repeats: Vec::new(),
        }],
        time_zones: None,
        key: None,
        attributes: Vec::new(),
        media,
    };
    origin.stamp(&mut sdp);
    sdp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SessionDescription {
        SessionDescription::parse(text.replace('\n', "\r\n").as_bytes()).expect("SDP parses")
    }

    fn origin() -> OriginState {
        OriginState::new(7, "192.0.2.100".parse().expect("ip"))
    }

    #[test]
    fn the_answer_takes_the_first_g711_codec_and_the_telephone_events_and_refuses_the_rest() {
        let offer = parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
             m=audio 4000 RTP/AVP 9 8 0 101\na=rtpmap:9 G722/8000\na=rtpmap:8 PCMA/8000\n\
             a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=sendrecv\n\
             m=video 5000 RTP/AVP 96\na=rtpmap:96 H264/90000\n",
        );
        let address = "192.0.2.100".parse().expect("ip");
        let (sdp, settled) = answer(&offer, address, 20000, &mut origin()).expect("an answer");
        assert_eq!(
            settled,
            Settled {
                payload_type: 8,
                alaw: true,
                telephone_event: Some(101)
            }
        );
        let text = String::from_utf8(sdp.to_bytes()).expect("text");
        assert!(text.contains("m=audio 20000 RTP/AVP 8 101\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:8 PCMA/8000\r\n"), "{text}");
        assert!(text.contains("a=fmtp:101 0-16\r\n"), "{text}");
        assert!(text.contains("c=IN IP4 192.0.2.100\r\n"), "{text}");
        assert!(text.contains("m=video 0 RTP/AVP 96\r\n"), "{text}");
    }

    #[test]
    fn an_offer_without_g711_gets_no_answer_and_crossbars_own_offer_lists_both_laws() {
        let offer = parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
             m=audio 4000 RTP/AVP 9\na=rtpmap:9 G722/8000\n",
        );
        let address = "192.0.2.100".parse().expect("ip");
        assert!(answer(&offer, address, 20000, &mut origin()).is_none());
        let own = offer_for(address);
        let text = String::from_utf8(own.to_bytes()).expect("text");
        assert!(text.contains("m=audio 20002 RTP/AVP 0 8 101\r\n"), "{text}");
        assert_eq!(settled_by_answer(&own), Some(Settled::DEFAULT));
    }

    fn offer_for(address: IpAddr) -> SessionDescription {
        offer(address, 20002, Settled::DEFAULT, true, &mut origin())
    }
}
