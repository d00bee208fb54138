# test_lab.sh - `herd lab` end to end at a small size: the article's shapes
# (idle: epoll gives one worker most connections, blocking and reuseport
# spread them), a complete and finite JSON report, a well-formed HTML page
# that headless Chromium renders without console errors, the probes scenario
# (health checks and resets made, counted apart from the requests, every
# request still reconciled), the nginx peers, the answer first in every
# output (a recommendation, what the article's readers run as the lab's
# rows, verdicts with their intervals), answers only for the scenarios run,
# and bad arguments / failing servers / Ctrl-C leaving no process behind.
. tests/lib.sh
PY=/usr/bin/python3 # Debian's interpreter (the python3 first on PATH differs)

# quiet_port: a port below the ephemeral range (32768-60999 by default) with
# no socket at all on it. free_port's range overlaps the ephemeral one, and the
# lab's connection-per-request load (and other tests running at the same time)
# hold thousands of ephemeral ports, any of which makes bind() fail.
quiet_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		if ! ss -Htan "( sport = :$p or dport = :$p )" | grep -q .; then echo "$p"; return 0; fi
	done
	free_port
}

# no_server PORT: nothing listens on PORT and no herd server for it runs.
no_server() {
	! ss -Htln "sport = :$1" | grep -q . && ! pgrep -f "serve --listen 127.0.0.1:$1 " >/dev/null
}

# ---------------------------------------------------------------- usage
out=$($HERD lab --help); rc=$?
expect_eq "lab --help exits 0" "$rc" 0
expect_match "lab --help names the scenarios and how to scale up" "$out" "100000"
expect_match "lab --help: probes is not in the default set" "$out" "^  --scenarios .*\(default: all but probes\)"
expect_match "lab --help: the probe rate" "$out" "^  --probe-every N +probes: 1 probe beside every N requests"

port=$(quiet_port)
$HERD lab --models epoll,nosuch --port "$port" >"$TMP/out" 2>"$TMP/err"; rc=$?
expect_eq "unknown model exits 2" "$rc" 2
expect_match "unknown model is named" "$(cat "$TMP/err")" "unknown model 'nosuch'"
$HERD lab --scenarios seed,bogus 2>"$TMP/err"; rc=$?
expect_eq "unknown scenario exits 2" "$rc" 2
expect_match "unknown scenario is named" "$(cat "$TMP/err")" "'bogus'"
$HERD lab --workers 0 2>"$TMP/err"; rc=$?
expect_eq "--workers 0 exits 2" "$rc" 2
# Every request a stall: nothing else to time, so no stall figure at all.
$HERD lab --stall-every 1 2>"$TMP/err"; rc=$?
expect_eq "--stall-every 1 exits 2" "$rc" 2
expect_match "--stall-every 1 is named" "$(cat "$TMP/err")" "--stall-every: '1'"
$HERD lab --probe-every 0 2>"$TMP/err"; rc=$?
expect_eq "--probe-every 0 exits 2" "$rc" 2
expect_match "--probe-every 0 is named" "$(cat "$TMP/err")" "--probe-every: '0'"
$HERD lab --peer nosuch 2>"$TMP/err"; rc=$?
expect_eq "unknown peer exits 2" "$rc" 2
$HERD lab --models blocking --port "$port" --json "$TMP/no/such/dir/lab.json" 2>"$TMP/err"; rc=$?
expect_eq "an unwritable --json exits 1 before running" "$rc" 1
expect_match "the file is named" "$(cat "$TMP/err")" "cannot write '.*no/such/dir/lab.json'"
check "no server left after usage errors" no_server "$port"

# Port in use: a listener of our own on the port.
$HERD_FAST serve --listen "127.0.0.1:$port" --workers 1 --accept blocking >"$TMP/busy.log" 2>&1 &
busy=$!
track_pid $busy
if wait_port "$port" 10; then
	$HERD lab --models blocking --port "$port" --requests 50 >"$TMP/out" 2>"$TMP/err"; rc=$?
	expect_eq "port in use exits 1" "$rc" 1
	expect_match "port in use is explained" "$(cat "$TMP/err")" "port $port .*in use"
else
	not_ok "a server for the port-in-use test started" "$(cat "$TMP/busy.log")"
fi
kill -TERM $busy; wait $busy 2>/dev/null

