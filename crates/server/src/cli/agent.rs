//! `crossbar agent`: queue agents as the database keeps them, and changed through the running
//! crossbar.
//!
//! ```text
//! crossbar agent list --config F [--format table|json]
//! crossbar agent login 201 [--queue support] [--penalty N] --config F [--format table|json]
//! crossbar agent logout 201 [--queue support] --config F
//! crossbar agent pause 201 [--reason lunch] --config F
//! crossbar agent unpause 201 --config F
//! ```
//!
//! `list` shows every agent's place in every queue — the configuration's static members
//! (logged out until the database says otherwise), then the dynamic members the database
//! holds — with whether it is logged in and its pause, as `GET /api/agents` does (its JSON is
//! that route's agents). It reads what the running crossbar last stored: the state survives
//! a restart.
//!
//! `login`, `logout`, `pause` and `unpause` ask the running crossbar, as `POST
//! /api/agents/{ext}/login|logout|pause|unpause` do: the request is written to the database
//! the configuration names, the engine takes it (within a third of a second), applies it and
//! writes the outcome back, which the command waits for (at most 2 s) and prints — the agent's
//! new state, or why the switch refused. Without a queue, `login` logs in to every queue the
//! agent is a member of and `logout` out of every queue; `--penalty` sets the agent's tier in
//! the queue named. Exit status: 0 done; 1 refused (an agent that is not logged in), or the
//! database failed; 2 an extension, queue or reason the configuration does not have; 3 no
//! crossbar took the request within 2 s — it is not running with this database, or is
//! stuck: the request stays queued and a crossbar that starts within 60 s of it applies it,
//! else it expires.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use crossbar_api::live::{LiveAgent, LiveState};
use crossbar_api::queues::{AgentView, agent_views};
use crossbar_api::requests::{
    AgentRules, REQUEST_TTL_MS, REQUEST_WAIT, RequestView, submit_and_wait,
};
use crossbar_store::{RequestOutcome, StoredRequest, SwitchRequest};
use jiff::tz::TimeZone;

use super::{ListFormat, local_time, with_newline};

/// `crossbar agent` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// List every agent of every queue: member or dynamic, penalty, logged in, paused.
    List(ListArgs),
    /// Log an agent in: to one queue, or to every queue it is a member of.
    Login(LoginArgs),
    /// Log an agent out: of one queue, or of every queue.
    Logout(LogoutArgs),
    /// Pause an agent in every queue (no calls offered), with a reason.
    Pause(PauseArgs),
    /// End an agent's pause.
    Unpause(UnpauseArgs),
}

/// What every change names: the agent, the configuration, the output's form.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// The agent's extension number.
    pub agent: String,
    /// The TOML configuration file (its [database] is where the running crossbar reads
    /// requests).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// How to print the outcome (json: the answer of the API's route).
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `crossbar agent login` options.
#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The queue (else every queue the agent is a member of).
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    /// The agent's tier in the queue (lower is offered first); needs --queue.
    #[arg(long, value_name = "N", requires = "queue")]
    pub penalty: Option<u32>,
}

/// `crossbar agent logout` options.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The queue (else every queue).
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
}

/// `crossbar agent pause` options.
#[derive(Debug, Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// Why: one of [agents] pause_reasons.
    #[arg(long, value_name = "REASON")]
    pub reason: Option<String>,
}

/// `crossbar agent unpause` options.
#[derive(Debug, Args)]
pub struct UnpauseArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
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
        AgentCommand::Login(args) => {
            let request = SwitchRequest::AgentLogin {
                agent: args.change.agent.clone(),
                queue: args.queue,
                penalty: args.penalty,
            };
            change("crossbar agent login", &args.change, request)
        }
        AgentCommand::Logout(args) => {
            let request = SwitchRequest::AgentLogout {
                agent: args.change.agent.clone(),
                queue: args.queue,
            };
            change("crossbar agent logout", &args.change, request)
        }
        AgentCommand::Pause(args) => {
            let request = SwitchRequest::AgentPause {
                agent: args.change.agent.clone(),
                reason: args.reason,
            };
            change("crossbar agent pause", &args.change, request)
        }
        AgentCommand::Unpause(args) => {
            let request = SwitchRequest::AgentUnpause {
                agent: args.change.agent.clone(),
            };
            change("crossbar agent unpause", &args.change, request)
        }
    }
}

/// Exit status when no crossbar took the request in time.
const NOT_TAKEN: u8 = 3;

