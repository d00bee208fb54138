#!/usr/bin/env bash
# bench-lab-repeat.sh - do two `make lab` runs back to back agree (issue 9)?
#
# Runs `make lab` (the defaults: every model, --repeat 3) twice in a row and
# prints, per model:
#   - the requests lost in each scenario of each run (failed + abandoned +
#     not answered 2xx + answers the server's workers did not count, summed
#     over the repetitions; target: 0 everywhere),
#   - both runs' verdicts (balances? / flat tail?) and whether they agree
#     (target: every model agrees),
#   - both runs' median seed p99 and how far apart they are
#     (|a - b| / min(a, b); target: at most 15%).
# Timing targets like these belong on a quiet machine: run it there.
#
#   scripts/bench-lab-repeat.sh
#   KEEP=DIR scripts/bench-lab-repeat.sh   (keeps both runs' outputs in DIR)
#   LAB_ARGS="--models epoll,fifo --repeat 2 --requests 300" scripts/bench-lab-repeat.sh   (a quick look)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s all
# KEEP=DIR keeps both runs' text, stderr, JSON and HTML there (for README tables).
if [ -n "${KEEP:-}" ]; then
	out=$KEEP
	mkdir -p "$out"
else
	out=$(mktemp -d /tmp/herd-lab-repeat.XXXXXX)
	trap 'rm -rf "$out"' EXIT
fi

for run in 1 2; do
	echo "== run $run: ${LAB_ARGS:-make lab}" >&2
	start=$(date +%s)
	if [ -n "${LAB_ARGS:-}" ]; then
		# shellcheck disable=SC2086 # LAB_ARGS is a list of options
		build/herd lab $LAB_ARGS --json "$out/run$run.json" >"$out/run$run.txt" 2>"$out/run$run.err" || true
	else
		make -s lab >"$out/run$run.txt" 2>"$out/run$run.err" || true
		cp build/report.json "$out/run$run.json"
		cp build/report.html "$out/run$run.html"
	fi
	echo "   $(( $(date +%s) - start )) s; $(grep -c INVALID "$out/run$run.err" || true) INVALID notes on stderr" >&2
done

/usr/bin/python3 - "$out/run1.json" "$out/run2.json" <<'EOF'
import json, sys
runs = [json.load(open(p)) for p in sys.argv[1:3]]

def lost(run):
    """Per model, per scenario: requests lost or unreconciled, summed over repetitions."""
    out = {}
    for m in run["models"]:
        per = {}
        for sc, s in m.get("scenarios", {}).items():
            reps = [r for st in s["steps"] for r in st["step"]["repetitions"]] if sc == "sweep" else s["repetitions"]
            n = 0
            for r in reps:
                n += r["failed"] + r["abandoned"] + r["non_2xx"] + abs(r["done"] - r["server_requests"])
                n += max(0, r["requests"] - r["done"] - r["failed"] - r["abandoned"])
            per[sc] = n
        out[m["name"]] = per
    return out

def verdict(m):
    v = m.get("verdict")
    return "unavailable" if not v else "balances? %s, flat tail? %s" % (v["balances"], v["flat_tail"])

def p99(m):
    s = m.get("scenarios", {}).get("seed")
    return s["summary"]["p99_ms"]["median"] if s and s["summary"]["p99_ms"]["n"] else None

for i, r in enumerate(runs):
    n = r["noise"]
    print("run %d: %.0f s, %d INVALID runs; noise: others %.1f s, steal %.1f s of %.0f s x %d CPUs%s"
          % (i + 1, r["elapsed_s"], r["invalid_runs"], n["others_s"], n["steal_s"], n["elapsed_s"], n["cpus"],
             " (WARNING: noisy)" if n["noisy"] else ""))
l1, l2 = lost(runs[0]), lost(runs[1])
m2 = {m["name"]: m for m in runs[1]["models"]}
all_lost = agree_all = p99_all = 0
nmodels = 0
print()
for m in runs[0]["models"]:
    name = m["name"]
    o = m2.get(name)
    if o is None:
        continue
    nmodels += 1
    print("%s" % name)
    scs = sorted(set(l1.get(name, {})) | set(l2.get(name, {})))
    print("  lost requests  run 1: %s" % ", ".join("%s %d" % (s, l1[name].get(s, 0)) for s in scs))
    print("                 run 2: %s" % ", ".join("%s %d" % (s, l2[name].get(s, 0)) for s in scs))
    if sum(l1[name].values()) + sum(l2[name].values()) == 0:
        all_lost += 1
    v1, v2 = verdict(m), verdict(o)
    same = v1 == v2
    agree_all += same
    print("  verdict        run 1: %s\n                 run 2: %s -> %s" % (v1, v2, "agree" if same else "DIFFER"))
    a, b = p99(m), p99(o)
    if a and b:
        d = abs(a - b) / min(a, b)
        p99_all += d <= 0.15
        print("  seed p99       %.1f ms vs %.1f ms: %.0f%% apart (%s)" % (a, b, 100 * d, "ok" if d <= 0.15 else "over 15%"))
    else:
        print("  seed p99       missing (%s, %s)" % (a, b))
print()
print("targets: 0 lost in every scenario: %d of %d models; same verdict: %d of %d; seed p99 within 15%%: %d of %d"
      % (all_lost, nmodels, agree_all, nmodels, p99_all, nmodels))
EOF