# ------------------------------------------------------- the small lab
# With the noise check off: a machine busy with other tests would make every
# repetition noisy and leave no figure to check (the seed-only run below
# checks it on).
port=$(quiet_port)
$HERD lab --models epoll,blocking,reuseport --repeat 2 --workers 3 --requests 200 --stall-requests 100 \
	--concurrency 50 --idle-requests 40 --step 0.2s --budget 40s --noise-check off --port "$port" --json "$TMP/lab.json" \
	--html "$TMP/lab.html" \
	>"$TMP/lab.out" 2>"$TMP/lab.err" &
lab=$!
track_pid $lab
wait $lab; rc=$?
expect_eq "small lab exits 0" "$rc" 0 
[ "$rc" -ne 0 ] && sed 's/^/# /' "$TMP/lab.err" | tail -20
check "no server left after the lab" no_server "$port"
out=$(cat "$TMP/lab.out")
expect_match "terminal: a table per scenario" "$out" "^== seed:"
expect_match "terminal: the idle table" "$out" "^== idle:"
expect_match "terminal: the sweep table" "$out" "^== sweep:"
expect_match "terminal: an mmhistogram per model" "$out" "Duration in ms \(reuseport\)"
expect_match "terminal: a verdict per model" "$out" "^epoll +balances\? "
expect_match "progress on stderr" "$(cat "$TMP/lab.err")" "\[2/2 1/3\] epoll: seed 200/200"
expect_match "terminal: the noise header" "$out" "^noise: other processes .* load generator [0-9]+ us CPU per request"
expect_match "terminal: the CPU sets" "$out" "^CPUs: servers"
expect_match "terminal: nothing lost" "$out" "^every request reconciled"
expect_match "terminal: median (min-max) cells" "$out" "^p99 ms +[0-9.]+ \([0-9.]+-[0-9.]+\)"
# The answer first: before the noise header and the first table.
first=$(printf '%s\n' "$out" | grep -n -m1 -E '^== answer' | cut -d: -f1)
table=$(printf '%s\n' "$out" | grep -n -m1 -E '^== seed:' | cut -d: -f1)
noise=$(printf '%s\n' "$out" | grep -n -m1 -E '^noise:' | cut -d: -f1)
check "terminal: the answer comes before the noise header and the tables" test "${first:-999}" -lt "${noise:-0}" -a "${noise:-0}" -lt "${table:-0}"
expect_match "terminal: a recommendation or why none" "$out" "^(use [a-z-]+: |no firm answer; closest: [a-z-]+: |no recommendation: )"
expect_match "terminal: nginx's default listener as a lab row" "$out" "nginx, one shared listen socket \(the default\), 1.21.6 and later +-> reorder +not run"
expect_match "terminal: reuseport as a lab row, with its verdict" "$out" "nginx, listen ... reuseport +-> reuseport +balances\? "
expect_match "terminal: the verdicts with their intervals" "$out" "^epoll +[A-Z ]+ +[A-Z]+ +[0-9]+.* [0-9.]+ \[[0-9.]+-[0-9.]+\]"
expect_match "terminal: the noise check said off" "$out" "^noisy repetitions: not checked \(--noise-check off\)"
expect_match "terminal: what the adaptive pass did" "$out" "^adaptive repetition: [0-9]+ noisy repetitions? re-run, [0-9]+ added"

check "JSON parses (json.tool)" $PY -m json.tool "$TMP/lab.json"
cat >"$TMP/check.py" <<'EOF'
import json, math, sys
def no_const(c):
    raise ValueError("non-finite number " + c)
rep = json.load(open(sys.argv[1]), parse_constant=no_const)
want = sys.argv[2].split(",")
what = sys.argv[3]
models = {m["name"]: m for m in rep["models"]}
def numbers(x):
    if isinstance(x, bool): return
    if isinstance(x, (int, float)): yield x
    elif isinstance(x, dict):
        for v in x.values(): yield from numbers(v)
    elif isinstance(x, list):
        for v in x: yield from numbers(v)
def runs(m):
    """Every bench run of model m: (where, run)."""
    for sc, s in models[m]["scenarios"].items():
        if sc == "sweep":
            for k, st in enumerate(s["steps"]):
                for r in st["step"]["repetitions"]: yield "sweep step %d" % k, r
        else:
            for r in s["repetitions"]: yield sc, r
def share(m, sc):
    """Connection shares by rank (busiest first), summed over the repetitions:
    each is a fresh server, so the busiest slot differs between them."""
    tot = []
    for r in models[m]["scenarios"][sc]["repetitions"]:
        for k, c in enumerate(sorted((x["connections"] for x in r["workers"]), reverse=True)):
            tot += [0] * (k + 1 - len(tot))
            tot[k] += c
    t = sum(tot)
    return [v / t for v in tot] if t else []
