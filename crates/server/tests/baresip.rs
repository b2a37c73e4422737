//! baresip, a real SIP phone, registers with the example configuration and stays registered
//! across a re-registration.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{REPO, Server, free_port, require_program};

/// The example configuration with only what a test must change: its ports, its own database,
/// a 10 s minimum expiry so baresip's re-registration comes within seconds, and its rate
/// decks and prompts (scripts/prompts.sh) read from the repository.
fn example_config(port: u16) -> String {
    let example = std::fs::read_to_string(format!("{REPO}/examples/crossbar.toml"))
        .expect("examples/crossbar.toml is readable");
    let listen = format!("[\"127.0.0.1:{port}\"]");
    let mut replaced = 0;
    let text: Vec<String> = example
        .lines()
        .map(|line| {
            let key = line.split('=').next().unwrap_or_default().trim();
            let value = match key {
                "listen_udp" | "listen_tcp" => format!("{key} = {listen}"),
                "url" => "url = \"sqlite://data/crossbar.db\"".to_owned(),
                "min_expires" => "min_expires = 10".to_owned(),
                "listen" => "# http listen removed for the test".to_owned(),
                "dir" => format!("dir = \"{REPO}/prompts\""),
                "rates" => {
                    let deck = line.split('"').nth(1).unwrap_or_default();
                    format!("rates = \"{REPO}/examples/{deck}\"")
                }
                _ => return line.to_owned(),
            };
            replaced += 1;
            value
        })
        .collect();
    assert_eq!(
        replaced, 8,
        "the example config changed shape; update this test"
    );
    text.join("\n") + "\n"
}

#[test]
fn baresip_registers_with_the_example_config_and_stays_registered_across_a_reregistration() {
    let baresip = require_program(
        "baresip",
        "run scripts/install-deps.sh (apt-get install baresip)",
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    std::fs::write(dir.path().join("crossbar.toml"), example_config(port)).expect("config");
    let mut server = Server::spawn(
        Command::new(support::CROSSBAR)
            .arg("run")
            .arg("--config")
            .arg(dir.path().join("crossbar.toml")),
        port,
        &dir.path().join("server.log"),
    );
    assert!(
        server
            .wait_for_line("crossbar ready", support::READY_TIMEOUT)
            .is_some(),
        "crossbar did not start:\n{}",
        server.log_text()
    );

    // baresip's configuration: no audio device, no console, one account (extension 201
    // of the example, registering every 10 s).
    let phone = dir.path().join("baresip");
    std::fs::create_dir(&phone).expect("baresip dir");
    let phone_port = free_port();
    std::fs::write(
        phone.join("config"),
        format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{phone_port}\n\
             module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule ausine.so\n\
             module aufile.so\nmodule_app account.so\n\
             audio_player aufile,/dev/null\naudio_source ausine,440\n"
        ),
    )
    .expect("baresip config");
    std::fs::write(
        phone.join("accounts"),
        format!("<sip:201@127.0.0.1:{port};transport=udp>;auth_pass=alice-secret-201;regint=10\n"),
    )
    .expect("baresip accounts");

    // baresip quits by itself after 22 s (registering at 0 s, then refreshing at about 9 s
    // and 18 s), and
    // writes its output when it exits (stdout to a pipe is block-buffered).
    let mut child = Command::new(baresip)
        .arg("-f")
        .arg(&phone)
        .arg("-t")
        .arg("22")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("baresip starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (output_tx, output_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .map(|line| support::strip_ansi(&line))
            .collect();
        let _ = output_tx.send(lines);
    });
    let output = match output_rx.recv_timeout(Duration::from_secs(40)) {
        Ok(lines) => lines,
        Err(_) => {
            let _ = child.kill();
            panic!("baresip did not quit within 40 s");
        }
    };
    let _ = child.wait();
    let registrations: Vec<&String> = output
        .iter()
        .filter(|l| l.contains("201@127.0.0.1") && l.contains("200 OK"))
        .collect();
    assert!(
        output.iter().all(|l| !l.contains("Register:")),
        "baresip reports a failed registration:\n{}",
        output.join("\n")
    );
    // baresip prints a line when its registration state changes, not for each refresh.
    assert_eq!(
        registrations.len(),
        1,
        "baresip did not report its registration; its output:\n{}\nserver log:\n{}",
        output.join("\n"),
        server.log_text()
    );
    assert!(
        registrations[0].contains("(crossbar)") && registrations[0].contains("1 binding"),
        "{}",
        registrations[0]
    );

    // The server saw the same: the registration, refreshed before it expired, and removed
    // only when baresip quit (it unregisters on the way out).
    let registered =
        server.count_lines(|l| l.contains(" registered ") && l.contains("extension=201"));
    assert!(registered >= 2, "server log:\n{}", server.log_text());
    let log = server.lines();
    let first_removal = log.iter().position(|l| l.contains("unregistered"));
    let last_refresh = log.iter().rposition(|l| l.contains(" registered "));
    assert!(
        first_removal.is_none_or(|removal| last_refresh.is_some_and(|r| r < removal)),
        "the binding went away before baresip quit:\n{}",
        server.log_text()
    );
    assert_eq!(
        server.count_lines(|l| l.contains("authentication failed")),
        0,
        "server log:\n{}",
        server.log_text()
    );
    server.signal("TERM");
    let status = server
        .wait_exit(support::STOP_TIMEOUT)
        .expect("crossbar stops");
    assert!(status.success(), "crossbar exit status {status}");
}
