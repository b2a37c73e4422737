//! SIP over TCP (RFC 3261 §18.3): one task per connection — accepted from a phone, or opened
//! by crossbar toward a carrier or a phone whose connection is gone (§18.1.1) — frames the
//! byte stream into messages with [`StreamFramer`] and writes what the engine sends back.
//!
//! A framing error (bad `Content-Length`, limits exceeded) cannot be recovered from on a
//! stream, so the connection is closed. A message left incomplete for the configured
//! `[sip] tcp_incomplete_timeout_secs` (30 s by default) closes it too (RFC 4475 §3.1.2.2
//! `clerr` over TCP).

use std::net::SocketAddr;
use std::time::Duration;

use crossbar_proto::transaction::Peer;
use crossbar_sip::framing::{Frame, Limits, StreamFramer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::engine::Input;

/// How long a connection may stay silent; phones registered over TCP send keep-alives
/// and re-register well within it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3_900);

/// Messages queued for one connection before it counts as stuck.
const WRITE_QUEUE: usize = 1_024;

pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1_024)
}

/// Accepts connections until the engine goes away. A partly received message may wait
/// `incomplete_timeout` for the rest before its connection is closed.
pub async fn accept(
    listener: TcpListener,
    engine: mpsc::Sender<Input>,
    incomplete_timeout: Duration,
) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(
                    stream,
                    Peer::tcp(from),
                    engine.clone(),
                    incomplete_timeout,
                ));
            }
            Err(error) => {
                tracing::warn!(%error, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if engine.is_closed() {
            return;
        }
    }
}

/// Opens a connection to `peer` (within `timeout`) and serves it like an accepted one; the
/// engine hears `ConnectionOpened` (and sends what waited for it) or `ConnectFailed`.
pub async fn connect(
    peer: Peer,
    local_ip: Option<std::net::IpAddr>,
    engine: mpsc::Sender<Input>,
    timeout: Duration,
    incomplete_timeout: Duration,
) {
    let stream = match tokio::time::timeout(timeout, open(peer.addr, local_ip)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            let reason = error.to_string();
            let _ = engine.send(Input::ConnectFailed { peer, reason }).await;
            return;
        }
        Err(_) => {
            let reason = format!("no answer within {} s", timeout.as_secs());
            let _ = engine.send(Input::ConnectFailed { peer, reason }).await;
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    serve(stream, peer, engine, incomplete_timeout).await;
}

/// A connection to `to`, from `local_ip` when given (a trunk's listener's address; any
/// port).
async fn open(to: SocketAddr, local_ip: Option<std::net::IpAddr>) -> std::io::Result<TcpStream> {
    let socket = match to {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    if let Some(ip) = local_ip.filter(|ip| !ip.is_unspecified() && ip.is_ipv4() == to.is_ipv4()) {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(to).await
}

async fn serve(
    stream: TcpStream,
    peer: Peer,
    engine: mpsc::Sender<Input>,
    incomplete_timeout: Duration,
) {
    let (writer_tx, mut writer_rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
    let opened = Input::ConnectionOpened {
        peer,
        writer: writer_tx.clone(),
    };
    if engine.send(opened).await.is_err() {
        return;
    }
    tracing::debug!(%peer, "connection opened");
    let (mut reader, mut writer) = stream.into_split();
    let mut framer = StreamFramer::new(Limits::default());
    let mut buf = vec![0u8; 16 * 1024];
    let reason = loop {
        let timeout = if framer.buffered() > 0 {
            incomplete_timeout
        } else {
            IDLE_TIMEOUT
        };
        tokio::select! {
            read = tokio::time::timeout(timeout, reader.read(&mut buf)) => {
                let n = match read {
                    Err(_) => break "timed out",
                    Ok(Err(_)) => break "read error",
                    Ok(Ok(0)) => break "closed by peer",
                    Ok(Ok(n)) => n,
                };
                framer.push(&buf[..n]);
                match deliver(&mut framer, peer, &engine, &writer_tx).await {
                    Ok(()) => {}
                    Err(reason) => break reason,
                }
            }
            bytes = writer_rx.recv() => {
                let Some(bytes) = bytes else { break "engine gone" };
                if writer.write_all(&bytes).await.is_err() {
                    break "write error";
                }
            }
        }
    };
    tracing::debug!(%peer, reason, "connection closed");
    let _ = writer.shutdown().await;
    let _ = engine.send(Input::ConnectionClosed { peer }).await;
}

/// Hands every complete message in the framer to the engine.
async fn deliver(
    framer: &mut StreamFramer,
    peer: Peer,
    engine: &mpsc::Sender<Input>,
    writer: &mpsc::Sender<Vec<u8>>,
) -> Result<(), &'static str> {
    loop {
        let parsed = match framer.next_message() {
            Ok(None) => return Ok(()),
            Ok(Some(Frame::Message(message))) => Ok(message),
            Ok(Some(Frame::Invalid(error))) => Err(error),
            Ok(Some(Frame::Ping)) => {
                // RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
                let _ = writer.try_send(b"\r\n".to_vec());
                continue;
            }
            Err(error) => {
                tracing::debug!(%peer, %error, "framing error");
                return Err("framing error");
            }
        };
        if engine
            .send(Input::Message {
                parsed,
                source: peer,
                local: None,
            })
            .await
            .is_err()
        {
            return Err("engine gone");
        }
    }
}
