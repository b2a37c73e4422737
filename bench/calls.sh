#!/usr/bin/env bash
# Calls through crossbar's B2BUA and RTP relay, with SIPp (../shared/sipp), against Kamailio
# as a stateful proxy for the signalling figure. Figures and how to read them:
# docs/BENCHMARKS.md.
#
#   bench/calls.sh                  all four parts, default sizes (about 15 minutes)
#   PARTS=setup SETUP_RATE=1000 bench/calls.sh                       (d) at a given rate
#   PARTS="rate" RATES="500 1000" DURATION=5 bench/calls.sh          a short run
#
# Parts (PARTS, default "rate setup media"):
#   rate   (a) calls/s, signalling only: uac_basic_auth.xml -> server -> uas_answer.xml,
#          every INVITE challenged (407) then authenticated, 1 s hold (HOLD_MS), each rate
#          of RATES for DURATION s, crossbar then Kamailio (SERVERS). The figure is the
#          highest rate with 0 failed calls.
#   setup  (d) call-setup time: the same calls at SETUP_RATE (default: half of crossbar's
#          highest clean rate in this run, else 1000) for SETUP_SECS s with -trace_rtt;
#          p50/p99/max of RTD 1 (first INVITE -> 200, the 407 round included).
#   media  (b)+(c) relayed calls: uac_call_auth.xml with a MEDIA_SECS-s PCMU pcap (20 ms,
#          50 packets/s, generated here) + one RFC 4733 digit, against uas_answer.xml
#          -rtp_echo; for each N of CALLS, N calls opened at RAMP_RATE/s and all held at once.
#          Loss from crossbar's "relay closed" lines (sequence gaps) and from packet counts
#          (sent by SIPp vs received by crossbar each way); memory = crossbar's VmRSS rise / N.
#          crossbar restarts for every N so each RSS figure starts from the same state.
#
# Everything talks to 127.0.0.1; ports: server 5360, SIPp UAC 5371 (RTP 6400), SIPp UAS
# 5390 (RTP 6600), crossbar's relay 10000-20999 (2,750 calls: above SIPp's control ports,
# 8888 and up, below the test suite's port blocks, 21000-32000, and the ephemeral range).
# RESULTS=dir keeps the logs (SIPp screens/CSVs, crossbar log) there; default: a temp dir,
# removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=$(cd ../shared && pwd)
parts=${PARTS:-rate setup media}
servers=${SERVERS:-crossbar kamailio}
read -r -a rates <<<"${RATES:-500 1000 1500 2000 2500 3000 3500}"
read -r -a media_calls <<<"${CALLS:-100 200 300 400 500 1000}"
duration=${DURATION:-10}
hold_ms=${HOLD_MS:-1000}
setup_secs=${SETUP_SECS:-20}
media_secs=${MEDIA_SECS:-30}
ramp_rate=${RAMP_RATE:-200}
port=5360 uac_port=5371 uac_mp=6400 uas_port=5390 uas_mp=6600

command -v sipp >/dev/null || { echo "bench: sipp missing (apt-get install sip-tester)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || echo "bench: not root: SIPp's play_pcap_audio needs a raw socket" >&2
if [[ " $servers " == *" kamailio "* ]] && ! command -v kamailio >/dev/null; then
  echo "bench: installing kamailio for the reference run"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio >/dev/null
fi
cargo build --release --locked -p crossbar

echo "== machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
  "$(awk '/^MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)," \
  "$(sipp -v 2>/dev/null | grep -o 'SIPp v[0-9.]*' | head -1), $(kamailio -v 2>/dev/null | head -1 | cut -d' ' -f2-3)"
echo "== load at start:$(uptime | sed 's/.*load average//')"
top -bn2 -d1 | awk '/^top -/ {n++} n == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 > 5 {print "   busy now: " $12 " " $9 "%"}'

if [ -n "${RESULTS:-}" ]; then
  mkdir -p "$RESULTS"; work=$(cd "$RESULTS" && pwd); keep=1
else
  work=$(mktemp -d); keep=0
fi
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
sipp_dir=$shared/sipp
cp "$sipp_dir"/users.csv "$work/"
printf 'SEQUENTIAL\nuas;[authentication username=uas password=pw-uas-2999]\n' >"$work/uas.csv"
# The media calls' pcap: MEDIA_SECS s of PCMU (the shared one is 10 s) and its DTMF digit,
# and uac_call_auth.xml pointed at it.
mkdir -p "$work/pcap"
python3 "$sipp_dir/gen_pcap.py" "$work/pcap" "$media_secs" 1 >/dev/null
sed "s#pcap/pcmu_10s.pcap#pcap/pcmu_${media_secs}s.pcap#" "$sipp_dir/uac_call_auth.xml" \
  >"$work/uac_call_auth_${media_secs}s.xml"
pcap_packets() { python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, n = 24, 0
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off + 8:off + 12])[0]
    off += 16 + incl; n += 1
