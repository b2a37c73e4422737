#!/usr/bin/env bash
# Calls through crossbar's B2BUA and RTP relay, with SIPp (../shared/sipp), against Kamailio
# as a stateful proxy for the signalling figure. Figures and how to read them:
# docs/BENCHMARKS.md.
#
#   bench/calls.sh                  all four parts, default sizes (about 15 minutes)
#   PARTS=setup SETUP_RATE=1000 bench/calls.sh                       (d) at a given rate
#   PARTS="rate" RATES="500 1000" DURATION=5 bench/calls.sh          a short run
#   PARTS=rate SERVERS="crossbar crossbar-out" bench/calls.sh        internal vs outbound
#   PARTS=failover bench/calls.sh                                    failover cost
#   PARTS=rate SERVERS="crossbar crossbar-in" bench/calls.sh         internal vs inbound
#   PARTS=media SERVERS="crossbar-base crossbar" CROSSBAR_BASE=... bench/calls.sh
#                                                   relayed calls, two builds, same run
#
# Servers (SERVERS, default "crossbar kamailio"):
#   crossbar       this checkout's release build; calls to extension 2999 (the SIPp UAS,
#                  registered), i.e. internal calls
#   crossbar-out   the same binary with a dial plan: every call dials the national number
#                  02079460000 and leaves through a trunk whose carrier is the SIPp UAS
#                  (least-cost route, rate deck, class of service checked on every call)
#   crossbar-in    the same binary receiving calls from a carrier: the SIPp UAC is the far end
#                  of a trunk (its address 127.0.0.1:5371, so no digest) and calls the DID
#                  +442079460000, whose inbound route goes to a time condition (open all week)
#                  and on to a hunt group whose first member is 2999, the SIPp UAS
#                  (uac_basic.xml instead of uac_basic_auth.xml: carriers are not challenged)
#   crossbar-base  another build of crossbar, $CROSSBAR_BASE (e.g. the commit before a change,
#                  built in a worktree), as `crossbar`: both measured in the same run
#   kamailio       Kamailio 5.6 as a stateful proxy in front of the SIPp UAS (the reference)
#
# Parts (PARTS, default "rate setup media"):
#   rate   (a) calls/s, signalling only: uac_basic_auth.xml -> server -> uas_answer.xml,
#          every INVITE challenged (407) then authenticated, 1 s hold (HOLD_MS), each rate
#          of RATES for DURATION s, crossbar then Kamailio (SERVERS). The figure is the
#          highest rate with 0 failed calls.
#   setup  (d) call-setup time: the same calls at SETUP_RATE (default: half of crossbar's
#          highest clean rate in this run, else 1000) for SETUP_SECS s with -trace_rtt;
#          p50/p99/max of RTD 1 (first INVITE -> 200, the 407 round included); then, for
#          crossbar, the same calls from crossbar-loadgen (microsecond clock).
#   failover  the time crossbar takes to fail over: every call's first trunk (a SIPp UAS
#          answering 503) refuses, the second (the SIPp UAS that answers) takes it;
#          FAILOVER_RATE calls/s (default 50) for FAILOVER_SECS s (default 10). Two figures,
#          p50/p90/p99/max: from a capture on the loopback (dumpcap/tshark: the kernel's
#          timestamps of the 503 and of the INVITE to the second carrier, i.e. crossbar's own
#          time), and from both carriers' message traces (-trace_msg: SIPp's timestamps, so
#          SIPp's own scheduling is in it too).
#   media  (b)+(c) relayed calls with bench/loadgen (crossbar-loadgen; SIPp's pcap player
#          limits it at a few hundred calls, see docs/BENCHMARKS.md): for each N of CALLS,
#          N calls opened at RAMP_RATE/s from the users.csv extensions to 2999 (the
#          generator registers it), each with MEDIA_SECS s of 20 ms PCMU both ways, all up at
#          once. Loss = packets sent vs received, counted by the generator each way, plus
#          packets that reached the wrong call; relay latency from send stamps; late = packets
#          that arrived more than 5 ms behind their 20 ms (gaps between arrivals on the
#          generator's clock: the relay, the generator's pacing and its receiving together);
#          memory = crossbar's VmRSS rise / N. crossbar restarts for every N. Run for each crossbar of SERVERS (crossbar, crossbar-base; the others
#          are skipped), one after the other for each N. MEDIA_PRIORITY=rt runs crossbar and
#          the generator under SCHED_RR (chrt --rr 10), out of reach of other processes.
#
# Everything talks to 127.0.0.1; ports: server 5360, SIPp UAC 5371 (RTP 6400), SIPp UAS
# 5390 (RTP 6600), crossbar's relay 10000-31999 (5,500 calls: above SIPp's control ports,
# 8888 and up, below the ephemeral range where crossbar-loadgen's sockets are; it overlaps
# the test suite's port blocks, so do not run both at once).
# RESULTS=dir keeps the logs (SIPp screens/CSVs, crossbar log) there; default: a temp dir,
# removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=$(cd ../shared && pwd)
parts=${PARTS:-rate setup media}
servers=${SERVERS:-crossbar kamailio}
read -r -a rates <<<"${RATES:-500 1000 1500 2000 2500 3000 3500}"
read -r -a media_calls <<<"${CALLS:-500 1000 1500 2000 2500}"
duration=${DURATION:-10}
hold_ms=${HOLD_MS:-1000}
setup_secs=${SETUP_SECS:-20}
media_secs=${MEDIA_SECS:-30}
ramp_rate=${RAMP_RATE:-200}
port=5360 uac_port=5371 uac_mp=6400 uas_port=5390 uas_mp=6600 fail_port=5395 fail_mp=6700

