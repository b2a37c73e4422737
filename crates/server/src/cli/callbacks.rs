//! `crossbar callbacks`: the callback tasks missed calls opened (DESIGN.md §2, issue 9) —
//! listed, assigned and cancelled.
//!
//! ```text
//! crossbar callbacks list --config F [--state open|completed|cancelled|unreached|all]
//!     [--agent N] [--queue NAME] [--number E164] [--limit N] [--format table|csv|json]
//! crossbar callbacks assign ID (--agent N | --queue NAME | --nobody) --config F
//! crossbar callbacks cancel ID --config F
//! crossbar callbacks dial ID [--agent N] --config F [--format table|json]
//! ```
//!
//! `list` shows the open tasks unless `--state` says otherwise, newest first, filtered as
//! `GET /api/callbacks` filters them; its JSON is that route's tasks. `assign` and `cancel`
//! change an open task as `POST /api/callbacks/{id}/assign` and `/cancel` do (`cancel`
//! records `cli:$USER` as who); a task that is not open, or no task with that id, changes
//! nothing and exits 1; an agent that is not an extension of the configuration, or a queue
//! that is not one of its queues, exits 2.
//!
//! `dial` asks the running crossbar, as `POST /api/callbacks/{id}/dial` does (through the
//! database, `switch_requests`), to ring the agent (`--agent`, else the task's assigned agent)
//! and then call the customer back from the DID they called. It exits 0 once the agent's
//! phones ring (printing the call's id), 1 when crossbar refused (the agent has no registered
//! phone, is busy, the number is denied...) or when the task is not open or does not exist, 2
//! for an agent that is not an extension of the configuration or no agent at all, and 3 when
//! no crossbar took the request within 2 s (it stays queued until it expires), as
//! `crossbar agent` does.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use crossbar_api::filter::CallbackQuery;
use crossbar_api::queues::TaskView;
use crossbar_api::requests::{
    DialRefusal, REQUEST_TTL_MS, REQUEST_WAIT, RequestView, callback_dial, submit_and_wait,
};
use crossbar_store::{Assignee, CallbackTask, RequestOutcome, StoredRequest, TaskEdit};
use jiff::tz::TimeZone;

use super::{field, local_time, with_newline};

/// `crossbar callbacks` subcommands.
#[derive(Debug, Subcommand)]
pub enum CallbacksCommand {
    /// List callback tasks, newest first (the open ones unless --state says otherwise).
    List(ListArgs),
    /// Give an open task to an agent or a queue (or to nobody).
    Assign(AssignArgs),
    /// Close an open task without calling back.
    Cancel(CancelArgs),
    /// Call the customer back now: ring the agent, then dial the customer (asks the running
    /// crossbar).
    Dial(DialArgs),
}

/// `crossbar callbacks dial` options.
#[derive(Debug, Args)]
pub struct DialArgs {
    /// The task's id, as `crossbar callbacks list` shows it.
    pub id: i64,
    /// The agent who calls back (an extension of the configuration); default: the task's
    /// assigned agent.
    #[arg(long, value_name = "N")]
    pub agent: Option<String>,
    /// The TOML configuration file (its [database] is written).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value_t = super::ListFormat::Table)]
    pub format: super::ListFormat,
}

/// `crossbar callbacks list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The TOML configuration file (its [database] is read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// open (the default), completed, cancelled, unreached or all.
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// Tasks assigned to this agent.
    #[arg(long, value_name = "N")]
    pub agent: Option<String>,
    /// Tasks assigned to this queue.
    #[arg(long, value_name = "NAME")]
    pub queue: Option<String>,
    /// Tasks for this number.
    #[arg(long, value_name = "E164")]
    pub number: Option<String>,
    /// At most this many tasks (0..=1000).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for reading.
    Table,
    /// One row per task with a header row.
    Csv,
    /// An array of tasks, as `GET /api/callbacks` gives them.
    Json,
}

/// `crossbar callbacks assign` options.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// The task's id, as `crossbar callbacks list` shows it.
    pub id: i64,
    /// Give it to this agent (an extension of the configuration).
    #[arg(long, value_name = "N", conflicts_with_all = ["queue", "nobody"])]
    pub agent: Option<String>,
    /// Give it to the agents of this queue.
    #[arg(long, value_name = "NAME", conflicts_with = "nobody")]
    pub queue: Option<String>,
    /// Take it back from whoever has it.
    #[arg(long)]
    pub nobody: bool,
    /// The TOML configuration file (its [database] is written).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `crossbar callbacks cancel` options.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The task's id, as `crossbar callbacks list` shows it.
    pub id: i64,
    /// The TOML configuration file (its [database] is written).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Runs a `crossbar callbacks` subcommand.