check_on = rep["config"]["noise_check"]
if what == "models":
    for m in want:
        assert m in models, "model %s missing" % m
        assert models[m]["available"], "%s unavailable: %s" % (m, models[m]["reason"])
        for sc in ("seed", "idle", "stall", "stall_calm", "sweep"):
            assert sc in models[m]["scenarios"], "%s: no %s" % (m, sc)
        reps = rep["config"]["repeat"]
        for sc in ("seed", "idle", "stall", "stall_calm"):
            s = models[m]["scenarios"][sc]
            # Every repetition is listed; the noisy ones are counted apart
            # and left out of the figures; re-runs and extra ones add to
            # the --repeat asked for.
            assert len(s["repetitions"]) == models[m]["repetitions"] >= reps, (m, sc, len(s["repetitions"]))
            assert s["runs"] + s["noisy_runs"] == len(s["repetitions"]), (m, sc, s["runs"], s["noisy_runs"])
            assert s["noisy_runs"] == sum(r["noisy"] for r in s["repetitions"]), (m, sc)
            for r in s["repetitions"]:
                assert (r["noise_reason"] is not None) == r["noisy"], r
                # Over the stated share of the CPUs: noisy, whatever else;
                # nothing noisy with the check off.
                over = r["noise"]["others_and_steal_share"] > rep["noise"]["repetition_rules"]["others_and_steal_share_over"]
                assert r["noisy"] == (check_on and (over or r["noisy"])), (m, sc, r["noise"], r["noisy"])
        # The sweep's servers: noisy exactly when over the share.
        for st in models[m]["scenarios"]["sweep"]["steps"]:
            for r in st["step"]["repetitions"]:
                over = r["noise"]["others_and_steal_share"] > rep["noise"]["repetition_rules"]["others_and_steal_share_over"]
                assert r["noisy"] == (check_on and over), (m, "sweep", r["noise"], r["noisy"])
            # Every figure has its median and range over the clean repetitions.
            p99 = s["summary"]["p99_ms"]
            assert p99["n"] == s["runs"] - s["invalid_runs"], (m, sc, p99)
            assert p99["n"] == 0 or p99["min"] <= p99["median"] <= p99["max"], (m, sc, p99)
        v = models[m]["verdict"]
        assert v["balances"] in ("YES", "NO", "UNSURE", "UNDER LOAD ONLY", "n/a"), v["balances"]
        assert v["flat_tail"] in ("YES", "NO", "UNSURE"), v["flat_tail"]
        for q in ("load_balance", "idle_balance", "tail_cv", "stall_held_up"):
            x = v[q]
            assert x["answer"] in ("YES", "NO", "UNSURE", "n/a"), (m, q, x)
            if x["estimate"] is not None:
                lo, hi = x["interval"]
                assert lo <= x["estimate"] <= hi, (m, q, x)
                # YES/NO only when the interval clears the threshold.
                if x["answer"] in ("YES", "NO"):
                    assert not (lo <= x["threshold"] <= hi), (m, q, x)
                    assert x["repetitions"] >= 1 and x["confidence"] == 0.9
        # probes is not in the default set.
        assert not any(k.startswith("probes") for k in models[m]["scenarios"]), list(models[m]["scenarios"])
    assert rep["probes"] is None and "probes" not in rep["config"]["scenarios"], rep["probes"]
elif what == "answer":
    # The answer first: a recommendation (a model and its reason, or none
    # and why), what the readers run as rows, what the adaptive pass did.
    keys = list(rep.keys())
    assert keys.index("recommendation") < keys.index("models"), keys
    r = rep["recommendation"]
    assert isinstance(r["reason"], str) and r["reason"], r
    if r["model"] is not None:
        assert r["model"] in models and not models[r["model"]]["peer"], r
        mv = models[r["model"]]["verdict"]
        for t in r["ties"]:
            tv = models[t]["verdict"]
            assert (tv["balances"], tv["flat_tail"]) == (mv["balances"], mv["flat_tail"]), (t, r)
    rows = {x["what"]: x for x in rep["what_you_run"]}
    nginx = [x for x in rep["what_you_run"] if "1.21.6 and later" in x["what"]]
    assert nginx and nginx[0]["row"] == "reorder", rep["what_you_run"]
    for x in rep["what_you_run"]:
        assert x["measured"] == (x["row"] in models), x
    a = rep["adaptive"]
    assert a["budget_s"] == float(sys.argv[2]) and a["noisy_reruns"] >= 0 and a["extra_repetitions"] >= 0, a
