#!/usr/bin/env python3
"""Sets each moment frames were late beside what crossbar-stall-probe saw then.

    bench/stalls.py LOADGEN_OUTPUT PROBE_OUTPUT

LOADGEN_OUTPUT holds the generator's `late kind=K at=S frames=N longest_ms=G` lines (a
10 ms moment from S in which N frames of kind K arrived late, the longest gap G ms);
PROBE_OUTPUT the probe's `stall cpu=C at=S late_ms=L` (CPU C's SCHED_FIFO 99 probe woke
L ms late at S: nothing else ran on C from S - L to S) and `steal cpu=C at=S ticks=D`,
after its first line, `probe cpus=N ...`.

For each moment of late frames crossbar sent (kind=heard: its own, music and prompts;
kind=relayed: what it relayed to the callees), the probes' stalls that overlap its gaps
(from S - G to S + 10 ms), per CPU, and the steal ticks counted then. A moment
during which both CPUs' probes were held is one in which the virtual machine did not run;
one with no stall at all is a hold-up inside the machine (crossbar, the kernel, the
generator) to look for.
"""

import sys


def fields(line):
    return dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)


def main(loadgen, probe):
    moments = []
    for line in open(loadgen):
        if line.startswith("late "):
            f = fields(line)
            moments.append((f["kind"], float(f["at"]), int(f["frames"]), float(f["longest_ms"]) / 1e3))
    stalls, steals, cpus = [], [], None
    for line in open(probe):
        f = fields(line)
        if line.startswith("probe "):
            cpus = int(f["cpus"])
        elif line.startswith("stall "):
            stalls.append((int(f["cpu"]), float(f["at"]), float(f["late_ms"]) / 1e3))
        elif line.startswith("steal "):
            steals.append((int(f["cpu"]), float(f["at"]), int(f["ticks"])))
    if cpus is None:
        sys.exit(f"{probe}: no `probe cpus=N` line: the probe did not start")
    print(
        f"   stall probe: {len(stalls)} wake-ups over 3 ms late "
        f"({', '.join(f'cpu{c} {sum(1 for s in stalls if s[0] == c)}' for c in range(cpus))}), "
        f"steal {sum(t for _, _, t in steals)} ticks"
    )
    for kind, what in (("heard", "crossbar's own frames"), ("relayed", "relayed frames")):
        report(kind, what, moments, stalls, steals, cpus)


def report(kind, what, moments, stalls, steals, cpus):
    counts = {"both": 0, "one": 0, "none": 0}
    frames = {"both": 0, "one": 0, "none": 0}
    details = []
    for k, at, n, gap in moments:
        if k != kind:
            continue
        start, end = at - gap, at + 0.010
        held = {}
        for cpu, when, late in stalls:
            if when - late < end and when > start:
                held[cpu] = max(held.get(cpu, 0.0), late)
        stolen = sum(t for _, when, t in steals if start - 0.010 <= when <= end + 0.010)
        verdict = "both" if len(held) >= cpus else "one" if held else "none"
        counts[verdict] += 1
        frames[verdict] += n
        others = [
            f"{k2} {m}"
            for k2, m in (
                (k2, sum(n2 for k3, a2, n2, _ in moments if k3 == k2 and abs(a2 - at) <= 0.030))
                for k2 in ("control", "pacing")
            )
            if m
        ]
        details.append(
            f"     {at:.3f}: {n} frames late, longest gap {gap * 1e3:.1f} ms; probes held: "
            + (", ".join(f"cpu{c} {held[c] * 1e3:.1f} ms" for c in sorted(held)) or "none")
            + f"; steal ticks {stolen}"
            + (f"; the generator's own within 30 ms: {', '.join(others)}" if others else "")
        )
    if not details:
        print(f"   {what}: no late frame")
        return
    print(
        f"   {what}: late in {sum(counts.values())} moments ({sum(frames.values())} frames); "
        f"every CPU's probe held then: {counts['both']} ({frames['both']} frames), one CPU's: "
        f"{counts['one']} ({frames['one']}), none: {counts['none']} ({frames['none']})"
    )
    for line in details[:20]:
        print(line)
    if len(details) > 20:
        print(f"     ... {len(details) - 20} more moments")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
