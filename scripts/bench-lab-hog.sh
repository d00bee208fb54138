#!/usr/bin/env bash
# bench-lab-hog.sh - does `herd lab` notice a CPU hog, and keep its answers
# (issue 21)?
#
# Runs the lab with its defaults (every model, as `make lab` does) and, from
# a third of the way into the run to two thirds, a busy loop pinned to one
# CPU (taskset). Prints the lab's verdict table, the repetitions it marked
# noisy (those during the hog must be among them, and re-run within the
# budget), and, given BASE=a JSON of a run without the hog, every answer
# that turned from YES to NO or back (target: none; UNSURE is no flip).
#
#   scripts/bench-lab-hog.sh
#   BASE=build/report.json KEEP=DIR scripts/bench-lab-hog.sh
#   START=60 LENGTH=65 CPU=1 PORT=28181 scripts/bench-lab-hog.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s all
if [ -n "${KEEP:-}" ]; then
	out=$KEEP
	mkdir -p "$out"
else
	out=$(mktemp -d /tmp/herd-lab-hog.XXXXXX)
	trap 'rm -rf "$out"' EXIT
fi
start=${START:-65}
length=${LENGTH:-65}
cpu=${CPU:-1}

build/herd lab --port "${PORT:-8181}" --json "$out/hog.json" --html "$out/hog.html" >"$out/hog.txt" \
	2>"$out/hog.err" &
lab=$!
t0=$(date +%s)
sleep "$start"
taskset -c "$cpu" sh -c 'while :; do :; done' &
hog=$!
echo "hog on CPU $cpu from $(( $(date +%s) - t0 )) s" >&2
sleep "$length"
kill "$hog"
wait "$hog" 2>/dev/null || true
echo "hog stopped at $(( $(date +%s) - t0 )) s" >&2
wait "$lab" || true
echo "lab done at $(( $(date +%s) - t0 )) s" >&2

sed -n '/^== verdicts/,/^$/p' "$out/hog.txt"
grep -E '^(noise|noisy repetitions|adaptive repetition):' "$out/hog.txt"
grep -E '^NOISY ' "$out/hog.txt" || echo "no noisy repetition"
/usr/bin/python3 - "$out/hog.json" "${BASE:-}" "$start" "$length" <<'EOF'
import json, sys
hog = json.load(open(sys.argv[1]))
start, length = float(sys.argv[3]), float(sys.argv[4])
# Which repetitions ran while the hog did: each repetition's noise says
# when it began (from the lab's start, about when this script started it)
# and how long it took.
print("\nrepetitions that overlapped the hog (%.0f-%.0f s) and whether they were marked noisy:" % (start, start + length))
hit = flagged = 0
for m in hog["models"]:
    for r in m.get("scenarios", {}).get("seed", {}).get("repetitions", []):
        a = r["noise"]["start_s"]
        b = a + r["noise"]["elapsed_s"]
        if b > start and a < start + length:
            hit += 1
            flagged += r["noisy"]
            print("  %-10s repetition %d (pass %d): %5.0f-%5.0f s  %s" % (m["name"], r["repetition"], r["pass"], a, b,
                  "NOISY: " + r["noise_reason"] if r["noisy"] else "not flagged"))
print("flagged %d of %d" % (flagged, hit))
if sys.argv[2]:
    base = {m["name"]: m for m in json.load(open(sys.argv[2]))["models"]}
    flips = 0
    for m in hog["models"]:
        b = base.get(m["name"])
        if not b or "verdict" not in m or "verdict" not in b:
            continue
        for key in ("balances", "flat_tail"):
            x, y = b["verdict"][key], m["verdict"][key]
            if {x, y} <= {"YES", "NO", "UNDER LOAD ONLY"} and x != y:
                flips += 1
                print("FLIP %s %s: %s without the hog, %s with it" % (m["name"], key, x, y))
    print("YES/NO flips against %s: %d" % (sys.argv[2], flips))
EOF
