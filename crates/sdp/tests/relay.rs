//! relay_rewrite: what the B2BUA sends the other leg.

use std::net::{IpAddr, SocketAddr};

use crossbar_sdp::{Attribute, Direction, OriginState, SessionDescription, relay_rewrite};

const RELAY: &str = "203.0.113.7";

/// A phone's offer with ICE, a=rtcp, a video stream and a rejected stream.
const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\n\
s=-\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
a=ice-ufrag:F7gI\r\n\
a=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n\
a=ice-options:trickle\r\n\
m=audio 10468 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=rtcp:10469 IN IP4 192.168.1.20\r\n\
a=candidate:1 1 UDP 2130706431 192.168.1.20 10468 typ host\r\n\
a=candidate:2 1 UDP 1694498815 198.51.100.3 40468 typ srflx raddr 192.168.1.20 rport 10468\r\n\
a=end-of-candidates\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
m=video 0 RTP/AVP 96\r\n\
a=rtpmap:96 H264/90000\r\n\
m=video 20000 RTP/AVP 97\r\n\
c=IN IP4 192.168.1.21\r\n\
a=rtpmap:97 VP8/90000\r\n\
a=remote-candidates:1 192.168.1.20 10468\r\n";

fn relay() -> IpAddr {
    RELAY.parse().unwrap()
}

fn offer() -> SessionDescription {
    SessionDescription::parse(OFFER.as_bytes()).unwrap()
}

fn leg() -> OriginState {
    OriginState::new(42, "198.51.100.1".parse().unwrap())
}

fn names(attributes: &[Attribute]) -> Vec<&str> {
    attributes.iter().map(|a| a.name.as_str()).collect()
}

#[test]
fn addresses_and_ports_become_the_relay() {
    let out = relay_rewrite(&offer(), relay(), &[30000, 30002, 30004], &mut leg());
    assert_eq!(
        out.connection.as_ref().unwrap().to_string(),
        "IN IP4 203.0.113.7"
    );
    assert_eq!(
        out.media_destination(0),
        Some(SocketAddr::new(relay(), 30000))
    );
    assert_eq!(
        out.media_destination(2),
        Some(SocketAddr::new(relay(), 30004))
    );
    assert_eq!(
        out.media[2].connection.as_ref().unwrap().to_string(),
        "IN IP4 203.0.113.7"
    );
    assert!(!out.to_string().contains("192.168."));
    assert!(!out.to_string().contains("198.51.100.3"));
}

#[test]
fn codecs_fmtp_ptime_and_direction_are_untouched() {
    let sdp = offer();
    let out = relay_rewrite(&sdp, relay(), &[30000, 30002, 30004], &mut leg());
    for (before, after) in sdp.media.iter().zip(&out.media) {
        assert_eq!(before.media, after.media);
        assert_eq!(before.proto, after.proto);
        assert_eq!(before.formats, after.formats);
        let kept: Vec<&Attribute> = before
            .attributes
            .iter()
            .filter(|a| {
                !a.name.starts_with("ice-") && !a.name.contains("candidate") && a.name != "rtcp"
            })
            .collect();
        let after_kept: Vec<&Attribute> = after
            .attributes
            .iter()
            .filter(|a| a.name != "rtcp")
            .collect();
        assert_eq!(kept, after_kept);
    }
    assert_eq!(out.rtpmap(0, 101), Some("telephone-event/8000"));
    assert_eq!(out.telephone_event_pt(0), Some(101));
    assert_eq!(out.direction(0), Direction::SendRecv);
}

#[test]
fn ice_attributes_are_removed_at_both_levels() {
    let out = relay_rewrite(&offer(), relay(), &[30000, 30002, 30004], &mut leg());
    assert!(out.attributes.is_empty());
    assert_eq!(
        names(&out.media[0].attributes),
        [
            "rtpmap", "rtpmap", "rtpmap", "fmtp", "rtcp", "ptime", "sendrecv"
        ]
    );
    assert_eq!(names(&out.media[2].attributes), ["rtpmap"]);
}

#[test]
fn rtcp_attribute_points_at_the_relay_port_plus_one() {
    let out = relay_rewrite(&offer(), relay(), &[30000, 30002, 30004], &mut leg());
    assert_eq!(
        out.media[0].attribute("rtcp"),
        Some(&Attribute::with_value("rtcp", "30001 IN IP4 203.0.113.7"))
    );
    assert_eq!(
        out.rtcp_destination(0),
        Some(SocketAddr::new(relay(), 30001))
    );
    assert_eq!(
        out.rtcp_destination(2),
        Some(SocketAddr::new(relay(), 30005))
    );
}

#[test]
fn rejected_stream_stays_port_zero() {
    let out = relay_rewrite(&offer(), relay(), &[30000, 30002, 30004], &mut leg());
    assert_eq!(out.media[1].port, 0);
    assert_eq!(out.media[1].formats, ["96"]);
    assert_eq!(out.media_destination(1), None);
}

#[test]
fn missing_relay_port_disables_the_stream_instead_of_leaking_the_peer() {
    let out = relay_rewrite(&offer(), relay(), &[30000], &mut leg());
    assert_eq!(out.media[0].port, 30000);
    assert_eq!(out.media[2].port, 0);
}

#[test]
fn ipv6_relay_rewrites_to_ip6() {
    let sdp = offer();
    let relay6: IpAddr = "2001:db8::7".parse().unwrap();
    let out = relay_rewrite(&sdp, relay6, &[30000, 30002, 30004], &mut leg());
    assert_eq!(
        out.connection.as_ref().unwrap().to_string(),
        "IN IP6 2001:db8::7"
    );
    assert_eq!(
        out.media[0].attribute("rtcp").unwrap().value.as_deref(),
        Some("30001 IN IP6 2001:db8::7")
    );
    assert_eq!(
        out.media_destination(0),
        Some(SocketAddr::new(relay6, 30000))
    );
}

