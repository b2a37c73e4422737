#!/usr/bin/env bash
# Incoming calls: crossbar answering callers itself in a menu (its own SDP, prompts played in
# the relay tasks, keys heard), relayed calls before and after that change to the media
# layer, and inbound calls per second against internal ones in the same run. Figures and how
# to read them: docs/BENCHMARKS.md, "Incoming calls: menus and inbound calls/s".
#
#   cargo build --release -p crossbar -p crossbar-loadgen      (the script builds it too)
#   bench/inbound.sh                                  all three parts (about 15 minutes)
#   PARTS=menu MENU_CALLS="1000 2000" bench/inbound.sh                   menus only
#   PARTS=menu CROSSBAR=/path/to/other/crossbar bench/inbound.sh        menus of another build
#   PARTS=relay RELAY_CALLS=1500 CROSSBAR_BASE=/path/to/old/crossbar bench/inbound.sh
#   PARTS=rate RATES="1000 1500 2000 2500" bench/inbound.sh
#
# Parts (PARTS, default "menu relay rate"):
#   menu   crossbar-loadgen is the CARRIER: its SIP socket, 127.0.0.1:5380, is the address of
#          the [[trunk]] "carrier" in the configuration, so crossbar takes its INVITEs as the
#          trunk's (no digest). For each N of MENU_CALLS it calls the DID +442079460000 N
#          times, MENU_RAMP new calls/s (default 100); the DID's inbound route goes to the
#          [[ivr]] "main", so crossbar answers every call itself (200 with its own SDP) and
#          plays the greeting (a 440 Hz tone made with sox, longer than the hold) in 20 ms
#          PCMU frames. Each call is held MENU_HOLD s (default 30; longer when the ramp takes
#          more than MENU_HOLD - 20 s, so that all N calls are up together for at least
#          20 s); the caller sends its own 20 ms frames meanwhile (MENU_SILENT=1: it does not),
#          then presses MENU_KEY (default 1, RFC 4733; "" for none), whose option hangs up:
#          crossbar's BYE is the key heard. The generator times every prompt stream: loss by
#          sequence gaps, late frames = packets more than 5 ms behind their 20 ms, on the
#          kernel's receive stamps (SO_TIMESTAMPNS: on the loopback taken in crossbar's own
#          sendto, so crossbar's schedule and nothing of the generator's) and on the
#          generator's clock; and CONTROL_STREAMS (default 20) control streams paced and timed
#          the same way from the generator's sockets to its own, through no server: the
#          generator's own lateness; the stall probe beside them (PROBE=0 leaves it out;
#          see bench/queue.sh) tells the moments the machine itself stopped. While all N are up: crossbar's CPU (utime + stime from
#          /proc/PID/stat), per stream; its VmRSS rise / N; the generator's CPU. crossbar
#          restarts for every N. MENU_PRIORITY=rt runs crossbar and the generator under
#          SCHED_RR (chrt --rr 10): other processes on the machine (compilers, other
#          people's tests) can then no longer delay either of them.
#   relay  relayed calls (bench/calls.sh PARTS=media: crossbar-loadgen calls and answers,
#          20 ms PCMU both ways through the relay) with RELAY_CALLS calls (default 1500) for
#          MEDIA_SECS s (default 30), on CROSSBAR_BASE (default /work/baseline/crossbar-7a77944:
#          the relay code before the prompt player and key detector moved into the relay
#          tasks) and on this checkout's build, one after the other, same generator
#          (MENU_PRIORITY=rt: under SCHED_RR as well; RELAY_ORDER="crossbar crossbar-base"
#          runs this checkout's build first).
#   rate   inbound calls/s vs internal calls/s in the same run (bench/calls.sh PARTS=rate
#          SERVERS="crossbar crossbar-in"): SIPp calls through crossbar to the SIPp UAS
#          (extension 2999), as an extension (digest) and as the carrier through the DID, a
#          time condition and a hunt group. RATES (default "1000 1500 2000 2500 3000"), DURATION
#          s each (default 10).
#
# Ports: crossbar 5360, the carrier (generator) 5380, crossbar's relay 10000-31999; SIPp as in
# bench/calls.sh. RESULTS=dir keeps the logs and the generator's reports there.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
crossbar_bin=${CROSSBAR:-$repo/target/release/crossbar}
parts=${PARTS:-menu relay rate}
read -r -a menu_calls <<<"${MENU_CALLS:-1000 2000}"
menu_ramp=${MENU_RAMP:-100}
menu_hold=${MENU_HOLD:-30}
menu_key=${MENU_KEY-1}
menu_silent=${MENU_SILENT:-0}
menu_priority=${MENU_PRIORITY:-}
control_streams=${CONTROL_STREAMS:-20}
# The generator paces its RTP under SCHED_FIFO at this priority (below crossbar's pacer, 20),
# so its control streams show the machine's stalls rather than its own busy threads; 0: no.
generator_priority=${GENERATOR_PRIORITY:-10}
rtp_sockets=${RTP_SOCKETS:-2}
port=5360 carrier_port=5380

