//! Stream framing for SIP over TCP and TLS (RFC 3261 §18.3).
//!
//! Bytes arrive in arbitrary pieces; [`StreamFramer`] cuts them into messages. The head ends
//! at the first empty line; the body is exactly `Content-Length` octets, which is mandatory
//! on a stream (§20.14). CRLFs before a start line are skipped (§7.5), except a bare
//! CRLFCRLF, which is a keep-alive ping (RFC 5626 §3.5.1) that the caller answers with a
//! single CRLF.
//!
//! A framing error (no, negative, non-numeric or conflicting `Content-Length`, a limit
//! exceeded) leaves no way to find the next message: [`FrameError`] is final and the caller
//! closes the connection. A well-framed message that is malformed in any other way is
//! [`Frame::Invalid`]: the caller may answer 400 and keep reading.
//!
//! Nothing is allocated on the word of a `Content-Length` (RFC 4475 §3.1.2.2): the buffer
//! only ever holds bytes that arrived, and bodies above [`Limits::max_body`] are refused.

use bytes::{Buf, BytesMut};

use crate::message::Message;
use crate::parse::head::{ContentLength, Head, HeadScanner, parse_head};
use crate::parse::{ParseError, assemble};

pub use crate::parse::Limits;

/// What the stream produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A well-formed message.
    Message(Message),
    /// A CRLFCRLF keep-alive (RFC 5626 §3.5.1); answer it with a single CRLF.
    Ping,
    /// A complete, well-framed message that does not parse. The stream stays usable; a
    /// request can be answered with [`ParseError::status`] when `headers` is `Some`.
    Invalid(ParseError),
}

/// The stream cannot be framed any further; close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("Content-Length is mandatory on a stream (RFC 3261 §20.14)")]
    MissingContentLength,
    #[error("bad Content-Length: {0}")]
    ContentLength(&'static str),
    #[error("message exceeds limit: {0}")]
    TooLarge(&'static str),
}

#[derive(Debug)]
enum State {
    /// Between messages: skipping CRLFs, answering pings.
    Idle,
    /// Looking for the empty line that ends the head.
    Head(HeadScanner),
    /// The head is parsed; waiting until `total` octets of message are buffered.
    Body {
        head: Box<Head>,
        body_start: usize,
        total: usize,
    },
    Failed(FrameError),
}

/// Cuts a byte stream into SIP messages. Sans-IO: [`push`](StreamFramer::push) what the
/// socket read, then call [`next_message`](StreamFramer::next_message) until it returns
/// `Ok(None)`.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: Limits,
    state: State,
}

impl Default for StreamFramer {
    fn default() -> StreamFramer {
        StreamFramer::new(Limits::default())
    }
}

impl StreamFramer {
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            buf: BytesMut::new(),
            limits,
            state: State::Idle,
        }
    }

    /// Appends bytes read from the connection. Ignored once framing has failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if !matches!(self.state, State::Failed(_)) {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Octets received and not yet returned as a frame (for idle/partial-message timeouts).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` when more bytes are needed, or the error that ended the
    /// stream (returned again on every later call).
    pub fn next_message(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            match &mut self.state {
                State::Failed(error) => return Err(error.clone()),
                State::Idle => {
                    if let Some(frame) = self.skip_crlfs() {
                        return Ok(Some(frame));
                    }
                    if self.buf.is_empty() || b"\r\n\r\n".starts_with(&self.buf) {
                        // Nothing yet, or perhaps the start of a ping.
                        return Ok(None);
                    }
                    self.state = State::Head(HeadScanner::new(0));
                }
                State::Head(scanner) => {
                    let end = match scanner.scan(&self.buf, &self.limits) {
                        Ok(Some(end)) => end,
                        Ok(None) => return Ok(None),
                        Err(limit) => return Err(self.fail(FrameError::TooLarge(limit))),
                    };
                    let head = parse_head(&self.buf[..end.head_end]);
                    let length = match head.content_length {
                        ContentLength::Value(n) => n,
                        ContentLength::Absent => {
                            return Err(self.fail(FrameError::MissingContentLength));
                        }
                        ContentLength::Invalid(reason) => {
                            return Err(self.fail(FrameError::ContentLength(reason)));
                        }
                    };
                    if length > self.limits.max_body {
                        return Err(self.fail(FrameError::TooLarge("body too large")));
                    }
                    self.state = State::Body {
                        head: Box::new(head),
                        body_start: end.body_start,
                        total: end.body_start + length,
                    };
                }
                State::Body { total, .. } => {
                    if self.buf.len() < *total {
                        return Ok(None);
                    }
                    if let State::Body {
                        head,
                        body_start,
                        total,
                    } = std::mem::replace(&mut self.state, State::Idle)
                    {
                        let message = self.buf.split_to(total).freeze();
                        let body = message.slice(body_start..);
                        return Ok(Some(match assemble(*head, body) {
                            Ok(message) => Frame::Message(message),
                            Err(error) => Frame::Invalid(error),
                        }));
                    }
                }
            }
        }
    }

    /// Drops the CRLFs before a start line (§7.5); returns a ping for a CRLFCRLF.
    fn skip_crlfs(&mut self) -> Option<Frame> {
        loop {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.advance(4);
                return Some(Frame::Ping);
            }
            let lone_crlf =
                self.buf.len() >= 3 && self.buf.starts_with(b"\r\n") && self.buf[2] != b'\r';
            if lone_crlf {
                self.buf.advance(2);
            } else if self.buf.starts_with(b"\n") {
                self.buf.advance(1);
            } else {
                return None;
            }
        }
    }

    fn fail(&mut self, error: FrameError) -> FrameError {
        self.buf = BytesMut::new();
        self.state = State::Failed(error.clone());
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clerr() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/torture/rfc4475/clerr.dat"
        );
        std::fs::read(path).expect("the RFC 4475 torture files are next to the repository")
    }

    #[test]
    fn an_overlarge_content_length_waits_without_reserving_memory() {
        let bytes = clerr();
        let mut framer = StreamFramer::default();
        framer.push(&bytes);
        assert_eq!(framer.next_message(), Ok(None));
        assert_eq!(framer.buffered(), bytes.len());
        assert!(
            framer.buf.capacity() < 9999,
            "capacity {}",
            framer.buf.capacity()
        );
        // The rest arrives: the message completes.
        let State::Body { total, .. } = framer.state else {
            panic!("waiting for the body")
        };
        framer.push(&vec![b'x'; total - bytes.len()]);
        assert!(matches!(framer.next_message(), Ok(Some(Frame::Message(_)))));
    }

    #[test]
    fn failure_is_final_and_drops_the_buffer() {
        let mut framer = StreamFramer::default();
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n");
        let error = FrameError::ContentLength("negative");
        assert_eq!(framer.next_message(), Err(error.clone()));
        framer.push(b"more");
        assert_eq!(framer.buffered(), 0);
        assert_eq!(framer.next_message(), Err(error));
    }
}
