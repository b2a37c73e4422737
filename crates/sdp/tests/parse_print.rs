//! Parsing and printing real bodies: SIPp, baresip, RFC 5118 IPv6, RFC 3264 hold.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crossbar_sdp::{Attribute, Direction, SdpErrorReason, SessionDescription};

/// The SDP of /work/shared/sipp/uac_call.xml with its keywords substituted, as SIPp sends it
/// (note the blank line SIPp leaves at the end).
const SIPP_OFFER: &str = "v=0\r\n\
o=sipp 1234561 1 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
\r\n";

/// A baresip-like offer.
const BARESIP_OFFER: &str = "v=0\r\n\
o=- 1690451215 2876139832 IN IP4 192.168.1.20\r\n\
s=-\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
m=audio 10468 RTP/AVP 0 8 101\r\n\
b=AS:80\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=rtcp:10469 IN IP4 192.168.1.20\r\n\
a=rtcp-mux\r\n\
a=sendrecv\r\n\
a=label:1\r\n\
a=ptime:20\r\n";

fn rfc5118_body(name: &str) -> Vec<u8> {
    let path = format!("/work/shared/torture/rfc5118/{name}.dat");
    let message = std::fs::read(&path).expect("RFC 5118 torture file is in /work/shared");
    let start = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the .dat form has an empty line after the headers");
    message[start + 4..].to_vec()
}

#[test]
fn sipp_offer_round_trips_byte_for_byte_except_the_trailing_blank_line() {
    let sdp = SessionDescription::parse(SIPP_OFFER.as_bytes()).unwrap();
    assert_eq!(
        sdp.to_string(),
        SIPP_OFFER.trim_end_matches("\r\n").to_owned() + "\r\n"
    );
    assert_eq!(sdp.origin.username, "sipp");
    assert_eq!(sdp.origin.session_id, "1234561");
    assert_eq!(sdp.origin.session_version, 1);
    assert_eq!(sdp.media.len(), 1);
    let audio = &sdp.media[0];
    assert_eq!(audio.media, "audio");
    assert_eq!(audio.port, 6000);
    assert_eq!(audio.proto, "RTP/AVP");
    assert_eq!(audio.formats, ["0", "101"]);
    assert_eq!(
        audio.attributes[2],
        Attribute::with_value("fmtp", "101 0-15")
    );
    assert_eq!(sdp.rtpmap(0, 0), Some("PCMU/8000"));
    assert_eq!(sdp.rtpmap(0, 101), Some("telephone-event/8000"));
    assert_eq!(sdp.rtpmap(0, 8), None);
    assert_eq!(sdp.telephone_event_pt(0), Some(101));
    assert_eq!(sdp.direction(0), Direction::SendRecv);
    assert!(!sdp.is_hold(0));
    assert_eq!(
        sdp.media_destination(0),
        Some("127.0.0.1:6000".parse().unwrap())
    );
    assert_eq!(
        sdp.rtcp_destination(0),
        Some("127.0.0.1:6001".parse().unwrap())
    );
}

#[test]
fn print_is_a_fixed_point_of_parse() {
    for body in [SIPP_OFFER, BARESIP_OFFER] {
        let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
        let again = SessionDescription::parse(&sdp.to_bytes()).unwrap();
        assert_eq!(sdp, again);
    }
}

#[test]
fn baresip_offer_round_trips_byte_for_byte() {
    let sdp = SessionDescription::parse(BARESIP_OFFER.as_bytes()).unwrap();
    assert_eq!(sdp.to_string(), BARESIP_OFFER);
    assert_eq!(sdp.origin.session_version, 2_876_139_832);
    assert_eq!(sdp.media[0].formats, ["0", "8", "101"]);
    assert_eq!(sdp.media[0].bandwidths[0].bwtype, "AS");
    assert_eq!(sdp.media[0].bandwidths[0].bandwidth, 80);
    assert_eq!(sdp.rtpmap(0, 8), Some("PCMA/8000"));
    assert_eq!(sdp.telephone_event_pt(0), Some(101));
    assert_eq!(
        sdp.media[0].attribute("label"),
        Some(&Attribute::with_value("label", "1"))
    );
    assert_eq!(
        sdp.media[0].attribute("rtcp-mux"),
        Some(&Attribute::property("rtcp-mux"))
    );
    assert_eq!(
        sdp.rtcp_destination(0),
        Some("192.168.1.20:10469".parse().unwrap())
    );
}

