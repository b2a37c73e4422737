//! `crossbar run`: open the database, bind the sockets, and drive the [`Endpoint`] — the one
//! place where the clock is read and where protocol outputs become IO.
//!
//! Shape: socket tasks parse what arrives and send [`Input`]s to the engine task, which owns
//! the endpoint and feeds it one input at a time, then drains its outputs: datagrams and
//! stream writes go straight out, binding changes go to the [`persist`] writer, which
//! reports back when they are committed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use crossbar_auth::{Algorithm, Authenticator, ServerKey};
use crossbar_cdr::CallEvent;
use crossbar_config::Config;
use crossbar_media::MediaEvent;
use crossbar_proto::endpoint::{Account, Endpoint, EndpointSettings, Ticket, unix_seconds};
use crossbar_proto::registrar::RegistrarSettings;
use crossbar_proto::transaction::{Peer, Timers, Transmit, Transport};
use crossbar_sip::{Message, ParseError};
use crossbar_store::Store;
use crossbar_switch::{Switch, SwitchOutput, SwitchSettings};
use rand::RngExt;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::media::MediaEngine;
use crate::persist;
use crate::records;
use crate::transport::{tcp, udp};

/// The name under which the digest nonce key is kept in the database, so nonces handed out
/// before a restart are still recognised after it.
const NONCE_KEY_SECRET: &str = "digest-nonce-key";

/// How many inputs may wait for the engine before the socket tasks slow down.
const INPUT_QUEUE: usize = 16_384;

/// Something for the engine to handle.
pub enum Input {
    /// A message (or why it is malformed) from a peer.
    Message {
        parsed: Result<Message, ParseError>,
        source: Peer,
    },
    /// A stream connection is up; messages for `peer` go to `writer`.
    ConnectionOpened {
        peer: Peer,
        writer: mpsc::Sender<Vec<u8>>,
    },
    ConnectionClosed {
        peer: Peer,
    },
    /// A batch of binding changes was written (or failed for good).
    Persisted {
        ticket: Ticket,
        ok: bool,
    },
    /// News from a media relay.
    Media(MediaEvent),
}

pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("crossbar")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let store = Store::open(&config.database.url())
        .await
        .with_context(|| format!("opening the database {:?}", config.database))?;
    tracing::info!(backend = ?store.backend(), "database open");
    // The REST API on `[http] listen`, if set; it stops (gracefully) when this is dropped.
    let http = crate::http::start(&config, store.clone()).await?;

    let wall = SystemTime::now();
    let interrupted = records::recover_interrupted(&store, crossbar_switch::wall_ms(wall)).await?;
    if interrupted > 0 {
        tracing::warn!(
            calls = interrupted,
            "calls in progress at the last stop recorded as interrupted"
        );
    }
    let endpoint = build_endpoint(&config, &store, wall).await?;
    let switch_settings = switch_settings(&config)?;
    tracing::info!(
        sip = %switch_settings.sip_address,
        media = %switch_settings.media_address,
        "advertised addresses"
    );
    let media_address = switch_settings.media_address;
    let switch = Switch::new(endpoint, switch_settings, rand::rng().random());

    let (input_tx, mut input_rx) = mpsc::channel::<Input>(INPUT_QUEUE);
    let mut udp_sockets = Vec::new();
    for addr in &config.sip.listen_udp {
        let socket = udp::bind(*addr).with_context(|| format!("listening on udp {addr}"))?;
        tracing::info!(address = %socket.local_addr()?, "listening on udp");
        let local = socket.local_addr()?;
        let socket = Arc::new(socket);
        tokio::spawn(udp::receive(socket.clone(), input_tx.clone()));
        udp_sockets.push((local, socket));
    }
    for addr in &config.sip.listen_tcp {
        let listener = tcp::bind(*addr)
            .await
            .with_context(|| format!("listening on tcp {addr}"))?;
        tracing::info!(address = %listener.local_addr()?, "listening on tcp");
        tokio::spawn(tcp::accept(
            listener,
            input_tx.clone(),
            Duration::from_secs(u64::from(config.sip.tcp_incomplete_timeout_secs)),
        ));
    }
    let (persist_tx, persist_task) = persist::spawn(store.clone(), input_tx.clone());
    let (records_tx, records_task) = records::spawn(store.clone());
    let (media_tx, mut media_rx) = mpsc::unbounded_channel::<MediaEvent>();
    let media = MediaEngine::new(
        media_address,
        Duration::from_secs(u64::from(config.media.rtp_timeout_secs)),
        media_tx,
    );
    {
        let input_tx = input_tx.clone();
        tokio::spawn(async move {
            while let Some(event) = media_rx.recv().await {
                if input_tx.send(Input::Media(event)).await.is_err() {
                    return;
                }
            }
        });
    }
    drop(input_tx);

    let mut signals = ShutdownSignals::install()?;
    tracing::info!(
        extensions = config.extensions.len(),
        registrations = switch.registrar().binding_count(),
        "crossbar ready"
    );

    let mut engine = Engine {
        switch,
        media,
        udp_sockets,
        connections: HashMap::new(),
        persist: persist_tx,
        records: records_tx,
    };
    loop {
        let deadline = engine.switch.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            input = input_rx.recv() => {
                let Some(input) = input else { break };
                engine.handle(input);
                // Take whatever else is already waiting before looking at the clock again.
                for _ in 0..256 {
                    match input_rx.try_recv() {
                        Ok(input) => engine.handle(input),
                        Err(_) => break,
                    }
                }
            }
            () = sleep => engine.timeout(),
            signal = signals.recv() => {
                tracing::info!(signal, "shutting down");
                break;
            }
        }
    }

    // Calls still up are ended (BYE to both sides) and recorded; then the writers finish
    // what they have. Responses still held are not sent (phones retransmit to whoever
    // runs next).
    engine.shut_down();
    drop(engine);
    for (name, task) in [("binding", persist_task), ("call record", records_task)] {
        if tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .is_err()
        {
            tracing::error!("{name} writer did not finish within 10 s");
        }
    }
    if let Some(http) = http {
        http.stop().await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Builds the endpoint from the configuration and what the database remembers.
async fn build_endpoint(
    config: &Config,
    store: &Store,
    wall: SystemTime,
) -> anyhow::Result<Endpoint> {
    let key = match store.secret(NONCE_KEY_SECRET).await? {
        Some(bytes) => {
            let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                bail!("the stored {NONCE_KEY_SECRET} is not 32 bytes long");
            };
            ServerKey::from_bytes(bytes)
        }
        None => {
            let bytes: [u8; 32] = rand::rng().random();
            store.put_secret(NONCE_KEY_SECRET, &bytes).await?;
            ServerKey::from_bytes(bytes)
        }
    };
    let mut auth_config = crossbar_auth::Config::new(config.sip.realm.clone());
    auth_config.algorithms = config
        .auth
        .algorithms
        .iter()
        .map(|a| {
            Algorithm::from_token(a.as_str())
                .ok_or_else(|| anyhow::anyhow!("digest algorithm {} is not supported", a.as_str()))
        })
        .collect::<anyhow::Result<_>>()?;
    auth_config.nonce_lifetime = Duration::from_secs(u64::from(config.auth.nonce_lifetime_secs));
    let auth = Authenticator::new(auth_config, &key, rand::rng().random(), wall)
        .context("setting up digest authentication")?;

    let accounts = config
        .extensions
        .iter()
        .map(|e| Account {
            number: e.number.clone(),
            username: e.username.clone(),
            secret: e.secret.expose().to_owned(),
            max_contacts: Some(e.max_contacts as usize),
        })
        .collect();
    let settings = EndpointSettings {
        server_name: config.sip.user_agent.clone(),
        registrar: RegistrarSettings {
            min_expires: config.registrar.min_expires,
            max_expires: config.registrar.max_expires,
            default_expires: config.registrar.default_expires,
            max_contacts: config.registrar.max_contacts as usize,
        },
        timers: Timers::default(),
    };
    let mut endpoint = Endpoint::new(settings, auth, accounts, rand::rng().random());

    let stored = store.live_bindings(unix_seconds(wall)).await?;
    let count = stored.len();
    let bindings = stored
        .into_iter()
        .filter_map(|b| match persist::binding_from_row(b) {
            Ok(binding) => Some(binding),
            Err(error) => {
                tracing::warn!(%error, "stored binding skipped");
                None
            }
        })
        .collect();
    endpoint.restore_bindings(wall, bindings);
    tracing::info!(
        restored = endpoint.registrar().binding_count(),
        stored = count,
        "registrations restored"
    );
    Ok(endpoint)
}

/// What the switch advertises and how it carries calls, from the configuration.
fn switch_settings(config: &Config) -> anyhow::Result<SwitchSettings> {
    let media_address = match config.media.address {
        Some(address) => address,
        None => {
            let address = outgoing_address()
                .context("finding an address to advertise; set [media] address")?;
            tracing::warn!(%address, "[media] address not set: advertising this host's outgoing address");
            address
        }
    };
    let listen = config
        .sip
        .listen_udp
        .first()
        .or(config.sip.listen_tcp.first())
        .copied()
        .context("no SIP listen address")?;
    let sip_address = if listen.ip().is_unspecified() {
        SocketAddr::new(media_address, listen.port())
    } else {
        listen
    };
    Ok(SwitchSettings {
        sip_address,
        media_address,
        rtp_ports: (config.media.port_min, config.media.port_max),
        ring_timeout: Duration::from_secs(u64::from(config.calls.ring_timeout_secs)),
        max_calls_per_extension: config.calls.max_calls_per_extension as usize,
        min_session_expires: config.calls.min_session_expires,
        user_agent: config.sip.user_agent.clone(),
    })
}

