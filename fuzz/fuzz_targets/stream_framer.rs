//! `StreamFramer` on arbitrary bytes cut into arbitrary pieces: it must never panic, never
//! loop, and framing must not depend on how the bytes were cut.

#![no_main]

use crossbar_sip::{Frame, FrameError, Limits, StreamFramer};
use libfuzzer_sys::fuzz_target;

/// Frames `data` pushed in pieces of the given sizes; returns the frames and the final
/// error, if any.
fn frame(data: &[u8], cuts: &[u8], limits: Limits) -> (Vec<Frame>, Option<FrameError>) {
    let mut framer = StreamFramer::new(limits);
    let mut frames = Vec::new();
    let mut rest = data;
    let mut sizes = cuts.iter().map(|&c| usize::from(c) + 1).cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).min(rest.len());
        framer.push(&rest[..size]);
        rest = &rest[size..];
        loop {
            match framer.next_message() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(error) => return (frames, Some(error)),
            }
        }
    }
    (frames, None)
}

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (cuts, data) = input;
    let limits = Limits {
        max_header_lines: 32,
        max_line_len: 512,
        max_head_len: 4096,
        max_body: 4096,
    };
    let whole = frame(&data, &[], limits);
    let cut = frame(&data, &cuts, limits);
    assert_eq!(whole, cut, "framing depends on how the bytes were cut");
});