pub fn run(command: CallbacksCommand) -> ExitCode {
    match command {
        CallbacksCommand::List(args) => list(args),
        CallbacksCommand::Assign(args) => assign(args),
        CallbacksCommand::Cancel(args) => cancel(args),
        CallbacksCommand::Dial(args) => dial(args),
    }
}

fn list(args: ListArgs) -> ExitCode {
    const COMMAND: &str = "crossbar callbacks list";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let query = CallbackQuery {
        state: args.state.clone(),
        agent: args.agent.clone(),
        queue: args.queue.clone(),
        number: args.number.clone(),
        limit: Some(args.limit.to_string()),
        offset: None,
    };
    let (filter, page) = match query.to_filter() {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("{COMMAND}: --{error}");
            return ExitCode::from(2);
        }
    };
    let tasks = super::with_store(&config, async |store| {
        Ok(store.callback_tasks(&filter, page).await?)
    });
    let text = tasks.and_then(|tasks| {
        let views: Vec<TaskView> = tasks.iter().map(TaskView::from).collect();
        Ok(match args.format {
            Format::Table => table(&views, &timezone),
            Format::Csv => csv(&views),
            Format::Json => {
                with_newline(serde_json::to_string_pretty(&views).context("formatting tasks")?)
            }
        })
    });
    super::print_or_fail(COMMAND, text)
}

/// Who has a task, in words.
fn assigned(task: &TaskView) -> String {
    match (&task.assigned_agent, &task.assigned_queue) {
        (Some(agent), _) => format!("agent {agent}"),
        (None, Some(queue)) => format!("queue {queue}"),
        (None, None) => "-".to_owned(),
    }
}

fn table(tasks: &[TaskView], tz: &TimeZone) -> String {
    if tasks.is_empty() {
        return "no callback task\n".to_owned();
    }
    let dash = || "-".to_owned();
    let time = |ms: Option<i64>| ms.map_or_else(dash, |ms| local_time(ms, tz, false));
    let rows: Vec<[String; 10]> = tasks
        .iter()
        .map(|t| {
            [
                t.id.to_string(),
                t.number.clone(),
                t.state.to_owned(),
                time(Some(t.opened_at_ms)),
                t.misses.to_string(),
                t.queue.clone().unwrap_or_else(dash),
                t.did.clone().unwrap_or_else(dash),
                assigned(t),
                t.attempts.to_string(),
                match t.state {
                    "open" => time(t.next_attempt_at_ms),
                    _ => time(t.closed_at_ms),
                },
            ]
        })
        .collect();
    let mut out = super::table(
        &[
            "ID",
            "NUMBER",
            "STATE",
            "FIRST MISSED",
            "MISSES",
            "QUEUE",
            "DID",
            "ASSIGNED",
            "ATTEMPTS",
            "NEXT TRY / CLOSED",
        ],
        &[
            true, false, false, false, true, false, false, false, true, false,
        ],
        &rows,
    );
    let noun = if tasks.len() == 1 { "task" } else { "tasks" };
    out.push_str(&format!("{} {noun}\n", tasks.len()));
    out
}