cargo build --release --locked -p crossbar -p crossbar-loadgen
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# shellcheck source=bench/harness.sh
. bench/harness.sh


echo "== machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
  "kernel $(uname -r); load at start:$(uptime | sed 's/.*load average//')"
busy_now

# crossbar's configuration for the menu: the carrier's trunk (no OPTIONS, so nothing but the
# calls reaches the generator), the DID straight to the menu, the menu's option 1 hanging up.
write_menu_config() { # GREETING_SECONDS
  mkdir -p "$work/prompts/en"
  sox -n -r 8000 -b 16 -c 1 "$work/prompts/en/greeting.wav" synth "$1" sine 440
  cat >"$work/crossbar.toml" <<EOF
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
[[extension]]
number = "201"
secret = "secret-201"
[[trunk]]
name = "carrier"
address = "127.0.0.1:$carrier_port"
options_interval_secs = 0
[[inbound_route]]
name = "main"
trunks = ["carrier"]
dids = ["+442079460000"]
destination = "ivr:main"
[[ivr]]
name = "main"
prompt = "greeting"
options = { "1" = "hangup", "0" = "ext:201" }
timeout_secs = 5
retries = 0
on_failure = "hangup"
[prompts]
dir = "prompts"
default_language = "en"
EOF
}

if [[ " $parts " == *" menu "* ]]; then
  command -v sox >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sox >/dev/null; }
  echo "== menu: the generator as the carrier calls a DID whose menu crossbar answers itself;" \
    "calls opened at $menu_ramp/s, key '${menu_key:-none}' at the end, callers $([ "$menu_silent" = 1 ] && echo silent || echo 'sending 20 ms PCMU')${menu_priority:+; crossbar and the generator under SCHED_RR}"
  echo "   lost = sequence gaps in crossbar's prompt streams; late = prompt packets > 5 ms behind their 20 ms on the"
  echo "   kernel's stamps (crossbar's schedule), late-u = on the generator's clock; ctl = the generator's control streams"
  echo "   cpu = crossbar over the window all N are up, us/s = its CPU microseconds per stream per second"
  printf "%6s %5s %5s %5s %8s %6s %8s %6s %6s %6s %7s %7s %6s %6s %7s %6s %6s %8s %6s %6s %6s %6s %6s %6s %6s\n" \
    calls ok fail hold expected lost loss% late late-u l-strm max-gap gap-p99 ctl-l ctl-lu ctl-max \
    keys heard key-p99 rss0MB rssMB KB/cl cpu us/s lg-cpu lg-lag
  for n in "${menu_calls[@]}"; do
    ramp=$(( (n + menu_ramp - 1) / menu_ramp ))
    hold=$menu_hold
    [ $((hold - ramp)) -ge 20 ] || hold=$((ramp + 20))
    write_menu_config $((hold + 15))
    rm -f "$work"/crossbar.db*
    wrap=()
    [ "$menu_priority" = rt ] && wrap=(chrt --rr 10)
    probe_start "$work/probe_menu_$n.txt"
    (cd "$work" && exec "${wrap[@]}" "$crossbar_bin" run --config crossbar.toml 2>"$work/crossbar_menu_$n.log") &
    server_pid=$!; pids+=("$server_pid")
    wait_for_sip "$port" "$server_pid" "$work/crossbar_menu_$n.log"
    rss0=$(rss_kb "$server_pid")
    extra=()
    [ -n "$menu_key" ] && extra+=(--key "$menu_key")
    [ "$menu_silent" = 1 ] && extra+=(--silent)
    "${wrap[@]}" "$repo/target/release/crossbar-loadgen" --server "127.0.0.1:$port" --carrier-port "$carrier_port" \
      --dial +442079460000 --calls "$n" --rate "$menu_ramp" --hold "$hold" \
      --control-streams "$control_streams" --rtp-sockets "$rtp_sockets" "${extra[@]}" \
      --pacing-priority "$generator_priority" \
      >"$work/loadgen_menu_$n.out" 2>"$work/loadgen_menu_$n.err" &
    lg=$!; pids+=("$lg"); launched=$(date +%s)
    # All N calls are up from the end of the ramp (+2 s) to the first hang-up (hold): CPU of
    # crossbar and of the generator, crossbar's peak VmRSS.
    sleep $((ramp + 2))
    s0=$(process_ticks "$server_pid"); g0=$(process_ticks "$lg"); t0=$(date +%s.%N)
    peak=0
    # Until 2 s before the first hang-up, by the clock (not by counting sleeps, which a busy
    # machine stretches).
    while [ "$(date +%s)" -lt $((launched + hold - 2)) ]; do
      r=$(rss_kb "$server_pid"); [ "$r" -gt "$peak" ] && peak=$r
      sleep 0.5
    done
    s1=$(process_ticks "$server_pid"); g1=$(process_ticks "$lg"); t1=$(date +%s.%N)
    drops=$(socket_drops "$carrier_port")
    wait "$lg" || true
    stop "$server_pid"
    probe_stop
    result=$(grep '^result ' "$work/loadgen_menu_$n.out" || echo "result calls=0")
    awk -v line="$result" -v n="$n" -v hold="$hold" -v rss0="$rss0" -v peak="$peak" -v hz="$hz" \
        -v s="$((s1 - s0))" -v g="$((g1 - g0))" -v t0="$t0" -v t1="$t1" 'BEGIN {
      split(line, kv, " "); for (i in kv) { split(kv[i], p, "="); v[p[1]] = p[2] }
      el = t1 - t0; cpu = s / hz / el; gcpu = g / hz / el
      expected = v["back_expected"]
      printf "%6d %5d %5d %4ds %8d %6d %7.4f%% %6d %6d %6d %5.1fms %5.1fms %6d %6d %5.1fms %6d %6d %4.1fms %6.1f %6.1f %6.1f %5.0f%% %6.1f %5.0f%% %4.1fms\n",
        n, v["answered"], v["failed"], hold, expected, v["back_lost"], expected ? v["back_lost"] / expected * 100 : 0,
        v["back_late"], v["back_late_user"], v["back_late_streams"], v["back_max_gap_us"] / 1000,
        v["gap_p99_us"] / 1000, v["control_late"], v["control_late_user"], v["control_max_gap_us"] / 1000,
        v["keys_sent"], v["keys_heard"], v["key_to_bye_p99_us"] / 1000,
        rss0 / 1024, peak / 1024, (peak - rss0) / n, cpu * 100, cpu / n * 1e6, gcpu * 100,
        v["pacing_lag_max_us"] / 1000
    }'
    echo "       socket drops: $drops; window $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"
    grep -E '^(calls|menu|gaps|callers|control)' "$work/loadgen_menu_$n.out" | sed 's/^/       /'
    probe_report "$work/loadgen_menu_$n.out" "$work/probe_menu_$n.txt" | sed 's/^/    /'
  done
