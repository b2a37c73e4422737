#!/usr/bin/env bash
# Runs every check crossbar's CI runs: formatting, lints, and the whole test suite —
# unit tests, the RFC 4475/5118 torture messages, storage against SQLite and a real
# PostgreSQL server, and real peers (SIPp, baresip) against the running binary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/prompts.sh --check

if [ ! -d ../shared/sipp ] || [ ! -d ../shared/torture ]; then
  echo "test: ../shared (SIPp scenarios, torture messages) must sit beside this checkout" >&2
  exit 1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== fuzz targets compile (running them: fuzz/README.md)"
cargo check --locked --manifest-path fuzz/Cargo.toml
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast
