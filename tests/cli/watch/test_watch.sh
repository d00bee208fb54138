# test_watch.sh - herd watch against herd serve, whose exit table is the
# truth: per-process accepted counts equal it exactly (shared queue and
# reuseport), the JSON has the documented shape, and the errors name their
# cause with the right exit status.
. tests/lib.sh
. tests/cli/serve_common.sh
. tests/cli/watch_common.sh

# Usage errors: exit 2, whatever the machine.
for args in "" "--port 0" "--port 65536" "--port x" "--pid 0" "--port 80 --interval 1ms" "--port 80 --duration 0" "--port 80 --duration 1e11" "--port 80 --bogus" "--port 80 extra" "--port 80 --probe kprobe"; do
	# shellcheck disable=SC2086
	out=$($HERD watch $args 2>&1)
	expect_eq "usage error exits 2: '$args'" "$?" 2
done
expect_match "no selector: says what is missing" "$($HERD watch 2>&1)" "--port P or --pid PID"
expect_match "bad port: names the value" "$($HERD watch --port 70000 2>&1)" "'70000'"

watch_require

# Nothing listens on a free port.
p=$(free_port)
out=$($HERD watch --port "$p" --duration 1 2>&1)
expect_eq "no listener: exit 1" "$?" 1
expect_match "no listener: names the port" "$out" "no listener on port $p"

# BTF that is not there; a file that is not BTF (libbpf's own error code
# used to come out as "Unknown error 4001").
out=$($HERD watch --port "$p" --btf "$TMP/none.btf" 2>&1)
expect_eq "no BTF: exit 1" "$?" 1
expect_match "no BTF: says so" "$out" "no BTF: cannot read '$TMP/none.btf'"
echo "not BTF at all" >"$TMP/text.btf"
out=$($HERD watch --port "$p" --btf "$TMP/text.btf" 2>&1)
expect_eq "not BTF: exit 1" "$?" 1
expect_match "not BTF: says the file is not BTF" "$out" "--btf '$TMP/text.btf' is not BTF"
check "not BTF: no unknown error number" test "${out/Unknown error/}" = "$out"

# No such process; a process that listens on nothing.
out=$($HERD watch --pid 4194303 2>&1)
expect_eq "no process: exit 1" "$?" 1
expect_match "no process: names it" "$out" "no process 4194303"
sleep 30 &
sp=$!
track_pid "$sp"
out=$($HERD watch --pid "$sp" 2>&1)
expect_match "process without listeners: says so" "$out" "process $sp and its descendants hold no listening TCP socket"
kill "$sp"

# Another user's process: its sockets cannot be seen, which is a permission
# problem, not "no listening socket" (what a non-root --pid of a root
# server used to say).
start_serve --workers 1
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$HERD" watch --pid "$SPID" 2>&1)
	expect_eq "--pid of root's process as nobody: exit 1" "$?" 1
	expect_match "--pid of root's process as nobody: a permission error" "$out" \
		"not allowed to see which sockets process $SPID holds \(/proc/$SPID/fd: Permission denied\)"
else
	ok "# SKIP no user nobody or no setpriv (util-linux)"
fi

# No accept in the run: fairness and the busiest share are n/a (there is
# nothing to share), in the lines and as JSON null, not 1.0000.
start_watch --port "$PORT" --duration 300ms --json "$TMP/idle.json"
wait_gone "$WPID" 10
expect_match "no accepts: fairness n/a in the lines" "$(grep '^total ' "$WOUT")" " fairness=n/a busiest_share=n/a "
check "no accepts: fairness null in the JSON" /usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["total"]
assert t["accepted"] == 0 and t["fairness"] is None and t["busiest_share"] is None, t
assert t["groups"][0]["fairness"] is None, t["groups"]' "$TMP/idle.json"
stop_serve

# Counts per worker equal the server's own, for a shared queue and for
# reuseport (one socket per worker).
for model in blocking reuseport; do
	start_serve --workers 3 --accept "$model"
	start_watch --port "$PORT" --interval 200ms --json "$TMP/w.json"
	conns 90 / >/dev/null
	stop_watch
	stop_serve
	expect_eq "$model: herd watch exits 0 on SIGINT" "$WRC" 0
	truth=$(sed -n 's/^herd serve: worker [0-9]* pid \([0-9]*\) accepted \([0-9]*\) .*/\1 \2/p' "$SERR" | sort -n)
	expect_eq "$model: accepted per pid equals herd serve's exit table" "$(watch_totals)" "$truth"
	expect_match "$model: total line counts all 90" "$(grep '^total ' "$WOUT")" " accepted=90 "
	# Every accept had its queueing seen: waits are known for all.
	timed=$(awk '/^total-worker/ { for (i = 1; i <= NF; i++) if ($i ~ /^timed=/) s += substr($i, 7) } END { print s + 0 }' "$WOUT")
	expect_eq "$model: every accept has a measured queue wait" "$timed" 90
done

