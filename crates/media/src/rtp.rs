//! Allocation-free views of the packets a relay looks at: the RTP fixed header (RFC 3550
//! §5.1), the first RTCP header (RFC 3550 §6.4), the RTP/RTCP demultiplexing rule of RFC 5761
//! §4, and the RFC 4733 §2.3 telephone-event payload.
//!
//! A relay forwards bytes unchanged; it reads only what latching, loss counting and event
//! counting need. Everything here borrows the received buffer and never panics, whatever the
//! bytes are.

/// Why a datagram is not an RTP (or RTCP) packet a relay should forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("{len} octets is shorter than the {min}-octet header")]
    TooShort { len: usize, min: usize },
    #[error("version {0}, expected 2 (RFC 3550 §5.1)")]
    Version(u8),
    #[error("the CSRC list or header extension runs past the end of the packet")]
    Truncated,
    #[error("the padding count {0} is larger than the payload (RFC 3550 §5.1)")]
    Padding(u8),
}

/// Length of the RTP fixed header without CSRCs (RFC 3550 §5.1).
pub const RTP_HEADER_LEN: usize = 12;
/// Length of an RTCP header with the sender's SSRC (RFC 3550 §6.4.1).
pub const RTCP_HEADER_LEN: usize = 8;

/// The fields of an RTP packet a relay uses, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// The payload, after the CSRC list and header extension, without padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Reads the RTP header (RFC 3550 §5.1), skipping CSRCs and a header extension
    /// (§5.3.1) and removing padding.
    pub fn parse(bytes: &'a [u8]) -> Result<RtpPacket<'a>, PacketError> {
        let Some(fixed) = bytes.first_chunk::<RTP_HEADER_LEN>() else {
            return Err(PacketError::TooShort {
                len: bytes.len(),
                min: RTP_HEADER_LEN,
            });
        };
        let version = fixed[0] >> 6;
        if version != 2 {
            return Err(PacketError::Version(version));
        }
        let padding = fixed[0] & 0x20 != 0;
        let extension = fixed[0] & 0x10 != 0;
        let csrc_count = usize::from(fixed[0] & 0x0f);
        let mut offset = RTP_HEADER_LEN + 4 * csrc_count;
        if extension {
            // 16-bit profile-defined id, 16-bit length in 32-bit words (§5.3.1).
            let words = bytes
                .get(offset + 2..offset + 4)
                .ok_or(PacketError::Truncated)?;
            offset += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
        }
        let mut end = bytes.len();
        if offset > end {
            return Err(PacketError::Truncated);
        }
        if padding {
            // The last octet counts the padding octets, itself included (§5.1).
            let count = bytes[end - 1];
            if count == 0 || usize::from(count) > end - offset {
                return Err(PacketError::Padding(count));
            }
            end -= usize::from(count);
        }
        Ok(RtpPacket {
            marker: fixed[1] & 0x80 != 0,
            payload_type: fixed[1] & 0x7f,
            sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
            payload: &bytes[offset..end],
        })
    }
}

/// The first header of an RTCP compound packet (RFC 3550 §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpHeader {
    pub packet_type: u8,
    /// SSRC of the sender of the first report.
    pub ssrc: u32,
}

impl RtcpHeader {
    /// Checks the version and that a header with its SSRC is present. The rest is forwarded
    /// as it came (it may be SRTCP, whose headers are in clear but whose body is not).
    pub fn parse(bytes: &[u8]) -> Result<RtcpHeader, PacketError> {
        let Some(header) = bytes.first_chunk::<RTCP_HEADER_LEN>() else {
            return Err(PacketError::TooShort {
                len: bytes.len(),
                min: RTCP_HEADER_LEN,
            });
        };
        let version = header[0] >> 6;
        if version != 2 {
            return Err(PacketError::Version(version));
        }
        Ok(RtcpHeader {
            packet_type: header[1],
            ssrc: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
        })
    }
}

/// Whether a packet received on an RTP port is RTCP multiplexed onto it: its second octet
/// (RTCP packet type, or RTP marker + payload type) is in 192..=223 (RFC 5761 §4).
pub fn is_muxed_rtcp(bytes: &[u8]) -> bool {
    matches!(bytes.get(1), Some(192..=223))
}

/// One RFC 4733 §2.3 named-event block.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// |     event     |E|R| volume    |          duration             |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (§3.2: 0–9, `*` = 10, `#` = 11, A–D = 12–15 for DTMF).
    pub event: u8,
    /// The E bit: this packet reports the end of the event (§2.3.2).
    pub end: bool,
    /// Power level in −dBm0, 0–63 (§2.3.4).
    pub volume: u8,
    /// Duration so far in timestamp units (§2.3.5).
    pub duration: u16,
}

