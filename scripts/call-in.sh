#!/usr/bin/env bash
# Places an incoming call into the example's DID as carrier-a would: SIPp sends the INVITE
# from 127.0.0.2 (carrier-a's `inbound_addresses` in examples/crossbar.toml) to crossbar on
# 127.0.0.1:5060. In office hours the menu answers; after 4 s of the greeting the caller
# presses DIGIT (SIP INFO) and the chosen phone rings: 1 → the sales hunt group (201, then
# 202), 2 → the support queue (202, 203), 0 → 201. Closed (nights, weekends, holidays) the call rings 201 at once.
#
#   scripts/call-in.sh [DIGIT] [DID] [CALLER]     # defaults: 1 +442079460000 +447700900123
#
# The caller stays on the line up to 60 s (or until the phone hangs up). Then see the record:
#   target/release/crossbar calls --config examples/crossbar.toml --direction inbound
# Needs SIPp (Debian package sip-tester; scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sipp >/dev/null || { echo "call-in: sipp missing (apt-get install sip-tester)" >&2; exit 1; }
digit=${1:-1}
did=${2:-+442079460000}
caller=${3:-+447700900123}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
exec sipp -sf "$OLDPWD/examples/sipp/call-in.xml" -i 127.0.0.2 -p 5074 -mp 24200 \
  -s "$did" -key caller "$caller" -key digit "$digit" -d 4000 -m 1 -timeout 90s -nostdin 127.0.0.1:5060
