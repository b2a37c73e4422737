//! Headless Chromium for the dashboard's tests: a page opened at a URL, its rendered DOM read
//! through the DevTools protocol (`Runtime.evaluate` over the page's WebSocket, RFC 6455
//! frames written here: a test needs one request and its answer at a time) — so a page whose
//! script keeps a connection open (the live view's event stream) can be read whenever the
//! test likes, which `--dump-dom` (it dumps at the load event) cannot do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A headless Chromium showing one page; killed when dropped.
pub struct Browser {
    child: Child,
    socket: TcpStream,
    next_id: u64,
    _profile: TempDir,
}

impl Browser {
    /// Starts Chromium on `url` (about: pages and localhost only: the machine has no network).
    pub fn open(url: &str) -> Browser {
        let chromium = super::require_program(
            "chromium",
            "scripts/install-deps.sh installs it (apt-get install chromium)",
        );
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let child = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let port = devtools_port(profile.path());
        let page = page_socket_path(port);
        let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("DevTools accepts");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a timeout can be set");
        // RFC 6455 §4.1: the opening handshake.
        write!(
            socket,
            "GET {page} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("the handshake is sent");
        let mut reader = BufReader::new(socket.try_clone().expect("the socket clones"));
        let mut status = String::new();
        reader
            .read_line(&mut status)
            .expect("the handshake's answer");
        assert!(
            status.contains(" 101 "),
            "DevTools refused the WebSocket: {status}"
        );
        loop {
            let mut line = String::new();
            reader
                .read_line(&mut line)
                .expect("the handshake's headers");
            if line == "\r\n" {
                break;
            }
        }
        Browser {
            child,
            socket,
            next_id: 1,
            _profile: profile,
        }
    }

    /// The page's DOM now, as HTML.
    pub fn html(&mut self) -> String {
        // Empty while the page has not loaded yet.
        let answer =
            self.evaluate("document.documentElement ? document.documentElement.outerHTML : ''");
        answer["result"]["result"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no HTML in the answer: {answer}"))
            .to_owned()
    }

    /// The page's DOM once `done` holds of it, or the last one after `limit` (the caller
    /// asserts on it).
    pub fn html_when(&mut self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let html = self.html();
            if done(&html) || Instant::now() >= deadline {
                return html;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `Runtime.evaluate` of `expression` in the page: the protocol's answer.
    fn evaluate(&mut self, expression: &str) -> serde_json::Value {
        let id = self.next_id;
        self.next_id += 1;
        let request = serde_json::json!({
            "id": id,
            "method": "Runtime.evaluate",
            "params": { "expression": expression, "returnByValue": true },
        });
        send_text(&mut self.socket, request.to_string().as_bytes());
        loop {
            let message = receive_message(&mut self.socket);
            let value: serde_json::Value =
                serde_json::from_slice(&message).expect("DevTools speaks JSON");
            if value["id"] == id {
                return value;
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port Chromium's DevTools listen on: the first line of `DevToolsActivePort` in the
/// profile, once written.
fn devtools_port(profile: &Path) -> u16 {
    let file = profile.join("DevToolsActivePort");
    let mut port = None;
    assert!(
        super::wait_until(Duration::from_secs(20), || {
            port = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| text.lines().next()?.trim().parse().ok());
            port.is_some()
        }),
        "chromium did not open its DevTools port"
    );
    port.expect("just read")
}

/// The WebSocket path of the first page target (`/json/list`; the answer's body read by its
/// `Content-Length`: DevTools keeps the connection open).
fn page_socket_path(port: u16) -> String {
    let mut targets = serde_json::Value::Null;
    let found = super::wait_until(Duration::from_secs(20), || {
        targets = json_list(port);
        targets
            .as_array()
            .is_some_and(|list| list.iter().any(|t| t["type"] == "page"))
    });
    assert!(found, "no page among DevTools' targets: {targets}");
    let url = targets
        .as_array()
        .and_then(|list| list.iter().find(|t| t["type"] == "page"))
        .and_then(|page| page["webSocketDebuggerUrl"].as_str())
        .unwrap_or_else(|| panic!("a page without a WebSocket: {targets}"));
    let after_scheme = url.trim_start_matches("ws://");
    let path = after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .unwrap_or("/");
    path.to_owned()
}

/// DevTools' `/json/list`: its targets.
fn json_list(port: u16) -> serde_json::Value {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("DevTools accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a timeout can be set");
    let mut writer = stream.try_clone().expect("the socket clones");
    write!(
        writer,
        "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a header line");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().expect("a length");
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).expect("the list is read");
    serde_json::from_slice(&body).expect("the list is JSON")
}

/// One text frame from the client (RFC 6455 §5.2: FIN, opcode 1, masked; the mask key is
/// fixed, which the protocol allows and a test does not mind).
fn send_text(socket: &mut TcpStream, payload: &[u8]) {
    const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=65_535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    socket.write_all(&frame).expect("the frame is sent");
}

/// One whole message from the server: its frames' payloads joined (a large DOM comes in
/// continuation frames); pings and other control frames skipped.
fn receive_message(socket: &mut TcpStream) -> Vec<u8> {
    let mut message = Vec::new();
    loop {
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).expect("a frame's head");
        let fin = head[0] & 0x80 != 0;
        let opcode = head[0] & 0x0f;
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                socket.read_exact(&mut ext).expect("a frame's length");
                u64::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                socket.read_exact(&mut ext).expect("a frame's length");
                u64::from_be_bytes(ext)
            }
            len => u64::from(len),
        };
        let mut payload = vec![0u8; usize::try_from(len).expect("a frame that fits")];
        socket.read_exact(&mut payload).expect("a frame's payload");
        if opcode >= 0x8 {
            continue;
        }
        message.extend_from_slice(&payload);
        if fin {
            return message;
        }
    }
}