elif what == "noise_rules":
    # Over the share: noisy; a sweep's server noisy exactly when over it.
    assert check_on
    lim = rep["noise"]["repetition_rules"]["others_and_steal_share_over"]
    for m in rep["models"]:
        for sc, s in m["scenarios"].items():
            reps = [r for st in s["steps"] for r in st["step"]["repetitions"]] if sc == "sweep" else s["repetitions"]
            for r in reps:
                over = r["noise"]["others_and_steal_share"] > lim
                assert r["noisy"] == over if sc == "sweep" else (r["noisy"] or not over), (m["name"], sc, r)
elif what == "subset":
    # seed alone: balances and flat tail not measured, never YES; no
    # recommendation; one repetition said so (when one was clean: on a
    # machine busy all along every one may be noisy, and then UNSURE).
    for m in want:
        v = models[m]["verdict"]
        clean = any(not r["noisy"] for r in models[m]["scenarios"]["seed"]["repetitions"])
        assert v["balances"] == "NOT MEASURED" or (not clean and v["balances"] == "UNSURE"), v["line"]
        assert v["flat_tail"] in ("NOT MEASURED", "NO") or (not clean and v["flat_tail"] == "UNSURE"), v["line"]
        assert v["idle_balance"]["answer"] == "NOT MEASURED" and v["stall_held_up"]["answer"] == "NOT MEASURED"
        assert "idle: not measured" in v["line"] and "stall: not measured" in v["line"], v["line"]
        assert not clean or (v["one_sample"] is True and "from one repetition" in v["line"]), v["line"]
    assert rep["recommendation"]["model"] is None, rep["recommendation"]
    assert "not measured" in rep["recommendation"]["reason"], rep["recommendation"]
elif what == "lossless":
    # Nothing lost, everything reconciled with the server's counters.
    assert rep["valid"] is True and rep["invalid_runs"] == 0, rep["invalid_runs"]
    for m in want:
        n = 0
        for where, r in runs(m):
            n += 1
            assert r["valid"], "%s %s: %s" % (m, where, r["invalid_reason"])
            assert r["failed"] == 0 and r["abandoned"] == 0 and r["non_2xx"] == 0, (m, where, r)
            assert r["done"] == r["requests"] == r["server_requests"], (m, where, r["done"], r["server_requests"])
            assert sum(x["requests"] for x in r["workers"]) >= r["done"]
        assert n >= 5 * rep["config"]["repeat"], "%s: only %d runs" % (m, n)
elif what == "finite":
    for v in numbers(rep):
        assert math.isfinite(v), v
elif what == "fair":
    for m in want:
        for r in models[m]["scenarios"]["seed"]["repetitions"]:
            n = len(r["workers"])
            assert n >= 2, "%s: %d workers" % (m, n)
            for k in ("jain_cpu", "jain_connections"):
                j = r["balance"][k]
                assert 1.0 / n - 1e-9 <= j <= 1 + 1e-9, "%s %s %s" % (m, k, j)
            assert r["done"] > 0 and r["latency_ms"]["p99"] > 0
            assert r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"]
elif what == "takes_all":
    sh = share(want[0], "idle")
    assert sh and max(sh) >= 0.8, "%s idle shares %s" % (want[0], sh)
elif what == "spreads":
    for m in want:
        sh = share(m, "idle")
        n = len(sh)
        # Every worker gets some, none most (sequential connections, 3 workers).
        assert n >= 2 and min(sh) >= 0.25 / n and max(sh) <= 0.7, "%s idle shares %s" % (m, sh)
elif what == "counts":
    # The peers' per-worker counters add up to exactly the requests made.
    for m in want:
        for r in models[m]["scenarios"]["idle"]["repetitions"]:
            got = sum(x["requests"] for x in r["workers"])
            assert r["valid"] and got == r["done"] == r["server_requests"], "%s: workers counted %d of %d" % (m, got, r["done"])
