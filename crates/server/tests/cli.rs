//! The command line: `crossbar check` exit codes and error format, `crossbar run` refusing a
//! broken configuration before touching the network or the database, and a clean stop on
//! SIGTERM and SIGINT.

mod support;

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::{Command, Output};
use std::time::Duration;

use support::{CROSSBAR, Extension, REPO, Server, Setup, unique};

/// A configuration with one error per line below, each on a known line and column.
const BROKEN: &str = r#"[sip]
listen_udp = ["127.0.0.1:not-a-port"]
tcp_incomplete_timeout_secs = 0

[registrar]
min_expires = "sixty"

[[extension]]
number = "201"
secrt = "alice-secret-201"
"#;

fn crossbar(args: &[&str]) -> Output {
    Command::new(CROSSBAR)
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .expect("the crossbar binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_accepts_the_example_configuration() {
    let example = format!("{REPO}/examples/crossbar.toml");
    let out = crossbar(&["check", &example]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "crossbar check {example}: stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("ok (3 extension(s))"),
        "stdout: {}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).is_empty(),
        "stderr: {}",
        text(&out.stderr)
    );
}

#[test]
fn check_accepts_the_generated_test_configuration() {
    let mut setup = Setup::with_sipp_users(3);
    setup
        .sip_extra
        .push("tcp_incomplete_timeout_secs = 2".into());
    std::fs::write(setup.config_path(), setup.config_text(40_000)).expect("config written");
    let path = setup.config_path().display().to_string();
    let out = crossbar(&["check", &path]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok (3 extension(s))"));
}

#[test]
fn check_reports_every_error_as_file_line_column_key_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, BROKEN).expect("config written");
    let file = path.display().to_string();
    let out = crossbar(&["check", &file]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let expected = [
        format!("{file}:2:15: sip.listen_udp: `127.0.0.1:not-a-port` is not a socket address"),
        format!("{file}:3:31: sip.tcp_incomplete_timeout_secs: must be at least 1, found 0"),
        format!("{file}:6:15: registrar.min_expires: expected an integer, found a string"),
        format!("{file}:8:1: extension[1].secret: missing required key `secret`"),
        format!("{file}:10:1: extension[1].secrt: unknown key `secrt`"),
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), expected.len() + 1, "stderr:\n{stderr}");
    for (line, prefix) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(prefix.as_str()),
            "expected a line starting with\n  {prefix}\ngot\n  {line}\nstderr:\n{stderr}"
        );
    }
    assert_eq!(lines[expected.len()], format!("{file}: 5 error(s)"));
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
}

#[test]
fn check_of_a_missing_file_exits_1_naming_it() {
    let missing = format!("/nonexistent-{}/crossbar.toml", unique());
    let out = crossbar(&["check", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&missing),
        "stderr: {}",
        text(&out.stderr)
    );
}

#[test]
fn run_with_a_broken_configuration_exits_2_without_binding_or_creating_anything() {
    // A listen address that is fine and free, so only the other errors stop it.
    let port = support::free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crossbar.toml");
    let config = format!(
        "[sip]\nlisten_udp = [\"127.0.0.1:{port}\"]\n\n[database]\nurl = \"sqlite://data/crossbar.db\"\n\n\
         [[extension]]\nnumber = \"201\"\nsecret = \"short\"\n"
    );
    std::fs::write(&path, config).expect("config written");
    let file = path.display().to_string();

    let mut server = Server::spawn(
        Command::new(CROSSBAR).args(["run", "--config", &file]),
        port,
        &dir.path().join("run.log"),
    );
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("crossbar run with a broken config exits at once");
    let log = server.log_text();
    assert_eq!(status.code(), Some(2), "log:\n{log}");
    assert!(
        log.contains(&format!("{file}:9:10: extension[1].secret: too short")),
        "the error is reported as file:line:col: key:\n{log}"
    );
    assert!(
        log.lines()
            .last()
            .is_some_and(|l| l == "crossbar: not started: 1 error(s) in the configuration"),
        "log:\n{log}"
    );
    // Nothing was started: no socket, no database, no readiness.
    for never in ["listening on", "crossbar ready", "database open"] {
        assert!(!log.contains(never), "`{never}` logged:\n{log}");
    }
    assert!(
        !dir.path().join("data").exists(),
        "the SQLite database directory was created by a server that must not start"
    );
    assert!(UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
    assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
}

#[test]
fn sigterm_stops_the_server_with_exit_0_and_logs_stopped() {
    let mut setup = Setup::new();
    setup
        .extensions
        .push(Extension::new("201", "201", "alice-secret"));
    let server = setup.start();
    let port = server.port;
    let lines = server.stop(); // asserts exit 0 within the limit and `stopped`
    assert!(
        lines
            .iter()
            .any(|l| l.contains("shutting down") && l.contains("signal=\"SIGTERM\"")),
        "log:\n{}",
        lines.join("\n")
    );
    // Everything was released: the port can be bound again.
    assert!(UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
    assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
}

#[test]
fn sigint_stops_the_server_with_exit_0_and_logs_stopped() {
    let setup = Setup::new();
    let mut server = setup.start();
    server.signal("INT");
    let status = server
        .wait_exit(support::STOP_TIMEOUT)
        .expect("crossbar exits after SIGINT");
    let log = server.log_text();
    assert_eq!(status.code(), Some(0), "log:\n{log}");
    assert!(log.contains("signal=\"SIGINT\""), "log:\n{log}");
    assert!(
        log.lines().last().is_some_and(|l| l.ends_with(" stopped")),
        "log:\n{log}"
    );
}
