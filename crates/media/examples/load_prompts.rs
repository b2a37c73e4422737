//! Loads WAV files the way crossbar does at start ([`Prompt::from_wav`]) and says what each
//! became, so a prompt set can be checked before a server needs it:
//!
//! `cargo run -q -p crossbar-media --example load_prompts -- prompts/en/*.wav`
//!
//! `scripts/prompts.sh --check` runs it on every prompt. Exits with status 1, naming each
//! file that does not load and why, if any does not.

use std::process::ExitCode;

use crossbar_media::Prompt;
use crossbar_media::prompt::{FRAME_SAMPLES, SAMPLE_RATE};

fn main() -> ExitCode {
    let mut loaded = 0usize;
    let mut failed = 0usize;
    for path in std::env::args_os().skip(1) {
        match Prompt::from_wav(&path) {
            Ok(prompt) => {
                let samples = prompt.frames() * FRAME_SAMPLES;
                println!(
                    "{}: {} frames, {:.2} s",
                    prompt.name,
                    prompt.frames(),
                    samples as f64 / f64::from(SAMPLE_RATE)
                );
                loaded += 1;
            }
            Err(error) => {
                eprintln!("{error}");
                failed += 1;
            }
        }
    }
    println!("{loaded} loaded, {failed} failed");
    if failed > 0 || loaded == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