command -v sipp >/dev/null || { echo "bench: sipp missing (apt-get install sip-tester)" >&2; exit 1; }
if [[ " $servers " == *" kamailio "* ]] && ! command -v kamailio >/dev/null; then
  echo "bench: installing kamailio for the reference run"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio >/dev/null
fi
cargo build --release --locked -p crossbar -p crossbar-loadgen
# 2,500 relayed calls: 10,000 sockets in crossbar, 5,000 in the generator.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# shellcheck source=bench/harness.sh
. bench/harness.sh

echo "== machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
  "$(awk '/^MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)," \
  "$(sipp -v 2>/dev/null | grep -o 'SIPp v[0-9.]*' | head -1), $(kamailio -v 2>/dev/null | head -1 | cut -d' ' -f2-3)"
echo "== load at start:$(uptime | sed 's/.*load average//')"
busy_now

sipp_dir=$shared/sipp
cp "$sipp_dir"/users.csv "$work/"
printf 'SEQUENTIAL\nuas;[authentication username=uas password=pw-uas-2999]\n' >"$work/uas.csv"

# crossbar's configuration: user0001..user1000 (users.csv), and the SIPp UAS as extension
# 2999, user "uas", which every call dials.
write_config() { # LOG_LEVEL [outbound|failover|inbound]
  python3 - "$work/crossbar.toml" "$port" "$1" "${2:-internal}" "$uas_port" "$fail_port" "$uac_port" <<'PY'
import sys
path, port, level, kind, uas_port, fail_port, uac_port = sys.argv[1:8]
lines = ['[sip]', f'listen_udp = ["127.0.0.1:{port}"]', 'listen_tcp = []',
         '[auth]', 'algorithms = ["MD5"]', 'min_secret_length = 6',
         '[media]', 'address = "127.0.0.1"', 'port_min = 10000', 'port_max = 31999',
         '[calls]', 'max_calls_per_extension = 100000',
         '[database]', 'url = "sqlite://crossbar.db"', '[log]', f'level = "{level}"',
         '[[extension]]', 'number = "2999"', 'username = "uas"', 'secret = "pw-uas-2999"']
for i in range(1, 1001):
    lines += ['[[extension]]', f'number = "{1000 + i}"', f'username = "user{i:04d}"', f'secret = "pw{i:04d}"']
    if kind in ('outbound', 'failover'):
        lines += ['class = "national"']
if kind == 'inbound':
    # The SIPp UAC is the carrier: its calls to the DID go through a time condition (open
    # all week) to a hunt group whose first member is 2999, the SIPp UAS. skip_busy = false:
    # 2999 has thousands of calls up at once.
    lines += ['[site]', 'country = "GB"', 'timezone = "Europe/London"', 'currency = "GBP"',
              '[[extension]]', 'number = "2998"', 'username = "spare"', 'secret = "pw-spare-2998"',
              '[[trunk]]', 'name = "carrier"', f'address = "127.0.0.1:{uac_port}"',
              'options_interval_secs = 0',
              '[[inbound_route]]', 'name = "main"', 'trunks = ["carrier"]',
              'dids = ["+442079460000"]', 'destination = "tc:hours"',
              '[[time_condition]]', 'name = "hours"', 'open = ["mon-sun 00:00-24:00"]',
              'when_open = "group:desk"', 'when_closed = "ext:2998"',
              '[[ring_group]]', 'name = "desk"', 'strategy = "hunt"', 'members = ["2999", "2998"]',
              'ring_secs = 15', 'skip_busy = false']
if kind in ('outbound', 'failover'):
    # The SIPp UAS is the carrier: calls to UK numbers leave through it (least cost); for
    # failover, a carrier that refuses everything (503) is cheaper, so it is tried first.
    lines += ['[site]', 'country = "GB"', 'timezone = "Europe/London"', 'currency = "GBP"',
              '[[class]]', 'name = "national"',
              'allow = ["emergency", "internal", "local", "national", "mobile", "toll_free"]',
              '[[trunk]]', 'name = "carrier"', f'address = "127.0.0.1:{uas_port}"',
              'options_interval_secs = 0',
              '[[rate]]', 'trunk = "carrier"', 'prefix = "+44"', 'per_minute = 0.010']
    trunks = '["carrier"]'
    if kind == 'failover':
        lines += ['[[trunk]]', 'name = "refusing"', f'address = "127.0.0.1:{fail_port}"',
                  'options_interval_secs = 0',
                  '[[rate]]', 'trunk = "refusing"', 'prefix = "+44"', 'per_minute = 0.005']
        trunks = '["refusing", "carrier"]'
    lines += ['[[outbound_route]]', 'name = "uk"', 'match = ["+44*"]', 'strategy = "least_cost"',
              f'trunks = {trunks}', 'caller_id = "+442079460000"']
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
pct() { awk -v t="$1" -v hz="$hz" -v s="$2" 'BEGIN { printf "%.0f%%", t / hz / s * 100 }'; }
screen_field() { # SCREEN "Successful call" -> cumulative count
  awk -F'|' -v f="$2" 'index($0, f) {gsub(/ /,"",$3); v=$3} END {print v+0}' "$1"
}
retransmissions() { # the -trace_stat CSV: last value of Retransmissions(C)
  awk -F';' 'NR==1 {for (i=1;i<=NF;i++) if ($i=="Retransmissions(C)") c=i; next} c {v=$c} END {print v+0}' "$1"
}

server_pid=
server_wrap=()
# What the UAC dials on each server: the registered UAS's user name, or a national number.
service_of() {
  case "$1" in
    crossbar-out|crossbar-failover) echo 02079460000 ;;
    crossbar-in) echo +442079460000 ;;
    *) echo uas ;;
  esac
}
# The UAC's scenario: a carrier is not challenged (it is known by its address).
scenario_of() { case "$1" in crossbar-in) echo uac_basic ;; *) echo uac_basic_auth ;; esac; }
start_server() { # crossbar|crossbar-out|crossbar-failover|crossbar-base|kamailio LOG_LEVEL [noreg]
  local binary="$repo/target/release/crossbar" kind=internal reg=${3:-}
  case "$1" in
    crossbar-base) binary=${CROSSBAR_BASE:?set CROSSBAR_BASE to the other build of crossbar} ;;
    crossbar-out) kind=outbound; reg=noreg ;;
    crossbar-failover) kind=failover; reg=noreg ;;
    crossbar-in) kind=inbound ;;
  esac
  if [ "$1" != kamailio ]; then
    rm -f "$work"/crossbar.db*
    write_config "$2" "$kind"
    (cd "$work" && exec "${server_wrap[@]}" "$binary" run --config crossbar.toml 2>>"$work/crossbar.log") &
    server_pid=$!
  else
    UAS="127.0.0.1:$uas_port" kamailio -f "$repo/bench/kamailio/proxy.cfg" -l "udp:127.0.0.1:$port" \
      -DD -E -m 512 -M 64 2>>"$work/kamailio.log" &
    server_pid=$!
  fi
  pids+=("$server_pid")
  # Ready once its SIP socket is bound (opening the database first can take seconds on a
  # busy machine).
  local waited=0
  while ! ss -Hlun "sport = :$port" | grep -q . && [ "$waited" -lt 300 ] && kill -0 "$server_pid" 2>/dev/null; do
    sleep 0.1; waited=$((waited + 1))
  done
  sleep 0.5
  kill -0 "$server_pid" 2>/dev/null || { echo "bench: $1 did not start (see $work/$1.log)" >&2; exit 1; }
  if [ "$1" != kamailio ] && [ "$reg" != noreg ]; then
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
  local scenario
  scenario=$(scenario_of "$name")
  (cd "$work" && exec sipp "127.0.0.1:$port" -s "$(service_of "$name")" -sf "$sipp_dir/$scenario.xml" -inf users.csv \
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
  screen=$(ls -t "$work"/"$scenario"_[0-9]*_screen.log | head -1)
  stat=$(ls -t "$work"/"$scenario"_[0-9]*_.csv | head -1)
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
  for f in "$work"/"$scenario"_[0-9]*; do mv "$f" "$work/runs/${name}_${rate}_$(basename "$f")"; done
  last_rtt=$(ls -t "$work"/runs/"${name}_${rate}"_*_rtt.csv 2>/dev/null | head -1 || true)
}

