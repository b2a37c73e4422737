//! `crossbar`, the IP PBX binary. It owns every piece of IO — sockets, clocks, the database —
//! and drives the sans-IO protocol machines of `crossbar-proto` with them.
//!
//! ```text
//! crossbar run --config examples/crossbar.toml   # start the PBX
//! crossbar check examples/crossbar.toml          # validate a configuration file
//! crossbar calls --config examples/crossbar.toml # list call records
//! crossbar extension blocked --config F          # extensions blocked by a fraud cap
//! crossbar extension unblock 201 --config F      # release one
//! crossbar alerts --config F                     # alerts, newest first
//! crossbar trunks --config F                     # trunks: registration, health, calls
//! crossbar route explain --config F --from 201 --to "020 7946 0000"   # the route simulator
//! crossbar token new ops                         # an API token for [http] tokens
//! crossbar report outbound --config examples/crossbar.toml --by trunk  # outbound figures
//! crossbar report inbound --config F --by group  # inbound figures
//! crossbar tc override office-hours closed --config F   # force a time condition closed
//! crossbar blocklist add "+441632960999" --config F       # refuse a caller
//! crossbar report queues --config F --queue support       # queue, agent and callback figures
//! crossbar callbacks list --config F                      # missed callers to call back
//! crossbar agent list --config F                          # queue agents and their state
//! crossbar agent pause 201 --reason lunch --config F      # through the running crossbar
//! ```
//!
//! The subcommands other than `run` and `check` are in [`cli`].

mod agents;
mod bootstrap;
mod cli;
mod engine;
mod http;
mod live;
mod logging;
mod media;
mod notices;
mod persist;
mod records;
mod requests;
mod resolve;
mod retries;
mod transport;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "crossbar", version, about = "crossbar IP PBX")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the PBX with a configuration file.
    Run {
        /// The TOML configuration file.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Check a configuration file and report every error with its file, line and key.
    Check {
        /// The TOML configuration file.
        file: PathBuf,
    },
    /// List call records, newest first, as a table, CSV or JSON.
    Calls(Box<cli::calls::CallsArgs>),
    /// Extensions blocked by a fraud cap: list them, release one.
    #[command(subcommand)]
    Extension(cli::extension::ExtensionCommand),
    /// List alerts (an extension blocked by a fraud cap, ...), newest first.
    Alerts(cli::alerts::AlertsArgs),
    /// SIP trunks: their registration, health and calls, or their changes (--events).
    Trunks(cli::trunks::TrunksArgs),
    /// The route simulator: how a call from an extension to a number would be routed.
    #[command(subcommand)]
    Route(cli::route::RouteCommand),
    /// Tokens that may change state through the HTTP API.
    #[command(subcommand)]
    Token(cli::token::TokenCommand),
    /// Report on the stored calls of a period, as a table, CSV or JSON.
    #[command(subcommand)]
    Report(cli::report::ReportCommand),
    /// Time conditions: list them with their overrides, force one open or closed.
    #[command(subcommand)]
    Tc(cli::tc::TcCommand),
    /// The caller blocklist: list it, add or remove patterns.
    #[command(subcommand)]
    Blocklist(cli::blocklist::BlocklistCommand),
    /// Callback tasks of missed callers: list them, assign or cancel one.
    #[command(subcommand)]
    Callbacks(cli::callbacks::CallbacksCommand),
    /// Queue agents: list them with their stored state; log them in or out, pause or unpause
    /// them through the running crossbar.
    #[command(subcommand)]
    Agent(cli::agent::AgentCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { file } => check(&file),
        Command::Calls(args) => cli::calls::run(*args),
        Command::Extension(command) => cli::extension::run(command),
        Command::Alerts(args) => cli::alerts::run(args),
        Command::Trunks(args) => cli::trunks::run(args),
        Command::Route(command) => cli::route::run(command),
        Command::Token(command) => cli::token::run(command),
        Command::Report(report) => cli::report::run(report),
        Command::Tc(command) => cli::tc::run(command),
        Command::Blocklist(command) => cli::blocklist::run(command),
        Command::Callbacks(command) => cli::callbacks::run(command),
        Command::Agent(command) => cli::agent::run(command),
        Command::Run { config } => {
            let config = match crossbar_config::Config::load(&config) {
                Ok(config) => config,
                Err(errors) => {
                    eprintln!("{errors}");
                    eprintln!(
                        "crossbar: not started: {} error(s) in the configuration",
                        errors.len()
                    );
                    return ExitCode::from(2);
                }
            };
            logging::init(&config.log.level);
            match bootstrap::run(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!("{error:#}");
                    eprintln!("crossbar: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn check(file: &std::path::Path) -> ExitCode {
    match crossbar_config::Config::load(file) {
        Ok(config) => {
            // What `run` loads beside the prompts the file names: the queues' music on hold
            // when a queue names none (`moh`) and the system prompts of queues and agents.
            let unplayable: Vec<String> = crossbar_switch::PromptLibrary::files(&config)
                .iter()
                .filter_map(|path| crossbar_media::Prompt::from_wav(path).err())
                .map(|error| error.to_string())
                .collect();
            if !unplayable.is_empty() {
                for error in &unplayable {
                    eprintln!("{}: prompts: {error}", file.display());
                }
                eprintln!("{}: {} error(s)", file.display(), unplayable.len());
                return ExitCode::from(1);
            }
            println!(
                "{}: ok ({} extension(s))",
                file.display(),
                config.extensions.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{}: {} error(s)", file.display(), errors.len());
            ExitCode::from(1)
        }
    }
}

/// The wall clock, unix milliseconds (0 before 1970, saturating far in the future).
pub(crate) fn unix_ms_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
