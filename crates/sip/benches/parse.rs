//! Parse and print speed of typical messages (see docs/PERFORMANCE.md, "SIP parsing").
//!
//! `cargo bench -p crossbar-sip -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbar_sip::{Frame, Message, StreamFramer, parse_datagram};

const INVITE: &[u8] = b"INVITE sip:+442079460000@pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice Smith\" <sip:201@pbx.example.com>;tag=9fxced76sl\r\n\
To: <sip:+442079460000@pbx.example.com>\r\n\
Call-ID: 3848276298220188511@192.0.2.10\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:201@192.0.2.10:5060;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"\r\n\
Allow: INVITE, ACK, CANCEL, BYE, REFER, OPTIONS, NOTIFY, INFO, UPDATE, PRACK\r\n\
Supported: replaces, timer, 100rel\r\n\
User-Agent: Yealink SIP-T54W 96.86.0.70\r\n\
Session-Expires: 1800\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 251\r\n\
\r\n\
v=0\r\n\
o=- 20518 0 IN IP4 192.0.2.10\r\n\
s=SDP data\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 11424 RTP/AVP 9 0 8 101\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

const REGISTER: &[u8] = b"REGISTER sip:pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---b5e0f3a1c2d4e6f8;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:201@192.0.2.10:5060;rinstance=6f8dc969b62d1466;transport=UDP>\r\n\
To: <sip:201@pbx.example.com>\r\n\
From: <sip:201@pbx.example.com>;tag=0a2b1d6f\r\n\
Call-ID: NjZlMTY0ZDNiZTA0ZWJmMjIxZDk1ZGQxOGMwYjlhNzM\r\n\
CSeq: 2 REGISTER\r\n\
Expires: 3600\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n\
Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri\r\n\
User-Agent: Z 5.6.1 v2.10.20.1\r\n\
Authorization: Digest username=\"201\",realm=\"pbx.example.com\",nonce=\"6643b7c1a9f0e2d3b4c5d6e7f8091a2b\",uri=\"sip:pbx.example.com\",response=\"2f8d1e6b0c7a4b3e9f5d2a1c8b7e6d5f\",cnonce=\"a1b2c3d4e5f60718\",nc=00000001,qop=auth,algorithm=MD5\r\n\
Allow-Events: presence, kpml, talk\r\n\
Content-Length: 0\r\n\
\r\n";

const OK_REGISTER: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---b5e0f3a1c2d4e6f8;rport=5060;received=192.0.2.10\r\n\
To: <sip:201@pbx.example.com>;tag=as5e2b1c4d\r\n\
From: <sip:201@pbx.example.com>;tag=0a2b1d6f\r\n\
Call-ID: NjZlMTY0ZDNiZTA0ZWJmMjIxZDk1ZGQxOGMwYjlhNzM\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:201@192.0.2.10:5060;rinstance=6f8dc969b62d1466;transport=UDP>;expires=3600\r\n\
Date: Sat, 21 Nov 2026 13:00:00 GMT\r\n\
Server: crossbar\r\n\
Content-Length: 0\r\n\
\r\n";

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sip");
    group.throughput(Throughput::Elements(1));
    for (name, bytes) in [
        ("invite_sdp", INVITE),
        ("register_auth", REGISTER),
        ("ok_register", OK_REGISTER),
    ] {
        parse_datagram(bytes).expect("the samples are valid");
        group.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| parse_datagram(black_box(bytes)))
        });
    }

    // What a registrar does with each REGISTER before the digest: parse, then read the
    // typed headers it needs.
    group.bench_function("parse_and_read/register_auth", |b| {
        b.iter(|| {
            let message =
                parse_datagram(black_box(REGISTER)).expect("the sample REGISTER is valid");
            let headers = message.headers();
            let via = headers.top_via().expect("valid Via");
            let from = headers.from().expect("valid From");
            let to = headers.to().expect("valid To");
            let cseq = headers.cseq().expect("valid CSeq");
            let contact = headers.contact().expect("valid Contact");
            (
                via,
                from,
                to,
                cseq,
                contact,
                headers.expires(),
                headers.call_id().map(str::len),
            )
        })
    });

    let mut framer = StreamFramer::default();
    group.bench_function("stream/register_auth", |b| {
        b.iter(|| {
            framer.push(black_box(REGISTER));
            match framer.next_message() {
                Ok(Some(Frame::Message(message))) => message,
                other => panic!("the sample REGISTER frames: {other:?}"),
            }
        })
    });

    for (name, bytes) in [
        ("invite_sdp", INVITE),
        ("register_auth", REGISTER),
        ("ok_register", OK_REGISTER),
    ] {
        let message: Message = parse_datagram(bytes).expect("the samples are valid");
        let mut out = Vec::with_capacity(2048);
        group.bench_function(format!("encode/{name}"), |b| {
            b.iter(|| {
                out.clear();
                black_box(&message).encode(&mut out);
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
