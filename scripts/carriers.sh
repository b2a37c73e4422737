#!/usr/bin/env bash
# Starts the two test carriers of examples/crossbar.toml — SIPp answering calls (and OPTIONS
# health checks) on 127.0.0.1:5070 (carrier-a) and 127.0.0.1:5072 (carrier-b), echoing the
# caller's audio — so outbound calls from a softphone registered to crossbar have somewhere
# to go. Ctrl-C stops both. Needs SIPp (Debian package sip-tester; scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sipp >/dev/null || { echo "carriers: sipp missing (apt-get install sip-tester)" >&2; exit 1; }
scenario=$(pwd)/examples/sipp/carrier.xml
work=$(mktemp -d)
trap 'kill 0 2>/dev/null; rm -rf "$work"' EXIT
for carrier in "carrier-a 5070 24000" "carrier-b 5072 24100"; do
  read -r name port media <<<"$carrier"
  mkdir -p "$work/$name"
  (cd "$work/$name" && exec sipp -sf "$scenario" -i 127.0.0.1 -p "$port" -mp "$media" -rtp_echo \
      -nostdin >/dev/null 2>&1) &
  echo "$name: SIPp on udp 127.0.0.1:$port (media from $media), answering calls after 1 s of ringing"
done
echo "crossbar's trunks find them through examples/crossbar.toml; Ctrl-C stops them"
wait
