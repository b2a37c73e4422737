//! `parse_datagram` on arbitrary bytes: it must never panic, and whatever parses must print
//! to bytes that parse to the same message, whose typed headers can all be read.

#![no_main]

use crossbar_sip::{Message, Uri, parse_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = parse_datagram(data) else {
        return;
    };
    let printed = message.to_bytes();
    match parse_datagram(&printed) {
        Ok(reparsed) => assert_eq!(reparsed, message, "reparse differs"),
        Err(error) => panic!("printed message does not parse: {error:?}"),
    }
    // The checks parse_datagram made guarantee these succeed.
    let headers = message.headers();
    headers.top_via().expect("the top Via was checked");
    headers.from().expect("From was checked");
    headers.to().expect("To was checked");
    headers.cseq().expect("CSeq was checked");
    headers.max_forwards().expect("Max-Forwards was checked");
    // Everything else only has to fail cleanly.
    let _ = headers.vias();
    let _ = headers.contact();
    let _ = headers.expires();
    let _ = headers.tokens(&crossbar_sip::HeaderName::Supported).count();
    if let Message::Request(request) = &message {
        let text = request.uri.to_string();
        assert_eq!(
            Uri::parse(&text).as_ref(),
            Ok(&request.uri),
            "URI reprint differs"
        );
    }
});