best_crossbar=0
declare -A best_of
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
    best_of[$server]=$best
  done
fi

if [[ " $parts " == *" rate "* ]] && [ -n "${best_of[crossbar]:-}" ] && [ -n "${best_of[crossbar-out]:-}" ]; then
  awk -v i="${best_of[crossbar]}" -v o="${best_of[crossbar-out]}" \
    'BEGIN { printf "outbound / internal calls/s in this run: %d / %d = %.2f\n", o, i, i ? o / i : 0 }'
fi
if [[ " $parts " == *" rate "* ]] && [ -n "${best_of[crossbar]:-}" ] && [ -n "${best_of[crossbar-in]:-}" ]; then
  awk -v i="${best_of[crossbar]}" -v o="${best_of[crossbar-in]}" \
    'BEGIN { printf "inbound / internal calls/s in this run: %d / %d = %.2f\n", o, i, i ? o / i : 0 }'
fi

if [[ " $parts " == *" failover "* ]]; then
  frate=${FAILOVER_RATE:-50} fsecs=${FAILOVER_SECS:-10}
  echo "== failover: first trunk answers 503, the second answers; $frate calls/s for $fsecs s =="
  start_server crossbar-failover warn
  total=$((frate * fsecs))
  (cd "$work" && exec sipp -sf "$repo/crates/server/tests/sipp/uas_unavailable.xml" -i 127.0.0.1 \
      -p "$fail_port" -mp "$fail_mp" -m "$total" -recv_timeout 60000 -timeout 600s -nostdin \
      -trace_msg -message_file failing_msg.log >/dev/null 2>&1) &
  fail_pid=$!; pids+=("$fail_pid")
  start_uas "$total" -trace_msg -message_file answering_msg.log
  command -v dumpcap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; }
  dumpcap -q -i lo -f "udp port $fail_port or udp port $uas_port" -w "$work/failover.pcapng" 2>/dev/null &
  cap_pid=$!; pids+=("$cap_pid")
  sleep 1
  printf "%-9s %7s %8s %7s %8s %10s %8s %8s %8s\n" server rate/s ok failed retrans created/s \
    "cpu" "uac-cpu" "uas-cpu"
  run_calls crossbar-failover "$frate" "$fsecs"
  stop "$fail_pid"
  stop "$server_pid"
  sleep 1; stop "$cap_pid"
  tshark -r "$work/failover.pcapng" -T fields -E separator=';' -e frame.time_epoch -e udp.srcport \
      -e udp.dstport -e sip.Call-ID -e sip.Status-Code -e sip.Method >"$work/failover.tsv" 2>/dev/null
  python3 - "$fail_port" "$uas_port" "$work/failover.tsv" <<'PY'
