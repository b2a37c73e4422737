//! `crossbar extension`: the extensions blocked by a class-of-service fraud cap.
//!
//! ```text
//! crossbar extension blocked --config F [--format table|json]
//! crossbar extension unblock 201 --config F
//! ```
//!
//! `blocked` lists the blocks in force (the JSON form is `GET /api/extensions/blocked`'s).
//! `unblock` releases an extension's block, recording `cli:$USER` as who released it, and
//! prints what it released — or why not, exiting 1 if the extension was not blocked and 2
//! if the number is not an extension of the configuration.
//!
//! Both only touch the database, so they work whether crossbar is running or not: a running
//! crossbar re-reads the blocked extensions every 2 seconds, so a released extension may call
//! out again within 2 seconds.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use crossbar_api::control::BlockView;
use crossbar_store::Block;
use jiff::tz::TimeZone;

use super::{ListFormat, local_time, with_newline};

/// `crossbar extension` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExtensionCommand {
    /// List the extensions a fraud cap blocked from calling out.
    Blocked(BlockedArgs),
    /// Release the block a fraud cap set on an extension, so it may call out again.
    Unblock(UnblockArgs),
}

/// `crossbar extension blocked` options.
#[derive(Debug, Args)]
pub struct BlockedArgs {
    /// The TOML configuration file (its [database] is read).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// How to print them.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `crossbar extension unblock` options.
#[derive(Debug, Args)]
pub struct UnblockArgs {
    /// The extension's number.
    pub number: String,
    /// The TOML configuration file (its [database] is written).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Runs a `crossbar extension` subcommand.
pub fn run(command: ExtensionCommand) -> ExitCode {
    match command {
        ExtensionCommand::Blocked(args) => blocked(args),
        ExtensionCommand::Unblock(args) => unblock(args),
    }
}

fn blocked(args: BlockedArgs) -> ExitCode {
    const COMMAND: &str = "crossbar extension blocked";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let timezone = super::site_timezone(COMMAND, &config);
    let listed = super::with_store(&config, |store| async move {
        Ok(store.blocked_extensions().await?)
    });
    let text = listed.and_then(|blocks| {
        Ok(match args.format {
            ListFormat::Table => blocked_table(&blocks, &timezone),
            ListFormat::Json => {
                let views: Vec<BlockView> = blocks.into_iter().map(BlockView::from).collect();
                with_newline(serde_json::to_string_pretty(&views)?)
            }
        })
    });
    super::print_or_fail(COMMAND, text)
}

fn blocked_table(blocks: &[Block], tz: &TimeZone) -> String {
    if blocks.is_empty() {
        return "no extension is blocked\n".to_owned();
    }
    let rows: Vec<[String; 3]> = blocks
        .iter()
        .map(|b| {
            [
                b.extension.clone(),
                local_time(b.blocked_at_ms, tz, false),
                b.reason.clone(),
            ]
        })
        .collect();
    let mut out = super::table(
        &["EXTENSION", "BLOCKED SINCE", "REASON"],
        &[false; 3],
        &rows,
    );
    let noun = if blocks.len() == 1 {
        "extension"
    } else {
        "extensions"
    };
    writeln!(out, "{} {noun} blocked", blocks.len()).expect("writing to a String");
    out
}

fn unblock(args: UnblockArgs) -> ExitCode {
    const COMMAND: &str = "crossbar extension unblock";
    let config = match super::load_config(COMMAND, &args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let number = args.number.trim().to_owned();
    if !config.extensions.iter().any(|e| e.number == number) {
        eprintln!(
            "{COMMAND}: {number} is not an extension of {}",
            args.config.display()
        );
        return ExitCode::from(2);
    }
    let timezone = super::site_timezone(COMMAND, &config);
    let by = super::operator();
    let released = super::with_store(&config, |store| async move {
        Ok(store
            .unblock_extension(&number, &by, crate::unix_ms_now())
            .await?)
    });
    match released {
        Ok(Some(block)) => {
            println!(
                "released extension {}: blocked since {} for: {}",
                block.extension,
                local_time(block.blocked_at_ms, &timezone, false),
                block.reason
            );
            println!("a running crossbar lets it call out again within 2 seconds");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!(
                "{COMMAND}: extension {} is not blocked; nothing released",
                args.number.trim()
            );
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{COMMAND}: {error:#}");
            ExitCode::FAILURE
        }
    }
}
