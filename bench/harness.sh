# What the benchmark scripts share (sourced by calls.sh, inbound.sh and queue.sh, never run):
# a work directory (RESULTS=dir keeps it, else a temporary one removed at exit), the
# processes to stop at exit (`pids`), how busy the machine is now, a process's CPU ticks and
# VmRSS, waiting for crossbar's SIP socket, the UDP receive-buffer drops, and the stall
# probe.

# The work directory in `work` (kept when `keep` is 1), and the exit trap that stops every
# process in `pids` and removes the directory unless kept.
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

hz=$(getconf CLK_TCK)
# User + system CPU ticks of one process (its threads included).
process_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# The processes using more than 5% of a core now (other people's work on a shared machine).
busy_now() {
  top -bn2 -d1 | awk '/^top -/ {n++} n == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 > 5 {print "   busy now: " $12 " " $9 "%"}'
}

# Waits until crossbar (PID) has bound its SIP socket on UDP PORT — opening the database can
# take seconds on a busy disk — then half a second more; exits the script if it died (LOG).
wait_for_sip() { # PORT PID LOG
  local waited=0
  while ! ss -Hlun "sport = :$1" | grep -q . && [ "$waited" -lt 300 ] && kill -0 "$2" 2>/dev/null; do
    sleep 0.1; waited=$((waited + 1))
  done
  sleep 0.5
  kill -0 "$2" 2>/dev/null || { echo "bench: crossbar did not start (see $3)" >&2; exit 1; }
}

# Datagrams dropped by full receive buffers since the sockets opened: crossbar's relay ports
# (10000-31999) and the generator's (the ephemeral range, and PORT if given).
socket_drops() { # [PORT]
  python3 -c 'import sys
extra = int(sys.argv[1]) if len(sys.argv) > 1 else -1
relay = gen = 0
for f in (l.split() for l in list(open("/proc/net/udp"))[1:]):
    p = int(f[1].split(":")[1], 16)
    if 10000 <= p <= 31999: relay += int(f[-1])
    elif p >= 32768 or p == extra: gen += int(f[-1])
print(f"relay sockets {relay}, generator sockets {gen}")' "$@"
}

# The stall probe (crossbar-stall-probe: one SCHED_FIFO 99 thread per CPU) writing to FILE
# from now until probe_stop; PROBE=0 leaves it out. bench/stalls.py then sets the moments
# frames were late beside the moments the CPUs were held.
probe_pid=
probe_start() { # FILE
  [ "${PROBE:-1}" = 1 ] || return 0
  "$repo/target/release/crossbar-stall-probe" >"$1" 2>"$1.err" &
  probe_pid=$!; pids+=("$probe_pid")
}
probe_stop() { [ -z "$probe_pid" ] || stop "$probe_pid"; }
# What the probe in FILE saw at the moments the generator's output OUT says were late.
probe_report() { # OUT FILE
  [ "${PROBE:-1}" = 1 ] || return 0
  cat "$2.err" >&2
  python3 "$repo/bench/stalls.py" "$1" "$2"
}