elif what == "probes":
    # probes: the seed and stall loads each with probes beside and without
    # (the twin); the probes made as planned (1 per probe_every requests:
    # health check, reset, health check, reset after part of a request),
    # counted apart; every request still answered and counted by the server.
    every = rep["config"]["probe_every"]
    assert rep["valid"] is True and rep["invalid_runs"] == 0, rep["invalid_runs"]
    total = {"made": 0, "health_checks": 0, "resets": 0}
    for m in want:
        sc = models[m]["scenarios"]
        assert sorted(sc) == ["probes", "probes_no_probe_twin", "probes_stall", "probes_stall_no_probe_twin"], list(sc)
        for key, twin in (("probes", "probes_no_probe_twin"), ("probes_stall", "probes_stall_no_probe_twin")):
            for r in sc[twin]["repetitions"]:
                assert r["probes"] is None, (m, twin, r["probes"])
            for r in sc[key]["repetitions"]:
                assert r["valid"], "%s %s: %s" % (m, key, r["invalid_reason"])
                assert r["failed"] == 0 and r["abandoned"] == 0 and r["non_2xx"] == 0, (m, key, r)
                assert r["done"] == r["requests"] == r["server_requests"], (m, key, r["done"], r["server_requests"])
                # Probes are never requests: the workers counted the
                # answered requests and the counter read's own, nothing more.
                assert sum(x["requests"] for x in r["workers"]) == r["done"] + 1, (m, key, r["workers"])
                p, n = r["probes"], r["requests"] // every
                assert n > 0 and p["made"] == n and p["failed"] == 0, (m, key, p, n)
                assert p["health_checks"] == (n + 1) // 2 and p["resets"] == n // 2, (m, key, p)
                assert p["resets_after_partial_request"] == n // 4, (m, key, p)
                # They reached the server: accepted connections beyond the
                # requests and the counter read (one still queued at the
                # read would be missing, none can be extra).
                conns = sum(x["connections"] for x in r["workers"])
                assert r["done"] + 1 < conns <= r["done"] + 1 + n, (m, key, conns, r["done"], n)
                for k in total: total[k] += p[k]
            s = sc[key]["summary"]
            assert s["probes_made"]["n"] == len(sc[key]["repetitions"]) >= 1, s["probes_made"]
            ratio = s["p99_over_no_probe_p99"]
            assert ratio["n"] >= 1 and ratio["median"] > 0, ratio
    for k in total:
        assert rep["probes"][k] == total[k], (k, rep["probes"], total)
elif what == "stall_invalid":
    # The injected timeouts: stall INVALID with its error kind, seed valid.
    assert rep["valid"] is False and rep["invalid_runs"] >= 1
    for m in want:
        st = models[m]["scenarios"]["stall"]
        assert st["repetitions"] and all(not r["valid"] for r in st["repetitions"]), st["repetitions"]
        r = st["repetitions"][0]
        assert not r["valid"] and "timeout" in r["invalid_reason"], r["invalid_reason"]
        assert r["errors"]["timeout"] >= 1
        # Never folded into the figures: no valid run, no median.
        assert st["summary"]["p99_ms"]["n"] == 0
        seed = models[m]["scenarios"]["seed"]
        assert all(r["valid"] for r in seed["repetitions"])
        assert seed["invalid_runs"] == 0 and seed["summary"]["p99_ms"]["n"] == seed["runs"]
EOF
check "JSON: every requested model with every scenario, repeated" $PY "$TMP/check.py" "$TMP/lab.json" epoll,blocking,reuseport models
check "JSON: nothing lost, every run reconciled with the server" $PY "$TMP/check.py" "$TMP/lab.json" epoll,blocking,reuseport lossless
check "JSON: every number finite" $PY "$TMP/check.py" "$TMP/lab.json" - finite
check "JSON: seed fairness within [1/n, 1]" $PY "$TMP/check.py" "$TMP/lab.json" epoll,blocking,reuseport fair
check "idle: epoll gives one worker most connections" $PY "$TMP/check.py" "$TMP/lab.json" epoll takes_all
check "idle: blocking and reuseport spread them" $PY "$TMP/check.py" "$TMP/lab.json" blocking,reuseport spreads
check "JSON: the recommendation, the readers' rows and the adaptive pass first" $PY "$TMP/check.py" "$TMP/lab.json" 40 answer
html=$(cat "$TMP/lab.html")
expect_match "HTML: the answer box first" "$html" '<div class="answer"><div class="use">(Use|No firm answer; closest:|No recommendation)'
expect_match "HTML: the verdicts with intervals, as badges" "$html" '<span class="b (yes|no|unsure)">(YES|NO|UNSURE)</span> [0-9.]+%? \[[0-9.]+%?-[0-9.]+%?\]'
expect_match "HTML: a checkbox per model for the latency charts" "$html" '<input type="checkbox" class="tg" id="tg2"'

