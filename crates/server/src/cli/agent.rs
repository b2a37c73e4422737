//! `crossbar agent`: queue agents as the database keeps them.
//!
//! ```text
//! crossbar agent list --config F [--format table|json]
//! ```
//!
//! `list` shows every agent's place in every queue — the configuration's static members
//! (logged out until the database says otherwise), then the dynamic members the database
//! holds — with whether it is logged in and its pause, as `GET /api/agents` does (its JSON is
//! that route's agents). It reads what the running crossbar last stored: the state survives
//! a restart.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use crossbar_api::queues::{AgentView, agent_views};
use jiff::tz::TimeZone;

use super::{ListFormat, local_time, with_newline};

/// `crossbar agent` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// List every agent of every queue: member or dynamic, penalty, logged in, paused.
    List(ListArgs),
}

/// `crossbar agent list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The TOML configuration file (its [[queue]] members are listed, its [database] read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Runs a `crossbar agent` subcommand.
pub fn run(command: AgentCommand) -> ExitCode {
    match command {
        AgentCommand::List(args) => list(args),
    }
}

fn list(args: ListArgs) -> ExitCode {
    const COMMAND: &str = "crossbar agent list";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let states = super::with_store(&config, async |store| Ok(store.agent_states().await?));
    let text = states.and_then(|states| {
        let views = agent_views(&config.queues, &states);
        Ok(match args.format {
            ListFormat::Table => table(&views, &timezone),
            ListFormat::Json => with_newline(serde_json::to_string_pretty(&views)?),
        })
    });
    super::print_or_fail(COMMAND, text)
}

fn table(agents: &[AgentView], tz: &TimeZone) -> String {
    if agents.is_empty() {
        return "no queue agent\n".to_owned();
    }
    let dash = || "-".to_owned();
    let rows: Vec<[String; 7]> = agents
        .iter()
        .map(|a| {
            let pause = if a.paused {
                let reason = a.pause_reason.clone().unwrap_or_else(|| "no reason".into());
                match a.paused_since_ms {
                    Some(ms) => format!("{reason} since {}", local_time(ms, tz, false)),
                    None => reason,
                }
            } else {
                dash()
            };
            [
                a.agent.clone(),
                a.queue.clone(),
                if a.static_member { "static" } else { "dynamic" }.to_owned(),
                a.penalty.to_string(),
                if a.logged_in {
                    "logged in"
                } else {
                    "logged out"
                }
                .to_owned(),
                a.since_ms.map_or_else(dash, |ms| local_time(ms, tz, false)),
                pause,
            ]
        })
        .collect();
    super::table(
        &[
            "AGENT", "QUEUE", "MEMBER", "PENALTY", "STATE", "SINCE", "PAUSED",
        ],
        &[false, false, false, true, false, false, false],
        &rows,
    )
}