#[test]
fn lf_only_line_ends_and_trailing_whitespace_are_tolerated() {
    let body = SIPP_OFFER.replace("\r\n", " \t\n");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    let clean = SessionDescription::parse(SIPP_OFFER.as_bytes()).unwrap();
    assert_eq!(sdp, clean);
}

#[test]
fn session_version_beyond_u32_parses() {
    let body = SIPP_OFFER.replace(" 1 IN IP4", " 18446744073709551615 IN IP4");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.origin.session_version, u64::MAX);
    let overflow = SIPP_OFFER.replace(" 1 IN IP4", " 18446744073709551616 IN IP4");
    let error = SessionDescription::parse(overflow.as_bytes()).unwrap_err();
    assert_eq!(error.line, 2);
}

#[test]
fn rfc5118_ipv6_in_sdp_body_parses_and_round_trips() {
    let body = rfc5118_body("ipv6-in-sdp");
    let sdp = SessionDescription::parse(&body).unwrap();
    assert_eq!(sdp.to_bytes(), body);
    assert_eq!(sdp.origin.session_id, "971731711378798081");
    assert_eq!(sdp.origin.addr_type, "IP6");
    assert_eq!(sdp.connection.as_ref().unwrap().addr_type, "IP6");
    assert_eq!(sdp.times[0].value, "3338481189 3370017201");
    let ip: IpAddr = "2001:db8::20".parse().unwrap();
    assert_eq!(sdp.media_destination(0), Some(SocketAddr::new(ip, 6000)));
    assert_eq!(sdp.media_destination(1), Some(SocketAddr::new(ip, 6024)));
    assert_eq!(sdp.rtpmap(1, 107), Some("H263-1998/90000"));
}

#[test]
fn rfc5118_multiple_ip_families_resolve_per_media() {
    let body = rfc5118_body("mult-ip-in-sdp");
    let sdp = SessionDescription::parse(&body).unwrap();
    // The body's empty "s=" is printed as the RFC 8866 §5.3 stand-in "s=-"; nothing else moves.
    let expected = String::from_utf8(body)
        .unwrap()
        .replace("s=\r\n", "s=-\r\n");
    assert_eq!(sdp.to_string(), expected);
    assert_eq!(sdp.session_name, "");
    assert!(sdp.connection.is_none());
    assert_eq!(
        sdp.media_destination(0),
        Some("192.0.2.1:22334".parse().unwrap())
    );
    assert_eq!(
        sdp.media_destination(1),
        Some("[2001:db8::1]:6024".parse().unwrap())
    );
    assert_eq!(sdp.media[1].connection.as_ref().unwrap().addr_type, "IP6");
}

#[test]
fn rfc5118_ipv4_mapped_ipv6_is_an_ip6_destination() {
    let body = rfc5118_body("ipv4-mapped-ipv6");
    let sdp = SessionDescription::parse(&body).unwrap();
    assert_eq!(sdp.to_bytes(), body);
    let mapped = Ipv4Addr::new(192, 0, 2, 2).to_ipv6_mapped();
    assert_eq!(
        sdp.media_destination(0),
        Some(SocketAddr::new(IpAddr::V6(mapped), 6000))
    );
}

#[test]
fn sendonly_media_is_hold() {
    let body = SIPP_OFFER.replace("a=sendrecv", "a=sendonly");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.direction(0), Direction::SendOnly);
    assert!(sdp.is_hold(0));
}

