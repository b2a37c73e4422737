//! `crossbar run`: open the database, recover what the last run left, build the switch from
//! the configuration and give it what the database keeps (blocks, usage, overrides, round
//! robin positions, queue agents' logins and pauses), bind the sockets, start the writers,
//! the readers of the database and the media IO, then run the [`Engine`] until
//! SIGINT/SIGTERM, and stop in order.
//!
//! Shape: socket tasks parse what arrives and send [`Input`]s to the engine task, which owns
//! the switch and feeds it one input at a time, then drains its outputs (`engine.rs`).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use crossbar_api::live::EngineLink;
use crossbar_auth::{Algorithm, Authenticator, ServerKey};
use crossbar_config::Config;
use crossbar_media::{MediaEvent, Prompt};
use crossbar_proto::endpoint::{Account, Endpoint, EndpointSettings, unix_seconds};
use crossbar_proto::registrar::RegistrarSettings;
use crossbar_proto::transaction::Timers;
use crossbar_routing::DialPlan;
use crossbar_store::{CallbackSettings, Store};
use crossbar_switch::{PromptLibrary, Switch, SwitchSettings};
use rand::RngExt;
use tokio::sync::{Notify, mpsc, watch};

use crate::agents::AgentLedger;
use crate::engine::{Engine, INPUT_QUEUE, Input};
use crate::live::{Anchor, LivePublisher};
use crate::media::MediaEngine;
use crate::persist;
use crate::transport::{tcp, udp};
use crate::{agents, notices, records, requests, resolve};

