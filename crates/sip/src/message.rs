//! Requests and responses (RFC 3261 §7) and how they are printed.

use std::fmt;

use bytes::Bytes;

use crate::header::{HeaderName, Headers};
use crate::method::Method;
use crate::status::reason_phrase;
use crate::uri::Uri;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Request {
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// A response to this request as RFC 3261 §8.2.6.2 builds it; see
    /// [`Response::for_request`].
    pub fn response(&self, status: u16) -> Response {
        Response::for_request(&self.headers, status)
    }

    /// Prints the request; `Content-Length` is always written from the body's length.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{} {} SIP/2.0\r\n", self.method, self.uri);
        encode_headers_and_body(&self.headers, &self.body, out);
    }
}

impl Response {
    /// A response to a request with `headers`, as RFC 3261 §8.2.6.2 builds it: `Via` (all
    /// values, in order), `From`, `To`, `Call-ID`, `CSeq` and `Timestamp` copied. Adding
    /// the `To` tag is the caller's job (a UAS picks it once per dialog).
    pub fn for_request(headers: &Headers, status: u16) -> Response {
        let mut response = Response::new(status);
        response.headers.0.extend(
            headers
                .iter()
                .filter(|h| {
                    matches!(
                        h.name,
                        HeaderName::Via
                            | HeaderName::From
                            | HeaderName::To
                            | HeaderName::CallId
                            | HeaderName::CSeq
                            | HeaderName::Timestamp
                    )
                })
                .cloned(),
        );
        response
    }

    pub fn new(status: u16) -> Response {
        Response {
            status,
            reason: reason_phrase(status).to_owned(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Prints the response; `Content-Length` is always written from the body's length.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let _ = write!(out, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        encode_headers_and_body(&self.headers, &self.body, out);
    }
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.encode(out),
            Message::Response(r) => r.encode(out),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512 + self.body().len());
        self.encode(&mut out);
        out
    }
}

fn encode_headers_and_body(headers: &Headers, body: &Bytes, out: &mut Vec<u8>) {
    use std::io::Write;
    for header in headers.iter() {
        if header.name == HeaderName::ContentLength {
            continue;
        }
        out.extend_from_slice(header.name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(header.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(body);
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.encode(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.encode(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Request(r) => r.fmt(f),
            Message::Response(r) => r.fmt(f),
        }
    }
}
