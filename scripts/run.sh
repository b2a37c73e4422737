#!/usr/bin/env bash
# Builds crossbar (release) and runs it with the example configuration: a registrar on
# UDP and TCP port 5060 with extensions 201-203, bindings kept in var/crossbar.db (SQLite,
# created and migrated at start), and the example menu's prompts (scripts/prompts.sh, spoken
# once by espeak-ng). Pass another config file as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-examples/crossbar.toml}"
scripts/prompts.sh
cargo build --release --locked -p crossbar
target/release/crossbar check "$config"
exec target/release/crossbar run --config "$config"
