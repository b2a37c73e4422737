//! `[media]`: the relay address and how it defaults, the port range, the RTP timeout, the
//! pacer's priority.

use std::net::IpAddr;
use std::path::Path;

use crossbar_config::{Config, ConfigError, Media};

const FILE: &str = "/etc/crossbar/crossbar.toml";

fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    Config::parse(text, Path::new(FILE)).map_err(|e| e.into_vec())
}

fn media(text: &str) -> Media {
    match parse(text) {
        Ok(config) => config.media,
        Err(errors) => panic!("expected a valid config, got:\n{errors:#?}"),
    }
}

/// Exactly one error; returns its line, key and message.
fn one_error(text: &str) -> (usize, String, String) {
    match parse(text) {
        Ok(config) => panic!("expected an error, got {:#?}", config.media),
        Err(errors) => {
            assert_eq!(
                errors.len(),
                1,
                "expected exactly one error, got {errors:#?}"
            );
            let e = &errors[0];
            (e.line, e.key.clone(), e.message.clone())
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn defaults_with_sip_on_the_unspecified_address_leave_the_address_unknown() {
    let media = media("");
    assert_eq!(
        media,
        Media {
            address: None,
            port_min: 10_000,
            port_max: 20_000,
            rtp_timeout_secs: 30,
            pacer_priority: 20,
        }
    );
    assert_eq!(media.port_pairs(), 5000);
}

#[test]
fn address_defaults_to_the_first_specific_sip_listen_address() {
    let text = "[sip]\nlisten_udp = [\"0.0.0.0:5060\", \"192.0.2.10:5060\", \"192.0.2.11:5060\"]\n";
    assert_eq!(media(text).address, Some(ip("192.0.2.10")));
    // TCP-only listeners count too.
    let text = "[sip]\nlisten_udp = []\nlisten_tcp = [\"[2001:db8::5]:5060\"]\n";
    assert_eq!(media(text).address, Some(ip("2001:db8::5")));
}

#[test]
fn an_explicit_address_wins_over_the_sip_one() {
    let text = "[sip]\nlisten_udp = [\"127.0.0.1:5060\"]\n[media]\naddress = \"192.0.2.10\"\n";
    assert_eq!(media(text).address, Some(ip("192.0.2.10")));
    let text = "[media]\naddress = \"2001:db8::10\"\n";
    assert_eq!(media(text).address, Some(ip("2001:db8::10")));
}

#[test]
fn an_address_that_cannot_go_into_sdp_is_rejected() {
    let (line, key, message) = one_error("[media]\naddress = \"0.0.0.0\"\n");
    assert_eq!((line, key.as_str()), (2, "media.address"));
    assert!(message.contains("cannot be advertised in SDP"), "{message}");
    let (_, _, message) = one_error("[media]\naddress = \"::\"\n");
    assert!(message.contains("cannot be advertised in SDP"), "{message}");
    let (_, _, message) = one_error("[media]\naddress = \"224.0.0.1\"\n");
    assert!(message.contains("multicast"), "{message}");
    let (_, _, message) = one_error("[media]\naddress = \"pbx.example.com\"\n");
    assert!(message.contains("not an IP address"), "{message}");
    let (_, key, message) = one_error("[media]\naddress = 10\n");
    assert_eq!(key, "media.address");
    assert_eq!(message, "expected a string, found an integer");
}

#[test]
fn a_valid_port_range_and_timeout_are_taken() {
    let text = "[media]\nport_min = 30000\nport_max = 30099\nrtp_timeout_secs = 1\n";
    let media = media(text);
    assert_eq!((media.port_min, media.port_max), (30_000, 30_099));
    assert_eq!(media.rtp_timeout_secs, 1);
    assert_eq!(media.port_pairs(), 50);
    // The extremes.
    let media = self::media("[media]\nport_min = 1024\nport_max = 65535\n");
    assert_eq!(media.port_pairs(), 32_256);
}

#[test]
fn an_odd_port_min_is_rejected() {
    let (line, key, message) = one_error("[media]\nport_min = 10001\n");
    assert_eq!((line, key.as_str()), (2, "media.port_min"));
    assert!(message.starts_with("must be even"), "{message}");
}

#[test]
fn ports_outside_1024_to_65535_are_rejected() {
    let (_, key, message) = one_error("[media]\nport_min = 80\n");
    assert_eq!(key, "media.port_min");
    assert_eq!(message, "must be at least 1024, found 80");
    let (_, key, message) = one_error("[media]\nport_max = 70000\n");
    assert_eq!(key, "media.port_max");
    assert_eq!(message, "must be at most 65535 (a UDP port), found 70000");
    let (_, key, _) = one_error("[media]\nport_max = -1\n");
    assert_eq!(key, "media.port_max");
}

#[test]
fn port_min_must_be_below_port_max() {
    let (line, key, message) = one_error("[media]\nport_max = 30000\nport_min = 30000\n");
    assert_eq!((line, key.as_str()), (3, "media.port_min"));
    assert_eq!(
        message,
        "port_min (30000) must be less than port_max (30000): the range needs at least one \
         RTP/RTCP port pair"
    );
    // Against a default, reported at the key that was written.
    let (line, key, message) = one_error("[media]\nport_min = 40000\n");
    assert_eq!((line, key.as_str()), (2, "media.port_min"));
    assert!(
        message.contains("port_max (20000, the default)"),
        "{message}"
    );
    let (line, key, _) = one_error("[media]\nport_max = 5000\n");
    assert_eq!((line, key.as_str()), (2, "media.port_max"));
    // One typo, one error: an invalid port_min is not compared as well.
    let (_, key, _) = one_error("[media]\nport_min = 20001\nport_max = 20000\n");
    assert_eq!(key, "media.port_min");
}

#[test]
fn the_rtp_timeout_must_be_at_least_one_second() {
    let (line, key, message) = one_error("[media]\nrtp_timeout_secs = 0\n");
    assert_eq!((line, key.as_str()), (2, "media.rtp_timeout_secs"));
    assert_eq!(message, "must be at least 1, found 0");
}

#[test]
fn unknown_keys_are_reported_with_a_suggestion() {
    let (line, key, message) = one_error("[media]\nport_mn = 10000\n");
    assert_eq!((line, key.as_str()), (2, "media.port_mn"));
    assert!(message.contains("did you mean `port_min`?"), "{message}");
}

#[test]
fn the_example_file_documents_the_media_defaults() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config =
        Config::load(&root.join("examples/crossbar.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.media.port_min, 10_000);
    assert_eq!(config.media.port_max, 20_000);
    assert_eq!(config.media.rtp_timeout_secs, 30);
    assert_eq!(config.media.pacer_priority, 20);
}

#[test]
fn the_pacer_priority_is_a_sched_fifo_priority_or_zero() {
    assert_eq!(media("[media]\npacer_priority = 0\n").pacer_priority, 0);
    assert_eq!(media("[media]\npacer_priority = 99\n").pacer_priority, 99);
    let (line, key, message) = one_error("[media]\npacer_priority = 100\n");
    assert_eq!((line, key.as_str()), (2, "media.pacer_priority"));
    assert!(message.contains("at most 99"), "{message}");
    let (_, key, _) = one_error("[media]\npacer_priority = -1\n");
    assert_eq!(key, "media.pacer_priority");
}
