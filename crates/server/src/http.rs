//! The HTTP listener (`[http] listen`): serves the REST API of `crossbar-api` until crossbar
//! stops.
//!
//! Reads are open; changes (`POST /api/extensions/{number}/unblock`) need a bearer token of
//! `[http] tokens`, and the API checks extension numbers against `[[extension]]`. These
//! lists, the `[[trunk]]`s and the dial plan (for `GET /api/route/explain`) are taken from
//! the configuration at start.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use crossbar_api::live::EngineLink;
use crossbar_api::{ApiConfig, WallClock};
use crossbar_config::Config;
use crossbar_routing::DialPlan;
use crossbar_store::Store;
use jiff::tz::TimeZone;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long in-flight requests may take to finish once crossbar stops.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running HTTP server. Dropping it starts a graceful stop (no new connections; requests
/// in flight finish); [`HttpServer::stop`] also waits for it.
pub struct HttpServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// The address it listens on (the actual port when `:0` was configured).
    #[allow(dead_code)] // for callers that bind port 0 (tests)
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets requests in flight finish (at most 5 s) and returns.
    #[allow(dead_code)] // `drop` is enough for `crossbar run`; this is for orderly callers
    pub async fn stop(mut self) {
        self.stop.take();
        if let Some(task) = self.task.take()
            && tokio::time::timeout(STOP_TIMEOUT, task).await.is_err()
        {
            tracing::warn!("HTTP requests still running after {STOP_TIMEOUT:?}; abandoned");
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        // Dropping the sender resolves the shutdown future of the serving task.
        self.stop.take();
    }
}

/// Starts the API on `[http] listen`, if set: binds now (so a busy port fails the start) and
/// serves in a task. Dates in API filters are read in `[site] timezone` (UTC if unset or
/// unknown to this system); changes are accepted with the `[http] tokens` only. `engine`: the
/// engine of this process (the live view of the queues, the wake-up of its requests).
pub async fn start(
    config: &Config,
    store: Store,
    engine: Option<EngineLink>,
) -> anyhow::Result<Option<HttpServer>> {
    let Some(listen) = config.http.listen else {
        return Ok(None);
    };
    let timezone = site_timezone(config);
    let mut api_config = api_config(config, timezone)?;
    api_config.engine = engine;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening for HTTP on {listen}"))?;
    let local_addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    if config.http.tokens.is_empty() {
        tracing::info!(
            "no [http] tokens: the API refuses every change (`crossbar token new NAME` makes one)"
        );
    }
    let router = crossbar_api::router_with(store, api_config);
    let task = tokio::spawn(async move {
        let shutdown = async {
            // Resolves when the sender is used or dropped.
            let _ = stop_rx.await;
        };
        if let Err(error) = serve(listener, router, shutdown).await {
            tracing::error!(%error, "HTTP server failed");
        }
    });
    tracing::info!(address = %local_addr, "listening for HTTP");
    Ok(Some(HttpServer {
        local_addr,
        stop: Some(stop_tx),
        task: Some(task),
    }))
}

/// What the API takes from the configuration: tokens, extension numbers, trunks, the dial
/// plan compiled from it; and the system's wall clock. Fails when the dial plan does not
/// compile.
fn api_config(config: &Config, timezone: TimeZone) -> anyhow::Result<ApiConfig> {
    let dial_plan = DialPlan::compile(config).context("compiling the dial plan")?;
    Ok(ApiConfig {
        timezone,
        tokens: config.http.tokens.clone(),
        extensions: config
            .extensions
            .iter()
            .map(|extension| extension.number.clone())
            .collect(),
        trunks: config.trunks.clone(),
        dial_plan: Some(Arc::new(dial_plan)),
        time_conditions: config
            .time_conditions
            .iter()
            .map(|condition| condition.name.clone())
            .collect(),
        blocklist: config.inbound.blocklist.clone(),
        queues: config.queues.clone(),
        pause_reasons: config
            .agents
            .pause_reasons
            .iter()
            .map(|(_, reason)| reason.clone())
            .collect(),
        engine: None,
        request_wait: crossbar_api::requests::REQUEST_WAIT,
        clock: WallClock::new(crate::unix_ms_now),
    })
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The site's time zone from `[site] timezone`, or UTC (with a warning if the name is not
/// in this system's time zone database).
pub fn site_timezone(config: &Config) -> TimeZone {
    match &config.site.timezone {
        None => TimeZone::UTC,
        Some(name) => TimeZone::get(name.as_str()).unwrap_or_else(|error| {
            tracing::warn!(timezone = %name, %error, "unknown time zone; using UTC");
            TimeZone::UTC
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbar_store::testing::SqliteFile;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: SocketAddr, path: &str) -> String {
        send(addr, &format!("GET {path} HTTP/1.1\r\n")).await
    }

    /// Sends `head` (request line and any headers) and reads the whole response.
    async fn send(addr: SocketAddr, head: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("the API accepts connections");
        let request = format!("{head}Host: crossbar\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("request sent");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("response read");
        response
    }

    #[tokio::test]
    async fn the_api_is_served_on_http_listen_until_stopped() {
        let db = SqliteFile::new();
        let store = Store::open(&db.url).await.expect("store opens");
        let config = Config::parse(
            "[http]\nlisten = \"127.0.0.1:0\"\n[site]\ntimezone = \"Europe/London\"\n",
            std::path::Path::new("/nonexistent/crossbar.toml"),
        )
        .expect("a valid configuration");
        let server = start(&config, store, None)
            .await
            .expect("the listener binds")
            .expect("[http] listen is set");
        let addr = server.local_addr();

        let response = get(addr, "/api/health").await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("{\"status\":\"ok\"}"), "{response}");
        let response = get(addr, "/api/calls?direction=up").await;
        assert!(
            response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{response}"
        );

        server.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn changes_are_accepted_with_the_configured_tokens_for_configured_extensions() {
        let db = SqliteFile::new();
        let store = Store::open(&db.url).await.expect("store opens");
        store
            .block_extension("201", "31 calls in a minute (cap 30)", 1_795_251_600_000)
            .await
            .expect("201 blocked");
        store
            .block_extension("209", "left over", 1_795_251_600_000)
            .await
            .expect("209 blocked");
        let mut config = Config::parse(
            "[http]\nlisten = \"127.0.0.1:0\"\n\
             [[extension]]\nnumber = \"201\"\nsecret = \"secret-of-201\"\n",
            std::path::Path::new("/nonexistent/crossbar.toml"),
        )
        .expect("a valid configuration");
        config.http.tokens = vec![crossbar_config::ApiToken {
            name: "ops".into(),
            sha256: crossbar_api::bearer::token_sha256("the-ops-token"),
        }];
        let server = start(&config, store.clone(), None)
            .await
            .expect("the listener binds")
            .expect("[http] listen is set");
        let addr = server.local_addr();
        let unblock = |number: &str, authorization: &str| {
            format!(
                "POST /api/extensions/{number}/unblock HTTP/1.1\r\n{authorization}\
                 Content-Length: 0\r\n"
            )
        };

        let response = send(addr, &unblock("201", "")).await;
        assert!(
            response.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
            "{response}"
        );
        let response = send(
            addr,
            &unblock("209", "Authorization: Bearer the-ops-token\r\n"),
        )
        .await;
        assert!(
            response.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{response}"
        );
        assert!(response.contains("209 is not an extension"), "{response}");
        let before = crate::unix_ms_now();
        let response = send(
            addr,
            &unblock("201", "Authorization: Bearer the-ops-token\r\n"),
        )
        .await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(
            response.contains("\"released_by\":\"token:ops\""),
            "{response}"
        );

        let blocked: Vec<String> = store
            .blocked_extensions()
            .await
            .expect("blocks listed")
            .into_iter()
            .map(|b| b.extension)
            .collect();
        assert_eq!(blocked, ["209"]);
        let released = &store.blocks(Some("201")).await.expect("history")[0];
        assert!(
            released.released_at_ms.expect("released") >= before,
            "released at the system's wall-clock time"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn no_http_listen_means_no_server() {
        let db = SqliteFile::new();
        let store = Store::open(&db.url).await.expect("store opens");
        let config = Config::parse("", std::path::Path::new("/nonexistent/crossbar.toml"))
            .expect("an empty configuration is valid");
        assert!(
            start(&config, store, None)
                .await
                .expect("nothing to bind")
                .is_none()
        );
    }

    #[test]
    fn an_unset_time_zone_is_utc() {
        let config = Config::parse("", std::path::Path::new("/nonexistent/crossbar.toml"))
            .expect("an empty configuration is valid");
        assert_eq!(site_timezone(&config), TimeZone::UTC);
    }
}
