# test_watch_lab.sh - herd lab with herd watch's collector: every model's
# runs carry an accept-queue wait, the tables an "acceptq" row, and with
# --peer nginx the per-worker connections come from the collector (the
# kernel's accepts: the lab's own counter read shows as one connection more
# than requests, which nginx's Lua counter could never count). `uring`'s
# accepts are io_uring completions, which need the io_uring probe.
. tests/lib.sh
. tests/cli/watch_common.sh

watch_require

port=$(free_port)
# The noise check off and no re-runs: one repetition with figures whatever
# else the machine runs (this is about the collector).
out=$(timeout 120 $HERD_FAST lab --models reuseport,blocking,uring --peer nginx --scenarios stall --repeat 1 --workers 2 \
	--requests 200 --noise-check off --budget 0 --port "$port" --json "$TMP/lab.json" 2>"$TMP/lab.err")
expect_match "lab text: an accept-queue wait row with figures" "$(grep '^acceptq p99 ms' <<<"$out")" "^acceptq p99 ms +[0-9]"
res=$(python3 - "$TMP/lab.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
out = []
for m in d["models"]:
    if not m["available"]:
        out.append("%s unavailable" % m["name"])
        continue
    st = m["scenarios"]["stall"]
    assert st["summary"]["accept_queue_wait_p99_ms"]["n"] == 1, st["summary"]
    for r in st["repetitions"]:
        w = r["accept_queue_wait_ms"]
        assert 0 <= w["p50"] <= w["p99"] <= w["max"], w
        if m.get("peer"):
            conns = sum(x["connections"] for x in r["workers"])
            reqs = sum(x["requests"] for x in r["workers"])
            assert (conns, reqs) == (r["requests"] + 1, r["requests"]), (m["name"], conns, reqs)
    out.append("%s ok" % m["name"])
print(" ".join(out))
PY
)
expect_match "lab JSON: waits for the herd models" "$res" "reuseport ok blocking ok uring ok"
if grep -q "nginx-shared unavailable" <<<"$res"; then
	ok "# SKIP nginx or its Lua module is not installed (scripts/setup.sh peer)"
else
	expect_match "lab JSON: nginx's connections per worker from the collector" "$res" "nginx-shared ok nginx-reuseport ok"
fi
done_testing