# The JSON of the last run (reuseport): intervals and a total with the same
# figures as the lines, one listener per worker.
shape=$(python3 - "$TMP/w.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) >= {"ports", "probe", "interval_s", "intervals", "total"}, d.keys()
assert d["probe"] in ("fexit", "sys_exit")
assert len(d["intervals"]) >= 1
for iv in d["intervals"] + [d["total"]]:
    assert set(iv) >= {"t_s", "seconds", "accepted", "fairness", "busiest_share",
                       "listen_overflows", "listen_drops", "wait_us", "workers", "listeners", "groups"}, iv.keys()
    assert set(iv["wait_us"]) == {"timed", "p50", "p90", "p99", "max"}
    for w in iv["workers"]:
        assert set(w) >= {"pid", "comm", "accepted", "share", "rate", "cpu_s", "exited", "wait_us"}, w.keys()
        assert w["wait_us"]["p50"] <= w["wait_us"]["p90"] <= w["wait_us"]["p99"] <= w["wait_us"]["max"]
    for l in iv["listeners"]:
        assert set(l) >= {"port", "family", "addr", "inode", "accepted", "closed", "owners"}, l.keys()
    # n/a (null) exactly when nothing was accepted.
    assert (iv["fairness"] is None) == (iv["accepted"] == 0), iv
    assert iv["fairness"] is None or 0 < iv["fairness"] <= 1
    assert sum(l["accepted"] for l in iv["listeners"]) == iv["accepted"]
    # One group: the port's three reuseport sockets.
    assert len(iv["groups"]) == 1 and iv["groups"][0]["sockets"] == 3, iv["groups"]
t = d["total"]
assert t["accepted"] == 90 == sum(w["accepted"] for w in t["workers"]), t
assert sum(iv["accepted"] for iv in d["intervals"]) == 90
assert len(t["workers"]) == 3 and len(t["listeners"]) == 3, (t["workers"], t["listeners"])
assert abs(sum(w["share"] for w in t["workers"]) - 1) < 1e-6
print("ok")
PY
)
expect_eq "JSON: documented shape, intervals add up to the total" "$shape" "ok"

# --threads: a row per thread (herd serve's workers have one, so tid = pid),
# and on a terminal the live table.
start_serve --workers 2 --accept reuseport
start_watch --port "$PORT" --threads --interval 200ms
conns 10 / >/dev/null
stop_watch
rows=$(sed -n 's/^total-worker .* pid=\([0-9]*\) tid=\([0-9]*\) .*/\1 \2/p' "$WOUT")
expect_eq "--threads: two rows, tid = pid" "$(awk '$1 != $2' <<<"$rows" | wc -l) $(wc -l <<<"$rows")" "0 2"
if command -v script >/dev/null; then
	out=$(timeout 20 script -qec "$HERD watch --port $PORT --interval 300ms --duration 1s" /dev/null | tr -d '\r')
	# Nothing is accepted while it runs: n/a.
	expect_match "terminal: the table's header" "$out" "herd watch  port $PORT .* fairness n/a  busiest n/a"
	expect_match "terminal: the table's columns" "$out" "PID +TID +COMM +ACCEPTED +SHARE +RATE/s +WAIT p50"
	expect_match "terminal: the listener table" "$out" "PORT +FAM +INODE +QUEUE +PEAK +BACKLOG"
	expect_match "terminal: the total at the end" "$out" "herd watch  port $PORT .* total 1\.0s"
else
	ok "# SKIP script (util-linux) missing: no terminal to test the table on"
fi
stop_serve

# --pid: the server's master pid finds its port; children's accepts count.
start_serve --workers 2 --accept blocking
start_watch --pid "$SPID" --interval 200ms
expect_match "--pid: finds the server's port" "$(cat "$WERR")" "watching port $PORT "
conns 20 / >/dev/null
stop_watch
stop_serve
expect_match "--pid: counts the workers' accepts" "$(grep '^total ' "$WOUT")" " accepted=20 "
expect_eq "--pid: the master, which never accepts, is not a worker row" "$(watch_totals | wc -l)" 2

# More accepting threads between two reads than the kernel's thread table
# holds (16384): the threads beyond it have no entry (their waits, and
# with --threads their rows, are missing), which is counted as lost and
# said, not silently missing; the accepted counts, kept per process, are
# still exact.
p=$(free_port)
mkfifo "$TMP/go"
/usr/bin/python3 tests/cli/watch/accept_threads.py "$p" 17000 <"$TMP/go" >"$TMP/threads.out" 2>&1 &
tp=$!
track_pid "$tp"
exec 7>"$TMP/go"
if wait_port "$p" 10 && start_watch --port "$p" --interval 1h --json "$TMP/lost.json"; then
	echo go >&7
	for _ in $(seq 900); do grep -q done "$TMP/threads.out" && break; sleep 0.1; done
	stop_watch
	expect_match "thread churn: all 17000 accepted" "$(cat "$TMP/threads.out")" "done"
	expect_match "thread churn: the total line has the lost ones" "$(grep '^total ' "$WOUT")" " lost=[1-9][0-9]*\$"
	expect_match "thread churn: the loss is said on stderr" "$(cat "$WERR")" "LOST [1-9][0-9]* accepts"
	check "thread churn: JSON: every accept counted, in the total and the one worker row" /usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["total"]
assert t["accepted"] == 17000 and t["lost"] > 0 and [w["accepted"] for w in t["workers"]] == [17000], t' \
		"$TMP/lost.json"
else
	not_ok "thread churn: listener and herd watch started" "$(cat "$TMP/threads.out")"
fi
exec 7>&-
kill "$tp" 2>/dev/null

# Without CAP_BPF / CAP_PERFMON (and CAP_SYS_ADMIN, which implies both).
if command -v capsh >/dev/null; then
	start_serve --workers 1
	out=$(capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c "$HERD watch --port $PORT --duration 1" 2>&1)
	expect_eq "no CAP_BPF/CAP_PERFMON: exit 1" "$?" 1
	expect_match "no CAP_BPF/CAP_PERFMON: names the capabilities" "$out" "needs CAP_BPF and CAP_PERFMON.*missing here: CAP_BPF CAP_PERFMON"
	stop_serve
else
	ok "# SKIP capsh missing (scripts/setup.sh test installs libcap2-bin)"
fi
done_testing
