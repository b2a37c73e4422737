#!/usr/bin/env bash
# REGISTERs per second with digest authentication, crossbar against Kamailio on the same
# machine, with SIPp's register_auth.xml (../shared/sipp) and 1,000 users re-registering.
#
#   bench/register.sh [RATE ...]        default rates: 2000 4000 6000 8000 10000
#
# For each server and each rate: SIPp sends REGISTERs at RATE per second for DURATION
# seconds (each one answered 401, then authenticated, then 200), and the script records
# successful and failed registrations, retransmissions, and the server's CPU time. The
# highest rate with 0 failures is the figure in docs/PERFORMANCE.md. crossbar runs its
# release build and writes every binding to SQLite (WAL) before answering; Kamailio keeps
# bindings in memory only.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=$(cd ../shared && pwd)
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(2000 4000 6000 8000 10000)
duration=${DURATION:-10}
port=5260

command -v sipp >/dev/null || { echo "bench: sipp missing (apt-get install sip-tester)" >&2; exit 1; }
if ! command -v kamailio >/dev/null; then
  echo "bench: installing kamailio for the reference run"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio >/dev/null
fi
cargo build --release --locked -p crossbar

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ln -s "$shared/sipp/pcap" "$work/pcap"

# crossbar's configuration: user0001..user1000 with the secrets of users.csv.
python3 - "$work/crossbar.toml" "$port" <<'PY'
import sys
path, port = sys.argv[1], sys.argv[2]
lines = ['[sip]', f'listen_udp = ["127.0.0.1:{port}"]', 'listen_tcp = []',
         '[auth]', 'algorithms = ["MD5"]', 'min_secret_length = 6',
         '[database]', 'url = "sqlite://crossbar.db"', '[log]', 'level = "warn"']
for i in range(1, 1001):
    lines += ['[[extension]]', f'number = "{1000 + i}"', f'username = "user{i:04d}"', f'secret = "pw{i:04d}"']
open(path, 'w').write('\n'.join(lines) + '\n')
PY

# CPU ticks (user + system) of a process and its children (Kamailio's workers are
# processes; crossbar's are threads, counted in its own stat).
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}

# run_sipp NAME RATE: one SIPp run against 127.0.0.1:$port; prints a result row.
run_sipp() {
  local name=$1 rate=$2 pid=$3
  local total=$((rate * duration))
  local before after
  before=$(cpu_ticks "$pid")
  local start end
  start=$(date +%s.%N)
  (cd "$work" && sipp "127.0.0.1:$port" -sf "$shared/sipp/register_auth.xml" -inf "$shared/sipp/users.csv" \
      -i 127.0.0.1 -p 5271 -r "$rate" -m "$total" -l $((rate * 2)) -recv_timeout 5000 \
      -timeout $((duration * 3 + 10))s -nostdin -trace_screen -trace_err >/dev/null 2>&1) || true
  end=$(date +%s.%N)
  after=$(cpu_ticks "$pid")
  local screen
  screen=$(ls -t "$work"/register_auth_*_screen.log | head -1)
  local ok failed
  ok=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); print $3}' "$screen" | tail -1)
  failed=$(awk -F'|' '/Failed call/ {gsub(/ /,"",$3); print $3}' "$screen" | tail -1)
  awk -v name="$name" -v rate="$rate" -v ok="$ok" -v failed="$failed" -v start="$start" \
      -v end="$end" -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
    elapsed = end - start
    printf "%-9s %7d %9d %7d %10.0f %7.0f%%\n", name, rate, ok, failed, ok / elapsed, ticks / hz / elapsed * 100
  }'
  rm -f "$screen" "$work"/register_auth_*_errors.log
}

printf "%-9s %7s %9s %7s %10s %8s\n" server rate/s ok failed achieved/s cpu
for server in crossbar kamailio; do
  if [ "$server" = crossbar ]; then
    (cd "$work" && exec "$repo/target/release/crossbar" run --config crossbar.toml 2>"$work/crossbar.log") &
  else
    kamailio -f "$repo/bench/kamailio/register.cfg" -l "udp:127.0.0.1:$port" -DD -E \
      -m 256 -M 32 2>"$work/kamailio.log" &
  fi
  pid=$!
  sleep 2
  for rate in "${rates[@]}"; do
    run_sipp "$server" "$rate" "$pid"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
