//! The `[calls]` section.

use std::path::Path;

use crossbar_config::Config;

#[test]
fn calls_defaults_are_a_30_second_ring_four_calls_and_the_rfc_4028_floor() {
    let config = Config::parse("", Path::new("c.toml")).expect("empty config is valid");
    assert_eq!(config.calls.ring_timeout_secs, 30);
    assert_eq!(config.calls.max_calls_per_extension, 4);
    assert_eq!(config.calls.min_session_expires, 90);
}

#[test]
fn calls_keys_are_read_and_checked_with_their_lines() {
    let text =
        "[calls]\nring_timeout_secs = 12\nmax_calls_per_extension = 1\nmin_session_expires = 120\n";
    let config = Config::parse(text, Path::new("c.toml")).expect("valid");
    assert_eq!(config.calls.ring_timeout_secs, 12);
    assert_eq!(config.calls.max_calls_per_extension, 1);
    assert_eq!(config.calls.min_session_expires, 120);

    let bad = "[calls]\nring_timeout_secs = 0\nmin_session_expires = 30\nring_time = 5\n";
    let errors = Config::parse(bad, Path::new("c.toml"))
        .expect_err("invalid")
        .to_string();
    assert!(
        errors.contains("c.toml:2:21: calls.ring_timeout_secs: must be at least 1, found 0"),
        "{errors}"
    );
    assert!(
        errors.contains("c.toml:3:23: calls.min_session_expires: must be at least 90, found 30"),
        "{errors}"
    );
    assert!(
        errors.contains("c.toml:4:1: calls.ring_time: unknown key"),
        "{errors}"
    );
}