/// The address this host uses to reach other hosts: a UDP socket "connected" to a TEST-NET
/// address (RFC 5737) takes the route's source address; nothing is sent.
fn outgoing_address() -> std::io::Result<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0")?;
    socket.connect("192.0.2.1:9")?;
    Ok(socket.local_addr()?.ip())
}

/// The switch and the handles its outputs go to.
struct Engine {
    switch: Switch,
    media: MediaEngine,
    /// Each UDP socket with its local address (looked up once, not per datagram).
    udp_sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    connections: HashMap<Peer, mpsc::Sender<Vec<u8>>>,
    persist: mpsc::UnboundedSender<persist::Batch>,
    records: mpsc::UnboundedSender<CallEvent>,
}

impl Engine {
    fn handle(&mut self, input: Input) {
        let now = Instant::now();
        let wall = SystemTime::now();
        match input {
            Input::Message { parsed, source } => {
                self.switch.handle_message(now, wall, parsed, source);
            }
            Input::ConnectionOpened { peer, writer } => {
                self.connections.insert(peer, writer);
            }
            Input::ConnectionClosed { peer } => {
                self.connections.remove(&peer);
            }
            Input::Persisted { ticket, ok } => self.switch.persisted(now, wall, ticket, ok),
            Input::Media(event) => self.switch.handle_media_event(now, wall, event),
        }
        self.drain();
    }

    fn timeout(&mut self) {
        self.switch
            .handle_timeout(Instant::now(), SystemTime::now());
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(output) = self.switch.poll_output() {
            match output {
                SwitchOutput::Transmit(transmit) => self.transmit(transmit),
                SwitchOutput::Persist { ticket, changes } => {
                    if self
                        .persist
                        .send(persist::Batch { ticket, changes })
                        .is_err()
                    {
                        tracing::error!("database writer is gone; registration not persisted");
                        let (now, wall) = (Instant::now(), SystemTime::now());
                        self.switch.persisted(now, wall, ticket, false);
                    }
                }
                SwitchOutput::Media(command) => self.media.handle(command),
                SwitchOutput::Call(event) => {
                    if self.records.send(event).is_err() {
                        tracing::error!("call record writer is gone; call event lost");
                    }
                }
            }
        }
    }

    /// Ends every call still up, with BYE to both sides, before crossbar stops.
    fn shut_down(&mut self) {
        self.switch.shut_down(Instant::now(), SystemTime::now());
        self.drain();
        self.media.close_all();
    }

    fn transmit(&mut self, transmit: Transmit) {
        let bytes = transmit.message.to_bytes();
        let destination = transmit.destination;
        tracing::trace!(%destination, message = %String::from_utf8_lossy(&bytes), "send");
        match destination.transport {
            Transport::Udp => self.send_datagram(destination.addr, bytes),
            Transport::Tcp => match self.connections.get(&destination) {
                Some(writer) => {
                    if writer.try_send(bytes).is_err() {
                        tracing::warn!(%destination, "connection too slow or closed; message dropped");
                    }
                }
                None => tracing::debug!(%destination, "no connection to the peer; message dropped"),
            },
            other => tracing::debug!(transport = %other, "transport not served; message dropped"),
        }
    }

    fn send_datagram(&self, to: SocketAddr, bytes: Vec<u8>) {
        let socket = self
            .udp_sockets
            .iter()
            .find(|(local, _)| local.is_ipv4() == to.is_ipv4())
            .or_else(|| self.udp_sockets.first())
            .map(|(_, socket)| socket);
        let Some(socket) = socket else {
            tracing::debug!(%to, "no udp socket; datagram dropped");
            return;
        };
        match socket.try_send_to(&bytes, to) {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                let socket = socket.clone();
                tokio::spawn(async move {
                    if let Err(error) = socket.send_to(&bytes, to).await {
                        tracing::debug!(%to, %error, "udp send failed");
                    }
                });
            }
            Err(error) => tracing::debug!(%to, %error, "udp send failed"),
        }
    }
}

/// SIGINT and SIGTERM, listened for from start-up on (before crossbar says it is ready, so
/// a signal sent right after that is never the default "terminate at once").
struct ShutdownSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<ShutdownSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignals {
            interrupt: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }

    /// Resolves on SIGINT or SIGTERM with the signal's name.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