import sys
fail, answer = sys.argv[1], sys.argv[2]
refused, delays = {}, []
for line in open(sys.argv[3]):
    when, src, dst, call, status, method = (line.rstrip('\n').split(';') + [''] * 6)[:6]
    key = call.split('@')[0].rsplit('-', 1)[0]
    if src == fail and status == '503':
        refused.setdefault(key, float(when))
    elif dst == answer and method == 'INVITE' and key in refused:
        delays.append((float(when) - refused.pop(key)) * 1e6)
if not delays:
    sys.exit(print('failover (capture): no matched calls'))
delays.sort()
q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))]
print(f'failover (capture, crossbar time): {len(delays)} calls, 503 on the wire -> INVITE to the second carrier on the wire: '
      f'p50 {q(.5):.0f} us, p90 {q(.9):.0f} us, p99 {q(.99):.0f} us, max {delays[-1]:.0f} us')
PY
  python3 - "$work/failing_msg.log" "$work/answering_msg.log" <<'PY'
import re, sys, datetime
def messages(path):
    # -trace_msg: a dashed line with the time, then "UDP message sent/received", the message.
    text = open(path, errors='replace').read()
    for block in re.split(r'\n-{10,} ', text)[1:]:
        stamp, _, rest = block.partition('\n')
        when = datetime.datetime.strptime(stamp.strip()[:26], '%Y-%m-%d %H:%M:%S.%f').timestamp()
        call = re.search(r'^Call-ID:\s*(\S+)', rest, re.M | re.I)
        yield when, rest, call.group(1) if call else ''
