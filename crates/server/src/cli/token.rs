//! `crossbar token new NAME`: a fresh API token and the `[http] tokens` entry that accepts it.
//!
//! The token is 32 bytes from the operating system's random source, printed as URL-safe
//! base64 without padding (43 characters, valid in an `Authorization: Bearer` header,
//! RFC 6750 §2.1). Only its SHA-256 goes in the configuration, so the token is shown once:
//! nothing can print it again. The entry to paste is
//!
//! ```toml
//! [http]
//! tokens = [
//!     { name = "ops", sha256 = "<64 hex digits>" },
//! ]
//! ```
//!
//! The name is logged with every change the token makes. No file is read or written.

use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Args, Subcommand};
use crossbar_api::bearer::token_sha256;
use rand::TryRng as _;
use rand::rngs::SysRng;

/// `crossbar token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new API token and print it with the line to add to [http] tokens.
    New(NewArgs),
}

/// `crossbar token new` options.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The token's name, logged with every change it makes (e.g. ops, noc, billing-sync).
    pub name: String,
}

/// Runs a `crossbar token` subcommand.
pub fn run(command: TokenCommand) -> ExitCode {
    match command {
        TokenCommand::New(args) => new(&args.name),
    }
}

fn new(name: &str) -> ExitCode {
    const COMMAND: &str = "crossbar token new";
    let name = name.trim();
    if let Err(problem) = check_name(name) {
        eprintln!("{COMMAND}: the name {problem}");
        return ExitCode::from(2);
    }
    let mut bytes = [0u8; 32];
    if let Err(error) = SysRng.try_fill_bytes(&mut bytes) {
        eprintln!("{COMMAND}: the system's random source failed: {error}");
        return ExitCode::FAILURE;
    }
    let token = URL_SAFE_NO_PAD.encode(bytes);
    print!("{}", instructions(name, &token));
    ExitCode::SUCCESS
}

/// Why `name` cannot name a token, if it cannot.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.chars().any(char::is_control) {
        return Err("holds a control character");
    }
    Ok(())
}

/// The `[http] tokens` entry accepting `token`: `{ name = "NAME", sha256 = "<hex>" }`.
fn entry(name: &str, token: &str) -> String {
    let hex: String = token_sha256(token)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{{ name = {}, sha256 = \"{hex}\" }}", toml_string(name))
}

/// `text` as a TOML basic string (its quotes and backslashes escaped; control characters
/// are refused before this).
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What `crossbar token new` prints.
fn instructions(name: &str, token: &str) -> String {
    let entry = entry(name, token);
    format!(
        "\
New API token {name:?} (shown once: crossbar keeps only its SHA-256, so copy it now):

    {token}

Add this entry to `tokens` in the [http] section of the configuration and restart crossbar:

    {entry}

for example:

    [http]
    tokens = [
        {entry},
    ]

Clients send it with every change, as the header `Authorization: Bearer {token}`.
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_names_the_token_and_holds_the_sha256_of_its_text() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            entry("ops", "abc"),
            "{ name = \"ops\", sha256 = \
             \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\" }"
        );
    }

    #[test]
    fn quotes_and_backslashes_in_the_name_are_escaped_for_toml() {
        assert_eq!(
            toml_string(r#"ops "night" \ shift"#),
            r#""ops \"night\" \\ shift""#
        );
    }

    #[test]
    fn empty_names_and_control_characters_are_refused() {
        assert_eq!(check_name(""), Err("is empty"));
        assert_eq!(check_name("a\tb"), Err("holds a control character"));
        assert_eq!(check_name("billing-sync"), Ok(()));
    }
}