cat >"$TMP/htmlcheck.py" <<'EOF'
import sys
from html.parser import HTMLParser
VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "source", "wbr"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.svgs = [], [], 0
    def handle_starttag(self, tag, attrs):
        if tag == "svg": self.svgs += 1
        if tag == "script": self.errors.append("script")
        for k, v in attrs:
            if v and ("http://" in v or "https://" in v) and k != "xmlns": self.errors.append("external " + v)
        if tag not in VOID: self.stack.append((tag, self.getpos()))
    def handle_endtag(self, tag):
        if tag in VOID: return
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append("unexpected </%s> at %s (open: %s)" % (tag, self.getpos(), self.stack[-1:]))
        else:
            self.stack.pop()
p = P()
p.feed(open(sys.argv[1]).read()); p.close()
assert not p.errors, p.errors[:5]
assert not p.stack, "unclosed: %s" % p.stack[:5]
assert p.svgs >= 3, "only %d charts" % p.svgs
EOF
check "HTML is well formed, self-contained, with charts" $PY "$TMP/htmlcheck.py" "$TMP/lab.html"

# -------------------------------------------------- the page in a browser
cat >"$TMP/png.py" <<'EOF'
# Decodes the top of a PNG (stdlib only) and counts distinct colours.
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, w = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompressobj().decompress(idat, (w * bpp + 1) * 700)
stride = w * bpp
prev = bytearray(stride)
colours, ink = set(), 0
for y in range(min(h, len(raw) // (stride + 1))):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + ((a + b) >> 1)) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp * 2):
        px = bytes(line[x:x + 3])
        colours.add(px)
        ink += px != b"\xff\xff\xff"
    prev = line
assert len(colours) >= 8, "only %d colours: blank page?" % len(colours)
assert ink > 500, "almost nothing drawn"
print(len(colours), "colours")
EOF
if [ -x /usr/bin/chromium ]; then
	mkdir -p "$TMP/chrome"
	timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$TMP/chrome" --enable-logging=stderr --v=0 --screenshot="$TMP/shot.png" \
		--window-size=1200,2000 "file://$TMP/lab.html" >"$TMP/chrome.out" 2>&1
	if [ -s "$TMP/shot.png" ]; then
		check "Chromium renders a non-blank page" $PY "$TMP/png.py" "$TMP/shot.png"
		if grep -Eiq "Uncaught|CONSOLE\(" "$TMP/chrome.out"; then
			not_ok "no console errors in Chromium" "$(grep -Ei 'Uncaught|CONSOLE\(' "$TMP/chrome.out" | head -5)"
		else
			ok "no console errors in Chromium"
		fi
	else
		ok "# SKIP Chromium could not take a screenshot here: $(tail -1 "$TMP/chrome.out")"
		ok "# SKIP Chromium console check"
	fi
else
	ok "# SKIP /usr/bin/chromium is not installed (scripts/setup.sh test)"
	ok "# SKIP Chromium console check"
fi

# ------------------------------------------------- the probes scenario
# 1 probe per 5 requests beside 200 seed-load and 100 stall-load requests:
# 40 and 20 probes per model, each load also run without them.
port=$(quiet_port)
$HERD lab --models fifo,reuseport --scenarios probes --probe-every 5 --repeat 1 --noise-check off --workers 2 --requests 200 \
	--stall-requests 100 --concurrency 20 --port "$port" --json "$TMP/probes.json" --html "$TMP/probes.html" \
	>"$TMP/probes.out" 2>"$TMP/probes.err"; rc=$?
expect_eq "lab --scenarios probes exits 0" "$rc" 0
[ "$rc" -ne 0 ] && sed 's/^/# /' "$TMP/probes.err" | tail -20
check "no server left after the probes run" no_server "$port"
check "JSON: probes made as planned, counted apart, every request reconciled" \
	$PY "$TMP/check.py" "$TMP/probes.json" fifo,reuseport probes
check "JSON: every number finite (probes)" $PY "$TMP/check.py" "$TMP/probes.json" - finite
out=$(cat "$TMP/probes.out")
expect_match "terminal: the probes table" "$out" "^== probes:"
expect_match "terminal: nothing lost with probes" "$out" "^every request reconciled"
expect_match "terminal: the probe totals" "$out" \
	"^probes \(not requests, counted apart\): 60 health checks, 60 resets \(30 after part of a request\), 0 failed"
expect_match "terminal: probes made per run" "$out" "^probes made +40 +40"
expect_match "terminal: the stall load's" "$out" "^probes made +20 +20"
expect_match "terminal: p99 against the no-probe twin" "$out" "^p99 / no-probe +[0-9.]+ +[0-9.]+"
expect_match "terminal: per-worker shares" "$out" "^  reuseport +[0-9]+ +[0-9]+ \|"
check "HTML (probes) is well formed, with charts" $PY "$TMP/htmlcheck.py" "$TMP/probes.html"
expect_match "HTML: both probe loads" "$(cat "$TMP/probes.html")" "stall load with probes"
# ------------------------------------------------- only what was measured
# seed alone (and the sweep, which is not judged): epoll is balanced under
# load, but idle (where it fails) was not run, so "balances? YES" would be a
# guess; one repetition says so. The noise check is on here.
port=$(quiet_port)
$HERD lab --models epoll --scenarios seed,sweep --step 0.1s --repeat 1 --workers 2 --requests 200 --concurrency 20 \
	--port "$port" --json "$TMP/sub.json" >"$TMP/sub.out" 2>"$TMP/sub.err"; rc=$?
expect_eq "seed alone exits 0" "$rc" 0
check "JSON: seed alone answers neither balances nor flat tail, and no recommendation" $PY "$TMP/check.py" "$TMP/sub.json" epoll subset
expect_match "terminal: at idle: not measured" "$(cat "$TMP/sub.out")" "^epoll +balances\? (NOT MEASURED|UNSURE) \(seed Jain CPU .*; idle: not measured\)"
if grep -q "balances? YES" "$TMP/sub.out"; then not_ok "terminal: no balances? YES from seed alone" "$(grep 'balances? YES' "$TMP/sub.out")"; else ok "terminal: no balances? YES from seed alone"; fi
expect_match "terminal: no recommendation from seed alone" "$(cat "$TMP/sub.out")" "^no recommendation: none: idle, stall not measured"
expect_match "terminal: the noisy repetitions' rule" "$(cat "$TMP/sub.out")" "^noisy repetitions: [0-9]+ \(other processes and steal over 25% of the CPUs"
check "JSON (noise check on): noisy exactly by the rules" $PY "$TMP/check.py" "$TMP/sub.json" - noise_rules

# ------------------------------------------- an injected failure: INVALID
# Stall requests sleep 2 s against a 1 s timeout: the stall runs lose
# requests (timeouts), so they are INVALID, left out of the figures, named in
# every output, and the lab exits 1; seed, with nothing lost, stays valid.
port=$(quiet_port)
$HERD lab --models fifo --scenarios seed,stall --repeat 1 --budget 0 --workers 2 --requests 200 --concurrency 10 \
	--stall-ms 2000 --timeout 1s --port "$port" --json "$TMP/inv.json" --html "$TMP/inv.html" \
	>"$TMP/inv.out" 2>"$TMP/inv.err"; rc=$?
expect_eq "a run with lost requests exits 1" "$rc" 1
expect_eq "without the sweep, one server per model and repetition" "$(grep -c 'starting herd serve' "$TMP/inv.err")" 1
check "JSON: stall INVALID with its timeouts, seed valid" $PY "$TMP/check.py" "$TMP/inv.json" fifo stall_invalid
expect_match "terminal: the INVALID run is listed with its reason" "$(cat "$TMP/inv.out")" "^INVALID fifo repetition 1 stall: [0-9]+ failed: timeout"
expect_match "terminal: the stall table says INVALID" "$(cat "$TMP/inv.out")" "^valid runs +INVALID 0/(1|0 \+1 noisy)"
expect_match "HTML: the INVALID run is listed" "$(cat "$TMP/inv.html")" "INVALID fifo repetition 1 stall: [0-9]+ failed: timeout"
expect_match "stderr: INVALID said on exit" "$(cat "$TMP/inv.err")" "herd lab: INVALID: "
check "no server left after the INVALID run" no_server "$port"

# ---------------------------------------------- peers, failing servers
port=$(quiet_port)
if [ -x /usr/sbin/nginx ] && [ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then
	$HERD lab --models epoll --peer nginx --scenarios idle --repeat 1 --workers 2 --idle-requests 40 --port "$port" \
		--json "$TMP/peer.json" >"$TMP/peer.out" 2>"$TMP/peer.err"; rc=$?
	expect_eq "lab with nginx peers exits 0" "$rc" 0
	check "nginx peers: per-worker counters add up" $PY "$TMP/check.py" "$TMP/peer.json" nginx-shared,nginx-reuseport counts
	check "no nginx left after the lab" no_server "$port"
	if pgrep -f "nginx -p /tmp/herd-lab" >/dev/null; then not_ok "no nginx process left" "$(pgrep -af 'nginx -p /tmp/herd-lab')"; else ok "no nginx process left"; fi
else
	for i in 1 2 3 4; do ok "# SKIP nginx or its Lua module missing (scripts/setup.sh peer)"; done
fi

# A peer whose server exits at once: INVALID with a reason (exit 1), the lab
# goes on.
port=$(quiet_port)
$HERD lab --models blocking --peer nginx --nginx /bin/false --scenarios idle --repeat 1 --workers 2 --idle-requests 20 \
	--port "$port" --json "$TMP/fail.json" >"$TMP/fail.out" 2>"$TMP/fail.err"; rc=$?
# Without the Lua module (a machine that never ran scripts/setup.sh peer) the
# peer is skipped before any start, with a line saying how to install it.
if [ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ] && [ -e /usr/lib/nginx/modules/ndk_http_module.so ]; then
	why="nginx-shared: INVALID: did not start: server exited with status 1" want=1
else
	why="skipping nginx-shared, nginx-reuseport: nginx and libnginx-mod-http-lua not installed .*scripts/setup.sh peer" want=0
fi
expect_eq "a peer that fails to start makes the lab exit 1 (one that is skipped: 0)" "$rc" "$want"
expect_match "it is reported INVALID (or skipped) with the reason" "$(cat "$TMP/fail.err")" "$why"
expect_match "the other models still ran" "$(cat "$TMP/fail.out")" "^blocking +balances"
check "no process left after the failed start" no_server "$port"

# Another server takes the port between two of the lab's servers: the next
# model's server cannot bind it and exits, and the lab must not measure the
# intruder (which answers /stats.txt with every worker up) as that model.
# The first "model" is a fake nginx that starts the intruder in a session of
# its own (so the lab's clean-up of the peer does not reach it) and exits
# (with 3 workers asked for, its 2 children never make the peer ready).
if [ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ] && [ -e /usr/lib/nginx/modules/ndk_http_module.so ]; then
	port=$(quiet_port)
	cat >"$TMP/squat.sh" <<EOF
#!/bin/sh
setsid sh -c 'echo \$\$ >"$TMP/squat.pid"; exec $HERD_FAST serve --listen 127.0.0.1:$port --workers 1 --accept single' \
	>"$TMP/squat.log" 2>&1 </dev/null &
sleep 1
exit 1
EOF
	chmod +x "$TMP/squat.sh"
	$HERD lab --models nginx-shared,fifo --nginx "$TMP/squat.sh" --scenarios idle --repeat 1 --workers 3 \
		--idle-requests 20 --port "$port" --json "$TMP/squat.json" >"$TMP/squat.out" 2>"$TMP/squat.err"; rc=$?
	[ -s "$TMP/squat.pid" ] && track_pid "$(cat "$TMP/squat.pid")"
	expect_eq "a model whose server lost its port to another server: no model ran, exit 1" "$rc" 1
	expect_match "the model is unavailable, with the reason" "$(cat "$TMP/squat.err")" \
		"fifo: unavailable: .*(Address already in use|a server the lab did not start)"
	check "the intruder is not measured as the model" $PY -c '
import json, sys
m = [m for m in json.load(open(sys.argv[1]))["models"] if m["name"] == "fifo"][0]
assert not m["available"] and not m["scenarios"], m' "$TMP/squat.json"
	[ -s "$TMP/squat.pid" ] && kill "$(cat "$TMP/squat.pid")" 2>/dev/null
else
	for i in 1 2 3; do ok "# SKIP the nginx Lua module is missing (the test starts its intruder as a fake peer)"; done
fi

# Ctrl-C in the middle: stops the server it started and exits 1.
port=$(quiet_port)
$HERD lab --models blocking,epoll --workers 2 --requests 100000 --port "$port" >"$TMP/int.out" 2>"$TMP/int.err" &
lab=$!
track_pid $lab
if wait_port "$port" 20; then
	sleep 1
	kill -INT $lab
	for _ in $(seq 100); do kill -0 $lab 2>/dev/null || break; sleep 0.1; done
	if kill -0 $lab 2>/dev/null; then not_ok "lab stops within 10 s of SIGINT"; else ok "lab stops within 10 s of SIGINT"; fi
	wait $lab; rc=$?
	expect_eq "interrupted lab exits 1" "$rc" 1
	expect_match "it says so" "$(cat "$TMP/int.err")" "interrupted"
	check "no server left after SIGINT" no_server "$port"
else
	not_ok "the lab started a server to interrupt" "$(tail -5 "$TMP/int.err")"
fi
done_testing