/// The name under which the digest nonce key is kept in the database, so nonces handed out
/// before a restart are still recognised after it.
const NONCE_KEY_SECRET: &str = "digest-nonce-key";

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
        .with_context(|| format!("opening the database {:?}", config.database))?
        .with_callbacks(CallbackSettings::from(&config.callbacks));
    tracing::info!(backend = ?store.backend(), "database open");
    // What the API shares with the engine: its live view of the queues, and the wake-up of
    // its reader of requests.
    let (live_tx, live_rx) = watch::channel(None);
    let request_wake = std::sync::Arc::new(Notify::new());
    let live_view = live_rx.clone();
    let link = EngineLink {
        live: live_rx,
        requests: request_wake.clone(),
    };
    // The REST API on `[http] listen`, if set; it stops (gracefully) when this is dropped.
    let http = crate::http::start(&config, store.clone(), Some(link)).await?;

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
    let plan = DialPlan::compile(&config).context("compiling the dial plan")?;
    let mut switch = Switch::new(
        endpoint,
        switch_settings,
        plan,
        &config.trunks,
        rand::rng().random(),
    );
    let blocked: HashSet<String> = store
        .blocked_extensions()
        .await?
        .into_iter()
        .map(|block| block.extension)
        .collect();
    if !blocked.is_empty() {
        tracing::warn!(extensions = ?blocked, "extensions blocked for outbound calls (fraud caps); release with `crossbar extension unblock`");
    }
    switch.set_blocked(Instant::now(), blocked);
    restore_usage(&store, &mut switch, wall).await?;
    switch.set_prompts(load_prompts(&config)?);
    // Before the first call: the blocklist and overrides in force, where groups start.
    switch.set_inbound_control(notices::inbound_control(&store).await?);
    for position in store.round_robin_positions().await? {
        switch.restore_round_robin(&position.group, position.next);
    }
    // Queue agents as they were (logged in, paused) and where round robin queues start.
    let (now, wall_now) = (Instant::now(), SystemTime::now());
    let agent_states = store.agent_states().await?;
    let restored = agents::restore(&mut switch, &agent_states, now, wall_now);
    if restored > 0 {
        tracing::info!(
            agents = restored,
            "queue agents' logins and pauses restored"
        );
    }
    for position in store.queue_positions().await? {
        switch.restore_queue_round_robin(now, wall_now, &position.queue, position.next);
    }
    // Callers who were waiting for a callback, back in line (those whose task is still open).
    let held = switch.restore_held(now, wall_now, store.held_places().await?);
    if held > 0 {
        tracing::info!(
            callers = held,
            "callers waiting for a callback put back in their queues"
        );
    }
    let now_ms = crossbar_switch::wall_ms(wall_now);
    // What the store holds that the switch could not restore under this configuration (a
    // login to a queue that is gone, ...): written once the notice writer runs.
    let (agent_ledger, agents_settled) =
        AgentLedger::new(switch.dial_plan(), &agent_states, now_ms);
    // Requests a stopped crossbar took and never finished.
    let abandoned = store
        .fail_unfinished_switch_requests(now_ms - requests::ABANDONED_AFTER_MS, now_ms)
        .await?;
    if abandoned > 0 {
        tracing::warn!(
            requests = abandoned,
            "requests taken by a crossbar that stopped before finishing them marked failed"
        );
    }

    let (input_tx, mut input_rx) = mpsc::channel::<Input>(INPUT_QUEUE);
    let mut udp_sockets = Vec::new();
    for addr in &config.sip.listen_udp {
        let socket = udp::bind(*addr).with_context(|| format!("listening on udp {addr}"))?;
        tracing::info!(address = %socket.local_addr()?, "listening on udp");
        let local = socket.local_addr()?;
        let socket = Arc::new(socket);
        udp::spawn_receiver(&socket, input_tx.clone())
            .with_context(|| format!("starting the receiver of udp {addr}"))?;
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
    let (notices_tx, notices_task) = notices::spawn(store.clone());
    if !agents_settled.is_empty() {
        tracing::info!(
            updates = agents_settled.len(),
            "queue agents' stored logins and pauses brought in line with the configuration"
        );
        if notices_tx
            .send(notices::Notice::Agents(agents_settled))
            .is_err()
        {
            tracing::error!("notice writer is gone; agent updates not written");
        }
    }
    let blocks_task = notices::poll_blocks(store.clone(), input_tx.clone());
    let inbound_task = notices::poll_inbound_control(store.clone(), input_tx.clone());
    let retries_task = crate::retries::spawn(
        store.clone(),
        request_wake.clone(),
        config.extensions.iter().map(|e| e.number.clone()).collect(),
        live_view.clone(),
    );
    let requests_task = requests::spawn(
        store.clone(),
        input_tx.clone(),
        request_wake,
        requests::node_name(),
    );
    resolve::spawn(&config.trunks, input_tx.clone());
    let (media_tx, mut media_rx) = mpsc::unbounded_channel::<MediaEvent>();
    let media = MediaEngine::new(
        media_address,
        Duration::from_secs(u64::from(config.media.rtp_timeout_secs)),
        config.media.pacer_priority,
        media_tx,
    )
    .context("starting the media runtime")?;
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
        flows: HashMap::new(),
        connections: HashMap::new(),
        connecting: HashMap::new(),
        persist: persist_tx,
        records: records_tx,
        notices: notices_tx,
        inputs: input_tx,
        tcp_incomplete_timeout: Duration::from_secs(u64::from(
            config.sip.tcp_incomplete_timeout_secs,
        )),
        agents: agent_ledger,
        live: LivePublisher::new(live_tx, Anchor::new(Instant::now(), SystemTime::now())),
    };
    engine.start();
    let signal = engine.run(&mut input_rx, signals.recv()).await;
    tracing::info!(signal, "shutting down");

    // Calls still up are ended (BYE to both sides) and recorded; then the writers finish
    // what they have. Responses still held are not sent (phones retransmit to whoever
    // runs next).
    engine.shut_down();
    drop(engine);
    blocks_task.abort();
    inbound_task.abort();
    requests_task.abort();
    retries_task.abort();
    for (name, task) in [
        ("binding", persist_task),
        ("call record", records_task),
        ("notice", notices_task),
    ] {
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

/// Gives the switch what the database knows of today's outbound calls and spend per
/// extension, so a restart does not reset the daily fraud caps.
/// Every prompt the menus play, read from its WAV file once (converted to 8 kHz G.711), and
/// the ringback tone of the site's country.
fn load_prompts(config: &Config) -> anyhow::Result<PromptLibrary> {
    let started = Instant::now();
    let mut prompts = PromptLibrary::load(config, |path| Prompt::from_wav(path))
        .map_err(|(_, error)| anyhow::anyhow!("loading prompts: {error}"))?;
    let country = config.site.country.as_ref().map(|c| c.as_str());
    prompts.set_ringback(Prompt::ringback_for(country));
    let files = PromptLibrary::files(config).len();
    if files > 0 {
        tracing::info!(files, ms = started.elapsed().as_millis(), "prompts loaded");
    }
    Ok(prompts)
}

async fn restore_usage(store: &Store, switch: &mut Switch, wall: SystemTime) -> anyhow::Result<()> {
    let at = jiff::Timestamp::try_from(wall).context("the clock is before 1970")?;
    let zone = switch
        .dial_plan()
        .time_zone()
        .cloned()
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let day_start_ms = at
        .to_zoned(zone)
        .start_of_day()
        .map_or(at.as_millisecond(), |midnight| {
            midnight.timestamp().as_millisecond()
        });
    let window = crossbar_store::ActivityWindow {
        day_start_ms,
        until_ms: at.as_millisecond(),
    };
    let activity = store.outbound_activity(&window).await?;
    for (extension, usage) in &activity.extensions {
        switch.restore_usage(wall, extension, usage.calls_today, usage.spend_today);
    }
    Ok(())
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