refused = {}
for when, text, call in messages(sys.argv[1]):
    if 'sent' in text.split('\n', 1)[0] and re.search(r'^SIP/2.0 503', text, re.M):
        refused.setdefault(call.split('@')[0].rsplit('-', 1)[0], when)
delays = []
for when, text, call in messages(sys.argv[2]):
    if 'received' in text.split('\n', 1)[0] and re.search(r'^INVITE ', text, re.M):
        key = call.split('@')[0].rsplit('-', 1)[0]
        if key in refused:
            delays.append((when - refused[key]) * 1e6)
if not delays:
    sys.exit(print('failover: no matched calls (see the message traces)'))
delays.sort()
q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))]
print(f'failover: {len(delays)} calls, 503 sent by the first carrier -> INVITE received by the second: '
      f'p50 {q(.5):.0f} us, p90 {q(.9):.0f} us, p99 {q(.99):.0f} us, max {delays[-1]:.0f} us')
PY
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
  if [[ " $servers " == *" crossbar "* ]]; then
    # The same calls from crossbar-loadgen, whose clock reads microseconds (SIPp's reads
    # milliseconds and its loop runs every few): crossbar only, as the generator's callee
    # registers with the server it calls.
    start_server crossbar warn noreg
    "$repo/target/release/crossbar-loadgen" --server "127.0.0.1:$port" --users "$work/users.csv" \
      --dial 2999 --callee uas --callee-password pw-uas-2999 --no-media \
      --calls $((setup_rate * setup_secs)) --rate "$setup_rate" --hold "$((hold_ms / 1000))" \
      2>"$work/loadgen_setup.err" | sed -n 's/^setup (first INVITE -> 200, 407 round included): /crossbar (loadgen): /p'
    stop "$server_pid"
  fi
fi

