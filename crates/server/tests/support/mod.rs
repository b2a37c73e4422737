//! Test harness shared by the real-peer tests: start the `crossbar` binary on free ports with
//! a generated configuration, watch its log, stop it; run SIPp; talk SIP over raw UDP/TCP
//! sockets, answering digest challenges with `crossbar-auth`.
//!
//! Every process started here is stopped by the test that started it, and killed (SIGKILL)
//! on drop if the test panicked first, so nothing outlives the test run.

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbar_auth::{Answer, DigestChallenge};
use crossbar_sip::{HeaderName, Message, Response};
use tempfile::TempDir;

pub mod baresip;
pub mod browser;
pub mod raw_call;
pub mod rtp;

/// The binary under test, built by cargo for the integration tests.
pub const CROSSBAR: &str = env!("CARGO_BIN_EXE_crossbar");

/// The shared test assets (SIPp scenarios, torture messages), beside the repository.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared");

/// The repository root.
pub const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// How long a server may take from spawn to `crossbar ready` (a debug build opening a
/// PostgreSQL database on a loaded CI machine included).
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a server may take to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A path under the shared assets directory, checked to exist.
pub fn shared(relative: &str) -> PathBuf {
    let path = Path::new(SHARED).join(relative);
    assert!(
        path.exists(),
        "test asset {} is missing: the shared/ directory must sit beside the repository",
        path.display()
    );
    path
}

/// A port on 127.0.0.1 that is free for both UDP and TCP right now (the kernel's ephemeral
/// range, so never 5060/5070/5090). Someone may take it before we use it: callers that bind
/// it in another process retry with a new one.
pub fn free_port() -> u16 {
    // Never hand out a port twice in one test process: tests run in parallel, and a port
    // probed free here is bound by a server or SIPp only a little later.
    let mut given = given_ports();
    for _ in 0..100 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("UDP sockets can be bound");
        let port = udp
            .local_addr()
            .expect("a bound socket has an address")
            .port();
        if !given.contains(&port) && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
    panic!("no port on 127.0.0.1 is free for both UDP and TCP after 100 tries");
}

/// Every port this test process has handed out.
fn given_ports() -> std::sync::MutexGuard<'static, BTreeSet<u16>> {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The lowest port of [`free_port_block`]s: below the kernel's ephemeral range (32768 and
/// up), so no socket bound to port 0 lands in a block, and above SIPp's customary 5060–7000
/// and crossbar's default media range (10000–20000).
const BLOCK_PORTS_START: u16 = 21_000;
const BLOCK_PORTS_END: u16 = 32_000;

/// The first of `count` consecutive ports on 127.0.0.1, an even one, all free for UDP and
/// TCP right now: a `[media]` port range for a server, or a SIPp `-mp` (which binds the port
/// and the one two above it). Never handed out twice in one test process; the search starts
/// at a place that depends on the process id, so two test binaries running at once mostly
/// look in different places (and skip what the other bound).
pub fn free_port_block(count: u16) -> u16 {
    assert!(
        count > 0 && count < 1000,
        "a block of {count} ports is not sensible"
    );
    let span = BLOCK_PORTS_END - BLOCK_PORTS_START - count;
    let offset = u16::try_from(std::process::id() % u32::from(span)).expect("below span") & !1;
    let mut given = given_ports();
    let mut base = BLOCK_PORTS_START + offset;
    for _ in 0..(span / 2) {
        if base + count > BLOCK_PORTS_END {
            base = BLOCK_PORTS_START;
        }
        let ports = base..base + count;
        let free = ports.clone().all(|port| {
            !given.contains(&port)
                && UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
                && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        });
        if free {
            given.extend(ports);
            return base;
        }
        base += (count + 1) & !1;
    }
    panic!("no block of {count} free ports between {BLOCK_PORTS_START} and {BLOCK_PORTS_END}");
}

/// A value unique within this test process (and, with the time mixed in, across runs).
pub fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}x{}x{nanos:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------

/// One `[[extension]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub number: String,
    pub username: String,
    pub secret: String,
    /// More keys of its `[[extension]]` table (`class = "national"`), one per line.
    pub extra: String,
}

impl Extension {
    pub fn new(number: &str, username: &str, secret: &str) -> Extension {
        Extension {
            number: number.to_owned(),
            username: username.to_owned(),
            secret: secret.to_owned(),
            extra: String::new(),
        }
    }

    /// The `n`-th user of SIPp's `users.csv` (1-based): extension `1000 + n`, user name
    /// `userNNNN`, secret `pwNNNN`.
    pub fn sipp_user(n: u32) -> Extension {
        Extension {
            number: (1000 + n).to_string(),
            username: format!("user{n:04}"),
            secret: format!("pw{n:04}"),
            extra: String::new(),
        }
    }

    /// With more keys in its table (`class = "national"`).
    pub fn with(mut self, lines: &str) -> Extension {
        self.extra.push_str(lines);
        self.extra.push('\n');
        self
    }
}

/// A server's configuration and the temporary directory it lives in (configuration file,
/// SQLite database, log). Servers started from one `Setup` share the database, so a
/// restart is `setup.start_on(port)` again after stopping the first.
pub struct Setup {
    dir: TempDir,
    pub extensions: Vec<Extension>,
    /// `[database] url`; a relative SQLite path is relative to the setup directory.
    pub database_url: String,
    /// Extra lines for the `[sip]` section, e.g. `tcp_incomplete_timeout_secs = 2`.
    pub sip_extra: Vec<String>,
    /// More UDP listen addresses after the server's own port.
    pub more_udp: Vec<std::net::SocketAddr>,
    /// Extra TOML appended after the fixed sections (whole tables).
    pub extra_toml: String,
    /// `[log] level`.
    pub log_level: String,
}