print(n)
PY
}
packets_per_call=$(( $(pcap_packets "$work/pcap/pcmu_${media_secs}s.pcap") + $(pcap_packets "$work/pcap/dtmf_1_pt101.pcap") ))

# crossbar's configuration: user0001..user1000 (users.csv), and the SIPp UAS as extension
# 2999, user "uas", which every call dials.
write_config() { # LOG_LEVEL
  python3 - "$work/crossbar.toml" "$port" "$1" <<'PY'
import sys
path, port, level = sys.argv[1:4]
lines = ['[sip]', f'listen_udp = ["127.0.0.1:{port}"]', 'listen_tcp = []',
         '[auth]', 'algorithms = ["MD5"]', 'min_secret_length = 6',
         '[media]', 'address = "127.0.0.1"', 'port_min = 10000', 'port_max = 20999',
         '[calls]', 'max_calls_per_extension = 100000',
         '[database]', 'url = "sqlite://crossbar.db"', '[log]', f'level = "{level}"',
         '[[extension]]', 'number = "2999"', 'username = "uas"', 'secret = "pw-uas-2999"']
for i in range(1, 1001):
    lines += ['[[extension]]', f'number = "{1000 + i}"', f'username = "user{i:04d}"', f'secret = "pw{i:04d}"']
open(path, 'w').write('\n'.join(lines) + '\n')
PY
}