fn csv(tasks: &[TaskView]) -> String {
    let mut out = String::from(
        "id,number,state,opened_at_ms,last_miss_at_ms,misses,did,queue,assigned_agent,\
         assigned_queue,attempts,next_attempt_at_ms,closed_at_ms,completed_by_call,closed_by\n",
    );
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let number = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    for t in tasks {
        let cells = [
            t.id.to_string(),
            t.number.clone(),
            t.state.to_owned(),
            t.opened_at_ms.to_string(),
            t.last_miss_at_ms.to_string(),
            t.misses.to_string(),
            text(&t.did),
            text(&t.queue),
            text(&t.assigned_agent),
            text(&t.assigned_queue),
            t.attempts.to_string(),
            number(t.next_attempt_at_ms),
            number(t.closed_at_ms),
            text(&t.completed_by_call),
            text(&t.closed_by),
        ];
        let fields: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Prints what became of a change to task `id`: 0 when done, 1 when there is no such task or
/// it is not open (or the database failed).
fn edit_outcome(command: &str, id: i64, outcome: anyhow::Result<TaskEdit>, done: &str) -> ExitCode {
    let line = |task: &CallbackTask| {
        format!(
            "callback task {id} ({}, {}): {}",
            task.number,
            task.state,
            assigned(&TaskView::from(task))
        )
    };
    match outcome {
        Ok(TaskEdit::Done(task)) => {
            println!("{done} {}", line(&task));
            ExitCode::SUCCESS
        }
        Ok(TaskEdit::NotFound) => {
            eprintln!("{command}: no callback task {id}");
            ExitCode::FAILURE
        }
        Ok(TaskEdit::NotOpen(task)) => {
            eprintln!(
                "{command}: callback task {id} is {}: only an open task can be changed",
                task.state
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{command}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn assign(args: AssignArgs) -> ExitCode {
    const COMMAND: &str = "crossbar callbacks assign";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let to = match (&args.agent, &args.queue, args.nobody) {
        (Some(agent), _, _) => {
            if !config.extensions.iter().any(|e| &e.number == agent) {
                eprintln!("{COMMAND}: --agent: {agent} is not an extension of the configuration");
                return ExitCode::from(2);
            }
            Some(Assignee::Agent(agent.clone()))
        }
        (None, Some(queue), _) => {
            if !config.queues.iter().any(|q| &q.name == queue) {
                eprintln!("{COMMAND}: --queue: {queue} is not a queue of the configuration");
                return ExitCode::from(2);
            }
            Some(Assignee::Queue(queue.clone()))
        }
        (None, None, true) => None,
        (None, None, false) => {
            eprintln!("{COMMAND}: say who gets the task: --agent N, --queue NAME or --nobody");
            return ExitCode::from(2);
        }
    };
    let outcome = super::with_store(&config, async |store| {
        Ok(store.assign_callback(args.id, to.as_ref()).await?)
    });
    edit_outcome(COMMAND, args.id, outcome, "assigned")
}

fn cancel(args: CancelArgs) -> ExitCode {
    const COMMAND: &str = "crossbar callbacks cancel";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let by = super::operator();
    let outcome = super::with_store(&config, async |store| {
        Ok(store
            .cancel_callback(args.id, &by, crate::unix_ms_now())
            .await?)
    });
    edit_outcome(COMMAND, args.id, outcome, "cancelled")
}

/// What `dial` found before asking crossbar, or the request as it stood after waiting.
enum Dialled {
    NoTask,
    Refusal(DialRefusal),
    Asked(StoredRequest),
}

fn dial(args: DialArgs) -> ExitCode {
    const COMMAND: &str = "crossbar callbacks dial";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let extensions: BTreeSet<String> = config.extensions.iter().map(|e| e.number.clone()).collect();
    let by = super::operator();
    let now_ms = crate::unix_ms_now();
    let dialled = super::with_store(&config, async |store| {
        let Some(detail) = store.callback_task(args.id).await? else {
            return Ok(Dialled::NoTask);
        };
        let request = match callback_dial(&detail.task, args.agent.as_deref(), &extensions) {
            Ok(request) => request,
            Err(refusal) => return Ok(Dialled::Refusal(refusal)),
        };
        let stored = submit_and_wait(&store, &request, &by, now_ms, None, REQUEST_WAIT)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the request vanished from the database"))?;
        Ok(Dialled::Asked(stored))
    });
    let stored = match dialled {
        Ok(Dialled::Asked(stored)) => stored,
        Ok(Dialled::NoTask) => {
            eprintln!("{COMMAND}: no callback task {}", args.id);
            return ExitCode::FAILURE;
        }
        Ok(Dialled::Refusal(refusal @ DialRefusal::NotOpen { .. })) => {
            eprintln!("{COMMAND}: {refusal}");
            return ExitCode::FAILURE;
        }
        Ok(Dialled::Refusal(refusal)) => {
            eprintln!("{COMMAND}: --{refusal}");
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("{COMMAND}: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let view = RequestView::from(&stored);
    let call = view
        .result
        .as_ref()
        .and_then(|r| r.get("call"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    if args.format == super::ListFormat::Json {
        let answer = serde_json::json!({ "call": call, "request": view });
        match serde_json::to_string_pretty(&answer) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("{COMMAND}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let why = || stored.error.clone().unwrap_or_default();
    match stored.outcome {
        Some(RequestOutcome::Done) => {
            if args.format == super::ListFormat::Table {
                let agent = stored
                    .request()
                    .ok()
                    .and_then(|r| r.agent().map(str::to_owned))
                    .unwrap_or_default();
                println!(
                    "callback task {}: ringing {agent}, then the customer: call {}",
                    args.id,
                    call.as_deref().unwrap_or("?")
                );
            }
            ExitCode::SUCCESS
        }
        Some(RequestOutcome::Refused | RequestOutcome::Invalid) => {
            eprintln!("{COMMAND}: {}", why());
            ExitCode::FAILURE
        }
        Some(outcome @ (RequestOutcome::Expired | RequestOutcome::Failed)) => {
            eprintln!("{COMMAND}: request {} {outcome}: {}", stored.id, why());
            ExitCode::FAILURE
        }
        None => {
            eprintln!(
                "{COMMAND}: request {} asked; after {} s crossbar has not taken it: is crossbar \
                 running with this configuration's database? The request stays queued until {}: \
                 a crossbar running by then dials the task; after that it expires.",
                stored.id,
                REQUEST_WAIT.as_secs(),
                local_time(stored.requested_at_ms + REQUEST_TTL_MS, &timezone, false),
            );
            ExitCode::from(3)
        }
    }
}