#[test]
fn inactive_media_is_hold_and_recvonly_is_not() {
    let body = SIPP_OFFER.replace("a=sendrecv", "a=inactive");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.direction(0), Direction::Inactive);
    assert!(sdp.is_hold(0));
    let body = SIPP_OFFER.replace("a=sendrecv", "a=recvonly");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.direction(0), Direction::RecvOnly);
    assert!(!sdp.is_hold(0));
}

#[test]
fn session_level_direction_applies_when_media_has_none() {
    let body = SIPP_OFFER
        .replace("a=sendrecv\r\n", "")
        .replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.direction(0), Direction::SendOnly);
    assert!(sdp.is_hold(0));
}

#[test]
fn media_level_direction_overrides_session_level() {
    let body = SIPP_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=inactive\r\n");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.direction(0), Direction::SendRecv);
}

#[test]
fn no_direction_attribute_means_sendrecv() {
    let body = SIPP_OFFER.replace("a=sendrecv\r\n", "");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.direction(0), Direction::SendRecv);
    assert_eq!(sdp.direction(7), Direction::SendRecv);
}

#[test]
fn rfc2543_connection_zero_is_hold_without_a_destination() {
    // RFC 3264 §8.4: the old way to hold is c=0.0.0.0.
    let body = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.direction(0), Direction::SendRecv);
    assert!(sdp.is_hold(0));
    assert_eq!(sdp.media_destination(0), None);
    assert_eq!(sdp.rtcp_destination(0), None);
}

#[test]
fn rejected_stream_has_no_destination() {
    let body = SIPP_OFFER.replace("m=audio 6000", "m=audio 0");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.media[0].port, 0);
    assert_eq!(sdp.media_destination(0), None);
    assert_eq!(sdp.rtcp_destination(0), None);
}

#[test]
fn fqdn_connection_address_has_no_destination() {
    let body = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 host.example.com");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.media_destination(0), None);
}

#[test]
fn media_out_of_range_answers_none() {
    let sdp = SessionDescription::parse(SIPP_OFFER.as_bytes()).unwrap();
    assert_eq!(sdp.media_destination(1), None);
    assert_eq!(sdp.rtcp_destination(1), None);
    assert_eq!(sdp.rtpmap(1, 0), None);
    assert_eq!(sdp.telephone_event_pt(1), None);
    assert!(!sdp.is_hold(1));
}

#[test]
fn rtcp_attribute_without_address_uses_the_rtp_address() {
    let body = SIPP_OFFER.replace("a=ptime:20", "a=ptime:20\r\na=rtcp:7001");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(
        sdp.rtcp_destination(0),
        Some("127.0.0.1:7001".parse().unwrap())
    );
}

#[test]
fn rtcp_attribute_with_ipv6_address() {
    let body = SIPP_OFFER.replace("a=ptime:20", "a=ptime:20\r\na=rtcp:7001 IN IP6 2001:db8::5");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    let ip = IpAddr::V6("2001:db8::5".parse::<Ipv6Addr>().unwrap());
    assert_eq!(sdp.rtcp_destination(0), Some(SocketAddr::new(ip, 7001)));
}

#[test]
fn multicast_ttl_suffix_is_kept_and_ignored_for_the_address() {
    let body = SIPP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 233.252.0.1/127");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.connection.as_ref().unwrap().address, "233.252.0.1/127");
    assert_eq!(
        sdp.media_destination(0),
        Some("233.252.0.1:6000".parse().unwrap())
    );
    assert!(sdp.to_string().contains("c=IN IP4 233.252.0.1/127\r\n"));
}

#[test]
fn port_count_round_trips() {
    let body = SIPP_OFFER.replace("m=audio 6000 ", "m=audio 6000/2 ");
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.media[0].port_count, Some(2));
    assert!(sdp.to_string().contains("m=audio 6000/2 RTP/AVP 0 101\r\n"));
}