if [[ " $parts " == *" media "* ]]; then
  echo "== (b)+(c) relayed calls: crossbar-loadgen, ${media_secs} s of 20 ms PCMU each way per call, opened at $ramp_rate/s =="
  echo "   loss% = (sent - received) / sent, both directions together, counted per packet by the generator;"
  echo "   lat = send -> receive through the relay (generator's clock); cpu = over the window all calls are up"
  echo "   lg-lag = how late the generator's packets left at worst (more than a few ms: it was short of CPU)"
  echo "   late = packets that arrived > 5 ms behind their 20 ms (generator's clock), both ways; max-gap = longest gap in a stream"
  media_servers=()
  for server in $servers; do
    case "$server" in crossbar|crossbar-base) media_servers+=("$server") ;; esac
  done
  [ "${#media_servers[@]}" -gt 0 ] || media_servers=(crossbar)
  [ "${MEDIA_PRIORITY:-}" = rt ] && server_wrap=(chrt --rr 10) &&
    echo "   crossbar and the generator run under SCHED_RR"
  printf "%-13s %6s %6s %6s %10s %10s %8s %7s %8s %8s %8s %8s %7s %6s %6s %8s %8s %8s\n" server calls ok failed \
    sent received loss% crossed lat_p50 lat_p99 rss0_MB rss_MB KB/call cpu lg-cpu lg-lag late max-gap
  for n in "${media_calls[@]}"; do
   for server in "${media_servers[@]}"; do
    : >"$work/crossbar.log"
    start_server "$server" warn noreg
    rss0=$(rss_kb "$server_pid")
    "${server_wrap[@]}" "$repo/target/release/crossbar-loadgen" --server "127.0.0.1:$port" --users "$work/users.csv" \
      --dial 2999 --callee uas --callee-password pw-uas-2999 --calls "$n" --rate "$ramp_rate" \
      --hold "$media_secs" >"$work/loadgen_$n.out" 2>"$work/loadgen_$n.err" &
    lg=$!; pids+=("$lg"); launched=$(date +%s)
    # While every call is up (from the end of the ramp to the first hang-up): peak RSS,
    # and CPU of crossbar and of the generator.
    ramp=$(( (n + ramp_rate - 1) / ramp_rate + 2 ))
    sleep "$ramp"
    s0=$(cpu_ticks "$server_pid"); g0=$(cpu_ticks "$lg"); t0=$(date +%s.%N)
    peak=0
    # Until the first hang-up (the first call's media ends MEDIA_SECS after its answer, its
    # BYE a second later), by the clock: counting sleeps ran past it on a busy machine, even
    # past the generator's exit.
    while [ "$(date +%s)" -lt $((launched + media_secs)) ]; do
      r=$(rss_kb "$server_pid"); [ "$r" -gt "$peak" ] && peak=$r
      sleep 0.5
    done
    s1=$(cpu_ticks "$server_pid"); g1=$(cpu_ticks "$lg"); t1=$(date +%s.%N)
    # Socket drops (receive buffer full): crossbar's relay ports, and the generator's (its
    # sockets are in the ephemeral range).
    drops=$(socket_drops)
    wait "$lg" || true
    stop "$server_pid"
    el=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
    result=$(grep '^result ' "$work/loadgen_$n.out" || echo "result calls=0")
    awk -v line="$result" -v server="$server" -v n="$n" -v rss0="$rss0" -v peak="$peak" -v cpu="$(pct $((s1 - s0)) "$el")" \
        -v gcpu="$(pct $((g1 - g0)) "$el")" 'BEGIN {
      split(line, kv, " "); for (i in kv) { split(kv[i], p, "="); v[p[1]] = p[2] }
      sent = v["fwd_sent"] + v["back_sent"]; got = v["fwd_received"] + v["back_received"]
      gap = v["fwd_max_gap_user_us"] > v["back_max_gap_user_us"] ? v["fwd_max_gap_user_us"] : v["back_max_gap_user_us"]
      printf "%-13s %6d %6d %6d %10d %10d %7.4f%% %7d %6.2fms %6.2fms %8.1f %8.1f %7.1f %6s %6s %6.1fms %8d %6.1fms\n", server, n,
        v["answered"], v["failed"], sent, got, sent ? (sent - got) / sent * 100 : 0, v["crossed"],
        v["latency_p50_us"] / 1000, v["latency_p99_us"] / 1000, rss0 / 1024, peak / 1024,
        (peak - rss0) / n, cpu, gcpu, v["pacing_lag_max_us"] / 1000,
        v["fwd_late_user"] + v["back_late_user"], gap / 1000
    }'
    echo "       socket drops: $drops"
    mkdir -p "$work/runs"
    mv "$work/loadgen_$n.out" "$work/runs/${server}_loadgen_$n.out"
    mv "$work/loadgen_$n.err" "$work/runs/${server}_loadgen_$n.err"
    cp "$work/crossbar.log" "$work/runs/${server}_media_${n}_crossbar.log"
   done
  done
fi