# CPU ticks (user + system) of a process and its children (Kamailio's workers are
# processes; crossbar's are threads, counted in its own stat).
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    [ -r "/proc/$p/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)
pct() { awk -v t="$1" -v hz="$hz" -v s="$2" 'BEGIN { printf "%.0f%%", t / hz / s * 100 }'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
screen_field() { # SCREEN "Successful call" -> cumulative count
  awk -F'|' -v f="$2" 'index($0, f) {gsub(/ /,"",$3); v=$3} END {print v+0}' "$1"
}
retransmissions() { # the -trace_stat CSV: last value of Retransmissions(C)
  awk -F';' 'NR==1 {for (i=1;i<=NF;i++) if ($i=="Retransmissions(C)") c=i; next} c {v=$c} END {print v+0}' "$1"
}

server_pid=
start_server() { # crossbar|kamailio LOG_LEVEL
  if [ "$1" = crossbar ]; then
    rm -f "$work"/crossbar.db*
    write_config "$2"
    (cd "$work" && exec "$repo/target/release/crossbar" run --config crossbar.toml 2>>"$work/crossbar.log") &
    server_pid=$!
  else
    UAS="127.0.0.1:$uas_port" kamailio -f "$repo/bench/kamailio/proxy.cfg" -l "udp:127.0.0.1:$port" \
      -DD -E -m 512 -M 64 2>>"$work/kamailio.log" &
    server_pid=$!
  fi
  pids+=("$server_pid")
  sleep 2
  kill -0 "$server_pid" 2>/dev/null || { echo "bench: $1 did not start (see $work/$1.log)" >&2; exit 1; }
  if [ "$1" = crossbar ]; then
    # The UAS registers its contact sip:uas@127.0.0.1:5390 from its own port (digest REGISTER).
    (cd "$work" && sipp "127.0.0.1:$port" -sf "$sipp_dir/register_auth.xml" -inf uas.csv \
        -i 127.0.0.1 -p "$uas_port" -m 1 -recv_timeout 5000 -timeout 10s -nostdin >/dev/null 2>&1) ||
      { echo "bench: the UAS could not register with crossbar" >&2; exit 1; }
  fi
}

uas_pid=
start_uas() { # MAX_CALLS [extra sipp args]
  local m=$1; shift
  (cd "$work" && exec sipp -sf "$sipp_dir/uas_answer.xml" -i 127.0.0.1 -p "$uas_port" -mp "$uas_mp" \
      -m "$m" -recv_timeout 60000 -timeout 600s -nostdin "$@" >/dev/null 2>&1) &
  uas_pid=$!
  pids+=("$uas_pid")
  sleep 1
}

# (a)/(d): one signalling-only run. Prints a row; sets $last_clean (1 if 0 failed).
run_calls() { # SERVER RATE SECONDS [extra sipp args]
  local name=$1 rate=$2 secs=$3; shift 3
  local total=$((rate * secs))
  start_uas "$total"
  local start_us=${EPOCHREALTIME/./}
  (cd "$work" && exec sipp "127.0.0.1:$port" -s uas -sf "$sipp_dir/uac_basic_auth.xml" -inf users.csv \
      -i 127.0.0.1 -p "$uac_port" -mp "$uac_mp" -r "$rate" -m "$total" -l $((rate * 4 + 100)) \
      -d "$hold_ms" -recv_timeout 10000 -timeout $((secs * 3 + 30))s -nostdin \
      -trace_screen -trace_err -trace_stat -fd 1 "$@" >/dev/null 2>&1) &
  local uac=$!
  pids+=("$uac")
  # CPU of the server and of both SIPps in the steady state: from 2 s after the start (the
  # hold has filled up) to the end of the calls' creation.
  local c0="" c1="" t0 t1 now from to
  from=$(( ${start_us} + 2000000 )); to=$(( start_us + secs * 1000000 ))
  while kill -0 "$uac" 2>/dev/null; do
    now=${EPOCHREALTIME/./}
    if [ -z "$c0" ] && [ "$now" -ge "$from" ]; then
      c0="$(cpu_ticks "$server_pid") $(cpu_ticks "$uac") $(cpu_ticks "$uas_pid")"; t0=$now
    elif [ -n "$c0" ] && [ -z "$c1" ] && [ "$now" -ge "$to" ]; then
      c1="$(cpu_ticks "$server_pid") $(cpu_ticks "$uac") $(cpu_ticks "$uas_pid")"; t1=$now
    fi
    sleep 0.1
  done
  wait "$uac" || true
  stop "$uas_pid"
  [ -n "$c1" ] || { c0="0 0 0"; c1="0 0 0"; t0=0; t1=1000000; }
  local screen stat ok failed retrans created
  screen=$(ls -t "$work"/uac_basic_auth_*_screen.log | head -1)
  stat=$(ls -t "$work"/uac_basic_auth_*_.csv | head -1)
  ok=$(screen_field "$screen" "Successful call")
  failed=$(screen_field "$screen" "Failed call")
  retrans=$(retransmissions "$stat")
  # Calls created per second: SIPp's cumulative call rate when the last call was created.
  created=$(awk -F';' -v total="$total" 'NR==1 {for (i=1;i<=NF;i++) {if ($i=="TotalCallCreated") t=i; if ($i=="CallRate(C)") r=i}; next}
                 $t >= total {print $r; exit}' "$stat")
  awk -v name="$name" -v rate="$rate" -v ok="$ok" -v failed="$failed" -v re="$retrans" \
      -v created="${created:-0}" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" 'BEGIN {
    split(c0, a); split(c1, b); el = (t1 - t0) / 1e6 * hz / 100
    printf "%-9s %7d %8d %7d %8d %10.0f %7.0f%% %7.0f%% %7.0f%%\n", name, rate, ok, failed, re,
      created, (b[1] - a[1]) / el, (b[2] - a[2]) / el, (b[3] - a[3]) / el
  }'
  last_clean=0
  [ "$failed" = 0 ] && [ "$ok" = "$total" ] && last_clean=1
  mkdir -p "$work/runs"
  for f in "$work"/uac_basic_auth_*; do mv "$f" "$work/runs/${name}_${rate}_$(basename "$f")"; done
  last_rtt=$(ls -t "$work"/runs/"${name}_${rate}"_*_rtt.csv 2>/dev/null | head -1 || true)
}

best_crossbar=0
if [[ " $parts " == *" rate "* ]]; then
  echo "== (a) calls/s, signalling only: ${duration} s per rate, ${hold_ms} ms hold, INVITE challenged (407) =="
  printf "%-9s %7s %8s %7s %8s %10s %8s %8s %8s\n" server rate/s ok failed retrans created/s \
    "cpu" "uac-cpu" "uas-cpu"
  for server in $servers; do
    start_server "$server" warn
    best=0
    for rate in "${rates[@]}"; do
      run_calls "$server" "$rate" "$duration"
      [ "$last_clean" = 1 ] && [ "$rate" -gt "$best" ] && best=$rate
    done
    stop "$server_pid"
    echo "$server: highest rate with 0 failed calls: $best/s"
    [ "$server" = crossbar ] && best_crossbar=$best
  done
fi

if [[ " $parts " == *" setup "* ]]; then
  setup_rate=${SETUP_RATE:-}
  if [ -z "$setup_rate" ]; then
    setup_rate=$((best_crossbar / 2)); [ "$setup_rate" -gt 0 ] || setup_rate=1000
  fi
  echo "== (d) call setup time (RTD 1: first INVITE -> 200, 407 round included) at $setup_rate calls/s, ${setup_secs} s =="
  for server in $servers; do
    start_server "$server" warn
    printf "%-9s %7s %8s %7s %8s %10s %8s %8s %8s\n" server rate/s ok failed retrans created/s \
      "cpu" "uac-cpu" "uas-cpu"
    run_calls "$server" "$setup_rate" "$setup_secs" -trace_rtt -rtt_freq "$setup_rate"
    stop "$server_pid"
    # rtt CSV: Date_ms;response_time_ms;rtd_no — 1 ms resolution (SIPp's clock tick).
    python3 - "$last_rtt" "$server" <<'PY'
import sys
rows = [l.strip().split(';') for l in open(sys.argv[1]) if l[:1].isdigit()]
t = sorted(float(r[1]) for r in rows if r[2].strip() in ('1', 'rtd1'))
if not t:
    sys.exit(print(f'{sys.argv[2]}: no RTD 1 samples'))
q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
print(f'{sys.argv[2]}: {len(t)} calls, setup p50 {q(.5):.0f} ms, p90 {q(.9):.0f} ms, '
      f'p99 {q(.99):.0f} ms, p99.9 {q(.999):.0f} ms, max {t[-1]:.0f} ms')
PY
  done
fi

if [[ " $parts " == *" media "* ]]; then
  echo "== (b)+(c) relayed calls: ${media_secs} s of 20 ms PCMU each way per call ($packets_per_call packets sent per call incl. 1 DTMF digit), opened at $ramp_rate/s =="
  echo "   gap% = sequence gaps seen by crossbar / packets it received; fwd% = SIPp UAC -> crossbar"
  echo "   (sent - a_to_b) / sent; ret% = crossbar -> UAS -> echo -> crossbar (a_to_b - b_to_a) / a_to_b"
  printf "%6s %6s %6s %9s %9s %9s %8s %8s %8s %8s %8s %8s %8s %7s %6s %6s %6s\n" calls ok failed \
    sent a_to_b b_to_a gap_ab gap_ba gap% fwd% ret% rss0_MB rss_MB KB/call cpu uac uas
  for n in "${media_calls[@]}"; do
    : >"$work/crossbar.log"
    start_server crossbar "warn,crossbar_switch=info"
    start_uas "$n" -rtp_echo
    rss0=$(rss_kb "$server_pid")
    fd0=$(ls "/proc/$server_pid/fd" | wc -l)
    hold=$((media_secs * 1000 + 500))
    (cd "$work" && exec sipp "127.0.0.1:$port" -s uas -sf "uac_call_auth_${media_secs}s.xml" -inf users.csv \
        -i 127.0.0.1 -p "$uac_port" -mp "$uac_mp" -r "$ramp_rate" -m "$n" -l "$n" -d "$hold" \
        -recv_timeout 20000 -timeout $((media_secs * 2 + n / ramp_rate + 60))s -nostdin \
        -trace_screen -trace_err >/dev/null 2>&1) &
    uac=$!; pids+=("$uac")
    # While the calls are up: peak RSS and open relays (4 sockets each), CPU over the
    # window in which all N calls are up (from the end of the ramp to the first BYE).
    ramp=$(( (n + ramp_rate - 1) / ramp_rate + 1 ))
    sleep "$ramp"
    s0=$(cpu_ticks "$server_pid"); a0=$(cpu_ticks "$uac"); u0=$(cpu_ticks "$uas_pid"); t0=$(date +%s.%N)
    peak=0 relays=0 raws=0
    window=$((media_secs - ramp - 2))
    [ "$window" -gt 2 ] || window=2
    for _ in $(seq "$window"); do
      r=$(rss_kb "$server_pid"); [ "$r" -gt "$peak" ] && peak=$r
      f=$(( ($(ls "/proc/$server_pid/fd" | wc -l) - fd0) / 4 )); [ "$f" -gt "$relays" ] && relays=$f
      # SIPp's pcap player: one raw socket (IPPROTO_UDP) per playing call; every UDP packet
      # on the host is offered to each of them (see docs/BENCHMARKS.md).
      f=$(( $(wc -l </proc/net/raw) - 1 )); [ "$f" -gt "$raws" ] && raws=$f
      sleep 1
    done
    s1=$(cpu_ticks "$server_pid"); a1=$(cpu_ticks "$uac"); u1=$(cpu_ticks "$uas_pid"); t1=$(date +%s.%N)
    # Socket drops (receive buffer full) on crossbar's relay ports and SIPp's UAS media port.
    drops=$(python3 - "$uas_mp" <<'PY'
import sys
uas_mp, relay, uas = int(sys.argv[1]), 0, 0
for line in list(open('/proc/net/udp'))[1:]:
    f = line.split()
    p = int(f[1].split(':')[1], 16)
    if 10000 <= p <= 20999: relay += int(f[-1])
    if p == uas_mp: uas += int(f[-1])
print(f'relay sockets {relay}, UAS media socket {uas}')
PY
)
    wait "$uac" || true
    sleep 2
    screen=$(ls -t "$work"/uac_call_auth_"${media_secs}"s_*_screen.log | head -1)
    ok=$(screen_field "$screen" "Successful call")
    failed=$(screen_field "$screen" "Failed call")
    stop "$uas_pid"; stop "$server_pid"
    el=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
    sed 's/\x1b\[[0-9;]*m//g' "$work/crossbar.log" | grep 'relay closed' | awk -v n="$n" -v ok="$ok" -v failed="$failed" \
        -v ppc="$packets_per_call" -v rss0="$rss0" -v peak="$peak" -v cpu="$(pct $((s1 - s0)) "$el")" \
        -v acpu="$(pct $((a1 - a0)) "$el")" -v ucpu="$(pct $((u1 - u0)) "$el")" '
      { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] } c++ }
      END {
        sent = ok * ppc; ab = v["a_to_b_packets"]; ba = v["b_to_a_packets"]
        gap = ab + ba ? (v["a_to_b_lost"] + v["b_to_a_lost"]) / (ab + ba) * 100 : 0
        printf "%6d %6d %6d %9d %9d %9d %8d %8d %7.3f%% %7.3f%% %7.3f%% %8.1f %8.1f %7.1f %6s %6s %6s\n", n, ok, failed,
          sent, ab, ba, v["a_to_b_lost"], v["b_to_a_lost"], gap,
          sent ? (sent - ab) / sent * 100 : 0, ab ? (ab - ba) / ab * 100 : 0,
          rss0 / 1024, peak / 1024, (peak - rss0) / n, cpu, acpu, ucpu
      }'
    echo "       relays open at once (max): $relays; SIPp raw sockets (max): $raws; relay lines: $(grep -c 'relay closed' "$work/crossbar.log"); socket drops: $drops"
    mkdir -p "$work/runs"
    for f in "$work"/uac_call_auth_"${media_secs}"s_*; do mv "$f" "$work/runs/media_${n}_$(basename "$f")"; done
    cp "$work/crossbar.log" "$work/runs/media_${n}_crossbar.log"
  done
fi
