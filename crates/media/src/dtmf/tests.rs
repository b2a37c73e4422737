use std::path::{Path, PathBuf};

use super::*;

/// The shared test data beside the checkout (`../shared`).
fn pcap_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sipp/pcap")
}

/// The UDP payloads of a classic pcap file (libpcap format, either byte order, microsecond
/// or nanosecond) of Ethernet / IPv4 / UDP frames.
fn udp_payloads(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let magic = u32::from_le_bytes(bytes[0..4].try_into().unwrap());
    let little = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        other => panic!("{}: not a classic pcap (magic {other:#x})", path.display()),
    };
    let u32_at = |at: usize| {
        let word: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if little {
            u32::from_le_bytes(word)
        } else {
            u32::from_be_bytes(word)
        }
    };
    assert_eq!(u32_at(20), 1, "link type Ethernet");
    let mut payloads = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let captured = u32_at(at + 8) as usize;
        let frame = &bytes[at + 16..at + 16 + captured];
        at += 16 + captured;
        assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4");
        let ip = &frame[14..];
        let header_len = usize::from(ip[0] & 0x0f) * 4;
        assert_eq!(ip[9], 17, "UDP");
        let total_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let udp = &ip[header_len..total_len];
        payloads.push(udp[8..].to_vec());
    }
    payloads
}

/// Every `dtmf_<key>_pt101.pcap` of the shared data, with its key.
fn dtmf_captures() -> Vec<(char, PathBuf)> {
    let dir = pcap_dir();
    let mut captures: Vec<(char, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the shared test data must sit beside the checkout)",
                dir.display()
            )
        })
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_owned();
            let key = name.strip_prefix("dtmf_")?.strip_suffix("_pt101.pcap")?;
            let mut chars = key.chars();
            let key = chars.next().filter(|_| chars.next().is_none())?;
            Some((key, path))
        })
        .collect();
    captures.sort();
    assert!(
        !captures.is_empty(),
        "no dtmf_*_pt101.pcap in {}",
        dir.display()
    );
    captures
}

fn keys(detector: &mut KeyDetector, packets: &[Vec<u8>]) -> String {
    packets.iter().filter_map(|p| detector.on_rtp(p)).collect()
}

/// Rewrites an RTP packet's sequence number and timestamp by the given offsets.
fn shifted(packet: &[u8], sequence: u16, timestamp: u32) -> Vec<u8> {
    let mut p = packet.to_vec();
    let seq = u16::from_be_bytes([p[2], p[3]]).wrapping_add(sequence);
    let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]).wrapping_add(timestamp);
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p
}

#[test]
fn a_real_rfc_4733_key_press_after_audio_is_reported_once() {
    let audio = udp_payloads(&pcap_dir().join("pcmu_10s.pcap"));
    assert!(audio.len() >= 400);
    for (key, path) in dtmf_captures() {
        let event = udp_payloads(&path);
        // A start with the marker, updates, and the end three times: one timestamp.
        assert!(event.len() >= 4, "{}", path.display());
        let mut detector = KeyDetector::new(101);
        assert_eq!(keys(&mut detector, &audio), "", "audio is not a key");
        assert_eq!(
            keys(&mut detector, &event),
            key.to_string(),
            "{}",
            path.display()
        );
        // Retransmissions of the same event (same timestamp) are not a new press...
        assert_eq!(keys(&mut detector, &event), "");
        // ... the same key pressed again (a new timestamp) is.
        let again: Vec<Vec<u8>> = event.iter().map(|p| shifted(p, 100, 8000)).collect();
        assert_eq!(keys(&mut detector, &again), key.to_string());
        // Another payload type is not telephone-event.
        let mut other = KeyDetector::new(96);
        assert_eq!(keys(&mut other, &event), "");
    }
}

/// One RFC 4733 event as a phone sends it: start (marker), two updates, three ends.
fn press(event: u8, sequence: u16, timestamp: u32, ssrc: u32) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    for (n, (end, duration)) in [
        (false, 160u16),
        (false, 320),
        (false, 480),
        (true, 640),
        (true, 640),
        (true, 640),
    ]
    .into_iter()
    .enumerate()
    {
        let mut p = vec![0x80, 101 | if n == 0 { 0x80 } else { 0 }];
        p.extend_from_slice(&sequence.wrapping_add(n as u16).to_be_bytes());
        p.extend_from_slice(&timestamp.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[event, if end { 0x8a } else { 0x0a }]);
        p.extend_from_slice(&duration.to_be_bytes());
        packets.push(p);
    }
    packets
}

