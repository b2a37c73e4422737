//! Printing then parsing gives back what was printed: `parse(encode(m)) == m` for generated
//! requests and responses, and `parse(to_string(x)) == x` for the typed values.

use std::net::{Ipv4Addr, Ipv6Addr};

use crossbar_sip::{
    Bytes, CSeq, Header, HeaderName, Headers, Host, Message, Method, NameAddr, Params, Request,
    Response, SipUri, TelUri, Uri, Via, parse_datagram,
};
use proptest::prelude::*;

const TOKEN: &str = "[A-Za-z0-9!%*_+`'~.-]{1,12}";

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Register),
        Just(Method::Options),
        TOKEN.prop_map(|t| Method::from_token(&t)),
    ]
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9]{0,8}){0,2}".prop_map(Host::Name),
        any::<u32>().prop_map(|ip| Host::V4(Ipv4Addr::from(ip))),
        any::<u128>().prop_map(|ip| Host::V6(Ipv6Addr::from(ip))),
    ]
}

fn uri_params() -> impl Strategy<Value = Params> {
    prop::collection::vec(
        ("[a-z0-9-]{1,8}", prop::option::of("[a-zA-Z0-9.%:-]{1,8}")),
        0..3,
    )
    .prop_map(|params| {
        Params(
            params
                .into_iter()
                // `%` must start an escape: make every one a valid `%25`.
                .map(|(n, v)| (n, v.map(|v| v.replace('%', "%25"))))
                .collect(),
        )
    })
}

fn sip_uri() -> impl Strategy<Value = SipUri> {
    (
        any::<bool>(),
        prop::option::of("[a-zA-Z0-9_.!~*'()&=+$,;?/-]{1,10}"),
        prop::option::of("[a-zA-Z0-9&=+$,]{0,6}"),
        host(),
        prop::option::of(any::<u16>()),
        uri_params(),
        prop::collection::vec(("[A-Za-z]{1,6}", "[a-z0-9]{0,6}"), 0..2),
    )
        .prop_map(
            |(secure, user, password, host, port, params, headers)| SipUri {
                secure,
                password: user.as_ref().and(password),
                user,
                host,
                port,
                params,
                headers,
            },
        )
}

fn uri() -> impl Strategy<Value = Uri> {
    prop_oneof![
        4 => sip_uri().prop_map(Uri::Sip),
        1 => ("\\+?[0-9]{1,12}", uri_params()).prop_map(|(number, params)| {
            Uri::Tel(TelUri { number, params })
        }),
        1 => ("[a-z][a-z0-9+.-]{0,6}", "[a-zA-Z0-9/:._-]{1,20}")
            .prop_filter("not a scheme with its own grammar", |(scheme, _)| {
                !["sip", "sips", "tel"].contains(&scheme.as_str())
            })
            .prop_map(|(scheme, opaque)| Uri::Other { scheme, opaque }),
    ]
}

fn header_params() -> impl Strategy<Value = Params> {
    prop::collection::vec((TOKEN, prop::option::of(TOKEN)), 0..3).prop_map(Params)
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof![
            Just("UDP"),
            Just("TCP"),
            Just("TLS"),
            Just("SCTP"),
            Just("WS")
        ],
        host(),
        prop::option::of(any::<u16>()),
        header_params(),
    )
        .prop_map(|(transport, host, port, params)| Via {
            protocol: "SIP/2.0".into(),
            transport: transport.into(),
            host,
            port,
            params,
        })
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        prop::option::of("[ !#-\\[\\]-~é€]{0,12}"),
        uri(),
        header_params(),
    )
        .prop_map(|(display, uri, params)| NameAddr {
            display,
            uri,
            params,
        })
}

/// A header value as the parser stores it: trimmed, no line breaks.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[!-~é€\u{0}]([ -~\t€]{0,30}[!-~])?",]
}

fn headers(cseq_method: BoxedStrategy<Method>) -> impl Strategy<Value = Headers> {
    (
        prop::collection::vec(via(), 1..3),
        name_addr(),
        name_addr(),
        "[a-zA-Z0-9.@_-]{1,20}",
        any::<u32>(),
        cseq_method,
        prop::option::of(0u32..=255),
        prop::collection::vec(("X-[A-Za-z0-9-]{1,10}", value()), 0..6),
    )
        .prop_map(
            |(vias, from, to, call_id, seq, method, max_forwards, extra)| {
                let mut lines = vec![
                    (
                        HeaderName::Via,
                        vias.iter()
                            .map(Via::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    (HeaderName::From, from.to_string()),
                    (HeaderName::To, to.to_string()),
                    (HeaderName::CallId, call_id),
                    (HeaderName::CSeq, CSeq { seq, method }.to_string()),
                ];
                if let Some(max_forwards) = max_forwards {
                    lines.push((HeaderName::MaxForwards, max_forwards.to_string()));
                }
                for (name, value) in extra {
                    lines.push((HeaderName::from_wire(&name), value));
                }
                lines
            },
        )
        .prop_shuffle()
        .prop_map(|lines| {
            Headers(
                lines
                    .into_iter()
                    .map(|(name, value)| Header { name, value })
                    .collect(),
            )
        })
}

/// A Request-URI: any URI, but a SIP URI without headers (RFC 3261 §19.1.1 table 1).
fn request_uri() -> impl Strategy<Value = Uri> {
    uri().prop_map(|mut uri| {
        if let Uri::Sip(sip) = &mut uri {
            sip.headers.clear();
        }
        uri
    })
}

fn request() -> impl Strategy<Value = Request> {
    (method(), request_uri()).prop_flat_map(|(method, uri)| {
        let cseq_method = Just(method.clone()).boxed();
        (
            headers(cseq_method),
            prop::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(move |(headers, body)| Request {
                method: method.clone(),
                uri: uri.clone(),
                headers,
                body: Bytes::from(body),
            })
    })
}

fn response() -> impl Strategy<Value = Response> {
    (
        100u16..=699,
        "[ -~é]{0,20}",
        headers(method().boxed()),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(status, reason, headers, body)| Response {
            status,
            reason,
            headers,
            body: Bytes::from(body),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_reparse_to_themselves(request in request()) {
        let message = Message::Request(request);
        let printed = message.to_bytes();
        prop_assert_eq!(parse_datagram(&printed), Ok(message));
    }

    #[test]
    fn responses_reparse_to_themselves(response in response()) {
        let message = Message::Response(response);
        let printed = message.to_bytes();
        prop_assert_eq!(parse_datagram(&printed), Ok(message));
    }

    #[test]
    fn uris_reparse_to_themselves(uri in uri()) {
        prop_assert_eq!(Uri::parse(&uri.to_string()), Ok(uri));
    }

    #[test]
    fn vias_reparse_to_themselves(via in via()) {
        prop_assert_eq!(Via::parse(&via.to_string()), Ok(via));
    }

    #[test]
    fn name_addrs_reparse_to_themselves(name_addr in name_addr()) {
        prop_assert_eq!(NameAddr::parse(&name_addr.to_string()), Ok(name_addr));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_datagram(&bytes);
    }

    #[test]
    fn damaged_messages_never_panic(
        request in request(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = Message::Request(request).to_bytes();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(message) = parse_datagram(&bytes) {
            // Whatever parses prints to something that parses the same.
            prop_assert_eq!(parse_datagram(&message.to_bytes()), Ok(message));
        }
    }
}