/// Length of one telephone-event block (RFC 4733 §2.3).
pub const TELEPHONE_EVENT_LEN: usize = 4;

impl TelephoneEvent {
    /// Reads the first event block of a telephone-event payload; `None` if shorter than 4.
    pub fn parse(payload: &[u8]) -> Option<TelephoneEvent> {
        let block = payload.first_chunk::<TELEPHONE_EVENT_LEN>()?;
        Some(TelephoneEvent {
            event: block[0],
            end: block[1] & 0x80 != 0,
            volume: block[1] & 0x3f,
            duration: u16::from_be_bytes([block[2], block[3]]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(first: u8, second: u8) -> Vec<u8> {
        let mut p = vec![
            first, second, 0x12, 0x34, 0, 0, 0x03, 0x20, 0xde, 0xad, 0xbe, 0xef,
        ];
        p.extend_from_slice(&[0xff; 4]);
        p
    }

    #[test]
    fn reads_the_fixed_header() {
        let p = header(0x80, 0x80);
        let rtp = RtpPacket::parse(&p).unwrap();
        assert!(rtp.marker);
        assert_eq!(rtp.payload_type, 0);
        assert_eq!(rtp.sequence, 0x1234);
        assert_eq!(rtp.timestamp, 800);
        assert_eq!(rtp.ssrc, 0xdead_beef);
        assert_eq!(rtp.payload, &[0xff; 4]);
    }

    #[test]
    fn skips_csrcs_and_extension_and_strips_padding() {
        // CC = 1, X = 1, P = 1.
        let mut p = vec![0xb1, 101, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        p.extend_from_slice(&[9, 9, 9, 9]); // CSRC
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // extension, one word
        p.extend_from_slice(&[1, 2, 3, 4]); // payload
        p.extend_from_slice(&[0, 0, 3]); // padding of 3
        let rtp = RtpPacket::parse(&p).unwrap();
        assert_eq!(rtp.payload_type, 101);
        assert!(!rtp.marker);
        assert_eq!(rtp.payload, &[1, 2, 3, 4]);
    }

    #[test]
    fn rejects_what_is_not_rtp_without_panicking() {
        assert_eq!(
            RtpPacket::parse(&[0x80; 11]),
            Err(PacketError::TooShort { len: 11, min: 12 })
        );
        assert_eq!(
            RtpPacket::parse(&header(0x40, 0)),
            Err(PacketError::Version(1))
        );
        // 15 CSRCs announced, none present.
        assert_eq!(
            RtpPacket::parse(&header(0x8f, 0)),
            Err(PacketError::Truncated)
        );
        // Extension announced, its header cut.
        assert_eq!(
            RtpPacket::parse(&[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe]),
            Err(PacketError::Truncated)
        );
        // Extension length runs past the end.
        assert_eq!(
            RtpPacket::parse(&[
                0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff
            ]),
            Err(PacketError::Truncated)
        );
        // Padding bigger than the payload, and a zero padding count.
        let mut p = header(0xa0, 0);
        *p.last_mut().unwrap() = 200;
        assert_eq!(RtpPacket::parse(&p), Err(PacketError::Padding(200)));
        *p.last_mut().unwrap() = 0;
        assert_eq!(RtpPacket::parse(&p), Err(PacketError::Padding(0)));
        // Every short prefix of a valid packet is handled.
        let p = header(0xb1, 0);
        for len in 0..p.len() {
            let _ = RtpPacket::parse(&p[..len]);
        }
    }

    #[test]
    fn reads_the_rtcp_header_and_recognises_muxed_rtcp() {
        let rr = [0x81, 201, 0, 7, 0, 0, 0, 42];
        assert_eq!(
            RtcpHeader::parse(&rr),
            Ok(RtcpHeader {
                packet_type: 201,
                ssrc: 42
            })
        );
        assert!(RtcpHeader::parse(&rr[..7]).is_err());
        assert!(is_muxed_rtcp(&rr));
        // PCMU with the marker set is 0x80: RTP.
        assert!(!is_muxed_rtcp(&[0x80, 0x80]));
        assert!(!is_muxed_rtcp(&[0x80]));
    }

    #[test]
    fn reads_a_telephone_event_block() {
        let event = TelephoneEvent::parse(&[5, 0x8a, 0x03, 0x20]).unwrap();
        assert_eq!(
            event,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(TelephoneEvent::parse(&[5, 0x8a, 0x03]), None);
    }
}
