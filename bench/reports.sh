#!/usr/bin/env bash
# Reports over a year of calls: how long `crossbar report inbound` and `report queues` take,
# and how much memory, as the history grows. Figures and how to read
# them: docs/BENCHMARKS.md, "Reports over a year of calls".
#
#   bench/reports.sh                        250,000 calls over the year before the seed's day
#   CALLS="10000 100000 250000 1000000" bench/reports.sh
#   SEED=/path/to/crossbar.db bench/reports.sh    start from another database
#
# The calls are real ones, multiplied: the seed is the database of one bench/queue.sh run
# (1,000 carrier calls to a DID, each queued, answered by one of 100 agents, with their call
# records, queue entries and agent events; made here with PROBE=0 REFERENCE="" unless SEED
# is given). Its calls are copied, each copy under new call ids and moved back in time by
# its share of the year, until there are N; the agent events are copied with them. Then,
# for each N, each report over the whole year (`--since` one year before the seed's last
# call) and, as the reference in the same run, the same report over the seed's own last hour
# (its 1,000 calls): the wall time (best of 3) and the peak RSS (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
crossbar_bin=${CROSSBAR:-$repo/target/release/crossbar}
sizes=${CALLS:-250000}

cargo build --release --locked -p crossbar -p crossbar-loadgen
# shellcheck source=bench/harness.sh
. bench/harness.sh

if [ -z "${SEED:-}" ]; then
  echo "== seed: one bench/queue.sh run (1,000 queued calls)"
  PROBE=0 REFERENCE="" RESULTS="$work/seed" bench/queue.sh >"$work/seed.txt" 2>&1
  SEED=$work/seed/crossbar.db
fi
[ -f "$SEED" ] || { echo "bench: no seed database at $SEED" >&2; exit 1; }

echo "== machine: $(nproc) cores, kernel $(uname -r); load at start:$(uptime | sed 's/.*load average//')"
printf '%-9s %-9s %12s %10s %14s %10s\n' calls report "year: best s" "peak MB" "1,000 calls: s" "peak MB"
for n in $sizes; do
  db=$work/year_$n.db
  rm -f "$db"*
  python3 - "$SEED" "$db" "$n" <<'PY'
import sqlite3, shutil, sys
seed, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
shutil.copyfile(seed, db)
c = sqlite3.connect(db)
base = c.execute("select count(*) from calls").fetchone()[0]
copies = max(1, -(-n // base)) - 1
year_ms = 365 * 24 * 3600 * 1000
step = year_ms // (copies + 1)
call_columns = [r[1] for r in c.execute("pragma table_info(calls)")]
queue_columns = [r[1] for r in c.execute("pragma table_info(call_queues)")]
event_columns = [r[1] for r in c.execute("pragma table_info(agent_events)") if r[1] != "id"]
def shifted(columns, moved, renamed):
    out = []
    for col in columns:
        if col in moved:
            out.append(f"CASE WHEN {col} IS NULL THEN NULL ELSE {col} - :shift END")
        elif col in renamed:
            out.append(f"CASE WHEN {col} IS NULL THEN NULL ELSE {col} || :suffix END")
        else:
            out.append(col)
    return ", ".join(out)
calls_sql = (f"insert into calls ({', '.join(call_columns)}) select "
             + shifted(call_columns, {"started_at_ms", "answered_at_ms", "ended_at_ms"}, {"id", "sip_call_id"})
             + " from seed_calls")
queues_sql = (f"insert into call_queues ({', '.join(queue_columns)}) select "
              + shifted(queue_columns, {"joined_at_ms"}, {"call_id"})
              + " from seed_queues")
events_sql = (f"insert into agent_events ({', '.join(event_columns)}) select "
              + shifted(event_columns, {"at_ms"}, {"call_id"})
              + " from seed_events")
c.execute("create temp table seed_calls as select * from calls")
c.execute("create temp table seed_queues as select * from call_queues")
c.execute("create temp table seed_events as select * from agent_events")
with c:
    for k in range(1, copies + 1):
        args = {"shift": k * step, "suffix": f"-copy-{k}"}
        c.execute(calls_sql, args)
        c.execute(queues_sql, args)
        c.execute(events_sql, args)
    # Exactly n calls: the oldest copies' surplus goes.
    extra = c.execute("select count(*) from calls").fetchone()[0] - n
    if extra > 0:
        c.execute("delete from calls where id in (select id from calls order by started_at_ms limit ?)", (extra,))
c.execute("vacuum")
c.close()
PY
  config=$work/year_$n.toml
  sed "s|^url = .*|url = \"sqlite://$db\"|" "$(dirname "$SEED")/crossbar.toml" >"$config"
  last=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select max(started_at_ms) from calls").fetchone()[0])' "$db")
  year_from=$(date -u -d "@$(( last / 1000 - 365 * 86400 ))" +%Y-%m-%dT%H:%M:%SZ)
  day_from=$(date -u -d "@$(( last / 1000 - 3600 ))" +%Y-%m-%dT%H:%M:%SZ)
  until=$(date -u -d "@$(( last / 1000 + 60 ))" +%Y-%m-%dT%H:%M:%SZ)
  for report in inbound queues; do
    measure() { # SINCE LABEL -> "best_seconds peak_MB"
      local best="" peak=0 i t m
      for i in 1 2 3; do
        /usr/bin/time -f '%e %M' -o "$work/time.txt" \
          "$crossbar_bin" report "$report" --config "$config" --since "$1" --until "$until" --format json \
          >"$work/report_${report}_${n}_$2.json" 2>"$work/report.err" ||
          { echo "bench: crossbar report $report failed:" >&2; cat "$work/report.err" >&2; exit 1; }
        read -r t m <"$work/time.txt"
        best=$(awk -v a="${best:-$t}" -v b="$t" 'BEGIN {print (b < a ? b : a)}')
        [ "$m" -gt "$peak" ] && peak=$m
      done
      echo "$best $(awk -v k="$peak" 'BEGIN {printf "%.1f", k / 1024}')"
    }
    read -r year_s year_mb < <(measure "$year_from" year)
    read -r day_s day_mb < <(measure "$day_from" seed)
    # The calls each report counted (offered), to show it read them all.
    counted() {
      python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["total"]["offered"] if "total" in r else sum(q["offered"] for q in r["queues"]))' "$1"
    }
    printf '%-9s %-9s %12s %10s %14s %10s   counted %s and %s\n' "$n" "$report" "$year_s" "$year_mb" "$day_s" "$day_mb" \
      "$(counted "$work/report_${report}_${n}_year.json")" "$(counted "$work/report_${report}_${n}_seed.json")"
  done
done