impl Default for Setup {
    fn default() -> Self {
        Self::new()
    }
}

impl Setup {
    /// No extensions, SQLite in the setup directory, log level `info`.
    pub fn new() -> Setup {
        let dir = tempfile::Builder::new()
            .prefix("crossbar-test-")
            .tempdir()
            .expect("a temp dir can be created for the server");
        Setup {
            dir,
            extensions: Vec::new(),
            database_url: "sqlite://data/crossbar.db".to_owned(),
            sip_extra: Vec::new(),
            more_udp: Vec::new(),
            extra_toml: String::new(),
            log_level: "info".to_owned(),
        }
    }

    /// With SIPp's users 1..=`count` (see [`Extension::sipp_user`]).
    pub fn with_sipp_users(count: u32) -> Setup {
        let mut setup = Setup::new();
        setup.extensions = (1..=count).map(Extension::sipp_user).collect();
        setup
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir().join("crossbar.toml")
    }

    /// The configuration file's text for a server listening on 127.0.0.1:`port`.
    pub fn config_text(&self, port: u16) -> String {
        let mut text = String::new();
        let listen = format!("[\"127.0.0.1:{port}\"]");
        let udp: Vec<String> = std::iter::once(format!("\"127.0.0.1:{port}\""))
            .chain(self.more_udp.iter().map(|a| format!("\"{a}\"")))
            .collect();
        writeln!(
            text,
            "[sip]\nlisten_udp = [{}]\nlisten_tcp = {listen}",
            udp.join(", ")
        )
        .expect("string");
        for line in &self.sip_extra {
            writeln!(text, "{line}").expect("string");
        }
        // SIPp 3.6.1 answers only MD5 and takes the first challenge; its users.csv has
        // six-character secrets.
        writeln!(
            text,
            "\n[auth]\nalgorithms = [\"MD5\"]\nmin_secret_length = 6\n\n[database]\nurl = {}\n\n[log]\nlevel = {}\n",
            toml_string(&self.database_url),
            toml_string(&self.log_level)
        )
        .expect("string");
        text.push_str(&self.extra_toml);
        text.push('\n');
        for e in &self.extensions {
            writeln!(
                text,
                "[[extension]]\nnumber = {}\nusername = {}\nsecret = {}\n{}",
                toml_string(&e.number),
                toml_string(&e.username),
                toml_string(&e.secret),
                e.extra
            )
            .expect("string");
        }
        text
    }

    /// Starts a server on a free port, retrying with another port if someone else took it
    /// between the probe and the bind. Waits for `crossbar ready`.
    pub fn start(&self) -> Server {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            match self.try_start(port) {
                Ok(server) => return server,
                Err(StartFailure::PortTaken(log)) => last = log,
                Err(StartFailure::Other(message)) => panic!("{message}"),
            }
        }
        panic!("crossbar could not bind a free port in 5 attempts; last log:\n{last}");
    }

    /// Starts a server on `port` (a restart on the port a previous server used).
    pub fn start_on(&self, port: u16) -> Server {
        match self.try_start(port) {
            Ok(server) => server,
            Err(StartFailure::PortTaken(log)) => {
                panic!("port {port} is taken; crossbar could not bind it:\n{log}")
            }
            Err(StartFailure::Other(message)) => panic!("{message}"),
        }
    }

    /// Adds a `[media]` section: the relay on 127.0.0.1 with a range of `ports` ports of
    /// its own (a [`free_port_block`]; a call takes four), so servers of tests running at
    /// once never compete for relay ports; `rtp_timeout_secs` as given.
    pub fn relay_media(&mut self, ports: u16, rtp_timeout_secs: u32) -> (u16, u16) {
        let min = free_port_block(ports);
        let max = min + ports - 1;
        writeln!(
            self.extra_toml,
            "[media]\naddress = \"127.0.0.1\"\nport_min = {min}\nport_max = {max}\n\
             rtp_timeout_secs = {rtp_timeout_secs}\n"
        )
        .expect("string");
        (min, max)
    }

    /// The `[database] url` as the store opens it: a relative SQLite path made absolute
    /// (the server resolves it against the configuration file's directory).
    pub fn store_url(&self) -> String {
        match self.database_url.strip_prefix("sqlite://") {
            Some(path) if !path.starts_with('/') && !path.starts_with(':') => {
                format!("sqlite://{}", self.dir().join(path).display())
            }
            _ => self.database_url.clone(),
        }
    }

    /// What the database holds now: every call record (newest first) and every call in
    /// progress. Opened and closed for each look (the server may be running).
    pub fn records(&self) -> StoredCalls {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for reading the database");
        runtime.block_on(async {
            let store = crossbar_store::Store::open(&self.store_url())
                .await
                .unwrap_or_else(|e| panic!("the database {} opens: {e}", self.store_url()));
            let calls = store
                .calls(
                    &crossbar_store::CallFilter::default(),
                    crossbar_store::Page::first(crossbar_store::Page::MAX_LIMIT),
                )
                .await
                .expect("the call records can be read");
            let active = store
                .interrupted_calls()
                .await
                .expect("the calls in progress can be read");
            store.close().await;
            StoredCalls { calls, active }
        })
    }

    /// Waits until the database holds at least `count` call records and no call in
    /// progress (records are written just after a call ends), then returns what it holds.
    /// Panics with what is there after `timeout`.
    pub fn wait_for_records(&self, count: usize, timeout: Duration) -> StoredCalls {
        let deadline = Instant::now() + timeout;
        loop {
            let stored = self.records();
            if stored.calls.len() >= count && stored.active.is_empty() {
                return stored;
            }
            assert!(
                Instant::now() < deadline,
                "after {timeout:?} the database holds {} call records (expected {count}) and \
                 {} calls in progress:\n{:#?}\n{:#?}",
                stored.calls.len(),
                stored.active.len(),
                stored.calls,
                stored.active
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn try_start(&self, port: u16) -> Result<Server, StartFailure> {
        let config = self.config_path();
        std::fs::write(&config, self.config_text(port)).expect("the config file can be written");
        let mut server = Server::spawn(
            Command::new(CROSSBAR)
                .arg("run")
                .arg("--config")
                .arg(&config),
            port,
            &self.dir().join(format!("server-{}.log", unique())),
        );
        if server
            .wait_for_line("crossbar ready", READY_TIMEOUT)
            .is_some()
        {
            return Ok(server);
        }
        let status = server.kill();
        let log = server.log_text();
        if log.contains("listening on") && log.contains("in use") {
            return Err(StartFailure::PortTaken(log));
        }
        Err(StartFailure::Other(format!(
            "crossbar did not log `crossbar ready` within {READY_TIMEOUT:?} (exit: {status:?}); log:\n{log}"
        )))
    }
}

/// The call tables, as [`Setup::records`] read them.
#[derive(Debug)]
pub struct StoredCalls {
    /// `calls`, newest first.
    pub calls: Vec<crossbar_cdr::CallRecord>,
    /// `active_calls`, oldest first.
    pub active: Vec<crossbar_store::ActiveCall>,
}

/// One `relay closed` log line: what a call's relay forwarded (side A = the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayStats {
    pub relay: u64,
    pub a_to_b_packets: u64,
    pub b_to_a_packets: u64,
    pub a_to_b_lost: u64,
    pub b_to_a_lost: u64,
    pub telephone_events: u64,
}

impl RelayStats {
    /// Every `relay closed` line of `server`'s log so far, in order: the switch's, at `info`
    /// (with the media task's debug lines on, each relay also logs a `relay closed` of its
    /// own, in another format).
    pub fn of(server: &Server) -> Vec<RelayStats> {
        server
            .lines()
            .iter()
            .filter(|l| l.contains("relay closed") && log_field(l, "relay").is_some())
            .map(|l| {
                let field = |key: &str| -> u64 {
                    log_field(l, key)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| panic!("no number `{key}` in {l}"))
                };
                RelayStats {
                    relay: field("relay"),
                    a_to_b_packets: field("a_to_b_packets"),
                    b_to_a_packets: field("b_to_a_packets"),
                    a_to_b_lost: field("a_to_b_lost"),
                    b_to_a_lost: field("b_to_a_lost"),
                    telephone_events: field("telephone_events"),
                }
            })
            .collect()
    }
}