#[test]
fn ipv6_offer_to_ipv4_relay_changes_the_address_family() {
    let body = "v=0\r\no=a 1 0 IN IP6 2001:db8::20\r\ns=-\r\nc=IN IP6 2001:db8::20\r\nt=0 0\r\nm=audio 6000 RTP/AVP 2\r\na=rtpmap:2 G726-32/8000\r\n";
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    let out = relay_rewrite(&sdp, relay(), &[30000], &mut leg());
    assert_eq!(
        out.to_string(),
        "v=0\r\no=crossbar 42 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 203.0.113.7\r\nt=0 0\r\nm=audio 30000 RTP/AVP 2\r\na=rtpmap:2 G726-32/8000\r\n"
    );
}

#[test]
fn media_without_any_connection_gets_one() {
    let body = "v=0\r\no=a 1 0 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    let out = relay_rewrite(&sdp, relay(), &[30000], &mut leg());
    assert_eq!(
        out.media_destination(0),
        Some(SocketAddr::new(relay(), 30000))
    );
}

#[test]
fn origin_is_crossbars_own_per_leg() {
    let out = relay_rewrite(&offer(), relay(), &[30000, 30002, 30004], &mut leg());
    assert_eq!(out.origin.to_string(), "crossbar 42 1 IN IP4 198.51.100.1");
}

#[test]
fn origin_version_increments_only_when_the_body_changes() {
    // RFC 3264 §8.
    let mut origin = leg();
    let sdp = offer();
    let first = relay_rewrite(&sdp, relay(), &[30000, 30002, 30004], &mut origin);
    assert_eq!(first.origin.session_version, 1);
    let refresh = relay_rewrite(&sdp, relay(), &[30000, 30002, 30004], &mut origin);
    assert_eq!(refresh.origin.session_version, 1);
    assert_eq!(first, refresh);

    // The peer bumped its own version without changing anything: still no change for us.
    let mut bumped = sdp.clone();
    bumped.origin.session_version += 1;
    let same = relay_rewrite(&bumped, relay(), &[30000, 30002, 30004], &mut origin);
    assert_eq!(same.origin.session_version, 1);

    let held =
        SessionDescription::parse(OFFER.replace("a=sendrecv", "a=sendonly").as_bytes()).unwrap();
    let hold = relay_rewrite(&held, relay(), &[30000, 30002, 30004], &mut origin);
    assert_eq!(hold.origin.session_version, 2);
    assert_eq!(origin.version, 2);
    let hold_again = relay_rewrite(&held, relay(), &[30000, 30002, 30004], &mut origin);
    assert_eq!(hold_again.origin.session_version, 2);

    let resumed = relay_rewrite(&sdp, relay(), &[30000, 30002, 30004], &mut origin);
    assert_eq!(resumed.origin.session_version, 3);

    let moved = relay_rewrite(&sdp, relay(), &[31000, 30002, 30004], &mut origin);
    assert_eq!(moved.origin.session_version, 4);
}

#[test]
fn sendonly_hold_passes_through() {
    let held =
        SessionDescription::parse(OFFER.replace("a=sendrecv", "a=sendonly").as_bytes()).unwrap();
    let out = relay_rewrite(&held, relay(), &[30000, 30002, 30004], &mut leg());
    assert_eq!(out.direction(0), Direction::SendOnly);
    assert!(out.is_hold(0));
}

#[test]
fn connection_zero_hold_becomes_sendonly_at_the_relay_address() {
    // RFC 3264 §8.4: c=0.0.0.0 is the RFC 2543 hold; the relay address replaces it and
    // a=sendonly keeps the far side on hold.
    let body = OFFER.replace("c=IN IP4 192.168.1.20", "c=IN IP4 0.0.0.0");
    let held = SessionDescription::parse(body.as_bytes()).unwrap();
    assert!(held.is_hold(0));
    let out = relay_rewrite(&held, relay(), &[30000, 30002, 30004], &mut leg());
    assert_eq!(
        out.media_destination(0),
        Some(SocketAddr::new(relay(), 30000))
    );
    assert_eq!(out.direction(0), Direction::SendOnly);
    assert!(out.is_hold(0));
    assert_eq!(
        out.media[0]
            .attributes
            .iter()
            .filter(|a| Direction::from_attribute_name(&a.name).is_some())
            .count(),
        1
    );
    // The video stream has its own, real c=: not on hold.
    assert_eq!(out.direction(2), Direction::SendRecv);
    assert!(!out.is_hold(2));
}

#[test]
fn connection_zero_with_recvonly_becomes_inactive() {
    let body = OFFER
        .replace("c=IN IP4 192.168.1.20", "c=IN IP4 0.0.0.0")
        .replace("a=sendrecv", "a=recvonly");
    let held = SessionDescription::parse(body.as_bytes()).unwrap();
    let out = relay_rewrite(&held, relay(), &[30000, 30002, 30004], &mut leg());
    assert_eq!(out.direction(0), Direction::Inactive);
}

#[test]
fn sipp_offer_rewritten_keeps_every_codec_line() {
    let body = "v=0\r\no=sipp 1234561 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    let out = relay_rewrite(&sdp, relay(), &[40000], &mut leg());
    assert_eq!(
        out.to_string(),
        "v=0\r\no=crossbar 42 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 203.0.113.7\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    );
}
