//! SIP over UDP (RFC 3261 §18): one message per datagram, parsed on the receiving task so
//! parsing runs beside the engine rather than on it.

use std::net::SocketAddr;
use std::sync::Arc;

use crossbar_proto::transaction::Peer;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::engine::Input;

/// Largest datagram read; a SIP message over UDP is far smaller (RFC 3261 §18.1.1 keeps
/// UDP under the path MTU), anything bigger is truncated and fails to parse.
const MAX_DATAGRAM: usize = 65_535;

/// Kernel buffer sizes: a burst of thousands of REGISTERs must not be dropped by the kernel.
const SOCKET_BUFFER: usize = 8 * 1024 * 1024;

pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Larger buffers are a wish: the kernel caps them at net.core.rmem_max.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Reads datagrams until the engine goes away.
pub async fn receive(socket: Arc<UdpSocket>, engine: mpsc::Sender<Input>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let Ok(local) = socket.local_addr() else {
        tracing::error!("a UDP socket without a local address; not reading it");
        return;
    };
    loop {
        let (len, from) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP port unreachable from an earlier send shows up here on Linux; it
                // says nothing about this socket.
                tracing::trace!(%error, "udp receive error");
                continue;
            }
        };
        let datagram = &buf[..len];
        // A lone CRLF (or CRLFCRLF) is a keep-alive (RFC 5626 §3.5.1): nothing to parse.
        if datagram.iter().all(|b| matches!(b, b'\r' | b'\n' | 0)) {
            continue;
        }
        let source = Peer::udp(from);
        tracing::trace!(%source, message = %String::from_utf8_lossy(datagram), "received");
        let parsed = crossbar_sip::parse_datagram(datagram);
        if engine
            .send(Input::Message {
                parsed,
                source,
                local: Some(local),
            })
            .await
            .is_err()
        {
            return;
        }
    }
}
