#!/usr/bin/env bash
# Queues: callers waiting with music and announcements, agents answering them. Figures and
# how to read them: docs/BENCHMARKS.md, "Queues: waiting callers and agents".
#
#   cargo build --release -p crossbar -p crossbar-loadgen      (the script builds it too)
#   bench/queue.sh                          1,000 callers, 100 agents, and the menu reference
#   CALLERS=2000 AGENTS=200 bench/queue.sh
#   PRIORITY=rt bench/queue.sh              crossbar and the generator under SCHED_RR
#   CROSSBAR=/path/to/crossbar bench/queue.sh   another build of crossbar (the reference too)
#   GENERATOR_PRIORITY=0 bench/queue.sh     the generator's RTP pacing at normal priority
#                                           (default SCHED_FIFO 10, below crossbar's pacer)
#
# crossbar-loadgen is the CARRIER (its SIP socket, 127.0.0.1:5380, is the [[trunk]]
# "carrier"'s address, so crossbar takes its INVITEs without digest) and the AGENTS: it
# registers extensions 3000, 3001, ... (AGENTS of them, default 100), the static members of
# the [[queue]] "bench", from one socket. Static members are logged out until logged in, so:
#   1. waiting: the carrier calls the DID +442079460001, whose inbound route goes to
#      queue:bench, CALLERS times (default 1000) at RAMP new calls/s (default 100). crossbar
#      answers each caller itself and plays the shipped music on hold (prompts/en/moh.wav,
#      made by scripts/prompts.sh), interrupted by the position and estimated-wait
#      announcement every ANNOUNCE_SECS s (default 20) and the custom announcement
#      (queue-announcement) every 30 s, in 20 ms PCMU frames; the callers send their own
#      20 ms frames meanwhile. Once all CALLERS wait, for WAIT s (default 20): crossbar's CPU
#      (utime + stime from /proc/PID/stat) per waiting caller, its VmRSS rise / CALLERS.
#   2. serving: every agent logs in through the API (POST /api/agents/{ext}/login); the queue
#      (strategy longest_idle, wrap_up_secs WRAP_UP, default 0) offers each free agent the
#      caller who has waited longest; the agent answers at once, talks TALK s (default 3;
#      RTP both ways, relayed) and hangs up. From its BYE the agent is free: the time until
#      crossbar's next INVITE reaches the same agent is the dispatch time (the generator's
#      clock, BYE sent → INVITE received, so the loopback both ways and the generator's own
#      scheduling are in it), and the reference measured in the same run is the BYE's own
#      round trip (BYE sent → crossbar's 200: one request handled, no queue decision).
#      crossbar's CPU per call served over this phase.
# Throughout, every music and announcement frame each caller receives is timed: loss by
# sequence gaps, late = more than 5 ms behind its 20 ms (so a gap over 25 ms), on the
# kernel's receive stamps (SO_TIMESTAMPNS, taken on the loopback in crossbar's own sendto);
# CONTROL_STREAMS (default 20) streams from the generator to itself, paced and timed the
# same way, show the generator's own lateness; and the stall probe (PROBE=0 leaves it out:
# crossbar-stall-probe, a SCHED_FIFO 99 thread on each CPU) shows the moments a CPU ran
# nothing else, to set beside each moment frames were late (bench/stalls.py). Then
# `crossbar report queues` over the run.
#
# The reference for the waiting callers, same run: REFERENCE=menu (the default; "" for none)
# runs the same CALLERS into an IVR menu crossbar answers itself (bench/inbound.sh
# PARTS=menu): a caller hearing a prompt, the cheapest call crossbar terminates.
#
# Ports: crossbar SIP 5360, HTTP 5390, the generator's carrier socket 5380, crossbar's relay
# 10000-31999. RESULTS=dir keeps the logs and the generator's reports there.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
crossbar_bin=${CROSSBAR:-$repo/target/release/crossbar}
callers=${CALLERS:-1000}
agents=${AGENTS:-100}
ramp_rate=${RAMP:-100}
wait_secs=${WAIT:-20}
talk=${TALK:-3}
wrap_up=${WRAP_UP:-0}
announce=${ANNOUNCE_SECS:-20}
priority=${PRIORITY:-}
control_streams=${CONTROL_STREAMS:-20}
generator_priority=${GENERATOR_PRIORITY:-10}
reference=${REFERENCE-menu}
port=5360 carrier_port=5380 http_port=5390
token=bench-queue-token-7f3c9a

cargo build --release --locked -p crossbar -p crossbar-loadgen
scripts/prompts.sh >/dev/null
command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# shellcheck source=bench/harness.sh
. bench/harness.sh

# The value of KEY in the generator's `result key=value ...` line.
result_of() { tr ' ' '\n' <<<"$result" | awk -F= -v k="$1" '$1 == k {print $2}'; }

echo "== machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
  "kernel $(uname -r); load at start:$(uptime | sed 's/.*load average//')"