#[test]
fn all_sixteen_keys_are_told_apart() {
    let mut detector = KeyDetector::new(101);
    let mut packets = Vec::new();
    for event in 0..16u8 {
        packets.extend(press(
            event,
            u16::from(event) * 6,
            1000 + u32::from(event) * 1600,
            7,
        ));
    }
    assert_eq!(keys(&mut detector, &packets), "0123456789*#ABCD");
}

#[test]
fn lost_starts_reordering_and_new_sources_are_handled() {
    let mut detector = KeyDetector::new(101);
    // Only the end packets arrived: still one key.
    let five = press(5, 0, 8000, 7);
    assert_eq!(keys(&mut detector, &five[3..]), "5");
    // A late packet of an older event is not a new press.
    let older = press(4, 100, 6400, 7);
    assert_eq!(keys(&mut detector, &older), "");
    // Timestamps wrap: an event just past the wrap is newer.
    let mut wrapping = KeyDetector::new(101);
    assert_eq!(keys(&mut wrapping, &press(1, 0, u32::MAX - 100, 7)), "1");
    assert_eq!(keys(&mut wrapping, &press(2, 6, 60, 7)), "2");
    // A new SSRC (another device after a transfer) starts afresh, even with an older
    // timestamp.
    assert_eq!(keys(&mut detector, &press(9, 0, 10, 8)), "9");
    // Events that are not keys (16: flash) and garbage are ignored.
    assert_eq!(keys(&mut detector, &press(16, 0, 99_999, 8)), "");
    assert_eq!(detector.on_rtp(&[0x80, 101, 0]), None);
    let mut short = press(3, 0, 200_000, 8)[0].clone();
    short.truncate(14);
    assert_eq!(detector.on_rtp(&short), None);
}

#[test]
fn keys_and_event_codes_map_both_ways() {
    for event in 0..16 {
        let key = key_of_event(event).unwrap();
        assert_eq!(event_of_key(key), Some(event));
    }
    assert_eq!(key_of_event(16), None);
    assert_eq!(event_of_key('b'), Some(13));
    assert_eq!(event_of_key('E'), None);
}

#[test]
fn sip_info_bodies_give_their_key() {
    let relay = "application/dtmf-relay";
    assert_eq!(
        key_from_info(relay, b"Signal=5\r\nDuration=160\r\n"),
        Ok('5')
    );
    assert_eq!(
        key_from_info(relay, b"Signal=#\r\nDuration=250\r\n"),
        Ok('#')
    );
    assert_eq!(key_from_info(relay, b"signal = *\nduration=100"), Ok('*'));
    assert_eq!(key_from_info(relay, b"Signal=11\r\nDuration=160"), Ok('#'));
    assert_eq!(key_from_info(relay, b"Signal=d\r\n"), Ok('D'));
    assert_eq!(
        key_from_info(
            "Application/DTMF-Relay; charset=utf-8",
            b"Duration=160\r\nSignal=0\r\n"
        ),
        Ok('0')
    );
    assert_eq!(key_from_info("application/dtmf", b"7\r\n"), Ok('7'));
    assert_eq!(key_from_info("application/dtmf", b"10"), Ok('*'));

    assert_eq!(
        key_from_info(relay, b"Duration=160\r\n"),
        Err(InfoError::NoSignal)
    );
    assert_eq!(
        key_from_info(relay, b"Signal=16\r\n"),
        Err(InfoError::NotAKey("16".into()))
    );
    assert_eq!(
        key_from_info(relay, b"Signal=\r\n"),
        Err(InfoError::NotAKey(String::new()))
    );
    assert_eq!(
        key_from_info("application/dtmf", b"57"),
        Err(InfoError::NotAKey("57".into()))
    );
    assert_eq!(
        key_from_info("application/dtmf", b"x"),
        Err(InfoError::NotAKey("x".into()))
    );
    assert_eq!(
        key_from_info("text/plain", b"5"),
        Err(InfoError::ContentType("text/plain".into()))
    );
    assert_eq!(key_from_info(relay, &[0xff, 0xfe]), Err(InfoError::NotText));
}
