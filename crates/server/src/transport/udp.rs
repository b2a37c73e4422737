//! SIP over UDP (RFC 3261 §18): one message per datagram, parsed on the receiving thread so
//! parsing runs beside the engine rather than on it.

use std::net::SocketAddr;
use std::os::fd::AsFd;

use crossbar_proto::transaction::Peer;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, poll};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
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

/// Starts the thread that reads `socket`'s datagrams for the engine, until the engine goes
/// away. The engine keeps `socket` for its sends; the thread reads a duplicate of it (the
/// same non-blocking socket), waiting in `poll(2)`.
///
/// A thread of its own, not a task: the runtime's workers run every relay task, and a
/// receiving task waits in their queue behind them — with a thousand callers hearing music,
/// a BYE waited up to 7 ms (p99) for its 200 (docs/BENCHMARKS.md, "Queues"). A thread the
/// kernel wakes when a datagram arrives hands it to the engine at once.
pub fn spawn_receiver(
    socket: &UdpSocket,
    engine: mpsc::Sender<Input>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let local = socket.local_addr()?;
    let reader: std::net::UdpSocket = SockRef::from(socket).try_clone()?.into();
    std::thread::Builder::new()
        .name(format!("sip-udp-{}", local.port()))
        .spawn(move || receive(&reader, local, &engine))
}

/// How long the receiving thread waits for a datagram before it looks whether the engine is
/// still there, ms.
const ENGINE_CHECK_MS: u16 = 1_000;

fn receive(socket: &std::net::UdpSocket, local: SocketAddr, engine: &mpsc::Sender<Input>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let mut ready = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
        match poll(&mut ready, ENGINE_CHECK_MS) {
            Ok(0) if engine.is_closed() => return,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(error) => {
                tracing::error!(%local, %error, "waiting on a UDP socket failed; no longer reading it");
                return;
            }
        }
        // Everything queued, then back to waiting.
        loop {
            let (len, from) = match socket.recv_from(&mut buf) {
                Ok(received) => received,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
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
            let input = Input::Message {
                parsed,
                source,
                local: Some(local),
            };
            if engine.blocking_send(input).is_err() {
                return;
            }
        }
    }
}