busy_now

last_agent=$((3000 + agents - 1))
{
  cat <<EOF
[site]
country = "GB"
timezone = "Europe/London"
[sip]
listen_udp = ["127.0.0.1:$port"]
listen_tcp = []
[media]
address = "127.0.0.1"
port_min = 10000
port_max = 31999
[database]
url = "sqlite://crossbar.db"
[log]
level = "warn"
[http]
listen = "127.0.0.1:$http_port"
tokens = [{ name = "bench", sha256 = "$(printf %s "$token" | sha256sum | cut -d' ' -f1)" }]
[prompts]
dir = "$repo/prompts"
default_language = "en"
[[trunk]]
name = "carrier"
address = "127.0.0.1:$carrier_port"
options_interval_secs = 0
[[inbound_route]]
name = "support"
trunks = ["carrier"]
dids = ["+442079460001"]
destination = "queue:bench"
[[queue]]
name = "bench"
strategy = "longest_idle"
members = [$(seq -s, -f '"%g"' 3000 "$last_agent")]
join_empty = true
agent_ring_secs = 15
wrap_up_secs = $wrap_up
moh = "moh"
announce_position_secs = $announce
announce_wait = true
announcement = "queue-announcement"
announcement_secs = 30
EOF
  for ext in $(seq 3000 "$last_agent"); do
    printf '[[extension]]\nnumber = "%s"\nsecret = "secret-%s"\n' "$ext" "$ext"
  done
} >"$work/crossbar.toml"
rm -f "$work"/crossbar.db*

wrap=()
[ "$priority" = rt ] && wrap=(chrt --rr 10)
ramp=$(( (callers + ramp_rate - 1) / ramp_rate ))
# The callers' patience: the ramp, the waiting window, the agents' work (a call each TALK s
# plus the wrap-up, per agent), and a minute to spare.
patience=$(awk -v r="$ramp" -v w="$wait_secs" -v c="$callers" -v a="$agents" -v t="$talk" -v u="$wrap_up" \
  'BEGIN {printf "%d", r + w + 10 + (c / a + 1) * (t + u + 1) + 60}')

echo "== queue: $callers callers from the carrier at $ramp_rate/s wait with music and announcements (position every" \
  "$announce s, custom every 30 s), then $agents agents log in, each answers, talks $talk s, hangs up" \
  "(wrap-up $wrap_up s)${priority:+; crossbar and the generator under SCHED_RR}"
probe_start "$work/probe_queue.txt"
(cd "$work" && exec "${wrap[@]}" "$crossbar_bin" run --config crossbar.toml 2>"$work/crossbar_queue.log") &
server_pid=$!; pids+=("$server_pid")
wait_for_sip "$port" "$server_pid" "$work/crossbar_queue.log"
rss0=$(rss_kb "$server_pid")

"${wrap[@]}" "$repo/target/release/crossbar-loadgen" --server "127.0.0.1:$port" --carrier-port "$carrier_port" \
  --dial +442079460001 --calls "$callers" --rate "$ramp_rate" --hold "$patience" \
  --agents "$agents" --agent-first 3000 --agent-secret-prefix secret- --talk "$talk" \
  --control-streams "$control_streams" --threads 2 --pacing-priority "$generator_priority" \
  >"$work/loadgen_queue.out" 2>"$work/loadgen_queue.err" &
lg=$!; pids+=("$lg")

# 1. Waiting: from the end of the ramp (+2 s), WAIT s.
sleep $((ramp + 2))
s0=$(process_ticks "$server_pid"); g0=$(process_ticks "$lg"); t0=$(date +%s.%N)
peak=0
end=$(( $(date +%s) + wait_secs ))
while [ "$(date +%s)" -lt "$end" ]; do
  r=$(rss_kb "$server_pid"); [ "$r" -gt "$peak" ] && peak=$r
  sleep 0.5
done
s1=$(process_ticks "$server_pid"); g1=$(process_ticks "$lg"); t1=$(date +%s.%N)
waiting=$(curl -s "http://127.0.0.1:$http_port/api/queues" |
  python3 -c 'import json, sys; print(sum(q["waiting"] for q in json.load(sys.stdin)["queues"]))' 2>/dev/null || echo "?")

