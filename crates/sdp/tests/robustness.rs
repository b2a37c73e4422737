//! parse never panics on peer input: every prefix of valid bodies, corrupted bodies, random bytes.

use std::net::IpAddr;

use crossbar_sdp::{OriginState, SessionDescription, relay_rewrite};

const BODIES: [&str; 2] = [
    "v=0\r\no=sipp 1234561 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n\r\n",
    "v=0\r\no=- 1 18446744073709551615 IN IP6 2001:db8::20\r\ns= \r\ni=x\r\nu=http://x\r\ne=a@b\r\np=1\r\nc=IN IP6 ff15::101/3\r\nb=CT:1\r\nt=1 2\r\nr=1 2 3\r\nz=1 -1h\r\nk=clear:x\r\na=sendonly\r\nm=audio 6000/2 RTP/AVP 0\r\ni=y\r\nc=IN IP4 0.0.0.0\r\nb=AS:1\r\nk=prompt\r\na=rtcp:65535 IN IP4 1.2.3.4\r\na=rtpmap:0 PCMU/8000\r\nm=video 65535 RTP/AVP 96\r\na=rtcp:9\r\n",
];

/// Parse, and for what parses, exercise every query and the rewrite.
fn exercise(bytes: &[u8]) {
    let Ok(sdp) = SessionDescription::parse(bytes) else {
        return;
    };
    let printed = sdp.to_bytes();
    let again = SessionDescription::parse(&printed).expect("printed SDP parses");
    assert_eq!(again.to_bytes(), printed, "print is a fixed point");
    for index in 0..=sdp.media.len() {
        let _ = sdp.media_destination(index);
        let _ = sdp.rtcp_destination(index);
        let _ = sdp.direction(index);
        let _ = sdp.is_hold(index);
        let _ = sdp.rtpmap(index, 0);
        let _ = sdp.telephone_event_pt(index);
    }
    let relay: IpAddr = "203.0.113.7".parse().expect("literal");
    let mut origin = OriginState::new(1, relay);
    let _ = relay_rewrite(&sdp, relay, &[65535], &mut origin);
    let _ = relay_rewrite(&sdp, relay, &[], &mut origin);
}

#[test]
fn parse_never_panics_on_any_prefix_of_valid_bodies() {
    for body in BODIES {
        for end in 0..=body.len() {
            exercise(&body.as_bytes()[..end]);
        }
    }
}

#[test]
fn parse_never_panics_on_single_byte_corruptions() {
    let replacements = [
        b'\0', b'\n', b'\r', b' ', b'=', b':', b'/', 0xff, b'9', b'a',
    ];
    for body in BODIES {
        for position in 0..body.len() {
            for replacement in replacements {
                let mut bytes = body.as_bytes().to_vec();
                bytes[position] = replacement;
                exercise(&bytes);
            }
        }
    }
}

/// xorshift64*: a small deterministic generator, enough for this loop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn parse_never_panics_on_random_bytes() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let alphabet = b"vosiuepcbtrzkam=: /\r\n0123456789.IN IP4IP6RTP/AVP\xff\xc3";
    for round in 0..20_000 {
        let len = (rng.next() % 200) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = rng.next();
                if round % 2 == 0 {
                    r as u8
                } else {
                    alphabet[(r % alphabet.len() as u64) as usize]
                }
            })
            .collect();
        exercise(&bytes);
        // A valid head followed by noise reaches the deeper line parsers.
        let mut headed = b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n".to_vec();
        headed.extend_from_slice(&bytes);
        exercise(&headed);
    }
}