enum StartFailure {
    PortTaken(String),
    Other(String),
}

/// A TOML basic string.
/// Every prompt file the configuration needs, each a fifth of a second of a quiet 440 Hz
/// tone (8 kHz, 16-bit mono WAV).
pub fn write_prompts(setup: &Setup) {
    let text = setup.config_text(5060);
    let config = crossbar_config::Config::parse(&text, &setup.config_path())
        .unwrap_or_else(|errors| panic!("the test configuration is valid: {errors}\n{text}"));
    let samples: Vec<i16> = (0..1_600)
        .map(|n| {
            let phase = f64::from(n) * 440.0 * std::f64::consts::TAU / 8_000.0;
            // A quiet tone: well within i16.
            (phase.sin() * 4_000.0) as i16
        })
        .collect();
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut wav = Vec::new();
    let length = u32::try_from(data.len()).expect("a short prompt");
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + length).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8_000u32.to_le_bytes());
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&length.to_le_bytes());
    wav.extend_from_slice(&data);
    for file in crossbar_switch::PromptLibrary::files(&config) {
        std::fs::create_dir_all(file.parent().expect("a prompt is in a directory"))
            .expect("the prompt directory can be made");
        std::fs::write(&file, &wav).expect("the prompt can be written");
    }
}

/// The load generator as a trunk's carrier at `carrier_port` calling `did` `calls` times
/// (callers `+4477009000000`, ...), 10 a second, each with RTP both ways and held `hold` once
/// the server answers (a menu or a queue: the server answers itself); a test changes what
/// it needs (`agents`, `rate`...).
pub fn carrier_callers(
    server: SocketAddr,
    carrier_port: u16,
    did: &str,
    calls: u32,
    hold: Duration,
) -> crossbar_loadgen::CarrierLoad {
    crossbar_loadgen::CarrierLoad {
        server,
        bind: Ipv4Addr::LOCALHOST.into(),
        sip_port: carrier_port,
        caller_prefix: "+4477009".into(),
        dial: did.into(),
        callee: None,
        menu: crossbar_loadgen::MenuCaller {
            audio: true,
            key: None,
            key_wait: Duration::ZERO,
        },
        agents: None,
        calls,
        rate: 10.0,
        hold,
        media: true,
        rtp_sockets: 1,
        control_streams: 0,
        kernel_stamps: false,
        progress: false,
    }
}