#[test]
fn all_session_level_lines_print_in_rfc_order() {
    let body = "v=0\r\n\
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n\
s=SDP Seminar\r\n\
i=A Seminar on the session description protocol\r\n\
u=http://www.example.com/seminars/sdp.pdf\r\n\
e=j.doe@example.com (Jane Doe)\r\n\
p=+1 617 555-6011\r\n\
c=IN IP4 224.2.17.12/127\r\n\
b=CT:128\r\n\
t=2873397496 2873404696\r\n\
r=7d 1h 0 25h\r\n\
z=2882844526 -1h 2898848070 0\r\n\
k=prompt\r\n\
a=recvonly\r\n\
m=audio 49170 RTP/AVP 0\r\n\
i=main audio\r\n\
c=IN IP4 224.2.17.13/127\r\n\
b=AS:64\r\n\
k=prompt\r\n\
a=rtpmap:0 PCMU/8000\r\n\
m=video 51372 RTP/AVP 99\r\n\
a=rtpmap:99 h263-1998/90000\r\n";
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(sdp.to_string(), body);
    assert_eq!(sdp.times[0].repeats, ["7d 1h 0 25h"]);
    assert_eq!(sdp.direction(1), Direction::RecvOnly);
}

#[test]
fn session_level_lines_out_of_order_are_accepted_and_printed_in_order() {
    let body = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n";
    let sdp = SessionDescription::parse(body.as_bytes()).unwrap();
    assert_eq!(
        sdp.to_string(),
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    );
}

#[test]
fn missing_version_line_is_rejected() {
    let body = SIPP_OFFER.replace("v=0\r\n", "");
    let error = SessionDescription::parse(body.as_bytes()).unwrap_err();
    assert_eq!(error.line, 1);
    assert_eq!(error.reason, SdpErrorReason::MissingVersion);
}

#[test]
fn empty_body_is_rejected() {
    let error = SessionDescription::parse(b"").unwrap_err();
    assert_eq!(error.reason, SdpErrorReason::Empty);
    let error = SessionDescription::parse(b"\r\n\r\n").unwrap_err();
    assert_eq!(error.reason, SdpErrorReason::Empty);
}

#[test]
fn missing_origin_is_rejected() {
    let error = SessionDescription::parse(b"v=0\r\ns=-\r\nt=0 0\r\n").unwrap_err();
    assert_eq!(error.reason, SdpErrorReason::MissingOrigin);
}

#[test]
fn non_numeric_media_port_is_rejected_with_its_line_number() {
    for port in ["abc", "+6000", "70000", "", "6000/x"] {
        let body = SIPP_OFFER.replace("m=audio 6000", &format!("m=audio {port}"));
        let error = SessionDescription::parse(body.as_bytes()).unwrap_err();
        assert_eq!(error.line, 6, "port {port:?}");
        assert!(
            matches!(
                error.reason,
                SdpErrorReason::BadField { line_type: 'm', .. }
            ),
            "port {port:?}: {error}"
        );
    }
}

#[test]
fn garbage_lines_are_rejected() {
    let cases = [
        ("a=ptime:20", "hello world", SdpErrorReason::Malformed),
        ("a=ptime:20", "ab=cd", SdpErrorReason::Malformed),
        ("a=ptime:20", "x=unknown", SdpErrorReason::UnknownType('x')),
        (
            "a=ptime:20",
            "o=a 1 1 IN IP4 1.2.3.4",
            SdpErrorReason::Misplaced('o'),
        ),
        ("s=-", "s=-\r\ns=again", SdpErrorReason::Duplicate('s')),
        ("t=0 0", "r=1d 1h 0", SdpErrorReason::Misplaced('r')),
        (
            "c=IN IP4 127.0.0.1",
            "c=IN IP4",
            SdpErrorReason::BadField {
                line_type: 'c',
                field: "field count",
            },
        ),
    ];
    for (from, to, reason) in cases {
        let body = SIPP_OFFER.replace(from, to);
        let error = SessionDescription::parse(body.as_bytes()).unwrap_err();
        assert_eq!(error.reason, reason, "{to:?}");
    }
}

#[test]
fn error_display_names_the_line() {
    let error = SessionDescription::parse(b"v=0\r\no=bad\r\n").unwrap_err();
    assert_eq!(error.to_string(), "SDP line 2: bad field count in o= line");
}