# 2. Serving: every agent logs in, one after the other on one HTTP connection (one process:
# a hundred curls forked at once would be load of the generator's own on these 2 cores).
python3 - "$http_port" "$token" 3000 "$last_agent" >"$work/logins.txt" <<'PY'
import http.client, sys
port, token, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
api = http.client.HTTPConnection("127.0.0.1", int(port))
for ext in range(first, last + 1):
    api.request("POST", f"/api/agents/{ext}/login", body="{}",
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    reply = api.getresponse(); reply.read(); print(reply.status)
PY
s2=$(process_ticks "$server_pid"); t2=$(date +%s.%N)
logged_in=$(grep -c '^200$' "$work/logins.txt" || true)
wait "$lg" || true
s3=$(process_ticks "$server_pid"); t3=$(date +%s.%N)
probe_stop
drops=$(socket_drops "$carrier_port")
sleep 1
(cd "$work" && "$crossbar_bin" report queues --config crossbar.toml) >"$work/report.txt" 2>&1 || true
stop "$server_pid"

result=$(grep '^result ' "$work/loadgen_queue.out" || echo "result calls=0")
awk -v hz="$hz" -v n="$callers" -v a="$agents" -v rss0="$rss0" -v peak="$peak" \
  -v sw="$((s1 - s0))" -v gw="$((g1 - g0))" -v t0="$t0" -v t1="$t1" \
  -v ss="$((s3 - s2))" -v t2="$t2" -v t3="$t3" -v waiting="$waiting" -v logged="$logged_in" \
  -v line="$result" 'BEGIN {
  split(line, kv, " "); for (i in kv) { split(kv[i], p, "="); v[p[1]] = p[2] }
  ew = t1 - t0; es = t3 - t2; cpu = sw / hz / ew
  printf "   waiting: %d callers (the live view counted %s); crossbar %.0f%% of a core = %.0f us per second per waiting caller;" \
    " VmRSS %.1f -> %.1f MB = %.1f KB per waiting caller; the generator %.0f%%\n",
    n, waiting, cpu * 100, cpu / n * 1e6, rss0 / 1024, peak / 1024, (peak - rss0) / n, gw / hz / ew * 100
  printf "   serving: %d of %d agents logged in; %d callers answered by an agent (%d INVITEs to agents), %d calls hung up by" \
    " the agents, %d failed; %.1f s; crossbar %.0f%% of a core = %.2f ms CPU per call served\n",
    logged, a, v["ended_by_server"], v["agent_invites"], v["agent_hung_up"], v["failed"], es, ss / hz / es * 100,
    v["ended_by_server"] ? ss / hz / v["ended_by_server"] * 1000 : 0
  printf "   agent free -> INVITE to that agent: %d samples, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms" \
    " (reference, same run: the agent'\''s BYE -> crossbar'\''s 200: p50 %.2f ms, p99 %.2f ms, max %.2f ms)\n",
    v["dispatch_samples"], v["dispatch_p50_us"] / 1000, v["dispatch_p99_us"] / 1000, v["dispatch_p999_us"] / 1000,
    v["dispatch_max_us"] / 1000, v["agent_bye_p50_us"] / 1000, v["agent_bye_p99_us"] / 1000, v["agent_bye_max_us"] / 1000
  e = v["back_expected"]
  printf "   music and announcements: %d streams, %d frames expected, %d lost (%.4f%%), %d late > 25 ms apart on the" \
    " kernel'\''s stamps (%d streams), %d on the generator'\''s clock; longest gap %.1f ms; gaps p99 %.1f ms\n",
    v["back_streams"], e, v["back_lost"], e ? v["back_lost"] / e * 100 : 0, v["back_late"], v["back_late_streams"],
    v["back_late_user"], v["back_max_gap_us"] / 1000, v["gap_p99_us"] / 1000
  printf "   the callers'\'' voice relayed to the agents: %d frames late > 25 ms apart on the kernel'\''s stamps (%d" \
    " streams), longest gap %.1f ms; crossbar held each packet (the generator'\''s sendto -> crossbar'\''s) p50 %.2f ms," \
    " p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", v["fwd_late"], v["fwd_late_streams"], v["fwd_max_gap_us"] / 1000,
    v["transit_p50_us"] / 1000, v["transit_p99_us"] / 1000, v["transit_p999_us"] / 1000, v["transit_max_us"] / 1000
  printf "   control streams (generator to itself): %d late on the kernel'\''s stamps, %d on its clock, longest gap %.1f ms;" \
    " the generator'\''s packets left up to %.1f ms late\n",
    v["control_late"], v["control_late_user"], v["control_max_gap_us"] / 1000, v["pacing_lag_max_us"] / 1000
}'
echo "   socket drops: $drops"
probe_report "$work/loadgen_queue.out" "$work/probe_queue.txt"
grep -E '^(calls|agents|agent|queue|control)' "$work/loadgen_queue.out" | sed 's/^/   /'
echo "   crossbar report queues:"
sed 's/^/     /' "$work/report.txt"

if [ "$reference" = menu ]; then
  echo "== reference, same run: $callers callers in a menu crossbar answers (bench/inbound.sh PARTS=menu)"
  PARTS=menu MENU_CALLS="$callers" MENU_RAMP="$ramp_rate" MENU_HOLD=$((ramp + wait_secs + 4)) \
    MENU_PRIORITY="$priority" CONTROL_STREAMS="$control_streams" RESULTS="${RESULTS:+$work/menu}" \
    bench/inbound.sh | grep -v '^== machine\|busy now\|Finished\|Compiling'
fi