/// An `[http]` section: the API on a free port of its own, `token` allowed to change state
/// (as `ops`); and the API's address.
pub fn api_section(token: &str) -> (String, SocketAddr) {
    let port = free_port();
    let hash: String = crossbar_api::bearer::token_sha256(token)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let section = format!(
        "\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
         tokens = [{{ name = \"ops\", sha256 = \"{hash}\" }}]\n"
    );
    (section, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// One request to crossbar's HTTP API at `api` (HTTP/1.1, the connection closed after it),
/// with the bearer `token` and a JSON `body`: the status and the body.
pub fn api_text(
    api: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(api).expect("the HTTP API accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a timeout can be set");
    let body = body.unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .expect("the request is sent");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("the response is read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response:\n{response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// [`api_text`] for a JSON answer: the status and the parsed body.
pub fn api_request(
    api: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let (status, text) = api_text(api, token, method, path, body);
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {path}: {status}, not JSON ({e}):\n{text}"));
    (status, json)
}

pub fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => write!(out, "\\u{:04x}", u32::from(c)).expect("string"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What the stderr reader has collected.
#[derive(Default)]
struct LogState {
    lines: Vec<String>,
    /// stderr reached end of file (the process has exited or closed it).
    closed: bool,
}

#[derive(Default)]
struct Log {
    state: Mutex<LogState>,
    changed: Condvar,
}

impl Log {
    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A running `crossbar` process (or one that was run: its log stays readable).
pub struct Server {
    child: Child,
    /// The exit status, once reaped; the pid is never signalled after that.
    exit: Option<ExitStatus>,
    pub port: u16,
    log: Arc<Log>,
    reader: Option<JoinHandle<()>>,
    log_path: PathBuf,
}

impl Server {
    /// Spawns `command` with stderr collected line by line (ANSI colours stripped, each line
    /// also appended to `log_path`). `RUST_LOG` is removed so the configured level applies.
    pub fn spawn(command: &mut Command, port: u16, log_path: &Path) -> Server {
        let mut child = command
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CROSSBAR}: {e}"));
        let stderr = child.stderr.take().expect("stderr was configured as piped");
        let log = Arc::new(Log::default());
        let mut file = std::fs::File::create(log_path).expect("the log file can be created");
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut stderr = BufReader::new(stderr);
                let mut raw = Vec::new();
                loop {
                    raw.clear();
                    match stderr.read_until(b'\n', &mut raw) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    let line = strip_ansi(&String::from_utf8_lossy(&raw))
                        .trim_end_matches(['\r', '\n'])
                        .to_owned();
                    let _ = writeln!(file, "{line}");
                    log.lock().lines.push(line);
                    log.changed.notify_all();
                }
                log.lock().closed = true;
                log.changed.notify_all();
            })
        };
        Server {
            child,
            exit: None,
            port,
            log,
            reader: Some(reader),
            log_path: log_path.to_owned(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stderr line so far.
    pub fn lines(&self) -> Vec<String> {
        self.log.lock().lines.clone()
    }

    pub fn log_text(&self) -> String {
        self.lines().join("\n")
    }

    /// How many log lines so far satisfy `matches`.
    pub fn count_lines(&self, matches: impl Fn(&str) -> bool) -> usize {
        self.log.lock().lines.iter().filter(|l| matches(l)).count()
    }

    /// Waits until a log line contains `needle`; `None` on timeout or if stderr closed first.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Option<String> {
        self.wait_for_lines(|l| l.contains(needle), 1, timeout)
            .then(|| {
                self.lines()
                    .into_iter()
                    .find(|l| l.contains(needle))
                    .expect("the line was just seen")
            })
    }

    /// Waits until at least `count` log lines satisfy `matches`; false on timeout or if
    /// stderr closed first.
    pub fn wait_for_lines(
        &self,
        matches: impl Fn(&str) -> bool,
        count: usize,
        timeout: Duration,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.log.lock();
        loop {
            if state.lines.iter().filter(|l| matches(l)).count() >= count {
                return true;
            }
            let now = Instant::now();
            if state.closed || now >= deadline {
                return false;
            }
            state = self
                .log
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) to the process, by pid, while it is known to be
    /// ours (not yet reaped, so the pid cannot have been reused).
    pub fn signal(&mut self, signal: &str) {
        assert!(
            self.exit.is_none(),
            "the server has already exited; not signalling a pid that may be reused"
        );
        // The shell's built-in `kill`: present wherever `sh` is, no unsafe code needed.
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -s {signal} {}", self.child.id()))
            .status()
            .expect("sh can be run");
        assert!(status.success(), "kill -s {signal} failed: {status}");
    }

    /// Waits for the process to exit; `None` on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exit {
            return Some(status);
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait works on our child") {
                self.exit = Some(status);
                self.join_reader();
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then asserts the process exits with status 0 within [`STOP_TIMEOUT`] and
    /// logged `stopped`. Returns the log.
    pub fn stop(mut self) -> Vec<String> {
        self.signal("TERM");
        let status = self.wait_exit(STOP_TIMEOUT).unwrap_or_else(|| {
            panic!(
                "crossbar did not exit within {STOP_TIMEOUT:?} of SIGTERM; log:\n{}",
                self.log_text()
            )
        });
        assert!(
            status.success(),
            "crossbar exited with {status} after SIGTERM (expected 0); log:\n{}",
            self.log_text()
        );
        assert!(
            self.lines().iter().any(|l| l.contains(" stopped")),
            "crossbar exited 0 but never logged `stopped`; log:\n{}",
            self.log_text()
        );
        self.lines()
    }

    /// SIGKILL (kill -9) and reap; returns the exit status.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait works on our child");
        self.exit = Some(status);
        self.join_reader();
        status
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.wait_exit(Duration::ZERO).is_none()
    }

    fn join_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let was_running = self.exit.is_none();
        self.kill();
        if std::thread::panicking() {
            let lines = self.lines();
            let tail = lines.len().saturating_sub(60);
            eprintln!(
                "--- crossbar on port {} ({}), last {} log lines (full log: {}):\n{}",
                self.port,
                if was_running {
                    "killed after the test panicked"
                } else {
                    "already exited"
                },
                lines.len() - tail,
                self.log_path.display(),
                lines[tail..].join("\n")
            );
        }
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `key=value` in a structured log line (`registered extension=1001 ...`).
pub fn log_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    Some(rest.split(' ').next().unwrap_or(rest))
}

// ---------------------------------------------------------------------------------------
// SIPp
// ---------------------------------------------------------------------------------------

/// The outcome of one SIPp run.
pub struct SippRun {
    pub status: ExitStatus,
    pub successful: u64,
    pub failed: u64,
    /// The final screens (`-trace_screen`).
    pub screen: String,
    /// Unexpected messages and other errors (`-trace_err`).
    pub errors: String,
    /// SIPp's stdout and stderr.
    pub output: String,
    pub elapsed: Duration,
    /// The working directory with every trace file; kept until the run is dropped.
    pub dir: TempDir,
}

impl SippRun {
    /// The trace files in SIPp's working directory whose names contain `part` (e.g.
    /// `messages` for `-trace_msg`), concatenated.
    pub fn trace(&self, part: &str) -> String {
        trace_files(self.dir.path(), part)
    }

    /// Everything worth reading when a run went wrong.
    pub fn report(&self) -> String {
        format!(
            "sipp exit {}, {} successful, {} failed, in {:?}\n--- screen:\n{}\n--- errors:\n{}\n--- output:\n{}",
            self.status,
            self.successful,
            self.failed,
            self.elapsed,
            self.screen,
            tail(&self.errors, 4000),
            tail(&self.output, 2000)
        )
    }
}

fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// `program` from `PATH`, or a failure naming how to install it. Never a skip: a test that
/// needs a real peer fails without it.
pub fn require_program(program: &str, install_hint: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|path| path.is_file())
        })
        .unwrap_or_else(|| panic!("`{program}` is not on PATH: {install_hint}"))
}

/// Runs SIPp scenario `scenario` (a file of shared/sipp) against `server` with `args` (rate,
/// limits, transport...). SIPp runs in a temp directory holding a `pcap` link to
/// shared/sipp/pcap and links to the scenario and `users.csv`, so its trace files land
/// there; its own `-p` port is a free one. SIPp must end by itself within `limit`
/// (give it `-timeout` below that), or it is killed and the test fails.
pub fn run_sipp(scenario: &str, server: SocketAddr, args: &[&str], limit: Duration) -> SippRun {
    run_sipp_on(scenario, server, free_port(), args, limit)
}

/// [`run_sipp`] with SIPp's own SIP port chosen by the caller (a UAS that a test registers
/// as an extension's contact must be at a known port).
pub fn run_sipp_on(
    scenario: &str,
    server: SocketAddr,
    port: u16,
    args: &[&str],
    limit: Duration,
) -> SippRun {
    spawn_sipp_on(scenario, server, port, args).wait(limit)
}

/// A SIPp running in the background (a UAS waiting for calls, a UAC with a long call);
/// killed (SIGKILL) if dropped before [`SippProcess::wait`] collected it.
pub struct SippProcess {
    child: Child,
    exit: Option<ExitStatus>,
    /// SIPp's SIP port.
    pub port: u16,
    /// `None` once moved into the [`SippRun`].
    dir: Option<TempDir>,
    output_path: PathBuf,
    started: Instant,
}

/// Starts SIPp as [`run_sipp_on`] does, without waiting for it (see [`SippProcess::ready`]
/// for a UAS).
pub fn spawn_sipp_on(scenario: &str, server: SocketAddr, port: u16, args: &[&str]) -> SippProcess {
    spawn_sipp_with(scenario, server, port, args, &[])
}

/// [`spawn_sipp_on`] with more `files` linked into SIPp's working directory under their own
/// names: a pcap made by the test, which a scenario plays by that name (`play_pcap_audio`
/// paths are relative to the working directory, and read when SIPp loads the scenario).
pub fn spawn_sipp_with(
    scenario: &str,
    server: SocketAddr,
    port: u16,
    args: &[&str],
    files: &[&Path],
) -> SippProcess {
    let sipp = require_program(
        "sipp",
        "install SIPp with scripts/install-deps.sh (Debian package sip-tester)",
    );
    let dir = tempfile::Builder::new()
        .prefix("crossbar-sipp-")
        .tempdir()
        .expect("a temp dir can be created for SIPp");
    for name in ["pcap", scenario, "users.csv"] {
        // crossbar's own scenarios (tests/sipp) first, then the shared ones.
        let own = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(name);
        let source = if own.exists() {
            own
        } else {
            shared(&format!("sipp/{name}"))
        };
        std::os::unix::fs::symlink(source, dir.path().join(name))
            .expect("links can be made in the temp dir");
    }
    for file in files {
        let name = file
            .file_name()
            .unwrap_or_else(|| panic!("{} names no file", file.display()));
        std::os::unix::fs::symlink(file, dir.path().join(name))
            .expect("links can be made in the temp dir");
    }
    let output_path = dir.path().join("sipp-output.log");
    let output = std::fs::File::create(&output_path).expect("the output file can be created");
    let local_port = port.to_string();
    let started = Instant::now();
    let child = Command::new(&sipp)
        .current_dir(dir.path())
        .arg(server.to_string())
        .args(["-sf", scenario, "-i", "127.0.0.1", "-p", &local_port])
        .args(["-nostdin", "-timeout_error"])
        .args(["-trace_screen", "-screen_file", "screen.log"])
        .args(["-trace_err", "-error_file", "errors.log"])
        .args(["-trace_stat", "-stf", "stat.csv", "-fd", "1"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(output.try_clone().expect("the file handle can be cloned"))
        .stderr(output)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", sipp.display()));
    SippProcess {
        child,
        exit: None,
        port,
        dir: Some(dir),
        output_path,
        started,
    }
}

impl SippProcess {
    /// Waits until SIPp has bound its SIP port (a UAS is then ready for calls); panics if it
    /// exits first or takes longer than 10 s.
    pub fn ready(mut self) -> SippProcess {
        let port = self.port;
        // Bound by SIPp (UDP or TCP, whichever transport it was given) once the port can
        // no longer be bound here.
        let bound = wait_until(Duration::from_secs(10), || {
            self.exited().is_some()
                || UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err()
                || TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err()
        });
        if let Some(status) = self.exited() {
            panic!(
                "sipp exited before it was ready ({status}):\n{}",
                read_lossy(&self.output_path)
            );
        }
        assert!(bound, "sipp did not bind port {port} within 10 s");
        self
    }

    /// The working directory (trace files, `-trace_msg`'s `*_messages.log`).
    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("the directory is kept until the outcome")
            .path()
    }

    /// The exit status if SIPp has exited.
    fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("try_wait works on our child");
        }
        self.exit
    }

    /// SIGKILL (if still running) and reap.
    pub fn kill(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            self.exit = Some(self.child.wait().expect("wait works on our child"));
        }
    }

    /// Ends a SIPp run without `-m` (a UAS taking however many calls come): SIGUSR1 makes it
    /// place or take no new call and exit once its open calls are done (SIPp's soft quit, as
    /// its `q` key). Waits up to `limit` from now, as [`SippProcess::wait`] does; returns its
    /// outcome.
    pub fn finish(mut self, limit: Duration) -> SippRun {
        if self.exited().is_none() {
            // The shell's built-in `kill`, by pid: the child is not reaped yet, so the pid is
            // still SIPp's.
            let status = Command::new("sh")
                .arg("-c")
                .arg(format!("kill -s USR1 {}", self.child.id()))
                .status()
                .expect("sh can be run");
            assert!(status.success(), "kill -s USR1 failed: {status}");
        }
        let limit = self.started.elapsed() + limit;
        self.wait(limit)
    }

    /// Waits for SIPp to end by itself within `limit` (counted from its start; give it
    /// `-timeout` below that), or kills it and fails the test. Returns its outcome.
    pub fn wait(mut self, limit: Duration) -> SippRun {
        let status = loop {
            if let Some(status) = self.exited() {
                break status;
            }
            if self.started.elapsed() > limit {
                self.kill();
                panic!(
                    "sipp did not finish within {limit:?}; killed. screen:\n{}\noutput:\n{}",
                    read_lossy(&self.dir().join("screen.log")),
                    read_lossy(&self.output_path)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.outcome(status)
    }

    fn outcome(mut self, status: ExitStatus) -> SippRun {
        let elapsed = self.started.elapsed();
        let screen = read_lossy(&self.dir().join("screen.log"));
        let counter = |name: &str| -> u64 {
            last_counter(&screen, name).unwrap_or_else(|| {
                panic!(
                    "no `{name}` counter in the SIPp screen log (exit {status}):\n{screen}\noutput:\n{}",
                    read_lossy(&self.output_path)
                )
            })
        };
        let successful = counter("Successful call");
        let failed = counter("Failed call");
        SippRun {
            status,
            successful,
            failed,
            errors: read_lossy(&self.dir().join("errors.log")),
            output: read_lossy(&self.output_path),
            screen,
            elapsed,
            dir: self.take_dir(),
        }
    }

    /// Moves the working directory out, into the outcome.
    fn take_dir(&mut self) -> TempDir {
        self.dir.take().expect("the outcome is collected once")
    }
}

impl Drop for SippProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A counter of SIPp's statistics screen: `  Successful call        |        0                  |     1000`.
/// The last column is cumulative; the statistics screen is printed last, so take the last.
fn last_counter(screen: &str, name: &str) -> Option<u64> {
    screen
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with(name))
        .find_map(|l| l.rsplit('|').next()?.trim().parse().ok())
}

/// The files of `dir` whose names contain `part`, concatenated.
fn trace_files(dir: &Path, part: &str) -> String {
    let mut text = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().contains(part) {
                text.push_str(&read_lossy(&entry.path()));
            }
        }
    }
    text
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_else(|e| format!("<{} not readable: {e}>", path.display()))
}

// ---------------------------------------------------------------------------------------
// Raw SIP over UDP and TCP
// ---------------------------------------------------------------------------------------

/// A UDP socket on 127.0.0.1 talking to one server.
pub struct UdpPeer {
    socket: UdpSocket,
    pub server: SocketAddr,
}

impl UdpPeer {
    pub fn new(server: SocketAddr) -> UdpPeer {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("UDP sockets can be bound");
        UdpPeer { socket, server }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.socket
            .local_addr()
            .expect("a bound socket has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Sends `bytes` as one datagram to the server.
    pub fn send(&self, bytes: &[u8]) {
        let sent = self
            .socket
            .send_to(bytes, self.server)
            .expect("a datagram to 127.0.0.1 can be sent");
        assert_eq!(sent, bytes.len(), "the whole datagram was sent");
    }

    /// The next datagram, or `None` after `timeout` of silence.
    pub fn recv(&self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut buf = vec![0u8; 65_535];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.socket
                .set_read_timeout(Some(left))
                .expect("a non-zero timeout is accepted");
            match self.socket.recv_from(&mut buf) {
                Ok((len, _from)) => return Some(buf[..len].to_vec()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                            // An ICMP error from an earlier send; nothing for us.
                            | std::io::ErrorKind::ConnectionRefused
                    ) => {}
                Err(e) => panic!("UDP receive failed: {e}"),
            }
        }
    }

    /// The next datagram parsed as a SIP message; `None` after `timeout` of silence.
    /// Panics if what arrives is not a well-formed message.
    pub fn recv_message(&self, timeout: Duration) -> Option<Message> {
        self.recv(timeout).map(|bytes| {
            crossbar_sip::parse_datagram(&bytes).unwrap_or_else(|error| {
                panic!(
                    "the server sent a malformed message ({error}):\n{}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        })
    }

    /// The next datagram parsed as a SIP response; `None` after `timeout` of silence.
    /// Panics if what arrives is not a well-formed response.
    pub fn recv_response(&self, timeout: Duration) -> Option<Response> {
        self.recv(timeout).map(|bytes| parse_response(&bytes))
    }
}

/// Parses `bytes` as a SIP response, panicking with the bytes if it is anything else.
pub fn parse_response(bytes: &[u8]) -> Response {
    match crossbar_sip::parse_datagram(bytes) {
        Ok(Message::Response(response)) => response,
        Ok(Message::Request(request)) => panic!(
            "expected a response, got a {} request:\n{}",
            request.method,
            String::from_utf8_lossy(bytes)
        ),
        Err(error) => panic!(
            "the server sent a malformed message ({error}):\n{}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// A TCP connection to the server, framing what comes back with `crossbar-sip`'s
/// [`StreamFramer`](crossbar_sip::StreamFramer).
pub struct TcpPeer {
    stream: TcpStream,
    framer: crossbar_sip::StreamFramer,
}

impl TcpPeer {
    pub fn connect(server: SocketAddr) -> TcpPeer {
        let stream = TcpStream::connect(server).expect("the server accepts TCP connections");
        TcpPeer {
            stream,
            framer: crossbar_sip::StreamFramer::default(),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.stream
            .local_addr()
            .expect("a connected socket has an address")
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .expect("the message can be written");
    }

    /// The next response on the connection, or `None` after `timeout` (or on close).
    /// Panics if the server sends anything but a well-formed response.
    pub fn recv_response(&mut self, timeout: Duration) -> Option<Response> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            match self.framer.next_message() {
                Ok(Some(crossbar_sip::Frame::Message(Message::Response(response)))) => {
                    return Some(response);
                }
                Ok(Some(crossbar_sip::Frame::Ping)) => continue,
                Ok(Some(other)) => panic!("expected a response over TCP, got {other:?}"),
                Ok(None) => {}
                Err(e) => panic!("the server's TCP stream does not frame: {e}"),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream
                .set_read_timeout(Some(left))
                .expect("a non-zero timeout is accepted");
            match self.stream.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("TCP read failed: {e}"),
            }
        }
    }
}

/// What a TCP connection did after we wrote to it.
#[derive(Debug)]
pub struct TcpOutcome {
    /// Everything the server sent.
    pub received: Vec<u8>,
    /// When the server closed the connection, counted from the write; `None` if it was
    /// still open at the deadline.
    pub closed_after: Option<Duration>,
}

/// Connects to `server` over TCP, writes `bytes`, then reads until the server closes the
/// connection or `timeout` passes.
pub fn tcp_exchange(server: SocketAddr, bytes: &[u8], timeout: Duration) -> TcpOutcome {
    let mut stream = TcpStream::connect(server).expect("the server accepts TCP connections");
    stream.write_all(bytes).expect("the message can be written");
    let written = Instant::now();
    let deadline = written + timeout;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return TcpOutcome {
                received,
                closed_after: None,
            };
        }
        stream
            .set_read_timeout(Some(left))
            .expect("a non-zero timeout is accepted");
        match stream.read(&mut buf) {
            Ok(0) => {
                return TcpOutcome {
                    received,
                    closed_after: Some(written.elapsed()),
                };
            }
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            // A reset is a close too.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) =>
            {
                return TcpOutcome {
                    received,
                    closed_after: Some(written.elapsed()),
                };
            }
            Err(e) => panic!("TCP read failed: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Digest authentication, client side
// ---------------------------------------------------------------------------------------

/// A `WWW-Authenticate`/`Proxy-Authenticate` Digest challenge, answered with
/// crossbar-auth's client side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge(pub DigestChallenge);

impl std::ops::Deref for Challenge {
    type Target = DigestChallenge;
    fn deref(&self) -> &DigestChallenge {
        &self.0
    }
}

impl Challenge {
    /// The first challenge of a 401 (`WWW-Authenticate`) or 407 (`Proxy-Authenticate`);
    /// panics (naming it) if there is no usable Digest one.
    pub fn of(response: &Response) -> Challenge {
        let header = if response.status == 407 {
            HeaderName::ProxyAuthenticate
        } else {
            HeaderName::WwwAuthenticate
        };
        let value = response.headers.get(&header).unwrap_or_else(|| {
            panic!(
                "a {} without {}:\n{response}",
                response.status,
                header.as_str()
            )
        });
        match DigestChallenge::parse(value) {
            Ok(Some(challenge)) => Challenge(challenge),
            other => panic!("not a usable Digest challenge ({other:?}): {value}"),
        }
    }

    /// The `Authorization` value answering this challenge for `method` on `uri`.
    pub fn answer(&self, method: &str, uri: &str, username: &str, password: &str) -> String {
        self.0.authorization(&Answer {
            method,
            uri,
            username,
            password,
            cnonce: &unique(),
            nonce_count: 1,
        })
    }
}

// ---------------------------------------------------------------------------------------
// A registering phone
// ---------------------------------------------------------------------------------------

/// A phone registering one extension over UDP, answering digest challenges. One Call-ID for
/// all its REGISTERs, CSeq counting up (RFC 3261 §10.2).
pub struct Phone {
    pub extension: Extension,
    pub udp: UdpPeer,
    call_id: String,
    tag: String,
    cseq: u32,
    /// How long to wait for each response before giving up (retransmitting meanwhile).
    pub timeout: Duration,
}

impl Phone {
    pub fn new(server: SocketAddr, extension: Extension) -> Phone {
        Phone {
            extension,
            udp: UdpPeer::new(server),
            call_id: format!("phone-{}@127.0.0.1", unique()),
            tag: unique(),
            cseq: 0,
            timeout: Duration::from_secs(5),
        }
    }

    /// Points the phone at another server address (after a restart on a new port).
    pub fn set_server(&mut self, server: SocketAddr) {
        self.udp.server = server;
    }

    /// `sip:<number>@127.0.0.1`: the AOR, written with the extension number.
    pub fn aor(&self) -> String {
        format!("sip:{}@127.0.0.1", self.extension.number)
    }

    /// REGISTERs `contacts` (URIs, sent in `<>`) with `Expires: expires`; the final
    /// response, after answering the challenge. Panics if the server does not answer.
    pub fn register(&mut self, contacts: &[&str], expires: u32) -> Response {
        self.try_register(contacts, Some(expires))
            .unwrap_or_else(|| {
                panic!(
                    "no final response to {}'s REGISTER",
                    self.extension.username
                )
            })
    }

    /// An authenticated REGISTER without Contact (a query, §10.2.3); the final response.
    pub fn query(&mut self) -> Response {
        self.try_register(&[], None)
            .unwrap_or_else(|| panic!("no final response to {}'s query", self.extension.username))
    }

    /// Like [`Phone::register`], `None` when the server stops answering.
    pub fn try_register(&mut self, contacts: &[&str], expires: Option<u32>) -> Option<Response> {
        let first = self.transaction(contacts, expires, None)?;
        if first.status != 401 {
            return Some(first);
        }
        let challenge = Challenge::of(&first);
        let uri = "sip:127.0.0.1";
        let authorization = challenge.answer(
            "REGISTER",
            uri,
            &self.extension.username,
            &self.extension.secret,
        );
        self.transaction(contacts, expires, Some(&authorization))
    }

    /// One REGISTER transaction: sent, retransmitted every 500 ms (Timer E, capped), until
    /// a final response arrives or [`Phone::timeout`] passes.
    fn transaction(
        &mut self,
        contacts: &[&str],
        expires: Option<u32>,
        authorization: Option<&str>,
    ) -> Option<Response> {
        self.cseq += 1;
        let branch = format!("z9hG4bK-{}", unique());
        let mut request = format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
             Via: SIP/2.0/UDP {};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <{aor}>;tag={}\r\n\
             To: <{aor}>\r\n\
             Call-ID: {}\r\n\
             CSeq: {} REGISTER\r\n\
             User-Agent: crossbar-tests\r\n",
            self.udp.local_addr(),
            self.tag,
            self.call_id,
            self.cseq,
            aor = self.aor(),
        );
        for contact in contacts {
            writeln!(request, "Contact: <{contact}>\r").expect("string");
        }
        if let Some(expires) = expires {
            writeln!(request, "Expires: {expires}\r").expect("string");
        }
        if let Some(authorization) = authorization {
            writeln!(request, "Authorization: {authorization}\r").expect("string");
        }
        request.push_str("Content-Length: 0\r\n\r\n");

        let deadline = Instant::now() + self.timeout;
        let mut retransmit = Duration::from_millis(500);
        self.udp.send(request.as_bytes());
        loop {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let wait = retransmit.min(deadline - now);
            match self.udp.recv_response(wait) {
                Some(response) => {
                    let ours = response
                        .headers
                        .top_via()
                        .ok()
                        .and_then(|v| v.branch().map(|b| b == branch))
                        == Some(true);
                    if ours && response.status >= 200 {
                        return Some(response);
                    }
                }
                None => {
                    self.udp.send(request.as_bytes());
                    retransmit = (retransmit * 2).min(Duration::from_secs(4));
                }
            }
        }
    }
}

/// The `Contact` values of a REGISTER's 200 as `(uri, expires)`, in order.
pub fn bindings(response: &Response) -> Vec<(String, u32)> {
    match response.headers.contact() {
        Ok(Some(crossbar_sip::Contact::Addresses(list))) => list
            .into_iter()
            .map(|c| {
                let expires = c
                    .params
                    .value("expires")
                    .unwrap_or_else(|| panic!("binding {} without expires", c.uri))
                    .parse()
                    .unwrap_or_else(|e| panic!("binding {} with a bad expires: {e}", c.uri));
                (c.uri.to_string(), expires)
            })
            .collect(),
        Ok(Some(crossbar_sip::Contact::Star)) => panic!("a 200 listing Contact: *"),
        Ok(None) => Vec::new(),
        Err(e) => panic!("the 200's Contact does not parse ({e}):\n{response}"),
    }
}
