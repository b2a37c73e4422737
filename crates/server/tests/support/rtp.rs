//! What crossbar plays, heard on the wire: a UDP socket of the test whose port a caller's SDP
//! offers collects the RTP packets crossbar sends, parsed (RFC 3550 §5.1) and decoded (G.711
//! µ-law) so a test can tell audio from silence and check the stream's pacing.

use std::net::UdpSocket;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One RTP packet as it arrived.
#[derive(Debug, Clone)]
pub struct Heard {
    pub at: Instant,
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

impl Heard {
    /// An RTP packet (RFC 3550 §5.1: version 2; CSRCs skipped).
    pub fn parse(at: Instant, bytes: &[u8]) -> Option<Heard> {
        if bytes.len() < 12 || bytes[0] >> 6 != 2 {
            return None;
        }
        let csrcs = usize::from(bytes[0] & 0x0f);
        let start = 12 + 4 * csrcs;
        Some(Heard {
            at,
            marker: bytes[1] & 0x80 != 0,
            payload_type: bytes[1] & 0x7f,
            sequence: u16::from_be_bytes([bytes[2], bytes[3]]),
            timestamp: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            ssrc: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            payload: bytes.get(start..)?.to_vec(),
        })
    }

    /// The RMS level of the payload as G.711 µ-law, in 16-bit linear units (silence is 0 to
    /// 8, a half-scale tone about 11 600).
    pub fn rms(&self) -> f64 {
        if self.payload.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .payload
            .iter()
            .map(|&u| f64::from(ulaw_to_linear(u)).powi(2))
            .sum();
        (sum / self.payload.len() as f64).sqrt()
    }
}

/// ITU-T G.711 µ-law to 16-bit linear.
pub fn ulaw_to_linear(ulaw: u8) -> i16 {
    let ulaw = !ulaw;
    let exponent = (ulaw >> 4) & 0x07;
    let mantissa = i16::from(ulaw & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if ulaw & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// A UDP socket on 127.0.0.1 for a caller's RTP, and its port.
pub fn rtp_socket() -> (UdpSocket, u16) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("the RTP receiver binds");
    let port = socket
        .local_addr()
        .expect("a bound socket has an address")
        .port();
    (socket, port)
}

/// Collects the RTP packets arriving on `socket` in a thread: from the first one until
/// `quiet` passes without another (the call has ended), or `limit` passes in all.
pub fn listen_rtp(socket: UdpSocket, quiet: Duration, limit: Duration) -> JoinHandle<Vec<Heard>> {
    std::thread::spawn(move || {
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("a non-zero timeout is accepted");
        let started = Instant::now();
        let mut heard: Vec<Heard> = Vec::new();
        let mut buf = [0u8; 2048];
        loop {
            let now = Instant::now();
            let done = heard
                .last()
                .is_some_and(|last| now.duration_since(last.at) >= quiet);
            if done || now.duration_since(started) >= limit {
                return heard;
            }
            match socket.recv_from(&mut buf) {
                Ok((len, _)) => {
                    if let Some(packet) = Heard::parse(Instant::now(), &buf[..len]) {
                        heard.push(packet);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => panic!("RTP receive failed: {e}"),
            }
        }
    })
}

/// The mean spacing of `packets` on arrival (first to last over the gaps between them).
pub fn mean_spacing(packets: &[Heard]) -> Duration {
    assert!(packets.len() >= 2, "two packets at least to space");
    let span = packets[packets.len() - 1].at - packets[0].at;
    span / u32::try_from(packets.len() - 1).expect("fewer than 2^32 packets")
}

// ---------------------------------------------------------------------------------------
// Prompts the tests make: 8 kHz 16-bit mono WAV files
// ---------------------------------------------------------------------------------------

/// Samples per second of the prompts made here (G.711's rate: nothing to resample).
pub const RATE: u32 = 8000;

/// `secs` of a `hz` sine at `amplitude` (of 32 767).
pub fn tone(secs: f64, hz: f64, amplitude: f64) -> Vec<i16> {
    let count = (secs * f64::from(RATE)).round() as usize;
    (0..count)
        .map(|n| {
            let t = n as f64 / f64::from(RATE);
            (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()).round() as i16
        })
        .collect()
}

/// `secs` of digital silence.
pub fn silence(secs: f64) -> Vec<i16> {
    vec![0; (secs * f64::from(RATE)).round() as usize]
}

/// Writes `samples` as a RIFF/WAVE file of 16-bit linear PCM, mono, 8 kHz.
pub fn write_wav(path: &std::path::Path, samples: &[i16]) {
    let data_len = u32::try_from(samples.len() * 2).expect("a short prompt");
    let mut bytes = Vec::with_capacity(44 + samples.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&RATE.to_le_bytes());
    bytes.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    bytes.extend_from_slice(&2u16.to_le_bytes()); // block align
    bytes.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for sample in samples {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the prompts directory can be created");
    }
    std::fs::write(path, bytes).expect("the prompt can be written");
}