fi

if [[ " $parts " == *" relay "* ]]; then
  base=${CROSSBAR_BASE:-/work/baseline/crossbar-7a77944}
  if [ -x "$base" ]; then
    echo "== relayed calls before ($base) and after (this checkout) the media layer's change"
    PARTS=media SERVERS="${RELAY_ORDER:-crossbar-base crossbar}" CROSSBAR_BASE="$base" CALLS="${RELAY_CALLS:-1500}" \
      MEDIA_PRIORITY="${MENU_PRIORITY:-}" \
      RESULTS="${RESULTS:+$work/relay}" bench/calls.sh | grep -v '^== machine\|^== load\|busy now'
  else
    echo "== relay: skipped, no build of crossbar before the change at $base (set CROSSBAR_BASE)"
  fi
fi

if [[ " $parts " == *" rate "* ]]; then
  echo "== inbound calls/s (carrier -> DID -> time condition -> hunt group -> 2999) vs internal calls/s (extension -> 2999)"
  PARTS=rate SERVERS="crossbar crossbar-in" RATES="${RATES:-1000 1500 2000 2500 3000}" \
    DURATION="${DURATION:-10}" RESULTS="${RESULTS:+$work/rate}" bench/calls.sh |
    grep -v '^== machine\|^== load\|busy now'
fi
