//! baresip, a real SIP phone, run by a test: a configuration directory of its own, a console
//! (the `cons` module) on a UDP port for commands, and its output collected when it exits
//! (stdout to a pipe is block-buffered, so nothing can be read while it runs).

use std::io::Read;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{free_port, require_program, strip_ansi};

/// A running baresip process. Killed if dropped while running.
pub struct Baresip {
    child: Child,
    console_port: u16,
    output: mpsc::Receiver<String>,
    name: String,
    config: PathBuf,
}

impl Baresip {
    /// Starts baresip `name` (its configuration in `dir/name`) for `account` (a line of its
    /// `accounts` file) with `args` (`-e` commands) and `extra_config` (more lines of its
    /// `config` file, e.g. more modules); it quits by itself after `quit_after` at the latest.
    pub fn start(
        dir: &Path,
        name: &str,
        account: &str,
        extra_config: &str,
        args: &[&str],
        quit_after: Duration,
    ) -> Baresip {
        let baresip = require_program(
            "baresip",
            "run scripts/install-deps.sh (apt-get install baresip)",
        );
        let config = dir.join(name);
        std::fs::create_dir(&config).expect("baresip dir");
        let sip_port = free_port();
        let console_port = free_port();
        // No sound card: a 440 Hz tone as the microphone (ausine only makes 48 kHz stereo;
        // baresip resamples to PCMU's 8 kHz mono), and what is heard goes to an aubridge
        // device that nothing reads. `menu` has the commands (`/dial`, `/hangup`,
        // `/sndcode`, `/quit`), `cons` takes them over UDP, `rtcpsummary` prints the call's
        // RTP statistics when it ends.
        std::fs::write(
            config.join("config"),
            format!(
                "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\n\
                 module_path /usr/lib/baresip/modules\n\
                 module g711.so\nmodule ausine.so\nmodule aubridge.so\n\
                 module menu.so\nmodule cons.so\nmodule rtcpsummary.so\n\
                 module_app account.so\n\
                 cons_listen 127.0.0.1:{console_port}\n\
                 audio_source ausine,440\naudio_player aubridge,nowhere\n\
                 ausrc_srate 48000\nausrc_channels 2\nauplay_srate 48000\nauplay_channels 2\n\
                 {extra_config}"
            ),
        )
        .expect("baresip config");
        std::fs::write(config.join("accounts"), format!("{account}\n")).expect("accounts");
        let mut child = Command::new(baresip)
            .arg("-f")
            .arg(&config)
            .arg("-t")
            .arg(quit_after.as_secs().to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("baresip starts");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            // The status line is redrawn with `\r`; make each redraw a line of its own.
            let text = String::from_utf8_lossy(&bytes).replace('\r', "\n");
            let _ = tx.send(strip_ansi(&text));
        });
        Baresip {
            child,
            console_port,
            output,
            name: name.to_owned(),
            config,
        }
    }

    /// Its configuration directory (where a `snd_path` of `extra_config` may point).
    pub fn config_dir(&self) -> &Path {
        &self.config
    }

    /// Types `command` on the phone's console.
    pub fn command(&self, command: &str) {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("a UDP socket");
        socket
            .send_to(
                format!("{command}\n").as_bytes(),
                (Ipv4Addr::LOCALHOST, self.console_port),
            )
            .expect("the console command is sent");
    }

    /// Asks baresip to quit and returns its output once it has; kills it after `limit`.
    pub fn quit(mut self, limit: Duration) -> String {
        self.command("/quit");
        match self.output.recv_timeout(limit) {
            Ok(output) => {
                let _ = self.child.wait();
                output
            }
            Err(_) => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let output = self.output.recv_timeout(Duration::from_secs(5));
                panic!(
                    "baresip {} did not quit within {limit:?}; output:\n{}",
                    self.name,
                    output.unwrap_or_default()
                );
            }
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `rtcpsummary` line of a call (`EX=BareSip;CS=..;CD=..;PR=..;PS=..;...`): packets
/// received and sent, as the phone's RTCP statistics counted them.
pub fn rtcp_summary(output: &str, phone: &str) -> (u64, u64) {
    let line = output
        .lines()
        .find(|l| l.contains("EX=BareSip;CS="))
        .unwrap_or_else(|| panic!("{phone} printed no RTCP summary; its output:\n{output}"));
    let field = |name: &str| -> u64 {
        line.split(';')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    (field("PR"), field("PS"))
}