/// Asks the running crossbar for `request` and prints its outcome.
fn change(command: &str, args: &ChangeArgs, request: SwitchRequest) -> ExitCode {
    let config = match super::load_config(command, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(command, &config);
    let extensions: BTreeSet<String> = config.extensions.iter().map(|e| e.number.clone()).collect();
    let pause_reasons: Vec<String> = config
        .agents
        .pause_reasons
        .iter()
        .map(|(_, reason)| reason.clone())
        .collect();
    let rules = AgentRules {
        extensions: &extensions,
        queues: &config.queues,
        pause_reasons: &pause_reasons,
    };
    if let Err(error) = rules.check(&request) {
        eprintln!("{command}: --{error}");
        return ExitCode::from(2);
    }
    let by = super::operator();
    let now_ms = crate::unix_ms_now();
    let asked = super::with_store(&config, async |store| {
        submit_and_wait(&store, &request, &by, now_ms, None, REQUEST_WAIT)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the request vanished from the database"))
    });
    let stored = match asked {
        Ok(stored) => stored,
        Err(error) => {
            eprintln!("{command}: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    if args.format == ListFormat::Json {
        let answer = serde_json::json!({
            "agent": RequestView::from(&stored).result,
            "request": RequestView::from(&stored),
        });
        match serde_json::to_string_pretty(&answer) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("{command}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    outcome(command, args, &stored, &timezone)
}

/// Says what became of the request (the agent's state on stdout unless printed as JSON, why
/// not on stderr) and gives the exit status.
fn outcome(command: &str, args: &ChangeArgs, stored: &StoredRequest, tz: &TimeZone) -> ExitCode {
    let why = || stored.error.clone().unwrap_or_default();
    match stored.outcome {
        Some(RequestOutcome::Done) => {
            if args.format == ListFormat::Table {
                let agent: Option<LiveAgent> = stored
                    .result
                    .as_deref()
                    .and_then(|text| serde_json::from_str(text).ok());
                match agent {
                    Some(agent) => println!("{}", agent_line(&agent, tz)),
                    None => println!("agent {}: done", args.agent),
                }
            }
            ExitCode::SUCCESS
        }
        Some(RequestOutcome::Refused | RequestOutcome::Invalid) => {
            eprintln!("{command}: {}", why());
            ExitCode::FAILURE
        }
        Some(outcome @ (RequestOutcome::Expired | RequestOutcome::Failed)) => {
            eprintln!("{command}: request {} {outcome}: {}", stored.id, why());
            ExitCode::FAILURE
        }
        None => {
            let state = if stored.taken_at_ms.is_some() {
                "took it but has not finished it"
            } else {
                "has not taken it: is crossbar running with this configuration's database?"
            };
            eprintln!(
                "{command}: request {} asked; after {} s crossbar {state} The request stays \
                 queued until {}: a crossbar running by then applies it (`crossbar agent list` \
                 shows the agents' state); after that it expires.",
                stored.id,
                REQUEST_WAIT.as_secs(),
                local_time(stored.requested_at_ms + REQUEST_TTL_MS, tz, false),
            );
            ExitCode::from(NOT_TAKEN)
        }
    }
}

/// An agent's state in one line: `201: paused (lunch) since 2026-11-21 12:00:00; logged in to
/// support (penalty 0)`.
fn agent_line(agent: &LiveAgent, tz: &TimeZone) -> String {
    let time = |ms: Option<i64>| ms.map(|ms| local_time(ms, tz, false));
    let state = match agent.state {
        LiveState::LoggedOut => "logged out".to_owned(),
        LiveState::Available => "available".to_owned(),
        LiveState::Ringing => format!(
            "ringing with a caller of {}",
            agent.queue.as_deref().unwrap_or("a queue")
        ),
        LiveState::OnCall => format!(
            "on a call from {}",
            agent.queue.as_deref().unwrap_or("a queue")
        ),
        LiveState::WrapUp => match time(agent.until_ms) {
            Some(until) => format!("wrapping up until {until}"),
            None => "wrapping up".to_owned(),
        },
        LiveState::Paused => {
            let reason = agent.pause_reason.as_deref().unwrap_or("no reason");
            match time(agent.since_ms) {
                Some(since) => format!("paused ({reason}) since {since}"),
                None => format!("paused ({reason})"),
            }
        }
    };
    if agent.queues.is_empty() {
        return format!("{}: {state}", agent.agent);
    }
    let queues: Vec<String> = agent
        .queues
        .iter()
        .map(|q| format!("{} (penalty {})", q.queue, q.penalty))
        .collect();
    format!(
        "{}: {state}; logged in to {}",
        agent.agent,
        queues.join(", ")
    )
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
